"""Global Terrorism Database rows (START's CSV/XLSX release format), matched by header name so
that releases which add columns still import. silkguard ships no GTD rows: its terms forbid
redistribution; users bring their own download."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.incidents.fields import IncidentFields
from silkguard.incidents.parse import RowParser, local_to_utc
from silkguard.incidents.vocab import (
    AttackType,
    GeoPrecision,
    TargetType,
    parse_attack_type,
    parse_target_type,
)

__all__ = ["GTD_LICENCE", "GTD_REQUIRED_COLUMNS", "check_gtd_header", "convert_gtd"]

GTD_LICENCE = (
    "Global Terrorism Database, START, University of Maryland; terms of use forbid redistribution"
)
GTD_REQUIRED_COLUMNS = (
    "eventid",
    "iyear",
    "imonth",
    "iday",
    "country_txt",
    "provstate",
    "city",
    "latitude",
    "longitude",
    "attacktype1_txt",
    "targtype1_txt",
    "gname",
    "nkill",
    "nwound",
)
# GTD's `specificity`: 1 the town itself, 2-3 the smallest admin area, 4 the province, 5 unknown.
_SPECIFICITY = {
    "1": GeoPrecision.PLACE,
    "2": GeoPrecision.DISTRICT,
    "3": GeoPrecision.DISTRICT,
    "4": GeoPrecision.PROVINCE,
    "5": GeoPrecision.COUNTRY,
}
_UNKNOWN_GROUP = {"unknown", ""}


def check_gtd_header(header: list[str], path: Path) -> None:
    missing = [c for c in GTD_REQUIRED_COLUMNS if c not in header]
    if missing:
        msg = (
            f"{path}:1: not a GTD file: the header lacks {', '.join(missing)}. "
            "Use the GTD CSV/XLSX as START publishes it, or `silkguard import csv --map` for "
            "other tables"
        )
        raise InvalidInput(msg)


def _refine_attack(attack: AttackType, row: Mapping[str, Any]) -> AttackType:
    if attack is not AttackType.BOMBING:
        return attack
    weapon = str(row.get("weapsubtype1_txt") or "").lower()
    suicide = str(row.get("suicide") or "").strip() == "1"
    if "vehicle" in weapon:
        return AttackType.SUICIDE_VBIED if suicide else AttackType.VBIED
    if suicide:
        return AttackType.SUICIDE_BOMBING
    if "grenade" in weapon:
        return AttackType.GRENADE
    if "projectile" in weapon:
        return AttackType.ROCKET
    if "remote" in weapon or "time fuse" in weapon or "pressure" in weapon:
        return AttackType.IED
    return attack


def _net(parser: RowParser, row: Mapping[str, Any], total: str, attackers: str) -> int | None:
    """Victims only: GTD's totals include perpetrators, who are subtracted when known."""
    count = parser.count(total, row.get(total))
    own = parser.count(attackers, row.get(attackers)) if attackers in row else None
    if count is not None and own is not None and own <= count:
        return count - own
    return count


def convert_gtd(
    row: Mapping[str, Any], parser: RowParser, *, country: str | None = "Pakistan"
) -> tuple[str, IncidentFields | None, bool]:
    """``(eventid, fields, filtered)``; ``filtered`` when the row is outside ``country``."""
    event_id = str(row.get("eventid") or "").strip()
    if event_id.endswith(".0"):
        event_id = event_id[:-2]
    if not event_id:
        parser.fail("eventid", "", "eventid is empty", "every GTD row has an eventid")
    if country and str(row.get("country_txt") or "").strip().lower() != country.lower():
        return event_id, None, True
    day = parser.ymd("iyear/imonth/iday", row.get("iyear"), row.get("imonth"), row.get("iday"))
    attack = parser.vocab(
        "attacktype1_txt", row.get("attacktype1_txt"), parse_attack_type, AttackType.UNKNOWN
    )
    target = parser.vocab(
        "targtype1_txt", row.get("targtype1_txt"), parse_target_type, TargetType.UNKNOWN
    )
    lat = parser.coordinate("latitude", row.get("latitude"), limit=90)
    lon = parser.coordinate("longitude", row.get("longitude"), limit=180)
    specificity = str(row.get("specificity") or "").strip().removesuffix(".0")
    group = parser.text("gname", row.get("gname"))
    claimed = str(row.get("claimed") or "").strip().removesuffix(".0")
    nationalities = sorted(
        {
            str(row.get(col) or "").strip()
            for col in ("natlty1_txt", "natlty2_txt", "natlty3_txt")
            if str(row.get(col) or "").strip() not in {"", "Pakistan", "Unknown", "."}
        }
    )
    place = parser.text("city", row.get("city"))
    province = parser.text("provstate", row.get("provstate"), max_len=80)
    killed = _net(parser, row, "nkill", "nkillter")
    injured = _net(parser, row, "nwound", "nwoundte")
    summary = parser.text("summary", row.get("summary"), max_len=20_000)
    if day is None or parser.errors:
        return event_id, None, False
    located = lat is not None and lon is not None
    fields = IncidentFields(
        occurred_at=local_to_utc(day[0], None),
        date_precision=day[1],
        attack_type=_refine_attack(attack, row),
        target_type=target,
        latitude=lat if located else None,
        longitude=lon if located else None,
        geo_precision=_SPECIFICITY.get(specificity, GeoPrecision.PLACE)
        if located
        else GeoPrecision.COUNTRY,
        place=None if (place or "").lower() == "unknown" else place,
        province=province,
        perpetrator="unknown" if (group or "").lower() in _UNKNOWN_GROUP else group,
        claimed={"1": True, "0": False}.get(claimed),
        killed=killed,
        injured=injured,
        nationalities=nationalities,
        summary=summary,
    )
    return event_id, fields, False
