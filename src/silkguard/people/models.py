"""The people silkguard protects and the places they live and work: sites, personnel, their
consent to location sharing, and positions (append-only, with the latest per person kept)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
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

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.tlp import TLP
from silkguard.core.types import JSONType, UTCDateTime

__all__ = [
    "ConsentRecord",
    "LatestPosition",
    "Person",
    "Position",
    "PositionReject",
    "Site",
    "SiteKind",
]


class SiteKind(StrEnum):
    PROJECT_SITE = "project_site"
    CAMP = "camp"
    OFFICE = "office"
    HOTEL = "hotel"
    PORT = "port"
    AIRPORT = "airport"
    OTHER = "other"


class Site(Base):
    """A place with people to protect. Locations of camps and sites are sensitive: a site is
    marked TLP:AMBER by default, so only its organisation (and groups it is shared with) see it."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_sites_org_slug"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    h3_r6: Mapped[int] = mapped_column(BigInteger, index=True)
    province: Mapped[str | None] = mapped_column(String(80))
    district: Mapped[str | None] = mapped_column(String(120))
    perimeter_radius_m: Mapped[float] = mapped_column(Float, default=500.0)
    #: Optional GeoJSON Polygon of the perimeter; the radius is used when absent.
    perimeter: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    #: 1 (low) to 5 (critical): how much harm an attack here would do.
    criticality: Mapped[int] = mapped_column(Integer, default=3)
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.AMBER.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Person(Base):
    """Someone the organisation has a duty of care for: staff, contractors, visitors. Personal
    data: seen only by the organisation, and every read by another person is audited."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("org_id", "ref", name="uq_people_org_ref"),
        UniqueConstraint("org_id", "device_id", name="uq_people_org_device"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    #: The organisation's own reference (staff number), unique within it.
    ref: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: Job or function, e.g. "site engineer" (never nationality, ethnicity or religion).
    function: Mapped[str] = mapped_column(String(120), default="")
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: The device that reports this person's position (MQTT topic suffix).
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Preferred languages in order (``en``, ``zh``, ``ur``).
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Channels in the order to try them when alerting (``mqtt``, ``sms``, ``email``, ...).
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    emergency_contact: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    home_site_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("sites.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: Whether the person currently consents to location sharing (the latest consent record).
    location_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Hash of the person's duress code: a roll-call answer with it reads "safe" to anyone
    #: watching and silently raises an SOS.
    duress_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConsentRecord(Base):
    """One change of a person's consent to location sharing, append-only."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32), default="location")
    given: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Who recorded it (``user:<uuid>``, ``key:<uuid>``, ``cli:<os user>``, ``self``).
    recorded_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")


class Position(Base):
    """One reported position, append-only; a repeat of (person, time) is stored once."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("person_id", "at", name="uq_positions_person_at"),
        Index("ix_positions_org_at", "org_id", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("people.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(8))  # http | mqtt


class LatestPosition(Base):
    """The newest position of each person, kept current by ingest (an older report arriving
    late never replaces a newer one)."""

    __tablename__ = "latest_positions"

    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    h3_r7: Mapped[int] = mapped_column(BigInteger, index=True)


class PositionReject(Base):
    """A position message that could not be accepted (the dead letters of MQTT ingest): what
    arrived, where, and why it was refused."""

    __tablename__ = "position_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
