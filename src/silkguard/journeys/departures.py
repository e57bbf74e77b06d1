"""Comparing departure times for one route: the forecast is a daily average, so what changes
with the hour of departure is how much of the trip falls in the dark. Each option's score is
the route's exposure weighted up by the share of the trip driven at night:

    score = exposure * (1 + night_factor * night_seconds / trip_seconds)

(``night_factor`` 1 by default: a trip entirely at night counts double). The night window is
the movement policy's (18:00-06:00 Pakistan time by default).

Given the route's edges (``edge_time_s`` and ``edge_exposure``, in driving order) the score is
the route priced as :func:`silkguard.journeys.routes.plan_route` prices it with a departure:
each edge's exposure weighted by its own share of night driving,

    score = sum over edges of exposure_e * (1 + night_factor * night_share_e)

so a departure that puts the risky stretch in daylight beats one that puts a quiet stretch
there; with a uniform exposure per hour both scores agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.journeys.night import NightWindow, Schedule
from silkguard.journeys.policy import LOCAL_TZ

__all__ = [
    "MAX_OPTIONS",
    "DepartureOption",
    "compare_departures",
    "departure_times",
    "night_seconds",
]

MAX_OPTIONS = 200


@dataclass(frozen=True)
class DepartureOption:
    depart: datetime
    arrive: datetime
    night_s: float
    exposure: float
    score: float


def night_seconds(
    start: datetime,
    end: datetime,
    *,
    night_start: time = time(18, 0),
    night_end: time = time(6, 0),
    tz: tzinfo = LOCAL_TZ,
) -> float:
    """Seconds of ``[start, end)`` inside the daily night window (local time)."""
    if end <= start:
        return 0.0
    total = 0.0
    local_start = start.astimezone(tz)
    day = local_start.date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        a = datetime.combine(day, night_start, tz)
        b_day = day + timedelta(days=1) if night_end <= night_start else day
        b = datetime.combine(b_day, night_end, tz)
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def departure_times(
    earliest: datetime, latest: datetime, every: timedelta = timedelta(hours=1)
) -> list[datetime]:
    """The departures of a window: from ``earliest`` every ``every`` up to ``latest``."""
    if earliest.tzinfo is None or latest.tzinfo is None:
        msg = "departure times need a zone, e.g. 2026-12-03T08:00:00+05:00"
        raise InvalidInput(msg)
    if latest < earliest:
        msg = f"the departure window ends ({latest.isoformat()}) before it starts"
        raise InvalidInput(msg)
    if every <= timedelta(0):
        msg = "the step between departures must be positive"
        raise InvalidInput(msg)
    n = int((latest - earliest) / every) + 1
    if n > MAX_OPTIONS:
        msg = f"{n} departures to compare; at most {MAX_OPTIONS} (use a longer step)"
        raise InvalidInput(msg)
    return [earliest + k * every for k in range(n)]


def compare_departures(
    *,
    trip_s: float,
    exposure: float,
    earliest: datetime,
    latest: datetime,
    every: timedelta = timedelta(hours=1),
    night_factor: float = 1.0,
    night_start: time = time(18, 0),
    night_end: time = time(6, 0),
    edge_time_s: Sequence[float] | None = None,
    edge_exposure: Sequence[float] | None = None,
) -> list[DepartureOption]:
    """Departures from ``earliest`` to ``latest`` every ``every``, best (lowest score) first;
    ties go to the earlier departure. With ``edge_time_s`` and ``edge_exposure`` (the route's
    edges in driving order, plain exposure) each edge is weighted by its own night share."""
    per_edge = edge_time_s is not None or edge_exposure is not None
    if per_edge:
        if edge_time_s is None or edge_exposure is None or len(edge_time_s) != len(edge_exposure):
            msg = "edge_time_s and edge_exposure must be given together, one value per edge"
            raise InvalidInput(msg)
        times = np.asarray(edge_time_s, dtype=np.float64)
        risks = np.asarray(edge_exposure, dtype=np.float64)
        window = NightWindow(start=night_start, end=night_end, factor=night_factor)
    options = []
    for depart in departure_times(earliest, latest, every):
        arrive = depart + timedelta(seconds=trip_s)
        night = night_seconds(depart, arrive, night_start=night_start, night_end=night_end)
        share = night / trip_s if trip_s > 0 else 0.0
        if per_edge and exposure > 0:
            weights = Schedule.of(depart, times, window).weights
            score = float((risks * weights).sum())
        else:
            score = exposure * (1.0 + night_factor * share) if exposure > 0 else share
        options.append(
            DepartureOption(
                depart=depart, arrive=arrive, night_s=night, exposure=exposure, score=score
            )
        )
    return sorted(options, key=lambda o: (o.score, o.depart))
