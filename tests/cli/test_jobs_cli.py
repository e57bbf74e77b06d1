"""Queued alert deliveries are sent by `silkguard jobs run-due` (in this process) and by
`silkguard jobs worker` (Dramatiq on the real Redis): the same outcome on both runners."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from silkguard.alerts import service as alerts
from silkguard.alerts.models import Delivery
from silkguard.auth import service as auth_service
from silkguard.cli.main import app
from silkguard.cli.store import dispose_engines, settings, unit_of_work
from silkguard.core.access import Principal
from silkguard.people import personnel
from silkguard.people import service as sites
from tests.alerts import conftest as alert_fixtures
from tests.alerts.conftest import Receiver

runner = CliRunner()
receiver = alert_fixtures.receiver  # the local HTTP receiver fixture (SMS gateway)


@pytest.mark.parametrize("how", ["run-due", "worker"])
def test_queued_deliveries_are_sent_by_the_jobs(
    cli_env: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    monkeypatch.setenv("SILKGUARD_SMS_GATEWAY_URL", f"{receiver.base_url}/sms")
    if how == "worker":
        monkeypatch.setenv("SILKGUARD_JOBS_URL", "redis://127.0.0.1:6379/0")
    with unit_of_work(settings()) as session:
        org = auth_service.create_org(session, slug=f"jobs-{how}", name="Jobs org")
        session.flush()
        who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        site = sites.create_site(
            session,
            org_id=org.id,
            slug="camp",
            name="Camp",
            kind="camp",
            latitude=25.12,
            longitude=62.33,
        )
        for k in range(3):
            personnel.create_person(
                session,
                principal=who,
                ref=f"p{k}",
                name=f"Guard {k}",
                phone=f"+92300000000{k}",
                channels=["sms"],
                home_site_id=site.id,
            )
        alert = alerts.raise_alert(
            session,
            principal=who,
            org_id=org.id,
            area={"type": "Circle", "center": [62.33, 25.12], "radius_km": 2},
            severity="high",
            category="security",
            secret=settings().secret_key,
            messages={
                "en": {"headline": "Lockdown", "body": ""},
                "zh": {"headline": "封锁", "body": ""},
            },
        )
        alert_id = alert.id
    args = ["jobs", "run-due"] if how == "run-due" else ["jobs", "worker", "--seconds", "6"]
    result = runner.invoke(app, args)
    dispose_engines()
    assert result.exit_code == 0, result.output
    assert len(receiver.on("/sms")) == 3
    with unit_of_work(settings()) as session:
        states = session.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id)).all()
    assert sorted(states) == ["sent", "sent", "sent"]


def test_the_worker_needs_a_broker(cli_env: str) -> None:
    result = runner.invoke(app, ["jobs", "worker", "--seconds", "1"])
    assert result.exit_code != 0
    assert "SILKGUARD_JOBS_URL" in result.output
