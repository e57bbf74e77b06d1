"""Request and response bodies for sites."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from silkguard.core.tlp import TLP
from silkguard.people.models import SiteKind

__all__ = ["SiteCreate", "SiteRead"]


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$", examples=["dasu-hpp"])]
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Dasu hydropower project"])]
    kind: SiteKind
    # numbers are strict: pydantic would otherwise take true for 1 or "5" for 5
    latitude: Annotated[float, Field(ge=-90, le=90, strict=True, examples=[35.325])]
    longitude: Annotated[float, Field(ge=-180, le=180, strict=True, examples=[73.227])]
    headcount: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] = 0
    criticality: Annotated[
        int, Field(ge=1, le=5, strict=True, description="1 low to 5 critical")
    ] = 3
    perimeter_radius_m: Annotated[float, Field(gt=0, le=50_000, strict=True)] = 500.0
    tlp: TLP = TLP.AMBER


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    slug: str
    name: str
    kind: str
    latitude: float
    longitude: float
    province: str | None
    district: str | None
    perimeter_radius_m: float
    perimeter: dict[str, Any] | None
    headcount: int
    criticality: int
    tlp: str
    created_at: datetime
