"""Refresh tokens: opaque random strings traded for a new access token, rotated on every use.

Every token issued from one login shares a ``family_id``. Each rotation revokes the presented
token and issues a successor in the same family, valid ``ttl_s`` from the rotation (a sliding
lifetime). Presenting a revoked token again means two parties hold it, so the whole family is
revoked. Only SHA-256 hashes are stored. Use through ``silkguard.auth.service``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import RefreshToken, User
from silkguard.auth.tokens import hash_token, new_refresh_token
from silkguard.core.errors import Unauthenticated

__all__ = ["issue_refresh_token", "revoke_refresh_token", "rotate_refresh_token"]

_BAD_REFRESH = "refresh token is not valid; log in again"


def issue_refresh_token(
    session: Session,
    *,
    user: User,
    now: datetime,
    ttl_s: int,
    family_id: uuid.UUID | None = None,
) -> str:
    """A new refresh token for ``user`` (a new family unless ``family_id`` continues one).
    Only its hash is stored; the plain token is returned once."""
    token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_token(token),
            family_id=family_id or uuid.uuid4(),
            expires_at=now + timedelta(seconds=ttl_s),
            created_at=now,
        )
    )
    session.flush()
    return token


def _revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def rotate_refresh_token(
    session: Session,
    *,
    token: str,
    now: datetime,
    ttl_s: int,
    request_id: str | None = None,
) -> tuple[User, str]:
    """Trade ``token`` for a new one of the same family; the old one is revoked.

    Presenting a token that was already used means two parties hold it (theft, or a client
    that replayed it): the whole family is revoked, an ``auth.refresh_reuse`` audit entry is
    written, and :class:`Unauthenticated` is raised. Commit even when this raises."""
    stored = session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)).with_for_update()
    ).scalar_one_or_none()
    if stored is None:
        raise Unauthenticated(_BAD_REFRESH)
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:  # disabling a user revokes their tokens anyway
        raise Unauthenticated(_BAD_REFRESH)
    if stored.revoked_at is not None:
        _revoke_family(session, stored.family_id, now)
        audit.record(
            session,
            action="auth.refresh_reuse",
            actor="anonymous",  # whoever holds the token; perhaps not the user
            org_id=user.org_id,
            object_type="refresh_token_family",
            object_id=str(stored.family_id),
            request_id=request_id,
            detail={"user_id": user.id, "token_revoked_at": stored.revoked_at},
            now=now,
        )
        session.flush()
        msg = (
            "refresh token was already used; every session of this login has been ended "
            "for safety; log in again"
        )
        raise Unauthenticated(msg)
    if stored.expires_at <= now:
        msg = f"refresh token expired at {stored.expires_at:%Y-%m-%d %H:%M} UTC; log in again"
        raise Unauthenticated(msg)
    stored.revoked_at = now
    new_token = issue_refresh_token(
        session, user=user, now=now, ttl_s=ttl_s, family_id=stored.family_id
    )
    return user, new_token


def revoke_refresh_token(session: Session, *, token: str, now: datetime) -> bool:
    """Log out: revoke the token's whole family. False if the token is unknown."""
    stored = session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if stored is None:
        return False
    _revoke_family(session, stored.family_id, now)
    session.flush()
    return True
