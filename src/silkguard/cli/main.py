"""Entry point of the ``silkguard`` command: assembles the sub-commands."""

from __future__ import annotations

from silkguard.cli.admin import audit_app, keys_app, orgs_app, users_app
from silkguard.cli.app import app
from silkguard.cli.db import db_app
from silkguard.cli.demo import demo_command
from silkguard.cli.geo import geocode_command
from silkguard.cli.imports import import_app
from silkguard.cli.incidents import incidents_app
from silkguard.cli.intake import intake_app
from silkguard.cli.jobs import jobs_app
from silkguard.cli.movements import movements_app
from silkguard.cli.network import network_app
from silkguard.cli.plan import plan_app
from silkguard.cli.positions import positions_app
from silkguard.cli.report import report_app
from silkguard.cli.risk import risk_app
from silkguard.cli.route import route_command
from silkguard.cli.serve import serve_command
from silkguard.cli.share import share_app

__all__ = ["app", "main"]

app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(incidents_app, name="incidents")
app.add_typer(risk_app, name="risk")
app.add_typer(network_app, name="network")
app.add_typer(movements_app, name="movements")
app.add_typer(positions_app, name="positions")
app.add_typer(plan_app, name="plan")
app.add_typer(jobs_app, name="jobs")
app.add_typer(intake_app, name="intake")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(share_app, name="share")
app.add_typer(report_app, name="report")
app.command("geocode")(geocode_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("route")(route_command)


def main() -> None:
    app()
