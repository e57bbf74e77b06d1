"""Movements: request (route + risk assessment + policy decision), approve, track, close.

A request is planned on the road graph with the newest risk forecast the organisation may see,
the threat level of every ~10 km of the chosen route is read from that forecast, and the
organisation's movement policy decides what the movement needs. Every step is an event in the
movement's append-only history and an entry in the audit trail. Which transitions are possible
is decided by :mod:`silkguard.journeys.states` alone.

Who may do what: approving and rejecting need the ``approver`` or ``admin`` role, and nobody
approves their own movement; only the owning organisation changes a movement. The other
permissions (``movement.request``, ``movement.read``) are checked at the edges (API, CLI).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from silkguard.auth import audit
from silkguard.auth.roles import Role
from silkguard.core.access import Principal, visible_clause
from silkguard.core.clock import utcnow
from silkguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from silkguard.core.tlp import TLP, parse_tlp
from silkguard.geo.distance import haversine_km_array
from silkguard.incidents.query import parse_polygon
from silkguard.journeys.models import (
    Movement,
    MovementApproval,
    MovementEvent,
    MovementMember,
    MovementPolicy,
)
from silkguard.journeys.night import NightWindow, night_seconds_array
from silkguard.journeys.patterns import MIN_MOVEMENTS, PairPattern, Trip, patterns
from silkguard.journeys.policy import (
    MEASURES,
    Assessment,
    Decision,
    Policy,
    default_policy,
    evaluate,
    load_policy,
)
from silkguard.journeys.routes import (
    DEFAULT_LAMBDA,
    RouteSummary,
    closed_edges,
    edge_exposure,
    plan_route,
    resolve_place,
    schedule_rows,
)
from silkguard.journeys.states import Action, MovementState, transition
from silkguard.network.corridor import corridor_graph
from silkguard.network.graph import RoadGraph
from silkguard.people.models import Person, Position
from silkguard.risk import service as risk_service
from silkguard.risk.models import ForecastRun

__all__ = [
    "AUTO_CHECK_IN_RADIUS_KM",
    "OVERDUE_GRACE",
    "RouteOption",
    "RouteOptions",
    "approve",
    "arrive",
    "auto_check_ins",
    "board",
    "cancel",
    "check_in",
    "detect_overdue",
    "get_movement",
    "list_movements",
    "movement_patterns",
    "movement_record",
    "movement_visible",
    "on_overdue",
    "org_policy",
    "policy_revisions",
    "record_note",
    "reject",
    "report_incident",
    "request_movement",
    "review",
    "route_options",
    "set_policy",
    "start",
    "submit",
    "update_measures",
]

#: How late a movement may be before it is declared overdue.
OVERDUE_GRACE = timedelta(minutes=30)
#: How many of the riskiest route segments an assessment keeps.
RISKIEST_SEGMENTS = 5
MAX_PARTY = 500
MAX_VEHICLES = 100
MAX_VIA = 10
MAX_ALTERNATIVES = 5
MAX_AVOID = 10
MAX_TEXT = 2000
_APPROVER_ROLES = frozenset({Role.APPROVER.value, Role.ADMIN.value})

OverdueListener = Callable[[Session, Movement], None]
_OVERDUE_LISTENERS: list[OverdueListener] = []


def on_overdue(listener: OverdueListener) -> OverdueListener:
    """Register ``listener(session, movement)``, called once for every movement
    :func:`detect_overdue` declares overdue (inside its transaction). Usable as a decorator."""
    _OVERDUE_LISTENERS.append(listener)
    return listener


# -- reading ----------------------------------------------------------------------------------


def movement_visible(principal: Principal) -> ColumnElement[bool]:
    """Which movements ``principal`` may see (organisation + TLP; no sharing groups)."""
    return visible_clause(principal, org_col=Movement.org_id, tlp_col=Movement.tlp)


def get_movement(
    session: Session, *, principal: Principal | None, movement_id: uuid.UUID
) -> Movement:
    """A movement the caller may see (trusted callers pass ``None``)."""
    stmt = select(Movement).where(Movement.id == movement_id)
    if principal is not None:
        stmt = stmt.where(movement_visible(principal))
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        msg = f"movement {movement_id} does not exist or is not shared with your organisation"
        raise NotFound(msg)
    return found


def list_movements(
    session: Session,
    *,
    principal: Principal | None,
    state: str | None = None,
    limit: int = 200,
    departs_from: datetime | None = None,
    departs_before: datetime | None = None,
) -> Sequence[Movement]:
    """Movements the caller may see, by departure (earliest first), optionally in one state
    or with the start of their departure window in ``[departs_from, departs_before)``."""
    stmt = select(Movement).order_by(Movement.departure_start, Movement.id).limit(limit)
    if principal is not None:
        stmt = stmt.where(movement_visible(principal))
    if departs_from is not None:
        stmt = stmt.where(Movement.departure_start >= departs_from)
    if departs_before is not None:
        stmt = stmt.where(Movement.departure_start < departs_before)
    if state is not None:
        stmt = stmt.where(Movement.state == _parse_state(state).value)
    return session.execute(stmt).scalars().all()


def board(session: Session, *, principal: Principal | None) -> dict[str, int]:
    """How many movements the caller may see are in each state (every state listed)."""
    stmt = select(Movement.state, func.count()).group_by(Movement.state)
    if principal is not None:
        stmt = stmt.where(movement_visible(principal))
    counts = {s.value: 0 for s in MovementState}
    for state, n in session.execute(stmt).all():
        counts[state] = int(n)
    return counts


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def movement_record(session: Session, *, movement_id: uuid.UUID) -> dict[str, Any]:
    """The whole record of a movement as one JSON-able document: the plan, route, assessment,
    decision, approvals and the history in order. Trusted callers only (check visibility with
    :func:`get_movement` first)."""
    m = get_movement(session, principal=None, movement_id=movement_id)
    approvals = session.execute(
        select(MovementApproval)
        .where(MovementApproval.movement_id == m.id)
        .order_by(MovementApproval.id)
    ).scalars()
    events = session.execute(
        select(MovementEvent).where(MovementEvent.movement_id == m.id).order_by(MovementEvent.id)
    ).scalars()
    return {
        "id": str(m.id),
        "org_id": str(m.org_id),
        "tlp": m.tlp,
        "state": m.state,
        "version": m.version,
        "requested_by": None if m.requested_by is None else str(m.requested_by),
        "requester": m.requester,
        "purpose": m.purpose,
        "origin": {"label": m.origin_label, "lat": m.origin_lat, "lon": m.origin_lon},
        "destination": {
            "label": m.destination_label,
            "lat": m.destination_lat,
            "lon": m.destination_lon,
        },
        "waypoints": list(m.waypoints),
        "departure_start": _iso(m.departure_start),
        "departure_end": _iso(m.departure_end),
        "planned_arrival": _iso(m.planned_arrival),
        "arrived_at": _iso(m.arrived_at),
        "party": m.party,
        "vehicles": m.vehicles,
        "measures": list(m.measures),
        "route": m.route,
        "assessment": m.assessment,
        "decision": m.decision,
        "approvals": [{"approver_id": str(a.approver_id), "at": _iso(a.at)} for a in approvals],
        "events": [
            {
                "id": e.id,
                "at": _iso(e.at),
                "actor": e.actor,
                "kind": e.kind,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "detail": e.detail,
            }
            for e in events
        ],
        "review": _review_of(session, m.id),
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
    }


# -- the post-movement review -----------------------------------------------------------------

#: A movement is reviewed once it is over.
_REVIEWABLE = (
    MovementState.ARRIVED.value,
    MovementState.INCIDENT.value,
    MovementState.CANCELLED.value,
)
_REVIEW_FIELDS = ("summary", "deviations", "incidents", "lessons")


def _review_of(session: Session, movement_id: uuid.UUID) -> dict[str, Any] | None:
    ev = session.scalars(
        select(MovementEvent).where(
            MovementEvent.movement_id == movement_id, MovementEvent.kind == "review"
        )
    ).first()
    if ev is None:
        return None
    return {**ev.detail, "by": ev.actor, "at": _iso(ev.at)}


def review(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    summary: str,
    deviations: str = "",
    incidents: str = "",
    lessons: str = "",
    measures_effective: bool | None = None,
    now: datetime | None = None,
) -> Movement:
    """Record the post-movement review of a movement that is over (arrived, incident or
    cancelled): what happened against the plan, incidents and near misses, whether the measures
    worked, the lessons. Once per movement, in its history and the audit trail."""
    at = now or utcnow()
    texts = {
        "summary": summary,
        "deviations": deviations,
        "incidents": incidents,
        "lessons": lessons,
    }
    for name in _REVIEW_FIELDS:
        if len(texts[name]) > MAX_TEXT:
            msg = f"{name} has {len(texts[name])} characters; at most {MAX_TEXT}"
            raise InvalidInput(msg)
    if not summary.strip():
        msg = "summary: say in a sentence how the movement went"
        raise InvalidInput(msg)
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    if m.state not in _REVIEWABLE:
        msg = (
            f"movement {movement_id} is {m.state}; it is reviewed once it is over "
            f"({', '.join(_REVIEWABLE)})"
        )
        raise Conflict(msg)
    if _review_of(session, m.id) is not None:
        msg = f"movement {movement_id} has its review already; add to it with a note"
        raise Conflict(msg)
    detail: dict[str, Any] = {k: v.strip() for k, v in texts.items()}
    detail["measures_effective"] = measures_effective
    _event(session, m, actor=principal.actor, kind="review", now=at, detail=detail)
    m.updated_at = at
    _flush(session, m)
    _audit(session, principal, m, "movement.review", at)
    return m


# -- helpers ----------------------------------------------------------------------------------


def _parse_state(value: str) -> MovementState:
    try:
        return MovementState(value)
    except ValueError:
        accepted = ", ".join(s.value for s in MovementState)
        msg = f"movement state {value!r} does not exist; use one of {accepted}"
        raise InvalidInput(msg) from None


def _check_measures(measures: Iterable[str]) -> list[str]:
    if isinstance(measures, str):
        measures = [measures]
    clean = sorted({str(m).strip().lower() for m in measures})
    unknown = [m for m in clean if m not in MEASURES]
    if unknown:
        msg = f"unknown measures {unknown}; known: {', '.join(MEASURES)}"
        raise InvalidInput(msg)
    return clean


def _check_count(name: str, value: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        msg = f"{name} must be a whole number from 1 to {most}, got {value!r}"
        raise InvalidInput(msg)
    return value


def _check_members(session: Session, principal: Principal, members: list[uuid.UUID]) -> None:
    if not members:
        return
    found = set(
        session.scalars(
            select(Person.id).where(Person.id.in_(members), Person.org_id == principal.org_id)
        )
    )
    missing = [str(p) for p in members if p not in found]
    if missing:
        msg = f"party_ids: no such person in your organisation: {', '.join(missing)}"
        raise InvalidInput(msg)


def _check_times(
    departure: datetime, departure_latest: datetime | None, arrival: datetime, now: datetime
) -> datetime:
    latest = departure if departure_latest is None else departure_latest
    for name, when in (
        ("departure", departure),
        ("departure_latest", latest),
        ("arrival", arrival),
    ):
        if not isinstance(when, datetime) or when.utcoffset() is None:
            msg = f"{name} must be a time-zone aware datetime (UTC), got {when!r}"
            raise InvalidInput(msg)
    if departure < now:
        msg = (
            f"departure {departure.isoformat()} is in the past (now {now.isoformat()}); "
            "plan movements ahead"
        )
        raise InvalidInput(msg)
    if latest < departure:
        msg = (
            f"the departure window ends ({latest.isoformat()}) before it starts "
            f"({departure.isoformat()})"
        )
        raise InvalidInput(msg)
    if arrival <= departure:
        msg = f"arrival {arrival.isoformat()} is not after departure {departure.isoformat()}"
        raise InvalidInput(msg)
    return latest


def _own(principal: Principal, m: Movement) -> None:
    if principal.org_id != m.org_id:
        msg = f"movement {m.id} belongs to another organisation; only its owner may change it"
        raise PermissionDenied(msg)


def _event(
    session: Session,
    m: Movement,
    *,
    actor: str,
    kind: str,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> MovementEvent:
    ev = MovementEvent(
        movement_id=m.id,
        at=now,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        detail=detail or {},
    )
    session.add(ev)
    return ev


def _move(
    session: Session,
    m: Movement,
    action: Action,
    *,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Apply ``action`` through the transition table and record it."""
    target = transition(m.state, action)
    before = m.state
    m.state = target.value
    m.updated_at = now
    _event(
        session,
        m,
        actor=actor,
        kind="transition",
        now=now,
        from_state=before,
        to_state=target.value,
        detail={"action": action.value, **(detail or {})},
    )


def _flush(session: Session, m: Movement) -> None:
    try:
        session.flush()
    except StaleDataError:
        msg = (
            f"movement {m.id} was changed by someone else at the same time; reload it and try again"
        )
        raise Conflict(msg) from None


def _audit(
    session: Session,
    principal: Principal | None,
    m: Movement,
    action: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        action=action,
        actor=principal.actor if principal is not None else "system",
        org_id=m.org_id,
        object_type="movement",
        object_id=m.id,
        detail={"state": m.state, **(detail or {})},
        now=now,
    )


def _decision_doc(policy: Policy, decision: Decision) -> dict[str, Any]:
    return {
        "policy": policy.name,
        "revision": policy.revision,
        "fingerprint": policy.fingerprint,
        "status": decision.status,
        "allowed": decision.allowed,
        "fired": [
            {"rule": f.rule_id, "description": f.description, "effect": f.effect, "why": f.why}
            for f in decision.fired
        ],
        "reasons": list(decision.reasons),
        "approvals_required": decision.approvals_required,
        "required_measures": sorted(decision.required_measures),
        "missing_measures": sorted(decision.missing_measures),
        "max_vehicles": decision.max_vehicles,
    }


def _assess(m: Movement, measures: Sequence[str]) -> Assessment:
    levels = m.assessment.get("levels_by_segment") or None
    return Assessment(
        max_level=int(m.assessment["max_level"]),
        departure=m.departure_start,
        arrival=m.planned_arrival + (m.departure_end - m.departure_start),
        vehicles=m.vehicles,
        party=m.party,
        measures=frozenset(measures),
        levels_by_segment=tuple(levels) if levels else None,
        segment_times=_segment_spans(
            m.assessment,
            departure=m.departure_start,
            latest=m.departure_end,
            arrival=m.planned_arrival,
        ),
    )


def _segment_spans(
    assessment_doc: dict[str, Any], *, departure: datetime, latest: datetime, arrival: datetime
) -> tuple[tuple[datetime, datetime], ...] | None:
    """When each assessed segment may be driven, the conservative span over the departure
    window and the planned arrival: from leaving at ``departure`` and driving at free-flow
    speed to the later of leaving at ``latest`` at free-flow speed and having every delay
    before the segment (arriving at ``arrival`` plus the window). None for assessments
    without a schedule (made before schedules, or without a forecast)."""
    offsets = assessment_doc.get("segment_offsets_s")
    total = assessment_doc.get("route_time_s")
    levels = assessment_doc.get("levels_by_segment")
    if not offsets or total is None or not levels or len(offsets) != len(levels):
        return None
    window = latest - departure
    last_arrival = arrival + window
    spans = []
    for enter_s, leave_s in offsets:
        early = departure + timedelta(seconds=float(enter_s))
        late = max(
            latest + timedelta(seconds=float(leave_s)),
            last_arrival - timedelta(seconds=float(total) - float(leave_s)),
        )
        spans.append((early, max(late, early)))
    return tuple(spans)


def _approvals(session: Session, m: Movement) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(MovementApproval)
            .where(MovementApproval.movement_id == m.id)
        )
        or 0
    )


# -- requesting -------------------------------------------------------------------------------


def _forecast(
    session: Session, principal: Principal, graph: RoadGraph
) -> tuple[ForecastRun | None, npt.NDArray[np.float64]]:
    """The newest forecast the principal may see and each edge's exposure under it (zeros
    without a forecast: routes then go by travel time alone)."""
    try:
        run = risk_service.latest_run(session, principal=principal)
    except NotFound:
        return None, np.zeros(graph.n_edges)
    return run, edge_exposure(graph, risk_service.load_surface(session, run))


def _route_doc(
    graph: RoadGraph, best: RouteSummary, lam: float, run: ForecastRun | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "coordinates": [[lon, lat] for lon, lat in best.coordinates(graph)],
        "time_s": best.time_s,
        "length_km": best.length_km,
        "exposure": best.exposure if run is not None else None,
        "lambda": lam,
    }
    sched = best.schedule
    if sched is not None:
        doc.update(
            {
                "depart": sched.depart.isoformat(),
                "arrive": sched.arrive.isoformat(),
                "night_s": round(best.night_s, 1),
                "night_exposure": best.night_exposure if run is not None else None,
                "night": {
                    "start": f"{sched.window.start:%H:%M}",
                    "end": f"{sched.window.end:%H:%M}",
                    "factor": sched.window.factor,
                    "zone": "Asia/Karachi",
                },
                "schedule": schedule_rows(graph, best, with_exposure=run is not None),
            }
        )
    return doc


def _assessment_doc(
    session: Session,
    run: ForecastRun | None,
    graph: RoadGraph,
    route: RouteSummary,
    times: tuple[datetime, datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The threat level of every ~10 km of the route, the riskiest stretches and why; with a
    scheduled route also when each segment is driven (seconds after departure at free-flow
    speed, ``segment_offsets_s``) and, for the riskiest, the span in which it may be driven
    over the departure window and whether that is at night."""
    coords = route.coordinates(graph)
    if run is None:
        return {
            "max_level": 1,
            "forecast_id": None,
            "levels_by_segment": None,
            "riskiest": [],
            "note": "no risk forecast yet: routed by travel time only and assessed at level 1; "
            "run a forecast and re-plan before relying on this decision",
        }
    segments = risk_service.level_for_route(session, run=run, coords=coords)
    levels = [int(s.reading.level) for s in segments]
    starts = np.cumsum([0.0] + [s.length_km for s in segments])
    worst = sorted(segments, key=lambda s: (-s.reading.level, s.index))[:RISKIEST_SEGMENTS]
    doc: dict[str, Any] = {
        "max_level": max(levels, default=1),
        "forecast_id": str(run.id),
        "forecast_model": run.model,
        "forecast_horizon": [run.horizon_start.isoformat(), run.horizon_end.isoformat()],
        "levels_by_segment": levels or None,
    }
    spans: tuple[tuple[datetime, datetime], ...] | None = None
    sched = route.schedule
    if sched is not None and levels:
        n = len(segments)
        at = route.offsets_at(graph, np.arange(n + 1) / n)
        doc["segment_offsets_s"] = [
            [round(float(at[i]), 1), round(float(at[i + 1]), 1)] for i in range(n)
        ]
        doc["route_time_s"] = route.time_s
        if times is not None:
            departure, latest, arrival = times
            spans = _segment_spans(doc, departure=departure, latest=latest, arrival=arrival)
    items = []
    for s in sorted(worst, key=lambda s: s.index):
        item: dict[str, Any] = {
            "index": s.index,
            "km_from": round(float(starts[s.index]), 1),
            "km_to": round(float(starts[s.index + 1]), 1),
            "start": list(s.start),
            "end": list(s.end),
            "level": int(s.reading.level),
            "reason": s.reading.reason,
        }
        if spans is not None and sched is not None:
            enter, leave = spans[s.index]
            dark = _night_seconds_between(enter, leave, sched.window)
            item.update(
                {
                    "enter": enter.isoformat(),
                    "leave": leave.isoformat(),
                    "at_night": dark > 0,
                }
            )
            if dark > 0:
                item["reason"] = (
                    f"{s.reading.reason}; may be driven at night ({sched.window.describe()}, "
                    f"{dark / 60:.0f} min of it), which weighs its exposure up to "
                    f"x{1 + sched.window.factor:g}"
                )
        items.append(item)
    doc["riskiest"] = items
    return doc


def _night_seconds_between(enter: datetime, leave: datetime, window: NightWindow) -> float:
    """Seconds of ``[enter, leave)`` inside the night window."""
    if leave <= enter:
        return 0.0
    return float(night_seconds_array(enter, 0.0, (leave - enter).total_seconds(), window).item())


def _routes(
    session: Session,
    principal: Principal,
    graph: RoadGraph,
    nodes: list[int],
    lam: float,
    k: int,
    avoid: Sequence[BaseGeometry] = (),
    *,
    times: tuple[datetime, datetime, datetime] | None = None,
    night: NightWindow | None = None,
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[tuple[float, float, float]]]:
    """Plan up to ``k`` diverse routes through ``nodes``, keeping out of the ``avoid`` areas,
    and assess each: a list of (route document, assessment document), best first, and the
    time/risk Pareto front. With ``times`` (departure, latest departure, planned arrival) the
    routes are priced for night driving leaving at the departure (``night``: the window of
    the organisation's policy) and carry their schedule."""
    run, exposure = _forecast(session, principal, graph)
    closed = closed_edges(graph, avoid) if avoid else None
    depart = times[0] if times is not None else None
    plan = plan_route(
        graph, exposure, nodes, lam=lam, k=k, closed=closed, depart=depart, night=night
    )
    out = []
    for summary in plan.routes:
        doc = _route_doc(graph, summary, lam, run)
        doc["avoided_areas"] = len(avoid)
        out.append((doc, _assessment_doc(session, run, graph, summary, times)))
    return out, plan.pareto if run is not None else []


def _night_window(pol: Policy) -> NightWindow:
    """The pricing night window: the policy's own window, the default weight."""
    return NightWindow(start=pol.night_start, end=pol.night_end)


def _decide(
    pol: Policy,
    assessment_doc: dict[str, Any],
    *,
    departure: datetime,
    latest: datetime,
    arrival: datetime,
    vehicles: int,
    party: int,
    measures: Iterable[str],
) -> Decision:
    """The policy's decision on a movement over an assessed route; the policy applies to the
    whole span the party may be on the road (``departure`` to ``arrival`` plus the window)."""
    levels = assessment_doc["levels_by_segment"]
    return evaluate(
        pol,
        Assessment(
            max_level=int(assessment_doc["max_level"]),
            departure=departure,
            arrival=arrival + (latest - departure),
            vehicles=vehicles,
            party=party,
            measures=frozenset(measures),
            levels_by_segment=tuple(levels) if levels else None,
            segment_times=_segment_spans(
                assessment_doc, departure=departure, latest=latest, arrival=arrival
            ),
        ),
    )


@dataclass(frozen=True)
class RouteOption:
    """One route a movement could take, with its assessment and the policy's decision."""

    rank: int
    route: dict[str, Any]
    assessment: dict[str, Any]
    decision: dict[str, Any]


@dataclass(frozen=True)
class RouteOptions:
    """The routes proposed for a movement, best first (under time + lambda x exposure)."""

    points: list[dict[str, Any]]
    options: list[RouteOption]
    #: (lambda, time_s, exposure) along the time/risk trade-off (empty without a forecast)
    pareto: list[tuple[float, float, float]]


def _check_via(via: Sequence[str]) -> None:
    if len(via) > MAX_VIA:
        msg = f"at most {MAX_VIA} places to pass through, got {len(via)}"
        raise InvalidInput(msg)


def _areas(avoid: Sequence[dict[str, Any]]) -> list[BaseGeometry]:
    """The areas to keep out of, from GeoJSON Polygons or MultiPolygons in lon/lat."""
    if len(avoid) > MAX_AVOID:
        msg = f"avoid: at most {MAX_AVOID} areas, got {len(avoid)}; merge them"
        raise InvalidInput(msg)
    out = []
    for i, area in enumerate(avoid):
        try:
            out.append(parse_polygon(area))
        except InvalidInput as exc:
            msg = f"avoid[{i}]: {exc}"
            raise InvalidInput(msg) from None
    return out


def _points(g: RoadGraph, resolved: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "lat": float(g.node_lat[n]), "lon": float(g.node_lon[n])}
        for n, label in resolved
    ]


def route_options(
    session: Session,
    *,
    principal: Principal,
    origin: str,
    destination: str,
    departure: datetime,
    arrival: datetime,
    via: Sequence[str] = (),
    departure_latest: datetime | None = None,
    vehicles: int = 1,
    party: int = 1,
    measures: Iterable[str] = (),
    avoid: Sequence[dict[str, Any]] = (),
    alternatives: int = 3,
    lam: float = DEFAULT_LAMBDA,
    graph: RoadGraph | None = None,
    now: datetime | None = None,
) -> RouteOptions:
    """The routes a movement could take (up to ``alternatives`` diverse ones; one when it
    passes through ``via`` places), each assessed and judged by the organisation's policy as
    :func:`request_movement` would; nothing is stored. ``request_movement(route=i)`` then
    requests option ``i`` (the same inputs and forecast give the same options)."""
    at = now or utcnow()
    latest = _check_times(departure, departure_latest, arrival, at)
    clean = _check_measures(measures)
    _check_count("vehicles", vehicles, MAX_VEHICLES)
    _check_count("party", party, MAX_PARTY)
    _check_count("alternatives", alternatives, MAX_ALTERNATIVES)
    _check_via(via)
    areas = _areas(avoid)
    g = graph if graph is not None else corridor_graph()
    resolved = [resolve_place(g, p) for p in [origin, *via, destination]]
    nodes = [n for n, _ in resolved]
    pol = org_policy(session, org_id=principal.org_id)
    planned, pareto = _routes(
        session,
        principal,
        g,
        nodes,
        lam,
        alternatives,
        areas,
        times=(departure, latest, arrival),
        night=_night_window(pol),
    )
    options = [
        RouteOption(
            rank=i,
            route=route,
            assessment=assessment,
            decision=_decision_doc(
                pol,
                _decide(
                    pol,
                    assessment,
                    departure=departure,
                    latest=latest,
                    arrival=arrival,
                    vehicles=vehicles,
                    party=party,
                    measures=clean,
                ),
            ),
        )
        for i, (route, assessment) in enumerate(planned)
    ]
    return RouteOptions(points=_points(g, resolved), options=options, pareto=pareto)


def request_movement(
    session: Session,
    *,
    principal: Principal,
    origin: str,
    destination: str,
    departure: datetime,
    arrival: datetime,
    via: Sequence[str] = (),
    departure_latest: datetime | None = None,
    vehicles: int = 1,
    party: int = 1,
    party_ids: Sequence[uuid.UUID] = (),
    measures: Iterable[str] = (),
    avoid: Sequence[dict[str, Any]] = (),
    purpose: str = "",
    tlp: str = TLP.AMBER.value,
    submit: bool = True,
    policy: Policy | None = None,
    lam: float = DEFAULT_LAMBDA,
    route: int = 0,
    graph: RoadGraph | None = None,
    now: datetime | None = None,
) -> Movement:
    """Plan, assess and decide a movement and store it (``submitted``, or ``draft`` with
    ``submit=False``; ``approved`` at once when the policy needs neither measures nor
    approvals). Places are names from the offline gazetteer or ``LAT,LON``; ``via`` are passed
    through in order. ``departure``..``departure_latest`` is the departure window and
    ``arrival`` the planned arrival when leaving at ``departure``; the policy is applied to the
    whole span the party may be on the road (``departure`` to ``arrival`` plus the window).
    ``route`` picks one of :func:`route_options` (0, the recommended route, by default).
    Nothing is stored unless every check passes."""
    at = now or utcnow()
    latest = _check_times(departure, departure_latest, arrival, at)
    clean_measures = _check_measures(measures)
    _check_count("vehicles", vehicles, MAX_VEHICLES)
    members = list(dict.fromkeys(party_ids))
    party = max(party, len(members))
    _check_count("party", party, MAX_PARTY)
    _check_members(session, principal, members)
    _check_via(via)
    areas = _areas(avoid)
    if not 0 <= route < MAX_ALTERNATIVES:
        msg = f"route must be the number of a proposed route, 0 to {MAX_ALTERNATIVES - 1}"
        raise InvalidInput(msg)
    if len(purpose) > MAX_TEXT:
        msg = f"purpose has {len(purpose)} characters; at most {MAX_TEXT}"
        raise InvalidInput(msg)
    marking = parse_tlp(tlp).value
    g = graph if graph is not None else corridor_graph()
    places = [origin, *via, destination]
    resolved = [resolve_place(g, p) for p in places]
    # the penalty method finds alternatives in a fixed sequence, so the routes proposed with
    # fewer alternatives are the first ones of this list
    k = MAX_ALTERNATIVES if route else 1
    pol = policy if policy is not None else org_policy(session, org_id=principal.org_id)
    planned, _ = _routes(
        session,
        principal,
        g,
        [n for n, _ in resolved],
        lam,
        k,
        areas,
        times=(departure, latest, arrival),
        night=_night_window(pol),
    )
    if route >= len(planned):
        msg = (
            f"route {route} was not proposed: only {len(planned)} route(s) lead there "
            f"(numbered from 0); ask for the route options again"
        )
        raise InvalidInput(msg)
    route_doc, assessment_doc = planned[route]
    points = _points(g, resolved)
    decision = _decide(
        pol,
        assessment_doc,
        departure=departure,
        latest=latest,
        arrival=arrival,
        vehicles=vehicles,
        party=party,
        measures=clean_measures,
    )
    m = Movement(
        id=uuid.uuid4(),
        org_id=principal.org_id,
        tlp=marking,
        requested_by=principal.user_id,
        requester=principal.actor,
        purpose=purpose.strip(),
        origin_label=points[0]["label"],
        origin_lat=points[0]["lat"],
        origin_lon=points[0]["lon"],
        destination_label=points[-1]["label"],
        destination_lat=points[-1]["lat"],
        destination_lon=points[-1]["lon"],
        waypoints=points[1:-1],
        departure_start=departure,
        departure_end=latest,
        planned_arrival=arrival,
        party=party,
        vehicles=vehicles,
        measures=clean_measures,
        state=MovementState.DRAFT.value,
        route=route_doc,
        assessment=assessment_doc,
        decision=_decision_doc(pol, decision),
        created_at=at,
        updated_at=at,
    )
    session.add(m)
    session.flush()
    for pid in members:
        session.add(MovementMember(movement_id=m.id, person_id=pid))
    actor = principal.actor
    _event(
        session,
        m,
        actor=actor,
        kind="transition",
        now=at,
        to_state=MovementState.DRAFT.value,
        detail={"action": "request", "status": decision.status},
    )
    if submit:
        _submit(session, m, actor=actor, now=at)
    _flush(session, m)
    _audit(
        session,
        principal,
        m,
        "movement.request",
        at,
        {"status": decision.status, "max_level": assessment_doc["max_level"]},
    )
    return m


def _submit(session: Session, m: Movement, *, actor: str, now: datetime) -> None:
    _move(session, m, Action.SUBMIT, actor=actor, now=now)
    if m.decision["status"] == "approved":
        _move(
            session,
            m,
            Action.APPROVE,
            actor="system",
            now=now,
            detail={"why": "the policy requires neither measures nor approvals"},
        )


def submit(
    session: Session, *, principal: Principal, movement_id: uuid.UUID, now: datetime | None = None
) -> Movement:
    """Submit a draft for approval (approved at once when the policy needs nothing more)."""
    at = now or utcnow()
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    _submit(session, m, actor=principal.actor, now=at)
    _flush(session, m)
    _audit(session, principal, m, "movement.submit", at)
    return m


def update_measures(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    measures: Iterable[str],
    policy: Policy | None = None,
    now: datetime | None = None,
) -> Movement:
    """Replace the measures of a draft or submitted movement and decide again under ``policy``
    (the default policy if not given). Approvals given for the old measures are withdrawn;
    a submitted movement that now needs nothing more is approved."""
    at = now or utcnow()
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    if m.state not in (MovementState.DRAFT.value, MovementState.SUBMITTED.value):
        msg = (
            f"the measures of a movement that is {m.state} cannot change; only draft or "
            "submitted movements are re-assessed (cancel and request again)"
        )
        raise Conflict(msg)
    clean = _check_measures(measures)
    pol = policy if policy is not None else org_policy(session, org_id=m.org_id)
    decision = evaluate(pol, _assess(m, clean))
    before = m.decision.get("status")
    withdrawn = _approvals(session, m)
    if withdrawn:
        session.execute(delete(MovementApproval).where(MovementApproval.movement_id == m.id))
    m.measures = clean
    m.decision = _decision_doc(pol, decision)
    m.updated_at = at
    _event(
        session,
        m,
        actor=principal.actor,
        kind="note",
        now=at,
        detail={
            "action": "update_measures",
            "measures": clean,
            "status_before": before,
            "status": decision.status,
            "approvals_withdrawn": withdrawn,
        },
    )
    if m.state == MovementState.SUBMITTED.value and decision.status == "approved":
        _move(
            session,
            m,
            Action.APPROVE,
            actor="system",
            now=at,
            detail={"why": "the policy requires neither measures nor approvals"},
        )
    _flush(session, m)
    _audit(session, principal, m, "movement.update_measures", at, {"status": decision.status})
    return m


# -- the organisation's policy -----------------------------------------------------------------


def _newest_policy(session: Session, org_id: uuid.UUID) -> MovementPolicy | None:
    return session.execute(
        select(MovementPolicy)
        .where(MovementPolicy.org_id == org_id)
        .order_by(MovementPolicy.revision.desc())
        .limit(1)
    ).scalar_one_or_none()


def org_policy(session: Session, *, org_id: uuid.UUID) -> Policy:
    """The movement policy in force for an organisation: its newest stored revision, or the
    policy silkguard ships when it has stored none."""
    row = _newest_policy(session, org_id)
    if row is None:
        return default_policy()
    return load_policy(row.document, name=f"policy revision {row.revision}")


def policy_revisions(session: Session, *, org_id: uuid.UUID) -> Sequence[MovementPolicy]:
    """Every stored revision of an organisation's policy, newest first."""
    return (
        session.execute(
            select(MovementPolicy)
            .where(MovementPolicy.org_id == org_id)
            .order_by(MovementPolicy.revision.desc())
        )
        .scalars()
        .all()
    )


def set_policy(
    session: Session, *, principal: Principal, document: str, now: datetime | None = None
) -> MovementPolicy:
    """Validate a policy document (TOML) and store it as the caller's organisation's policy
    in force. Its ``revision`` must be higher than the stored one, so two people editing the
    same revision cannot overwrite each other silently (the second gets a 409). Movements
    already decided keep the decision they got; new requests and re-assessments use it."""
    at = now or utcnow()
    policy = load_policy(document, name="policy document")
    newest = _newest_policy(session, principal.org_id)
    if newest is not None and policy.revision <= newest.revision:
        msg = (
            f"policy revision {policy.revision} is not newer than the one in force "
            f"(revision {newest.revision}); set revision = {newest.revision + 1} in the document"
        )
        raise Conflict(msg)
    row = MovementPolicy(
        org_id=principal.org_id,
        revision=policy.revision,
        name=policy.name,
        document=document,
        fingerprint=policy.fingerprint,
        created_by=principal.actor,
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa_exc.IntegrityError:
        msg = f"policy revision {policy.revision} was stored meanwhile; fetch it and try again"
        raise Conflict(msg) from None
    audit.record(
        session,
        actor=principal.actor,
        org_id=principal.org_id,
        action="movement.policy.set",
        object_type="movement_policy",
        object_id=str(row.id),
        detail={"revision": policy.revision, "fingerprint": policy.fingerprint},
        now=at,
    )
    return row


# -- approving --------------------------------------------------------------------------------


def _require_approver(principal: Principal) -> None:
    if principal.role not in _APPROVER_ROLES:
        msg = f"only an approver or an admin may decide on movements; your role is {principal.role}"
        raise PermissionDenied(msg)
    if principal.user_id is None:
        msg = "approvals are given by people: sign in as an approver (API keys cannot approve)"
        raise PermissionDenied(msg)


def approve(
    session: Session, *, principal: Principal, movement_id: uuid.UUID, now: datetime | None = None
) -> Movement:
    """Record the caller's approval; the movement is approved once the decision's
    ``approvals_required`` distinct approvers have signed. The policy must allow the movement
    (not refused, no missing measures), the caller must be an approver or admin of the owning
    organisation and not the requester, and each approver counts once."""
    at = now or utcnow()
    _require_approver(principal)
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    if m.requested_by is not None and m.requested_by == principal.user_id:
        msg = "you requested this movement and cannot approve it; ask another approver"
        raise PermissionDenied(msg)
    transition(m.state, Action.APPROVE)  # only a submitted movement can be approved
    status = m.decision.get("status")
    if status not in ("needs_approval", "approved"):
        reasons = "; ".join(m.decision.get("reasons", [])) or "no reasons recorded"
        msg = f"the policy does not allow this movement as requested ({status}): {reasons}"
        raise Conflict(msg)
    assert principal.user_id is not None
    exists = session.scalar(
        select(MovementApproval.id).where(
            MovementApproval.movement_id == m.id,
            MovementApproval.approver_id == principal.user_id,
        )
    )
    if exists is not None:
        msg = "you have already approved this movement; another approver must sign"
        raise Conflict(msg)
    try:
        with session.begin_nested():
            session.add(MovementApproval(movement_id=m.id, approver_id=principal.user_id, at=at))
            session.flush()
    except sa_exc.IntegrityError:
        msg = "you have already approved this movement; another approver must sign"
        raise Conflict(msg) from None
    have = _approvals(session, m)
    need = max(int(m.decision.get("approvals_required", 0)), 1)
    m.updated_at = at
    _event(
        session,
        m,
        actor=principal.actor,
        kind="approval",
        now=at,
        detail={"approvals": have, "required": need},
    )
    if have >= need:
        _move(session, m, Action.APPROVE, actor=principal.actor, now=at)
    _flush(session, m)
    _audit(session, principal, m, "movement.approve", at, {"approvals": have, "required": need})
    return m


def reject(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
) -> Movement:
    """Reject a submitted movement (approver or admin), with the reason."""
    at = now or utcnow()
    _require_approver(principal)
    if not reason.strip() or len(reason) > MAX_TEXT:
        msg = f"give the reason for the rejection (1-{MAX_TEXT} characters)"
        raise InvalidInput(msg)
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    _move(session, m, Action.REJECT, actor=principal.actor, now=at, detail={"reason": reason})
    _flush(session, m)
    _audit(session, principal, m, "movement.reject", at, {"reason": reason})
    return m


# -- on the road ------------------------------------------------------------------------------


def _simple(
    session: Session,
    principal: Principal,
    movement_id: uuid.UUID,
    action: Action,
    now: datetime | None,
    detail: dict[str, Any] | None = None,
) -> Movement:
    at = now or utcnow()
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    _move(session, m, action, actor=principal.actor, now=at, detail=detail)
    if action is Action.ARRIVE:
        m.arrived_at = at
    _flush(session, m)
    _audit(session, principal, m, f"movement.{action.value}", at, detail)
    return m


def cancel(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    reason: str = "",
    now: datetime | None = None,
) -> Movement:
    """Cancel a draft, submitted or approved movement."""
    return _simple(session, principal, movement_id, Action.CANCEL, now, {"reason": reason})


def start(
    session: Session, *, principal: Principal, movement_id: uuid.UUID, now: datetime | None = None
) -> Movement:
    """The party has left: approved -> under_way."""
    return _simple(session, principal, movement_id, Action.START, now)


def arrive(
    session: Session, *, principal: Principal, movement_id: uuid.UUID, now: datetime | None = None
) -> Movement:
    """The party has arrived (from under_way or overdue)."""
    return _simple(session, principal, movement_id, Action.ARRIVE, now)


def report_incident(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    note: str,
    now: datetime | None = None,
) -> Movement:
    """Something happened to a movement on the road (under_way or overdue -> incident)."""
    if len(note) > MAX_TEXT:
        msg = f"the note has {len(note)} characters; at most {MAX_TEXT}"
        raise InvalidInput(msg)
    return _simple(session, principal, movement_id, Action.INCIDENT, now, {"note": note})


def check_in(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    lat: float,
    lon: float,
    note: str = "",
    now: datetime | None = None,
) -> MovementEvent:
    """A position report from a movement on the road (under_way or overdue)."""
    at = now or utcnow()
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        msg = f"check-in position ({lat}, {lon}) is not a latitude/longitude in degrees"
        raise InvalidInput(msg)
    if len(note) > MAX_TEXT:
        msg = f"the note has {len(note)} characters; at most {MAX_TEXT}"
        raise InvalidInput(msg)
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    if m.state not in (MovementState.UNDER_WAY.value, MovementState.OVERDUE.value):
        msg = (
            f"cannot check in a movement that is {m.state}; check-ins are for movements "
            "under_way or overdue (start it first)"
        )
        raise Conflict(msg)
    m.updated_at = at
    ev = _event(
        session,
        m,
        actor=principal.actor,
        kind="check_in",
        now=at,
        detail={"lat": lat, "lon": lon, "note": note},
    )
    _flush(session, m)
    return ev


def record_note(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    detail: dict[str, Any],
    now: datetime | None = None,
) -> MovementEvent:
    """A note in a movement's history (and the audit trail), e.g. a randomised departure."""
    at = now or utcnow()
    m = get_movement(session, principal=principal, movement_id=movement_id)
    _own(principal, m)
    ev = _event(session, m, actor=principal.actor, kind="note", now=at, detail=detail)
    _audit(session, principal, m, f"movement.{detail.get('action', 'note')}", at, detail)
    return ev


def detect_overdue(
    session: Session, *, now: datetime, grace: timedelta = OVERDUE_GRACE
) -> list[Movement]:
    """Declare overdue every movement under way whose planned arrival plus ``grace`` has
    passed; each is declared once (it leaves ``under_way``). Returns the newly overdue ones
    and calls the :func:`on_overdue` listeners for each."""
    found = (
        session.execute(
            select(Movement)
            .where(
                Movement.state == MovementState.UNDER_WAY.value,
                Movement.arrived_at.is_(None),
                Movement.planned_arrival < now - grace,
            )
            .order_by(Movement.planned_arrival, Movement.id)
        )
        .scalars()
        .all()
    )
    for m in found:
        late = now - m.planned_arrival
        _move(
            session,
            m,
            Action.OVERDUE,
            actor="system",
            now=now,
            detail={"late_s": int(late.total_seconds()), "grace_s": int(grace.total_seconds())},
        )
        _flush(session, m)
        _audit(session, None, m, "movement.overdue", now)
    for m in found:
        for listener in _OVERDUE_LISTENERS:
            listener(session, m)
    return list(found)


# -- automatic check-ins ----------------------------------------------------------------------

#: How close a member's position must come to a waypoint or the destination to check in.
AUTO_CHECK_IN_RADIUS_KM = 1.0


def _started_at(session: Session, m: Movement) -> datetime:
    started = session.scalar(
        select(func.min(MovementEvent.at)).where(
            MovementEvent.movement_id == m.id,
            MovementEvent.to_state == MovementState.UNDER_WAY.value,
        )
    )
    return started if started is not None else m.departure_start


def _checked_points(session: Session, m: Movement) -> set[str]:
    details = session.scalars(
        select(MovementEvent.detail).where(
            MovementEvent.movement_id == m.id, MovementEvent.kind == "check_in"
        )
    )
    return {str(d["point"]) for d in details if d.get("auto") and "point" in d}


def auto_check_ins(
    session: Session, *, now: datetime, radius_km: float = AUTO_CHECK_IN_RADIUS_KM
) -> list[MovementEvent]:
    """Check movements in from their members' positions: for every movement on the road
    (under way or overdue) with named members, the first stored position of any member,
    since the movement started, within ``radius_km`` of a waypoint or of the destination
    checks that point in, once. Positions exist only for people who consented to share them.
    Returns the new check-in events (a scheduled job calls this every minute)."""
    if not (radius_km > 0 and math.isfinite(radius_km)):
        msg = f"radius_km must be a positive number, got {radius_km!r}"
        raise InvalidInput(msg)
    moving = session.scalars(
        select(Movement)
        .where(Movement.state.in_([MovementState.UNDER_WAY.value, MovementState.OVERDUE.value]))
        .order_by(Movement.departure_start, Movement.id)
    ).all()
    made: list[MovementEvent] = []
    for m in moving:
        members = session.scalars(
            select(MovementMember.person_id).where(MovementMember.movement_id == m.id)
        ).all()
        done = _checked_points(session, m)
        points = [
            *({**w, "key": f"via:{i}"} for i, w in enumerate(m.waypoints)),
            {
                "label": m.destination_label,
                "lat": m.destination_lat,
                "lon": m.destination_lon,
                "key": "destination",
            },
        ]
        pending = [p for p in points if p["key"] not in done]
        if not members or not pending:
            continue
        track = session.execute(
            select(Position.person_id, Position.at, Position.latitude, Position.longitude)
            .where(
                Position.person_id.in_(members),
                Position.at >= _started_at(session, m),
                Position.at <= now,
            )
            .order_by(Position.at, Position.id)
        ).all()
        if not track:
            continue
        lats = np.array([r.latitude for r in track], dtype=np.float64)
        lons = np.array([r.longitude for r in track], dtype=np.float64)
        for point in pending:
            near = np.flatnonzero(
                haversine_km_array(float(point["lat"]), float(point["lon"]), lats, lons)
                <= radius_km
            )
            if not near.size:
                continue
            hit = track[int(near[0])]
            m.updated_at = now
            made.append(
                _event(
                    session,
                    m,
                    actor="system",
                    kind="check_in",
                    now=now,
                    detail={
                        "lat": float(hit.latitude),
                        "lon": float(hit.longitude),
                        "note": f"reached {point['label']} (from a member's position)",
                        "auto": True,
                        "point": point["key"],
                        "person_id": str(hit.person_id),
                        "position_at": hit.at.isoformat(),
                    },
                )
            )
            _audit(
                session,
                None,
                m,
                "movement.auto_check_in",
                now,
                {"point": point["key"], "person_id": str(hit.person_id)},
            )
        _flush(session, m)
    return made


# -- predictability ---------------------------------------------------------------------------

#: Movements that never went (or never were decided) teach an observer nothing.
_PATTERN_STATES = (
    MovementState.SUBMITTED.value,
    MovementState.APPROVED.value,
    MovementState.UNDER_WAY.value,
    MovementState.ARRIVED.value,
    MovementState.OVERDUE.value,
    MovementState.INCIDENT.value,
)


def _route_key(route: dict[str, Any]) -> str:
    """The same road gives the same key (coordinates to about 1 km)."""
    coords = [(round(float(lon), 2), round(float(lat), 2)) for lon, lat in route["coordinates"]]
    return hashlib.sha256(json.dumps(coords).encode()).hexdigest()[:16]


def movement_patterns(
    session: Session,
    *,
    principal: Principal,
    now: datetime | None = None,
    days: int = 180,
    min_movements: int = MIN_MOVEMENTS,
) -> list[PairPattern]:
    """How predictable the organisation's own movements of the last ``days`` days have been,
    per origin-destination pair (:mod:`silkguard.journeys.patterns`), most predictable first."""
    _check_count("days", days, 3650)
    _check_count("min_movements", min_movements, 1000)
    at = now or utcnow()
    rows = session.execute(
        select(
            Movement.origin_label,
            Movement.destination_label,
            Movement.departure_start,
            Movement.route,
        ).where(
            Movement.org_id == principal.org_id,
            Movement.state.in_(_PATTERN_STATES),
            Movement.departure_start >= at - timedelta(days=days),
            Movement.departure_start <= at + timedelta(days=days),
        )
    ).all()
    trips = [
        Trip(origin=o, destination=d, departure=dep, route=_route_key(route))
        for o, d, dep, route in rows
    ]
    return patterns(trips, min_movements=min_movements)
