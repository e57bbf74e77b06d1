"""The dashboard: a single page of plain JavaScript modules (``static/``) over the API, with
Leaflet and its marker-cluster plug-in installed from the npm registry by the setup command
(``npm ci`` in this directory, from ``package-lock.json``) and served from ``node_modules``.
No tile server and no CDN: the map draws the shipped outlines and roads from ``/api/v1/map``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HERE", "VENDOR_PACKAGES", "mount_dashboard", "vendor_missing"]

HERE: Final = Path(__file__).resolve().parent
STATIC: Final = HERE / "static"
NODE_MODULES: Final = HERE / "node_modules"
#: URL name -> directory inside node_modules that is served under /vendor/<name>/.
VENDOR_PACKAGES: Final[dict[str, str]] = {
    "leaflet": "leaflet/dist",
    "markercluster": "leaflet.markercluster/dist",
}
#: Every page may load only from this server: scripts, styles, images and API calls.
CSP: Final = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
log = logging.getLogger(__name__)


def vendor_missing() -> list[str]:
    """The front-end packages that are not installed (empty when ``npm ci`` has run)."""
    return [name for name, sub in VENDOR_PACKAGES.items() if not (NODE_MODULES / sub).is_dir()]


class _Hardened:
    """Adds the content security policy and no-sniff headers to the dashboard's responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        await self.app(scope, receive, send_hardened)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` (``/static`` for its own files, ``/vendor`` for the npm
    packages). When the npm packages are missing the page still loads and says how to install
    them, and ``/vendor/...`` answers 503 with the command to run."""
    index = STATIC / "index.html"

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(
            index,
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    app.mount("/static", _Hardened(StaticFiles(directory=STATIC)), name="static")
    missing = vendor_missing()
    if missing:
        log.warning(
            "dashboard: npm packages %s are missing; run `npm ci --prefix %s` (make demo does)",
            ", ".join(missing),
            HERE,
        )
    for name, sub in VENDOR_PACKAGES.items():
        folder = NODE_MODULES / sub
        if folder.is_dir():
            app.mount(f"/vendor/{name}", _Hardened(StaticFiles(directory=folder)), name=name)
        else:
            app.add_api_route(
                f"/vendor/{name}/{{path:path}}",
                _not_installed,
                include_in_schema=False,
            )


def _not_installed(path: str) -> PlainTextResponse:
    return PlainTextResponse(
        f"the dashboard's npm packages are not installed (asked for {path}); run "
        f"`npm ci --prefix {HERE}` or `make demo`",
        status_code=503,
    )
