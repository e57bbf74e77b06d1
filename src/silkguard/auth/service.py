"""Organisations, users and logins. Refresh tokens, API keys and sharing groups are re-exported
from :mod:`~silkguard.auth.refresh`, :mod:`~silkguard.auth.apikeys` and
:mod:`~silkguard.auth.groups`, so callers use one alias::

    from silkguard.auth import service as auth_service

Services take the session first and keyword-only arguments, and only ``flush()``.

**Commit even when these raise.** :func:`authenticate` and :func:`rotate_refresh_token` change
the database on their failure paths (the failed-login counter and lockout, the revocation of a
stolen token family, and their audit entries) and then raise. The caller must commit those
changes before turning the error into a response; a unit of work that rolls back on any error
would undo the lockout. They are the only services that write audit entries themselves,
because their actor is known only here; every other write is audited by the edge that knows
who asked (``audit.record``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth._validate import (
    check_country,
    check_email,
    check_languages,
    check_name,
    check_org_kind,
    check_slug,
    check_username,
    require_org,
)
from silkguard.auth.apikeys import (
    create_api_key,
    get_api_key,
    list_api_keys,
    resolve_api_key,
    revoke_api_key,
    verify_api_key,
)
from silkguard.auth.groups import (
    add_group_member,
    create_sharing_group,
    group_members,
    groups_of_org,
    remove_group_member,
)
from silkguard.auth.models import Organisation, RefreshToken, User
from silkguard.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from silkguard.auth.refresh import (
    issue_refresh_token,
    revoke_refresh_token,
    rotate_refresh_token,
)
from silkguard.auth.roles import Role, parse_role
from silkguard.core.errors import Conflict, NotFound, RateLimited, Unauthenticated

__all__ = [
    "BAD_LOGIN_MESSAGE",
    "add_group_member",
    "authenticate",
    "create_api_key",
    "create_org",
    "create_sharing_group",
    "create_user",
    "disable_user",
    "get_active_user",
    "get_api_key",
    "get_org",
    "get_org_by_slug",
    "get_user",
    "get_user_by_username",
    "group_members",
    "groups_of_org",
    "issue_refresh_token",
    "list_api_keys",
    "list_orgs",
    "list_users",
    "remove_group_member",
    "resolve_api_key",
    "revoke_api_key",
    "revoke_refresh_token",
    "rotate_refresh_token",
    "set_role",
    "verify_api_key",
]

BAD_LOGIN_MESSAGE = "wrong username or password"


# --- organisations -------------------------------------------------------------------------


def create_org(
    session: Session, *, slug: str, name: str, kind: str = "operator", country: str = "PK"
) -> Organisation:
    clean_slug = check_slug(slug)
    if session.execute(select(Organisation.id).where(Organisation.slug == clean_slug)).first():
        msg = f"organisation slug {clean_slug!r} is taken; choose another"
        raise Conflict(msg)
    org = Organisation(
        slug=clean_slug,
        name=check_name(name, field="organisation name"),
        kind=check_org_kind(kind).value,
        country=check_country(country),
    )
    session.add(org)
    session.flush()
    return org


def get_org(session: Session, *, org_id: uuid.UUID) -> Organisation:
    return require_org(session, org_id)


def get_org_by_slug(session: Session, *, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug.strip().lower())
    ).scalar_one_or_none()
    if org is None:
        msg = f"no organisation has the slug {slug!r}; list them with `silkguard orgs list`"
        raise NotFound(msg)
    return org


def list_orgs(session: Session) -> list[Organisation]:
    return list(session.execute(select(Organisation).order_by(Organisation.slug)).scalars())


# --- users ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    org_id: uuid.UUID,
    username: str,
    password: str,
    role: Role | str,
    full_name: str = "",
    email: str | None = None,
    languages: Iterable[str] = (),
) -> User:
    """A new active user; the username is stored lower-case and must be unused."""
    name = check_username(username)
    require_org(session, org_id)
    clean_role = parse_role(role)
    check_password_policy(password, username=name)
    if session.execute(select(User.id).where(User.username == name)).first():
        msg = f"username {name!r} is taken; choose another"
        raise Conflict(msg)
    user = User(
        org_id=org_id,
        username=name,
        full_name=full_name.strip(),
        email=check_email(email),
        password_hash=hash_password(password),
        role=clean_role.value,
        languages=check_languages(languages),
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    try:
        session.flush()
    except sa_exc.IntegrityError as exc:  # a concurrent create won the race
        msg = f"username {name!r} is taken; choose another"
        raise Conflict(msg) from exc
    return user


def get_user(session: Session, *, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        msg = f"no user has id {user_id}"
        raise NotFound(msg)
    return user


def get_active_user(session: Session, *, user_id: uuid.UUID) -> User:
    """The user an access token names, if they still exist and are active; otherwise
    :class:`Unauthenticated` (a disabled user's tokens stop working at once)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        msg = "the account of this access token is disabled or gone; log in again"
        raise Unauthenticated(msg)
    return user


def get_user_by_username(session: Session, *, username: str) -> User:
    name = username.strip().lower()
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if user is None:
        msg = f"no user is called {name!r}; list them with `silkguard users list`"
        raise NotFound(msg)
    return user


def list_users(session: Session, *, org_id: uuid.UUID | None = None) -> list[User]:
    stmt = select(User).order_by(User.username)
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    return list(session.execute(stmt).scalars())


def disable_user(session: Session, *, user_id: uuid.UUID, now: datetime) -> User:
    """Stop the user from logging in and end their refresh-token sessions. Access tokens
    already issued stay valid until they expire (minutes) unless the API checks
    ``is_active`` on each request."""
    user = get_user(session, user_id=user_id)
    user.is_active = False
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return user


def set_role(session: Session, *, user_id: uuid.UUID, role: Role | str) -> User:
    user = get_user(session, user_id=user_id)
    user.role = parse_role(role).value
    session.flush()
    return user


# --- logins --------------------------------------------------------------------------------


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    max_failures: int = 5,
    lockout_s: int = 900,
    request_id: str | None = None,
) -> User:
    """The active user with this username and password.

    Raises :class:`Unauthenticated` with the same message for an unknown username, a wrong
    password and a disabled account (each costs one argon2 verification), and
    :class:`RateLimited` naming the unlock time while the account is locked. The
    ``max_failures``-th wrong password in a row locks the account for ``lockout_s``; once a
    lock has run out the count starts again from zero. Commit even when this raises."""
    name = username.strip().lower()
    user = session.execute(
        select(User).where(User.username == name).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        verify_password(dummy_hash(), password)
        _audit_login(session, None, "auth.login_failed", now, request_id, reason="unknown_user")
        raise Unauthenticated(BAD_LOGIN_MESSAGE)
    if not user.is_active:
        verify_password(user.password_hash, password)  # the same cost as any other answer
        _audit_login(session, user, "auth.login_failed", now, request_id, reason="disabled")
        raise Unauthenticated(BAD_LOGIN_MESSAGE)
    if user.locked_until is not None and user.locked_until > now:
        verify_password(dummy_hash(), password)
        _audit_login(session, user, "auth.login_failed", now, request_id, reason="locked")
        msg = (
            f"account {user.username!r} is locked after too many wrong passwords until "
            f"{user.locked_until:%Y-%m-%d %H:%M:%S} UTC; try again after that or ask an "
            "administrator"
        )
        raise RateLimited(msg, retry_after_s=(user.locked_until - now).total_seconds())
    if user.locked_until is not None:  # the lock has run out: a fresh start
        user.locked_until = None
        user.failed_logins = 0
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        detail: dict[str, object] = {"reason": "wrong_password", "failures": user.failed_logins}
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(seconds=lockout_s)
            detail["locked_until"] = user.locked_until
        _audit_login(session, user, "auth.login_failed", now, request_id, **detail)
        raise Unauthenticated(BAD_LOGIN_MESSAGE)
    user.failed_logins = 0
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _audit_login(session, user, "auth.login", now, request_id)
    session.flush()
    return user


def _audit_login(
    session: Session,
    user: User | None,
    action: str,
    now: datetime,
    request_id: str | None,
    **detail: object,
) -> None:
    audit.record(
        session,
        action=action,
        # A failed attempt is not the account holder's act: only a success names them.
        actor=f"user:{user.id}" if user is not None and action == "auth.login" else "anonymous",
        org_id=None if user is None else user.org_id,
        object_type=None if user is None else "user",
        object_id=None if user is None else str(user.id),
        request_id=request_id,
        detail=detail,
        now=now,
    )
