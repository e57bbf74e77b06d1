"""Position ingest throughput (issue 7), into SQLite and PostgreSQL, measured two ways:

* ``http``: the real path. ``silkguard serve --workers 2`` (uvicorn) on loopback, and
  ``HTTP_CLIENTS`` clients posting pre-encoded JSON batches of ``HTTP_BATCH`` positions to
  ``POST /api/v1/positions`` with an API key, back to back, for ``HTTP_BATCHES`` batches
  (request parsing, pydantic validation, authentication, the checks, the inserts, the commit,
  the response). Client and server share the machine's cores.
* ``mqtt``: the real listener, ``silkguard positions listen`` in its own process, and one
  publisher in this process sending ``MQTT_MESSAGES`` QoS 1 messages to the local Mosquitto on
  ``silkguard/<org>/positions/<device>``, with one report per message (live tracking) and with
  ``MQTT_BUNDLE`` reports per message (a device sending what it buffered); timed from the
  first publish to the last position committed.
* ``service``: :func:`silkguard.people.positions.ingest_positions` called in-process in
  batches of ``BATCH`` (validation, consent, de-duplication, append-only insert and the
  latest-position upsert), one transaction per batch;

against the peer: the same rows written by a bare SQLAlchemy Core ``executemany`` insert (no
checks, no latest position) in batches of ``BATCH`` in the same run. Goal: 20,000/s into
PostgreSQL on this 2-core machine.

Results are printed and written to ``benchmarks/results/positions_ingest.json``."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from silkguard.auth import service as auth_service
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import make_engine, make_session_factory, read_only
from silkguard.migrations import upgrade
from silkguard.people import personnel
from silkguard.people.models import Person, Position
from silkguard.people.mqtt import topic_for
from silkguard.people.positions import PositionIn, ingest_positions

RESULTS = Path(__file__).parent / "results" / "positions_ingest.json"
PEOPLE = 2_000
BATCH = 5_000
BATCHES = 20
HTTP_BATCH = 10_000  # the largest batch the API takes (positions.MAX_BATCH)
HTTP_BATCHES = 40
HTTP_CLIENTS = 2
MQTT_MESSAGES = 20_000
MQTT_BUNDLE = 10
MQTT_CHUNK = 100
MQTT_WINDOW = 900
MQTT_WAIT_S = 300.0


def _setup(url: str) -> tuple[Any, uuid.UUID, list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        org = auth_service.create_org(session, slug=f"bench-{secrets.token_hex(3)}", name="Bench")
        session.flush()
        who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        devices = []
        for k in range(PEOPLE):
            personnel.create_person(
                session,
                principal=who,
                ref=f"b{k}",
                name=f"Person {k}",
                device_id=f"dev-{k}",
                location_consent=True,
            )
            devices.append(f"dev-{k}")
        session.commit()
        return factory, org.id, devices


def _batches(devices: list[str], start_offset_s: int) -> list[list[PositionIn]]:
    now = utcnow()
    out = []
    for b in range(BATCHES):
        batch = []
        for i in range(BATCH):
            n = b * BATCH + i
            batch.append(
                PositionIn(
                    person=devices[n % len(devices)],
                    at=now - timedelta(seconds=start_offset_s + n),
                    lat=30.0 + (n % 997) / 1000,
                    lon=70.0 + (n % 991) / 1000,
                    accuracy_m=10.0,
                )
            )
        out.append(batch)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int, deadline_s: float = 180) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    msg = f"the server on port {port} did not start within {deadline_s} s"
    raise SystemExit(msg)


def _health(port: int, deadline_s: float = 180) -> None:
    """Wait until a worker answers (the socket is bound before the workers are ready)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=deadline_s)
    conn.request("GET", "/api/v1/health")
    conn.getresponse().read()
    conn.close()


def _http_bodies(devices: list[str]) -> list[bytes]:
    """``HTTP_BATCHES`` JSON bodies, every (person, time) distinct, times in the last days."""
    now = utcnow()
    bodies = []
    for b in range(HTTP_BATCHES):
        batch = []
        for i in range(HTTP_BATCH):
            n = b * HTTP_BATCH + i
            at = now - timedelta(seconds=n + 60)
            batch.append(
                {
                    "person": devices[n % len(devices)],
                    "at": at.isoformat().replace("+00:00", "Z"),
                    "lat": 30.0 + (n % 997) / 1000,
                    "lon": 70.0 + (n % 991) / 1000,
                    "accuracy_m": 10.0,
                }
            )
        bodies.append(json.dumps({"positions": batch}).encode())
    return bodies


def _post_all(port: int, key: str, bodies: list[bytes]) -> tuple[int, float]:
    """Post ``bodies`` from ``HTTP_CLIENTS`` keep-alive connections; (accepted, seconds)."""
    todo = list(reversed(bodies))
    lock = threading.Lock()
    accepted = [0]
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        while True:
            with lock:
                if not todo or failures:
                    break
                body = todo.pop()
            conn.request("POST", "/api/v1/positions", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            with lock:
                if resp.status != 200:
                    failures.append(f"{resp.status}: {data[:300]!r}")
                else:
                    accepted[0] += int(json.loads(data)["accepted"])
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(HTTP_CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if failures:
        msg = f"the server refused a batch: {failures[0]}"
        raise SystemExit(msg)
    return accepted[0], seconds


def _measure_http(url: str) -> dict[str, Any]:
    factory, org_id, devices = _setup(url)
    with factory() as session:
        _, key = auth_service.create_api_key(
            session, org_id=org_id, name="bench", role="movement_controller"
        )
        session.commit()
    bodies = _http_bodies(devices)
    port = _free_port()
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": url,
        "SILKGUARD_ENVIRONMENT": "production",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
    }
    # as `silkguard serve --workers 2` runs it, with a longer worker health check: on a
    # loaded machine uvicorn otherwise kills workers that are still importing
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "silkguard.api.app:create_app"),
            *("--workers", "2", "--port", str(port), "--no-access-log", "--no-proxy-headers"),
            *("--timeout-worker-healthcheck", "120"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(port)
        _health(port)
        warm = [json.dumps({"positions": json.loads(bodies[0])["positions"][:10]}).encode()]
        _post_all(port, key, warm * HTTP_CLIENTS)  # both workers' first requests
        accepted, seconds = _post_all(port, key, bodies[1:])
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = HTTP_BATCH * (HTTP_BATCHES - 1)
    return {"positions": n, "stored": accepted, "per_s": round(n / seconds)}


def _count(factory: Any, org_id: uuid.UUID) -> int:
    with factory() as session:
        read_only(session)  # on SQLite: without waiting for the listener's write lock
        return int(session.scalar(select(func.count()).where(Position.org_id == org_id)) or 0)


def _measure_mqtt(url: str, bundle: int) -> dict[str, Any]:
    """Positions per second through the broker and the listener process into ``url``."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    factory, org_id, devices = _setup(url)
    with factory() as session:
        slug = session.scalar(select(Organisation.slug).where(Organisation.id == org_id))
    assert slug is not None
    client_id = f"bench-listener-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": url,
        "SILKGUARD_ENVIRONMENT": "production",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
        "COLUMNS": "200",
    }
    listener = subprocess.Popen(
        [sys.executable, "-m", "silkguard", "positions", "listen", "--client-id", client_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    start = time.time()
    payloads = []
    for m in range(MQTT_MESSAGES):
        reports = [
            {
                "at": start - 86_400 + (m * bundle + k) * 0.01,
                "lat": 30.0 + ((m * bundle + k) % 997) / 1000,
                "lon": 70.0 + ((m * bundle + k) % 991) / 1000,
                "acc": 10,
            }
            for k in range(bundle)
        ]
        body = reports[0] if bundle == 1 else reports
        payloads.append((topic_for(slug, devices[m % len(devices)]), json.dumps(body)))
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{client_id}")
    publisher.max_inflight_messages_set(1_000)
    publisher.max_queued_messages_set(0)
    try:
        assert listener.stdout is not None
        line = listener.stdout.readline()  # printed once the subscription is in place
        if "listening" not in line:
            msg = f"the listener did not start: {line!r}"
            raise RuntimeError(msg)
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        t0 = time.perf_counter()
        expected = MQTT_MESSAGES * bundle
        stored = 0
        for start in range(0, MQTT_MESSAGES, MQTT_CHUNK):
            # flow control: at most MQTT_WINDOW messages not yet committed, below Mosquitto's
            # default per-client queue (1,000), past which the broker drops messages
            while start - stored // bundle > MQTT_WINDOW - MQTT_CHUNK:
                time.sleep(0.01)
                stored = _count(factory, org_id)
            for topic, body in payloads[start : start + MQTT_CHUNK]:
                publisher.publish(topic, body, qos=1)
        while stored < expected and time.perf_counter() - t0 < MQTT_WAIT_S:
            time.sleep(0.01)
            stored = _count(factory, org_id)
        seconds = time.perf_counter() - t0
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        listener.send_signal(signal.SIGINT)
        listener.wait(timeout=60)
    if stored != expected:
        msg = f"MQTT: {stored} of {expected} positions stored within {MQTT_WAIT_S:.0f} s"
        raise RuntimeError(msg)
    return {
        "messages": MQTT_MESSAGES,
        "reports_per_message": bundle,
        "positions": expected,
        "per_s": round(expected / seconds),
        "messages_per_s": round(MQTT_MESSAGES / seconds),
    }


def _measure(label: str, url: str) -> dict[str, Any]:
    over_mqtt = [_measure_mqtt(url, 1), _measure_mqtt(url, MQTT_BUNDLE)]
    over_http = _measure_http(url)
    factory, org_id, devices = _setup(url)
    batches = _batches(devices, 0)
    t0 = time.perf_counter()
    stored = 0
    for batch in batches:
        with factory() as session:
            report = ingest_positions(session, org_id=org_id, items=batch, source="http")
            session.commit()
            stored += report.accepted
    ours = time.perf_counter() - t0
    # the peer: the same number of rows, bare executemany, no checks, no latest upsert
    with factory() as session:
        found = session.execute(
            select(Person.device_id, Person.id).where(Person.org_id == org_id)
        ).all()
        ids = {str(device): pid for device, pid in found}
    rows_batches = [
        [
            {
                "org_id": org_id,
                "person_id": ids[p.person],
                "at": p.at - timedelta(days=1),
                "received_at": utcnow(),
                "latitude": p.lat,
                "longitude": p.lon,
                "accuracy_m": p.accuracy_m,
                "source": "http",
            }
            for p in batch
        ]
        for batch in batches
    ]
    t0 = time.perf_counter()
    for rows in rows_batches:
        with factory() as session:
            session.execute(insert(Position), rows)
            session.commit()
    bare = time.perf_counter() - t0
    n = BATCH * BATCHES
    out = {
        "database": label,
        "http": over_http,
        "mqtt": over_mqtt,
        "positions": n,
        "stored": stored,
        "silkguard_per_s": round(n / ours),
        "bare_insert_per_s": round(n / bare),
        "ratio_bare_over_silkguard": round(ours / bare, 2),
        "ratio_bare_over_http": round(n / bare / over_http["per_s"], 2),
    }
    for m in over_mqtt:
        print(
            f"{label:10s} over MQTT {m['per_s']:>8,}/s   ({m['reports_per_message']} report(s) a "
            f"message, {m['messages_per_s']:,} messages/s)"
        )
    print(
        f"{label:10s} over HTTP {over_http['per_s']:>8,}/s   service {out['silkguard_per_s']:>8,}/s"
        f"   bare insert {out['bare_insert_per_s']:>8,}/s   (service takes "
        f"{out['ratio_bare_over_silkguard']}x, HTTP {out['ratio_bare_over_http']}x the bare time)"
    )
    return out


def run(postgres: str | None = "postgresql://postgres@127.0.0.1:5432/test") -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(_measure("sqlite", f"sqlite:///{tmp}/bench.db"))
    if postgres:
        name = f"sg_bench_{secrets.token_hex(4)}"
        admin = create_engine(
            make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(postgres).set(drivername="postgresql+psycopg", database=name)
            results.append(_measure("postgresql", url.render_as_string(hide_password=False)))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    doc = {
        "batch": BATCH,
        "batches": BATCHES,
        "http_batch": HTTP_BATCH,
        "http_batches": HTTP_BATCHES,
        "http_clients": HTTP_CLIENTS,
        "mqtt_messages": MQTT_MESSAGES,
        "mqtt_bundle": MQTT_BUNDLE,
        "people": PEOPLE,
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return doc


if __name__ == "__main__":
    run()
