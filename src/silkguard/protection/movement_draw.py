"""A movement's route and departure drawn together at random, within policy and in step with
the escort game (issue 8). The rule is in :mod:`silkguard.protection.route_draw`.

Why one joint draw rather than a route draw next to the departure draw: the game's coverage
depends on the time slot, so how well a route is covered depends on when the party leaves,
and the departures that keep night driving low differ by route (their trip times differ).
Drawing the pair keeps both choices consistent with the coverage they are weighed by.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput
from silkguard.journeys import service as movements
from silkguard.journeys.departures import compare_departures
from silkguard.journeys.models import Movement
from silkguard.journeys.routes import DEFAULT_LAMBDA
from silkguard.network.corridor import corridor_graph
from silkguard.protection.corridor import LOCAL_TZ, Trip
from silkguard.protection.route_draw import Candidate, choose, trip_risk
from silkguard.protection.route_plans import (
    GameSettings,
    edges_of,
    planned_movements,
    route_exposure,
    solve_game,
)
from silkguard.protection.service import DEPARTURE_TOLERANCE

__all__ = ["ROUTE_TOLERANCE", "RouteDraw", "draw_route"]

#: Route options whose risk is within this share of the best allowed one may be drawn.
ROUTE_TOLERANCE = 0.25


@dataclass(frozen=True)
class RouteDraw:
    movement_id: str
    route: int
    departure: datetime
    probability: float
    seed: int
    candidates: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    route_doc: dict[str, Any]


def _route_risk(doc: Mapping[str, Any]) -> float:
    exposure = doc.get("exposure")
    return float(exposure) if exposure is not None else float(doc["time_s"]) / 3600.0


def _eligible(
    options: Sequence[movements.RouteOption], tolerance: float, m: Movement
) -> tuple[list[movements.RouteOption], list[dict[str, Any]]]:
    """The options the policy allows within ``tolerance`` of the best, and why the others
    are left out."""
    excluded: list[dict[str, Any]] = []
    allowed = []
    for o in options:
        if o.decision["allowed"]:
            allowed.append(o)
        else:
            why = f"policy: {o.decision['status']}"
            excluded.append({"route": o.rank, "why": why, "reasons": o.decision["reasons"]})
    if not allowed:
        msg = (
            f"no route option of movement {m.id} is allowed by the policy with its "
            f"measures {m.measures}; add the measures the policy requires"
        )
        raise InvalidInput(msg)
    best = min(_route_risk(o.route) for o in allowed)
    eligible = []
    for o in allowed:
        risk = _route_risk(o.route)
        if risk <= best * (1 + tolerance) + 1e-12:
            eligible.append(o)
        else:
            why = f"risk {risk:.3g} is over {1 + tolerance:g} x the best {best:.3g}"
            excluded.append({"route": o.rank, "why": why})
    return eligible, excluded


def _options(session: Session, principal: Principal, m: Movement) -> list[movements.RouteOption]:
    point = "{:.6f},{:.6f}".format
    return movements.route_options(
        session,
        principal=principal,
        origin=point(m.origin_lat, m.origin_lon),
        destination=point(m.destination_lat, m.destination_lon),
        via=[point(float(w["lat"]), float(w["lon"])) for w in m.waypoints],
        departure=m.departure_start,
        departure_latest=m.departure_end,
        arrival=m.planned_arrival,
        vehicles=m.vehicles,
        party=m.party,
        measures=m.measures,
        lam=float(m.route.get("lambda") or DEFAULT_LAMBDA),
        graph=corridor_graph(),
    ).options


def draw_route(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    settings: GameSettings | None = None,
    every: timedelta = timedelta(minutes=15),
    tolerance: float = ROUTE_TOLERANCE,
    seed: int | None = None,
) -> RouteDraw:
    """Draw a movement's route and departure jointly. Eligible routes: the route options the
    policy allows with the movement's measures whose risk (exposure; hours without a
    forecast) is within ``tolerance`` of the best allowed one; for each, the departures of
    the window within the departure tolerance of its best. The game is the escort game of the
    organisation's other planned movements plus this movement's eligible routes, its party
    spread evenly over them. The draw, its seed and probability go into the movement's
    history and the audit trail; the stored route and window are not changed."""
    if not (math.isfinite(tolerance) and 0 <= tolerance <= 10):
        msg = f"tolerance {tolerance!r}: a share from 0 to 10 (0.25 = within 25% of the best)"
        raise InvalidInput(msg)
    m = movements.get_movement(session, principal=principal, movement_id=movement_id)
    if m.state not in ("draft", "submitted", "approved"):
        msg = f"movement {movement_id} is {m.state}; only a movement not yet under way gets a route"
        raise InvalidInput(msg)
    eligible, excluded = _eligible(_options(session, principal, m), tolerance, m)
    graph = corridor_graph()
    first = m.departure_start.astimezone(LOCAL_TZ).date()
    longest = max(float(o.route["time_s"]) for o in eligible)
    days = (m.departure_end + timedelta(seconds=longest)).astimezone(LOCAL_TZ).date() - first
    lo = datetime.combine(first, time(0), LOCAL_TZ)
    routes: list[list[int]] = []
    trips: list[Trip] = []
    for other in planned_movements(session, principal, lo, lo + days + timedelta(days=1), m.id):
        edges = edges_of(graph, other.route.get("coordinates") or [])
        if edges:
            name = str(other.id)
            trips.append(
                Trip(len(routes), other.party, other.departure_start, other.departure_end, name)
            )
            routes.append(edges)
    mine = len(routes)
    share = m.party / len(eligible)
    for o in eligible:
        name = f"this movement, option {o.rank}"
        trips.append(Trip(len(routes), share, m.departure_start, m.departure_end, name))
        routes.append(edges_of(graph, o.route["coordinates"]))
    exposure, _ = route_exposure(session, principal, graph)
    cfg = settings or GameSettings()
    seg, rows, scheme, sol = solve_game(graph, routes, trips, exposure, cfg, first, days.days + 1)
    likelihood = np.array([r.likelihood for r in rows])
    candidates: list[Candidate] = []
    for j, o in enumerate(eligible):
        departures = compare_departures(
            trip_s=float(o.route["time_s"]),
            exposure=float(o.route.get("exposure") or 0.0),
            earliest=m.departure_start,
            latest=m.departure_end,
            every=every,
        )
        top = departures[0].score
        for d in sorted(departures, key=lambda x: x.depart):
            if d.score <= top * (1 + DEPARTURE_TOLERANCE) + 1e-9:
                r, e = trip_risk(seg.passages[mine + j], d.depart, scheme, likelihood, sol.coverage)
                candidates.append(Candidate(o.rank, d.depart, r, e))
    used = seed if seed is not None else secrets.randbelow(2**62)
    index, probs = choose(candidates, used)
    chosen = candidates[index]
    movements.record_note(
        session,
        principal=principal,
        movement_id=m.id,
        detail={
            "action": "randomized_route",
            "route": chosen.route,
            "departure": chosen.depart.isoformat(),
            "probability": round(float(probs[index]), 6),
            "candidates": len(candidates),
            "routes": sorted({c.route for c in candidates}),
            "seed": used,
            "resources": {r.name: r.count for r in sol.game.resources},
        },
    )
    return RouteDraw(
        movement_id=str(m.id),
        route=chosen.route,
        departure=chosen.depart,
        probability=float(probs[index]),
        seed=used,
        candidates=[
            {
                "route": c.route,
                "departure": c.depart.isoformat(),
                "risk": round(c.risk, 6),
                "uncovered": round(c.uncovered, 6),
                "probability": round(float(p), 6),
            }
            for c, p in zip(candidates, probs, strict=True)
        ],
        excluded=excluded,
        route_doc=next(o.route for o in eligible if o.rank == chosen.route),
    )
