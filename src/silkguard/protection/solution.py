"""The :class:`Solution` every solver returns, its explanations, and :func:`make_solution`,
which derives the attacker's strong Stackelberg response and both utilities from a coverage.
Pure module: no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from silkguard.protection.game import (
    TIE_TOL,
    FloatArray,
    SecurityGame,
    attacker_utilities,
    defender_utilities,
)

__all__ = ["Solution", "make_solution"]


@dataclass(frozen=True, eq=False)
class Solution:
    """A defender strategy and the attacker's (strong Stackelberg) response to it.

    ``coverage[t]`` is the probability that target ``t`` is covered. ``attacker_targets[k]``
    and ``attacker_utilities[k]`` are attacker type ``k``'s best response and its utility;
    ``defender_utility`` is the prior-weighted expected utility of the defender.
    ``pool_coverage`` is the share of the coverage given by resources without schedules and
    ``schedule_probabilities[r]`` the probability of each schedule of resource type ``r``
    (``None`` for types without schedules); the samplers turn them into plans.
    """

    game: SecurityGame
    solver: str
    coverage: FloatArray
    attacker_targets: tuple[int, ...]
    attacker_utilities: tuple[float, ...]
    defender_utility: float
    pool_coverage: FloatArray
    schedule_probabilities: tuple[FloatArray | None, ...]
    runtime_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def attacker_target(self) -> int:
        """The best response of the first (for one-type games: the only) attacker type."""
        return self.attacker_targets[0]

    @property
    def attacker_utility(self) -> float:
        return self.attacker_utilities[0]

    def explain(self, target: int) -> str:
        """Why ``target`` gets the coverage it gets, in one sentence per attacker type."""
        parts = []
        for k, kind in enumerate(self.game.attacker_types):
            text = _explain_one(self, k, target)
            parts.append(text if len(self.game.attacker_types) == 1 else f"{kind.name}: {text}")
        head = f"{self.game.target_name(target)}: coverage {self.coverage[target]:.4f}. "
        return head + " ".join(parts)

    def explanations(self) -> list[str]:
        return [self.explain(t) for t in range(self.game.n_targets)]

    def as_dict(self, *, explain: bool = True) -> dict[str, object]:
        """A JSON-ready summary (lists and floats) for storage, the API and the CLI."""
        game = self.game
        ids = game.target_ids
        return {
            "solver": self.solver,
            "defender_utility": self.defender_utility,
            "attackers": [
                {
                    "type": kind.name,
                    "prior": kind.prior,
                    "target": self.attacker_targets[k],
                    "target_id": None if ids is None else ids[self.attacker_targets[k]],
                    "utility": self.attacker_utilities[k],
                }
                for k, kind in enumerate(game.attacker_types)
            ],
            "coverage": [float(c) for c in self.coverage],
            "schedule_probabilities": {
                res.name: [float(x) for x in q]
                for res, q in zip(game.resources, self.schedule_probabilities, strict=True)
                if q is not None
            },
            "explanations": self.explanations() if explain else None,
            "runtime_s": self.runtime_s,
            "notes": list(self.notes),
        }


def _explain_one(sol: Solution, k: int, t: int) -> str:
    pay = sol.game.attacker_types[k].payoffs
    best = sol.attacker_utilities[k]
    c = float(sol.coverage[t])
    u_att = float(pay.attacker_uncovered[t] - c * pay.attacker_loss[t])
    floor = float(sol.game.floors[t])
    chosen = sol.attacker_targets[k] == t
    if abs(u_att - best) <= TIE_TOL * max(1.0, abs(best)):
        if c >= 1.0 - 1e-9:
            text = (
                f"In the attack set and fully covered: even so the attacker gets {u_att:.4g}, "
                "the best it can get anywhere, so no more coverage can push it lower."
            )
        elif c <= 1e-12:
            text = (
                f"In the attack set without coverage: uncovered it gives the attacker "
                f"{u_att:.4g}, exactly the value the other attack-set targets are held to."
            )
        else:
            text = (
                f"In the attack set: coverage is just enough to make the attacker indifferent "
                f"at utility {best:.4g} (uncovered it would get "
                f"{pay.attacker_uncovered[t]:.4g})."
            )
        if chosen:
            text += (
                " The attacker's expected choice (ties broken in the defender's favour); the "
                f"defender expects {pay.defender_uncovered[t] + c * pay.defender_gain[t]:.4g}."
            )
        return text
    if c <= 1e-12:
        return (
            f"Outside the attack set: the attacker gets {u_att:.4g} here even uncovered, less "
            f"than the {best:.4g} it gets at its best target, so no coverage is needed."
        )
    reason = "the policy minimum" if floor > 0 and c <= floor + 1e-9 else "spare capacity"
    if sol.game.has_schedules and reason == "spare capacity":
        reason = "spare capacity or a schedule that covers it with other targets"
    return (
        f"Outside the attack set: the attacker gets {u_att:.4g} here, less than its best "
        f"{best:.4g}; the coverage comes from {reason}."
    )


def make_solution(
    game: SecurityGame,
    solver: str,
    coverage: FloatArray,
    *,
    pool_coverage: FloatArray,
    schedule_probabilities: tuple[FloatArray | None, ...],
    preferred_targets: Sequence[int] | None = None,
    runtime_s: float = 0.0,
    notes: tuple[str, ...] = (),
) -> Solution:
    """Compute the attacker's strong Stackelberg response and both utilities from a coverage.

    Every solver ends here, so utilities are always recomputed from the coverage rather than
    read from a solver's auxiliary variables. For each type the attacker picks, among the
    targets within :data:`TIE_TOL` of its best utility, the one best for the defender;
    ``preferred_targets`` (the solver's own choice) wins if it is among them.
    """
    coverage = np.clip(np.asarray(coverage, dtype=np.float64), 0.0, 1.0)
    targets: list[int] = []
    att_utils: list[float] = []
    def_util = 0.0
    for k, kind in enumerate(game.attacker_types):
        u_att = attacker_utilities(kind.payoffs, coverage)
        best = float(u_att.max())
        tol = TIE_TOL * max(1.0, abs(best))
        u_def = defender_utilities(kind.payoffs, coverage)
        pref = None if preferred_targets is None else int(preferred_targets[k])
        if pref is not None and u_att[pref] >= best - tol:
            choice = pref
        else:
            ties = np.flatnonzero(u_att >= best - tol)
            choice = int(ties[np.argmax(u_def[ties])])
        targets.append(choice)
        att_utils.append(float(u_att[choice]))
        def_util += kind.prior * float(u_def[choice])
    return Solution(
        game=game,
        solver=solver,
        coverage=coverage,
        attacker_targets=tuple(targets),
        attacker_utilities=tuple(att_utils),
        defender_utility=def_util,
        pool_coverage=pool_coverage,
        schedule_probabilities=schedule_probabilities,
        runtime_s=runtime_s,
        notes=notes,
    )
