"""Alert areas: a circle (centre and radius in km) or a GeoJSON (Multi)Polygon, with exact
membership tests for many points and a test for a route passing through."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import haversine_km_array

__all__ = ["MAX_RADIUS_KM", "Area", "parse_area"]

MAX_RADIUS_KM = 500.0
_KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True)
class Area:
    """A validated alert area. ``doc`` is its stored form."""

    doc: dict[str, Any]
    geometry: BaseGeometry  # for circles, a polygon approximation used for routes and bboxes
    center: tuple[float, float]  # (lat, lon)
    radius_km: float | None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon), widened to include the whole circle."""
        if self.radius_km is None:
            min_lon, min_lat, max_lon, max_lat = self.geometry.bounds
            return min_lat, min_lon, max_lat, max_lon
        lat, lon = self.center
        dlat = self.radius_km / _KM_PER_DEG_LAT * 1.01
        coslat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        dlon = min(self.radius_km / (_KM_PER_DEG_LAT * coslat) * 1.01, 180.0)
        return lat - dlat, lon - dlon, lat + dlat, lon + dlon

    def contains(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which points lie inside the area (boundary included)."""
        la = np.asarray(lats, dtype=np.float64)
        lo = np.asarray(lons, dtype=np.float64)
        if la.size == 0:
            return np.zeros(0, dtype=bool)
        if self.radius_km is not None:
            d = haversine_km_array(self.center[0], self.center[1], la, lo)
            return np.asarray(d <= self.radius_km)
        return np.asarray(shapely.intersects_xy(self.geometry, lo, la))

    def crosses(self, coordinates: list[list[float]]) -> bool:
        """Whether a route (``[[lon, lat], ...]``) passes through the area."""
        if not coordinates:
            return False
        pts = np.asarray(coordinates, dtype=np.float64)
        if bool(self.contains(pts[:, 1], pts[:, 0]).any()):
            return True
        if len(coordinates) < 2:
            return False
        return bool(self.geometry.intersects(LineString(coordinates)))


def _circle(doc: dict[str, Any]) -> Area:
    center = doc.get("center")
    radius = doc.get("radius_km")
    if (
        not isinstance(center, list | tuple)
        or len(center) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in center)
    ):
        msg = (
            "area.center must be [lon, lat] in degrees, e.g. "
            '{"type": "Circle", "center": [73.2, 35.3], "radius_km": 5}'
        )
        raise InvalidInput(msg)
    lon, lat = float(center[0]), float(center[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"area.center [{lon}, {lat}] is not [lon, lat] in degrees"
        raise InvalidInput(msg)
    if (
        isinstance(radius, bool)
        or not isinstance(radius, int | float)
        or not 0 < radius <= MAX_RADIUS_KM
    ):
        msg = (
            f"area.radius_km must be a number above 0 and at most {MAX_RADIUS_KM:.0f}, "
            f"got {radius!r}"
        )
        raise InvalidInput(msg)
    r = float(radius)
    # a 64-sided polygon in degrees, slightly larger than the circle, for routes and bboxes
    angles = np.linspace(0, 2 * np.pi, 65)
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    ring = [
        (
            lon + (r * 1.01) * math.sin(a) / (_KM_PER_DEG_LAT * coslat),
            lat + (r * 1.01) * math.cos(a) / _KM_PER_DEG_LAT,
        )
        for a in angles
    ]
    return Area(
        doc={"type": "Circle", "center": [lon, lat], "radius_km": r},
        geometry=Polygon(ring),
        center=(lat, lon),
        radius_km=r,
    )


def parse_area(doc: Any) -> Area:
    """Validate an area document; errors name the field and show the accepted forms."""
    if not isinstance(doc, dict):
        msg = "area must be an object: a Circle or a GeoJSON Polygon / MultiPolygon"
        raise InvalidInput(msg)
    kind = doc.get("type")
    if kind == "Circle":
        return _circle(doc)
    if kind not in ("Polygon", "MultiPolygon"):
        msg = f"area.type {kind!r} is not accepted; use Circle, Polygon or MultiPolygon"
        raise InvalidInput(msg)
    try:
        geom = shape(doc)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        msg = f"area is not valid GeoJSON {kind}: {exc}"
        raise InvalidInput(msg) from None
    if not isinstance(geom, Polygon | MultiPolygon) or geom.is_empty:
        msg = f"area is an empty {kind}"
        raise InvalidInput(msg)
    if not geom.is_valid:
        msg = f"area {kind} is not valid ({shapely.is_valid_reason(geom)}); fix the ring"
        raise InvalidInput(msg)
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (min_lat >= -90 and max_lat <= 90 and min_lon >= -180 and max_lon <= 180):
        msg = "area coordinates must be [lon, lat] in degrees"
        raise InvalidInput(msg)
    c = geom.representative_point()
    return Area(doc=dict(doc), geometry=geom, center=(c.y, c.x), radius_km=None)
