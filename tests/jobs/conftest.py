"""Both runners behind one fixture: every test taking ``runner`` runs once per runner."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import redis

from silkguard.jobs.base import JobRunner, TaskRegistry
from silkguard.jobs.inprocess import InProcessRunner

REDIS_URL = os.environ.get("SILKGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available(url: str = REDIS_URL) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def unique_namespace() -> str:
    return f"sgtest-{os.getpid()}-{secrets.token_hex(4)}"


@pytest.fixture(params=["inprocess", "dramatiq"])
def runner(request: pytest.FixtureRequest) -> Iterator[JobRunner]:
    registry = TaskRegistry()
    if request.param == "inprocess":
        with InProcessRunner(registry, threads=2) as inproc:
            yield inproc
        return
    if not redis_available():
        pytest.fail(
            f"no Redis at {REDIS_URL}: start it (redis-server) or set SILKGUARD_TEST_REDIS_URL"
        )
    from silkguard.jobs.dramatiq_runner import DramatiqRunner

    dq = DramatiqRunner(REDIS_URL, registry=registry, namespace=unique_namespace(), lease_s=5.0)
    try:
        dq.start_worker(threads=2, poll_ms=50)
        yield dq
    finally:
        dq.close()
        cleanup = DramatiqRunner(REDIS_URL, registry=TaskRegistry(), namespace=dq.namespace)
        cleanup.purge()
        cleanup.close()
