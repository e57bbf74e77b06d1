"""Positions over MQTT: a listener on the local broker that stores what devices publish.

Topic scheme: ``<prefix>/<org slug>/positions/<device id>`` (prefix ``silkguard``), QoS 1.
The payload is UTF-8 JSON, one report or a list of reports::

    {"at": "2026-12-02T10:15:00+05:00", "lat": 35.32, "lon": 73.22, "acc": 12}

``at`` may also be a Unix time in seconds; ``acc`` (metres) is optional. The device id comes
from the topic, so a device cannot report for another one.

Messages are acknowledged to the broker only after their batch is committed (manual acks with
a persistent session), so a listener that dies before committing gets them again; the store
keeps one row per (person, time), so a re-delivered message is not stored twice. The listener
speaks MQTT 5 and announces a *receive maximum* of 65,535 unacknowledged messages: under MQTT
3.1.1 the broker's own limit applies (Mosquitto: 20 in flight per client), and with acks held
until the commit that capped the listener at a few dozen messages a second, while the broker
queued the rest and dropped what went over its queue limit (1,000). A batch is stored every
``flush_s`` or as soon as ``flush_at`` messages wait, whichever comes first. A message
that cannot be accepted (not JSON, a bad field, an unknown organisation or device, a time out
of range) is kept as a dead letter in ``position_rejects`` with the reason; nothing else in its
batch is affected.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from silkguard.auth.models import Organisation
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, SilkguardError
from silkguard.people.positions import MAX_BATCH, PositionIn, ingest_positions, record_reject

__all__ = ["DEFAULT_PREFIX", "FlushStats", "PositionListener", "parse_payload", "topic_for"]

_log = logging.getLogger(__name__)
DEFAULT_PREFIX = "silkguard"
MAX_PAYLOAD = 256 * 1024
_TOPIC_PARTS = 4
#: Unacknowledged messages the broker may send at once (the MQTT 5 maximum).
RECEIVE_MAXIMUM = 65_535
#: The broker keeps the listener's session (subscription and unacknowledged messages) this
#: long while it is away: a week, so a restart or an outage loses nothing.
SESSION_EXPIRY_S = 7 * 24 * 3600


def topic_for(org_slug: str, device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic a device publishes its positions on."""
    return f"{prefix}/{org_slug}/positions/{device_id}"


def _when(value: Any) -> datetime:
    if isinstance(value, bool):
        msg = "at: true/false is not a time"
        raise InvalidInput(msg)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            msg = f"at: {value} is not a Unix time in seconds"
            raise InvalidInput(msg) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            msg = f"at: {value!r} is not an ISO 8601 time"
            raise InvalidInput(msg) from None
        if parsed.tzinfo is None:
            msg = f"at: {value!r} has no zone; add an offset such as +05:00 or Z"
            raise InvalidInput(msg)
        return parsed
    msg = "at: missing; give the time of the fix (ISO 8601 with offset, or Unix seconds)"
    raise InvalidInput(msg)


def _number(report: dict[str, Any], key: str) -> float:
    value = report.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{key}: {value!r} is not a number"
        raise InvalidInput(msg)
    return float(value)


def parse_payload(device_id: str, payload: bytes) -> list[PositionIn]:
    """The reports in one message, or :class:`InvalidInput` saying what is wrong with it."""
    if len(payload) > MAX_PAYLOAD:
        msg = f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD} byte limit"
        raise InvalidInput(msg)
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"payload is not UTF-8 JSON: {exc}"
        raise InvalidInput(msg) from None
    reports = data if isinstance(data, list) else [data]
    out: list[PositionIn] = []
    for n, report in enumerate(reports):
        if not isinstance(report, dict):
            msg = f"report {n}: a report is a JSON object with at, lat, lon (and acc)"
            raise InvalidInput(msg)
        unknown = set(report) - {"at", "lat", "lon", "acc"}
        if unknown:
            msg = f"report {n}: unknown field(s) {sorted(unknown)}; accepted: at, lat, lon, acc"
            raise InvalidInput(msg)
        try:
            out.append(
                PositionIn(
                    person=device_id,
                    at=_when(report.get("at")),
                    lat=_number(report, "lat"),
                    lon=_number(report, "lon"),
                    accuracy_m=None if report.get("acc") is None else _number(report, "acc"),
                )
            )
        except InvalidInput as exc:
            msg = f"report {n}: {exc.msg}"
            raise InvalidInput(msg) from None
    return out


@dataclass
class FlushStats:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    without_consent: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class PositionListener:
    """Subscribes to every organisation's position topics and stores the reports in batches.

    ``start()`` connects and runs the network loop and a flush loop in background threads;
    ``flush()`` stores what has arrived (the flush loop calls it every ``flush_s``)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        prefix: str = DEFAULT_PREFIX,
        client_id: str = "silkguard-positions",
        flush_s: float = 0.2,
        flush_at: int = MAX_BATCH,
    ) -> None:
        self.factory = factory
        self.host = host
        self.port = port
        self.prefix = prefix
        self.flush_s = flush_s
        self.flush_at = flush_at
        self._full = threading.Event()
        self.totals = FlushStats()
        self._queue: deque[_Message] = deque()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._orgs: dict[str, uuid.UUID] = {}
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- MQTT callbacks ----------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            _log.error("MQTT connection refused: %s", rc)
            return
        client.subscribe(f"{self.prefix}/+/positions/+", qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._queue.append(_Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos))
        if len(self._queue) >= self.flush_at:
            self._full.set()

    # -- running -----------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe and start storing; returns once the subscription is in place."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho: untyped
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect(
            self.host, self.port, keepalive=30, clean_start=False, properties=properties
        )
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.client.loop_stop()
            msg = (
                f"no MQTT subscription at {self.host}:{self.port} within {timeout_s:.0f} s; is "
                "the broker running (mosquitto -d)?"
            )
            raise InvalidInput(msg)
        self._thread = threading.Thread(target=self._loop, name="positions-flush", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._full.wait(self.flush_s)
            self._full.clear()
            if self._stop.is_set():
                break
            try:
                self.flush()
            except (SQLAlchemyError, SilkguardError):  # keep listening; messages stay unacked
                _log.exception("storing positions failed; the broker will deliver them again")

    def stop(self) -> None:
        """Store what has arrived, then disconnect."""
        self._stop.set()
        self._full.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()

    def flush(self) -> FlushStats:
        """Store every message that has arrived, in one transaction, then acknowledge them."""
        with self._lock:
            batch: list[_Message] = []
            while self._queue:
                batch.append(self._queue.popleft())
            if not batch:
                return FlushStats()
            stats = FlushStats(messages=len(batch))
            try:
                self._commit(batch, stats)
            except (SQLAlchemyError, SilkguardError):
                # one message may be at fault: store them one by one, so a poison message
                # cannot hold back the others (if the database itself is down, all stay queued)
                stats = FlushStats(messages=len(batch))
                for n, m in enumerate(batch):
                    try:
                        self._commit([m], stats)
                    except (SQLAlchemyError, SilkguardError):
                        self._queue.extendleft(reversed(batch[n:]))
                        raise
            for m in batch:
                if m.qos > 0:
                    self.client.ack(m.mid, m.qos)
            for name in ("messages", "accepted", "duplicates", "without_consent", "rejected"):
                setattr(self.totals, name, getattr(self.totals, name) + getattr(stats, name))
            return stats

    def _commit(self, batch: list[_Message], stats: FlushStats) -> None:
        with self.factory() as session:
            self._store(session, batch, stats)
            session.commit()

    def _org(self, session: Session, slug: str) -> uuid.UUID | None:
        if slug not in self._orgs:
            found = session.scalar(select(Organisation.id).where(Organisation.slug == slug))
            if found is None:
                return None
            self._orgs[slug] = found
        return self._orgs[slug]

    def _store(self, session: Session, batch: list[_Message], stats: FlushStats) -> None:
        now = utcnow()
        by_org: dict[uuid.UUID, list[tuple[_Message, PositionIn]]] = {}
        for m in batch:
            parts = m.topic.split("/")
            if len(parts) != _TOPIC_PARTS or parts[2] != "positions":
                self._reject(
                    session,
                    m,
                    f"topic {m.topic!r} is not <prefix>/<org>/positions/<device>",
                    now,
                    stats,
                )
                continue
            org_id = self._org(session, parts[1])
            if org_id is None:
                self._reject(session, m, f"no organisation {parts[1]!r}", now, stats)
                continue
            try:
                reports = parse_payload(parts[3], m.payload)
            except InvalidInput as exc:
                self._reject(session, m, exc.msg, now, stats)
                continue
            by_org.setdefault(org_id, []).extend((m, r) for r in reports)
        for org_id, all_pairs in by_org.items():
            for start in range(0, len(all_pairs), MAX_BATCH):
                self._ingest(session, org_id, all_pairs[start : start + MAX_BATCH], now, stats)

    def _ingest(
        self,
        session: Session,
        org_id: uuid.UUID,
        pairs: list[tuple[_Message, PositionIn]],
        now: datetime,
        stats: FlushStats,
    ) -> None:
        report = ingest_positions(
            session,
            org_id=org_id,
            items=[r for _, r in pairs],
            source="mqtt",
            all_or_nothing=False,
            now=now,
        )
        stats.accepted += report.accepted
        stats.duplicates += report.duplicates
        stats.without_consent += report.without_consent
        for index, reason in report.rejected:
            self._reject(session, pairs[index][0], reason, now, stats)

    def _reject(
        self, session: Session, m: _Message, reason: str, now: datetime, stats: FlushStats
    ) -> None:
        stats.rejected += 1
        record_reject(
            session, source="mqtt", topic=m.topic, payload=m.payload, reason=reason, now=now
        )

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Block until nothing is waiting to be stored (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._queue and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            pass
