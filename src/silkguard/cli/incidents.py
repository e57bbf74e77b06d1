"""``silkguard incidents list|show``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.cli.store import unit_of_work
from silkguard.incidents import service as incidents_service
from silkguard.incidents.models import Incident

__all__ = ["incidents_app"]

incidents_app = typer.Typer(help="Look at incidents and their sources.", no_args_is_help=True)


def _when(incident: Incident) -> str:
    local = incident.occurred_at
    if incident.date_precision == "year":
        return f"{local:%Y}"
    if incident.date_precision == "month":
        return f"{local:%Y-%m}"
    if incident.date_precision == "time":
        return f"{local:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d}"


@incidents_app.command("list")
def list_command(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20) -> None:
    """List incidents, oldest first."""
    with unit_of_work() as session:
        rows = incidents_service.get_all(session, limit=limit)
        table = Table("id", "date", "place", "province", "attack", "target", "killed", "sources")
        for inc in rows:
            table.add_row(
                str(inc.id)[:8],
                _when(inc),
                inc.place or "",
                inc.province or "",
                inc.attack_type,
                inc.target_type,
                "" if inc.killed is None else str(inc.killed),
                str(len(inc.sources)),
            )
    Console(width=160).print(table)


@incidents_app.command("show")
def show_command(
    ref: Annotated[
        str, typer.Argument(help="Incident UUID, its first 8+ characters, or a source id.")
    ],
) -> None:
    """Show an incident, its source records, and why they were merged."""
    with unit_of_work() as session:
        found = incidents_service.resolve(session, ref=ref)
        exp = incidents_service.explain(session, incident_id=found.id)
        inc = exp.incident
        echo = typer.echo
        echo(f"incident {inc.id}  [{inc.status}, TLP:{inc.tlp}]")
        echo(f"  when:    {_when(inc)} (precision {inc.date_precision})")
        where = ", ".join(p for p in (inc.place, inc.district, inc.province) if p)
        coords = (
            "no coordinates" if inc.latitude is None else f"{inc.latitude:.4f}, {inc.longitude:.4f}"
        )
        echo(f"  where:   {where or 'unknown'} ({coords}; precision {inc.geo_precision})")
        echo(f"  what:    {inc.attack_type} against {inc.target_type}")
        echo(
            f"  who:     {inc.perpetrator or 'unknown'} (as attributed by the source"
            f"{', claimed' if inc.claimed else ''})"
        )
        echo(
            f"  toll:    killed {inc.killed if inc.killed is not None else '?'}, injured "
            f"{inc.injured if inc.injured is not None else '?'}; foreign killed "
            f"{inc.killed_foreign if inc.killed_foreign is not None else '?'}, injured "
            f"{inc.injured_foreign if inc.injured_foreign is not None else '?'}"
            + (f" ({', '.join(inc.nationalities)})" if inc.nationalities else "")
        )
        if inc.summary:
            echo(f"  summary: {inc.summary}")
        echo(f"  {len(inc.sources)} source record(s):")
        for record, reason in exp.reasons:
            echo(
                f"  - {record.source_kind}:{record.source_name} #{record.external_id} "
                f"(line {record.line_no}, imported {record.imported_at:%Y-%m-%d %H:%M} UTC)"
            )
            echo(f"      {reason}")
            if record.url:
                echo(f"      {record.url}")
        for name, values in exp.conflicts.items():
            shown = "; ".join(f"{label} says {value}" for label, value in values)
            echo(f"  sources disagree on {name}: {shown}")
