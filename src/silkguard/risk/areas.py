"""Which province and district each grid cell belongs to, approximately.

No open boundary polygons of Pakistan's districts can be shipped, so a cell takes the district
of the gazetteer's reverse geocoding of its centre (nearest district headquarters within the
province voted by the nearest places). District figures are therefore approximate near
district boundaries; province figures are steadier.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from silkguard.geo.gazetteer import load_gazetteer
from silkguard.risk.grid import Grid

__all__ = ["CellAreas", "cell_areas"]


@dataclass(frozen=True, eq=False)
class CellAreas:
    """Province and district names per cell of a grid (``""`` when unknown)."""

    province: npt.NDArray[np.str_]
    district: npt.NDArray[np.str_]

    def district_mask(self, province: str, district: str) -> npt.NDArray[np.bool_]:
        return np.asarray((self.province == province) & (self.district == district))

    def province_mask(self, province: str) -> npt.NDArray[np.bool_]:
        return np.asarray(self.province == province)


@cache
def _cached(resolution: int, cells_key: bytes) -> CellAreas:
    cells = np.frombuffer(cells_key, dtype=np.int64)
    grid = Grid(resolution, cells)
    lats, lons = grid.lat_lon
    gaz = load_gazetteer()
    provinces: list[str] = []
    districts: list[str] = []
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        area = gaz.reverse(lat, lon)
        provinces.append(area.province)
        districts.append(area.district or "")
    return CellAreas(np.array(provinces, dtype=np.str_), np.array(districts, dtype=np.str_))


def cell_areas(grid: Grid) -> CellAreas:
    """The province and district of every cell of ``grid`` (cached per grid content)."""
    return _cached(grid.resolution, grid.cells.tobytes())
