"""Run every benchmark: ``python -m benchmarks [--rows N]`` (``make bench``)."""

from __future__ import annotations

import argparse

from benchmarks import import_gtd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="rows in the generated GTD file")
    args = parser.parse_args()
    import_gtd.run(rows=args.rows)


if __name__ == "__main__":
    main()
