"""The movement workflow over HTTP as a control room runs it: request, see the required
measures and the rules that fired, approve with two distinct approvers, start, check in,
arrive; illegal steps are 409s; the organisation's policy is stored per revision."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from tests.api.conftest import PASSWORD, World

PROBLEM = "application/problem+json"
M = "/api/v1/movements"

STRICT_POLICY = """version = 1
name = "alpha convoy rules"
revision = {revision}

[[rule]]
id = "escort-always"
description = "Every movement has a police escort and a tracker"
when = {{ min_level = 1 }}
require = ["police_escort", "tracker"]

[[rule]]
id = "two-approvers"
description = "Two distinct approvers sign every movement"
when = {{ min_level = 1 }}
approvals = 2
"""

REQUEST = {
    "origin": "Karachi",
    "destination": "Gwadar",
    "departure": "2030-02-01T07:00:00+05:00",
    "arrival": "2030-02-01T16:00:00+05:00",
    "vehicles": 2,
    "party": 5,
    "purpose": "Port engineers' rotation",
}


def _second_approver(world: World, org: str) -> dict[str, str]:
    factory = world.client.app.state.session_factory
    with factory() as session:
        auth_service.create_user(
            session,
            org_id=world.orgs[org],
            username=f"second.approver.{org}",
            password=PASSWORD,
            role=Role.APPROVER,
        )
        session.commit()
    r = world.client.post(
        "/api/v1/auth/login",
        json={"username": f"second.approver.{org}", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _put_policy(world: World, revision: int) -> Any:
    return world.client.put(
        f"{M}/policy",
        json={"document": STRICT_POLICY.format(revision=revision)},
        headers=world.headers("alpha", Role.ADMIN),
    )


def test_the_whole_workflow_under_the_organisations_own_policy(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    approver = w.headers("alpha", Role.APPROVER)

    shipped = w.client.get(f"{M}/policy", headers=controller).json()
    assert shipped["created_by"].startswith("silkguard")
    assert "forbid-level-6" in {r["id"] for r in shipped["rules"]}

    stored = _put_policy(w, 2)
    assert stored.status_code == 200, stored.text
    assert stored.json()["revision"] == 2
    assert [r["id"] for r in stored.json()["rules"]] == ["escort-always", "two-approvers"]
    # the same revision again is refused: it would overwrite silently
    stale = _put_policy(w, 2)
    assert stale.status_code == 409
    assert "revision = 3" in stale.json()["detail"]

    made = w.client.post(M, json=REQUEST, headers=controller)
    assert made.status_code == 201, made.text
    m = made.json()
    assert m["state"] == "submitted"
    assert m["decision"]["status"] == "needs_measures"
    assert set(m["decision"]["missing_measures"]) == {"police_escort", "tracker"}
    assert {f["rule"] for f in m["decision"]["fired"]} == {"escort-always", "two-approvers"}
    assert m["route"]["length_km"] > 400
    assert m["origin"]["label"] == "Karachi"
    assert m["destination"]["label"] == "Gwadar"

    # approval is refused while measures are missing, and says which
    early = w.client.post(f"{M}/{m['id']}/approve", headers=approver)
    assert early.status_code == 409
    assert "police_escort" in early.json()["detail"]

    fixed = w.client.put(
        f"{M}/{m['id']}/measures",
        json={"measures": ["police_escort", "tracker"]},
        headers=controller,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["decision"]["status"] == "needs_approval"
    assert fixed.json()["decision"]["approvals_required"] == 2

    first = w.client.post(f"{M}/{m['id']}/approve", headers=approver)
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "submitted"
    again = w.client.post(f"{M}/{m['id']}/approve", headers=approver)
    assert again.status_code == 409
    assert "already approved" in again.json()["detail"]
    second = w.client.post(f"{M}/{m['id']}/approve", headers=_second_approver(w, "alpha"))
    assert second.json()["state"] == "approved"

    # arriving before leaving is an illegal transition
    wrong = w.client.post(f"{M}/{m['id']}/arrive", headers=controller)
    assert wrong.status_code == 409
    assert wrong.headers["content-type"].startswith(PROBLEM)

    staff = w.headers("alpha", Role.STAFF)
    assert w.client.post(f"{M}/{m['id']}/start", headers=staff).json()["state"] == "under_way"
    checked = w.client.post(
        f"{M}/{m['id']}/check-ins", json={"lat": 25.3, "lon": 64.3, "note": "Ormara"}, headers=staff
    )
    assert checked.status_code == 201
    assert checked.json()["events"][-1]["kind"] == "check_in"
    done = w.client.post(f"{M}/{m['id']}/arrive", headers=staff).json()
    assert done["state"] == "arrived"
    assert done["arrived_at"] is not None
    kinds = [e["kind"] for e in done["events"]]
    assert kinds.count("approval") == 2
    assert kinds.count("check_in") == 1

    listed = w.client.get(f"{M}?state=arrived", headers=approver).json()
    assert [x["id"] for x in listed] == [m["id"]]
    assert listed[0]["decision_status"] == "needs_approval"
    board = w.client.get(f"{M}/board", headers=approver).json()
    assert board["counts"]["arrived"] == 1
    assert board["overdue"] == []


def test_another_organisation_sees_nothing_and_cannot_act(fresh_world: World) -> None:
    w = fresh_world
    made = w.client.post(
        M, json={**REQUEST, "submit": False}, headers=w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    ).json()
    assert made["state"] == "draft"
    bravo = w.headers("bravo", Role.ADMIN)
    assert w.client.get(f"{M}/{made['id']}", headers=bravo).status_code == 404
    assert w.client.post(f"{M}/{made['id']}/submit", headers=bravo).status_code == 404
    assert w.client.get(M, headers=bravo).json() == []
    assert sum(w.client.get(f"{M}/board", headers=bravo).json()["counts"].values()) == 0
    # bravo's policy is its own: alpha's stored revision does not apply to it
    assert _put_policy(w, 5).status_code == 200
    bravo_policy = w.client.get(f"{M}/policy", headers=bravo).json()
    assert bravo_policy["created_by"].startswith("silkguard")


def test_nobody_approves_their_own_request(fresh_world: World) -> None:
    w = fresh_world
    admin = w.headers("alpha", Role.ADMIN)
    quiet = {**REQUEST, "origin": "Gwadar", "destination": "Turbat"}
    assert _put_policy(w, 2).status_code == 200
    made = w.client.post(
        M, json={**quiet, "measures": ["police_escort", "tracker"]}, headers=admin
    ).json()
    own = w.client.post(f"{M}/{made['id']}/approve", headers=admin)
    assert own.status_code == 403
    assert "cannot approve" in own.json()["detail"]
    rejected = w.client.post(
        f"{M}/{made['id']}/reject",
        json={"reason": "bridge down at Pasni"},
        headers=w.headers("alpha", Role.APPROVER),
    )
    assert rejected.json()["state"] == "rejected"
    assert w.client.post(f"{M}/{made['id']}/start", headers=admin).status_code == 409


def test_bad_requests_are_explained_and_store_nothing(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**REQUEST, "vehicles": 0}, 422, "vehicles"),
        ({**REQUEST, "vehicles": "3"}, 422, "vehicles"),
        ({**REQUEST, "departure": "2030-02-01T07:00:00"}, 422, "departure"),
        ({**REQUEST, "destination": "Atlantis Springs"}, 422, "Atlantis"),
        ({**REQUEST, "arrival": "2030-02-01T06:00:00+05:00"}, 422, "arrival"),
        ({**REQUEST, "measures": ["jetpack"]}, 422, "jetpack"),
        ({**REQUEST, "colour": "red"}, 422, "colour"),
    ]
    for body, status, word in cases:
        r = w.client.post(M, json=body, headers=controller)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert word in r.text, r.text
    assert w.client.get(M, headers=controller).json() == []
    broken = w.client.put(
        f"{M}/policy",
        json={
            "document": "version = 1\nname = 'x'\nrevision = 2\n[[rule]]\nid = 'a'\n"
            "description = 'b'\nwhen = { min_level = 9 }\napprovals = 1\n"
        },
        headers=w.headers("alpha", Role.ADMIN),
    )
    assert broken.status_code == 422
    assert "policy document:7:" in broken.json()["detail"]
    assert "min_level" in broken.json()["detail"]
    assert w.client.get(f"{M}/policy", headers=controller).json()["revision"] == 1


def test_route_options_compare_routes_and_a_request_takes_the_chosen_one(
    fresh_world: World,
) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    assert _put_policy(w, 2).status_code == 200
    trip = {**REQUEST, "origin": "Thatta", "destination": "Khuzdar"}
    ask = {k: v for k, v in trip.items() if k != "purpose"}
    before = w.client.get(M, headers=controller).json()

    r = w.client.post(
        "/api/v1/movement-routes", json={**ask, "alternatives": 3}, headers=controller
    )
    assert r.status_code == 200, r.text
    body = r.json()
    options = body["options"]
    assert len(options) == 3
    assert [o["rank"] for o in options] == [0, 1, 2]
    assert [p["label"] for p in body["points"]] == ["Thatta", "Khuzdar"]
    # without a forecast the routes go by travel time: the recommended one is the quickest,
    # and the others really are different roads
    times = [o["route"]["time_s"] for o in options]
    assert times[0] == min(times)
    lines = [o["route"]["coordinates"] for o in options]
    assert len({str(c) for c in lines}) == 3
    for o in options:
        assert o["decision"]["status"] == "needs_measures"
        assert set(o["decision"]["missing_measures"]) == {"police_escort", "tracker"}
        assert o["assessment"]["max_level"] == 1
        # each route carries its schedule from the departure: when each road is driven
        route = o["route"]
        assert route["depart"] == "2030-02-01T07:00:00+05:00"
        assert route["night"] == {
            "start": "18:00",
            "end": "06:00",
            "factor": 1.0,
            "zone": "Asia/Karachi",
        }
        sched = route["schedule"]
        assert sched[0]["enter"] == route["depart"]
        assert sched[-1]["leave"] == route["arrive"]
        assert all(a["leave"] == b["enter"] for a, b in itertools.pairwise(sched))
        assert all(s["road"] and s["km_to"] > s["km_from"] for s in sched)
        assert route["night_exposure"] is None  # no forecast: no exposure to weigh
        assert route["night_s"] == pytest.approx(sum(s["night_s"] for s in sched), abs=1)
        assert all(s["at_night"] == (s["night_s"] > 0) for s in sched)
        # leaving at 07:00, night driving is what runs past 18:00
        arrive = datetime.fromisoformat(route["arrive"])
        dusk = datetime.fromisoformat("2030-02-01T18:00:00+05:00")
        assert route["night_s"] == pytest.approx(max(0.0, (arrive - dusk).total_seconds()), abs=2)
    assert body["pareto"] == []  # no forecast, no trade-off
    # planning stores nothing
    assert w.client.get(M, headers=controller).json() == before

    # the controller requests the third option: the movement follows that road
    made = w.client.post(M, json={**trip, "route": 2}, headers=controller)
    assert made.status_code == 201, made.text
    assert made.json()["route"]["coordinates"] == lines[2]
    # asking for more alternatives keeps the first ones in place
    more = w.client.post(
        "/api/v1/movement-routes", json={**ask, "alternatives": 5}, headers=controller
    )
    found = [o["route"]["coordinates"] for o in more.json()["options"]]
    assert found[:3] == lines
    assert len(found) < 5
    # a route that was never proposed is refused, and nothing is stored
    count = len(w.client.get(M, headers=controller).json())
    missing = w.client.post(M, json={**trip, "route": len(found)}, headers=controller)
    assert missing.status_code == 422, missing.text
    assert "was not proposed" in missing.json()["detail"]
    assert len(w.client.get(M, headers=controller).json()) == count


def test_route_options_reject_bad_input_with_the_field(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    ask = {k: v for k, v in REQUEST.items() if k != "purpose"}
    for bad, where in (
        ({**ask, "alternatives": 9}, "alternatives"),
        ({**ask, "destination": "Atlantis"}, "Atlantis"),
        ({**ask, "measures": ["moat"]}, "moat"),
        ({**ask, "arrival": "2030-01-31T16:00:00+05:00"}, "arrival"),
    ):
        r = w.client.post("/api/v1/movement-routes", json=bad, headers=controller)
        assert r.status_code in (400, 404, 422), (bad, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert where in r.text, (where, r.text)
    partner = w.client.post(
        "/api/v1/movement-routes", json=ask, headers=w.headers("alpha", Role.PARTNER)
    )
    assert partner.status_code == 403


def test_movement_patterns_show_a_weekly_convoy_at_the_same_hour(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    for week in range(3):
        day = 1 + 7 * week
        made = w.client.post(
            M,
            json={
                **REQUEST,
                "departure": f"2030-02-{day:02d}T07:00:00+05:00",
                "arrival": f"2030-02-{day:02d}T16:00:00+05:00",
            },
            headers=controller,
        )
        assert made.status_code == 201, made.text
    r = w.client.get("/api/v1/movement-patterns?days=3650", headers=controller)
    assert r.status_code == 200, r.text
    (pair,) = r.json()
    assert (pair["origin"], pair["destination"], pair["movements"]) == ("Karachi", "Gwadar", 3)
    assert pair["predictability"] == 1.0
    assert {a["code"] for a in pair["advice"]} == {"same_hour", "same_weekday", "same_route"}
    # another organisation sees only its own movements
    other = w.client.get(
        "/api/v1/movement-patterns?days=3650", headers=w.headers("bravo", Role.MOVEMENT_CONTROLLER)
    )
    assert other.json() == []
    # within the default 180 days there is nothing yet (the convoys run in 2030)
    assert w.client.get("/api/v1/movement-patterns", headers=controller).json() == []
    bad = w.client.get("/api/v1/movement-patterns?days=0", headers=controller)
    assert bad.status_code == 422


def test_the_post_movement_review_once_the_movement_is_over(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    trip = {**REQUEST, "submit": False}
    made = w.client.post(M, json=trip, headers=controller).json()
    review = {
        "summary": "Arrived on time",
        "deviations": "Held 40 minutes at Ormara for a checkpoint",
        "lessons": "Call the Ormara checkpoint before leaving",
        "measures_effective": True,
    }
    early = w.client.post(f"{M}/{made['id']}/review", json=review, headers=controller)
    assert early.status_code == 409
    assert "once it is over" in early.json()["detail"]
    cancelled = w.client.post(
        f"{M}/{made['id']}/cancel", json={"reason": "postponed"}, headers=controller
    )
    assert cancelled.status_code == 200, cancelled.text
    empty = w.client.post(f"{M}/{made['id']}/review", json={"summary": ""}, headers=controller)
    assert empty.status_code == 422
    done = w.client.post(f"{M}/{made['id']}/review", json=review, headers=controller)
    assert done.status_code == 200, done.text
    stored = done.json()["review"]
    assert stored["lessons"] == review["lessons"]
    assert stored["measures_effective"] is True
    assert stored["by"]
    record = w.client.get(f"{M}/{made['id']}", headers=controller).json()
    assert record["review"] == stored
    assert "review" in [e["kind"] for e in record["events"]]
    again = w.client.post(f"{M}/{made['id']}/review", json=review, headers=controller)
    assert again.status_code == 409
    other = w.client.post(
        f"{M}/{made['id']}/review",
        json=review,
        headers=w.headers("bravo", Role.MOVEMENT_CONTROLLER),
    )
    assert other.status_code == 404


def test_route_options_keep_out_of_an_area_to_avoid(fresh_world: World) -> None:
    w = fresh_world
    controller = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    ask = {k: v for k, v in REQUEST.items() if k != "purpose"}
    ask.update(origin="Thatta", destination="Khuzdar")
    url = "/api/v1/movement-routes"
    best = w.client.post(url, json=ask, headers=controller).json()["options"][0]["route"]
    # a box of about 20 km around the middle of the recommended route
    lon, lat = best["coordinates"][len(best["coordinates"]) // 2]
    d = 0.1
    box = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - d, lat - d],
                [lon + d, lat - d],
                [lon + d, lat + d],
                [lon - d, lat + d],
                [lon - d, lat - d],
            ]
        ],
    }
    r = w.client.post(url, json={**ask, "avoid": [box]}, headers=controller)
    assert r.status_code == 200, r.text
    around = r.json()["options"][0]["route"]
    assert around["avoided_areas"] == 1
    assert around["coordinates"] != best["coordinates"]
    inside = [(x, y) for x, y in around["coordinates"] if abs(x - lon) < d and abs(y - lat) < d]
    assert inside == []
    assert around["time_s"] > best["time_s"]
    # the request keeps out of it too
    made = w.client.post(M, json={**REQUEST, **ask, "avoid": [box]}, headers=controller)
    assert made.status_code == 201, made.text
    assert made.json()["route"]["coordinates"] == around["coordinates"]
    # a bad area is refused with where it is
    bad = w.client.post(url, json={**ask, "avoid": [box, {"type": "Point"}]}, headers=controller)
    assert bad.status_code == 422
    assert "avoid[1]" in bad.json()["detail"]
