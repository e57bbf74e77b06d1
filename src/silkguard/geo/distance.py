"""Great-circle distances on a spherical Earth (haversine), scalar and vectorised."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "haversine_km_array"]

#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in decimal degrees."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = math.radians(lon2 - lon1) / 2.0
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    # rounding can push a a hair above 1 for antipodal points
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def haversine_km_array(
    lat1: float,
    lon1: float,
    lats2: npt.ArrayLike,
    lons2: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Distances in kilometres from one point to many.

    Parameters
    ----------
    lat1, lon1
        The origin, decimal degrees.
    lats2, lons2
        Arrays of the same shape, decimal degrees.

    Returns
    -------
    numpy.ndarray
        float64 distances with the shape of ``lats2``.
    """
    phi1 = math.radians(lat1)
    phi2 = np.radians(np.asarray(lats2, dtype=np.float64))
    lambda2 = np.radians(np.asarray(lons2, dtype=np.float64))
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = (lambda2 - math.radians(lon1)) / 2.0
    a = np.sin(half_dphi) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    result: npt.NDArray[np.float64] = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
    return result
