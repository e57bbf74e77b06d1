"""H3 cells at the resolutions silkguard indexes incidents and sites by.

Cell ids are handed out as Python ints; H3 ids are below ``2**63`` so they also fit a signed
64-bit database column. The coarser cells are the ancestors of the finest one, so the three
always nest: H3 children do not tile their parent exactly, and the coarse cell that contains a
point near an edge is sometimes a neighbour of its fine cell's parent.
"""

from __future__ import annotations

import h3
import h3.api.basic_int as h3_int
import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput
from silkguard.geo.validate import MAX_LATITUDE_DEG, MAX_LONGITUDE_DEG, validate_lat_lon

__all__ = ["H3_RESOLUTIONS", "cell_int_to_str", "cells_for", "cells_for_arrays"]

#: About 1,770 km2, 36 km2 and 0.7 km2 per cell: region, district-scale, neighbourhood.
H3_RESOLUTIONS = (4, 6, 8)
_MAX_RESOLUTION = 15
_FINEST = max(H3_RESOLUTIONS)


def cells_for(lat: float, lon: float) -> dict[int, int]:
    """The H3 cell id at each of :data:`H3_RESOLUTIONS`, keyed by resolution."""
    lat, lon = validate_lat_lon(lat, lon)
    finest = h3.latlng_to_cell(lat, lon, _FINEST)
    return {res: int(h3.str_to_int(h3.cell_to_parent(finest, res))) for res in H3_RESOLUTIONS}


def cell_int_to_str(cell: int) -> str:
    """The hexadecimal form of an integer H3 cell id (as used by h3 and map tools)."""
    return str(h3.int_to_str(cell))


def cells_for_arrays(lats: npt.ArrayLike, lons: npt.ArrayLike, res: int) -> npt.NDArray[np.int64]:
    """H3 cell ids at one resolution for arrays of coordinates.

    Parameters
    ----------
    lats, lons
        Decimal degrees, equal shapes, all finite and in range.
    res
        H3 resolution, 0 to 15; at or below 8 the same cells as :func:`cells_for`.

    Returns
    -------
    numpy.ndarray
        int64 cell ids with the shape of ``lats``.
    """
    if not 0 <= res <= _MAX_RESOLUTION:
        msg = f"H3 resolution {res!r} is not supported; use 0 to 15 (silkguard uses 4, 6, 8)"
        raise InvalidInput(msg)
    lat_arr = np.asarray(lats, dtype=np.float64)
    lon_arr = np.asarray(lons, dtype=np.float64)
    if lat_arr.shape != lon_arr.shape:
        msg = (
            f"latitudes and longitudes differ in shape ({lat_arr.shape} vs {lon_arr.shape}); "
            "give one longitude per latitude"
        )
        raise InvalidInput(msg)
    bad = ~np.isfinite(lat_arr) | ~np.isfinite(lon_arr)
    bad |= (np.abs(lat_arr) > MAX_LATITUDE_DEG) | (np.abs(lon_arr) > MAX_LONGITUDE_DEG)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        validate_lat_lon(float(lat_arr.ravel()[first]), float(lon_arr.ravel()[first]))
    finest = max(res, _FINEST)
    cells = np.fromiter(
        (
            h3_int.cell_to_parent(h3_int.latlng_to_cell(lat, lon, finest), res)
            for lat, lon in zip(lat_arr.ravel().tolist(), lon_arr.ravel().tolist(), strict=True)
        ),
        dtype=np.int64,
        count=lat_arr.size,
    )
    return cells.reshape(lat_arr.shape)
