"""``/api/v1/auth`` and the two ways of being somebody: bearer tokens and API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry
from silkguard.auth.roles import ROLE_PERMISSIONS, Role
from silkguard.auth.tokens import create_access_token
from tests.api.conftest import PASSWORD, SECRET, World

API = "/api/v1"
PROBLEM = "application/problem+json"


def _login(world: World, username: str, password: str = PASSWORD) -> dict[str, object]:
    r = world.client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_user(world: World, org: str = "bravo", role: Role = Role.STAFF) -> str:
    """A user of its own, for tests that lock, disable or log out."""
    username = f"auth.{uuid.uuid4().hex[:10]}"
    with world.client.app.state.session_factory() as session:
        auth_service.create_user(
            session, org_id=world.orgs[org], username=username, password=PASSWORD, role=role
        )
        session.commit()
    return username


def _assert_401(r: Any) -> dict[str, object]:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["www-authenticate"] == "Bearer"
    body: dict[str, object] = r.json()
    assert body["status"] == 401
    assert body["title"] == "Authentication required"
    return body


def test_login_gives_a_working_token_pair(world: World) -> None:
    body = _login(world, "alpha.analyst")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == world.settings.access_token_ttl_s
    assert isinstance(body["refresh_token"], str)
    assert len(body["refresh_token"]) >= 40
    me = world.client.get(f"{API}/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["user_id"] == str(world.users[("alpha", Role.ANALYST)])


def test_login_is_case_insensitive_in_the_username(world: World) -> None:
    _login(world, "  Alpha.Analyst ")


def test_wrong_password_and_unknown_user_look_the_same(world: World) -> None:
    wrong = world.client.post(
        f"{API}/auth/login", json={"username": "alpha.staff", "password": "not the password 1"}
    )
    unknown = world.client.post(
        f"{API}/auth/login", json={"username": "nobody.here", "password": "not the password 1"}
    )
    wrong_body, unknown_body = _assert_401(wrong), _assert_401(unknown)
    assert wrong_body["detail"] == unknown_body["detail"] == auth_service.BAD_LOGIN_MESSAGE
    assert {k: v for k, v in wrong_body.items() if k != "request_id"} == {
        k: v for k, v in unknown_body.items() if k != "request_id"
    }


def test_five_wrong_passwords_lock_the_account(world: World) -> None:
    username = _new_user(world)
    for _ in range(world.settings.login_max_failures):
        r = world.client.post(
            f"{API}/auth/login", json={"username": username, "password": "wrong password 12"}
        )
        _assert_401(r)
    r = world.client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= world.settings.login_lockout_s
    assert "locked" in r.json()["detail"]
    # Another account is not affected.
    _login(world, "bravo.analyst")


def test_login_validation_is_a_problem_document(world: World) -> None:
    r = world.client.post(f"{API}/auth/login", json={"username": "alpha.analyst"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in r.json()["invalid_params"]] == ["password"]


def test_refresh_rotates_and_reuse_revokes_the_family(world: World) -> None:
    username = _new_user(world)
    first = _login(world, username)
    r = world.client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert world.client.get(f"{API}/auth/me", headers=_bearer(second["access_token"])).is_success
    # The old token no longer works, and presenting it ends the whole family...
    body = _assert_401(
        world.client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    )
    assert "already used" in str(body["detail"])
    # ...including the token that was rotated in its place.
    _assert_401(
        world.client.post(f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]})
    )
    with world.client.app.state.session_factory() as session:
        actions = session.execute(
            select(AuditEntry.action).where(AuditEntry.action == "auth.refresh_reuse")
        ).scalars()
        assert list(actions)


def test_unknown_refresh_token_is_401(world: World) -> None:
    _assert_401(world.client.post(f"{API}/auth/refresh", json={"refresh_token": "made-up"}))


def test_logout_revokes_the_refresh_token(world: World) -> None:
    username = _new_user(world)
    pair = _login(world, username)
    r = world.client.post(
        f"{API}/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=_bearer(pair["access_token"]),
    )
    assert r.status_code == 204, r.text
    assert r.content == b""
    _assert_401(
        world.client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    )


def test_logout_needs_a_principal(world: World) -> None:
    pair = _login(world, "alpha.staff")
    _assert_401(
        world.client.post(f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]})
    )


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_me_names_org_role_and_permissions(world: World, role: Role) -> None:
    r = world.client.get(f"{API}/auth/me", headers=world.headers("bravo", role))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": str(world.users[("bravo", role)]),
        "api_key_id": None,
        "org_id": str(world.orgs["bravo"]),
        "role": role.value,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[role]),
        "org_slug": "bravo",
        "username": f"bravo.{role.value}",
    }


def _create_key(world: World, **body: object) -> dict[str, object]:
    r = world.client.post(
        f"{API}/keys",
        json={"name": f"key {uuid.uuid4().hex[:6]}", **body},
        headers=world.headers("alpha", Role.ADMIN),
    )
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    return created


def test_api_key_works_until_revoked(world: World) -> None:
    created = _create_key(world, role="analyst")
    key = {"X-API-Key": str(created["key"])}
    me = world.client.get(f"{API}/auth/me", headers=key)
    assert me.status_code == 200, me.text
    assert me.json()["api_key_id"] == created["id"]
    assert me.json()["user_id"] is None
    assert me.json()["org_id"] == str(world.orgs["alpha"])
    assert world.client.get(f"{API}/incidents", headers=key).status_code == 200
    r = world.client.delete(
        f"{API}/keys/{created['id']}", headers=world.headers("alpha", Role.ADMIN)
    )
    assert r.status_code == 204
    body = _assert_401(world.client.get(f"{API}/auth/me", headers=key))
    assert "revoked" in str(body["detail"])
    _assert_401(world.client.get(f"{API}/incidents", headers=key))


def test_scoped_api_key_is_narrowed_to_its_scopes(world: World) -> None:
    created = _create_key(world, role="analyst", scopes=["incident.read"])
    key = {"X-API-Key": str(created["key"])}
    assert world.client.get(f"{API}/auth/me", headers=key).json()["permissions"] == [
        "incident.read"
    ]
    assert world.client.get(f"{API}/incidents", headers=key).status_code == 200
    r = world.client.get(f"{API}/incidents/export.csv", headers=key)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM)


def test_api_key_scope_outside_its_role_is_refused(world: World) -> None:
    r = world.client.post(
        f"{API}/keys",
        json={"name": "too wide", "role": "staff", "scopes": ["user.manage"]},
        headers=world.headers("alpha", Role.ADMIN),
    )
    assert r.status_code == 422
    assert "user.manage" in r.json()["detail"]


@pytest.mark.parametrize(
    "key",
    ["garbage", "sgk_0000000a_" + "A" * 43, "sgk_zz_short"],
    ids=["garbage", "unknown", "malformed"],
)
def test_bad_api_key_is_401(world: World, key: str) -> None:
    _assert_401(world.client.get(f"{API}/auth/me", headers={"X-API-Key": key}))


def _token(world: World, *, now: datetime, secret: str = SECRET, ttl_s: int = 900) -> str:
    return create_access_token(
        user_id=world.users[("alpha", Role.ANALYST)],
        org_id=world.orgs["alpha"],
        role=Role.ANALYST,
        secret=secret,
        ttl_s=ttl_s,
        now=now,
    )


@pytest.mark.parametrize("case", ["expired", "garbage", "other secret", "empty", "no credentials"])
def test_bad_bearer_is_a_401_problem(world: World, case: str) -> None:
    now = datetime.now(UTC)
    headers = {
        "expired": _bearer(_token(world, now=now - timedelta(hours=1), ttl_s=60)),
        "garbage": _bearer("not.a.jwt"),
        "other secret": _bearer(_token(world, now=now, secret="another-secret-" + "y" * 40)),
        "empty": {"Authorization": "Bearer "},
        "no credentials": {},
    }[case]
    body = _assert_401(world.client.get(f"{API}/incidents", headers=headers))
    if case == "expired":
        assert "expired" in str(body["detail"])


def test_a_disabled_users_token_stops_working(world: World) -> None:
    username = _new_user(world, org="alpha")
    pair = _login(world, username)
    with world.client.app.state.session_factory() as session:
        user_id = auth_service.get_user_by_username(session, username=username).id
    r = world.client.post(
        f"{API}/users/{user_id}/disable", headers=world.headers("alpha", Role.ADMIN)
    )
    assert r.status_code == 200, r.text
    _assert_401(world.client.get(f"{API}/auth/me", headers=_bearer(pair["access_token"])))
    _assert_401(
        world.client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    )
    r = world.client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
    _assert_401(r)
