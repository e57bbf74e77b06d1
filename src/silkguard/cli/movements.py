"""``silkguard movements request|approve|start|checkin|arrive|show|board|overdue|policy``.

The command line is an operator's tool on the server: ``--as USERNAME`` names the user on
whose behalf a command acts, and that user's role and organisation decide what is allowed,
exactly as through the API.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from silkguard.alerts.overdue import install as install_overdue_alerts
from silkguard.auth import service as auth_service
from silkguard.auth.groups import groups_of_org
from silkguard.auth.roles import Permission, Role, allowed
from silkguard.cli.risk import parse_duration, parse_when
from silkguard.cli.store import settings, unit_of_work
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, PermissionDenied
from silkguard.journeys import service as movements
from silkguard.journeys.models import Movement
from silkguard.journeys.patterns import MIN_MOVEMENTS
from silkguard.journeys.policy import load_policy

__all__ = ["movements_app"]

movements_app = typer.Typer(
    help="Movement requests, approvals and check-ins.", no_args_is_help=True
)
_console = Console(width=160)

AsUser = Annotated[str, typer.Option("--as", help="Act as this user (username).")]
MovementArg = Annotated[str, typer.Argument(help="Movement id.")]


def principal_for(session: Session, username: str) -> Principal:
    """The principal a ``--as USERNAME`` option names (disabled users are refused)."""
    user = auth_service.get_user_by_username(session, username=username)
    if not user.is_active:
        msg = f"user {username!r} is disabled"
        raise InvalidInput(msg)
    return Principal(
        org_id=user.org_id,
        role=user.role,
        user_id=user.id,
        group_ids=frozenset(groups_of_org(session, org_id=user.org_id)),
    )


def _id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        msg = f"movement id {text!r} is not a UUID; `silkguard movements board` lists them"
        raise InvalidInput(msg) from None


def _show(m: Movement) -> None:
    decision: dict[str, Any] = m.decision or {}
    assessment: dict[str, Any] = m.assessment or {}
    route: dict[str, Any] = m.route or {}
    _console.print(
        f"[bold]{m.id}[/] {m.origin_label} -> {m.destination_label}: [bold]{m.state}[/] "
        f"(departs {m.departure_start:%Y-%m-%d %H:%M} UTC, {m.vehicles} vehicles, party {m.party})"
    )
    if route:
        exposure = route.get("exposure")
        _console.print(
            f"  route: {route.get('length_km', 0):.0f} km, "
            f"{route.get('time_s', 0) / 3600:.1f} h, exposure "
            f"{'-' if exposure is None else f'{exposure:.1f}'}; "
            f"highest threat level {assessment.get('max_level', '-')}"
        )
    _console.print(
        f"  decision: {decision.get('status', '-')}; approvals required "
        f"{decision.get('approvals_required', 0)}; measures {', '.join(m.measures) or 'none'}"
    )
    for fired in decision.get("fired", []):
        _console.print(f"  rule {fired.get('rule')}: {fired.get('why')}")
    for reason in decision.get("reasons", []):
        _console.print(f"  [yellow]{reason}[/]")


@movements_app.command("request")
def request_command(
    origin: Annotated[str, typer.Argument(metavar="FROM", help="Place name or LAT,LON.")],
    destination: Annotated[str, typer.Argument(metavar="TO", help="Place name or LAT,LON.")],
    as_user: AsUser,
    depart: Annotated[str, typer.Option(help="Departure (ISO datetime, UTC if no zone).")],
    arrive: Annotated[str, typer.Option(help="Planned arrival (ISO datetime).")],
    via: Annotated[
        list[str] | None, typer.Option("--via", help="Pass through (repeatable).")
    ] = None,
    vehicles: Annotated[int, typer.Option(min=1)] = 1,
    party: Annotated[int, typer.Option(min=1)] = 1,
    measure: Annotated[
        list[str] | None,
        typer.Option("--measure", help="Protective measure provided, e.g. police_escort."),
    ] = None,
    purpose: Annotated[str, typer.Option()] = "",
    policy_file: Annotated[
        str | None, typer.Option("--policy", help="Movement policy TOML (default: shipped).")
    ] = None,
) -> None:
    """Plan, assess and submit a movement; prints the decision and the rules that fired."""
    policy = load_policy(Path(policy_file)) if policy_file else None
    with unit_of_work() as session:
        m = movements.request_movement(
            session,
            principal=principal_for(session, as_user),
            origin=origin,
            destination=destination,
            via=via or [],
            departure=parse_when(depart, option="--depart"),
            arrival=parse_when(arrive, option="--arrive"),
            vehicles=vehicles,
            party=party,
            measures=measure or [],
            purpose=purpose,
            policy=policy,
        )
        _show(m)


def _act(name: str, username: str, movement: str, **extra: Any) -> None:
    with unit_of_work() as session:
        principal = principal_for(session, username)
        action = getattr(movements, name)
        result = action(session, principal=principal, movement_id=_id(movement), **extra)
        m = (
            result
            if isinstance(result, Movement)
            else movements.get_movement(session, principal=principal, movement_id=_id(movement))
        )
        _show(m)


@movements_app.command("approve")
def approve_command(movement: MovementArg, as_user: AsUser) -> None:
    """Approve a submitted movement (role approver or admin; not your own request)."""
    _act("approve", as_user, movement)


@movements_app.command("start")
def start_command(movement: MovementArg, as_user: AsUser) -> None:
    """Mark an approved movement as under way."""
    _act("start", as_user, movement)


@movements_app.command("checkin")
def checkin_command(
    movement: MovementArg,
    as_user: AsUser,
    at: Annotated[str, typer.Option(help="Position as LAT,LON.")],
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Record a check-in of a movement under way."""
    try:
        lat_s, lon_s = at.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        msg = f"--at {at!r} must be LAT,LON in decimal degrees, e.g. 35.32,73.22"
        raise InvalidInput(msg) from None
    _act("check_in", as_user, movement, lat=lat, lon=lon, note=note)


@movements_app.command("arrive")
def arrive_command(movement: MovementArg, as_user: AsUser) -> None:
    """Mark a movement as arrived."""
    _act("arrive", as_user, movement)


@movements_app.command("show")
def show_command(
    movement: MovementArg,
    as_user: AsUser,
    json_out: Annotated[bool, typer.Option("--json", help="The whole record as JSON.")] = False,
) -> None:
    """One movement: route, assessment, decision; with --json the complete record."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        m = movements.get_movement(session, principal=principal, movement_id=_id(movement))
        if json_out:
            record = movements.movement_record(session, movement_id=m.id)
            typer.echo(json.dumps(record, indent=1, default=str))
            return
        _show(m)


@movements_app.command("board")
def board_command(as_user: AsUser) -> None:
    """The movements board: every movement you may see, by state."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        table = Table("id", "from", "to", "departs (UTC)", "state", "decision", title="Movements")
        for m in movements.list_movements(session, principal=principal):
            decision: dict[str, Any] = m.decision or {}
            table.add_row(
                str(m.id),
                m.origin_label,
                m.destination_label,
                f"{m.departure_start:%Y-%m-%d %H:%M}",
                m.state,
                str(decision.get("status", "-")),
            )
        _console.print(table)
        counts = movements.board(session, principal=principal)
        _console.print(", ".join(f"{k}: {v}" for k, v in counts.items() if v) or "no movements")


@movements_app.command("patterns")
def patterns_command(
    as_user: AsUser,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Look back this many days.")] = 180,
) -> None:
    """How predictable your organisation's movements have been, per origin and destination
    (departure hour, weekday and road), with what to change."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        found = movements.movement_patterns(session, principal=principal, days=days)
    if not found:
        _console.print(f"no pair travelled {MIN_MOVEMENTS} or more times in {days} days")
        return
    table = Table(
        "from",
        "to",
        "movements",
        "hours spread",
        "weekdays spread",
        "roads",
        "predictability",
        "what to change",
        title="How predictable the movements have been (1 = fully predictable)",
    )
    for p in found:
        table.add_row(
            p.origin,
            p.destination,
            str(p.movements),
            f"{p.hour_spread:.2f}",
            f"{p.weekday_spread:.2f}",
            str(p.routes),
            f"{p.predictability:.2f}",
            "\n".join(a.text for a in p.advice) or "-",
        )
    _console.print(table)


@movements_app.command("overdue")
def overdue_command(
    grace: Annotated[str, typer.Option(help="Grace after the planned arrival (30m, 1h).")] = "30m",
) -> None:
    """The overdue check (run it every few minutes from cron or a timer): movements under way
    past their planned arrival plus the grace become overdue, each once."""
    grace_td: timedelta = parse_duration(grace, option="--grace")
    install_overdue_alerts(settings().secret_key)
    with unit_of_work() as session:
        found = movements.detect_overdue(session, now=utcnow(), grace=grace_td)
        for m in found:
            _console.print(f"overdue: {m.id} {m.origin_label} -> {m.destination_label}")
        _console.print(f"{len(found)} movement(s) newly overdue")


@movements_app.command("policy")
def policy_command(
    as_user: AsUser,
    file: Annotated[
        Path | None,
        typer.Argument(help="A policy TOML to put in force (omit to show the one in force)."),
    ] = None,
) -> None:
    """Show the organisation's movement policy in force, or put a newer revision in force
    (admins only; the file's ``revision`` must be higher than the stored one)."""
    with unit_of_work() as session:
        principal = principal_for(session, as_user)
        if file is not None:
            if not allowed(Role(principal.role), Permission.MOVEMENT_POLICY):
                msg = f"the role {principal.role!r} may not {Permission.MOVEMENT_POLICY.value}"
                raise PermissionDenied(msg)
            try:
                document = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"{file}: cannot read the policy file: {exc}"
                raise InvalidInput(msg) from exc
            row = movements.set_policy(session, principal=principal, document=document)
            _console.print(f"policy {row.name!r} revision {row.revision} is in force")
        policy = movements.org_policy(session, org_id=principal.org_id)
        table = Table(
            "rule", "applies", "effect", title=f"{policy.name} (revision {policy.revision})"
        )
        for rule in policy.rules:
            effect = {
                "forbid": "forbidden",
                "approvals": f"{rule.approvals} approval(s)",
                "max_vehicles": f"at most {rule.max_vehicles} vehicles",
                "require": ", ".join(sorted(rule.require)),
            }[rule.effect]
            table.add_row(rule.id, rule.when.describe(), effect)
        _console.print(table)
