"""Made-up GTD- and ACLED-format files. silkguard ships no GTD or ACLED rows (their terms
forbid it), so tests and benchmarks build files of the same shape with invented content."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ACLED_COLUMNS",
    "GtdEvent",
    "gtd_columns",
    "synthetic_gtd_events",
    "write_acled_csv",
    "write_gtd_csv",
]

# Real Pakistani towns with province names as GTD writes them.
TOWNS: list[tuple[str, str, float, float]] = [
    ("Peshawar", "Khyber Pakhtunkhwa", 34.008, 71.578),
    ("Quetta", "Balochistan", 30.184, 67.001),
    ("Karachi", "Sindh", 24.861, 67.010),
    ("Lahore", "Punjab", 31.558, 74.351),
    ("Gwadar", "Balochistan", 25.126, 62.322),
    ("Bannu", "Khyber Pakhtunkhwa", 32.989, 70.604),
    ("Turbat", "Balochistan", 26.002, 63.044),
    ("Dera Ismail Khan", "Khyber Pakhtunkhwa", 31.832, 70.902),
    ("Hub", "Balochistan", 25.049, 66.894),
    ("Besham", "Khyber Pakhtunkhwa", 34.929, 72.866),
]
ATTACKS = [
    ("3", "Bombing/Explosion"),
    ("2", "Armed Assault"),
    ("1", "Assassination"),
    ("6", "Hostage Taking (Kidnapping)"),
    ("7", "Facility/Infrastructure Attack"),
]
TARGETS = [
    ("3", "Police"),
    ("14", "Private Citizens & Property"),
    ("1", "Business"),
    ("4", "Military"),
    ("15", "Religious Figures/Institutions"),
]


def gtd_columns(shared_data: Path) -> list[str]:
    return [c.strip() for c in (shared_data / "gtd_columns.txt").read_text().split() if c.strip()]


@dataclass
class GtdEvent:
    eventid: str
    year: int
    month: int
    day: int
    city: str
    provstate: str
    latitude: float | None
    longitude: float | None
    attack: tuple[str, str] = ("3", "Bombing/Explosion")
    target: tuple[str, str] = ("3", "Police")
    gname: str = "Unknown"
    nkill: str = "1"
    nwound: str = "2"
    country: str = "Pakistan"
    specificity: str = "1"
    summary: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def row(self, columns: Sequence[str]) -> list[str]:
        values = {
            "eventid": self.eventid,
            "iyear": str(self.year),
            "imonth": str(self.month),
            "iday": str(self.day),
            "country": "153" if self.country == "Pakistan" else "92",
            "country_txt": self.country,
            "region": "6",
            "region_txt": "South Asia",
            "provstate": self.provstate,
            "city": self.city,
            "latitude": "" if self.latitude is None else f"{self.latitude:.6f}",
            "longitude": "" if self.longitude is None else f"{self.longitude:.6f}",
            "specificity": self.specificity,
            "summary": self.summary,
            "attacktype1": self.attack[0],
            "attacktype1_txt": self.attack[1],
            "targtype1": self.target[0],
            "targtype1_txt": self.target[1],
            "gname": self.gname,
            "nkill": self.nkill,
            "nwound": self.nwound,
            "natlty1_txt": "Pakistan",
            "success": "1",
            "suicide": "0",
            "weaptype1_txt": "Explosives",
            "dbsource": "SYNTHETIC",
            **self.extra,
        }
        return [values.get(c, "") for c in columns]


def synthetic_gtd_events(
    count: int, *, seed: int = 7, start_year: int = 1990
) -> Iterator[GtdEvent]:
    """``count`` invented events spread over towns and years, in eventid order."""
    rng = random.Random(seed)
    per_day: dict[tuple[int, int, int], int] = {}
    for i in range(count):
        year = start_year + (i * 30) // max(count, 1)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        serial = per_day.get((year, month, day), 0) + 1
        per_day[(year, month, day)] = serial
        town, province, lat, lon = rng.choice(TOWNS)
        yield GtdEvent(
            eventid=f"{year}{month:02d}{day:02d}{serial:04d}",
            year=year,
            month=month,
            day=day,
            city=town,
            provstate=province,
            latitude=lat + rng.uniform(-0.05, 0.05),
            longitude=lon + rng.uniform(-0.05, 0.05),
            attack=rng.choice(ATTACKS),
            target=rng.choice(TARGETS),
            nkill=str(rng.randint(0, 12)),
            nwound=str(rng.randint(0, 30)),
            summary=f"{year}-{month:02d}-{day:02d}: invented event number {i} near {town}.",
        )


def write_gtd_csv(
    path: Path,
    events: Iterator[GtdEvent] | Sequence[GtdEvent],
    columns: Sequence[str],
    *,
    encoding: str = "latin-1",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        for event in events:
            out.writerow(event.row(columns))
    return path


ACLED_COLUMNS = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
]


def write_acled_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=ACLED_COLUMNS)
        out.writeheader()
        for row in rows:
            out.writerow({c: row.get(c, "") for c in ACLED_COLUMNS})
    return path
