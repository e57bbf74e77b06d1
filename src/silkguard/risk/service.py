"""The risk engine on the incident store: fit, forecast, store, read levels, explain.

Scope decides which incidents feed a run (see :mod:`silkguard.risk.models`): the community
scope (``org_id=None``) uses confirmed CLEAR/GREEN incidents; an organisation's scope uses what
that organisation may see. Only incidents located to a place or district and dated to the day
are used: a province centroid or a month would smear the forecast (the docs say why).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

import silkguard
from silkguard.auth.groups import groups_of_org
from silkguard.core.access import Principal, visible_clause
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.core.tlp import TLP, most_restrictive
from silkguard.incidents.models import Incident
from silkguard.incidents.query import visible as incident_visible
from silkguard.people import service as people_service
from silkguard.people.models import Site
from silkguard.risk.base import Model
from silkguard.risk.events import Events, days_to_datetime, to_days
from silkguard.risk.grid import DEFAULT_RESOLUTION, Grid
from silkguard.risk.levels import LevelPolicy, LevelReading
from silkguard.risk.models import (
    BacktestRun,
    ForecastCell,
    ForecastRun,
    LevelChange,
    RiskPolicyRecord,
    ThreatLevelRecord,
)
from silkguard.risk.registry import make_forecaster
from silkguard.risk.sources import usable
from silkguard.risk.surface import Assessor, RouteSegmentReading, Surface

__all__ = [
    "MIN_EVENTS",
    "ForecastOutcome",
    "LoadedEvents",
    "assessor_for",
    "fit_model",
    "get_backtest",
    "get_policy",
    "get_run",
    "latest_run",
    "level_at_point",
    "level_changes",
    "level_for_district",
    "level_for_route",
    "level_for_site",
    "list_backtests",
    "list_runs",
    "load_events",
    "on_level_change",
    "refresh_due",
    "run_forecast",
    "run_visible",
    "set_policy",
    "site_levels",
    "store_backtest",
    "stored_levels",
    "surface_geojson",
]

MIN_EVENTS = 10
#: Stored results read with the visibility filter (forecasts and backtests).
_Stored = TypeVar("_Stored", ForecastRun, BacktestRun)
_OPEN = (TLP.CLEAR.value, TLP.GREEN.value)
_SURFACE_CACHE_SIZE = 4

LevelListener = Callable[[Session, LevelChange], None]
_LISTENERS: list[LevelListener] = []


def on_level_change(listener: LevelListener) -> LevelListener:
    """Register ``listener(session, change)``, called for every level change a run records
    (inside the run's transaction). Usable as a decorator; higher packages subscribe here."""
    _LISTENERS.append(listener)
    return listener


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedEvents:
    events: Events
    #: The most restrictive marking among the incidents used.
    tlp: TLP
    skipped_imprecise: int


def _scope_principal(session: Session, org_id: uuid.UUID) -> Principal:
    groups = frozenset(groups_of_org(session, org_id=org_id))
    return Principal(org_id=org_id, role="analyst", group_ids=groups)


def load_events(
    session: Session,
    *,
    org_id: uuid.UUID | None = None,
    until: datetime | None = None,
    since: datetime | None = None,
) -> LoadedEvents:
    """Incidents of a scope as model events (time-sorted), with their combined marking."""
    if org_id is None:
        scope = and_(Incident.tlp.in_(_OPEN), Incident.status == "confirmed")
    else:
        scope = and_(incident_visible(_scope_principal(session, org_id)))
    stmt = select(
        Incident.occurred_at,
        Incident.latitude,
        Incident.longitude,
        Incident.attack_type,
        Incident.tlp,
        Incident.geo_precision,
        Incident.date_precision,
    ).where(scope, Incident.latitude.is_not(None), Incident.longitude.is_not(None))
    if until is not None:
        stmt = stmt.where(Incident.occurred_at < until)
    if since is not None:
        stmt = stmt.where(Incident.occurred_at >= since)
    times: list[float] = []
    lats: list[float] = []
    lons: list[float] = []
    marks: list[str] = []
    markings = {TLP.CLEAR}
    skipped = 0
    for when, lat, lon, attack, tlp, geo_p, date_p in session.execute(stmt):
        if lat is None or lon is None:  # excluded by the query; narrows the type
            continue
        if not usable(geo_p, date_p):
            skipped += 1
            continue
        times.append(to_days(when))
        lats.append(lat)
        lons.append(lon)
        marks.append(attack)
        markings.add(TLP(tlp))
    events = Events.from_arrays(times, lats, lons, marks=marks)
    return LoadedEvents(events, most_restrictive(*markings), skipped)


# -- policies ---------------------------------------------------------------------------------


def get_policy(session: Session, *, org_id: uuid.UUID | None) -> tuple[LevelPolicy, int]:
    """An organisation's threshold policy and its version (the default, version 0, if none)."""
    if org_id is None:
        return LevelPolicy(), 0
    record = session.get(RiskPolicyRecord, org_id)
    if record is None:
        return LevelPolicy(), 0
    return LevelPolicy.from_dict(record.policy), record.version


def set_policy(
    session: Session, *, org_id: uuid.UUID, policy: dict[str, Any], actor: str | None
) -> tuple[LevelPolicy, int]:
    """Validate and store an organisation's thresholds (a new version each time)."""
    parsed = LevelPolicy.from_dict(policy)
    record = session.get(RiskPolicyRecord, org_id)
    if record is None:
        record = RiskPolicyRecord(org_id=org_id, policy=parsed.to_dict(), version=1)
        session.add(record)
    else:
        record.policy = parsed.to_dict()
        record.version += 1
    record.updated_by = actor
    session.flush()
    return parsed, record.version


# -- fitting and forecasting -----------------------------------------------------------------


def fit_model(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    model: str,
    params: dict[str, Any] | None,
    until: datetime,
) -> tuple[Model, LoadedEvents]:
    """Fit a model on the scope's incidents before ``until``."""
    loaded = load_events(session, org_id=org_id, until=until)
    if len(loaded.events) < MIN_EVENTS:
        msg = (
            f"only {len(loaded.events)} usable incidents before {until:%Y-%m-%d} "
            f"(located to a place or district and dated to the day); a forecast needs at least "
            f"{MIN_EVENTS}: import incidents first (`silkguard import ...`)"
        )
        raise InvalidInput(msg)
    forecaster = make_forecaster(model, **(params or {}))
    return forecaster.fit(loaded.events, to_days(until)), loaded


def _digest(events: Events) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(events.t).tobytes())
    h.update(np.ascontiguousarray(events.lat).tobytes())
    h.update(np.ascontiguousarray(events.lon).tobytes())
    return h.hexdigest()


def _model_version(name: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:8]
    return f"{silkguard.__version__}/{name}/{digest}"


@dataclass(frozen=True)
class ForecastOutcome:
    run: ForecastRun
    levels: list[ThreatLevelRecord]
    changes: list[LevelChange]


def run_forecast(
    session: Session,
    *,
    org_id: uuid.UUID | None = None,
    model: str = "sepp",
    params: dict[str, Any] | None = None,
    as_of: datetime,
    horizon_days: int | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    actor: str | None = None,
) -> ForecastOutcome:
    """Fit on everything before ``as_of``, forecast the next ``horizon_days`` (the policy's
    horizon by default), store the surface and the levels of every district and site in scope,
    and record level changes against the scope's previous run."""
    policy, policy_version = get_policy(session, org_id=org_id)
    horizon = horizon_days or policy.horizon_days
    if not 1 <= horizon <= 366:
        msg = f"forecast horizon {horizon} days must be between 1 and 366"
        raise InvalidInput(msg)
    fitted, loaded = fit_model(session, org_id=org_id, model=model, params=params, until=as_of)
    grid = Grid.pakistan(resolution)
    t0 = to_days(as_of)
    surface = Surface.from_model(fitted, grid, t0, t0 + horizon)
    recent = loaded.events.between(t0 - policy.recent_days, t0)
    assessor = Assessor(surface, recent, policy)
    # the community's run is built from CLEAR/GREEN incidents only and is shared as GREEN; an
    # organisation's run stays within the organisation whatever it was fitted on
    run_tlp = TLP.GREEN if org_id is None else TLP.AMBER_STRICT
    forecaster = make_forecaster(model, **(params or {}))
    hyper: dict[str, Any] = (
        {f.name: getattr(forecaster, f.name) for f in dataclasses.fields(forecaster)}
        if dataclasses.is_dataclass(forecaster)
        else {}
    )
    run = ForecastRun(
        org_id=org_id,
        tlp=run_tlp.value,
        model=fitted.name,
        model_version=_model_version(fitted.name, {k: repr(v) for k, v in hyper.items()}),
        params=fitted.describe(),
        resolution=resolution,
        n_events=len(loaded.events),
        events_digest=_digest(loaded.events),
        trained_from=days_to_datetime(loaded.events.t[0]) if len(loaded.events) else None,
        trained_until=as_of,
        horizon_start=as_of,
        horizon_end=as_of + timedelta(days=horizon),
        mean_density=surface.mean_density,
        policy={**policy.to_dict(), "version": policy_version},
        created_by=actor,
    )
    previous = _previous_levels(session, org_id=org_id)
    session.add(run)
    session.flush()
    cell_levels = assessor.cell_levels()
    session.execute(
        insert(ForecastCell),
        [
            {"forecast_id": run.id, "cell": int(c), "expected": float(e), "level": int(lv)}
            for c, e, lv in zip(grid.cells, surface.expected, cell_levels, strict=True)
        ],
    )
    _SURFACES.put(run.id, surface)
    levels = _district_levels(run, assessor) + _site_records(session, run, assessor)
    session.add_all(levels)
    session.flush()
    changes = _record_changes(session, run, levels, previous)
    return ForecastOutcome(run, levels, changes)


def refresh_due(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    model: str,
    max_age: timedelta,
    now: datetime,
) -> bool:
    """Whether the scope's newest ``model`` run is older than ``max_age`` (or missing): the
    test the scheduled refresh makes, so that a cron entry and a looping job agree and several
    schedulers do not stack up runs."""
    scope = ForecastRun.org_id.is_(None) if org_id is None else ForecastRun.org_id == org_id
    newest = session.execute(
        select(ForecastRun.created_at)
        .where(scope, ForecastRun.model == model)
        .order_by(ForecastRun.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return newest is None or now - newest >= max_age


def _district_levels(run: ForecastRun, assessor: Assessor) -> list[ThreatLevelRecord]:
    areas = assessor.surface.areas
    pairs = sorted({(p, d) for p, d in zip(areas.province, areas.district, strict=True) if d})
    out = []
    for province, district in pairs:
        reading = assessor.for_district(str(province), str(district))
        out.append(
            _record(run, "district", f"{province}/{district}", str(district), reading, run.tlp)
        )
    return out


def _site_records(
    session: Session, run: ForecastRun, assessor: Assessor
) -> list[ThreatLevelRecord]:
    sites = people_service.get_sites(session)
    out = []
    for site in sites:
        if run.org_id is not None and site.org_id != run.org_id:
            continue
        reading = assessor.at_point(site.latitude, site.longitude)
        tlp = most_restrictive(TLP(site.tlp), TLP(run.tlp)).value
        record = _record(run, "site", str(site.id), site.name, reading, tlp)
        record.org_id = site.org_id
        out.append(record)
    return out


def _record(
    run: ForecastRun, kind: str, key: str, name: str, reading: LevelReading, tlp: str
) -> ThreatLevelRecord:
    return ThreatLevelRecord(
        forecast_id=run.id,
        org_id=run.org_id,
        tlp=tlp,
        subject_kind=kind,
        subject_key=key,
        subject_name=name,
        level=reading.level,
        reason=reading.reason,
        details=reading.details(),
    )


def _previous_levels(session: Session, *, org_id: uuid.UUID | None) -> dict[tuple[str, str], int]:
    scope = ForecastRun.org_id.is_(None) if org_id is None else ForecastRun.org_id == org_id
    last = session.execute(
        select(ForecastRun.id).where(scope).order_by(ForecastRun.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if last is None:
        return {}
    rows = session.execute(
        select(
            ThreatLevelRecord.subject_kind, ThreatLevelRecord.subject_key, ThreatLevelRecord.level
        ).where(ThreatLevelRecord.forecast_id == last)
    )
    return {(kind, key): level for kind, key, level in rows}


#: A subject seen for the first time is announced only from this level up.
FIRST_SEEN_ANNOUNCE_LEVEL = 4


def _record_changes(
    session: Session,
    run: ForecastRun,
    levels: Sequence[ThreatLevelRecord],
    previous: dict[tuple[str, str], int],
) -> list[LevelChange]:
    changes = []
    for record in levels:
        old = previous.get((record.subject_kind, record.subject_key))
        if old == record.level:
            continue
        if old is None and (not previous or record.level < FIRST_SEEN_ANNOUNCE_LEVEL):
            continue
        changes.append(
            LevelChange(
                forecast_id=run.id,
                org_id=record.org_id,
                tlp=record.tlp,
                subject_kind=record.subject_kind,
                subject_key=record.subject_key,
                subject_name=record.subject_name,
                old_level=old,
                new_level=record.level,
                reason=record.reason,
            )
        )
    session.add_all(changes)
    session.flush()
    for change in changes:
        for listener in _LISTENERS:
            listener(session, change)
    return changes


# -- reading ----------------------------------------------------------------------------------


def run_visible(principal: Principal) -> Any:
    return visible_clause(principal, org_col=ForecastRun.org_id, tlp_col=ForecastRun.tlp)


def latest_run(
    session: Session, *, principal: Principal | None, model: str | None = None
) -> ForecastRun:
    """The newest run the caller may see (trusted callers pass ``None``)."""
    stmt = select(ForecastRun).order_by(ForecastRun.created_at.desc()).limit(1)
    if principal is not None:
        stmt = stmt.where(run_visible(principal))
    if model is not None:
        stmt = stmt.where(ForecastRun.model == model)
    run = session.execute(stmt).scalar_one_or_none()
    if run is None:
        msg = "no risk forecast yet; run `silkguard risk forecast` (or POST /api/v1/risk/forecasts)"
        raise NotFound(msg)
    return run


def _newest(
    session: Session, cls: type[_Stored], principal: Principal | None, limit: int
) -> Sequence[_Stored]:
    """The newest ``cls`` rows the caller may see (trusted callers pass ``None``)."""
    stmt = select(cls).order_by(cls.created_at.desc()).limit(limit)
    if principal is not None:
        stmt = stmt.where(visible_clause(principal, org_col=cls.org_id, tlp_col=cls.tlp))
    return session.execute(stmt).scalars().all()


def _one(
    session: Session, cls: type[_Stored], principal: Principal | None, key: uuid.UUID, what: str
) -> _Stored:
    """One ``cls`` row the caller may see, or a 404 that does not tell whether it exists."""
    stmt = select(cls).where(cls.id == key)
    if principal is not None:
        stmt = stmt.where(visible_clause(principal, org_col=cls.org_id, tlp_col=cls.tlp))
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        msg = f"{what} {key} does not exist or is not shared with your organisation"
        raise NotFound(msg)
    return found


def list_runs(
    session: Session, *, principal: Principal | None, limit: int = 20
) -> Sequence[ForecastRun]:
    return _newest(session, ForecastRun, principal, limit)


def get_run(session: Session, *, principal: Principal | None, run_id: uuid.UUID) -> ForecastRun:
    return _one(session, ForecastRun, principal, run_id, "risk forecast")


class _SurfaceCache:
    """The last few surfaces, so point and route queries do not reload 22,838 cells each."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[uuid.UUID, Surface] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: uuid.UUID) -> Surface | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: uuid.UUID, surface: Surface) -> None:
        with self._lock:
            self._items[key] = surface
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_SURFACES = _SurfaceCache(_SURFACE_CACHE_SIZE)


def load_surface(session: Session, run: ForecastRun) -> Surface:
    cached = _SURFACES.get(run.id)
    if cached is not None:
        return cached
    rows = session.execute(
        select(ForecastCell.cell, ForecastCell.expected)
        .where(ForecastCell.forecast_id == run.id)
        .order_by(ForecastCell.cell)
    ).all()
    cells = np.array([r[0] for r in rows], dtype=np.int64)
    expected = np.array([r[1] for r in rows], dtype=np.float64)
    default = Grid.pakistan(run.resolution)
    grid = default if np.array_equal(default.cells, cells) else Grid.from_cells(cells)
    surface = Surface(grid, expected, to_days(run.horizon_start), to_days(run.horizon_end))
    _SURFACES.put(run.id, surface)
    return surface


def assessor_for(session: Session, run: ForecastRun) -> Assessor:
    """The run's surface with the run's policy and the recent events of the run's scope."""
    policy = LevelPolicy.from_dict({k: v for k, v in run.policy.items() if k != "version"})
    start = run.horizon_start - timedelta(days=policy.recent_days)
    recent = load_events(session, org_id=run.org_id, since=start, until=run.horizon_start)
    return Assessor(load_surface(session, run), recent.events, policy)


def level_at_point(session: Session, *, run: ForecastRun, lat: float, lon: float) -> LevelReading:
    return assessor_for(session, run).at_point(lat, lon)


def level_for_site(session: Session, *, run: ForecastRun, site: Site) -> LevelReading:
    return assessor_for(session, run).at_point(site.latitude, site.longitude)


def level_for_district(
    session: Session, *, run: ForecastRun, province: str, district: str
) -> LevelReading:
    return assessor_for(session, run).for_district(province, district)


def level_for_route(
    session: Session, *, run: ForecastRun, coords: list[tuple[float, float]]
) -> list[RouteSegmentReading]:
    return assessor_for(session, run).for_route(coords)


def site_levels(
    session: Session, *, run: ForecastRun, principal: Principal | None
) -> list[tuple[Site, LevelReading]]:
    """Every site the caller may see with its level under ``run``."""
    assessor = assessor_for(session, run)
    return [
        (site, assessor.at_point(site.latitude, site.longitude))
        for site in people_service.get_sites(session, principal=principal)
    ]


def level_changes(
    session: Session,
    *,
    principal: Principal | None,
    after_id: int = 0,
    limit: int = 100,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[LevelChange]:
    """Level changes after ``after_id`` in order (an outbox others can follow), optionally only
    those recorded in ``[since, until)``."""
    stmt = (
        select(LevelChange).where(LevelChange.id > after_id).order_by(LevelChange.id).limit(limit)
    )
    if since is not None:
        stmt = stmt.where(LevelChange.created_at >= since)
    if until is not None:
        stmt = stmt.where(LevelChange.created_at < until)
    if principal is not None:
        stmt = stmt.where(
            visible_clause(principal, org_col=LevelChange.org_id, tlp_col=LevelChange.tlp)
        )
    return session.execute(stmt).scalars().all()


def stored_levels(
    session: Session, *, run: ForecastRun, principal: Principal | None
) -> Sequence[ThreatLevelRecord]:
    """The district and site levels stored with ``run`` that the caller may see."""
    stmt = select(ThreatLevelRecord).where(ThreatLevelRecord.forecast_id == run.id)
    if principal is not None:
        stmt = stmt.where(
            visible_clause(
                principal, org_col=ThreatLevelRecord.org_id, tlp_col=ThreatLevelRecord.tlp
            )
        )
    return session.execute(stmt.order_by(ThreatLevelRecord.subject_key)).scalars().all()


MAX_SURFACE_FEATURES = 25_000


def surface_geojson(
    session: Session,
    *,
    run: ForecastRun,
    min_level: int = 1,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The run's cells at ``min_level`` or above (inside ``bbox``: min_lon, min_lat, max_lon,
    max_lat) as a GeoJSON FeatureCollection of hexagons."""
    import h3

    from silkguard.risk.levels import LEVEL_NAMES

    surface = load_surface(session, run)
    rows = session.execute(
        select(ForecastCell.cell, ForecastCell.expected, ForecastCell.level)
        .where(ForecastCell.forecast_id == run.id, ForecastCell.level >= min_level)
        .order_by(ForecastCell.cell)
    ).all()
    days = (run.horizon_end - run.horizon_start).total_seconds() / 86_400.0
    area = dict(zip(surface.grid.cells.tolist(), surface.grid.area_km2.tolist(), strict=True))
    features = []
    for cell, expected, level in rows:
        cell_hex = h3.int_to_str(cell)
        lat, lon = h3.cell_to_latlng(cell_hex)
        if bbox is not None and not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
            continue
        ring = [[round(b, 5), round(a, 5)] for a, b in h3.cell_to_boundary(cell_hex)]
        ring.append(ring[0])
        density = expected / area[cell] if cell in area else 0.0
        features.append(
            {
                "type": "Feature",
                "id": cell_hex,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "cell": cell_hex,
                    "expected": expected,
                    "rate_per_day": expected / days if days > 0 else 0.0,
                    "ratio_corridor": density / run.mean_density if run.mean_density > 0 else 0.0,
                    "level": level,
                    "level_name": LEVEL_NAMES[level],
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "forecast_id": str(run.id),
        "model_version": run.model_version,
        "horizon_start": run.horizon_start.isoformat(),
        "horizon_end": run.horizon_end.isoformat(),
        "features": features,
    }


# -- backtests -------------------------------------------------------------------------------


def store_backtest(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    config: dict[str, Any],
    result: dict[str, Any],
    n_events: int,
    actor: str | None,
) -> BacktestRun:
    """Keep a backtest's settings and scores (the community's as GREEN, an organisation's
    within it), so the API can show them beside the forecasts."""
    run = BacktestRun(
        org_id=org_id,
        tlp=TLP.GREEN.value if org_id is None else TLP.AMBER_STRICT.value,
        config=config,
        result=result,
        n_events=n_events,
        created_by=actor,
    )
    session.add(run)
    session.flush()
    return run


def list_backtests(
    session: Session, *, principal: Principal | None, limit: int = 20
) -> Sequence[BacktestRun]:
    return _newest(session, BacktestRun, principal, limit)


def get_backtest(
    session: Session, *, principal: Principal | None, backtest_id: uuid.UUID
) -> BacktestRun:
    return _one(session, BacktestRun, principal, backtest_id, "backtest")
