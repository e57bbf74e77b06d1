"""Request and response bodies for movements and movement policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from silkguard.core.tlp import TLP

__all__ = [
    "CheckInCreate",
    "IncidentNote",
    "MeasuresUpdate",
    "MovementBoard",
    "MovementCreate",
    "MovementDetail",
    "MovementRead",
    "ParetoPoint",
    "PolicyRevisionRead",
    "PolicyWrite",
    "Reason",
    "ReviewCreate",
    "RouteOptionRead",
    "RouteOptionsRead",
    "RouteOptionsRequest",
]

_PLACE = Field(
    min_length=1,
    max_length=200,
    description="A place name from the offline gazetteer, or 'LAT,LON' in decimal degrees",
)


class _Trip(BaseModel):
    """What a movement is: where, when and how many (shared by requests and route options)."""

    origin: Annotated[str, _PLACE]
    destination: Annotated[str, _PLACE]
    via: Annotated[list[Annotated[str, _PLACE]], Field(max_length=10)] = []
    departure: Annotated[AwareDatetime, Field(description="Earliest departure (with offset)")]
    departure_latest: Annotated[
        AwareDatetime | None,
        Field(description="Latest departure: the end of the departure window (default: none)"),
    ] = None
    arrival: Annotated[AwareDatetime, Field(description="Planned arrival when leaving on time")]
    vehicles: Annotated[int, Field(ge=1, le=100, strict=True)] = 1
    party: Annotated[int, Field(ge=1, le=500, strict=True, description="People moving")] = 1
    measures: Annotated[
        list[str],
        Field(max_length=20, description="Protective measures planned (policy vocabulary)"),
    ] = []
    avoid: Annotated[
        list[dict[str, Any]],
        Field(
            max_length=10,
            description="Areas to keep out of: GeoJSON Polygons or MultiPolygons in lon/lat "
            "(for example around a fresh incident); roads with an end or midpoint inside are "
            "closed",
        ),
    ] = []

    def trip_fields(self) -> dict[str, Any]:
        """The trip as the keyword arguments the journeys service takes."""
        return {name: getattr(self, name) for name in _Trip.model_fields}


class RouteOptionsRequest(_Trip):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "origin": "Chilas",
                    "destination": "Dasu",
                    "departure": "2026-12-03T08:00:00+05:00",
                    "arrival": "2026-12-03T14:00:00+05:00",
                    "vehicles": 2,
                    "party": 4,
                    "alternatives": 3,
                }
            ]
        },
    )
    alternatives: Annotated[
        int, Field(ge=1, le=5, strict=True, description="How many diverse routes to propose")
    ] = 3


class RouteOptionRead(BaseModel):
    rank: Annotated[int, Field(description="0 is the recommended route; request it by this")]
    route: Annotated[
        dict[str, Any],
        Field(
            description="coordinates ([lon, lat]), time_s, length_km, exposure, lambda, "
            "avoided_areas; priced for night driving from the departure: depart, arrive, "
            "night_s, night_exposure, night (start, end, factor, zone) and schedule (one "
            "entry per road stretch: road, km_from, km_to, enter, leave, night_s, at_night, "
            "exposure)",
            json_schema_extra={
                "examples": [
                    {
                        "time_s": 36919.4,
                        "length_km": 615.3,
                        "exposure": 222.1,
                        "lambda": 60.0,
                        "depart": "2026-12-03T12:00:00+05:00",
                        "arrive": "2026-12-03T22:15:19+05:00",
                        "night_s": 15319.4,
                        "night_exposure": 437.6,
                        "night": {
                            "start": "18:00",
                            "end": "06:00",
                            "factor": 1.0,
                            "zone": "Asia/Karachi",
                        },
                        "schedule": [
                            {
                                "road": "Makran Coastal Highway (N-10)",
                                "km_from": 28.0,
                                "km_to": 615.3,
                                "enter": "2026-12-03T12:27:59+05:00",
                                "leave": "2026-12-03T22:15:19+05:00",
                                "night_s": 15319.4,
                                "at_night": True,
                                "exposure": 437.6,
                            }
                        ],
                    }
                ]
            },
        ),
    ]
    assessment: Annotated[
        dict[str, Any],
        Field(
            description="max_level, levels_by_segment (~10 km each), segment_offsets_s (when "
            "each segment is driven, seconds after departure), route_time_s, riskiest (index, "
            "km, level, reason; enter, leave and at_night over the departure window), forecast"
        ),
    ]
    decision: dict[str, Any]


class ParetoPoint(BaseModel):
    risk_weight: Annotated[float, Field(description="lambda: seconds worth one exposure unit")]
    time_s: float
    exposure: float


class RouteOptionsRead(BaseModel):
    points: list[dict[str, Any]]
    options: list[RouteOptionRead]
    pareto: Annotated[
        list[ParetoPoint], Field(description="The time/risk trade-off (empty without forecast)")
    ]


class MovementCreate(_Trip):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "origin": "Islamabad",
                    "destination": "Dasu",
                    "via": ["Besham"],
                    "departure": "2026-12-03T08:00:00+05:00",
                    "arrival": "2026-12-03T16:00:00+05:00",
                    "vehicles": 3,
                    "party": 6,
                    "measures": ["police_escort", "armoured_vehicles", "tracker"],
                    "purpose": "Engineers' rotation to the dam site",
                }
            ]
        },
    )
    party_ids: Annotated[
        list[uuid.UUID],
        Field(max_length=500, description="The people moving (so alerts on the route reach them)"),
    ] = []
    route: Annotated[
        int,
        Field(
            ge=0,
            le=4,
            strict=True,
            description="Which proposed route (rank from POST /movement-routes); 0 is the "
            "recommended one",
        ),
    ] = 0
    purpose: Annotated[str, Field(max_length=2000)] = ""
    tlp: TLP = TLP.AMBER
    submit: Annotated[
        StrictBool, Field(description="Submit for approval at once (false keeps a draft)")
    ] = True


class MeasuresUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"measures": ["police_escort", "armoured_vehicles"]}]},
    )
    measures: Annotated[list[str], Field(max_length=20)]


class Reason(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Route closed by police"}]}
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class IncidentNote(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Shots fired near the convoy; all safe"}]},
    )
    note: Annotated[str, Field(min_length=1, max_length=2000)]


class ReviewCreate(BaseModel):
    """The post-movement review (debrief): what happened against the plan and what to learn."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "summary": "Arrived on time; escort changed at Besham as planned",
                    "deviations": "Held 40 minutes at Pattan for a landslide",
                    "incidents": "",
                    "lessons": "Ask the escort for the landslide status before leaving Chilas",
                    "measures_effective": True,
                }
            ]
        },
    )
    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    deviations: Annotated[
        str, Field(max_length=2000, description="Departures from the plan, route or timings")
    ] = ""
    incidents: Annotated[
        str, Field(max_length=2000, description="Incidents and near misses on the way")
    ] = ""
    lessons: Annotated[str, Field(max_length=2000)] = ""
    measures_effective: Annotated[
        StrictBool | None, Field(description="Did the protective measures work as intended?")
    ] = None


class CheckInCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lat": 34.92, "lon": 72.87, "note": "Besham, on time"}]},
    )
    lat: Annotated[float, Field(ge=-90, le=90, strict=True)]
    lon: Annotated[float, Field(ge=-180, le=180, strict=True)]
    note: Annotated[str, Field(max_length=2000)] = ""


class MovementRead(BaseModel):
    """One movement in a listing: the plan and where it stands."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    tlp: str
    state: str
    version: int
    requester: str
    purpose: str
    origin_label: str
    destination_label: str
    departure_start: datetime
    departure_end: datetime
    planned_arrival: datetime
    arrived_at: datetime | None
    party: int
    vehicles: int
    measures: list[str]
    max_level: int | None = None
    decision_status: str | None = None


class MovementDetail(BaseModel):
    """The whole record of a movement: plan, route (GeoJSON), risk assessment, the policy
    decision with the rules that fired, approvals and the append-only history."""

    id: uuid.UUID
    org_id: uuid.UUID
    tlp: str
    state: str
    version: int
    requested_by: uuid.UUID | None
    requester: str
    purpose: str
    origin: dict[str, Any]
    destination: dict[str, Any]
    waypoints: list[dict[str, Any]]
    departure_start: datetime
    departure_end: datetime
    planned_arrival: datetime
    arrived_at: datetime | None
    party: int
    vehicles: int
    measures: list[str]
    route: dict[str, Any]
    assessment: dict[str, Any]
    decision: dict[str, Any]
    approvals: list[dict[str, Any]]
    events: list[dict[str, Any]]
    review: Annotated[
        dict[str, Any] | None, Field(description="The post-movement review, once written")
    ] = None
    created_at: datetime
    updated_at: datetime


class MovementBoard(BaseModel):
    """How many movements you may see are in each state."""

    counts: dict[str, int]
    overdue: list[MovementRead]


class PolicyWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "document": 'version = 1\nname = "Our policy"\nrevision = 2\n\n[[rule]]\n'
                    'id = "approval-level-3"\nwhen = { min_level = 3 }\napprovals = 1\n'
                }
            ]
        },
    )
    document: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100_000,
            description="The policy as TOML (format: docs/network.md, 'Movement policy')",
        ),
    ]


class PolicyRevisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    revision: int
    name: str
    fingerprint: str
    created_by: str
    created_at: datetime | None
    document: str
    rules: list[dict[str, Any]] = []
