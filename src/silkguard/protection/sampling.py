"""From marginal coverage to concrete plans: comb sampling, exact decompositions, calendars.

**Comb (systematic) sampling.** Lay the probabilities ``p_1..p_n`` (each at most 1) end to
end on a line, so item ``j`` owns the interval ``[C_{j-1}, C_j)`` of the cumulative sums. Draw
one offset ``u`` uniformly in ``[0, 1)`` and pick every item whose interval contains one of the
comb's teeth ``u, u + 1, u + 2, ...``. An interval of length ``p_j <= 1`` holds a tooth with
probability exactly ``p_j`` and never two, so every item is picked with its probability, no
item twice, and the number picked is always ``floor(sum p)`` or ``ceil(sum p)``.

As ``u`` sweeps ``[0, 1)`` the picked set only changes where a tooth crosses an interval end,
i.e. at the fractional parts of the ``C_j``: comb sampling is therefore an explicit mixture of
at most ``n + 1`` pure plans with known probabilities (:func:`comb_decomposition`), which is
what an audit needs and what :func:`realised_coverage` uses to compute the exact probability
that each target is covered.

**Plans.** The resources without schedules form one pool: the comb picks targets from the pool
coverage (in a random order, drawn from the same generator) and the picked targets are dealt
to the pool's units at random; units left over stay in reserve. Each resource type with
schedules gets its own comb over its schedule probabilities. Every unit is therefore given at
most one target or one of its own schedules, and no two units of one type share a schedule.

**Schedules that overlap.** The solvers count a target's coverage as the expected number of
resources on it. When two picked schedules (or a schedule and a pool unit) can cover the same
target in one plan, the probability that the target is covered is lower than that count;
:func:`realised_coverage` reports the exact figure so the shortfall is visible.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput
from silkguard.protection.game import FloatArray, IntArray
from silkguard.protection.solution import Solution

__all__ = [
    "Assignment",
    "Calendar",
    "DayPlan",
    "Plan",
    "calendar",
    "comb_decomposition",
    "comb_sample",
    "realised_coverage",
    "sample_plan",
]


def _check_marginals(p: FloatArray, what: str) -> FloatArray:
    p = np.asarray(p, dtype=np.float64)
    bad = np.flatnonzero(~((p >= -1e-12) & (p <= 1.0 + 1e-9)))
    if bad.size:
        msg = (
            f"{what}: entry {int(bad[0])} is {float(p[bad[0]])!r}; probabilities must lie in [0, 1]"
        )
        raise InvalidInput(msg)
    return np.clip(p, 0.0, 1.0)


def comb_sample(marginals: FloatArray, offset: float) -> IntArray:
    """Indices picked by the comb with teeth at ``offset + k`` (``0 <= offset < 1``)."""
    p = _check_marginals(marginals, "marginals")
    if not 0.0 <= offset < 1.0:
        msg = f"comb offset {offset!r} must lie in [0, 1)"
        raise InvalidInput(msg)
    cum = np.concatenate([[0.0], np.cumsum(p)])
    teeth = np.floor(cum - offset)
    return np.flatnonzero(np.diff(teeth) > 0)


def comb_decomposition(marginals: FloatArray) -> list[tuple[float, IntArray]]:
    """The comb as an explicit mixture: ``(probability, picked indices)`` pairs whose
    probabilities sum to 1 and whose average pick indicator equals ``marginals``."""
    p = _check_marginals(marginals, "marginals")
    cum = np.cumsum(p)
    cuts = np.unique(np.concatenate([[0.0, 1.0], cum - np.floor(cum)]))
    pieces = []
    for lo, hi in itertools.pairwise(cuts):
        if hi - lo > 0.0:
            pieces.append((float(hi - lo), comb_sample(p, float(0.5 * (lo + hi)))))
    return pieces


@dataclass(frozen=True, slots=True)
class Assignment:
    """What one unit does in one plan. ``schedule`` is the index into its type's schedules
    (None for pool units and for units in reserve); ``targets`` is empty for reserve."""

    resource_type: str
    unit: int
    schedule: int | None
    targets: tuple[int, ...]

    @property
    def in_reserve(self) -> bool:
        return not self.targets


@dataclass(frozen=True, slots=True)
class Plan:
    """One sampled deployment, with what is needed to reproduce and audit it: the seed of the
    generator and the comb offsets drawn from it (first the pool's, then one per resource type
    with schedules, in the game's order)."""

    seed: int
    offsets: tuple[float, ...]
    assignments: tuple[Assignment, ...]

    def covered(self, n_targets: int) -> npt.NDArray[np.bool_]:
        mask = np.zeros(n_targets, dtype=bool)
        for a in self.assignments:
            mask[list(a.targets)] = True
        return mask


def _pool_units(solution: Solution) -> list[tuple[str, int]]:
    return [
        (r.name, u) for r in solution.game.resources if r.schedules is None for u in range(r.count)
    ]


def sample_plan(solution: Solution, *, seed: int | None = None) -> Plan:
    """Draw one plan whose targets are covered with the solution's probabilities.

    ``seed=None`` draws a fresh seed from the operating system and records it in the plan.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    game = solution.game
    offsets: list[float] = []
    out: list[Assignment] = []
    units = _pool_units(solution)
    if units:
        pool = _check_marginals(solution.pool_coverage, "pool coverage")
        total = float(pool.sum())
        if total > len(units):  # rounding only: the solvers keep sum(pool) <= pool size
            pool = pool * (len(units) / total)
        order = rng.permutation(game.n_targets)
        u = float(rng.random())
        offsets.append(u)
        picked = order[comb_sample(pool[order], u)]
        dealt = rng.permutation(len(units))
        for slot, unit_index in enumerate(dealt):
            name, unit = units[unit_index]
            target = (int(picked[slot]),) if slot < picked.size else ()
            out.append(Assignment(name, unit, None, target))
    for res, probs in zip(game.resources, solution.schedule_probabilities, strict=True):
        if res.schedules is None:
            continue
        q = np.zeros(len(res.schedules)) if probs is None else _check_marginals(probs, res.name)
        if float(q.sum()) > res.count:
            q = q * (res.count / float(q.sum()))
        u = float(rng.random())
        offsets.append(u)
        chosen = comb_sample(q, u)
        dealt = rng.permutation(res.count)
        for slot, unit in enumerate(dealt):
            if slot < chosen.size:
                s = int(chosen[slot])
                out.append(Assignment(res.name, int(unit), s, tuple(res.schedules[s])))
            else:
                out.append(Assignment(res.name, int(unit), None, ()))
    out.sort(key=lambda a: (a.resource_type, a.unit))
    return Plan(seed=seed, offsets=tuple(offsets), assignments=tuple(out))


def realised_coverage(solution: Solution) -> FloatArray:
    """The exact probability that each target is covered by :func:`sample_plan`'s plans.

    Equal to ``solution.coverage`` unless picked schedules can overlap on a target.
    """
    game = solution.game
    n = game.n_targets
    uncovered = np.ones(n)
    if game.pool_count > 0:
        uncovered *= 1.0 - np.clip(solution.pool_coverage, 0.0, 1.0)
    for res, probs in zip(game.resources, solution.schedule_probabilities, strict=True):
        if res.schedules is None or probs is None:
            continue
        hit = np.zeros(n)
        for prob, chosen in comb_decomposition(probs):
            mask = np.zeros(n, dtype=bool)
            for s in chosen:
                mask[list(res.schedules[int(s)])] = True
            hit += prob * mask
        uncovered *= 1.0 - np.clip(hit, 0.0, 1.0)
    return 1.0 - uncovered


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: int
    date: dt.date | None
    plan: Plan


@dataclass(frozen=True, slots=True)
class Calendar:
    """Plans for consecutive days; each day's generator is seeded from ``(seed, day)``."""

    seed: int
    days: tuple[DayPlan, ...]

    def rows(self) -> Iterator[tuple[int, dt.date | None, Assignment]]:
        """One row per day and unit: ``(day, date, assignment)``."""
        for day in self.days:
            for a in day.plan.assignments:
                yield day.day, day.date, a


def day_seed(seed: int, day: int) -> int:
    """The seed of day ``day`` of a calendar seeded with ``seed`` (stable across versions of
    this code as long as numpy's SeedSequence is)."""
    state = np.random.SeedSequence([seed, day]).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


def calendar(solution: Solution, *, days: int, seed: int, start: dt.date | None = None) -> Calendar:
    """Independent plans for the next ``days`` days: a plan per resource unit per day."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        msg = f"days {days!r} must be a whole number from 1 to 3660"
        raise InvalidInput(msg)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        msg = f"seed {seed!r} must be a whole number >= 0"
        raise InvalidInput(msg)
    out = []
    for d in range(days):
        date = None if start is None else start + dt.timedelta(days=d)
        out.append(DayPlan(d, date, sample_plan(solution, seed=day_seed(seed, d))))
    return Calendar(seed=seed, days=tuple(out))
