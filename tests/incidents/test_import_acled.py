"""ACLED exports: violent events become incidents, the rest is counted as filtered."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.core.errors import InvalidInput
from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.incidents.models import Incident, SourceRecord
from tests.factories import write_acled_csv

ROWS = [
    {
        "event_id_cnty": "PAK1001",
        "event_date": "26 March 2024",
        "time_precision": "1",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Suicide bomb",
        "actor1": "Unidentified Armed Group (Pakistan)",
        "actor2": "Civilians (China)",
        "country": "Pakistan",
        "admin1": "Khyber Pakhtunkhwa",
        "admin2": "Shangla",
        "location": "Besham",
        "latitude": "34.9300",
        "longitude": "72.8700",
        "geo_precision": "1",
        "fatalities": "6",
        "notes": "Invented test row.",
    },
    {
        "event_id_cnty": "PAK1002",
        "event_date": "2024-03-27",
        "time_precision": "2",
        "event_type": "Violence against civilians",
        "sub_event_type": "Abduction/forced disappearance",
        "actor1": "BLA: Balochistan Liberation Army",
        "actor2": "Police Forces of Pakistan (2018-)",
        "country": "Pakistan",
        "admin1": "Balochistan",
        "admin2": "Kech",
        "location": "Turbat",
        "latitude": "26.0",
        "longitude": "63.05",
        "geo_precision": "2",
        "fatalities": "0",
    },
    {
        "event_id_cnty": "PAK1003",
        "event_date": "2024-03-28",
        "event_type": "Protests",
        "sub_event_type": "Peaceful protest",
        "actor1": "Protesters (Pakistan)",
        "country": "Pakistan",
        "admin1": "Sindh",
        "location": "Karachi",
        "latitude": "24.86",
        "longitude": "67.01",
        "fatalities": "0",
    },
    {
        "event_id_cnty": "AFG2001",
        "event_date": "2024-03-28",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": "X",
        "country": "Afghanistan",
        "admin1": "Kabul",
        "location": "Kabul",
        "latitude": "34.5",
        "longitude": "69.2",
        "fatalities": "1",
    },
]


def test_acled_import(session: Session, tmp_path: Path) -> None:
    path = write_acled_csv(tmp_path / "acled.csv", ROWS)
    report = incidents_service.import_rows(session, plan=plan_import(path, fmt=ImportFormat.ACLED))
    assert (report.new, report.filtered, report.rejected) == (2, 2, 0)
    by_id = {r.external_id: r.incident for r in session.execute(select(SourceRecord)).scalars()}
    besham = by_id["PAK1001"]
    assert (besham.attack_type, besham.killed, besham.perpetrator) == (
        "suicide_bombing",
        6,
        "unknown",
    )
    assert besham.district == "Shangla"
    turbat = by_id["PAK1002"]
    assert (turbat.attack_type, turbat.target_type) == ("kidnapping", "police")
    assert turbat.date_precision == "month"
    assert turbat.perpetrator == "BLA: Balochistan Liberation Army"
    assert (
        session.scalar(select(Incident.geo_precision).where(Incident.id == turbat.id)) == "district"
    )


def test_acled_header_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "acled.csv"
    bad.write_text("event_id_cnty,event_date\nX,2024-01-01\n")
    with pytest.raises(InvalidInput, match="not an ACLED export: the header lacks event_type"):
        plan_import(bad, fmt=ImportFormat.ACLED)


def test_acled_bad_date(session: Session, tmp_path: Path) -> None:
    path = write_acled_csv(tmp_path / "acled.csv", [{**ROWS[0], "event_date": "yesterday"}])
    with pytest.raises(InvalidInput, match="column 'event_date', value 'yesterday': not a date"):
        incidents_service.import_rows(session, plan=plan_import(path, fmt=ImportFormat.ACLED))
