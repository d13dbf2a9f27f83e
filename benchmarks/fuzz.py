"""The long fuzz budget of issue 7, run by hand:

    /tmp/venv/bin/python benchmarks/fuzz.py --examples 100000            # both cores, ~5% catalogs
    /tmp/venv/bin/python benchmarks/fuzz.py --examples 2000 --minutes 5  # stop after 5 minutes
    /tmp/venv/bin/python benchmarks/fuzz.py --replay DIR                 # run one saved failure again

It draws cases from the strategies of tests/fuzz.py (the ones CI runs on a small budget in
tests/test_fuzz.py): hostile claims files, run through ``subsidy evaluate`` (and sometimes
``explain``) in-process, and hostile variants of catalogs/urban.toml, run through ``subsidy
check`` and ``subsidy evaluate examples/claims.csv``. Every case is checked as tests/fuzz.py says
(no traceback; exit 0, 1 or 2; rows = decisions + reported rows; no full resident id in any
output; CSV outputs that parse). Cases run in batches, each with its own seed, in ``--jobs``
processes; a failing case is not shrunk, it is saved as a reproducer (the input file, the command
and the problems) under ``--save`` and the run goes on. Prints the counts and exits 1 if any case
failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("SUBSIDY_DISABLE_PLUGIN_AUTOLOAD", "1")

BATCH = 250


def _batch(seed: int, examples: int, kind: str, save: str) -> dict[str, Any]:
    """Run ``examples`` cases of ``kind`` (claims or catalog) with ``seed``; counts and the
    failures (saved under ``save``)."""
    import fuzz
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    counts: collections.Counter[str] = collections.Counter()
    failures: list[dict[str, Any]] = []

    @with_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzz.catalog_cases() if kind == "catalog" else fuzz.claims_cases())
    def run(case: Any) -> None:
        folder = fuzz.scratch()
        try:
            got = fuzz.check_claims(case, folder) if kind == "claims" else fuzz.check_catalog(case, folder)
        except Exception as exc:  # the harness itself failed: a failure too
            got = fuzz.Outcome([f"harness: {type(exc).__name__}: {exc}"])
        counts[kind] += 1
        counts[f"{kind} exit {got.exit}"] += 1
        if got.problems:
            failures.append(_save(Path(save), seed, counts[kind], kind, case, got.problems, folder))
        shutil.rmtree(folder, ignore_errors=True)

    with fuzz.shared_engine():
        run()
    return {"counts": dict(counts), "failures": failures}


def _save(save: Path, seed: int, n: int, kind: str, case: Any, problems: list[str], folder: Path) -> dict[str, Any]:
    where = save / f"{seed}-{kind}-{n}"
    where.mkdir(parents=True, exist_ok=True)
    if kind == "claims":
        name = f"claims{case.suffix}"
        (where / name).write_bytes(case.data)
        args = ["evaluate", name, "--format", case.fmt, "--encoding", case.encoding, "--errors", "errors.csv"]
        args += ["--out", "decisions.out"] if case.out else []
        explain = case.explain
    else:
        if case.data is None:
            (where / "urban.toml").mkdir(exist_ok=True)
        else:
            (where / "urban.toml").write_bytes(case.data)
        args, explain = ["check"], None
    record = {"kind": kind, "seed": seed, "case": repr(case), "args": args, "explain": explain, "problems": problems}
    (where / "case.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"where": str(where), **record}


def replay(where: Path) -> int:
    """Run a saved case again and print its problems."""
    import fuzz

    record = json.loads((where / "case.json").read_text(encoding="utf-8"))
    if record["kind"] == "claims":
        args = record["args"]
        fmt, encoding = args[args.index("--format") + 1], args[args.index("--encoding") + 1]
        name = args[1]
        case = fuzz.ClaimsCase((where / name).read_bytes(), name[len("claims"):], encoding, fmt,
                               "--out" in args, record["explain"])
        got = fuzz.check_claims(case)
    else:
        toml = where / "urban.toml"
        got = fuzz.check_catalog(fuzz.CatalogCase(None if toml.is_dir() else toml.read_bytes()))
    print("\n".join(got.problems) or "passes now")
    return 1 if got.problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=100_000, help="cases to run (default 100000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: the cores)")
    ap.add_argument("--catalogs", type=float, default=0.05,
                    help="share of catalog cases: every 1/x-th batch (default 0.05: every 20th)")
    ap.add_argument("--seed", type=int, default=int(time.time()), help="first batch's seed (default: the time)")
    ap.add_argument("--minutes", type=float, default=None, help="start no new batch after this long")
    ap.add_argument("--save", type=Path, default=Path("/tmp/subsidy-fuzz-failures"),
                    help="where failing cases are saved (default /tmp/subsidy-fuzz-failures)")
    ap.add_argument("--replay", type=Path, help="run one saved case again")
    args = ap.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    began = time.monotonic()
    # Every k-th batch is one of catalogs (k = 1 / --catalogs), the others of claims files.
    every = round(1 / args.catalogs) if args.catalogs > 0 else 0
    batches = [(args.seed + i, min(BATCH, args.examples - i * BATCH), "catalog" if every and i % every == every - 1
                else "claims") for i in range((args.examples + BATCH - 1) // BATCH)]
    counts: collections.Counter[str] = collections.Counter()
    failures: list[dict[str, Any]] = []
    done = 0
    print(f"fuzz: {args.examples} cases in {len(batches)} batches of {BATCH}, {args.jobs} jobs, seeds from "
          f"{args.seed}, failures saved under {args.save}", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        pending = iter(batches)
        running = {}
        for seed, n, kind in itertools_take(pending, args.jobs * 2):
            running[pool.submit(_batch, seed, n, kind, str(args.save))] = seed
        while running:
            future = next(as_completed(running))
            seed = running.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the strategies or the harness failed: a failure of the run
                result = {"counts": {}, "failures": [{"where": f"batch {seed}", "case": "", "args": [],
                                                      "problems": [f"batch failed: {exc!r}"[:2000]]}]}
            counts.update(result["counts"])
            failures += result["failures"]
            done += 1
            elapsed = time.monotonic() - began
            print(f"  {counts['claims'] + counts['catalog']} cases ({counts['claims']} claims files, "
                  f"{counts['catalog']} catalogs), {len(failures)} failing, {elapsed / 60:.1f} min", flush=True)
            if args.minutes is None or elapsed < args.minutes * 60:
                for seed, n, kind in itertools_take(pending, 1):
                    running[pool.submit(_batch, seed, n, kind, str(args.save))] = seed
    elapsed = time.monotonic() - began
    total = counts["claims"] + counts["catalog"]
    print(f"\n{total} cases in {elapsed / 60:.1f} min ({total / max(elapsed, 1e-9):.0f} a second): "
          f"{counts['claims']} claims files, {counts['catalog']} catalogs")
    for key in sorted(k for k in counts if " exit " in k):
        print(f"  {key}: {counts[key]}")
    print(f"{len(failures)} failing")
    for f in failures[:20]:
        print(f"\n- {f['where']}\n  {f['case'][:400]}\n  subsidy {' '.join(f['args'])}")
        for p in f["problems"][:5]:
            print(f"  {p[:600]}")
        print(f"  replay: python benchmarks/fuzz.py --replay {f['where']}")
    return 1 if failures else 0


def itertools_take(it: Any, n: int) -> list[Any]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


if __name__ == "__main__":
    sys.exit(main())
