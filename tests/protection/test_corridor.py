"""Route segments x time slots as game targets: segmentation, payoffs as documented, the
solved game (attacker best response, resource limits), sampled plans, and the route draw."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.network.corridor import corridor_graph, town_node
from silkguard.network.routing import alternatives
from silkguard.protection.corridor import (
    LIKELIHOOD_FLOOR,
    Force,
    SlotScheme,
    Trip,
    corridor_game,
    corridor_targets,
    default_slot_weights,
    segment_routes,
    solve_corridor,
)
from silkguard.protection.route_draw import (
    EPSILON_SHARE,
    Candidate,
    choose,
    draw_probabilities,
    trip_risk,
)
from silkguard.protection.sampling import realised_coverage, sample_plan

G = corridor_graph()
DAY = date(2030, 1, 5)


def _route(a: str, b: str) -> list[int]:
    time_s = np.asarray(G.travel_time_s, dtype=np.float64)
    path = alternatives(G.indptr, G.heads, time_s, town_node(a), town_node(b), k=1)[0]
    return [int(e) for e in path.edges]


ROUTES = [_route("Karachi", "Gwadar"), _route("Gwadar", "Turbat"), _route("Karachi", "Hyderabad")]


def _link(e: int) -> tuple[int, int]:
    a, b = int(G.tails[e]), int(G.heads[e])
    return (min(a, b), max(a, b))


@pytest.mark.parametrize("max_km", [20.0, 50.0, 500.0])
def test_segments_partition_the_used_links_and_routes_share_them(max_km: float) -> None:
    seg = segment_routes(G, ROUTES, max_km=max_km)
    used = {_link(e) for r in ROUTES for e in r}
    covered = [
        (min(a, b), max(a, b))
        for s in seg.segments
        for a, b in zip(s.nodes, s.nodes[1:], strict=False)
    ]
    assert sorted(covered) == sorted(used)  # every link in exactly one segment
    for s in seg.segments:
        single = len(s.nodes) == 2
        assert s.length_km <= max_km + 1e-6 or single
    # each route's passage runs through segments whose times add up to the trip
    times = np.asarray(G.travel_time_s, dtype=np.float64)
    for route, passage in zip(ROUTES, seg.passages, strict=True):
        assert passage[0][1] == 0.0
        assert passage[-1][2] == pytest.approx(float(times[route].sum()))
        assert all(a[2] == pytest.approx(b[1]) for a, b in itertools.pairwise(passage))
    # Karachi-Hyderabad and Karachi-Gwadar leave Karachi differently or share a segment: in
    # either case a shared link maps to one segment id
    owner: dict[tuple[int, int], str] = {}
    for s in seg.segments:
        for a, b in zip(s.nodes, s.nodes[1:], strict=False):
            owner[(min(a, b), max(a, b))] = s.segment_id
    assert len(set(owner.values())) == len(seg.segments)


def test_a_short_max_km_splits_long_stretches_at_nodes() -> None:
    coarse = segment_routes(G, ROUTES, max_km=1000.0)
    fine = segment_routes(G, ROUTES, max_km=20.0)
    assert len(fine.segments) > len(coarse.segments)


def test_default_slot_weights_count_the_night_double() -> None:
    assert default_slot_weights(4) == (2.0, 1.0, 1.0, 2.0)
    assert default_slot_weights(2) == (1.5, 1.5)
    assert default_slot_weights(1) == (1.5,)
    assert default_slot_weights(4, night_factor=0.5) == (1.5, 1.0, 1.0, 1.5)
    with pytest.raises(InvalidInput, match="divide the day"):
        SlotScheme.default(5)
    with pytest.raises(InvalidInput, match="positive"):
        SlotScheme((1.0, 0.0))


def _trips() -> list[Trip]:
    # 09:00-11:00 PKT departure window, 4 people; a 6-person party at 20:00 PKT
    return [
        Trip(0, 4, datetime(2030, 1, 5, 4, tzinfo=UTC), datetime(2030, 1, 5, 6, tzinfo=UTC), "a"),
        Trip(1, 6, datetime(2030, 1, 5, 15, tzinfo=UTC), datetime(2030, 1, 5, 15, tzinfo=UTC), "b"),
    ]


def test_payoffs_are_derived_as_documented() -> None:
    exposure = np.zeros(G.n_edges)
    exposure[ROUTES[1]] = 0.7  # the Gwadar-Turbat edges are hot
    seg = segment_routes(G, ROUTES, exposure)
    slots = SlotScheme.default(4)
    rows = corridor_targets(seg, _trips(), slots, start=DAY, days=2, forecast=True)
    assert len(rows) == 4 * len(seg.segments)
    game = corridor_game(seg, rows, slots, [Force("escort", 1)])
    pay = game.payoffs
    first_b = seg.passages[1][0][0]  # the first segment of the 20:00 PKT trip
    for i, r in enumerate(rows):
        s = seg.segments[r.segment]
        rate = max(s.exposure, LIKELIHOOD_FLOOR * s.hours)
        assert r.likelihood == pytest.approx(rate * slots.weights[r.slot])
        assert pay.attacker_uncovered[i] == pytest.approx(r.likelihood * r.consequence)
        assert pay.attacker_covered[i] == pytest.approx(-0.5 * r.likelihood * r.consequence)
        assert pay.defender_uncovered[i] == pytest.approx(-r.consequence)
        assert pay.defender_covered[i] == 0.0
        assert r.consequence == (r.people if r.people > 0 else 1.0)
        assert f"slot weight {slots.weights[r.slot]:g}" in r.explanation
    hot = rows[first_b * 4 + 3]  # 18-24 PKT: the party of 6 passes, night weight 2
    assert hot.people == 6
    assert hot.trips == ("b",)
    assert hot.weight == 2.0
    assert "6 people on the worst day (1 movement(s))" in hot.explanation
    assert rows[first_b * 4 + 1].people == 0  # nobody there in the morning
    # off the grid: the floor
    off = next(r for r in rows if seg.segments[r.segment].exposure == 0)
    assert "floor" in off.explanation


def test_overrides_replace_one_target_and_say_so() -> None:
    seg = segment_routes(G, ROUTES)
    slots = SlotScheme.default(4)
    tid = f"{seg.segments[0].segment_id}@06-12"
    rows = corridor_targets(
        seg,
        _trips(),
        slots,
        start=DAY,
        days=1,
        forecast=False,
        overrides={tid: {"consequence": 40.0}},
    )
    row = next(r for r in rows if r.target_id == tid)
    assert row.consequence == 40.0
    assert "consequence set to 40 by hand" in row.explanation
    with pytest.raises(InvalidInput, match="unknown target 'nope'"):
        corridor_targets(seg, [], slots, start=DAY, days=1, forecast=False, overrides={"nope": {}})
    with pytest.raises(InvalidInput, match="'risk' is not"):
        corridor_targets(
            seg, [], slots, start=DAY, days=1, forecast=False, overrides={tid: {"risk": 1.0}}
        )


def _solved(solver: str = "colgen"):  # type: ignore[no-untyped-def]
    seg = segment_routes(G, ROUTES)
    slots = SlotScheme.default(4)
    rows = corridor_targets(seg, _trips(), slots, start=DAY, days=1, forecast=False)
    forces = [Force("escort", 2), Force("qrf", 1, 300.0), Force("checkpost", 1, checkpost=True)]
    return seg, rows, solve_corridor(corridor_game(seg, rows, slots, forces), solver=solver)


def test_the_solution_is_a_best_response_within_the_resources() -> None:
    _seg, _rows, sol = _solved()
    game = sol.game
    pay = game.payoffs
    u_att = pay.attacker_uncovered - sol.coverage * pay.attacker_loss
    assert u_att[sol.attacker_target] == pytest.approx(u_att.max(), abs=1e-7)
    assert sol.attacker_utility == pytest.approx(u_att.max(), abs=1e-7)
    rebuilt = np.zeros(game.n_targets)
    for res, q in zip(game.resources, sol.schedule_probabilities, strict=True):
        assert q is not None
        assert res.schedules is not None
        assert float(q.sum()) <= res.count + 1e-7
        assert np.all(q >= -1e-9)
        assert np.all(q <= 1 + 1e-9)
        for s, prob in zip(res.schedules, q, strict=True):
            rebuilt[list(s)] += prob
    assert np.allclose(np.minimum(rebuilt, 1.0), sol.coverage, atol=1e-6)
    # the exact MILP agrees on the defender's value
    assert _solved("eraser")[2].defender_utility == pytest.approx(sol.defender_utility, abs=1e-6)
    with pytest.raises(InvalidInput, match="solver 'x'"):
        solve_corridor(game, solver="x")


def test_sampled_plans_respect_the_resources_and_reproduce_the_coverage() -> None:
    _seg, _rows, sol = _solved()
    game = sol.game
    n_draws = 3000
    hits = np.zeros(game.n_targets)
    for seed in range(n_draws):
        plan = sample_plan(sol, seed=seed)
        per_type = Counter(a.resource_type for a in plan.assignments)
        for res in game.resources:
            assert per_type[res.name] == res.count
            taken = [a.schedule for a in plan.assignments if a.resource_type == res.name]
            chosen = [s for s in taken if s is not None]
            assert len(chosen) == len(set(chosen))  # never two units on one schedule
        hits += plan.covered(game.n_targets)
    exact = realised_coverage(sol)
    se = np.sqrt(exact * (1 - exact) / n_draws)
    assert np.all(np.abs(hits / n_draws - exact) <= 4.5 * se + 1e-9)


def test_bad_resources_give_clear_errors() -> None:
    seg = segment_routes(G, [ROUTES[1]])
    slots = SlotScheme.default(4)
    rows = corridor_targets(seg, [], slots, start=DAY, days=1, forecast=False)
    with pytest.raises(InvalidInput, match=r"99 escort unit\(s\) but only \d+ stretches x slots"):
        corridor_game(seg, rows, slots, [Force("escort", 99)])
    with pytest.raises(InvalidInput, match="no resources"):
        corridor_game(seg, rows, slots, [Force("escort", 0)])
    with pytest.raises(InvalidInput, match="at least one route"):
        segment_routes(G, [])


def test_trip_risk_reads_the_slot_of_each_segment() -> None:
    seg, rows, sol = _solved()
    slots = SlotScheme.default(4)
    w = np.array([r.likelihood for r in rows])
    depart = datetime(2030, 1, 5, 4, tzinfo=UTC)  # 09:00 PKT
    risk, uncovered = trip_risk(seg.passages[1], depart, slots, w, sol.coverage)
    expected_r = expected_u = 0.0
    for s, a, b in seg.passages[1]:
        k = slots.slot_of(depart + timedelta(seconds=(a + b) / 2))
        expected_r += w[s * 4 + k]
        expected_u += w[s * 4 + k] * (1 - sol.coverage[s * 4 + k])
    assert risk == pytest.approx(expected_r)
    assert uncovered == pytest.approx(expected_u)
    assert 0 <= uncovered <= risk


def test_the_draw_follows_the_stated_probabilities() -> None:
    at = datetime(2030, 1, 5, tzinfo=UTC)
    cands = [
        Candidate(0, at, risk=4.0, uncovered=1.0),
        Candidate(0, at, risk=4.0, uncovered=2.0),
        Candidate(1, at, risk=5.0, uncovered=4.0),
        Candidate(2, at, risk=4.0, uncovered=0.0),
    ]
    p = draw_probabilities(cands)
    eps = EPSILON_SHARE * 4.0
    w = np.array([1 / (1 + eps), 1 / (2 + eps), 1 / (4 + eps), 1 / eps])
    assert p == pytest.approx(w / w.sum())
    n = 20000
    counts = np.bincount([choose(cands, seed)[0] for seed in range(n)], minlength=4)
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) <= 4.5 * se)
    assert choose(cands, 5)[0] == choose(cands, 5)[0]
    with pytest.raises(InvalidInput, match="no candidate"):
        draw_probabilities([])
    with pytest.raises(InvalidInput, match="between 0 and its trip risk"):
        draw_probabilities([Candidate(0, at, risk=1.0, uncovered=2.0)])
