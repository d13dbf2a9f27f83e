"""The targets of the one-engine issue, measured as whole fresh processes, medians of N runs.

    python benchmarks/targets.py                     # 5 runs each (2 at 10M); generates benchmarks/data/ first
    python benchmarks/targets.py --runs 3 --skip-10m
    python benchmarks/targets.py --only 3 5          # some targets only
    python benchmarks/targets.py --sizes 100000 1000000 --county-n 20000   # a quicker look

Each group of commands is run in rounds, A B A B … (or A B C D …), each a fresh process (wall time
around the subprocess, peak RSS from ``os.wait4``), so a noisy machine hits every side alike; a
ratio is the median of the per-round ratios.

1. ``subsidy evaluate`` of the N-claim file (``generate.py N``, default 1M), ``--format csv --out``:
   the same claims with every cell quoted (a copy written by polars with ``quote_style="always"``)
   ≤ 1.5× the plain file, and as JSON Lines (``generate.py N --format jsonl``) ≤ 1.5× the plain file.
2. The big file (default 10M, generated once, about 1 GB): peak RSS ≤ 2 GB and time ≤ 1.1 × BIG/N ×
   the N time (≤ 11× at 10M against 1M), rounds of N then BIG (``--runs-big``, default 2).
3. A county plugin using the columnar hook ``subsidy_adjust``, installed as a real outside
   distribution: 100k claims of one county (the first ``--county-n`` yiwu claims of a generated
   file, with a ``veteran`` column, true for every tenth claim). The plugin serves yiwu from the
   shipped ``yiwu.toml`` (``CatalogPlugin``) and its ``subsidy_adjust``, in polars expressions, adds
   200 yuan to eligible claims with ``veteran`` = true and refuses the claims of one project code
   (the file's most frequent yiwu project code). ``subsidy --disable yiwu evaluate …`` (the plugin
   serves yiwu) against ``subsidy --disable yiwu_veteran evaluate …`` (the built-in yiwu serves it,
   the same catalog): ≤ 1.2×, same file, same executable.
4. ``subsidy explain FILE --claim ID`` of the N-claim file ≤ 1.5× ``subsidy evaluate`` of it (in the
   rounds of 1.; ID is a readable, unique claim id in the middle of the file).
5. ``subsidy evaluate`` and ``subsidy explain`` of a 10-row file (``generate.py 10``) ≤ 0.6 s each;
   ``subsidy --help`` ≤ 0.3 s; ``subsidy check`` ≤ 1 s.

The outside plugin is a distribution written to ``--work`` (default /tmp/jinhua-targets, outside
the repository) and installed with pip into a throwaway venv there, created with
``python -m venv --system-site-packages``. A venv made from a venv's Python takes the *base*
interpreter's site-packages, not the venv's, so a ``.pth`` file adds this Python's site-packages
(``site.addsitedir``, which also runs the editable install's finder); jinhua-subsidy is therefore
not installed in the throwaway venv, and its ``bin/subsidy`` is written as pip writes a console
script. Both sides of target 3 run that ``subsidy``.

Generated files go to benchmarks/data/ (git-ignored): claims-N.csv, claims-N.jsonl,
claims-N-quoted.csv, claims-BIG.csv, claims-10.csv and county-yiwu-K.csv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PLUGIN = "yiwu_veteran"  # the entry-point name, the name --disable takes
DIST = "jinhua-subsidy-yiwu-veteran"
GB = 10**9

Run = tuple[float, int, float]  # wall seconds, peak RSS bytes, CPU seconds (user + system)


# --- measuring ----------------------------------------------------------------------------------


def measure(cmd: Sequence[str], ok: tuple[int, ...] = (0, 1)) -> Run:
    """Wall seconds and peak RSS (bytes) of one fresh process; stdout and stderr to temporary files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            raise SystemExit(f"{shlex.join(cmd)} exited {code}:\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


def rounds(cmds: dict[str, list[str]], n: int, ok: dict[str, tuple[int, ...]] | None = None
           ) -> dict[str, list[Run]]:
    """``n`` rounds of every command in turn: A B … A B …"""
    runs: dict[str, list[Run]] = {k: [] for k in cmds}
    for i in range(n):
        for name, cmd in cmds.items():
            runs[name].append(measure(cmd, (ok or {}).get(name, (0, 1))))
            print(f"  round {i + 1}/{n} {name}: {runs[name][-1][0]:.2f} s, {runs[name][-1][1] / 2**20:.0f} MiB",
                  file=sys.stderr)
    return runs


def ratio(top: list[Run], bottom: list[Run]) -> list[float]:
    return [a[0] / b[0] for a, b in zip(top, bottom, strict=True)]


# --- data ---------------------------------------------------------------------------------------


def generated(n: int, fmt: str = "csv") -> Path:
    path = DATA / f"claims-{n}.{fmt}"
    if not path.exists():
        print(f"generating {path} …", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(n), "--format", fmt, "--out", str(path)],
                       check=True)
    return path


def stale(out: Path, src: Path) -> bool:
    return not out.exists() or out.stat().st_mtime < src.stat().st_mtime


def quoted(plain: Path) -> Path:
    """The same claims with every cell (and the header) quoted."""
    import polars as pl

    out = plain.with_name(plain.stem + "-quoted.csv")
    if stale(out, plain):
        print(f"writing {out} …", file=sys.stderr)
        pl.read_csv(plain, infer_schema=False).write_csv(out, quote_style="always")
    return out


def county_file(src: Path, k: int) -> tuple[Path, str, int]:
    """The first ``k`` yiwu claims of ``src`` with a ``veteran`` column (every tenth claim true);
    the most frequent yiwu project code, to refuse; and how many claims carry it."""
    import polars as pl

    out = DATA / f"county-yiwu-{k}.csv"
    if stale(out, src):
        print(f"writing {out} …", file=sys.stderr)
        df = pl.read_csv(src, infer_schema=False).filter(pl.col("region") == "yiwu").head(k)
        if df.height < k:
            raise SystemExit(f"{src} has only {df.height} yiwu claims, {k} asked (--county-n)")
        df.with_columns(veteran=pl.when(pl.int_range(pl.len()) % 10 == 3).then(pl.lit("true"))
                        .otherwise(pl.lit("false"))).write_csv(out)
    codes = (pl.read_csv(out, columns=["project_code"], infer_schema=False).drop_nulls()
             .group_by("project_code").len().sort(["len", "project_code"], descending=[True, False]))
    return out, codes["project_code"][0], int(codes["len"][0])


def claim_in_middle(path: Path, explain: list[str]) -> str:
    """A claim id near the middle of the file, unique in it, that ``subsidy explain`` explains (exit 0)."""
    import polars as pl

    ids = pl.read_csv(path, columns=["claim_id"], infer_schema=False)["claim_id"]
    unique = set(ids.filter(ids.is_unique()).to_list())
    order = ids.to_list()
    mid = len(order) // 2
    tried = 0
    for c in order[mid:] + order[:mid]:
        if c in unique:
            if subprocess.run([*explain, str(path), "--claim", c], capture_output=True).returncode == 0:
                return str(c)
            tried += 1
            if tried > 20:
                break
    raise SystemExit(f"no claim of {path} that subsidy explain explains")


# --- the outside plugin -------------------------------------------------------------------------


PYPROJECT = f"""\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{DIST}"
version = "0.0.1"
description = "A county plugin for the benchmarks: yiwu with a columnar subsidy_adjust"
dependencies = ["jinhua-subsidy", "polars"]

[project.entry-points.jinhua_subsidy]
{PLUGIN} = "yiwu_veteran:plugin"

[tool.setuptools]
packages = ["yiwu_veteran"]
"""

MODULE = '''\
"""Yiwu with a county rule data cannot say: veterans get 200 yuan more; one project is refused."""

import polars as pl

from jinhua_subsidy.adjust import Adjustments, AdjustReason
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

__version__ = "0.0.1"
CANCELLED = {code!r}
TOP_UP = AdjustReason(code="yiwu_veteran", text="退役军人加发200元", clause="main.5")
REFUSED = AdjustReason(code="yiwu_cancelled", text="该培训项目已被义乌市撤销", clause="main.5")


class YiwuVeteran(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        both = pl.concat([claims.select("row", "veteran", "project_code"),
                          decisions.select("eligible", "amount")], how="horizontal")
        cancelled = pl.col("project_code").eq_missing(CANCELLED)
        rows = pl.concat([
            both.filter(cancelled).select(
                "row", reason=pl.lit("yiwu_cancelled"), amount=pl.lit(None, dtype=pl.Int64), refuse=pl.lit(True)),
            both.filter(~cancelled & pl.col("veteran").eq_missing("true") & pl.col("eligible")).select(
                "row", reason=pl.lit("yiwu_veteran"), amount=pl.col("amount") + 20000, refuse=pl.lit(False)),
        ])
        return Adjustments(rows=rows, reasons=(TOP_UP, REFUSED))


plugin = YiwuVeteran(shipped("yiwu.toml"))
'''

SCRIPT = """\
#!{python}
import sys
from jinhua_subsidy.cli import main
if __name__ == "__main__":
    sys.argv[0] = "subsidy"
    sys.exit(main())
"""


def outside_plugin(work: Path, code: str) -> Path:
    """Write the distribution, install it into a throwaway venv; that venv's ``subsidy``."""
    src, venv = work / "src", work / "venv"
    module = MODULE.format(code=code)
    wanted = {src / "pyproject.toml": PYPROJECT, src / "yiwu_veteran" / "__init__.py": module}
    python, exe = venv / "bin" / "python", venv / "bin" / "subsidy"
    if all(p.exists() and p.read_text() == t for p, t in wanted.items()) and exe.exists():
        return exe
    print(f"installing {DIST} into {venv} …", file=sys.stderr)
    for p, t in wanted.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(t)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # This Python's site-packages (jinhua-subsidy, polars, setuptools), .pth files and all.
    (Path(site) / "jinhua_subsidy_host.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    # The wheel is built by this Python (its setuptools; the new venv's own is older) and installed by the venv's pip.
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(src)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                    str(wheels / "jinhua_subsidy_yiwu_veteran-0.0.1-py3-none-any.whl")], check=True)
    exe.write_text(SCRIPT.format(python=python))
    exe.chmod(0o755)
    return exe


def check_plugin(exe: Path, path: Path, work: Path) -> tuple[int, int]:
    """Untimed: with the plugin, claims are topped up and refused; without it, none. (top-ups, refusals)"""
    import polars as pl

    counts = []
    for off in ("yiwu", PLUGIN):
        out = work / f"decisions-{off}.csv"
        subprocess.run([str(exe), "--disable", off, "evaluate", str(path), "--format", "csv", "--out", str(out)],
                       capture_output=True)
        reasons = pl.read_csv(out, columns=["reasons"], infer_schema=False)["reasons"].fill_null("")
        counts.append((int(reasons.str.contains("yiwu_veteran").sum()),
                       int(reasons.str.contains("yiwu_cancelled").sum())))
    if counts[1] != (0, 0) or 0 in counts[0]:
        raise SystemExit(f"the plugin does not act as meant: (top-ups, refusals) with {counts[0]}, without "
                         f"{counts[1]}")
    return counts[0]


# --- reporting ----------------------------------------------------------------------------------


def label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def shown(cmd: Sequence[str]) -> str:
    """A command with the repository's paths relative, so the table reads as typed in the repo."""
    root = str(HERE.parent) + "/"
    return shlex.join(cmd).replace(root, "")


def core_state() -> str:
    git = ["git", "-C", str(HERE.parent)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "core", "catalogs", "plugins"],
                           capture_output=True, text=True).stdout
    return f"{head or '?'}" + (" + uncommitted changes in core/, catalogs/ or plugins/" if dirty.strip() else "")


def prepare(args: argparse.Namespace, n: int, big: int, work: Path) -> None:
    """Generate and convert the inputs, install the plugin, pick the claims to explain; to JSON."""
    import numpy
    import polars as pl

    sub = args.subsidy
    plain = generated(n)
    county, code, refused_claims = county_file(generated(max(n, 5 * args.county_n)), args.county_n)
    county_exe = outside_plugin(work, code)
    top_ups, refusals = check_plugin(county_exe, county, work)
    tiny = generated(10)
    inputs = {
        "plain": str(plain), "jsonl": str(generated(n, "jsonl")), "quoted": str(quoted(plain)), "tiny": str(tiny),
        "big": None if args.skip_10m or (args.only and 2 not in args.only) else str(generated(big)),
        "county": str(county), "county_exe": str(county_exe),
        "code": code, "refused_claims": refused_claims, "top_ups": top_ups, "refusals": refusals,
        "claim": claim_in_middle(plain, [sub, "explain"]), "tiny_claim": claim_in_middle(tiny, [sub, "explain"]),
        "versions": f"polars {pl.__version__}, numpy {numpy.__version__}",
    }
    args.prepare_json.write_text(json.dumps(inputs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="rounds of each group (default 5)")
    ap.add_argument("--runs-big", type=int, default=2, help="rounds at the big size (default 2)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], metavar="N",
                    help="N (targets 1 and 4) and BIG (target 2); default 1000000 10000000")
    ap.add_argument("--skip-10m", action="store_true", help="leave out target 2 (the big file)")
    ap.add_argument("--only", type=int, nargs="+", choices=range(1, 6), metavar="T",
                    help="measure only these targets (1–5); default all")
    ap.add_argument("--county-n", type=int, default=100_000, help="claims of the county file (target 3)")
    ap.add_argument("--subsidy", default=str(Path(sys.executable).with_name("subsidy")),
                    help="the subsidy executable (default: next to this Python)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/jinhua-targets"),
                    help="outside the repository: the plugin's distribution, its venv, outputs")
    ap.add_argument("--prepare-json", type=Path, help=argparse.SUPPRESS)  # the child that makes the inputs
    args = ap.parse_args(argv)
    if len(args.sizes) > 2:
        ap.error("--sizes takes N and optionally BIG")
    n = args.sizes[0]
    big = args.sizes[1] if len(args.sizes) > 1 else 10 * n
    sub = args.subsidy
    work = args.work.resolve()
    if HERE.parent in work.parents or work == HERE.parent:
        ap.error("--work must be outside the repository")
    work.mkdir(parents=True, exist_ok=True)
    out = str(work / "decisions.csv")
    if args.prepare_json:
        prepare(args, n, big, work)
        return 0

    # Inputs, untimed, made in a child process: the measuring process stays small (a child's
    # ru_maxrss starts from what it was forked from), and polars is never imported here.
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "inputs.json"
        subprocess.run([sys.executable, __file__, *(sys.argv[1:] if argv is None else argv),
                        "--prepare-json", str(answer)], check=True)
        inputs = json.loads(answer.read_text())
    plain, jsonl, quoted_csv, tiny, county = (Path(inputs[k]) for k in ("plain", "jsonl", "quoted", "tiny", "county"))
    big_csv = Path(inputs["big"]) if inputs["big"] else None
    county_exe, claim, tiny_claim = inputs["county_exe"], inputs["claim"], inputs["tiny_claim"]

    def evaluate(path: Path, exe: str = sub, pre: Sequence[str] = ()) -> list[str]:
        return [exe, *pre, "evaluate", str(path), "--format", "csv", "--out", out]

    started = dt.datetime.now()
    load0 = os.getloadavg()
    commands: dict[str, list[str]] = {}
    results: list[tuple[str, str, str, str, str, bool]] = []  # target, measured, range, CPU, bound, met

    want = set(args.only or range(1, 6))
    small_runs: dict[str, list[Run]] = {}
    cty_runs: dict[str, list[Run]] = {}
    one_runs: dict[str, list[Run]] = {}

    # 5. Small commands.
    if 5 in want:
        print("target 5: the 10-row file, --help, check", file=sys.stderr)
        small = {"evaluate 10": evaluate(tiny), "explain 10": [sub, "explain", str(tiny), "--claim", tiny_claim],
                 "--help": [sub, "--help"], "check": [sub, "check"]}
        small_runs = rounds(small, args.runs, {"explain 10": (0,), "--help": (0,), "check": (0,)})
        commands.update(small)

    # 3. The county plugin.
    if 3 in want:
        print(f"target 3: {label(args.county_n)} yiwu claims, plugin {PLUGIN} on and off", file=sys.stderr)
        cty = {"county plugin": evaluate(county, str(county_exe), ("--disable", "yiwu")),
               "county built-in": evaluate(county, str(county_exe), ("--disable", PLUGIN))}
        cty_runs = rounds(cty, args.runs)
        commands.update(cty)

    # 1. and 4. The N-claim file: plain, quoted, JSON Lines, explain.
    if want & {1, 4}:
        print(f"targets 1 and 4: {label(n)} claims", file=sys.stderr)
        one = {f"plain {label(n)}": evaluate(plain)}
        if 1 in want:
            one |= {f"quoted {label(n)}": evaluate(quoted_csv), f"jsonl {label(n)}": evaluate(jsonl)}
        if 4 in want:
            one[f"explain {label(n)}"] = [sub, "explain", str(plain), "--claim", claim]
        one_runs = rounds(one, args.runs, {f"explain {label(n)}": (0,)})
        commands.update(one)

    # 2. The big file.
    big_runs: dict[str, list[Run]] = {}
    if big_csv is not None and 2 in want:
        print(f"target 2: {label(big)} claims against {label(n)}", file=sys.stderr)
        two = {f"plain {label(n)} (paired with {label(big)})": evaluate(plain),
               f"plain {label(big)}": evaluate(big_csv)}
        big_runs = rounds(two, args.runs_big)
        commands[f"plain {label(big)}"] = two[f"plain {label(big)}"]
    load1 = os.getloadavg()

    def ratio_row(target: str, top: list[Run], bottom: list[Run], bound: float) -> None:
        r = ratio(top, bottom)
        med = statistics.median(r)
        cpu = statistics.median(a[2] / b[2] for a, b in zip(top, bottom, strict=True))
        results.append((target, f"{med:.2f}×", f"{min(r):.2f}–{max(r):.2f}×", f"{cpu:.2f}×", f"≤ {bound:g}×",
                        med <= bound))

    def wall_row(target: str, runs: list[Run], bound: float) -> None:
        w = [x[0] for x in runs]
        med = statistics.median(w)
        cpu = statistics.median(x[2] for x in runs)
        results.append((target, f"{med:.2f} s", f"{min(w):.2f}–{max(w):.2f} s", f"{cpu:.2f} s", f"≤ {bound:g} s",
                        med <= bound))

    L = label(n)
    if 1 in want:
        ratio_row(f"1. quoted CSV / plain CSV, {L}", one_runs[f"quoted {L}"], one_runs[f"plain {L}"], 1.5)
        ratio_row(f"1. JSON Lines / plain CSV, {L}", one_runs[f"jsonl {L}"], one_runs[f"plain {L}"], 1.5)
    if big_runs:
        B = label(big)
        peak = max(r[1] for r in big_runs[f"plain {B}"])
        results.append((f"2. peak RSS, {B}", f"{peak / 2**20:.0f} MiB ({peak / GB:.2f} GB)",
                        f"{min(r[1] for r in big_runs[f'plain {B}']) / 2**20:.0f}–{peak / 2**20:.0f} MiB",
                        "", "≤ 2 GB", peak <= 2 * GB))
        ratio_row(f"2. time {B} / {L}", big_runs[f"plain {B}"], big_runs[f"plain {L} (paired with {B})"],
                  round(1.1 * big / n, 2))
    if cty_runs:
        ratio_row(f"3. plugin {PLUGIN} on / off, {label(args.county_n)} yiwu claims", cty_runs["county plugin"],
                  cty_runs["county built-in"], 1.2)
    if 4 in want:
        ratio_row(f"4. explain / evaluate, {L}", one_runs[f"explain {L}"], one_runs[f"plain {L}"], 1.5)
    if small_runs:
        wall_row("5. evaluate, 10 rows", small_runs["evaluate 10"], 0.6)
        wall_row("5. explain, 10 rows", small_runs["explain 10"], 0.6)
        wall_row("5. --help", small_runs["--help"], 0.3)
        wall_row("5. check", small_runs["check"], 1.0)

    print(f"`python benchmarks/targets.py {shlex.join(sys.argv[1:] if argv is None else argv)}`, "
          f"{started:%Y-%m-%d %H:%M}, {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{inputs['versions']}); core {core_state()}; "
          f"{args.runs} rounds each{f' ({args.runs_big} at {label(big)})' if big_runs else ''}. "
          "Load average (1, 5, 15 min) "
          f"{', '.join(f'{x:.1f}' for x in load0)} at the start, {', '.join(f'{x:.1f}' for x in load1)} at the end.\n")
    print("| target | measured (median wall) | range | CPU (median) | bound | met |\n|---|---|---|---|---|---|")
    for target, med, rng, cpu, bound, met in results:
        print(f"| {target} | {med} | {rng} | {cpu} | {bound} | {'yes' if met else 'NO'} |")
    print("\n| run | median wall | range | median CPU (user + sys) | median peak RSS | runs |\n"
          "|---|---|---|---|---|---|")
    for group in (one_runs, big_runs, cty_runs, small_runs):
        for name, rs in group.items():
            w = [r[0] for r in rs]
            cpu_s, rss = statistics.median(r[2] for r in rs), statistics.median(r[1] for r in rs)
            print(f"| {name} | {statistics.median(w):.2f} s | {min(w):.2f}–{max(w):.2f} s | {cpu_s:.2f} s | "
                  f"{rss / 2**20:.0f} MiB | {len(rs)} |")
    print(f"\nThe county file: {label(args.county_n)} yiwu claims; with the plugin {inputs['top_ups']:,} are "
          f"topped up and {inputs['refusals']:,} refused (project code {inputs['code']}, "
          f"{inputs['refused_claims']} claims), none without it.\n")
    print("Commands (`subsidy` is " + shown([sub]) + f"; the county runs use {county_exe}):\n")
    print("```sh")
    for name, cmd in commands.items():
        print(f"# {name}\n{shown(cmd)}")
    print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
