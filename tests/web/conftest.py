"""Browser tests of the dashboard: the real demo (``silkguard demo``, seeded and forecast) served
by uvicorn in a child process on a free port, driven by Playwright through the system Chromium.

Each test opens its own browser context, so tokens and language choices do not leak between
tests; every request a page makes is checked, and one that would leave 127.0.0.1 fails the test.
Screenshots go to the test's ``tmp_path`` and, when ``SILKGUARD_ARTIFACTS`` is set, to
``$SILKGUARD_ARTIFACTS/web/`` as well."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from silkguard.demo.seed import DEMO_PASSWORD
from tests.conftest import empty_database

CHROMIUM = Path(os.environ.get("SILKGUARD_CHROMIUM", "/usr/bin/chromium"))
SECRET = "browser-test-secret-" + "s" * 40
LOCAL_HOSTS = {"127.0.0.1"}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_db_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the run's kind for the demo server to seed."""
    with empty_database(database_url, tmp_path_factory.mktemp("web")) as url:
        yield url


@pytest.fixture(scope="module")
def server(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``silkguard demo`` as a user starts it: seed, forecast, serve. Yields the base URL."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("web-server") / "demo.log"
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": demo_db_url,
        "SILKGUARD_ENVIRONMENT": "test",
        "SILKGUARD_SECRET_KEY": SECRET,
    }
    env.pop("SILKGUARD_JOBS_URL", None)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "silkguard", "demo", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the demo server exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the demo server did not answer in 180 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive the system Chromium; run "
            "`sh scripts/ensure_chromium.sh` (the setup of `make test` does) or set "
            "SILKGUARD_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    b = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
    yield b
    b.close()


@dataclass
class Visit:
    """One user's browser context and page, with what the page asked for and complained of."""

    context: BrowserContext
    page: Page
    base: str
    shots: Path
    name: str
    outside: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    _n: int = 0

    def shot(self, step: str) -> Path:
        self._n += 1
        path = self.shots / f"{self.name}-{self._n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        out = os.environ.get("SILKGUARD_ARTIFACTS")
        if out:
            target = Path(out) / "web"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.name)
        return path

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/{route}")

    def login(self, username: str) -> None:
        self.go("")
        self.page.fill("#username", username)
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_selector("#nav:not([hidden])")

    def set_language(self, code: str) -> None:
        self.page.select_option("#lang", code)
        want = "zh-Hans" if code == "zh" else "en"
        expect(self.page.locator("html")).to_have_attribute("lang", want)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API with this page's access token (what the dashboard itself holds)."""
        pair = self.page.evaluate("JSON.parse(sessionStorage.getItem('silkguard.tokens'))")
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        res = httpx.request(method, f"{self.base}/api/v1{path}", headers=headers, **kwargs)
        assert res.status_code < 400, f"{method} {path}: {res.status_code} {res.text}"
        return res.json()


@pytest.fixture
def visit(browser: Browser, server: str, tmp_path: Path) -> Iterator[Any]:
    """Open browser contexts: ``visit("name", viewport=...)``; each is checked when the test
    ends for requests that tried to leave the machine and for failed responses."""
    opened: list[Visit] = []

    def open_visit(name: str, *, viewport: dict[str, int] | None = None) -> Visit:
        kwargs: dict[str, Any] = {"viewport": viewport or {"width": 1366, "height": 900}}
        if viewport == PHONE:
            kwargs.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**kwargs)
        page = context.new_page()
        v = Visit(context=context, page=page, base=server, shots=tmp_path, name=name)

        def guard(route: Route) -> None:
            url = route.request.url
            host = urlsplit(url).hostname
            if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                v.outside.append(url)
                route.abort()

        context.route("**/*", guard)
        page.on("console", lambda m: v.console.append(f"{m.type}: {m.text}"))
        page.on(
            "response",
            lambda r: (
                v.failed.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )
        opened.append(v)
        return v

    yield open_visit
    for v in opened:
        v.context.close()
    for v in opened:
        assert not v.outside, f"{v.name}: requests tried to leave the machine: {v.outside}"
        assert not v.failed, f"{v.name}: server errors: {v.failed}"
        missing = [c for c in v.console if "missing string" in c]
        assert not missing, f"{v.name}: strings missing from the translations: {missing}"
