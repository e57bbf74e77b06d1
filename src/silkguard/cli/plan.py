"""``silkguard plan solve|sample|explain|departure``: randomised guard coverage of an organisation's
sites (a Stackelberg security game solved exactly), explained, and drawn into calendars;
``plan routes|route-calendar|route-draw``: the escort game over road segments x time slots and
a movement's route and departure drawn in step with it."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from silkguard.auth.roles import Permission, Role, allowed
from silkguard.cli.movements import principal_for
from silkguard.cli.risk import parse_duration
from silkguard.cli.store import unit_of_work
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput, NotFound, PermissionDenied
from silkguard.journeys.policy import LOCAL_TZ
from silkguard.protection import movement_draw, route_plans
from silkguard.protection import service as planner
from silkguard.protection.route_plans import GameSettings

__all__ = ["plan_app"]

plan_app = typer.Typer(help="Protection planner: randomised guard coverage.", no_args_is_help=True)
_console = Console(width=160)
AsUser = Annotated[str, typer.Option("--as", help="Act as this user (username).")]


def _who(session: Session, username: str, perm: Permission) -> Principal:
    principal = principal_for(session, username)
    if not allowed(Role(principal.role), perm):
        msg = f"the role {principal.role!r} may not {perm.value}"
        raise PermissionDenied(msg)
    return principal


def _movement_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        msg = f"movement id {text!r} is not a UUID; `silkguard movements board` lists them"
        raise InvalidInput(msg) from None


Teams = Annotated[int, typer.Option("--teams", min=1, help="Guard teams available per day.")]


@plan_app.command("solve")
def solve_command(
    as_user: AsUser,
    teams: Teams,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The optimal coverage of each site and why (nothing is stored)."""
    with unit_of_work() as session:
        who = _who(session, as_user, Permission.PLAN_READ)
        plan = planner.plan_sites(session, principal=who, teams=teams)
        rows = plan.rows()
    if json_out:
        typer.echo(json.dumps({"teams": teams, "sites": rows}, indent=1))
        return
    table = Table(
        "site",
        "level",
        "people",
        "crit.",
        "consequence",
        "coverage",
        title=f"{teams} guard team(s)",
    )
    for r in rows:
        table.add_row(
            str(r["site"]),
            str(r["level"]),
            str(r["headcount"]),
            str(r["criticality"]),
            f"{r['consequence']:.2f}",
            f"{r['coverage']:.3f}",
        )
    _console.print(table)
    _console.print(f"defender's expected loss if attacked: {-plan.solution.defender_utility:.3f}")


@plan_app.command("explain")
def explain_command(
    site: Annotated[str, typer.Argument(help="Site slug.")], as_user: AsUser, teams: Teams
) -> None:
    """Why one site gets the coverage it gets."""
    with unit_of_work() as session:
        who = _who(session, as_user, Permission.PLAN_READ)
        plan = planner.plan_sites(session, principal=who, teams=teams)
    for row in plan.rows():
        if row["slug"] == site:
            _console.print(f"{row['site']}: threat level {row['level']} ({row['level_reason']})")
            _console.print(
                f"  consequence {row['consequence']:.2f} = criticality {row['criticality']} x "
                f"(1 + ln(1 + {row['headcount']} people))"
            )
            _console.print(f"  {row['why']}")
            return
    msg = f"no site {site!r} of yours; `silkguard plan solve` lists them"
    raise NotFound(msg)


@plan_app.command("sample")
def sample_command(
    as_user: AsUser,
    teams: Teams,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days to plan.")] = 7,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed (default: fresh; recorded in the audit).")
    ] = None,
) -> None:
    """A calendar of the next days for each team, drawn from the optimal coverage."""
    with unit_of_work() as session:
        plan, cal = planner.sample_sites(
            session,
            principal=_who(session, as_user, Permission.PLAN_MANAGE),
            teams=teams,
            days=days,
            seed=seed,
        )
        names = [t.site.name for t in plan.targets]
    table = Table("date", "team", "site", title=f"Guard calendar (seed {cal.seed})")
    for _day, when, a in cal.rows():
        where = ", ".join(names[t] for t in a.targets) or "reserve"
        table.add_row(str(when), str(a.unit + 1), where)
    _console.print(table)


@plan_app.command("departure")
def departure_command(
    movement: Annotated[str, typer.Argument(help="Movement id.")],
    as_user: AsUser,
    every: Annotated[str, typer.Option(help="Step between candidate departures.")] = "15m",
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed (default: fresh; recorded).")
    ] = None,
) -> None:
    """Draw a movement's departure at random among the equally good departures of its window
    (least night driving), so that nobody watching can learn a pattern."""
    with unit_of_work() as session:
        who = _who(session, as_user, Permission.MOVEMENT_REQUEST)
        movement_id = _movement_id(movement)
        choice = planner.randomize_departure(
            session,
            principal=who,
            movement_id=movement_id,
            every=parse_duration(every, option="--every"),
            seed=seed,
        )
    _console.print(
        f"depart at {choice.chosen.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} PKT "
        f"(drawn among {len(choice.candidates)} equally good departures; seed {choice.seed})"
    )


# -- route segments x time slots --------------------------------------------------------------

Escorts = Annotated[int, typer.Option("--teams", min=0, help="Escort teams.")]
Reaction = Annotated[int, typer.Option("--qrf", min=0, help="Quick-reaction forces.")]
Posts = Annotated[int, typer.Option("--checkposts", min=0, help="Checkposts.")]
Slots = Annotated[int, typer.Option("--slots", min=1, max=24, help="Slots of the day (divide 24).")]
Days = Annotated[int, typer.Option("--days", min=1, max=31, help="Days ahead to plan for.")]
Start = Annotated[
    str | None, typer.Option("--start", help="First day, YYYY-MM-DD (default: today, PKT).")
]
Pairs = Annotated[
    list[str] | None,
    typer.Option("--pair", help="FROM:TO instead of the planned movements (repeatable)."),
]


def _start(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        msg = f"--start {text!r} is not a date; use YYYY-MM-DD"
        raise InvalidInput(msg) from None


def _pairs(items: list[str] | None) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for item in items or []:
        origin, sep, destination = item.partition(":")
        if not sep or not origin.strip() or not destination.strip():
            msg = f"--pair {item!r}: use FROM:TO, e.g. --pair Gwadar:Turbat"
            raise InvalidInput(msg)
        out.append({"origin": origin.strip(), "destination": destination.strip()})
    return out


@plan_app.command("routes")
def routes_command(
    as_user: AsUser,
    teams: Escorts = 1,
    qrf: Reaction = 0,
    checkposts: Posts = 0,
    slots: Slots = 4,
    days: Days = 3,
    start: Start = None,
    pair: Pairs = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Escort coverage of the road segments x time slots your planned movements use, and why."""
    settings = GameSettings(teams=teams, qrf=qrf, checkposts=checkposts, slots=slots)
    with unit_of_work() as session:
        who = _who(session, as_user, Permission.PLAN_READ)
        plan = route_plans.plan_routes(
            session,
            principal=who,
            settings=settings,
            days=days,
            start=_start(start),
            pairs=_pairs(pair),
        )
        doc = plan.as_dict()
    if json_out:
        typer.echo(json.dumps(doc, indent=1))
        return
    table = Table(
        "segment",
        "slot",
        "likelihood",
        "people",
        "coverage",
        "reason",
        title=f"Escort game from {plan.start} for {days} day(s): "
        + ", ".join(f"{n} {k}" for k, n in doc["resources"].items()),
    )
    for r in doc["targets"]:
        table.add_row(
            str(r["segment"]),
            str(r["slot"]),
            f"{r['likelihood']:.3g}",
            f"{r['consequence']:g}",
            f"{r['coverage']:.3f}",
            str(r["reason"]).split(": ", 1)[-1],
        )
    _console.print(table)
    _console.print(
        f"attacker's best target: {doc['attacked']}; defender's expected loss if attacked: "
        f"{-plan.solution.defender_utility:.3f} ({plan.solution.solver})"
    )


@plan_app.command("route-calendar")
def route_calendar_command(
    as_user: AsUser,
    teams: Escorts = 1,
    qrf: Reaction = 0,
    checkposts: Posts = 0,
    slots: Slots = 4,
    days: Days = 3,
    start: Start = None,
    pair: Pairs = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed (default: fresh; recorded in the audit).")
    ] = None,
) -> None:
    """Daily escort, quick-reaction and checkpost plans drawn from the escort game."""
    settings = GameSettings(teams=teams, qrf=qrf, checkposts=checkposts, slots=slots)
    with unit_of_work() as session:
        plan, cal = route_plans.sample_routes(
            session,
            principal=_who(session, as_user, Permission.PLAN_MANAGE),
            settings=settings,
            days=days,
            start=_start(start),
            pairs=_pairs(pair),
            seed=seed,
        )
        rows = plan.calendar_days(cal)
    table = Table("date", "unit", "slot", "segments", title=f"Escort calendar (seed {cal.seed})")
    for day in rows:
        for u in day["units"]:
            table.add_row(
                str(day["date"]),
                f"{u['resource']} {u['unit']}",
                ", ".join(u["slots"]) if len(u["slots"]) < slots else "all day",
                "; ".join(u["segments"]) or "reserve",
            )
    _console.print(table)


@plan_app.command("route-draw")
def route_draw_command(
    movement: Annotated[str, typer.Argument(help="Movement id.")],
    as_user: AsUser,
    teams: Escorts = 1,
    qrf: Reaction = 0,
    checkposts: Posts = 0,
    slots: Slots = 4,
    tolerance: Annotated[
        float, typer.Option(min=0, max=10, help="Route risk allowed over the best (share).")
    ] = 0.25,
    every: Annotated[str, typer.Option(help="Step between candidate departures.")] = "15m",
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed (default: fresh; recorded).")
    ] = None,
) -> None:
    """Draw a movement's route and departure together among those the policy allows, favouring
    the routes and hours the escort game covers more; the draw and seed are recorded."""
    with unit_of_work() as session:
        who = _who(session, as_user, Permission.MOVEMENT_REQUEST)
        movement_id = _movement_id(movement)
        drawn = movement_draw.draw_route(
            session,
            principal=who,
            movement_id=movement_id,
            settings=GameSettings(teams=teams, qrf=qrf, checkposts=checkposts, slots=slots),
            every=parse_duration(every, option="--every"),
            tolerance=tolerance,
            seed=seed,
        )
    routes = sorted({c["route"] for c in drawn.candidates})
    _console.print(
        f"route {drawn.route}, depart at {drawn.departure.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} "
        f"PKT (probability {drawn.probability:.3f} among {len(drawn.candidates)} "
        f"route/departure pairs on routes {routes}; seed {drawn.seed})"
    )
    for ex in drawn.excluded:
        _console.print(f"  route {ex['route']} left out: {ex['why']}")
