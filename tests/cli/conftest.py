"""The seeded demo store for CLI tests that start from it.

``silkguard demo --no-serve --no-forecast`` (migrations, the demo organisations, users with
production-cost password hashes, sites, people, incidents) takes seconds; the tests here only
need its result. It runs once per module into a template, and each test gets a copy of its
own: a copied SQLite file, or a PostgreSQL database made ``TEMPLATE`` the seeded one. Tests
still commit to a store nobody else sees, as with ``cli_env``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from silkguard.cli import store
from silkguard.cli.main import app
from tests.conftest import drop_pg_database, new_pg_database, pg_database_url

SECRET = "cli-test-secret-" + "k" * 40


def _point_cli_at(mp: pytest.MonkeyPatch, url: str) -> None:
    mp.setenv("SILKGUARD_DATABASE_URL", url)
    mp.setenv("SILKGUARD_ENVIRONMENT", "test")
    mp.setenv("SILKGUARD_SECRET_KEY", SECRET)


@pytest.fixture(scope="module")
def demo_template(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seeded demo store of this module: a SQLite file path or a PostgreSQL database name.
    Nothing connects to it after it is built (PostgreSQL copies only an idle template)."""
    sqlite = database_url.startswith("sqlite")
    if sqlite:
        path = tmp_path_factory.mktemp("demo-template") / "demo.db"
        source, url = str(path), f"sqlite:///{path}"
    else:
        source = new_pg_database(database_url)
        url = pg_database_url(database_url, source)
    try:
        with pytest.MonkeyPatch.context() as mp:
            _point_cli_at(mp, url)
            try:
                seeded = CliRunner().invoke(app, ["demo", "--no-serve", "--no-forecast"])
            finally:
                store.dispose_engines()
        assert seeded.exit_code == 0, seeded.output
        yield source
    finally:
        if not sqlite:
            drop_pg_database(database_url, source)


@pytest.fixture
def demo(
    demo_template: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A copy of the seeded demo store for this test, with the CLI pointed at it."""
    if database_url.startswith("sqlite"):
        copy = tmp_path / "cli.db"
        shutil.copyfile(demo_template, copy)
        url, name = f"sqlite:///{copy}", None
    else:
        name = new_pg_database(database_url, template=demo_template)
        url = pg_database_url(database_url, name)
    _point_cli_at(monkeypatch, url)
    try:
        yield url
    finally:
        store.dispose_engines()
        if name is not None:
            drop_pg_database(database_url, name)
