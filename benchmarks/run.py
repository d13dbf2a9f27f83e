"""Benchmarks: median wall time and peak RSS over fresh processes, printed as a markdown table.

    python benchmarks/run.py                 # 5 runs each; generates benchmarks/data/ if missing
    python benchmarks/run.py --runs 3 --sizes 100000

Measured, each as a whole process (interpreter start-up included):

* ``subsidy evaluate`` of 100k and 1M generated claims (benchmarks/generate.py), CSV in,
  ``--format csv --out`` a file;
* ``subsidy --help`` (a fresh process each time);
* ``subsidy check`` over every installed catalog.

Peak RSS is the child's own maximum resident set (``os.wait4``), in MiB.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The issue's targets: wall seconds, and peak RSS in bytes (1 GB).
TARGETS = {"evaluate 1M": (3.0, 10**9), "evaluate 100k": (0.6, None), "--help": (0.3, None), "check": (1.0, None)}


def measure(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def claims(n: int) -> Path:
    path = HERE / "data" / f"claims-{n}.csv"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(n), "--out", str(path)], check=True)
    return path


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--subsidy", default=str(Path(sys.executable).with_name("subsidy")),
                    help="the subsidy executable (default: next to this Python)")
    args = ap.parse_args(argv)
    exe = args.subsidy
    cases: list[tuple[str, list[str], tuple[int, ...]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            # Exit 1: the generated files hold 0.1% unreadable rows, reported on stderr.
            cases.append((f"evaluate {label(n)}", [exe, "evaluate", str(claims(n)), "--format", "csv", "--out",
                                                   str(Path(tmp) / "decisions.csv")], (0, 1)))
        cases.append(("--help", [exe, "--help"], (0,)))
        cases.append(("check", [exe, "check"], (0,)))
        rows = []
        for name, cmd, ok in cases:
            runs = [measure(cmd, ok) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            target = TARGETS.get(name, (None, None))
            goal = ", ".join(filter(None, (f"≤ {target[0]} s" if target[0] else "",
                                           f"≤ {target[1] / 10**9:g} GB" if target[1] else "")))
            peak = max(r[1] for r in runs)
            met = (target[0] is None or wall <= target[0]) and (target[1] is None or peak <= target[1])
            rows.append(f"| `subsidy {' '.join(Path(c).name if '/' in c else c for c in cmd[1:])}` | "
                        f"{wall:.2f} s | {min(r[0] for r in runs):.2f}–{max(r[0] for r in runs):.2f} s | "
                        f"{rss / 2**20:.0f} MiB | {peak / 2**20:.0f} MiB | {goal} | {'yes' if met else 'NO'} |")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"median of {args.runs} runs each\n")
    print("| command | median wall | range | median peak RSS | max peak RSS | target | met |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
