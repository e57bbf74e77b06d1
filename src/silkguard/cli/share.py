"""``silkguard share export|import|collections``: STIX 2.1 bundles and TAXII collections,
acting as a user (``--as USERNAME``) so that exactly what that user may see is shared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.auth import audit
from silkguard.cli.movements import principal_for
from silkguard.cli.risk import parse_when
from silkguard.cli.store import unit_of_work
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import parse_tlp
from silkguard.sharing import taxii
from silkguard.sharing.service import export_incidents, import_bundle
from silkguard.sharing.stix_export import dumps_bundle

__all__ = ["share_app"]

share_app = typer.Typer(
    help="Share incidents as STIX 2.1 bundles; list your TAXII collections.",
    no_args_is_help=True,
)
_console = Console(width=160)
AsUser = Annotated[
    str,
    typer.Option("--as", help="Act as this user: their organisation, role and visibility."),
]


@share_app.command("export")
def export_command(
    as_user: AsUser,
    out: Annotated[
        Path | None, typer.Option(help="Write the bundle here (default: standard output).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only incidents changed after this date or ISO datetime (UTC)."),
    ] = None,
    drafts: Annotated[
        bool, typer.Option("--drafts", help="Include your organisation's drafts.")
    ] = False,
    pretty: Annotated[bool, typer.Option("--pretty", help="Indent the JSON.")] = False,
) -> None:
    """Export the incidents you may see as a STIX 2.1 bundle (never another organisation's
    AMBER+STRICT or RED)."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        bundle = export_incidents(
            session,
            principal=principal,
            since=parse_when(since, option="--since") if since else None,
            include_drafts=drafts,
        )
    text = dumps_bundle(bundle, pretty=pretty)
    count = sum(1 for o in bundle["objects"] if o["type"] == "incident")
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        typer.echo(f"{count} incidents, {len(bundle['objects'])} STIX objects written to {out}")


@share_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A STIX 2.1 bundle (JSON).", show_default=False)],
    as_user: AsUser,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Import the valid objects; list the invalid ones."),
    ] = False,
    tlp: Annotated[str, typer.Option(help="TLP 2.0 marking for objects that carry none.")] = (
        "GREEN"
    ),
) -> None:
    """Import a STIX bundle as draft incidents of your organisation, with provenance and
    de-duplication. Without --skip-bad one invalid object means nothing is imported."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        msg = f"{file}: cannot read the bundle ({exc.strerror}); check the path"
        raise InvalidInput(msg) from None
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        report = import_bundle(
            session, principal=principal, data=data, skip_bad=skip_bad, default_tlp=parse_tlp(tlp)
        )
        audit.record(
            session,
            action="incident.import",
            actor=principal.actor,
            org_id=principal.org_id,
            object_type="stix_bundle",
            object_id=str(file),
            detail={
                "via": "cli",
                "new": report.new,
                "merged": report.merged,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.errors),
                "incident_ids": [str(i) for i in report.incident_ids[:1000]],
            },
            now=utcnow(),
        )
    typer.echo(report.summary_line())
    for error in report.errors:
        typer.echo(f"rejected {error.describe()}", err=True)


@share_app.command("collections")
def collections_command(as_user: AsUser) -> None:
    """List the TAXII collections you can reach at /taxii2/api/collections/."""
    with unit_of_work() as session:
        found = taxii.collections_for(session, principal_for(session, as_user))
    table = Table("id", "title", "read", "write")
    for coll in found:
        table.add_row(
            coll.id, coll.title, "yes" if coll.can_read else "no", "yes" if coll.can_write else "no"
        )
    _console.print(table)
