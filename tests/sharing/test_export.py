"""STIX export: golden files, byte stability, validity per stix2, anonymity, bad records.

The golden files are the exact expected output. After a deliberate change of the mapping,
regenerate them with

    SILKGUARD_REGEN_GOLDEN=1 PYTHONPATH=src pytest tests/sharing/test_export.py

and review the diff before committing it."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import stix2

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.sharing.check import parse_timestamp
from silkguard.sharing.extension import EXTENSION_ID, EXTENSION_SCHEMA
from silkguard.sharing.stix import dumps_bundle, export_bundle, incident_stix_id
from silkguard.sharing.tlp import marking_id
from tests.sharing import samples

GOLDEN = Path(__file__).parent / "golden"


def _full() -> dict[str, Any]:
    return export_bundle(
        incidents=samples.INCIDENTS,
        reports=[samples.REPORT],
        notes=[samples.NOTE],
        sightings=[samples.NAMED_SIGHTING, samples.ANONYMOUS_SIGHTING],
    )


def _anonymous() -> dict[str, Any]:
    return export_bundle(incidents=[samples.ANONYMOUS], sightings=[samples.ANONYMOUS_SIGHTING])


@pytest.mark.parametrize(("name", "build"), [("full", _full), ("anonymous", _anonymous)])
def test_export_matches_golden_file(name: str, build: Any) -> None:
    text = dumps_bundle(build(), pretty=True)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SILKGUARD_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    # sorted keys all the way down
    assert text == json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, indent=2) + "\n"


def test_export_is_byte_stable_and_independent_of_input_order() -> None:
    first = dumps_bundle(_full())
    incidents = list(samples.INCIDENTS)
    random.Random(7).shuffle(incidents)
    again = export_bundle(
        incidents=incidents,
        reports=[samples.REPORT],
        notes=[samples.NOTE],
        sightings=[samples.ANONYMOUS_SIGHTING, samples.NAMED_SIGHTING],
    )
    assert dumps_bundle(again) == first


def test_every_exported_object_is_valid_for_stix2() -> None:
    for obj in _full()["objects"]:
        parsed = stix2.parse(obj)  # no allow_custom: only the declared extension is extra
        assert _canon(json.loads(parsed.serialize())) == _canon(obj), obj["id"]


def _canon(value: Any) -> Any:
    """Timestamps as datetimes: stix2 writes ``00:00:00Z`` where we write ``00:00:00.000Z``."""
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return parse_timestamp(value) or value


def test_incident_objects_and_links() -> None:
    objects = {o["id"]: o for o in _full()["objects"]}
    besham = objects[incident_stix_id(samples.BESHAM.id)]
    assert besham["object_marking_refs"] == [marking_id(TLP.AMBER)]
    assert besham["created"] == "2024-03-26T10:00:00.123Z"
    assert besham["modified"] == "2024-03-28T09:30:00.000Z"
    ext = besham["extensions"][EXTENSION_ID]
    assert ext["killed"] == 6
    assert "injured" not in ext  # unknown stays absent, never 0 or null
    assert ext["perpetrator"] == samples.BESHAM.perpetrator
    rels = [o for o in objects.values() if o["type"] == "relationship"]
    targets = {objects[r["target_ref"]]["type"] for r in rels if r["source_ref"] == besham["id"]}
    assert targets == {"location", "threat-actor"}
    actors = [o for o in objects.values() if o["type"] == "threat-actor"]
    # one per attributing incident, named as stated; none for 'unknown' or no perpetrator
    assert sorted(a["name"] for a in actors) == sorted(
        [samples.BESHAM.perpetrator or "", samples.STRICT.perpetrator or ""]
    )
    location = next(
        objects[r["target_ref"]]
        for r in rels
        if r["source_ref"] == besham["id"] and r["target_ref"].startswith("location--")
    )
    assert (location["latitude"], location["longitude"]) == (34.95, 72.87)
    assert location["country"] == "PK"
    assert location["administrative_area"] == "Khyber Pakhtunkhwa"
    used = {ref for o in objects.values() for ref in o.get("object_marking_refs", [])}
    assert used <= set(objects)  # every marking used travels with the bundle


def test_extension_content_follows_its_schema() -> None:
    props = EXTENSION_SCHEMA["properties"]
    for obj in _full()["objects"]:
        ext = obj.get("extensions", {}).get(EXTENSION_ID)
        if ext is None:
            continue
        assert set(EXTENSION_SCHEMA["required"]) <= set(ext)
        for key, value in ext.items():
            assert key in props, key
            if "enum" in props[key]:
                assert value in props[key]["enum"]


def test_anonymous_contribution_names_nobody() -> None:
    bundle = _anonymous()
    text = dumps_bundle(bundle)
    for obj in bundle["objects"]:
        if obj["type"] in {"incident", "location", "relationship", "sighting"}:
            assert "created_by_ref" not in obj
            assert "where_sighted_refs" not in obj
    identities = [o for o in bundle["objects"] if o["type"] == "identity"]
    assert [i["identity_class"] for i in identities] == ["system"]
    assert samples.ORG.name not in text
    assert samples.PARTNER.name not in text


def test_named_sighting_points_at_the_partner() -> None:
    bundle = export_bundle(sightings=[samples.NAMED_SIGHTING])
    sighting = next(o for o in bundle["objects"] if o["type"] == "sighting")
    identity = next(o for o in bundle["objects"] if o.get("identity_class") == "organization")
    assert sighting["where_sighted_refs"] == [identity["id"]] == [sighting["created_by_ref"]]
    assert sighting["count"] == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"killed": -1}, "killed -1"),
        ({"killed": 2, "killed_foreign": 3}, "killed_foreign 3 exceeds killed 2"),
        ({"latitude": None}, "latitude and longitude"),
        ({"created_at": datetime(2024, 1, 1)}, "no time zone"),  # noqa: DTZ001 - on purpose
    ],
)
def test_unexportable_incident_is_refused(change: dict[str, Any], words: str) -> None:
    bad = dataclasses.replace(samples.BESHAM, **change)
    with pytest.raises(InvalidInput, match=words):
        export_bundle(incidents=[bad])


def test_one_organisation_under_two_names_is_refused() -> None:
    renamed = dataclasses.replace(samples.ORG, name="Someone else")
    other = dataclasses.replace(samples.REMOTE, organisation=renamed)
    with pytest.raises(InvalidInput, match="given as both"):
        export_bundle(incidents=[samples.BESHAM, other])


def test_the_same_record_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="exported twice"):
        export_bundle(incidents=[samples.BESHAM, samples.BESHAM])


def test_ids_are_the_documented_uuid5() -> None:
    import uuid

    from silkguard.sharing.extension import NAMESPACE

    rng = random.Random(3)
    for _ in range(200):
        sid = uuid.UUID(int=rng.getrandbits(128), version=4)
        expected = uuid.uuid5(NAMESPACE, f"incident:{sid}")
        assert incident_stix_id(sid) == f"incident--{expected}"
