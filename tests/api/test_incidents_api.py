"""``/api/v1/incidents``: the life of a report (draft, confirm, reject, correct with If-Match,
merge, split), search filters, cursor pagination, GeoJSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import h3
import pytest
from shapely import Point
from shapely.geometry import shape
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from silkguard.api.routes.incidents import CSV_COLUMNS
from silkguard.auth.models import SharingGroupMember
from silkguard.auth.roles import Role
from silkguard.core.access import Principal, visible_in_python
from silkguard.core.db import make_engine
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare
from silkguard.incidents.schemas import GeoJSONFeatureCollection
from tests.api.conftest import World

API = "/api/v1"
PROBLEM = "application/problem+json"
YEAR = {"since": "2031-01-01T00:00:00Z", "until": "2032-01-01T00:00:00Z"}


def _report(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "occurred_at": "2024-03-26T13:00:00+05:00",
        "attack_type": "suicide_vbied",
        "target_type": "convoy",
        "latitude": 34.93,
        "longitude": 72.87,
        "place": "Besham",
        "tlp": "GREEN",
        "summary": f"report {uuid.uuid4().hex[:8]}",
    }
    body.update(fields)
    return body


def _create(world: World, org: str = "alpha", **fields: Any) -> dict[str, Any]:
    r = world.client.post(
        f"{API}/incidents", json=_report(**fields), headers=world.headers(org, Role.ANALYST)
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _confirm(world: World, incident_id: str, org: str = "alpha") -> dict[str, Any]:
    r = world.client.post(
        f"{API}/incidents/{incident_id}/confirm", headers=world.headers(org, Role.ANALYST)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _get(world: World, incident_id: str, org: str, role: Role = Role.ANALYST) -> Any:
    return world.client.get(f"{API}/incidents/{incident_id}", headers=world.headers(org, role))


def _is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


# --- reports and review ------------------------------------------------------------------------


def test_create_draft(world: World) -> None:
    r = world.client.post(
        f"{API}/incidents", json=_report(), headers=world.headers("alpha", Role.ANALYST)
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"] == f"{API}/incidents/{body['id']}"
    assert body["status"] == "draft"
    assert body["org_id"] == str(world.orgs["alpha"])
    assert body["version"] == 1
    assert len(body["sources"]) == 1
    assert body["sources"][0]["source_kind"] == "field"
    again = world.client.get(r.headers["location"], headers=world.headers("alpha", Role.STAFF))
    assert again.status_code == 200
    assert again.headers["etag"] == 'W/"1"'


def test_only_the_own_organisation_sees_a_draft(world: World) -> None:
    draft = _create(world, tlp="CLEAR")
    for role in Role:
        assert _get(world, draft["id"], "alpha", role).status_code == 200
    for org, role in [("bravo", Role.ADMIN), ("bravo", Role.ANALYST), ("partner", Role.PARTNER)]:
        _is_problem(_get(world, draft["id"], org, role), 404)


def test_confirm_makes_it_visible_under_its_marking(world: World) -> None:
    amber = _create(world, tlp="AMBER", share_with_groups=[str(world.group_id)])
    green = _create(world, tlp="GREEN")
    for draft in (amber, green):
        assert _get(world, draft["id"], "partner", Role.PARTNER).status_code == 404
    assert _confirm(world, amber["id"])["status"] == "confirmed"
    _confirm(world, green["id"])
    assert _get(world, green["id"], "bravo", Role.STAFF).status_code == 200
    assert _get(world, green["id"], "partner", Role.PARTNER).status_code == 200
    assert _get(world, amber["id"], "partner", Role.PARTNER).status_code == 200  # via the group
    assert _get(world, amber["id"], "bravo", Role.ADMIN).status_code == 404
    r = world.client.post(
        f"{API}/incidents/{amber['id']}/confirm", headers=world.headers("alpha", Role.ANALYST)
    )
    assert "already confirmed" in _is_problem(r, 409)["detail"]


def test_red_is_seen_by_its_named_recipients_and_creator(world: World) -> None:
    recipient = world.users[("partner", Role.PARTNER)]
    red = _create(world, tlp="RED", recipients=[str(recipient)])
    _confirm(world, red["id"])
    assert _get(world, red["id"], "alpha", Role.ANALYST).status_code == 200  # creator
    assert _get(world, red["id"], "partner", Role.PARTNER).status_code == 200  # recipient
    assert _get(world, red["id"], "partner", Role.ADMIN).status_code == 404
    assert _get(world, red["id"], "alpha", Role.ADMIN).status_code == 404


def test_sharing_with_a_group_of_another_organisation_is_refused(world: World) -> None:
    r = world.client.post(
        f"{API}/incidents",
        json=_report(tlp="AMBER", share_with_groups=[str(world.group_id)]),
        headers=world.headers("bravo", Role.ANALYST),
    )
    assert "share_with_groups" in _is_problem(r, 422)["detail"]
    r = world.client.post(
        f"{API}/incidents",
        json=_report(tlp="RED", recipients=[str(uuid.uuid4())]),
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert "recipients" in _is_problem(r, 422)["detail"]


def test_reject_with_a_reason(world: World) -> None:
    draft = _create(world)
    r = world.client.post(
        f"{API}/incidents/{draft['id']}/reject",
        json={"reason": "duplicate of an earlier report"},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["review_note"] == "duplicate of an earlier report"
    assert _get(world, draft["id"], "bravo").status_code == 404
    assert _get(world, draft["id"], "alpha", Role.STAFF).json()["status"] == "rejected"
    short = world.client.post(
        f"{API}/incidents/{draft['id']}/reject",
        json={"reason": "x"},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert [p["name"] for p in _is_problem(short, 422)["invalid_params"]] == ["reason"]


def _patch(world: World, incident_id: str, body: dict[str, Any], etag: str | None) -> Any:
    headers = world.headers("alpha", Role.ANALYST)
    if etag is not None:
        headers["If-Match"] = etag
    return world.client.patch(f"{API}/incidents/{incident_id}", json=body, headers=headers)


def test_patch_with_if_match_updates_and_bumps_the_etag(world: World) -> None:
    draft = _create(world, killed=1)
    r = _patch(world, draft["id"], {"killed": 3, "perpetrator": "TTP"}, 'W/"1"')
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == 'W/"2"'
    assert r.json()["killed"] == 3
    assert r.json()["perpetrator"] == "TTP"
    assert r.json()["overrides"] == {"killed": 3, "perpetrator": "TTP"}
    stored = _get(world, draft["id"], "alpha")
    assert stored.headers["etag"] == 'W/"2"'
    assert stored.json()["killed"] == 3


def test_two_clients_editing_the_same_incident(world: World) -> None:
    """The second writer's stale If-Match gets 409 and changes nothing; the first writer's
    change is kept; re-reading and re-applying then works, and both changes are stored."""
    incident = _create(world, killed=1, summary="first version")
    etag_a = _get(world, incident["id"], "alpha").headers["etag"]
    etag_b = _get(world, incident["id"], "alpha").headers["etag"]
    assert etag_a == etag_b == 'W/"1"'

    first = _patch(world, incident["id"], {"summary": "corrected by A"}, etag_a)
    assert first.status_code == 200, first.text
    stale = _patch(world, incident["id"], {"killed": 5}, etag_b)
    assert "changed since you read it" in _is_problem(stale, 409)["detail"]

    now = _get(world, incident["id"], "alpha")
    assert now.json()["summary"] == "corrected by A"
    assert now.json()["killed"] == 1  # B's stale change was not applied
    assert now.headers["etag"] == 'W/"2"'

    retry = _patch(world, incident["id"], {"killed": 5}, now.headers["etag"])
    assert retry.status_code == 200, retry.text
    final = _get(world, incident["id"], "alpha").json()
    assert (final["summary"], final["killed"], final["version"]) == ("corrected by A", 5, 3)


def test_corrected_position_is_found_by_h3_search(world: World) -> None:
    """A corrected position gets the same nested cells as an imported one. At this point the
    resolution-4 cell of the position is not the parent of its resolution-8 cell."""
    lat, lon = 34.0567, 72.5729
    fine_parent = h3.cell_to_parent(h3.latlng_to_cell(lat, lon, 8), 4)
    assert h3.latlng_to_cell(lat, lon, 4) != fine_parent
    incident = _create(world, occurred_at="2029-04-04T04:00:00Z")
    r = _patch(world, incident["id"], {"latitude": lat, "longitude": lon}, 'W/"1"')
    assert r.status_code == 200, r.text
    assert r.json()["geo_precision"] == "exact"
    _confirm(world, incident["id"])
    window = {"since": "2029-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
    for res in (4, 5, 6, 8):
        cell = h3.cell_to_parent(h3.latlng_to_cell(lat, lon, 8), res)
        found = world.client.get(
            f"{API}/incidents",
            params={**window, "h3": cell},
            headers=world.headers("bravo", Role.STAFF),
        ).json()["items"]
        assert [i["id"] for i in found] == [incident["id"]], res


def test_correcting_the_marking_changes_who_sees_it(world: World) -> None:
    incident = _confirm(world, _create(world, tlp="GREEN")["id"])
    assert _get(world, incident["id"], "bravo").status_code == 200
    assert incident["version"] == 2  # confirming changed it
    r = _patch(world, incident["id"], {"tlp": "AMBER+STRICT"}, f'W/"{incident["version"]}"')
    assert r.status_code == 200, r.text
    assert r.json()["tlp"] == "AMBER+STRICT"
    _is_problem(_get(world, incident["id"], "bravo"), 404)
    assert _get(world, incident["id"], "alpha", Role.STAFF).status_code == 200


def test_a_write_that_loses_the_race_is_a_409(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers pass the If-Match check at the same moment: the one whose versioned UPDATE
    comes second changes nothing and gets 409 (not a server error)."""
    if not world.settings.database_url.startswith("postgresql"):
        _sqlite_serialises_writers(world, monkeypatch)
        return
    incident = _create(world, summary="before the race")
    check = incidents_review.check_version

    def check_then_lose_the_race(found: Any, if_match: str | None) -> None:
        check(found, if_match)
        engine = make_engine(world.settings.database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "UPDATE incidents SET version = version + 1, summary = 'the other writer'"
                        " WHERE id = :id"
                    ),
                    {"id": uuid.UUID(incident["id"])},
                )
        finally:
            engine.dispose()

    monkeypatch.setattr(incidents_review, "check_version", check_then_lose_the_race)
    r = _patch(world, incident["id"], {"summary": "the slower writer"}, 'W/"1"')
    assert "changed by someone else" in _is_problem(r, 409)["detail"]
    monkeypatch.undo()
    stored = _get(world, incident["id"], "alpha")
    assert stored.json()["summary"] == "the other writer"
    assert stored.headers["etag"] == 'W/"2"'


def _sqlite_serialises_writers(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a request's transaction holds the write lock from its start (BEGIN
    IMMEDIATE), so no other writer can get in between the If-Match check and the UPDATE."""
    incident = _create(world, summary="before the race")
    check = incidents_review.check_version
    path = make_url(world.settings.database_url).database
    assert path is not None
    blocked: list[str] = []

    def check_while_another_writer_tries(found: Any, if_match: str | None) -> None:
        check(found, if_match)
        other = sqlite3.connect(path, timeout=0.2)
        try:
            other.execute(
                "UPDATE incidents SET summary = 'the other writer' WHERE id = ?",
                (uuid.UUID(incident["id"]).hex,),
            )
        except sqlite3.OperationalError as exc:
            blocked.append(str(exc))
        finally:
            other.close()

    monkeypatch.setattr(incidents_review, "check_version", check_while_another_writer_tries)
    r = _patch(world, incident["id"], {"summary": "the only writer"}, 'W/"1"')
    monkeypatch.undo()
    assert r.status_code == 200, r.text
    assert blocked == ["database is locked"]
    stored = _get(world, incident["id"], "alpha")
    assert stored.json()["summary"] == "the only writer"
    assert stored.headers["etag"] == 'W/"2"'


def test_patch_without_if_match_is_refused(world: World) -> None:
    draft = _create(world)
    body = _is_problem(_patch(world, draft["id"], {"killed": 2}, None), 422)
    assert "If-Match" in body["detail"]
    assert _get(world, draft["id"], "alpha").json()["version"] == 1


def test_patch_of_another_organisations_incident(world: World) -> None:
    visible = world.incidents[("bravo", TLP.GREEN)]
    r = _patch(world, str(visible), {"killed": 2}, 'W/"1"')
    assert "another organisation" in _is_problem(r, 403)["detail"]
    hidden = world.incidents[("bravo", TLP.AMBER_STRICT)]
    _is_problem(_patch(world, str(hidden), {"killed": 2}, 'W/"1"'), 404)


def test_merge_moves_the_sources(world: World) -> None:
    target, other = _create(world, killed=1), _create(world, injured=4)
    r = world.client.post(
        f"{API}/incidents/{target['id']}/merge",
        json={"incident_ids": [other["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert {s["id"] for s in merged["sources"]} == {
        target["sources"][0]["id"],
        other["sources"][0]["id"],
    }
    assert all(
        s["match_reason"] for s in merged["sources"] if s["id"] != target["sources"][0]["id"]
    )
    _is_problem(_get(world, other["id"], "alpha"), 404)
    itself = world.client.post(
        f"{API}/incidents/{target['id']}/merge",
        json={"incident_ids": [target["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    _is_problem(itself, 422)
    foreign = world.client.post(
        f"{API}/incidents/{target['id']}/merge",
        json={"incident_ids": [str(world.drafts["bravo"])]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    _is_problem(foreign, 404)


def test_split_a_source_off(world: World) -> None:
    target, other = _create(world, killed=1), _create(world, injured=4)
    merged = world.client.post(
        f"{API}/incidents/{target['id']}/merge",
        json={"incident_ids": [other["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    ).json()
    moving = other["sources"][0]["id"]
    r = world.client.post(
        f"{API}/incidents/{merged['id']}/split",
        json={"source_record_ids": [moving]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert fresh["id"] not in (target["id"], other["id"])
    assert [s["id"] for s in fresh["sources"]] == [moving]
    assert fresh["injured"] == 4
    original = _get(world, target["id"], "alpha").json()
    assert [s["id"] for s in original["sources"]] == [target["sources"][0]["id"]]
    assert original["injured"] is None
    everything = world.client.post(
        f"{API}/incidents/{target['id']}/split",
        json={"source_record_ids": [target["sources"][0]["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    _is_problem(everything, 422)


def test_split_keeps_the_named_recipients_of_a_red_incident(world: World) -> None:
    recipient = str(world.users[("partner", Role.PARTNER)])
    target = _create(world, tlp="RED", recipients=[recipient], killed=1)
    other = _create(world, tlp="RED", recipients=[recipient], injured=2)
    world.client.post(
        f"{API}/incidents/{target['id']}/merge",
        json={"incident_ids": [other["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    ).raise_for_status()
    _confirm(world, target["id"])
    r = world.client.post(
        f"{API}/incidents/{target['id']}/split",
        json={"source_record_ids": [other["sources"][0]["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert r.status_code == 201, r.text
    assert r.json()["tlp"] == "RED"
    for incident_id in (target["id"], r.json()["id"]):
        assert _get(world, incident_id, "partner", Role.PARTNER).status_code == 200
        assert _get(world, incident_id, "partner", Role.ADMIN).status_code == 404


def test_nul_characters_are_a_422_naming_the_field(world: World) -> None:
    r = world.client.post(
        f"{API}/incidents",
        json=_report(summary="bad\u0000text"),
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert [p["name"] for p in _is_problem(r, 422)["invalid_params"]] == ["summary"]
    r = world.client.get(
        f"{API}/incidents", params={"q": "a\u0000b"}, headers=world.headers("alpha", Role.STAFF)
    )
    assert [p["name"] for p in _is_problem(r, 422)["invalid_params"]] == ["q"]


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spot:
    name: str
    latitude: float
    longitude: float
    occurred_at: str
    attack_type: str
    target_type: str
    perpetrator: str


SPOTS = (
    Spot("Besham", 34.93, 72.87, "2031-01-10T09:00:00+05:00", "suicide_vbied", "convoy", "TTP"),
    Spot("Gwadar", 25.126, 62.322, "2031-03-15T10:00:00+05:00", "armed_assault", "port", "BLA"),
    Spot("Karachi", 24.861, 67.01, "2031-05-20T11:00:00+05:00", "shooting", "consulate", "BLA MB"),
    Spot("Dasu", 35.29, 73.29, "2031-07-01T00:00:00Z", "suicide_vbied", "bus", "unknown"),
    Spot("Quetta", 30.184, 67.001, "2031-09-09T08:00:00+05:00", "kidnapping", "foreigners", "IS"),
)


@pytest.fixture(scope="module")
def spots(world: World) -> dict[str, dict[str, Any]]:
    """One confirmed GREEN incident of alpha at each spot, all in 2031 (no other test uses
    that year), as the API returns them."""
    out: dict[str, dict[str, Any]] = {}
    for s in SPOTS:
        created = _create(
            world,
            occurred_at=s.occurred_at,
            latitude=s.latitude,
            longitude=s.longitude,
            place=s.name,
            attack_type=s.attack_type,
            target_type=s.target_type,
            perpetrator=s.perpetrator,
            summary=f"search fixture at {s.name}",
        )
        out[s.name] = _confirm(world, created["id"])
    return out


def _search(world: World, params: dict[str, Any], role: Role = Role.STAFF) -> set[str]:
    r = world.client.get(
        f"{API}/incidents", params={**YEAR, **params}, headers=world.headers("bravo", role)
    )
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return {item["id"] for item in r.json()["items"]}


def _ids(spots: dict[str, dict[str, Any]], *names: str) -> set[str]:
    return {spots[n]["id"] for n in names}


def test_search_by_time(world: World, spots: dict[str, dict[str, Any]]) -> None:
    assert _search(world, {}) == _ids(spots, *spots)
    window = {"since": "2031-03-01T00:00:00Z", "until": "2031-07-01T00:00:00Z"}
    assert _search(world, window) == _ids(spots, "Gwadar", "Karachi")  # until is exclusive
    inclusive = {"since": "2031-05-20T11:00:00+05:00", "until": "2031-07-01T00:00:01Z"}
    assert _search(world, inclusive) == _ids(spots, "Karachi", "Dasu")
    r = world.client.get(
        f"{API}/incidents",
        params={"since": "2031-05-01T00:00:00Z", "until": "2031-04-01T00:00:00Z"},
        headers=world.headers("bravo", Role.STAFF),
    )
    _is_problem(r, 422)


def test_search_by_place(world: World, spots: dict[str, dict[str, Any]]) -> None:
    assert _search(world, {"bbox": "66.5,24.5,67.5,25.5"}) == _ids(spots, "Karachi")
    coast = {
        "type": "Polygon",
        "coordinates": [[[61.5, 24.5], [68.0, 24.5], [68.0, 25.5], [61.5, 25.5], [61.5, 24.5]]],
    }
    assert _search(world, {"polygon": json.dumps(coast)}) == _ids(spots, "Gwadar", "Karachi")
    # A triangle whose bounding box holds Karachi but whose area does not.
    triangle = {
        "type": "Polygon",
        "coordinates": [[[61.5, 24.5], [68.0, 24.5], [61.5, 26.0], [61.5, 24.5]]],
    }
    assert shape(triangle).covers(Point(62.322, 25.126))
    assert not shape(triangle).covers(Point(67.01, 24.861))
    assert _search(world, {"polygon": json.dumps(triangle)}) == _ids(spots, "Gwadar")
    feature = {"type": "Feature", "properties": {}, "geometry": coast}
    assert _search(world, {"polygon": json.dumps(feature)}) == _ids(spots, "Gwadar", "Karachi")
    balochistan = {n for n in spots if spots[n]["province"] == "Balochistan"}
    assert balochistan == {"Gwadar", "Quetta"}
    assert _search(world, {"province": "balochistan"}) == _ids(spots, *balochistan)
    district = spots["Besham"]["district"]
    assert district
    same_district = {n for n in spots if spots[n]["district"] == district}
    assert _search(world, {"district": district.upper()}) == _ids(spots, *same_district)


@pytest.mark.parametrize("res", [4, 5, 6, 8])
def test_search_by_h3_cell(world: World, spots: dict[str, dict[str, Any]], res: int) -> None:
    """An h3 cell of any resolution up to 8 finds the incidents whose position lies in it
    (coarse cells are taken as parents of the resolution-8 cell, as they are stored)."""

    def cell(name: str) -> str:
        s = spots[name]
        return str(h3.cell_to_parent(h3.latlng_to_cell(s["latitude"], s["longitude"], 8), res))

    for name in ("Besham", "Dasu"):
        expected = {n for n in spots if cell(n) == cell(name)}
        assert name in expected
        assert _search(world, {"h3": cell(name)}) == _ids(spots, *expected)
    if res == 6:
        assert cell("Besham") == spots["Besham"]["h3_r6"]


def test_search_by_what_and_who(world: World, spots: dict[str, dict[str, Any]]) -> None:
    assert _search(world, {"attack_type": "suicide_vbied"}) == _ids(spots, "Besham", "Dasu")
    both = {"attack_type": ["shooting", "kidnapping"]}
    assert _search(world, both) == _ids(spots, "Karachi", "Quetta")
    assert _search(world, {"target_type": "port"}) == _ids(spots, "Gwadar")
    assert _search(world, {"perpetrator": "bla"}) == _ids(spots, "Gwadar", "Karachi")
    assert _search(world, {"q": "FIXTURE AT G"}) == _ids(spots, "Gwadar")
    assert _search(world, {"q": "fixture", "province": "Sindh"}) == _ids(spots, "Karachi")
    assert _search(world, {"q": "100%_match"}) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "70,30,60,35"},
        {"polygon": "{not json"},
        {"polygon": '{"type": "Point", "coordinates": [1, 2]}'},
        {"h3": "not-a-cell"},
        {"h3": "8928308280fffff"},  # resolution 9
        {"cursor": "bm90IG91cnM"},
        {"attack_type": "tea_party"},
        {"since": "1711440000"},
        {"since": "2024-01-01T00:00:00"},  # no zone
        {"limit": "0"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())[:40],
)
def test_bad_search_parameters_are_422(world: World, params: dict[str, str]) -> None:
    r = world.client.get(
        f"{API}/incidents", params=params, headers=world.headers("alpha", Role.STAFF)
    )
    _is_problem(r, 422)
    if "cursor" not in params:
        csv_r = world.client.get(
            f"{API}/incidents/export.csv", params=params, headers=world.headers("alpha", Role.ADMIN)
        )
        assert csv_r.status_code == 422 if "limit" not in params else 200


# --- pages, GeoJSON, CSV -----------------------------------------------------------------------


def _visible_ids(world: World, org: str, role: Role) -> set[str]:
    """What the visibility rule says ``org``'s ``role`` sees now (other tests add incidents)."""
    with world.client.app.state.session_factory() as session:
        groups = frozenset(
            session.execute(
                select(SharingGroupMember.group_id).where(
                    SharingGroupMember.org_id == world.orgs[org]
                )
            ).scalars()
        )
        principal = Principal(
            org_id=world.orgs[org],
            role=role.value,
            user_id=world.users[(org, role)],
            group_ids=groups,
        )
        shares: dict[uuid.UUID, set[uuid.UUID]] = {}
        for iid, gid in session.execute(select(IncidentShare.incident_id, IncidentShare.group_id)):
            shares.setdefault(iid, set()).add(gid)
        recipients: dict[uuid.UUID, set[uuid.UUID]] = {}
        for iid, uid in session.execute(
            select(IncidentRecipient.incident_id, IncidentRecipient.user_id)
        ):
            recipients.setdefault(iid, set()).add(uid)
        return {
            str(i.id)
            for i in session.execute(select(Incident)).scalars()
            if visible_in_python(
                principal,
                org_id=i.org_id,
                tlp=i.tlp,
                status=i.status,
                created_by=i.created_by,
                group_ids=frozenset(shares.get(i.id, ())),
                recipients=frozenset(recipients.get(i.id, ())),
            )
        }


@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_pages_show_each_visible_incident_once(world: World, limit: int) -> None:
    headers = world.headers("partner", Role.PARTNER)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    previous: tuple[str, str] | None = None
    for _ in range(500):
        r = world.client.get(f"{API}/incidents", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        for item in page["items"]:
            key = (item["occurred_at"], item["id"])
            assert previous is None or key < previous, "newest first, ties by id"
            previous = key
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        assert len(page["items"]) == limit
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert set(seen) == _visible_ids(world, "partner", Role.PARTNER)


def test_pages_across_incidents_of_the_same_moment(world: World) -> None:
    same = "2030-02-02T02:02:02Z"
    made = {
        _confirm(world, _create(world, occurred_at=same, summary=f"tie {n}")["id"])["id"]
        for n in range(5)
    }
    window = {"since": same, "until": "2030-02-02T02:02:03Z", "limit": 2}
    seen: list[str] = []
    headers = world.headers("bravo", Role.STAFF)
    for _ in range(10):
        page = world.client.get(f"{API}/incidents", params=window, headers=headers).json()
        seen += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        window["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(made)
    assert seen == sorted(made, reverse=True)


def test_geojson_feature_collection(world: World, spots: dict[str, dict[str, Any]]) -> None:
    unplaced = _confirm(
        world,
        _create(
            world,
            occurred_at="2031-12-01T00:00:00Z",
            latitude=None,
            longitude=None,
            place=None,
            summary="somewhere in Pakistan",
        )["id"],
    )
    assert unplaced["geo_precision"] == "country"
    headers = world.headers("bravo", Role.STAFF)
    as_json = world.client.get(f"{API}/incidents", params=YEAR, headers=headers).json()
    for how in ("format", "accept"):
        if how == "format":
            r = world.client.get(
                f"{API}/incidents", params={**YEAR, "format": "geojson"}, headers=headers
            )
        else:
            r = world.client.get(
                f"{API}/incidents",
                params=YEAR,
                headers={**headers, "Accept": "application/geo+json"},
            )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/geo+json")
        body = r.json()
        GeoJSONFeatureCollection.model_validate(body)
        assert body["type"] == "FeatureCollection"
        assert [f["id"] for f in body["features"]] == [i["id"] for i in as_json["items"]]
        by_id = {f["id"]: f for f in body["features"]}
        for name, incident in spots.items():
            feature = by_id[incident["id"]]
            assert feature["type"] == "Feature"
            assert feature["geometry"]["type"] == "Point"
            lon, lat = feature["geometry"]["coordinates"]
            spot = next(s for s in SPOTS if s.name == name)
            assert (lon, lat) == (pytest.approx(spot.longitude), pytest.approx(spot.latitude))
            assert "latitude" not in feature["properties"]
            assert feature["properties"]["attack_type"] == spot.attack_type
        assert by_id[unplaced["id"]]["geometry"] is None
    r = world.client.get(
        f"{API}/incidents",
        params={**YEAR, "format": "json"},
        headers={**headers, "Accept": "application/geo+json"},
    )
    assert r.headers["content-type"].startswith("application/json")


def test_csv_export(world: World, spots: dict[str, dict[str, Any]]) -> None:
    r = world.client.get(
        f"{API}/incidents/export.csv",
        params={**YEAR, "province": "Balochistan"},
        headers=world.headers("partner", Role.PARTNER),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="incidents-')
    reader = csv.reader(io.StringIO(r.text))
    header = next(reader)
    assert tuple(header) == CSV_COLUMNS
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert {row["id"] for row in rows} == _ids(spots, "Gwadar", "Quetta")
    gwadar = next(row for row in rows if row["id"] == spots["Gwadar"]["id"])
    assert float(gwadar["latitude"]) == pytest.approx(25.126)
    assert gwadar["attack_type"] == "armed_assault"
    assert gwadar["perpetrator"] == "BLA"
    assert gwadar["tlp"] == "GREEN"
    everything = world.client.get(
        f"{API}/incidents/export.csv", headers=world.headers("partner", Role.PARTNER)
    )
    lines = list(csv.reader(io.StringIO(everything.text)))
    assert len(lines) - 1 == len(_visible_ids(world, "partner", Role.PARTNER))


def test_merging_never_declassifies(world: World) -> None:
    """A RED report merged into a GREEN one makes the whole RED and keeps its recipients."""
    recipient = str(world.users[("alpha", Role.MOVEMENT_CONTROLLER)])
    red = _create(world, tlp="RED", recipients=[recipient], summary="red part")
    green = _create(world, tlp="GREEN", summary="green part")
    r = world.client.post(
        f"{API}/incidents/{green['id']}/merge",
        json={"incident_ids": [red["id"]]},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert r.status_code == 200, r.text
    assert r.json()["tlp"] == "RED"
    assert r.headers["etag"] == f'W/"{r.json()["version"]}"'
    assert _get(world, green["id"], "alpha", Role.MOVEMENT_CONTROLLER).status_code == 200
    _is_problem(_get(world, green["id"], "alpha", Role.STAFF), 404)


def _geojson_as_pydantic_wrote_it(world: World, headers: dict[str, str], params: Any) -> None:
    """The GeoJSON page (joined stored Feature texts) is byte for byte what pydantic writes
    for the JSON page's incidents."""
    as_json = world.client.get(f"{API}/incidents", params=params, headers=headers).json()
    features = []
    for item in as_json["items"]:
        lat, lon = item.pop("latitude"), item.pop("longitude")
        geometry = None if lat is None else {"type": "Point", "coordinates": [lon, lat]}
        features.append({"id": item["id"], "geometry": geometry, "properties": item})
    expected = GeoJSONFeatureCollection.model_validate(
        {"features": features, "next_cursor": as_json["next_cursor"]}
    ).model_dump_json()
    r = world.client.get(
        f"{API}/incidents", params={**params, "format": "geojson"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.text == expected


def test_stored_features_follow_every_write(world: World) -> None:
    """create, correct, confirm, reject, merge and split all keep the pre-rendered Feature
    of every incident they touch current (version and updated_at included)."""
    headers = world.headers("alpha", Role.ANALYST)
    window = {"since": "2033-01-01T00:00:00Z", "until": "2034-01-01T00:00:00Z"}
    when = "2033-05-05T05:05:05.123456+05:00"
    a = _create(world, occurred_at=when, killed=1, summary='Ünïcode "quoted"\n\ttabs \u2028')
    b = _create(world, occurred_at=when, injured=4, latitude=0.00001, longitude=67.0)
    c = _create(world, occurred_at="2033-06-01T00:00:00Z", latitude=None, longitude=None)
    _geojson_as_pydantic_wrote_it(world, headers, window)
    assert _patch(world, a["id"], {"killed": 3, "perpetrator": "TTP"}, 'W/"1"').status_code == 200
    _geojson_as_pydantic_wrote_it(world, headers, window)
    _confirm(world, a["id"])
    r = world.client.post(
        f"{API}/incidents/{c['id']}/reject", json={"reason": "a duplicate"}, headers=headers
    )
    assert r.status_code == 200, r.text
    _geojson_as_pydantic_wrote_it(world, headers, window)
    merged = world.client.post(
        f"{API}/incidents/{a['id']}/merge", json={"incident_ids": [b["id"]]}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    _geojson_as_pydantic_wrote_it(world, headers, window)
    r = world.client.post(
        f"{API}/incidents/{a['id']}/split",
        json={"source_record_ids": [b["sources"][0]["id"]]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    _geojson_as_pydantic_wrote_it(world, headers, window)
    _geojson_as_pydantic_wrote_it(world, headers, {**window, "limit": 1})


def test_geojson_renders_rows_without_a_stored_feature(world: World) -> None:
    """Rows written by other code (no pre-rendered Feature) are rendered when read."""
    headers = world.headers("alpha", Role.ANALYST)
    window = {"since": "2035-01-01T00:00:00Z", "until": "2036-01-01T00:00:00Z"}
    made = _create(world, occurred_at="2035-02-02T00:00:00Z")
    engine = make_engine(world.settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            update(Incident).where(Incident.id == uuid.UUID(made["id"])).values(feature=None)
        )
    engine.dispose()
    _geojson_as_pydantic_wrote_it(world, headers, window)


# --- map pages: bbox + time range, GeoJSON ------------------------------------------------------

MAP_BOX = (70.0, 32.0, 75.0, 36.0)  # 20 square degrees: answered from the cell cover
MAP_YEAR = {"since": "2033-01-01T00:00:00Z", "until": "2034-01-01T00:00:00Z"}


@pytest.fixture(scope="module")
def map_incidents(world: World) -> None:
    """Incidents of 2033 (no other test uses that year) inside and outside MAP_BOX, under
    every marking, of two organisations, confirmed and draft, two of them at the same moment;
    an AMBER one shared with alpha's group and a RED one naming a recipient."""
    places = [(33.6, 73.0), (35.9, 74.9), (32.0, 70.0), (24.9, 67.0), (36.5, 71.0), (34.0, 69.9)]
    markings = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    for n in range(20):
        org = ("alpha", "bravo")[n % 2]
        lat, lon = places[n % len(places)]
        extra: dict[str, Any] = {}
        if n == 12:  # alpha's AMBER, shared with the group of alpha and partner
            extra["share_with_groups"] = [str(world.group_id)]
        if n == 9:  # bravo's RED, naming partner's user
            extra["recipients"] = [str(world.users[("partner", Role.PARTNER)])]
        made = _create(
            world,
            org=org,
            occurred_at=f"2033-{1 + n % 12:02d}-{1 + n % 5:02d}T0{n % 3}:00:00Z"
            if n != 11
            else "2033-02-02T01:00:00Z",  # the same moment as n == 1 (alpha / bravo)
            latitude=lat,
            longitude=lon,
            place=f"map spot {n}",
            tlp=markings[n % len(markings)],
            **extra,
        )
        if n % 4 != 3:  # every fourth stays a draft, seen by its organisation only
            _confirm(world, made["id"], org=org)


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("alpha", Role.STAFF),
        ("bravo", Role.STAFF),
        ("bravo", Role.ANALYST),
        ("partner", Role.PARTNER),
    ],
)
@pytest.mark.usefixtures("map_incidents")
def test_map_pages_list_exactly_the_visible_incidents_in_the_box(
    world: World, org: str, role: Role
) -> None:
    """GeoJSON pages of a box and time range (the statement cached per caller and shape, the
    cell cover of the box's tiles, time and id read unconverted) list what the visibility rule
    and the filters select, newest first, each once; the same as the JSON pages (ORM rows)
    and, within the box, as a box too large for a cell cover (served by the time index)."""
    min_lon, min_lat, max_lon, max_lat = MAP_BOX
    visible = _visible_ids(world, org, role)
    with world.client.app.state.session_factory() as session:
        rows = session.execute(
            select(Incident.id, Incident.occurred_at, Incident.longitude, Incident.latitude)
        ).all()
    expected = sorted(
        (
            (r.occurred_at, str(r.id))
            for r in rows
            if str(r.id) in visible
            and r.longitude is not None
            and min_lon <= r.longitude <= max_lon
            and min_lat <= r.latitude <= max_lat
            and "2033-01-01" <= r.occurred_at.isoformat()[:10] < "2034-01-01"
        ),
        reverse=True,
    )
    assert expected, "the box holds incidents this caller sees"
    headers = world.headers(org, role)

    def pages(bbox: tuple[float, ...], fmt: str) -> list[str]:
        params: dict[str, Any] = {
            **MAP_YEAR,
            "bbox": ",".join(map(str, bbox)),
            "limit": 3,
            "format": fmt,
        }
        seen: list[str] = []
        for _ in range(50):
            r = world.client.get(f"{API}/incidents", params=params, headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            if fmt == "geojson":
                seen += [f["id"] for f in body["features"]]
            else:
                seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                return seen
            params["cursor"] = body["next_cursor"]
        raise AssertionError("more pages than incidents")

    assert pages(MAP_BOX, "geojson") == [ident for _, ident in expected]
    assert pages(MAP_BOX, "json") == [ident for _, ident in expected]
    # 30 x 20 degrees: no cell cover, the time index and a thread
    wide = pages((60.0, 20.0, 90.0, 40.0), "geojson")
    assert [i for i in wide if i in {ident for _, ident in expected}] == [
        ident for _, ident in expected
    ]
