"""API keys: machine credentials of the form ``sgk_<prefix>_<secret>``.

The prefix (8 hex characters, unique) names the key in lists and logs; the secret (32 random
bytes, URL-safe base64) is shown once when the key is created and stored only as its SHA-256.
A key acts as its ``role``, narrowed to its ``scopes`` if it has any
(:func:`silkguard.auth.roles.key_permissions`). Use through ``silkguard.auth.service``.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from silkguard.auth._validate import check_name, require_org
from silkguard.auth.models import ApiKey
from silkguard.auth.roles import ROLE_PERMISSIONS, Permission, Role, parse_permission, parse_role
from silkguard.auth.tokens import hash_token
from silkguard.core.clock import utcnow
from silkguard.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated

__all__ = [
    "KEY_PREFIX",
    "LAST_USED_RESOLUTION",
    "create_api_key",
    "get_api_key",
    "list_api_keys",
    "resolve_api_key",
    "revoke_api_key",
    "verify_api_key",
]

KEY_PREFIX = "sgk_"
# last_used_at is written at most this often per key, so a busy key does not turn every
# request into a database write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
_SECRET_BYTES = 32
_KEY_FORM = re.compile(r"sgk_([0-9a-f]{8})_([A-Za-z0-9_-]{43,})")
_BAD_KEY = "API key is not valid; check that it was copied whole, or create a new one"


def _new_prefix(session: Session) -> str:
    while True:  # 2**32 prefixes: a collision is rare, and then we draw again
        prefix = secrets.token_hex(4)
        if session.execute(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            return prefix


def _check_scopes(role: Role, scopes: Iterable[Permission | str]) -> list[str]:
    wanted = sorted({parse_permission(s) for s in scopes})
    outside = [p.value for p in wanted if p not in ROLE_PERMISSIONS[role]]
    if outside:
        msg = (
            f"scope(s) {', '.join(outside)} are not permissions of role {role.value}; a key "
            "can only narrow its role. Choose from: "
            + ", ".join(sorted(p.value for p in ROLE_PERMISSIONS[role]))
        )
        raise InvalidInput(msg)
    return [p.value for p in wanted]


def create_api_key(
    session: Session,
    *,
    org_id: uuid.UUID,
    name: str,
    role: Role | str,
    scopes: Iterable[Permission | str] = (),
    expires_at: datetime | None = None,
    created_by: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``org_id`` and its plain text, which is not stored and cannot be shown
    again. An empty ``scopes`` means every permission of ``role``."""
    require_org(session, org_id)
    clean_role = parse_role(role)
    prefix = _new_prefix(session)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    key = ApiKey(
        org_id=org_id,
        name=check_name(name, field="API key name"),
        prefix=prefix,
        key_hash=hash_token(secret),
        scopes=_check_scopes(clean_role, scopes),
        role=clean_role.value,
        expires_at=expires_at,
        created_by=created_by,
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


# built once: every authenticated request runs it
_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))


def verify_api_key(session: Session, *, key: str, now: datetime) -> ApiKey:
    """The key that ``key`` is, if it is known, not revoked and not expired; otherwise
    :class:`Unauthenticated`. Revocation and expiry are named only to a caller that holds
    the right secret."""
    match = _KEY_FORM.fullmatch(key.strip())
    if match is None:
        msg = f"API key is malformed; it looks like {KEY_PREFIX}<8 hex characters>_<secret>"
        raise Unauthenticated(msg)
    prefix, secret = match.groups()
    stored = session.execute(_BY_PREFIX, {"prefix": prefix}).scalar_one_or_none()
    # The prefix is not secret (lists show it); the secret is compared in constant time.
    if stored is None or not hmac.compare_digest(hash_token(secret), stored.key_hash):
        raise Unauthenticated(_BAD_KEY)
    if stored.revoked_at is not None:
        msg = (
            f"API key {prefix} was revoked at {stored.revoked_at:%Y-%m-%d %H:%M} UTC; "
            "ask an administrator for a new one"
        )
        raise Unauthenticated(msg)
    if stored.expires_at is not None and stored.expires_at <= now:
        msg = (
            f"API key {prefix} expired at {stored.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask an administrator for a new one"
        )
        raise Unauthenticated(msg)
    if stored.last_used_at is None or now - stored.last_used_at >= LAST_USED_RESOLUTION:
        stored.last_used_at = now
        session.flush()
    return stored


def get_api_key(session: Session, *, key_id: uuid.UUID) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        msg = f"no API key has id {key_id}"
        raise NotFound(msg)
    return key


def resolve_api_key(session: Session, *, ref: str) -> ApiKey:
    """The key named by its id, its 8-character prefix, or ``sgk_<prefix>``."""
    text = ref.strip().lower().removeprefix(KEY_PREFIX).split("_", 1)[0]
    conditions = [ApiKey.prefix == text]
    with contextlib.suppress(ValueError):
        conditions.append(ApiKey.id == uuid.UUID(text))
    found = list(session.execute(select(ApiKey).where(or_(*conditions))).scalars())
    if not found:
        msg = (
            f"no API key has the id or prefix {ref!r}; list them with "
            "`silkguard keys list --org SLUG`"
        )
        raise NotFound(msg)
    return found[0]


def revoke_api_key(session: Session, *, key_id: uuid.UUID, now: datetime | None = None) -> ApiKey:
    """Revoke the key from ``now`` on. Revoking a revoked key is a :class:`Conflict`."""
    key = get_api_key(session, key_id=key_id)
    if key.revoked_at is not None:
        msg = f"API key {key.prefix} was already revoked at {key.revoked_at:%Y-%m-%d %H:%M} UTC"
        raise Conflict(msg)
    key.revoked_at = now or utcnow()
    session.flush()
    return key


def list_api_keys(session: Session, *, org_id: uuid.UUID) -> list[ApiKey]:
    """Every key of the organisation, revoked and expired ones too, oldest first."""
    stmt = select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at, ApiKey.prefix)
    return list(session.execute(stmt).scalars())
