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
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from silkguard.core.errors import InvalidInput, NotFound
from silkguard.core.jit import jit
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
#: Take whole interior cells only when a query has this many candidates (finding them costs
#: a second compiled call).
_SPLIT_MIN_CANDIDATES = 4_000
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
_NO_LIVE: BoolArray = np.zeros(0, dtype=np.bool_)  # every entry of a store is current
_NO_INTERIOR: IntArray = np.zeros((0, 2), dtype=np.int64)  # no cells taken whole
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

    def cells(self, lat: FloatArray, lon: FloatArray) -> npt.NDArray[np.int32]:
        """Row-major cell of each position, clamped into the grid (at most 2**31 cells)."""
        cell: npt.NDArray[np.int32] = _cells_kernel(
            lat, lon, self.lat0, self.lon0, self.dlat, self.dlon, self.nrows, self.ncols
        )
        return cell

    def row_of(self, lat: float) -> int:
        return min(max(math.floor((lat - self.lat0) / self.dlat), 0), self.nrows - 1)

    def col_of(self, lon: float) -> int:
        return min(max(math.floor((lon - self.lon0) / self.dlon), 0), self.ncols - 1)


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """n x 3 array of unit vectors (x, y, z) on the sphere."""
    xyz: FloatArray = _unit_vectors_kernel(lat, lon)
    return xyz


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
            cell = grid.cells(lat, lon)
        order, start = _bucket_order(cell, grid.nrows * grid.ncols)
        first = start[:-1].reshape(grid.nrows, grid.ncols)
        end = start[1:].reshape(grid.nrows, grid.ncols)
        return cls(
            start,
            lat[order],
            lon[order],
            np.take(xyz, order, axis=0),  # 4x faster than xyz[order] for n x 3
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


def _key_order(keys: KeyArray) -> tuple[IntArray, KeyArray]:
    """Sorting permutation of ``keys`` and the sorted keys; raises InvalidInput when a key
    repeats."""
    order = np.argsort(keys).astype(np.int64, copy=False)
    ordered = keys[order]
    dup = ordered[1:] == ordered[:-1]
    if dup.any():
        msg = (
            f"ids contains {ordered[1:][dup][0]!r} more than once; give each person one "
            "position per batch"
        )
        raise InvalidInput(msg)
    return order, ordered


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
        order, ordered = _key_order(keys)
        self._sorted_keys: KeyArray = ordered
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
        self._grid = grid = _Grid.covering(lat, lon, self._cell_km)
        self._grid_params = np.array(
            [grid.lat0, grid.lon0, grid.dlat, grid.dlon, grid.nrows, grid.ncols], dtype=np.float64
        )
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
        slots = self._batch_slots(keys)
        cell = self._grid.cells(lat, lon)
        xyz = _unit_vectors(lat, lon)
        main = self._main
        # people still in their main-store cell are updated in place; the others leave it
        added, moved, gone = _apply_moves(
            slots, cell, lat, lon, xyz, self._where, main.cell, main.lat, main.lon, main.xyz
        )
        self._count += added
        self._kill_main(gone)
        if moved.size < slots.size:
            slots, lat, lon, keys, xyz, cell = (
                slots[moved],
                lat[moved],
                lon[moved],
                keys[moved],
                np.take(xyz, moved, axis=0),
                cell[moved],
            )
        self._refresh_overflow((slots, lat, lon, keys, xyz), cell)

    def _batch_slots(self, keys: KeyArray) -> IntArray:
        """Slot of each key of an update batch (in the batch's order), new slots for unknown
        keys; raises InvalidInput when a key repeats."""
        if keys.dtype.kind == "i" and self._sorted_keys.dtype.kind == "i":
            # one compiled walk over the sorted batch checks repeats and looks keys up
            order = np.argsort(keys)
            slots, repeat = _sorted_lookup(self._sorted_keys, self._sorted_slots, keys, order)
            if repeat >= 0:
                msg = (
                    f"ids contains {keys[repeat]!r} more than once; give each person one "
                    "position per batch"
                )
                raise InvalidInput(msg)
            new = np.flatnonzero(slots < 0)
            if new.size:
                new = new[np.argsort(keys[new])]  # _add_slots takes sorted keys
                slots[new] = self._add_slots(keys[new])
            return slots
        order, ordered = _key_order(keys)
        found = self._lookup(ordered)  # sorted keys look up faster
        new_mask = found < 0
        if new_mask.any():
            found[new_mask] = self._add_slots(ordered[new_mask])
        slots = np.empty_like(found)
        slots[order] = found  # in the order of the batch
        return slots

    def remove(self, ids: npt.ArrayLike) -> None:
        """Forget people's latest positions; raises NotFound for ids not in the index."""
        keys = _keys(ids, self._kind)
        if keys.size == 0:
            return
        keys = _key_order(keys)[1]
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
        if keys.dtype.kind == "i" and self._sorted_keys.dtype.kind == "i":
            return _merge_lookup(self._sorted_keys, self._sorted_slots, keys)
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
            if cell.size:
                columns = _joined_columns(columns, new)
                cell = np.concatenate([cell, new_cell])
            else:
                columns, cell = new, new_cell
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
        if self._count == 0:
            return self._slot_key[:0]
        if math.degrees(radius_km / EARTH_RADIUS_KM) * (1.0 + 1e-9) + _PAD_DEG >= 180.0:
            return self.ids()
        # one compiled call per store does the whole query (box, rows, dot-product test,
        # gathering the ids); Python only sees the rare points within a hair of the circle
        interior = _NO_INTERIOR
        parts: list[KeyArray] = []
        for store in (self._main, self._overflow):
            if store.slot.size == 0:
                continue
            live = _NO_LIVE if store.live is None else store.live
            ident = store.key if self._kind == "i" else store.slot
            args = (self._grid_params, store.start, store.xyz, live, ident)
            out, n, m, r0, r1, c0, c1 = _circle_ids(lat, lon, radius_km, *args, interior)
            if n < 0:  # dense: take the cells surely inside whole, then ask again
                query = _Circle.around(lat, lon, radius_km)
                interior = _interior_columns(self._grid, query, r0, r1, c0, c1)
                out, n, m, r0, r1, c0, c1 = _circle_ids(lat, lon, radius_km, *args, interior)
            parts.append(out[:n])
            if m:  # within a hair of the circle: the haversine decides
                ring = out[out.size - m :]
                exact = haversine_km_array(lat, lon, store.lat[ring], store.lon[ring]) <= radius_km
                parts.append(ident[ring[exact]])
        found = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return found if self._kind == "i" else self._slot_key[found]

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


class _Circle(NamedTuple):
    """A circle query with its dot-product thresholds on unit vectors: a point whose dot
    product with the centre ``(x, y, z)`` is ``>= cos_in`` is surely inside, one whose dot
    product is ``< cos_out`` surely outside; only points in between (a ring micrometres wide
    at 25 km, some metres for radii near zero) need the exact haversine check."""

    lat: float
    lon: float
    radius_km: float
    x: float
    y: float
    z: float
    cos_in: float
    cos_out: float

    @classmethod
    def around(cls, lat: float, lon: float, radius_km: float) -> _Circle:
        cos_theta = math.cos(radius_km / EARTH_RADIUS_KM)
        phi, lam = math.radians(lat), math.radians(lon)
        cos_phi = math.cos(phi)
        return cls(
            lat,
            lon,
            radius_km,
            cos_phi * math.cos(lam),
            cos_phi * math.sin(lam),
            math.sin(phi),
            cos_theta + _DOT_MARGIN,
            cos_theta - _DOT_MARGIN,
        )


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


def _interior_columns(grid: _Grid, query: _Circle, r0: int, r1: int, c0: int, c1: int) -> IntArray:
    """Per row ``r0..r1``, the first and last column of a run of cells whose four corners are
    surely inside the circle (first > last when there is none), as a (rows, 2) array. The
    distance to any point of such a small cell is at most the largest corner distance
    (docs/fanout.md). Border cells of the grid hold clamped outsiders and never count."""
    out: IntArray = _interior_kernel(
        grid.lat0,
        grid.lon0,
        grid.dlat,
        grid.dlon,
        grid.nrows,
        grid.ncols,
        r0,
        r1,
        c0,
        c1,
        query.lat,
        query.lon,
        query.cos_in,
    )
    return out


# --------------------------------------------------------------------------- numba kernels
# Compiled on first use and cached on disk (silkguard.core.jit); tests run them compiled and
# through ``py_func`` (the Python original), hence no coverage pragmas are needed for logic
# the tests reach either way.


@jit
def _interior_kernel(
    lat0: float,
    lon0: float,
    dlat: float,
    dlon: float,
    nrows: int,
    ncols: int,
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    lat_c: float,
    lon_c: float,
    cos_in: float,
) -> IntArray:
    """See :func:`_interior_columns`; the corner test is the dot product of unit vectors
    ``sin φ sin φc + cos φ cos φc cos Δλ >= cos_in`` at each grid corner."""
    nr = r1 - r0 + 2
    nc = c1 - c0 + 2
    phi_c = math.radians(lat_c)
    sin_c, cos_c = math.sin(phi_c), math.cos(phi_c)
    cos_dl = np.empty(nc)
    for j in range(nc):
        cos_dl[j] = math.cos(math.radians(lon0 + dlon * (c0 + j) - lon_c))
    ok = np.empty((nr, nc), dtype=np.bool_)
    for i in range(nr):
        phi = math.radians(lat0 + dlat * (r0 + i))
        s, c = math.sin(phi) * sin_c, math.cos(phi) * cos_c
        for j in range(nc):
            ok[i, j] = s + c * cos_dl[j] >= cos_in
    out = np.empty((nr - 1, 2), dtype=np.int64)
    for k in range(nr - 1):
        r = r0 + k
        first, last = c1 + 1, c1
        if 0 < r < nrows - 1:
            for j in range(nc - 1):
                col = c0 + j
                inner = 0 < col < ncols - 1
                corners = ok[k, j] and ok[k, j + 1] and ok[k + 1, j] and ok[k + 1, j + 1]
                if inner and corners:
                    if first > c1:
                        first = col
                    last = col
                elif first <= c1:
                    break  # one contiguous run only: every cell in first..last is checked
        out[k, 0] = first
        out[k, 1] = last
    return out


@jit
def _cell_index(value: float, origin: float, step: float, count: int) -> int:
    """Grid row or column of ``value``, clamped into ``0..count-1`` (as ``_Grid.row_of``)."""
    return min(max(math.floor((value - origin) / step), 0), count - 1)


@jit
def _circle_box(
    lat: float, lon: float, radius_km: float, grid: FloatArray
) -> tuple[int, int, int, int, int, int, float]:
    """Grid rows ``r0..r1`` and columns ``c0..c1`` plus ``c2..c3`` (empty when c2 > c3)
    covering the padded bounding box of the spherical cap (radius below half the
    circumference), and the box's half-width in longitude (180 when it holds a pole).
    ``grid`` is ``[lat0, lon0, dlat, dlon, nrows, ncols]``."""
    lat0, lon0, dlat, dlon = grid[0], grid[1], grid[2], grid[3]
    nrows, ncols = int(grid[4]), int(grid[5])
    delta = math.degrees(radius_km / EARTH_RADIUS_KM) * (1.0 + 1e-9) + _PAD_DEG
    r0 = _cell_index(lat - delta, lat0, dlat, nrows)
    r1 = _cell_index(lat + delta, lat0, dlat, nrows)
    half_width = 180.0
    if lat + delta < 90.0 and lat - delta > -90.0:  # else the cap holds a pole
        s = math.sin(math.radians(delta)) / math.cos(math.radians(lat))
        if s < 1.0:
            half_width = math.degrees(math.asin(s)) + _PAD_DEG
    if half_width >= 180.0:
        return r0, r1, 0, ncols - 1, 1, 0, half_width
    lo, hi = lon - half_width, lon + half_width
    c0 = _cell_index(max(lo, -180.0), lon0, dlon, ncols)
    c1 = _cell_index(min(hi, 180.0), lon0, dlon, ncols)
    c2, c3 = 1, 0
    if lo < -180.0:  # the box wraps at the antimeridian (at most one side: half_width < 180)
        c2, c3 = _cell_index(lo + 360.0, lon0, dlon, ncols), _cell_index(180.0, lon0, dlon, ncols)
    elif hi > 180.0:
        c2, c3 = _cell_index(-180.0, lon0, dlon, ncols), _cell_index(hi - 360.0, lon0, dlon, ncols)
    if c2 <= c3:
        if c2 < c0 or (c2 == c0 and c3 < c1):
            c0, c1, c2, c3 = c2, c3, c0, c1
        if c2 <= c1 + 1:  # clamping can make the wrapped pieces overlap
            c1, c2, c3 = max(c1, c3), 1, 0
    return r0, r1, c0, c1, c2, c3, half_width


@jit
def _circle_ids(
    lat: float,
    lon: float,
    radius_km: float,
    grid: FloatArray,
    start: IntArray,
    xyz: FloatArray,
    live: BoolArray,
    ident: IntArray,
    interior: IntArray,
) -> tuple[IntArray, int, int, int, int, int, int]:
    """One store's part of a circle query (radius below half the circumference).

    ``ident`` holds what to return per entry (ids, or slots for string ids). Returns
    ``(out, n, m, r0, r1, c0, c1)``: ``out[:n]`` are the ``ident`` of the entries surely
    inside, ``out[out.size - m:]`` the positions of entries within a hair of the circle (the
    caller decides them with the haversine function); one array, so that returning to Python
    boxes one. When the query is dense, may take interior cells whole and ``interior`` is
    empty, nothing is scanned, ``n`` is -1 and ``r0, r1, c0, c1`` are the box for
    :func:`_interior_columns`."""
    r0, r1, c0, c1, c2, c3, half_width = _circle_box(lat, lon, radius_km, grid)
    ncols = int(grid[5])
    total = 0
    for r in range(r0, r1 + 1):
        base = r * ncols
        total += start[base + c1 + 1] - start[base + c0]
        if c2 <= c3:
            total += start[base + c3 + 1] - start[base + c2]
    if (
        interior.shape[0] == 0
        and total >= _SPLIT_MIN_CANDIDATES
        and c2 > c3
        and radius_km <= _INTERIOR_MAX_RADIUS_KM
        and half_width <= _INTERIOR_MAX_HALF_WIDTH_DEG
        and max(grid[2], grid[3]) <= _INTERIOR_MAX_CELL_DEG
    ):
        return start[:0], -1, 0, r0, r1, c0, c1
    cos_theta = math.cos(radius_km / EARTH_RADIUS_KM)
    phi, lam = math.radians(lat), math.radians(lon)
    centre = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))
    out = np.empty(total, dtype=np.int64)
    n, m = 0, total  # ids from the front, ring positions from the back
    for k in range(r1 - r0 + 1):
        base = (r0 + k) * ncols
        # per row: up to two ranges to test, one to take whole
        a0, b0 = start[base + c0], start[base + c1 + 1]
        a1 = b1 = a2 = b2 = b0
        if interior.shape[0] > 0 and interior[k, 0] <= interior[k, 1]:
            a1, b1 = start[base + interior[k, 0]], start[base + interior[k, 1] + 1]
            a2, b2, b0 = b1, b0, a1
        elif c2 <= c3:
            a2, b2 = start[base + c2], start[base + c3 + 1]
        n, m = _test_range(a0, b0, xyz, live, ident, centre, cos_theta, out, n, m)
        n, m = _test_range(a2, b2, xyz, live, ident, centre, cos_theta, out, n, m)
        if live.size == 0:  # taken whole: a block copy
            out[n : n + b1 - a1] = ident[a1:b1]
            n += b1 - a1
        else:
            for i in range(a1, b1):
                if live[i]:
                    out[n] = ident[i]
                    n += 1
    return out, n, total - m, r0, r1, c0, c1


@jit
def _test_range(
    a: int,
    b: int,
    xyz: FloatArray,
    live: BoolArray,
    ident: IntArray,
    centre: tuple[float, float, float],
    cos_theta: float,
    out: IntArray,
    n: int,
    m: int,
) -> tuple[int, int]:
    """Entries ``a..b-1`` (live ones): surely inside ones write their ``ident`` to
    ``out[n], out[n + 1], ...``, those within a hair of the circle their position to
    ``out[m - 1], out[m - 2], ...`` (docs/fanout.md, pre-filter); returns the new
    ``(n, m)``."""
    x, y, z = centre
    cos_in, cos_out = cos_theta + _DOT_MARGIN, cos_theta - _DOT_MARGIN
    for i in range(a, b):
        if live.size > 0 and not live[i]:
            continue
        dot = xyz[i, 0] * x + xyz[i, 1] * y + xyz[i, 2] * z
        if dot >= cos_in:
            out[n] = ident[i]
            n += 1
        elif dot >= cos_out:
            m -= 1
            out[m] = i
    return n, m


@jit
def _bucket_order(cell: npt.NDArray[np.int32], ncells: int) -> tuple[IntArray, IntArray]:
    """Counting sort by cell: ``order`` lists the entries cell by cell (stable within a cell)
    and ``start[c]:start[c + 1]`` is cell ``c``'s range in that order."""
    start = np.zeros(ncells + 1, dtype=np.int64)
    for c in cell:
        start[c + 1] += 1
    for c in range(ncells):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(cell.size, dtype=np.int64)
    for i in range(cell.size):
        c = cell[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, start


@jit
def _apply_moves(
    slots: IntArray,
    cell: npt.NDArray[np.int32],
    lat: FloatArray,
    lon: FloatArray,
    xyz: FloatArray,
    where: IntArray,
    main_cell: npt.NDArray[np.int32],
    main_lat: FloatArray,
    main_lon: FloatArray,
    main_xyz: FloatArray,
) -> tuple[int, IntArray, IntArray]:
    """Apply new positions (``slots`` distinct): people whose main-store entry stays in its
    cell are updated in place. Returns how many slots had no position before, the indices of
    the movers that go to the overflow store (their ``where`` becomes ``_ABSENT`` until the
    overflow is rebuilt) and the main-store entries they leave (to mark stale)."""
    # the random reads first, in passes of independent loads (their cache misses overlap),
    # then the decisions
    entry = np.empty(slots.size, dtype=np.int64)
    for j in range(slots.size):
        entry[j] = where[slots[j]]
    old_cell = np.empty(slots.size, dtype=np.int32)
    for j in range(slots.size):
        old_cell[j] = main_cell[max(entry[j], 0)] if main_cell.size else -1
    added = 0
    moved = np.empty(slots.size, dtype=np.int64)
    gone = np.empty(slots.size, dtype=np.int64)
    k = m = 0
    for j in range(slots.size):
        w = entry[j]
        if w == _ABSENT:
            added += 1
        if w >= 0 and old_cell[j] == cell[j]:
            main_lat[w], main_lon[w] = lat[j], lon[j]
            main_xyz[w, 0], main_xyz[w, 1], main_xyz[w, 2] = xyz[j, 0], xyz[j, 1], xyz[j, 2]
            continue
        if w >= 0:
            gone[k] = w
            k += 1
        where[slots[j]] = _ABSENT  # an old overflow entry, if any, is stale
        moved[m] = j
        m += 1
    return added, moved[:m], gone[:k]


@jit
def _gallop(sorted_keys: IntArray, lo: int, key: int) -> int:
    """First index at or after ``lo`` whose key is >= ``key`` (``sorted_keys.size`` when none):
    galloping from ``lo`` to a bracket, then binary search inside it."""
    n = sorted_keys.size
    step = 1
    hi = lo
    while hi < n and sorted_keys[hi] < key:
        lo = hi + 1
        hi = lo + step
        step *= 2
    hi = min(hi, n)
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _merge_lookup(sorted_keys: IntArray, sorted_slots: IntArray, keys: IntArray) -> IntArray:
    """Slot of each of the ascending ``keys`` in ``sorted_keys`` (-1 when absent), by one
    forward walk: galloping then binary search from the previous match."""
    out = np.empty(keys.size, dtype=np.int64)
    n = sorted_keys.size
    lo = 0
    for j in range(keys.size):
        key = keys[j]
        lo = _gallop(sorted_keys, lo, key)
        out[j] = sorted_slots[lo] if lo < n and sorted_keys[lo] == key else -1
    return out


@jit
def _unit_vectors_kernel(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """See :func:`_unit_vectors`. One pass without temporaries: on this code's machines numpy's
    version spent more time on page faults for its seven temporaries than on the trigonometry."""
    out = np.empty((lat.size, 3))
    for i in range(lat.size):
        phi, lam = math.radians(lat[i]), math.radians(lon[i])
        cos_phi = math.cos(phi)
        out[i, 0] = cos_phi * math.cos(lam)
        out[i, 1] = cos_phi * math.sin(lam)
        out[i, 2] = math.sin(phi)
    return out


@jit
def _cells_kernel(
    lat: FloatArray,
    lon: FloatArray,
    lat0: float,
    lon0: float,
    dlat: float,
    dlon: float,
    nrows: int,
    ncols: int,
) -> npt.NDArray[np.int32]:
    """See :meth:`_Grid.cells`."""
    out = np.empty(lat.size, dtype=np.int32)
    for i in range(lat.size):
        row = _cell_index(lat[i], lat0, dlat, nrows)
        out[i] = row * ncols + _cell_index(lon[i], lon0, dlon, ncols)
    return out


@jit
def _sorted_lookup(
    sorted_keys: IntArray, sorted_slots: IntArray, keys: IntArray, order: IntArray
) -> tuple[IntArray, int]:
    """Slot of each of ``keys`` (-1 when absent; in the order of ``keys``), walking them in
    ascending order ``order`` as :func:`_merge_lookup` does. Also returns the index of a key
    equal to the one before it in that order, -1 when the keys are distinct."""
    out = np.empty(keys.size, dtype=np.int64)
    ordered = np.empty(keys.size, dtype=np.int64)
    for j in range(order.size):  # independent loads first: their cache misses overlap
        ordered[j] = keys[order[j]]
    n = sorted_keys.size
    lo = 0
    for j in range(order.size):
        i = order[j]
        key = ordered[j]
        if j > 0 and key == ordered[j - 1]:
            return out, i
        lo = _gallop(sorted_keys, lo, key)
        out[i] = sorted_slots[lo] if lo < n and sorted_keys[lo] == key else -1
    return out, -1
