"""Request and response bodies of the risk API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "BacktestRead",
    "BacktestSummary",
    "ForecastCreate",
    "ForecastRead",
    "LevelChangeRead",
    "LevelRead",
    "PolicyRead",
    "PolicyWrite",
    "RouteRequest",
    "RouteSegmentRead",
    "SiteLevelRead",
]

#: The names of silkguard.risk.registry.MODEL_NAMES (a test checks they agree).
ModelName = Literal["sepp", "kde", "prospective", "naive"]


# numbers are strict: pydantic would otherwise take true for 1 or "5" for 5
StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
StrictCount = Annotated[int, Field(strict=True)]


class ForecastCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: ModelName = "sepp"
    params: dict[str, Any] = Field(
        default_factory=dict, description="Model hyper-parameters", examples=[{}]
    )
    as_of: AwareDatetime | None = Field(
        default=None, description="Forecast from this time (default: now)"
    )
    horizon_days: Annotated[int | None, Field(ge=1, le=366, strict=True)] = None
    scope: Literal["community", "organisation"] = Field(
        default="community",
        description="community: fitted on CLEAR/GREEN incidents, shared as GREEN; "
        "organisation: on what your organisation sees, kept within it",
    )
    resolution: Annotated[int, Field(ge=3, le=7, strict=True)] = 6


class ForecastRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID | None
    tlp: str
    model: str
    model_version: str
    params: dict[str, Any]
    resolution: int
    n_events: int
    events_digest: str
    trained_from: datetime | None
    trained_until: datetime
    horizon_start: datetime
    horizon_end: datetime
    mean_density: float
    policy: dict[str, Any]
    created_at: datetime


class LevelRead(BaseModel):
    level: int = Field(ge=1, le=6)
    name: str
    reason: str = Field(
        examples=["Level 4 (substantial): 3 IED attacks within 20 km in the last 30 days; ..."]
    )
    forecast_level: int
    recent_level: int
    ratio_corridor: float
    ratio_province: float | None
    province: str | None
    expected: float = Field(description="Expected attacks in the area over the horizon")
    recent_by_type: dict[str, int]
    forecast_id: uuid.UUID


class SiteLevelRead(LevelRead):
    site_id: uuid.UUID
    site_name: str


class RouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["LineString"]
    coordinates: Annotated[
        list[tuple[StrictNumber, StrictNumber]],
        Field(min_length=2, max_length=10_000, description="[longitude, latitude] pairs"),
    ]


class RouteSegmentRead(BaseModel):
    index: int
    start: tuple[float, float] = Field(description="[latitude, longitude]")
    end: tuple[float, float]
    length_km: float
    level: LevelRead


class LevelChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    forecast_id: uuid.UUID
    subject_kind: str
    subject_key: str
    subject_name: str
    old_level: int | None
    new_level: int
    reason: str
    created_at: datetime


class PolicyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratio_cuts: Annotated[list[StrictNumber], Field(min_length=5, max_length=5)] = [
        0.25,
        1.0,
        3.0,
        10.0,
        30.0,
    ]
    recent_cuts: Annotated[list[StrictCount], Field(min_length=4, max_length=4)] = [1, 2, 4, 8]
    recent_days: Annotated[int, Field(ge=1, le=365, strict=True)] = 30
    recent_radius_km: Annotated[float, Field(gt=0, le=500, strict=True)] = 20.0
    horizon_days: Annotated[int, Field(ge=1, le=366, strict=True)] = 30


class PolicyRead(PolicyWrite):
    version: int


class BacktestSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID | None
    tlp: str
    config: dict[str, Any] = Field(description="Source, models, periods and held-out years")
    n_events: int
    created_at: datetime
    created_by: str | None


class BacktestRead(BacktestSummary):
    result: dict[str, Any] = Field(
        description="Per model and period: hit rate and PAI at 1/5/10 % of the area, mean "
        "Poisson log score, per-year figures, calibration deciles, the hit-rate curve, timings"
    )
