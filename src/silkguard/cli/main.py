"""Entry point of the ``silkguard`` command: assembles the sub-commands."""

from __future__ import annotations

from silkguard.cli.app import app
from silkguard.cli.db import db_app
from silkguard.cli.demo import demo_command
from silkguard.cli.geo import geocode_command
from silkguard.cli.imports import import_app
from silkguard.cli.incidents import incidents_app

__all__ = ["app", "main"]

app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(incidents_app, name="incidents")
app.command("geocode")(geocode_command)
app.command("demo")(demo_command)


def main() -> None:
    app()
