"""The risk API as a control room uses it: forecast, surface, point, district, site, route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from silkguard.auth.roles import Role
from silkguard.core.access import Principal
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.risk import service as risk_service
from tests.api.conftest import World

PROBLEM = "application/problem+json"
GWADAR = (25.126, 62.325)


def _history(world: World) -> None:
    """Twenty GREEN attacks on the Makran coast in 2023-24 (alpha's analyst reports them)."""
    factory = world.client.app.state.session_factory
    principal = Principal(
        org_id=world.orgs["alpha"], role="analyst", user_id=world.users[("alpha", Role.ANALYST)]
    )
    with factory() as session:
        for k in range(20):
            inc = incidents_review.create_draft(
                session,
                principal=principal,
                data=IncidentCreate(
                    occurred_at=datetime(2023, 6, 1, tzinfo=UTC) + timedelta(days=19 * k),
                    attack_type=AttackType.IED if k % 2 else AttackType.SHOOTING,
                    target_type=TargetType.CONVOY,
                    latitude=GWADAR[0] + 0.01 * (k % 5),
                    longitude=GWADAR[1] + 0.01 * (k % 4),
                    tlp=TLP.GREEN,
                    summary=f"coastal highway attack {k}",
                ),
            )
            incidents_review.confirm(session, principal=principal, incident_id=inc.id)
        session.commit()


def test_no_forecast_yet_is_a_404_that_says_what_to_do(fresh_world: World) -> None:
    staff = fresh_world.headers("bravo", Role.STAFF)
    missing = fresh_world.client.get("/api/v1/risk/level?lat=25.1&lon=62.3", headers=staff)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert "no risk forecast yet" in missing.json()["detail"]


@pytest.fixture(scope="module")
def forecast(world: World) -> dict[str, Any]:
    _history(world)
    made = world.client.post(
        "/api/v1/risk/forecasts",
        json={"model": "naive", "as_of": "2024-07-01T00:00:00Z", "resolution": 5},
        headers=world.headers("alpha", Role.ANALYST),
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_the_risk_workflow(world: World, forecast: dict[str, Any]) -> None:
    client = world.client
    staff = world.headers("bravo", Role.STAFF)
    run = forecast
    assert run["model"] == "naive"
    assert run["tlp"] == "GREEN"
    assert run["trained_until"].startswith("2024-07-01")
    assert run["n_events"] >= 20
    listed = client.get("/api/v1/risk/forecasts", headers=staff).json()
    assert run["id"] in [r["id"] for r in listed]

    surface = client.get("/api/v1/risk/surface?min_level=4", headers=staff)
    assert surface.status_code == 200
    assert surface.headers["content-type"].startswith("application/geo+json")
    features = surface.json()["features"]
    assert features
    assert all(f["properties"]["level"] >= 4 for f in features)

    point = client.get(f"/api/v1/risk/level?lat={GWADAR[0]}&lon={GWADAR[1]}", headers=staff)
    assert point.status_code == 200, point.text
    body = point.json()
    assert body["forecast_id"] == run["id"]
    assert body["level"] >= 4
    assert body["reason"].startswith(f"Level {body['level']} (")
    assert body["province"] == "Balochistan"

    district = client.get("/api/v1/risk/districts/gwadar", headers=staff)
    assert district.status_code == 200, district.text
    assert district.json()["level"] >= 3
    unknown = client.get("/api/v1/risk/districts/Atlantis", headers=staff)
    assert unknown.status_code == 422
    assert "not in the gazetteer" in unknown.json()["detail"]

    route = client.post(
        "/api/v1/risk/route",
        json={"type": "LineString", "coordinates": [[62.325, 25.126], [63.05, 26.0]]},
        headers=staff,
    )
    assert route.status_code == 200, route.text
    segments = route.json()
    assert len(segments) >= 10
    assert segments[0]["level"]["level"] >= segments[-1]["level"]["level"]
    bad_route = client.post(
        "/api/v1/risk/route",
        json={"type": "LineString", "coordinates": [[200.0, 25.1], [63.0, 26.0]]},
        headers=staff,
    )
    assert bad_route.status_code == 422
    assert "[longitude, latitude]" in bad_route.json()["detail"]


def test_sites_and_their_levels(world: World, forecast: dict[str, Any]) -> None:
    client = world.client
    controller = world.headers("alpha", Role.MOVEMENT_CONTROLLER)
    created = client.post(
        "/api/v1/sites",
        json={
            "slug": "gwadar-camp",
            "name": "Gwadar camp",
            "kind": "camp",
            "latitude": 25.14,
            "longitude": 62.33,
            "headcount": 120,
        },
        headers=controller,
    )
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["district"] == "Gwadar"
    assert site["tlp"] == "AMBER"
    again = client.post(
        "/api/v1/sites", json={**site_body(), "slug": "gwadar-camp"}, headers=controller
    )
    assert again.status_code == 409
    other_org = client.get(
        f"/api/v1/sites/{site['id']}", headers=world.headers("bravo", Role.ANALYST)
    )
    assert other_org.status_code == 404
    level = client.get(f"/api/v1/risk/sites/{site['id']}", headers=controller)
    assert level.status_code == 200, level.text
    assert level.json()["site_name"] == "Gwadar camp"
    assert level.json()["forecast_id"] == forecast["id"]
    assert level.json()["level"] >= 4


def site_body() -> dict[str, object]:
    return {"name": "Another camp", "kind": "camp", "latitude": 25.2, "longitude": 62.4}


def test_bad_forecast_requests_and_policies_are_refused(world: World) -> None:
    client = world.client
    analyst = world.headers("alpha", Role.ANALYST)
    unknown = client.post("/api/v1/risk/forecasts", json={"model": "oracle"}, headers=analyst)
    assert unknown.status_code == 422
    bad_param = client.post(
        "/api/v1/risk/forecasts",
        json={"model": "naive", "params": {"colour": "red"}, "resolution": 4},
        headers=analyst,
    )
    assert bad_param.status_code == 422
    assert "colour" in bad_param.json()["detail"]
    policy = client.put(
        "/api/v1/risk/policy", json={"ratio_cuts": [5, 4, 3, 2, 1]}, headers=analyst
    )
    assert policy.status_code == 422
    assert "strictly increasing" in policy.json()["detail"]
    ok = client.put("/api/v1/risk/policy", json={"recent_days": 14}, headers=analyst)
    assert ok.status_code == 200, ok.text
    assert ok.json()["recent_days"] == 14
    assert ok.json()["version"] >= 1
    assert client.get("/api/v1/risk/policy", headers=analyst).json()["recent_days"] == 14
    others = client.get("/api/v1/risk/policy", headers=world.headers("bravo", Role.ANALYST))
    assert others.json()["version"] == 0


def test_backtests_are_listed_and_read(world: World) -> None:
    factory = world.client.app.state.session_factory
    with factory() as session:
        stored = risk_service.store_backtest(
            session,
            org_id=None,
            config={"source": "test", "models": ["naive"], "years": [2014]},
            result={"models": ["naive"], "metrics": {"naive": {"month": {"hit_rate_5pct": 0.4}}}},
            n_events=463,
            actor="test",
        )
        session.commit()
    headers = world.headers("partner", Role.PARTNER)
    listed = world.client.get("/api/v1/risk/backtests", headers=headers)
    assert listed.status_code == 200
    summary = next(b for b in listed.json() if b["id"] == str(stored.id))
    assert "result" not in summary
    assert summary["tlp"] == "GREEN"
    one = world.client.get(f"/api/v1/risk/backtests/{stored.id}", headers=headers)
    assert one.status_code == 200
    assert one.json()["result"]["metrics"]["naive"]["month"]["hit_rate_5pct"] == 0.4
