from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry, Organisation, RefreshToken, User
from silkguard.auth.roles import Permission, Role
from silkguard.core.db import Base
from silkguard.core.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated

from .conftest import PASSWORD

LOCKOUT_S = 900


def _login(session: Session, now: datetime, password: str = PASSWORD, name: str = "li.wei") -> User:
    return auth_service.authenticate(
        session, username=name, password=password, now=now, max_failures=5, lockout_s=LOCKOUT_S
    )


def _failure(session: Session, now: datetime, password: str, name: str = "li.wei") -> str:
    with pytest.raises(Unauthenticated) as err:
        _login(session, now, password, name)
    return err.value.msg


# --- organisations and users ---------------------------------------------------------------


def test_orgs(session: Session, org: Organisation) -> None:
    assert auth_service.get_org_by_slug(session, slug="Corridor-Power").id == org.id
    with pytest.raises(Conflict, match="organisation slug 'corridor-power' is taken"):
        auth_service.create_org(session, slug="corridor-power", name="Again")
    with pytest.raises(InvalidInput, match="organisation slug 'Bad Slug!' is not valid"):
        auth_service.create_org(session, slug="Bad Slug!", name="x")
    with pytest.raises(InvalidInput, match="organisation kind 'police' does not exist"):
        auth_service.create_org(session, slug="police", name="Police", kind="police")
    partner = auth_service.create_org(session, slug="police-liaison", name="Police", kind="partner")
    assert [o.slug for o in auth_service.list_orgs(session)] == ["corridor-power", partner.slug]
    with pytest.raises(NotFound, match="no organisation has the slug 'nope'"):
        auth_service.get_org_by_slug(session, slug="nope")


def test_create_user_stores_lower_case_and_refuses_duplicates(
    session: Session, org: Organisation, user: User
) -> None:
    assert user.username == "li.wei"
    assert user.password_hash.startswith("$argon2id$")
    assert user.role == "analyst"
    with pytest.raises(Conflict, match=re.escape("username 'li.wei' is taken; choose another")):
        auth_service.create_user(
            session, org_id=org.id, username="LI.WEI", password=PASSWORD, role="staff"
        )
    with pytest.raises(InvalidInput, match="password is 5 characters long"):
        auth_service.create_user(
            session, org_id=org.id, username="ayesha", password="short", role="staff"
        )
    with pytest.raises(InvalidInput, match="role 'chief' does not exist"):
        auth_service.create_user(
            session, org_id=org.id, username="ayesha", password=PASSWORD, role="chief"
        )
    other = auth_service.create_user(
        session,
        org_id=org.id,
        username="ayesha.khan",
        password=PASSWORD,
        role=Role.MOVEMENT_CONTROLLER,
        email="ayesha@example.org",
        languages=["en", "ur", "en"],
    )
    assert other.languages == ["en", "ur"]
    assert [u.username for u in auth_service.list_users(session, org_id=org.id)] == [
        "ayesha.khan",
        "li.wei",
    ]
    assert auth_service.set_role(session, user_id=other.id, role="approver").role == "approver"


# --- logins --------------------------------------------------------------------------------


def test_login_succeeds_and_is_audited(session: Session, user: User, now: datetime) -> None:
    assert _login(session, now, name="  LI.Wei ") is user
    assert user.last_login_at == now
    assert user.failed_logins == 0
    (entry,) = audit.query(session, action="auth.login")
    assert entry.actor == f"user:{user.id}"


def test_unknown_user_and_wrong_password_read_the_same(
    session: Session, user: User, now: datetime
) -> None:
    wrong_password = _failure(session, now, "not the password 1")
    unknown_user = _failure(session, now, PASSWORD, name="nobody")
    assert wrong_password == unknown_user == "wrong username or password"
    # Many tries on an unknown name never reveal a lockout (there is no account to lock).
    for _ in range(6):
        assert _failure(session, now, PASSWORD, name="nobody") == unknown_user
    failed = audit.query(session, action="auth.login_failed")
    assert {e.actor for e in failed} == {"anonymous"}
    assert [e.object_id for e in failed][:2] == [str(user.id), None]
    assert "nobody" not in str([e.detail for e in failed])  # typed names are not kept


def test_lockout_after_max_failures(session: Session, user: User, now: datetime) -> None:
    for attempt in range(1, 6):
        _failure(session, now + timedelta(seconds=attempt), f"wrong password {attempt}")
        assert user.failed_logins == attempt
    assert user.locked_until == now + timedelta(seconds=5 + LOCKOUT_S)
    # The counter and the lock are flushed before the error, ready for the caller to commit.
    assert session.execute(select(User.failed_logins).where(User.id == user.id)).scalar_one() == 5

    with pytest.raises(RateLimited) as err:  # even the right password is refused now
        _login(session, now + timedelta(seconds=60))
    assert err.value.msg == (
        "account 'li.wei' is locked after too many wrong passwords until 2026-03-01 08:45:05 UTC; "
        "try again after that or ask an administrator"
    )
    assert err.value.retry_after_s == LOCKOUT_S + 5 - 60
    assert user.failed_logins == 5  # attempts while locked do not count

    after = now + timedelta(seconds=LOCKOUT_S + 6)
    _failure(session, after, "wrong again 123")  # a fresh start after the lock ran out
    assert (user.failed_logins, user.locked_until) == (1, None)
    assert _login(session, after) is user
    assert user.failed_logins == 0


def test_disabled_user_gets_the_generic_error_and_loses_sessions(
    session: Session, user: User, now: datetime
) -> None:
    token = auth_service.issue_refresh_token(session, user=user, now=now, ttl_s=3600)
    auth_service.disable_user(session, user_id=user.id, now=now)
    assert _failure(session, now, PASSWORD) == "wrong username or password"
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        auth_service.rotate_refresh_token(session, token=token, now=now, ttl_s=3600)
    assert audit.query(session, action="auth.refresh_reuse") == []  # not mistaken for theft
    with pytest.raises(Unauthenticated, match="disabled or gone"):
        auth_service.get_active_user(session, user_id=user.id)


def test_old_hash_parameters_are_upgraded_at_login(
    session: Session, user: User, now: datetime
) -> None:
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    _login(session, now)
    assert "m=65536" in user.password_hash


# --- refresh tokens ------------------------------------------------------------------------


def test_refresh_rotation_and_reuse_detection(session: Session, user: User, now: datetime) -> None:
    first = auth_service.issue_refresh_token(session, user=user, now=now, ttl_s=3600)
    later = now + timedelta(minutes=10)
    who, second = auth_service.rotate_refresh_token(session, token=first, now=later, ttl_s=3600)
    assert who is user
    assert second != first
    who, third = auth_service.rotate_refresh_token(session, token=second, now=later, ttl_s=3600)

    # The first token is presented again: someone else holds it. The whole family ends.
    with pytest.raises(Unauthenticated) as err:
        auth_service.rotate_refresh_token(session, token=first, now=later, ttl_s=3600)
    assert err.value.msg.startswith("refresh token was already used; every session")
    tokens = session.execute(select(RefreshToken)).scalars().all()
    assert len(tokens) == 3
    assert all(t.revoked_at is not None for t in tokens)
    assert len({t.family_id for t in tokens}) == 1
    with pytest.raises(Unauthenticated, match="already used"):
        auth_service.rotate_refresh_token(session, token=third, now=later, ttl_s=3600)
    assert [e.action for e in audit.query(session, action="auth.refresh_reuse")] == [
        "auth.refresh_reuse"
    ] * 2
    # The store never holds a token in the clear.
    assert first not in str([t.token_hash for t in tokens])


def test_refresh_expiry_unknown_and_logout(session: Session, user: User, now: datetime) -> None:
    token = auth_service.issue_refresh_token(session, user=user, now=now, ttl_s=60)
    with pytest.raises(Unauthenticated, match="refresh token expired at 2026-03-01 08:31 UTC"):
        auth_service.rotate_refresh_token(
            session, token=token, now=now + timedelta(seconds=60), ttl_s=60
        )
    with pytest.raises(Unauthenticated, match="refresh token is not valid; log in again"):
        auth_service.rotate_refresh_token(session, token="made-up", now=now, ttl_s=60)
    other = auth_service.issue_refresh_token(session, user=user, now=now, ttl_s=60)
    assert auth_service.revoke_refresh_token(session, token=other, now=now)
    assert not auth_service.revoke_refresh_token(session, token="made-up", now=now)
    with pytest.raises(Unauthenticated):
        auth_service.rotate_refresh_token(session, token=other, now=now, ttl_s=60)


# --- API keys ------------------------------------------------------------------------------


def test_api_key_verify_revoke(session: Session, org: Organisation, now: datetime) -> None:
    key, plain = auth_service.create_api_key(
        session,
        org_id=org.id,
        name="taxii pull",
        role=Role.PARTNER,
        scopes=["incident.read"],
        expires_at=None,
        created_by=None,
    )
    assert plain.startswith(f"sgk_{key.prefix}_")
    assert len(plain.split("_", 2)[2]) >= 43
    assert key.scopes == ["incident.read"]
    assert auth_service.verify_api_key(session, key=plain, now=now) is key
    assert key.last_used_at == now

    with pytest.raises(Unauthenticated, match="API key is not valid"):
        auth_service.verify_api_key(session, key=plain[:-2] + "xx", now=now)
    with pytest.raises(Unauthenticated, match="API key is malformed"):
        auth_service.verify_api_key(session, key="sgk_nothing", now=now)

    assert auth_service.resolve_api_key(session, ref=key.prefix) is key
    assert auth_service.resolve_api_key(session, ref=str(key.id)) is key
    auth_service.revoke_api_key(session, key_id=key.id, now=now)
    with pytest.raises(Unauthenticated, match=f"API key {key.prefix} was revoked at"):
        auth_service.verify_api_key(session, key=plain, now=now)
    with pytest.raises(Conflict, match="already revoked"):
        auth_service.revoke_api_key(session, key_id=key.id, now=now)
    assert auth_service.list_api_keys(session, org_id=org.id) == [key]


def test_api_key_expiry_and_scopes(session: Session, org: Organisation, now: datetime) -> None:
    key, plain = auth_service.create_api_key(
        session,
        org_id=org.id,
        name="short-lived",
        role="analyst",
        scopes=[],
        expires_at=now + timedelta(days=1),
        created_by=None,
    )
    assert auth_service.verify_api_key(session, key=plain, now=now + timedelta(hours=23))
    with pytest.raises(Unauthenticated, match=f"API key {key.prefix} expired at 2026-03-02 08:30"):
        auth_service.verify_api_key(session, key=plain, now=now + timedelta(days=1))
    with pytest.raises(
        InvalidInput, match=re.escape("scope(s) movement.approve are not permissions")
    ):
        auth_service.create_api_key(
            session,
            org_id=org.id,
            name="too wide",
            role=Role.PARTNER,
            scopes=[Permission.MOVEMENT_APPROVE],
            expires_at=None,
            created_by=None,
        )


def test_api_key_shown_once_is_not_stored_in_clear(
    session: Session, org: Organisation, now: datetime
) -> None:
    key, plain = auth_service.create_api_key(
        session,
        org_id=org.id,
        name="k",
        role="partner",
        scopes=(),
        expires_at=None,
        created_by=None,
    )
    secret = plain.split("_", 2)[2]
    audit.record(
        session,
        action="key.create",
        actor="system",
        org_id=org.id,
        object_id=key.id,
        detail={"prefix": key.prefix},
        now=now,
    )
    session.flush()
    for table in Base.metadata.sorted_tables:
        for row in session.execute(text(f"SELECT * FROM {table.name}")):
            dumped = " ".join(str(v) for v in row)
            assert secret not in dumped, table.name
            assert plain not in dumped, table.name


# --- sharing groups ------------------------------------------------------------------------


def test_sharing_groups(session: Session, org: Organisation) -> None:
    police = auth_service.create_org(session, slug="police-liaison", name="Police", kind="partner")
    group = auth_service.create_sharing_group(session, name="Gwadar", owner_org_id=org.id)
    assert auth_service.groups_of_org(session, org_id=org.id) == [group.id]
    assert auth_service.groups_of_org(session, org_id=police.id) == []
    assert auth_service.add_group_member(session, group_id=group.id, org_id=police.id)
    assert not auth_service.add_group_member(session, group_id=group.id, org_id=police.id)
    assert auth_service.groups_of_org(session, org_id=police.id) == [group.id]
    assert set(auth_service.group_members(session, group_id=group.id)) == {org.id, police.id}
    with pytest.raises(Conflict, match="owns sharing group 'Gwadar' and cannot leave it"):
        auth_service.remove_group_member(session, group_id=group.id, org_id=org.id)
    auth_service.remove_group_member(session, group_id=group.id, org_id=police.id)
    with pytest.raises(NotFound, match="is not a member"):
        auth_service.remove_group_member(session, group_id=group.id, org_id=police.id)
    with pytest.raises(Conflict, match="sharing group 'Gwadar' exists already"):
        auth_service.create_sharing_group(session, name="Gwadar", owner_org_id=police.id)


def test_audit_entries_stay_out_of_these_services(session: Session, org: Organisation) -> None:
    # Only logins and token reuse audit themselves; edges audit everything else.
    auth_service.create_user(
        session, org_id=org.id, username="x.y", password=PASSWORD, role="staff"
    )
    assert session.execute(select(AuditEntry)).first() is None
