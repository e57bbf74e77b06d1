"""The native incident schema (docs/native-format.md) and its conversion to normalised fields.
Mapped tables are translated into native values first, so this is the one place where cell
values become typed incident fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from silkguard.core.clock import utcnow
from silkguard.core.errors import RowError
from silkguard.core.tlp import TLP, parse_tlp
from silkguard.incidents.fields import IncidentFields
from silkguard.incidents.parse import RowParser, local_to_utc
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    TargetType,
    parse_attack_type,
    parse_target_type,
)

__all__ = ["NATIVE_FIELDS", "REQUIRED_FIELDS", "ParsedRow", "convert_native"]

NATIVE_FIELDS = (
    "id",
    "date",
    "date_precision",
    "time_local",
    "place",
    "district",
    "province",
    "latitude",
    "longitude",
    "geo_precision",
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
    "source_url",
    "source_name",
    "licence",
    "tlp",
)
REQUIRED_FIELDS = ("date", "attack_type", "target_type")


@dataclass(slots=True)
class ParsedRow:
    """One input row after conversion: its identity, raw cells and fields, or its errors."""

    line: int
    external_id: str
    raw: dict[str, Any]
    fields: IncidentFields | None
    errors: list[RowError] = field(default_factory=list)
    licence: str | None = None
    filtered: bool = False  # outside the import's scope (another country, a protest): not an error
    digest: str = ""  # content hash of ``raw``


def _nationalities(value: object, separator: str) -> list[str]:
    if value is None:
        return []
    items = [str(v) for v in value] if isinstance(value, list) else str(value).split(separator)
    return sorted({" ".join(v.split()) for v in items if v and v.strip()})


def _tlp(parser: RowParser, column: str, value: object, default: TLP) -> TLP:
    if parser.is_null(value):
        return default
    return parser.vocab(column, value, parse_tlp, default)


def convert_native(
    values: Mapping[str, Any],
    parser: RowParser,
    *,
    column_of: Mapping[str, str] | None = None,
    date_formats: tuple[str, ...] = (),
    list_separator: str = ";",
    default_tlp: TLP = TLP.GREEN,
    now: datetime | None = None,
) -> IncidentFields | None:
    """Turn native-schema ``values`` into fields; problems are recorded on ``parser``.

    ``column_of`` names the file's own column for each native field, so errors point at the
    column the user sees.
    """
    names = dict(column_of or {})

    def col(name: str) -> str:
        return names.get(name, name)

    get = values.get
    day = parser.date_text(col("date"), get("date"), date_formats)
    at = parser.clock_time(col("time_local"), get("time_local"))
    precision = parser.enum(col("date_precision"), get("date_precision"), DatePrecision, None)
    attack = parser.vocab(col("attack_type"), get("attack_type"), parse_attack_type, None)
    target = parser.vocab(col("target_type"), get("target_type"), parse_target_type, None)
    for name, parsed in (("attack_type", attack), ("target_type", target)):
        if parsed is None and parser.is_null(get(name)):
            parser.fail(col(name), None, f"{name} is missing", "give a value; 'unknown' is allowed")
    lat = parser.coordinate(col("latitude"), get("latitude"), limit=90)
    lon = parser.coordinate(col("longitude"), get("longitude"), limit=180)
    if (lat is None) != (lon is None) and not parser.errors:
        parser.fail(
            col("latitude"),
            get("latitude"),
            "latitude and longitude must come together",
            "give both, or neither so the place name is geocoded",
        )
    geo = parser.enum(col("geo_precision"), get("geo_precision"), GeoPrecision, None)
    fields = IncidentFields(
        occurred_at=utcnow(),
        date_precision=DatePrecision.DAY,
        attack_type=attack or AttackType.UNKNOWN,
        target_type=target or TargetType.UNKNOWN,
        latitude=lat,
        longitude=lon if lat is not None else None,
        geo_precision=(geo or GeoPrecision.PLACE) if lat is not None else GeoPrecision.COUNTRY,
        place=parser.text(col("place"), get("place")),
        district=parser.text(col("district"), get("district"), max_len=120),
        province=parser.text(col("province"), get("province"), max_len=80),
        perpetrator=parser.text(col("perpetrator"), get("perpetrator")),
        claimed=parser.boolean(col("claimed"), get("claimed")),
        killed=parser.count(col("killed"), get("killed")),
        injured=parser.count(col("injured"), get("injured")),
        killed_foreign=parser.count(col("killed_foreign"), get("killed_foreign")),
        injured_foreign=parser.count(col("injured_foreign"), get("injured_foreign")),
        nationalities=_nationalities(get("nationalities"), list_separator),
        on_the_move=parser.boolean(col("on_the_move"), get("on_the_move")),
        summary=parser.text(col("summary"), get("summary"), max_len=20_000),
        tlp=_tlp(parser, col("tlp"), get("tlp"), default_tlp),
        url=parser.text(col("source_url"), get("source_url"), max_len=2_000),
    )
    _check_counts(parser, fields, col)
    if day is None or parser.errors:
        return None
    when, inferred = day
    if precision is None:
        precision = (
            DatePrecision.TIME if at is not None and inferred is DatePrecision.DAY else inferred
        )
    if precision is DatePrecision.TIME and at is None:
        parser.fail(
            col("date_precision"),
            "time",
            "precision 'time' needs a time of day",
            "fill time_local (HH:MM) or use precision 'day'",
        )
        return None
    fields.date_precision = precision
    fields.occurred_at = local_to_utc(when, at if precision is DatePrecision.TIME else None)
    if not parser.not_in_future(col("date"), fields.occurred_at, now or utcnow()):
        return None
    return fields


def _check_counts(parser: RowParser, fields: IncidentFields, col: Any) -> None:
    for part, whole in (("killed_foreign", "killed"), ("injured_foreign", "injured")):
        part_n, whole_n = getattr(fields, part), getattr(fields, whole)
        if part_n is not None and whole_n is not None and part_n > whole_n:
            parser.fail(
                col(part),
                part_n,
                f"{part} ({part_n}) is more than {whole} ({whole_n})",
                f"{part} counts the foreign nationals among {whole}",
            )
