"""``silkguard risk fit|forecast|backtest|explain|policy``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from silkguard.auth import service as auth_service
from silkguard.cli.store import unit_of_work
from silkguard.core.errors import InvalidInput
from silkguard.incidents.importers.pipeline import ImportFormat
from silkguard.people import service as people_service
from silkguard.risk import service as risk_service
from silkguard.risk.events import Events, days_to_datetime, to_days
from silkguard.risk.levels import LEVEL_NAMES, LevelReading
from silkguard.risk.registry import MODEL_NAMES

__all__ = ["parse_duration", "parse_params", "parse_when", "parse_years", "risk_app"]

risk_app = typer.Typer(help="Risk forecasts, backtests and threat levels.", no_args_is_help=True)
_console = Console(width=160)

ModelOpt = Annotated[str, typer.Option("--model", help=f"Risk model: {', '.join(MODEL_NAMES)}.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Model parameter NAME=VALUE (repeatable), e.g. trend=constant."),
]
OrgOpt = Annotated[
    str | None,
    typer.Option(
        "--org",
        help="Organisation slug: fit on what it sees (default: the community's CLEAR/GREEN).",
    ),
]


def parse_when(text: str | None, *, option: str) -> datetime:
    """A date or ISO datetime in UTC (``2024-03-26`` or ``2024-03-26T06:00:00Z``); now if None."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        msg = f"{option} {text!r} is not a date; use YYYY-MM-DD or an ISO datetime"
        raise InvalidInput(msg) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; values are read as JSON when they parse (numbers, true, null)."""
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            msg = f"--param {item!r} must be NAME=VALUE, e.g. --param trend=constant"
            raise InvalidInput(msg)
        try:
            out[name.strip()] = json.loads(raw)
        except ValueError:
            out[name.strip()] = raw
    return out


def _org_id(session: Any, slug: str | None) -> Any:
    return None if slug is None else auth_service.get_org_by_slug(session, slug=slug).id


def _level_text(level: int) -> str:
    colour = {1: "green", 2: "green", 3: "yellow", 4: "dark_orange", 5: "red", 6: "bold red"}
    return f"[{colour[level]}]{level} {LEVEL_NAMES[level]}[/]"


@risk_app.command("fit")
def fit_command(
    model: ModelOpt = "sepp",
    until: Annotated[str | None, typer.Option(help="Fit on incidents before this date.")] = None,
    org: OrgOpt = None,
    param: ParamOpt = None,
) -> None:
    """Fit a model and print its parameters (nothing is stored)."""
    with unit_of_work() as session:
        fitted, loaded = risk_service.fit_model(
            session,
            org_id=_org_id(session, org),
            model=model,
            params=parse_params(param),
            until=parse_when(until, option="--until"),
        )
    table = Table(
        "parameter", "value", title=f"{fitted.name} fitted on {len(loaded.events)} events"
    )
    for key, value in fitted.describe().items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    _console.print(table)


@risk_app.command("forecast")
def forecast_command(
    model: ModelOpt = "sepp",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Forecast from this date (default: now).")
    ] = None,
    horizon_days: Annotated[
        int | None, typer.Option(min=1, max=366, help="Days ahead (default: the policy's, 30).")
    ] = None,
    org: OrgOpt = None,
    param: ParamOpt = None,
    geojson: Annotated[
        Path | None, typer.Option(help="Also write the cells at level 3 or more as GeoJSON.")
    ] = None,
) -> None:
    """Fit, forecast, store the surface and the levels of every district and site."""
    with unit_of_work() as session:
        outcome = risk_service.run_forecast(
            session,
            org_id=_org_id(session, org),
            model=model,
            params=parse_params(param),
            as_of=parse_when(as_of, option="--as-of"),
            horizon_days=horizon_days,
            actor="cli",
        )
        run = outcome.run
        if geojson is not None:
            collection = risk_service.surface_geojson(session, run=run, min_level=3)
            geojson.write_text(json.dumps(collection), encoding="utf-8")
        _console.print(
            f"forecast {run.id} ({run.model_version}, TLP:{run.tlp}): {run.n_events} incidents "
            f"up to {run.trained_until:%Y-%m-%d}, horizon {run.horizon_start:%Y-%m-%d} to "
            f"{run.horizon_end:%Y-%m-%d}"
        )
        districts = sorted(
            (r for r in outcome.levels if r.subject_kind == "district"),
            key=lambda r: (-r.level, -float(r.details.get("ratio_corridor", 0.0))),
        )
        table = Table("district", "level", "reason", title="Highest district levels")
        for record in districts[:10]:
            table.add_row(record.subject_name, _level_text(record.level), record.reason)
        _console.print(table)
        sites = [r for r in outcome.levels if r.subject_kind == "site"]
        if sites:
            table = Table("site", "level", "reason", title="Sites")
            for record in sorted(sites, key=lambda r: (-r.level, r.subject_name)):
                table.add_row(record.subject_name, _level_text(record.level), record.reason)
            _console.print(table)
        for change in outcome.changes:
            _console.print(
                f"level change: {change.subject_name} {change.old_level or '-'} -> "
                f"{change.new_level}"
            )


_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, option: str) -> timedelta:
    """``30m``, ``6h`` or ``1d``."""
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    try:
        seconds = float(value) * _DURATION_UNITS[unit]
    except (KeyError, ValueError):
        msg = f"{option} {text!r} is not a duration; use minutes, hours or days, e.g. 6h or 1d"
        raise InvalidInput(msg) from None
    if seconds < 60:
        msg = f"{option} {text!r} is shorter than a minute; use e.g. 30m"
        raise InvalidInput(msg)
    return timedelta(seconds=seconds)


@risk_app.command("refresh")
def refresh_command(
    model: ModelOpt = "sepp",
    every: Annotated[
        str, typer.Option(help="Refresh when the newest forecast is older than this (6h, 1d).")
    ] = "6h",
    org: Annotated[
        list[str] | None,
        typer.Option("--org", help="Also refresh this organisation's own forecast (repeatable)."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Check once and exit (for cron); default: keep running.")
    ] = False,
) -> None:
    """The scheduled forecast refresh: re-fits and stores a forecast for the community (and the
    given organisations) whenever the newest one is older than --every."""
    max_age = parse_duration(every, option="--every")
    while True:
        for slug in [None, *(org or [])]:
            with unit_of_work() as session:
                org_id = _org_id(session, slug)
                now = datetime.now(UTC)
                if not risk_service.refresh_due(
                    session, org_id=org_id, model=model, max_age=max_age, now=now
                ):
                    _console.print(f"{slug or 'community'}: forecast is fresh, nothing to do")
                    continue
                outcome = risk_service.run_forecast(
                    session, org_id=org_id, model=model, as_of=now, actor="refresh"
                )
                _console.print(
                    f"{slug or 'community'}: forecast {outcome.run.id} stored "
                    f"({outcome.run.n_events} incidents, {len(outcome.changes)} level changes)"
                )
        if once:
            return
        time.sleep(min(max_age.total_seconds(), 3600.0))


def parse_years(text: str) -> list[int]:
    """``2012-2015`` or ``2012,2014`` or ``2013``."""
    try:
        if "-" in text:
            first, last = (int(v) for v in text.split("-", 1))
            years = list(range(first, last + 1))
        else:
            years = [int(v) for v in text.split(",")]
    except ValueError:
        years = []
    if not years or any(not 1900 <= y <= 2200 for y in years):
        msg = f"--held-out {text!r} must be years like 2012-2015 or 2012,2014"
        raise InvalidInput(msg)
    return years


def _format_of(path: Path, fmt: str | None) -> ImportFormat:
    if fmt is not None:
        try:
            return ImportFormat(fmt.lower())
        except ValueError:
            accepted = ", ".join(f.value for f in ImportFormat)
            msg = f"--format {fmt!r} is not known; use one of {accepted}"
            raise InvalidInput(msg) from None
    return ImportFormat.JSONL if path.suffix.lower() in (".jsonl", ".ndjson") else ImportFormat.CSV


def _backtest_events(
    file: Path | None, fmt: str | None, mapping: str | None, country: str, org: str | None
) -> tuple[Events, str]:
    """The events to score, from a file or from the store, and a label of where they came from."""
    from silkguard.risk.sources import events_from_file

    if file is not None:
        loaded = events_from_file(
            file, fmt=_format_of(file, fmt), mapping=mapping, country=country or None
        )
        _console.print(
            f"{file.name}: {loaded.rows} rows, {len(loaded.events)} usable events; left out "
            f"{loaded.imprecise_rows} imprecise, {loaded.bad_rows} bad, "
            f"{loaded.filtered_rows} of other countries"
        )
        events, source = loaded.events, str(file)
    else:
        with unit_of_work() as session:
            from_store = risk_service.load_events(session, org_id=_org_id(session, org))
        _console.print(
            f"store: {len(from_store.events)} usable incidents "
            f"({from_store.skipped_imprecise} imprecise left out)"
        )
        events, source = from_store.events, f"store ({org or 'community'})"
    if len(events) < risk_service.MIN_EVENTS:
        msg = (
            f"only {len(events)} usable events in {source}; a backtest needs at least "
            f"{risk_service.MIN_EVENTS} located to a place and dated to the day"
        )
        raise InvalidInput(msg)
    return events, source


@risk_app.command("backtest")
def backtest_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Score on this incident file (GTD, ACLED, native, or any table with --map) "
            "instead of the store.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="gtd, acled, csv or jsonl (default: by file suffix)."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--map", help="Column mapping: a TOML file or a shipped mapping's name."),
    ] = None,
    country: Annotated[
        str, typer.Option(help="GTD/ACLED rows of this country ('' for all).")
    ] = "Pakistan",
    held_out: Annotated[
        str, typer.Option("--held-out", help="Years to forecast, e.g. 2012-2015.")
    ] = "2012-2015",
    period: Annotated[
        list[str] | None, typer.Option("--period", help="week and/or month (repeatable).")
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model", help=f"Models to score (repeatable; default all of {MODEL_NAMES})."
        ),
    ] = None,
    resolution: Annotated[int, typer.Option(min=3, max=7, help="H3 resolution.")] = 6,
    seed: Annotated[int, typer.Option(help="Seed for stochastic fits.")] = 0,
    refit_days: Annotated[
        float, typer.Option(help="Reuse a fit for this many days (0: refit every window).")
    ] = 0.0,
    org: OrgOpt = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full result as JSON here.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the hit rate vs area plot (PNG) here.")
    ] = None,
    store: Annotated[
        bool, typer.Option(help="Keep the result in the store (GET /api/v1/risk/backtests).")
    ] = True,
) -> None:
    """Rolling-origin backtest: for every week/month of the held-out years, fit each model on
    everything before it, forecast it and score the forecast (hit rate and PAI at 1/5/10 % of
    the area, Poisson log score, calibration)."""
    from rich.progress import Progress

    from silkguard.risk.backtest import backtest, render_table
    from silkguard.risk.grid import Grid
    from silkguard.risk.plots import hit_rate_curve
    from silkguard.risk.registry import make_forecaster

    years = parse_years(held_out)
    periods = list(dict.fromkeys(p.lower() for p in (period or ["week", "month"])))
    bad = [p for p in periods if p not in ("week", "month")]
    if bad:
        msg = f"--period {bad[0]!r} is not known; use week or month"
        raise InvalidInput(msg)
    names = list(dict.fromkeys(m.lower() for m in (models or list(MODEL_NAMES))))
    forecasters = {name: make_forecaster(name) for name in names}
    events, source = _backtest_events(file, fmt, mapping, country, org)
    start = to_days(datetime(years[0], 1, 1, tzinfo=UTC))
    end = to_days(datetime(years[-1] + 1, 1, 1, tzinfo=UTC))
    before, within = len(events.before(start)), len(events.between(start, end))
    if before < risk_service.MIN_EVENTS or within == 0:
        first, last = days_to_datetime(events.t[0]), days_to_datetime(events.t[-1])
        msg = (
            f"{source} has {before} usable events before {years[0]} and {within} in "
            f"{years[0]}-{years[-1]}; the models train on at least {risk_service.MIN_EVENTS} "
            f"earlier events and are scored on the held-out years: choose --held-out years "
            f"within {first:%Y}-{last:%Y} after the first few"
        )
        raise InvalidInput(msg)
    grid = Grid.pakistan(resolution)
    if (grid.locate(events.lat, events.lon) < 0).mean() > 0.5:
        # most events lie outside Pakistan: score on the cells around the events instead
        grid = Grid.around(events.lat, events.lon, resolution)
    with Progress(console=_console, transient=True) as bar:
        tasks: dict[tuple[str, str], Any] = {}

        def progress(model: str, per: str, done: int, total: int) -> None:
            key = (model, per)
            if key not in tasks:
                tasks[key] = bar.add_task(f"{model} {per}", total=total)
            bar.update(tasks[key], completed=done)

        try:
            result = backtest(
                events,
                forecasters,
                grid,
                held_out_years=years,
                periods=periods,  # type: ignore[arg-type]
                seed=seed,
                refit_days=refit_days,
                progress=progress,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    title = f"Backtest on {source}, held-out {years[0]}-{years[-1]}"
    _console.print(render_table(result, title=title))
    data = result.to_dict()
    if json_out is not None:
        json_out.write_text(json.dumps(data, indent=1), encoding="utf-8")
        _console.print(f"JSON: {json_out}")
    if plot is not None:
        hit_rate_curve(result, plot, title=title)
        _console.print(f"plot: {plot}")
    if store:
        with unit_of_work() as session:
            stored = risk_service.store_backtest(
                session,
                org_id=_org_id(session, org) if file is None else None,
                config={"source": source, "models": names, "periods": periods, "years": years},
                result=data,
                n_events=len(events),
                actor="cli",
            )
            _console.print(f"stored as backtest {stored.id}")


#: Diagnostics left out of `risk explain`'s one-line model summary (shown by `risk fit`).
_EXPLAIN_HIDDEN = frozenset(
    {"trained_from", "trained_until", "log_likelihood", "fit_seconds", "n_pairs", "iterations"}
)


def _show_reading(title: str, reading: LevelReading) -> None:
    _console.print(f"[bold]{title}[/]: {_level_text(reading.level)}")
    _console.print(f"  {reading.reason}")


@risk_app.command("explain")
def explain_command(
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Site slug or id (repeatable).")
    ] = None,
    district: Annotated[str | None, typer.Option(help="District name, e.g. Gwadar.")] = None,
    point: Annotated[str | None, typer.Option(help="A place as LAT,LON, e.g. 25.12,62.33.")] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Forecast id (default: the latest).")
    ] = None,
) -> None:
    """Threat levels and their reasons: every site by default, or the given places."""
    import uuid

    from silkguard.geo.gazetteer import load_gazetteer

    with unit_of_work() as session:
        run = (
            risk_service.get_run(session, principal=None, run_id=uuid.UUID(run_id))
            if run_id
            else risk_service.latest_run(session, principal=None)
        )
        params = run.params
        _console.print(
            f"forecast {run.id}: {run.model_version}, trained on {run.n_events} incidents "
            f"{run.trained_from:%Y-%m-%d} to {run.trained_until:%Y-%m-%d}; horizon "
            f"{run.horizon_start:%Y-%m-%d} to {run.horizon_end:%Y-%m-%d}"
        )
        flat = {**params, **params.get("params", {})}
        summary = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in flat.items()
            if not isinstance(v, dict | list) and k not in _EXPLAIN_HIDDEN
        )
        _console.print(f"  model: {summary}")
        if point:
            try:
                lat_s, lon_s = point.split(",")
                lat, lon = float(lat_s), float(lon_s)
            except ValueError:
                msg = f"--point {point!r} must be LAT,LON in decimal degrees, e.g. 25.12,62.33"
                raise InvalidInput(msg) from None
            reading = risk_service.level_at_point(session, run=run, lat=lat, lon=lon)
            _show_reading(f"{lat:.4f},{lon:.4f}", reading)
        if district:
            gaz = load_gazetteer()
            found = gaz.normalize_district(district)
            if found is None:
                msg = f"district {district!r} is not in the gazetteer; check the spelling"
                raise InvalidInput(msg)
            name, province = found
            reading = risk_service.level_for_district(
                session, run=run, province=province, district=name
            )
            _show_reading(f"{name} district ({province})", reading)
        if site:
            for ref in site:
                found_site = people_service.resolve_site(session, ref=ref)
                reading = risk_service.level_for_site(session, run=run, site=found_site)
                _show_reading(found_site.name, reading)
        if not (point or district or site):
            for found_site, reading in risk_service.site_levels(session, run=run, principal=None):
                _show_reading(found_site.name, reading)
