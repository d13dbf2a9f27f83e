"""The speed target of issue 10: ``compare claims`` on N claims over R regions takes at most 1.5×
what ``evaluate`` takes on a file of the N × R moved claims.

    python benchmarks/compare.py                    # N = 100k, R = 11 (every region of annex 1), 5 runs
    python benchmarks/compare.py --n 20000 --runs 3

Both are measured as whole processes (interpreter start-up included), median of the runs:

* ``subsidy compare claims claims-N.csv --format csv --out …`` over the R regions;
* ``subsidy evaluate moved-N-R.csv --format csv --out …``, where the file holds every claim moved
  to each region by the counterfactual rule (jinhua_subsidy.counterfactual.move), claim ids made
  unique per copy. The five regions without a catalog make their copies row errors, as they would
  in any evaluate run; a second line measures against the N × 6 copies of the served regions
  only, the stricter comparison.

The generated files go under benchmarks/data/ (not committed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}")
    return wall


def moved_file(claims: Path, regions: list[str], out: Path) -> Path:
    from jinhua_subsidy.counterfactual import move
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import get_plugin_manager

    if out.exists():
        return out
    engine = Engine(get_plugin_manager(autoload=False))
    df = pl.read_csv(claims, infer_schema=False)
    copies = []
    for r in regions:
        moved, _ = move(engine, df, r)
        copies.append(moved.with_columns(pl.concat_str([pl.col("claim_id"), pl.lit(f"@{r}")]).alias("claim_id")))
    pl.concat(copies).write_csv(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--subsidy", default=str(Path(sys.executable).with_name("subsidy")))
    args = ap.parse_args(argv)
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import get_plugin_manager

    engine = Engine(get_plugin_manager(autoload=False))
    regions = list(engine.rulebook.regions)
    served = engine.rulebook.served()
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    claims = data / f"claims-{args.n}.csv"
    if not claims.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.n), "--out", str(claims)], check=True)
    all_r = moved_file(claims, regions, data / f"moved-{args.n}-{len(regions)}.csv")
    six = moved_file(claims, served, data / f"moved-{args.n}-{len(served)}.csv")
    out = data / "bench-out.csv"
    exe = args.subsidy
    cases = {
        f"compare claims N={args.n} R={len(regions)}": [exe, "compare", "claims", str(claims), "--format", "csv",
                                                       "--out", str(out)],
        f"evaluate N×R = {args.n * len(regions)}": [exe, "evaluate", str(all_r), "--format", "csv", "--out", str(out)],
        f"evaluate N×{len(served)} (served only) = {args.n * len(served)}": [exe, "evaluate", str(six), "--format",
                                                                           "csv", "--out", str(out)],
    }
    medians = {}
    print("| command | median wall | range |")
    print("|---|---|---|")
    for name, cmd in cases.items():
        runs = [timed(cmd) for _ in range(args.runs)]
        medians[name] = statistics.median(runs)
        print(f"| `{name}` | {medians[name]:.2f} s | {min(runs):.2f}–{max(runs):.2f} s |")
    names = list(cases)
    print()
    for other in names[1:]:
        ratio = medians[names[0]] / medians[other]
        print(f"compare / ({other}): {ratio:.2f} (target ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
