"""Customizable contraction hierarchies: exact costs against networkx and the Router on random
graphs (one-ways, parallel edges, self-loops, zero and forbidden costs, disconnected parts),
re-customization, the nested-dissection order and the shipped corridor network."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra as csgraph_dijkstra

from silkguard.core.errors import InvalidInput
from silkguard.network import cch as cch_module
from silkguard.network.cch import CCHMetric, build_cch, hop_coordinates, nested_dissection_order
from silkguard.network.corridor import corridor_graph, town_names
from silkguard.network.routing import Router, edge_costs
from tests.network.test_routing import Edge, check_path, graphs, to_csr, to_nx


def expected_cost(g: nx.DiGraph, s: int, t: int) -> float | None:
    try:
        return float(nx.shortest_path_length(g, s, t, weight="w"))
    except nx.NetworkXNoPath:
        return None


@st.composite
def graphs_with_coords(
    draw: st.DrawFn,
) -> tuple[int, list[Edge], int, int, np.ndarray | None]:
    n, edges, s, t = draw(graphs())
    # Some edges forbidden (inf), as closed areas make them.
    marks = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    edges = [(u, v, math.inf if forbid and i % 3 == 0 else c)
             for i, ((u, v, c), forbid) in enumerate(zip(edges, marks, strict=True))]  # fmt: skip
    coords = None
    if draw(st.booleans()):
        coord = st.floats(-50.0, 50.0, allow_nan=False)
        coords = np.array(draw(st.lists(st.tuples(coord, coord), min_size=n, max_size=n)))
    return n, edges, s, t, coords


@settings(max_examples=300, deadline=None)
@given(graphs_with_coords(), st.booleans())
def test_cch_matches_networkx(
    case: tuple[int, list[Edge], int, int, np.ndarray | None], perfect: bool
) -> None:
    n, edges, s, t, coords = case
    indptr, heads, cost = to_csr(n, edges)
    g = to_nx(n, [e for e in edges if math.isfinite(e[2])])
    metric = build_cch(indptr, heads, coords).customize(cost, perfect=perfect)
    expected = expected_cost(g, s, t)
    found = metric.shortest_path(s, t)
    distance = metric.distance(s, t)
    if expected is None:
        assert found is None
        assert distance == math.inf
        return
    assert found is not None
    assert math.isclose(distance, expected, rel_tol=1e-9, abs_tol=1e-12)
    router = Router(indptr, heads, cost, xy=coords)
    path = router.shortest_path(s, t, method="cch")
    assert path is not None
    assert math.isclose(path.cost, expected, rel_tol=1e-9, abs_tol=1e-12)
    check_path(path, indptr, heads, cost, s, t)
    assert math.isclose(found[0], path.cost, rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_all_pairs_and_recustomization(case: tuple[int, list[Edge], int, int]) -> None:
    """Every pair at once (the batched query), then the same structure with other costs."""
    n, edges, _, _ = case
    indptr, heads, cost = to_csr(n, edges)
    cch = build_cch(indptr, heads)
    rng = np.random.default_rng(n + len(edges))
    for weights in (cost, np.round(rng.uniform(0.0, 5.0, cost.size), 1)):
        g = to_nx(n, list(zip(np.repeat(np.arange(n), np.diff(indptr)).tolist(),
                              heads.tolist(), weights.tolist(), strict=True)))  # fmt: skip
        lengths = dict(nx.all_pairs_dijkstra_path_length(g, weight="w"))
        src, dst = np.divmod(np.arange(n * n), n)
        got = cch.customize(weights).distances(src.tolist(), dst.tolist())
        want = np.array([lengths[a].get(b, math.inf) for a, b in zip(src, dst, strict=True)])
        assert np.array_equal(np.isinf(got), np.isinf(want))
        fin = np.isfinite(want)
        assert np.allclose(got[fin], want[fin], rtol=1e-9, atol=1e-12)


def test_one_way_and_disconnected_parts() -> None:
    # 0 -> 1 -> 2 one-way; 3 <-> 4 a separate part; 2 -> 0 costs 10
    edges: list[Edge] = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 10.0), (3, 4, 2.0), (4, 3, 2.0)]
    indptr, heads, cost = to_csr(5, edges)
    metric = build_cch(indptr, heads).customize(cost)
    assert metric.distance(0, 2) == 2.0
    assert metric.distance(2, 1) == 11.0
    assert metric.distance(1, 0) == 11.0
    assert metric.distance(0, 3) == math.inf
    assert metric.shortest_path(4, 0) is None
    found = metric.shortest_path(2, 1)
    assert found is not None
    assert found[1].tolist() == [2, 0]  # edge ids: 2 -> 0, 0 -> 1
    same = metric.shortest_path(3, 3)
    assert same is not None
    assert same[0] == 0.0
    assert same[1].size == 0


def test_zero_cost_cycles_unpack_to_a_connected_walk() -> None:
    # a ring of zero-cost edges both ways plus a costly chord: every path costs 0
    n = 12
    edges: list[Edge] = [(i, (i + 1) % n, 0.0) for i in range(n)]
    edges += [((i + 1) % n, i, 0.0) for i in range(n)] + [(0, 6, 5.0)]
    indptr, heads, cost = to_csr(n, edges)
    metric = build_cch(indptr, heads).customize(cost)
    for s in range(n):
        for t in range(n):
            found = metric.shortest_path(s, t)
            assert found is not None
            assert found[0] == 0.0
            if s != t:
                tails = np.repeat(np.arange(n), np.diff(indptr))
                assert tails[found[1][0]] == s
                assert heads[found[1][-1]] == t
                assert np.array_equal(heads[found[1][:-1]], tails[found[1][1:]])


def test_paths_longer_than_the_first_unpacking_buffers() -> None:
    """A road of 40,000 two-way edges: the path outgrows the reused buffers (16,384 rows)
    and is unpacked again with larger ones; edges in driving order, cost summed in order."""
    n = 40_001
    rng = np.random.default_rng(5)
    weights = np.round(rng.uniform(0.5, 2.0, n - 1), 3)
    edges: list[Edge] = [(i, i + 1, float(w)) for i, w in enumerate(weights)]
    edges += [(i + 1, i, 1.0) for i in range(n - 1)]
    indptr, heads, cost = to_csr(n, edges)
    xy = np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    metric = build_cch(indptr, heads, xy).customize(cost)
    for s, t in ((0, n - 1), (n - 1, 0), (17, 39_000), (3, 4)):
        found = metric.shortest_path(s, t)
        assert found is not None
        total, path = found
        tails = np.repeat(np.arange(n), np.diff(indptr))
        assert path.size == abs(t - s)
        assert tails[path[0]] == s
        assert heads[path[-1]] == t
        assert np.array_equal(heads[path[:-1]], tails[path[1:]])
        expected = 0.0
        for x in cost[path].tolist():
            expected += x
        assert total == expected
    reused = metric.shortest_path(0, 2)  # the grown buffers serve later queries
    assert reused is not None
    assert reused[1].size == 2


def test_dense_graph_unpacks_shortcuts_with_distant_halves() -> None:
    """A complete graph with random costs: rows of 40 arcs, so a shortcut's two halves are
    often more than a few places apart in its middle node's row (the binary-search part of
    the lookup); every path is checked edge by edge against scipy's distances."""
    n = 41
    rng = np.random.default_rng(11)
    edges: list[Edge] = [
        (a, b, float(rng.integers(1, 50))) for a in range(n) for b in range(n) if a != b
    ]
    indptr, heads, cost = to_csr(n, edges)
    tails = np.repeat(np.arange(n), np.diff(indptr))
    want = csgraph_dijkstra(sp.csr_matrix((cost, heads, indptr), shape=(n, n)))
    metric = build_cch(indptr, heads).customize(cost)
    for s in range(n):
        for t in range(n):
            found = metric.shortest_path(s, t)
            assert found is not None
            assert found[0] == want[s, t]
            if s != t:
                path = found[1]
                assert tails[path[0]] == s
                assert heads[path[-1]] == t
                assert np.array_equal(heads[path[:-1]], tails[path[1:]])
    row = np.arange(1, n, dtype=np.int32)  # one row, heads 1 .. 40
    bounds = np.array([0, row.size], dtype=np.int64)
    assert cch_module._second_half(bounds, row, 0, 0, 3) == 2
    assert cch_module._second_half(bounds, row, 0, 0, 35) == 34


def test_cut_between_clusters_beats_the_median() -> None:
    """Two street grids (10 x 10 and 10 x 6) joined by a 3-node road: the median along x
    falls inside the larger grid (a 10-node cut), a cut on the road needs one node, so the
    top rank goes to a road node."""
    xy: list[tuple[float, float]] = []
    edges: list[Edge] = []

    def grid(x0: float, cols: int) -> list[list[int]]:
        ids = [[len(xy) + r * cols + c for c in range(cols)] for r in range(10)]
        xy.extend((x0 + c, float(r)) for r in range(10) for c in range(cols))
        for r in range(10):
            for c in range(cols):
                if c + 1 < cols:
                    edges.extend([(ids[r][c], ids[r][c + 1], 1.0), (ids[r][c + 1], ids[r][c], 1.0)])
                if r + 1 < 10:
                    edges.extend([(ids[r][c], ids[r + 1][c], 1.0), (ids[r + 1][c], ids[r][c], 1.0)])
        return ids

    big = grid(0.0, 10)
    small = grid(14.0, 6)
    road = list(range(len(xy), len(xy) + 3))
    xy.extend((10.0 + k, 4.5) for k in range(3))
    chain = [big[4][9], *road, small[4][0]]
    for a, b in itertools.pairwise(chain):
        edges.extend([(a, b, 1.0), (b, a, 1.0)])
    n = len(xy)
    indptr, heads, _ = to_csr(n, edges)
    rank = nested_dissection_order(indptr, heads, np.array(xy))
    assert int(np.argmax(rank)) in road


def test_order_is_a_permutation_with_separators_on_top() -> None:
    # a 9 x 9 grid: the top-ranked nodes must separate the rest
    side = 9
    idx = np.arange(side * side).reshape(side, side)
    pairs = [(int(a), int(b)) for a, b in zip(idx[:, :-1].ravel(), idx[:, 1:].ravel(), strict=True)]
    pairs += [(int(a), int(b)) for a, b in zip(idx[:-1].ravel(), idx[1:].ravel(), strict=True)]
    edges: list[Edge] = [(a, b, 1.0) for a, b in pairs] + [(b, a, 1.0) for a, b in pairs]
    indptr, heads, _ = to_csr(side * side, edges)
    yx = np.argwhere(np.ones((side, side), dtype=bool)).astype(float)
    rank = nested_dissection_order(indptr, heads, yx[:, ::-1])
    assert sorted(rank.tolist()) == list(range(side * side))
    top = rank >= side * side - side  # the highest `side` ranks: one full grid line
    g = nx.Graph(pairs)
    g.remove_nodes_from(np.flatnonzero(top).tolist())
    assert nx.number_connected_components(g) == 2
    cch = build_cch(indptr, heads, yx[:, ::-1])
    assert cch.arcs < 6 * len(pairs)  # nested dissection keeps the fill small
    assert cch.elimination_tree_depth() < side * side
    hop = hop_coordinates(indptr, heads)
    assert hop.shape == (side * side, 2)


def test_corridor_network_matches_the_router() -> None:
    graph = corridor_graph()
    rng = np.random.default_rng(3)
    risk = rng.uniform(0.0, 1.0, graph.n_edges) * graph.travel_time_s
    cost = edge_costs(graph.travel_time_s, risk, 2.0)
    xy = np.column_stack([graph.node_lon * math.cos(math.radians(30.0)), graph.node_lat])
    router = Router(graph.indptr, graph.heads, cost, xy=xy)
    towns = len(town_names())
    for s in range(towns):
        for t in range(towns):
            want = router.shortest_path(s, t, method="scipy")
            got = router.shortest_path(s, t, method="cch")
            assert want is not None
            assert got is not None
            assert math.isclose(got.cost, want.cost, rel_tol=1e-9)
            check_path(got, graph.indptr, graph.heads, cost, s, t)
    # with_cost shares the prepared structure and customizes the new costs
    other = router.with_cost(graph.travel_time_s)
    assert other._struct.cch is router._struct.cch
    assert other.cch() is not router.cch()
    p = other.shortest_path(0, towns - 1, method="cch")
    q = other.shortest_path(0, towns - 1, method="scipy")
    assert p is not None
    assert q is not None
    assert math.isclose(p.cost, q.cost, rel_tol=1e-9)


def test_bad_input_is_rejected_clearly() -> None:
    indptr, heads, cost = to_csr(3, [(0, 1, 1.0), (1, 2, 1.0)])
    cch = build_cch(indptr, heads)
    with pytest.raises(InvalidInput, match="one value per edge"):
        cch.customize(np.ones(3))
    with pytest.raises(InvalidInput, match="non-negative"):
        cch.customize(np.array([1.0, -1.0]))
    metric = cch.customize(cost)
    with pytest.raises(InvalidInput, match="out of range"):
        metric.shortest_path(0, 3)
    with pytest.raises(InvalidInput, match="integer node id"):
        metric.distance(0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="equal-length"):
        metric.distances([0, 1], [2])
    with pytest.raises(InvalidInput, match="xy must"):
        Router(indptr, heads, cost, xy=np.zeros((2, 2)))
    with pytest.raises(InvalidInput, match="xy must"):
        nested_dissection_order(indptr, heads, np.zeros((2, 2)))
    with pytest.raises(InvalidInput, match="'cch'"):
        Router(indptr, heads, cost).shortest_path(0, 2, method="nope")  # type: ignore[arg-type]


def _same_metric(a: CCHMetric, b: CCHMetric) -> bool:
    """Bit-identical weights, unpacking and query arcs."""
    parts_a = (a.up_via, a.down_via, *a.forward, *a.backward)
    parts_b = (b.up_via, b.down_via, *b.forward, *b.backward)
    return all(np.array_equal(x, y) for x, y in zip(parts_a, parts_b, strict=True))


@settings(max_examples=80, deadline=None)
@given(graphs_with_coords(), st.booleans(), st.booleans())
def test_parallel_customization_is_bit_identical(
    case: tuple[int, list[Edge], int, int, np.ndarray | None], perfect: bool, split: bool
) -> None:
    """Any number of lanes gives the one-thread weights exactly; ``split`` forces every top
    node's step to be cut across the lanes."""
    n, edges, _, _, coords = case
    indptr, heads, cost = to_csr(n, edges)
    cch = build_cch(indptr, heads, coords)
    serial = cch.customize(cost, perfect=perfect, threads=1)
    with pytest.MonkeyPatch.context() as mp:
        if split:
            mp.setattr(cch_module, "_SPLIT_WORK", 0)
        for lanes in (2, 3, 5):
            cch._schedules.clear()
            assert _same_metric(serial, cch.customize(cost, perfect=perfect, threads=lanes))
    cch._schedules.clear()


def _lattice(side: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A jittered side x side grid with random costs, a tenth of the streets one-way."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:].ravel()])
    both = rng.random(a.size) >= 0.1
    tails = np.concatenate([a, b[both]])
    heads_ = np.concatenate([b, a[both]])
    order = np.argsort(tails, kind="stable")
    tails, heads_ = tails[order], heads_[order]
    indptr = np.zeros(side * side + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=side * side), out=indptr[1:])
    cost = np.round(rng.uniform(1.0, 10.0, heads_.size), 2)
    yx = np.argwhere(np.ones((side, side), dtype=bool)) + rng.uniform(-0.3, 0.3, (side**2, 2))
    return indptr, heads_, cost, yx[:, ::-1]


def test_parallel_schedule_and_weights_on_a_lattice() -> None:
    indptr, heads, cost, xy = _lattice(40, 5)
    cch = build_cch(indptr, heads, xy)
    lane_ptr, lane_node, top_node, top_split = cch._schedule(2)
    on_top = np.zeros(cch.n, dtype=bool)
    on_top[top_node] = True
    # the top is closed under ancestors; every other node is in exactly one lane, and a
    # node's lane is its parent's unless the parent is on the top
    parents = cch.parent[top_node]
    assert on_top[parents[parents >= 0]].all()
    assert np.array_equal(np.sort(np.concatenate([lane_node, top_node])), np.arange(cch.n))
    lane = np.full(cch.n, -1)
    for i in range(2):
        lane[lane_node[lane_ptr[i] : lane_ptr[i + 1]]] = i
    below = ~on_top & (cch.parent >= 0)
    below &= ~on_top[np.maximum(cch.parent, 0)]
    assert np.array_equal(lane[below], lane[cch.parent[below]])
    assert 0 < top_node.size < cch.n // 4
    assert top_split.dtype == np.bool_
    # the same weights whatever the lanes, with and without cut top nodes
    serial = cch.customize(cost, threads=1)
    assert _same_metric(serial, cch.customize(cost, threads=2))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cch_module, "_SPLIT_WORK", 0)
        cch._schedules.clear()
        assert cch._schedule(4)[3].all()
        assert _same_metric(serial, cch.customize(cost, threads=4))
    cch._schedules.clear()
    # and they are the true distances
    tails = np.repeat(np.arange(cch.n), np.diff(indptr))
    mat = sp.csr_matrix((cost, (tails, heads)), shape=(cch.n, cch.n))
    src = np.array([0, 17, 801, 1599])
    want = csgraph_dijkstra(mat, directed=True, indices=src)
    dst = np.arange(cch.n)
    for i, s in enumerate(src.tolist()):
        got = cch.customize(cost, threads=3).distances([s] * cch.n, dst.tolist())
        assert np.allclose(got, want[i], rtol=1e-12)


def test_bad_thread_count_is_rejected() -> None:
    indptr, heads, cost = to_csr(3, [(0, 1, 1.0), (1, 2, 1.0)])
    cch = build_cch(indptr, heads)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(InvalidInput, match="threads must be a positive integer"):
            cch.customize(cost, threads=bad)  # type: ignore[arg-type]
