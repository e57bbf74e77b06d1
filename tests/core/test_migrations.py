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
