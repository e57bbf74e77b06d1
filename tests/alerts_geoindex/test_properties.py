"""Hypothesis: for any small point set and circle, the index equals brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.alerts.geoindex import LatestPositionIndex
from tests.alerts_geoindex.helpers import as_set, brute_circle

lats = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)
lons = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
points = st.lists(st.tuples(lats, lons), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    points,
    st.tuples(lats, lons),
    st.floats(min_value=0.0, max_value=21_000.0, allow_nan=False),
    st.sampled_from([0.5, 5.0, 200.0]),
)
def test_circle_equals_brute_force_anywhere(pts, centre, radius_km, cell_km) -> None:
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    ids = np.arange(lat.size)
    index = LatestPositionIndex(ids, lat, lon, cell_km=cell_km)
    assert as_set(index.within_circle(*centre, radius_km)) == brute_circle(
        ids, lat, lon, centre[0], centre[1], radius_km
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(28.0, 32.0), st.floats(68.0, 72.0)), min_size=5, max_size=40),
    st.tuples(st.floats(29.0, 31.0), st.floats(69.0, 71.0)),
    st.floats(min_value=0.0, max_value=300.0),
    st.data(),
)
def test_circle_after_moves_equals_brute_force(pts, centre, radius_km, data) -> None:
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    ids = np.arange(lat.size)
    index = LatestPositionIndex(ids, lat, lon, cell_km=3.0, compact_fraction=0.5)
    movers = data.draw(st.lists(st.integers(0, lat.size - 1), unique=True, max_size=lat.size))
    for m in movers:
        lat[m] = data.draw(st.floats(27.0, 33.0))
        lon[m] = data.draw(st.floats(67.0, 73.0))
    index.update(ids[movers], lat[movers], lon[movers])
    assert as_set(index.within_circle(*centre, radius_km)) == brute_circle(
        ids, lat, lon, centre[0], centre[1], radius_km
    )
