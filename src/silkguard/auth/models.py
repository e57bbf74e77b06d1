"""Organisations own every object; users and API keys act for one organisation; sharing groups
join organisations; the audit trail records who did what, as a hash chain.

Secrets are never stored: passwords as argon2id hashes, refresh tokens and API key secrets as
SHA-256 hex digests (they are long random strings, so a fast hash is enough)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import JSONType, UTCDateTime

__all__ = [
    "GENESIS_HASH",
    "POOL_ORG_KIND",
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "OrgKind",
    "Organisation",
    "RefreshToken",
    "SharingGroup",
    "SharingGroupMember",
    "User",
]

GENESIS_HASH = "0" * 64  # prev_hash of the first audit entry


class OrgKind(StrEnum):
    OPERATOR = "operator"  # runs projects and employs the people silkguard protects
    PARTNER = "partner"  # police liaison, embassy security, other contractors


# The kind of the organisation silkguard makes to own a sharing group's pooled (anonymous)
# contributions. Not an OrgKind: nobody creates one by hand and no user ever belongs to one.
POOL_ORG_KIND = "pool"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="operator")
    country: Mapped[str] = mapped_column(String(2), default="PK")
    #: How long personal positions are kept before the purge job deletes them.
    position_retention_days: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # always lower-case
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))  # a silkguard.auth.roles.Role value
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One refresh token. Rotation keeps a family: every token issued from one login shares
    ``family_id``, so replaying a used token can end the whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A machine credential ``sgk_<prefix>_<secret>``; only the secret's SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    role: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SharingGroup(Base):
    __tablename__ = "sharing_groups"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"))
    # When True, members see the group but not who else is in it.
    hidden_membership: Mapped[bool] = mapped_column(Boolean, default=False)
    # The organisation (kind "pool") owning the incidents contributed to the group without
    # naming their source; made on the first contribution (silkguard.sharing.pool).
    pool_org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEntry(Base):
    """One line of the audit trail. ``id`` is a gap-free sequence number assigned under the
    :class:`AuditHead` lock (not by a database sequence, which leaves gaps on rollback), and
    ``hash`` chains each entry to the one before. ``org_id`` has no foreign key on purpose:
    entries outlive what they describe and are never rewritten."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row (``id = 1``) naming the newest audit entry. Appending locks it, so
    concurrent writers queue instead of forking the chain; it also reveals truncation."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
