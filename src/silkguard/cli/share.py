"""``silkguard share export|import|collections|subscribe|subscriptions|pull|unsubscribe``: STIX
2.1 bundles, TAXII collections and pulls from partners' TAXII servers, acting as a user
(``--as USERNAME``) so that exactly what that user may see is shared."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.auth import audit
from silkguard.auth import service as auth_service
from silkguard.cli.movements import principal_for
from silkguard.cli.risk import parse_when
from silkguard.cli.store import prepare_database, settings, unit_of_work
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import parse_tlp
from silkguard.sharing import pool, taxii
from silkguard.sharing import pull as taxii_pull
from silkguard.sharing.service import export_incidents, import_bundle
from silkguard.sharing.stix_export import dumps_bundle

__all__ = ["share_app"]

share_app = typer.Typer(
    help=(
        "Share incidents as STIX 2.1 bundles; list your TAXII collections; pull partners' "
        "TAXII collections; contribute incidents to a sharing group anonymously."
    ),
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


@share_app.command("subscribe")
def subscribe_command(
    name: Annotated[str, typer.Argument(help="A short name for the subscription.")],
    url: Annotated[
        str,
        typer.Option(help="The remote collection: https://…/taxii2/<root>/collections/<id>/"),
    ],
    as_user: AsUser,
    key_env: Annotated[
        str,
        typer.Option(
            help="Environment variable holding the API key the remote server issued to you "
            "(prompted for when unset; never pass secrets as arguments)."
        ),
    ] = "SILKGUARD_TAXII_KEY",
    username: Annotated[
        str, typer.Option(help="HTTP Basic user name (default: send the key as X-API-Key).")
    ] = "",
    every: Annotated[int, typer.Option(help="Minutes between scheduled pulls.")] = 15,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a subscription of the same name.")
    ] = False,
) -> None:
    """Subscribe your organisation to a partner's TAXII collection. The worker pulls it every
    --every minutes; `silkguard share pull NAME` pulls now. Imports run as --as (an analyst
    or administrator) and arrive as drafts in your review queue."""
    credential = os.environ.get(key_env) or typer.prompt(
        f"API key for {url} (${key_env} is unset)", hide_input=True
    )
    cfg = settings()
    with unit_of_work(cfg) as session:
        user = auth_service.get_user_by_username(session, username=as_user)
        sub = taxii_pull.subscribe(
            session,
            run_as=user,
            name=name,
            url=url,
            credential=credential,
            secret_key=cfg.secret_key,
            username=username,
            interval_minutes=every,
            replace=replace,
        )
        audit.record(
            session,
            action="sharing.subscribe",
            actor=f"user:{user.id}",
            org_id=user.org_id,
            object_type="taxii_subscription",
            object_id=sub.id,
            detail={"name": sub.name, "url": sub.url, "via": "cli"},
            now=utcnow(),
        )
        typer.echo(f"subscribed {sub.name!r} to {sub.url} (pulled every {every} min)")


@share_app.command("subscriptions")
def subscriptions_command(as_user: AsUser) -> None:
    """List your organisation's TAXII subscriptions with their bookmark and last outcome."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        found = taxii_pull.list_subscriptions(session, org_id=principal.org_id)
        table = Table("name", "collection", "every", "added after", "last pull", "outcome")
        for sub in found:
            table.add_row(
                sub.name,
                sub.url,
                f"{sub.interval_minutes} min",
                sub.added_after or "-",
                sub.last_polled_at.isoformat(timespec="seconds") if sub.last_polled_at else "-",
                sub.last_outcome or "-",
            )
    _console.print(table)


@share_app.command("pull")
def pull_command(
    name: Annotated[str, typer.Argument(help="The subscription to pull now.")],
    as_user: AsUser,
) -> None:
    """Pull a subscribed collection now: what was added since the last pull arrives as draft
    incidents with provenance. A failure leaves the store as it was."""
    cfg = settings()
    factory = prepare_database(cfg)
    with unit_of_work(cfg) as session:
        principal = principal_for(session, as_user)
        sub_id = taxii_pull.get_subscription(session, org_id=principal.org_id, name=name).id
    report = taxii_pull.pull_and_record(
        factory, sub_id, secret_key=cfg.secret_key, now=utcnow(), actor=principal.actor
    )
    typer.echo(report.summary_line())
    for error in report.errors:
        typer.echo(f"rejected {error}", err=True)


@share_app.command("unsubscribe")
def unsubscribe_command(
    name: Annotated[str, typer.Argument(help="The subscription to remove.")],
    as_user: AsUser,
) -> None:
    """Stop pulling a collection (what was imported stays)."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        taxii_pull.unsubscribe(session, org_id=principal.org_id, name=name)
        audit.record(
            session,
            action="sharing.unsubscribe",
            actor=principal.actor,
            org_id=principal.org_id,
            object_type="taxii_subscription",
            object_id=name,
            now=utcnow(),
        )
    typer.echo(f"unsubscribed {name!r}")


def _incident_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        msg = f"incident id {text!r} is not a UUID; copy it from silkguard incidents list"
        raise InvalidInput(msg) from None


@share_app.command("contribute")
def contribute_command(
    incident_id: Annotated[str, typer.Argument(help="Your organisation's incident (id).")],
    group: Annotated[str, typer.Option("--group", help="Sharing group: name or id.")],
    as_user: AsUser,
    summary: Annotated[
        str | None, typer.Option(help="Replace the summary in the copy (it may name you).")
    ] = None,
    generalise_location: Annotated[
        bool,
        typer.Option(
            "--generalise-location",
            help="Give the position only to its district (H3 resolution-6 cell centre).",
        ),
    ] = False,
) -> None:
    """Contribute an incident to a sharing group without naming your organisation: the group
    gets a copy owned by its pool. Again for the same group, the copy is brought up to date."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        made = pool.contribute(
            session,
            principal=principal,
            incident_id=_incident_id(incident_id),
            group_id=pool.find_group(session, principal, group),
            summary=summary,
            generalise_location=generalise_location,
        )
        audit.record(
            session,
            action="incident.contribute",
            actor=principal.actor,
            org_id=principal.org_id,
            object_type="incident",
            object_id=incident_id.strip(),
            detail={
                "via": "cli",
                "group": str(made.group_id),
                "pool_incident": str(made.pool_incident_id),
                "refreshed": made.refreshed,
                "generalise_location": generalise_location,
                "summary_replaced": summary is not None,
            },
            now=utcnow(),
        )
    verb = "refreshed in" if made.refreshed else "contributed to"
    typer.echo(f"{verb} sharing group {made.group_name} as incident {made.pool_incident_id}")
    for warning in made.warnings:
        typer.echo(f"warning: {warning}", err=True)


@share_app.command("withdraw")
def withdraw_command(
    incident_id: Annotated[str, typer.Argument(help="Your organisation's incident (id).")],
    group: Annotated[str, typer.Option("--group", help="Sharing group: name or id.")],
    as_user: AsUser,
) -> None:
    """Withdraw your contribution of an incident from a sharing group (its copy is deleted)."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        group_id = pool.find_group(session, principal, group)
        gone = pool.withdraw(
            session, principal=principal, incident_id=_incident_id(incident_id), group_id=group_id
        )
        audit.record(
            session,
            action="incident.withdraw",
            actor=principal.actor,
            org_id=principal.org_id,
            object_type="incident",
            object_id=incident_id.strip(),
            detail={"via": "cli", "group": str(group_id), "pool_incident": str(gone)},
            now=utcnow(),
        )
    typer.echo(f"withdrawn: the group's copy {gone} is deleted")
