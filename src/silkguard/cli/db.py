"""``silkguard db …``: schema migrations."""

from __future__ import annotations

import typer

from silkguard.cli.store import engine_for, settings
from silkguard.migrations import current_revision, head_revision, upgrade

__all__ = ["db_app"]

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision; default the newest."),
) -> None:
    """Create or migrate the database schema (SILKGUARD_DATABASE_URL)."""
    cfg = settings()
    engine = engine_for(cfg.database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    typer.echo(f"database {where}: schema {before or 'empty'} -> {after}")


@db_app.command("current")
def current_command() -> None:
    """Show the schema revision of the database and the newest one available."""
    engine = engine_for(settings().database_url)
    typer.echo(f"current: {current_revision(engine) or 'empty'}; newest: {head_revision(engine)}")
