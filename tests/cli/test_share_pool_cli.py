"""`silkguard share contribute|withdraw`: an anonymous copy in the group's pool, refreshed on
a second contribution, deleted on withdrawal; refusals are messages, not tracebacks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.cli.main import app
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.models import Incident
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.migrations import upgrade
from silkguard.sharing.models import PoolContribution

runner = CliRunner()


def _setup(url: str, tlp: TLP) -> uuid.UUID:
    engine = make_engine(url)
    upgrade(engine)
    try:
        with session_scope(make_session_factory(engine)) as session:
            org = auth_service.create_org(session, slug="quiet-co", name="Quiet Co")
            user = auth_service.create_user(
                session,
                org_id=org.id,
                username="q.analyst",
                password="correct-horse-battery-9",
                role=Role.ANALYST,
            )
            auth_service.create_sharing_group(session, name="kkh pool", owner_org_id=org.id)
            principal = Principal(org_id=org.id, role="analyst", user_id=user.id)
            data = IncidentCreate(
                occurred_at=datetime(2024, 3, 26, 8, tzinfo=UTC),
                attack_type=AttackType.SUICIDE_VBIED,
                target_type=TargetType.CONVOY,
                latitude=34.93,
                longitude=72.87,
                tlp=tlp,
                summary="Quiet Co convoy",
            )
            inc = incidents_review.create_draft(session, principal=principal, data=data)
            incidents_review.confirm(session, principal=principal, incident_id=inc.id)
            return inc.id
    finally:
        engine.dispose()


def _links(url: str) -> list[tuple[uuid.UUID, str | None]]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.execute(
                select(PoolContribution.pool_incident_id, Incident.summary).join(
                    Incident, Incident.id == PoolContribution.pool_incident_id
                )
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def test_contribute_refresh_and_withdraw(cli_env: str) -> None:
    incident_id = str(_setup(cli_env, TLP.AMBER))
    base = ["share", "contribute", incident_id, "--group", "kkh pool", "--as", "q.analyst"]
    made = runner.invoke(app, [*base, "--summary", "VBIED on a convoy", "--generalise-location"])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("contributed to sharing group kkh pool as incident ")
    [(copy_id, summary)] = _links(cli_env)
    assert summary == "VBIED on a convoy"
    again = runner.invoke(app, base)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("refreshed in sharing group kkh pool")
    assert _links(cli_env) == [(copy_id, "Quiet Co convoy")]
    gone = runner.invoke(
        app, ["share", "withdraw", incident_id, "--group", "kkh pool", "--as", "q.analyst"]
    )
    assert gone.exit_code == 0, gone.output
    assert str(copy_id) in gone.stdout
    assert _links(cli_env) == []


def test_refusals_are_messages(cli_env: str) -> None:
    incident_id = str(_setup(cli_env, TLP.RED))
    refused = runner.invoke(
        app, ["share", "contribute", incident_id, "--group", "kkh pool", "--as", "q.analyst"]
    )
    assert refused.exit_code != 0
    assert "re-mark it CLEAR, GREEN or AMBER first" in refused.output
    unknown = runner.invoke(
        app, ["share", "contribute", incident_id, "--group", "nope", "--as", "q.analyst"]
    )
    assert unknown.exit_code != 0
    assert "sharing group 'nope' does not exist or your organisation is not a member" in (
        unknown.output
    )
