"""The demo server under the load of a dashboard page: several requests at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx

from silkguard.demo.seed import DEMO_PASSWORD

PAGE_LOAD = (
    "/auth/me",
    "/map/outlines",
    "/map/roads",
    "/incidents?format=geojson&limit=500",
    "/risk/surface?min_level=3",
    "/sites",
    "/movements?limit=100",
    "/alerts?status=active",
    "/people",
)


def test_parallel_reads_of_a_page_load_all_succeed(server: str) -> None:
    """More requests at once than the server has threads: on SQLite a read used to hold the
    write lock until another thread of the pool serialised its response, and with all threads
    waiting for the lock every request failed with "database is locked" after 10 s."""
    base = f"{server}/api/v1"
    res = httpx.post(
        f"{base}/auth/login", json={"username": "hamza.qureshi", "password": DEMO_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {res.json()['access_token']}"}

    def get(path: str) -> tuple[str, int, float]:
        r = httpx.get(f"{base}{path}", headers=headers, timeout=60)
        return path, r.status_code, r.elapsed.total_seconds()

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(get, PAGE_LOAD * 3))
    failed = [r for r in results if r[1] != 200]
    assert not failed, failed
    slow = [r for r in results if r[2] > 8]
    assert not slow, f"requests waited for a lock: {slow}"
