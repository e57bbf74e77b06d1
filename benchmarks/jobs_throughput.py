"""Job throughput of both runners against their bare peers (issue 7).

A fan-out of ``N`` keyed jobs (one per person and channel, as alert deliveries will be),
enqueued one by one and with ``enqueue_many``, with a handler that only counts; measured: the
time to enqueue them all, and the time until the last one finished (enqueue included).
Peers measured in the same run:

* ``InProcessRunner`` (2 threads) against a bare ``concurrent.futures.ThreadPoolExecutor``
  (2 threads) running the same handler: the cost of keys, leases, retry bookkeeping and the
  delay heap;
* ``DramatiqRunner`` (in-process worker, 4 threads, local Redis) against a bare Dramatiq actor
  on a ``RedisBroker`` with no middleware and the same worker: the cost of the idempotency keys
  (two Redis round trips per job plus one at enqueue).

Results are printed and written to ``benchmarks/results/jobs_throughput.json``.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from silkguard.jobs.base import TaskRegistry
from silkguard.jobs.dramatiq_runner import DramatiqRunner
from silkguard.jobs.inprocess import InProcessRunner

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
REDIS_URL = os.environ.get("SILKGUARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
JOBS = 5_000
CHANNELS = ("sms", "email", "webhook", "mqtt")
DRAMATIQ_THREADS = 4


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.n += 1


def _fan_out(jobs: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"delivery:1:{i // len(CHANNELS)}:{CHANNELS[i % len(CHANNELS)]}", {"person": i})
        for i in range(jobs)
    ]


def _measure_runner(
    runner: InProcessRunner | DramatiqRunner, jobs: int, *, batched: bool
) -> dict[str, float]:
    counter = Counter()
    runner.register("alerts.deliver", counter)
    work = _fan_out(jobs)
    t0 = time.perf_counter()
    if batched:
        runner.enqueue_many("alerts.deliver", work)
    else:
        for key, kwargs in work:
            runner.enqueue("alerts.deliver", key=key, **kwargs)
    t_enq = time.perf_counter() - t0
    runner.drain(600)
    t_all = time.perf_counter() - t0
    if counter.n != jobs:
        msg = f"{type(runner).__name__} ran {counter.n} of {jobs} jobs"
        raise RuntimeError(msg)
    return {"enqueue_s": t_enq, "total_s": t_all, "jobs_per_s": jobs / t_all}


def _measure_thread_pool(jobs: int) -> dict[str, float]:
    counter = Counter()
    work = _fan_out(jobs)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(counter, **kwargs) for _, kwargs in work]
        t_enq = time.perf_counter() - t0
        for fut in futures:
            fut.result()
    t_all = time.perf_counter() - t0
    return {"enqueue_s": t_enq, "total_s": t_all, "jobs_per_s": jobs / t_all}


def _measure_bare_dramatiq(jobs: int, namespace: str) -> dict[str, float]:
    counter = Counter()
    broker = RedisBroker(url=REDIS_URL, namespace=namespace, middleware=[])  # type: ignore[no-untyped-call]

    def deliver(person: int) -> None:
        counter(person=person)

    actor = dramatiq.Actor(
        deliver, broker=broker, actor_name="deliver", queue_name="default", priority=0, options={}
    )
    worker = dramatiq.Worker(broker, worker_threads=DRAMATIQ_THREADS, worker_timeout=100)
    worker.start()
    try:
        t0 = time.perf_counter()
        for _, kwargs in _fan_out(jobs):
            actor.send(kwargs["person"])
        t_enq = time.perf_counter() - t0
        broker.join("default", interval=20, timeout=600_000)
        t_all = time.perf_counter() - t0
    finally:
        worker.stop()
        for key in broker.client.scan_iter(match=f"{namespace}:*"):
            broker.client.delete(key)
        broker.close()
    if counter.n != jobs:
        msg = f"bare dramatiq ran {counter.n} of {jobs} jobs"
        raise RuntimeError(msg)
    return {"enqueue_s": t_enq, "total_s": t_all, "jobs_per_s": jobs / t_all}


def _measure_dramatiq_runner(jobs: int, namespace: str, *, batched: bool) -> dict[str, float]:
    runner = DramatiqRunner(REDIS_URL, registry=TaskRegistry(), namespace=namespace)
    try:
        runner.start_worker(threads=DRAMATIQ_THREADS, poll_ms=100)
        return _measure_runner(runner, jobs, batched=batched)
    finally:
        runner.close()  # the stopping worker still writes heartbeats: purge afterwards
        runner_cleanup = DramatiqRunner(REDIS_URL, registry=TaskRegistry(), namespace=namespace)
        runner_cleanup.purge()
        runner_cleanup.close()


def run(jobs: int = JOBS) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    ns = f"sgbench-{secrets.token_hex(4)}"
    with InProcessRunner(TaskRegistry(), threads=2) as inproc:
        inprocess = _measure_runner(inproc, jobs, batched=False)
    with InProcessRunner(TaskRegistry(), threads=2) as inproc:
        inprocess_many = _measure_runner(inproc, jobs, batched=True)
    pool = _measure_thread_pool(jobs)
    bare = _measure_bare_dramatiq(jobs, ns + "-bare")
    ours = _measure_dramatiq_runner(jobs, ns + "-sg", batched=False)
    ours_many = _measure_dramatiq_runner(jobs, ns + "-sgmany", batched=True)
    rows = {
        "inprocess_runner": inprocess,
        "inprocess_enqueue_many": inprocess_many,
        "thread_pool_peer": pool,
        "dramatiq_runner": ours,
        "dramatiq_enqueue_many": ours_many,
        "bare_dramatiq_peer": bare,
    }
    print(f"{jobs} keyed jobs, no-op handler")
    print(f"{'method':<24}{'enqueue s':>12}{'total s':>10}{'jobs/s':>10}")
    for name, row in rows.items():
        print(
            f"{name:<24}{row['enqueue_s']:>12.3f}{row['total_s']:>10.3f}{row['jobs_per_s']:>10.0f}"
        )
    ratios = {
        "inprocess_vs_thread_pool_time": inprocess["total_s"] / pool["total_s"],
        "dramatiq_runner_vs_bare_dramatiq_time": ours["total_s"] / bare["total_s"],
        "dramatiq_enqueue_many_vs_bare_dramatiq_time": ours_many["total_s"] / bare["total_s"],
    }
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    result: dict[str, Any] = {
        "benchmark": "jobs_throughput",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": os.cpu_count(),
        },
        "jobs": jobs,
        "results": rows,
        "ratios": ratios,
    }
    out = RESULTS / "jobs_throughput.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    run()
