"""The shared reference tables import through the shipped mappings."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.core.errors import InvalidInput
from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.mapped import load_mapping
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.incidents.models import Incident

MAPPINGS = Path(__file__).resolve().parents[2] / "src" / "silkguard" / "incidents" / "mappings"


def _import(session: Session, path: Path, mapping: str) -> incidents_service.ImportReport:
    plan = plan_import(path, fmt=ImportFormat.CSV, mapping=load_mapping(MAPPINGS / mapping))
    return incidents_service.import_rows(session, plan=plan)


def test_pk_incidents_import_all_rows_with_yearly_counts(
    session: Session, shared_data: Path
) -> None:
    path = shared_data / "pk_incidents_2007_2015.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    report = _import(session, path, "pk_incidents_2007_2015.toml")
    assert report.rejected == 0
    assert report.new + report.merged == len(rows)
    expected = Counter(int(r["date"][:4]) for r in rows)
    stored = Counter(when.year for when in session.execute(select(Incident.occurred_at)).scalars())
    # merged rows (same event reported twice in the table) would lower a year's count
    assert report.merged == 0
    assert stored == expected
    fata = session.execute(select(Incident.province).where(Incident.province == "FATA")).all()
    assert fata == []


def test_cpec_incidents_import(session: Session, shared_data: Path) -> None:
    report = _import(session, shared_data / "cpec_incidents.csv", "cpec_incidents.toml")
    assert (report.new, report.rejected) == (31, 0)
    besham = session.execute(
        select(Incident).where(
            Incident.occurred_at >= datetime(2024, 3, 26, tzinfo=UTC),
            Incident.occurred_at < datetime(2024, 3, 27, tzinfo=UTC),
        )
    ).scalar_one()
    assert besham.killed_foreign == 5
    assert besham.nationalities == ["Chinese"]
    assert besham.province == "Khyber Pakhtunkhwa"
    again = _import(session, shared_data / "cpec_incidents.csv", "cpec_incidents.toml")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 31)


def test_mapping_errors_name_section_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[columns]\ndate = "d"\nwhen = "x"\n')
    with pytest.raises(InvalidInput, match=r"m.toml: \[columns\]: unknown key\(s\) \['when'\]"):
        load_mapping(bad)
    bad.write_text('[source]\nkind = "twitter"\n')
    with pytest.raises(InvalidInput, match=r"\[source\] kind: must be one of gtd"):
        load_mapping(bad)
    bad.write_text("[columns\n")
    with pytest.raises(InvalidInput, match="TOML syntax"):
        load_mapping(bad)


def test_mapping_with_translations(session: Session, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text(
        "Ref;When;Where;Prov;Kind;Victims;Dead\n"
        "R1;12/03/2024;Panjgur;Baluchistan;roadside bomb;escort;2\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[source]\nkind = "field"\nname = "liaison-log"\nid_column = "Ref"\n'
        '[columns]\ndate = "When"\nplace = "Where"\nprovince = "Prov"\nattack_type = "Kind"\n'
        'target_type = "Victims"\nkilled = "Dead"\n'
        '[formats]\ndate = ["%d/%m/%Y"]\ndelimiter = ";"\n'
        '[values.attack_type]\n"roadside bomb" = "ied"\n'
        '[values.target_type]\nescort = "convoy"\n'
        '[constants]\ntlp = "AMBER"\n',
        encoding="utf-8",
    )
    plan = plan_import(table, fmt=ImportFormat.CSV, mapping=load_mapping(mapping))
    report = incidents_service.import_rows(session, plan=plan)
    assert report.new == 1
    inc = session.execute(select(Incident)).scalar_one()
    assert (inc.attack_type, inc.target_type, inc.tlp, inc.killed) == ("ied", "convoy", "AMBER", 2)
    assert inc.occurred_at.date().isoformat() == "2024-03-12"
    assert inc.province == "Balochistan"
    assert inc.geo_precision == "place"
