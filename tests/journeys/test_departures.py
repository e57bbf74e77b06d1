"""Departure comparison: night seconds are counted exactly across midnight and days, and the
best departure keeps the trip in daylight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from silkguard.core.errors import InvalidInput
from silkguard.journeys.departures import compare_departures, night_seconds

PKT = timezone(timedelta(hours=5))


def test_night_seconds_across_midnight_and_days() -> None:
    d = datetime(2026, 12, 3, 17, 0, tzinfo=PKT)
    assert night_seconds(d, d + timedelta(hours=1)) == 0
    assert night_seconds(d, d + timedelta(hours=2)) == 3600
    # 17:00 -> 08:00 next day: 18:00-06:00 is 12 h of night
    assert night_seconds(d, d + timedelta(hours=15)) == 12 * 3600
    # two whole days: two nights of 12 h
    assert night_seconds(d, d + timedelta(days=2)) == 24 * 3600
    # the same instant written in UTC counts the same
    utc = d.astimezone(UTC)
    assert night_seconds(utc, utc + timedelta(hours=2)) == 3600


def test_the_best_departure_keeps_an_eight_hour_trip_in_daylight() -> None:
    options = compare_departures(
        trip_s=8 * 3600,
        exposure=10.0,
        earliest=datetime(2026, 12, 3, 4, 0, tzinfo=PKT),
        latest=datetime(2026, 12, 3, 14, 0, tzinfo=PKT),
    )
    assert len(options) == 11
    best = options[0]
    assert best.night_s == 0
    assert best.depart.hour == 6  # the first departure that arrives by 18:00 is 06:00..10:00
    assert options[-1].night_s > 0
    assert [o.score for o in options] == sorted(o.score for o in options)


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"earliest": datetime(2026, 12, 3, 8), "latest": datetime(2026, 12, 3, 9)}, "zone"),  # noqa: DTZ001
        (
            {
                "earliest": datetime(2026, 12, 3, 9, tzinfo=PKT),
                "latest": datetime(2026, 12, 3, 8, tzinfo=PKT),
            },
            "before",
        ),
        (
            {
                "earliest": datetime(2026, 12, 3, 9, tzinfo=PKT),
                "latest": datetime(2026, 12, 30, 8, tzinfo=PKT),
                "every": timedelta(minutes=5),
            },
            "at most",
        ),
    ],
)
def test_bad_windows_are_refused(kw: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        compare_departures(trip_s=3600, exposure=1.0, **kw)  # type: ignore[arg-type]
