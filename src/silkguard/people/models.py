"""Sites: where the protected people live and work."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.tlp import TLP
from silkguard.core.types import JSONType, UTCDateTime

__all__ = ["Site", "SiteKind"]


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
