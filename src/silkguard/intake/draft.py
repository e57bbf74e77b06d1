"""The result of text extraction: an incident draft with the text span behind every field.

A draft is not an incident. It goes to an analyst for review; :func:`to_native_row` turns it
into a row of the native incident format (docs/native-format.md) once someone accepts it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from silkguard.incidents.vocab import AttackType, DatePrecision, GeoPrecision, TargetType

__all__ = ["IncidentDraft", "PerpetratorStatus", "Span", "to_native_row"]

PerpetratorStatus = Literal["claimed", "suspected", "unknown"]


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``start:end`` of the report, and what they say."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class IncidentDraft:
    """What a report says about one incident; ``None`` where the report does not say.

    ``spans`` maps a field name (``date``, ``time_local``, ``place``, ``attack_type``,
    ``target_type``, ``perpetrator``, ``killed``, ``injured``, ``nationalities``,
    ``is_incident``) to the text that supports it. ``summary`` is the report's first sentence
    (at most 300 characters). ``warnings`` explains a low confidence (unsupported language,
    text cut short).
    """

    is_incident: bool
    confidence: float
    date: date | None = None
    date_precision: DatePrecision | None = None
    time_local: str | None = None
    place: str | None = None
    district: str | None = None
    province: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    geo_precision: GeoPrecision | None = None
    road: str | None = None
    attack_type: AttackType | None = None
    target_type: TargetType | None = None
    perpetrator: str | None = None
    perpetrator_status: PerpetratorStatus = "unknown"
    killed: int | None = None
    injured: int | None = None
    foreign_nationals_affected: bool | None = None
    nationalities: tuple[str, ...] = ()
    summary: str | None = None
    spans: dict[str, Span] = field(default_factory=dict, hash=False, compare=False)
    warnings: tuple[str, ...] = ()

    def span(self, name: str) -> Span | None:
        """The text supporting field ``name``, if any."""
        return self.spans.get(name)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, with spans as ``{start, end, text}`` objects."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "spans":
                value = {
                    k: {"start": v.start, "end": v.end, "text": v.text} for k, v in value.items()
                }
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value.value if isinstance(value, StrEnum) else value
        return out


def to_native_row(draft: IncidentDraft, *, row_id: str | None = None) -> dict[str, Any]:
    """A native-format row (docs/native-format.md) for the importer.

    Unknown values stay ``None``; the attack and target types fall back to ``unknown`` because
    the format requires them. The place is the gazetteer's name for the chosen place (or the
    road when no town is named); coordinates are the gazetteer's, with the precision of what
    was matched (a town, a district's headquarters, a province's centre).
    """
    precision = draft.date_precision
    date_text = None
    if draft.date is not None:
        if precision == DatePrecision.MONTH:
            date_text = draft.date.strftime("%Y-%m")
        elif precision == DatePrecision.YEAR:
            date_text = draft.date.strftime("%Y")
        else:
            date_text = draft.date.isoformat()
    return {
        "id": row_id,
        "date": date_text,
        "date_precision": precision.value if precision else None,
        "time_local": draft.time_local if draft.date is not None else None,
        "place": draft.place or draft.road,
        "district": draft.district,
        "province": draft.province,
        "latitude": draft.latitude,
        "longitude": draft.longitude,
        "geo_precision": draft.geo_precision.value if draft.geo_precision else None,
        "attack_type": (draft.attack_type or AttackType.UNKNOWN).value,
        "target_type": (draft.target_type or TargetType.UNKNOWN).value,
        "perpetrator": draft.perpetrator or "unknown",
        "claimed": draft.perpetrator_status == "claimed" if draft.perpetrator else None,
        "killed": draft.killed,
        "injured": draft.injured,
        "nationalities": list(draft.nationalities),
        "summary": draft.summary,
    }
