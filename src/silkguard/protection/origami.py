"""ORIGAMI: the exact optimal coverage of a security game without scheduling constraints.

``m`` identical resources each cover one target, so any coverage vector ``c`` with
``0 <= c_t <= 1`` and ``sum(c) <= m`` can be played (comb sampling realises it, see
:mod:`silkguard.protection.sampling`). Write ``Ra``/``Pa`` for the attacker's uncovered and
covered payoffs and ``D = Ra - Pa > 0``.

If the defender wants the attacker to get at most ``x`` everywhere, target ``t`` needs coverage
``max(l_t, (Ra_t - x) / D_t)`` (``l_t`` the policy floor, 0 by default), and that is at most 1
only when ``x >= Pa_t``. The total needed, ``f(x)``, is a continuous, decreasing, piecewise
linear function of ``x`` whose breaks are at ``b_t = Ra_t - l_t * D_t`` (the attacker's
utility at the floor). So the least value the attacker can be held to is

    x* = max(max_t Pa_t, the root of f(x) = m)

and the root is found in one pass: sort the targets by ``b`` (descending), evaluate ``f`` at
every break with cumulative sums, take the first segment where ``f`` exceeds ``m`` and solve
the linear equation there. Whatever target ``t`` the defender would like to be attacked, the
attacker's utility there must be at least ``x*`` and the defender's utility falls as that value
rises, so holding the attacker to exactly ``x*`` is optimal for every choice; the attack set is
the targets where the attacker gets ``x*`` and, as in a strong Stackelberg equilibrium, the
attacker breaks its tie in the defender's favour. Resources left over (when ``x*`` is pinned
by a fully covered target) go, by default, to the most attractive targets outside the attack
set, which changes neither utility but leaves the attacker less to gain from a mistake.

Everything is array arithmetic: a million targets take a sort and a few cumulative sums.
"""

from __future__ import annotations

import time

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.protection.game import TIE_TOL, FloatArray, IntArray, SecurityGame
from silkguard.protection.solution import Solution, make_solution

__all__ = ["origami", "origami_coverage"]


def origami_coverage(
    attacker_uncovered: FloatArray,
    attacker_covered: FloatArray,
    defender_uncovered: FloatArray,
    defender_covered: FloatArray,
    resources: float,
    *,
    floors: FloatArray | None = None,
    use_spare: bool = True,
) -> tuple[FloatArray, int, float]:
    """The optimal coverage, the attacked target and the attacker's utility ``x*``.

    Arrays are assumed valid (see :class:`~silkguard.protection.game.SecurityGame`). Only the
    targets with the highest break values need sorting: on large games ``x*`` is first
    estimated on a sample, the targets above the (deliberately low) estimate are sorted, and
    the result is checked; in the rare case that the attack set or the spare resources reach
    beyond them the estimate is lowered and the step repeated (at worst: one full sort).
    """
    n = attacker_uncovered.shape[0]
    loss = attacker_uncovered - attacker_covered
    floor = np.zeros(n) if floors is None else floors
    brk = attacker_uncovered - floor * loss if floors is not None else attacker_uncovered
    floor_total = float(floor.sum())
    min_x = float(attacker_covered.max())
    inflate = 2.0
    while True:
        threshold = _threshold_estimate(
            brk, attacker_uncovered, loss, floor, min_x, resources * inflate
        )
        order = _top_order(brk, threshold)
        complete = order.size == n
        x_star = _solve_prefix(
            order, brk, attacker_uncovered, loss, floor, floor_total, min_x, resources, complete
        )
        if x_star is not None:
            coverage = np.maximum(floor, (attacker_uncovered - x_star) / loss)
            np.clip(coverage, 0.0, 1.0, out=coverage)
            spare = resources - float(coverage.sum())
            tol = TIE_TOL * max(1.0, abs(x_star))
            if (
                not use_spare
                or spare <= 1e-12
                or _fill_spare(
                    coverage, order, loss, attacker_uncovered, x_star - tol, spare, complete
                )
            ):
                break
        inflate *= 8.0
    u_att = attacker_uncovered - coverage * loss
    attack_set = order[u_att[order] >= x_star - tol]
    u_def = defender_uncovered[attack_set] + coverage[attack_set] * (
        defender_covered[attack_set] - defender_uncovered[attack_set]
    )
    target = int(attack_set[np.argmax(u_def)])
    return coverage, target, x_star


#: Games up to this size are sorted outright; larger ones first estimate the attack set.
_SORT_ALL_BELOW = 20_000
_SAMPLE = 8_192


def _threshold_estimate(
    brk: FloatArray,
    att_uncovered: FloatArray,
    loss: FloatArray,
    floor: FloatArray,
    min_x: float,
    resources: float,
) -> float:
    """A break value below which targets can probably be left out of the sort: ORIGAMI's
    ``x*`` on a fixed random sample of the targets, with the resources scaled to the sample
    (the caller inflates them, so the estimate errs low, and checks the result)."""
    n = brk.shape[0]
    if n <= _SORT_ALL_BELOW or resources >= n:
        return -np.inf
    idx = np.random.default_rng(0).integers(0, n, _SAMPLE)
    order = idx[np.argsort(-brk[idx], kind="stable")]
    sub_floor = floor[idx]
    x_hat = _solve_prefix(
        order,
        brk,
        att_uncovered,
        loss,
        floor,
        float(sub_floor.sum()),
        min_x,
        resources * _SAMPLE / n,
        True,
    )
    return -np.inf if x_hat is None else x_hat


def _top_order(values: FloatArray, threshold: float) -> IntArray:
    """Indices of the values >= ``threshold``, largest first."""
    idx = np.flatnonzero(values >= threshold) if np.isfinite(threshold) else None
    if idx is None or idx.size == 0:
        idx = np.arange(values.shape[0])
    return idx[np.argsort(-values[idx], kind="stable")]


def _solve_prefix(
    order: IntArray,
    brk: FloatArray,
    att_uncovered: FloatArray,
    loss: FloatArray,
    floor: FloatArray,
    floor_total: float,
    min_x: float,
    resources: float,
    complete: bool,
) -> float | None:
    """``x*`` if the root of ``f(x) = resources`` lies within the sorted prefix, else None."""
    b_sorted = brk[order]
    inv = 1.0 / loss[order]
    cum_a = np.cumsum(att_uncovered[order] * inv)
    cum_b = np.cumsum(inv)
    floor_rest = floor_total - np.cumsum(floor[order])
    # f at the lower end of segment k (the first k+1 targets above their floor): b_(k+1)
    f_at_break = cum_a[:-1] - b_sorted[1:] * cum_b[:-1] + floor_rest[:-1]
    over = f_at_break > resources
    if over.any():
        k = int(np.argmax(over))
    elif complete:
        k = order.size - 1
    elif float(b_sorted[-1]) <= min_x:
        # every later break is below the floor value max(Pa): x* = max(Pa) or inside prefix
        k = order.size - 1
    else:
        return None
    root = (cum_a[k] + floor_rest[k] - resources) / cum_b[k]
    x_star = max(min_x, float(root))
    return min(x_star, float(b_sorted[0]))  # f(b_max) = sum(floors) <= resources


def _fill_spare(
    coverage: FloatArray,
    order: IntArray,
    loss: FloatArray,
    att_uncovered: FloatArray,
    below: float,
    spare: float,
    complete: bool,
) -> bool:
    """Give spare resources to the most attractive targets outside the attack set (in place).
    False (and nothing changed) when the prefix holds too little room."""
    u_att = att_uncovered[order] - coverage[order] * loss[order]
    outside = order[u_att < below]
    room = 1.0 - coverage[outside]
    if float(room.sum()) < spare and not complete:
        return False
    before = np.cumsum(room) - room
    coverage[outside] += np.clip(spare - before, 0.0, room)
    return True


def origami(game: SecurityGame, *, use_spare: bool = True) -> Solution:
    """Solve a one-type game whose resources have no schedules, exactly."""
    start = time.perf_counter()
    if game.has_schedules:
        msg = (
            "ORIGAMI handles resources without schedules only; resource types "
            f"{[r.name for r in game.resources if r.schedules is not None]} have schedules. "
            "Use silkguard.protection.eraser.eraser for schedule games"
        )
        raise InvalidInput(msg)
    if len(game.attacker_types) != 1:
        msg = (
            f"ORIGAMI handles one attacker type; this game has {len(game.attacker_types)}. "
            "Use silkguard.protection.dobss.dobss for Bayesian games"
        )
        raise InvalidInput(msg)
    pay = game.payoffs
    coverage, target, _ = origami_coverage(
        pay.attacker_uncovered,
        pay.attacker_covered,
        pay.defender_uncovered,
        pay.defender_covered,
        float(game.pool_count),
        floors=game.min_coverage,
        use_spare=use_spare,
    )
    return make_solution(
        game,
        "origami",
        coverage,
        pool_coverage=coverage,
        schedule_probabilities=(None,) * len(game.resources),
        preferred_targets=[target],
        runtime_s=time.perf_counter() - start,
    )
