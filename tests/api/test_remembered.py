"""What a server process remembers between requests (the callers of api.callers, the map copy
of incidents.mapindex) is forgotten by the very next request after a change is committed, by
this process or any other: each request reads the database's change counters first."""

from __future__ import annotations

import json
import uuid
from typing import Any

from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.core.tlp import TLP
from silkguard.incidents.mapindex import MapIndex
from tests.api.conftest import PASSWORD, World

API = "/api/v1"
GEOJSON = {"Accept": "application/geo+json"}


def _state(world: World) -> Any:
    return world.client.app.state  # type: ignore[attr-defined]


def test_a_remembered_key_is_refused_once_revoked(world: World) -> None:
    admin = world.headers("alpha", Role.ADMIN)
    r = world.client.post(f"{API}/keys", json={"name": "robot", "role": "analyst"}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    key = {"X-API-Key": created["key"]}
    assert world.client.get(f"{API}/auth/me", headers=key).status_code == 200
    hits = _state(world).callers.hits
    for _ in range(3):
        assert world.client.get(f"{API}/incidents", headers=key).status_code == 200
    assert _state(world).callers.hits == hits + 3, "the key's caller was remembered"
    assert world.client.delete(f"{API}/keys/{created['id']}", headers=admin).status_code == 204
    r = world.client.get(f"{API}/incidents", headers=key)
    assert r.status_code == 401, r.text
    assert "revoked" in r.json()["detail"]


def test_a_remembered_user_is_seen_with_a_new_role_and_refused_once_disabled(
    world: World,
) -> None:
    username = f"remembered.{uuid.uuid4().hex[:8]}"
    with _state(world).session_factory() as session:
        user = auth_service.create_user(
            session, org_id=world.orgs["alpha"], username=username, password=PASSWORD, role="staff"
        )
        session.commit()
        user_id = user.id
    r = world.client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = world.client.get(f"{API}/auth/me", headers=bearer)
    assert me.json()["role"] == "staff"
    hits = _state(world).callers.hits
    assert world.client.get(f"{API}/auth/me", headers=bearer).json()["role"] == "staff"
    assert _state(world).callers.hits == hits + 1
    admin = world.headers("alpha", Role.ADMIN)
    r = world.client.put(f"{API}/users/{user_id}/role", json={"role": "analyst"}, headers=admin)
    assert r.status_code == 200, r.text
    assert world.client.get(f"{API}/auth/me", headers=bearer).json()["role"] == "analyst"
    r = world.client.post(f"{API}/users/{user_id}/disable", headers=admin)
    assert r.status_code == 200, r.text
    assert world.client.get(f"{API}/auth/me", headers=bearer).status_code == 401


def _map_ids(world: World, headers: dict[str, str]) -> list[str]:
    r = world.client.get(
        f"{API}/incidents",
        params={"since": "2024-01-01T00:00:00Z", "bbox": "72,34,74,36"},
        headers={**headers, **GEOJSON},
    )
    assert r.status_code == 200, r.text
    return [f["id"] for f in json.loads(r.content)["features"]]


def _set_marking(world: World, incident_id: uuid.UUID, tlp: TLP) -> None:
    headers = world.headers("bravo", Role.ANALYST)
    etag = world.client.get(f"{API}/incidents/{incident_id}", headers=headers).headers["etag"]
    r = world.client.patch(
        f"{API}/incidents/{incident_id}",
        json={"tlp": tlp.value},
        headers={**headers, "If-Match": etag},
    )
    assert r.status_code == 200, r.text


def _from_copy(world: World, index: MapIndex, headers: dict[str, str]) -> list[str]:
    """A map search answered from the copy: earlier searches ask for the copy and the
    caller's mask, made in the background (the database answers them meanwhile)."""
    for _ in range(3):
        answered = index.answered
        ids = _map_ids(world, headers)
        if index.answered == answered + 1:
            return ids
        index.settle()
    raise AssertionError("the copy never answered")


def test_a_marking_change_shows_in_the_next_map_search(world: World) -> None:
    index: MapIndex = _state(world).map_index
    partner = world.headers("partner", Role.STAFF)
    red = str(world.incidents[("bravo", TLP.RED)])
    before = _map_ids(world, partner)
    assert red not in before
    assert _from_copy(world, index, partner) == before
    builds = index.builds
    _set_marking(world, world.incidents[("bravo", TLP.RED)], TLP.CLEAR)
    # at once, from the database (the copy is out of date, and a new one is not made within
    # refresh_s of the last)
    answered = index.answered
    shown = _map_ids(world, partner)
    assert red in shown
    index.settle()
    assert (index.answered, index.builds) == (answered, builds)
    # past refresh_s a new copy is made, which then answers the same
    index.refresh_s = 0
    assert _from_copy(world, index, partner) == shown
    assert index.builds == builds + 1
    _set_marking(world, world.incidents[("bravo", TLP.RED)], TLP.RED)
    assert _map_ids(world, partner) == before
