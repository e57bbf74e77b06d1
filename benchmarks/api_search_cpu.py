"""The CPU one GeoJSON map search costs inside the API process, without HTTP or a load
generator: the ASGI application is called directly, one request at a time, with the query mix
of :mod:`benchmarks.api_load` (varied boxes and time ranges). Prints the process CPU and the
wall-clock time per request, and with ``--profile`` the functions that cost the most (thread
hand-offs are then run inline so that one profiler sees all of the work).

    PYTHONPATH=src python -m benchmarks.api_search_cpu --db /tmp/sg_cpu.db [--profile]
    PYTHONPATH=src python -m benchmarks.api_search_cpu --db postgresql://postgres@127.0.0.1/x

The database is loaded on first use (200,000 incidents) and reused afterwards; the API key is
kept next to it (``<db>.key``, or a file in the temporary directory for PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import pstats
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event

from benchmarks.api_load import load_incidents, query_paths
from silkguard.api.app import create_app
from silkguard.core.settings import Settings


def _key_file(db: str) -> Path:
    if db.startswith("postgresql"):
        digest = hashlib.sha256(db.encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"sg_cpu_{digest}.key"
    return Path(db + ".key")


def _url(db: str) -> str:
    return db if db.startswith("postgresql") else f"sqlite:///{db}"


async def _call(app: Any, path: str, key: str) -> tuple[int, bytes]:
    parts = urlsplit(path)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", key.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(body)


def _inline_threads() -> None:
    """Run FastAPI's thread-pool calls in the calling thread (for the profiler only)."""
    import fastapi.dependencies.utils as dep_utils
    from fastapi import routing

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    dep_utils.run_in_threadpool = inline  # type: ignore[assignment]
    routing.run_in_threadpool = inline  # type: ignore[assignment]


class _SqlClock:
    """Time the database spends in the statements the searches send (cursor execution,
    measured around the driver's call), and how many there are; keeps the searches' own
    statements (those reading incidents) for :func:`_replay`."""

    def __init__(self, engine: Any) -> None:
        self.seconds = 0.0
        self.statements = 0
        self._started = 0.0
        self.on = False
        self.searches: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.on and "FROM incidents" in statement:
            self.searches.append((statement, params))
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        if self.on:
            self.seconds += time.perf_counter() - self._started
            self.statements += 1


def _replay(engine: Any, statements: list[tuple[str, Any]], rounds: int = 3) -> None:
    """The searches' statements again, straight through the driver (no SQLAlchemy, no
    framework; prepared on PostgreSQL, as the server runs them): the database's share of a
    search, a floor under its cost whatever the Python around it does."""
    raw = engine.raw_connection()
    postgres = engine.dialect.name == "postgresql"
    try:
        cursor = raw.cursor()
        for _ in range(rounds):
            rows = 0
            t, c = time.perf_counter(), time.process_time()
            for statement, params in statements:
                if postgres:
                    cursor.execute(statement, params, prepare=True)
                else:
                    cursor.execute(statement, params)
                rows += len(cursor.fetchall())
            n = len(statements)
            print(
                f"the searches' statements alone, through the driver: wall "
                f"{1000 * (time.perf_counter() - t) / n:.2f} ms, CPU of this process "
                f"{1000 * (time.process_time() - c) / n:.2f} ms per search ({rows / n:.0f} rows)"
            )
            raw.rollback()
    finally:
        raw.close()


async def _run(app: Any, paths: list[str], key: str, profile: bool) -> None:
    async with app.router.lifespan_context(app):
        sql = _SqlClock(app.state.engine)
        for path in paths[:50]:  # warm-up: imports, statement caches, the page cache of the DB
            status, body = await _call(app, path, key)
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}: {body[:300]!r}")
        index = app.state.map_index
        if index is not None:
            # the copy, then this caller's mask, are made on the index's own thread: wait for
            # them, so that its work is not counted as the requests' CPU
            for path in paths[:2]:
                index.settle()
                await _call(app, path, key)
        health_cpu = []
        for _ in range(300):
            c = time.process_time()
            await _call(app, "/api/v1/health", key)
            health_cpu.append(time.process_time() - c)
        cpu, wall, sizes = [], [], []
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        sql.on = True
        for path in paths:
            t, c = time.perf_counter(), time.process_time()
            status, body = await _call(app, path, key)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
            sizes.append(body.count(b'"type":"Feature"'))
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}: {body[:300]!r}")
        sql.on = False
        if profiler is not None:
            profiler.disable()
    n = len(paths)
    print(
        f"{n} searches: CPU {1000 * sum(cpu) / n:.2f} ms each (median "
        f"{1000 * statistics.median(cpu):.2f}), wall {1000 * sum(wall) / n:.2f} ms (median "
        f"{1000 * statistics.median(wall):.2f}); {sum(sizes) / n:.0f} features per page; "
        f"health CPU {1000 * sum(health_cpu) / len(health_cpu):.3f} ms; SQL "
        f"{1000 * sql.seconds / n:.2f} ms in {sql.statements / n:.1f} statements per search"
    )
    if sql.searches:
        _replay(app.state.engine, sql.searches)
    else:
        print("no statement read the incidents table: the map copy answered every search")
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue())
        stats.dump_stats(str(Path(tempfile.gettempdir()) / "api_search_cpu.prof"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="SQLite file, or a PostgreSQL URL")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    key_file = _key_file(args.db)
    if not key_file.exists():
        t = time.perf_counter()
        key_file.write_text(load_incidents(_url(args.db), args.rows))
        print(f"loaded {args.rows} incidents in {time.perf_counter() - t:.0f} s")
    key = key_file.read_text()
    settings = Settings(
        database_url=_url(args.db),
        environment="production",
        secret_key=secrets.token_urlsafe(48),
    )
    app = create_app(settings)
    if args.profile:
        _inline_threads()
    paths = query_paths(args.requests, seed=5)
    asyncio.run(_run(app, paths, key, args.profile))


if __name__ == "__main__":
    main()
