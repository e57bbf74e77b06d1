"""API under load: a bounding-box + time-range search returning a page of 100 incidents as
GeoJSON, with 200k incidents stored, against the same server's trivial health endpoint, for
SQLite and PostgreSQL with 2 workers. The load comes from wrk on loopback when it is installed
(Debian package `wrk`), else from a bounded asyncio client (httpx). Results: printed, and
written to benchmarks/results/api_load.json.

The searches are a mix of 20,000 different boxes and time ranges (:func:`query_paths`), as
map clients panning and zooming send them, not one URL repeated: nothing along the way can
answer from a cache of earlier answers. With ``baseline_src`` (``--baseline-src DIR``, the
``src`` directory of another checkout) a second server runs that code on the same database in
the same run, for before/after comparisons."""

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
import urllib.request
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
QUERIES = 20_000
ROUNDS = 2  # of baseline and current, when comparing
HEALTH = "/api/v1/health"
# wrk sends the paths of a file in turn (each of its threads from its own offset)
_WRK_SCRIPT = """
local paths = {}
local i = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = offset % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def query_paths(n: int = QUERIES, seed: int = 3) -> list[str]:
    """``n`` GeoJSON searches of different boxes (1.5-4 degrees a side, within Pakistan) and
    time ranges (2-8 years between 2000 and 2025), a page of 100 each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        width, height = rng.uniform(1.5, 4.0, 2)
        lon = rng.uniform(61.0, 77.0 - width)
        lat = rng.uniform(24.0, 36.5 - height)
        years = int(rng.integers(2, 9))
        offset = int(rng.integers(0, 365 * (25 - years)))
        start = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=offset)
        end = start + timedelta(days=365 * years)
        out.append(
            f"/api/v1/incidents?bbox={lon:.2f},{lat:.2f},{lon + width:.2f},{lat + height:.2f}"
            f"&since={start:%Y-%m-%d}T00:00:00Z&until={end:%Y-%m-%d}T00:00:00Z"
            "&limit=100&format=geojson"
        )
    return out


def _with_feature(row: dict[str, object]) -> dict[str, object]:
    # as the importer stores it: the pre-rendered GeoJSON Feature of the row
    row["feature"] = render_row(row)
    return row


def load_incidents(url: str, rows: int, seed: int = 11) -> str:
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


def _wait_up(port: int, deadline_s: float = 300) -> None:
    """Until the health endpoint answers (on a loaded machine a worker can take a while)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH}", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    msg = f"the server on port {port} did not start within {deadline_s} s"
    raise SystemExit(msg)


def _wrk(port: int, paths: list[str], key: str, workdir: Path) -> dict[str, float]:
    script = workdir / "paths.lua"
    script.write_text(_WRK_SCRIPT)
    path_file = workdir / "paths.txt"
    path_file.write_text("\n".join(paths) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONCURRENCY}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"X-API-Key: {key}",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(path_file),
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


async def _client(port: int, paths: list[str], key: str) -> dict[str, float]:
    import httpx2 as httpx  # the dev extra ships httpx2 (httpx is not installed)

    latencies: list[float] = []
    errors = 0
    sent = 0
    end = time.monotonic() + SECONDS
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"X-API-Key": key},
        limits=httpx.Limits(max_connections=CONCURRENCY),
    ) as client:

        async def worker() -> None:
            nonlocal errors, sent
            while time.monotonic() < end:
                path = paths[sent % len(paths)]
                sent += 1
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


def _measure(port: int, paths: list[str], key: str, workdir: Path) -> dict[str, float]:
    if shutil.which("wrk"):
        return _wrk(port, paths, key, workdir)
    return asyncio.run(_client(port, paths, key))


def _serve_and_measure(
    url: str, key: str, paths: list[str], workdir: Path, src: str | None
) -> dict[str, object]:
    """Start a 2-worker server (of the code in ``src`` when given), measure health and the
    search mix, stop it."""
    port = _free_port()
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": url,
        "SILKGUARD_ENVIRONMENT": "production",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
    }
    if src is not None:
        env["PYTHONPATH"] = str(Path(src).resolve())
    exe = str(Path(sys.executable).with_name("silkguard"))
    server = subprocess.Popen(
        [exe, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(port)
        sizes = []
        first: list[float] = []  # one worker's first searches make its map copy
        for path in paths[:20]:  # every search answers, with a full page
            check = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"X-API-Key": key}
            )
            t = time.perf_counter()
            with urllib.request.urlopen(check) as resp:
                sizes.append(len(json.loads(resp.read())["features"]))
            first.append((time.perf_counter() - t) * 1000)
        _measure(port, [HEALTH], key, workdir)  # warm-up
        health = _measure(port, [HEALTH], key, workdir)
        # warm-up of the searches: each worker makes its map copy (incidents.mapindex) on
        # its first search, answering from the database meanwhile
        t = time.perf_counter()
        _measure(port, paths[::-1], key, workdir)
        warm_s = time.perf_counter() - t
        query = _measure(port, paths, key, workdir)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "code": src or "this checkout",
        "features_per_page": round(statistics.mean(sizes), 1),
        "health": health,
        "query": query,
        "query_warm_up": {
            "seconds": round(warm_s, 1),
            "slowest_of_first_20_searches_ms": round(max(first), 1),
        },
        "throughput_ratio_query_over_health": round(query["rps"] / health["rps"], 3),
    }


def _run_backend(name: str, url: str, rows: int, baseline_src: str | None) -> dict[str, object]:
    t = time.perf_counter()
    key = load_incidents(url, rows)
    load_s = time.perf_counter() - t
    paths = query_paths()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        # with a baseline: baseline, current, baseline, current (the machine's load drifts)
        for src in [baseline_src, None] * ROUNDS if baseline_src else [None]:
            run = _serve_and_measure(url, key, paths, Path(tmp), src)
            runs.append(run)
            health, query = run["health"], run["query"]
            assert isinstance(health, dict)
            assert isinstance(query, dict)
            print(
                f"{name:10s} {'baseline' if src else 'current':8s} health {health['rps']:7.0f} "
                f"req/s p50 {health['p50_ms']:6.1f} ms p99 {health['p99_ms']:6.1f} ms | query "
                f"{query['rps']:7.0f} req/s p50 {query['p50_ms']:6.1f} ms p99 "
                f"{query['p99_ms']:6.1f} ms | ratio {query['rps'] / health['rps']:.2f} "
                f"| errors {query['errors']:.0f} | {run['features_per_page']} features/page"
            )
    return {
        "backend": name,
        "incidents": rows,
        "load_seconds": round(load_s, 1),
        "runs": runs,
        "goal_p99_ms_at_most": 50,
        "goal_throughput_ratio_at_least": 0.333,
    }


def _uptime() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(
    rows: int = 200_000,
    postgres: str | None = "postgresql://postgres@127.0.0.1:5432/test",
    baseline_src: str | None = None,
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    generator = "wrk" if shutil.which("wrk") else "httpx asyncio client"
    print(
        f"API load: {rows} incidents, {CONCURRENCY} concurrent clients, {SECONDS} s, "
        f"{QUERIES} different searches, load from {generator}; load average {_uptime()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(
            _run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", rows, baseline_src)
        )
    print(f"load average {_uptime()}")
    if postgres:
        name = f"sg_bench_{os.getpid()}"
        admin = create_engine(
            make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
            results.append(_run_backend("postgresql", url, rows, baseline_src))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        print(f"load average {_uptime()}")
    out = {
        "generator": generator,
        "concurrency": CONCURRENCY,
        "seconds": SECONDS,
        "workers": 2,
        "queries": f"{QUERIES} paths of query_paths(), e.g. {query_paths(1)[0]}",
        "results": results,
    }
    (RESULTS / "api_load.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS / 'api_load.json'}")
