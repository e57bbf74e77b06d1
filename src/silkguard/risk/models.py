"""Stored forecasts, threat levels, level changes, per-organisation thresholds and backtests.

A forecast run keeps the model, its version and parameters, the training window and the horizon,
so a threat level shown months ago can still be explained. Runs are owned like everything else:
a community run (no organisation) is fitted on CLEAR/GREEN incidents only and is marked GREEN;
an organisation's run may use what that organisation sees and carries the most restrictive
marking of its inputs, so a derived surface never shows more than its inputs allowed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.tlp import TLP
from silkguard.core.types import JSONType, UTCDateTime

__all__ = [
    "BacktestRun",
    "ForecastCell",
    "ForecastRun",
    "LevelChange",
    "RiskPolicyRecord",
    "ThreatLevelRecord",
]


class ForecastRun(Base):
    __tablename__ = "risk_forecasts"
    __table_args__ = (Index("ix_risk_forecasts_org_created", "org_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.GREEN.value)
    model: Mapped[str] = mapped_column(String(32))
    #: silkguard version and a digest of the hyper-parameters: ``0.1.0/sepp/3f2a9c1e``.
    model_version: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    n_events: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the training events (time, position), to prove what a run was fitted on.
    events_digest: Mapped[str] = mapped_column(String(64))
    trained_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    trained_until: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon_start: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon_end: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Expected events per km2 over the horizon, corridor-wide: the yardstick of the levels.
    mean_density: Mapped[float] = mapped_column(Float)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80))


class ForecastCell(Base):
    """One H3 cell of a run: expected events over the horizon and the cell's threat level."""

    __tablename__ = "risk_forecast_cells"

    forecast_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("risk_forecasts.id", ondelete="CASCADE"), primary_key=True
    )
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    expected: Mapped[float] = mapped_column(Float)
    level: Mapped[int] = mapped_column(SmallInteger)


class ThreatLevelRecord(Base):
    """The level of a named subject (a district or a site) in one run, with its reason."""

    __tablename__ = "risk_levels"
    __table_args__ = (Index("ix_risk_levels_subject", "subject_kind", "subject_key", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    forecast_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("risk_forecasts.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    tlp: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))  # district | site
    subject_key: Mapped[str] = mapped_column(String(200))  # "Balochistan/Gwadar" or a site id
    subject_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LevelChange(Base):
    """A subject's threat level went up or down between two runs: an event other packages
    (journeys, alerts) react to, read in ``id`` order like an outbox."""

    __tablename__ = "risk_level_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    forecast_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("risk_forecasts.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    tlp: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(200))
    subject_name: Mapped[str] = mapped_column(String(200))
    old_level: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    new_level: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskPolicyRecord(Base):
    """An organisation's threshold policy (see :class:`silkguard.risk.levels.LevelPolicy`)."""

    __tablename__ = "risk_policies"

    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80))


class BacktestRun(Base):
    __tablename__ = "risk_backtests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.GREEN.value)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    n_events: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80))
