"""A fast structural check of STIX 2.1 objects, for the objects silkguard reads and writes.

``stix2``'s object classes check everything but build only about 1,300-2,500 objects per
second, far too slow for bundles of 100,000 incidents (docs/sharing.md has the figures). This
check covers what makes an object unusable: the type name, the id and its prefix, the
``spec_version``, timestamps, the required properties of each type silkguard maps, the types
of the references, and the value ranges STIX fixes. The test suite runs ``stix2.parse`` on
every object silkguard exports and on the broken objects of its fixtures, and checks that both
agree, except for a few rules of the STIX text that ``stix2`` does not enforce and this check
does (tests/sharing/test_check.py lists them). ``None`` and empty lists count as absent, as in
``stix2``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["check_object", "parse_timestamp"]

_TYPE = re.compile(r"^[a-z][a-z0-9-]{1,248}[a-z0-9]$")
_ID = re.compile(
    r"^([a-z][a-z0-9-]{1,248}[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)

# Cyber-observable types have neither created/modified nor a mandatory spec_version.
_OBSERVABLES = frozenset(
    [
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    ]
)
_NO_MODIFIED = frozenset({"marking-definition"})


def parse_timestamp(value: object) -> datetime | None:
    """A STIX timestamp (``2024-03-26T08:00:00.000Z``) as an aware UTC datetime, else None.

    Only the STIX form is read: ``YYYY-MM-DDTHH:MM:SS``, optional fraction, ``Z``. The shape
    is checked by position (a regular expression costs ten times more per call) and the
    values by ``datetime.fromisoformat``."""
    if not isinstance(value, str):
        return None
    text = value
    n = len(text)
    if n < 20 or text[-1] != "Z" or text[10] != "T":
        return None
    if text[4] != "-" or text[7] != "-" or text[13] != ":" or text[16] != ":":
        return None
    if n > 20:
        fraction = text[20:-1]
        if text[19] != "." or not (fraction.isascii() and fraction.isdigit()):
            return None
        if n > 27:  # more than microseconds: cut, as fromisoformat reads at most six digits
            text = text[:26] + "Z"
    if not (text[:4].isascii() and text[:4].isdigit()):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_id(value: object, prefix: str | None = None) -> bool:
    if not isinstance(value, str):
        return False
    kind = _id_type(value)
    return kind is not None and (prefix is None or kind == prefix)


@functools.lru_cache(maxsize=1 << 12)  # refs to markings and identities repeat
def _id_type(value: str) -> str | None:
    match = _ID.match(value)
    return None if match is None else match.group(1)


def _present(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name)
    return value is not None and value != []


def _text(obj: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = obj.get(name)
    if value.__class__ is str:
        return None
    if value is None or value == []:
        return f"required property {name!r} is missing" if required else None
    return f"property {name!r} must be a string"


def _refs(obj: Mapping[str, Any], name: str, prefix: str | None, *, required: bool) -> str | None:
    if not _present(obj, name):
        return f"required property {name!r} is missing" if required else None
    value = obj[name]
    if not isinstance(value, list) or not all(_is_id(v, prefix) for v in value):
        kind = f"{prefix} ids" if prefix else "STIX ids (type--uuid)"
        return f"property {name!r} must be a list of {kind}"
    return None


def _ref(obj: Mapping[str, Any], name: str, prefix: Any, *, required: bool) -> str | None:
    if not _present(obj, name):
        return f"required property {name!r} is missing" if required else None
    if not _is_id(obj[name], prefix):
        return f"property {name!r} is not a valid reference ({obj[name]!r})"
    return None


def _number(obj: Mapping[str, Any], name: str, low: float, high: float) -> str | None:
    if not _present(obj, name):
        return None
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        return f"property {name!r} must be a number from {low:g} to {high:g}"
    return None


def _identity(obj: Mapping[str, Any]) -> str | None:
    return _text(obj, "name", required=True) or _text(obj, "identity_class")


def _named(obj: Mapping[str, Any]) -> str | None:
    return _text(obj, "name", required=True) or _text(obj, "description")


def _location(obj: Mapping[str, Any]) -> str | None:
    for name in ("name", "region", "country", "administrative_area", "city"):
        if reason := _text(obj, name):
            return reason
    if reason := _number(obj, "latitude", -90, 90) or _number(obj, "longitude", -180, 180):
        return reason
    if _present(obj, "latitude") != _present(obj, "longitude"):
        return "latitude and longitude must be given together"
    if _present(obj, "precision") and not _present(obj, "latitude"):
        return "precision needs latitude and longitude"
    if reason := _number(obj, "precision", 0, float("inf")):
        return reason
    if not (_present(obj, "region") or _present(obj, "country") or _present(obj, "latitude")):
        return "a location needs region, country, or latitude and longitude"
    return None


def _relationship(obj: Mapping[str, Any]) -> str | None:
    kind = obj.get("relationship_type")
    if not isinstance(kind, str) or _TYPE.match(kind) is None:
        return "relationship_type is missing or not a lower-case hyphenated name"
    return _ref(obj, "source_ref", None, required=True) or _ref(
        obj, "target_ref", None, required=True
    )


def _report(obj: Mapping[str, Any]) -> str | None:
    if reason := _text(obj, "name", required=True):
        return reason
    if parse_timestamp(obj.get("published")) is None:
        return "required property 'published' is missing or not a STIX timestamp"
    return _refs(obj, "object_refs", None, required=True) or _text(obj, "description")


def _note(obj: Mapping[str, Any]) -> str | None:
    return (
        _text(obj, "content", required=True)
        or _text(obj, "abstract")
        or _refs(obj, "object_refs", None, required=True)
    )


_SDO_PREFIXES = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
]


def _sighting(obj: Mapping[str, Any]) -> str | None:
    ref = obj.get("sighting_of_ref")
    if not _is_id(ref):
        return "required property 'sighting_of_ref' is missing or not a STIX id"
    if not str(ref).startswith("x-") and str(ref).partition("--")[0] not in _SDO_PREFIXES:
        return f"sighting_of_ref must point to a domain object, not {ref!r}"
    count = obj.get("count")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 999_999_999
    ):
        return "count must be an integer from 0 to 999999999"
    for name in ("first_seen", "last_seen"):
        if _present(obj, name) and parse_timestamp(obj[name]) is None:
            return f"property {name!r} is not a STIX timestamp"
    return _refs(obj, "where_sighted_refs", None, required=False)


def _marking(obj: Mapping[str, Any]) -> str | None:
    has_definition = _present(obj, "definition_type") and _present(obj, "definition")
    if not has_definition and not _present(obj, "extensions"):
        return "a marking definition needs definition_type and definition, or extensions"
    return _text(obj, "name")


def _extension_definition(obj: Mapping[str, Any]) -> str | None:
    for name in ("name", "schema", "version"):
        if reason := _text(obj, name, required=True):
            return reason
    if not _present(obj, "extension_types"):
        return "required property 'extension_types' is missing"
    return _ref(obj, "created_by_ref", "identity", required=True)


_BY_TYPE: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "identity": _identity,
    "incident": _named,
    "threat-actor": _named,
    "location": _location,
    "relationship": _relationship,
    "report": _report,
    "note": _note,
    "sighting": _sighting,
    "marking-definition": _marking,
    "extension-definition": _extension_definition,
}


def _common(obj: Mapping[str, Any], kind: str) -> str | None:
    if obj.get("spec_version") != "2.1":
        found = obj.get("spec_version")
        return f"spec_version must be '2.1' (found {found!r}); STIX 2.0 objects are not read"
    created = parse_timestamp(obj.get("created"))
    if created is None:
        return "required property 'created' is missing or not a STIX timestamp"
    if kind not in _NO_MODIFIED:
        modified = parse_timestamp(obj.get("modified"))
        if modified is None:
            return "required property 'modified' is missing or not a STIX timestamp"
        if modified < created:
            return "modified is earlier than created"
    if "created_by_ref" in obj and (
        reason := _ref(obj, "created_by_ref", "identity", required=False)
    ):
        return reason
    if "object_marking_refs" in obj and (
        reason := _refs(obj, "object_marking_refs", "marking-definition", required=False)
    ):
        return reason
    if "confidence" in obj and (reason := _number(obj, "confidence", 0, 100)):
        return reason
    return _extensions(obj) if "extensions" in obj else None


def _extensions(obj: Mapping[str, Any]) -> str | None:
    extensions = obj.get("extensions")
    if extensions is None:
        return None
    if not isinstance(extensions, dict) or not all(
        isinstance(v, dict) for v in extensions.values()
    ):
        return "extensions must be an object of objects"
    return None


def check_object(obj: object) -> str | None:
    """Why ``obj`` is not a usable STIX 2.1 object, or None when it is."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    kind, oid = obj.get("type"), obj.get("id")
    match = _ID.match(oid) if isinstance(oid, str) else None
    if match is None or match.group(1) != kind:
        if not isinstance(kind, str) or _TYPE.match(kind) is None:
            return f"type {kind!r} is missing or not a STIX type name"
        return f"id {oid!r} is not '{kind}--' followed by an RFC 4122 UUID"
    if kind in _OBSERVABLES:
        return None
    if reason := _common(obj, kind):
        return reason
    by_type = _BY_TYPE.get(kind)
    return by_type(obj) if by_type is not None else None
