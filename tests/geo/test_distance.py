"""Haversine distances: metric properties and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.geo.distance import EARTH_RADIUS_KM, haversine_km, haversine_km_array

points = st.tuples(
    st.floats(min_value=-90.0, max_value=90.0, allow_nan=False),
    st.floats(min_value=-180.0, max_value=180.0, allow_nan=False),
)
TOLERANCE_KM = 1e-6


@given(points)
def test_distance_to_itself_is_zero(p: tuple[float, float]) -> None:
    assert haversine_km(*p, *p) == pytest.approx(0.0, abs=TOLERANCE_KM)


@given(points, points)
def test_symmetric(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert haversine_km(*a, *b) == pytest.approx(haversine_km(*b, *a), abs=TOLERANCE_KM)


@given(points, points, points)
def test_triangle_inequality(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> None:
    assert haversine_km(*a, *c) <= haversine_km(*a, *b) + haversine_km(*b, *c) + TOLERANCE_KM


@given(points, points)
def test_never_more_than_half_the_circumference(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert 0.0 <= haversine_km(*a, *b) <= math.pi * EARTH_RADIUS_KM + TOLERANCE_KM


def test_one_degree_of_latitude() -> None:
    assert haversine_km(24.0, 67.0, 25.0, 67.0) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)


def test_antipodes() -> None:
    assert haversine_km(24.86, 67.01, -24.86, 67.01 - 180.0) == pytest.approx(
        math.pi * EARTH_RADIUS_KM
    )


@given(points, st.lists(points, min_size=1, max_size=20))
def test_array_matches_scalar(
    origin: tuple[float, float], others: list[tuple[float, float]]
) -> None:
    lats = np.array([p[0] for p in others])
    lons = np.array([p[1] for p in others])
    got = haversine_km_array(*origin, lats, lons)
    assert got.dtype == np.float64
    assert got.shape == (len(others),)
    expected = [haversine_km(*origin, *p) for p in others]
    np.testing.assert_allclose(got, expected, atol=TOLERANCE_KM)
