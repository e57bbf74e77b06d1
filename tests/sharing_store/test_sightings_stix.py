"""Sightings over STIX: one aggregated, unnamed sighting per exported incident, and imported
sightings stored as the importing organisation's (idempotently), others ignored with why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from silkguard.auth.roles import Role
from silkguard.core.tlp import TLP
from silkguard.incidents import sightings as sightings_service
from silkguard.sharing import taxii
from silkguard.sharing.service import export_incidents, import_bundle
from silkguard.sharing.sightings import aggregate_id
from silkguard.sharing.stix_export import incident_stix_id, sighting_stix_id
from silkguard.sharing.taxii import add_objects, status_resource
from tests.sharing_store.conftest import World, open_session, principal_of

T0 = "2024-03-05T08:00:00.000Z"


def _sighting(number: int, ref: str, count: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--b0000000-0000-4000-8000-{number:012d}",
        "created": T0,
        "modified": T0,
        "sighting_of_ref": ref,
        "count": count,
        **extra,
    }


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--c0000000-0000-4000-8000-000000000001",
        "objects": list(objects),
    }


def test_export_carries_one_unnamed_sighting_per_sighted_incident(fresh_world: World) -> None:
    green = fresh_world.incidents[("bravo", TLP.GREEN)]
    with open_session(fresh_world) as session:
        for org, count in (("alpha", 2), ("partner", 5)):
            principal = principal_of(session, fresh_world, org, Role.ADMIN)
            sightings_service.record(
                session,
                principal=principal,
                incident_id=green,
                count=count,
                seen_at=datetime(2024, 3, 10 + count, tzinfo=UTC),
            )
        reader = principal_of(session, fresh_world, "alpha", Role.ANALYST)
        bundle = export_incidents(session, principal=reader)
    found = [o for o in bundle["objects"] if o["type"] == "sighting"]
    assert len(found) == 1
    [sighting] = found
    assert sighting["id"] == sighting_stix_id(aggregate_id(green))
    assert sighting["sighting_of_ref"] == incident_stix_id(green)
    assert sighting["count"] == 7
    assert sighting["first_seen"] == "2024-03-12T00:00:00.000Z"
    assert sighting["last_seen"] == "2024-03-15T00:00:00.000Z"
    assert "created_by_ref" not in sighting
    assert "where_sighted_refs" not in sighting
    text = str(bundle)
    for org in ("alpha", "partner"):
        assert str(fresh_world.orgs[org]) not in str(sighting)
    assert "Partner" not in text  # the partner has no incident, so nothing names it


def test_import_stores_sightings_of_visible_incidents_once(fresh_world: World) -> None:
    green = fresh_world.incidents[("bravo", TLP.GREEN)]
    strict = fresh_world.incidents[("bravo", TLP.AMBER_STRICT)]
    bundle = _bundle(
        _sighting(1, incident_stix_id(green), 4, first_seen=T0, last_seen="2024-03-06T08:00:00Z"),
        _sighting(2, incident_stix_id(strict), 9),  # alpha may not see it
        _sighting(3, "incident--d0000000-0000-4000-8000-000000000001", 1),  # unknown here
    )
    with open_session(fresh_world) as session:
        principal = principal_of(session, fresh_world, "alpha", Role.ANALYST)
        report = import_bundle(session, principal=principal, data=bundle)
        assert report.sightings == 1
        assert sorted(report.ignored) == [bundle["objects"][1]["id"], bundle["objects"][2]["id"]]
        assert "not an incident of this silkguard" in report.ignored_reasons[report.ignored[0]]
        again = import_bundle(session, principal=principal, data=bundle)
        assert again.sightings == 0  # the same sighting again: count replaced, not added
        total = sightings_service.totals(session, [green, strict])
        assert set(total) == {green}
        assert (total[green].count, total[green].organisations) == (4, 1)
        # silkguard's own aggregated sighting coming back is not counted a second time
        exported = export_incidents(session, principal=principal)
        own = next(o for o in exported["objects"] if o["type"] == "sighting")
        back = import_bundle(session, principal=principal, data=_bundle(own), skip_bad=True)
        assert back.sightings == 0
        assert back.ignored_reasons[own["id"]].startswith("silkguard's own count")
        assert sightings_service.totals(session, [green])[green].count == 4


def test_taxii_status_gives_the_reason_a_sighting_was_not_stored(world: World) -> None:
    envelope = {"objects": [_sighting(4, "incident--d0000000-0000-4000-8000-000000000002", 1)]}
    with open_session(world) as session:
        principal = principal_of(session, world, "alpha", Role.ANALYST)
        report, objects = add_objects(session, principal, envelope)
        session.rollback()
    status = status_resource(report, objects, datetime(2024, 3, 5, tzinfo=UTC))
    assert status["success_count"] == 0
    [failure] = status["failures"]
    assert "sighting_of_ref" in failure["message"]


def test_taxii_units_carry_the_aggregated_sighting(fresh_world: World) -> None:
    amber = fresh_world.incidents[("alpha", TLP.AMBER)]  # shared with alpha's group
    with open_session(fresh_world) as session:
        partner = principal_of(session, fresh_world, "partner", Role.ADMIN)
        sightings_service.record(session, principal=partner, incident_id=amber, count=3)
        reader = principal_of(session, fresh_world, "partner", Role.PARTNER)
        group = next(c for c in taxii.collections_for(session, reader) if c.kind == "group")
        page = taxii.objects_page(session, reader, group, taxii.ObjectQuery())
    found = [o for o, _ in page.objects if o["type"] == "sighting"]
    assert [(s["sighting_of_ref"], s["count"]) for s in found] == [(incident_stix_id(amber), 3)]
    assert "where_sighted_refs" not in found[0]
    assert "created_by_ref" not in found[0]
