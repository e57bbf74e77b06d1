"""The escort game on the store: the road segments an organisation's movements use, in time
slots, covered by escort teams, quick-reaction forces and checkposts (issue 8).

:func:`plan_routes` builds the game of :mod:`silkguard.protection.corridor` from the
movements that are submitted, approved, under way or overdue in the next days (or from
origin/destination pairs), with the newest risk forecast the organisation may see, and solves
it. :func:`sample_routes` draws seeded daily plans from it (the seed is audited).
A movement's route and departure are drawn against this game in
:mod:`silkguard.protection.movement_draw`.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.geo.distance import haversine_km_array
from silkguard.journeys.models import Movement
from silkguard.journeys.routes import DEFAULT_LAMBDA, edge_exposure, plan_route, resolve_place
from silkguard.network.corridor import corridor_graph, town_names
from silkguard.network.graph import RoadGraph
from silkguard.protection.corridor import (
    IDLE_PEOPLE,
    LOCAL_TZ,
    Force,
    Segmentation,
    SlotScheme,
    TargetRow,
    Trip,
    corridor_game,
    corridor_targets,
    segment_routes,
    solve_corridor,
)
from silkguard.protection.game import FloatArray
from silkguard.protection.sampling import Calendar, calendar
from silkguard.protection.solution import Solution
from silkguard.risk import service as risk_service

__all__ = [
    "PLANNED_STATES",
    "GameSettings",
    "RoutePlan",
    "edges_of",
    "plan_routes",
    "planned_movements",
    "route_exposure",
    "sample_routes",
    "solve_game",
]

#: Movements whose people are (or will be) on the road.
PLANNED_STATES = ("submitted", "approved", "under_way", "overdue")
MAX_DAYS = 31
MAX_UNITS = 1000
MAX_PAIRS = 50


@dataclass(frozen=True)
class GameSettings:
    """The resources and the policy choices of an escort game (all editable)."""

    teams: int = 1
    qrf: int = 0
    checkposts: int = 0
    slots: int = 4
    slot_weights: tuple[float, ...] | None = None
    escort_span_km: float = 150.0
    qrf_span_km: float = 300.0
    max_km: float = 50.0
    idle_people: float = IDLE_PEOPLE
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    solver: str = "colgen"

    def forces(self) -> list[Force]:
        for name, value in (
            ("teams", self.teams),
            ("qrf", self.qrf),
            ("checkposts", self.checkposts),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNITS:
                msg = f"{name} {value!r}: a whole number from 0 to {MAX_UNITS}"
                raise InvalidInput(msg)
        return [
            Force("escort team", self.teams, self.escort_span_km),
            Force("quick-reaction force", self.qrf, self.qrf_span_km),
            Force("checkpost", self.checkposts, checkpost=True),
        ]

    def scheme(self) -> SlotScheme:
        if self.slot_weights is None:
            return SlotScheme.default(self.slots)
        if len(self.slot_weights) != self.slots:
            msg = (
                f"slot_weights has {len(self.slot_weights)} values for {self.slots} slots; "
                "give one weight per slot"
            )
            raise InvalidInput(msg)
        return SlotScheme(tuple(float(w) for w in self.slot_weights))


@dataclass(frozen=True)
class RoutePlan:
    """A solved escort game and what it was built from."""

    segmentation: Segmentation
    labels: list[str]
    targets: list[TargetRow]
    slots: SlotScheme
    solution: Solution
    settings: GameSettings
    movement_ids: list[str]
    forecast_id: str | None
    start: date
    days: int

    def rows(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for i, t in enumerate(self.targets):
            seg = self.segmentation.segments[t.segment]
            out.append(
                {
                    "target_id": t.target_id,
                    "segment_id": seg.segment_id,
                    "segment": self.labels[t.segment],
                    "road": seg.road,
                    "length_km": round(seg.length_km, 1),
                    "slot": self.slots.label(t.slot),
                    "slot_weight": round(t.weight, 4),
                    "likelihood": round(t.likelihood, 6),
                    "consequence": round(t.consequence, 4),
                    "people": t.people,
                    "movements": list(t.trips),
                    "coverage": round(float(self.solution.coverage[i]), 6),
                    "reason": t.explanation,
                    "why": self.solution.explain(i),
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        sol = self.solution
        return {
            "start": self.start.isoformat(),
            "days": self.days,
            "forecast_id": self.forecast_id,
            "movements": self.movement_ids,
            "slots": [self.slots.label(k) for k in range(self.slots.n)],
            "slot_weights": list(self.slots.weights),
            "resources": {r.name: r.count for r in sol.game.resources},
            "solver": sol.solver,
            "defender_utility": sol.defender_utility,
            "attacked": sol.game.target_ids[sol.attacker_target] if sol.game.target_ids else None,
            "targets": self.rows(),
        }

    def calendar_days(self, cal: Calendar) -> list[dict[str, Any]]:
        """Each day's plan: per unit, the slot and the segments it covers (checkposts: every
        slot of one segment), or ``reserve``."""
        out = []
        for day in cal.days:
            units = []
            for a in day.plan.assignments:
                picked = [self.targets[t] for t in a.targets]
                slots = sorted({self.slots.label(t.slot) for t in picked})
                segments = list(dict.fromkeys(self.labels[t.segment] for t in picked))
                units.append(
                    {
                        "resource": a.resource_type,
                        "unit": a.unit + 1,
                        "slots": slots,
                        "segments": segments,
                        "targets": [t.target_id for t in picked],
                    }
                )
            out.append({"date": None if day.date is None else day.date.isoformat(), "units": units})
        return out


def edges_of(graph: RoadGraph, coordinates: Sequence[Sequence[float]]) -> list[int]:
    """The graph edges of a stored route (``[lon, lat]`` of the path's nodes, in order)."""
    if len(coordinates) < 2:
        return []
    lon = np.array([float(c[0]) for c in coordinates])
    lat = np.array([float(c[1]) for c in coordinates])
    nodes = graph.snap(lat, lon, max_km=1.0)
    edges = []
    for a, b in itertools.pairwise(nodes):
        if a == b:
            continue
        found = [e for e in graph.out_edges(int(a)) if int(graph.heads[e]) == int(b)]
        if not found:
            msg = (
                f"a stored route runs from node {a} to node {b} with no road between them: it "
                "was planned on another road network; re-plan the movement"
            )
            raise InvalidInput(msg)
        edges.append(min(found, key=lambda e: float(graph.length_m[e])))
    return edges


def _labels(graph: RoadGraph, seg: Segmentation) -> list[str]:
    """'Town - Town (road)'; nodes that are not towns are named after the nearest town."""
    towns = town_names()
    n_towns = len(towns)

    def name(node: int) -> str:
        if node < n_towns:
            return towns[node]
        d = haversine_km_array(
            graph.node_lat[node],
            graph.node_lon[node],
            graph.node_lat[:n_towns],
            graph.node_lon[:n_towns],
        )
        i = int(np.argmin(d))
        return f"{d[i]:.0f} km from {towns[i]}"

    return [f"{name(s.nodes[0])} - {name(s.nodes[-1])} ({s.road})" for s in seg.segments]


def route_exposure(
    session: Session, principal: Principal, graph: RoadGraph
) -> tuple[FloatArray | None, str | None]:
    try:
        run = risk_service.latest_run(session, principal=principal)
    except NotFound:
        return None, None
    return edge_exposure(graph, risk_service.load_surface(session, run)), str(run.id)


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        msg = f"days {days!r}: a whole number from 1 to {MAX_DAYS}"
        raise InvalidInput(msg)


def planned_movements(
    session: Session, principal: Principal, lo: datetime, hi: datetime, exclude: uuid.UUID | None
) -> list[Movement]:
    stmt = (
        select(Movement)
        .where(
            Movement.org_id == principal.org_id,
            Movement.state.in_(PLANNED_STATES),
            Movement.departure_start < hi,
        )
        .order_by(Movement.departure_start, Movement.id)
    )
    out = []
    for m in session.scalars(stmt):
        if m.id == exclude:
            continue
        ends = m.planned_arrival + (m.departure_end - m.departure_start)
        if ends > lo:
            out.append(m)
    return out


def solve_game(
    graph: RoadGraph,
    routes: list[list[int]],
    trips: list[Trip],
    exposure: FloatArray | None,
    settings: GameSettings,
    start: date,
    days: int,
) -> tuple[Segmentation, list[TargetRow], SlotScheme, Solution]:
    forces = settings.forces()
    scheme = settings.scheme()
    seg = segment_routes(graph, routes, exposure, max_km=settings.max_km)
    rows = corridor_targets(
        seg,
        trips,
        scheme,
        start=start,
        days=days,
        forecast=exposure is not None,
        idle_people=settings.idle_people,
        overrides=settings.overrides,
        labels=_labels(graph, seg),
    )
    game = corridor_game(seg, rows, scheme, forces)
    return seg, rows, scheme, solve_corridor(game, solver=settings.solver)


def plan_routes(
    session: Session,
    *,
    principal: Principal,
    settings: GameSettings | None = None,
    days: int = 3,
    start: date | None = None,
    pairs: Sequence[Mapping[str, Any]] = (),
) -> RoutePlan:
    """The optimal randomised escort coverage of the road segments the organisation's planned
    movements use from ``start`` (today, Pakistan time) for ``days`` days, or of the routes
    between ``pairs`` (``{"origin", "destination", "party"}``; their parties count in every
    slot of every day)."""
    cfg = settings or GameSettings()
    _check_days(days)
    first = start or utcnow().astimezone(LOCAL_TZ).date()
    lo = datetime.combine(first, time(0), LOCAL_TZ)
    hi = lo + timedelta(days=days)
    graph = corridor_graph()
    exposure, forecast_id = route_exposure(session, principal, graph)
    routes: list[list[int]] = []
    trips: list[Trip] = []
    ids: list[str] = []
    if pairs:
        if len(pairs) > MAX_PAIRS:
            msg = f"{len(pairs)} origin/destination pairs; at most {MAX_PAIRS}"
            raise InvalidInput(msg)
        risk = exposure if exposure is not None else np.zeros(graph.n_edges)
        for i, pair in enumerate(pairs):
            a, _ = resolve_place(graph, str(pair["origin"]))
            b, _ = resolve_place(graph, str(pair["destination"]))
            if a == b:
                msg = f"pairs[{i}]: origin and destination are the same road node; give two places"
                raise InvalidInput(msg)
            party = pair.get("party", 1)
            if isinstance(party, bool) or not isinstance(party, int) or not 1 <= party <= 500:
                msg = f"pairs[{i}]: party {party!r} must be a whole number from 1 to 500"
                raise InvalidInput(msg)
            best = plan_route(graph, risk, [a, b], lam=DEFAULT_LAMBDA, k=1).routes[0]
            routes.append([int(e) for e in best.path.edges])
            trips.append(
                Trip(i, float(party), lo, hi, f"{pair['origin']} -> {pair['destination']}")
            )
    else:
        for m in planned_movements(session, principal, lo, hi, None):
            edges = edges_of(graph, m.route.get("coordinates") or [])
            if not edges:
                continue
            trips.append(
                Trip(len(routes), float(m.party), m.departure_start, m.departure_end, str(m.id))
            )
            routes.append(edges)
            ids.append(str(m.id))
        if not routes:
            msg = (
                f"no movement of your organisation is submitted, approved or under way between "
                f"{first.isoformat()} and {(first + timedelta(days=days - 1)).isoformat()}; "
                "request movements, widen --days/--start, or give origin/destination pairs"
            )
            raise InvalidInput(msg)
    seg, rows, scheme, sol = solve_game(graph, routes, trips, exposure, cfg, first, days)
    return RoutePlan(
        segmentation=seg,
        labels=_labels(graph, seg),
        targets=rows,
        slots=scheme,
        solution=sol,
        settings=cfg,
        movement_ids=ids,
        forecast_id=forecast_id,
        start=first,
        days=days,
    )


def sample_routes(
    session: Session,
    *,
    principal: Principal,
    settings: GameSettings | None = None,
    days: int = 3,
    start: date | None = None,
    pairs: Sequence[Mapping[str, Any]] = (),
    seed: int | None = None,
) -> tuple[RoutePlan, Calendar]:
    """Daily plans for the game's horizon drawn from its optimal coverage; the seed (fresh
    unless given) and the coverage go into the audit trail so the plans can be replayed."""
    plan = plan_routes(
        session, principal=principal, settings=settings, days=days, start=start, pairs=pairs
    )
    used = seed if seed is not None else secrets.randbelow(2**62)
    cal = calendar(plan.solution, days=days, seed=used, start=plan.start)
    audit.record(
        session,
        action="plan.routes.sample",
        actor=principal.actor,
        org_id=principal.org_id,
        object_type="plan",
        object_id=None,
        detail={
            "days": days,
            "start": plan.start.isoformat(),
            "seed": used,
            "resources": {r.name: r.count for r in plan.solution.game.resources},
            "forecast_id": plan.forecast_id,
            "movements": plan.movement_ids,
            "coverage": {
                t.target_id: round(float(x), 6)
                for t, x in zip(plan.targets, plan.solution.coverage, strict=True)
                if x > 1e-9
            },
        },
        now=utcnow(),
    )
    return plan, cal
