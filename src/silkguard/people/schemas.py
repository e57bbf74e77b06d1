"""Request and response bodies for sites, people, consent and positions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from silkguard.core.tlp import TLP
from silkguard.people.models import SiteKind

__all__ = [
    "ConsentChange",
    "ConsentRead",
    "EmergencyContact",
    "IngestRead",
    "PersonCreate",
    "PersonRead",
    "PositionBatch",
    "PositionRead",
    "PositionReport",
    "SiteCreate",
    "SiteRead",
]


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


class EmergencyContact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", examples=["+923001234567"])]
    relation: Annotated[str, Field(max_length=80)] = ""


class PersonCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ref": "CP-0042",
                    "name": "Wang Lei",
                    "function": "site engineer",
                    "phone": "+923001234567",
                    "device_id": "tab-0042",
                    "languages": ["zh", "en"],
                    "channels": ["mqtt", "sms"],
                    "location_consent": True,
                }
            ]
        },
    )
    ref: Annotated[str, Field(min_length=1, max_length=64, description="Staff number")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    function: Annotated[str, Field(max_length=120)] = ""
    phone: Annotated[str | None, Field(max_length=32)] = None
    email: Annotated[str | None, Field(max_length=254)] = None
    device_id: Annotated[str | None, Field(max_length=64)] = None
    webhook_url: Annotated[str | None, Field(max_length=500)] = None
    languages: Annotated[list[str], Field(max_length=3)] = ["en"]
    channels: Annotated[list[str], Field(max_length=4)] = []
    emergency_contact: EmergencyContact | None = None
    supervisor_id: uuid.UUID | None = None
    home_site_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    location_consent: Annotated[
        StrictBool, Field(description="The person has given consent to location sharing")
    ] = False


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    ref: str
    name: str
    function: str
    phone: str | None
    email: str | None
    device_id: str | None
    webhook_url: str | None
    languages: list[str]
    channels: list[str]
    emergency_contact: dict[str, Any] | None
    supervisor_id: uuid.UUID | None
    home_site_id: uuid.UUID | None
    user_id: uuid.UUID | None
    location_consent: bool
    active: bool
    created_at: datetime


class ConsentChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"given": True, "note": "signed form 2026-12-01"}]},
    )
    given: StrictBool
    note: Annotated[str, Field(max_length=2000)] = ""


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    purpose: str
    given: StrictBool
    at: datetime
    recorded_by: str
    note: str


class PositionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Annotated[str, Field(min_length=1, max_length=64, description="Person id or device id")]
    at: Annotated[datetime, Field(description="Time of the fix, ISO 8601 with offset")]
    lat: Annotated[float, Field(strict=True)]
    lon: Annotated[float, Field(strict=True)]
    accuracy_m: Annotated[float | None, Field(strict=True)] = None


class PositionBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "positions": [
                        {
                            "person": "tab-0042",
                            "at": "2026-12-02T10:15:00+05:00",
                            "lat": 35.325,
                            "lon": 73.227,
                            "accuracy_m": 12,
                        }
                    ]
                }
            ]
        },
    )
    positions: Annotated[list[PositionReport], Field(min_length=1, max_length=10_000)]


class IngestRead(BaseModel):
    accepted: int
    duplicates: int
    without_consent: int
    rejected: list[dict[str, Any]]


class PositionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None
