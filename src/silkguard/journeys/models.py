"""Movements: requested journeys with their route, risk assessment, policy decision, approvals
and an append-only history (the ISO 31030 travel record).

A movement plan says who moves where and when: it is marked TLP:AMBER by default, so only the
owning organisation sees it. It holds no personal data beyond the requester's user id and the
size of the party."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
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

__all__ = ["Movement", "MovementApproval", "MovementEvent", "MovementMember", "MovementPolicy"]


class Movement(Base):
    """One requested movement. ``route``, ``assessment`` and ``decision`` are JSON snapshots
    taken when it was planned (and re-evaluated when its measures change), so the decision can
    be explained later whatever happened to the forecast or the policy since."""

    __tablename__ = "movements"
    __table_args__ = (Index("ix_movements_state_arrival", "state", "planned_arrival"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.AMBER.value)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: Who asked, as an actor string (``user:<uuid>``, ``key:<uuid>``).
    requester: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(Text, default="")
    origin_label: Mapped[str] = mapped_column(String(200))
    origin_lat: Mapped[float] = mapped_column(Float)
    origin_lon: Mapped[float] = mapped_column(Float)
    destination_label: Mapped[str] = mapped_column(String(200))
    destination_lat: Mapped[float] = mapped_column(Float)
    destination_lon: Mapped[float] = mapped_column(Float)
    #: Places passed through, in order: ``[{"label", "lat", "lon"}, ...]``.
    waypoints: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    departure_start: Mapped[datetime] = mapped_column(UTCDateTime)
    departure_end: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_arrival: Mapped[datetime] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    party: Mapped[int] = mapped_column(Integer)
    vehicles: Mapped[int] = mapped_column(Integer)
    #: Measure names from :data:`silkguard.journeys.policy.MEASURES`, sorted.
    measures: Mapped[list[str]] = mapped_column(JSONType, default=list)
    state: Mapped[str] = mapped_column(String(16))
    route: Mapped[dict[str, Any]] = mapped_column(JSONType)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONType)
    decision: Mapped[dict[str, Any]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol


class MovementEvent(Base):
    """One entry of a movement's history, append-only, read in ``id`` order: a transition, a
    check-in, an approval or a note."""

    __tablename__ = "movement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    movement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("movements.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # transition | check_in | approval | note
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class MovementApproval(Base):
    """A sign-off by one approver; an approver counts once per movement."""

    __tablename__ = "movement_approvals"
    __table_args__ = (
        UniqueConstraint("movement_id", "approver_id", name="uq_movement_approvals_approver"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    movement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("movements.id", ondelete="CASCADE"), index=True
    )
    approver_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class MovementPolicy(Base):
    """One revision of an organisation's movement policy, kept as the TOML text it was given
    in (so a decision can always be traced to the exact rules). The newest revision is in
    force; older ones are never changed or deleted."""

    __tablename__ = "movement_policies"
    __table_args__ = (
        UniqueConstraint("org_id", "revision", name="uq_movement_policies_org_revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MovementMember(Base):
    """A person travelling on a movement, so an alert on the route reaches them."""

    __tablename__ = "movement_members"

    movement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("movements.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
    )
