"""Opening the store from the CLI: settings, engine, migrations, unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.errors import ServiceUnavailable
from silkguard.core.settings import Environment, Settings, get_settings
from silkguard.migrations import current_revision, head_revision, upgrade

__all__ = ["dispose_engines", "engine_for", "prepare_database", "settings", "unit_of_work"]


def settings() -> Settings:
    return get_settings()


_ENGINES: dict[tuple[str, bool], Engine] = {}


def engine_for(url: str, *, echo: bool = False) -> Engine:
    """One engine per database URL for the life of the process."""
    key = (url, echo)
    if key not in _ENGINES:
        _ENGINES[key] = make_engine(url, echo=echo)
    return _ENGINES[key]


def dispose_engines() -> None:
    """Close every pooled connection (tests, and servers shutting down)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def prepare_database(cfg: Settings) -> sessionmaker[Session]:
    """Migrate the database (development, test) or check it is current (production)."""
    return _ready(cfg)


def _ready(cfg: Settings) -> sessionmaker[Session]:
    engine = engine_for(cfg.database_url, echo=cfg.sql_echo)
    if current_revision(engine) != head_revision(engine):
        if cfg.environment is Environment.PRODUCTION:
            msg = (
                f"the database at {engine.url.render_as_string(hide_password=True)} is not at "
                "the current schema; run `silkguard db upgrade` first"
            )
            raise ServiceUnavailable(msg)
        upgrade(engine)  # development and tests migrate on first use
    return make_session_factory(engine)


@contextmanager
def unit_of_work(cfg: Settings | None = None) -> Iterator[Session]:
    """One CLI command, one transaction: committed on success, rolled back on any error."""
    with session_scope(_ready(cfg or settings())) as session:
        yield session
