"""What TAXII keeps between requests: the status resources of POSTs, and the remote
collections an organisation pulls from (with the ``added_after`` bookmark of each)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import JSONType, UTCDateTime

__all__ = ["TaxiiStatus", "TaxiiSubscription"]


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
