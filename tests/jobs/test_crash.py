"""Kill -9 a Dramatiq worker in the middle of a fan-out, start another: every delivery is
recorded exactly once and none is lost.

Only the Dramatiq runner is tested here: the in-process runner keeps its queue in memory and
does not survive the death of its process by design (see docs/jobs.md).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from silkguard.jobs.dramatiq_runner import DramatiqRunner
from tests.jobs import crash_worker
from tests.jobs.conftest import REDIS_URL, redis_available, unique_namespace

REPO = Path(__file__).resolve().parents[2]
ALERT = 41
PEOPLE = 50
CHANNELS = ("sms", "email", "webhook", "mqtt")


def _start_worker(namespace: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.crash_worker", REDIS_URL, namespace],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _fan_out(producer: DramatiqRunner, db: Path, *, batched: bool) -> None:
    for person in range(PEOPLE):
        items = [
            (
                f"delivery:{ALERT}:{person}:{channel}",
                {"db": str(db), "alert": ALERT, "person": person, "channel": channel},
            )
            for channel in CHANNELS
        ]
        if batched:
            producer.enqueue_many("alerts.deliver", items)
        else:
            for key, kwargs in items:
                producer.enqueue("alerts.deliver", key=key, **kwargs)


@pytest.fixture
def producer() -> Iterator[DramatiqRunner]:
    if not redis_available():
        pytest.fail(
            f"no Redis at {REDIS_URL}: start it (redis-server) or set SILKGUARD_TEST_REDIS_URL"
        )
    runner = DramatiqRunner(REDIS_URL, registry=crash_worker.registry, namespace=unique_namespace())
    try:
        yield runner
    finally:
        runner.purge()
        runner.close()


def test_killed_worker_loses_nothing_and_repeats_nothing(
    producer: DramatiqRunner, tmp_path: Path
) -> None:
    db = tmp_path / "deliveries.db"
    crash_worker.create_tables(str(db))
    _fan_out(producer, db, batched=False)
    total = PEOPLE * len(CHANNELS)

    first = _start_worker(producer.namespace)
    try:
        deadline = time.monotonic() + 30
        while _count(db, "SELECT count(*) FROM delivered") < total // 4:
            assert first.poll() is None, "the first worker exited on its own"
            assert time.monotonic() < deadline, "the first worker delivered too little"
            time.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    at_kill = _count(db, "SELECT count(*) FROM delivered")
    assert 0 < at_kill < total, "the kill must land in the middle of the fan-out"

    # The producer repeats the fan-out after the crash: finished keys are not sent again.
    _fan_out(producer, db, batched=True)
    second = _start_worker(producer.namespace)
    try:
        producer.drain(40)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    conn = sqlite3.connect(db)
    delivered = [row[0] for row in conn.execute("SELECT key FROM delivered")]
    runs = _count(db, "SELECT count(*) FROM runs")
    conn.close()
    expected = {f"{ALERT}:{p}:{c}" for p in range(PEOPLE) for c in CHANNELS}
    assert len(delivered) == total
    assert set(delivered) == expected
    # Only jobs cut off mid-run by the kill may run a second time.
    assert total <= runs <= total + crash_worker.WORKER_THREADS
    assert producer.dead_letters() == []
