"""``/api/v1/taxii-subscriptions``: the credential is write-only and stored encrypted, names
are per organisation, bad input names its field, a pull from a dead server is a 502 problem
that stores nothing and is recorded, and another organisation's subscription looks unknown.
Real pulls between two instances: tests/sharing_store/test_two_instances.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from silkguard.api.app import API_PREFIX
from silkguard.auth.models import AuditEntry
from silkguard.auth.roles import Role
from silkguard.sharing.models import TaxiiSubscription
from tests.api.conftest import World, build_world
from tests.sharing_store.conftest import open_session

URL = f"{API_PREFIX}/taxii-subscriptions"
PROBLEM = "application/problem+json"
KEY = "sg_remote-" + "q" * 30


@pytest.fixture
def quiet_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """A world whose app does not run the schedules: its ``sharing.pull`` would also pull the
    test's due subscription and count a second failure."""
    yield from build_world(database_url, tmp_path, run_schedules=False)


def _dead_collection() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/taxii2/api/collections/group-x/"


def test_subscribe_list_pull_and_remove(quiet_world: World) -> None:
    fresh_world = quiet_world
    alpha = fresh_world.headers("alpha", Role.ANALYST)
    body = {"name": "Dasu-KKH", "url": _dead_collection(), "credential": KEY}
    made = fresh_world.client.post(URL, json=body, headers=alpha)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "dasu-kkh"
    assert made.json()["run_as"] == str(fresh_world.users[("alpha", Role.ANALYST)])
    assert KEY not in made.text
    assert fresh_world.client.post(URL, json=body, headers=alpha).status_code == 409
    listed = fresh_world.client.get(URL, headers=alpha)
    assert [s["name"] for s in listed.json()] == ["dasu-kkh"]
    assert KEY not in listed.text
    with open_session(fresh_world) as session:
        stored = session.execute(select(TaxiiSubscription)).scalar_one()
        assert KEY not in stored.secret  # a Fernet token, not the key

    # another organisation neither sees nor reaches it
    bravo = fresh_world.headers("bravo", Role.ADMIN)
    assert fresh_world.client.get(URL, headers=bravo).json() == []
    assert fresh_world.client.post(f"{URL}/dasu-kkh/pull", headers=bravo).status_code == 404

    pulled = fresh_world.client.post(f"{URL}/dasu-kkh/pull", headers=alpha)
    assert pulled.status_code == 502, pulled.text
    assert pulled.headers["content-type"].startswith(PROBLEM)
    assert "cannot connect" in pulled.json()["detail"]
    after = fresh_world.client.get(URL, headers=alpha).json()[0]
    assert after["failures"] == 1
    assert after["last_outcome"].startswith("failed:")
    assert after["added_after"] is None

    gone = fresh_world.client.delete(f"{URL}/dasu-kkh", headers=alpha)
    assert gone.status_code == 204
    assert fresh_world.client.get(URL, headers=alpha).json() == []
    assert fresh_world.client.delete(f"{URL}/dasu-kkh", headers=alpha).status_code == 404
    with open_session(fresh_world) as session:
        actions = set(
            session.execute(
                select(AuditEntry.action).where(AuditEntry.object_type == "taxii_subscription")
            ).scalars()
        )
        assert {"sharing.subscribe", "sharing.unsubscribe"} <= actions


def test_bad_input_names_the_field(world: World) -> None:
    alpha = world.headers("alpha", Role.ANALYST)
    cases = [
        ({"url": "https://partner.example/taxii2/"}, "url"),
        ({"name": "no spaces please"}, "name"),
        ({"run_as": "bravo.analyst"}, "run_as"),  # another organisation's user
        ({"run_as": "alpha.staff"}, "run_as"),  # may not create incidents
    ]
    for change, field in cases:
        body = {"name": "feed", "url": _dead_collection(), "credential": KEY, **change}
        r = world.client.post(URL, json=body, headers=alpha)
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        fields = [p.get("name") for p in r.json().get("invalid_params", [])]
        assert field in fields, (change, r.json())
    assert world.client.get(URL, headers=alpha).json() == []  # nothing was stored
