"""Run every benchmark: ``python -m benchmarks [--rows N]`` (``make bench``), or one with
``--only NAME``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from benchmarks import (
    alert_end_to_end,
    api_load,
    fanout_speed,
    fanout_store,
    import_gtd,
    intake_speed,
    jobs_throughput,
    positions_ingest,
    protection_speed,
    risk_backtest,
    route_speed,
    sepp_speed,
    stix_speed,
    taxii_page,
    webhook_delivery,
)

# name -> how to run it with the parsed arguments, in the order a full run takes them
BENCHMARKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "import": lambda a: import_gtd.run(rows=a.rows),
    "api": lambda a: api_load.run(
        rows=a.incidents or 200_000, postgres=a.postgres or None, baseline_src=a.baseline_src
    ),
    "backtest": lambda _a: risk_backtest.run(),
    "sepp": lambda _a: sepp_speed.run(),
    "route": lambda a: route_speed.run(graphs=tuple(a.route_graphs.split(","))),
    "webhook": lambda _a: webhook_delivery.run(),
    "alert_e2e": lambda a: alert_end_to_end.run(postgres=a.postgres or None),
    "fanout": lambda _a: fanout_speed.run(),
    "fanout_store": lambda _a: fanout_store.run(),
    "positions": lambda a: positions_ingest.run(postgres=a.postgres or None),
    "jobs": lambda _a: jobs_throughput.run(),
    "protection": lambda _a: protection_speed.run(),
    "intake": lambda _a: intake_speed.run(),
    "stix": lambda a: stix_speed.run(incidents=a.incidents or stix_speed.INCIDENTS),
    "taxii": lambda a: taxii_page.run(
        incidents=a.incidents or taxii_page.INCIDENTS, postgres=a.postgres or None
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="rows in the generated GTD file")
    parser.add_argument(
        "--incidents",
        type=int,
        default=None,
        help=(
            "incidents for the API load (default 200,000), the STIX benchmark (100,000) "
            "and the TAXII pages (20,000)"
        ),
    )
    parser.add_argument("--only", choices=list(BENCHMARKS), help="run one benchmark")
    parser.add_argument(
        "--route-graphs",
        default=",".join(route_speed.BIG_GRAPHS),
        help="route: the big graphs to measure, comma-separated (default: all)",
    )
    parser.add_argument(
        "--baseline-src",
        default=None,
        help="API load: also serve the code of this src directory (another checkout) on the "
        "same data in the same run, for a before/after comparison",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL for the API, positions and TAXII benchmarks ('' to skip)",
    )
    args = parser.parse_args()
    for name, run in BENCHMARKS.items():
        if args.only in (None, name):
            run(args)


if __name__ == "__main__":
    main()
