"""Predictability of movements: entropy per pair, in Pakistan time, with advice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.journeys.patterns import Trip, normalised_entropy, patterns

FRIDAY_0230_UTC = datetime(2030, 2, 1, 2, 30, tzinfo=UTC)  # 07:30 in Pakistan, a Friday


def _trip(depart: datetime, route: str = "N-10", o: str = "Karachi", d: str = "Gwadar") -> Trip:
    return Trip(origin=o, destination=d, departure=depart, route=route)


def test_entropy_is_zero_for_one_value_and_one_for_an_even_spread() -> None:
    assert normalised_entropy(["a"] * 5, 24) == 0.0
    assert normalised_entropy(["a"], 24) == 0.0
    assert normalised_entropy([], 24) == 0.0
    assert normalised_entropy(range(24), 24) == pytest.approx(1.0)
    # 3 movements can at best use 3 of the 24 hours
    assert normalised_entropy([1, 5, 9], 24) == pytest.approx(1.0)
    assert 0 < normalised_entropy([1, 1, 9], 24) < 1


@given(st.lists(st.integers(0, 30), min_size=1, max_size=60), st.integers(1, 40))
def test_entropy_stays_between_zero_and_one(values: list[int], bins: int) -> None:
    assert 0.0 <= normalised_entropy(values, bins) <= 1.0


def test_the_same_hour_day_and_road_every_week_is_fully_predictable() -> None:
    trips = [_trip(FRIDAY_0230_UTC + timedelta(weeks=w)) for w in range(5)]
    (p,) = patterns(trips)
    assert (p.origin, p.destination, p.movements, p.routes) == ("Karachi", "Gwadar", 5, 1)
    assert p.predictability == 1.0
    advice = {a.code: a for a in p.advice}
    assert set(advice) == {"same_hour", "same_weekday", "same_route"}
    assert advice["same_hour"].value == 7  # Pakistan time, not UTC
    assert advice["same_weekday"].value == 4  # Friday
    assert advice["same_hour"].share == 1.0
    assert "07:00 and 08:00 PKT" in advice["same_hour"].text


def test_spread_movements_are_hard_to_predict_and_get_no_advice() -> None:
    trips = [
        _trip(FRIDAY_0230_UTC + timedelta(days=d, hours=h), route=r)
        for d, h, r in (
            (0, 0, "N-10"),
            (2, 3, "M-8"),
            (4, 6, "N-25"),
            (8, 1, "N-10"),
            (13, 5, "M-8"),
        )
    ]
    (p,) = patterns(trips)
    assert p.predictability < 0.2
    assert p.routes == 3
    assert p.advice == []


def test_pairs_are_directed_and_rare_pairs_say_nothing() -> None:
    trips = [
        *(_trip(FRIDAY_0230_UTC + timedelta(weeks=w)) for w in range(3)),
        *(
            _trip(FRIDAY_0230_UTC + timedelta(hours=5 * w), o="Gwadar", d="Karachi")
            for w in range(4)
        ),
        *(_trip(FRIDAY_0230_UTC, o="Quetta", d="Gwadar") for _ in range(2)),
    ]
    found = patterns(trips)
    assert [(p.origin, p.destination) for p in found] == [
        ("Karachi", "Gwadar"),
        ("Gwadar", "Karachi"),
    ]
    assert found[0].predictability > found[1].predictability
    assert patterns(trips, min_movements=2)[-1].origin in {"Quetta", "Gwadar"}
