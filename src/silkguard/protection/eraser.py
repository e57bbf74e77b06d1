"""ERASER-C: the compact mixed-integer program of a security game with schedules (HiGHS).

Variables: the coverage block of :func:`silkguard.protection._milp.add_coverage_block`
(coverage ``c_t``, equal to the pool coverage plus the probabilities ``q_s`` of the schedules
containing ``t``), one binary ``a_t`` per target (the attacked target), the defender's value
``d`` and the attacker's value ``v``:

    maximise d
    sum_t a_t = 1
    v >= U_a(t, c_t)                       for every t   (v is the attacker's best value)
    v <= U_a(t, c_t) + M_a (1 - a_t)       for every t   (the attacked target attains it)
    d <= U_d(t, c_t) + M_d (1 - a_t)       for every t   (d is the defender's value there)

``M_a`` and ``M_d`` are per-target payoff ranges (``max Ra - Pa_t``, ``max Rd - Pd_t``), the
least that never cut off a strategy (tight constants make the relaxation much stronger). Because
the program also chooses ``a``, the attacker's ties are broken in the defender's favour (a
strong Stackelberg equilibrium). Once HiGHS has chosen the attacked target, the coverage is
re-solved exactly with that target fixed (one LP), so big-M rounding cannot leak into the
reported utilities.

With schedules, ``c_t`` counts the expected number of resources covering ``t``; it equals the
probability that ``t`` is covered when no sampled plan puts two resources on one target (always
true for singleton schedules). :func:`silkguard.protection.sampling.realised_coverage` gives the
exact probability of the sampled plans when schedules overlap.
"""

from __future__ import annotations

import time

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.protection._milp import (
    INF,
    ModelBuilder,
    add_coverage_block,
    coverage_for_responses,
    read_coverage,
)
from silkguard.protection.game import SecurityGame
from silkguard.protection.solution import Solution, make_solution

__all__ = ["eraser"]


def eraser(game: SecurityGame, *, time_limit_s: float | None = None) -> Solution:
    """Solve a one-type game with or without schedules by the ERASER-C MILP."""
    start = time.perf_counter()
    if len(game.attacker_types) != 1:
        msg = (
            f"ERASER handles one attacker type; this game has {len(game.attacker_types)}. "
            "Use silkguard.protection.dobss.dobss for Bayesian games"
        )
        raise InvalidInput(msg)
    pay = game.payoffs
    n = game.n_targets
    model = ModelBuilder()
    block = add_coverage_block(model, game)
    c = block.coverage
    a = model.add_cols(n, 0.0, 1.0, integer=True)
    # d and v lie within the payoff ranges; the big-M of each row is the least that never
    # cuts off a strategy: v <= max Ra and U_a(t) >= Pa_t, d <= max Rd and U_d(t) >= Pd_t
    top_a = float(pay.attacker_uncovered.max())
    top_d = float(pay.defender_covered.max())
    d = int(model.add_cols(1, float(pay.defender_uncovered.min()), top_d, cost=1.0)[0])
    v = int(model.add_cols(1, float(pay.attacker_covered.max()), top_a)[0])
    big_a = top_a - pay.attacker_covered
    big_d = top_d - pay.defender_uncovered
    rows = np.arange(n)
    rows3 = np.concatenate([rows, rows, rows])
    ones = np.ones(n)
    loss = pay.attacker_loss
    model.add_rows(1, np.zeros(n, dtype=np.int64), a, ones, 1.0, 1.0)
    # v + loss_t c_t >= Ra_t
    model.add_rows(
        n,
        np.concatenate([rows, rows]),
        np.concatenate([np.full(n, v), c]),
        np.concatenate([ones, loss]),
        pay.attacker_uncovered,
        INF,
    )
    # v + loss_t c_t + M_a a_t <= Ra_t + M_a
    model.add_rows(
        n,
        rows3,
        np.concatenate([np.full(n, v), c, a]),
        np.concatenate([ones, loss, big_a]),
        -INF,
        pay.attacker_uncovered + big_a,
    )
    # d - gain_t c_t + M_d a_t <= Pd_t + M_d
    model.add_rows(
        n,
        rows3,
        np.concatenate([np.full(n, d), c, a]),
        np.concatenate([ones, -pay.defender_gain, big_d]),
        -INF,
        pay.defender_uncovered + big_d,
    )
    values = model.solve(maximize=True, what="ERASER MILP", time_limit_s=time_limit_s)
    target = int(np.argmax(values[a]))
    polished = coverage_for_responses(game, (target,))
    coverage, pool, scheds = (
        polished if polished is not None else read_coverage(block, values, game)
    )
    return make_solution(
        game,
        "eraser",
        coverage,
        pool_coverage=pool,
        schedule_probabilities=scheds,
        preferred_targets=[target],
        runtime_s=time.perf_counter() - start,
    )
