"""Alembic migrations and the programmatic ``upgrade`` used by ``silkguard db upgrade``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from silkguard.alerts import models as _alert_models
from silkguard.auth import models as _auth_models
from silkguard.core import changes as _change_models
from silkguard.core.db import Base
from silkguard.incidents import models as _incident_models
from silkguard.intake import models as _intake_models
from silkguard.journeys import models as _journey_models
from silkguard.people import models as _people_models
from silkguard.risk import models as _risk_models
from silkguard.sharing import models as _sharing_models

__all__ = ["alembic_config", "current_revision", "head_revision", "metadata", "upgrade"]

metadata = Base.metadata
_LOADED = (
    _change_models,
    _alert_models,
    _auth_models,
    _incident_models,
    _intake_models,
    _journey_models,
    _people_models,
    _risk_models,
    _sharing_models,
)  # every models module, so metadata is complete


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "silkguard:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
