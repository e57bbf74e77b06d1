"""``silkguard orgs|users|keys|audit …``: administration from the command line.

Every change is written to the audit trail as ``cli:<operating-system user>`` in the same
transaction as the change itself."""

from __future__ import annotations

import getpass
import json
import os
import sys
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth import service as auth_service
from silkguard.auth.models import OrgKind
from silkguard.auth.roles import Role
from silkguard.cli.store import unit_of_work
from silkguard.core.clock import utcnow
from silkguard.core.errors import IntegrityError, InvalidInput

__all__ = ["audit_app", "keys_app", "orgs_app", "users_app"]

NEW_PASSWORD_ENV = "SILKGUARD_NEW_PASSWORD"  # noqa: S105 - the variable's name, not a password

orgs_app = typer.Typer(help="Organisations: operators and partners.", no_args_is_help=True)
users_app = typer.Typer(help="People who log in, and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machines.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)

OrgSlug = Annotated[str, typer.Option("--org", help="Slug of the organisation.")]
RoleOpt = Annotated[Role, typer.Option("--role", help="Role (what it may do).")]


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        name = "unknown"
    return f"cli:{name}"


def _console() -> Console:
    return Console(width=160)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _record(
    session: Session,
    action: str,
    *,
    org_id: uuid.UUID,
    object_type: str,
    object_id: uuid.UUID,
    detail: dict[str, object],
    now: datetime,
) -> None:
    audit.record(
        session,
        action=action,
        actor=_actor(),
        org_id=org_id,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
        now=now,
    )


# --- orgs ----------------------------------------------------------------------------------


@orgs_app.command("add")
def orgs_add(
    slug: Annotated[str, typer.Argument(help="Short name used in commands, e.g. corridor-power.")],
    name: Annotated[str, typer.Argument(help="Full name of the organisation.")],
    kind: Annotated[OrgKind, typer.Option(help="operator or partner.")] = OrgKind.OPERATOR,
    country: Annotated[str, typer.Option(help="ISO country code.")] = "PK",
) -> None:
    """Add an organisation."""
    now = utcnow()
    with unit_of_work() as session:
        org = auth_service.create_org(
            session, slug=slug, name=name, kind=kind.value, country=country
        )
        _record(
            session,
            "org.create",
            org_id=org.id,
            object_type="organisation",
            object_id=org.id,
            detail={"slug": org.slug, "name": org.name, "kind": org.kind},
            now=now,
        )
    typer.echo(f"organisation {org.slug} added ({org.kind}, {org.country}): {org.id}")


@orgs_app.command("list")
def orgs_list() -> None:
    """List organisations."""
    with unit_of_work() as session:
        table = Table("slug", "name", "kind", "country", "id")
        for org in auth_service.list_orgs(session):
            table.add_row(org.slug, org.name, org.kind, org.country, str(org.id))
    _console().print(table)


# --- users ---------------------------------------------------------------------------------


def _read_new_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            msg = "--password-stdin read an empty line; pipe the password in on one line"
            raise InvalidInput(msg)
        return password
    from_env = os.environ.get(NEW_PASSWORD_ENV)
    if from_env:
        return from_env
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (stored lower-case).")],
    org: OrgSlug,
    role: RoleOpt,
    full_name: Annotated[str, typer.Option(help="Name shown to others.")] = "",
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Language tag (en, ur, zh); repeat for several.")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help=f"Read the password from the first line of stdin (else ${NEW_PASSWORD_ENV}, "
            "else a hidden prompt).",
        ),
    ] = False,
) -> None:
    """Add a user. The password never goes on the command line."""
    password = _read_new_password(password_stdin)
    now = utcnow()
    with unit_of_work() as session:
        found = auth_service.get_org_by_slug(session, slug=org)
        user = auth_service.create_user(
            session,
            org_id=found.id,
            username=username,
            password=password,
            role=role,
            full_name=full_name,
            email=email,
            languages=language or (),
        )
        _record(
            session,
            "user.create",
            org_id=found.id,
            object_type="user",
            object_id=user.id,
            detail={"username": user.username, "role": user.role},
            now=now,
        )
    typer.echo(f"user {user.username} added to {found.slug} as {user.role}: {user.id}")


@users_app.command("list")
def users_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
) -> None:
    """List users."""
    now = utcnow()
    with unit_of_work() as session:
        slugs = {o.id: o.slug for o in auth_service.list_orgs(session)}
        org_id = auth_service.get_org_by_slug(session, slug=org).id if org else None
        table = Table("username", "organisation", "role", "full name", "status", "last login")
        for user in auth_service.list_users(session, org_id=org_id):
            status = "active" if user.is_active else "disabled"
            if user.locked_until is not None and user.locked_until > now:
                status = f"locked until {_when(user.locked_until)}"
            table.add_row(
                user.username,
                slugs.get(user.org_id, "?"),
                user.role,
                user.full_name,
                status,
                _when(user.last_login_at),
            )
    _console().print(table)


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="Login name of the user.")],
) -> None:
    """Stop a user from logging in and end their sessions."""
    now = utcnow()
    with unit_of_work() as session:
        user = auth_service.get_user_by_username(session, username=username)
        auth_service.disable_user(session, user_id=user.id, now=now)
        _record(
            session,
            "user.disable",
            org_id=user.org_id,
            object_type="user",
            object_id=user.id,
            detail={"username": user.username},
            now=now,
        )
    typer.echo(f"user {user.username} disabled; their refresh tokens are revoked")


# --- keys ----------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    org: OrgSlug,
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'taxii pull'.")],
    role: RoleOpt,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="Narrow the key to this permission (e.g. incident.read); repeatable."),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")
    ] = None,
) -> None:
    """Create an API key and print it once (stdout); details go to stderr."""
    now = utcnow()
    expires_at = None if expires_days is None else now + timedelta(days=expires_days)
    with unit_of_work() as session:
        found = auth_service.get_org_by_slug(session, slug=org)
        key, plain = auth_service.create_api_key(
            session,
            org_id=found.id,
            name=name,
            role=role,
            scopes=scope or (),
            expires_at=expires_at,
            created_by=None,
        )
        _record(
            session,
            "key.create",
            org_id=found.id,
            object_type="api_key",
            object_id=key.id,
            detail={
                "name": key.name,
                "prefix": key.prefix,
                "role": key.role,
                "scopes": key.scopes,
                "expires_at": key.expires_at,
            },
            now=now,
        )
    scopes = ", ".join(key.scopes) if key.scopes else f"every permission of {key.role}"
    until = f"until {_when(key.expires_at)} UTC" if key.expires_at else "without expiry"
    typer.echo(
        f"API key {key.prefix} ({key.name}) for {found.slug} as {key.role}, {until}; "
        f"scopes: {scopes}; id {key.id}",
        err=True,
    )
    typer.echo(plain)
    typer.echo("Store this key now: it is not shown again (silkguard keeps only a hash).", err=True)


@keys_app.command("list")
def keys_list(org: OrgSlug) -> None:
    """List the API keys of an organisation (never the keys themselves)."""
    now = utcnow()
    with unit_of_work() as session:
        found = auth_service.get_org_by_slug(session, slug=org)
        table = Table("prefix", "name", "role", "scopes", "status", "created", "last used", "id")
        for key in auth_service.list_api_keys(session, org_id=found.id):
            if key.revoked_at is not None:
                status = f"revoked {_when(key.revoked_at)}"
            elif key.expires_at is not None and key.expires_at <= now:
                status = f"expired {_when(key.expires_at)}"
            elif key.expires_at is not None:
                status = f"active until {_when(key.expires_at)}"
            else:
                status = "active"
            table.add_row(
                key.prefix,
                key.name,
                key.role,
                ", ".join(key.scopes) or "(role)",
                status,
                _when(key.created_at),
                _when(key.last_used_at),
                str(key.id),
            )
    _console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    ref: Annotated[str, typer.Argument(metavar="KEY_ID_OR_PREFIX", help="Key id or prefix.")],
) -> None:
    """Revoke an API key at once."""
    now = utcnow()
    with unit_of_work() as session:
        key = auth_service.resolve_api_key(session, ref=ref)
        auth_service.revoke_api_key(session, key_id=key.id, now=now)
        _record(
            session,
            "key.revoke",
            org_id=key.org_id,
            object_type="api_key",
            object_id=key.id,
            detail={"name": key.name, "prefix": key.prefix},
            now=now,
        )
    typer.echo(f"API key {key.prefix} ({key.name}) revoked")


# --- audit ---------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 8 naming the first broken entry."""
    with unit_of_work() as session:
        result = audit.verify(session)
    if not result.ok:
        msg = f"audit chain broken at entry #{result.first_broken_id}: {result.reason}"
        raise IntegrityError(msg)
    typer.echo(f"audit chain intact: {result.checked} entries")


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many entries.")] = 20,
    action: Annotated[
        str | None, typer.Option(help="Only this action (user.create), or a prefix (auth.*).")
    ] = None,
) -> None:
    """Show the newest audit entries, newest first."""
    with unit_of_work() as session:
        entries = audit.query(session, action=action, limit=limit, newest_first=True)
        table = Table("#", "at (UTC)", "actor", "action", "object", "detail")
        for e in entries:
            target = f"{e.object_type}:{e.object_id}" if e.object_type else (e.object_id or "")
            detail = json.dumps(e.detail, sort_keys=True, ensure_ascii=False)
            table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, target, detail)
    _console().print(table)
