"""Text-to-incident extraction throughput (issue 10): ``python -m benchmarks --only intake``.

The 40 reports of ``../shared/data/reports_dev.jsonl`` are repeated to 10,000 and run through
:func:`silkguard.intake.extract.extract` on one core (the process is pinned to one CPU where
the OS allows). Measured in the same run:

* ``warm``: the 10,000 reports (wall-clock and process CPU time: on a shared machine the
  wall-clock rate also counts time the core gave to other processes; the load average is
  recorded), after one pass over the 40 distinct texts, so the gazetteer
  look-up caches hold every place name of the set (as they would for a stream of reports from
  one region);
* ``cold``: the 40 distinct texts once each with a new extractor and emptied caches, the cost
  of a report whose every name is new;
* peers on the same texts: ``dateparser.search.search_dates`` (the naive way to find dates in
  free text, run on every report) against silkguard's own date finder (regexes, dateparser
  only on "N days ago" spans), both timed and both scored for exact incident dates on the dev
  set; and a plain-regex baseline that reads only a date, a death toll and a capitalised
  place word, to show what the full rule set costs over the cheapest possible reader.

Results are printed and written to ``benchmarks/results/intake.json``. Speed is never asserted
in tests; the goal (200 reports/s) is reported as met or not.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
import warnings
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from silkguard.intake import dates as intake_dates
from silkguard.intake import places as intake_places
from silkguard.intake import text as intake_text
from silkguard.intake.extract import Extractor

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DEV = REPO.parent / "shared" / "data" / "reports_dev.jsonl"
REPORTS = 10_000
PEER_REPORTS = 400  # search_dates is slow; its rate is measured on the first 400 reports
GOALS = {"reports_per_s": 200.0}

_BASE_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")
_BASE_KILLED = re.compile(r"\b(\d+) (?:\w+ )?(?:killed|dead)\b", re.I)
_BASE_PLACE = re.compile(r"\b[A-Z][a-z]{3,}\b")


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def _load() -> list[dict[str, Any]]:
    if not DEV.exists():
        msg = f"{DEV} is missing; check out ../shared/data beside the repository"
        raise SystemExit(msg)
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]


def _clear_caches() -> None:
    intake_text.sentence_bounds.cache_clear()
    intake_places._normalized.cache_clear()
    intake_dates._dateparser_date.cache_clear()


def _rate(fn: Callable[[str, date], object], items: list[tuple[str, date]]) -> float:
    """Reports per second of wall-clock time; see :func:`_rates` for CPU time as well."""
    return _rates(fn, items)[0]


def _rates(fn: Callable[[str, date], object], items: list[tuple[str, date]]) -> tuple[float, float]:
    """Reports per second of wall-clock time and of this process's CPU time. On a shared
    machine the wall-clock rate includes time the one core spent on other processes."""
    wall, cpu = time.perf_counter(), time.process_time()
    for text, day in items:
        fn(text, day)
    return len(items) / (time.perf_counter() - wall), len(items) / (time.process_time() - cpu)


def _search_dates(text: str, day: date) -> date | None:
    from dateparser.search import search_dates

    base = datetime(day.year, day.month, day.day, 12)  # noqa: DTZ001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = search_dates(
            text,
            languages=["en"],
            settings={"PREFER_DATES_FROM": "past", "RELATIVE_BASE": base, "DATE_ORDER": "DMY"},
        )
    return found[0][1].date() if found else None


def _own_dates(text: str, day: date) -> date | None:
    found = intake_dates.find_date(text, day)
    return found.value if found else None


def _baseline(text: str, _day: date) -> tuple[object, ...]:
    when = _BASE_DATE.search(text)
    killed = _BASE_KILLED.search(text)
    place = _BASE_PLACE.search(text)
    return (when and when.group(0), killed and killed.group(1), place and place.group(0))


def _date_accuracy(fn: Callable[[str, date], date | None], rows: list[dict[str, Any]]) -> float:
    incidents = [r for r in rows if r["gold"]["is_incident"]]
    hits = 0
    for r in incidents:
        got = fn(r["text"], date.fromisoformat(r["report_date"]))
        hits += (got.isoformat() if got else None) == r["gold"]["date"]
    return hits / len(incidents)


def run(reports: int = REPORTS) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    pinned = _pin_one_core()
    rows = _load()
    unique = [(r["text"], date.fromisoformat(r["report_date"])) for r in rows]
    items = (unique * (reports // len(unique) + 1))[:reports]

    _clear_caches()
    start = time.perf_counter()
    cold_extractor = Extractor()
    build_s = time.perf_counter() - start
    cold_rate = _rate(cold_extractor.extract, unique)

    extractor = Extractor()
    _rate(extractor.extract, unique)  # warm the caches on the distinct texts
    warm_rate, warm_cpu_rate = _rates(extractor.extract, items)

    peer_items = items[:PEER_REPORTS]
    _search_dates(*peer_items[0])  # import and language data load outside the timing
    search_rate = _rate(_search_dates, peer_items)
    own_date_rate = _rate(_own_dates, items)
    baseline_rate = _rate(_baseline, items)
    accuracy = {
        "own_date_finder": _date_accuracy(_own_dates, rows),
        "search_dates_first_hit": _date_accuracy(_search_dates, rows),
    }
    result: dict[str, Any] = {
        "benchmark": "intake_speed",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "affinity": pinned,
        },
        "reports": reports,
        "distinct_texts": len(unique),
        "extractor_build_s": build_s,
        "reports_per_s": {
            "extract_warm": warm_rate,
            "extract_warm_cpu_time": warm_cpu_rate,
            "extract_cold_distinct": cold_rate,
            "own_date_finder": own_date_rate,
            "dateparser_search_dates": search_rate,
            "plain_regex_baseline": baseline_rate,
        },
        "ratios": {
            "extract_warm_vs_search_dates": warm_rate / search_rate,
            "own_dates_vs_search_dates": own_date_rate / search_rate,
            "baseline_vs_extract_warm": baseline_rate / warm_rate,
        },
        "incident_date_exact_match_dev": accuracy,
        "goals": GOALS,
        "met": {
            "reports_per_s": warm_rate >= GOALS["reports_per_s"],
            "reports_per_cpu_s": warm_cpu_rate >= GOALS["reports_per_s"],
        },
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    _print(result)
    out = RESULTS / "intake.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"met: {result['met']}\nwritten to {out.relative_to(REPO)}")
    return result


def _print(result: dict[str, Any]) -> None:
    table = Table(title=f"intake extraction, {result['reports']:,} reports, one core")
    table.add_column("reader")
    table.add_column("reports/s", justify="right")
    for name, rate in result["reports_per_s"].items():
        table.add_row(name, f"{rate:,.0f}")
    ratios = Table(title="ratios (same run)")
    ratios.add_column("ratio")
    ratios.add_column("value", justify="right")
    for name, value in result["ratios"].items():
        ratios.add_row(name, f"{value:,.1f}x")
    for name, value in result["incident_date_exact_match_dev"].items():
        ratios.add_row(f"date exact match, {name}", f"{value:.2f}")
    console = Console(width=120)
    console.print(table)
    console.print(ratios)


if __name__ == "__main__":
    run()
