from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from silkguard.api.app import create_app
from silkguard.auth.roles import Role
from silkguard.core.settings import Environment, Settings
from tests.api.conftest import PASSWORD, World


def test_health_and_openapi(world: World) -> None:
    assert world.client.get("/api/v1/health").json()["status"] == "ok"
    spec = world.client.get("/api/v1/openapi.json").json()
    assert spec["info"]["description"]
    assert "/api/v1/incidents" in spec["paths"]
    assert world.client.get("/api/v1/docs").status_code == 200


def test_login_and_me(world: World) -> None:
    r = world.client.post(
        "/api/v1/auth/login", json={"username": "alpha.analyst", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = world.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "analyst"


def test_search_and_detail(world: World) -> None:
    r = world.client.get("/api/v1/incidents", headers=world.headers("alpha", Role.ANALYST))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) >= 5


def test_problem_document_for_unknown_route(world: World) -> None:
    r = world.client.get("/api/v1/nothing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Not found"


def _schedulers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "silkguard-job-scheduler")


@pytest.mark.parametrize("run_schedules", [True, False])
def test_the_server_runs_the_schedules_unless_told_not_to(
    tmp_path: Path, run_schedules: bool
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'schedules.db'}",
        environment=Environment.TEST,
        secret_key="test-secret-" + "y" * 40,
        run_schedules=run_schedules,
    )
    before = _schedulers()
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert _schedulers() - before == (1 if run_schedules else 0)
