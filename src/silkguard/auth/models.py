"""Organisations own every object. Users, roles and keys arrive with the API."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.types import UTCDateTime

__all__ = ["Organisation"]


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="operator")
    country: Mapped[str] = mapped_column(String(2), default="PK")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
