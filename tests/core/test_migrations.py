"""The migrations build exactly the schema the models declare, and the newest one reverses."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from silkguard.core.db import make_engine
from silkguard.migrations import alembic_config, metadata, upgrade
from silkguard.risk.registry import MODEL_NAMES
from silkguard.risk.schemas import ModelName


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sites_and_risk_tables_downgrade_and_upgrade(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    upgrade(eng)
    risk_tables = {"sites", "risk_forecasts", "risk_forecast_cells", "risk_levels"}
    assert risk_tables <= set(inspect(eng).get_table_names())
    command.downgrade(alembic_config(eng), "0003")
    assert not risk_tables & set(inspect(eng).get_table_names())
    upgrade(eng)
    assert risk_tables <= set(inspect(eng).get_table_names())
    eng.dispose()


def test_api_model_names_follow_the_registry() -> None:
    assert set(ModelName.__args__) == set(MODEL_NAMES)  # type: ignore[attr-defined]


def test_0005_backfills_the_geojson_feature_of_stored_incidents(tmp_path: Path) -> None:
    """Incidents stored before 0005 get the same Feature text the application writes."""
    import uuid
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from silkguard.incidents.geojson import render_row
    from silkguard.incidents.models import Incident

    eng = make_engine(f"sqlite:///{tmp_path / 'backfill.db'}")
    command.upgrade(alembic_config(eng), "0004")
    when = datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    row = {
        "id": uuid.uuid4(),
        "occurred_at": when,
        "date_precision": "day",
        "latitude": 34.5,
        "longitude": 71.25,
        "geo_precision": "place",
        "place": 'Ünïcode "place"',
        "country": "PK",
        "h3_r6": 604611633946443775,
        "attack_type": "ied",
        "target_type": "police",
        "killed": 2,
        "nationalities": ["Chinese"],
        "tlp": "GREEN",
        "status": "confirmed",
        "created_at": when,
        "updated_at": when,
        "version": 3,
        "overrides": {},
    }
    table = Incident.__table__
    with eng.begin() as conn:
        conn.execute(insert(table).values(row))
    upgrade(eng)
    with eng.connect() as conn:
        stored = conn.execute(select(table)).mappings().one()
    assert stored["feature"] == render_row(dict(stored))
    assert f'"id":"{row["id"]}"' in stored["feature"]
    assert '"version":3' in stored["feature"]
    eng.dispose()
