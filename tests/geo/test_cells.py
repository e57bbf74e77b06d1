"""H3 cells: ids as signed-64-bit-safe ints, parent relations, the vectorised form."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.geo.cells import H3_RESOLUTIONS, cell_int_to_str, cells_for, cells_for_arrays

latitudes = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
longitudes = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)
INT64_MAX = 2**63 - 1


def test_resolutions() -> None:
    assert H3_RESOLUTIONS == (4, 6, 8)


def test_karachi_cells() -> None:
    cells = cells_for(24.86, 67.01)
    assert set(cells) == {4, 6, 8}
    for res, cell in cells.items():
        assert isinstance(cell, int)
        assert h3.get_resolution(cell_int_to_str(cell)) == res
        assert h3.cell_to_latlng(cell_int_to_str(cell))[0] == pytest.approx(24.86, abs=0.5)


@given(latitudes, longitudes)
def test_cells_nest_and_fit_signed_64_bits(lat: float, lon: float) -> None:
    cells = cells_for(lat, lon)
    assert all(0 < cell <= INT64_MAX for cell in cells.values())
    assert h3.cell_to_parent(cell_int_to_str(cells[6]), 4) == cell_int_to_str(cells[4])
    assert h3.cell_to_parent(cell_int_to_str(cells[8]), 6) == cell_int_to_str(cells[6])


@given(latitudes, longitudes)
def test_int_and_str_forms_round_trip(lat: float, lon: float) -> None:
    cell = cells_for(lat, lon)[8]
    assert h3.str_to_int(cell_int_to_str(cell)) == cell


@given(st.lists(st.tuples(latitudes, longitudes), max_size=30), st.sampled_from(H3_RESOLUTIONS))
def test_arrays_match_scalars(points: list[tuple[float, float]], res: int) -> None:
    lats = np.array([p[0] for p in points], dtype=np.float64)
    lons = np.array([p[1] for p in points], dtype=np.float64)
    got = cells_for_arrays(lats, lons, res)
    assert got.dtype == np.int64
    assert got.tolist() == [cells_for(*p)[res] for p in points]


def test_arrays_keep_their_shape() -> None:
    lats = np.array([[24.86, 30.18], [34.01, 25.12]])
    lons = np.array([[67.01, 66.99], [71.58, 62.33]])
    got = cells_for_arrays(lats, lons, 6)
    assert got.shape == (2, 2)
    assert got[1, 0] == cells_for(34.01, 71.58)[6]


def test_out_of_range_coordinates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="latitude"):
        cells_for(100.0, 67.0)
    with pytest.raises(InvalidInput, match="longitude"):
        cells_for_arrays(np.array([24.0, 25.0]), np.array([67.0, np.nan]), 6)


def test_array_misuse_is_refused() -> None:
    with pytest.raises(InvalidInput, match="shape"):
        cells_for_arrays(np.array([24.0, 25.0]), np.array([67.0]), 6)
    with pytest.raises(InvalidInput, match="resolution 16"):
        cells_for_arrays(np.array([24.0]), np.array([67.0]), 16)
