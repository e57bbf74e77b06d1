"""TLP markings as STIX 2.1 marking definitions, both ways.

Export always writes the TLP 2.0 marking definitions published by OASIS in
``cti-stix-common-objects/extension-definition-specifications/tlp-2.0``: fixed ids, fixed
``created`` time, and the TLP 2.0 property extension
(``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``). The ids below were checked
against that repository's JSON schema (``marking-definition.json``), which pins each id and name.

Import reads those, the four TLP 1.0 marking definitions that STIX 2.1 itself predefines
(WHITE reads as CLEAR), and any marking definition whose content declares a TLP level, so a
tool that minted its own ids for TLP is still understood."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from silkguard.core.tlp import TLP, most_restrictive

__all__ = [
    "TLP1_MARKING_IDS",
    "TLP2_CREATED",
    "TLP2_EXTENSION_ID",
    "TLP2_MARKING_IDS",
    "marking_definition",
    "marking_id",
    "tlp_of_marking",
    "tlp_of_refs",
]

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"

TLP2_MARKING_IDS: Mapping[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# The TLP 1.0 marking definitions of the STIX 2.1 specification (section 7.2.1.4), the same
# ids as stix2.v21.TLP_WHITE etc. Read on import only; never written.
TLP1_MARKING_IDS: Mapping[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}

_BY_ID: dict[str, TLP] = {
    **{mid: tlp for tlp, mid in TLP2_MARKING_IDS.items()},
    **TLP1_MARKING_IDS,
}

# tlp_2_0 values of the extension, and TLP 1.0 ``definition.tlp`` values.
_LEVELS: dict[str, TLP] = {
    "clear": TLP.CLEAR,
    "white": TLP.CLEAR,
    "green": TLP.GREEN,
    "amber": TLP.AMBER,
    "amber+strict": TLP.AMBER_STRICT,
    "red": TLP.RED,
}


def marking_id(tlp: TLP) -> str:
    """The STIX id of the TLP 2.0 marking definition for ``tlp``."""
    return TLP2_MARKING_IDS[tlp]


def marking_definition(tlp: TLP) -> dict[str, Any]:
    """The official TLP 2.0 marking-definition object for ``tlp``, as a plain dict."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[tlp],
        "created": TLP2_CREATED,
        "name": f"TLP:{tlp.value}",
        "extensions": {
            TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.value.lower(),
            }
        },
    }


def tlp_of_marking(obj: Mapping[str, Any]) -> TLP | None:
    """The TLP level a marking-definition object declares, or None if it is not TLP.

    Known ids win; otherwise the TLP 2.0 extension's ``tlp_2_0`` or TLP 1.0's
    ``definition.tlp`` is read."""
    known = _BY_ID.get(str(obj.get("id", "")))
    if known is not None:
        return known
    extensions = obj.get("extensions")
    if isinstance(extensions, Mapping):
        ext = extensions.get(TLP2_EXTENSION_ID)
        if isinstance(ext, Mapping) and isinstance(ext.get("tlp_2_0"), str):
            return _LEVELS.get(ext["tlp_2_0"].strip().lower())
    definition = obj.get("definition")
    if obj.get("definition_type") == "tlp" and isinstance(definition, Mapping):
        level = definition.get("tlp")
        if isinstance(level, str):
            return _LEVELS.get(level.strip().lower())
    return None


def tlp_of_refs(refs: Iterable[str], markings: Mapping[str, TLP] | None = None) -> TLP | None:
    """The most restrictive TLP among marking refs; ``markings`` maps the ids of TLP marking
    definitions carried in the bundle (for non-standard ids). None when no ref is TLP."""
    found: list[TLP] = []
    for ref in refs:
        tlp = _BY_ID.get(ref)
        if tlp is None and markings is not None:
            tlp = markings.get(ref)
        if tlp is not None:
            found.append(tlp)
    return most_restrictive(*found) if found else None
