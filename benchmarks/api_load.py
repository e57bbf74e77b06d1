"""API under load: a bounding-box + time-range search returning a page of 100 incidents as
GeoJSON, with 200k incidents stored, against the same server's trivial health endpoint, for
SQLite and PostgreSQL with 2 workers. The load comes from wrk on loopback when it is installed
(Debian package `wrk`), else from a bounded asyncio client (httpx). Results: printed, and
written to benchmarks/results/api_load.json."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from silkguard.auth import service as auth_service
from silkguard.core.db import analyze, make_engine, make_session_factory, session_scope
from silkguard.geo.cells import cells_for_arrays
from silkguard.incidents.geojson import render_row
from silkguard.incidents.models import Incident
from silkguard.migrations import upgrade

RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = 50
SECONDS = 10
QUERY = (
    "/api/v1/incidents?bbox=66.0,24.5,69.0,27.5&since=2015-01-01T00:00:00Z"
    "&until=2020-01-01T00:00:00Z&limit=100&format=geojson"
)
HEALTH = "/api/v1/health"


def _with_feature(row: dict[str, object]) -> dict[str, object]:
    # as the importer stores it: the pre-rendered GeoJSON Feature of the row
    row["feature"] = render_row(row)
    return row


def _load(url: str, rows: int, seed: int = 11) -> str:
    """Store ``rows`` synthetic incidents spread over Pakistan; returns an API key."""
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    lats = rng.uniform(24.0, 36.5, rows)
    lons = rng.uniform(61.0, 77.0, rows)
    r4, r6, r8 = (cells_for_arrays(lats, lons, r) for r in (4, 6, 8))
    start = datetime(2000, 1, 1, tzinfo=UTC)
    days = rng.integers(0, 365 * 25, rows)
    attacks = np.array(["ied", "shooting", "suicide_bombing", "armed_assault", "kidnapping"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for lo in range(0, rows, 10_000):
            batch = [
                _with_feature(
                    {
                        "id": uuid.uuid4(),
                        "occurred_at": start + timedelta(days=int(days[i]), hours=7),
                        "date_precision": "day",
                        "latitude": float(lats[i]),
                        "longitude": float(lons[i]),
                        "geo_precision": "place",
                        "country": "PK",
                        "h3_r4": int(r4[i]),
                        "h3_r6": int(r6[i]),
                        "h3_r8": int(r8[i]),
                        "attack_type": str(attacks[i % 5]),
                        "target_type": "police",
                        "perpetrator": "unknown",
                        "killed": int(i % 7),
                        "nationalities": [],
                        "summary": f"synthetic incident {i}",
                        "tlp": "GREEN" if i % 3 else "CLEAR",
                        "status": "confirmed",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                        "overrides": {},
                    }
                )
                for i in range(lo, min(lo + 10_000, rows))
            ]
            conn.execute(insert(Incident.__table__), batch)
    with session_scope(make_session_factory(engine)) as session:
        org = auth_service.create_org(session, slug="bench", name="Benchmark")
        _, key = auth_service.create_api_key(session, org_id=org.id, name="bench", role="analyst")
    analyze(engine)  # as `silkguard import` does after loading
    engine.dispose()
    return key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    msg = f"the server on port {port} did not start within {deadline_s} s"
    raise SystemExit(msg)


def _wrk(port: int, path: str, key: str) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONCURRENCY}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"X-API-Key: {key}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "errors": float(non2xx[1]) if non2xx else 0.0,
    }


async def _client(port: int, path: str, key: str) -> dict[str, float]:
    import httpx2 as httpx  # the dev extra ships httpx2 (httpx is not installed)

    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + SECONDS
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"X-API-Key": key},
        limits=httpx.Limits(max_connections=CONCURRENCY),
    ) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < end:
                t = time.perf_counter()
                r = await client.get(path)
                latencies.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - t0
    q = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49],
        "p99_ms": q[98],
        "errors": float(errors),
    }


def _measure(port: int, path: str, key: str) -> dict[str, float]:
    if shutil.which("wrk"):
        return _wrk(port, path, key)
    return asyncio.run(_client(port, path, key))


def _run_backend(name: str, url: str, rows: int) -> dict[str, object]:
    t = time.perf_counter()
    key = _load(url, rows)
    load_s = time.perf_counter() - t
    port = _free_port()
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": url,
        "SILKGUARD_ENVIRONMENT": "production",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
    }
    exe = str(Path(sys.executable).with_name("silkguard"))
    server = subprocess.Popen(
        [exe, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(port)
        import urllib.request

        check = urllib.request.Request(
            f"http://127.0.0.1:{port}{QUERY}", headers={"X-API-Key": key}
        )
        with urllib.request.urlopen(check) as resp:
            features = len(json.loads(resp.read())["features"])
        _measure(port, HEALTH, key)  # warm-up
        health = _measure(port, HEALTH, key)
        query = _measure(port, QUERY, key)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "backend": name,
        "incidents": rows,
        "load_seconds": round(load_s, 1),
        "features_per_page": features,
        "health": health,
        "query": query,
        "throughput_ratio_query_over_health": round(query["rps"] / health["rps"], 3),
        "goal_p99_ms_at_most": 50,
        "goal_throughput_ratio_at_least": 0.333,
    }
    print(
        f"{name:10s} health {health['rps']:7.0f} req/s p50 {health['p50_ms']:6.1f} ms p99 "
        f"{health['p99_ms']:6.1f} ms | query {query['rps']:7.0f} req/s p50 {query['p50_ms']:6.1f} "
        f"ms p99 {query['p99_ms']:6.1f} ms | ratio {query['rps'] / health['rps']:.2f} "
        f"| errors {query['errors']:.0f}"
    )
    return result


def run(
    rows: int = 200_000, postgres: str | None = "postgresql://postgres@127.0.0.1:5432/test"
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    generator = "wrk" if shutil.which("wrk") else "httpx asyncio client"
    print(
        f"API load: {rows} incidents, {CONCURRENCY} concurrent clients, {SECONDS} s, "
        f"load from {generator}"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(_run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", rows))
    if postgres:
        name = f"sg_bench_{os.getpid()}"
        admin = create_engine(
            make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
            results.append(_run_backend("postgresql", url, rows))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    out = {
        "generator": generator,
        "concurrency": CONCURRENCY,
        "seconds": SECONDS,
        "workers": 2,
        "query": QUERY,
        "results": results,
    }
    (RESULTS / "api_load.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS / 'api_load.json'}")
