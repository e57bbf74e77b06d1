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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import h3
import numpy as np
import numpy.typing as npt
from shapely import contains_xy
from shapely.geometry.base import BaseGeometry

from silkguard.core.errors import InvalidInput
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.network.graph import RoadGraph
from silkguard.network.routing import Path, alternatives, edge_costs, pareto_time_risk
from silkguard.risk.surface import Surface

__all__ = [
    "SNAP_KM",
    "RoutePlan",
    "RouteSummary",
    "closed_edges",
    "edge_exposure",
    "plan_route",
    "resolve_place",
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
    """One proposed route with its time and risk."""

    path: Path
    time_s: float
    exposure: float
    length_km: float
    #: Edge indices of the riskiest edges, most exposed first.
    riskiest: tuple[int, ...]

    def coordinates(self, graph: RoadGraph) -> list[tuple[float, float]]:
        """The route as GeoJSON ``[lon, lat]`` pairs."""
        return [(float(graph.node_lon[n]), float(graph.node_lat[n])) for n in self.path.nodes]


@dataclass(frozen=True)
class RoutePlan:
    """The recommended route, the alternatives and the time/risk trade-off."""

    routes: list[RouteSummary]
    pareto: list[tuple[float, float, float]]  # (lambda, time_s, exposure)
    lam: float


def _summary(graph: RoadGraph, path: Path, exposure: FloatArray, top: int) -> RouteSummary:
    edges = np.asarray(path.edges, dtype=np.int64)
    times = np.asarray(graph.travel_time_s, dtype=np.float64)[edges]
    risk = exposure[edges]
    order = np.argsort(-risk, kind="stable")[:top]
    return RouteSummary(
        path=path,
        time_s=float(times.sum()),
        exposure=float(risk.sum()),
        length_km=float(graph.length_m[edges].sum() / 1000.0),
        riskiest=tuple(int(edges[i]) for i in order if risk[i] > 0),
    )


def plan_route(
    graph: RoadGraph,
    exposure: FloatArray,
    waypoints: Sequence[int],
    *,
    lam: float = DEFAULT_LAMBDA,
    closed: npt.NDArray[np.bool_] | None = None,
    k: int = 3,
    top: int = 3,
) -> RoutePlan:
    """The best route through ``waypoints`` (node indices, in order) under
    ``time + lam x exposure``, up to ``k`` diverse alternatives (between the first and last
    waypoint when there are no intermediate ones) and the time/risk Pareto front."""
    if len(waypoints) < 2:
        msg = "a route needs an origin and a destination"
        raise InvalidInput(msg)
    if not (lam >= 0 and math.isfinite(lam)):
        msg = f"the risk weight lambda must be a non-negative number, got {lam}"
        raise InvalidInput(msg)
    time_s = np.asarray(graph.travel_time_s, dtype=np.float64)
    cost = edge_costs(time_s, exposure, lam, closed=closed)
    legs: list[list[Path]] = []
    for a, b in pairwise(waypoints):
        found = alternatives(graph.indptr, graph.heads, cost, int(a), int(b), k=k)
        if not found:
            msg = (
                f"no road leads from node {a} to node {b} (closed areas may cut it off); "
                "check the places or the areas to avoid"
            )
            raise InvalidInput(msg)
        legs.append(found)
    if len(legs) == 1:
        paths = legs[0]
    else:  # through waypoints: the best of each leg, joined
        nodes = np.concatenate([legs[0][0].nodes] + [leg[0].nodes[1:] for leg in legs[1:]])
        edges = np.concatenate([leg[0].edges for leg in legs])
        paths = [Path(nodes=nodes, edges=edges, cost=float(sum(leg[0].cost for leg in legs)))]
    routes = [_summary(graph, p, exposure, top) for p in paths]
    front: list[tuple[float, float, float]] = []
    if len(waypoints) == 2:
        base = lam if lam > 0 else DEFAULT_LAMBDA
        for lam_i, _path, t, r in pareto_time_risk(
            graph.indptr,
            graph.heads,
            time_s,
            exposure,
            int(waypoints[0]),
            int(waypoints[1]),
            lambdas=tuple(base * f for f in _FRONT_FACTORS),
            closed=closed,
        ):
            front.append((float(lam_i), float(t), float(r)))
    return RoutePlan(routes=routes, pareto=front, lam=lam)
