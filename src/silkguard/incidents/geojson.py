"""Pre-rendered GeoJSON: every incident keeps its Feature as JSON text in ``incidents.feature``,
so a map page is a join of stored strings (no ORM objects, no pydantic per row).

The text is exactly what ``GeoJSONFeature.model_dump_json()`` gives for the incident's
``IncidentRead`` (properties without latitude/longitude, in the schema's order); the tests
compare the two. It is written wherever an incident row is written: the ORM hook in
``incidents.models`` (after every flush that inserts or changes an incident, once version and
updated_at are known) and the importer's Core inserts. Rows without it (written by other
code) are rendered on the fly when read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import h3

from silkguard.incidents.schemas import GeoJSONFeature

__all__ = ["PROPERTY_NAMES", "feature_collection", "render_feature", "render_row"]

# IncidentRead's fields in order, without latitude and longitude (they are the geometry).
PROPERTY_NAMES = (
    "id",
    "occurred_at",
    "date_precision",
    "geo_precision",
    "place",
    "district",
    "province",
    "country",
    "h3_r6",
    "attack_type",
    "target_type",
    "perpetrator",
    "claimed",
    "killed",
    "injured",
    "killed_foreign",
    "injured_foreign",
    "nationalities",
    "on_the_move",
    "summary",
    "tlp",
    "status",
    "org_id",
    "version",
    "created_at",
    "updated_at",
)
_DATES = {"occurred_at", "created_at", "updated_at"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _iso(value: datetime) -> str:
    # pydantic's form: UTC as "Z", microseconds only when there are some
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATES:
        return _iso(value)
    if name == "h3_r6":
        return h3.int_to_str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "value"):  # an enum member
        return value.value
    return value


def _plain_float(value: float) -> bool:
    # Python writes 1e-05 where pydantic writes 0.00001; such points take the slow path.
    return "e" not in repr(value) and "n" not in repr(value)


def render_feature(incident: Any, *, get: Callable[..., Any] = getattr) -> str:
    """The Feature of one incident as JSON text; ``get(incident, name)`` reads a column."""
    lat, lon = get(incident, "latitude"), get(incident, "longitude")
    geometry = None
    if lat is not None and lon is not None:
        if not (_plain_float(float(lon)) and _plain_float(float(lat))):
            props = {n: _value(n, get(incident, n)) for n in PROPERTY_NAMES}
            return GeoJSONFeature.model_validate(
                {
                    "id": props["id"],
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": props,
                }
            ).model_dump_json()
        geometry = {"type": "Point", "coordinates": [float(lon), float(lat)]}
    props = {n: _value(n, get(incident, n)) for n in PROPERTY_NAMES}
    return str(
        _dumps({"type": "Feature", "id": props["id"], "geometry": geometry, "properties": props})
    )


def render_row(row: Mapping[str, Any]) -> str:
    """:func:`render_feature` of a mapping of column values (Core inserts)."""
    return render_feature(row, get=lambda m, k: m.get(k))


def feature_collection(features: Iterable[str], next_cursor: str | None) -> str:
    """``GeoJSONFeatureCollection(...).model_dump_json()`` of pre-rendered features."""
    return (
        '{"type":"FeatureCollection","features":['
        + ",".join(features)
        + '],"next_cursor":'
        + _dumps(next_cursor)
        + "}"
    )
