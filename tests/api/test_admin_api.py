"""Administration over the API: users and roles, API keys, organisations, sharing groups and
the audit trail (including a tampered row found by /audit/verify)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from silkguard.auth.roles import Role
from silkguard.core.db import make_engine
from tests.api.conftest import PASSWORD, World

API = "/api/v1"
PROBLEM = "application/problem+json"


def _admin(world: World, org: str = "alpha") -> dict[str, str]:
    return world.headers(org, Role.ADMIN)


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    return body


def _new_user(world: World, org: str = "alpha", role: str = "staff") -> dict[str, Any]:
    r = world.client.post(
        f"{API}/users",
        json={
            "username": f"u.{uuid.uuid4().hex[:10]}",
            "password": PASSWORD,
            "role": role,
            "full_name": "Li Wei",
            "email": "li.wei@example.org",
            "languages": ["zh", "en"],
        },
        headers=_admin(world, org),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _audit(world: World, org: str = "alpha", **params: Any) -> list[dict[str, Any]]:
    r = world.client.get(f"{API}/audit", params=params, headers=_admin(world, org))
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


# --- users -------------------------------------------------------------------------------------


def test_create_and_list_users_of_the_own_organisation(world: World) -> None:
    created = _new_user(world)
    assert created["org_id"] == str(world.orgs["alpha"])
    assert created["role"] == "staff"
    assert created["is_active"] is True
    assert created["languages"] == ["zh", "en"]
    assert "password" not in created
    assert "password_hash" not in created

    alpha = world.client.get(f"{API}/users", headers=_admin(world)).json()
    assert {u["org_id"] for u in alpha} == {str(world.orgs["alpha"])}
    assert created["id"] in {u["id"] for u in alpha}
    assert {str(world.users[("alpha", role)]) for role in Role} <= {u["id"] for u in alpha}
    bravo = world.client.get(f"{API}/users", headers=_admin(world, "bravo")).json()
    assert created["id"] not in {u["id"] for u in bravo}
    assert {u["org_id"] for u in bravo} == {str(world.orgs["bravo"])}
    # Listing users is a read of personal data, and audited.
    reads = _audit(world, action="personal_data.read")
    assert reads
    assert reads[-1]["detail"]["users"] == len(alpha)


def test_user_creation_errors(world: World) -> None:
    taken = world.client.post(
        f"{API}/users",
        json={"username": "alpha.staff", "password": PASSWORD, "role": "staff"},
        headers=_admin(world),
    )
    assert "taken" in _problem(taken, 409)["detail"]
    weak = world.client.post(
        f"{API}/users",
        json={"username": "weak.one", "password": "aaaaaaaaaaaaaaaa", "role": "staff"},
        headers=_admin(world),
    )
    assert "password" in _problem(weak, 422)["detail"]
    bad_role = world.client.post(
        f"{API}/users",
        json={"username": "no.role", "password": PASSWORD, "role": "emperor"},
        headers=_admin(world),
    )
    assert [p["name"] for p in _problem(bad_role, 422)["invalid_params"]] == ["role"]


def test_role_change_is_audited_with_from_and_to(world: World) -> None:
    user = _new_user(world, role="staff")
    r = world.client.put(
        f"{API}/users/{user['id']}/role", json={"role": "analyst"}, headers=_admin(world)
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "analyst"
    entries = [e for e in _audit(world, action="user.role_change") if e["object_id"] == user["id"]]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["detail"] == {"from": "staff", "to": "analyst"}
    assert entry["actor"] == f"user:{world.users[('alpha', Role.ADMIN)]}"
    assert entry["org_id"] == str(world.orgs["alpha"])
    assert entry["object_type"] == "user"
    # Another organisation's audit trail does not show it.
    assert user["id"] not in {e["object_id"] for e in _audit(world, "bravo")}
    # The new role takes effect at once.
    assert world.client.get(f"{API}/audit", headers=_admin(world)).status_code == 200


def test_users_of_other_organisations_are_not_found(world: World) -> None:
    other = world.users[("bravo", Role.STAFF)]
    r = world.client.put(f"{API}/users/{other}/role", json={"role": "admin"}, headers=_admin(world))
    _problem(r, 404)
    _problem(world.client.post(f"{API}/users/{other}/disable", headers=_admin(world)), 404)
    me = world.client.get(f"{API}/auth/me", headers=world.headers("bravo", Role.STAFF)).json()
    assert me["role"] == "staff"


def test_disable_a_user(world: World) -> None:
    user = _new_user(world)
    r = world.client.post(f"{API}/users/{user['id']}/disable", headers=_admin(world))
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    login = world.client.post(
        f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    _problem(login, 401)
    assert any(e["object_id"] == user["id"] for e in _audit(world, action="user.disable"))


# --- API keys ----------------------------------------------------------------------------------


def test_keys_show_the_secret_once(world: World) -> None:
    r = world.client.post(
        f"{API}/keys",
        json={"name": "tracker gateway", "role": "staff", "expires_in_days": 30},
        headers=_admin(world),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["key"]
    assert secret.startswith(f"sgk_{created['prefix']}_")
    assert created["expires_at"] is not None
    listing = world.client.get(f"{API}/keys", headers=_admin(world))
    assert listing.status_code == 200
    assert secret not in listing.text
    assert all("key" not in item for item in listing.json())
    assert created["id"] in {item["id"] for item in listing.json()}
    bravo = world.client.get(f"{API}/keys", headers=_admin(world, "bravo")).json()
    assert created["id"] not in {item["id"] for item in bravo}
    entry = [e for e in _audit(world, action="key.create") if e["object_id"] == created["id"]]
    assert entry
    assert secret not in str(entry)


def test_revoke_a_key(world: World) -> None:
    created = world.client.post(
        f"{API}/keys", json={"name": "to revoke", "role": "analyst"}, headers=_admin(world)
    ).json()
    key = {"X-API-Key": created["key"]}
    assert world.client.get(f"{API}/incidents", headers=key).status_code == 200
    _problem(
        world.client.delete(f"{API}/keys/{created['id']}", headers=_admin(world, "bravo")), 404
    )
    r = world.client.delete(f"{API}/keys/{created['id']}", headers=_admin(world))
    assert r.status_code == 204
    assert r.content == b""
    _problem(world.client.get(f"{API}/incidents", headers=key), 401)
    again = world.client.delete(f"{API}/keys/{created['id']}", headers=_admin(world))
    assert "already revoked" in _problem(again, 409)["detail"]
    listed = {k["id"]: k for k in world.client.get(f"{API}/keys", headers=_admin(world)).json()}
    assert listed[created["id"]]["revoked_at"] is not None


# --- organisations and sharing groups ----------------------------------------------------------


def test_organisations(world: World) -> None:
    r = world.client.post(
        f"{API}/orgs",
        json={"slug": "corridor-police", "name": "Corridor Police", "kind": "partner"},
        headers=_admin(world),
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "partner"
    slugs = [o["slug"] for o in world.client.get(f"{API}/orgs", headers=_admin(world)).json()]
    assert {"alpha", "bravo", "partner", "corridor-police"} <= set(slugs)
    again = world.client.post(
        f"{API}/orgs", json={"slug": "corridor-police", "name": "Again"}, headers=_admin(world)
    )
    _problem(again, 409)


def test_sharing_groups(world: World) -> None:
    kkh = str(world.group_id)
    alpha_groups = world.client.get(f"{API}/sharing-groups", headers=_admin(world)).json()
    assert {g["id"]: g["members"] for g in alpha_groups}[kkh] == sorted(
        [str(world.orgs["alpha"]), str(world.orgs["partner"])]
    )
    partner_groups = world.client.get(
        f"{API}/sharing-groups", headers=_admin(world, "partner")
    ).json()
    assert kkh in {g["id"] for g in partner_groups}
    bravo_groups = world.client.get(f"{API}/sharing-groups", headers=_admin(world, "bravo")).json()
    assert kkh not in {g["id"] for g in bravo_groups}

    bravo_org = {"org_id": str(world.orgs["bravo"])}
    # A member that does not own the group may not change it; a non-member does not see it.
    member = world.client.post(
        f"{API}/sharing-groups/{kkh}/members", json=bravo_org, headers=_admin(world, "partner")
    )
    assert "owns" in _problem(member, 403)["detail"]
    stranger = world.client.post(
        f"{API}/sharing-groups/{kkh}/members", json=bravo_org, headers=_admin(world, "bravo")
    )
    _problem(stranger, 404)

    r = world.client.post(
        f"{API}/sharing-groups",
        json={"name": "hidden circle", "hidden_membership": True},
        headers=_admin(world),
    )
    assert r.status_code == 201, r.text
    hidden = r.json()
    assert hidden["members"] == [str(world.orgs["alpha"])]
    added = world.client.post(
        f"{API}/sharing-groups/{hidden['id']}/members",
        json={"org_id": str(world.orgs["partner"])},
        headers=_admin(world),
    )
    assert added.status_code == 200, added.text
    assert len(added.json()["members"]) == 2
    seen_by_partner = {
        g["id"]: g
        for g in world.client.get(f"{API}/sharing-groups", headers=_admin(world, "partner")).json()
    }
    assert seen_by_partner[hidden["id"]]["members"] is None
    unknown_org = world.client.post(
        f"{API}/sharing-groups/{hidden['id']}/members",
        json={"org_id": str(uuid.uuid4())},
        headers=_admin(world),
    )
    _problem(unknown_org, 404)
    duplicate = world.client.post(
        f"{API}/sharing-groups", json={"name": "hidden circle"}, headers=_admin(world)
    )
    _problem(duplicate, 409)


# --- the audit trail ---------------------------------------------------------------------------


def test_audit_query_pages_and_filters(world: World) -> None:
    _new_user(world)
    first = _audit(world, limit=2)
    assert len(first) == 2
    assert first[0]["id"] < first[1]["id"]
    after = _audit(world, after_id=first[-1]["id"], limit=2)
    assert after[0]["id"] > first[-1]["id"]
    assert all(e["action"].startswith("user.") for e in _audit(world, action="user.*"))
    r = world.client.get(f"{API}/audit", params={"since": "yesterday"}, headers=_admin(world))
    _problem(r, 422)


def test_audit_verify_finds_a_tampered_row(world: World) -> None:
    _new_user(world)  # at least one entry of this module
    ok = world.client.get(f"{API}/audit/verify", headers=_admin(world))
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True
    assert ok.json()["checked"] > 0
    assert ok.json()["first_broken_id"] is None

    target = _audit(world, action="user.create")[0]
    engine = make_engine(world.settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_entries SET actor = :actor WHERE id = :id"),
                {"actor": "user:someone-else", "id": target["id"]},
            )
        broken = world.client.get(f"{API}/audit/verify", headers=_admin(world)).json()
        assert broken["ok"] is False
        assert broken["first_broken_id"] == target["id"]
        assert broken["checked"] == target["id"] - 1
        assert "altered" in broken["reason"]
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_entries SET actor = :actor WHERE id = :id"),
                {"actor": target["actor"], "id": target["id"]},
            )
        engine.dispose()
    assert world.client.get(f"{API}/audit/verify", headers=_admin(world)).json()["ok"] is True
