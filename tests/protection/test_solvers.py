from __future__ import annotations

import importlib

import numpy as np
import pytest

from silkguard.protection import (
    ResourceType,
    SecurityGame,
    Solution,
    dobss,
    eraser,
    multiple_lps,
    origami,
)
from silkguard.protection.game import attacker_utilities
from silkguard.protection.solution import make_solution
from tests.protection.games import close, random_game, random_payoffs, random_schedule_game

origami_module = importlib.import_module("silkguard.protection.origami")

SIZES = [(2, 1), (3, 1), (5, 2), (8, 3), (12, 1), (15, 7), (20, 5), (25, 24), (40, 10)]


def _assert_best_response(sol: Solution) -> None:
    for k, kind in enumerate(sol.game.attacker_types):
        u = attacker_utilities(kind.payoffs, sol.coverage)
        reported = u[sol.attacker_targets[k]]
        assert close(reported, sol.attacker_utilities[k], 1e-12)
        assert u.max() <= reported + 1e-7 * max(1.0, abs(reported))


def _assert_feasible_pool(sol: Solution, m: int) -> None:
    assert np.all(sol.coverage >= 0.0)
    assert np.all(sol.coverage <= 1.0)
    assert sol.coverage.sum() <= m + 1e-7


def _value_of(game: SecurityGame, coverage: np.ndarray) -> float:
    zeros = np.zeros(game.n_targets)
    sol = make_solution(
        game,
        "baseline",
        coverage,
        pool_coverage=zeros,
        schedule_probabilities=(None,) * len(game.resources),
    )
    return sol.defender_utility


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_origami_eraser_dobss_agree(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(1000 * seed + 7 * n + m)
    game = random_game(rng, n, m)
    sols = [origami(game), origami(game, use_spare=False), eraser(game), dobss(game)]
    for sol in sols:
        _assert_best_response(sol)
        _assert_feasible_pool(sol, m)
        assert close(sol.defender_utility, sols[0].defender_utility), (
            sol.solver,
            sol.defender_utility,
            sols[0].defender_utility,
        )
    if n <= 12:
        ref = multiple_lps(game)
        assert close(ref.defender_utility, sols[0].defender_utility)
    # no worse than uniform coverage or a static allocation to the most valuable targets
    pay = game.payoffs
    best = sols[0].defender_utility
    uniform = np.full(n, m / n)
    assert best >= _value_of(game, uniform) - 1e-9
    for value in (pay.defender_gain, -pay.defender_uncovered, pay.attacker_uncovered):
        static = np.zeros(n)
        static[np.argsort(-value, kind="stable")[:m]] = 1.0
        assert best >= _value_of(game, static) - 1e-9


def test_origami_attacker_indifferent_over_attack_set() -> None:
    rng = np.random.default_rng(5)
    game = random_game(rng, 50, 6)
    sol = origami(game, use_spare=False)
    u = attacker_utilities(game.payoffs, sol.coverage)
    covered = sol.coverage > 1e-12
    # every covered target (that is not fully covered) sits exactly at the attacker's value
    partial = covered & (sol.coverage < 1 - 1e-12)
    assert np.allclose(u[partial], sol.attacker_utility, atol=1e-9)
    # uncovered targets are no better for the attacker than the value
    assert np.all(u[~covered] <= sol.attacker_utility + 1e-9)
    assert close(sol.coverage.sum(), 6.0)


def test_origami_ties_broken_for_the_defender() -> None:
    # two identical-for-the-attacker targets; the defender prefers target 1 to be attacked
    from silkguard.protection import Payoffs

    pay = Payoffs(
        np.array([1.0, 5.0]), np.array([-9.0, -1.0]), np.array([-1.0, -1.0]), np.array([4.0, 4.0])
    )
    sol = origami(SecurityGame.single(pay, [ResourceType("e", 1)]))
    assert sol.attacker_target == 1
    assert close(sol.coverage[0], 0.5)
    assert close(sol.coverage[1], 0.5)
    assert close(sol.defender_utility, -1.0 + 0.5 * 6.0)


@pytest.mark.parametrize("seed", range(6))
def test_origami_with_floors_matches_eraser(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 15, 4
    floors = np.where(rng.random(n) < 0.3, rng.uniform(0, 0.4, n), 0.0)
    game = SecurityGame.single(random_payoffs(rng, n), [ResourceType("e", m)], min_coverage=floors)
    a, b = origami(game), eraser(game)
    assert close(a.defender_utility, b.defender_utility)
    assert np.all(a.coverage >= floors - 1e-12)
    _assert_best_response(a)


@pytest.mark.parametrize("m", [0, 3, 300, 4_000, 29_999])
def test_origami_partial_sort_equals_full_sort(m: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(m)
    game = random_game(rng, 30_000, m)
    fast = origami(game)
    monkeypatch.setattr(origami_module, "_SORT_ALL_BELOW", 10**9)
    full = origami(game)
    assert fast.defender_utility == full.defender_utility
    assert np.array_equal(fast.coverage, full.coverage)
    _assert_best_response(fast)
    _assert_feasible_pool(fast, m)


@pytest.mark.parametrize("seed", range(8))
def test_schedule_games_eraser_dobss_multiple_lps_agree(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    game = random_schedule_game(rng, 7)
    sols = [eraser(game), dobss(game), multiple_lps(game)]
    for sol in sols:
        _assert_best_response(sol)
        assert close(sol.defender_utility, sols[0].defender_utility)
    # coverage is what the schedules provide
    sol = sols[0]
    provided = sol.pool_coverage.copy()
    for res, q in zip(game.resources, sol.schedule_probabilities, strict=True):
        if res.schedules is None or q is None:
            continue
        assert q.sum() <= res.count + 1e-7
        for s, prob in zip(res.schedules, q, strict=True):
            provided[list(s)] += prob
    assert np.allclose(provided, sol.coverage, atol=1e-7)
    # uniform over schedules is never better
    uniform = np.zeros(game.n_targets)
    pool = game.pool_count
    uniform += pool / game.n_targets
    for res in game.resources:
        if res.schedules is not None:
            for s in res.schedules:
                uniform[list(s)] += res.count / len(res.schedules)
    if np.all(uniform <= 1.0):
        assert sol.defender_utility >= _value_of(game, uniform) - 1e-9


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("types", [2, 3])
def test_dobss_matches_multiple_lps(seed: int, types: int) -> None:
    rng = np.random.default_rng(300 + 10 * seed + types)
    n = 6 if types == 2 else 4
    game = random_schedule_game(rng, n, types=1, attackers=types)
    a, b = dobss(game), multiple_lps(game)
    assert close(a.defender_utility, b.defender_utility)
    _assert_best_response(a)
    _assert_best_response(b)
    assert len(a.attacker_targets) == types


def test_bayesian_pool_game_dobss_matches_multiple_lps() -> None:
    from silkguard.protection import AttackerType

    rng = np.random.default_rng(77)
    kinds = (
        AttackerType("insurgents", 0.6, random_payoffs(rng, 8)),
        AttackerType("criminals", 0.4, random_payoffs(rng, 8)),
    )
    game = SecurityGame(kinds, (ResourceType("escort", 3),))
    a, b = dobss(game), multiple_lps(game)
    assert close(a.defender_utility, b.defender_utility)
    text = a.explain(a.attacker_targets[0])
    assert "insurgents:" in text
    assert "criminals:" in text


@pytest.mark.parametrize("seed", range(4))
def test_public_baselines_never_beat_the_optimum(seed: int) -> None:
    from silkguard.protection import static_coverage, uniform_coverage

    rng = np.random.default_rng(700 + seed)
    game = random_schedule_game(rng, 7)
    best = eraser(game).defender_utility
    assert uniform_coverage(game).defender_utility <= best + 1e-9
    assert static_coverage(game).defender_utility <= best + 1e-9
    pool_game = random_game(rng, 9, 3)
    best = origami(pool_game).defender_utility
    assert uniform_coverage(pool_game).defender_utility <= best + 1e-9
    assert static_coverage(pool_game).coverage.sum() == 3


def test_evaluate_checks_coverage_and_as_dict_is_json_ready() -> None:
    import json

    from silkguard.core.errors import InvalidInput
    from silkguard.protection import evaluate

    game = random_game(np.random.default_rng(3), 4, 1)
    with pytest.raises(InvalidInput, match=r"target #2: coverage 1\.5 is not a probability"):
        evaluate(game, np.array([0.0, 0.0, 1.5, 0.0]))
    data = origami(game).as_dict()
    text = json.dumps(data)
    assert '"solver": "origami"' in text
    assert len(data["coverage"]) == 4  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(10))
def test_column_generation_matches_eraser(seed: int) -> None:
    from silkguard.protection import column_generation

    rng = np.random.default_rng(800 + seed)
    game = random_schedule_game(rng, int(rng.integers(4, 14)))
    a, b = eraser(game), column_generation(game)
    assert close(a.defender_utility, b.defender_utility)
    _assert_best_response(b)
    for res, q in zip(game.resources, b.schedule_probabilities, strict=True):
        if res.schedules is not None:
            assert q is not None
            assert q.size == len(res.schedules)
            assert q.sum() <= res.count + 1e-7


def test_column_generation_on_many_schedules_matches_eraser() -> None:
    from silkguard.protection import column_generation

    rng = np.random.default_rng(4)
    n = 30
    scheds = tuple(
        tuple(sorted(int(t) for t in rng.choice(n, int(rng.integers(2, 5)), replace=False)))
        for _ in range(120)
    )
    game = SecurityGame.single(random_payoffs(rng, n), [ResourceType("patrol", 4, scheds)])
    a, b = eraser(game), column_generation(game)
    assert close(a.defender_utility, b.defender_utility)


def test_column_generation_refuses_floors_and_types() -> None:
    from silkguard.core.errors import InvalidInput
    from silkguard.protection import column_generation

    rng = np.random.default_rng(1)
    game = SecurityGame.single(
        random_payoffs(rng, 3), [ResourceType("e", 1)], min_coverage=np.array([0.5, 0, 0])
    )
    with pytest.raises(InvalidInput, match="use eraser for those"):
        column_generation(game)
    bayes = random_schedule_game(rng, 4, attackers=2)
    with pytest.raises(InvalidInput, match="one attacker type"):
        column_generation(bayes)


@pytest.mark.parametrize(("n", "m"), [(1, 0), (1, 1), (4, 0), (4, 4), (30_000, 30_000)])
def test_edge_sizes(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    game = random_game(rng, n, m)
    sol = origami(game)
    _assert_best_response(sol)
    _assert_feasible_pool(sol, m)
    if m == 0:
        assert np.all(sol.coverage == 0.0)
    if n <= 4:
        assert close(sol.defender_utility, eraser(game).defender_utility)
    if m == n:  # everything can be covered: the attacker gets its best covered payoff
        assert close(sol.attacker_utility, float(game.payoffs.attacker_covered.max()))
