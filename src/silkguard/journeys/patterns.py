"""How predictable an organisation's movements have been, per origin-destination pair.

Attackers on the corridor watched their targets' movements before striking (the Dasu bus in
2021, the Besham convoy in 2024): a convoy that leaves at the same hour, on the same day and by
the same road is easy to wait for. For every pair travelled at least :data:`MIN_MOVEMENTS`
times this module measures the spread of

* the departure hour (Pakistan time, 24 one-hour bins),
* the day of the week (7 bins),
* the road taken (distinct routes; at most :data:`ROUTE_CHOICES` are usually on offer),

each as Shannon entropy divided by the largest entropy the number of movements allows
(``log(min(n, bins))``), so 0 is "always the same" and 1 is "as spread as it can be". The
predictability is one minus their weighted mean (weights :data:`WEIGHTS`), from 0 (nothing to
learn) to 1 (fully predictable), and each pattern found comes with what to change.

Pure code: no database; :func:`silkguard.journeys.service.movement_patterns` feeds it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "MIN_MOVEMENTS",
    "ROUTE_CHOICES",
    "WEIGHTS",
    "Advice",
    "PairPattern",
    "Trip",
    "normalised_entropy",
    "patterns",
]

_T = TypeVar("_T", bound=Hashable)
PKT = ZoneInfo("Asia/Karachi")
#: Fewer movements than this on a pair say nothing about a pattern.
MIN_MOVEMENTS = 3
#: Diverse routes usually proposed for a pair (the route options default).
ROUTE_CHOICES = 3
#: Weights of the hour, weekday and route spreads in the predictability.
WEIGHTS = {"hour": 0.5, "weekday": 0.2, "route": 0.3}
#: A share of movements at one hour / on one weekday / by one road from which it is a pattern.
PATTERN_SHARE = 0.5
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Trip:
    """One movement as far as patterns go."""

    origin: str
    destination: str
    departure: datetime  # aware
    route: Hashable  # equal for the same road


@dataclass(frozen=True)
class Advice:
    """A pattern found and what to do about it; ``code`` is ``same_hour``, ``same_weekday`` or
    ``same_route`` (``value`` the hour 0-23, the weekday 0-6 Monday first, or ``None``)."""

    code: str
    share: float
    value: int | None
    text: str


@dataclass(frozen=True)
class PairPattern:
    origin: str
    destination: str
    movements: int
    hour_spread: float
    weekday_spread: float
    route_spread: float
    routes: int
    predictability: float
    advice: list[Advice] = field(default_factory=list)


def normalised_entropy(values: Iterable[Hashable], bins: int) -> float:
    """Shannon entropy of ``values`` over the largest possible for their number in ``bins``
    bins: 0 when all are equal (or there is one), 1 when spread as evenly as possible."""
    counts = Counter(values)
    n = sum(counts.values())
    most = math.log(min(n, bins)) if n and bins > 0 else 0.0
    if most <= 0:
        return 0.0
    h = -sum(c / n * math.log(c / n) for c in counts.values())
    return min(1.0, max(0.0, h / most))


def _top(values: Sequence[_T]) -> tuple[_T, float]:
    value, count = Counter(values).most_common(1)[0]
    return value, count / len(values)


def _advice(hours: list[int], days: list[int], routes: list[Hashable]) -> list[Advice]:
    out = []
    hour, share = _top(hours)
    if share >= PATTERN_SHARE:
        out.append(
            Advice(
                "same_hour",
                share,
                hour,
                f"{share:.0%} left between {hour:02d}:00 and {(hour + 1) % 24:02d}:00 "
                "PKT: give movements a departure window and draw the departure at random in it",
            )
        )
    day, share = _top(days)
    if share >= PATTERN_SHARE:
        out.append(
            Advice(
                "same_weekday",
                share,
                day,
                f"{share:.0%} on a {WEEKDAYS[day]}: spread them over the week",
            )
        )
    _road, share = _top(routes)
    if share >= PATTERN_SHARE and len(routes) >= MIN_MOVEMENTS:
        out.append(
            Advice(
                "same_route",
                share,
                None,
                f"{share:.0%} by the same road: compare route options and vary the road where "
                "the policy allows (where there is one road, vary times and escorts instead)",
            )
        )
    return out


def patterns(trips: Iterable[Trip], *, min_movements: int = MIN_MOVEMENTS) -> list[PairPattern]:
    """The pattern of every pair travelled at least ``min_movements`` times, most predictable
    first. Direction counts: Gwadar -> Karachi and Karachi -> Gwadar are two pairs."""
    pairs: dict[tuple[str, str], list[Trip]] = {}
    for t in trips:
        pairs.setdefault((t.origin, t.destination), []).append(t)
    out = []
    for (origin, destination), group in pairs.items():
        if len(group) < min_movements:
            continue
        local = [t.departure.astimezone(PKT) for t in group]
        hours = [d.hour for d in local]
        days = [d.weekday() for d in local]
        routes = [t.route for t in group]
        spread = {
            "hour": normalised_entropy(hours, 24),
            "weekday": normalised_entropy(days, 7),
            "route": normalised_entropy(routes, ROUTE_CHOICES),
        }
        score = 1.0 - sum(WEIGHTS[k] * v for k, v in spread.items()) / sum(WEIGHTS.values())
        out.append(
            PairPattern(
                origin=origin,
                destination=destination,
                movements=len(group),
                hour_spread=round(spread["hour"], 3),
                weekday_spread=round(spread["weekday"], 3),
                route_spread=round(spread["route"], 3),
                routes=len(set(routes)),
                predictability=round(score, 3),
                advice=_advice(hours, days, routes),
            )
        )
    return sorted(out, key=lambda p: (-p.predictability, -p.movements, p.origin, p.destination))
