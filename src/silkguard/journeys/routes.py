"""Risk-weighted routes: the road graph priced with a risk forecast.

A vehicle on the road is exposed to attack for as long as it is there: the **exposure** of an
edge is the forecast attack density along it (from the stored risk surface), relative to the
corridor-wide mean density, integrated over the time spent on it. Its unit is the
*corridor-average hour*: an hour on a road whose forecast density is the corridor average. An
hour where the forecast is 30 times the average is 30 units. The route cost is
``travel time (s) + lambda x exposure``, lambda in seconds per unit (default 60: a minute of
extra driving is worth avoiding one corridor-average hour), with optional closed-area
penalties (see :func:`silkguard.network.routing.edge_costs`). Edges are priced along the
straight chord between their end nodes, sampled every ``step_km``; OSM edges run between
intersections and the corridor network's follow their road through waypoints, so chords are
close to the road.

**Night.** With a departure time (``plan_route(..., depart=...)``) each edge's exposure is
weighted up by the share of the time it is driven inside the night window
(:class:`~silkguard.journeys.night.NightWindow`, 18:00-06:00 Asia/Karachi by default):
``exposure x (1 + night_factor x night share)``, ``night_factor`` 1 by default as in the
departure comparison. The clock at each edge comes from a first search: the tree of cheapest
paths from the leg's origin under the day prices (``time + lambda x exposure``, the route
chosen without a departure) gives every node the time it is reached along that tree; each edge
is then priced as entered at its tail's clock, and the route is a plain Dijkstra (with the
penalty-method alternatives and the Pareto sweep) on these static night-aware weights. The
weights are exact for every edge whose tail the chosen route reaches along the day tree (always
so when the night does not change the route); a route that reaches a node by another path is
priced there with the tree's clock, off by the difference in arrival time. What is reported for
each route (schedule, arrival, night-weighted exposure) is computed exactly from its own edges.
Legs through ``via`` places start at the arrival of the chosen previous leg.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
from shapely import contains_xy
from shapely.geometry.base import BaseGeometry

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import haversine_km
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.journeys.departures import departure_times
from silkguard.journeys.night import NightWindow, Schedule, night_seconds_array, tree_times
from silkguard.network.graph import ROAD_CLASSES, RoadGraph
from silkguard.network.routing import Path, Router, alternatives, edge_costs, pareto_time_risk
from silkguard.risk.surface import Surface

__all__ = [
    "SNAP_KM",
    "DepartureRoute",
    "RoutePlan",
    "RouteSummary",
    "Stretch",
    "closed_edges",
    "edge_exposure",
    "night_costs",
    "plan_departures",
    "plan_route",
    "resolve_place",
    "road_label",
    "schedule_rows",
    "stretches",
]

FloatArray = npt.NDArray[np.float64]

#: Default weight of one corridor-average hour of exposure, in seconds of travel.
DEFAULT_LAMBDA = 60.0
#: The Pareto front sweeps lambda over these multiples of the chosen one.
_FRONT_FACTORS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)
#: How far a place may lie from the nearest road node.
SNAP_KM = 30.0


def resolve_place(graph: RoadGraph, text: str) -> tuple[int, str]:
    """A road node for ``LAT,LON`` or a place name (offline gazetteer), and a label."""
    lat: float | None = None
    lon: float | None = None
    parts = text.split(",")
    if len(parts) == 2:
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            lat = lon = None
    label = text
    if lat is None or lon is None:
        found = load_gazetteer().forward(text, limit=1)
        if not found:
            msg = f"place {text!r} is not in the gazetteer; check the spelling or give LAT,LON"
            raise InvalidInput(msg)
        lat, lon, label = found[0].latitude, found[0].longitude, found[0].name
    node = int(graph.snap([lat], [lon], max_km=SNAP_KM)[0])
    return node, label


def edge_exposure(graph: RoadGraph, surface: Surface, *, step_km: float = 2.0) -> FloatArray:
    """Exposure per edge in corridor-average hours: the mean forecast density along the edge
    relative to the corridor mean, times the hours spent on it. Edges off the risk grid have
    no exposure."""
    if not step_km > 0:
        msg = f"step_km must be positive, got {step_km}"
        raise InvalidInput(msg)
    grid = surface.grid
    mean = surface.mean_density
    density = surface.expected / grid.area_km2 / mean if mean > 0 else np.zeros(len(grid))
    tails, heads = graph.tails, graph.heads
    length_km = graph.length_m / 1000.0
    n_samples = np.maximum(1, np.ceil(length_km / step_km)).astype(np.int64)
    edge_of = np.repeat(np.arange(graph.n_edges), n_samples)
    starts = np.cumsum(n_samples) - n_samples
    frac = (np.arange(edge_of.size) - starts[edge_of] + 0.5) / n_samples[edge_of]
    lat = graph.node_lat[tails][edge_of] * (1 - frac) + graph.node_lat[heads][edge_of] * frac
    lon = graph.node_lon[tails][edge_of] * (1 - frac) + graph.node_lon[heads][edge_of] * frac
    cells = np.fromiter(
        (
            h3.str_to_int(h3.latlng_to_cell(float(a), float(b), grid.resolution))
            for a, b in zip(lat, lon, strict=True)
        ),
        dtype=np.int64,
        count=lat.size,
    )
    idx = grid.index_of(cells)
    sample_density = np.where(idx >= 0, density[np.maximum(idx, 0)], 0.0)
    sums = np.bincount(edge_of, weights=sample_density, minlength=graph.n_edges)
    mean_density = sums / n_samples
    hours = np.asarray(graph.travel_time_s, dtype=np.float64) / 3600.0
    return np.asarray(mean_density * hours, dtype=np.float64)


def closed_edges(graph: RoadGraph, areas: Sequence[BaseGeometry]) -> npt.NDArray[np.bool_]:
    """Edges closed by ``areas`` (polygons in lon/lat): those with an end or the midpoint of
    their chord inside one."""
    tails, heads = graph.tails, graph.heads
    mid_lat = (graph.node_lat[tails] + graph.node_lat[heads]) / 2
    mid_lon = (graph.node_lon[tails] + graph.node_lon[heads]) / 2
    points = (
        (graph.node_lon[tails], graph.node_lat[tails]),
        (mid_lon, mid_lat),
        (graph.node_lon[heads], graph.node_lat[heads]),
    )
    closed = np.zeros(graph.n_edges, dtype=bool)
    for area in areas:
        for lon, lat in points:
            closed |= np.asarray(contains_xy(area, lon, lat), dtype=bool)
    return closed


@dataclass(frozen=True)
class RouteSummary:
    """One proposed route with its time and risk.

    ``exposure`` is the plain exposure (corridor-average hours); with a departure,
    ``schedule`` says when each edge is driven and ``night_exposure`` is the exposure with the
    night weighting that priced the route (equal to ``exposure`` without a departure).
    ``riskiest`` orders edges by the exposure that priced them."""

    path: Path
    time_s: float
    exposure: float
    length_km: float
    #: Edge indices of the riskiest edges, most exposed first.
    riskiest: tuple[int, ...]
    schedule: Schedule | None = None
    night_exposure: float | None = None
    #: Exposure per edge of the route (driving order), with the night weighting if scheduled.
    edge_exposure: tuple[float, ...] = ()

    @property
    def priced_exposure(self) -> float:
        """The exposure that priced the route (night-weighted when there is a departure)."""
        return self.exposure if self.night_exposure is None else self.night_exposure

    @property
    def arrive(self) -> datetime | None:
        """The estimated arrival (free-flow speeds, no stops) when a departure was given."""
        return None if self.schedule is None else self.schedule.arrive

    @property
    def night_s(self) -> float:
        """Seconds of the trip inside the night window (0 without a departure)."""
        return 0.0 if self.schedule is None else float(self.schedule.night_s.sum())

    def edge_position(self, edge: int) -> int:
        """Where ``edge`` (an edge id) first comes on the route."""
        return int(np.flatnonzero(self.path.edges == edge)[0])

    def coordinates(self, graph: RoadGraph) -> list[tuple[float, float]]:
        """The route as GeoJSON ``[lon, lat]`` pairs."""
        return [(float(graph.node_lon[n]), float(graph.node_lat[n])) for n in self.path.nodes]

    def offsets_at(self, graph: RoadGraph, fractions: npt.ArrayLike) -> FloatArray:
        """Seconds after departure at which the route passes the given fractions (0-1) of its
        drawn length (the chords between its nodes, the line the risk assessment reads),
        assuming constant speed along each edge."""
        frac = np.clip(np.asarray(fractions, dtype=np.float64), 0.0, 1.0)
        nodes = self.path.nodes
        lat, lon = graph.node_lat[nodes], graph.node_lon[nodes]
        chord = np.array(
            [
                haversine_km(float(lat[i]), float(lon[i]), float(lat[i + 1]), float(lon[i + 1]))
                for i in range(nodes.size - 1)
            ],
            dtype=np.float64,
        )
        times = np.asarray(graph.travel_time_s, dtype=np.float64)[self.path.edges]
        if chord.size == 0:
            return np.zeros_like(frac)
        at_km = np.concatenate([[0.0], np.cumsum(chord)])
        at_s = np.concatenate([[0.0], np.cumsum(times)])
        if at_km[-1] <= 0:
            return np.asarray(frac * at_s[-1], dtype=np.float64)
        return np.asarray(np.interp(frac * at_km[-1], at_km, at_s), dtype=np.float64)


@dataclass(frozen=True)
class RoutePlan:
    """The recommended route, the alternatives and the time/risk trade-off."""

    routes: list[RouteSummary]
    pareto: list[tuple[float, float, float]]  # (lambda, time_s, exposure)
    lam: float
    #: The departure and night window the routes were priced with (None: no departure).
    depart: datetime | None = None
    night: NightWindow | None = None


def _summary(
    graph: RoadGraph,
    path: Path,
    exposure: FloatArray,
    top: int,
    depart: datetime | None = None,
    night: NightWindow | None = None,
) -> RouteSummary:
    edges = np.asarray(path.edges, dtype=np.int64)
    times = np.asarray(graph.travel_time_s, dtype=np.float64)[edges]
    plain = exposure[edges]
    schedule = None
    risk = plain
    if depart is not None:
        schedule = Schedule.of(depart, times, night or NightWindow())
        risk = plain * schedule.weights
    order = np.argsort(-risk, kind="stable")[:top]
    return RouteSummary(
        path=path,
        time_s=float(times.sum()),
        exposure=float(plain.sum()),
        length_km=float(graph.length_m[edges].sum() / 1000.0),
        riskiest=tuple(int(edges[i]) for i in order if risk[i] > 0),
        schedule=schedule,
        night_exposure=float(risk.sum()) if schedule is not None else None,
        edge_exposure=tuple(float(x) for x in risk),
    )


def night_costs(
    graph: RoadGraph,
    exposure: FloatArray,
    origin: int,
    *,
    lam: float,
    depart: datetime,
    night: NightWindow | None = None,
    start_s: float = 0.0,
    closed: npt.NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The static night-aware edge costs of a leg leaving ``origin`` ``start_s`` seconds after
    ``depart``, and the night-weighted exposure per edge (module docstring, "Night").

    The clock of node ``v`` is the travel time along the tree of cheapest day-priced paths
    (``time + lam x exposure``) from ``origin``; edge ``e`` is priced as entered at its tail's
    clock. Edges whose tail the origin cannot reach keep their day price."""
    w = night or NightWindow()
    time_s = np.asarray(graph.travel_time_s, dtype=np.float64)
    day = edge_costs(time_s, exposure, lam, closed=closed)
    tree = Router(graph.indptr, graph.heads, day).one_to_all(int(origin))
    clock = tree_times(int(origin), tree.pred_edge, graph.tails, time_s)
    enter = start_s + clock[graph.tails]
    dark = night_seconds_array(depart, enter, enter + time_s, w)
    share = np.divide(dark, time_s, out=np.zeros_like(dark), where=time_s > 0)
    weighted = np.asarray(exposure * (1.0 + w.factor * share), dtype=np.float64)
    return edge_costs(time_s, weighted, lam, closed=closed), weighted


def plan_route(
    graph: RoadGraph,
    exposure: FloatArray,
    waypoints: Sequence[int],
    *,
    lam: float = DEFAULT_LAMBDA,
    closed: npt.NDArray[np.bool_] | None = None,
    k: int = 3,
    top: int = 3,
    depart: datetime | None = None,
    night: NightWindow | None = None,
    with_front: bool = True,
) -> RoutePlan:
    """The best route through ``waypoints`` (node indices, in order) under
    ``time + lam x exposure``, up to ``k`` diverse alternatives (between the first and last
    waypoint when there are no intermediate ones) and the time/risk Pareto front.

    With ``depart`` (time-zone aware) the exposure of each edge is weighted up by its share
    of night driving (``night``, default :class:`NightWindow`; see the module docstring) and
    every route carries its schedule; without it routes are priced as before. ``with_front=False``
    leaves out the Pareto front."""
    if len(waypoints) < 2:
        msg = "a route needs an origin and a destination"
        raise InvalidInput(msg)
    if not (lam >= 0 and math.isfinite(lam)):
        msg = f"the risk weight lambda must be a non-negative number, got {lam}"
        raise InvalidInput(msg)
    window = (night or NightWindow()) if depart is not None else None
    if depart is not None:
        assert window is not None
        window.local_offset_s(depart)  # a naive departure is refused here, naming it
    time_s = np.asarray(graph.travel_time_s, dtype=np.float64)
    day_cost = edge_costs(time_s, exposure, lam, closed=closed)
    legs: list[list[Path]] = []
    first_risk = exposure
    start_s = 0.0
    for a, b in pairwise(waypoints):
        cost = day_cost
        if depart is not None:
            cost, risk = night_costs(
                graph,
                exposure,
                int(a),
                lam=lam,
                depart=depart,
                night=window,
                start_s=start_s,
                closed=closed,
            )
            if not legs:
                first_risk = risk
        found = alternatives(graph.indptr, graph.heads, cost, int(a), int(b), k=k)
        if not found:
            msg = (
                f"no road leads from node {a} to node {b} (closed areas may cut it off); "
                "check the places or the areas to avoid"
            )
            raise InvalidInput(msg)
        legs.append(found)
        start_s += float(time_s[found[0].edges].sum())
    if len(legs) == 1:
        paths = legs[0]
    else:  # through waypoints: the best of each leg, joined
        nodes = np.concatenate([legs[0][0].nodes] + [leg[0].nodes[1:] for leg in legs[1:]])
        edges = np.concatenate([leg[0].edges for leg in legs])
        paths = [Path(nodes=nodes, edges=edges, cost=float(sum(leg[0].cost for leg in legs)))]
    routes = [_summary(graph, p, exposure, top, depart, window) for p in paths]
    front: list[tuple[float, float, float]] = []
    if with_front and len(waypoints) == 2:
        base = lam if lam > 0 else DEFAULT_LAMBDA
        for lam_i, _path, t, r in pareto_time_risk(
            graph.indptr,
            graph.heads,
            time_s,
            first_risk,
            int(waypoints[0]),
            int(waypoints[1]),
            lambdas=tuple(base * f for f in _FRONT_FACTORS),
            closed=closed,
        ):
            front.append((float(lam_i), float(t), float(r)))
    return RoutePlan(routes=routes, pareto=front, lam=lam, depart=depart, night=window)


@dataclass(frozen=True)
class DepartureRoute:
    """One departure of a window with the route planned for it."""

    depart: datetime
    route: RouteSummary
    #: What the route minimised: travel seconds + lambda x night-weighted exposure.
    cost: float


def plan_departures(
    graph: RoadGraph,
    exposure: FloatArray,
    waypoints: Sequence[int],
    *,
    earliest: datetime,
    latest: datetime,
    every: timedelta = timedelta(hours=1),
    lam: float = DEFAULT_LAMBDA,
    closed: npt.NDArray[np.bool_] | None = None,
    night: NightWindow | None = None,
) -> list[DepartureRoute]:
    """The best route for every departure of the window, cheapest first; at equal cost the
    one with less night driving, then the earlier departure (without a forecast every cost
    is the travel time, so the daylight departures come first). The route is planned again
    for each departure: the night weighting moves with the clock, so a later start may take
    another road, not only the same road at another hour."""
    out = []
    for depart in departure_times(earliest, latest, every):
        plan = plan_route(
            graph,
            exposure,
            waypoints,
            lam=lam,
            closed=closed,
            k=1,
            depart=depart,
            night=night,
            with_front=False,
        )
        best = plan.routes[0]
        out.append(DepartureRoute(depart=depart, route=best, cost=best.path.cost))
    return sorted(out, key=lambda o: (o.cost, o.route.night_s, o.depart))


@dataclass(frozen=True)
class Stretch:
    """Consecutive edges of a route on one named road: where, when and how exposed."""

    road: str
    first_edge: int  # position in the route, driving order
    last_edge: int
    km_from: float
    km_to: float
    exposure: float  # night-weighted when the route has a schedule
    enter_s: float | None = None  # seconds after departure
    leave_s: float | None = None
    night_s: float = 0.0


def road_label(graph: RoadGraph, edge: int) -> str:
    """An edge's road name, or its class when unnamed."""
    idx = int(graph.name_idx[edge])
    return graph.names[idx] if idx >= 0 else ROAD_CLASSES[int(graph.road_class[edge])]


def stretches(graph: RoadGraph, route: RouteSummary) -> list[Stretch]:
    """The route as stretches of one road each, in driving order, with their schedule."""
    edges = np.asarray(route.path.edges, dtype=np.int64)
    if edges.size == 0:
        return []
    km = np.concatenate([[0.0], np.cumsum(graph.length_m[edges] / 1000.0)])
    names = [road_label(graph, int(e)) for e in edges]
    risk = np.asarray(route.edge_exposure, dtype=np.float64)
    if risk.size != edges.size:
        risk = np.zeros(edges.size)
    sched = route.schedule
    out: list[Stretch] = []
    start = 0
    for i in range(1, edges.size + 1):
        if i < edges.size and names[i] == names[start]:
            continue
        out.append(
            Stretch(
                road=names[start],
                first_edge=start,
                last_edge=i - 1,
                km_from=float(km[start]),
                km_to=float(km[i]),
                exposure=float(risk[start:i].sum()),
                enter_s=None if sched is None else float(sched.enter_s[start]),
                leave_s=None if sched is None else float(sched.leave_s[i - 1]),
                night_s=0.0 if sched is None else float(sched.night_s[start:i].sum()),
            )
        )
        start = i
    return out


def schedule_rows(
    graph: RoadGraph, route: RouteSummary, *, with_exposure: bool = True
) -> list[dict[str, Any]]:
    """The route's schedule as JSON rows, one per stretch (none without a departure time);
    ``with_exposure=False`` leaves the exposure out (``None``) when there is no forecast."""
    sched = route.schedule
    if sched is None:
        return []
    return [
        {
            "road": st.road,
            "km_from": round(st.km_from, 1),
            "km_to": round(st.km_to, 1),
            "enter": sched.when(st.enter_s or 0.0).isoformat(),
            "leave": sched.when(st.leave_s or 0.0).isoformat(),
            "night_s": round(st.night_s, 1),
            "at_night": st.night_s > 0,
            "exposure": round(st.exposure, 4) if with_exposure else None,
        }
        for st in stretches(graph, route)
    ]
