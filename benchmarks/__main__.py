"""Run every benchmark: ``python -m benchmarks [--rows N]`` (``make bench``)."""

from __future__ import annotations

import argparse

from benchmarks import api_load, import_gtd, intake_speed, risk_backtest, route_speed, sepp_speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="rows in the generated GTD file")
    parser.add_argument("--incidents", type=int, default=200_000, help="incidents for the API load")
    parser.add_argument(
        "--only",
        choices=["import", "api", "backtest", "sepp", "route", "intake"],
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
        api_load.run(rows=args.incidents, postgres=args.postgres or None)
    if args.only in (None, "backtest"):
        risk_backtest.run()
    if args.only in (None, "sepp"):
        sepp_speed.run()
    if args.only in (None, "route"):
        route_speed.run()
    if args.only in (None, "intake"):
        intake_speed.run()


if __name__ == "__main__":
    main()
