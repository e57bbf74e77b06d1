"""Searching incidents: filters, the visibility rule, and keyset (cursor) pagination.
Every read of incidents in the API goes through :func:`visible` so no route can forget TLP."""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

import h3
import h3.api.basic_int as h3_int
from shapely import Point, get_num_coordinates, prepared
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Dialect,
    Integer,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from silkguard.core.access import Principal, visible_clause
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.incidents.geojson import render_feature
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare

__all__ = [
    "IncidentFilter",
    "decode_cursor",
    "encode_cursor",
    "get_visible",
    "iter_visible",
    "parse_bbox",
    "parse_h3_cell",
    "parse_polygon",
    "search",
    "search_features",
    "visible",
]

_H3_COLUMNS = {4: Incident.h3_r4, 6: Incident.h3_r6, 8: Incident.h3_r8}
MAX_POLYGON_VERTICES = 10_000
_COVER_MAX_DEG2 = 40.0  # boxes larger than this are served by the time index instead
_COVER_MAX_CELLS = 400


@dataclass
class IncidentFilter:
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    polygon: BaseGeometry | None = None
    h3_cell: str | None = None
    province: str | None = None
    district: str | None = None
    attack_types: list[str] = field(default_factory=list)
    target_types: list[str] = field(default_factory=list)
    perpetrator: str | None = None
    text: str | None = None
    statuses: list[str] = field(default_factory=list)
    tlps: list[str] = field(default_factory=list)
    org_id: uuid.UUID | None = None


def visible(principal: Principal) -> ColumnElement[bool]:
    """The TLP/sharing-group/organisation rule for incidents (see core.access)."""
    return visible_clause(
        principal,
        org_col=Incident.org_id,
        tlp_col=Incident.tlp,
        status_col=Incident.status,
        created_by_col=Incident.created_by,
        shared_with_groups=lambda groups: exists().where(
            IncidentShare.incident_id == Incident.id, IncidentShare.group_id.in_(sorted(groups))
        ),
        is_recipient=lambda user: exists().where(
            IncidentRecipient.incident_id == Incident.id, IncidentRecipient.user_id == user
        ),
    )


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        msg = f"bbox {text!r} must be four numbers: min_lon,min_lat,max_lon,max_lat"
        raise InvalidInput(msg)
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        msg = (
            f"bbox {text!r} is not a box: need -180 <= min_lon <= max_lon <= 180 and "
            "-90 <= min_lat <= max_lat <= 90 (longitude first)"
        )
        raise InvalidInput(msg)
    return min_lon, min_lat, max_lon, max_lat


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"coordinate {text} is not a finite number")
    return number


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a coordinate")


def parse_polygon(value: str | dict[str, Any]) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (geometry or Feature), in lon/lat, of at most
    :data:`MAX_POLYGON_VERTICES` points. Malformed input of any kind (bad JSON, NaN or
    infinite coordinates, nesting too deep to parse, rings GEOS refuses) is
    :class:`InvalidInput`."""
    try:
        data = (
            json.loads(value, parse_float=_finite, parse_constant=_no_constant)
            if isinstance(value, str)
            else value
        )
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry")
        if not isinstance(data, dict) or data.get("type") not in {"Polygon", "MultiPolygon"}:
            raise ValueError("not a Polygon or MultiPolygon")
        geom = shape(data)
        valid = not geom.is_empty and geom.is_valid
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ShapelyError) as exc:
        msg = f"polygon is not a GeoJSON Polygon or MultiPolygon in lon/lat ({exc})"
        raise InvalidInput(msg) from None
    except RecursionError:
        msg = "polygon is nested too deeply to be GeoJSON; send [[[lon, lat], ...]] rings"
        raise InvalidInput(msg) from None
    if not valid:
        msg = (
            "polygon is empty or self-intersecting; send a valid GeoJSON ring (first = last point)"
        )
        raise InvalidInput(msg)
    if get_num_coordinates(geom) > MAX_POLYGON_VERTICES:
        msg = f"polygon has more than {MAX_POLYGON_VERTICES} points; simplify it"
        raise InvalidInput(msg)
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (min_lon >= -180 and max_lon <= 180 and min_lat >= -90 and max_lat <= 90):
        msg = "polygon coordinates must be [longitude, latitude] within the world's range"
        raise InvalidInput(msg)
    return geom


_TILE_DEG = 0.25  # boxes are covered by the cells of the fixed tiles they touch


@lru_cache(maxsize=65_536)
def _tile_cells(ix: int, iy: int) -> frozenset[int] | None:
    """Resolution-4 cells (as integers) that cover one 0.25 degree tile, plus a ring: a stored
    cell is the parent of the point's resolution-8 cell and may sit next to the tile. None
    when H3 cannot cover it."""
    min_lon, min_lat = -180 + ix * _TILE_DEG, -90 + iy * _TILE_DEG
    max_lon, max_lat = min(min_lon + _TILE_DEG, 180.0), min(min_lat + _TILE_DEG, 90.0)
    tile = h3.LatLngPoly(
        [(min_lat, min_lon), (min_lat, max_lon), (max_lat, max_lon), (max_lat, min_lon)]
    )
    try:
        inner = h3_int.h3shape_to_cells_experimental(tile, 4, contain="overlap")
        cells = {c for cell in inner for c in h3_int.grid_disk(cell, 1)}
    except h3.H3BaseException:
        return None
    return frozenset(cells) if cells else None


def _tile_range(low: float, high: float, lowest: float, count: int) -> range:
    first = min(max(math.floor((low - lowest) / _TILE_DEG), 0), count - 1)
    last = min(max(math.floor((high - lowest) / _TILE_DEG), 0), count - 1)
    return range(first, last + 1)


@lru_cache(maxsize=1024)
def _h3_cover(
    min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> tuple[int, ...] | None:
    """Resolution-4 cells that include the stored cell of every point in a box, so the
    (h3_r4, occurred_at) index can serve the query; None when the box is too large for that
    to help. The cells are those of the 0.25 degree tiles the box touches (each tile's are
    computed once per process): a few more cells than the box's own cover, at a fraction of
    the cost of computing that for every box a map sends."""
    if (max_lon - min_lon) * (max_lat - min_lat) > _COVER_MAX_DEG2:
        return None
    cells: set[int] = set()
    for ix in _tile_range(min_lon, max_lon, -180.0, round(360 / _TILE_DEG)):
        for iy in _tile_range(min_lat, max_lat, -90.0, round(180 / _TILE_DEG)):
            tile = _tile_cells(ix, iy)
            if tile is None:
                return None
            cells |= tile
    if len(cells) > _COVER_MAX_CELLS:
        return None
    return tuple(sorted(cells))


def _valid_cell(cell: str) -> bool:
    try:
        return bool(h3.is_valid_cell(cell))
    except (ValueError, TypeError, OverflowError):  # "-1", or more than 64 bits of hex
        return False


def parse_h3_cell(text: str) -> str:
    """A searchable H3 cell (hex, resolution 0-8) from user input, else :class:`InvalidInput`.
    Routes call it while reading the request, before a (streamed) response has started."""
    cell = text.strip().lower()
    if not _valid_cell(cell):
        msg = f"h3 {text!r} is not a valid H3 cell; give a hex id such as 8628308a7ffffff"
        raise InvalidInput(msg)
    res = h3.get_resolution(cell)
    if res > 8:
        msg = f"h3 cell {cell} has resolution {res}; cells up to resolution 8 can be searched"
        raise InvalidInput(msg)
    return str(cell)


def _h3_cells(cell: str) -> tuple[int, int | list[int]]:
    """The stored resolution that answers a search by ``cell``, and the value (one cell) or
    values (its children) to look for in that column."""
    res = h3.get_resolution(cell)
    stored = min(r for r in _H3_COLUMNS if r >= res)
    if stored == res:
        return stored, int(h3.str_to_int(cell))
    return stored, [int(h3.str_to_int(c)) for c in h3.cell_to_children(cell, stored)]


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _ci_contains(column: Any, param: str) -> ColumnElement[bool]:
    return func.lower(column).like(bindparam(param), escape="\\")


def _boxes(f: IncidentFilter) -> list[tuple[float, float, float, float]]:
    """The bounding boxes a search is limited to: the bbox and the polygon's bounds."""
    return [b for b in (f.bbox, f.polygon.bounds if f.polygon is not None else None) if b]


# A search is planned as a *shape* (which conditions it has) and the values of their bound
# parameters. The statement of a shape is built once per caller (see _keys_statement), so a
# search costs the SQL and the binding of its values, not the construction, cache-key
# computation and compilation of a new statement each time.
_Shape = tuple[Hashable, ...]


def _plan(f: IncidentFilter) -> tuple[_Shape, dict[str, Any]]:
    """The shape of the filters and the values of its parameters."""
    shape: list[Hashable] = []
    params: dict[str, Any] = {}
    for name, moment in (("since", f.since), ("until", f.until)):
        if moment is not None:
            shape.append(name)
            params[f"f_{name}"] = moment
    for i, box in enumerate(_boxes(f)):
        cover = _h3_cover(*box)
        shape.append(("box", i, cover is not None))
        for name, value in zip(("min_lon", "min_lat", "max_lon", "max_lat"), box, strict=True):
            params[f"f_box{i}_{name}"] = value
        if cover is not None:
            params[f"f_box{i}_cells"] = list(cover)
    if f.h3_cell:
        stored, cells = _h3_cells(parse_h3_cell(f.h3_cell))
        shape.append(("h3", stored, isinstance(cells, int)))
        params["f_h3"] = cells
    optional: tuple[tuple[str, Any, Callable[[Any], Any]], ...] = (
        ("province", f.province, str.lower),
        ("district", f.district, str.lower),
        ("attack_types", f.attack_types, list),
        ("target_types", f.target_types, list),
        ("statuses", f.statuses, list),
        ("tlps", f.tlps, list),
        ("perpetrator", f.perpetrator, _like_pattern),
        ("text", f.text, _like_pattern),
    )
    for name, value, convert in optional:
        if value:  # an empty text or list is no condition
            shape.append(name)
            params[f"f_{name}"] = convert(value)
    if f.org_id is not None:
        shape.append("org_id")
        params["f_org_id"] = f.org_id
    return tuple(shape), params


_LISTS = {
    "attack_types": Incident.attack_type,
    "target_types": Incident.target_type,
    "statuses": Incident.status,
    "tlps": Incident.tlp,
}


def _in_cells(column: Any, param: str, dialect: str) -> ColumnElement[bool]:
    """``column IN`` the list bound as ``param``. PostgreSQL gets ``= ANY`` of one array
    parameter: the statement's text then does not change with the number of cells, and
    psycopg prepares it after five runs (no parsing and planning per search; SQL of the
    benchmark's searches 2.9 -> 1.9 ms). Other databases get an expanding IN."""
    if dialect == "postgresql":
        return cast(
            "ColumnElement[bool]", column == any_(bindparam(param, type_=ARRAY(BigInteger)))
        )
    return cast("ColumnElement[bool]", column.in_(bindparam(param, expanding=True)))


def _condition(item: Hashable, dialect: str) -> list[ColumnElement[bool]]:
    """The SQL of one element of a shape, with bound parameters named as in :func:`_plan`,
    for ``dialect``."""
    if isinstance(item, tuple) and item[0] == "box":
        _, i, covered = item
        out: list[ColumnElement[bool]] = [
            Incident.longitude.between(
                bindparam(f"f_box{i}_min_lon"), bindparam(f"f_box{i}_max_lon")
            ),
            Incident.latitude.between(
                bindparam(f"f_box{i}_min_lat"), bindparam(f"f_box{i}_max_lat")
            ),
        ]
        if covered:
            out.append(_in_cells(Incident.h3_r4, f"f_box{i}_cells", dialect))
        return out
    if isinstance(item, tuple) and item[0] == "h3":
        _, stored, single = item
        cells = _H3_COLUMNS[stored]
        if single:
            return [cells == bindparam("f_h3")]
        return [cells.in_(bindparam("f_h3", expanding=True))]
    if item == "since":
        return [Incident.occurred_at >= bindparam("f_since")]
    if item == "until":
        return [Incident.occurred_at < bindparam("f_until")]
    if item in ("province", "district"):
        column = Incident.province if item == "province" else Incident.district
        return [func.lower(column) == bindparam(f"f_{item}")]
    if item in _LISTS:
        return [_LISTS[str(item)].in_(bindparam(f"f_{item}", expanding=True))]
    if item == "perpetrator":
        return [_ci_contains(Incident.perpetrator, "f_perpetrator")]
    if item == "text":
        return [
            or_(
                _ci_contains(Incident.summary, "f_text"),
                _ci_contains(Incident.place, "f_text"),
                _ci_contains(Incident.perpetrator, "f_text"),
                _ci_contains(Incident.district, "f_text"),
            )
        ]
    if item == "org_id":
        return [Incident.org_id == bindparam("f_org_id")]
    msg = f"unknown search condition {item!r}"
    raise AssertionError(msg)


def encode_cursor(occurred_at: datetime, ident: uuid.UUID) -> str:
    raw = json.dumps([occurred_at.isoformat(), str(ident)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position :func:`encode_cursor` wrote; anything else (edited, truncated, made up,
    a naive or out-of-range time) is :class:`InvalidInput`, never a server error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not (isinstance(when, str) and isinstance(ident, str)):
            raise TypeError("cursor fields are not text")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return moment.astimezone(UTC), uuid.UUID(ident)
    except (ValueError, TypeError, OverflowError, binascii.Error):
        msg = "cursor is not one this API issued; pass next_cursor from the previous page as is"
        raise InvalidInput(msg) from None


_ORDER = (Incident.occurred_at.desc(), Incident.id.desc())
# Positions after a page's last row (its time and id), for the next page.
_AFTER = or_(
    Incident.occurred_at < bindparam("k_after_when"),
    and_(Incident.occurred_at == bindparam("k_after_when"), Incident.id < bindparam("k_after_id")),
)
_PAGE_COLUMNS: dict[str, tuple[Any, ...]] = {
    "entity": (Incident,),
    # time and id as the database returns them: only the cursor's row needs them converted
    "features": (
        type_coerce(Incident.occurred_at, NullType()).label("occurred_at"),
        type_coerce(Incident.id, NullType()).label("id"),
        Incident.longitude,
        Incident.latitude,
        Incident.feature,
    ),
}


@lru_cache(maxsize=512)
def _keys_statement(
    principal: Principal, shape: _Shape, after: bool, dialect: str
) -> Select[uuid.UUID]:
    """The ids of the matching visible incidents, newest first (parameters: see _plan, and
    ``k_after_when``/``k_after_id`` with ``after``). With a box the (h3_r4, occurred_at, id,
    position, visibility columns) index answers it alone. Built once per caller and shape."""
    conditions = [c for item in shape for c in _condition(item, dialect)]
    if after:
        conditions.append(_AFTER)
    stmt = select(Incident.id).where(and_(visible(principal), *conditions)).order_by(*_ORDER)
    boxes = [item for item in shape if isinstance(item, tuple) and item[0] == "box"]
    if boxes and all(covered for _, _, covered in boxes):
        # With a cell list the covering index is far narrower, but SQLite's planner picks the
        # time index for a time range (measured 4.3 ms against 0.9 ms for a 3x3 degree box over
        # 5 years of 20k incidents). PostgreSQL chooses well by itself.
        stmt = stmt.with_hint(Incident, "INDEXED BY ix_incidents_h3_r4_cover", "sqlite")
    return stmt


@lru_cache(maxsize=512)
def _page_statement(
    principal: Principal, shape: _Shape, after: bool, columns: str, dialect: str
) -> Select[Any]:
    """The rows (``columns``) of the first ``k_limit`` keys of :func:`_keys_statement`, in
    no particular order."""
    keys = _keys_statement(principal, shape, after, dialect)
    # unordered: the database would sort the whole rows (SQLite in a temporary B-tree, 0.7 of
    # 1.9 ms for a page of 100 features); _page orders the few keys itself
    return select(*_PAGE_COLUMNS[columns]).where(
        Incident.id.in_(keys.limit(bindparam("k_limit", type_=Integer)).scalar_subquery())
    )


_Key = tuple[datetime, uuid.UUID]


def _entity_key(incident: Incident) -> _Key:
    return incident.occurred_at, incident.id


@lru_cache(maxsize=8)
def _raw_key(dialect: Dialect) -> Callable[[Row[Any]], _Key]:
    """The position of a row whose time and id were read without conversion (see
    _PAGE_COLUMNS): a page converts only the one it needs for its cursor."""
    table = Incident.__table__.c
    when = table.occurred_at.type.dialect_impl(dialect).result_processor(dialect, None)
    ident = table.id.type.dialect_impl(dialect).result_processor(dialect, None)

    def key(row: Row[Any]) -> _Key:
        at = when(row.occurred_at) if when else row.occurred_at
        id_ = ident(row.id) if ident else row.id
        return cast("datetime", at), cast("uuid.UUID", id_)

    return key


def _stored_order(row: Any) -> tuple[Any, Any]:
    """Sorts rows as the database's ORDER BY occurred_at, id does, from the values as read
    (unconverted ones too: SQLite's fixed-width time text and id hex sort as the times and
    ids do, and psycopg returns datetimes and UUIDs, which sort as PostgreSQL's types)."""
    return row.occurred_at, row.id


def _page(
    session: Session,
    *,
    principal: Principal,
    filters: IncidentFilter,
    limit: int,
    cursor: str | None,
    columns: str,
) -> tuple[list[Any], str | None, Callable[[Any], _Key]]:
    """One page of ``columns`` of visible incidents, the next cursor, and how to read the
    position (time, id) of one of its rows. The keys of the page are selected first (from
    an index where possible) and only then its rows are read."""
    shape, params = _plan(filters)
    params["k_limit"] = limit + 1
    after = decode_cursor(cursor) if cursor else None
    entity = columns == "entity"
    # plain columns are read without the ORM (no loading machinery per row)
    dialect = session.get_bind().dialect
    key_of: Callable[[Any], _Key] = _entity_key if entity else _raw_key(dialect)
    page: list[Any] = []
    inside = prepared.prep(filters.polygon) if filters.polygon is not None else None
    while len(page) <= limit:
        stmt = _page_statement(principal, shape, after is not None, columns, dialect.name)
        if after is not None:
            params["k_after_when"], params["k_after_id"] = after
        if entity:
            batch = list(session.execute(stmt, params).scalars())
        else:
            batch = list(session.connection().execute(stmt, params))
        batch.sort(key=_stored_order, reverse=True)
        for inc in batch:
            if inside is None or (
                inc.longitude is not None
                and inc.latitude is not None
                and inside.covers(Point(inc.longitude, inc.latitude))
            ):
                page.append(inc)
        if len(batch) <= limit or inside is None:
            break
        # the next batch starts after this one (which itself started after the cursor)
        after = key_of(batch[-1])
    if len(page) > limit:
        return page[:limit], encode_cursor(*key_of(page[limit - 1])), key_of
    return page, None, key_of


def search(
    session: Session,
    *,
    principal: Principal,
    filters: IncidentFilter,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[Incident], str | None]:
    """One page of visible incidents, newest first, and the cursor of the next page."""
    items, next_cursor, _ = _page(
        session,
        principal=principal,
        filters=filters,
        limit=limit,
        cursor=cursor,
        columns="entity",
    )
    return items, next_cursor


def search_features(
    session: Session,
    *,
    principal: Principal,
    filters: IncidentFilter,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[str], str | None]:
    """The same page as :func:`search`, as the incidents' stored GeoJSON Feature texts (rows
    without one are rendered here)."""
    rows, next_cursor, key_of = _page(
        session,
        principal=principal,
        filters=filters,
        limit=limit,
        cursor=cursor,
        columns="features",
    )
    missing = [key_of(r)[1] for r in rows if r.feature is None]
    if not missing:
        return [r.feature for r in rows], next_cursor
    stmt = select(Incident).where(Incident.id.in_(missing))
    rendered = {i.id: render_feature(i) for i in session.execute(stmt).scalars()}
    return [
        r.feature if r.feature is not None else rendered[key_of(r)[1]] for r in rows
    ], next_cursor


def iter_visible(
    session: Session, *, principal: Principal, filters: IncidentFilter, chunk: int = 1000
) -> Iterator[Incident]:
    """Every visible incident matching ``filters`` (exports), in pages of ``chunk``."""
    cursor: str | None = None
    while True:
        page, cursor = search(
            session, principal=principal, filters=filters, limit=chunk, cursor=cursor
        )
        yield from page
        session.expunge_all()
        if cursor is None:
            return


def get_visible(session: Session, *, principal: Principal, incident_id: uuid.UUID) -> Incident:
    """An incident the caller may see; invisible ones are reported as not found."""
    stmt = select(Incident).where(Incident.id == incident_id, visible(principal))
    incident = session.execute(stmt).scalar_one_or_none()
    if incident is None:
        msg = f"incident {incident_id} does not exist or is not shared with your organisation"
        raise NotFound(msg)
    return incident
