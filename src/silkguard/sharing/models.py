"""What sharing keeps in the store: which incident of a sharing group's pool is a copy of which
member's incident, the status resources of TAXII POSTs, and the remote collections an
organisation pulls from (with the ``added_after`` bookmark of each).

The pool link is the only place that knows who contributed a pooled incident. It is read only
for the contributing organisation (to refresh, list or withdraw its contributions) and never
shown to anyone else (silkguard.sharing.pool)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import JSONType, UTCDateTime

__all__ = ["PoolContribution", "TaxiiStatus", "TaxiiSubscription"]


class PoolContribution(Base):
    __tablename__ = "pool_contributions"
    __table_args__ = (
        UniqueConstraint("source_incident_id", "group_id", name="uq_pool_contribution"),
    )

    pool_incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sharing_groups.id", ondelete="CASCADE"), index=True
    )
    source_incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # Without a foreign key, like the audit trail's org_id: only ever compared with the
    # caller's organisation.
    contributor_org_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TaxiiStatus(Base):
    """The status resource of one add-objects POST, readable only by the organisation that
    posted it, for ``STATUS_DAYS`` days (see :mod:`silkguard.sharing.taxii`)."""

    __tablename__ = "taxii_statuses"
    __table_args__ = (Index("ix_taxii_statuses_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    collection_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)


class TaxiiSubscription(Base):
    """A remote TAXII 2.1 collection that an organisation pulls on a schedule. The credential
    (an API key or password for the remote server) is stored encrypted with a key derived from
    the instance's secret key; ``added_after`` is the remote server's
    ``X-TAXII-Date-Added-Last`` of the newest page imported so far."""

    __tablename__ = "taxii_subscriptions"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_taxii_subscriptions_org_name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    # the URL of the remote collection (…/<api-root>/collections/<id>/)
    url: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the credential
    # whose rights the imports run with (a user of org_id who may create incidents)
    run_as: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    interval_minutes: Mapped[int] = mapped_column(Integer, default=15)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    added_after: Mapped[str | None] = mapped_column(String(40))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
