"""Risk-aware routing on a directed road graph held in compressed sparse row (CSR) arrays.

Graph layout
------------
A graph with ``n`` nodes and ``m`` directed edges is two arrays: ``indptr`` (``n + 1``
non-decreasing integers, ``indptr[0] == 0``, ``indptr[n] == m``) and ``heads`` (``m`` node
ids). Edge ``k`` runs from its *tail* ``t`` (the node with ``indptr[t] <= k < indptr[t + 1]``)
to ``heads[k]``. Parallel edges and self-loops are allowed. Every per-edge quantity (travel
time, risk, cost) is a float array of length ``m`` indexed by edge id.

Cost model
----------
A route is chosen to minimise the sum of its edge costs, where :func:`edge_costs` builds ::

    cost[k] = travel_time_s[k] + lam * risk[k] + night_penalty[k] + closed_penalty * closed[k]

* ``travel_time_s`` is the time to drive the edge, in seconds.
* ``risk`` is the *expected risk exposure* accumulated on the edge, supplied by the caller
  (typically a forecast incident rate at the edge's location times the seconds spent on it), so
  that the sum over a route is the route's expected exposure.
* ``lam`` (seconds per unit of risk) is the exchange rate between time and exposure: ``0``
  gives the fastest route, large values the least exposed one. :func:`pareto_time_risk`
  sweeps it to show the trade-off.
* ``night_penalty`` is an optional additive per-edge penalty in seconds (for example for roads
  that must not be driven after dark).
* ``closed`` marks edges inside closed areas; they receive ``closed_penalty``, which by default
  is ``inf``: an edge of infinite cost is forbidden, never used by any search here.

Costs must be non-negative and not NaN (``inf`` is allowed and means *forbidden*); anything
else raises :class:`~silkguard.core.errors.InvalidInput`.

Searches
--------
:func:`shortest_path` answers one point-to-point query. The default ``"auto"`` method runs a
bidirectional Dijkstra written in Python over the CSR arrays, which stops as soon as the two
searches certify the optimum, so a near query touches only a small part of the graph; if it
has settled :data:`AUTO_BUDGET` nodes without finishing, the query is handed to scipy's
compiled Dijkstra, bounded (``limit``) by the best connection the Python search has seen.
:func:`one_to_all` and :func:`many_to_many` run scipy's compiled Dijkstra
(``scipy.sparse.csgraph``) on a matrix that keeps only the cheapest of any parallel edges, and
map its predecessors back to edge ids.
Repeated queries on one graph should go through a :class:`Router`, which converts and caches
the arrays once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra as _csgraph_dijkstra

from silkguard.core.errors import InvalidInput

if TYPE_CHECKING:
    from silkguard.network.cch import CCH, CCHMetric

__all__ = [
    "AUTO_BUDGET",
    "DEFAULT_LAMBDAS",
    "ParetoPoint",
    "Path",
    "Router",
    "ShortestPathTree",
    "alternatives",
    "edge_costs",
    "many_to_many",
    "one_to_all",
    "pareto_time_risk",
    "path_overlap",
    "reverse_csr",
    "shortest_path",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["auto", "bidirectional", "dijkstra", "scipy", "cch"]

AUTO_BUDGET = 20_000
"""Most settled nodes after which the ``auto`` search hands over to scipy's compiled Dijkstra
(the budget is ``n // 32`` clipped to [256, AUTO_BUDGET]: the Python search settles a node
about 20 times slower than scipy, so it only pays off when it stops well before the whole
graph is searched)."""

DEFAULT_LAMBDAS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0)

_INF = math.inf


@dataclass(frozen=True, eq=False)
class Path:
    """A route: ``nodes`` (``len(edges) + 1`` node ids from source to target), ``edges`` (edge
    ids in driving order) and ``cost``, the sum of the edge costs it was searched with."""

    nodes: IntArray
    edges: IntArray
    cost: float

    def __post_init__(self) -> None:
        self.nodes.setflags(write=False)
        self.edges.setflags(write=False)

    @property
    def source(self) -> int:
        return int(self.nodes[0])

    @property
    def target(self) -> int:
        return int(self.nodes[-1])

    def edge_key(self) -> tuple[int, ...]:
        """The edge ids as a hashable tuple (two paths are the same route iff keys are equal)."""
        return tuple(int(e) for e in self.edges)


ParetoPoint = tuple[float, Path, float, float]


# --------------------------------------------------------------------------- validation


def _as_csr(indptr: npt.ArrayLike, heads: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    ip = np.asarray(indptr)
    hd = np.asarray(heads)
    if ip.ndim != 1 or ip.size < 1:
        raise InvalidInput("indptr must be a one-dimensional array of n + 1 offsets (n >= 0)")
    if hd.ndim != 1:
        raise InvalidInput("heads must be a one-dimensional array with one node id per edge")
    if ip.size > 1 and not np.issubdtype(ip.dtype, np.integer):
        raise InvalidInput(f"indptr must hold integers, got dtype {ip.dtype}")
    if hd.size and not np.issubdtype(hd.dtype, np.integer):
        raise InvalidInput(f"heads must hold integers, got dtype {hd.dtype}")
    ip64 = ip.astype(np.int64, copy=False)
    hd64 = hd.astype(np.int64, copy=False)
    n = ip64.size - 1
    if ip64[0] != 0:
        raise InvalidInput(f"indptr[0] must be 0, got {int(ip64[0])}")
    if n and np.any(np.diff(ip64) < 0):
        raise InvalidInput("indptr must be non-decreasing")
    if ip64[-1] != hd64.size:
        raise InvalidInput(
            f"indptr[-1] ({int(ip64[-1])}) must equal the number of edges len(heads) ({hd64.size})"
        )
    if hd64.size and (hd64.min() < 0 or hd64.max() >= n):
        raise InvalidInput(f"heads must be node ids in [0, {n}); found one outside")
    return ip64, hd64


def _as_cost(cost: npt.ArrayLike, m: int, name: str = "cost") -> FloatArray:
    c = np.asarray(cost, dtype=np.float64)
    if c.shape != (m,):
        raise InvalidInput(
            f"{name} must have one value per edge: expected shape ({m},), got {c.shape}"
        )
    if np.isnan(c).any():
        raise InvalidInput(f"{name} contains NaN at edge {int(np.flatnonzero(np.isnan(c))[0])}")
    if (c < 0).any():
        k = int(np.flatnonzero(c < 0)[0])
        raise InvalidInput(f"{name} must be non-negative; edge {k} has {c[k]!r}")
    return c


def _as_node(value: int, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(f"{name} must be an integer node id, got {value!r}")
    v = int(value)
    if not 0 <= v < n:
        raise InvalidInput(f"{name} {v} is out of range: the graph has nodes 0..{n - 1}")
    return v


# --------------------------------------------------------------------------- cost model


def edge_costs(
    travel_time_s: npt.ArrayLike,
    risk: npt.ArrayLike,
    lam: float,
    *,
    night_penalty: npt.ArrayLike | None = None,
    closed: npt.ArrayLike | None = None,
    closed_penalty: float = _INF,
) -> FloatArray:
    """Generalised cost per edge: ``travel_time_s + lam * risk + night_penalty`` plus
    ``closed_penalty`` on every edge where ``closed`` is true (see the module docstring).

    ``travel_time_s`` and ``risk`` are finite non-negative per-edge arrays of equal length;
    ``lam`` a finite non-negative number; ``night_penalty`` a non-negative scalar or per-edge
    array of seconds; ``closed`` a boolean per-edge mask; ``closed_penalty`` a non-negative
    number, ``inf`` (the default) making closed edges forbidden. Returns float64 costs.
    """
    t = np.asarray(travel_time_s, dtype=np.float64)
    if t.ndim != 1:
        raise InvalidInput(f"travel_time_s must be one-dimensional, got shape {t.shape}")
    m = t.size
    t = _as_cost(t, m, "travel_time_s")
    r = _as_cost(risk, m, "risk")
    if not (np.isfinite(t).all() and np.isfinite(r).all()):
        raise InvalidInput("travel_time_s and risk must be finite; use closed= to forbid edges")
    lam_f = float(lam)
    if not (math.isfinite(lam_f) and lam_f >= 0):
        raise InvalidInput(f"lam must be a finite non-negative number, got {lam!r}")
    out = t + lam_f * r
    if night_penalty is not None:
        pen = np.asarray(night_penalty, dtype=np.float64)
        if pen.ndim == 0:
            pen = np.full(m, float(pen))
        pen = _as_cost(pen, m, "night_penalty")
        out = out + pen
    if closed is not None:
        mask = np.asarray(closed)
        if mask.dtype != np.bool_:
            raise InvalidInput(f"closed must be a boolean mask, got dtype {mask.dtype}")
        if mask.shape != (m,):
            raise InvalidInput(f"closed must have shape ({m},), got {mask.shape}")
        cp = float(closed_penalty)
        if math.isnan(cp) or cp < 0:
            raise InvalidInput(f"closed_penalty must be non-negative (inf forbids), got {cp!r}")
        out = np.where(mask, out + cp, out)
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------- structure


def reverse_csr(indptr: npt.ArrayLike, heads: npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
    """The transposed graph: ``(rindptr, rtails, edge_ids)`` where the incoming edges of node
    ``v`` are ``edge_ids[rindptr[v]:rindptr[v + 1]]`` (ascending edge id) and ``rtails`` holds
    their tails, so ``rtails[j] -> v`` is original edge ``edge_ids[j]``."""
    ip, hd = _as_csr(indptr, heads)
    n = ip.size - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(ip))
    edge_ids = np.argsort(hd, kind="stable").astype(np.int64)
    counts = np.bincount(hd, minlength=n)
    rindptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=rindptr[1:])
    return rindptr, tails[edge_ids], edge_ids


@dataclass(frozen=True, eq=False)
class ShortestPathTree:
    """Distances from one source to every node (``inf`` where unreachable) and, per node, the
    edge by which the tree reaches it (``-1`` at the source and unreachable nodes)."""

    source: int
    dist: FloatArray
    pred_edge: IntArray
    heads: IntArray = field(repr=False)
    tails: IntArray = field(repr=False)

    def path(self, target: int) -> Path | None:
        """The tree path to ``target``, or ``None`` when it is unreachable."""
        t = _as_node(target, self.dist.size, "target")
        if not math.isfinite(self.dist[t]):
            return None
        edges: list[int] = []
        v = t
        while v != self.source:
            e = int(self.pred_edge[v])
            edges.append(e)
            v = int(self.tails[e])
        edges.reverse()
        return _make_path(self.source, edges, self.heads, float(self.dist[t]))


def _make_path(source: int, edges: Sequence[int] | IntArray, heads: IntArray, cost: float) -> Path:
    e = np.asarray(edges, dtype=np.int64)
    nodes = np.empty(e.size + 1, dtype=np.int64)
    nodes[0] = source
    nodes[1:] = heads[e]
    return Path(nodes=nodes, edges=e, cost=cost)


@dataclass
class _Adjacency:
    """One direction of the graph for the Python searches: ``ptr`` as a Python list (indexed
    once per settled node), neighbours and edge ids as numpy arrays that are sliced per node
    (so no whole-graph conversion is needed). ``eid`` is ``None`` for the forward graph, whose
    edge ids are the positions themselves."""

    ptr: list[int]
    nbr: IntArray
    eid: IntArray | None


@dataclass
class _Structure:
    """Cost-independent caches shared by Routers on one graph."""

    tails: IntArray | None = None
    forward: _Adjacency | None = None
    backward: _Adjacency | None = None
    xy: FloatArray | None = None
    cch: CCH | None = None


@dataclass
class _Meeting:
    """Best source-target connection seen so far: its cost and the node where it meets."""

    mu: float = _INF
    node: int = -1


class _Search:
    """One side of the bidirectional Dijkstra (the forward graph for the source side, the
    reverse graph for the target side)."""

    __slots__ = ("adj", "cost", "dist", "done", "heap", "pred")

    def __init__(self, root: int, adj: _Adjacency, cost: FloatArray) -> None:
        self.adj, self.cost = adj, cost
        self.dist: dict[int, float] = {root: 0.0}
        self.pred: dict[int, int] = {}  # node -> edge id linking it towards the root
        self.done: set[int] = set()
        self.heap: list[tuple[float, int]] = [(0.0, root)]

    def step(self, other: dict[int, float], best: _Meeting) -> None:
        """Settle the nearest unsettled node, relax its edges and update ``best`` from labels
        the other side already holds."""
        d, u = heapq.heappop(self.heap)
        if u in self.done:
            return
        self.done.add(u)
        adj = self.adj
        a, b = adj.ptr[u], adj.ptr[u + 1]
        if adj.eid is None:
            ids: Iterable[int] = range(a, b)
            costs = self.cost[a:b].tolist()
        else:
            sl = adj.eid[a:b]
            ids = sl.tolist()
            costs = self.cost[sl].tolist()
        dist, pred, heap = self.dist, self.pred, self.heap
        push = heapq.heappush
        for k, v, c in zip(ids, adj.nbr[a:b].tolist(), costs, strict=True):
            nd = d + c
            if nd < dist.get(v, _INF):
                dist[v] = nd
                pred[v] = k
                push(heap, (nd, v))
                o = other.get(v)
                if o is not None and nd + o < best.mu:
                    best.mu = nd + o
                    best.node = v


class Router:
    """Point-to-point and one-to-many searches on one graph with one cost array.

    The CSR arrays are validated once; the tail array, the reverse graph (both shared by all
    Routers made with :meth:`with_cost`) and the de-duplicated scipy matrix (per cost array)
    are built on first use and cached, so a Router amortises them over many queries.
    :meth:`with_cost` is used by :func:`alternatives` and :func:`pareto_time_risk`.

    ``method="cch"`` answers from a customizable contraction hierarchy
    (:mod:`silkguard.network.cch`): its cost-independent preparation is built on the first
    such query and shared by every :meth:`with_cost` Router (``xy``, ``n x 2`` planar node
    coordinates such as projected longitude and latitude, gives it a better order), and each
    cost array is customized once (:meth:`cch`). It pays off for many queries on a large
    graph with one cost array; the default stays ``"auto"``.
    """

    def __init__(
        self,
        indptr: npt.ArrayLike,
        heads: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        xy: npt.ArrayLike | None = None,
    ) -> None:
        self.indptr, self.heads = _as_csr(indptr, heads)
        self.n = self.indptr.size - 1
        self.m = self.heads.size
        self.cost = _as_cost(cost, self.m)
        self._struct = _Structure()
        if xy is not None:
            pts = np.asarray(xy, dtype=np.float64)
            if pts.shape != (self.n, 2) or not np.isfinite(pts).all():
                raise InvalidInput(
                    f"xy must hold finite planar coordinates, shape ({self.n}, 2); "
                    f"got shape {pts.shape}"
                )
            self._struct.xy = pts
        self._mat: tuple[sp.csr_matrix, IntArray, IntArray] | None = None
        self._metric: CCHMetric | None = None

    def with_cost(self, cost: npt.ArrayLike) -> Router:
        """A Router on the same graph with another cost array (structure caches are shared)."""
        other = Router.__new__(Router)
        other.indptr, other.heads, other.n, other.m = self.indptr, self.heads, self.n, self.m
        other.cost = _as_cost(cost, self.m)
        other._struct = self._struct
        other._mat = None
        other._metric = None
        return other

    def cch(self) -> CCHMetric:
        """The contraction hierarchy customized for this Router's costs (built on first use:
        the structure once per graph, the customization once per Router)."""
        if self._metric is None:
            from silkguard.network.cch import build_cch  # numba loads only when asked for

            if self._struct.cch is None:
                self._struct.cch = build_cch(self.indptr, self.heads, self._struct.xy)
            self._metric = self._struct.cch.customize(self.cost)
        return self._metric

    # -- cached structure
    def _tails(self) -> IntArray:
        if self._struct.tails is None:
            self._struct.tails = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
        return self._struct.tails

    def _forward(self) -> _Adjacency:
        if self._struct.forward is None:
            self._struct.forward = _Adjacency(self.indptr.tolist(), self.heads, None)
        return self._struct.forward

    def _backward(self) -> _Adjacency:
        if self._struct.backward is None:
            rip, rtails, eids = reverse_csr(self.indptr, self.heads)
            self._struct.backward = _Adjacency(rip.tolist(), rtails, eids)
        return self._struct.backward

    def _matrix(self) -> tuple[sp.csr_matrix, IntArray, IntArray]:
        """The cheapest-parallel-edge matrix, its sorted (tail * n + head) keys and the edge id
        behind every stored entry. Self-loops and forbidden (inf) edges are left out."""
        if self._mat is None:
            n = self.n
            tails = self._tails()
            eid = np.arange(self.m, dtype=np.int64)
            keep = np.isfinite(self.cost) & (tails != self.heads)
            t, h, c, e = tails[keep], self.heads[keep], self.cost[keep], eid[keep]
            key = t * n + h
            if key.size > 1 and not bool(np.all(key[1:] > key[:-1])):
                # Sort by (tail, head), cheapest first; lexsort is stable, so equal costs
                # keep ascending edge ids.
                order = np.lexsort((c, key))
                t, h, c, e, key = t[order], h[order], c[order], e[order], key[order]
            first = np.ones(key.size, dtype=bool)
            first[1:] = key[1:] != key[:-1]
            t, h, c, e, key = t[first], h[first], c[first], e[first], key[first]
            ip = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(t, minlength=n), out=ip[1:])
            self._mat = (sp.csr_matrix((c, h, ip), shape=(n, n)), key, e)
        return self._mat

    def _pred_edges(self, pred: npt.NDArray[np.int32]) -> IntArray:
        _, key, eids = self._matrix()
        out = np.full(pred.shape, -1, dtype=np.int64)
        has = pred >= 0
        nodes = np.nonzero(has)
        want = pred[has].astype(np.int64) * self.n + nodes[-1].astype(np.int64)
        pos = np.searchsorted(key, want)
        out[has] = eids[pos]
        return out

    # -- queries
    def shortest_path(self, source: int, target: int, *, method: Method = "auto") -> Path | None:
        """Cheapest path from ``source`` to ``target`` or ``None`` if none has finite cost.

        ``method`` is ``"auto"`` (default; see the module docstring), ``"bidirectional"``
        (Python bidirectional Dijkstra with early stop), ``"dijkstra"`` (Python one-directional
        Dijkstra stopping at the target) or
        ``"scipy"`` (compiled full one-to-all search, then the tree path) or ``"cch"`` (the
        contraction hierarchy of :meth:`cch`, prepared on first use).
        """
        s = _as_node(source, self.n, "source")
        t = _as_node(target, self.n, "target")
        if s == t:
            return Path(np.array([s], dtype=np.int64), np.empty(0, dtype=np.int64), 0.0)
        if method == "auto":
            return self._auto(s, t)
        if method == "bidirectional":
            res = self._bidirectional(s, t)
            assert not isinstance(res, _Meeting)
            return res
        if method == "dijkstra":
            return self._dijkstra(s, t)
        if method == "scipy":
            return self.one_to_all(s).path(t)
        if method == "cch":
            found = self.cch().shortest_path(s, t)
            return None if found is None else _make_path(s, found[1], self.heads, found[0])
        raise InvalidInput(
            f"method must be 'auto', 'bidirectional', 'dijkstra', 'scipy' or 'cch', got {method!r}"
        )

    def _dijkstra(self, s: int, t: int) -> Path | None:
        search = _Search(s, self._forward(), self.cost)
        target = _Meeting()
        goal = {t: 0.0}
        while search.heap and search.heap[0][0] < target.mu:
            search.step(goal, target)
        if target.node < 0:
            return None
        return self._join(s, t, t, search.pred, {})

    def _bidirectional(self, s: int, t: int, budget: float = _INF) -> Path | _Meeting | None:
        """Bidirectional Dijkstra; stops when the smallest labels of the two sides add up to
        the best connection found. With a finite ``budget`` of settled nodes it gives up and
        returns the best connection so far (an upper bound, possibly none) instead."""
        fwd = _Search(s, self._forward(), self.cost)
        bwd = _Search(t, self._backward(), self.cost)
        best = _Meeting()
        while fwd.heap and bwd.heap:
            top_f, top_b = fwd.heap[0][0], bwd.heap[0][0]
            if top_f + top_b >= best.mu:
                break
            if len(fwd.done) + len(bwd.done) >= budget:
                return best
            if top_f <= top_b:
                fwd.step(bwd.dist, best)
            else:
                bwd.step(fwd.dist, best)
        if best.node < 0:
            return None
        return self._join(s, t, best.node, fwd.pred, bwd.pred)

    def _join(
        self, s: int, t: int, meet: int, fpred: dict[int, int], bpred: dict[int, int]
    ) -> Path:
        """The path source -> meet (``fpred``) -> target (``bpred``) with its summed cost."""
        tails = self._tails()
        edges: list[int] = []
        v = meet
        while v != s:
            k = fpred[v]
            edges.append(k)
            v = int(tails[k])
        edges.reverse()
        v = meet
        while v != t:
            k = bpred[v]
            edges.append(k)
            v = int(self.heads[k])
        total = 0.0
        for c in self.cost[np.asarray(edges, dtype=np.int64)].tolist():
            total += c
        return _make_path(s, edges, self.heads, total)

    def _auto(self, s: int, t: int, budget: int | None = None) -> Path | None:
        """Bidirectional search for near targets; past ``budget`` (default: see
        :data:`AUTO_BUDGET`) settled nodes, scipy's compiled Dijkstra bounded by the best
        connection found so far (``limit``)."""
        if s == t:
            return _make_path(s, [], self.heads, 0.0)
        if budget is None:
            budget = min(max(self.n // 32, 256), AUTO_BUDGET)
        res = self._bidirectional(s, t, budget=budget)
        if not isinstance(res, _Meeting):
            return res
        # the bound is the best connection found so far; scipy sums the same path in another
        # order, so it gets a relative margin, and an empty answer is retried unbounded
        found = self.one_to_all(s, limit=res.mu * (1.0 + 1e-9) + 1e-12).path(t)
        return found if found is not None else self.one_to_all(s).path(t)

    def one_to_all(self, source: int, *, limit: float = _INF) -> ShortestPathTree:
        """Shortest-path tree from ``source`` (scipy's compiled Dijkstra). Nodes farther than
        ``limit`` are reported unreachable (``inf``); a finite limit saves work."""
        s = _as_node(source, self.n, "source")
        mat, _, _ = self._matrix()
        lim = float(np.nextafter(limit, _INF)) if math.isfinite(limit) else _INF
        dist, pred = _csgraph_dijkstra(
            mat, directed=True, indices=np.array([s]), return_predecessors=True, limit=lim
        )
        return ShortestPathTree(
            source=s,
            dist=np.asarray(dist[0], dtype=np.float64),
            pred_edge=self._pred_edges(np.asarray(pred[0])),
            heads=self.heads,
            tails=self._tails(),
        )

    def many_to_many(self, sources: Sequence[int], targets: Sequence[int]) -> FloatArray:
        """Matrix of shortest distances ``[i, j]`` from ``sources[i]`` to ``targets[j]``
        (``inf`` where unreachable). Memory is ``len(sources) x n`` floats while computing."""
        src = [_as_node(x, self.n, "source") for x in sources]
        tgt = np.asarray([_as_node(x, self.n, "target") for x in targets], dtype=np.int64)
        if not src:
            return np.zeros((0, tgt.size), dtype=np.float64)
        mat, _, _ = self._matrix()
        dist = _csgraph_dijkstra(mat, directed=True, indices=src)
        return np.asarray(np.atleast_2d(dist)[:, tgt], dtype=np.float64)


# --------------------------------------------------------------------------- functions


def shortest_path(
    indptr: npt.ArrayLike,
    heads: npt.ArrayLike,
    cost: npt.ArrayLike,
    source: int,
    target: int,
    *,
    method: Method = "auto",
) -> Path | None:
    """Cheapest ``source`` -> ``target`` path, ``None`` when unreachable (see
    :meth:`Router.shortest_path`). Edges of ``inf`` cost are never used."""
    return Router(indptr, heads, cost).shortest_path(source, target, method=method)


def one_to_all(
    indptr: npt.ArrayLike, heads: npt.ArrayLike, cost: npt.ArrayLike, source: int
) -> ShortestPathTree:
    """Distances and shortest-path tree from ``source`` to every node."""
    return Router(indptr, heads, cost).one_to_all(source)


def many_to_many(
    indptr: npt.ArrayLike,
    heads: npt.ArrayLike,
    cost: npt.ArrayLike,
    sources: Sequence[int],
    targets: Sequence[int],
) -> FloatArray:
    """Distance matrix ``len(sources) x len(targets)``, ``inf`` where unreachable."""
    return Router(indptr, heads, cost).many_to_many(sources, targets)


def path_overlap(candidate: Path, other: Path, cost: npt.ArrayLike) -> float:
    """Share of ``candidate``'s cost (under ``cost``) that runs on edges of ``other``; for a
    zero-cost candidate the share of its edges instead. In [0, 1]."""
    c = np.asarray(cost, dtype=np.float64)
    shared = np.isin(candidate.edges, other.edges)
    if candidate.edges.size == 0:
        return 1.0 if other.edges.size == 0 else 0.0
    total = float(c[candidate.edges].sum())
    if total > 0:
        return float(c[candidate.edges][shared].sum()) / total
    return float(shared.mean())


def alternatives(
    indptr: npt.ArrayLike,
    heads: npt.ArrayLike,
    cost: npt.ArrayLike,
    source: int,
    target: int,
    k: int = 3,
    *,
    penalty: float = 1.5,
    max_overlap: float = 0.7,
    max_stretch: float = 1.5,
    max_iterations: int | None = None,
) -> list[Path]:
    """Up to ``k`` diverse routes by the penalty method, best first.

    The best route is found; then, repeatedly, the (working) costs of the edges of the route
    just found are multiplied by ``penalty`` and the search is run again. A new route is kept
    when its true cost is at most ``max_stretch`` times the best route's and its overlap
    (:func:`path_overlap`, share of its true cost on edges of a kept route) with every kept
    route is at most ``max_overlap``. The loop stops after ``k`` routes or ``max_iterations``
    searches (default ``4 * k + 4``). Returned costs are the true, unpenalised costs. The
    result is deterministic. ``[]`` when the target is unreachable.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInput(f"k must be a positive integer, got {k!r}")
    if not (math.isfinite(penalty) and penalty > 1):
        raise InvalidInput(f"penalty must be a finite number > 1, got {penalty!r}")
    if not 0 <= max_overlap <= 1:
        raise InvalidInput(f"max_overlap must be in [0, 1], got {max_overlap!r}")
    if not (math.isfinite(max_stretch) and max_stretch >= 1):
        raise InvalidInput(f"max_stretch must be a finite number >= 1, got {max_stretch!r}")
    iterations = 4 * k + 4 if max_iterations is None else int(max_iterations)
    base = Router(indptr, heads, cost)
    best = base.shortest_path(source, target)
    if best is None:
        return []
    kept = [best]
    seen = {best.edge_key()}
    work = base.cost.copy()
    last = best
    for _ in range(iterations):
        if len(kept) >= k:
            break
        work[last.edges] *= penalty
        found = base.with_cost(work).shortest_path(source, target)
        if found is None:  # cannot happen: penalties keep finite costs finite
            break
        true_cost = float(base.cost[found.edges].sum())
        path = Path(found.nodes, found.edges, true_cost)
        last = path
        key = path.edge_key()
        if key in seen:
            continue
        seen.add(key)
        if true_cost > max_stretch * best.cost:
            continue
        if all(path_overlap(path, q, base.cost) <= max_overlap for q in kept):
            kept.append(path)
    return kept


def pareto_time_risk(
    indptr: npt.ArrayLike,
    heads: npt.ArrayLike,
    time_s: npt.ArrayLike,
    risk: npt.ArrayLike,
    source: int,
    target: int,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    *,
    closed: npt.ArrayLike | None = None,
) -> list[ParetoPoint]:
    """The supported Pareto front of total time against total risk exposure.

    For each ``lam`` in ``lambdas`` the cheapest route under :func:`edge_costs` (``time +
    lam * risk``, ``closed`` edges forbidden) is found. Identical routes are merged (the
    smallest ``lam`` is reported), dominated routes (another is no slower and no riskier and
    better in one) are removed, and the rest are returned as ``(lam, path, total_time,
    total_risk)`` sorted by time. Only routes that are optimal for some swept ``lam`` can
    appear (the convex hull of the front); the fastest is included when ``0`` is swept and
    the least risky when the largest ``lam`` is large enough. ``[]`` when unreachable.
    """
    lams = sorted({float(x) for x in lambdas})
    if not lams:
        raise InvalidInput("lambdas must contain at least one value")
    base = Router(indptr, heads, np.zeros(np.asarray(heads).size))
    t = _as_cost(time_s, base.m, "time_s")
    r = _as_cost(risk, base.m, "risk")
    found: dict[tuple[int, ...], ParetoPoint] = {}
    for lam in lams:
        c = edge_costs(t, r, lam, closed=closed)
        p = base.with_cost(c).shortest_path(source, target)
        if p is None:
            return []
        key = p.edge_key()
        if key not in found:
            found[key] = (lam, p, float(t[p.edges].sum()), float(r[p.edges].sum()))
    points = sorted(found.values(), key=lambda q: (q[2], q[3], q[0]))
    front: list[ParetoPoint] = []
    for q in points:
        dominated = any(
            o[2] <= q[2] and o[3] <= q[3] and (o[2] < q[2] or o[3] < q[3]) for o in points
        )
        if not dominated:
            front.append(q)
    return front
