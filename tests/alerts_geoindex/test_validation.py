"""Bad input is rejected with InvalidInput naming the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.core.errors import InvalidInput


@pytest.fixture
def index() -> LatestPositionIndex:
    return LatestPositionIndex([1, 2, 3], [30.0, 31.0, 32.0], [70.0, 71.0, 72.0])


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "field"),
    [
        (91.0, 70.0, 1.0, "lat"),
        (-90.5, 70.0, 1.0, "lat"),
        (math.nan, 70.0, 1.0, "lat"),
        (30.0, 180.5, 1.0, "lon"),
        (30.0, math.inf, 1.0, "lon"),
        (30.0, 70.0, -0.1, "radius_km"),
        (30.0, 70.0, math.nan, "radius_km"),
        (30.0, 70.0, math.inf, "radius_km"),
        ("north", 70.0, 1.0, "lat"),
        (30.0, 70.0, "far", "radius_km"),
    ],
)
def test_bad_circle_arguments(index, lat, lon, radius, field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field}\b"):
        index.within_circle(lat, lon, radius)


@pytest.mark.parametrize(
    ("lats", "lons", "field"),
    [
        ([30.0, 95.0], [70.0, 70.0], r"lats\[1\]"),
        ([30.0, math.nan], [70.0, 70.0], r"lats\[1\]"),
        ([30.0, 30.0], [-181.0, 70.0], r"lons\[0\]"),
        ([30.0, 30.0], [70.0, math.nan], r"lons\[1\]"),
        ([30.0], [70.0, 70.0], "same length"),
    ],
)
def test_bad_positions(index, lats, lons, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        index.update([8, 9], lats, lons)
    with pytest.raises(InvalidInput, match=field):
        LatestPositionIndex([8, 9], lats, lons)
    assert len(index) == 3  # nothing changed


def test_bad_settings() -> None:
    with pytest.raises(InvalidInput, match="cell_km"):
        LatestPositionIndex(cell_km=0.0)
    with pytest.raises(InvalidInput, match="compact_fraction"):
        LatestPositionIndex(compact_fraction=0.0)


def test_extreme_but_valid_coordinates_are_accepted() -> None:
    lat = np.array([90.0, -90.0, 0.0, 0.0])
    lon = np.array([0.0, 0.0, 180.0, -180.0])
    index = LatestPositionIndex([1, 2, 3, 4], lat, lon)
    # the haversine formula puts the pole seen from another longitude ~1e-12 km away
    assert set(index.within_circle(90.0, 123.0, 1e-6).tolist()) == {1}
    assert set(index.within_circle(0.0, 180.0, 1e-6).tolist()) == {3, 4}
    assert set(index.within_circle(0.0, -180.0, 0.0).tolist()) == {4}
