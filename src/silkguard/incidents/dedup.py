"""Cross-source de-duplication: decide whether a new source record describes an incident that
is already in the store. Pure: takes fields and candidate tuples, returns a match and a reason.

Rules (docs/deduplication.md): both dates known to the day and no more than ``window_days``
apart; both positions known at least to the district and no farther apart than
``radius_km`` plus each position's uncertainty; attack types compatible. Records with a month or
year date, or only a province, are never merged automatically: an analyst merges those."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from silkguard.geo.distance import haversine_km
from silkguard.incidents.fields import IncidentFields
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    TargetType,
    attack_types_compatible,
)

__all__ = ["POSITION_UNCERTAINTY_KM", "Match", "StoredIncident", "find_match", "max_reach_km"]

# How far the true position may be from the stored one, by precision.
POSITION_UNCERTAINTY_KM: dict[GeoPrecision, float] = {
    GeoPrecision.EXACT: 0.0,
    GeoPrecision.PLACE: 5.0,
    GeoPrecision.DISTRICT: 30.0,
}
_DAY_PRECISE = {DatePrecision.DAY, DatePrecision.TIME}


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """The columns of a stored incident that matching needs."""

    id: uuid.UUID
    occurred_at: datetime
    date_precision: DatePrecision
    latitude: float | None
    longitude: float | None
    geo_precision: GeoPrecision
    attack_type: AttackType
    target_type: TargetType


@dataclass(frozen=True, slots=True)
class Match:
    incident_id: uuid.UUID
    days_apart: float
    km_apart: float
    reason: str


def max_reach_km(radius_km: float) -> float:
    """The farthest two mergeable records can be apart (for candidate queries)."""
    return radius_km + 2 * max(POSITION_UNCERTAINTY_KM.values())


def mergeable(fields: IncidentFields) -> bool:
    return (
        fields.date_precision in _DAY_PRECISE
        and fields.geo_precision in POSITION_UNCERTAINTY_KM
        and fields.latitude is not None
        and fields.longitude is not None
    )


def find_match(
    fields: IncidentFields,
    candidates: list[StoredIncident],
    *,
    window_days: int,
    radius_km: float,
) -> Match | None:
    """The best stored incident that ``fields`` may be merged into, or None."""
    if not mergeable(fields):
        return None
    assert fields.latitude is not None
    assert fields.longitude is not None
    window = timedelta(days=window_days, hours=12)
    best: tuple[tuple[float, float, int], StoredIncident, float, float, float] | None = None
    for cand in candidates:
        if (
            cand.date_precision not in _DAY_PRECISE
            or cand.geo_precision not in POSITION_UNCERTAINTY_KM
        ):
            continue
        if cand.latitude is None or cand.longitude is None:
            continue
        gap = abs(cand.occurred_at - fields.occurred_at)
        if gap > window:
            continue
        if not attack_types_compatible(fields.attack_type, cand.attack_type):
            continue
        km = haversine_km(fields.latitude, fields.longitude, cand.latitude, cand.longitude)
        limit = (
            radius_km
            + POSITION_UNCERTAINTY_KM[fields.geo_precision]
            + POSITION_UNCERTAINTY_KM[cand.geo_precision]
        )
        if km > limit:
            continue
        days = float(round(gap.total_seconds() / 86400))
        key = (days, km, 0 if cand.target_type == fields.target_type else 1)
        if best is None or key < best[0]:
            best = (key, cand, days, km, limit)
    if best is None:
        return None
    _, cand, days, km, limit = best
    targets = (
        f"target types agree ({cand.target_type})"
        if cand.target_type == fields.target_type
        else f"target types differ ({cand.target_type} vs {fields.target_type}; both kept)"
    )
    reason = (
        f"merged: {days:.0f} day(s) apart (window {window_days} d); {km:.1f} km apart "
        f"(limit {limit:.0f} km = {radius_km:g} km radius + position uncertainty of "
        f"{cand.geo_precision} and {fields.geo_precision}); attack types compatible "
        f"({cand.attack_type} ~ {fields.attack_type}); {targets}"
    )
    return Match(cand.id, days, km, reason)
