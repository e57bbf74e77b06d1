"""Spatial index of the latest position per person, for alert fan-out: who is inside this
circle or polygon right now?

Design (details and the exactness argument in ``docs/fanout.md``):

* A uniform latitude/longitude grid over the extent of the positions at build time, with
  roughly square cells of ``cell_km`` at the middle latitude. Points are sorted by cell,
  row-major (CSR layout: ``start[cell]`` offsets into position arrays stored in that order),
  so the cells of one grid row inside a bounding box are one contiguous slice. Points outside
  the grid's extent are clamped into its border cells; clamping is monotone, so a bounding box
  still finds them.
* A circle query takes the exact latitude/longitude bounding box of the spherical cap, turns
  it into one slice per grid row, and keeps the candidates whose distance from
  :func:`silkguard.geo.distance.haversine_km_array` is ``<= radius_km``: the result is the
  set a brute-force check with that function gives. A dot product of 3-D unit vectors
  decides every candidate that is not within a hair of the circle; only those go through
  the haversine function itself. In dense queries, cells whose four corners lie inside the
  circle by that margin are taken whole (the distance to a point of a small cell is largest
  at a corner, see the docs).
* Incremental updates: a person who moves within the same cell is updated in place; one who
  changes cell is marked stale in the main arrays and goes to an overflow store bucketed on the
  same grid (rebuilt from the moved people only, so cost follows the number of moves). When
  the overflow exceeds ``compact_fraction`` of the main store, everything is rebuilt
  (:meth:`LatestPositionIndex.compact`).
* A polygon query uses the polygon's bounding box the same way and the exact planar
  point-in-polygon test of GEOS (:func:`shapely.intersects_xy`): points inside *or on the
  boundary* are affected (shapely ``covers``). Coordinates are planar longitude/latitude;
  a polygon that crosses the antimeridian must be split by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from silkguard.core.errors import InvalidInput, NotFound
from silkguard.geo.distance import EARTH_RADIUS_KM, haversine_km_array

__all__ = ["DEFAULT_CELL_KM", "KM_PER_DEG_LAT", "LatestPositionIndex"]

#: Kilometres per degree of latitude on the sphere of :data:`EARTH_RADIUS_KM`.
KM_PER_DEG_LAT = math.pi * EARTH_RADIUS_KM / 180.0
#: Default grid cell edge; a fifth of the typical 25 km alert radius.
DEFAULT_CELL_KM = 4.0
#: Upper bound on the number of grid cells (the offsets array is 8 bytes per cell); sparse
#: data get coarser cells, at most ``_CELLS_PER_POINT`` per point (and at least 4096 cells).
MAX_CELLS = 4_000_000
_CELLS_PER_POINT = 4
_MIN_CELL_CAP = 4_096
#: Unit-vector dot products further than this from cos(radius) decide a point without the
#: exact haversine check (their computed error is below 1e-15; see docs/fanout.md).
_DOT_MARGIN = 1e-11
#: Take whole interior cells only when a query has this many candidates (the split costs).
_SPLIT_MIN_CANDIDATES = 16_000
#: Padding of bounding boxes against rounding, degrees (about 1 cm).
_PAD_DEG = 1e-7
#: Interior-cell shortcut only where the corner argument holds comfortably (see docs).
_INTERIOR_MAX_RADIUS_KM = 2_000.0
_INTERIOR_MAX_HALF_WIDTH_DEG = 60.0
_INTERIOR_MAX_CELL_DEG = 5.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
KeyArray = npt.NDArray[Any]
_EMPTY_INT: IntArray = np.zeros(0, dtype=np.int64)
_ABSENT = -1  # a slot's person has no position
_IN_OVERFLOW = -2  # a slot's position is in the overflow store


@dataclass(frozen=True, slots=True)
class _Grid:
    lat0: float
    lon0: float
    dlat: float
    dlon: float
    nrows: int
    ncols: int

    @classmethod
    def covering(cls, lat: FloatArray, lon: FloatArray, cell_km: float) -> _Grid:
        if lat.size == 0:
            lat_lo, lat_hi, lon_lo, lon_hi = 0.0, 0.0, 0.0, 0.0
        else:
            lat_lo, lat_hi = float(lat.min()), float(lat.max())
            lon_lo, lon_hi = float(lon.min()), float(lon.max())
        dlat = cell_km / KM_PER_DEG_LAT
        cos_mid = max(math.cos(math.radians(0.5 * (lat_lo + lat_hi))), 0.05)
        dlon = dlat / cos_mid
        nrows = int((lat_hi - lat_lo) / dlat) + 1
        ncols = int((lon_hi - lon_lo) / dlon) + 1
        max_cells = min(MAX_CELLS, max(_MIN_CELL_CAP, _CELLS_PER_POINT * lat.size))
        if nrows * ncols > max_cells:
            grow = math.sqrt(nrows * ncols / max_cells) * 1.01
            dlat, dlon = dlat * grow, dlon * grow
            nrows = int((lat_hi - lat_lo) / dlat) + 1
            ncols = int((lon_hi - lon_lo) / dlon) + 1
        return cls(lat_lo, lon_lo, dlat, dlon, nrows, ncols)

    def rows(self, lat: FloatArray) -> IntArray:
        raw = np.floor((lat - self.lat0) / self.dlat)
        return np.clip(raw, 0, self.nrows - 1).astype(np.int64)

    def cols(self, lon: FloatArray) -> IntArray:
        raw = np.floor((lon - self.lon0) / self.dlon)
        return np.clip(raw, 0, self.ncols - 1).astype(np.int64)

    def cells(self, lat: FloatArray, lon: FloatArray) -> IntArray:
        return self.rows(lat) * self.ncols + self.cols(lon)

    def row_of(self, lat: float) -> int:
        return min(max(math.floor((lat - self.lat0) / self.dlat), 0), self.nrows - 1)

    def col_of(self, lon: float) -> int:
        return min(max(math.floor((lon - self.lon0) / self.dlon), 0), self.ncols - 1)


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """n x 3 array of unit vectors (x, y, z) on the sphere."""
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=1)


#: Entry columns: slot, lat, lon, key, unit vector (n x 3).
_Columns = tuple[IntArray, FloatArray, FloatArray, KeyArray, FloatArray]


def _columns(slot: IntArray, lat: FloatArray, lon: FloatArray, key: KeyArray) -> _Columns:
    return slot, lat, lon, key, _unit_vectors(lat, lon)


@dataclass(slots=True)
class _Buckets:
    """Positions sorted by grid cell; ``start[c]:start[c + 1]`` are the points of cell ``c``.
    ``xyz`` holds their unit vectors for the cheap dot-product pre-filter."""

    start: IntArray
    lat: FloatArray
    lon: FloatArray
    xyz: FloatArray
    key: KeyArray
    slot: IntArray
    cell: npt.NDArray[np.int32]
    first: IntArray  # [row, col] -> index of the cell's first entry (a view of start)
    end: IntArray  # [row, col] -> one past the cell's last entry (a view of start)
    live: BoolArray | None = None  # None while every entry is current

    @classmethod
    def build(
        cls,
        grid: _Grid,
        columns: _Columns,
        cell: npt.NDArray[np.int32] | None = None,
    ) -> _Buckets:
        """Bucket ``columns`` on ``grid``; ``cell`` may be given when already known."""
        slot, lat, lon, key, xyz = columns
        if cell is None:
            cell = grid.cells(lat, lon).astype(np.int32)
        order = np.argsort(cell)
        counts = np.bincount(cell, minlength=grid.nrows * grid.ncols)
        start = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        first = start[:-1].reshape(grid.nrows, grid.ncols)
        end = start[1:].reshape(grid.nrows, grid.ncols)
        return cls(
            start,
            lat[order],
            lon[order],
            xyz[order],
            key[order],
            slot[order],
            cell[order],
            first,
            end,
        )

    def current(self, stay: BoolArray | None = None) -> _Columns:
        """Columns of the live entries (of the ``stay`` entries if given)."""
        keep = self.live if stay is None else stay
        if keep is None:
            return self.slot, self.lat, self.lon, self.key, self.xyz
        return self.slot[keep], self.lat[keep], self.lon[keep], self.key[keep], self.xyz[keep]

    def set_positions(self, pos: IntArray, lat: FloatArray, lon: FloatArray) -> None:
        """Move entries ``pos`` in place (the caller keeps them in their cells)."""
        self.lat[pos], self.lon[pos] = lat, lon
        self.xyz[pos] = _unit_vectors(lat, lon)

    def gather(self, values: npt.NDArray[Any], segments: list[tuple[int, int]]) -> Any:
        """``values`` (an array aligned with the entries) over the given entry ranges."""
        if len(segments) == 1:
            a, b = segments[0]
            return values[a:b]
        return np.concatenate([values[a:b] for a, b in segments])


# --------------------------------------------------------------------------- validation


def _coords(values: npt.ArrayLike, field: str, limit: float) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        msg = f"{field} must be numbers in decimal degrees: {exc}"
        raise InvalidInput(msg) from exc
    bad = ~(np.abs(arr) <= limit)  # also catches NaN
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{field}[{i}] is {arr[i]!r}; accepted are finite decimal degrees from "
            f"{-limit:g} to {limit:g}; fix or drop that position"
        )
        raise InvalidInput(msg)
    return arr


def _scalar(value: float, field: str, limit: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        msg = f"{field} must be a number in decimal degrees, got {value!r}"
        raise InvalidInput(msg) from exc
    if not abs(v) <= limit:
        msg = f"{field} is {v!r}; accepted are finite decimal degrees from {-limit:g} to {limit:g}"
        raise InvalidInput(msg)
    return v


def _keys(ids: npt.ArrayLike, kind: str | None) -> KeyArray:
    arr = np.asarray(ids).reshape(-1)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64 if kind in (None, "i") else str)
    if arr.dtype.kind in "iu":
        got = "i"
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "U" or (
        arr.dtype.kind == "O" and all(isinstance(x, str) for x in arr.tolist())
    ):
        got = "U"
        arr = arr.astype(str)
    else:
        msg = f"ids must be integers or strings, got an array of {arr.dtype}"
        raise InvalidInput(msg)
    if kind is not None and got != kind:
        want = "integers" if kind == "i" else "strings"
        msg = f"ids must be {want} like the ids already in this index, got {arr.dtype}"
        raise InvalidInput(msg)
    return arr


def _key_order(keys: KeyArray) -> IntArray:
    """Sorting permutation of ``keys``; raises InvalidInput when a key repeats."""
    order = np.argsort(keys).astype(np.int64)
    ordered = keys[order]
    dup = ordered[1:] == ordered[:-1]
    if dup.any():
        msg = (
            f"ids contains {ordered[1:][dup][0]!r} more than once; give each person one "
            "position per batch"
        )
        raise InvalidInput(msg)
    return order


def _polygon(area: Polygon | MultiPolygon | Mapping[str, Any]) -> Polygon | MultiPolygon:
    if isinstance(area, Mapping):
        try:
            geom = shape(dict(area))
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            shapely.errors.GEOSException,
        ) as exc:
            msg = f"polygon is not a readable GeoJSON geometry: {exc!r}"
            raise InvalidInput(msg) from exc
    else:
        geom = area
    if not isinstance(geom, Polygon | MultiPolygon):
        msg = f"polygon must be a Polygon or MultiPolygon, got {type(geom).__name__}"
        raise InvalidInput(msg)
    if geom.is_empty:
        msg = "polygon is empty; give at least one ring of three distinct points"
        raise InvalidInput(msg)
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180.0 or maxx > 180.0 or miny < -90.0 or maxy > 90.0:
        msg = (
            f"polygon bounds {geom.bounds!r} leave longitude -180..180 / latitude -90..90; "
            "give (lon, lat) decimal degrees and split areas that cross the antimeridian"
        )
        raise InvalidInput(msg)
    if not geom.is_valid:
        msg = f"polygon is invalid ({shapely.is_valid_reason(geom)}); fix its rings"
        raise InvalidInput(msg)
    return geom


# --------------------------------------------------------------------------- the index


class LatestPositionIndex:
    """Latest position per person with exact circle and polygon queries.

    Parameters
    ----------
    ids
        Person ids, integers (int64) or strings, unique.
    lats, lons
        Decimal degrees, same length as ``ids``.
    cell_km
        Grid cell edge. About a fifth of the usual query radius is a good choice.
    compact_fraction
        Rebuild everything when the overflow of moved people exceeds this share of the main
        store.

    Queries return an array of ids in no particular order. An instance is not safe for an
    update running concurrently with queries; callers that share one guard it with a lock.
    """

    def __init__(
        self,
        ids: npt.ArrayLike = (),
        lats: npt.ArrayLike = (),
        lons: npt.ArrayLike = (),
        *,
        cell_km: float = DEFAULT_CELL_KM,
        compact_fraction: float = 0.25,
    ) -> None:
        if not (math.isfinite(cell_km) and cell_km > 0.0):
            msg = f"cell_km is {cell_km!r}; give a positive number of kilometres, e.g. 4"
            raise InvalidInput(msg)
        if not 0.0 < compact_fraction <= 1.0:
            msg = f"compact_fraction is {compact_fraction!r}; accepted is 0 < value <= 1"
            raise InvalidInput(msg)
        self._cell_km = float(cell_km)
        self._compact_fraction = float(compact_fraction)
        keys = _keys(ids, None)
        lat = _coords(lats, "lats", 90.0)
        lon = _coords(lons, "lons", 180.0)
        _same_length(keys, lat, lon)
        self._kind: str | None = keys.dtype.kind if keys.size else None  # "i" or "U"
        order = _key_order(keys)
        self._sorted_keys: KeyArray = keys[order]
        self._sorted_slots: IntArray = order
        self._slot_key: KeyArray = keys
        # per slot: its entry in the main store (>= 0), _IN_OVERFLOW or _ABSENT
        self._where = np.full(keys.size, _ABSENT, dtype=np.int64)
        self._rebuild(_columns(np.arange(keys.size, dtype=np.int64), lat, lon, keys))

    # ----------------------------------------------------------------- maintenance

    def __len__(self) -> int:
        return self._count

    def __contains__(self, person_id: object) -> bool:
        if not isinstance(person_id, int | str | np.integer | np.str_):
            return False
        try:
            slots = self._lookup(_keys(np.asarray([person_id]), self._kind))
        except InvalidInput:
            return False
        return bool(slots[0] >= 0 and self._where[slots[0]] != _ABSENT)

    @property
    def overflow_size(self) -> int:
        """People kept in the overflow store since the last compaction."""
        return int(self._overflow.slot.size)

    def compact(self) -> None:
        """Rebuild the grid over the current extent with every present person in it."""
        over = self._overflow
        self._rebuild(_joined_columns(self._main.current(), over.current(self._stay())))

    def _stay(self) -> BoolArray:
        """Overflow entries that are still current."""
        stay: BoolArray = self._where[self._overflow.slot] == _IN_OVERFLOW
        return stay

    def _rebuild(self, columns: _Columns) -> None:
        slots, lat, lon = columns[0], columns[1], columns[2]
        self._grid = _Grid.covering(lat, lon, self._cell_km)
        self._main = _Buckets.build(self._grid, columns)
        self._where[:] = _ABSENT
        self._where[self._main.slot] = np.arange(slots.size, dtype=np.int64)
        empty = (slots[:0], lat[:0], lon[:0], columns[3][:0], columns[4][:0])
        self._overflow = _Buckets.build(self._grid, empty)
        self._count = int(slots.size)

    def update(self, ids: npt.ArrayLike, lats: npt.ArrayLike, lons: npt.ArrayLike) -> None:
        """Move people to new latest positions; unknown ids are inserted."""
        keys = _keys(ids, self._kind)
        lat = _coords(lats, "lats", 90.0)
        lon = _coords(lons, "lons", 180.0)
        _same_length(keys, lat, lon)
        if keys.size == 0:
            return
        if self._kind is None:
            self._kind = keys.dtype.kind
            self._slot_key = self._slot_key.astype(keys.dtype)
            self._sorted_keys = self._sorted_keys.astype(keys.dtype)
        order = _key_order(keys)
        keys, lat, lon = keys[order], lat[order], lon[order]  # sorted keys look up faster
        slots = self._lookup(keys)
        new = slots < 0
        if new.any():
            slots[new] = self._add_slots(keys[new])
        where = self._where[slots]
        self._count += int(np.count_nonzero(where == _ABSENT))
        # people still in their main-store cell are updated in place
        in_main = where >= 0
        pos = np.maximum(where, 0)
        cell = self._grid.cells(lat, lon).astype(np.int32)
        if self._main.cell.size:
            same = in_main & (cell == self._main.cell[pos])
        else:
            same = np.zeros(slots.size, dtype=np.bool_)
        self._main.set_positions(pos[same], lat[same], lon[same])
        moved = ~same
        self._kill_main(pos[moved & in_main])
        self._where[slots[moved]] = _ABSENT  # their old overflow entries, if any, are stale
        self._refresh_overflow(
            _columns(slots[moved], lat[moved], lon[moved], keys[moved]), cell[moved]
        )

    def remove(self, ids: npt.ArrayLike) -> None:
        """Forget people's latest positions; raises NotFound for ids not in the index."""
        keys = _keys(ids, self._kind)
        if keys.size == 0:
            return
        keys = keys[_key_order(keys)]
        slots = self._lookup(keys)
        where = self._where[np.maximum(slots, 0)]
        missing = (slots < 0) | (where == _ABSENT)
        if missing.any():
            msg = (
                f"ids[{int(np.flatnonzero(missing)[0])}] = {keys[missing][0]!r} has no position "
                "in the index; remove only people that were added"
            )
            raise NotFound(msg)
        self._count -= int(slots.size)
        self._kill_main(where[where >= 0])
        self._where[slots] = _ABSENT
        if (where == _IN_OVERFLOW).any():
            self._refresh_overflow()

    def _lookup(self, keys: KeyArray) -> IntArray:
        """Slot of each key, -1 when unknown."""
        n = self._sorted_keys.size
        if n == 0:
            return np.full(keys.size, -1, dtype=np.int64)
        at = np.searchsorted(self._sorted_keys, keys)
        at_c = np.minimum(at, n - 1)
        found = self._sorted_keys[at_c] == keys
        return np.where(found, self._sorted_slots[at_c], -1).astype(np.int64)

    def _add_slots(self, keys: KeyArray) -> IntArray:
        first = self._slot_key.size
        slots = np.arange(first, first + keys.size, dtype=np.int64)
        self._slot_key = np.concatenate([self._slot_key, keys])
        self._where = np.concatenate([self._where, np.full(keys.size, _ABSENT, dtype=np.int64)])
        # np.insert casts to the array's dtype: widen first so longer string ids survive
        self._sorted_keys = self._sorted_keys.astype(np.result_type(self._sorted_keys, keys))
        at = np.searchsorted(self._sorted_keys, keys)  # keys arrive sorted
        self._sorted_keys = np.insert(self._sorted_keys, at, keys)
        self._sorted_slots = np.insert(self._sorted_slots, at, slots)
        return slots

    def _kill_main(self, pos: IntArray) -> None:
        """Mark main-store entries ``pos`` as stale (the caller updates ``_where``)."""
        if pos.size == 0:
            return
        if self._main.live is None:
            self._main.live = np.ones(self._main.slot.size, dtype=np.bool_)
        self._main.live[pos] = False

    def _refresh_overflow(
        self, new: _Columns | None = None, new_cell: npt.NDArray[np.int32] | None = None
    ) -> None:
        """Rebuild the overflow store from its entries still flagged ``_IN_OVERFLOW`` plus the
        ``new`` entries (cells ``new_cell``); rebuild everything when it grows too large."""
        old = self._overflow
        stay = self._stay()
        columns, cell = old.current(stay), old.cell[stay]
        if new is not None and new_cell is not None:
            columns = _joined_columns(columns, new)
            cell = np.concatenate([cell, new_cell])
        if columns[0].size > self._compact_fraction * max(self._main.slot.size, 1):
            self._rebuild(_joined_columns(self._main.current(), columns))
            return
        if new is not None:
            self._where[new[0]] = _IN_OVERFLOW
        self._overflow = _Buckets.build(self._grid, columns, cell)

    # ----------------------------------------------------------------- queries

    def ids(self) -> KeyArray:
        """Every person with a position."""
        present: BoolArray = self._where != _ABSENT
        return self._slot_key[present]

    def within_circle(self, lat: float, lon: float, radius_km: float) -> KeyArray:
        """Ids whose latest position is at most ``radius_km`` from (lat, lon).

        Exactly the people for whom ``haversine_km_array(lat, lon, ...) <= radius_km``; a
        point at the radius counts as inside. Circles over a pole or across the antimeridian
        are supported.
        """
        lat = _scalar(lat, "lat", 90.0)
        lon = _scalar(lon, "lon", 180.0)
        try:
            radius_km = float(radius_km)
        except (TypeError, ValueError) as exc:
            msg = f"radius_km must be a number of kilometres, got {radius_km!r}"
            raise InvalidInput(msg) from exc
        if not (math.isfinite(radius_km) and radius_km >= 0.0):
            msg = f"radius_km is {radius_km!r}; accepted is a finite distance >= 0 km"
            raise InvalidInput(msg)
        delta_deg = math.degrees(radius_km / EARTH_RADIUS_KM) * (1.0 + 1e-9) + _PAD_DEG
        if self._count == 0:
            return self._slot_key[:0]
        if delta_deg >= 180.0:
            return self.ids()
        grid = self._grid
        r0, r1 = grid.row_of(lat - delta_deg), grid.row_of(lat + delta_deg)
        if lat + delta_deg >= 90.0 or lat - delta_deg <= -90.0:
            half_width = 180.0  # the cap holds a pole
        else:
            s = math.sin(math.radians(delta_deg)) / math.cos(math.radians(lat))
            half_width = 180.0 if s >= 1.0 else math.degrees(math.asin(s)) + _PAD_DEG
        col_ranges = _column_ranges(grid, lon, half_width)
        query = _Circle.around(lat, lon, radius_km)
        may_split = (
            len(col_ranges) == 1
            and radius_km <= _INTERIOR_MAX_RADIUS_KM
            and half_width <= _INTERIOR_MAX_HALF_WIDTH_DEG
            and max(grid.dlat, grid.dlon) <= _INTERIOR_MAX_CELL_DEG
        )
        interior: list[tuple[int, int]] | None = None
        parts: list[KeyArray] = []
        for store in (self._main, self._overflow):
            if store.slot.size == 0:
                continue
            check = _row_segments(store, r0, r1, col_ranges)
            whole: list[tuple[int, int]] = []
            if (
                may_split
                and interior is None
                and sum(b - a for a, b in check) >= _SPLIT_MIN_CANDIDATES
            ):
                interior = _interior_columns(grid, query, r0, r1, *col_ranges[0])
            if interior is not None:
                check, whole = _split_rows(store, r0, col_ranges[0], interior)
            parts.extend(_filter_circle(store, query, check, whole))
        return _joined(parts, self._slot_key)

    def within_polygon(self, area: Polygon | MultiPolygon | Mapping[str, Any]) -> KeyArray:
        """Ids whose latest position lies inside ``area`` or on its boundary (shapely
        ``covers``).

        ``area`` is a shapely Polygon/MultiPolygon or a GeoJSON geometry dict, coordinates
        (longitude, latitude) in decimal degrees, treated as planar (as GeoJSON does).
        """
        geom = _polygon(area)
        if self._count == 0:
            return self._slot_key[:0]
        shapely.prepare(geom)
        minx, miny, maxx, maxy = geom.bounds
        grid = self._grid
        r0, r1 = grid.row_of(miny - _PAD_DEG), grid.row_of(maxy + _PAD_DEG)
        cols = [(grid.col_of(minx - _PAD_DEG), grid.col_of(maxx + _PAD_DEG))]
        parts: list[KeyArray] = []
        for store in (self._main, self._overflow):
            segments = _row_segments(store, r0, r1, cols) if store.slot.size else []
            if not segments:
                continue
            inside = shapely.intersects_xy(
                geom, store.gather(store.lon, segments), store.gather(store.lat, segments)
            )
            if store.live is not None:
                inside &= store.gather(store.live, segments)
            parts.append(store.gather(store.key, segments)[inside])
        return _joined(parts, self._slot_key)


def _joined_columns(first: _Columns, second: _Columns) -> _Columns:
    return (
        np.concatenate([first[0], second[0]]),
        np.concatenate([first[1], second[1]]),
        np.concatenate([first[2], second[2]]),
        np.concatenate([first[3], second[3]]),
        np.concatenate([first[4], second[4]]),
    )


def _joined(parts: list[KeyArray], like: KeyArray) -> KeyArray:
    if not parts:
        return like[:0]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _same_length(keys: KeyArray, lat: FloatArray, lon: FloatArray) -> None:
    if not keys.size == lat.size == lon.size:
        msg = (
            f"ids, lats and lons must have the same length, got {keys.size}, {lat.size} "
            f"and {lon.size}"
        )
        raise InvalidInput(msg)


# --------------------------------------------------------------------------- circle helpers


@dataclass(frozen=True, slots=True)
class _Circle:
    """A circle query with its dot-product thresholds on unit vectors: a point whose dot
    product with ``centre`` is ``>= cos_in`` is surely inside, one whose dot product is
    ``< cos_out`` surely outside; only points in between (a ring micrometres wide at 25 km,
    some metres for radii near zero) need the exact haversine check."""

    lat: float
    lon: float
    radius_km: float
    centre: FloatArray
    cos_in: float
    cos_out: float

    @classmethod
    def around(cls, lat: float, lon: float, radius_km: float) -> _Circle:
        cos_theta = math.cos(radius_km / EARTH_RADIUS_KM)
        phi, lam = math.radians(lat), math.radians(lon)
        cos_phi = math.cos(phi)
        centre = np.array([cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)])
        return cls(lat, lon, radius_km, centre, cos_theta + _DOT_MARGIN, cos_theta - _DOT_MARGIN)


def _column_ranges(grid: _Grid, lon: float, half_width: float) -> list[tuple[int, int]]:
    """Inclusive grid column ranges covering ``lon +- half_width`` (wrapping at 180)."""
    if half_width >= 180.0:
        return [(0, grid.ncols - 1)]
    lo, hi = lon - half_width, lon + half_width
    if lo >= -180.0 and hi <= 180.0:
        return [(grid.col_of(lo), grid.col_of(hi))]
    pieces = [(max(lo, -180.0), min(hi, 180.0))]
    if lo < -180.0:
        pieces.append((lo + 360.0, 180.0))
    if hi > 180.0:
        pieces.append((-180.0, hi - 360.0))
    ranges = sorted((grid.col_of(a), grid.col_of(b)) for a, b in pieces)
    merged = [ranges[0]]
    for a, b in ranges[1:]:
        if a <= merged[-1][1] + 1:  # clamping can make the wrapped pieces overlap
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _row_segments(
    store: _Buckets, r0: int, r1: int, col_ranges: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Non-empty entry ranges of the cells of rows ``r0..r1`` in the column ranges."""
    first, end = store.first, store.end
    segments: list[tuple[int, int]] = []
    for c0, c1 in col_ranges:
        lo: list[int] = first[r0 : r1 + 1, c0].tolist()
        hi: list[int] = end[r0 : r1 + 1, c1].tolist()
        segments.extend((a, b) for a, b in zip(lo, hi, strict=True) if b > a)
    return segments


def _split_rows(
    store: _Buckets,
    r0: int,
    col_range: tuple[int, int],
    interior: list[tuple[int, int]],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Entry ranges to check and to take whole: row ``r0 + k`` is checked on columns
    ``c0..i0-1`` and ``i1+1..c1`` and taken whole on ``i0..i1`` (``interior[k]``)."""
    first, end = store.first, store.end
    c0, c1 = col_range
    check: list[tuple[int, int]] = []
    whole: list[tuple[int, int]] = []
    for k, (i0, i1) in enumerate(interior):
        r = r0 + k
        a, d = int(first[r, c0]), int(end[r, c1])
        if i0 > i1:
            check.append((a, d))
            continue
        b, c = int(first[r, i0]), int(end[r, i1])
        check.extend(((a, b), (c, d)))
        whole.append((b, c))
    return [(a, b) for a, b in check if b > a], [(a, b) for a, b in whole if b > a]


def _filter_circle(
    store: _Buckets, query: _Circle, check: list[tuple[int, int]], whole: list[tuple[int, int]]
) -> list[KeyArray]:
    """Keys of the ``check`` entries inside the circle and of all ``whole`` entries (live)."""
    parts: list[KeyArray] = []
    if check:
        keys = store.gather(store.key, check)
        dot = store.gather(store.xyz, check) @ query.centre
        sure = dot >= query.cos_in
        doubt = dot >= query.cos_out
        if store.live is not None:
            live = store.gather(store.live, check)
            sure &= live
            doubt &= live
        doubt ^= sure  # sure is a subset of doubt
        parts.append(keys[sure])
        if doubt.any():
            lat = store.gather(store.lat, check)[doubt]
            lon = store.gather(store.lon, check)[doubt]
            exact = haversine_km_array(query.lat, query.lon, lat, lon) <= query.radius_km
            parts.append(keys[doubt][exact])
    if whole:
        keys = store.gather(store.key, whole)
        if store.live is not None:
            keys = keys[store.gather(store.live, whole)]
        parts.append(keys)
    return parts


def _interior_columns(
    grid: _Grid, query: _Circle, r0: int, r1: int, c0: int, c1: int
) -> list[tuple[int, int]]:
    """Per row ``r0..r1``, the first and last column of cells whose four corners are surely
    inside the circle (first > last when there are none). The distance to any point of such a
    small cell is at most the largest corner distance (docs/fanout.md). Border cells of the
    grid hold clamped outsiders and never count as interior."""
    lat_edges = grid.lat0 + grid.dlat * np.arange(r0, r1 + 2, dtype=np.float64)
    lon_edges = grid.lon0 + grid.dlon * np.arange(c0, c1 + 2, dtype=np.float64)
    phi = np.radians(lat_edges)[:, None]
    dlam = np.radians(lon_edges - query.lon)[None, :]
    phi_c = math.radians(query.lat)
    dot = np.sin(phi) * math.sin(phi_c) + np.cos(phi) * math.cos(phi_c) * np.cos(dlam)
    ok = dot >= query.cos_in
    cell_ok = ok[:-1, :-1] & ok[1:, :-1] & ok[:-1, 1:] & ok[1:, 1:]
    if r0 == 0:
        cell_ok[0, :] = False
    if r1 == grid.nrows - 1:
        cell_ok[-1, :] = False
    if c0 == 0:
        cell_ok[:, 0] = False
    if c1 == grid.ncols - 1:
        cell_ok[:, -1] = False
    width = cell_ok.shape[1]
    first: list[int] = np.argmax(cell_ok, axis=1).tolist()
    last: list[int] = (width - 1 - np.argmax(cell_ok[:, ::-1], axis=1)).tolist()
    any_ok: list[bool] = np.any(cell_ok, axis=1).tolist()
    return [
        (c0 + i0, c0 + i1) if has else (c1 + 1, c1)
        for i0, i1, has in zip(first, last, any_ok, strict=True)
    ]
