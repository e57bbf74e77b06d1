"""Run every benchmark: ``python -m benchmarks [--rows N]`` (``make bench``)."""

from __future__ import annotations

import argparse

from benchmarks import api_load, import_gtd, risk_backtest, route_speed, sepp_speed, stix_speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="rows in the generated GTD file")
    parser.add_argument(
        "--incidents",
        type=int,
        default=None,
        help="incidents for the API load (default 200,000) and the STIX benchmark (100,000)",
    )
    parser.add_argument(
        "--only",
        choices=["import", "api", "backtest", "sepp", "route", "stix"],
        help="run one benchmark",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL for the API benchmark ('' to skip)",
    )
    args = parser.parse_args()
    if args.only in (None, "import"):
        import_gtd.run(rows=args.rows)
    if args.only in (None, "api"):
        api_load.run(rows=args.incidents or 200_000, postgres=args.postgres or None)
    if args.only in (None, "backtest"):
        risk_backtest.run()
    if args.only in (None, "sepp"):
        sepp_speed.run()
    if args.only in (None, "route"):
        route_speed.run()
    if args.only in (None, "stix"):
        stix_speed.run(incidents=args.incidents or stix_speed.INCIDENTS)


if __name__ == "__main__":
    main()
