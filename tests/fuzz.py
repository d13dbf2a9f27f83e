"""Hostile input for ``subsidy`` (issue 7): hypothesis strategies, and the checks every run passes.

Strategies:

* :func:`claims_cases` — a claims file as bytes, in either form (CSV or JSON Lines), built from the
  rows of ``examples/claims.csv`` and then made hostile: cells replaced by valid resident ids hidden
  in other text (ASCII, full-width, lower-case ``x``, mathematical digits), numbers of thousands of
  digits, cells over 131,072 characters, dates and numbers the contract refuses, control characters,
  quotes and commas; swapped, missing, doubled and extra header names; unquoted CSV, CRLF and bare
  CR line ends, leading blank lines, BOMs, GBK / GB18030 / UTF-16 / Latin-1 bytes, a stray byte, a
  cut-off end; JSON nested thousands deep, duplicate keys, lone surrogate escapes, huge JSON numbers,
  lines that are no object. Each case also says how ``subsidy evaluate`` is run (``--format``,
  ``--encoding``, ``--out`` or stdout, and sometimes ``explain`` of one of its claims).
* :func:`catalog_cases` — ``catalogs/urban.toml`` made hostile (values replaced by huge, deep,
  numeric, empty or id-bearing ones, the region renamed, lines and tables deleted or doubled, the
  file cut off, other encodings) or a folder where the file should be.

Checks (:func:`check_claims`, :func:`check_catalog`) return a list of problems, empty when the run
passed:

* no traceback, and the exit status is 0, 1 or 2, and 2 exactly when the file cannot be read as a
  whole (undecodable, no header with the required columns), with a Chinese ``错误：`` line;
* when it is read: every data row is a decision or a reported row (counted here independently, as
  :mod:`csv` and a text file read them), the ``--errors`` file and the summary line agree, exit 1
  exactly when a row is reported;
* no valid resident id in stdout, stderr, the ``--out`` file or the ``--errors`` file (the scan is
  :func:`jinhua_subsidy.privacy.mask_ids`'s own validity check, and again GB 11643 over the NFKC
  text);
* CSV outputs parse with :mod:`csv` and with polars, every row as wide as the header;
* the claims file is left byte for byte as it was, and a run that fails leaves no output file;
* for catalogs: ``subsidy check`` exits 0 or 1 (a broken catalog is a finding, never a usage error),
  and when it passes, evaluation does not fail for want of a catalog.

``tests/test_fuzz.py`` runs a bounded budget in CI; ``benchmarks/fuzz.py --examples N`` the long one.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import json
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner
from hypothesis import strategies as st

from jinhua_subsidy import cli
from jinhua_subsidy.claims import REQUIRED
from jinhua_subsidy.privacy import mask_ids, valid_id_starts
from jinhua_subsidy.regions import KNOWN_REGIONS
from jinhua_subsidy.resident_id import check_digit

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "claims.csv"
with EXAMPLE.open(encoding="utf-8", newline="") as _fh:
    _reader = csv.DictReader(_fh)
    HEADER: list[str] = list(_reader.fieldnames or [])
    BASE_ROWS: list[dict[str, str]] = list(_reader)
URBAN = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")
#: Outside plugins installed in the environment must not change what the runs see.
ENV = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}
REGION_KEYS = [r.key for r in KNOWN_REGIONS]
LONG = 131_072  #: csv's default field size limit, which once refused a whole file


# Strategies are made once (hypothesis validates each new one): one(options), ints(a, b).
@functools.cache
def _one(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


def one(options: Any) -> st.SearchStrategy[Any]:
    return _one(tuple(options))


@functools.cache
def ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


BOOLS = st.booleans()


# --- resident ids, and where they hide ----------------------------------------------------------

AREAS = ("330702", "330703", "330781", "330782", "330783", "110105", "440305")


def resident_id(area: str, birth: str, seq: int) -> str:
    first17 = f"{area}{birth}{seq % 1000:03d}"
    return first17 + check_digit(first17)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    """A valid 居民身份证号 (check digit right), a tenth of them ending in X."""
    area = draw(one(AREAS))
    birth = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2010, 12, 31))).strftime("%Y%m%d")
    return resident_id(area, birth, draw(ints(0, 999)))


FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
MATH_BOLD = str.maketrans("0123456789", "".join(chr(0x1D7CE + i) for i in range(10)))


def enclosed(pair: str) -> str:
    """``"33"`` → ``㉝`` (circled numbers 10–50); other pairs as they are."""
    n = int(pair) if pair.isdigit() else 0
    if 10 <= n <= 20:
        return chr(0x2469 + n - 10)
    if 21 <= n <= 35:
        return chr(0x3251 + n - 21)
    if 36 <= n <= 50:
        return chr(0x32B1 + n - 36)
    return pair


@st.composite
def spelled_ids(draw: st.DrawFn) -> str:
    """A valid id as a person may type it: ASCII, full-width (all or some digits), ``x``,
    mathematical digits, ideographic spaces around it."""
    pid = draw(valid_ids())
    how = draw(one(["ascii", "ascii", "full", "some", "lower", "math", "spaced", "enclosed"]))
    if how == "enclosed":  # two digits as one enclosed number where there is one: ㉝0702⑲900101⑩㊷
        pairs = [pid[i:i + 2] for i in range(0, 18, 2)]
        return "".join(enclosed(p) if draw(BOOLS) else p for p in pairs)
    if how == "full":
        return pid.translate(FULL_WIDTH)
    if how == "some":
        picks = draw(st.lists(BOOLS, min_size=18, max_size=18))
        return "".join(c.translate(FULL_WIDTH) if p else c for c, p in zip(pid, picks, strict=True))
    if how == "lower":
        return pid.lower()
    if how == "math":
        return pid.translate(MATH_BOLD)
    if how == "spaced":
        return f"\u3000{pid}\u3000"
    return pid


@st.composite
def hidden_ids(draw: st.DrawFn) -> str:
    """A valid id inside other text: ``第4行（330702…）``, ``ID:３３０７…``."""
    around = one(["", "", "第", "A-", "ID:", " ", "\u3000", "，", "x", "号", "(", "）", "\t", "9"])
    return draw(around) + draw(spelled_ids()) + draw(around)


# --- hostile cells --------------------------------------------------------------------------------

HUGE_FORMS = ("{d}", "-{d}", "1.{d}", "{d}.5", "1e{d}", "0.{d}")
ODD_NUMBERS = ("5e3", "5_000", "1.005", "-1", "-0", "+5", " 5 ", "0x10", "NaN", "inf", "1,000", "٣", "０", "²",
               "1e-2", "3000.", ".5", "00000000000000000000000000005")
ODD_DATES = ("2021-W22-2", "20210601", "2021-6-1", "2021-02-30", "0000-01-01", "9999-12-31", "2021-06-01T00:00",
             "２０２１-０６-０１", "2021-06-01 ", "2021/06/01", "1-01-01", "+2021-06-01", "2021-166", "-2021-06-01")
SPECIAL = "\r\n\"',;\x00\t\x0b\x0c\x1c\x1f\x7f\x85\u2028\u202e\u200f\ufeff\\ aXx0９٣"
CHOICES = ("qualification", "project", "apprenticeship", "entrepreneurship", "course", "true", "false", "TRUE",
           "1", "2", "5", "S", "s", "enterprise", "college", "city", "district", "employee", "student",
           "key_manufacturing;city_soe", "trade_friction; ;self_evaluation", "other", "hangzhou", "urbn")
#: How often each kind of hostile cell is drawn (a long cell rarely: it is big).
CELL_KINDS = (["id"] * 6 + ["huge"] * 2 + ["number"] * 2 + ["date"] * 2 + ["special"] * 3 + ["text"] * 2
              + ["region"] * 2 + ["choice"] * 2 + ["empty", "space", "long"])


SPECIAL_TEXT = st.text(st.sampled_from(SPECIAL), min_size=1, max_size=8)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@st.composite
def hostile_cells(draw: st.DrawFn) -> str:
    kind = draw(one(CELL_KINDS))
    if kind == "id":
        return draw(hidden_ids())
    if kind == "huge":
        return draw(one(HUGE_FORMS)).format(d="9" * draw(ints(4_290, 6_000)))
    if kind == "number":
        return draw(one(ODD_NUMBERS))
    if kind == "date":
        return draw(one(ODD_DATES))
    if kind == "special":
        return draw(SPECIAL_TEXT)
    if kind == "text":
        return draw(ANY_TEXT)
    if kind == "region":
        return draw(one([*REGION_KEYS, "other", "URBAN", " urban", "金华市区", "urbn"]))
    if kind == "choice":
        return draw(one(CHOICES))
    if kind == "empty":
        return ""
    if kind == "space":
        return draw(one([" ", "\u3000", "\t", "\xa0", " \u2003 "]))
    return draw(one("x9中,\"\n")) * draw(ints(LONG - 2, LONG + 9_000))  # long


# --- rows and headers -----------------------------------------------------------------------------


@st.composite
def rows_and_header(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header and data rows (cells in header order), the example's rows made hostile."""
    rows = draw(st.lists(st.sampled_from(BASE_ROWS), min_size=0, max_size=7))
    header = list(HEADER)
    table = [[r[c] for c in header] for r in rows]
    for r in table:
        for _ in range(draw(ints(0, 3))):
            r[draw(ints(0, len(header) - 1))] = draw(hostile_cells())
    if table and draw(ints(0, 4)) == 0:  # a claim id or a person given twice
        i, j = draw(ints(0, len(table) - 1)), draw(ints(0, len(table) - 1))
        col = draw(one([0, 1]))
        table[j][col] = table[i][col]
    shape = draw(one(["same"] * 6 + ["swap", "swap", "shuffle", "drop", "double", "extra", "rename"]))
    if shape == "swap":  # header names over the wrong data: resident ids under claim_id, region, hukou
        a = draw(one([0, 1, 2, 17]))
        b = draw(ints(0, len(header) - 1))
        header[a], header[b] = header[b], header[a]
    elif shape == "shuffle":
        order = draw(st.permutations(range(len(header))))
        header = [header[k] for k in order]
        table = [[r[k] for k in order] for r in table]
    elif shape == "drop":
        k = draw(ints(0, len(header) - 1))
        header = header[:k] + header[k + 1:]
        table = [r[:k] + r[k + 1:] for r in table]
    elif shape == "double":
        header[draw(ints(0, len(header) - 1))] = header[draw(ints(0, len(header) - 1))]
    elif shape == "extra":
        header.append(draw(one(["备注", "employer_id", "groups", "training_days", "", "claim_id"])))
        for r in table:
            r.append(draw(hostile_cells()))
    elif shape == "rename":
        k = draw(ints(0, len(header) - 1))
        header[k] = draw(one([" " + header[k], header[k].upper(), "\ufeff" + header[k], ""]))
    if table and draw(ints(0, 5)) == 0:  # a ragged row
        k = draw(ints(0, len(table) - 1))
        table[k] = table[k][:draw(ints(0, len(header)))] + draw(st.lists(hostile_cells(), max_size=2))
    return header, table


# --- files ----------------------------------------------------------------------------------------


def _csv_line(cells: list[str], quoting: str) -> str:
    if quoting == "none":
        return ",".join(cells)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="", quoting=csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL
               ).writerow(cells)
    return buf.getvalue()


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    header, table = draw(rows_and_header())
    quoting = draw(one(["minimal", "minimal", "all", "none"]))
    ends = draw(one(["\n", "\n", "\r\n", "\r", "mixed"]))

    def end() -> str:
        return draw(one(["\n", "\r\n", "\r"])) if ends == "mixed" else ends

    lines = [_csv_line(header, quoting)] + [_csv_line(r, quoting) for r in table]
    if lines and draw(ints(0, 5)) == 0:  # blank lines among the rows
        lines.insert(draw(ints(1, len(lines))), draw(one(["", " ", ",,,"])))
    lead = "".join(draw(one(["", " ", "\t"])) + end() for _ in range(draw(ints(0, 2))))
    text = lead + "".join(ln + end() for ln in lines)
    if draw(BOOLS):
        text = text[:-len(end())] if text.endswith(("\n", "\r")) else text
    return text


def _json_value(cell: str, draw: st.DrawFn) -> str:
    how = draw(one(["string"] * 6 + ["raw", "null", "list", "bool", "ascii"]))
    if how == "raw" and cell:  # a number as a JSON number (huge, an exponent, a decimal)
        try:
            json.loads(cell)
        except ValueError:
            pass
        else:
            return cell
    if how == "null" and not cell:
        return "null"
    if how == "list":
        return json.dumps(cell.split(";"), ensure_ascii=False)
    if how == "bool" and cell.lower() in ("true", "false"):
        return cell.lower()
    return json.dumps(cell, ensure_ascii=how == "ascii")


@st.composite
def jsonl_text(draw: st.DrawFn) -> str:
    header, table = draw(rows_and_header())
    lines = []
    for r in table:
        pairs = [f"{json.dumps(k, ensure_ascii=False)}: {_json_value(v, draw)}" for k, v in zip(header, r, strict=False)
                 if v or draw(BOOLS)]
        twist = draw(one(["none"] * 8 + ["dup", "surrogate", "deep", "cut", "key"]))
        if twist == "dup":
            pairs.insert(0, f'"{draw(one(["claim_id", "person_id", "hours"]))}": "DUP"')
        elif twist == "surrogate":
            key = draw(one(["note", "claim_id", "x"]))
            pairs.append(f'"{key}": "a\\{draw(one(["ud800", "udfff", "udc00x"]))}"')
        elif twist == "deep":
            d = draw(ints(60, 3_000))
            pairs.append(f'"{draw(one(["x", "employer_tags"]))}": ' + "[" * d + "]" * d)
        elif twist == "key":
            pairs.append(f'{json.dumps(draw(hidden_ids()))}: 1')
        line = "{" + ", ".join(pairs) + "}"
        if twist == "cut":
            line = line[:draw(ints(0, len(line)))]
        lines.append(line)
    for _ in range(draw(ints(0, 2))):  # lines that are no object, or blank
        odd = draw(one(["[]", "1", '"s"', "null", "{", "", "   ", "NaN", "[" * 5000, '{"a": 1}{"b": 2}',
                                    '{"claim_id": ' + "9" * 5000 + "}"]))
        lines.insert(draw(ints(0, len(lines))), odd)
    end = draw(one(["\n", "\n", "\r\n", "\r"]))
    return "".join(ln + end for ln in lines)


ENCODINGS = ("utf-8",) * 8 + ("utf-8-sig", "utf-8-sig", "gbk", "gb18030", "utf-16", "latin-1")
OPTION = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gbk", "gb18030": "gb18030"}


@dataclass
class ClaimsCase:
    """A claims file and how ``subsidy`` is run on it."""

    data: bytes
    suffix: str
    encoding: str  #: the --encoding option
    fmt: str  #: the --format option
    out: bool  #: --out FILE (else decisions on stdout)
    explain: str | None = None  #: also ``explain --claim`` this id
    note: str = ""  #: how the bytes were made

    def __repr__(self) -> str:
        return (f"ClaimsCase(suffix={self.suffix!r}, encoding={self.encoding!r}, fmt={self.fmt!r}, out={self.out}, "
                f"explain={_short(self.explain)}, note={self.note!r}, {len(self.data)} bytes: {_short(self.data)})")


def _short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"


@st.composite
def claims_cases(draw: st.DrawFn) -> ClaimsCase:
    form = draw(one(["csv", "csv", "jsonl"]))
    text = draw(csv_text() if form == "csv" else jsonl_text())
    codec = draw(one(ENCODINGS))
    data = text.encode(codec, errors="replace") if codec not in ("utf-8", "utf-8-sig") else \
        text.encode(codec, errors="surrogatepass")
    note = f"{form} {codec}"
    damage = draw(one(["none"] * 10 + ["byte", "cut", "bom"]))
    if damage == "byte" and data:  # one stray byte
        at = draw(ints(0, len(data)))
        data = data[:at] + bytes([draw(one([0x00, 0x80, 0xC3, 0xE4, 0xFF, 0xFE]))]) + data[at:]
    elif damage == "cut" and data:
        data = data[:draw(ints(0, len(data)))]
    elif damage == "bom":
        data = codecs.BOM_UTF8 + data
    note += f" {damage}" if damage != "none" else ""
    if form == "csv":
        suffix = draw(one([".csv", ".csv", ".CSV", ".txt", "", ".jsonl"]))
    else:
        suffix = draw(one([".jsonl", ".jsonl", ".json", ".ndjson", ".JSONL", ".csv"]))
    encoding = OPTION.get(codec, "utf-8")
    if draw(ints(0, 9)) == 0:
        encoding = draw(one(["utf-8", "gbk", "gb18030"]))
    ids = [r.get("claim_id", "") for r in BASE_ROWS]
    explain = draw(one([*ids, "", "330702199001011042"])) if draw(ints(0, 5)) == 0 else None
    return ClaimsCase(data, suffix, encoding, draw(one(["csv", "csv", "jsonl", "table"])),
                      draw(BOOLS), explain, note)


# --- catalogs -------------------------------------------------------------------------------------

CATALOG_VALUES = (
    '"{d}"', "{d}", '"100000000000000000"', "100000000000000000", "3000", "3000.5", "-1", '"-1"', '""', "true",
    "1979-05-27", '"二千"', '"1e3"', '"5_000"', "inf", "nan", "{{}}", '[1, "a"]', '"330702199001011042"',
    '"３３０７０２１９９００１０１１１９X"', "[]", '"0.00"', '"0.31"', "2020-13-45", '"\\ud800"', "'''\n'''",
)


@dataclass
class CatalogCase:
    """A hostile ``urban.toml`` (``data`` None: a folder where the file should be)."""

    data: bytes | None
    note: str = ""

    def __repr__(self) -> str:
        return f"CatalogCase(note={self.note!r}, data={_short(self.data, 600)})"


@st.composite
def catalog_cases(draw: st.DrawFn) -> CatalogCase:
    lines = URBAN.splitlines(keepends=True)
    notes = []
    for _ in range(draw(ints(1, 3))):
        op = draw(one(["value"] * 5 + ["region"] * 2 + ["parent", "delete", "double", "table", "head",
                                                                    "cut", "bytes", "folder"]))
        notes.append(op)
        values = [i for i, ln in enumerate(lines) if " = " in ln and not ln.lstrip().startswith("#")]
        if op == "value" and values:
            i = draw(one(values))
            key = lines[i].split(" = ", 1)[0]
            v = draw(one(CATALOG_VALUES))
            v = v.format(d="9" * draw(ints(16, 6_000))) if "{d}" in v else v.replace("{{}}", "{}")
            if draw(ints(0, 7)) == 0:
                d = draw(ints(100, 2_500))
                v = "[" * d + "]" * d
            lines[i] = f"{key} = {v}\n"
        elif op == "region":
            at = [k for k, ln in enumerate(lines) if ln.startswith("region = ")] or [0]
            i = at[0]
            key = draw(one([*REGION_KEYS, "urbn", "URBAN", "", "testland", "330702199001011042", "市区"]))
            lines[i:i + 1] = [f"region = {json.dumps(key, ensure_ascii=False)}\n"]
        elif op == "parent":  # a parent: another region, a missing one, itself
            key = draw(one([*REGION_KEYS, "urbn", "nowhere", ""]))
            at = [k for k, ln in enumerate(lines) if ln.startswith("region = ")] or [0]
            lines.insert(at[0] + 1, f"parent = {json.dumps(key)}\n")
        elif op == "delete" and lines:
            del lines[draw(ints(0, len(lines) - 1))]
        elif op == "double" and lines:
            i = draw(ints(0, len(lines) - 1))
            lines.insert(i, lines[i])
        elif op == "table":
            starts = [i for i, ln in enumerate(lines) if ln.startswith("[")]
            if starts:
                k = draw(ints(0, len(starts) - 1))
                end = starts[k + 1] if k + 1 < len(starts) else len(lines)
                del lines[starts[k]:end]
        elif op == "head":  # nothing but the [catalog] table
            tables = [i for i, ln in enumerate(lines) if ln.startswith("[") and not ln.startswith("[catalog]")]
            lines = lines[:tables[0]] if tables else lines
        elif op == "cut":
            text = "".join(lines)
            lines = [text[:draw(ints(0, len(text)))]]
        elif op == "bytes" and lines:
            i = draw(ints(0, len(lines) - 1))
            lines[i] = lines[i] + draw(one(["\x00", "\ufeff", "\u202e", "\x7f", "\\"]))
        elif op == "folder":
            return CatalogCase(None, "folder")
    text = "".join(lines)
    codec = draw(one(["utf-8"] * 8 + ["utf-8-sig", "gbk", "utf-16"]))
    notes.append(codec)
    return CatalogCase(text.encode(codec, errors="surrogatepass" if codec.startswith("utf-8") else "replace"),
                       " ".join(notes))


# --- scanning outputs -----------------------------------------------------------------------------


def leaked_ids(text: str) -> list[str]:
    """Valid resident ids in ``text``: what :func:`mask_ids` would mask (its own validity check),
    and every GB 11643-valid 18-character window of the NFKC, upper-cased text."""
    found = []
    if mask_ids(text) != text:
        found.append("mask_ids masks something")
    normal = unicodedata.normalize("NFKC", text).upper()
    if len(normal) >= 18:
        found += [normal[i:i + 18] for i in valid_id_starts(normal)]
    return found


def csv_problems(text: str, name: str, header: tuple[str, ...] | None = None) -> tuple[list[str], int]:
    """Whether ``text`` parses as CSV with csv and polars, every row as wide as the header; and
    its number of data rows."""
    problems: list[str] = []
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [f"{name}: csv cannot read it: {exc}"], 0
    if not rows:
        return [f"{name}: no header"], 0
    if header is not None and tuple(rows[0]) != header:
        problems.append(f"{name}: header {rows[0]!r}")
    ragged = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
    if ragged:
        problems.append(f"{name}: rows {ragged[:5]} are not as wide as the header")
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    except Exception as exc:  # any failure to parse is the finding
        problems.append(f"{name}: polars cannot read it: {type(exc).__name__}: {str(exc)[:200]}")
    else:
        if frame.height != len(rows) - 1:
            problems.append(f"{name}: polars reads {frame.height} rows, csv {len(rows) - 1}")
        elif rows[1:] and frame.columns and frame.get_column(frame.columns[1]).fill_null("").to_list() != [
                r[1] for r in rows[1:]] and len(rows[0]) > 1:
            problems.append(f"{name}: polars reads other cells than csv")
    return problems, len(rows) - 1


# --- what the reader should make of a file ------------------------------------------------------

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")


def expected_rows(data: bytes, suffix: str, encoding: str) -> int | str:
    """The number of data rows of a claims file, counted as docs/claims.md says (CSV: the records
    :mod:`csv` reads after the header, blank lines before it skipped; JSON Lines: the lines that
    are not blank); or why the file as a whole cannot be read (then ``subsidy`` exits 2)."""
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    json_lines = suffix.lower() in JSON_SUFFIXES
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        # A CSV header without the required columns is refused before a bad byte further on.
        head = data.lstrip(b" \t\r\n").replace(b"\r", b"\n").split(b"\n", 1)[0]  # the first line, CR or LF
        try:
            head.decode(codec)
        except UnicodeDecodeError:
            return "undecodable"
        if not json_lines and expected_rows(data.decode(codec, errors="replace").encode(), suffix, "utf-8") == "header":
            return "header or undecodable"
        return "undecodable"
    if json_lines:
        return sum(1 for line in io.StringIO(text, newline=None) if line.strip())
    fh = io.StringIO(text, newline="")
    first = fh.readline()
    while first and not first.strip():
        first = fh.readline()
    try:
        rows = list(csv.reader(itertools.chain([first], fh)))
    except csv.Error:
        return "csv"
    header = rows[0] if rows else []
    if any(c not in header for c in REQUIRED):
        return "header"
    return sum(1 for r in rows[1:] if r)


# --- running subsidy ----------------------------------------------------------------------------


#: Engines by ``--disable``, kept while :func:`shared_engine` is in force (None: not kept).
_engines: dict[tuple[str, ...], object] | None = None
_build_engine = cli._engine


def _cached_engine(ctx, *, raise_catalog_errors: bool = False):  # type: ignore[no-untyped-def]
    key = tuple(ctx.obj["disable"])
    if _engines is not None and "engine" not in ctx.obj and key in _engines:
        ctx.obj["engine"] = _engines[key]
    engine = _build_engine(ctx, raise_catalog_errors=raise_catalog_errors)
    if _engines is not None:
        _engines[key] = engine
    return engine


@contextlib.contextmanager
def shared_engine() -> Iterator[None]:
    """Build the engine once for many runs on claims (the claims do not change it): a run then
    costs the reading and deciding only. :func:`check_catalog` builds its own."""
    global _engines
    saved = _engines
    _engines = {}
    cli._engine = _cached_engine  # type: ignore[assignment]
    try:
        yield
    finally:
        _engines = saved
        if saved is None:
            cli._engine = _build_engine  # type: ignore[assignment]


@contextlib.contextmanager
def _fresh_engine() -> Iterator[None]:
    global _engines
    saved = _engines
    _engines = None
    try:
        yield
    finally:
        _engines = saved


def scratch() -> Path:
    """A fresh folder for one run's files, in memory where there is a tmpfs (fsync is cheap)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="subsidy-fuzz-", dir=base))


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    crash: str | None = None

    def problems(self, what: str, allowed: tuple[int, ...] = (0, 1, 2)) -> list[str]:
        out = []
        if self.crash:
            out.append(f"{what}: {self.crash}")
        if self.code not in allowed:
            out.append(f"{what}: exit status {self.code}, not one of {allowed}")
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if "Traceback" in text:
                out.append(f"{what}: a traceback on {name}")
            leaks = leaked_ids(text)
            if leaks:
                out.append(f"{what}: a full resident id on {name}: {leaks[:3]}")
        return out


def invoke(args: list[str], env: dict[str, str] | None = None, *, process: bool = False) -> Run:
    """Run ``subsidy ARGS`` in-process (click's test runner), or as a process of its own."""
    if process:
        import subprocess
        import sys

        script = shutil.which("subsidy", path=os.path.dirname(sys.executable)) or "subsidy"
        done = subprocess.run([script, *args], capture_output=True, env={**os.environ, **ENV, **(env or {})},
                              timeout=600, check=False)
        text = [b.decode("utf-8", errors="backslashreplace") for b in (done.stdout, done.stderr)]
        return Run(done.returncode, text[0], text[1], "a traceback" if "Traceback" in text[1] else None)
    result = CliRunner().invoke(cli.main, args, env={**ENV, **(env or {})})
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        crash = "".join(traceback.format_exception(result.exception))[-1500:]
    return Run(result.exit_code, result.stdout, result.stderr, crash)


@dataclass
class Outcome:
    """What one case gave: its problems, and counts for the report."""

    problems: list[str] = field(default_factory=list)
    exit: int | None = None
    decisions: int = 0
    reported: int = 0


def check_claims(case: ClaimsCase, folder: Path | None = None, *, process: bool = False) -> Outcome:
    """Run ``subsidy evaluate`` (and maybe ``explain``) on the case, in-process or (``process``) as
    the ``subsidy`` command; every problem found."""
    own = folder is None
    folder = folder or scratch()
    try:
        return _check_claims(case, folder, process)
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _check_claims(case: ClaimsCase, folder: Path, process: bool = False) -> Outcome:
    from jinhua_subsidy.output import ERROR_FIELDS, OUTPUT_FIELDS

    path = folder / f"claims{case.suffix}"
    path.write_bytes(case.data)
    out, errors = folder / "decisions.out", folder / "errors.csv"
    args = ["evaluate", str(path), "--format", case.fmt, "--encoding", case.encoding, "--errors", str(errors)]
    if case.out:
        args += ["--out", str(out)]
    run = invoke(args, {"SUBSIDY_LOG_DIR": str(folder)}, process=process)
    got = Outcome(run.problems("evaluate"), run.code)
    problems = got.problems
    if path.read_bytes() != case.data:
        problems.append("evaluate changed the claims file")
    expected = expected_rows(case.data, case.suffix, case.encoding)
    if isinstance(expected, str):  # the file cannot be read as a whole
        if run.code != 2:
            problems.append(f"evaluate: exit {run.code} for a file that cannot be read ({expected}), not 2")
        if not any(ln.startswith("错误：") for ln in run.stderr.splitlines()):
            problems.append("evaluate: exit 2 without a 错误： line")
        if expected == "undecodable" and ("--encoding" not in run.stderr or "行" not in run.stderr):
            problems.append("evaluate: an undecodable file without its line and --encoding")
        if out.exists() or errors.exists():
            problems.append("evaluate: a refused file left an output file")
        return got
    if run.code not in (0, 1):
        problems.append(f"evaluate: exit {run.code} for a readable file of {expected} rows")
        return got
    texts = {"stdout": run.stdout}
    for name, p in (("--out", out), ("--errors", errors)):
        if p.exists():
            texts[name] = p.read_text(encoding="utf-8")
            leaks = leaked_ids(texts[name])
            if leaks:
                problems.append(f"evaluate: a full resident id in {name}: {leaks[:3]}")
        elif name == "--errors" or case.out:
            problems.append(f"evaluate: no {name} file")
            return got
    decisions_text = texts["--out"] if case.out else run.stdout
    if case.fmt == "csv":
        bad, got.decisions = csv_problems(decisions_text, "decisions", OUTPUT_FIELDS)
        problems += bad
    elif case.fmt == "jsonl":
        lines = decisions_text.split("\n")
        if lines[-1] != "":
            problems.append("decisions: JSON Lines do not end in a newline")
        for ln in lines[:-1]:
            try:
                json.loads(ln)
            except ValueError as exc:
                problems.append(f"decisions: a line that is no JSON: {exc}")
                break
        got.decisions = len(lines) - 1
    else:
        got.decisions = -1  # a table for people: not counted
    bad, got.reported = csv_problems(texts["--errors"], "--errors", ERROR_FIELDS)
    problems += bad
    if got.decisions >= 0 and got.decisions + got.reported != expected:
        problems.append(f"rows lost: {expected} data rows, {got.decisions} decisions + {got.reported} reported")
    if (run.code == 1) != (got.reported > 0):
        problems.append(f"evaluate: exit {run.code} with {got.reported} reported rows")
    if got.reported and f"{got.reported} 行无法处理" not in run.stderr:
        problems.append("evaluate: no summary line of the reported rows")
    if case.explain is not None:
        problems += invoke(["explain", str(path), "--claim", case.explain, "--encoding", case.encoding],
                           process=process).problems("explain")
    return got


#: Row errors of a region left with no catalog at all (no plugin serves it; nothing to evaluate).
#: A region that lacks only some sections is a ``coverage`` note of ``check``, not an error.
UNSERVED = ("尚无补贴目录：无插件", "缺少 subsidy_rates、subsidy_shortage、subsidy_eligibility、subsidy_funding")


def check_catalog(case: CatalogCase, folder: Path | None = None) -> Outcome:
    """Serve ``case`` as the urban catalog; run ``check`` and ``evaluate examples/claims.csv``."""
    own = folder is None
    folder = folder or scratch()
    import jinhua_subsidy.plugins.urban as urban
    from jinhua_subsidy.plugin_kit import CatalogPlugin

    original = urban.plugin
    try:
        return _check_catalog(case, folder, urban, CatalogPlugin)
    finally:
        urban.plugin = original
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _check_catalog(case: CatalogCase, folder: Path, urban: Any, plugin: Any) -> Outcome:
    with _fresh_engine():
        path = folder / "urban.toml"
        if case.data is None:
            path.mkdir()
        else:
            path.write_bytes(case.data)
        urban.plugin = plugin(path)
        check = invoke(["check"])
        got = Outcome(check.problems("check", allowed=(0, 1)), check.code)
        out, errors = folder / "d.csv", folder / "e.csv"
        run = invoke(["evaluate", str(EXAMPLE), "--format", "csv", "--out", str(out), "--errors", str(errors)],
                     {"SUBSIDY_LOG_DIR": str(folder)})
        got.problems += run.problems("evaluate")
        if run.code in (0, 1) and out.exists() and errors.exists():
            bad, got.decisions = csv_problems(out.read_text(encoding="utf-8"), "decisions")
            more, got.reported = csv_problems(errors.read_text(encoding="utf-8"), "--errors")
            got.problems += bad + more
            if got.decisions + got.reported != len(BASE_ROWS):
                got.problems.append(f"rows lost: {len(BASE_ROWS)} rows, {got.decisions} + {got.reported}")
            if check.code == 0 and any(m in errors.read_text(encoding="utf-8") for m in UNSERVED):
                got.problems.append("check passed a catalog that leaves a region without any catalog")
        elif run.code in (0, 1):
            got.problems.append("evaluate: no output files")
        if check.code == 0 and run.code == 2:
            got.problems.append(f"check passed a catalog that evaluation refuses: {run.stderr.strip()[:300]}")
        return got
