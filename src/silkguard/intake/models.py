"""Community tips: what someone near a project site saw, stored without anything that could
identify the tipster unless they chose to leave a contact."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import JSONType, UTCDateTime

__all__ = ["Tip"]


class Tip(Base):
    """One tip. No IP address, user agent or device detail is ever stored; a photo is kept
    only after its metadata (EXIF, GPS) has been removed."""

    __tablename__ = "tips"
    __table_args__ = (Index("ix_tips_org_status", "org_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    language: Mapped[str] = mapped_column(String(8), default="en")
    what: Mapped[str] = mapped_column(Text)
    where_text: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    when_text: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    photo_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: new | verified | duplicate | not_actionable | malicious
    status: Mapped[str] = mapped_column(String(16), default="new")
    #: SHA-256 of the tipster's one-time follow-up token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: what the extractor read in the tip (fields and supporting spans)
    extraction: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: later details the tipster added with the token: [{"at", "text"}]
    follow_ups: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True
    )
    triaged_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    triage_note: Mapped[str] = mapped_column(Text, default="")
