"""Robustness against a boundedly rational attacker: the epsilon worst case (a MILP).

A real attacker misjudges: it may attack any target whose utility is within ``epsilon`` of its
best, and the defender should not rely on the tie-breaking in its favour that the strong
Stackelberg solution assumes. This solver maximises the defender's **worst** utility over that
set of near-best targets (one attacker type):

    maximise g
    sum_t a_t = 1,  v >= U_a(t, c_t),  v <= U_a(t, c_t) + M_t (1 - a_t)   (v: attacker's best)
    U_a(t, c_t) - v + epsilon <= M'_t h_t      (a target within epsilon of v has h_t = 1)
    g <= U_d(t, c_t) + N_t (1 - h_t)           (g is at most the defender's utility there)

with binaries ``a_t``, ``h_t`` and per-target constants ``M_t``, ``M'_t``, ``N_t`` taken from
the payoff ranges. A target exactly ``epsilon`` below the best counts as outside the set.
``epsilon = 0`` gives the pessimistic (weak) Stackelberg solution restricted to exact ties.

Also here: :func:`quantal_response`, against an attacker that attacks each target with
probability proportional to ``exp(lambda * U_a)`` (a local optimiser with several starts: a
sound heuristic, not a certified optimum).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, minimize

from silkguard.core.errors import InvalidInput
from silkguard.protection._milp import INF, ModelBuilder, add_coverage_block, read_coverage
from silkguard.protection.game import (
    FloatArray,
    SecurityGame,
    attacker_utilities,
    defender_utilities,
)
from silkguard.protection.origami import origami
from silkguard.protection.solution import Solution, make_solution

__all__ = [
    "RobustSolution",
    "quantal_response",
    "quantal_response_utility",
    "robust_epsilon",
    "worst_case_utility",
]


@dataclass(frozen=True, eq=False)
class RobustSolution:
    """The robust coverage (as a :class:`Solution`, whose utilities are the usual strong
    Stackelberg ones for that coverage) and the guaranteed worst case within ``epsilon``."""

    solution: Solution
    epsilon: float
    worst_case_utility: float


def worst_case_utility(game: SecurityGame, coverage: FloatArray, epsilon: float) -> float:
    """The defender's least utility over the targets within ``epsilon`` of the attacker's best
    (one attacker type; targets exactly ``epsilon`` below the best excluded unless epsilon=0)."""
    pay = game.payoffs
    u_att = attacker_utilities(pay, coverage)
    best = float(u_att.max())
    near = u_att > best - epsilon if epsilon > 0 else u_att >= best - 1e-9
    return float(defender_utilities(pay, coverage)[near].min())


def robust_epsilon(
    game: SecurityGame, epsilon: float, *, time_limit_s: float | None = None
) -> RobustSolution:
    """Coverage maximising the defender's worst case against an epsilon-optimal attacker."""
    start = time.perf_counter()
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon >= 0):
        msg = f"epsilon {epsilon!r} must be a finite number >= 0 (in attacker utility units)"
        raise InvalidInput(msg)
    if len(game.attacker_types) != 1:
        msg = f"robust_epsilon handles one attacker type; this game has {len(game.attacker_types)}"
        raise InvalidInput(msg)
    pay = game.payoffs
    n = game.n_targets
    model = ModelBuilder()
    block = add_coverage_block(model, game)
    c = block.coverage
    a = model.add_cols(n, 0.0, 1.0, integer=True)
    h = model.add_cols(n, 0.0, 1.0, integer=True)
    top_a = float(pay.attacker_uncovered.max())
    top_d = float(pay.defender_covered.max())
    g = int(model.add_cols(1, float(pay.defender_uncovered.min()), top_d, cost=1.0)[0])
    v = int(model.add_cols(1, float(pay.attacker_covered.max()), top_a)[0])
    rows = np.arange(n)
    ones = np.ones(n)
    loss = pay.attacker_loss
    ra = pay.attacker_uncovered
    model.add_rows(1, np.zeros(n, dtype=np.int64), a, ones, 1.0, 1.0)
    pairs = np.concatenate([rows, rows])
    triples = np.concatenate([rows, rows, rows])
    model.add_rows(  # v + loss c >= Ra
        n, pairs, np.concatenate([np.full(n, v), c]), np.concatenate([ones, loss]), ra, INF
    )
    big_a = top_a - pay.attacker_covered
    model.add_rows(  # v + loss c + M a <= Ra + M
        n,
        triples,
        np.concatenate([np.full(n, v), c, a]),
        np.concatenate([ones, loss, big_a]),
        -INF,
        ra + big_a,
    )
    big_h = np.maximum(ra - float(pay.attacker_covered.max()) + epsilon, 0.0)
    model.add_rows(  # Ra - loss c - v + eps <= M' h  ->  -loss c - v - M' h <= -Ra - eps
        n,
        triples,
        np.concatenate([c, np.full(n, v), h]),
        np.concatenate([-loss, -ones, -big_h]),
        -INF,
        -ra - epsilon,
    )
    big_d = top_d - pay.defender_uncovered
    model.add_rows(  # g - gain c + N h <= Pd + N
        n,
        triples,
        np.concatenate([np.full(n, g), c, h]),
        np.concatenate([ones, -pay.defender_gain, big_d]),
        -INF,
        pay.defender_uncovered + big_d,
    )
    values = model.solve(maximize=True, what="epsilon-robust MILP", time_limit_s=time_limit_s)
    coverage, pool, scheds = read_coverage(block, values, game)
    sol = make_solution(
        game,
        f"robust-epsilon({epsilon:g})",
        coverage,
        pool_coverage=pool,
        schedule_probabilities=scheds,
        runtime_s=time.perf_counter() - start,
        notes=(f"maximises the defender's worst case over targets within {epsilon:g}",),
    )
    return RobustSolution(sol, float(epsilon), worst_case_utility(game, coverage, epsilon))


def quantal_response_utility(game: SecurityGame, coverage: FloatArray, lam: float) -> float:
    """The defender's expected utility against a quantal-response attacker: target ``t`` is
    attacked with probability proportional to ``exp(lam * U_a(t))`` (one attacker type)."""
    pay = game.payoffs
    u_att = attacker_utilities(pay, coverage)
    w = np.exp(lam * (u_att - u_att.max()))
    return float(w @ defender_utilities(pay, coverage) / w.sum())


def quantal_response(
    game: SecurityGame, lam: float, *, starts: int = 8, seed: int = 0
) -> RobustSolution:
    """Coverage maximising the defender's expected utility against a quantal-response
    attacker with rationality ``lam`` (0: attacks uniformly at random; large: best responds).

    The objective is smooth but not concave, so it is maximised locally (SLSQP with the
    analytic gradient, over ``0 <= c <= 1``, ``sum(c) <= resources``) from several starts:
    the strong Stackelberg coverage, the uniform coverage and ``starts - 2`` seeded random
    feasible points; the best local optimum is returned. Pool games only (no schedules).
    ``worst_case_utility`` of the result holds the quantal-response utility.
    """

    start_time = time.perf_counter()
    if not (isinstance(lam, int | float) and math.isfinite(lam) and lam >= 0):
        msg = f"lambda {lam!r} must be a finite number >= 0 (0 = a random attacker)"
        raise InvalidInput(msg)
    if len(game.attacker_types) != 1 or game.has_schedules:
        msg = "quantal_response handles one attacker type and resources without schedules"
        raise InvalidInput(msg)
    pay = game.payoffs
    n = game.n_targets
    m = float(game.pool_count)
    floors = game.floors
    loss, gain = pay.attacker_loss, pay.defender_gain

    def negative(c: FloatArray) -> tuple[float, FloatArray]:
        u_att = pay.attacker_uncovered - c * loss
        u_def = pay.defender_uncovered + c * gain
        w = np.exp(lam * (u_att - u_att.max()))
        p = w / w.sum()
        value = float(p @ u_def)
        grad = p * (gain - lam * loss * (u_def - value))
        return -value, -grad

    rng = np.random.default_rng(seed)
    points = [origami(game).coverage, np.maximum(floors, np.full(n, m / n))]
    for _ in range(max(0, starts - 2)):
        raw = rng.dirichlet(np.ones(n)) * m
        points.append(np.clip(np.maximum(raw, floors), 0.0, 1.0))
    bounds = Bounds(floors, np.ones(n))
    budget = LinearConstraint(np.ones((1, n)), -np.inf, m)
    best_c, best_v = points[0], -np.inf
    for point in points:
        x0 = np.maximum(point * min(1.0, m / max(float(point.sum()), 1e-12)), floors)
        res = minimize(
            negative,
            x0,
            jac=True,
            bounds=bounds,
            constraints=[budget],
            method="SLSQP",
            options={"maxiter": 500, "ftol": 1e-12},
        )
        c = np.clip(np.asarray(res.x, dtype=np.float64), floors, 1.0)
        if c.sum() > m:
            c = np.maximum(floors, c * (m / c.sum()))
        value = quantal_response_utility(game, c, lam)
        if value > best_v:
            best_c, best_v = c, value
    sol = make_solution(
        game,
        f"quantal-response({lam:g})",
        best_c,
        pool_coverage=best_c,
        schedule_probabilities=(None,) * len(game.resources),
        runtime_s=time.perf_counter() - start_time,
        notes=(f"expected utility {best_v:.6g} against a quantal-response attacker",),
    )
    return RobustSolution(sol, float(lam), best_v)
