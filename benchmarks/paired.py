"""Paired runs against the yardsticks: ours and the numpy limit in turn (A B A B …) on the same claims.

    python benchmarks/paired.py --n 1000000 --runs 5
    python benchmarks/paired.py --n 100000 --no-openfisca

The yardsticks are the peer scripts of /work/shared/bench/peer (see its README.md), run with their own
venv (``--peer-python``, default /tmp/peer-venv/bin/python). Their generator and loaders read and write
``data/`` next to the scripts, so they are run from a writable copy (``--peer-work``, default /tmp/peer);
the peer folder itself is only read.

The same claims for both: the peer's ``gen_claims.py --n N`` file (deterministic), converted once to our
claims contract (docs/claims.md) into benchmarks/data/peer-claims-N.csv (git-ignored):

* ``person_id`` ``P00001234`` → a valid 18-digit resident id (GB 11643 check digit), one per peer person;
* ``region`` 330702 → wucheng, 330703 → jindong; ``hukou`` = wucheng (every claim eligible, R1);
* ``date`` as given, except 2020-01-01…06 → 2020-01-07: no catalog of ours covers a day before the plan
  was issued (about 0.5% of the claims; the calendar year, which R18 counts by, is unchanged);
* ``occupation`` (qualification claims): the peer's 30 shortage codes go round-robin onto the 8 codes of
  our urban shortage list, its 170 other codes one-to-one onto codes of catalogs/occupations.toml that are
  on no shortage list, so a claim is a shortage claim (R7) in ours exactly when it is in the peer's;
* ``level`` 1–5/S is the same in both; ``project_code`` ``P-<claim_id>`` (unique, so R19 bites no project
  claim), ``passed`` = true, ``organizer_level`` = city for departments and colleges, ``employer_region``
  = the claim's region; ``employer_tags`` from the ``trade_friction`` / ``key_manufacturing`` flags;
* the peer's columns a kind does not use (0 or empty) are left empty.

Each round runs, each as a whole fresh process, wall time around the subprocess and peak RSS from
``os.wait4``: A = ``subsidy evaluate OURS --format csv --out …`` (every rule, R18–R20 included),
B = ``limit_numpy.py --n N --loader pyarrow --csv PEER``, then (``--openfisca``) C = ``bench_openfisca.py
--n N --variant idiomatic --csv PEER``. The ratios are medians of the per-round ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
REGIONS = {"330702": "wucheng", "330703": "jindong"}
FIRST_DAY = "2020-01-07"  # our catalogs start on the day the plan was issued
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
TARGETS = {("ours", "numpy"): ("≤", 2.0), ("openfisca", "ours"): ("≥", 5.0)}  # issue 6 §5


def measure(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, int, str, str]:
    """Wall seconds, peak RSS (bytes), exit status, stdout and stderr of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss * 1024, proc.returncode, out.read().decode(), err.read().decode()


def peer_copy(src: Path, work: Path) -> Path:
    """The peer scripts in a writable folder (their data/ is written next to them)."""
    if work.resolve() == src.resolve():
        return work
    work.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.py"):
        dst = work / f.name
        if not dst.exists() or dst.read_bytes() != f.read_bytes():
            dst.unlink(missing_ok=True)
            shutil.copyfile(f, dst)
    return work


def package_dir(subsidy: str, module: str) -> Path:
    """Where ``module`` lives for the Python the ``subsidy`` executable runs (its shebang)."""
    python = Path(subsidy).read_text().splitlines()[0].removeprefix("#!").strip()
    return Path(subprocess.run([python, "-c", f"import {module} as m; print(m.__path__[0])"],
                               capture_output=True, text=True, check=True).stdout.strip())


def occupation_map(peer_codes: list[str], peer_short: set[str], cats: Path) -> dict[str, str]:
    """Peer occupation code → a code of our vocabulary, keeping shortage membership (R7)."""
    vocab = [o["code"] for o in tomllib.loads((cats / "occupations.toml").read_text())["occupations"]]
    listed = {c for f in cats.glob("*.toml") for s in tomllib.loads(f.read_text()).get("shortage", [])
              for c in s["occupations"]}
    short = [c for s in tomllib.loads((cats / "urban.toml").read_text())["shortage"] for c in s["occupations"]]
    plain = [c for c in vocab if c not in listed]
    theirs_short = sorted(c for c in peer_codes if c in peer_short)
    theirs_plain = sorted(c for c in peer_codes if c not in peer_short)
    if len(theirs_plain) > len(plain):
        raise SystemExit(f"{len(theirs_plain)} peer occupations, only {len(plain)} of ours off every shortage list")
    mapping = {c: short[i % len(short)] for i, c in enumerate(theirs_short)}
    mapping.update(zip(theirs_plain, plain[: len(theirs_plain)], strict=True))
    return mapping


def convert(peer_csv: Path, occ: dict[str, str], out: Path) -> None:
    df = pl.read_csv(peer_csv, infer_schema=False)
    k = pl.col("person_id").str.slice(1).cast(pl.Int64)
    birth = (pl.lit(dt.date(1960, 1, 1)) + pl.duration(days=k % 16000)).dt.strftime("%Y%m%d")
    first17 = pl.concat_str(pl.lit("330702"), birth, (k // 16000 % 1000).cast(pl.String).str.zfill(3))
    check = pl.sum_horizontal(first17.str.slice(i, 1).cast(pl.Int64) * w for i, w in enumerate(WEIGHTS)) % 11
    q, p, a = (pl.col("kind") == k_ for k_ in ("qualification", "project", "apprenticeship"))
    null = pl.lit(None, dtype=pl.String)

    def only(mask: pl.Expr, value: pl.Expr | str) -> pl.Expr:
        return pl.when(mask).then(value).otherwise(null)

    tags = pl.concat_str(only(pl.col("trade_friction") == "1", pl.lit("trade_friction")),
                         only(pl.col("key_manufacturing") == "1", pl.lit("key_manufacturing")),
                         separator=";", ignore_nulls=True)
    df = df.select(
        "claim_id",
        person_id=first17 + check.replace_strict(dict(enumerate("10X98765432")), return_dtype=pl.String),
        region=pl.col("region").replace_strict(REGIONS),
        kind="kind",
        date=pl.when(pl.col("date") < FIRST_DAY).then(pl.lit(FIRST_DAY)).otherwise(pl.col("date")),
        occupation=only(q, pl.col("occupation").replace_strict(occ)),
        level=only(q, pl.col("level")),
        project_code=only(p, "P-" + pl.col("claim_id")),
        organizer=only(p, pl.col("organizer")),
        organizer_level=only(p & pl.col("organizer").is_in(["department", "college"]), pl.lit("city")),
        hours=only(p, pl.col("hours")),
        passed=only(p, pl.lit("true")),
        review=only(p, pl.when(pl.col("review") == "1").then(pl.lit("true")).otherwise(pl.lit("false"))),
        employer_tags=pl.when(tags == "").then(null).otherwise(tags),
        employer_region=only(p | a, pl.col("region").replace_strict(REGIONS)),
        apprentice=only(a, pl.col("apprentice")),
        cost=only(a, pl.col("cost")),
        hukou=pl.lit("wucheng"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    df.write_csv(out)


def core_commit(subsidy: str) -> str:
    """The commit of the core the ``subsidy`` executable runs, if it runs from a git checkout."""
    where = package_dir(subsidy, "jinhua_subsidy")
    git = ["git", "-C", str(where)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return f"{where} (not a git checkout)"
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True, text=True).stdout
    return head.stdout.strip() + (" + uncommitted changes in core/" if dirty.strip() else " (core/ clean)")


def peer_result(stdout: str, n: int) -> dict[str, Any]:
    rec: dict[str, Any] = json.loads([line for line in stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    if rec["n"] != n:
        raise SystemExit(f"peer evaluated {rec['n']} claims, not {n}")
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peer-python", default="/tmp/peer-venv/bin/python")
    ap.add_argument("--peer-dir", type=Path, default=Path("/work/shared/bench/peer"), help="the peer scripts (read)")
    ap.add_argument("--peer-work", type=Path, default=Path("/tmp/peer"), help="writable copy the peer scripts run from")
    ap.add_argument("--subsidy", default=str(Path(sys.executable).with_name("subsidy")))
    ap.add_argument("--openfisca", action=argparse.BooleanOptionalAction, default=True,
                    help="also run OpenFisca idiomatic in every round (about 12 s at 1M)")
    args = ap.parse_args(argv)
    n, sub = args.n, args.subsidy

    peer = peer_copy(args.peer_dir, args.peer_work)
    peer_csv, shortage = peer / "data" / f"claims_{n}.csv", peer / "data" / "shortage_occupations.txt"
    if not peer_csv.exists() or not shortage.exists():
        subprocess.run([args.peer_python, "gen_claims.py", "--n", str(n)], cwd=peer, check=True)
    # Converted once and reused, unless the peer file or the measured vocabulary changed.
    ours_csv, meta = HERE / "data" / f"peer-claims-{n}.csv", HERE / "data" / f"peer-claims-{n}.json"
    occ = occupation_map(pl.read_csv(peer_csv, columns=["occupation"])["occupation"].unique().to_list(),
                         set(shortage.read_text().split()), package_dir(sub, "jinhua_subsidy.catalogs"))
    stamp = json.dumps({"peer_csv": [str(peer_csv), peer_csv.stat().st_size, peer_csv.stat().st_mtime],
                        "occupations": occ}, sort_keys=True)
    if not ours_csv.exists() or not meta.exists() or meta.read_text() != stamp:
        convert(peer_csv, occ, ours_csv)
        meta.write_text(stamp)
        print(f"{ours_csv}: converted from {peer_csv}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        decisions, errors = Path(tmp) / "decisions.csv", Path(tmp) / "errors.csv"
        # Once, untimed: the converted file must have no unreadable rows.
        _, _, code, _, err = measure([sub, "evaluate", str(ours_csv), "--format", "csv", "--out", str(decisions),
                                      "--errors", str(errors)])
        if code not in (0, 1) or not errors.exists():
            raise SystemExit(f"subsidy evaluate exited {code}:\n{err[-2000:]}")
        bad = pl.read_csv(errors, infer_schema=False)
        if bad.height:
            raise SystemExit(f"{bad.height} row errors in {ours_csv}, first ones:\n{bad.head(5)}")
        paid = pl.read_csv(decisions, infer_schema=False).filter(pl.col("eligible") == "true")
        ours_total = paid["amount"].cast(pl.Decimal(18, 2)).sum()

        cmds = {
            "ours": [sub, "evaluate", str(ours_csv), "--format", "csv", "--out", str(decisions)],
            "numpy": [args.peer_python, "limit_numpy.py", "--n", str(n), "--loader", "pyarrow", "--csv", str(peer_csv)],
        }
        if args.openfisca:
            cmds["openfisca"] = [args.peer_python, "bench_openfisca.py", "--n", str(n), "--variant", "idiomatic",
                                 "--csv", str(peer_csv)]
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in cmds}
        row_errors: set[int] = set()
        peer_rec: dict[str, dict[str, Any]] = {}
        for i in range(args.runs):
            for name, cmd in cmds.items():
                wall, rss, code, out, err = measure(cmd, cwd=None if name == "ours" else peer)
                if code not in ((0, 1) if name == "ours" else (0,)):
                    raise SystemExit(f"{shlex.join(cmd)} exited {code}:\n{err[-2000:]}")
                if name == "ours":
                    row_errors.add(sum(line.startswith("无法处理") for line in err.splitlines()))
                else:
                    peer_rec[name] = peer_result(out, n)
                runs[name].append((wall, rss))
                print(f"round {i + 1}/{args.runs} {name}: {wall:.2f} s, {rss / 2**20:.0f} MiB", file=sys.stderr)

    shown = {name: shlex.join(cmd[1:]).replace(str(peer_csv), peer_csv.name) for name, cmd in cmds.items()}
    shown["ours"] = f"subsidy evaluate {ours_csv.name} --format csv --out decisions.csv"
    print(f"`python benchmarks/paired.py {shlex.join(sys.argv[1:])}`, {dt.datetime.now():%Y-%m-%d %H:%M}, "
          f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}); "
          f"core {core_commit(sub)}; {n:,} claims, {args.runs} × {' '.join('ABC'[:len(cmds)])}.\n")
    print("| run | command | median wall | range | median peak RSS |\n|---|---|---|---|---|")
    for name, rs in runs.items():
        walls = [w for w, _ in rs]
        print(f"| {name} | `{'' if name == 'ours' else '$PY '}{shown[name]}` | {statistics.median(walls):.2f} s | "
              f"{min(walls):.2f}–{max(walls):.2f} s | {statistics.median(r for _, r in rs) / 2**20:.0f} MiB |")
    print("\n| ratio (median of per-round ratios) | median | range | target | met |\n|---|---|---|---|---|")
    for (top, bottom), (op, bound) in TARGETS.items():
        if top in runs and bottom in runs:
            ratio = [a[0] / b[0] for a, b in zip(runs[top], runs[bottom], strict=True)]
            med = statistics.median(ratio)
            met = med <= bound if op == "≤" else med >= bound
            print(f"| {top} / {bottom} | {med:.2f}× | {min(ratio):.2f}–{max(ratio):.2f}× | {op} {bound:g} | "
                  f"{'yes' if met else 'no'} |")
    numpy_rec = peer_rec["numpy"]
    print(f"\nRow errors in ours: {', '.join(map(str, sorted(row_errors)))}. Totals: ours {ours_total:,} yuan over "
          f"{paid.height:,} paid claims; numpy {numpy_rec['total_fen'] / 100:,.2f} yuan over "
          f"{numpy_rec['nonzero']:,} nonzero claims (the rules differ where the peer has no R12, R18–R20 and no "
          f"2021-12-31 end of the apprenticeship uplift).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
