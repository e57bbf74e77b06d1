"""A forecast surface over a grid and the threat levels of cells, sites, districts and routes.

:class:`Surface` holds the expected events per cell over a horizon; :class:`Assessor` combines
it with the events of the recent past and a :class:`~silkguard.risk.levels.LevelPolicy` to read
the level of any subject. Pure numpy/shapely: the service layer feeds it from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import h3
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import haversine_km
from silkguard.risk.areas import CellAreas, cell_areas
from silkguard.risk.base import Model
from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.levels import LevelPolicy, LevelReading, forecast_levels, read_level

__all__ = ["Assessor", "RouteSegmentReading", "Surface"]

FloatArray = npt.NDArray[np.float64]
#: A site or point is judged on its cell and the ring around it (about 20 km across at res 6):
#: the approaches matter as much as the gate.
NEIGHBOURHOOD_RINGS = 1
ROUTE_SEGMENT_KM = 10.0
#: A route point off the grid takes the nearest cell within this distance (km).
OFF_GRID_KM = 25.0
_ROUTE_STEP_KM = 1.0


@dataclass(frozen=True, eq=False)
class Surface:
    """Expected events per cell of ``grid`` during ``[t0, t1)`` (days)."""

    grid: Grid
    expected: FloatArray
    t0: float
    t1: float

    @classmethod
    def from_model(cls, model: Model, grid: Grid, t0: float, t1: float) -> Surface:
        expected = np.asarray(model.intensity(grid, t0, t1), dtype=np.float64)
        if expected.shape != (len(grid),) or not np.all(np.isfinite(expected)):
            msg = f"model {model.name!r} returned an invalid intensity {expected.shape}"
            raise ValueError(msg)
        return cls(grid, np.clip(expected, 0.0, None), t0, t1)

    @cached_property
    def mean_density(self) -> float:
        """Expected events per km2 over the whole grid."""
        return float(self.expected.sum() / self.grid.area_km2.sum())

    @cached_property
    def areas(self) -> CellAreas:
        return cell_areas(self.grid)

    @cached_property
    def province_density(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for prov in np.unique(self.areas.province).tolist():
            mask = self.areas.province == prov
            out[str(prov)] = float(self.expected[mask].sum() / self.grid.area_km2[mask].sum())
        return out

    def ratios(self) -> FloatArray:
        """Each cell's density relative to the corridor mean."""
        density = self.expected / self.grid.area_km2
        if self.mean_density <= 0:
            return np.zeros_like(density)
        return np.asarray(density / self.mean_density, dtype=np.float64)


@dataclass(frozen=True)
class RouteSegmentReading:
    index: int
    start: tuple[float, float]  # (lat, lon)
    end: tuple[float, float]
    length_km: float
    reading: LevelReading


@dataclass(frozen=True, eq=False)
class Assessor:
    """Reads threat levels from a surface and the recent events before it."""

    surface: Surface
    recent: Events
    policy: LevelPolicy = field(default_factory=LevelPolicy)

    @cached_property
    def _recent_tree(self) -> cKDTree | None:
        if len(self.recent) == 0:
            return None
        return cKDTree(np.column_stack([self.recent.x, self.recent.y]))

    def _recent_types_near(self, x: FloatArray, y: FloatArray) -> list[str]:
        """Attack types of recent events within the policy radius of any of the points."""
        tree = self._recent_tree
        if tree is None:
            return []
        hits = tree.query_ball_point(np.column_stack([x, y]), r=self.policy.recent_radius_km)
        found = np.unique(np.concatenate([np.asarray(h, dtype=np.int64).ravel() for h in hits]))
        return [str(self.recent.marks[i]) for i in found.tolist()]

    def _read(
        self, mask: npt.NDArray[np.bool_], points: tuple[FloatArray, FloatArray]
    ) -> LevelReading:
        grid = self.surface.grid
        if not mask.any():
            msg = "the place lies outside the risk grid; choose a place inside the corridor"
            raise InvalidInput(msg)
        provinces = self.surface.areas.province[mask]
        values, counts = np.unique(provinces, return_counts=True)
        province = str(values[int(np.argmax(counts))]) if values.size else None
        return read_level(
            expected=float(self.surface.expected[mask].sum()),
            area_km2=float(grid.area_km2[mask].sum()),
            corridor_density=self.surface.mean_density,
            province=province,
            province_density=self.surface.province_density.get(province or ""),
            recent_types=self._recent_types_near(*points),
            policy=self.policy,
        )

    # -- subjects ---------------------------------------------------------------------------

    def cell_levels(self) -> npt.NDArray[np.int64]:
        """Level of every cell: its forecast level, raised by recent events near its centre."""
        levels = forecast_levels(self.surface.ratios(), self.policy)
        tree = self._recent_tree
        if tree is None:
            return levels
        x, y = self.surface.grid.xy
        pts = np.column_stack([x, y])
        counts = np.asarray(
            tree.query_ball_point(pts, r=self.policy.recent_radius_km, return_length=True)
        )
        cuts = np.asarray(self.policy.recent_cuts)
        recent = np.where(counts >= cuts[0], 2 + np.searchsorted(cuts, counts, side="right"), 1)
        return np.maximum(levels, recent).astype(np.int64)

    def _neighbourhood(self, lat: float, lon: float) -> npt.NDArray[np.bool_]:
        grid = self.surface.grid
        origin = h3.latlng_to_cell(lat, lon, grid.resolution)
        ring = [h3.str_to_int(c) for c in h3.grid_disk(origin, NEIGHBOURHOOD_RINGS)]
        idx = grid.index_of(np.array(ring, dtype=np.int64))
        mask = np.zeros(len(grid), dtype=bool)
        mask[idx[idx >= 0]] = True
        return mask

    def at_point(self, lat: float, lon: float) -> LevelReading:
        """Level of a place: its cell and the ring of cells around it."""
        x, y = self.surface.grid.projection.forward([lat], [lon])
        return self._read(self._neighbourhood(lat, lon), (x, y))

    def for_district(self, province: str, district: str) -> LevelReading:
        mask = self.surface.areas.district_mask(province, district)
        if not mask.any():
            msg = f"no risk cells for district {district!r} in {province!r}; check the name"
            raise InvalidInput(msg)
        x, y = self.surface.grid.xy
        return self._read(mask, (x[mask], y[mask]))

    def for_route(
        self, coords: list[tuple[float, float]], segment_km: float = ROUTE_SEGMENT_KM
    ) -> list[RouteSegmentReading]:
        """Levels along a route given as (lon, lat) pairs, GeoJSON order, in segments of about
        ``segment_km``; each segment is judged on the cells it passes through."""
        if len(coords) < 2:
            msg = "a route needs at least two points (a GeoJSON LineString)"
            raise InvalidInput(msg)
        lats, lons = _densify(coords)
        grid = self.surface.grid
        cells = np.array(
            [
                h3.str_to_int(h3.latlng_to_cell(float(a), float(b), grid.resolution))
                for a, b in zip(lats, lons, strict=True)
            ],
            dtype=np.int64,
        )
        step_km = np.array(
            [0.0]
            + [
                haversine_km(float(lats[i]), float(lons[i]), float(lats[i + 1]), float(lons[i + 1]))
                for i in range(lats.size - 1)
            ]
        )
        along = np.cumsum(step_km)
        n_segments = max(1, int(np.ceil(along[-1] / segment_km)))
        bounds = np.linspace(0.0, along[-1], n_segments + 1)
        out: list[RouteSegmentReading] = []
        x_all, y_all = grid.projection.forward(lats, lons)
        # points just off the grid (a coastal road beside cells whose centres are at sea, a
        # border crossing) are judged on the nearest cell within OFF_GRID_KM
        cell_idx = grid.index_of(cells)
        off = cell_idx < 0
        if off.any():
            dist, near = grid.trees.centre_tree.query(
                np.column_stack([x_all[off], y_all[off]]), distance_upper_bound=OFF_GRID_KM
            )
            near_idx = np.asarray(near, dtype=np.int64)
            cell_idx[off] = np.where(np.isfinite(np.asarray(dist)), near_idx, -1)
        for k in range(n_segments):
            sel = (along >= bounds[k]) & (along <= bounds[k + 1])
            idx = np.unique(cell_idx[sel])
            mask = np.zeros(len(grid), dtype=bool)
            mask[idx[idx >= 0]] = True
            first, last = int(np.flatnonzero(sel)[0]), int(np.flatnonzero(sel)[-1])
            out.append(
                RouteSegmentReading(
                    index=k,
                    start=(float(lats[first]), float(lons[first])),
                    end=(float(lats[last]), float(lons[last])),
                    length_km=float(bounds[k + 1] - bounds[k]),
                    reading=self._read(mask, (x_all[sel], y_all[sel])),
                )
            )
        return out


def _densify(coords: list[tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
    """Points every ~1 km along a (lon, lat) polyline, as (lats, lons)."""
    line = LineString(coords)
    lats: list[float] = []
    lons: list[float] = []
    pts = list(line.coords)
    for (lon0, lat0), (lon1, lat1) in pairwise(pts):
        km = haversine_km(lat0, lon0, lat1, lon1)
        n = max(1, int(np.ceil(km / _ROUTE_STEP_KM)))
        f = np.linspace(0.0, 1.0, n, endpoint=False)
        lats.extend((lat0 + f * (lat1 - lat0)).tolist())
        lons.extend((lon0 + f * (lon1 - lon0)).tolist())
    lats.append(pts[-1][1])
    lons.append(pts[-1][0])
    return np.array(lats), np.array(lons)
