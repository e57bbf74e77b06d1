"""make_runner picks the runner from configuration."""

from __future__ import annotations

import pytest

from silkguard.core.errors import InvalidInput
from silkguard.core.settings import Settings
from silkguard.jobs.base import TaskRegistry
from silkguard.jobs.factory import JOBS_URL_ENV, jobs_url_from, make_runner
from silkguard.jobs.inprocess import InProcessRunner
from tests.jobs.conftest import REDIS_URL, redis_available, unique_namespace


def test_no_url_means_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JOBS_URL_ENV, raising=False)
    runner = make_runner(Settings(), registry=TaskRegistry(), threads=0)
    assert isinstance(runner, InProcessRunner)
    runner.close()


def test_url_comes_from_the_environment_until_settings_declare_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(JOBS_URL_ENV, "redis://127.0.0.1:6379/3")
    assert jobs_url_from(Settings()) == "redis://127.0.0.1:6379/3"
    assert jobs_url_from(None) == "redis://127.0.0.1:6379/3"
    assert jobs_url_from("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
    monkeypatch.setenv(JOBS_URL_ENV, "  ")
    assert jobs_url_from(None) is None


def test_a_non_redis_url_is_refused() -> None:
    with pytest.raises(InvalidInput, match="SILKGUARD_JOBS_URL='amqp://localhost'"):
        jobs_url_from("amqp://localhost")


def test_a_redis_url_means_dramatiq() -> None:
    if not redis_available():
        pytest.fail(
            f"no Redis at {REDIS_URL}: start it (redis-server) or set SILKGUARD_TEST_REDIS_URL"
        )
    from silkguard.jobs.dramatiq_runner import DramatiqRunner

    runner = make_runner(REDIS_URL, registry=TaskRegistry(), namespace=unique_namespace())
    assert isinstance(runner, DramatiqRunner)
    runner.purge()
    runner.close()


def test_an_unreachable_broker_is_reported() -> None:
    from silkguard.core.errors import ServiceUnavailable
    from silkguard.jobs.dramatiq_runner import DramatiqRunner

    with pytest.raises(ServiceUnavailable, match="cannot reach the job broker"):
        DramatiqRunner("redis://127.0.0.1:1/0", registry=TaskRegistry())
