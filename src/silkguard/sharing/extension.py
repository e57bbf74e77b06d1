"""silkguard's STIX 2.1 property extension: the incident fields STIX has no property for.

The extension is declared by an ``extension-definition`` object (created by the ``silkguard``
system identity) that travels in every bundle silkguard writes; its ``schema`` property holds
the JSON Schema (draft 2020-12) below as text, so a receiver needs nothing else. The same
extension carries only ``silkguard_id`` on reports, notes, sightings and identities, which is
what lets a silkguard bundle be read back without loss. See docs/sharing.md."""

from __future__ import annotations

import json
import uuid
from typing import Any

from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)
from silkguard.sharing.tlp import marking_id

__all__ = [
    "EXTENSION_ID",
    "EXTENSION_SCHEMA",
    "EXTENSION_VERSION",
    "INCIDENT_FIELDS",
    "NAMESPACE",
    "SYSTEM_IDENTITY_ID",
    "extension_definition",
    "system_identity",
]

# Every STIX id silkguard writes is uuid5(NAMESPACE, "<kind>:<silkguard id>"). Fixed forever:
# changing it changes every id ever exported.
NAMESPACE = uuid.UUID("191fc361-5d25-4d85-8793-2f9f2af0f9f9")
# 1.1.0: source kind "pool" (an incident contributed anonymously to a sharing group).
EXTENSION_VERSION = "1.1.0"
EXTENSION_ID = f"extension-definition--{uuid.uuid5(NAMESPACE, 'extension:incident:1')}"
SYSTEM_IDENTITY_ID = f"identity--{uuid.uuid5(NAMESPACE, 'identity:silkguard')}"
_DEFINED = "2026-12-01T00:00:00.000Z"
_REVISED = "2026-12-10T00:00:00.000Z"  # modified of the definition (version 1.1.0)


def _enum(values: type[Any]) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values]}


_COUNT = {"type": "integer", "minimum": 0, "maximum": 100_000}
_TEXT = {"type": "string", "minLength": 1}

INCIDENT_FIELDS: dict[str, dict[str, Any]] = {
    "occurred_at": {
        "type": "string",
        "format": "date-time",
        "description": "When it happened (UTC); read with date_precision.",
    },
    "date_precision": _enum(DatePrecision),
    "place": _TEXT,
    "district": _TEXT,
    "province": _TEXT,
    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "geo_precision": _enum(GeoPrecision),
    "attack_type": _enum(AttackType),
    "target_type": _enum(TargetType),
    "perpetrator": {**_TEXT, "description": "As the source attributes it; never inferred."},
    "claimed": {"type": "boolean"},
    "killed": {**_COUNT, "description": "Victims killed, attackers excluded."},
    "injured": _COUNT,
    "killed_foreign": _COUNT,
    "injured_foreign": _COUNT,
    "nationalities": {"type": "array", "items": _TEXT, "minItems": 1},
    "on_the_move": {"type": "boolean", "description": "Were the victims travelling?"},
    "status": _enum(IncidentStatus),
    "sources": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": False,
            "properties": {
                "kind": _enum(SourceKind),
                "title": _TEXT,
                "url": _TEXT,
                "external_id": _TEXT,
                "extra": {
                    "type": "object",
                    "description": "Properties of a foreign STIX object kept verbatim.",
                },
            },
        },
    },
}

EXTENSION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "silkguard incident extension",
    "description": (
        "Property extension of STIX 2.1 objects written by silkguard. On an incident it "
        "holds the fields STIX has no property for; on other objects only silkguard_id. "
        "A property that is absent is unknown (never null); counts are not zero by default."
    ),
    "type": "object",
    "required": ["extension_type", "silkguard_id"],
    "additionalProperties": False,
    "properties": {
        "extension_type": {"const": "property-extension"},
        "silkguard_id": {"type": "string", "format": "uuid"},
        **INCIDENT_FIELDS,
    },
}


def system_identity() -> dict[str, Any]:
    """The ``silkguard`` system identity that created the extension definition."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": SYSTEM_IDENTITY_ID,
        "created": _DEFINED,
        "modified": _DEFINED,
        "name": "silkguard",
        "identity_class": "system",
        "description": "The silkguard protective-security platform (software).",
        "object_marking_refs": [marking_id(TLP.CLEAR)],
    }


def extension_definition() -> dict[str, Any]:
    """The extension-definition object of the silkguard property extension."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": SYSTEM_IDENTITY_ID,
        "created": _DEFINED,
        "modified": _REVISED,
        "name": "silkguard incident extension",
        "description": (
            "Incident fields of the silkguard platform: when and where, attack and target "
            "type, attribution as stated by the source, casualties, status and sources."
        ),
        "schema": json.dumps(EXTENSION_SCHEMA, sort_keys=True, separators=(",", ":")),
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension"],
        "object_marking_refs": [marking_id(TLP.CLEAR)],
    }
