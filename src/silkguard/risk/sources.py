"""Model events straight from an incident file (GTD, ACLED, native, mapped), without storing it.

``silkguard risk backtest FILE`` uses this, so a user can score the models on their own GTD or
ACLED download in one command. The rows go through the same parsers, geocoder and validation as
an import; bad rows are counted and left out, as are rows too imprecise to model.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from silkguard.core.tlp import TLP
from silkguard.incidents.importers.mapped import load_mapping
from silkguard.incidents.importers.pipeline import ImportFormat, parsed_rows, plan_import
from silkguard.risk.events import Events, to_days

__all__ = [
    "USABLE_DATE_PRECISIONS",
    "USABLE_GEO_PRECISIONS",
    "FileEvents",
    "events_from_file",
    "resolve_mapping",
    "usable",
]

USABLE_GEO_PRECISIONS = frozenset({"exact", "place", "district"})
USABLE_DATE_PRECISIONS = frozenset({"time", "day"})


def usable(geo_precision: str, date_precision: str) -> bool:
    """Whether an incident is precise enough for the models: located to a place or district
    (not a province centroid) and dated to the day (not a month)."""
    return geo_precision in USABLE_GEO_PRECISIONS and date_precision in USABLE_DATE_PRECISIONS


@dataclass(frozen=True)
class FileEvents:
    events: Events
    rows: int
    bad_rows: int
    imprecise_rows: int
    filtered_rows: int


def resolve_mapping(ref: str) -> Path:
    """A mapping file path, or the name of a mapping shipped with silkguard
    (``pk_incidents_2007_2015``, ``cpec_incidents``)."""
    path = Path(ref)
    if path.exists():
        return path
    shipped = Path(str(resources.files("silkguard.incidents").joinpath("mappings")))
    candidate = shipped / f"{ref.removesuffix('.toml')}.toml"
    return candidate if candidate.exists() else path


def events_from_file(
    path: Path, *, fmt: ImportFormat, mapping: str | None = None, country: str | None = "Pakistan"
) -> FileEvents:
    """Parse ``path`` as an import would and return the usable rows as events."""
    column_mapping = load_mapping(resolve_mapping(mapping)) if mapping else None
    plan = plan_import(
        path, fmt=fmt, mapping=column_mapping, default_tlp=TLP.CLEAR, country=country
    )
    times: list[float] = []
    lats: list[float] = []
    lons: list[float] = []
    marks: list[str] = []
    rows = bad = imprecise = filtered = 0
    try:
        for row in parsed_rows(plan):
            rows += 1
            if row.filtered:
                filtered += 1
                continue
            f = row.fields
            if f is None or row.errors:
                bad += 1
                continue
            if (
                f.latitude is None
                or f.longitude is None
                or not usable(f.geo_precision.value, f.date_precision.value)
            ):
                imprecise += 1
                continue
            times.append(to_days(f.occurred_at))
            lats.append(f.latitude)
            lons.append(f.longitude)
            marks.append(f.attack_type.value)
    finally:
        plan.stream.close()
    events = Events.from_arrays(times, lats, lons, marks=marks)
    return FileEvents(events, rows, bad, imprecise, filtered)
