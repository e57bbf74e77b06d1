"""Coordinate validation at the boundary: what passes, and what the refusals say."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.geo.validate import parse_coordinate, validate_lat_lon

latitudes = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)
longitudes = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)


@given(latitudes, longitudes)
def test_valid_coordinates_round_trip(lat: float, lon: float) -> None:
    assert validate_lat_lon(lat, lon) == (lat, lon)


def test_integers_come_back_as_floats() -> None:
    lat, lon = validate_lat_lon(25, 67)
    assert (lat, lon) == (25.0, 67.0)
    assert isinstance(lat, float)
    assert isinstance(lon, float)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_latitude_is_refused(bad: float) -> None:
    with pytest.raises(InvalidInput, match="latitude") as err:
        validate_lat_lon(bad, 67.0)
    assert "finite" in err.value.msg
    assert "-90 to 90" in err.value.msg


def test_non_finite_longitude_names_the_field_with_prefix() -> None:
    with pytest.raises(InvalidInput, match="site_longitude") as err:
        validate_lat_lon(24.86, math.nan, field_prefix="site_")
    assert "-180 to 180" in err.value.msg


def test_latitude_out_of_range_suggests_a_swap() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_lat_lon(67.01 + 60.0, 24.86)
    msg = err.value.msg
    assert "latitude 127.01" in msg
    assert "-90 to 90" in msg
    assert "latitude and longitude swapped?" in msg


def test_latitude_beyond_any_longitude_gets_no_swap_hint() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_lat_lon(250.0, 24.86)
    assert "swapped" not in err.value.msg


def test_longitude_out_of_range() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_lat_lon(24.86, 267.0)
    assert "longitude 267.0" in err.value.msg
    assert "-180 to 180" in err.value.msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24.86", 24.86), (" 24.86 ", 24.86), ("-3", -3.0), ("", None), ("   ", None)],
)
def test_parse_coordinate(text: str, expected: float | None) -> None:
    assert parse_coordinate(text, field="latitude") == expected


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "24,86", "24.86N"])
def test_parse_coordinate_refuses_non_numbers(text: str) -> None:
    with pytest.raises(InvalidInput, match="incident_latitude") as err:
        parse_coordinate(text, field="incident_latitude")
    assert "24.86" in err.value.msg
    assert "empty" in err.value.msg


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_coordinate_reads_what_repr_writes(value: float) -> None:
    assert parse_coordinate(repr(value), field="longitude") == value
