"""TAXII 2.1 pages of 1,000 objects (issue 9: "TAXII page of 1,000 objects p99 under 200 ms").

A store holds ``N`` confirmed TLP:AMBER incidents (default 20,000; ``--incidents N``) of an
operator organisation, each shared with a sharing group of which a partner organisation is a
member, each with one news source; between them lie incidents the partner must not see
(AMBER not shared, AMBER shared with another group, RED, AMBER+STRICT, drafts). The real app
(``silkguard serve --workers 2``) serves it on loopback, and the partner's API key walks the
group's collection:

* ``objects/?limit=1000`` and ``next``, with plain HTTP requests (``requests``, keep-alive),
  timing each page from request to the last byte of the body, ``PASSES`` walks;
* the same with the real ``taxii2-client`` (``taxii2client.v21.Collection`` + ``as_pages``),
  timing each page as the client hands it over (its JSON decoding included);
* ``manifest/?limit=1000`` with plain HTTP, one walk.

Every walk must return the same objects, the incident of each visible row and none of the
hidden ones (the benchmark fails otherwise).

Peers, in the same run:

* **medallion**, the OASIS reference TAXII 2.1 server (Flask, its in-memory backend, run with
  its own ``medallion`` command), loaded with the very objects our server served, in our
  order and with our ``date_added``. Its in-memory backend filters a first page in time
  quadratic in the collection (834 objects take 1.9 s, 3,212 take 29 s on a 2-core machine),
  so it holds only the first ``MEDALLION_OBJECTS`` objects and is compared with our first
  pages of the same objects. silkguard's extension-definition is left out there: medallion
  reads its ``version`` property ("1.0.0") as a timestamp and fails.
* **static pages**: a minimal Starlette app on uvicorn answering the same paged requests
  with envelopes serialised before the run (the same objects, the same page boundaries): the
  floor for HTTP and transfer of a page on this machine, with no store behind it.

Results: printed, and written to ``benchmarks/results/taxii.json``. PostgreSQL at
``--postgres`` is measured as well (``''`` skips it)."""

from __future__ import annotations

import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from silkguard.auth import service as auth_service
from silkguard.core.db import analyze, make_engine, make_session_factory, session_scope
from silkguard.incidents.models import Incident, IncidentShare, SourceRecord
from silkguard.migrations import upgrade
from silkguard.sharing.stix_export import incident_stix_id

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
INCIDENTS = 20_000
LIMIT = 1000
PASSES = 3
MEDALLION_OBJECTS = 2_000
MEDALLION_PASSES = 2
GOAL_P99_MS = 200.0
TAXII_ACCEPT = "application/taxii+json;version=2.1"
START = datetime(2025, 1, 1, tzinfo=UTC)
# every HIDDEN_EVERY-th row is one the partner must not see
HIDDEN_EVERY = 10
HIDDEN_KINDS = ("amber_unshared", "amber_other_group", "red", "amber_strict", "draft")
PERPETRATORS = ("BLA", "TTP", "unknown", "BLF", None)
PROVINCES = ("Balochistan", "Khyber Pakhtunkhwa", "Sindh", "Punjab")


# --- the store -------------------------------------------------------------------------------


class Store:
    """What the benchmark needs to know about the store it built."""

    def __init__(self, key: str, visible: set[str], hidden: set[str]) -> None:
        self.key = key
        self.visible = visible  # STIX ids of the incidents the partner sees through the group
        self.hidden = hidden  # and of those it must not see


def _load(url: str, incidents: int, seed: int = 13) -> Store:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        owner = auth_service.create_org(session, slug="owner", name="Corridor Operator")
        partner = auth_service.create_org(
            session, slug="partner", name="Partner Agency", kind="partner"
        )
        other = auth_service.create_org(session, slug="other", name="Other Operator")
        group = auth_service.create_sharing_group(session, name="kkh", owner_org_id=owner.id)
        auth_service.add_group_member(session, group_id=group.id, org_id=partner.id)
        elsewhere = auth_service.create_sharing_group(
            session, name="elsewhere", owner_org_id=owner.id
        )
        auth_service.add_group_member(session, group_id=elsewhere.id, org_id=other.id)
        _, key = auth_service.create_api_key(
            session, org_id=partner.id, name="taxii bench", role="partner"
        )
        owner_id, group_id, elsewhere_id = owner.id, group.id, elsewhere.id
    hidden_count = incidents // (HIDDEN_EVERY - 1)
    total = incidents + hidden_count
    visible: set[str] = set()
    hidden: set[str] = set()
    rng = uuid.UUID(int=seed).int
    batch = 5_000
    with engine.begin() as conn:
        for lo in range(0, total, batch):
            rows: list[dict[str, Any]] = []
            shares: list[dict[str, Any]] = []
            sources: list[dict[str, Any]] = []
            for i in range(lo, min(lo + batch, total)):
                rng = (rng * 6364136223846793005 + 1442695040888963407) % 2**64
                inc_id = uuid.UUID(int=rng << 64 | i, version=4)
                when = START + timedelta(seconds=i)
                hide = i % HIDDEN_EVERY == HIDDEN_EVERY - 1 and len(hidden) < hidden_count
                kind = HIDDEN_KINDS[len(hidden) % len(HIDDEN_KINDS)] if hide else "shared"
                tlp = {"red": "RED", "amber_strict": "AMBER+STRICT"}.get(kind, "AMBER")
                point = i % 5 != 0
                rows.append(
                    {
                        "id": inc_id,
                        "org_id": owner_id,
                        "occurred_at": when - timedelta(days=3, hours=i % 24),
                        "date_precision": "day",
                        "latitude": 24.5 + (i % 1200) / 100 if point else None,
                        "longitude": 62.0 + (i % 1500) / 100 if point else None,
                        "geo_precision": "place" if point else "province",
                        "place": f"Place {i % 3000}" if point else None,
                        "district": None,
                        "province": PROVINCES[i % len(PROVINCES)],
                        "country": "PK",
                        "attack_type": ("ied", "shooting", "kidnapping", "armed_assault")[i % 4],
                        "target_type": ("police", "convoy", "project_site")[i % 3],
                        "perpetrator": PERPETRATORS[i % len(PERPETRATORS)],
                        "killed": i % 7,
                        "injured": i % 11,
                        "nationalities": ["Chinese"] if i % 9 == 0 else [],
                        "summary": f"Incident {i}: a short factual description of what happened.",
                        "tlp": tlp,
                        "status": "draft" if kind == "draft" else "confirmed",
                        "created_at": when,
                        "updated_at": when,
                        "version": 1,
                        "overrides": {},
                    }
                )
                if kind == "shared":
                    shares.append({"incident_id": inc_id, "group_id": group_id})
                elif kind == "amber_other_group":
                    shares.append({"incident_id": inc_id, "group_id": elsewhere_id})
                (visible if kind == "shared" else hidden).add(incident_stix_id(inc_id))
                sources.append(
                    {
                        "id": uuid.UUID(int=rng, version=4),
                        "incident_id": inc_id,
                        "source_kind": "news",
                        "source_name": "Dawn",
                        "external_id": f"news-{i}",
                        "url": f"https://example.org/news/{i}",
                        "licence": None,
                        "raw": {"headline": f"Incident {i}"},
                        "normalized": {},
                        "content_hash": f"{i:064x}",
                        "imported_at": when,
                    }
                )
            conn.execute(insert(Incident.__table__), rows)  # type: ignore[arg-type]
            conn.execute(insert(SourceRecord.__table__), sources)  # type: ignore[arg-type]
            if shares:
                conn.execute(insert(IncidentShare.__table__), shares)  # type: ignore[arg-type]
    analyze(engine)
    engine.dispose()
    return Store(key, visible, hidden)


# --- servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 180) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            msg = f"the server for port {port} exited with {proc.returncode} before it was up"
            raise RuntimeError(msg)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    msg = f"the server on port {port} did not start within {deadline_s} s"
    raise RuntimeError(msg)


class _Child:
    """A server in a child process, stopped (its whole process group) on exit."""

    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            args,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> _Child:
        try:
            _wait_up(self.port, self.proc)
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and all its processes so far: a cost per
        page that holds when other jobs share the machine, unlike wall-clock latency."""
        import psutil

        procs = [psutil.Process(self.proc.pid)]
        procs += procs[0].children(recursive=True)
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def _silkguard(url: str) -> _Child:
    port = _free_port()
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": url,
        "SILKGUARD_ENVIRONMENT": "production",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
    }
    exe = str(Path(sys.executable).with_name("silkguard"))
    return _Child([exe, "serve", "--workers", "2", "--port", str(port)], port, env)


# --- walking a collection ---------------------------------------------------------------------


class Walk:
    """The pages of one walk through a collection: milliseconds and objects per page."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.sizes: list[int] = []
        self.bytes = 0
        self.objects: list[dict[str, Any]] = []

    @property
    def seconds(self) -> float:
        return sum(self.ms) / 1000


def _walk_http(
    http: requests.Session,
    url: str,
    *,
    auth: tuple[str, str],
    max_objects: int | None = None,
    keep: bool = True,
) -> Walk:
    walk = Walk()
    params: dict[str, str] = {"limit": str(LIMIT)}
    while True:
        t = time.perf_counter()
        resp = http.get(url, params=params, auth=auth, headers={"Accept": TAXII_ACCEPT})
        body = resp.content
        walk.ms.append((time.perf_counter() - t) * 1000)
        if resp.status_code != 200:
            msg = f"GET {resp.url} answered {resp.status_code}: {body[:500]!r}"
            raise RuntimeError(msg)
        walk.bytes += len(body)
        page = json.loads(body)
        objects = page.get("objects", [])
        walk.sizes.append(len(objects))
        if keep:
            walk.objects += objects
        if not page.get("more") or (max_objects and sum(walk.sizes) >= max_objects):
            return walk
        params = {"limit": str(LIMIT), "next": str(page["next"])}


def _walk_client(collection_url: str, auth: tuple[str, str]) -> Walk:
    from taxii2client.v21 import Collection, as_pages

    walk = Walk()
    collection = Collection(collection_url, user=auth[0], password=auth[1])
    pages = as_pages(collection.get_objects, per_request=LIMIT)
    while True:
        t = time.perf_counter()
        try:
            envelope = next(pages)
        except StopIteration:
            return walk
        walk.ms.append((time.perf_counter() - t) * 1000)
        objects = envelope.get("objects", [])
        walk.sizes.append(len(objects))
        walk.objects += objects


def _stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    ordered = sorted(ms)

    def pct(p: float) -> float:
        # nearest rank: the smallest value with at least p % of the samples at or below it
        rank = max(1, -(-len(ordered) * p // 100))
        return ordered[int(rank) - 1]

    return {
        "pages": len(ms),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ms),
    }


def _summary(walks: list[Walk]) -> dict[str, Any]:
    """Every page of every walk; the first page of each walk also apart from the later ones;
    only full pages (``LIMIT`` objects) count in the "full pages" figures."""
    full = [ms for w in walks for ms, n in zip(w.ms, w.sizes, strict=True) if n == LIMIT]
    objects = sum(sum(w.sizes) for w in walks)
    seconds = sum(w.seconds for w in walks)
    return {
        "walks": len(walks),
        "objects_per_walk": sum(walks[0].sizes),
        "bytes_per_walk": walks[0].bytes,
        "seconds_per_walk": [round(w.seconds, 3) for w in walks],
        "objects_per_s": objects / seconds if seconds else 0.0,
        "all_pages": _stats([ms for w in walks for ms in w.ms]),
        "full_pages": _stats(full),
        "first_page": _stats([w.ms[0] for w in walks]),
        "later_pages": _stats([ms for w in walks for ms in w.ms[1:]]),
    }


def _incident_ids(objects: list[dict[str, Any]]) -> set[str]:
    return {o["id"] for o in objects if o["type"] == "incident"}


def _check(walk: Walk, reference: list[str], store: Store, what: str) -> None:
    ids = [o["id"] for o in walk.objects]
    if ids != reference:
        msg = f"{what}: {len(ids)} objects, not the {len(reference)} of the first walk in order"
        raise RuntimeError(msg)
    seen = _incident_ids(walk.objects)
    if seen != store.visible:
        leaked = len(seen & store.hidden)
        msg = (
            f"{what}: {len(seen)} incidents served, {len(store.visible)} visible "
            f"({leaked} that the partner must not see)"
        )
        raise RuntimeError(msg)


def _collection_url(base: str, auth: tuple[str, str]) -> str:
    """The sharing group's collection, found with taxii2-client from discovery on."""
    from taxii2client.v21 import Server

    server = Server(f"{base}/taxii2/", user=auth[0], password=auth[1])
    groups = [c for c in server.default.collections if "sharing group" in c.title]
    if len(groups) != 1:
        msg = f"expected one sharing-group collection, found {[c.title for c in groups]}"
        raise RuntimeError(msg)
    return str(groups[0].url)


# --- our server -------------------------------------------------------------------------------


def _run_backend(
    name: str, url: str, incidents: int
) -> tuple[dict[str, Any], list[Any], list[list[float]]]:
    """Load, serve and walk one backend: its figures, what it served (objects with their
    date_added, for the peers) and the page times of its HTTP walks."""
    t = time.perf_counter()
    store = _load(url, incidents)
    load_s = time.perf_counter() - t
    auth = ("bench", store.key)
    with _silkguard(url) as server, requests.Session() as http:
        base = f"http://127.0.0.1:{server.port}"
        coll = _collection_url(base, auth)
        _walk_http(http, f"{coll}objects/", auth=auth, max_objects=2 * LIMIT, keep=False)  # warm
        cpu0 = server.cpu_seconds()
        walks = [_walk_http(http, f"{coll}objects/", auth=auth) for _ in range(PASSES)]
        cpu_ms = (server.cpu_seconds() - cpu0) * 1000 / sum(len(w.ms) for w in walks)
        reference = [o["id"] for o in walks[0].objects]
        for n, walk in enumerate(walks):
            _check(walk, reference, store, f"{name} objects walk {n + 1}")
        client = _walk_client(coll, auth)
        _check(client, reference, store, f"{name} taxii2-client walk")
        manifest = _walk_http(http, f"{coll}manifest/", auth=auth)
        if [o["id"] for o in manifest.objects] != reference:
            msg = f"{name}: the manifest does not list the objects' ids in order"
            raise RuntimeError(msg)
    result = {
        "backend": name,
        "incidents_visible": len(store.visible),
        "incidents_hidden": len(store.hidden),
        "load_seconds": round(load_s, 1),
        "objects": _summary(walks) | {"server_cpu_ms_per_page": cpu_ms},
        "taxii2_client": _summary([client]),
        "manifest": _summary([manifest]),
        "goal_p99_ms_at_most": GOAL_P99_MS,
        "goal_met": _summary(walks)["full_pages"]["p99_ms"] < GOAL_P99_MS,
    }
    return result, _served_with_dates(walks[0], manifest), [w.ms for w in walks]


def _served_with_dates(walk: Walk, manifest: Walk) -> list[Any]:
    dates = [m["date_added"] for m in manifest.objects]
    return [[obj, added] for obj, added in zip(walk.objects, dates, strict=True)]


# --- peers ------------------------------------------------------------------------------------


def _medallion(served: list[Any], ours: list[list[float]], tmp: Path) -> dict[str, Any]:
    """medallion's in-memory backend holding the first MEDALLION_OBJECTS of what we served."""
    exe = Path(sys.executable).with_name("medallion")
    if not exe.exists():
        return {"available": False, "reason": f"{exe} not found: pip install medallion"}
    subset = [(o, added) for o, added in served if "version" not in o][:MEDALLION_OBJECTS]
    user, password = "bench", secrets.token_urlsafe(16)
    collection_id = str(uuid.uuid4())
    port = _free_port()
    root = f"http://127.0.0.1:{port}/bench/"
    data = {
        "/discovery": {
            "title": "medallion (benchmark peer)",
            "default": root,
            "api_roots": [root],
        },
        "bench": {
            "information": {
                "title": "benchmark",
                "versions": [TAXII_ACCEPT],
                "max_content_length": 100_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": collection_id,
                    "title": "the same objects",
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [o for o, _ in subset],
                    "manifest": [
                        {
                            "id": o["id"],
                            "date_added": added,
                            "version": o.get("modified", o.get("created")),
                            "media_type": "application/stix+json;version=2.1",
                        }
                        for o, added in subset
                    ],
                }
            ],
        },
    }
    (tmp / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(tmp / "medallion-data.json"),
            "session_timeout": 3600,
        },
        "users": {user: password},
        "taxii": {"max_page_size": LIMIT},
    }
    (tmp / "medallion.json").write_text(json.dumps(config))
    auth = (user, password)
    coll = f"{root}collections/{collection_id}/"
    try:
        with (
            _Child([str(exe), "--port", str(port), str(tmp / "medallion.json")], port),
            requests.Session() as http,
        ):
            walks = [
                _walk_http(http, f"{coll}objects/", auth=auth) for _ in range(MEDALLION_PASSES)
            ]
            client = _walk_client(coll, auth)
            manifest = _walk_http(http, f"{coll}manifest/", auth=auth)
    except (RuntimeError, requests.RequestException) as exc:
        return {"available": False, "reason": f"medallion did not serve: {exc}"}
    expected = [o["id"] for o, _ in subset]
    for walk in (*walks, client):
        if sorted(o["id"] for o in walk.objects) != sorted(expected):
            msg = f"medallion served {len(walk.objects)} objects, not the {len(expected)} loaded"
            raise RuntimeError(msg)
    pages = len(walks[0].ms)
    # our first `pages` pages of every walk: the same objects (ours hold one more, the
    # extension definition, which medallion cannot serve)
    ours_subset = [ms[:pages] for ms in ours]
    our_first = _stats([ms[0] for ms in ours_subset])
    our_later = _stats([m for ms in ours_subset for m in ms[1:]])
    theirs = _summary(walks)
    return {
        "available": True,
        "objects_loaded": len(subset),
        "server": "medallion's own command (Flask development server, threaded)",
        "objects": theirs,
        "taxii2_client": _summary([client]),
        "manifest": _summary([manifest]),
        "ours_same_pages": {"first_page": our_first, "later_pages": our_later},
        "ratio_ours_over_medallion": {
            "first_page_p50": our_first["p50_ms"] / theirs["first_page"]["p50_ms"],
            "later_pages_p50": (our_later["p50_ms"] / theirs["later_pages"]["p50_ms"])
            if our_later and theirs["later_pages"]
            else None,
        },
    }


def _static_app(pages_file: str) -> Any:
    """A Starlette app answering ``objects/?limit=&next=`` with pre-serialised envelopes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    bodies: list[bytes] = [
        line.encode() for line in Path(pages_file).read_text().splitlines() if line
    ]

    async def objects(request: Request) -> Response:
        index = int(request.query_params.get("next") or 0)
        return Response(bodies[index], media_type=TAXII_ACCEPT)

    return Starlette(routes=[Route("/objects/", objects)])


def _static_peer(walk: Walk, tmp: Path) -> dict[str, Any]:
    """The same pages, serialised before the run, served by a minimal Starlette app."""
    lines = []
    offset = 0
    for n, size in enumerate(walk.sizes):
        more = n + 1 < len(walk.sizes)
        body: dict[str, Any] = {"more": more}
        if more:
            body["next"] = str(n + 1)
        body["objects"] = walk.objects[offset : offset + size]
        offset += size
        lines.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    pages_file = tmp / "static-pages.jsonl"
    pages_file.write_text("\n".join(lines) + "\n")
    port = _free_port()
    args = [sys.executable, "-m", "benchmarks.taxii_page", "static-peer", str(pages_file)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    with _Child([*args, str(port)], port, env) as server, requests.Session() as http:
        url = f"http://127.0.0.1:{port}/objects/"
        _walk_http(http, url, auth=("x", "y"), max_objects=2 * LIMIT, keep=False)
        cpu0 = server.cpu_seconds()
        walks = [_walk_http(http, url, auth=("x", "y"), keep=False) for _ in range(PASSES)]
        cpu_ms = (server.cpu_seconds() - cpu0) * 1000 / sum(len(w.ms) for w in walks)
    return {
        "server": "Starlette on uvicorn, 1 worker, envelopes serialised in advance",
        "server_cpu_ms_per_page": cpu_ms,
    } | _summary(walks)


# --- the run ----------------------------------------------------------------------------------


def _with_postgres(postgres: str, fn: Callable[[str], Any]) -> Any:
    name = f"sg_taxii_{os.getpid()}"
    admin = create_engine(
        make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
        return fn(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(
    incidents: int = INCIDENTS,
    postgres: str | None = "postgresql://postgres@127.0.0.1:5432/test",
) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(
        f"TAXII pages of {LIMIT} objects: {incidents:,} incidents shared with a group, "
        f"{PASSES} walks per backend"
    )
    backends: list[dict[str, Any]] = []
    peers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sqlite, served, sqlite_ms = _run_backend(
            "sqlite", f"sqlite:///{tmp / 'bench.db'}", incidents
        )
        backends.append(sqlite)
        _print_backend(sqlite)
        if postgres:
            pg, _, _ = _with_postgres(postgres, lambda u: _run_backend("postgresql", u, incidents))
            backends.append(pg)
            _print_backend(pg)
        walk = Walk()
        walk.objects = [o for o, _ in served]
        walk.sizes = [min(LIMIT, len(served) - i) for i in range(0, len(served), LIMIT)]
        peers["static_pages"] = _static_peer(walk, tmp)
        peers["medallion"] = _medallion(served, sqlite_ms, tmp)
    static = peers["static_pages"]
    for b in backends:
        b["ratio_ours_over_static_pages"] = {
            k: b["objects"]["full_pages"][k] / static["full_pages"][k] for k in ("p50_ms", "p99_ms")
        } | {
            "server_cpu_ms_per_page": b["objects"]["server_cpu_ms_per_page"]
            / static["server_cpu_ms_per_page"]
        }
    result = {
        "benchmark": "taxii_page",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "limit": LIMIT,
        "incidents": incidents,
        "backends": backends,
        "peers": peers,
    }
    _print_peers(backends, peers)
    out = RESULTS / "taxii.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")
    return result


# --- printing ---------------------------------------------------------------------------------


def _row(label: str, s: dict[str, Any]) -> str:
    a = s["full_pages"] or s["all_pages"]
    f, later = s["first_page"], s["later_pages"]
    return (
        f"  {label:28s} p50 {a['p50_ms']:7.1f}  p95 {a['p95_ms']:7.1f}  p99 {a['p99_ms']:7.1f}  "
        f"max {a['max_ms']:7.1f} ms | first {f['p50_ms']:7.1f} later p50 "
        f"{later.get('p50_ms', float('nan')):7.1f} ms | {s['objects_per_s']:8,.0f} obj/s "
        f"({a['pages']} pages)"
    )


def _print_backend(b: dict[str, Any]) -> None:
    print(
        f"{b['backend']}: {b['incidents_visible']:,} incidents visible, "
        f"{b['incidents_hidden']:,} hidden, {b['objects']['objects_per_walk']:,} objects "
        f"(loaded in {b['load_seconds']} s)"
    )
    print(_row("objects/ (HTTP)", b["objects"]))
    print(f"  server CPU per objects/ page: {b['objects']['server_cpu_ms_per_page']:.1f} ms")
    print(_row("objects/ (taxii2-client)", b["taxii2_client"]))
    print(_row("manifest/ (HTTP)", b["manifest"]))
    print(f"  p99 of a full page under {GOAL_P99_MS:.0f} ms: {b['goal_met']}")


def _print_peers(backends: list[dict[str, Any]], peers: dict[str, Any]) -> None:
    static = peers["static_pages"]
    print("peer: the same pages serialised in advance (Starlette/uvicorn)")
    print(_row("static pages", static))
    print(f"  server CPU per page: {static['server_cpu_ms_per_page']:.2f} ms")
    for b in backends:
        r = b["ratio_ours_over_static_pages"]
        print(
            f"  {b['backend']} / static: p50 {r['p50_ms']:.1f}x  p99 {r['p99_ms']:.1f}x  "
            f"server CPU {r['server_cpu_ms_per_page']:.1f}x"
        )
    med = peers["medallion"]
    if not med["available"]:
        print(f"peer medallion: unavailable ({med['reason']})")
        return
    print(f"peer: medallion, in-memory backend, first {med['objects_loaded']:,} objects")
    print(_row("medallion objects/", med["objects"]))
    print(_row("medallion taxii2-client", med["taxii2_client"]))
    print(_row("medallion manifest/", med["manifest"]))
    ours = med["ours_same_pages"]
    ratio = med["ratio_ours_over_medallion"]
    later = ratio["later_pages_p50"]
    print(
        f"  sqlite, same pages: first {ours['first_page']['p50_ms']:.1f} ms, later p50 "
        f"{ours['later_pages'].get('p50_ms', float('nan')):.1f} ms | ours/medallion: first "
        f"page {ratio['first_page_p50']:.3f}x, later pages "
        + (f"{later:.2f}x" if later is not None else "-")
    )


def _serve_static(pages_file: str, port: int) -> None:
    import uvicorn

    uvicorn.run(_static_app(pages_file), host="127.0.0.1", port=port, log_level="warning")


def _main(argv: list[str]) -> None:
    if argv[:1] == ["static-peer"]:
        _serve_static(argv[1], int(argv[2]))
    else:
        run()


if __name__ == "__main__":
    _main(sys.argv[1:])
