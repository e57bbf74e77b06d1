"""Simple strategies to compare a solution against, and the evaluation of any coverage.

* uniform: every pool unit spread evenly over the targets, every scheduled unit evenly over
  its type's schedules;
* static: the pool covers, with certainty, the targets where an attack would cost the
  defender most (``defender_uncovered`` lowest; a fixed guard post for each).

The optimal solvers are never worse than either (tested on random games); the CLI can show
the difference to make the value of randomising visible.
"""

from __future__ import annotations

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.protection.game import FloatArray, SecurityGame
from silkguard.protection.solution import Solution, make_solution

__all__ = ["evaluate", "static_coverage", "uniform_coverage"]


def evaluate(game: SecurityGame, coverage: FloatArray, *, solver: str = "given") -> Solution:
    """The attacker's responses and both utilities for a given coverage vector."""
    cov = np.asarray(coverage, dtype=np.float64)
    if cov.shape != (game.n_targets,):
        msg = f"coverage has shape {cov.shape}, expected ({game.n_targets},): one per target"
        raise InvalidInput(msg)
    bad = np.flatnonzero(~((cov >= 0.0) & (cov <= 1.0)))
    if bad.size:
        t = int(bad[0])
        msg = f"{game.target_name(t)}: coverage {float(cov[t])!r} is not a probability in [0, 1]"
        raise InvalidInput(msg)
    return make_solution(
        game,
        solver,
        cov,
        pool_coverage=np.zeros(game.n_targets),
        schedule_probabilities=(None,) * len(game.resources),
    )


def uniform_coverage(game: SecurityGame) -> Solution:
    n = game.n_targets
    pool = np.full(n, game.pool_count / n)
    cov = pool.copy()
    scheds: list[FloatArray | None] = []
    for res in game.resources:
        if res.schedules is None:
            scheds.append(None)
            continue
        q = np.full(len(res.schedules), res.count / len(res.schedules))
        for s in res.schedules:
            cov[list(s)] += res.count / len(res.schedules)
        scheds.append(q)
    return make_solution(
        game,
        "uniform",
        np.minimum(cov, 1.0),
        pool_coverage=pool,
        schedule_probabilities=tuple(scheds),
    )


def static_coverage(game: SecurityGame) -> Solution:
    """Pool units on the targets with the worst uncovered defender payoff (first type's),
    with probability 1; scheduled units idle (a static posture has no patrols to vary)."""
    n = game.n_targets
    pool = np.zeros(n)
    order = np.argsort(game.payoffs.defender_uncovered, kind="stable")
    pool[order[: game.pool_count]] = 1.0
    return make_solution(
        game,
        "static",
        pool,
        pool_coverage=pool,
        schedule_probabilities=tuple(
            None if r.schedules is None else np.zeros(len(r.schedules)) for r in game.resources
        ),
    )
