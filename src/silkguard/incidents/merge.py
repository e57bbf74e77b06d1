"""The merged view: an incident's columns computed from all of its source records.

Curated sources (native, field reports) speak first, then news, STIX, GTD, ACLED and tips;
the finest date and position win whatever the source; casualty counts and types come from the
highest-priority record that states them; nationalities are the union; the TLP marking is the
most restrictive of all records. Disagreements stay on the records and are listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from silkguard.core.tlp import most_restrictive
from silkguard.incidents.fields import MERGEABLE_FIELDS, IncidentFields
from silkguard.incidents.vocab import DatePrecision, GeoPrecision, SourceKind

__all__ = ["SOURCE_PRIORITY", "MergeInput", "merged_columns"]

SOURCE_PRIORITY: dict[SourceKind, int] = {
    SourceKind.NATIVE: 0,
    SourceKind.FIELD: 0,
    SourceKind.NEWS: 1,
    SourceKind.STIX: 2,
    SourceKind.GTD: 3,
    SourceKind.ACLED: 4,
    SourceKind.TIP: 5,
    SourceKind.POOL: 0,  # the only record of a pooled copy
}
_DATE_ORDER = [DatePrecision.TIME, DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR]
_GEO_ORDER = list(GeoPrecision)
_UNKNOWN = {"unknown", "other"}


@dataclass(frozen=True, slots=True)
class MergeInput:
    kind: SourceKind
    imported_at: datetime
    fields: IncidentFields


def merged_columns(records: list[MergeInput]) -> tuple[dict[str, Any], list[str]]:
    """Incident column values and a list of the fields on which records disagree."""
    ordered = sorted(records, key=lambda r: (SOURCE_PRIORITY[r.kind], r.imported_at))
    out: dict[str, Any] = {}
    conflicts: list[str] = []
    when = min(ordered, key=lambda r: _DATE_ORDER.index(r.fields.date_precision)).fields
    out["occurred_at"] = when.occurred_at
    out["date_precision"] = when.date_precision.value
    where = min(ordered, key=lambda r: _GEO_ORDER.index(r.fields.geo_precision)).fields
    out["latitude"], out["longitude"] = where.latitude, where.longitude
    out["geo_precision"] = where.geo_precision.value
    for res in (4, 6, 8):
        out[f"h3_r{res}"] = where.h3.get(res)
    for name in MERGEABLE_FIELDS:
        values = [getattr(r.fields, name) for r in ordered]
        stated = [v for v in values if v is not None and str(v) not in _UNKNOWN]
        if not stated:
            stated = [v for v in values if v is not None]
        chosen = stated[0] if stated else None
        out[name] = chosen.value if isinstance(chosen, StrEnum) else chosen
        if len({str(v) for v in stated}) > 1:
            conflicts.append(name)
    out["nationalities"] = sorted({n for r in ordered for n in r.fields.nationalities})
    out["tlp"] = most_restrictive(*(r.fields.tlp for r in ordered)).value
    return out, conflicts
