"""``silkguard demo``: seed the demo data set and summarise it."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from silkguard.cli.serve import run_server
from silkguard.cli.store import engine_for, settings, unit_of_work
from silkguard.core.clock import utcnow
from silkguard.core.db import analyze
from silkguard.core.errors import PermissionDenied
from silkguard.core.settings import Environment
from silkguard.demo.seed import DEMO_PASSWORD, seed_demo
from silkguard.incidents.models import Incident
from silkguard.risk import service as risk_service

__all__ = ["demo_command"]


def demo_command(
    serve: Annotated[bool, typer.Option(help="Start the API server after seeding.")] = True,
    forecast: Annotated[
        bool, typer.Option(help="Fit the risk model and store today's threat levels.")
    ] = True,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Load the demo organisations, users and incidents, print a summary, serve the API."""
    cfg = settings()
    if cfg.environment is Environment.PRODUCTION:
        msg = "the demo creates users with a published password; it refuses to run in production"
        raise PermissionDenied(msg)
    console = Console(width=120)
    with unit_of_work(cfg) as session:
        result = seed_demo(session)
        rows = session.execute(
            select(Incident.occurred_at, Incident.province, Incident.killed, Incident.nationalities)
        ).all()
        total = session.scalar(select(func.count()).select_from(Incident))
    analyze(engine_for(cfg.database_url))
    typer.echo(f"database: {cfg.database_url}")
    typer.echo(
        f"demo organisations added: {result.orgs_added}; users added: {result.users_added}; "
        f"sites added: {result.sites_added}; people added: {result.people_added}; "
        f"demo incidents: {result.report.summary_line()}"
    )
    by_year: Counter[int] = Counter(r[0].year for r in rows)
    by_province: Counter[str] = Counter(r[1] or "unknown" for r in rows)
    table = Table("year", "incidents", "killed", title=f"{total} incidents in the store")
    killed: Counter[int] = Counter()
    for r in rows:
        killed[r[0].year] += r[2] or 0
    for year in sorted(by_year):
        table.add_row(str(year), str(by_year[year]), str(killed[year]))
    console.print(table)
    prov = Table("province", "incidents")
    for name, count in by_province.most_common():
        prov.add_row(name, str(count))
    console.print(prov)
    chinese = sum(1 for r in rows if "Chinese" in (r[3] or []))
    typer.echo(f"incidents affecting Chinese nationals: {chinese}")
    typer.echo(
        f"demo users (see the README) all have the password {DEMO_PASSWORD!r}, e.g. li.wei "
        "(analyst) or hamza.qureshi (admin)"
    )
    if forecast:
        with unit_of_work(cfg) as session:
            outcome = risk_service.run_forecast(session, model="sepp", as_of=utcnow(), actor="demo")
            run = outcome.run
            sites = Table("site", "level", "reason", title="Threat levels of the demo sites")
            for record in sorted(
                (r for r in outcome.levels if r.subject_kind == "site"),
                key=lambda r: (-r.level, r.subject_name),
            ):
                sites.add_row(record.subject_name, str(record.level), record.reason)
            typer.echo(
                f"risk forecast {run.id} ({run.model_version}) on {run.n_events} incidents; "
                "`silkguard risk explain` shows the levels again"
            )
        console.print(sites)
    if serve:
        run_server(host, port, workers=1)
