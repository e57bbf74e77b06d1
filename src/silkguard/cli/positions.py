"""``silkguard positions listen|purge``: the MQTT position listener and the retention purge."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from silkguard.cli.store import prepare_database, settings, unit_of_work
from silkguard.people.mqtt import DEFAULT_PREFIX, PositionListener
from silkguard.people.positions import purge_positions

__all__ = ["positions_app"]

positions_app = typer.Typer(
    help="Personal positions: MQTT ingest and retention.", no_args_is_help=True
)
_console = Console()


@positions_app.command("listen")
def listen_command(
    host: Annotated[str, typer.Option(help="MQTT broker host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="MQTT broker port.")] = 1883,
    prefix: Annotated[str, typer.Option(help="Topic prefix.")] = DEFAULT_PREFIX,
    client_id: Annotated[
        str, typer.Option(help="MQTT client id (the broker keeps this session's queue).")
    ] = "silkguard-positions",
    seconds: Annotated[
        float, typer.Option(help="Stop after this many seconds (0: run until interrupted).")
    ] = 0.0,
) -> None:
    """Store the positions devices publish on <prefix>/<org>/positions/<device> (QoS 1)."""
    listener = PositionListener(
        prepare_database(settings()), host=host, port=port, prefix=prefix, client_id=client_id
    )
    listener.start()
    _console.print(f"listening on {host}:{port} for {prefix}/+/positions/+ (Ctrl-C stops)")
    try:
        deadline = time.monotonic() + seconds if seconds > 0 else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    t = listener.totals
    _console.print(
        f"{t.messages} message(s): {t.accepted} stored, {t.duplicates} repeats, "
        f"{t.without_consent} without consent, {t.rejected} rejected (see position_rejects)"
    )


@positions_app.command("purge")
def purge_command() -> None:
    """Delete positions older than each organisation's retention (run daily); audited."""
    with unit_of_work() as session:
        deleted = purge_positions(session)
    total = sum(deleted.values())
    _console.print(
        f"{total} position(s) deleted: " + ", ".join(f"{k} {v}" for k, v in deleted.items())
    )
