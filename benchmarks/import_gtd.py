"""GTD-format import: silkguard's full import (validation, geocoding, H3, de-duplication,
provenance) against a plain pandas ``read_csv`` + ``to_sql`` of the same file, in the same run.

Each contender runs in its own process on a fresh SQLite file, so peak memory (max RSS) is its
own. Memory flatness is shown by importing a file a fifth the size: a streaming importer's peak
should barely change. Results: printed, and written to benchmarks/results/import_gtd.json."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"

_PANDAS = """
import sys, pandas as pd, sqlalchemy as sa
engine = sa.create_engine("sqlite:///" + sys.argv[2])
df = pd.read_csv(sys.argv[1], encoding="latin-1", low_memory=False)
df.to_sql("gtd", engine, index=False, chunksize=10_000)
print(len(df))
"""


def _generate(path: Path, rows: int) -> None:
    sys.path.insert(0, str(REPO))
    from tests.factories import gtd_columns, synthetic_gtd_events, write_gtd_csv

    if not (SHARED / "gtd_columns.txt").exists():
        msg = f"{SHARED}/gtd_columns.txt is missing: the benchmark needs ../shared beside the repo"
        raise SystemExit(msg)
    write_gtd_csv(path, synthetic_gtd_events(rows), gtd_columns(SHARED))


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB of the child, and its stdout."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "sys.stderr.write(p.stderr)\n"
        "print(f'{dt} {rss}'); print(p.stdout); sys.exit(p.returncode)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        msg = f"{cmd[0]} failed: {out.stderr[-2000:]}"
        raise SystemExit(msg)
    first, _, rest = out.stdout.partition("\n")
    seconds, rss = (float(x) for x in first.split())
    return seconds, rss, rest


def _silkguard(csv_path: Path, db: Path) -> tuple[float, float, str]:
    env = {
        **os.environ,
        "SILKGUARD_DATABASE_URL": f"sqlite:///{db}",
        "SILKGUARD_ENVIRONMENT": "test",
        "SILKGUARD_SECRET_KEY": secrets.token_urlsafe(48),
    }
    exe = str(Path(sys.executable).with_name("silkguard"))
    subprocess.run([exe, "db", "upgrade"], env=env, check=True, capture_output=True)
    return _timed([exe, "import", "gtd", str(csv_path)], env=env)


def run(rows: int) -> dict[str, object]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big, small = work / "gtd_big.csv", work / "gtd_small.csv"
        _generate(big, rows)
        _generate(small, max(rows // 5, 1))
        size_mb = big.stat().st_size / 2**20
        print(f"generated {rows} GTD-format rows ({size_mb:.0f} MiB)")
        pd_s, pd_rss, _ = _timed([sys.executable, "-c", _PANDAS, str(big), str(work / "pandas.db")])
        sg_s, sg_rss, sg_out = _silkguard(big, work / "sg.db")
        _, small_rss, _ = _silkguard(small, work / "sg_small.db")
    result: dict[str, object] = {
        "rows": rows,
        "file_mib": round(size_mb, 1),
        "pandas_seconds": round(pd_s, 2),
        "pandas_rows_per_s": round(rows / pd_s),
        "pandas_peak_rss_mib": round(pd_rss),
        "silkguard_seconds": round(sg_s, 2),
        "silkguard_rows_per_s": round(rows / sg_s),
        "silkguard_peak_rss_mib": round(sg_rss),
        "silkguard_small_file_rows": max(rows // 5, 1),
        "silkguard_small_peak_rss_mib": round(small_rss),
        "time_ratio_silkguard_over_pandas": round(sg_s / pd_s, 2),
        "memory_ratio_big_over_small_file": round(sg_rss / small_rss, 2),
        "goal_time_ratio_at_most": 3.0,
        "silkguard_summary": sg_out.strip(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
    }
    print(
        f"pandas read_csv+to_sql: {pd_s:8.1f} s  {rows / pd_s:10.0f} rows/s  peak {pd_rss:6.0f} MiB"
    )
    print(
        f"silkguard import gtd:   {sg_s:8.1f} s  {rows / sg_s:10.0f} rows/s  peak {sg_rss:6.0f} MiB"
    )
    print(f"time ratio silkguard/pandas: {sg_s / pd_s:.2f} (goal <= 3.0)")
    print(
        f"silkguard peak memory, {rows} vs {rows // 5} rows: {sg_rss:.0f} vs {small_rss:.0f} "
        f"MiB (ratio {sg_rss / small_rss:.2f})"
    )
    (RESULTS / "import_gtd.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS / 'import_gtd.json'}")
    return result
