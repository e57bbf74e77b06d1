"""Background and scheduled work behind one small interface: an in-process runner for the
embedded default and Dramatiq on Redis when configured (issue 7).

Register tasks with ``@task("alerts.deliver")``, build a runner with :func:`make_runner` and
``enqueue`` jobs with an idempotency ``key``; see docs/jobs.md for the guarantees.
"""

from __future__ import annotations

from silkguard.jobs.base import (
    DeadLetter,
    JobRunner,
    RetryPolicy,
    Schedule,
    TaskRegistry,
    TaskSpec,
    default_registry,
    job_id_for_key,
    task,
)
from silkguard.jobs.factory import JOBS_URL_ENV, make_runner
from silkguard.jobs.inprocess import InProcessRunner

__all__ = [
    "JOBS_URL_ENV",
    "DeadLetter",
    "InProcessRunner",
    "JobRunner",
    "RetryPolicy",
    "Schedule",
    "TaskRegistry",
    "TaskSpec",
    "default_registry",
    "job_id_for_key",
    "make_runner",
    "task",
]
