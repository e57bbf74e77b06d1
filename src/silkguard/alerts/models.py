"""Alerts, who they reach, how each message was delivered, and roll-call answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.alerts.vocab import DeliveryState
from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.tlp import TLP
from silkguard.core.types import JSONType, UTCDateTime

__all__ = ["Alert", "AlertRecipient", "Delivery", "EscortTimer"]


class Alert(Base):
    """A warning to everyone in an area. ``area`` is ``{"type": "Circle", "center": [lon, lat],
    "radius_km": r}`` or a GeoJSON Polygon / MultiPolygon; ``messages`` maps a language code
    to ``{"headline", "body"}`` (English and Chinese at least)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_org_status", "org_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.AMBER.value)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    area: Mapped[dict[str, Any]] = mapped_column(JSONType)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    messages: Mapped[dict[str, Any]] = mapped_column(JSONType)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    #: active | closed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Seconds from the alert to the moment the last person was accounted for.
    accounted_after_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertRecipient(Base):
    """One affected person of an alert and where their roll-call stands."""

    __tablename__ = "alert_recipients"
    __table_args__ = (UniqueConstraint("alert_id", "person_id", name="uq_alert_recipients"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    #: Why the person is affected: position | site | movement | sos (comma-joined).
    reasons: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    #: unaccounted | safe | need_help
    answer: Mapped[str] = mapped_column(String(16), default="unaccounted")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: SHA-256 of the one-time roll-call token sent to the person.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)


class Delivery(Base):
    """One message to one person over one channel. The key (alert, person, channel) makes a
    repeated fan-out or a retried job deliver at most once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "person_id", "channel", "purpose", name="uq_deliveries"),
        Index("ix_deliveries_state", "state"),
        # SMS delivery reports name the message by the gateway's id
        Index("ix_deliveries_provider_id", "provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    #: alert | reminder-N | escalation
    purpose: Mapped[str] = mapped_column(String(16), default="alert")
    #: For an escalation: the unaccounted person this message is about.
    about_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), nullable=True
    )
    #: Position in the person's channel order; the next rank is tried when this one fails.
    rank: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EscortTimer(Base):
    """An "escort me" dead-man timer: unless cancelled by ``due_at``, it raises an SOS."""

    __tablename__ = "escort_timers"
    __table_args__ = (Index("ix_escort_timers_due", "state", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: running | cancelled | fired
    state: Mapped[str] = mapped_column(String(16), default="running")
    note: Mapped[str] = mapped_column(Text, default="")
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True
    )
