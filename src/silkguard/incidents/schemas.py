"""Pydantic schemas of the incidents API: ``IncidentBase → IncidentCreate / IncidentUpdate /
IncidentRead``, source records, pages and GeoJSON."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)

__all__ = [
    "GeoJSONFeature",
    "GeoJSONFeatureCollection",
    "IncidentCreate",
    "IncidentDetail",
    "IncidentPage",
    "IncidentRead",
    "IncidentUpdate",
    "IsoDateTime",
    "MergeRequest",
    "RejectRequest",
    "SourceRecordRead",
    "SplitRequest",
]

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _iso_text(value: object) -> object:
    # pydantic would also read a number (or a numeric string) as Unix seconds; the API
    # documents ISO 8601 text, so that is all it accepts.
    if isinstance(value, datetime) or (
        isinstance(value, str) and not _NUMBER.fullmatch(value.strip())
    ):
        return value
    msg = "give an ISO 8601 date-time with a time zone, such as 2024-03-26T13:00:00+05:00"
    raise ValueError(msg)


def _utc_representable(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        msg = "the date-time lies outside years 1-9999 once converted to UTC"
        raise ValueError(msg) from None
    return value


IsoDateTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_utc_representable)
]
"""An aware date-time given as ISO 8601 text, storable in UTC (bodies and query parameters)."""

# Numbers and flags are strict: pydantic would otherwise accept "5" or "yes" where the
# OpenAPI document (and so every client generator) promises a JSON number or boolean.
Count = Annotated[int, Field(ge=0, le=100_000, strict=True)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]
Flag = Annotated[bool, Field(strict=True)]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]


class IncidentBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place: ShortText | None = Field(default=None, examples=["Besham, Karakoram Highway"])
    district: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    province: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    attack_type: AttackType = Field(examples=[AttackType.SUICIDE_VBIED])
    target_type: TargetType = Field(examples=[TargetType.CONVOY])
    perpetrator: ShortText | None = Field(
        default=None,
        description="As the source attributes it; never inferred.",
        examples=["unknown"],
    )
    claimed: Flag | None = None
    killed: Count | None = Field(default=None, description="Victims killed (attackers excluded).")
    injured: Count | None = None
    killed_foreign: Count | None = None
    injured_foreign: Count | None = None
    nationalities: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=20, examples=[["Chinese"]]
    )
    on_the_move: Flag | None = Field(default=None, description="Were the victims travelling?")
    summary: Annotated[str, Field(max_length=20_000)] | None = None


class IncidentCreate(IncidentBase):
    """A new incident report; it is stored as a draft for review."""

    occurred_at: IsoDateTime = Field(
        description="When it happened, with a time zone (UTC or +05:00).",
        examples=["2024-03-26T13:00:00+05:00"],
    )
    date_precision: DatePrecision = DatePrecision.DAY
    latitude: Latitude | None = Field(default=None, examples=[34.93])
    longitude: Longitude | None = Field(default=None, examples=[72.87])
    geo_precision: GeoPrecision | None = Field(
        default=None, description="Defaults to 'place' with coordinates, else geocoded."
    )
    tlp: TLP = TLP.AMBER
    source_url: Annotated[str, Field(max_length=2000)] | None = None
    share_with_groups: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    recipients: list[uuid.UUID] = Field(
        default_factory=list, max_length=200, description="Named recipients of a TLP:RED incident."
    )


class IncidentUpdate(BaseModel):
    """Corrections by an analyst; only the fields sent are changed. Needs ``If-Match``."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: IsoDateTime | None = None
    date_precision: DatePrecision | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    geo_precision: GeoPrecision | None = None
    place: ShortText | None = None
    district: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    province: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    attack_type: AttackType | None = None
    target_type: TargetType | None = None
    perpetrator: ShortText | None = None
    claimed: Flag | None = None
    killed: Count | None = None
    injured: Count | None = None
    killed_foreign: Count | None = None
    injured_foreign: Count | None = None
    nationalities: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        default=None, max_length=20
    )
    on_the_move: Flag | None = None
    summary: Annotated[str, Field(max_length=20_000)] | None = None
    tlp: TLP | None = None


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    date_precision: DatePrecision
    latitude: float | None
    longitude: float | None
    geo_precision: GeoPrecision
    place: str | None
    district: str | None
    province: str | None
    country: str
    h3_r6: str | None = Field(description="H3 cell (resolution 6) as hex.")
    attack_type: AttackType
    target_type: TargetType
    perpetrator: str | None
    claimed: bool | None
    killed: int | None
    injured: int | None
    killed_foreign: int | None
    injured_foreign: int | None
    nationalities: list[str]
    on_the_move: bool | None
    summary: str | None
    tlp: TLP
    status: IncidentStatus
    org_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class SourceRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_kind: SourceKind
    source_name: str
    external_id: str
    url: str | None
    licence: str | None
    content_hash: str
    imported_at: datetime
    match_reason: str | None
    normalized: dict[str, Any]


class IncidentDetail(IncidentRead):
    sources: list[SourceRecordRead]
    conflicts: dict[str, list[dict[str, str]]] = Field(
        description="Fields the sources disagree on, with each source's value."
    )
    overrides: dict[str, Any]
    review_note: str | None


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class GeoJSONGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float]


class GeoJSONFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: GeoJSONGeometry | None
    properties: dict[str, Any]


class GeoJSONFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeoJSONFeature]
    next_cursor: str | None = None


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=2000)]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=50,
        description="Incidents whose source records move into this one.",
    )


class SplitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_record_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=200, description="Records that become a new incident."
    )
