"""Customizable contraction hierarchies (CCH) for fast repeated point-to-point queries.

A CCH (Dibbelt, Strasser and Wagner) splits route planning into three phases:

1. **Preparation, once per road graph** (:func:`build_cch`): a nested-dissection order of the
   nodes (:func:`nested_dissection_order`: recursive bisection along a few directions at the
   quantile, 30-70 %, whose separator is smallest for its balance, the smaller boundary of
   the cut becoming the separator and taking the highest ranks of its piece), then the
   chordal supergraph of the graph eliminated in that order (every node's *upward arcs* to
   higher-ranked neighbours, in CSR) and its elimination tree (each node's parent is its
   lowest upward neighbour). Nothing here depends on the costs.
2. **Customization, after every change of costs** (:meth:`CCH.customize`): every arc gets an
   upward weight (lower rank -> higher rank) and a downward weight (the other way) from the
   cheapest original edge between its ends, then every lower triangle ``{x, u, v}`` (``x``
   ranked lowest) is relaxed bottom-up: ``u -> x -> v`` may be cheaper than the arc ``u -> v``.
   The middle node (or the original edge) behind each weight is kept for path unpacking. This
   is what runs after each risk update. It runs on numba's threads (``threads``): the
   elimination tree is cut into a *top* (the highest separators) and subtrees below it, dealt
   to the threads by work; a thread runs its subtrees with no synchronisation (a node's row
   depends only on its descendants' rows), then the top nodes run in order, each heavy one's
   row cut in slices across the threads. The perfect pass runs the same schedule top-down.
   Every arc sees the same relaxations in the same order as in the one-thread kernels, so
   the weights are bit-identical whatever the thread count.
3. **Queries** (:meth:`CCHMetric.shortest_path`, :meth:`CCHMetric.distances`): the
   elimination-tree search. The source walks up its elimination-tree path relaxing upward
   weights, the target walks up its path relaxing downward weights, no priority queue; the
   best meeting node on the common part of the paths gives the distance, and shortcuts are
   unpacked into original edge ids: a shortcut's ``via`` is the arc from its middle node to
   its lower end, and the arc to its upper end follows in the same row.

Results are exact shortest-path costs: every weight is the cost of a real path, and the
elimination-tree search sees every up-down path of the chordal graph. Any order gives correct
answers; the order only decides how many arcs there are and so the speed. Graphs given without
coordinates are ordered on *hop coordinates* (breadth-first distances from two far-apart
nodes), which is correct but produces more arcs than geometric coordinates on road graphs.

The heavy loops run in numba; the nested dissection is vectorised numpy, one pass per level of
the recursion over all pieces at once. The graph layout is that of
:mod:`silkguard.network.routing`: ``indptr`` (``n + 1``) and ``heads`` (``m``); costs are
non-negative per edge, ``inf`` meaning forbidden.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path as _csgraph_shortest_path

from silkguard.core.errors import InvalidInput
from silkguard.core.jit import jit as _jit
from silkguard.core.jit import pjit as _pjit

__all__ = [
    "CCH",
    "CCHMetric",
    "build_cch",
    "hop_coordinates",
    "nested_dissection_order",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

# parallel schedule: lane_ptr, lane_node, top_node, top_split (see _plan)
_Schedule = tuple[IntArray, IntArray, IntArray, npt.NDArray[np.bool_]]

_DIRECTIONS = 4  # cut directions tried per piece: 0, 45, 90 and 135 degrees
_FRACTIONS = (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7)  # cut points tried (quantiles)
_INT32_MAX = 2**31 - 1
_SPLIT = 4  # a heavy top node's step is cut in _SPLIT x lanes slices
_SPLIT_WORK = 1 << 20  # triangles from which a top node's step is split across the lanes
_BALANCE = 1.05  # the subtrees dealt to the lanes: heaviest lane at most 5 % above the mean
_TOP_MAX = 1 << 13  # ... or stop growing the top at that many nodes or subtrees


# --------------------------------------------------------------------------- ordering


def hop_coordinates(indptr: npt.ArrayLike, heads: npt.ArrayLike) -> FloatArray:
    """Two pseudo-coordinates per node for graphs without geometry: with ``a`` a node far (in
    hops, ignoring direction) from node 0 and ``b`` a node far from ``a``, the columns are
    ``d_a - d_b`` and ``d_a + d_b`` (hop distances; 0 where unreachable)."""
    ip = np.asarray(indptr, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    n = ip.size - 1
    if n == 0:
        return np.zeros((0, 2))
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(ip))
    adj = sp.csr_matrix((np.ones(hd.size), (tails, hd)), shape=(n, n))

    def hops(src: int) -> FloatArray:
        d = np.asarray(
            _csgraph_shortest_path(adj, directed=False, unweighted=True, indices=[src])[0],
            dtype=np.float64,
        )
        d[~np.isfinite(d)] = -1.0
        return d

    a = int(np.argmax(hops(0)))
    da = hops(a)
    b = int(np.argmax(da))
    db = hops(b)
    da[da < 0] = 0.0
    db[db < 0] = 0.0
    return np.column_stack([da - db, da + db])


def _best_splits(
    nodes: IntArray,
    p: IntArray,
    sizes: IntArray,
    ea: IntArray,
    eb: IntArray,
    projections: list[FloatArray],
) -> tuple[IntArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """For every piece (``p`` of each of ``nodes``, ``sizes`` per piece, edges ``ea -> eb``
    inside pieces), the best separator over the splits along ``projections`` at the
    quantiles :data:`_FRACTIONS`: its size per piece, and per node whether it is in the
    separator and on the left side. A split's score is its separator's size over the balance
    ``4 f (1 - f)`` (1 at the median), so a cut between towns beats one through a city."""
    n = projections[0].size
    pieces = sizes.size
    starts = np.zeros(pieces + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    best_score = np.full(pieces, np.inf)
    best_size = np.zeros(pieces, dtype=np.int64)
    best_sep = np.zeros(n, dtype=bool)
    best_left = np.zeros(n, dtype=bool)
    for proj in projections:
        order = np.lexsort((nodes, proj[nodes], p))
        ordered = nodes[order]
        position = np.arange(nodes.size) - starts[p[order]]
        for fraction in _FRACTIONS:
            cut = np.clip(np.round(sizes * fraction).astype(np.int64), 1, np.maximum(sizes - 1, 1))
            balance = np.maximum(4.0 * cut * (sizes - cut), 1) / np.maximum(sizes, 1) ** 2
            left = np.zeros(n, dtype=bool)
            left[ordered] = position < cut[p[order]]
            la, lb = left[ea], left[eb]
            cross_ab = la & ~lb
            cross_ba = lb & ~la
            for side_left in (True, False):
                sep = np.zeros(n, dtype=bool)
                if side_left:
                    sep[ea[cross_ab]] = True
                    sep[eb[cross_ba]] = True
                else:
                    sep[eb[cross_ab]] = True
                    sep[ea[cross_ba]] = True
                count = np.bincount(p[sep[nodes]], minlength=pieces)
                score = count / balance
                better = score < best_score
                best_score[better] = score[better]
                best_size[better] = count[better]
                take = nodes[better[p]]
                best_sep[take] = sep[take]
                best_left[take] = left[take]
    return best_size, best_sep, best_left


def _rank_separators(
    sep_nodes: IntArray, sep_piece: IntArray, first_rank: IntArray, rank: IntArray, piece: IntArray
) -> None:
    """Give the separator nodes of each piece consecutive ranks from the piece's
    ``first_rank`` (the top of its range), in node order, and take them out of their piece."""
    order = np.argsort(sep_piece, kind="stable")
    sep_nodes, sep_piece = sep_nodes[order], sep_piece[order]
    first = np.searchsorted(sep_piece, sep_piece, side="left")
    rank[sep_nodes] = first_rank[sep_piece] + np.arange(sep_nodes.size) - first
    piece[sep_nodes] = -1


def nested_dissection_order(
    indptr: npt.ArrayLike, heads: npt.ArrayLike, xy: npt.ArrayLike
) -> IntArray:
    """The rank of every node in a nested-dissection order built from coordinates ``xy``
    (``n x 2``, any planar projection).

    Every piece (at first the whole graph) is split at several quantiles (30-70 %) of its
    nodes' projection on each of four directions; a split's separator is the smaller of its
    two boundaries (the nodes of one side with an edge to the other side). The separator with
    the best size-for-balance score (:func:`_best_splits`) wins and takes the highest free
    ranks of the piece; the two sides without it share no edge and are split in turn. All
    pieces of one level are split together with vectorised numpy, so the work is a few sorts
    of the graph and a few passes over its edges per level.
    """
    ip = np.asarray(indptr, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    n = ip.size - 1
    pts = np.asarray(xy, dtype=np.float64)
    if pts.shape != (n, 2):
        raise InvalidInput(f"xy must have shape ({n}, 2), one (x, y) per node; got {pts.shape}")
    if not np.isfinite(pts).all():
        raise InvalidInput("xy must be finite coordinates")
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(ip))
    loop = tails == hd
    ea, eb = tails[~loop], hd[~loop]
    angles = np.arange(_DIRECTIONS) * (math.pi / _DIRECTIONS)
    projections = [pts[:, 0] * math.cos(t) + pts[:, 1] * math.sin(t) for t in angles]

    rank = np.full(n, -1, dtype=np.int64)
    piece = np.zeros(n, dtype=np.int64)  # piece of every unranked node, -1 once ranked
    lo = np.zeros(1, dtype=np.int64)  # first rank of each piece
    nodes = np.arange(n, dtype=np.int64)
    while nodes.size:
        p = piece[nodes]
        sizes = np.bincount(p, minlength=lo.size)
        single = sizes[p] == 1
        if single.any():
            rank[nodes[single]] = lo[p[single]]
            piece[nodes[single]] = -1
            nodes, p = nodes[~single], p[~single]
        if not nodes.size:
            break
        same = (piece[ea] >= 0) & (piece[ea] == piece[eb])
        ea, eb = ea[same], eb[same]
        best_size, best_sep, best_left = _best_splits(nodes, p, sizes, ea, eb, projections)
        is_sep = best_sep[nodes]
        _rank_separators(nodes[is_sep], p[is_sep], lo + sizes - best_size, rank, piece)
        rest, rp = nodes[~is_sep], p[~is_sep]
        is_left = best_left[rest]
        left_count = np.bincount(rp[is_left], minlength=lo.size)
        child = 2 * rp + (~is_left).astype(np.int64)
        present = np.zeros(2 * lo.size, dtype=bool)
        present[child] = True
        new_id = np.cumsum(present) - 1
        child_lo = np.empty(2 * lo.size, dtype=np.int64)
        child_lo[0::2] = lo
        child_lo[1::2] = lo + left_count
        piece[rest] = new_id[child]
        lo = child_lo[present]
        nodes = rest
    return rank


# --------------------------------------------------------------------------- numba kernels


@_jit
def _elimination_tree(lower_ptr: Any, lower_nbr: Any, n: int) -> Any:  # pragma: no cover
    """Liu's algorithm with path compression; nodes are ranks, ``lower_nbr`` of ``i`` are its
    neighbours of lower rank."""
    parent = np.full(n, -1, dtype=np.int64)
    ancestor = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        for k in range(lower_ptr[i], lower_ptr[i + 1]):
            r = lower_nbr[k]
            while ancestor[r] != -1 and ancestor[r] != i:
                nxt = ancestor[r]
                ancestor[r] = i
                r = nxt
            if ancestor[r] == -1:
                ancestor[r] = i
                parent[r] = i
    return parent


@_jit
def _upward_arcs(lower_ptr: Any, lower_nbr: Any, parent: Any, n: int) -> Any:  # pragma: no cover
    """The chordal supergraph's upward arcs in CSR (heads ascending): ``k -> i`` for every ``k``
    on the elimination-tree paths from ``i``'s lower neighbours up to ``i`` (row subtrees)."""
    mark = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for i in range(n):
        mark[i] = i
        for e in range(lower_ptr[i], lower_ptr[i + 1]):
            k = lower_nbr[e]
            while mark[k] != i:
                mark[k] = i
                count[k] += 1
                k = parent[k]
    up_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        up_ptr[i + 1] = up_ptr[i] + count[i]
    fill = up_ptr[:-1].copy()
    up_head = np.empty(up_ptr[n], dtype=np.int32)
    mark[:] = -1
    for i in range(n):
        mark[i] = i
        for e in range(lower_ptr[i], lower_ptr[i + 1]):
            k = lower_nbr[e]
            while mark[k] != i:
                mark[k] = i
                up_head[fill[k]] = i
                fill[k] += 1
                k = parent[k]
    return up_ptr, up_head


@_jit
def _first_at_least(up_head: Any, a: int, b: int, value: int) -> int:  # pragma: no cover
    """The first index in ``a .. b - 1`` (ascending heads) whose head is at least ``value``,
    ``b`` if none (binary search)."""
    while a < b:
        mid = (a + b) >> 1
        if up_head[mid] < value:
            a = mid + 1
        else:
            b = mid
    return a


@_jit
def _find_arc(up_ptr: Any, up_head: Any, low: int, high: int) -> int:  # pragma: no cover
    """The arc ``low -> high`` (binary search in ``low``'s ascending heads), -1 if none."""
    a = _first_at_least(up_head, up_ptr[low], up_ptr[low + 1], high)
    if a < up_ptr[low + 1] and up_head[a] == high:
        return int(a)
    return -1


@_jit
def _edge_arcs(
    rank_tail: Any, rank_head: Any, up_ptr: Any, up_head: Any
) -> Any:  # pragma: no cover
    """Per original edge ``2 * arc + d`` (``d`` 0 upward, 1 downward), -1 for self-loops."""
    m = rank_tail.size
    out = np.full(m, -1, dtype=np.int64)
    for e in range(m):
        a, b = rank_tail[e], rank_head[e]
        if a < b:
            out[e] = 2 * _find_arc(up_ptr, up_head, a, b)
        elif b < a:
            out[e] = 2 * _find_arc(up_ptr, up_head, b, a) + 1
    return out


@_jit
def _downward_arcs(up_ptr: Any, up_head: Any, n: int) -> Any:  # pragma: no cover
    """Per node its arcs from lower nodes (``arc_tail``, ``down_ptr``, ``down_arc``)."""
    arcs = up_head.size
    arc_tail = np.empty(arcs, dtype=np.int32)
    count = np.zeros(n + 1, dtype=np.int64)
    for x in range(n):
        for a in range(up_ptr[x], up_ptr[x + 1]):
            arc_tail[a] = x
            count[up_head[a] + 1] += 1
    down_ptr = np.cumsum(count)
    fill = down_ptr[:-1].copy()
    down_arc = np.empty(arcs, dtype=np.int64)
    for a in range(arcs):
        h = up_head[a]
        down_arc[fill[h]] = a
        fill[h] += 1
    return arc_tail, down_ptr, down_arc


@_jit
def _initial_weights(edge_arc: Any, cost: Any, arcs: int) -> Any:  # pragma: no cover
    """Per arc and direction the cheapest original edge (weight, edge id), ``inf``/-1 if none."""
    up_w = np.full(arcs, np.inf)
    down_w = np.full(arcs, np.inf)
    up_via = np.full(arcs, -1, dtype=np.int32)
    down_via = np.full(arcs, -1, dtype=np.int32)
    for e in range(edge_arc.size):
        code = edge_arc[e]
        if code < 0:
            continue
        a = code >> 1
        c = cost[e]
        if code & 1:
            if c < down_w[a]:
                down_w[a] = c
                down_via[a] = e
        elif c < up_w[a]:
            up_w[a] = c
            up_via[a] = e
    return up_w, down_w, up_via, down_via


@_jit
def _lower_part(
    u: int,
    k0: int,
    k1: int,
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_ptr: Any,
    down_arc: Any,
    up_w: Any,
    down_w: Any,
    up_via: Any,
    down_via: Any,
    pos: Any,
) -> None:  # pragma: no cover
    """The lower triangles of ``u``'s arcs ``k0 .. k1 - 1`` (a slice of its row): for every
    lower neighbour ``x`` (in ``down_arc`` order) and every arc ``x -> v`` with ``v`` in the
    slice, ``u -> x -> v`` and ``v -> x -> u``. Writes only arcs of the slice, so slices of one
    row, or rows of nodes that are not ancestors of one another, can run in parallel; every
    arc sees the same relaxations in the same order whatever the slicing."""
    if k0 >= k1:
        return
    for k in range(k0, k1):
        pos[up_head[k]] = k
    whole = k0 == up_ptr[u]
    h0 = up_head[k0]
    h1 = up_head[k1 - 1]
    for q in range(down_ptr[u], down_ptr[u + 1]):
        a = down_arc[q]  # x -> u
        to_x = down_w[a]  # u -> x
        from_x = up_w[a]  # x -> u
        if to_x == np.inf and from_x == np.inf:
            continue
        middle = -np.int64(a) - 1  # the shortcut's first half, the arc x -> u
        j = a + 1
        end = up_ptr[arc_tail[a] + 1]
        if not whole:  # first arc x -> v with v >= h0 (heads ascend)
            b = end
            while j < b:
                mid = (j + b) >> 1
                if up_head[mid] < h0:
                    j = mid + 1
                else:
                    b = mid
        while j < end:
            v = up_head[j]
            if v > h1:
                break
            p = pos[v]  # u -> v
            via_up = to_x + up_w[j]  # u -> x -> v
            if via_up < up_w[p]:
                up_w[p] = via_up
                up_via[p] = middle
            via_down = down_w[j] + from_x  # v -> x -> u
            if via_down < down_w[p]:
                down_w[p] = via_down
                down_via[p] = middle
            j += 1


@_jit
def _upper_part(
    u: int,
    q0: int,
    q1: int,
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_arc: Any,
    up_w: Any,
    down_w: Any,
    pos: Any,
) -> None:  # pragma: no cover
    """The perfect customization's step at ``u`` for its lower neighbours ``q0 .. q1 - 1``
    (indices into ``down_arc``): the arcs ``x -> u`` over the upper triangles and ``x -> v``
    over the intermediate ones through ``u``. Writes only the rows of those ``x``, so any
    split of them, or nodes that are not ancestors of one another, can run in parallel."""
    for k in range(up_ptr[u], up_ptr[u + 1]):
        pos[up_head[k]] = k
    for q in range(q0, q1):
        a = down_arc[q]  # x -> u, x below u
        wa_up = up_w[a]
        wa_down = down_w[a]
        for j in range(a + 1, up_ptr[arc_tail[a] + 1]):
            p = pos[up_head[j]]  # u -> v; j is x -> v
            wa_up = min(wa_up, up_w[j] + down_w[p])  # x -> v -> u
            wa_down = min(wa_down, up_w[p] + down_w[j])  # u -> v -> x
            up_w[j] = min(up_w[j], wa_up + up_w[p])  # x -> u -> v
            down_w[j] = min(down_w[j], down_w[p] + wa_down)  # v -> u -> x
        up_w[a] = wa_up
        down_w[a] = wa_down


@_jit
def _customize(
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_ptr: Any,
    down_arc: Any,
    edge_arc: Any,
    cost: Any,
    n: int,
) -> Any:  # pragma: no cover
    """Basic customization, one thread: cheapest original edge per arc and direction, then the
    lower triangles, pulled by every node ``u`` bottom-up from its lower neighbours ``x`` (the
    arcs of ``x`` are final by then). ``via`` >= 0 is an original edge id; < 0 marks a
    shortcut ``u - x - v`` through its middle node's arc ``x -> u``, ``-via - 1`` (the arc
    ``x -> v`` follows it in ``x``'s row, so unpacking needs no search by node)."""
    up_w, down_w, up_via, down_via = _initial_weights(edge_arc, cost, up_head.size)
    pos = np.empty(n, dtype=np.int64)
    for u in range(n):
        _lower_part(
            u, up_ptr[u], up_ptr[u + 1], up_ptr, up_head, arc_tail, down_ptr, down_arc,
            up_w, down_w, up_via, down_via, pos,
        )  # fmt: skip
    return up_w, down_w, up_via, down_via


@_jit
def _perfect(
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_ptr: Any,
    down_arc: Any,
    up_w: Any,
    down_w: Any,
    n: int,
) -> None:  # pragma: no cover
    """Perfect customization in place, one thread: every arc weight becomes the shortest-path
    distance between its ends, using the intermediate and upper triangles top-down (the arcs
    between higher nodes are exact by the time a lower node's arcs use them)."""
    pos = np.empty(n, dtype=np.int64)
    for u in range(n - 1, -1, -1):
        _upper_part(
            u, down_ptr[u], down_ptr[u + 1], up_ptr, up_head, arc_tail, down_arc, up_w, down_w,
            pos,
        )  # fmt: skip


@_jit
def _node_work(
    up_ptr: Any, arc_tail: Any, down_ptr: Any, down_arc: Any, n: int
) -> Any:  # pragma: no cover
    """Triangles handled at every node ``u``, both in the basic pass (lower triangles pulled
    into ``u``'s row) and the perfect pass (intermediate/upper triangles through ``u``): the
    arcs of each lower neighbour ``x`` above ``u``."""
    work = np.zeros(n, dtype=np.float64)
    for u in range(n):
        w = 0
        for q in range(down_ptr[u], down_ptr[u + 1]):
            a = down_arc[q]
            w += up_ptr[arc_tail[a] + 1] - a - 1
        work[u] = w + 1.0  # every node costs something, even without triangles
    return work


def _plan(
    up_ptr: IntArray,
    arc_tail: Int32Array,
    down_ptr: IntArray,
    down_arc: IntArray,
    parent: IntArray,
    lanes: int,
) -> _Schedule:
    """Split the elimination tree for ``lanes`` parallel lanes: a *top* set closed under
    ancestors and the subtrees hanging below it, dealt to the lanes heaviest first to the
    least-loaded lane. The top grows from the roots, taking the heaviest remaining subtree's
    root, until the dealt subtrees load the heaviest lane at most ``_BALANCE`` times the
    mean (on a lattice: the top separator, then the halves' separators, ...). Rows of different
    subtrees never depend on each other, so each lane runs its subtrees without
    synchronisation; the top nodes run in order, each split across the lanes when it has at
    least ``_SPLIT_WORK`` triangles. Returns ``(lane_ptr, lane_node, top_node, top_split)``,
    nodes ascending by rank."""
    n = parent.size
    work = _node_work(up_ptr, arc_tail, down_ptr, down_arc, n)
    has_parent = parent >= 0
    subtree = _subtree_sums(work, parent)
    children = np.argsort(np.where(has_parent, parent, n), kind="stable")
    child_ptr = np.zeros(n + 2, dtype=np.int64)
    np.cumsum(np.bincount(np.where(has_parent, parent, n), minlength=n + 1), out=child_ptr[1:])
    roots = children[child_ptr[n] : child_ptr[n + 1]]
    heap = [(-float(subtree[r]), int(r)) for r in roots]
    heapq.heapify(heap)
    top: list[int] = []
    while (
        heap
        and len(top) < _TOP_MAX
        and len(heap) < _TOP_MAX
        and _makespan(heap, lanes) > _BALANCE * -sum(w for w, _ in heap) / lanes
    ):
        _, r = heapq.heappop(heap)
        top.append(r)
        for c in children[child_ptr[r] : child_ptr[r + 1]].tolist():
            heapq.heappush(heap, (-float(subtree[c]), c))
    lane_of = np.full(n, -1, dtype=np.int64)
    for lane, part in enumerate(_deal(heap, lanes)):
        lane_of[np.asarray(part, dtype=np.int64)] = lane
    lane_of = _inherit_lane(lane_of, parent)
    on_top = np.zeros(n, dtype=bool)
    on_top[np.asarray(top, dtype=np.int64)] = True
    lane_of[on_top] = -1
    nodes = np.flatnonzero(lane_of >= 0)
    lane_node = nodes[np.argsort(lane_of[nodes], kind="stable")]
    lane_ptr = np.zeros(lanes + 1, dtype=np.int64)
    np.cumsum(np.bincount(lane_of[nodes], minlength=lanes), out=lane_ptr[1:])
    top_node = np.flatnonzero(on_top)
    return lane_ptr, lane_node, top_node, work[top_node] >= _SPLIT_WORK


def _deal(heap: list[tuple[float, int]], lanes: int) -> list[list[int]]:
    """Subtrees ``(-work, root)`` dealt heaviest first to the least-loaded lane."""
    load = [(0.0, lane) for lane in range(lanes)]
    parts: list[list[int]] = [[] for _ in range(lanes)]
    for neg, r in sorted(heap):
        done, lane = heapq.heappop(load)
        parts[lane].append(r)
        heapq.heappush(load, (done - neg, lane))
    return parts


def _makespan(heap: list[tuple[float, int]], lanes: int) -> float:
    """The heaviest lane's work when the subtrees ``heap`` are dealt by :func:`_deal`."""
    load = [0.0] * lanes
    for neg, _ in sorted(heap):
        load[load.index(min(load))] -= neg
    return max(load)


@_jit
def _subtree_sums(work: Any, parent: Any) -> Any:  # pragma: no cover
    """Per node the work of its elimination subtree (children rank below their parent)."""
    out = work.copy()
    for r in range(work.size):
        if parent[r] >= 0:
            out[parent[r]] += out[r]
    return out


@_jit
def _inherit_lane(lane_of: Any, parent: Any) -> Any:  # pragma: no cover
    """Every node without a lane takes its parent's (parents first: descending rank)."""
    out = lane_of.copy()
    for r in range(out.size - 1, -1, -1):
        if out[r] < 0 and parent[r] >= 0:
            out[r] = out[parent[r]]
    return out


@_pjit
def _customize_parallel(
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_ptr: Any,
    down_arc: Any,
    lane_ptr: Any,
    lane_node: Any,
    top_node: Any,
    top_split: Any,
    edge_arc: Any,
    cost: Any,
    n: int,
    lanes: int,
) -> Any:  # pragma: no cover
    """:func:`_customize` on ``lanes`` parallel lanes (schedule from :func:`_plan`): each lane
    runs its subtrees bottom-up (a row is written only by its node and reads only rows of
    its descendants), then the top nodes in rank order, a heavy one's row cut in slices run
    in parallel. Bit-identical to the one-thread kernel, whatever ``lanes``."""
    up_w, down_w, up_via, down_via = _initial_weights(edge_arc, cost, up_head.size)
    pos = np.empty((lanes, n), dtype=np.int64)
    for t in numba.prange(lanes):
        for i in range(lane_ptr[t], lane_ptr[t + 1]):
            u = lane_node[i]
            _lower_part(
                u, up_ptr[u], up_ptr[u + 1], up_ptr, up_head, arc_tail, down_ptr, down_arc,
                up_w, down_w, up_via, down_via, pos[t],
            )  # fmt: skip
    wide = _SPLIT * lanes
    for i in range(top_node.size):
        u = top_node[i]
        start, size = up_ptr[u], up_ptr[u + 1] - up_ptr[u]
        if not top_split[i]:
            _lower_part(
                u, start, start + size, up_ptr, up_head, arc_tail, down_ptr, down_arc,
                up_w, down_w, up_via, down_via, pos[0],
            )  # fmt: skip
            continue
        for t in numba.prange(lanes):
            for part in range(t, wide, lanes):
                _lower_part(
                    u, start + size * part // wide, start + size * (part + 1) // wide,
                    up_ptr, up_head, arc_tail, down_ptr, down_arc, up_w, down_w, up_via,
                    down_via, pos[t],
                )  # fmt: skip
    return up_w, down_w, up_via, down_via


@_pjit
def _perfect_parallel(
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    down_ptr: Any,
    down_arc: Any,
    lane_ptr: Any,
    lane_node: Any,
    top_node: Any,
    top_split: Any,
    up_w: Any,
    down_w: Any,
    n: int,
    lanes: int,
) -> None:  # pragma: no cover
    """:func:`_perfect` on ``lanes`` parallel lanes: the top nodes first, from the highest
    rank down (a heavy one's lower neighbours cut in parts run in parallel: each part writes
    only its neighbours' rows), then each lane its subtrees top-down. A node's step writes
    rows of its lower neighbours, whose upper neighbours all lie on one elimination-tree
    path, so nodes of different subtrees never share them, and every row sees its updates
    in the one-thread order: bit-identical to :func:`_perfect`, whatever ``lanes``."""
    pos = np.empty((lanes, n), dtype=np.int64)
    wide = _SPLIT * lanes
    for i in range(top_node.size - 1, -1, -1):
        u = top_node[i]
        start, size = down_ptr[u], down_ptr[u + 1] - down_ptr[u]
        if not top_split[i]:
            _upper_part(
                u, start, start + size, up_ptr, up_head, arc_tail, down_arc, up_w, down_w,
                pos[0],
            )  # fmt: skip
            continue
        for t in numba.prange(lanes):
            for part in range(t, wide, lanes):
                _upper_part(
                    u, start + size * part // wide, start + size * (part + 1) // wide,
                    up_ptr, up_head, arc_tail, down_arc, up_w, down_w, pos[t],
                )  # fmt: skip
    for t in numba.prange(lanes):
        for i in range(lane_ptr[t + 1] - 1, lane_ptr[t] - 1, -1):
            u = lane_node[i]
            _upper_part(
                u, down_ptr[u], down_ptr[u + 1], up_ptr, up_head, arc_tail, down_arc,
                up_w, down_w, pos[t],
            )  # fmt: skip


@_jit
def _kept(up_ptr: Any, up_head: Any, weight: Any, exact: Any, n: int) -> Any:  # pragma: no cover
    """The arcs of one direction that some shortest path may need (finite, and not beaten
    by the perfect customization by more than rounding), compacted in CSR."""
    keep = np.zeros(weight.size, dtype=np.bool_)
    for a in range(weight.size):
        w = weight[a]
        keep[a] = w < np.inf and not exact[a] < w * (1.0 - 1e-10)
    ptr = np.zeros(n + 1, dtype=np.int64)
    for u in range(n):
        c = 0
        for a in range(up_ptr[u], up_ptr[u + 1]):
            if keep[a]:
                c += 1
        ptr[u + 1] = ptr[u] + c
    head = np.empty(ptr[n], dtype=np.int32)
    w_out = np.empty(ptr[n])
    arc = np.empty(ptr[n], dtype=np.int64)
    k = 0
    for a in range(weight.size):
        if keep[a]:
            head[k] = up_head[a]
            w_out[k] = weight[a]
            arc[k] = a
            k += 1
    return ptr, head, w_out, arc


@_jit
def _relax(
    u: int, du: float, ptr: Any, head: Any, weight: Any, dist: Any, pred: Any
) -> None:  # pragma: no cover
    """Relax the kept arcs of ``u`` (at distance ``du``) on one side of the search."""
    for k in range(ptr[u], ptr[u + 1]):
        w = head[k]
        nd = du + weight[k]
        if nd < dist[w]:
            dist[w] = nd
            pred[w] = k


@_jit
def _reset(u: int, parent: Any, dist: Any) -> None:  # pragma: no cover
    """Distances back to ``inf`` on the elimination-tree path from ``u`` (all a side set)."""
    while u != -1:
        dist[u] = np.inf
        u = parent[u]


@_jit
def _search(
    s: int,
    t: int,
    parent: Any,
    f_ptr: Any,
    f_head: Any,
    f_w: Any,
    b_ptr: Any,
    b_head: Any,
    b_w: Any,
    dist_f: Any,
    dist_b: Any,
    pred_f: Any,
    pred_b: Any,
) -> Any:  # pragma: no cover
    """Elimination-tree search from rank ``s`` to rank ``t`` over the kept upward (``f_*``)
    and downward (``b_*``) arcs: ``(cost, meeting rank)``, the rank -1 when unreachable.
    Leaves ``pred_f``/``pred_b`` (kept-arc index into each node, per side) set on the two
    paths; resets the distance arrays before returning."""
    dist_f[s] = 0.0
    dist_b[t] = 0.0
    u, v = s, t
    while u != v:  # below the lowest common ancestor the two sides cannot meet
        if v == -1 or (u != -1 and u < v):
            if dist_f[u] < np.inf:
                _relax(u, dist_f[u], f_ptr, f_head, f_w, dist_f, pred_f)
            u = parent[u]
        else:
            if dist_b[v] < np.inf:
                _relax(v, dist_b[v], b_ptr, b_head, b_w, dist_b, pred_b)
            v = parent[v]
    best = np.inf
    meet = -1
    while u != -1:  # the common part: meet, and prune what cannot beat the best so far
        du, dv = dist_f[u], dist_b[u]
        if du + dv < best:
            best = du + dv
            meet = u
        if du < best:
            _relax(u, du, f_ptr, f_head, f_w, dist_f, pred_f)
        if dv < best:
            _relax(u, dv, b_ptr, b_head, b_w, dist_b, pred_b)
        u = parent[u]
    _reset(s, parent, dist_f)
    _reset(t, parent, dist_b)
    return best, meet


@_jit
def _second_half(
    up_ptr: Any, up_head: Any, x: int, first: int, high: int
) -> int:  # pragma: no cover
    """The arc ``x -> high`` after ``first`` (``x -> low``, ``low < high``) in ``x``'s row
    (heads ascending): usually a few places on, so a short scan before a binary search."""
    j = first + 1
    end = up_ptr[x + 1]
    stop = min(j + 8, end)
    while j < stop:
        if up_head[j] == high:
            return j
        j += 1
    return _first_at_least(up_head, j, end, high)


@_jit
def _push(stack: Any, top: int, code: int, low: int, high: int) -> int:  # pragma: no cover
    """Put ``(code, low, high)`` on row ``top`` of the unpacking stack; returns the new top."""
    stack[top, 0] = code
    stack[top, 1] = low
    stack[top, 2] = high
    return top + 1


@_jit
def _unpack(
    s: int,
    t: int,
    meet: int,
    up_ptr: Any,
    up_head: Any,
    arc_tail: Any,
    up_via: Any,
    down_via: Any,
    cost: Any,
    f_arc: Any,
    b_arc: Any,
    pred_f: Any,
    pred_b: Any,
    stack: Any,
    out: Any,
) -> Any:  # pragma: no cover
    """Original edge ids of the path ``s -> meet -> t`` into ``out`` and the sum of their
    costs in driving order: ``(count, cost)``, the count -1 when the buffers are too small.
    ``stack`` rows are pending ``(2 * arc + direction, low end, high end)`` (direction 1 =
    downward), the last pushed driven first; carrying the ends saves a memory access per
    step, which is what unpacking a path of thousands of edges waits on."""
    top = 0
    v = meet
    while v != t:  # the downward half is driven last, so it goes on the stack first
        if top >= stack.shape[0]:
            return -1, 0.0
        a = b_arc[pred_b[v]]
        low = arc_tail[a]
        top = _push(stack, top, 2 * a + 1, low, v)
        v = low
    for i in range(top // 2):  # ... in reverse, the meeting node's arc last
        for k in range(3):
            stack[i, k], stack[top - 1 - i, k] = stack[top - 1 - i, k], stack[i, k]
    v = meet
    while v != s:
        if top >= stack.shape[0]:
            return -1, 0.0
        a = f_arc[pred_f[v]]
        low = arc_tail[a]
        top = _push(stack, top, 2 * a, low, v)
        v = low
    count = 0
    total = 0.0
    while top > 0:
        top -= 1
        code = stack[top, 0]
        low = stack[top, 1]
        high = stack[top, 2]
        a = code >> 1
        down = code & 1
        via = down_via[a] if down else up_via[a]
        if via >= 0:
            if count >= out.size:
                return -1, 0.0
            out[count] = via
            total += cost[via]
            count += 1
            continue
        if top + 2 > stack.shape[0]:
            return -1, 0.0
        first = -via - 1  # x -> low
        x = arc_tail[first]
        second = _second_half(up_ptr, up_head, x, first, high)  # x -> high
        if down:  # high -> x -> low: push x -> low, then high -> x
            top = _push(stack, top, 2 * first, x, low)
            top = _push(stack, top, 2 * second + 1, x, high)
        else:  # low -> x -> high: push x -> high, then low -> x
            top = _push(stack, top, 2 * second, x, high)
            top = _push(stack, top, 2 * first + 1, x, low)
    return count, total


@_jit
def _distances(
    sources: Any,
    targets: Any,
    parent: Any,
    f_ptr: Any,
    f_head: Any,
    f_w: Any,
    b_ptr: Any,
    b_head: Any,
    b_w: Any,
    dist_f: Any,
    dist_b: Any,
    pred_f: Any,
    pred_b: Any,
) -> Any:  # pragma: no cover
    out = np.empty(sources.size)
    for i in range(sources.size):
        out[i] = _search(
            sources[i], targets[i], parent, f_ptr, f_head, f_w, b_ptr, b_head, b_w,
            dist_f, dist_b, pred_f, pred_b,
        )[0]  # fmt: skip
    return out


# --------------------------------------------------------------------------- public classes


@dataclass(frozen=True, eq=False)
class CCH:
    """The metric-independent part of a customizable contraction hierarchy (see the module
    docstring). Node ids outside are the graph's; inside, nodes are ranks (``rank[node]``).
    Arcs are stored once, from the lower to the higher rank (``up_ptr``/``up_head``, heads
    ascending), with their lower end (``arc_tail``) and, per node, the arcs arriving from
    below (``down_ptr``/``down_arc``)."""

    n: int
    m: int
    rank: IntArray = field(repr=False)
    up_ptr: IntArray = field(repr=False)
    up_head: Int32Array = field(repr=False)
    arc_tail: Int32Array = field(repr=False)
    down_ptr: IntArray = field(repr=False)
    down_arc: IntArray = field(repr=False)
    parent: IntArray = field(repr=False)
    edge_arc: IntArray = field(repr=False)
    preprocess_s: float
    _schedules: dict[int, _Schedule] = field(default_factory=dict, init=False, repr=False)

    @property
    def arcs(self) -> int:
        """Number of arcs of the chordal supergraph (each with an up and a down weight)."""
        return int(self.up_head.size)

    @property
    def fill(self) -> float:
        """Arcs per original (directed) edge."""
        return self.arcs / max(self.m, 1)

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the structure's arrays."""
        arrays = (
            self.rank, self.up_ptr, self.up_head, self.arc_tail, self.down_ptr, self.down_arc,
            self.parent, self.edge_arc,
        )  # fmt: skip
        return sum(a.nbytes for a in arrays)

    def elimination_tree_depth(self) -> int:
        """Largest number of nodes on a path from a node to its elimination-tree root."""
        depth = np.zeros(self.n, dtype=np.int64)
        for r in range(self.n - 1, -1, -1):
            p = int(self.parent[r])
            depth[r] = 1 if p < 0 else depth[p] + 1
        return int(depth.max()) if self.n else 0

    def _schedule(self, lanes: int) -> _Schedule:
        """The parallel schedule for ``lanes`` lanes (built once per count, see
        :func:`_plan`)."""
        if lanes not in self._schedules:
            self._schedules[lanes] = _plan(
                self.up_ptr, self.arc_tail, self.down_ptr, self.down_arc, self.parent, lanes
            )
        return self._schedules[lanes]

    def customize(
        self, cost: npt.ArrayLike, *, perfect: bool = True, threads: int | None = None
    ) -> CCHMetric:
        """Arc weights for ``cost`` (one non-negative value per edge, ``inf`` forbidden).

        The basic customization (lower triangles) is enough for exact queries. With
        ``perfect`` (the default) a second pass over the intermediate and upper triangles
        finds every arc's true distance and drops the arcs that a shorter path beats, which
        roughly doubles the customization time but makes queries scan far fewer arcs.

        Both passes run level by level of the elimination tree on ``threads`` parallel lanes
        (default numba's thread count, ``NUMBA_NUM_THREADS``); 1 runs the one-thread
        kernels. The weights are identical for every value."""
        lanes = numba.get_num_threads() if threads is None else threads
        if isinstance(lanes, bool) or not isinstance(lanes, int | np.integer) or lanes < 1:
            raise InvalidInput(f"threads must be a positive integer, got {threads!r}")
        lanes = int(lanes)
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != (self.m,):
            raise InvalidInput(
                f"cost must have one value per edge: expected shape ({self.m},), got {c.shape}"
            )
        if np.isnan(c).any() or (c < 0).any():
            raise InvalidInput("cost must be non-negative and not NaN (inf means forbidden)")
        start = time.perf_counter()
        structure = (self.up_ptr, self.up_head, self.arc_tail, self.down_ptr, self.down_arc)
        plan = self._schedule(lanes) if lanes > 1 else None
        if lanes == 1:
            up_w, down_w, up_via, down_via = _customize(*structure, self.edge_arc, c, self.n)
        else:
            up_w, down_w, up_via, down_via = _customize_parallel(
                *structure, *cast(_Schedule, plan), self.edge_arc, c, self.n, lanes
            )
        basic_s = time.perf_counter() - start
        exact_up, exact_down = up_w, down_w
        if perfect:
            exact_up, exact_down = up_w.copy(), down_w.copy()
            if lanes == 1:
                _perfect(*structure, exact_up, exact_down, self.n)
            else:
                _perfect_parallel(
                    *structure, *cast(_Schedule, plan), exact_up, exact_down, self.n, lanes
                )
        forward = _kept(self.up_ptr, self.up_head, up_w, exact_up, self.n)
        backward = _kept(self.up_ptr, self.up_head, down_w, exact_down, self.n)
        return CCHMetric(
            cch=self,
            cost=c,
            up_via=up_via,
            down_via=down_via,
            forward=forward,
            backward=backward,
            basic_s=basic_s,
            customize_s=time.perf_counter() - start,
        )


_Kept = tuple[IntArray, Int32Array, FloatArray, IntArray]


@dataclass(eq=False)
class CCHMetric:
    """A :class:`CCH` customized for one cost array: the query side. ``forward`` and
    ``backward`` hold, in CSR by lower end, the upward and downward arcs a shortest path may
    use (``(ptr, head, weight, arc)``); ``up_via``/``down_via`` unpack every arc.
    Queries reuse scratch arrays, so one metric must not be queried from two threads at once."""

    cch: CCH
    cost: FloatArray = field(repr=False)
    up_via: Int32Array = field(repr=False)
    down_via: Int32Array = field(repr=False)
    forward: _Kept = field(repr=False)
    backward: _Kept = field(repr=False)
    basic_s: float
    customize_s: float
    _scratch: tuple[FloatArray, FloatArray, IntArray, IntArray] | None = field(
        default=None, init=False, repr=False
    )
    _paths: tuple[IntArray, IntArray] | None = field(default=None, init=False, repr=False)

    @property
    def kept_arcs(self) -> int:
        """Upward plus downward arcs left for queries after the perfect customization."""
        return int(self.forward[1].size + self.backward[1].size)

    @property
    def memory_bytes(self) -> int:
        """Bytes of the unpacking information and the query arcs (scratch not counted)."""
        kept = sum(a.nbytes for a in (*self.forward, *self.backward))
        return self.up_via.nbytes + self.down_via.nbytes + kept

    def _buffers(self) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
        if self._scratch is None:
            n = self.cch.n
            self._scratch = (
                np.full(n, np.inf),
                np.full(n, np.inf),
                np.full(n, -1, dtype=np.int64),
                np.full(n, -1, dtype=np.int64),
            )
        return self._scratch

    def _path_buffers(self, size: int) -> tuple[IntArray, IntArray]:
        """The unpacking stack and output (reused between queries), at least ``size`` long."""
        if self._paths is None or self._paths[1].size < size:
            size = max(size, 1 << 14)
            self._paths = (np.empty((size, 3), dtype=np.int64), np.empty(size, dtype=np.int64))
        return self._paths

    def _node(self, value: int, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InvalidInput(f"{name} must be an integer node id, got {value!r}")
        v = int(value)
        if not 0 <= v < self.cch.n:
            raise InvalidInput(
                f"{name} {v} is out of range: the graph has nodes 0..{self.cch.n - 1}"
            )
        return v

    def distance(self, source: int, target: int) -> float:
        """Cost of the cheapest ``source`` -> ``target`` path, ``inf`` when unreachable."""
        s = self._node(source, "source")
        t = self._node(target, "target")
        return float(self.distances([s], [t])[0])

    def distances(self, sources: Sequence[int], targets: Sequence[int]) -> FloatArray:
        """Costs of the cheapest paths ``sources[i] -> targets[i]`` (pairwise, ``inf`` where
        unreachable), all searched in one compiled loop."""
        src = np.asarray(sources, dtype=np.int64)
        dst = np.asarray(targets, dtype=np.int64)
        if src.shape != dst.shape or src.ndim != 1:
            raise InvalidInput("sources and targets must be equal-length lists of node ids")
        n = self.cch.n
        if src.size and (src.min() < 0 or dst.min() < 0 or src.max() >= n or dst.max() >= n):
            raise InvalidInput(f"node ids must be in [0, {n}); found one outside")
        c = self.cch
        fp, fh, fw, _ = self.forward
        bp, bh, bw, _ = self.backward
        df, db, pf, pb = self._buffers()
        out = _distances(c.rank[src], c.rank[dst], c.parent, fp, fh, fw, bp, bh, bw, df, db, pf, pb)
        return np.asarray(out, dtype=np.float64)

    def shortest_path(self, source: int, target: int) -> tuple[float, IntArray] | None:
        """``(cost, edge ids in driving order)`` of a cheapest path, ``None`` when unreachable.
        The cost is the sum of the path's edge costs taken in driving order."""
        s = self._node(source, "source")
        t = self._node(target, "target")
        if s == t:
            return 0.0, np.empty(0, dtype=np.int64)
        c = self.cch
        fp, fh, fw, fa = self.forward
        bp, bh, bw, ba = self.backward
        df, db, pf, pb = self._buffers()
        rs, rt = int(c.rank[s]), int(c.rank[t])
        best, meet = _search(rs, rt, c.parent, fp, fh, fw, bp, bh, bw, df, db, pf, pb)
        if meet < 0 or not math.isfinite(best):
            return None
        stack, out = self._path_buffers(0)
        while True:  # buffers too small: grow them (kept for the next queries) and redo
            count, total = _unpack(
                rs, rt, meet, c.up_ptr, c.up_head, c.arc_tail, self.up_via, self.down_via,
                self.cost, fa, ba, pf, pb, stack, out,
            )  # fmt: skip
            if count >= 0:
                break
            stack, out = self._path_buffers(4 * out.size)
        return float(total), out[:count].copy()


def build_cch(
    indptr: npt.ArrayLike,
    heads: npt.ArrayLike,
    xy: npt.ArrayLike | None = None,
) -> CCH:
    """Prepare a CCH for the graph ``indptr``/``heads`` (validated by the caller, see
    :mod:`silkguard.network.routing`). ``xy`` (``n x 2`` planar coordinates, e.g. projected
    longitude and latitude) drives the nested dissection; without it :func:`hop_coordinates`
    are used."""
    start = time.perf_counter()
    ip = np.asarray(indptr, dtype=np.int64)
    hd = np.asarray(heads, dtype=np.int64)
    n = ip.size - 1
    m = hd.size
    if max(n, m) >= _INT32_MAX:
        raise InvalidInput(f"graphs up to {_INT32_MAX - 1} nodes and edges are supported")
    coords = hop_coordinates(ip, hd) if xy is None else np.asarray(xy, dtype=np.float64)
    rank = nested_dissection_order(ip, hd, coords)
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(ip))
    rt, rh = rank[tails], rank[hd]
    low, high = np.minimum(rt, rh), np.maximum(rt, rh)
    keep = low != high
    low, high = low[keep], high[keep]
    by_high = np.argsort(high, kind="stable")
    lower_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(high, minlength=n), out=lower_ptr[1:])
    lower_nbr = low[by_high]
    parent = _elimination_tree(lower_ptr, lower_nbr, n)
    up_ptr, up_head = _upward_arcs(lower_ptr, lower_nbr, parent, n)
    if up_head.size >= _INT32_MAX:  # arc ids are kept in int32 (``via``)
        raise InvalidInput(f"the hierarchy has {up_head.size} arcs, more than {_INT32_MAX - 1}")
    arc_tail, down_ptr, down_arc = _downward_arcs(up_ptr, up_head, n)
    edge_arc = _edge_arcs(rt, rh, up_ptr, up_head)
    return CCH(
        n=n,
        m=m,
        rank=rank,
        up_ptr=up_ptr,
        up_head=up_head,
        arc_tail=arc_tail,
        down_ptr=down_ptr,
        down_arc=down_arc,
        parent=np.asarray(parent, dtype=np.int64),
        edge_arc=edge_arc,
        preprocess_s=time.perf_counter() - start,
    )
