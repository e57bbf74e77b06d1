"""One validation policy for coordinates at the boundary: decimal degrees, WGS 84."""

from __future__ import annotations

import math

from silkguard.core.errors import InvalidInput

__all__ = ["MAX_LATITUDE_DEG", "MAX_LONGITUDE_DEG", "parse_coordinate", "validate_lat_lon"]

MAX_LATITUDE_DEG = 90.0
MAX_LONGITUDE_DEG = 180.0


def validate_lat_lon(lat: float, lon: float, *, field_prefix: str = "") -> tuple[float, float]:
    """Check a latitude/longitude pair and return it as floats.

    Parameters
    ----------
    lat, lon
        Decimal degrees.
    field_prefix
        Prepended to ``latitude`` / ``longitude`` in messages, e.g. ``"site_"``.

    Raises
    ------
    InvalidInput
        For NaN, infinity, ``|lat| > 90`` or ``|lon| > 180``; the message names the field,
        the value, the accepted range and, where it fits, a likely swap of the two.
    """
    lat_field = f"{field_prefix}latitude"
    lon_field = f"{field_prefix}longitude"
    lat_f = _finite(lat, lat_field, MAX_LATITUDE_DEG)
    lon_f = _finite(lon, lon_field, MAX_LONGITUDE_DEG)
    if abs(lat_f) > MAX_LATITUDE_DEG:
        msg = (
            f"{lat_field} {lat_f!r} is outside the accepted range -90 to 90 degrees; "
            "give decimal degrees, positive north of the equator (Pakistan is 23 to 37)"
        )
        if abs(lat_f) <= MAX_LONGITUDE_DEG:
            msg += (
                f". Are latitude and longitude swapped? {lat_f!r} would be a valid longitude"
                f"; try {lat_field}={lon_f!r}, {lon_field}={lat_f!r}"
            )
        raise InvalidInput(msg)
    if abs(lon_f) > MAX_LONGITUDE_DEG:
        msg = (
            f"{lon_field} {lon_f!r} is outside the accepted range -180 to 180 degrees; "
            "give decimal degrees east of Greenwich as positive numbers (Pakistan is 60 to 78)"
        )
        raise InvalidInput(msg)
    return lat_f, lon_f


def parse_coordinate(text: str, *, field: str) -> float | None:
    """Parse one coordinate typed as text: empty means unknown (``None``).

    Raises
    ------
    InvalidInput
        When the text is not a finite decimal number.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value = float(stripped)
    except ValueError:
        msg = (
            f"{field} {text!r} is not a number; give decimal degrees such as 24.86, "
            "or leave it empty when unknown"
        )
        raise InvalidInput(msg) from None
    if not math.isfinite(value):
        msg = (
            f"{field} {text!r} is not a finite number; give decimal degrees such as 24.86, "
            "or leave it empty when unknown"
        )
        raise InvalidInput(msg)
    return value


def _finite(value: float, field: str, limit: float) -> float:
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        msg = f"{field} {value!r} is not a number; give decimal degrees, {-limit:g} to {limit:g}"
        raise InvalidInput(msg) from None
    if not math.isfinite(as_float):
        msg = (
            f"{field} {value!r} is not a finite number; give decimal degrees from "
            f"{-limit:g} to {limit:g}, or leave the coordinates empty so the place is geocoded"
        )
        raise InvalidInput(msg)
    return as_float
