"""ACLED CSV exports. Only violent event types become incidents (explosions and remote
violence, violence against civilians, battles); protests, riots and strategic developments are
counted as filtered. ACLED's terms restrict redistribution: silkguard ships no ACLED rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.incidents.fields import IncidentFields
from silkguard.incidents.parse import RowParser, local_to_utc
from silkguard.incidents.vocab import AttackType, DatePrecision, GeoPrecision, TargetType

__all__ = ["ACLED_LICENCE", "ACLED_REQUIRED_COLUMNS", "check_acled_header", "convert_acled"]

ACLED_LICENCE = "ACLED (acleddata.com); terms of use restrict redistribution"
ACLED_REQUIRED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "event_type",
    "sub_event_type",
    "actor1",
    "country",
    "admin1",
    "location",
    "latitude",
    "longitude",
    "fatalities",
)
_VIOLENT = {"explosions/remote violence", "violence against civilians", "battles"}
_SUB_EVENTS = {
    "suicide bomb": AttackType.SUICIDE_BOMBING,
    "remote explosive/landmine/ied": AttackType.IED,
    "grenade": AttackType.GRENADE,
    "shelling/artillery/missile attack": AttackType.ROCKET,
    "air/drone strike": AttackType.OTHER,
    "attack": AttackType.ARMED_ASSAULT,
    "armed clash": AttackType.ARMED_ASSAULT,
    "abduction/forced disappearance": AttackType.KIDNAPPING,
    "sexual violence": AttackType.UNARMED_ASSAULT,
}
# The institution named as the second actor tells the target; people are never profiled.
_TARGET_WORDS = (
    ("police", TargetType.POLICE),
    ("military forces", TargetType.MILITARY),
    ("frontier corps", TargetType.MILITARY),
    ("government", TargetType.GOVERNMENT),
    ("civilians", TargetType.CIVILIANS),
    ("journalists", TargetType.MEDIA),
    ("students", TargetType.EDUCATION),
    ("teachers", TargetType.EDUCATION),
    ("aid workers", TargetType.NGO),
)
_PRECISION = {"1": GeoPrecision.PLACE, "2": GeoPrecision.DISTRICT, "3": GeoPrecision.PROVINCE}
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y")


def check_acled_header(header: list[str], path: Path) -> None:
    missing = [c for c in ACLED_REQUIRED_COLUMNS if c not in header]
    if missing:
        msg = (
            f"{path}:1: not an ACLED export: the header lacks {', '.join(missing)}. "
            "Export from ACLED with all columns, or use `silkguard import csv --map`"
        )
        raise InvalidInput(msg)


def _target(actor2: str) -> TargetType:
    text = actor2.lower()
    for word, target in _TARGET_WORDS:
        if word in text:
            return target
    return TargetType.UNKNOWN


def _event_date(parser: RowParser, value: object) -> datetime | None:
    text = str(value or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - a calendar date, zone added later
        except ValueError:
            continue
    parser.fail(
        "event_date", value, "not a date", "ACLED dates look like 2024-03-12 or 12 March 2024"
    )
    return None


def convert_acled(
    row: Mapping[str, Any], parser: RowParser, *, country: str | None = "Pakistan"
) -> tuple[str, IncidentFields | None, bool]:
    event_id = str(row.get("event_id_cnty") or "").strip()
    if not event_id:
        parser.fail("event_id_cnty", "", "the event id is empty", "every ACLED row has one")
    if country and str(row.get("country") or "").strip().lower() != country.lower():
        return event_id, None, True
    if str(row.get("event_type") or "").strip().lower() not in _VIOLENT:
        return event_id, None, True
    when = _event_date(parser, row.get("event_date"))
    sub = str(row.get("sub_event_type") or "").strip().lower()
    lat = parser.coordinate("latitude", row.get("latitude"), limit=90)
    lon = parser.coordinate("longitude", row.get("longitude"), limit=180)
    killed = parser.count("fatalities", row.get("fatalities"))
    place = parser.text("location", row.get("location"))
    district = parser.text("admin2", row.get("admin2"), max_len=120)
    province = parser.text("admin1", row.get("admin1"), max_len=80)
    perpetrator = parser.text("actor1", row.get("actor1"))
    summary = parser.text("notes", row.get("notes"), max_len=20_000)
    precision = str(row.get("time_precision") or "1").strip()
    if when is None or parser.errors:
        return event_id, None, False
    located = lat is not None and lon is not None
    fields = IncidentFields(
        occurred_at=local_to_utc(when.date(), None),
        date_precision=DatePrecision.DAY if precision == "1" else DatePrecision.MONTH,
        attack_type=_SUB_EVENTS.get(sub, AttackType.OTHER),
        target_type=_target(str(row.get("actor2") or "")),
        latitude=lat if located else None,
        longitude=lon if located else None,
        geo_precision=_PRECISION.get(
            str(row.get("geo_precision") or "1").strip(), GeoPrecision.PLACE
        )
        if located
        else GeoPrecision.COUNTRY,
        place=place,
        district=district,
        province=province,
        perpetrator=perpetrator
        if perpetrator and not perpetrator.lower().startswith("unidentified")
        else "unknown",
        killed=killed,
        summary=summary,
    )
    return event_id, fields, False
