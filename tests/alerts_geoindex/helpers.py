"""Shared data and brute-force references for the geoindex tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from silkguard.geo.distance import haversine_km_array

FloatArray = npt.NDArray[np.float64]


def pakistan_like(n: int, seed: int) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Seeded positions: three tight towns plus uniform background over Pakistan's box."""
    rng = np.random.default_rng(seed)
    towns = np.array([[24.86, 67.01], [31.55, 74.34], [33.69, 73.05]])
    k = n // 2
    which = rng.integers(0, len(towns), k)
    lat = np.concatenate([towns[which, 0] + rng.normal(0, 0.08, k), rng.uniform(24, 37, n - k)])
    lon = np.concatenate([towns[which, 1] + rng.normal(0, 0.08, k), rng.uniform(61, 77, n - k)])
    ids = rng.permutation(n).astype(np.int64) * 3 + 11
    return ids, lat, lon


def brute_circle(
    ids: npt.NDArray[Any], lat: FloatArray, lon: FloatArray, clat: float, clon: float, r: float
) -> set[Any]:
    return set(ids[haversine_km_array(clat, clon, lat, lon) <= r].tolist())


def brute_polygon(
    ids: npt.NDArray[Any], lat: FloatArray, lon: FloatArray, polygon: shapely.Geometry
) -> set[Any]:
    return set(ids[shapely.covers(polygon, shapely.points(lon, lat))].tolist())


def as_set(values: npt.NDArray[Any]) -> set[Any]:
    found = values.tolist()
    assert len(found) == len(set(found)), "an id came back twice"
    return set(found)
