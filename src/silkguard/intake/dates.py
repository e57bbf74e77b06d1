"""When did it happen: the incident date and time of day in a report.

Candidate expressions are found with regular expressions and resolved against the report
date, looking into the past: absolute dates (``12/03/2024`` day first as written in
Pakistan, ``2024-03-12``, ``12 March``, ``March 12th``, ``Oct 4``), military date-time groups
(``1430L 12 MAR``), weekdays (``on Tuesday``: the latest such day up to the report date),
relative words (``yesterday``, ``last night``, ``this morning``, Roman Urdu ``kal raat``,
``aaj``) and ``three days ago`` (resolved by dateparser on that span only). Dates a reporter
uses for when something was *said* ("officials said on Sunday") and dates after the report
date rank last. Times are ``1430L``, ``2140 hrs``, ``1905 PKT``, ``10:30 pm``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from silkguard.incidents.vocab import DatePrecision
from silkguard.intake.draft import Span
from silkguard.intake.text import ascii_lower

__all__ = ["DateFinding", "find_date", "find_time", "resolve_day_month"]

MONTHS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: A date this many days after the report date is still taken (time zones, late filing).
FUTURE_SLACK_DAYS = 1

_MON = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:,?\s*(?P<year>(?:19|20)\d{2}))?"
_ORD = r"(?:st|nd|rd|th)?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>20\d{2})([-/.])(?P<month>\d{1,2})\2(?P<day>\d{1,2})\b")),
    (
        "numeric",
        re.compile(r"\b(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>(?:20)?\d{2})\b"),
    ),
    ("short_numeric", re.compile(r"\b(?P<day>\d{1,2})/(?P<month>\d{1,2})(?![/\d])")),
    (
        "day_month",
        re.compile(rf"\b(?P<day>\d{{1,2}}){_ORD}(?:\s+of)?[\s-]+{_MON}(?![a-z]){_YEAR}"),
    ),
    ("month_day", re.compile(rf"\b{_MON}\s+(?P<day>\d{{1,2}}){_ORD}\b{_YEAR}")),
    ("month_year", re.compile(rf"\b(?:in|during|since)\s+{_MON}\s+(?P<year>(?:19|20)\d{{2}})\b")),
    (
        "weekday",
        re.compile(
            r"\b(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
        ),
    ),
    (
        "relative",
        re.compile(
            r"\b(?P<rel>day before yesterday|parson|yesterday|last night|last evening|overnight|"
            r"kal raat|kal shaam|kal subah|kal|today|tonight|this (?:morning|afternoon|evening)|"
            r"earlier today|aaj|abhi abhi|"
            r"(?:\d+|ek|do|teen|aadha) (?:min|mins|minutes|hours?|hrs|ghant[ae]) "
            r"(?:ago|pehle|back))\b",
        ),
    ),
    ("ago", re.compile(r"\b(?P<ago>(?:\d+|one|two|three|four|five|six) days? ago)\b")),
]
_LAST = re.compile(r"\blast\s+$")
_SAID = re.compile(
    r"\b(?:said|says|told \w+|stated|announced|added|confirmed|reported|issued)\s+"
    r"(?:(?:late |early )?on\s+)?(?:the\s+)?$",
    re.I,
)
_SAID_AFTER = re.compile(
    r"^\s+(?:\w+\s+)?(?:said|announced|reminded|approved|agreed|chaired)\b", re.I
)
_HEADER_CHARS = 60
#: A wire dateline ("QUETTA, Jan 12 (APP):") gives the filing date: a weekday in the story
#: ("late Thursday") is the better incident date.
_DATELINE_CHARS = 40
_DATELINE = re.compile(r"\s*(?:\([^)]{1,20}\)\s*)?[:\u2014\u2013-]")
_DATELINE_RANK = 2.6
_RANK: dict[str, float] = {
    "military": 4.0,
    "iso": 3.5,
    "numeric": 3.5,
    "day_month": 3.0,
    "month_day": 3.0,
    "weekday": 2.8,
    "relative": 2.8,
    "ago": 2.5,
    "short_numeric": 2.0,
    "month_year": 1.5,
}
# Every alternative starts with a digit; the look-ahead lets the scan skip other characters.
_TIME = re.compile(
    r"(?<![\d/:.-])(?=\d)(?:"
    r"(?P<mil>[0-2]\d[0-5]\d)(?!\d)(?P<unit>\s?(?:L|Z|hrs?|h|hours|PKT|PST)\b)?"
    r"|(?P<h12>1[0-2]|0?[1-9])(?:[:.](?P<m12>[0-5]\d))?\s?(?P<ampm>[ap])\.?m\b"
    r"|(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)(?!\d)"
    r")",
    re.I,
)
#: A four-digit time without a unit ("aaj 1615", "~1100") needs one of these words before it.
_BARE_TIME_BEFORE = re.compile(
    r"(?:aaj|today|at|approx\.?|~|around|about|abt|update|flash|sitrep|spotrep)\s*$", re.I
)
_MILITARY_DTG = re.compile(
    rf"\b(?P<hhmm>[0-2]\d[0-5]\d)\s?[lz]?\s+(?P<day>\d{{1,2}})\s+{_MON}(?![a-z]){_YEAR}"
)
_AFTER_TIME_SKIP = re.compile(r"(?:as of|resumed|until|by|claim\w*|till|on telegram)\W*$", re.I)


@dataclass(frozen=True, slots=True)
class DateFinding:
    value: date
    precision: DatePrecision
    span: Span
    score: float


def find_date(text: str, report_date: date) -> DateFinding | None:
    """The most likely incident date stated in ``text``, or ``None``."""
    found = [f for f in _candidates(text, report_date) if f is not None]
    if not found:
        return None
    return max(found, key=lambda f: (f.score, -f.span.start))


def find_time(text: str) -> tuple[str, Span] | None:
    """The first time of day in ``text`` as ``HH:MM`` (24-hour), skipping "as of 1600L"."""
    for m in _TIME.finditer(text):
        before = text[max(0, m.start() - 20) : m.start()]
        if _AFTER_TIME_SKIP.search(before):
            continue
        if m.group("mil") and not m.group("unit") and not _BARE_TIME_BEFORE.search(before):
            continue
        hhmm = _time_of(m)
        if hhmm is not None:
            return hhmm, Span(m.start(), m.end(), m.group(0))
    return None


def _time_of(m: re.Match[str]) -> str | None:
    raw = m.group("mil")
    if raw:
        hour, minute = int(raw[:2]), int(raw[2:])
    elif m.group("h12"):
        hour = int(m.group("h12")) % 12 + (12 if m.group("ampm").lower() == "p" else 0)
        minute = int(m.group("m12") or 0)
    else:
        hour, minute = int(m.group("h24")), int(m.group("m24"))
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def resolve_day_month(day: int, month: int, year: int | None, report_date: date) -> date | None:
    """The date ``day``/``month`` (of ``year`` or the latest year not after the report)."""
    if year is not None:
        if year < 100:
            year += 2000
        try:
            return date(year, month, day)
        except ValueError:
            return None
    limit = report_date + timedelta(days=FUTURE_SLACK_DAYS)
    for y in (report_date.year, report_date.year - 1):
        try:
            value = date(y, month, day)
        except ValueError:
            continue
        if value <= limit:
            return value
    return None


def _candidates(text: str, report_date: date) -> list[DateFinding | None]:
    # the patterns are lower case and run on the lowered text: IGNORECASE is slow in re
    lowered = ascii_lower(text)
    out: list[DateFinding | None] = []
    for m in _MILITARY_DTG.finditer(lowered):
        value = resolve_day_month(
            int(m.group("day")), _month(m.group("mon")), _year(m), report_date
        )
        out.append(_finding(text, m, value, DatePrecision.DAY, "military", report_date))
    taken = [(f.span.start, f.span.end) for f in out if f is not None]
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(lowered):
            if any(s <= m.start() < e for s, e in taken):
                continue
            value, precision = _resolve(kind, m, report_date)
            out.append(_finding(text, m, value, precision, kind, report_date))
    return out


def _resolve(kind: str, m: re.Match[str], report_date: date) -> tuple[date | None, DatePrecision]:
    day = DatePrecision.DAY
    if kind in {"iso", "numeric", "short_numeric"}:
        month = int(m.group("month"))
        if not 1 <= month <= 12:
            return None, day
        year = _year(m)
        return resolve_day_month(int(m.group("day")), month, year, report_date), day
    if kind in {"day_month", "month_day"}:
        return resolve_day_month(
            int(m.group("day")), _month(m.group("mon")), _year(m), report_date
        ), day
    if kind == "month_year":
        return date(int(m.group("year")), _month(m.group("mon")), 1), DatePrecision.MONTH
    if kind == "weekday":
        wanted = WEEKDAYS.index(m.group("weekday").lower())
        back = (report_date.weekday() - wanted) % 7
        if back == 0 and _LAST.search(m.string, max(0, m.start() - 6), m.start()):
            back = 7  # "last Friday" written on a Friday
        return report_date - timedelta(days=back), day
    if kind == "relative":
        rel = m.group("rel").lower()
        back = 2 if rel.startswith(("day before", "parson")) else 0
        if rel.startswith(("yesterday", "last", "kal", "overnight")):
            back = 1  # in a report of what happened, Roman Urdu "kal" is yesterday
        return report_date - timedelta(days=back), day
    return _dateparser_date(m.group("ago"), report_date), day


def _finding(
    text: str,
    m: re.Match[str],
    value: date | None,
    precision: DatePrecision,
    kind: str,
    report_date: date,
) -> DateFinding | None:
    if value is None:
        return None
    score = _RANK[kind]
    if value > report_date + timedelta(days=FUTURE_SLACK_DAYS):
        score -= 5.0
    before = text[max(0, m.start() - 40) : m.start()]
    after = text[m.end() : m.end() + 25]
    if _SAID.search(before) or _SAID_AFTER.search(after):
        return None  # when something was said, not when it happened
    if kind == "relative" and _proper_noun(text, m.start()):
        return None  # "Daily Aaj", "Aaj TV": a name, not "today"
    if kind == "short_numeric" and m.start() > _HEADER_CHARS:
        return None  # "24/7", scores and ratios in running text
    if (
        kind in {"month_day", "day_month"}
        and m.start() < _DATELINE_CHARS
        and _DATELINE.match(after)
    ):
        score = _DATELINE_RANK  # "KOHAT, Jan 12 (APP):" is when the story was filed
    if (value - report_date).days < -366:
        score -= 1.0  # a date from an earlier year is usually background
    return DateFinding(value, precision, Span(m.start(), m.end(), text[m.start() : m.end()]), score)


def _proper_noun(text: str, start: int) -> bool:
    """A capitalised word in mid-sentence."""
    before = text[:start].rstrip()
    return text[start].isupper() and bool(before) and before[-1] not in ".!?:;|\n-\u2014("


def _month(name: str) -> int:
    return MONTHS[name.lower()[:3]]


def _year(m: re.Match[str]) -> int | None:
    year = m.groupdict().get("year")
    return int(year) if year else None


@functools.lru_cache(maxsize=4096)
def _dateparser_date(expression: str, report_date: date) -> date | None:
    """Resolve an expression such as "three days ago" with dateparser, on that span only."""
    import dateparser

    base = datetime(report_date.year, report_date.month, report_date.day, 12)  # noqa: DTZ001
    parsed = dateparser.parse(
        expression,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "past",
            "RELATIVE_BASE": base,
            "DATE_ORDER": "DMY",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return parsed.date() if parsed is not None else None
