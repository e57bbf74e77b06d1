"""Risk-weighted route query speed against networkx, scipy and pandana (issue 6).

Three graphs are measured in the same run:

* the shipped corridor network (:func:`silkguard.network.corridor.corridor_graph`), between
  seeded random pairs of towns;
* ``country`` (:func:`country_graph`), a generated country-sized road graph of at least two
  million nodes: a jittered square lattice (0.6 km spacing, about 860 km across, centred on
  Pakistan) with a fifth of its minor streets removed at random, reduced to its largest
  connected component. It is planar, its nodes have mostly degree 2-4, and it has a
  hierarchy of speed classes (every 48th row and column a trunk road at 80 km/h, every 12th a
  primary road at 50 km/h, the rest tertiary or residential streets at 30-40 km/h). Every
  road is two-way; lengths come from the coordinates times a winding factor of 1.00-1.25.
  A lattice is the worst case for a customizable contraction hierarchy (its separators grow
  like the square root of the piece);
* ``towns`` (:func:`towns_graph`), a generated country of at least two million nodes built
  the way national road networks are: about 3,000 towns whose sizes follow a heavy-tailed
  law (street grids from 4 x 4 villages to 350 x 350 cities, 0.12 km blocks, every 8th
  street and the outer ring an arterial at 45 km/h, a tenth of the others at 35, the rest
  residential at 25, 15 % of the non-arterial streets missing) placed at random over
  1,100 x 900 km with 2 km between town boxes, joined by intercity roads: the Gabriel graph
  of the town centres (planar), its minimum spanning tree plus a third of its other edges,
  dropping any road that would cross a third town. Each road is a straight chain of
  degree-2 shape nodes every 60-220 m joined to the boundary street where it leaves each
  town; the roads on the shortest connections between the ten largest towns are motorways
  (100 km/h), roads between two towns of more than 400 street nodes primary (70), the rest
  secondary (60) or tertiary (45). Winding factors 1.0-1.1 in towns, 1.05-1.35 on the
  intercity roads. Planar by construction (checked with shapely on a tenth-size instance:
  no two edges cross).

Each edge gets a risk exposure (a few Gaussian hot spots, intensity times the seconds spent on
the edge) and the cost ``travel time + lam * risk`` (:func:`silkguard.network.routing.
edge_costs`, ``lam = 1``). pandana stores weights as integer thousandths (it truncates), and
float sums depend on their order, so the costs are rounded to multiples of 1/8 s (exact both
in binary and in thousandths): every method routes on exactly the same weights and the path
costs of all methods must agree to 1e-6 relative, or the benchmark fails.

On each big graph two sets of pairs are used: ``long`` (uniformly random nodes, typically a few
hundred kilometres apart: the country-scale query) and ``local`` (targets 5-30 km from the
source). networkx is slow and memory-hungry there, so it runs on the first
``NX_LONG_PAIRS`` long pairs and on all local pairs, and its per-query average is compared
with the other methods' averages on the same pairs.

Methods: the prepared :class:`~silkguard.network.routing.Router` (``shortest_path``, default
``auto`` method); the one-off module function :func:`~silkguard.network.routing.
shortest_path`; ``scipy.sparse.csgraph.dijkstra(indices=s)`` (full one-to-all search per
query, matrix built beforehand); networkx ``bidirectional_dijkstra`` on a ``DiGraph``;
pandana's contraction hierarchies (``Network`` preprocessing, batched
``shortest_path_lengths``), a benchmark-only dependency (AGPL), reported as unavailable when
it cannot be imported. Also measured: re-weighting after a risk update (new risk array ->
``edge_costs`` -> ``Router.with_cost``, with and without building its scipy matrix; the
CCH re-customization with the perfect customization on one thread and on numba's threads,
and the basic customization alone) against pandana's full preprocessing,
``RoadGraph.save``/``load`` and memory per node.

Results are printed and written to ``benchmarks/results/route_speed.json``.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.csgraph import dijkstra as csgraph_dijkstra

from silkguard.network.cch import CCH, CCHMetric, build_cch
from silkguard.network.corridor import corridor_graph, town_names
from silkguard.network.graph import ROAD_CLASSES, RoadGraph
from silkguard.network.routing import Router, edge_costs, shortest_path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

SIDE = 1_440  # lattice side: 2,073,600 nodes before the largest component is taken
MIN_NODES = 2_000_000
SPACING_KM = 0.6
LAT0, LON0 = 30.0, 70.0
LAM = 1.0
PAIRS = 20
NX_LONG_PAIRS = 10  # networkx takes about 4 s a long pair on the towns graph
BIG_GRAPHS = ("country", "towns")
ONE_OFF_PAIRS = 3
REL_TOL = 1e-6
GOALS = {
    "speedup_vs_networkx": 1_000.0,
    "vs_pandana_batched_max_ratio": 2.0,  # "on par": at most twice pandana's per-query time
    "reweight_vs_pandana_preprocessing": 0.1,
    "load_s": 1.0,
}

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- helpers


def _rss_mb() -> float:
    """Resident set size of this process in MB (Linux; NaN elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return math.nan
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _quantise(cost: FloatArray) -> FloatArray:
    """Costs rounded to multiples of 1/8 s: exact in binary (so every summation order gives
    the same path cost) and in pandana's thousandths (125 per step)."""
    return np.round(cost * 8.0) / 8.0


def _risk(graph: RoadGraph, seed: int, n_blobs: int, sigma_km: tuple[float, float]) -> FloatArray:
    """Risk exposure per edge: a sum of Gaussian hot spots at the edge midpoint times the
    seconds spent on the edge (so ``lam = 1`` turns an intensity of 1 into doubled time)."""
    rng = np.random.default_rng(seed)
    tails = graph.tails
    lat = 0.5 * (graph.node_lat[tails] + graph.node_lat[graph.heads])
    lon = 0.5 * (graph.node_lon[tails] + graph.node_lon[graph.heads])
    kx = 111.2 * math.cos(math.radians(float(graph.node_lat.mean())))
    lat_lo, lat_hi = float(graph.node_lat.min()), float(graph.node_lat.max())
    lon_lo, lon_hi = float(graph.node_lon.min()), float(graph.node_lon.max())
    intensity = np.zeros(lat.size)
    for _ in range(n_blobs):
        clat, clon = rng.uniform(lat_lo, lat_hi), rng.uniform(lon_lo, lon_hi)
        sigma = rng.uniform(*sigma_km)
        amp = rng.uniform(0.5, 3.0)
        d2 = ((lat - clat) * 111.2) ** 2 + ((lon - clon) * kx) ** 2
        intensity += amp * np.exp(-0.5 * d2 / sigma**2)
    return np.asarray(intensity * graph.travel_time_s, dtype=np.float64)


# --------------------------------------------------------------------------- graph


def country_graph(side: int = SIDE, seed: int = 7) -> tuple[RoadGraph, dict[str, Any]]:
    """The generated road-like lattice graph (see the module docstring) and its statistics."""
    rng = np.random.default_rng(seed)
    n = side * side
    rows, cols = np.divmod(np.arange(n, dtype=np.int64), side)
    dlat = SPACING_KM / 111.2
    dlon = SPACING_KM / (111.2 * math.cos(math.radians(LAT0)))
    jitter = 0.25  # in units of the spacing
    lat = LAT0 + (rows - side / 2 + rng.uniform(-jitter, jitter, n)) * dlat
    lon = LON0 + (cols - side / 2 + rng.uniform(-jitter, jitter, n)) * dlon

    # undirected lattice edges: horizontal along a row, vertical along a column
    h_from = (rows * side + cols)[cols < side - 1]
    v_from = (rows * side + cols)[rows < side - 1]
    a = np.concatenate([h_from, v_from])
    b = np.concatenate([h_from + 1, v_from + side])
    line = np.concatenate([rows[h_from], cols[v_from]])  # the row or column the road runs on
    trunk = line % 48 == 0
    primary = ~trunk & (line % 12 == 0)
    minor = ~(trunk | primary)
    keep = ~minor | (rng.random(a.size) >= 0.2)
    a, b, trunk, primary, minor = a[keep], b[keep], trunk[keep], primary[keep], minor[keep]

    adj = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    _, label = connected_components(adj, directed=False)
    largest = int(np.bincount(label).argmax())
    node_keep = label == largest
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[node_keep] = np.arange(int(node_keep.sum()))
    edge_keep = node_keep[a]  # both ends share a component
    a, b = new_id[a[edge_keep]], new_id[b[edge_keep]]
    trunk, primary, minor = trunk[edge_keep], primary[edge_keep], minor[edge_keep]
    lat, lon = lat[node_keep], lon[node_keep]

    tertiary = minor & (rng.random(a.size) < 0.3)
    speed = np.where(trunk, 80.0, np.where(primary, 50.0, np.where(tertiary, 40.0, 30.0)))
    rclass = np.where(
        trunk,
        ROAD_CLASSES.index("trunk"),
        np.where(
            primary,
            ROAD_CLASSES.index("primary"),
            np.where(tertiary, ROAD_CLASSES.index("tertiary"), ROAD_CLASSES.index("residential")),
        ),
    )
    kx = 111.2 * math.cos(math.radians(LAT0))
    dist_km = np.hypot((lat[a] - lat[b]) * 111.2, (lon[a] - lon[b]) * kx)
    length_m = 1000.0 * dist_km * rng.uniform(1.0, 1.25, a.size)
    graph = RoadGraph.from_edges(
        lat,
        lon,
        np.concatenate([a, b]),
        np.concatenate([b, a]),
        np.concatenate([length_m, length_m]),
        np.concatenate([speed, speed]).astype(np.float32),
        np.concatenate([rclass, rclass]).astype(np.uint8),
        np.full(2 * a.size, -1, dtype=np.int32),
        (),
    )
    degree = np.diff(graph.indptr)
    hist = np.bincount(degree)
    stats = {
        "lattice_side": side,
        "nodes": graph.n_nodes,
        "directed_edges": graph.n_edges,
        "largest_component_share": float(node_keep.mean()),
        "degree_share": {str(d): float(c / graph.n_nodes) for d, c in enumerate(hist) if c},
        "share_degree_2_to_4": float(((degree >= 2) & (degree <= 4)).mean()),
        "edge_length_m_p5_p50_p95": [float(x) for x in np.percentile(length_m, [5, 50, 95])],
        "speed_share_kmh": {
            str(int(s)): float(np.mean(speed == s)) for s in sorted(set(speed.tolist()))
        },
        "extent_km": [float((lat.max() - lat.min()) * 111.2), float((lon.max() - lon.min()) * kx)],
    }
    return graph, stats


# --------------------------------------------------------------------------- towns-and-roads graph

TOWN_NODES = 1_650_000  # nodes of the town street grids (before the largest component)
DOMAIN_KM = (1_100.0, 900.0)
TOWN_SPACING_KM = 0.12
TOWN_GAP_KM = 2.0  # free space kept between town boxes
ROAD_MARGIN_KM = 0.6  # an intercity road's first shape node lies this far outside its town
HIGHWAY_TOWNS = 10  # motorways: shortest roads between every pair of the largest towns


def _town_sides(rng: np.random.Generator, target: int) -> npt.NDArray[np.int64]:
    """Town grid sides (nodes per side), Pareto-like (many villages, few big cities), drawn
    until their nodes reach ``target``; largest first."""
    sides: list[int] = []
    total = 0
    while total < target:
        s = int(min(350, round(4.0 * (1.0 - rng.random()) ** (-1.0 / 1.6))))
        sides.append(s)
        total += s * s
    return np.sort(np.asarray(sides, dtype=np.int64))[::-1]


def _place_towns(
    rng: np.random.Generator, half: FloatArray, domain: tuple[float, float]
) -> FloatArray:
    """Town centres (km), largest first, at random where their boxes (``half`` side) keep
    :data:`TOWN_GAP_KM` from every box placed before."""
    centre = np.empty((half.size, 2))
    for i, h in enumerate(half.tolist()):
        for _ in range(10_000):
            c = rng.uniform([h + 1.0, h + 1.0], [domain[0] - h - 1.0, domain[1] - h - 1.0])
            near = np.abs(centre[:i] - c) < (half[:i] + h + TOWN_GAP_KM)[:, None]
            if not (near[:, 0] & near[:, 1]).any():
                centre[i] = c
                break
        else:
            raise AssertionError(f"no room for town {i} of half-side {h:.1f} km")
    return centre


def _gabriel_edges(points: FloatArray) -> npt.NDArray[np.int64]:
    """Edges ``(i, j)`` of the Gabriel graph (no other point in the circle on the edge as
    diameter; planar): the Delaunay edges whose opposite triangle corners see them under an
    angle below 90 degrees."""
    from scipy.spatial import Delaunay

    tri = Delaunay(points).simplices
    pairs, opposite = [], []
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        pairs.append(np.sort(tri[:, [a, b]], axis=1))
        opposite.append(tri[:, c])
    ij = np.concatenate(pairs)
    k = np.concatenate(opposite)
    pi, pj, pk = points[ij[:, 0]], points[ij[:, 1]], points[k]
    obtuse = np.einsum("ij,ij->i", pi - pk, pj - pk) <= 0.0  # k inside the diametral circle
    key = ij[:, 0] * points.shape[0] + ij[:, 1]
    bad = np.unique(key[obtuse])
    keys = np.unique(key)
    keys = keys[~np.isin(keys, bad)]
    return np.column_stack(np.divmod(keys, points.shape[0]))


def _crosses_other_box(
    centre: FloatArray, half: FloatArray, ij: npt.NDArray[np.int64], pad: float
) -> npt.NDArray[np.bool_]:
    """Whether the segment between the centres of each town pair ``ij`` passes through the
    box (grown by ``pad``) of any third town (slab test, in chunks)."""
    out = np.zeros(ij.shape[0], dtype=bool)
    lo = centre - (half + pad)[:, None]
    hi = centre + (half + pad)[:, None]
    for start in range(0, ij.shape[0], 256):
        pair = ij[start : start + 256]
        p = centre[pair[:, 0]][:, None, :]
        d = centre[pair[:, 1]][:, None, :] - p
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (lo[None] - p) / d
            t2 = (hi[None] - p) / d
        inside = (lo[None] <= p) & (p <= hi[None])  # for d == 0 along an axis
        tmin = np.where(d == 0, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
        tmax = np.where(d == 0, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
        enter = np.maximum(np.maximum(tmin[..., 0], tmin[..., 1]), 0.0)
        leave = np.minimum(np.minimum(tmax[..., 0], tmax[..., 1]), 1.0)
        hit = enter <= leave
        rows = np.arange(pair.shape[0])
        hit[rows, pair[:, 0]] = False
        hit[rows, pair[:, 1]] = False
        out[start : start + 256] = hit.any(axis=1)
    return out


def _town_grids(
    rng: np.random.Generator, sides: npt.NDArray[np.int64], half: FloatArray, centre: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64], Any, Any]:
    """Town street grids (km coordinates): jittered lattices of :data:`TOWN_SPACING_KM`,
    every 8th line and the outer ring an arterial, 15 % of the other streets missing.
    Returns ``x, y``, the street ends ``a, b``, 1 for an arterial else 0, and each town's
    first node id."""
    sp_km = TOWN_SPACING_KM
    towns = sides.size
    first = np.zeros(towns + 1, dtype=np.int64)
    np.cumsum(sides * sides, out=first[1:])
    xs, ys, ea, eb, ecls = [], [], [], [], []
    for i, s in enumerate(sides.tolist()):
        r, c = np.divmod(np.arange(s * s, dtype=np.int64), s)
        inner = (r > 0) & (r < s - 1) & (c > 0) & (c < s - 1)
        jit = rng.uniform(-0.2, 0.2, (2, s * s)) * inner
        xs.append(centre[i, 0] - half[i] + (c + jit[0]) * sp_km)
        ys.append(centre[i, 1] - half[i] + (r + jit[1]) * sp_km)
        h_from = (r * s + c)[c < s - 1]
        v_from = (r * s + c)[r < s - 1]
        a = np.concatenate([h_from, v_from])
        b = np.concatenate([h_from + 1, v_from + s])
        line = np.concatenate([r[h_from], c[v_from]])
        arterial = (line % 8 == 0) | (line == s - 1)
        keep = arterial | (rng.random(a.size) >= 0.15)
        ea.append(first[i] + a[keep])
        eb.append(first[i] + b[keep])
        ecls.append(np.where(arterial[keep], 1, 0))  # 1 arterial, 0 local street
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    street_a, street_b = np.concatenate(ea), np.concatenate(eb)
    street_cls = np.concatenate(ecls)

    return x, y, street_a, street_b, street_cls, first


def _intercity_roads(
    rng: np.random.Generator,
    sides: npt.NDArray[np.int64],
    half: FloatArray,
    centre: FloatArray,
    first: npt.NDArray[np.int64],
) -> dict[str, Any]:
    """Intercity roads: the Gabriel graph of the town centres, its minimum spanning tree plus
    a third of its other edges, without any road through a third town's box. Each road runs
    straight between the centres from :data:`ROAD_MARGIN_KM` outside the first town to as
    far outside the second, as a chain of shape nodes every 60-220 m (ids from the last
    town node on), joined to the boundary node of each grid where the line leaves it."""
    sp_km = TOWN_SPACING_KM
    towns = sides.size
    town_nodes = int(first[-1])
    ij = _gabriel_edges(centre)
    ij = ij[~_crosses_other_box(centre, half, ij, ROAD_MARGIN_KM + 0.5)]
    dist = np.hypot(*(centre[ij[:, 1]] - centre[ij[:, 0]]).T)
    mst = sp.csgraph.minimum_spanning_tree(
        sp.coo_matrix((dist, (ij[:, 0], ij[:, 1])), shape=(towns, towns))
    ).tocoo()
    in_mst = np.zeros(ij.shape[0], dtype=bool)
    key = ij[:, 0] * towns + ij[:, 1]
    mkey = np.minimum(mst.row, mst.col) * towns + np.maximum(mst.row, mst.col)
    in_mst[np.isin(key, mkey)] = True
    ij = ij[in_mst | (rng.random(ij.shape[0]) < 1.0 / 3.0)]
    dist = np.hypot(*(centre[ij[:, 1]] - centre[ij[:, 0]]).T)

    def gate(
        town: npt.NDArray[np.int64], d: FloatArray
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The boundary node where a road in direction ``d`` leaves ``town`` (the grid node on
        the side it crosses nearest the crossing) and the ray's length to that side."""
        h = half[town]
        t = h / np.maximum(np.abs(d[:, 0]), np.abs(d[:, 1]))
        s = sides[town]
        ex = np.clip(np.rint((d[:, 0] * t + h) / sp_km), 0, s - 1).astype(np.int64)
        ey = np.clip(np.rint((d[:, 1] * t + h) / sp_km), 0, s - 1).astype(np.int64)
        return first[town] + ey * s + ex, t

    d = (centre[ij[:, 1]] - centre[ij[:, 0]]) / dist[:, None]
    gate_a, ta = gate(ij[:, 0], d)
    gate_b, tb = gate(ij[:, 1], -d)
    start = ta + ROAD_MARGIN_KM
    span = dist - tb - ROAD_MARGIN_KM - start
    step = rng.uniform(0.06, 0.22, ij.shape[0])  # shape nodes every 60-220 m
    count = np.maximum(2, np.ceil(span / step).astype(np.int64) + 1)
    road_first = town_nodes + np.concatenate([[0], np.cumsum(count)[:-1]])
    road = np.repeat(np.arange(ij.shape[0]), count)
    k = np.arange(road.size) - np.repeat(road_first - town_nodes, count)
    frac = k / np.repeat(count - 1, count)
    along = np.repeat(start, count) + frac * np.repeat(span, count)
    rx = centre[ij[road, 0], 0] + d[road, 0] * along
    ry = centre[ij[road, 0], 1] + d[road, 1] * along
    shape_nodes = int(road.size)
    node_road = np.arange(road.size) + town_nodes
    chain = k < np.repeat(count - 1, count)
    road_a = np.concatenate([gate_a, node_road[chain], road_first + count - 1])
    road_b = np.concatenate([road_first, node_road[chain] + 1, gate_b])
    road_of = np.concatenate([np.arange(ij.shape[0]), road[chain], np.arange(ij.shape[0])])

    return {
        "ij": ij, "dist": dist, "x": rx, "y": ry, "a": road_a, "b": road_b,
        "road_of": road_of, "shape_nodes": shape_nodes,
    }  # fmt: skip


def _intercity_classes(
    rng: np.random.Generator, ij: npt.NDArray[np.int64], dist: FloatArray, sides: Any
) -> tuple[FloatArray, Any, Any]:
    """Speed, road class and motorway flag per intercity road: motorways on the shortest
    roads between every pair of the :data:`HIGHWAY_TOWNS` largest towns, primary roads
    between two towns of more than 400 street nodes, the rest secondary or tertiary."""
    towns = sides.size
    tg = sp.coo_matrix((dist, (ij[:, 0], ij[:, 1])), shape=(towns, towns)).tocsr()
    _, pred = sp.csgraph.dijkstra(
        tg, directed=False, indices=np.arange(HIGHWAY_TOWNS), return_predecessors=True
    )
    motorway_pairs: set[int] = set()
    for src in range(HIGHWAY_TOWNS):
        for dst in range(src + 1, HIGHWAY_TOWNS):
            v = dst
            while pred[src, v] >= 0:
                u = int(pred[src, v])
                motorway_pairs.add(min(u, v) * towns + max(u, v))
                v = u
    motorway = np.isin(ij[:, 0] * towns + ij[:, 1], list(motorway_pairs))
    big = sides * sides > 400
    primary = ~motorway & big[ij[:, 0]] & big[ij[:, 1]]
    secondary = ~motorway & ~primary & (rng.random(ij.shape[0]) < 0.4)
    road_speed = np.select([motorway, primary, secondary], [100.0, 70.0, 60.0], 45.0)
    road_class = np.select(
        [motorway, primary, secondary],
        [ROAD_CLASSES.index(c) for c in ("motorway", "primary", "secondary")],
        ROAD_CLASSES.index("tertiary"),
    )
    return road_speed, road_class, motorway


def towns_graph(scale: float = 1.0, seed: int = 17) -> tuple[RoadGraph, dict[str, Any]]:
    """The generated towns-and-roads country graph (see the module docstring) and its
    statistics; ``scale`` below 1 shrinks the area and the town nodes alike for a trial."""
    rng = np.random.default_rng(seed)
    domain = (DOMAIN_KM[0] * math.sqrt(scale), DOMAIN_KM[1] * math.sqrt(scale))
    sides = _town_sides(rng, int(TOWN_NODES * scale))
    half = (sides - 1) * TOWN_SPACING_KM / 2.0
    centre = _place_towns(rng, half, domain)
    towns = sides.size

    x, y, street_a, street_b, street_cls, first = _town_grids(rng, sides, half, centre)
    roads = _intercity_roads(rng, sides, half, centre, first)
    ij, dist = roads["ij"], roads["dist"]
    road_speed, road_class, motorway = _intercity_classes(rng, ij, dist, sides)
    tertiary_street = (street_cls == 0) & (rng.random(street_cls.size) < 0.1)
    street_speed = np.select([street_cls == 1, tertiary_street], [45.0, 35.0], 25.0)
    street_class = np.select(
        [street_cls == 1, tertiary_street],
        [ROAD_CLASSES.index("secondary"), ROAD_CLASSES.index("tertiary")],
        ROAD_CLASSES.index("residential"),
    )

    x = np.concatenate([x, roads["x"]])
    y = np.concatenate([y, roads["y"]])
    a = np.concatenate([street_a, roads["a"]])
    b = np.concatenate([street_b, roads["b"]])
    speed = np.concatenate([street_speed, road_speed[roads["road_of"]]])
    rclass = np.concatenate([street_class, road_class[roads["road_of"]]])
    winding = np.concatenate(
        [rng.uniform(1.0, 1.1, street_a.size), rng.uniform(1.05, 1.35, roads["a"].size)]
    )
    graph, keep_share = _two_way_graph(x, y, a, b, speed, rclass, winding)
    stats = _graph_stats(graph, keep_share)
    stats.update(
        {
            "towns": towns,
            "town_side_max_min_median": [
                int(sides.max()),
                int(sides.min()),
                float(np.median(sides)),
            ],
            "town_street_nodes": int(first[-1]),
            "intercity_roads": int(ij.shape[0]),
            "intercity_shape_nodes": roads["shape_nodes"],
            "motorway_roads": int(motorway.sum()),
            "intercity_road_km_p50": float(np.median(dist)),
            "domain_km": list(domain),
        }
    )
    return graph, stats


def _two_way_graph(
    x: FloatArray,
    y: FloatArray,
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    speed: FloatArray,
    rclass: npt.NDArray[np.int64],
    winding: FloatArray,
) -> tuple[RoadGraph, float]:
    """A two-way :class:`RoadGraph` of the undirected edges ``a - b`` on planar km
    coordinates (centred on :data:`LAT0`, :data:`LON0`), reduced to its largest component;
    lengths are the straight distance times ``winding``. Also the share of nodes kept."""
    n = x.size
    adj = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    _, label = connected_components(adj, directed=False)
    node_keep = label == int(np.bincount(label).argmax())
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[node_keep] = np.arange(int(node_keep.sum()))
    edge_keep = node_keep[a]
    length_m = 1000.0 * np.hypot(x[a] - x[b], y[a] - y[b]) * winding
    a, b = new_id[a[edge_keep]], new_id[b[edge_keep]]
    length_m, speed, rclass = length_m[edge_keep], speed[edge_keep], rclass[edge_keep]
    x, y = x[node_keep], y[node_keep]
    lat = LAT0 + (y - 0.5 * (y.min() + y.max())) / 111.2
    lon = LON0 + (x - 0.5 * (x.min() + x.max())) / (111.2 * math.cos(math.radians(LAT0)))
    graph = RoadGraph.from_edges(
        lat,
        lon,
        np.concatenate([a, b]),
        np.concatenate([b, a]),
        np.concatenate([length_m, length_m]),
        np.concatenate([speed, speed]).astype(np.float32),
        np.concatenate([rclass, rclass]).astype(np.uint8),
        np.full(2 * a.size, -1, dtype=np.int32),
        (),
    )
    return graph, float(node_keep.mean())


def _graph_stats(graph: RoadGraph, keep_share: float) -> dict[str, Any]:
    """Size, degrees, edge lengths, speeds and extent of a generated graph."""
    degree = np.diff(graph.indptr)
    hist = np.bincount(degree)
    speed = np.asarray(graph.speed_kmh, dtype=np.float64)
    kx = 111.2 * math.cos(math.radians(LAT0))
    lat, lon = graph.node_lat, graph.node_lon
    return {
        "nodes": graph.n_nodes,
        "directed_edges": graph.n_edges,
        "largest_component_share": keep_share,
        "degree_share": {str(d): float(c / graph.n_nodes) for d, c in enumerate(hist) if c},
        "share_degree_2_to_4": float(((degree >= 2) & (degree <= 4)).mean()),
        "edge_length_m_p5_p50_p95": [float(v) for v in np.percentile(graph.length_m, [5, 50, 95])],
        "speed_share_kmh": {
            str(int(s)): float(np.mean(speed == s)) for s in sorted(set(speed.tolist()))
        },
        "extent_km": [float((lat.max() - lat.min()) * 111.2), float((lon.max() - lon.min()) * kx)],
    }


def _local_pairs(
    graph: RoadGraph, rng: np.random.Generator, count: int, lo_km: float, hi_km: float
) -> list[tuple[int, int]]:
    """``count`` pairs whose straight-line distance is in [lo_km, hi_km]."""
    kx = 111.2 * math.cos(math.radians(float(graph.node_lat.mean())))
    pairs: list[tuple[int, int]] = []
    while len(pairs) < count:
        s = int(rng.integers(graph.n_nodes))
        cand = rng.integers(graph.n_nodes, size=200_000)
        d = np.hypot(
            (graph.node_lat[cand] - graph.node_lat[s]) * 111.2,
            (graph.node_lon[cand] - graph.node_lon[s]) * kx,
        )
        ok = cand[(d >= lo_km) & (d <= hi_km)]
        if ok.size:
            pairs.append((s, int(ok[0])))
    return pairs


# --------------------------------------------------------------------------- measuring


def _compile_cch() -> None:
    """Run every CCH kernel once on a tiny graph so numba's compilation (or cache load) is
    not counted in the first timed phase."""
    cch = build_cch(np.array([0, 1, 2, 2]), np.array([1, 2]))
    cch.customize(np.ones(2), threads=1)
    metric = cch.customize(np.ones(2))
    metric.shortest_path(0, 2)
    metric.distances([0], [2])


def _pandana() -> tuple[Any, str | None]:
    try:
        import pandana  # type: ignore[import-untyped]
    except Exception as exc:  # noqa: BLE001 - any import failure means "unavailable"
        return None, f"pandana unavailable: {type(exc).__name__}: {exc}"
    return pandana, None


def _check(label: str, ref: Sequence[float], other: Sequence[float], method: str) -> float:
    worst = 0.0
    for i, (x, y) in enumerate(zip(ref, other, strict=True)):
        rel = abs(x - y) / max(abs(x), 1e-12)
        worst = max(worst, rel)
        if not (math.isfinite(x) and math.isfinite(y)) or rel > REL_TOL:
            raise AssertionError(
                f"{label}: {method} disagrees with the Router on pair {i}: {y!r} vs {x!r} "
                f"(relative {rel:.3e} > {REL_TOL})"
            )
    return worst


def _per_query(
    fn: Callable[[int, int], float], pairs: Sequence[tuple[int, int]]
) -> tuple[list[float], float]:
    out: list[float] = []
    start = time.perf_counter()
    for s, t in pairs:
        out.append(fn(s, t))
    return out, (time.perf_counter() - start) / len(pairs)


def _scipy_matrix(
    tails: npt.NDArray[np.int64], heads: npt.NDArray[np.int64], cost: FloatArray, n: int
) -> sp.csr_matrix:
    """A CSR matrix keeping the cheapest of any parallel edges (a COO -> CSR conversion would
    add them up)."""
    key = tails * n + heads
    order = np.lexsort((cost, key))
    first_of_key = np.ones(key.size, dtype=bool)
    first_of_key[1:] = key[order][1:] != key[order][:-1]
    pick = order[first_of_key]
    return sp.csr_matrix((cost[pick], (tails[pick], heads[pick])), shape=(n, n))


def _pair_set(
    label: str,
    pairs: list[tuple[int, int]],
    fns: dict[str, Callable[[int, int], float]],
    nx_count: int,
    pnet: Any,
    metric: CCHMetric,
    *,
    big: bool,
) -> dict[str, Any]:
    """Every method on one set of pairs: per-query seconds and agreement with the Router."""
    row: dict[str, Any] = {"pairs": len(pairs)}
    ours, row["router_s"] = _per_query(fns["router"], pairs)
    row["router_costs"] = ours
    row["avg_cost"] = float(np.mean(ours))
    cp, row["cch_path_s"] = _per_query(fns["cch"], pairs)
    row["cch_max_rel"] = _check(label, ours, cp, "CCH path")
    src = [s for s, _ in pairs]
    dst = [t for _, t in pairs]
    metric.distances(src[:1], dst[:1])  # first touch of the scratch arrays, not timed
    cd, cd_s = _timed(lambda: metric.distances(src, dst))
    row["cch_batched_s"] = cd_s / len(pairs)
    _check(label, ours, [float(x) for x in cd], "CCH batched")
    sc, row["scipy_s"] = _per_query(fns["scipy"], pairs)
    row["scipy_max_rel"] = _check(label, ours, sc, "scipy")
    k1 = min(ONE_OFF_PAIRS, len(pairs)) if big else len(pairs)
    oo, row["one_off_s"] = _per_query(fns["one_off"], pairs[:k1])
    row["one_off_pairs"] = k1
    row["one_off_max_rel"] = _check(label, ours[:k1], oo, "one-off shortest_path")
    k = min(nx_count, len(pairs))
    nxc, row["networkx_s"] = _per_query(fns["networkx"], pairs[:k])
    row["networkx_pairs"] = k
    row["networkx_max_rel"] = _check(label, ours[:k], nxc, "networkx")
    if k < len(pairs):  # the other methods on exactly networkx's pairs
        _, row["router_s_on_networkx_pairs"] = _per_query(fns["router"], pairs[:k])
        _, row["scipy_s_on_networkx_pairs"] = _per_query(fns["scipy"], pairs[:k])
    else:
        row["router_s_on_networkx_pairs"] = row["router_s"]
        row["scipy_s_on_networkx_pairs"] = row["scipy_s"]
    row["router_speedup_vs_networkx"] = row["networkx_s"] / row["router_s_on_networkx_pairs"]
    _, cch_nx_s = _per_query(fns["cch"], pairs[:k])
    row["cch_path_s_on_networkx_pairs"] = cch_nx_s
    row["cch_speedup_vs_networkx"] = row["networkx_s"] / cch_nx_s
    row["scipy_speedup_vs_networkx"] = row["networkx_s"] / row["scipy_s_on_networkx_pairs"]
    if pnet is not None:
        lens, batch_s = _timed(lambda: pnet.shortest_path_lengths(src, dst, "cost"))
        row["pandana_batched_s"] = batch_s / len(pairs)
        row["pandana_max_rel"] = _check(label, ours, [float(x) for x in lens], "pandana")
        single, row["pandana_single_s"] = _per_query(
            lambda s, t: float(pnet.shortest_path_length(s, t, "cost")), pairs
        )
        _check(label, ours, single, "pandana (single)")
        row["router_vs_pandana_batched"] = row["router_s"] / row["pandana_batched_s"]
        row["cch_batched_vs_pandana_batched"] = row["cch_batched_s"] / row["pandana_batched_s"]
        row["cch_path_vs_pandana_single"] = row["cch_path_s"] / row["pandana_single_s"]
    return row


def _persistence(graph: RoadGraph, cost: FloatArray) -> dict[str, Any]:
    """``RoadGraph.save``/``load`` times, file size and memory per node."""
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.npz"
        _, res["save_s"] = _timed(lambda: graph.save(path))
        res["file_mb"] = path.stat().st_size / 1e6
        loaded, res["load_s"] = _timed(lambda: RoadGraph.load(path))
        assert loaded.n_edges == graph.n_edges
    res["memory_bytes"] = graph.memory_bytes
    res["memory_bytes_per_node"] = graph.memory_bytes / graph.n_nodes
    res["cost_array_bytes_per_node"] = cost.nbytes / graph.n_nodes
    return res


def _prepare_cch(graph: RoadGraph, cost: FloatArray, res: dict[str, Any]) -> tuple[CCH, CCHMetric]:
    """The CCH on geometric nested dissection, customized for ``cost``; figures into ``res``."""
    gc.collect()
    rss0 = _rss_mb()
    kx = math.cos(math.radians(float(graph.node_lat.mean())))
    xy = np.column_stack([graph.node_lon * kx, graph.node_lat])
    _compile_cch()
    cch, res["cch_preprocess_s"] = _timed(lambda: build_cch(graph.indptr, graph.heads, xy))
    res["cch_arcs"] = cch.arcs
    res["cch_fill_arcs_per_edge"] = cch.fill
    res["cch_etree_depth"] = cch.elimination_tree_depth()
    res["cch_structure_bytes_per_node"] = cch.memory_bytes / graph.n_nodes
    metric: CCHMetric
    metric, res["cch_customize_s"] = _timed(lambda: cch.customize(cost))
    res["cch_customize_basic_s"] = metric.basic_s
    res["cch_kept_arcs"] = metric.kept_arcs
    res["cch_metric_bytes_per_node"] = metric.memory_bytes / graph.n_nodes
    res["cch_rss_mb"] = _rss_mb() - rss0

    return cch, metric


def _reweight(
    label: str,
    graph: RoadGraph,
    router: Router,
    cch: CCH,
    probe: int,
    pair_sets: dict[str, list[tuple[int, int]]],
    res: dict[str, Any],
) -> None:
    """Re-weighting after a risk update (new risk -> costs): the Router (and its scipy
    matrix) and the CCH re-customization, timed; the new hierarchy is checked against the
    re-weighted Router on a few pairs."""
    tt = graph.travel_time_s
    new_risk = _risk(graph, seed=99, n_blobs=6, sigma_km=(20.0, 60.0))

    def reweight() -> Router:
        return router.with_cost(_quantise(edge_costs(tt, new_risk, LAM)))

    def recustomize(threads: int | None = None, *, perfect: bool = True) -> CCHMetric:
        cost = _quantise(edge_costs(tt, new_risk, LAM))
        return cch.customize(cost, perfect=perfect, threads=threads)

    r2, res["reweight_s"] = _timed(reweight)
    _, res["reweight_matrix_s"] = _timed(lambda: r2.one_to_all(probe, limit=0.0))
    res["reweight_prepared_s"] = res["reweight_s"] + res["reweight_matrix_s"]
    serial, res["cch_reweight_1thread_s"] = _timed(lambda: recustomize(1))
    res["cch_reweight_1thread_basic_s"] = serial.basic_s
    metric, res["cch_reweight_s"] = _timed(recustomize)
    res["cch_reweight_basic_s"] = metric.basic_s
    res["cch_threads"] = numba.get_num_threads()
    if not (
        np.array_equal(serial.forward[2], metric.forward[2])
        and np.array_equal(serial.backward[2], metric.backward[2])
        and np.array_equal(serial.up_via, metric.up_via)
        and np.array_equal(serial.down_via, metric.down_via)
    ):
        raise AssertionError(f"{label}: parallel and one-thread customizations differ")
    del serial
    basic, res["cch_reweight_basic_only_s"] = _timed(lambda: recustomize(perfect=False))
    for s, t in next(iter(pair_sets.values()))[:5]:
        p = r2.shortest_path(s, t)
        _check(label, [math.inf if p is None else p.cost], [basic.distance(s, t)], "CCH basic")
    for s, t in next(iter(pair_sets.values()))[:5]:
        p = r2.shortest_path(s, t)
        _check(
            label, [math.inf if p is None else p.cost], [metric.distance(s, t)], "CCH re-weighted"
        )


def _measure(
    label: str,
    graph: RoadGraph,
    cost: FloatArray,
    pair_sets: dict[str, list[tuple[int, int]]],
    nx_counts: dict[str, int],
    pandana: Any,
) -> dict[str, Any]:
    """All methods on one graph; returns timings (seconds) and agreement."""
    import networkx as nx  # type: ignore[import-untyped]

    res: dict[str, Any] = {"graph": label, "nodes": graph.n_nodes, "edges": graph.n_edges}
    tails = graph.tails.astype(np.int64)
    heads = graph.heads.astype(np.int64)

    # silkguard: prepared Router (structure and matrix built on the first query, timed apart)
    rss0 = _rss_mb()
    router: Router
    router, res["router_init_s"] = _timed(lambda: Router(graph.indptr, graph.heads, cost))
    first = next(iter(pair_sets.values()))[0]
    _, res["router_first_query_s"] = _timed(lambda: router.shortest_path(*first))
    _, res["router_scipy_prepare_s"] = _timed(lambda: router.one_to_all(first[0], limit=0.0))
    res["router_prepared_rss_mb"] = _rss_mb() - rss0

    def router_cost(s: int, t: int) -> float:
        p = router.shortest_path(s, t)
        return math.inf if p is None else p.cost

    cch, metric = _prepare_cch(graph, cost, res)

    def cch_cost(s: int, t: int) -> float:
        p = metric.shortest_path(s, t)
        return math.inf if p is None else p[0]

    mat = _scipy_matrix(tails, heads, cost, graph.n_nodes)  # built once, not timed

    def scipy_cost(s: int, t: int) -> float:
        return float(csgraph_dijkstra(mat, directed=True, indices=[s])[0, t])

    def one_off_cost(s: int, t: int) -> float:
        p = shortest_path(graph.indptr, graph.heads, cost, s, t)
        return math.inf if p is None else p.cost

    # networkx DiGraph with the same weights
    gc.collect()
    rss0 = _rss_mb()

    def build_nx() -> Any:
        g = nx.DiGraph()
        g.add_nodes_from(range(graph.n_nodes))
        g.add_weighted_edges_from(zip(tails.tolist(), heads.tolist(), cost.tolist(), strict=True))
        return g

    gnx, res["networkx_build_s"] = _timed(build_nx)
    res["networkx_rss_mb"] = _rss_mb() - rss0

    def nx_cost(s: int, t: int) -> float:
        return float(nx.bidirectional_dijkstra(gnx, s, t, weight="weight")[0])

    # pandana: contraction hierarchies
    pnet = None
    if pandana is not None:
        import pandas as pd

        def build_pandana() -> Any:
            return pandana.Network(
                pd.Series(graph.node_lon),
                pd.Series(graph.node_lat),
                pd.Series(tails),
                pd.Series(heads),
                pd.DataFrame({"cost": cost}),
                twoway=False,
            )

        gc.collect()
        rss0 = _rss_mb()
        pnet, res["pandana_preprocess_s"] = _timed(build_pandana)
        res["pandana_rss_mb"] = _rss_mb() - rss0

    fns: dict[str, Callable[[int, int], float]] = {
        "router": router_cost,
        "cch": cch_cost,
        "scipy": scipy_cost,
        "one_off": one_off_cost,
        "networkx": nx_cost,
    }
    res["pair_sets"] = {
        name: _pair_set(
            label,
            pairs,
            fns,
            nx_counts.get(name, len(pairs)),
            pnet,
            metric,
            big=graph.n_nodes > 100_000,
        )
        for name, pairs in pair_sets.items()
    }

    had_pandana = pnet is not None
    fns.clear()  # networkx's and pandana's graphs go before the re-weighting is timed
    gnx = pnet = None
    gc.collect()
    _reweight(label, graph, router, cch, first[0], pair_sets, res)
    if had_pandana:
        res["reweight_vs_pandana_preprocess"] = (
            res["reweight_prepared_s"] / res["pandana_preprocess_s"]
        )
        for key in (
            "cch_reweight",
            "cch_reweight_basic_only",
            "cch_reweight_1thread",
            "cch_preprocess",
        ):
            res[f"{key}_vs_pandana_preprocess"] = res[f"{key}_s"] / res["pandana_preprocess_s"]

    res.update(_persistence(graph, cost))
    return res


# --------------------------------------------------------------------------- output


def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1e3:,.3f}" if x < 0.01 else f"{x * 1e3:,.1f}"


def _print(runs: list[dict[str, Any]], pandana_note: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Route query, milliseconds per query (cost = time + risk)")
    for col in (
        "graph / pairs",
        "n",
        "Router",
        "CCH path",
        "CCH batched",
        "one-off",
        "scipy full",
        "networkx (n)",
        "pandana batched",
        "pandana single",
        "Router vs nx",
        "CCH vs nx",
        "Router / pandana",
        "CCH batched / pandana",
    ):
        table.add_column(col, justify="right")
    for res in runs:
        for name, row in res["pair_sets"].items():
            pb = row.get("pandana_batched_s")
            table.add_row(
                f"{res['graph']} / {name}",
                str(row["pairs"]),
                _ms(row["router_s"]),
                _ms(row["cch_path_s"]),
                _ms(row["cch_batched_s"]),
                f"{_ms(row['one_off_s'])} ({row['one_off_pairs']})",
                _ms(row["scipy_s"]),
                f"{_ms(row['networkx_s'])} ({row['networkx_pairs']})",
                _ms(pb),
                _ms(row.get("pandana_single_s")),
                f"{row['router_speedup_vs_networkx']:,.1f}x",
                f"{row['cch_speedup_vs_networkx']:,.1f}x",
                "-" if pb is None else f"{row['router_vs_pandana_batched']:,.1f}x",
                "-" if pb is None else f"{row['cch_batched_vs_pandana_batched']:,.2f}x",
            )
    Console(width=200).print(table)

    other = Table(title="Preparation, re-weighting, persistence (seconds unless noted)")
    for col in (
        "graph",
        "nodes",
        "Router 1st query",
        "re-weight",
        "re-weight + matrix",
        "CCH prep",
        "CCH custom (basic)",
        "CCH re-weight (1 thread)",
        "CCH re-weight basic",
        "pandana CH",
        "networkx build",
        "save",
        "load",
        "bytes/node",
    ):
        other.add_column(col, justify="right")
    for res in runs:
        other.add_row(
            res["graph"],
            f"{res['nodes']:,}",
            f"{res['router_first_query_s']:.3f}",
            f"{res['reweight_s']:.3f}",
            f"{res['reweight_prepared_s']:.3f}",
            f"{res['cch_preprocess_s']:.2f}",
            f"{res['cch_customize_s']:.2f} ({res['cch_customize_basic_s']:.2f})",
            f"{res['cch_reweight_s']:.2f} ({res['cch_reweight_1thread_s']:.2f})",
            f"{res['cch_reweight_basic_only_s']:.2f}",
            f"{res['pandana_preprocess_s']:.2f}" if "pandana_preprocess_s" in res else "-",
            f"{res['networkx_build_s']:.2f}",
            f"{res['save_s']:.3f}",
            f"{res['load_s']:.3f}",
            f"{res['memory_bytes_per_node']:.1f}",
        )
    Console(width=200).print(other)
    for res in runs:
        print(
            f"{res['graph']}: CCH {res['cch_arcs']:,} arcs ({res['cch_fill_arcs_per_edge']:.2f} "
            f"per edge), elimination-tree depth {res['cch_etree_depth']:,}, "
            f"{res['cch_kept_arcs']:,} arc directions kept for queries, "
            f"{res['cch_structure_bytes_per_node']:.0f} + {res['cch_metric_bytes_per_node']:.0f}"
            " bytes per node (structure + metric)"
        )
    if pandana_note:
        print(pandana_note)


def run(
    side: int = SIDE,
    pairs: int = PAIRS,
    nx_long_pairs: int = NX_LONG_PAIRS,
    towns_scale: float = 1.0,
    graphs: Sequence[str] = BIG_GRAPHS,
) -> dict[str, Any]:
    """The whole benchmark; ``side`` below :data:`SIDE` or ``towns_scale`` below 1 give
    smaller trial graphs (then the size check is skipped); ``graphs`` picks the big graphs
    (the corridor network always runs)."""
    unknown = set(graphs) - set(BIG_GRAPHS)
    if unknown or not graphs:
        raise ValueError(f"graphs must be a non-empty subset of {BIG_GRAPHS}, got {graphs!r}")
    full = side == SIDE and towns_scale == 1.0
    RESULTS.mkdir(parents=True, exist_ok=True)
    pandana, pandana_note = _pandana()
    rng = np.random.default_rng(2026)

    # corridor network
    corridor = corridor_graph()
    c_cost = _quantise(
        edge_costs(
            corridor.travel_time_s,
            _risk(corridor, seed=5, n_blobs=4, sigma_km=(40.0, 120.0)),
            LAM,
        )
    )
    towns = len(town_names())
    c_pairs: list[tuple[int, int]] = []
    while len(c_pairs) < pairs:
        s, t = (int(x) for x in rng.choice(towns, size=2, replace=False))
        c_pairs.append((s, t))
    runs = [_measure("corridor", corridor, c_cost, {"towns": c_pairs}, {}, pandana)]

    # country-sized graphs: the lattice, then the towns-and-roads graph
    makers: dict[str, Callable[[], tuple[RoadGraph, dict[str, Any]]]] = {
        "country": lambda: country_graph(side),
        "towns": lambda: towns_graph(towns_scale),
    }
    for label in (g for g in BIG_GRAPHS if g in graphs):
        make = makers[label]
        (big, stats), gen_s = _timed(make)
        if full and big.n_nodes < MIN_NODES:
            raise AssertionError(f"{label}: {big.n_nodes} nodes, fewer than {MIN_NODES}")
        b_cost = _quantise(
            edge_costs(
                big.travel_time_s, _risk(big, seed=11, n_blobs=6, sigma_km=(20.0, 60.0)), LAM
            )
        )
        long_pairs = [
            (int(s), int(t)) for s, t in rng.integers(big.n_nodes, size=(pairs, 2)) if s != t
        ]
        local = _local_pairs(big, rng, pairs, 5.0, 30.0)
        runs.append(
            _measure(
                label,
                big,
                b_cost,
                {"long": long_pairs, "local": local},
                {"long": nx_long_pairs},
                pandana,
            )
        )
        runs[-1]["generate_s"] = gen_s
        runs[-1]["generator"] = stats
        del big, b_cost
        gc.collect()
    _print(runs, pandana_note)

    bigs_res = runs[1:]
    met: dict[str, Any] = {
        "speedup_vs_networkx_1000x": {
            f"{r['graph']}/{k}": row["router_speedup_vs_networkx"] >= GOALS["speedup_vs_networkx"]
            for r in runs
            for k, row in r["pair_sets"].items()
        },
        "cch_speedup_vs_networkx_1000x": {
            f"{r['graph']}/{k}": row["cch_speedup_vs_networkx"] >= GOALS["speedup_vs_networkx"]
            for r in runs
            for k, row in r["pair_sets"].items()
        },
        "load_under_1s": {r["graph"]: r["load_s"] < GOALS["load_s"] for r in bigs_res},
        "paths_agree": True,  # _check raised otherwise
    }
    if pandana is not None:
        met["on_par_with_pandana_batched"] = {
            f"{r['graph']}/{k}": row["router_vs_pandana_batched"]
            <= GOALS["vs_pandana_batched_max_ratio"]
            for r in runs
            for k, row in r["pair_sets"].items()
        }
        met["cch_batched_on_par_with_pandana_batched"] = {
            f"{r['graph']}/{k}": row["cch_batched_vs_pandana_batched"]
            <= GOALS["vs_pandana_batched_max_ratio"]
            for r in runs
            for k, row in r["pair_sets"].items()
        }
        goal = GOALS["reweight_vs_pandana_preprocessing"]
        for key, name in (
            ("cch_reweight", "cch_reweight"),
            ("cch_reweight_basic_only", "cch_reweight_basic"),
            ("reweight_prepared", "reweight"),
        ):
            met[f"{name}_under_tenth_of_pandana_preprocessing"] = {
                r["graph"]: r[f"{key}_s"] <= goal * r["pandana_preprocess_s"] for r in bigs_res
            }
    result: dict[str, Any] = {
        "benchmark": "route_speed",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": os.cpu_count(),
        },
        "lam": LAM,
        "pandana": (
            f"pandana {pandana.__version__} (benchmark-only, AGPL)"
            if pandana is not None
            else pandana_note
        ),
        "goals": GOALS,
        "met": met,
        "summary": {
            f"{r['graph']}_{key}": value
            for r in bigs_res
            for key, value in {
                "nodes": r["nodes"],
                "cch_preprocess_s": r["cch_preprocess_s"],
                "cch_customize_s": r["cch_customize_s"],
                "cch_reweight_s": r["cch_reweight_s"],
                "cch_reweight_basic_only_s": r["cch_reweight_basic_only_s"],
                "router_long_ms": r["pair_sets"]["long"]["router_s"] * 1e3,
                "cch_path_long_ms": r["pair_sets"]["long"]["cch_path_s"] * 1e3,
                "cch_batched_long_ms": r["pair_sets"]["long"]["cch_batched_s"] * 1e3,
                "networkx_long_ms": r["pair_sets"]["long"]["networkx_s"] * 1e3,
                "pandana_batched_long_ms": r["pair_sets"]["long"].get("pandana_batched_s", math.nan)
                * 1e3,
            }.items()
        },
        "runs": runs,
    }
    out = RESULTS / "route_speed.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"met: {met}\nwritten to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    run()
