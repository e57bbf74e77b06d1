"""A worker process for the crash test: ``python -m tests.jobs.crash_worker URL NAMESPACE``.

Its one task "delivers" an alert to a person over a channel the way the delivery layer will:
it logs every run, then records the delivery in a SQLite file inside one transaction, unless
that (alert, person, channel) is already recorded.
"""

from __future__ import annotations

import sqlite3
import sys
import time

from silkguard.jobs.base import TaskRegistry
from silkguard.jobs.dramatiq_runner import run_worker

registry = TaskRegistry()
WORKER_THREADS = 4
LEASE_S = 1.5
HEARTBEAT_TIMEOUT_MS = 1500
MAINTENANCE_CHANCE = 200_000  # of a million commands: re-queue a dead worker's messages soon
SEND_S = 0.02


def open_db(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def create_tables(path: str) -> None:
    with open_db(path) as conn:
        conn.execute("CREATE TABLE runs (key TEXT NOT NULL)")
        conn.execute("CREATE TABLE delivered (key TEXT NOT NULL)")
    conn.close()


@registry.task("alerts.deliver")
def deliver(*, db: str, alert: int, person: int, channel: str) -> None:
    key = f"{alert}:{person}:{channel}"
    conn = open_db(db)
    try:
        conn.execute("INSERT INTO runs (key) VALUES (?)", (key,))
        time.sleep(SEND_S)  # talking to the gateway
        conn.execute("BEGIN IMMEDIATE")
        seen = conn.execute("SELECT 1 FROM delivered WHERE key = ?", (key,)).fetchone()
        if seen is None:
            conn.execute("INSERT INTO delivered (key) VALUES (?)", (key,))
        conn.execute("COMMIT")
    finally:
        conn.close()


if __name__ == "__main__":
    run_worker(
        sys.argv[1],
        namespace=sys.argv[2],
        registry=registry,
        threads=WORKER_THREADS,
        lease_s=LEASE_S,
        heartbeat_timeout_ms=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        scheduler=False,
    )
