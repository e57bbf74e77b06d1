"""``silkguard jobs worker``: run background jobs on Dramatiq workers (when
``SILKGUARD_JOBS_URL`` is set); ``silkguard jobs run-due``: run the periodic jobs once, in this
process (for cron, when no worker runs)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.console import Console

from silkguard.cli.store import prepare_database, settings
from silkguard.core.errors import InvalidInput
from silkguard.worker import tasks as worker_tasks

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="Background jobs: deliveries, reminders, overdue checks, purge.", no_args_is_help=True
)
_console = Console()


@jobs_app.command("worker")
def worker_command(
    threads: Annotated[int, typer.Option(min=1, max=64, help="Worker threads.")] = 8,
    seconds: Annotated[
        float, typer.Option(help="Stop after this many seconds (0: until interrupted).")
    ] = 0.0,
) -> None:
    """Consume jobs from Redis and run the schedules (overdue every minute, reminders, escort
    timers, daily purge). Needs SILKGUARD_JOBS_URL=redis://..."""
    cfg = settings()
    if not cfg.jobs_url:
        msg = (
            "SILKGUARD_JOBS_URL is not set: without a broker the jobs run inside "
            "`silkguard serve`; set it to redis://127.0.0.1:6379/0 to use workers"
        )
        raise InvalidInput(msg)
    from silkguard.jobs.dramatiq_runner import run_worker

    deployment = worker_tasks.start(cfg, factory=prepare_database(cfg))
    # after a restart: whatever was still queued when the last worker stopped is sent now
    deployment.jobs.enqueue("alerts.dispatch")
    stop = threading.Event()
    if seconds > 0:
        threading.Timer(seconds, stop.set).start()
    _console.print(f"worker on {cfg.jobs_url} with {threads} thread(s); Ctrl-C stops")
    try:
        run_worker(
            cfg.jobs_url,
            registry=worker_tasks.registry_for(deployment),
            threads=threads,
            scheduler=True,
            stop=stop,
        )
    finally:
        deployment.close()


@jobs_app.command("run-due")
def run_due_command() -> None:
    """Run every periodic job once now, in this process, and wait for them (for cron)."""
    cfg = settings()
    deployment = worker_tasks.start(
        cfg.model_copy(update={"jobs_url": ""}), factory=prepare_database(cfg)
    )
    runner = deployment.jobs
    try:
        for name, _every in worker_tasks.SCHEDULES:
            runner.enqueue(name)
        runner.drain(300)
    finally:
        deployment.close()
    _console.print("ran: " + ", ".join(name for name, _ in worker_tasks.SCHEDULES))
