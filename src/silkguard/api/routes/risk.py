"""``/api/v1/risk``: forecasts, the risk surface, threat levels for a point, site, district or
route, level changes, and each organisation's thresholds. Reads go through the one visibility
rule: community forecasts are GREEN, an organisation's own stay within it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.incidents.query import parse_bbox
from silkguard.people import service as people_service
from silkguard.risk import service as risk_service
from silkguard.risk.levels import LevelReading
from silkguard.risk.models import ForecastRun
from silkguard.risk.schemas import (
    BacktestRead,
    BacktestSummary,
    ForecastCreate,
    ForecastRead,
    LevelChangeRead,
    LevelRead,
    PolicyRead,
    PolicyWrite,
    RouteRequest,
    RouteSegmentRead,
    SiteLevelRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require(Permission.RISK_READ))]
Manager = Annotated[Principal, Depends(require(Permission.RISK_MANAGE))]
SiteReader = Annotated[Principal, Depends(require(Permission.SITE_READ))]
ForecastParam = Annotated[
    uuid.UUID | None, Query(alias="forecast", description="Forecast id (default: the latest)")
]
GEOJSON = "application/geo+json"


def _run(session: Any, principal: Principal, forecast: uuid.UUID | None) -> ForecastRun:
    if forecast is None:
        return risk_service.latest_run(session, principal=principal)
    return risk_service.get_run(session, principal=principal, run_id=forecast)


def _level(reading: LevelReading, run: ForecastRun) -> LevelRead:
    return LevelRead(forecast_id=run.id, reason=reading.reason, **reading.details())


@router.post(
    "/forecasts",
    status_code=201,
    summary="Fit a model and store a forecast with threat levels",
    responses=problem_responses(400, 403, 422),
)
def create_forecast(
    body: ForecastCreate, session: SessionDep, principal: Manager, request: Request
) -> ForecastRead:
    """Fits on every usable incident of the scope before `as_of`, forecasts the horizon, stores
    every cell, district and site level, and records level changes. Takes a few seconds."""
    outcome = risk_service.run_forecast(
        session,
        org_id=principal.org_id if body.scope == "organisation" else None,
        model=body.model,
        params=body.params,
        as_of=body.as_of or utcnow(),
        horizon_days=body.horizon_days,
        resolution=body.resolution,
        actor=principal.actor,
    )
    audit(session, request, principal, "risk.forecast", outcome.run.id, {"model": body.model})
    read = ForecastRead.model_validate(outcome.run)
    session.commit()
    return read


@router.get("/forecasts", summary="Forecasts you may see, newest first")
def list_forecasts(
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ForecastRead]:
    runs = risk_service.list_runs(session, principal=principal, limit=limit)
    return [ForecastRead.model_validate(r) for r in runs]


@router.get(
    "/forecasts/{forecast_id}",
    summary="One forecast: model, version, training window, parameters",
    responses=problem_responses(404),
)
def get_forecast(forecast_id: uuid.UUID, session: SessionDep, principal: Reader) -> ForecastRead:
    return ForecastRead.model_validate(
        risk_service.get_run(session, principal=principal, run_id=forecast_id)
    )


@router.get(
    "/surface",
    summary="The risk surface as GeoJSON hexagons with expected attacks, rate and level",
    response_class=JSONResponse,
    responses={
        200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection"},
        **problem_responses(404, 422),
    },
)
def get_surface(
    session: SessionDep,
    principal: Reader,
    forecast: ForecastParam = None,
    min_level: Annotated[int, Query(ge=1, le=6)] = 3,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat", examples=["60,23,78,37"])
    ] = None,
) -> JSONResponse:
    run = _run(session, principal, forecast)
    box = parse_bbox(bbox) if bbox else None
    body = risk_service.surface_geojson(session, run=run, min_level=min_level, bbox=box)
    return JSONResponse(body, media_type=GEOJSON)


@router.get(
    "/level",
    summary="Threat level at a place (its cell and the ring around it)",
    responses=problem_responses(404, 422),
)
def level_at_point(
    session: SessionDep,
    principal: Reader,
    lat: Annotated[float, Query(ge=-90, le=90, examples=[25.12])],
    lon: Annotated[float, Query(ge=-180, le=180, examples=[62.33])],
    forecast: ForecastParam = None,
) -> LevelRead:
    run = _run(session, principal, forecast)
    return _level(risk_service.level_at_point(session, run=run, lat=lat, lon=lon), run)


@router.get(
    "/districts/{district}",
    summary="Threat level of a district",
    responses=problem_responses(404, 422),
)
def level_for_district(
    district: str, session: SessionDep, principal: Reader, forecast: ForecastParam = None
) -> LevelRead:
    found = load_gazetteer().normalize_district(district)
    if found is None:
        msg = f"district {district!r} is not in the gazetteer; check the spelling"
        raise InvalidInput(msg)
    name, province = found
    run = _run(session, principal, forecast)
    reading = risk_service.level_for_district(session, run=run, province=province, district=name)
    return _level(reading, run)


@router.get(
    "/sites",
    summary="Threat levels of the sites you may see",
    responses=problem_responses(404),
)
def site_levels(
    session: SessionDep, principal: SiteReader, forecast: ForecastParam = None
) -> list[SiteLevelRead]:
    run = _run(session, principal, forecast)
    return [
        SiteLevelRead(
            site_id=site.id,
            site_name=site.name,
            forecast_id=run.id,
            reason=reading.reason,
            **reading.details(),
        )
        for site, reading in risk_service.site_levels(session, run=run, principal=principal)
    ]


@router.get(
    "/sites/{site_id}",
    summary="Threat level of one site",
    responses=problem_responses(404),
)
def site_level(
    site_id: uuid.UUID, session: SessionDep, principal: SiteReader, forecast: ForecastParam = None
) -> SiteLevelRead:
    site = people_service.get_site(session, principal=principal, site_id=site_id)
    run = _run(session, principal, forecast)
    reading = risk_service.level_for_site(session, run=run, site=site)
    return SiteLevelRead(
        site_id=site.id,
        site_name=site.name,
        forecast_id=run.id,
        reason=reading.reason,
        **reading.details(),
    )


@router.post(
    "/route",
    summary="Threat levels along a route (a GeoJSON LineString), segment by segment",
    responses=problem_responses(400, 404, 422),
)
def route_levels(
    body: RouteRequest, session: SessionDep, principal: Reader, forecast: ForecastParam = None
) -> list[RouteSegmentRead]:
    for lon, lat in body.coordinates:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            msg = f"route point [{lon}, {lat}] is not [longitude, latitude] in range"
            raise InvalidInput(msg)
    run = _run(session, principal, forecast)
    segments = risk_service.level_for_route(session, run=run, coords=list(body.coordinates))
    return [
        RouteSegmentRead(
            index=s.index,
            start=s.start,
            end=s.end,
            length_km=s.length_km,
            level=_level(s.reading, run),
        )
        for s in segments
    ]


@router.get("/level-changes", summary="Level changes in order (follow with `after`)")
def level_changes(
    session: SessionDep,
    principal: Reader,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LevelChangeRead]:
    rows = risk_service.level_changes(session, principal=principal, after_id=after, limit=limit)
    return [LevelChangeRead.model_validate(r) for r in rows]


@router.get("/policy", summary="Your organisation's threat-level thresholds")
def get_policy(session: SessionDep, principal: Reader) -> PolicyRead:
    policy, version = risk_service.get_policy(session, org_id=principal.org_id)
    return PolicyRead(version=version, **policy.to_dict())


@router.put(
    "/policy",
    summary="Set your organisation's threat-level thresholds",
    responses=problem_responses(400, 403, 422),
)
def put_policy(
    body: PolicyWrite, session: SessionDep, principal: Manager, request: Request
) -> PolicyRead:
    policy, version = risk_service.set_policy(
        session, org_id=principal.org_id, policy=body.model_dump(), actor=principal.actor
    )
    audit(session, request, principal, "risk.policy", principal.org_id, {"version": version})
    session.commit()
    return PolicyRead(version=version, **policy.to_dict())


@router.get(
    "/backtests",
    summary="Stored backtests, newest first (run them with `silkguard risk backtest`)",
)
def list_backtests(
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[BacktestSummary]:
    rows = risk_service.list_backtests(session, principal=principal, limit=limit)
    return [BacktestSummary.model_validate(r) for r in rows]


@router.get(
    "/backtests/{backtest_id}",
    summary="One backtest with every model's scores",
    responses=problem_responses(404),
)
def get_backtest(backtest_id: uuid.UUID, session: SessionDep, principal: Reader) -> BacktestRead:
    found = risk_service.get_backtest(session, principal=principal, backtest_id=backtest_id)
    return BacktestRead.model_validate(found)
