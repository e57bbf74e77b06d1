"""Risk-weighted routes: exposure from a known surface, and the time/risk trade-off."""

from __future__ import annotations

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.journeys.routes import edge_exposure, plan_route, resolve_place
from silkguard.network.corridor import corridor_graph, town_node
from silkguard.network.graph import RoadGraph
from silkguard.risk.grid import Grid
from silkguard.risk.surface import Surface
from tests.risk.test_surface import BumpModel


@pytest.fixture(scope="module")
def surface() -> Surface:
    """Flat, with a hot disc of 40 km around Gwadar."""
    return Surface.from_model(BumpModel(), Grid.pakistan(5), 100.0, 130.0)


def test_exposure_is_high_near_gwadar_and_scales_with_time(surface: Surface) -> None:
    graph = corridor_graph()
    exposure = edge_exposure(graph, surface)
    assert exposure.shape == (graph.n_edges,)
    assert (exposure >= 0).all()
    gwadar = town_node("Gwadar")
    lahore = town_node("Lahore")
    near = exposure[np.asarray(graph.out_edges(gwadar))]
    far = exposure[np.asarray(graph.out_edges(lahore))]
    hours_near = graph.travel_time_s[np.asarray(graph.out_edges(gwadar))] / 3600
    assert (near / hours_near).max() > 10 * (
        far / (graph.travel_time_s[np.asarray(graph.out_edges(lahore))] / 3600)
    ).max()


def _two_roads() -> RoadGraph:
    """0 -> 3 by a fast road through node 1 (at Gwadar) or a slow one through node 2 (inland)."""
    lat = np.array([25.30, 25.13, 26.20, 25.40])
    lon = np.array([62.00, 62.33, 62.60, 62.90])
    tails = np.array([0, 1, 0, 2])
    heads = np.array([1, 3, 2, 3])
    length = np.array([40_000.0, 60_000.0, 120_000.0, 150_000.0])
    speed = np.array([80.0, 80.0, 60.0, 60.0], dtype=np.float32)
    classes = np.array([2, 2, 3, 3], dtype=np.uint8)
    return RoadGraph.from_edges(
        lat, lon, tails, heads, length, speed, classes, np.array([0, 0, 1, 1]), ("coast", "inland")
    )


def test_lambda_trades_time_for_safety(surface: Surface) -> None:
    graph = _two_roads()
    exposure = edge_exposure(graph, surface)
    fast = plan_route(graph, exposure, [0, 3], lam=0.0, k=1)
    assert fast.routes[0].path.nodes.tolist() == [0, 1, 3]
    safe = plan_route(graph, exposure, [0, 3], lam=1e6, k=1)
    assert safe.routes[0].path.nodes.tolist() == [0, 2, 3]
    assert safe.routes[0].exposure < fast.routes[0].exposure
    assert safe.routes[0].time_s > fast.routes[0].time_s
    front = fast.pareto
    assert front[0][1] == pytest.approx(fast.routes[0].time_s)
    assert front[-1][2] == pytest.approx(safe.routes[0].exposure)


def test_closed_areas_and_bad_requests(surface: Surface) -> None:
    graph = _two_roads()
    exposure = edge_exposure(graph, surface)
    closed = (graph.tails == 0) & (graph.heads == 2)  # the inland road's first edge
    only = plan_route(graph, exposure, [0, 3], lam=0.0, closed=closed, k=1)
    assert only.routes[0].path.nodes.tolist() == [0, 1, 3]
    with pytest.raises(InvalidInput, match="no road leads from node 3 to node 0"):
        plan_route(graph, exposure, [3, 0])
    with pytest.raises(InvalidInput, match="origin and a destination"):
        plan_route(graph, exposure, [0])
    with pytest.raises(InvalidInput, match="lambda"):
        plan_route(graph, exposure, [0, 3], lam=-1.0)


def test_waypoints_are_visited_in_order(surface: Surface) -> None:
    graph = corridor_graph()
    exposure = edge_exposure(graph, surface)
    stops = [town_node("Karachi"), town_node("Quetta"), town_node("Gwadar")]
    plan = plan_route(graph, exposure, stops)
    nodes = plan.routes[0].path.nodes.tolist()
    assert nodes[0] == stops[0]
    assert nodes[-1] == stops[-1]
    assert stops[1] in nodes
    edges = plan.routes[0].path.edges
    assert (graph.tails[edges[1:]] == graph.heads[edges[:-1]]).all()


def test_dera_ismail_khan_to_quetta_takes_the_n50() -> None:
    g = corridor_graph()
    a, _ = resolve_place(g, "Dera Ismail Khan")
    b, _ = resolve_place(g, "Quetta")
    assert (a, b) == (town_node("Dera Ismail Khan"), town_node("Quetta"))
    route = plan_route(g, np.zeros(g.n_edges), [a, b], k=1).routes[0]
    nodes = route.path.nodes.tolist()
    for town in ("Zhob", "Qila Saifullah", "Muslim Bagh", "Kuchlak"):
        assert town_node(town) in nodes, town
    roads = {g.names[g.name_idx[e]] for e in route.path.edges}
    assert roads == {"N-50 (Kuchlak-Zhob-Dera Ismail Khan)", "RCD Highway (N-25)"}
    # about 510 km of N-50 and 30 km of N-25 at 60 km/h: some nine hours
    assert 450 < route.length_km < 650
    assert 7 * 3600 < route.time_s < 11 * 3600
