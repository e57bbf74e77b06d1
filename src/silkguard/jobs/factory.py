"""Pick the runner from configuration: Dramatiq when a broker URL is set, else in-process."""

from __future__ import annotations

import os
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.core.settings import Settings
from silkguard.jobs.base import JobRunner, TaskRegistry
from silkguard.jobs.inprocess import InProcessRunner

__all__ = ["JOBS_URL_ENV", "jobs_url_from", "make_runner"]

JOBS_URL_ENV = "SILKGUARD_JOBS_URL"
_SCHEMES = ("redis://", "rediss://", "unix://")


def jobs_url_from(source: Settings | str | None) -> str | None:
    """The broker URL: ``source`` itself when it is a string, ``settings.jobs_url`` when the
    settings declare it, else the ``SILKGUARD_JOBS_URL`` environment variable; empty means none."""
    if isinstance(source, str):
        url: str | None = source
    elif source is not None and "jobs_url" in type(source).model_fields:
        url = getattr(source, "jobs_url", None)
    else:
        url = os.environ.get(JOBS_URL_ENV)
    url = (url or "").strip()
    if not url:
        return None
    if not url.startswith(_SCHEMES):
        msg = (
            f"{JOBS_URL_ENV}={url!r} is not a Redis URL; accepted: redis://host:port/db, "
            "rediss://... or unix:///path; leave it unset for the in-process runner"
        )
        raise InvalidInput(msg)
    return url


def make_runner(
    source: Settings | str | None = None,
    *,
    registry: TaskRegistry | None = None,
    **options: Any,
) -> JobRunner:
    """An :class:`InProcessRunner` when no broker URL is configured, else a
    :class:`~silkguard.jobs.dramatiq_runner.DramatiqRunner` on that URL. ``options`` go to the
    runner's constructor (for example ``threads=4`` or ``namespace="silkguard"``)."""
    url = jobs_url_from(source)
    if url is None:
        return InProcessRunner(registry, **options)
    # Imported here so the embedded default never loads dramatiq or redis.
    from silkguard.jobs.dramatiq_runner import DramatiqRunner

    return DramatiqRunner(url, registry=registry, **options)
