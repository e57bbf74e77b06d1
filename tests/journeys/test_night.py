"""Night-time pricing: the vectorised night clock agrees with the departure comparison's exact
count, shortest-path-tree clocks, and night-aware routes that change with the departure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.journeys.departures import compare_departures, night_seconds
from silkguard.journeys.night import NightWindow, Schedule, night_seconds_array, tree_times
from silkguard.journeys.routes import night_costs, plan_departures, plan_route, stretches
from silkguard.network.corridor import corridor_graph, town_node
from silkguard.network.graph import RoadGraph
from silkguard.network.routing import Router

PKT = timezone(timedelta(hours=5))


def pkt(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PKT)


# --------------------------------------------------------------------------- the clock


@settings(max_examples=150, deadline=None)
@given(
    start_min=st.integers(0, 3 * 24 * 60),
    length_min=st.integers(0, 3 * 24 * 60),
    night_start=st.integers(0, 23),
    night_end=st.integers(0, 23),
    offset_min=st.integers(0, 600),
)
def test_vectorised_night_seconds_agree_with_the_exact_count(
    start_min: int, length_min: int, night_start: int, night_end: int, offset_min: int
) -> None:
    if night_start == night_end:
        night_end = (night_end + 1) % 24
    window = NightWindow(start=time(night_start), end=time(night_end, 30))
    depart = pkt(3, 0) + timedelta(minutes=offset_min)
    a = depart + timedelta(minutes=start_min)
    b = a + timedelta(minutes=length_min)
    exact = night_seconds(a, b, night_start=window.start, night_end=window.end)
    fast = night_seconds_array(
        depart, [start_min * 60.0], [(start_min + length_min) * 60.0], window
    )
    assert fast[0] == pytest.approx(exact, abs=1e-6)


def test_night_boundaries_wrapping_midnight_and_over_days() -> None:
    w = NightWindow()  # 18:00-06:00
    depart = pkt(3, 17)
    hours = 3600.0
    enter = np.array([0.0, 1.0, 12.0, 13.0, 0.0, 6.0]) * hours
    leave = np.array([1.0, 2.0, 13.0, 14.0, 49.0, 30.0]) * hours
    got = night_seconds_array(depart, enter, leave, w) / hours
    # 17-18 day; 18-19 night; 05-06 night; 06-07 day; 17:00 on the 3rd + 49 h ends at
    # 18:00 on the 5th: two whole nights; 23:00 to 23:00 next day: 7 h + 5 h
    assert got.tolist() == pytest.approx([0.0, 1.0, 1.0, 0.0, 24.0, 12.0])
    # a window inside one day (01:00-05:00), a trip over midnight and two days
    inner = NightWindow(start=time(1), end=time(5))
    two_days = night_seconds_array(pkt(3, 23), [0.0], [48 * hours], inner)
    assert two_days[0] / hours == pytest.approx(8.0)
    # the same instant in UTC prices the same
    utc = night_seconds_array(depart.astimezone(UTC), enter, leave, w) / hours
    assert utc.tolist() == pytest.approx(got.tolist())
    # empty and undefined intervals count nothing
    assert night_seconds_array(depart, [5.0, np.inf], [5.0, np.inf], w).tolist() == [0.0, 0.0]


def test_bad_night_windows_and_departures_are_refused() -> None:
    with pytest.raises(InvalidInput, match="zero length"):
        NightWindow(start=time(18), end=time(18))
    with pytest.raises(InvalidInput, match="night_factor"):
        NightWindow(factor=-1.0)
    with pytest.raises(InvalidInput, match="night_factor"):
        NightWindow(factor=float("nan"))
    with pytest.raises(InvalidInput, match="time zone"):
        night_seconds_array(datetime(2026, 12, 3, 8), [0.0], [1.0])  # noqa: DTZ001


def test_schedule_of_back_to_back_edges() -> None:
    s = Schedule.of(pkt(3, 16), [3600.0, 3600.0, 0.0, 7200.0], NightWindow())
    assert s.enter_s.tolist() == [0.0, 3600.0, 7200.0, 7200.0]
    assert s.leave_s.tolist() == [3600.0, 7200.0, 7200.0, 14400.0]
    assert s.night_s.tolist() == [0.0, 0.0, 0.0, 7200.0]
    assert s.night_share.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert s.weights.tolist() == [1.0, 1.0, 1.0, 2.0]
    assert s.arrive == pkt(3, 20)
    assert s.at_night.tolist() == [False, False, False, True]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 12),
    edges=st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.floats(0, 50), st.floats(0, 50)),
        min_size=1,
        max_size=40,
    ),
)
def test_tree_times_sum_the_time_along_each_tree_path(
    n: int, edges: list[tuple[int, int, float, float]]
) -> None:
    es = [(a % n, b % n, c, t) for a, b, c, t in edges]
    es.sort(key=lambda e: e[0])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount([e[0] for e in es], minlength=n), out=indptr[1:])
    heads = np.array([e[1] for e in es], dtype=np.int64)
    cost = np.array([e[2] for e in es])
    time_s = np.array([e[3] for e in es])
    tails = np.array([e[0] for e in es], dtype=np.int64)
    tree = Router(indptr, heads, cost).one_to_all(0)
    got = tree_times(0, tree.pred_edge, tails, time_s)
    for v in range(n):
        path = tree.path(v)
        if path is None:
            assert got[v] == np.inf
        else:
            assert got[v] == pytest.approx(float(time_s[path.edges].sum()))


# --------------------------------------------------------------------------- routes


def _risky_after_dark() -> tuple[RoadGraph, np.ndarray]:
    """0 -> 1 a quiet 1.5 h drive; then 1 -> 3 a risky hour, or 1 -> 2 -> 3 a quiet detour of
    3 h 20 min."""
    lat = np.array([25.5, 25.2, 26.0, 25.1])
    lon = np.array([63.8, 62.8, 62.35, 61.9])
    tails = np.array([0, 1, 1, 2])
    heads = np.array([1, 3, 2, 3])
    length = np.array([90_000.0, 60_000.0, 100_000.0, 100_000.0])
    speed = np.full(4, 60.0, dtype=np.float32)
    graph = RoadGraph.from_edges(
        lat,
        lon,
        tails,
        heads,
        length,
        speed,
        np.full(4, 2, dtype=np.uint8),
        np.array([0, 1, 2, 2]),
        ("approach", "coast", "inland"),
    )
    exposure = np.zeros(graph.n_edges)
    exposure[(graph.tails == 1) & (graph.heads == 3)] = 10.0
    return graph, exposure


def test_leaving_at_17_avoids_the_risky_road_reached_after_dark() -> None:
    graph, exposure = _risky_after_dark()
    # day: 3600 s + 600 x 10 = 9,600 < 12,000 s for the detour; at night the risky hour
    # counts double: 3600 + 600 x 20 = 15,600 > 12,000
    morning = plan_route(graph, exposure, [0, 3], lam=600.0, k=1, depart=pkt(3, 8))
    evening = plan_route(graph, exposure, [0, 3], lam=600.0, k=1, depart=pkt(3, 17))
    undated = plan_route(graph, exposure, [0, 3], lam=600.0, k=1)
    assert morning.routes[0].path.nodes.tolist() == [0, 1, 3]
    assert undated.routes[0].path.nodes.tolist() == [0, 1, 3]
    assert evening.routes[0].path.nodes.tolist() == [0, 1, 2, 3]
    assert morning.routes[0].night_s == 0
    assert morning.routes[0].night_exposure == pytest.approx(10.0)
    assert undated.routes[0].schedule is None
    assert undated.routes[0].night_exposure is None
    assert evening.routes[0].arrive == pkt(3, 21, 50)


def test_a_cheaper_risk_weight_keeps_the_road_but_pays_for_the_night() -> None:
    graph, exposure = _risky_after_dark()
    morning = plan_route(graph, exposure, [0, 3], lam=300.0, k=1, depart=pkt(3, 8))
    evening = plan_route(graph, exposure, [0, 3], lam=300.0, k=1, depart=pkt(3, 17))
    for plan in (morning, evening):
        assert plan.routes[0].path.nodes.tolist() == [0, 1, 3]
        assert plan.routes[0].exposure == pytest.approx(10.0)
    assert morning.routes[0].night_exposure == pytest.approx(10.0)
    assert evening.routes[0].night_exposure == pytest.approx(20.0)  # 18:30-19:30: all dark
    risky = evening.routes[0].riskiest[0]
    sched = evening.routes[0].schedule
    assert sched is not None
    assert sched.at_night[evening.routes[0].edge_position(risky)]
    roads = stretches(graph, evening.routes[0])
    assert [r.road for r in roads] == ["approach", "coast"]
    assert roads[1].night_s == pytest.approx(3600.0)
    assert roads[0].night_s == pytest.approx(1800.0)
    # a smaller night factor weighs the same hour less
    light = plan_route(
        graph, exposure, [0, 3], lam=300.0, k=1, depart=pkt(3, 17), night=NightWindow(factor=0.5)
    )
    assert light.routes[0].night_exposure == pytest.approx(15.0)


def test_night_routes_equal_a_plain_dijkstra_on_the_night_weights() -> None:
    graph = corridor_graph()
    rng = np.random.default_rng(7)
    exposure = rng.gamma(0.5, 2.0, graph.n_edges)
    for origin, target, hour in (("Karachi", "Gwadar", 15), ("Sost", "Quetta", 20)):
        a, b = town_node(origin), town_node(target)
        depart = pkt(3, hour)
        cost, _ = night_costs(graph, exposure, a, lam=60.0, depart=depart)
        nxg = nx.DiGraph()
        for e in range(graph.n_edges):
            t, h = int(graph.tails[e]), int(graph.heads[e])
            if not nxg.has_edge(t, h) or nxg[t][h]["w"] > cost[e]:
                nxg.add_edge(t, h, w=float(cost[e]))
        best = nx.shortest_path_length(nxg, a, b, weight="w")
        plan = plan_route(graph, exposure, [a, b], lam=60.0, k=1, depart=depart)
        route = plan.routes[0]
        assert float(cost[route.path.edges].sum()) == pytest.approx(best, rel=1e-9)
        # the reported figures come from the route's own schedule
        sched = route.schedule
        assert sched is not None
        assert sched.arrive == depart + timedelta(seconds=route.time_s)
        assert route.night_s == pytest.approx(night_seconds(depart, sched.arrive), abs=1e-3)


def test_via_legs_continue_the_clock() -> None:
    graph = corridor_graph()
    exposure = np.zeros(graph.n_edges)
    stops = [town_node("Karachi"), town_node("Quetta"), town_node("Gwadar")]
    plan = plan_route(graph, exposure, stops, k=1, depart=pkt(3, 6))
    route = plan.routes[0]
    sched = route.schedule
    assert sched is not None
    assert sched.enter_s[0] == 0
    assert np.allclose(sched.enter_s[1:], sched.leave_s[:-1])
    # a two-day trip: its night seconds add up to the whole trip's
    assert route.time_s > 24 * 3600
    assert route.night_s == pytest.approx(night_seconds(sched.depart, sched.arrive), abs=1e-3)


def test_departure_comparison_prices_each_edge_by_its_own_night() -> None:
    # 2 h quiet then 1 h risky: leaving at 15:00 puts the risky hour at 17:00-18:00 (day),
    # leaving at 16:00 puts it at 18:00-19:00 (night); the quiet part's night does not count
    times = [7200.0, 3600.0]
    risks = [0.0, 10.0]
    options = compare_departures(
        trip_s=10800.0,
        exposure=10.0,
        earliest=pkt(3, 15),
        latest=pkt(3, 16),
        edge_time_s=times,
        edge_exposure=risks,
    )
    by_hour = {o.depart.astimezone(PKT).hour: o.score for o in options}
    assert by_hour == {15: pytest.approx(10.0), 16: pytest.approx(20.0)}
    with pytest.raises(InvalidInput, match="together"):
        compare_departures(
            trip_s=1.0,
            exposure=1.0,
            earliest=pkt(3, 15),
            latest=pkt(3, 15),
            edge_time_s=times,
        )


def test_each_departure_of_a_window_gets_its_own_route() -> None:
    graph, exposure = _risky_after_dark()
    options = plan_departures(
        graph,
        exposure,
        [0, 3],
        earliest=pkt(3, 8),
        latest=pkt(3, 17),
        every=timedelta(hours=3),
        lam=600.0,
    )
    by_hour = {o.depart.hour: o for o in options}
    assert sorted(by_hour) == [8, 11, 14, 17]
    # after the 5,400 s approach: in daylight the risky hour (3600 + 600 x 10 s); leaving at
    # 17 it would be driven after dark (3600 + 600 x 20), so that departure takes the quiet
    # detour (12,000 s)
    for hour in (8, 11, 14):
        assert by_hour[hour].route.path.nodes.tolist() == [0, 1, 3]
        assert by_hour[hour].cost == pytest.approx(15_000.0)
    assert by_hour[17].route.path.nodes.tolist() == [0, 1, 2, 3]
    assert by_hour[17].cost == pytest.approx(17_400.0)
    # each option is what plan_route gives for that departure alone
    for o in options:
        alone = plan_route(graph, exposure, [0, 3], lam=600.0, k=1, depart=o.depart)
        assert o.route.path.nodes.tolist() == alone.routes[0].path.nodes.tolist()
        assert o.cost == pytest.approx(alone.routes[0].path.cost)
    # cheapest first; at equal cost less night driving first (the approach of the 14:00
    # departure is all daylight, as are the others'), then the earlier departure
    assert [o.depart.hour for o in options] == [8, 11, 14, 17]
    untimed = plan_departures(
        graph,
        np.zeros(graph.n_edges),
        [0, 3],
        earliest=pkt(3, 4),
        latest=pkt(3, 8),
        every=timedelta(hours=2),
    )
    assert [o.depart.hour for o in untimed] == [6, 8, 4]  # 4:00 drives 2 h in the dark
    with pytest.raises(InvalidInput, match="ends"):
        plan_departures(graph, exposure, [0, 3], earliest=pkt(3, 9), latest=pkt(3, 8))
    with pytest.raises(InvalidInput, match="at most"):
        plan_departures(
            graph,
            exposure,
            [0, 3],
            earliest=pkt(3, 0),
            latest=pkt(20, 0),
            every=timedelta(minutes=5),
        )
