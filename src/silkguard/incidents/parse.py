"""Parsing of single cell values with row-level error collection: each problem becomes a
:class:`RowError` naming the line, column, value, reason and fix, and parsing carries on so a
file's every bad row is reported at once."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from silkguard.core.errors import InvalidInput, RowError
from silkguard.incidents.vocab import DatePrecision

__all__ = ["PAKISTAN_TZ", "RowParser", "local_to_utc"]

PAKISTAN_TZ = ZoneInfo("Asia/Karachi")
_MAX_COUNT = 100_000
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_NULLS = {"", "na", "n/a", "null", "none", "-", "-9", "-99"}
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


def local_to_utc(day: date, at: time | None) -> datetime:
    """Pakistan local date (and time) to UTC; a date without a time is taken at local noon so
    that the UTC date stays the local date."""
    local = datetime.combine(day, at or time(12, 0), tzinfo=PAKISTAN_TZ)
    return local.astimezone(UTC)


class RowParser:
    """Parses the cells of one row, collecting errors instead of stopping at the first."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.errors: list[RowError] = []

    def fail(self, column: str | None, value: object, reason: str, fix: str = "") -> None:
        shown = None if value is None else str(value)[:120]
        self.errors.append(RowError(self.line, column, shown, reason, fix))

    @staticmethod
    def is_null(value: object) -> bool:
        if value is None:
            return True
        if isinstance(value, float):
            return math.isnan(value)
        return isinstance(value, str) and value.strip().lower() in {"", "na", "n/a", "null"}

    def text(self, column: str, value: object, *, max_len: int = 300) -> str | None:
        if self.is_null(value):
            return None
        out = " ".join(str(value).split())
        if len(out) > max_len:
            self.fail(column, value, f"longer than {max_len} characters", "shorten the text")
            return None
        return out

    def count(self, column: str, value: object) -> int | None:
        """A non-negative count; GTD-style floats ("12.0") are accepted, unknown (-9) is None."""
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULLS):
            return None
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            self.fail(
                column, value, "not a number", "write a whole number such as 3, or leave it empty"
            )
            return None
        if math.isnan(number) or math.isinf(number):
            self.fail(
                column, value, "NaN or infinity is not a count", "leave the cell empty if unknown"
            )
            return None
        if number < 0 or number != int(number) or number > _MAX_COUNT:
            self.fail(
                column,
                value,
                f"a count must be a whole number from 0 to {_MAX_COUNT}",
                "correct the count, or leave it empty if unknown",
            )
            return None
        return int(number)

    def boolean(self, column: str, value: object) -> bool | None:
        if isinstance(value, bool):
            return value
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULLS):
            return None
        key = str(value).strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        self.fail(column, value, "not a yes/no value", "use true/false, yes/no or 1/0")
        return None

    def coordinate(self, column: str, value: object, *, limit: float) -> float | None:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        try:
            number = float(str(value).strip())
        except ValueError:
            self.fail(
                column, value, "not a number", f"write decimal degrees from -{limit} to {limit}"
            )
            return None
        if math.isnan(number) or math.isinf(number):
            self.fail(
                column, value, "NaN or infinity is not a coordinate", "leave it empty to geocode"
            )
            return None
        if abs(number) > limit:
            hint = (
                " (latitude and longitude swapped?)" if limit == 90 and abs(number) <= 180 else ""
            )
            self.fail(
                column,
                value,
                f"outside -{limit:g}..{limit:g} degrees{hint}",
                "correct the coordinate or leave it empty so the place name is geocoded",
            )
            return None
        return number

    def vocab(self, column: str, value: object, parse: Callable[[str], T], default: T) -> T:
        if self.is_null(value):
            return default
        try:
            return parse(str(value))
        except InvalidInput as exc:
            self.fail(column, value, exc.msg, "translate the value in the mapping's [values] table")
            return default

    def enum(self, column: str, value: object, enum: type[E], default: E | None) -> E | None:
        if self.is_null(value):
            return default
        try:
            return enum(str(value).strip().lower())
        except ValueError:
            accepted = ", ".join(m.value for m in enum)
            self.fail(column, value, f"not one of {accepted}", "use one of the accepted values")
            return default

    def clock_time(self, column: str, value: object) -> time | None:
        if self.is_null(value):
            return None
        match = _HHMM.match(str(value).strip())
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            self.fail(column, value, "not a time of day", "write 24-hour HH:MM, e.g. 14:30")
            return None
        return time(int(match[1]), int(match[2]))

    def ymd(
        self, column: str, year: object, month: object, day: object
    ) -> tuple[date, DatePrecision] | None:
        """Date from year/month/day parts where month or day 0 (or empty) means unknown."""
        parts: list[int] = []
        for name, part in (("year", year), ("month", month), ("day", day)):
            if self.is_null(part):
                parts.append(0)
                continue
            try:
                parts.append(int(float(str(part).strip())))
            except ValueError:
                self.fail(column, part, f"{name} is not a number", "write the date as numbers")
                return None
        y, m, d = parts
        shown = f"{y}-{m:02d}-{d:02d}"
        if not 1900 <= y <= 2100:
            self.fail(column, shown, "year outside 1900-2100", "correct the year")
            return None
        if m == 0:
            return date(y, 1, 1), DatePrecision.YEAR
        try:
            if d == 0:
                return date(y, m, 1), DatePrecision.MONTH
            return date(y, m, d), DatePrecision.DAY
        except ValueError:
            self.fail(column, shown, "impossible date", "check the month and day (e.g. no 31 June)")
            return None

    def date_text(
        self, column: str, value: object, formats: tuple[str, ...] = ()
    ) -> tuple[date, DatePrecision] | None:
        """ISO ``YYYY-MM-DD`` / ``YYYY-MM`` / ``YYYY``, or the given ``strptime`` formats."""
        if self.is_null(value):
            self.fail(column, value, "the date is missing", "every incident needs at least a year")
            return None
        text = str(value).strip()
        if isinstance(value, datetime):
            return value.date(), DatePrecision.DAY
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt).date(), DatePrecision.DAY  # noqa: DTZ007
            except ValueError:
                continue
        match = _ISO_DATE.match(text.split("T")[0].split(" ")[0])
        if match is None:
            accepted = "YYYY-MM-DD, YYYY-MM or YYYY" + (
                f" or {', '.join(formats)}" if formats else ""
            )
            self.fail(column, value, f"not a date in {accepted}", "reformat the date")
            return None
        return self.ymd(column, match[1], match[2] or 0, match[3] or 0)

    def not_in_future(self, column: str, when: datetime, now: datetime) -> bool:
        if when > now + timedelta(days=1):
            self.fail(column, when.date().isoformat(), "date is in the future", "check the year")
            return False
        return True
