"""Which incident of a sharing group's pool is a copy of which of a member's incidents.

The link is the only place that knows who contributed a pooled incident. It is read only for
the contributing organisation (to refresh, list or withdraw its contributions) and never shown
to anyone else (silkguard.sharing.pool)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import UTCDateTime

__all__ = ["PoolContribution"]


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
