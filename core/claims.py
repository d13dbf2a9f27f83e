"""The claims file contract (docs/claims.md): CSV with a header, or JSON Lines.

The contract's columns and checks live in :mod:`jinhua_subsidy.columns`, where whole files are
read in columns. This module holds what a row becomes on its own: a :class:`Claim` or a
:class:`RowError` naming the row (its line in the file) and the reason, in Chinese, and the
row-by-row reader of files the columnar reader does not take. A resident id is never put in
full into a message.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from attrs import field, frozen

from jinhua_subsidy import resident_id
from jinhua_subsidy.columns import (
    COLUMNS,
    MESSAGE_CHARS,
    OTHER,
    REQUIRED,
    Columns,
    file_codes,
    row_errors,
    show,
)
from jinhua_subsidy.money import parse_yuan
from jinhua_subsidy.privacy import clip

__all__ = ["COLUMNS", "OTHER", "REQUIRED", "Claim", "ClaimParser", "ClaimsFileError", "RowError", "read_claims",
           "read_rows"]


@frozen(kw_only=True)
class Claim:
    """One readable claim. Optional fields are None when absent; ``cells`` are its cells as read."""

    row: int
    claim_id: str
    person_id: str = field(repr=resident_id.mask)
    region: str
    kind: str
    date: dt.date
    occupation: str | None = None
    level: str | None = None
    project_code: str | None = None
    organizer: str | None = None
    organizer_level: str | None = None
    hours: int | None = None
    passed: bool | None = None
    review: bool = False
    employer_tags: frozenset[str] = frozenset()
    employer_region: str | None = None
    apprentice: str | None = None
    cost: int | None = None  #: fen
    hukou: str | None = None
    residence_permit: str | None = None
    insured_region: str | None = None
    insured_months: int | None = None
    unemployed_region: str | None = None
    monthly_pension: bool = False
    welfare_post: bool = False
    welfare_approval: str | None = None
    course: str | None = None
    cells: dict[str, str | None] = field(factory=dict, eq=False, repr=False)

    @property
    def year(self) -> int:
        return self.date.year


@frozen
class RowError:
    """A row that cannot be read or has no rule to apply; it goes no further."""

    row: int
    claim_id: str
    message: str

    def __str__(self) -> str:
        # The claim id as a message may echo it: bounded, on one line, ids masked (privacy.clip).
        cid = f"（{clip(self.claim_id, MESSAGE_CHARS)}）" if self.claim_id else ""
        return f"第{self.row}行{cid}：{self.message}"


def _claim(row: int, cells: Mapping[str, str | None]) -> Claim:
    """A claim from cells that pass every check of the contract (columns.checks)."""
    kind = cells["kind"] or ""
    used = {c for c in COLUMNS if (c in ("occupation", "level") and kind == "qualification")
            or (c in ("project_code", "organizer", "organizer_level", "hours", "passed") and kind == "project")
            or (c in ("apprentice", "cost") and kind == "apprenticeship")
            or (c == "course" and kind == "entrepreneurship")}
    v = {c: cells.get(c) for c in COLUMNS}
    fields: dict[str, Any] = {}
    for c in ("occupation", "level", "project_code", "organizer", "organizer_level", "apprentice", "course"):
        if c in used and v[c] is not None:
            fields[c] = v[c]
    for c in ("employer_region", "hukou", "residence_permit", "insured_region", "unemployed_region",
              "welfare_approval"):
        if v[c] is not None:
            fields[c] = v[c]
    for c in ("hours", "insured_months"):
        text = v[c]
        if text is not None and (c != "hours" or c in used):
            fields[c] = int(text)
    for c in ("passed", "review", "monthly_pension", "welfare_post"):
        if v[c] is not None and (c != "passed" or c in used):
            fields[c] = (v[c] or "").lower() == "true"
    if "cost" in used and v["cost"] is not None:
        fields["cost"] = parse_yuan(v["cost"])
    if v["employer_tags"] is not None:
        fields["employer_tags"] = frozenset(t.strip() for t in (v["employer_tags"] or "").split(";") if t.strip())
    return Claim(row=row, claim_id=v["claim_id"] or "", person_id=resident_id.normalise(v["person_id"] or ""),
                 region=v["region"] or "", kind=kind, date=dt.date.fromisoformat(v["date"] or ""),
                 cells=dict(cells), **fields)


def cells_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of cells as a frame of strings (cells trimmed, an empty cell absent), contract columns
    first, then any other columns."""
    rows = [{k: (None if v is None else str(v).strip() or None) for k, v in r.items() if k is not None} for r in rows]
    extra = [k for r in rows for k in r if k not in COLUMNS]
    names = [*COLUMNS, *dict.fromkeys(extra)]
    return pl.DataFrame({n: pl.Series(n, [r.get(n) for r in rows], dtype=pl.String) for n in names})


class ClaimParser:
    """Turns one row (a dict of strings) into a claim or a row error, with the contract's checks
    (:mod:`jinhua_subsidy.columns`) on a table of one row."""

    def __init__(self, regions: Iterable[str], occupations: Iterable[str]) -> None:
        self.regions = tuple(sorted(regions))
        self.occupations = tuple(sorted(occupations))

    def parse(self, row: int, raw: Mapping[str, Any]) -> Claim | RowError:
        frame = cells_frame([raw])
        c = Columns(frame, self.regions, self.occupations, file_codes())
        _ok, bad = row_errors(c)
        cells = frame.row(0, named=True)
        if bad:
            return RowError(row, cells.get("claim_id") or "", bad[0][1])
        return _claim(row, cells)


#: Encodings a claims file may be read in (``--encoding``): UTF-8, and GBK/GB18030 from older
#: Windows systems.
ENCODINGS = ("utf-8", "gbk", "gb18030")
#: JSON nested deeper than this in one line is refused (a row error, never a crash).
MAX_JSON_DEPTH = 64
csv.field_size_limit(2**31 - 1)  # a long cell is a row error of its own, never the whole file refused


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise _DuplicateKey(twice[0])
    return dict(pairs)


class _DuplicateKey(ValueError):
    pass


def _json_row(line: str) -> dict[str, Any]:
    """One JSON Lines line as cells, or ``{"__error__": message}``."""
    depth = max(line.count("["), line.count("{"))
    if depth > MAX_JSON_DEPTH and _nesting(line) > MAX_JSON_DEPTH:
        return {"__error__": f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层"}
    try:
        obj = json.loads(line, parse_float=Decimal, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        return {"__error__": f"JSON 对象中键 {show(str(exc))} 出现两次"}
    except json.JSONDecodeError as exc:
        return {"__error__": f"不是有效的 JSON：{exc.msg}（第 {exc.colno} 个字符）"}
    except (ValueError, RecursionError, ArithmeticError):  # thousands of digits, nesting, 1e999999999999999999
        return {"__error__": "不是有效的 JSON：数字过长或嵌套过深"}
    if not isinstance(obj, dict):
        return {"__error__": "每行须为一个 JSON 对象"}
    cells = {k: _json_cell(v) for k, v in obj.items()}
    for k, v in cells.items():
        if _surrogates(k) or _surrogates(v):
            return {"__error__": f"JSON 中含有无效的 Unicode 字符（孤立的代理项）：{show(k)}"}
    return cells


def _nesting(line: str) -> int:
    depth = deepest = 0
    quoted = escaped = False
    for ch in line:
        if quoted:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from a CSV or JSON Lines file (by extension: .jsonl/.json).
    A UTF-8 byte order mark is accepted in both; blank lines before the CSV header are skipped."""
    try:
        yield from _rows(path, encoding)
    except UnicodeDecodeError:
        raise ClaimsFileError(undecodable(path, encoding)) from None


def _rows(path: Path, enc: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # The BOM is taken off the first line here, not by "utf-8-sig": that codec reads a file of
    # one stray byte 0xEF (a BOM's first byte, nothing after it) as an empty file.
    bom = "\ufeff" if enc == "utf-8" else ""
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding=enc, errors="strict") as fh:
            for n, line in enumerate(fh, start=1):
                if n == 1 and bom:
                    line = line.removeprefix(bom)
                if line.strip():
                    yield n, _json_row(line)
        return
    with path.open(encoding=enc, newline="") as fh:
        skipped = 0
        first = fh.readline().removeprefix(bom) if bom else fh.readline()
        while first and not first.strip():
            skipped += 1
            first = fh.readline()
        reader = csv.DictReader(itertools.chain([first], fh))
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ClaimsFileError(f"{path}：表头缺少列 {', '.join(missing)}（见 docs/claims.md）")
        for row in reader:
            yield reader.line_num + skipped, row


def undecodable(path: Path, encoding: str) -> str:
    """The message for a file with a byte that ``encoding`` cannot decode: its line, in Chinese."""
    codec = "utf-8" if encoding == "utf-8" else encoding
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            if n == 1 and codec == "utf-8" and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                line.decode(codec)
            except UnicodeDecodeError as exc:
                bad = line[exc.start:exc.start + 1].hex()
                hint = ("若文件为 GBK 或 GB18030 编码（旧版 Windows 系统常见），"
                        "请加 --encoding gbk 或 --encoding gb18030" if codec == "utf-8"
                        else "请用 --encoding 指明文件的编码（utf-8、gbk、gb18030）")
                return f"{path}：第{n}行第 {exc.start + 1} 个字节（0x{bad}）无法按 {encoding} 解码；{hint}"
    return f"{path}：无法按 {encoding} 解码；请用 --encoding 指明文件的编码（utf-8、gbk、gb18030）"


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


class ClaimsFileError(Exception):
    """The file as a whole cannot be read (missing, wrong header)."""


def read_claims(path: Path, parser: ClaimParser) -> tuple[list[Claim], list[RowError]]:
    """Read every row; unreadable rows become :class:`RowError`, nothing is dropped."""
    from jinhua_subsidy.reader import read_chunks

    claims: list[Claim] = []
    errors: list[RowError] = []
    for frame in read_chunks(path, 250_000, plain=False):
        errors += frame.errors
        c = Columns(frame.df, parser.regions, parser.occupations, file_codes())
        ok, bad = row_errors(c)
        errors += [RowError(int(frame.rows[i]), c.claim_id[i] or "", m) for i, m in bad]
        for i in np.flatnonzero(ok).tolist():
            claims.append(_claim(int(frame.rows[i]), frame.df.row(i, named=True)))
    return claims, sorted(errors, key=lambda e: e.row)
