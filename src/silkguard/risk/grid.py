"""The spatial grid of the risk surface: H3 cells with projected centroids, areas and sample points.

Default resolution 6: cells about 36 km2 and 7 km across, clipped to Pakistan's land area
(22,838 cells). Models integrate a density over a cell by averaging it at the cell's sample
points (the centres of its children ``quadrature`` levels finer: 7 points at one level, 49 at
two) and multiplying by the cell's area, so a narrow kernel near a cell edge is not missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property

import h3
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon, Polygon

from silkguard.core.errors import InvalidInput
from silkguard.geo.outline import pakistan_outline
from silkguard.risk.projection import PAKISTAN_PROJECTION, Projection

__all__ = ["DEFAULT_RESOLUTION", "Grid", "GridTrees"]

DEFAULT_RESOLUTION = 6
_MIN_RES, _MAX_RES = 3, 9

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _check_resolution(resolution: int) -> None:
    if not _MIN_RES <= resolution <= _MAX_RES:
        msg = (
            f"risk grid resolution {resolution} is out of range; use {_MIN_RES} to {_MAX_RES} "
            "(6 = cells about 7 km across, the default)"
        )
        raise InvalidInput(msg)


@dataclass(frozen=True, eq=False)
class GridTrees:
    """k-d trees of a grid's cell centres and sample points, for kernel sums over cells."""

    centre_tree: cKDTree
    sample_tree: cKDTree
    #: Sample points per cell (rows of ``sample_tree`` are cell-major).
    k: int
    #: Radius of a disc of the mean cell area (km).
    cell_radius_km: float


@dataclass(frozen=True, eq=False)
class Grid:
    """H3 cells (int64 ids, sorted) at one resolution, with geometry on ``projection``."""

    resolution: int
    cells: IntArray
    projection: Projection = PAKISTAN_PROJECTION
    quadrature: int = 1

    @classmethod
    def from_cells(
        cls,
        cells: Iterable[int],
        *,
        projection: Projection = PAKISTAN_PROJECTION,
        quadrature: int = 1,
    ) -> Grid:
        ids = np.unique(np.fromiter((int(c) for c in cells), dtype=np.int64))
        if ids.size == 0:
            msg = "a risk grid needs at least one cell"
            raise InvalidInput(msg)
        resolutions = {h3.get_resolution(h3.int_to_str(int(c))) for c in ids[:1000]}
        if len(resolutions) != 1:
            msg = f"grid cells must share one H3 resolution; got {sorted(resolutions)}"
            raise InvalidInput(msg)
        resolution = resolutions.pop()
        _check_resolution(resolution)
        return cls(resolution, ids, projection, quadrature)

    @classmethod
    def for_polygon(
        cls,
        polygon: Polygon | MultiPolygon,
        resolution: int = DEFAULT_RESOLUTION,
        *,
        projection: Projection = PAKISTAN_PROJECTION,
        quadrature: int = 1,
    ) -> Grid:
        """The cells whose centres lie inside ``polygon`` (lon/lat, as GeoJSON)."""
        _check_resolution(resolution)
        parts = list(polygon.geoms) if isinstance(polygon, MultiPolygon) else [polygon]
        found: set[str] = set()
        for part in parts:
            shell = [(lat, lon) for lon, lat in part.exterior.coords]
            holes = [[(lat, lon) for lon, lat in ring.coords] for ring in part.interiors]
            found.update(h3.polygon_to_cells(h3.LatLngPoly(shell, *holes), resolution))
        if not found:
            msg = (
                f"the area of interest holds no H3 cell centre at resolution {resolution}; "
                "use a larger area or a finer resolution"
            )
            raise InvalidInput(msg)
        return cls.from_cells(
            (h3.str_to_int(c) for c in found), projection=projection, quadrature=quadrature
        )

    @classmethod
    def around(
        cls,
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        resolution: int = DEFAULT_RESOLUTION,
        *,
        rings: int = 3,
        projection: Projection = PAKISTAN_PROJECTION,
    ) -> Grid:
        """Cells within ``rings`` steps of any of the given points: an area of interest for
        event sets outside the default corridor."""
        _check_resolution(resolution)
        cells: set[int] = set()
        for la, lo in zip(np.ravel(lat), np.ravel(lon), strict=True):
            origin = h3.latlng_to_cell(float(la), float(lo), resolution)
            cells.update(h3.str_to_int(c) for c in h3.grid_disk(origin, rings))
        return cls.from_cells(cells, projection=projection)

    @staticmethod
    @cache
    def pakistan(resolution: int = DEFAULT_RESOLUTION, quadrature: int = 1) -> Grid:
        """The default corridor grid: Pakistan's land area (cached per resolution)."""
        return Grid.for_polygon(pakistan_outline(), resolution, quadrature=quadrature)

    def __len__(self) -> int:
        return int(self.cells.size)

    @cached_property
    def lat_lon(self) -> tuple[FloatArray, FloatArray]:
        """Cell centres in degrees."""
        pts = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in self.cells])
        return pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)

    @cached_property
    def xy(self) -> tuple[FloatArray, FloatArray]:
        """Cell centres in km on the projection."""
        return self.projection.forward(*self.lat_lon)

    @cached_property
    def area_km2(self) -> FloatArray:
        return np.array([h3.cell_area(h3.int_to_str(int(c)), "km^2") for c in self.cells])

    @cached_property
    def sample_xy(self) -> tuple[FloatArray, FloatArray]:
        """Sample points, shape ``(cells, k)``: the centres of the children ``quadrature``
        levels finer (``k = 7 ** quadrature``), or the centre alone when ``quadrature`` is 0."""
        if self.quadrature <= 0:
            x, y = self.xy
            return x[:, None], y[:, None]
        child_res = min(self.resolution + self.quadrature, 15)
        rows = [
            [h3.cell_to_latlng(ch) for ch in h3.cell_to_children(h3.int_to_str(int(c)), child_res)]
            for c in self.cells
        ]
        k = min(len(r) for r in rows)  # pentagons have fewer children; keep a rectangular array
        pts = np.array([r[:k] for r in rows], dtype=np.float64)
        x, y = self.projection.forward(pts[..., 0], pts[..., 1])
        return x, y

    @cached_property
    def trees(self) -> GridTrees:
        """Search trees over the centres and sample points (built once per grid)."""
        cx, cy = self.xy
        sx, sy = self.sample_xy
        return GridTrees(
            centre_tree=cKDTree(np.column_stack([cx, cy])),
            sample_tree=cKDTree(np.column_stack([sx.ravel(), sy.ravel()])),
            k=int(sx.shape[1]),
            cell_radius_km=float(np.sqrt(np.mean(self.area_km2) / np.pi)),
        )

    def integrate(self, density: Callable[[FloatArray, FloatArray], FloatArray]) -> FloatArray:
        """Expected count per cell of a density given per km2 (``density(x, y)`` vectorised)."""
        sx, sy = self.sample_xy
        values = density(sx.ravel(), sy.ravel()).reshape(sx.shape)
        return np.asarray(values.mean(axis=1) * self.area_km2, dtype=np.float64)

    def locate(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> IntArray:
        """Index into :attr:`cells` of the cell holding each point, or -1 outside the grid."""
        ids = np.array(
            [
                h3.str_to_int(h3.latlng_to_cell(float(a), float(b), self.resolution))
                for a, b in zip(np.ravel(lat), np.ravel(lon), strict=True)
            ],
            dtype=np.int64,
        )
        return self.index_of(ids)

    def index_of(self, cell_ids: npt.ArrayLike) -> IntArray:
        """Positions of the given cell ids in :attr:`cells` (-1 where absent)."""
        ids = np.asarray(cell_ids, dtype=np.int64)
        pos = np.searchsorted(self.cells, ids)
        pos_c = np.clip(pos, 0, self.cells.size - 1)
        return np.where(self.cells[pos_c] == ids, pos_c, -1).astype(np.int64)

    def subset(self, mask: npt.NDArray[np.bool_]) -> Grid:
        """The cells where ``mask`` holds, as a new grid."""
        return Grid(self.resolution, self.cells[mask], self.projection, self.quadrature)
