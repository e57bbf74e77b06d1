"""``silkguard report sitrep``: a situation report for a period, written as PDF or HTML.

Without ``--org`` the report is the operator's view of the whole store (every organisation's
movements and alerts, every confirmed incident); with ``--org SLUG`` it is what an
administrator of that organisation sees through the API."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated

import typer

from silkguard.auth import audit
from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.cli.store import unit_of_work
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput
from silkguard.reports import (
    build_sitrep,
    filename,
    make_period,
    parse_date,
    parse_format,
    render,
)

__all__ = ["report_app"]

report_app = typer.Typer(help="Situation reports (PDF or HTML).", no_args_is_help=True)


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        name = "unknown"
    return f"cli:{name}"


@report_app.command("sitrep")
def sitrep_command(
    first: Annotated[
        str,
        typer.Option("--from", help="First day, YYYY-MM-DD (Pakistan time).", show_default=False),
    ],
    last: Annotated[
        str,
        typer.Option("--to", help="Last day, included, YYYY-MM-DD.", show_default=False),
    ],
    fmt: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Write here (default: sitrep-FROM-TO.EXT in this folder)."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="See what this organisation's administrators see."),
    ] = None,
) -> None:
    """Incidents, casualties, threat-level changes, movements, alerts and roll-call of the
    period, with charts, a map and the top risks of the latest forecast."""
    report_format = parse_format(fmt)
    period = make_period(parse_date(first, field_name="from"), parse_date(last, field_name="to"))
    started = time.perf_counter()
    with unit_of_work() as session:
        principal: Principal | None = None
        reader = "all organisations (operator at the console)"
        if org is not None:
            found = auth_service.get_org_by_slug(session, slug=org)
            principal = Principal(
                org_id=found.id,
                role=Role.ADMIN.value,
                group_ids=frozenset(auth_service.groups_of_org(session, org_id=found.id)),
            )
            reader = f"{found.name} (administrator)"
        report = build_sitrep(
            session, principal=principal, period=period, now=utcnow(), reader=reader
        )
        body = render(report, report_format)
        target = output or Path(filename(report, report_format))
        try:
            target.write_bytes(body)
        except OSError as exc:
            msg = f"--output {target}: cannot write the report ({exc.strerror}); check the path"
            raise InvalidInput(msg, field="output") from None
        audit.record(
            session,
            action="report.sitrep",
            actor=_actor(),
            org_id=principal.org_id if principal is not None else None,
            object_type="report",
            object_id=target.name,
            detail={
                "via": "cli",
                "from": period.first.isoformat(),
                "to": period.last.isoformat(),
                "format": report_format.value,
                "incidents": report.summary.incidents,
            },
            now=utcnow(),
        )
    s = report.summary
    typer.echo(
        f"{target}: situation report {period.label}, {s.incidents} incidents, {s.killed} killed, "
        f"{s.wounded} wounded, {s.movements} movements, {s.alerts} alerts "
        f"({len(body) / 1024:.0f} KiB in {time.perf_counter() - started:.1f} s)"
    )
