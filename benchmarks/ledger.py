"""Ledger ingest against ``subsidy evaluate`` on the same file (issue 11: SQLite ≤ 3×, PostgreSQL ≤ 5×).

    python benchmarks/ledger.py                       # 1M claims, 3 rounds, SQLite only
    python benchmarks/ledger.py --pg postgresql://postgres@127.0.0.1:54329/subsidy_test
    python benchmarks/ledger.py --n 100000 --runs 5

Each round runs, one after the other (so that they share the machine's load): ``subsidy evaluate
FILE --format csv --out …``, then ``subsidy ledger ingest FILE --format csv --out …`` into a new
SQLite ledger and, with ``--pg``, into a new PostgreSQL schema (``upgrade`` is not timed). Whole
processes: wall time, and CPU time (user + system; for PostgreSQL the server's is not in it).
Printed: the median of each, the median of the per-round ratios.
The claims file is benchmarks/data/claims-N.csv from benchmarks/generate.py (made if missing).
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBSIDY = [sys.executable, "-c", "import sys; from jinhua_subsidy.cli import main; sys.exit(main())"]


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) of the process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: the file's few unreadable rows (generate.py spoils 0.1%)
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{base}?options=-csearch_path%3D{name}"


def drop_schema(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", metavar="URL", default=os.environ.get("SUBSIDY_BENCH_PG_URL"),
                    help="a PostgreSQL server to time too (a schema is made and dropped per round)")
    args = ap.parse_args(argv)
    data = HERE / "data" / f"claims-{args.n}.csv"
    if not data.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.n)], check=True)
    times: dict[str, list[tuple[float, float]]] = {"evaluate": [], "sqlite": [], "postgresql": []}
    tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        for r in range(args.runs):
            times["evaluate"].append(timed([*SUBSIDY, "evaluate", str(data), "--format", "csv",
                                            "--out", str(tmp / "evaluate.csv")]))
            db = tmp / f"ledger-{r}.db"
            subprocess.run([*SUBSIDY, "ledger", "--db", str(db), "upgrade"], check=True, capture_output=True)
            times["sqlite"].append(timed([*SUBSIDY, "ledger", "--db", str(db), "ingest", str(data), "--format", "csv",
                                          "--out", str(tmp / "ingest.csv")]))
            for f in tmp.glob(f"ledger-{r}.db*"):
                f.unlink()
            if args.pg:
                name, url = pg_schema(args.pg)
                try:
                    subprocess.run([*SUBSIDY, "ledger", "--db", url, "upgrade"], check=True, capture_output=True)
                    times["postgresql"].append(timed([*SUBSIDY, "ledger", "--db", url, "ingest", str(data),
                                                      "--format", "csv", "--out", str(tmp / "ingest.csv")]))
                finally:
                    drop_schema(args.pg, name)
            done = {k: f"{v[-1][0]:.2f}s wall, {v[-1][1]:.2f}s cpu" for k, v in times.items() if v}
            print(f"round {r + 1}: {done}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ev = times["evaluate"]
    print(f"{args.n} claims, {args.runs} rounds (whole process; CPU: user + system of the command itself)")
    print("| command | median wall | median ratio to evaluate (wall) | median CPU | median ratio (CPU) | target |")
    print("|---|---|---|---|---|---|")
    print(f"| subsidy evaluate --format csv --out | {statistics.median(t for t, _ in ev):.2f} s | 1 | "
          f"{statistics.median(c for _, c in ev):.2f} s | 1 | |")
    for key, target in (("sqlite", "≤ 3×"), ("postgresql", "≤ 5×")):
        if times[key]:
            wall = statistics.median(t / e for (t, _), (e, _) in zip(times[key], ev, strict=True))
            cpu = statistics.median(c / e for (_, c), (_, e) in zip(times[key], ev, strict=True))
            print(f"| subsidy ledger ingest ({key}) | {statistics.median(t for t, _ in times[key]):.2f} s | "
                  f"{wall:.2f}× | {statistics.median(c for _, c in times[key]):.2f} s | {cpu:.2f}× | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
