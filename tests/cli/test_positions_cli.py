"""`silkguard positions listen|purge` as an operator runs them."""

from __future__ import annotations

import json
import secrets
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from silkguard.auth import service as auth_service
from silkguard.cli.main import app
from silkguard.cli.store import settings, unit_of_work
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.people import personnel

runner = CliRunner()


def test_listen_stores_what_a_device_publishes_then_purge_reports(cli_env: str) -> None:
    with unit_of_work(settings()) as session:
        org = auth_service.create_org(session, slug="cli-pos", name="CLI positions")
        session.flush()
        personnel.create_person(
            session,
            principal=Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4()),
            ref="c1",
            name="Driver",
            device_id="van-1",
            location_consent=True,
        )
    prefix = f"sgcli{secrets.token_hex(4)}"
    listen = ["positions", "listen", "--prefix", prefix, "--client-id", prefix]
    # A first short run leaves a persistent session at the broker; what a device publishes
    # while no listener runs waits there, so the test does not race the subscription.
    first = runner.invoke(app, [*listen, "--seconds", "0.5"])
    assert first.exit_code == 0, first.output
    assert "0 message(s)" in first.stdout

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{secrets.token_hex(4)}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    body = {"at": utcnow().isoformat(), "lat": 24.86, "lon": 67.0}
    client.publish(f"{prefix}/cli-pos/positions/van-1", json.dumps(body), qos=1).wait_for_publish()
    client.loop_stop()
    client.disconnect()

    result = runner.invoke(app, [*listen, "--seconds", "3"])
    assert result.exit_code == 0, result.output
    assert "1 message(s): 1 stored" in result.stdout
    purged = runner.invoke(app, ["positions", "purge"])
    assert purged.exit_code == 0, purged.output
    assert "0 position(s) deleted" in purged.stdout
