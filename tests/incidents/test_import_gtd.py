"""GTD import: counts, precisions, geocoding, idempotency, XLSX, newer releases."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.geo.distance import haversine_km
from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.incidents.models import Incident, SourceRecord
from tests.factories import GtdEvent, gtd_columns, write_gtd_csv

BESHAM = (34.929, 72.866)


def _events() -> list[GtdEvent]:
    return [
        GtdEvent(
            "200405030001",
            2004,
            5,
            3,
            "Gwadar",
            "Balochistan",
            25.12,
            62.33,
            target=("1", "Business"),
            nkill="3",
            nwound="11",
            summary="Car bomb near a bus of foreign engineers (made up for tests: café).",
            extra={"nkillter": "0", "natlty2_txt": "China"},
        ),
        GtdEvent(
            "200801150001", 2008, 1, 15, "Besham", "Khyber Pakhtunkhwa", None, None, specificity="1"
        ),
        GtdEvent(
            "200803000001",
            2008,
            3,
            0,
            "Quetta",
            "Balochistan",
            30.18,
            67.0,
            attack=("2", "Armed Assault"),
        ),
        GtdEvent(
            "200900000001",
            2009,
            0,
            0,
            "Unknown",
            "Sindh",
            None,
            None,
            attack=("2", "Armed Assault"),
        ),
        GtdEvent("201005050001", 2010, 5, 5, "Kabul", "Kabul", 34.5, 69.2, country="Afghanistan"),
        GtdEvent(
            "201106060001",
            2011,
            6,
            6,
            "Peshawar",
            "Khyber Pakhtunkhwa",
            34.0,
            71.57,
            nkill="7",
            extra={"nkillter": "1", "suicide": "1"},
        ),
        GtdEvent(
            "201207070001",
            2012,
            7,
            7,
            "Dera Ismail Khan",
            "Khyber Pakhtunkhwa",
            None,
            None,
            attack=("6", "Hostage Taking (Kidnapping)"),
            nkill="",
            nwound="-99",
        ),
    ]


def _import(session: Session, path: Path) -> incidents_service.ImportReport:
    return incidents_service.import_rows(session, plan=plan_import(path, fmt=ImportFormat.GTD))


def test_gtd_import_counts_precisions_and_geocodes(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    path = write_gtd_csv(tmp_path / "gtd.csv", _events(), gtd_columns(shared_data))
    report = _import(session, path)
    assert (report.new, report.merged, report.filtered, report.rejected) == (6, 0, 1, 0)
    by_id = {r.external_id: r.incident for r in session.execute(select(SourceRecord)).scalars()}
    gwadar = by_id["200405030001"]
    assert (gwadar.date_precision, gwadar.geo_precision) == ("day", "place")
    assert gwadar.summary is not None
    assert "café" in gwadar.summary
    assert gwadar.nationalities == ["China"]
    besham = by_id["200801150001"]
    assert besham.geo_precision == "place"
    assert besham.latitude is not None
    assert besham.longitude is not None
    assert haversine_km(besham.latitude, besham.longitude, *BESHAM) < 10
    assert by_id["200803000001"].date_precision == "month"
    assert by_id["200803000001"].occurred_at.date().isoformat() == "2008-03-01"
    unknown_place = by_id["200900000001"]
    assert (unknown_place.date_precision, unknown_place.geo_precision) == ("year", "province")
    assert unknown_place.province == "Sindh"
    peshawar = by_id["201106060001"]
    assert (peshawar.killed, peshawar.attack_type) == (6, "suicide_bombing")  # attacker excluded
    dik = by_id["201207070001"]
    assert dik.district == "Dera Ismail Khan"
    assert (dik.killed, dik.injured, dik.attack_type) == (None, None, "kidnapping")
    assert all(i.h3_r6 is not None for i in by_id.values() if i.latitude is not None)


def test_reimport_changes_nothing(session: Session, shared_data: Path, tmp_path: Path) -> None:
    path = write_gtd_csv(tmp_path / "gtd.csv", _events(), gtd_columns(shared_data))
    _import(session, path)
    before = session.scalar(select(func.count()).select_from(Incident))
    again = _import(session, path)
    assert (again.new, again.updated, again.merged, again.unchanged) == (0, 0, 0, 6)
    assert again.summary_line().startswith("0 new, 0 merged into existing incidents, 0 updated")
    assert session.scalar(select(func.count()).select_from(Incident)) == before


def test_changed_row_is_an_update(session: Session, shared_data: Path, tmp_path: Path) -> None:
    columns = gtd_columns(shared_data)
    events = _events()
    _import(session, write_gtd_csv(tmp_path / "a.csv", events, columns))
    events[0].nkill = "4"
    report = _import(session, write_gtd_csv(tmp_path / "b.csv", events, columns))
    assert (report.new, report.updated, report.unchanged) == (0, 1, 5)
    record = session.execute(
        select(SourceRecord).where(SourceRecord.external_id == "200405030001")
    ).scalar_one()
    assert record.incident.killed == 4
    assert record.incident.version == 2


def test_newer_release_columns_and_utf8(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    columns = [*gtd_columns(shared_data), "related_2021", "new_field"]
    path = write_gtd_csv(tmp_path / "gtd.csv", _events(), columns, encoding="utf-8")
    assert _import(session, path).new == 6


def test_gtd_xlsx(session: Session, shared_data: Path, tmp_path: Path) -> None:
    columns = gtd_columns(shared_data)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(columns)
    for event in _events():
        row: list[object] = list(event.row(columns))
        for name in ("iyear", "imonth", "iday", "nkill"):  # Excel keeps numbers as numbers
            idx = columns.index(name)
            row[idx] = float(row[idx]) if row[idx] else None
        sheet.append(row)
    path = tmp_path / "gtd.xlsx"
    book.save(path)
    report = _import(session, path)
    assert (report.new, report.filtered) == (6, 1)
