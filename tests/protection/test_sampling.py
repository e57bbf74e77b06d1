from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.protection import (
    Plan,
    ResourceType,
    SecurityGame,
    Solution,
    calendar,
    comb_decomposition,
    comb_sample,
    eraser,
    origami,
    realised_coverage,
    sample_plan,
)
from tests.protection.games import random_game, random_payoffs, random_schedule_game

DRAWS = 1_500
CHECKED = 200  # draws whose every assignment is checked against the resources


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    st.floats(0.0, 1.0, exclude_max=True),
)
def test_comb_picks_floor_or_ceil_distinct(p: list[float], u: float) -> None:
    marginals = np.array(p)
    picked = comb_sample(marginals, u)
    total = marginals.sum()
    assert np.floor(total - 1e-9) <= picked.size <= np.ceil(total + 1e-9)
    assert np.unique(picked).size == picked.size
    assert np.all(marginals[picked] > 0.0)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_comb_decomposition_reproduces_marginals_exactly(p: list[float]) -> None:
    marginals = np.array(p)
    pieces = comb_decomposition(marginals)
    assert abs(sum(prob for prob, _ in pieces) - 1.0) < 1e-12
    mean = np.zeros(marginals.size)
    for prob, picked in pieces:
        mean[picked] += prob
    assert np.allclose(mean, marginals, atol=1e-12)


def test_comb_rejects_bad_probabilities() -> None:
    with pytest.raises(InvalidInput, match=r"entry 1 is 1.5; probabilities must lie in \[0, 1\]"):
        comb_sample(np.array([0.2, 1.5]), 0.3)
    with pytest.raises(InvalidInput, match=r"comb offset 1\.0"):
        comb_sample(np.array([0.2]), 1.0)


def _check_plan(sol: Solution, plan: Plan) -> None:
    """Every unit of every type appears once, with its own schedules or one target."""
    game = sol.game
    seen = Counter((a.resource_type, a.unit) for a in plan.assignments)
    expected = {(r.name, u) for r in game.resources for u in range(r.count)}
    assert set(seen) == expected
    assert all(v == 1 for v in seen.values())
    by_name = {r.name: r for r in game.resources}
    pool_targets: list[int] = []
    for res in game.resources:
        units = [a for a in plan.assignments if a.resource_type == res.name]
        assert len(units) == res.count
        if res.schedules is None:
            pool_targets += [t for a in units for t in a.targets]
            assert all(len(a.targets) <= 1 and a.schedule is None for a in units)
        else:
            chosen = [a.schedule for a in units if a.schedule is not None]
            assert len(set(chosen)) == len(chosen)  # no two units on one schedule
            for a in units:
                if a.schedule is not None:
                    assert a.targets == by_name[a.resource_type].schedules[a.schedule]  # type: ignore[index]
    assert len(set(pool_targets)) == len(pool_targets)
    pool_total = sol.pool_coverage.sum()
    if game.pool_count:
        assert np.floor(pool_total - 1e-7) <= len(pool_targets) <= np.ceil(pool_total + 1e-7)


def _assert_marginals(sol: Solution, seed: int) -> None:
    n = sol.game.n_targets
    hits = np.zeros(n)
    for k in range(DRAWS):
        plan = sample_plan(sol, seed=seed * 100_000 + k)
        if k < CHECKED:
            _check_plan(sol, plan)
        hits += plan.covered(n)
    freq = hits / DRAWS
    p = realised_coverage(sol)
    sigma = np.sqrt(p * (1 - p) / DRAWS)
    assert np.all(np.abs(freq - p) <= 5 * sigma + 1e-12), np.abs(freq - p) / (sigma + 1e-12)


@pytest.mark.parametrize(("n", "m"), [(6, 2), (15, 4)])
def test_pool_plans_reproduce_marginals(n: int, m: int) -> None:
    sol = origami(random_game(np.random.default_rng(n), n, m))
    assert np.allclose(realised_coverage(sol), sol.coverage, atol=1e-12)
    _assert_marginals(sol, n)


@pytest.mark.parametrize("seed", [1, 2])
def test_schedule_plans_reproduce_marginals(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    sol = eraser(random_schedule_game(rng, 8))
    _assert_marginals(sol, seed)


def test_disjoint_schedules_realise_the_solver_coverage() -> None:
    rng = np.random.default_rng(9)
    pay = random_payoffs(rng, 8)
    patrol = ResourceType("patrol", 2, ((0, 1), (2, 3), (4, 5), (6, 7)))
    sol = eraser(SecurityGame.single(pay, [patrol]))
    assert np.allclose(realised_coverage(sol), sol.coverage, atol=1e-9)
    _assert_marginals(sol, 3)


def test_overlapping_schedules_report_the_shortfall() -> None:
    # two patrols whose schedules share target 1: when both pass it, it counts once
    pay = random_payoffs(np.random.default_rng(4), 3)
    game = SecurityGame.single(
        pay, [ResourceType("a", 1, ((0, 1),)), ResourceType("b", 1, ((1, 2),))]
    )
    sol = eraser(game)
    real = realised_coverage(sol)
    assert np.all(real <= sol.coverage + 1e-12)
    qa = sol.schedule_probabilities[0]
    qb = sol.schedule_probabilities[1]
    assert qa is not None
    assert qb is not None
    assert np.isclose(real[1], 1 - (1 - qa[0]) * (1 - qb[0]))


def test_plans_are_reproducible_from_their_seed() -> None:
    sol = origami(random_game(np.random.default_rng(3), 10, 3))
    a = sample_plan(sol, seed=42)
    assert a == sample_plan(sol, seed=42)
    fresh = sample_plan(sol)
    assert fresh == sample_plan(sol, seed=fresh.seed)
    assert len(a.offsets) == 1
    assert 0.0 <= a.offsets[0] < 1.0


def test_calendar_gives_every_unit_a_plan_every_day() -> None:
    rng = np.random.default_rng(11)
    game = random_schedule_game(rng, 8)
    sol = eraser(game)
    cal = calendar(sol, days=7, seed=123, start=dt.date(2026, 12, 3))
    assert [d.date for d in cal.days][-1] == dt.date(2026, 12, 9)
    rows = list(cal.rows())
    units = sum(r.count for r in game.resources)
    assert len(rows) == 7 * units
    assert cal == calendar(sol, days=7, seed=123, start=dt.date(2026, 12, 3))
    assert len({d.plan.seed for d in cal.days}) == 7
    for day in cal.days:
        _check_plan(sol, day.plan)
    with pytest.raises(InvalidInput, match="days 0 must be a whole number"):
        calendar(sol, days=0, seed=1)
    with pytest.raises(InvalidInput, match="seed -1 must be a whole number"):
        calendar(sol, days=1, seed=-1)
