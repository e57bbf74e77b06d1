"""Test tiers share these fixtures. The whole suite runs on SQLite by default and again on a
real PostgreSQL with ``--postgres=URL``; each PostgreSQL run gets its own database, and each
test that commits gets its own schema, so runs and tests cannot collide."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from silkguard.core.db import make_engine
from silkguard.migrations import upgrade

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        metavar="URL",
        default=None,
        help="run the suite on PostgreSQL at URL (a fresh database is created for the run)",
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it fail loudly without it."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.fail(
            f"../shared/data is missing (looked in {SHARED_DATA}); these tests need the "
            "shared reference data checked out beside the repository",
            pytrace=False,
        )
    return SHARED_DATA


def _admin_engine(url: str) -> Engine:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )


def new_pg_database(database_url: str, *, template: str | None = None) -> str:
    """A new database on the server of ``database_url``, empty or a copy of ``template``
    (which nothing may be connected to); returns its name."""
    name = f"sg_copy_{secrets.token_hex(6)}"
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    finally:
        admin.dispose()
    return name


def drop_pg_database(database_url: str, name: str) -> None:
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pg_database_url(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of this run's database: a temporary SQLite file, or a new PostgreSQL database."""
    pg = request.config.getoption("--postgres")
    if not pg:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'silkguard-test.db'}"
        return
    name = f"sg_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin_engine(pg)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(pg)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; services' flushes
    and even commits land in a SAVEPOINT."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@contextmanager
def empty_database(database_url: str, directory: Path) -> Iterator[str]:
    """An empty database of the run's kind: a new SQLite file in ``directory``, or a new
    PostgreSQL schema reached through search_path (dropped afterwards)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{directory / 'cli.db'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = _admin_engine(database_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_db_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the run's kind for tests that commit (CLI)."""
    with empty_database(database_url, tmp_path) as url:
        yield url


@pytest.fixture
def cli_env(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at a fresh database through the environment, as a user would."""
    from silkguard.cli import store

    monkeypatch.setenv("SILKGUARD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("SILKGUARD_ENVIRONMENT", "test")
    monkeypatch.setenv("SILKGUARD_SECRET_KEY", "cli-test-secret-" + "k" * 40)
    yield fresh_db_url
    store.dispose_engines()
