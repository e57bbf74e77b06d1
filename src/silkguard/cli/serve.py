"""``silkguard serve``: the API server (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from silkguard.cli.store import prepare_database, settings

__all__ = ["run_server", "serve_command"]


def run_server(host: str, port: int, workers: int, *, access_log: bool = False) -> None:
    import uvicorn

    prepare_database(settings())  # before the workers start, not once in each of them
    uvicorn.run(
        "silkguard.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,
    )


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (a reverse proxy usually does this).")
    ] = False,
) -> None:
    """Serve the REST API (docs at /api/v1/docs) on the configured database."""
    typer.echo(f"silkguard API on http://{host}:{port}/api/v1/docs (Ctrl+C to stop)")
    run_server(host, port, workers, access_log=access_log)
