"""STIX import of bundles from other tools: mapping, kept properties, broken objects, skip_bad.

Every broken object of the fixture is also rejected by ``stix2.parse``, and every valid one is
accepted by it, so the fast check agrees with the reference library on these cases."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import stix2

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)
from silkguard.sharing.extension import EXTENSION_ID
from silkguard.sharing.stix import (
    StixObjectErrors,
    export_bundle,
    foreign_id,
    incident_stix_id,
    parse_bundle,
)
from silkguard.sharing.tlp import marking_id
from tests.sharing import samples

T0 = "2024-05-01T10:00:00.000Z"
INCIDENT = "incident--a0000000-0000-4000-8000-000000000001"
LOCATION = "location--a0000000-0000-4000-8000-000000000002"
ACTOR = "threat-actor--a0000000-0000-4000-8000-000000000003"
IDENTITY = "identity--a0000000-0000-4000-8000-000000000004"
TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"

VALID: list[dict[str, Any]] = [
    {
        "type": "identity", "spec_version": "2.1", "id": IDENTITY, "created": T0, "modified": T0,
        "name": "Provincial CTD", "identity_class": "organization",
    },
    {
        "type": "incident", "spec_version": "2.1", "id": INCIDENT, "created": T0,
        "modified": "2024-05-02T10:00:00Z", "name": "Attack on engineers' van",
        "description": "Gunmen fired on a van carrying engineers near Karachi airport.",
        "created_by_ref": IDENTITY, "object_marking_refs": [TLP1_AMBER],
        "first_seen": "2024-04-30T23:15:00Z", "labels": ["firing", "bus", "x-other"],
        "external_references": [{"source_name": "ctd", "url": "https://example.org/ctd/1"}],
        "x_ctd_case": "FIR-2024-117", "confidence": 70,
        "extensions": {
            "extension-definition--bbbbbbbb-0000-4000-8000-00000000000b": {
                "extension_type": "property-extension", "severity": "high",
            }
        },
    },
    {
        "type": "location", "spec_version": "2.1", "id": LOCATION, "created": T0,
        "modified": T0, "latitude": 24.9, "longitude": 67.16, "precision": 2000.0,
        "country": "pk", "administrative_area": "Sindh", "city": "Karachi",
    },
    {
        "type": "threat-actor", "spec_version": "2.1", "id": ACTOR, "created": T0,
        "modified": T0, "name": "Sindhudesh Revolutionary Army",
    },
    {
        "type": "relationship", "spec_version": "2.1",
        "id": "relationship--a0000000-0000-4000-8000-000000000005", "created": T0,
        "modified": T0, "relationship_type": "located-at", "source_ref": INCIDENT,
        "target_ref": LOCATION,
    },
    {  # written the other way round: related-to links both ways
        "type": "relationship", "spec_version": "2.1",
        "id": "relationship--a0000000-0000-4000-8000-000000000006", "created": T0,
        "modified": T0, "relationship_type": "related-to", "source_ref": ACTOR,
        "target_ref": INCIDENT,
    },
    {
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--a0000000-0000-4000-8000-000000000007", "created": T0,
        "modified": T0, "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
        "valid_from": T0,
    },
    {
        "type": "sighting", "spec_version": "2.1",
        "id": "sighting--a0000000-0000-4000-8000-000000000008", "created": T0,
        "modified": T0, "sighting_of_ref": INCIDENT,
    },
]  # fmt: skip

BROKEN: list[dict[str, Any]] = [
    {  # missing required property
        "type": "incident", "spec_version": "2.1",
        "id": "incident--b0000000-0000-4000-8000-000000000001", "created": T0, "modified": T0,
    },
    {  # bad id
        "type": "location", "spec_version": "2.1", "id": "location--not-a-uuid",
        "created": T0, "modified": T0, "country": "PK",
    },
    {  # id of another type
        "type": "threat-actor", "spec_version": "2.1",
        "id": "identity--b0000000-0000-4000-8000-000000000003", "created": T0, "modified": T0,
        "name": "X",
    },
    {  # wrong type name
        "type": "Incident!", "spec_version": "2.1",
        "id": "Incident!--b0000000-0000-4000-8000-000000000004", "created": T0, "modified": T0,
        "name": "X",
    },
    {  # a timestamp that is none
        "type": "incident", "spec_version": "2.1",
        "id": "incident--b0000000-0000-4000-8000-000000000005", "created": "yesterday",
        "modified": T0, "name": "X",
    },
    {  # latitude without longitude
        "type": "location", "spec_version": "2.1",
        "id": "location--b0000000-0000-4000-8000-000000000006", "created": T0, "modified": T0,
        "latitude": 30.0,
    },
]  # fmt: skip


def _bundle(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--c0000000-0000-4000-8000-000000000000",
        "objects": copy.deepcopy(objects),
    }


def test_third_party_incident_is_mapped_and_unknown_properties_kept() -> None:
    result = parse_bundle(json.dumps(_bundle(VALID)))
    assert result.errors == []
    assert result.ignored == ["indicator--a0000000-0000-4000-8000-000000000007"]
    [inc] = result.incidents
    assert inc.id == foreign_id(INCIDENT)
    assert inc.occurred_at == datetime(2024, 4, 30, 23, 15, tzinfo=UTC)
    assert inc.date_precision is DatePrecision.TIME
    assert inc.updated_at == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert (inc.attack_type, inc.target_type) == (AttackType.SHOOTING, TargetType.BUS)
    assert (inc.latitude, inc.longitude, inc.country) == (24.9, 67.16, "PK")
    assert (inc.place, inc.province, inc.geo_precision) == ("Karachi", "Sindh", GeoPrecision.PLACE)
    assert inc.perpetrator == "Sindhudesh Revolutionary Army"
    assert inc.tlp is TLP.AMBER  # TLP 1.0 AMBER read as TLP 2.0 AMBER
    assert inc.status is IncidentStatus.DRAFT
    assert inc.summary == VALID[1]["description"]
    assert inc.organisation is not None
    assert inc.organisation.name == "Provincial CTD"
    [source] = inc.sources
    assert source.kind is SourceKind.STIX
    assert (source.title, source.external_id) == ("Attack on engineers' van", INCIDENT)
    assert source.url == "https://example.org/ctd/1"
    assert source.extra["x_ctd_case"] == "FIR-2024-117"
    assert source.extra["confidence"] == 70
    assert source.extra["extensions"] == VALID[1]["extensions"]
    assert source.extra["labels"] == ["firing", "bus", "x-other"]
    [sighting] = result.sightings
    assert (sighting.sighting_of_ref, sighting.count) == (INCIDENT, 1)


def test_foreign_incident_without_links_or_time() -> None:
    bare = {
        "type": "incident", "spec_version": "2.1",
        "id": "incident--d0000000-0000-4000-8000-000000000001",
        "created": "2024-02-02T02:02:02Z", "modified": "2024-02-02T02:02:02Z", "name": "Blast",
    }  # fmt: skip
    [inc] = parse_bundle(bare, default_tlp=TLP.AMBER_STRICT).incidents
    assert inc.date_precision is DatePrecision.DAY  # only the report time is known
    assert (inc.attack_type, inc.target_type) == (AttackType.UNKNOWN, TargetType.UNKNOWN)
    assert (inc.latitude, inc.geo_precision, inc.perpetrator) == (None, GeoPrecision.COUNTRY, None)
    assert inc.summary == "Blast"
    assert inc.tlp is TLP.AMBER_STRICT  # unmarked objects take the default marking


def test_foreign_incident_survives_a_second_export_and_import() -> None:
    [first] = parse_bundle(_bundle(VALID)).incidents
    [again] = parse_bundle(export_bundle(incidents=[first])).incidents
    assert again == first


def test_broken_objects_reject_the_whole_bundle_without_skip_bad() -> None:
    with pytest.raises(StixObjectErrors) as caught:
        parse_bundle(_bundle(VALID + BROKEN))
    reported = [e.object_id for e in caught.value.errors]
    assert reported == [b["id"] for b in BROKEN]
    message = caught.value.msg
    assert "6 invalid object(s); nothing was imported" in message
    assert "incident--b0000000-0000-4000-8000-000000000001: required property 'name'" in message
    assert "location--not-a-uuid: id 'location--not-a-uuid' is not" in message
    assert "latitude and longitude must be given together" in message
    assert "--skip-bad" in message


def test_skip_bad_imports_the_valid_objects_and_lists_the_broken() -> None:
    result = parse_bundle(_bundle(BROKEN[:3] + VALID + BROKEN[3:]), skip_bad=True)
    assert [e.object_id for e in result.errors] == [b["id"] for b in BROKEN]
    assert all(e.reason for e in result.errors)
    assert [i.id for i in result.incidents] == [foreign_id(INCIDENT)]
    assert len(result.sightings) == 1


def test_object_that_is_not_an_object_is_reported_by_position() -> None:
    result = parse_bundle({"type": "bundle", "objects": [42]}, skip_bad=True)
    assert [(e.object_id, e.reason) for e in result.errors] == [("objects[0]", "not a JSON object")]


@pytest.mark.parametrize("obj", BROKEN, ids=lambda o: str(o["id"]))
def test_stix2_rejects_every_broken_object_too(obj: dict[str, Any]) -> None:
    # stix2 passes objects of unregistered types through unchecked when custom content is
    # allowed, so the badly named type is tried without allow_custom.
    custom = obj["type"] != "Incident!"
    with pytest.raises(Exception):  # noqa: B017, PT011 - stix2 raises many types
        stix2.parse(copy.deepcopy(obj), allow_custom=custom)


def test_stix2_accepts_every_valid_object_and_use_stix2_agrees() -> None:
    for obj in VALID:
        stix2.parse(copy.deepcopy(obj), allow_custom=True)
    assert parse_bundle(_bundle(VALID), use_stix2=True).errors == []
    result = parse_bundle(_bundle(VALID + BROKEN), use_stix2=True, skip_bad=True)
    assert len(result.errors) == len(BROKEN)


def test_bad_silkguard_extension_values_are_object_errors() -> None:
    bundle = export_bundle(incidents=[samples.BESHAM])
    incident = next(o for o in bundle["objects"] if o["type"] == "incident")
    incident["extensions"][EXTENSION_ID]["attack_type"] = "laser"
    incident["extensions"][EXTENSION_ID]["killed"] = -3
    with pytest.raises(StixObjectErrors, match="attack_type 'laser' is not one of"):
        parse_bundle(bundle)
    result = parse_bundle(bundle, skip_bad=True)
    assert result.incidents == []
    assert [e.object_id for e in result.errors] == [incident_stix_id(samples.BESHAM.id)]


def test_properties_added_to_our_incident_are_kept() -> None:
    bundle = export_bundle(incidents=[samples.REMOTE])
    incident = next(o for o in bundle["objects"] if o["type"] == "incident")
    incident["x_reviewed_by"] = "partner desk"
    [inc] = parse_bundle(bundle).incidents
    assert inc.sources[-1].extra == {"x_reviewed_by": "partner desk"}
    assert inc.sources[-1].external_id == incident["id"]


def test_later_version_of_an_object_wins() -> None:
    old = copy.deepcopy(VALID[1])
    new = {**copy.deepcopy(VALID[1]), "modified": "2024-06-01T00:00:00Z", "name": "Renamed"}
    result = parse_bundle(_bundle([new, old]))
    assert [i.sources[0].title for i in result.incidents] == ["Renamed"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"objects": []}, "no 'type': 'bundle'"),
        ({"type": "bundle", "objects": {}}, "must be a list"),
    ],
)
def test_input_that_is_no_bundle_is_refused(data: Any, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_bundle(data)


def test_tlp2_marking_of_an_imported_object_wins_over_the_default() -> None:
    obj = {**copy.deepcopy(VALID[3]), "object_marking_refs": [marking_id(TLP.RED)]}
    note = {
        "type": "note", "spec_version": "2.1",
        "id": "note--e0000000-0000-4000-8000-000000000001", "created": T0, "modified": T0,
        "content": "seen", "object_refs": [obj["id"]],
        "object_marking_refs": [marking_id(TLP.RED), TLP1_AMBER],
    }  # fmt: skip
    [parsed] = parse_bundle(_bundle([obj, note]), default_tlp=TLP.CLEAR).notes
    assert parsed.tlp is TLP.RED
