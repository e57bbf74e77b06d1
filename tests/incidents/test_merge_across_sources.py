"""Cross-source de-duplication through the store: GTD first, then the curated CPEC table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.mapped import load_mapping
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.incidents.models import Incident, SourceRecord
from tests.factories import GtdEvent, gtd_columns, write_gtd_csv

MAPPINGS = Path(__file__).resolve().parents[2] / "src" / "silkguard" / "incidents" / "mappings"


def test_cpec_after_gtd_merges_overlaps(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    gtd = [
        GtdEvent(
            "200405030002",
            2004,
            5,
            3,
            "Gwadar",
            "Balochistan",
            25.126,
            62.322,
            target=("1", "Business"),
            nkill="3",
            nwound="10",
        ),
        GtdEvent(
            "200707190005",
            2007,
            7,
            19,
            "Hub",
            "Balochistan",
            25.05,
            66.89,
            attack=("3", "Bombing/Explosion"),
            target=("3", "Police"),
            nkill="30",
            extra={"suicide": "1", "weapsubtype1_txt": "Vehicle"},
        ),
        # same day and town as a CPEC event but a different kind of attack: kept apart
        GtdEvent(
            "200707190006",
            2007,
            7,
            19,
            "Hub",
            "Balochistan",
            25.05,
            66.89,
            attack=("6", "Hostage Taking (Kidnapping)"),
        ),
    ]
    path = write_gtd_csv(tmp_path / "gtd.csv", gtd, gtd_columns(shared_data))
    incidents_service.import_rows(session, plan=plan_import(path, fmt=ImportFormat.GTD))
    plan = plan_import(
        shared_data / "cpec_incidents.csv",
        fmt=ImportFormat.CSV,
        mapping=load_mapping(MAPPINGS / "cpec_incidents.toml"),
    )
    report = incidents_service.import_rows(session, plan=plan)
    assert (report.new, report.merged, report.rejected) == (29, 2, 0)
    assert session.scalar(select(func.count()).select_from(Incident)) == 3 + 29
    hub = session.execute(
        select(SourceRecord).where(SourceRecord.external_id == "CPEC-2007-07-19-hub")
    ).scalar_one()
    incident = hub.incident
    assert {r.external_id for r in incident.sources} == {"200707190005", "CPEC-2007-07-19-hub"}
    assert hub.match_reason is not None
    assert "km apart" in hub.match_reason
    # the curated source speaks first; the GTD record keeps its own count
    assert incident.nationalities == ["Chinese"]
    assert incident.attack_type == "suicide_vbied"
    assert incident.injured == 30
    explanation = incidents_service.explain(session, incident_id=incident.id)
    assert explanation.conflicts["injured"] == [
        ("gtd:200707190005", "2"),
        ("news:CPEC-2007-07-19-hub", "30"),
    ]
