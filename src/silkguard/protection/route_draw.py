"""A movement's route and departure drawn at random, in step with the escort game. Pure module.

The candidates are pairs (route option ``r``, departure ``d``): the options the policy allows
whose risk is within a tolerance of the best, each with the departures of the window that are
as good as its best (the departure comparison). Departing at ``d`` on ``r``, the party is on
segment ``s`` in the slot of the local time at which it passes the segment's middle; the
game's target there has likelihood ``w(s, slot)`` and coverage ``c(s, slot)``. Then

    R(r, d) = sum over s of w(s, slot)                    (the risk of the trip)
    E(r, d) = sum over s of w(s, slot) x (1 - c(s, slot))  (the risk left uncovered)

and the draw picks ``(r, d)`` with probability proportional to ``1 / (E(r, d) + eps)``,
``eps = EPSILON_SHARE x min R`` over the candidates (so a fully covered trip gets a large but
finite weight). A trip with half the uncovered risk is drawn twice as often, and every
candidate keeps a chance: nobody watching can rule a route or an hour out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.protection.corridor import SlotScheme
from silkguard.protection.game import FloatArray

__all__ = ["EPSILON_SHARE", "Candidate", "choose", "draw_probabilities", "trip_risk"]

#: ``eps`` as a share of the least trip risk among the candidates.
EPSILON_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class Candidate:
    """One (route option, departure) pair with its trip risk and the part left uncovered."""

    route: int
    depart: datetime
    risk: float
    uncovered: float


def trip_risk(
    passage: Sequence[tuple[int, float, float]],
    depart: datetime,
    slots: SlotScheme,
    likelihood: FloatArray,
    coverage: FloatArray,
) -> tuple[float, float]:
    """``(R, E)`` of a trip over ``passage`` (segment, enter_s, leave_s) leaving at
    ``depart``; ``likelihood`` and ``coverage`` are per target in (segment, slot) order."""
    risk = uncovered = 0.0
    for s, enter_s, leave_s in passage:
        k = slots.slot_of(depart + timedelta(seconds=0.5 * (enter_s + leave_s)))
        t = s * slots.n + k
        w = float(likelihood[t])
        risk += w
        uncovered += w * (1.0 - float(np.clip(coverage[t], 0.0, 1.0)))
    return risk, uncovered


def draw_probabilities(candidates: Sequence[Candidate]) -> FloatArray:
    """Probabilities proportional to ``1 / (E + eps)`` (see the module docstring)."""
    if not candidates:
        msg = "no candidate route and departure to draw from"
        raise InvalidInput(msg)
    risk = np.array([c.risk for c in candidates])
    uncovered = np.array([c.uncovered for c in candidates])
    if not (np.all(np.isfinite(risk)) and np.all(risk > 0)):
        msg = "every candidate needs a positive, finite trip risk"
        raise InvalidInput(msg)
    if not (np.all(uncovered >= -1e-12) and np.all(uncovered <= risk + 1e-9)):
        msg = "the uncovered risk of a candidate must lie between 0 and its trip risk"
        raise InvalidInput(msg)
    eps = EPSILON_SHARE * float(risk.min())
    weights = 1.0 / (np.clip(uncovered, 0.0, None) + eps)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def choose(candidates: Sequence[Candidate], seed: int) -> tuple[int, FloatArray]:
    """The index drawn with :func:`draw_probabilities` from a generator seeded by ``seed``,
    and the probabilities."""
    p = draw_probabilities(candidates)
    u = float(np.random.default_rng(seed).random())
    index = int(np.searchsorted(np.cumsum(p), u, side="right"))
    return min(index, len(candidates) - 1), p
