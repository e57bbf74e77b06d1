"""``silkguard import gtd|acled|csv|jsonl FILE``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from silkguard.auth import service as auth_service
from silkguard.cli.store import engine_for, settings, unit_of_work
from silkguard.core.db import analyze
from silkguard.core.errors import InvalidInput, RowError
from silkguard.core.tlp import TLP, parse_tlp
from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.mapped import load_mapping
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.incidents.vocab import IncidentStatus

__all__ = ["import_app", "run_import"]

import_app = typer.Typer(
    help="Import incidents from GTD, ACLED, native or mapped files.", no_args_is_help=True
)

FileArg = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]
SkipBad = Annotated[
    bool, typer.Option("--skip-bad", help="Import the good rows; write the bad ones to --rejects.")
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        help="With --skip-bad: CSV file listing every rejected row (default FILE.rejects.csv)."
    ),
]
SourceName = Annotated[
    str | None, typer.Option(help="Name of the source (default: per format, or the mapping's).")
]
Encoding = Annotated[
    str | None, typer.Option(help="Text encoding: utf-8, latin-1, cp1252 or auto.")
]
Tlp = Annotated[str, typer.Option(help="TLP 2.0 marking for rows that carry none.")]
Status = Annotated[IncidentStatus, typer.Option(help="Status of the new incidents.")]
Org = Annotated[
    str | None,
    typer.Option("--org", help="Slug of the organisation that owns the new incidents (TLP rules)."),
]
Country = Annotated[
    str, typer.Option(help="Import only rows of this country (GTD, ACLED); '' for all.")
]


def _write_rejects(path: Path, errors: list[RowError]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["line", "column", "value", "reason", "fix"])
        for e in errors:
            out.writerow([e.line, e.column or "", e.value or "", e.reason, e.fix])


def run_import(
    path: Path,
    fmt: ImportFormat,
    *,
    mapping_path: Path | None = None,
    skip_bad: bool = False,
    rejects: Path | None = None,
    source_name: str | None = None,
    encoding: str | None = None,
    tlp: TLP = TLP.GREEN,
    status: IncidentStatus = IncidentStatus.CONFIRMED,
    country: str = "Pakistan",
    org: str | None = None,
    quiet: bool = False,
) -> incidents_service.ImportReport:
    cfg = settings()
    if mapping_path is not None and fmt in (ImportFormat.GTD, ImportFormat.ACLED):
        msg = f"--map is for `import csv` and `import jsonl`; {fmt.value} files are read by header"
        raise InvalidInput(msg)
    mapping = load_mapping(mapping_path) if mapping_path else None
    show_bar = not quiet and sys.stderr.isatty()
    with unit_of_work(cfg) as session:
        org_id = auth_service.get_org_by_slug(session, slug=org).id if org else None
        plan = plan_import(
            path,
            fmt=fmt,
            mapping=mapping,
            source_name=source_name,
            encoding=encoding,
            default_tlp=tlp,
            country=country or None,
        )
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not show_bar,
            transient=True,
        ) as bar:
            task = bar.add_task(f"importing {path.name}", total=plan.stream.size_bytes)
            report = incidents_service.import_rows(
                session,
                plan=plan,
                org_id=org_id,
                skip_bad=skip_bad,
                status=status,
                window_days=cfg.dedup_window_days,
                radius_km=cfg.dedup_radius_km,
                on_progress=lambda done: bar.update(task, completed=done),
            )
    if report.new or report.merged or report.updated:
        analyze(engine_for(cfg.database_url))  # fresh statistics for the query planner
    if not quiet:
        typer.echo(
            f"imported {path} as source {plan.source_kind.value}:{plan.source_name}: "
            f"{report.summary_line()}"
        )
        if report.precision:
            parts = ", ".join(f"{k} {v}" for k, v in sorted(report.precision.items()))
            typer.echo(f"positions of new and merged rows by precision: {parts}")
    if report.errors:
        for err in report.errors[:20]:
            typer.echo(f"rejected {err.describe(str(path))}", err=True)
        target = rejects or path.with_name(path.name + ".rejects.csv")
        _write_rejects(target, report.errors)
        typer.echo(f"{len(report.errors)} problem(s) written to {target}", err=True)
    return report


def _command(fmt: ImportFormat) -> None:
    help_text = {
        ImportFormat.GTD: "Import a Global Terrorism Database CSV or XLSX file (latin-1 or UTF-8).",
        ImportFormat.ACLED: "Import an ACLED CSV export.",
        ImportFormat.CSV: "Import a native CSV/XLSX file, or any table with --map mapping.toml.",
        ImportFormat.JSONL: "Import a native JSON Lines file (one incident object per line).",
    }[fmt]

    def command(
        file: FileArg,
        map_file: Annotated[
            Path | None, typer.Option("--map", help="Column mapping (TOML); see docs/mappings.md.")
        ] = None,
        skip_bad: SkipBad = False,
        rejects: Rejects = None,
        source_name: SourceName = None,
        encoding: Encoding = None,
        tlp: Tlp = "GREEN",
        status: Status = IncidentStatus.CONFIRMED,
        country: Country = "Pakistan",
        org: Org = None,
    ) -> None:
        run_import(
            file,
            fmt,
            mapping_path=map_file,
            skip_bad=skip_bad,
            rejects=rejects,
            source_name=source_name,
            encoding=encoding,
            tlp=parse_tlp(tlp),
            status=status,
            country=country,
            org=org,
        )

    command.__doc__ = help_text
    import_app.command(fmt.value)(command)


for _fmt in ImportFormat:
    _command(_fmt)
