"""``silkguard intake extract|evaluate``: read free-text reports offline; score the extractor
on a labelled file."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.core.errors import InvalidInput
from silkguard.intake.evaluate import evaluate
from silkguard.intake.extract import extract

__all__ = ["intake_app"]

intake_app = typer.Typer(help="Free-text incident reports.", no_args_is_help=True)
_console = Console(width=140)


@intake_app.command("extract")
def extract_command(
    file: Annotated[str, typer.Argument(help="A text file, or - for standard input.")],
    report_date: Annotated[
        str | None, typer.Option("--date", help="Date of the report (YYYY-MM-DD; default today).")
    ] = None,
) -> None:
    """Print what the extractor reads in one report, as JSON."""
    text = sys.stdin.read() if file == "-" else _read(Path(file))
    try:
        day = date.fromisoformat(report_date) if report_date else date.today()  # noqa: DTZ011
    except ValueError:
        msg = f"--date {report_date!r} is not YYYY-MM-DD"
        raise InvalidInput(msg) from None
    typer.echo(json.dumps(extract(text, day).as_dict(), indent=1, ensure_ascii=False))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read it as UTF-8 text: {exc}"
        raise InvalidInput(msg) from exc


@intake_app.command("evaluate")
def evaluate_command(
    file: Annotated[
        Path, typer.Argument(help="Labelled JSON Lines (format of reports_dev.jsonl).")
    ],
) -> None:
    """Score the extractor per field on a labelled file and print a table."""
    result = evaluate(file)
    table = Table("field", "n", "score", "metric", title=f"{file.name}: {result.reports} reports")
    for name, n, score, metric in result.table():
        table.add_row(name, str(n), "-" if score is None else f"{score:.3f}", metric)
    _console.print(table)
