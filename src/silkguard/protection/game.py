"""The security game model: targets with four payoffs, resources with the schedules they can
cover, attacker types with a prior, and the :class:`Solution` every solver returns.

Payoff convention (the standard Stackelberg security game): covering a target is good for the
defender and bad for the attacker, so for every target and every attacker type

    defender_covered > defender_uncovered   and   attacker_covered < attacker_uncovered.

With coverage probability ``c`` the expected utilities of an attack on target ``t`` are
``U_d = defender_uncovered + c * (defender_covered - defender_uncovered)`` and
``U_a = attacker_uncovered - c * (attacker_uncovered - attacker_covered)``.

Arrays are used throughout (one float per target), so a game of a million targets costs a few
arrays and no Python object per target. Pure module: no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput

__all__ = [
    "AttackerType",
    "FloatArray",
    "IntArray",
    "Payoffs",
    "ResourceType",
    "SecurityGame",
    "Target",
    "attacker_utilities",
    "defender_utilities",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Two attacker utilities closer than this are treated as a tie (the attacker is indifferent).
TIE_TOL = 1e-7


@dataclass(frozen=True, slots=True)
class Target:
    """One target's payoffs, the row form used to build small games by hand."""

    target_id: str
    defender_covered: float
    defender_uncovered: float
    attacker_covered: float
    attacker_uncovered: float


@dataclass(frozen=True, slots=True, eq=False)
class Payoffs:
    """The four payoff arrays of one attacker type (one entry per target)."""

    defender_covered: FloatArray
    defender_uncovered: FloatArray
    attacker_covered: FloatArray
    attacker_uncovered: FloatArray

    @classmethod
    def from_targets(cls, targets: Sequence[Target]) -> Payoffs:
        return cls(
            np.array([t.defender_covered for t in targets], dtype=np.float64),
            np.array([t.defender_uncovered for t in targets], dtype=np.float64),
            np.array([t.attacker_covered for t in targets], dtype=np.float64),
            np.array([t.attacker_uncovered for t in targets], dtype=np.float64),
        )

    @property
    def n_targets(self) -> int:
        return int(self.defender_covered.shape[0])

    @property
    def defender_gain(self) -> FloatArray:
        """What full coverage adds to the defender's utility (> 0)."""
        return self.defender_covered - self.defender_uncovered

    @property
    def attacker_loss(self) -> FloatArray:
        """What full coverage takes from the attacker's utility (> 0)."""
        return self.attacker_uncovered - self.attacker_covered


@dataclass(frozen=True, slots=True, eq=False)
class AttackerType:
    """An attacker type (a group with its own objectives) and its prior probability."""

    name: str
    prior: float
    payoffs: Payoffs


@dataclass(frozen=True, slots=True)
class ResourceType:
    """``count`` identical resources (escort teams, checkposts, guard shifts).

    ``schedules=None``: each resource covers any one target per period (no scheduling).
    Otherwise each resource covers, per period, one of the listed schedules (a schedule is a
    set of target indices covered together, e.g. a patrol route); two resources of one type
    never take the same schedule in the same period.
    """

    name: str
    count: int
    schedules: tuple[tuple[int, ...], ...] | None = None


def attacker_utilities(payoffs: Payoffs, coverage: FloatArray) -> FloatArray:
    return payoffs.attacker_uncovered - coverage * payoffs.attacker_loss


def defender_utilities(payoffs: Payoffs, coverage: FloatArray) -> FloatArray:
    return payoffs.defender_uncovered + coverage * payoffs.defender_gain


@dataclass(frozen=True, eq=False)
class SecurityGame:
    """A (Bayesian) Stackelberg security game. Validated on construction.

    ``min_coverage`` (optional, one value in [0, 1] per target) is a policy floor: the target
    must be covered at least that often whatever the game says.
    """

    attacker_types: tuple[AttackerType, ...]
    resources: tuple[ResourceType, ...]
    target_ids: tuple[str, ...] | None = None
    min_coverage: FloatArray | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def single(
        cls,
        payoffs: Payoffs,
        resources: Sequence[ResourceType],
        *,
        target_ids: Sequence[str] | None = None,
        min_coverage: FloatArray | None = None,
    ) -> SecurityGame:
        """A game with one attacker type (prior 1)."""
        return cls(
            (AttackerType("attacker", 1.0, payoffs),),
            tuple(resources),
            None if target_ids is None else tuple(target_ids),
            min_coverage,
        )

    @classmethod
    def from_targets(
        cls, targets: Sequence[Target], resources: Sequence[ResourceType]
    ) -> SecurityGame:
        return cls.single(
            Payoffs.from_targets(targets), resources, target_ids=[t.target_id for t in targets]
        )

    @property
    def n_targets(self) -> int:
        return self.attacker_types[0].payoffs.n_targets

    @property
    def payoffs(self) -> Payoffs:
        """The payoffs of the first (for one-type games: the only) attacker type."""
        return self.attacker_types[0].payoffs

    @property
    def priors(self) -> FloatArray:
        return np.array([a.prior for a in self.attacker_types], dtype=np.float64)

    @property
    def pool_count(self) -> int:
        """Resources without schedules: they form one pool covering single targets."""
        return sum(r.count for r in self.resources if r.schedules is None)

    @property
    def has_schedules(self) -> bool:
        return any(r.schedules is not None for r in self.resources)

    @property
    def floors(self) -> FloatArray:
        if self.min_coverage is None:
            return np.zeros(self.n_targets)
        return np.asarray(self.min_coverage, dtype=np.float64)

    def target_name(self, index: int) -> str:
        if self.target_ids is None:
            return f"target #{index}"
        return f"target #{index} ({self.target_ids[index]!r})"


def _validate(game: SecurityGame) -> None:  # noqa: PLR0912 - one checklist, in order
    if not game.attacker_types:
        msg = "a security game needs at least one attacker type; add one with prior 1"
        raise InvalidInput(msg)
    n = game.attacker_types[0].payoffs.n_targets
    if n == 0:
        msg = "a security game needs at least one target; the payoff arrays are empty"
        raise InvalidInput(msg)
    if game.target_ids is not None and len(game.target_ids) != n:
        msg = f"target_ids has {len(game.target_ids)} entries but the payoffs have {n} targets"
        raise InvalidInput(msg)
    prior_sum = 0.0
    for k, kind in enumerate(game.attacker_types):
        where = f"attacker type #{k} ({kind.name!r})"
        if not (math.isfinite(kind.prior) and kind.prior > 0.0):
            msg = f"{where}: prior {kind.prior!r} is not a positive number; priors are in (0, 1]"
            raise InvalidInput(msg)
        prior_sum += kind.prior
        _validate_payoffs(game, kind.payoffs, n, where)
    if abs(prior_sum - 1.0) > 1e-9:
        msg = f"attacker type priors sum to {prior_sum!r}, not 1; rescale them so they sum to 1"
        raise InvalidInput(msg)
    if not game.resources:
        msg = "a security game needs at least one resource type (zero resources is allowed)"
        raise InvalidInput(msg)
    for k, res in enumerate(game.resources):
        where = f"resource type #{k} ({res.name!r})"
        if isinstance(res.count, bool) or not isinstance(res.count, int) or res.count < 0:
            msg = f"{where}: count {res.count!r} must be a whole number >= 0"
            raise InvalidInput(msg)
        if res.schedules is None:
            continue
        if not res.schedules:
            msg = f"{where}: schedules is empty; give at least one schedule or None for any target"
            raise InvalidInput(msg)
        for j, sched in enumerate(res.schedules):
            if not sched:
                msg = f"{where}, schedule #{j}: empty; a schedule covers at least one target"
                raise InvalidInput(msg)
            bad = [t for t in sched if isinstance(t, bool) or not 0 <= int(t) < n]
            if bad:
                msg = (
                    f"{where}, schedule #{j}: target index {bad[0]!r} is out of range; "
                    f"indices are 0..{n - 1}"
                )
                raise InvalidInput(msg)
            if len(set(sched)) != len(sched):
                msg = f"{where}, schedule #{j}: lists a target twice; list each target once"
                raise InvalidInput(msg)
        if res.count > len(res.schedules):
            msg = (
                f"{where}: more resources than schedules ({res.count} resources, "
                f"{len(res.schedules)} schedules); each resource takes a distinct schedule, so "
                "add schedules or lower the count"
            )
            raise InvalidInput(msg)
    if game.pool_count > n:
        msg = (
            f"more resources than targets: {game.pool_count} resources without schedules but "
            f"only {n} targets; each covers one distinct target, so lower the count"
        )
        raise InvalidInput(msg)
    if game.min_coverage is not None:
        _validate_floors(game, n)


def _validate_payoffs(game: SecurityGame, pay: Payoffs, n: int, where: str) -> None:
    fields = {
        "defender_covered": pay.defender_covered,
        "defender_uncovered": pay.defender_uncovered,
        "attacker_covered": pay.attacker_covered,
        "attacker_uncovered": pay.attacker_uncovered,
    }
    for name, arr in fields.items():
        if arr.ndim != 1 or arr.shape[0] != n:
            msg = f"{where}: {name} has shape {arr.shape}, expected ({n},) like the other arrays"
            raise InvalidInput(msg)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            t = int(bad[0])
            msg = (
                f"{where}, {game_target(game, t)}: {name} is {float(arr[t])!r}; "
                "payoffs must be finite"
            )
            raise InvalidInput(msg)
    bad = np.flatnonzero(~(pay.defender_covered > pay.defender_uncovered))
    if bad.size:
        t = int(bad[0])
        covered, uncovered = float(pay.defender_covered[t]), float(pay.defender_uncovered[t])
        msg = (
            f"{where}, {game_target(game, t)}: defender_covered ({covered!r}) "
            f"must be greater than defender_uncovered ({uncovered!r}); "
            "covering a target must help the defender"
        )
        raise InvalidInput(msg)
    bad = np.flatnonzero(~(pay.attacker_covered < pay.attacker_uncovered))
    if bad.size:
        t = int(bad[0])
        covered, uncovered = float(pay.attacker_covered[t]), float(pay.attacker_uncovered[t])
        msg = (
            f"{where}, {game_target(game, t)}: attacker_covered ({covered!r}) "
            f"must be less than attacker_uncovered ({uncovered!r}); "
            "an attack on a covered target must pay the attacker less"
        )
        raise InvalidInput(msg)


def _validate_floors(game: SecurityGame, n: int) -> None:
    floors = np.asarray(game.min_coverage, dtype=np.float64)
    if floors.shape != (n,):
        msg = f"min_coverage has shape {floors.shape}, expected ({n},): one value per target"
        raise InvalidInput(msg)
    bad = np.flatnonzero(~((floors >= 0.0) & (floors <= 1.0)))
    if bad.size:
        t = int(bad[0])
        msg = (
            f"{game_target(game, t)}: min_coverage {float(floors[t])!r} is not a probability; "
            "use a value between 0 and 1"
        )
        raise InvalidInput(msg)
    total = sum(r.count for r in game.resources)
    if floors.sum() > total + 1e-9:
        msg = (
            f"infeasible constraints: the minimum coverages sum to {floors.sum():.6g} but there "
            f"are only {total} resources; lower the minimums or add resources"
        )
        raise InvalidInput(msg)
    coverable = np.zeros(n, dtype=bool)
    if game.pool_count > 0:
        coverable[:] = True
    for res in game.resources:
        if res.schedules is not None and res.count > 0:
            for sched in res.schedules:
                coverable[list(sched)] = True
    bad = np.flatnonzero((floors > 0.0) & ~coverable)
    if bad.size:
        t = int(bad[0])
        msg = (
            f"infeasible constraints: {game_target(game, t)} has min_coverage {float(floors[t])!r} "
            "but no resource can cover it; add a schedule that includes it or drop the minimum"
        )
        raise InvalidInput(msg)


def game_target(game: SecurityGame, index: int) -> str:
    return game.target_name(index)
