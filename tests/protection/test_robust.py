from __future__ import annotations

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.protection import origami, robust_epsilon, worst_case_utility
from silkguard.protection.game import attacker_utilities, defender_utilities
from tests.protection.games import random_game


def _brute_worst_case(game, coverage, eps):  # type: ignore[no-untyped-def]
    u_att = attacker_utilities(game.payoffs, coverage)
    u_def = defender_utilities(game.payoffs, coverage)
    best = u_att.max()
    return min(u_def[t] for t in range(game.n_targets) if u_att[t] > best - eps)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("eps", [0.25, 1.0])
def test_robust_beats_sse_in_the_worst_case(seed: int, eps: float) -> None:
    rng = np.random.default_rng(900 + seed)
    game = random_game(rng, 10, 3)
    robust = robust_epsilon(game, eps)
    sse = origami(game, use_spare=False)
    assert robust.worst_case_utility == pytest.approx(
        _brute_worst_case(game, robust.solution.coverage, eps), abs=1e-12
    )
    # robust is at least as good as the SSE coverage against an epsilon-optimal attacker ...
    assert robust.worst_case_utility >= worst_case_utility(game, sse.coverage, eps) - 1e-6
    # ... and can be no better than the SSE value, which assumes the friendliest attacker
    assert robust.worst_case_utility <= sse.defender_utility + 1e-6
    assert robust.solution.coverage.sum() <= 3 + 1e-7


def test_robust_rejects_bad_epsilon() -> None:
    game = random_game(np.random.default_rng(1), 4, 1)
    with pytest.raises(InvalidInput, match="epsilon -1 must be a finite number >= 0"):
        robust_epsilon(game, -1)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("lam", [0.3, 2.0])
def test_quantal_response_beats_sse_and_uniform_under_qr(seed: int, lam: float) -> None:
    from silkguard.protection import quantal_response, quantal_response_utility

    rng = np.random.default_rng(950 + seed)
    game = random_game(rng, 12, 3)
    qr = quantal_response(game, lam)
    cov = qr.solution.coverage
    assert np.all(cov >= -1e-12)
    assert np.all(cov <= 1 + 1e-12)
    assert cov.sum() <= 3 + 1e-7
    assert qr.worst_case_utility == pytest.approx(quantal_response_utility(game, cov, lam))
    sse = origami(game).coverage
    uniform = np.full(12, 3 / 12)
    assert qr.worst_case_utility >= quantal_response_utility(game, sse, lam) - 1e-9
    assert qr.worst_case_utility >= quantal_response_utility(game, uniform, lam) - 1e-9
    # a local optimum: no feasible small move along a random direction improves it much
    for _ in range(5):
        d = rng.normal(size=12)
        d -= d.mean()
        trial = np.clip(cov + 1e-3 * d, 0.0, 1.0)
        if trial.sum() <= 3:
            assert quantal_response_utility(game, trial, lam) <= qr.worst_case_utility + 1e-5


def test_quantal_response_with_lambda_zero_is_a_random_attacker() -> None:
    from silkguard.protection import quantal_response_utility

    game = random_game(np.random.default_rng(2), 5, 1)
    cov = np.full(5, 0.2)
    from silkguard.protection.game import defender_utilities

    assert quantal_response_utility(game, cov, 0.0) == pytest.approx(
        float(defender_utilities(game.payoffs, cov).mean())
    )
    from silkguard.protection import quantal_response

    with pytest.raises(InvalidInput, match="lambda -1 must be a finite number"):
        quantal_response(game, -1)
