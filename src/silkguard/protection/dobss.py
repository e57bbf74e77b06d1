"""Bayesian security games: the DOBSS mixed-integer program and the multiple-LPs reference.

Several attacker types ``k`` (groups with different objectives) attack with prior ``p_k``; each
observes the defender's coverage and picks its own best target. The defender maximises the
prior-weighted utility.

**DOBSS** (decomposed optimal Bayesian Stackelberg solver) keeps one binary response vector
``a^k`` and one attacker value ``v^k`` per type, so the program grows linearly in the number of
types instead of enumerating the product of their responses. Here it is written over the
compact coverage representation (coverage ``c`` from the shared coverage block) rather than
over joint assignments, and the product ``c_t a^k_t`` in the defender's utility is linearised
the DOBSS way with one variable ``w^k_t`` per type and target:

    maximise   sum_k p_k sum_t (Pd^k_t a^k_t + (Rd^k_t - Pd^k_t) w^k_t)
    w^k_t <= a^k_t,  w^k_t <= c_t                       (so w^k_t = c_t a^k_t at the optimum)
    sum_t a^k_t = 1,  v^k >= U^k_a(t, c_t),  v^k <= U^k_a(t, c_t) + M^k (1 - a^k_t)

As in :mod:`silkguard.protection.eraser`, the chosen response profile is then re-solved
exactly as one LP.

**Multiple LPs** (the generic reference): for every profile of pure responses (one target per
type, ``n ** types`` profiles) solve the LP "best coverage such that each type's profile target
is its best response" and keep the best. Exact, exponential in the number of types.
"""

from __future__ import annotations

import itertools
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

__all__ = ["MAX_PROFILES", "dobss", "multiple_lps"]

#: The multiple-LPs reference refuses games with more response profiles than this.
MAX_PROFILES = 200_000


def dobss(game: SecurityGame, *, time_limit_s: float | None = None) -> Solution:
    """Solve a (Bayesian) game by the DOBSS MILP; one type is allowed too."""
    start = time.perf_counter()
    n = game.n_targets
    model = ModelBuilder()
    block = add_coverage_block(model, game)
    c = block.coverage
    rows = np.arange(n)
    ones = np.ones(n)
    a_cols = []
    for kind in game.attacker_types:
        pay = kind.payoffs
        a = model.add_cols(n, 0.0, 1.0, cost=kind.prior * pay.defender_uncovered, integer=True)
        w = model.add_cols(n, 0.0, 1.0, cost=kind.prior * pay.defender_gain)
        v = int(model.add_cols(1, -INF, INF)[0])
        big = float(pay.attacker_uncovered.max() - pay.attacker_covered.min()) + 1.0
        loss = pay.attacker_loss
        model.add_rows(1, np.zeros(n, dtype=np.int64), a, ones, 1.0, 1.0)
        model.add_rows(  # w - a <= 0 and w - c <= 0
            2 * n,
            np.concatenate([rows, rows, rows + n, rows + n]),
            np.concatenate([w, a, w, c]),
            np.concatenate([ones, -ones, ones, -ones]),
            -INF,
            0.0,
        )
        model.add_rows(  # v + loss_t c_t >= Ra_t
            n,
            np.concatenate([rows, rows]),
            np.concatenate([np.full(n, v), c]),
            np.concatenate([ones, loss]),
            pay.attacker_uncovered,
            INF,
        )
        model.add_rows(  # v + loss_t c_t + M a_t <= Ra_t + M
            n,
            np.concatenate([rows, rows, rows]),
            np.concatenate([np.full(n, v), c, a]),
            np.concatenate([ones, loss, np.full(n, big)]),
            -INF,
            pay.attacker_uncovered + big,
        )
        a_cols.append(a)
    values = model.solve(maximize=True, what="DOBSS MILP", time_limit_s=time_limit_s)
    profile = tuple(int(np.argmax(values[a])) for a in a_cols)
    polished = coverage_for_responses(game, profile)
    coverage, pool, scheds = (
        polished if polished is not None else read_coverage(block, values, game)
    )
    return make_solution(
        game,
        "dobss",
        coverage,
        pool_coverage=pool,
        schedule_probabilities=scheds,
        preferred_targets=profile,
        runtime_s=time.perf_counter() - start,
    )


def multiple_lps(game: SecurityGame) -> Solution:
    """The exact reference: one LP per profile of attacker pure responses."""
    start = time.perf_counter()
    n = game.n_targets
    n_types = len(game.attacker_types)
    if n**n_types > MAX_PROFILES:
        msg = (
            f"multiple LPs would solve {n}**{n_types} = {n**n_types} LPs, more than "
            f"{MAX_PROFILES}; use dobss for games this large"
        )
        raise InvalidInput(msg)
    best: Solution | None = None
    for profile in itertools.product(range(n), repeat=n_types):
        found = coverage_for_responses(game, profile)
        if found is None:
            continue
        coverage, pool, scheds = found
        sol = make_solution(
            game,
            "multiple-lps",
            coverage,
            pool_coverage=pool,
            schedule_probabilities=scheds,
            preferred_targets=profile,
        )
        if best is None or sol.defender_utility > best.defender_utility + 1e-12:
            best = sol
    if best is None:
        msg = "infeasible constraints: no response profile admits a feasible coverage"
        raise InvalidInput(msg)
    return make_solution(
        game,
        "multiple-lps",
        best.coverage,
        pool_coverage=best.pool_coverage,
        schedule_probabilities=best.schedule_probabilities,
        preferred_targets=best.attacker_targets,
        runtime_s=time.perf_counter() - start,
    )
