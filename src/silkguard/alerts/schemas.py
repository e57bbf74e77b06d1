"""Request and response bodies for alerts, roll-call, SOS and the escort timer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from silkguard.alerts.vocab import AlertCategory, AlertSeverity
from silkguard.core.tlp import TLP

__all__ = [
    "AlertCreate",
    "AlertRead",
    "BoardRead",
    "EscortCreate",
    "EscortRead",
    "RollCallAnswer",
    "SosCreate",
]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headline: Annotated[str, Field(min_length=1, max_length=160)]
    body: Annotated[str, Field(max_length=2000)] = ""


class AlertCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "area": {"type": "Circle", "center": [73.2251, 35.2917], "radius_km": 8},
                    "severity": "high",
                    "category": "security",
                    "messages": {
                        "en": {"headline": "Armed attack near Dasu", "body": "Stay inside."},
                        "zh": {"headline": "达苏附近发生武装袭击", "body": "请留在室内。"},
                    },
                    "valid_minutes": 360,
                }
            ]
        },
    )
    area: dict[str, Any] = Field(
        description='{"type": "Circle", "center": [lon, lat], "radius_km": r} or a GeoJSON '
        "Polygon / MultiPolygon"
    )
    severity: AlertSeverity
    category: AlertCategory
    messages: dict[str, Message] = Field(description="By language: en and zh required, ur optional")
    valid_minutes: Annotated[int, Field(ge=1, le=14 * 24 * 60, strict=True)] = 360
    drill: StrictBool = False
    public: Annotated[StrictBool, Field(description="Publish in the CAP feed")] = False
    tlp: TLP = TLP.AMBER


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    area: dict[str, Any]
    severity: str
    category: str
    messages: dict[str, Any]
    valid_from: datetime
    valid_until: datetime
    source: str
    source_ref: str | None
    drill: bool
    public: bool
    status: str
    created_at: datetime
    closed_at: datetime | None
    accounted_after_s: float | None


class BoardRead(BaseModel):
    alert_id: uuid.UUID
    status: str
    drill: bool
    total: int
    accounted: int
    unaccounted: list[uuid.UUID]
    need_help: list[uuid.UUID]
    safe: list[uuid.UUID]
    never_reached: list[uuid.UUID]
    deliveries: dict[str, int]
    accounted_after_s: float | None


class RollCallAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": "safe"}]})
    answer: Literal["safe", "need_help"]
    code: Annotated[str | None, Field(max_length=12, pattern=r"^[0-9]*$")] = None


class SosCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"lat": 34.93, "lon": 72.87}]}
    )
    lat: Annotated[float | None, Field(ge=-90, le=90, strict=True)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180, strict=True)] = None


class EscortCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"minutes": 30}]})
    minutes: Annotated[int, Field(ge=1, le=1440, strict=True)]
    note: Annotated[str, Field(max_length=500)] = ""


class EscortRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    person_id: uuid.UUID
    started_at: datetime
    due_at: datetime
    state: str
    alert_id: uuid.UUID | None
