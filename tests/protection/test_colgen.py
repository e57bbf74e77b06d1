"""Column generation (one warm-started model, lazy capacity rows, bounded target search)
against the full ERASER-C MILP."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from silkguard.protection import (
    Payoffs,
    ResourceType,
    SecurityGame,
    Solution,
    column_generation,
    eraser,
)
from silkguard.protection.game import attacker_utilities
from tests.protection.games import close, random_payoffs, random_schedule_game

colgen_module = importlib.import_module("silkguard.protection.colgen")


def _many_schedule_game(rng: np.random.Generator) -> SecurityGame:
    n = int(rng.integers(10, 40))
    scheds = tuple(
        tuple(sorted(int(t) for t in rng.choice(n, int(rng.integers(1, 5)), replace=False)))
        for _ in range(int(rng.integers(n, 4 * n)))
    )
    resources = [ResourceType("patrol", int(rng.integers(1, 6)), scheds)]
    if rng.random() < 0.5:
        resources.append(ResourceType("post", int(rng.integers(1, 4))))
    return SecurityGame.single(random_payoffs(rng, n), resources)


def _assert_consistent(sol: Solution) -> None:
    """The coverage is what the reported pool and schedule probabilities give, within the
    resources, and the reported target is a best response."""
    game = sol.game
    total = sol.pool_coverage.copy()
    for res, q in zip(game.resources, sol.schedule_probabilities, strict=True):
        if res.schedules is None:
            continue
        assert q is not None
        assert q.shape == (len(res.schedules),)
        assert np.all((q >= 0.0) & (q <= 1.0))
        assert q.sum() <= res.count + 1e-7
        for s, sched in enumerate(res.schedules):
            total[list(sched)] += q[s]
    assert sol.pool_coverage.sum() <= game.pool_count + 1e-7
    assert np.all(total <= 1.0 + 1e-7)
    np.testing.assert_allclose(sol.coverage, total, atol=1e-7)
    u = attacker_utilities(game.payoffs, sol.coverage)
    best = sol.attacker_utility
    assert close(u[sol.attacker_target], best, 1e-12)
    assert u.max() <= best + 1e-7 * max(1.0, abs(best))


@pytest.mark.parametrize("seed", range(12))
def test_column_generation_matches_eraser_on_many_schedules(seed: int) -> None:
    game = _many_schedule_game(np.random.default_rng(900 + seed))
    a, b = eraser(game), column_generation(game)
    assert close(a.defender_utility, b.defender_utility)
    _assert_consistent(b)


def test_capacity_rows_are_added_when_a_target_would_be_over_covered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every schedule holds target 0, the target the attacker likes most: without c_0 <= 1
    # the LP would cover it 3 times over
    pay = Payoffs(
        np.array([5.0, 1.0, 1.0, 1.0]),
        np.array([-10.0, -1.0, -1.0, -1.0]),
        np.array([-1.0, -1.0, -1.0, -1.0]),
        np.array([10.0, 1.0, 1.0, 1.0]),
    )
    scheds = ((0, 1), (0, 2), (0, 3))
    game = SecurityGame.single(pay, [ResourceType("patrol", 3, scheds)])
    added: list[int] = []
    original = colgen_module._add_capacity_rows

    def spy(master: object, targets: np.ndarray) -> None:
        added.extend(int(t) for t in targets)
        original(master, targets)

    monkeypatch.setattr(colgen_module, "_add_capacity_rows", spy)
    sol = column_generation(game)
    assert 0 in added
    assert close(sol.defender_utility, eraser(game).defender_utility)
    _assert_consistent(sol)


def test_a_target_no_coverage_can_make_a_best_response_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # target 1 has the best bound but is shared with target 0 in the only schedule, and
    # U_a(1) >= U_a(0) would need 4.5 - 10 c >= 5 - c: phase 1 proves it impossible
    pay = Payoffs(
        np.array([-9.0, 10.0]),
        np.array([-10.0, 0.0]),
        np.array([4.0, -5.5]),
        np.array([5.0, 4.5]),
    )
    game = SecurityGame.single(pay, [ResourceType("patrol", 1, ((0, 1),))])
    outcomes: list[tuple[int, bool]] = []
    original = colgen_module._best_for_target

    def spy(master: object, target: int) -> object:
        found = original(master, target)
        outcomes.append((target, found is not None))
        return found

    monkeypatch.setattr(colgen_module, "_best_for_target", spy)
    sol = column_generation(game)
    assert outcomes == [(1, False)]
    assert sol.attacker_target == 0
    assert sol.defender_utility == pytest.approx(-9.0)
    assert close(sol.defender_utility, eraser(game).defender_utility)


def test_a_target_outside_the_minimax_attack_set_is_solved_by_phases_1_and_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # seed 809 of the random schedule games: the defender's best target is not attacked
    # under the minimax coverage, so the phase 1 / phase 2 LPs find its coverage
    rng = np.random.default_rng(809)
    game = random_schedule_game(rng, int(rng.integers(4, 14)))
    outcomes: list[bool] = []
    original = colgen_module._best_for_target

    def spy(master: object, target: int) -> object:
        found = original(master, target)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(colgen_module, "_best_for_target", spy)
    sol = column_generation(game)
    assert any(outcomes), "no phase 1 / phase 2 search found a coverage for its target"
    assert close(sol.defender_utility, eraser(game).defender_utility)
    _assert_consistent(sol)


def test_column_generation_prices_in_batches_and_reports_its_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same answer whether one or many improving schedules are added per round
    rng = np.random.default_rng(5)
    n = 40
    scheds = tuple(
        tuple(sorted(int(t) for t in rng.choice(n, int(rng.integers(2, 6)), replace=False)))
        for _ in range(300)
    )
    game = SecurityGame.single(random_payoffs(rng, n), [ResourceType("patrol", 5, scheds)])
    many = column_generation(game)
    monkeypatch.setattr(colgen_module, "_BATCH_PER_TARGET", 0.0)  # one schedule per round
    one = column_generation(game)
    assert close(many.defender_utility, one.defender_utility, 1e-9)
    assert many.notes[0].endswith("schedules generated")
    assert many.notes[1].endswith("LP solves")
    rounds = int(one.notes[1].split()[0])
    assert rounds > int(many.notes[1].split()[0])
