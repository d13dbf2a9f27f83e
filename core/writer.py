"""Writing a file's decisions fast, in the formats of :mod:`jinhua_subsidy.output`, byte for byte.

Each distinct outcome is written once by the reference writer with marker values for
the claim id and the amount; the text around the markers is the outcome's template.
A row's line is its template filled with its claim id (escaped as the reference
writer would) and its amount (formatted as :func:`~jinhua_subsidy.money.format_yuan`).
The lines are then assembled and written by polars. The table is built the same way:
each outcome's cells are padded once to the column widths (the widest claim id and
amount come from the columns), and only the claim id and amount are padded per row.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO

import numpy as np
import polars as pl
from attrs import evolve

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.evaluation import Result as BulkResult
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.output import (
    GAP,
    WRITERS,
    cut,
    display_width,
    table_cell,
    table_fields,
    table_header,
    table_layout,
    table_texts,
    table_width,
    write_csv,
    write_jsonl,
)
from jinhua_subsidy.privacy import mask_ids

#: Lines built and written at a time.
CHUNK_ROWS = 250_000
_CLAIM_MARK = "QQBULKCLAIMIDQQ"
_AMOUNT_MARK = 987654321098765  # fen → "9876543210987.65"
_ROW_MARK = 314159265358979
#: Builds the lines of a chunk from its outcomes, row numbers, claim ids and formatted amounts.
Line = Callable[[np.ndarray, pl.Series, pl.Series, pl.Series], list[pl.Expr | pl.Series]]
#: Characters after which the reference writers escape a claim id (a superset is safe).
_CSV_SPECIAL = r'[,"\r\n]'
_JSON_SPECIAL = r'[\x00-\x1f"\\]'
#: Claim ids that may hold a resident id (mask_ids has something to look at): the rest are shown as they are.
_MAYBE_ID = r"[^\x00-\x7F]|[0-9xX]{9,}"


def _csv_cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([text, ""])  # CRLF: a bare CR is quoted too
    return buf.getvalue()[:-3]


def _json_cell(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]  # the template has the quotes


def _templates(result: BulkResult, fmt: str) -> list[list[str]] | None:
    """The text before the row number, between it and the claim id, between the claim id and the
    amount, and after the amount, per outcome; None if the reference line does not have that shape
    (then the reference writer is used)."""
    pieces: list[list[str]] = [[], [], [], []]
    row, amount = str(_ROW_MARK), format_yuan(_AMOUNT_MARK)
    made: dict[object, tuple[str, str, str, str]] = {}  # outcomes that read the same share a template
    for o in result.outcomes:
        seen = (o.region, o.eligible, o.payee, o.channel, o.reasons, o.citations, o.status, o.allowance,
                o.allowance_channel)
        if seen in made:
            for p, text in zip(pieces, made[seen], strict=True):
                p.append(text)
            continue
        buf = io.StringIO()
        d = evolve(o.decision(_CLAIM_MARK, _AMOUNT_MARK), row=_ROW_MARK)
        (write_csv if fmt == "csv" else write_jsonl)([d], buf)
        line = buf.getvalue().split("\n", 1)[1] if fmt == "csv" else buf.getvalue()
        marks = (row, _CLAIM_MARK, amount)
        if any(line.count(m) != 1 for m in marks) or not line.index(row) < line.index(_CLAIM_MARK) < line.index(amount):
            return None
        head, rest = line.split(row)
        mid, rest = rest.split(_CLAIM_MARK)
        between, tail = rest.split(amount)
        made[seen] = (head, mid, between, tail)
        for p, text in zip(pieces, made[seen], strict=True):
            p.append(text)
    return pieces


def _claim_ids(ids: pl.Series, fmt: str) -> pl.Series:
    special = _CSV_SPECIAL if fmt == "csv" else _JSON_SPECIAL
    escape = _csv_cell if fmt == "csv" else _json_cell
    odd = ids.str.contains(special)
    if not odd.any():
        return ids
    at = odd.arg_true()
    return ids.clone().scatter(at, [escape(v) for v in ids.gather(at).to_list()])


def _amounts(fen: pl.Series) -> pl.Series:
    a = fen.abs()
    text = pl.concat_str([(a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)])
    return pl.select(pl.when(fen < 0).then(pl.lit("-") + text).otherwise(text)).to_series()


def write_result(result: BulkResult, fmt: str, out: TextIO | BinaryIO, chunk_rows: int = CHUNK_ROWS) -> None:
    """Write ``result`` as the reference writer ``WRITERS[fmt]`` would, to a text or binary file."""
    if fmt == "xlsx":  # a workbook (jinhua_subsidy.xlsx): decisions, row errors, notes
        from jinhua_subsidy.output import REGION_NAMES
        from jinhua_subsidy.xlsx import write_decisions_xlsx

        binary = out if not isinstance(out, io.TextIOBase) else getattr(out, "buffer", None)
        if binary is None or (binary.isatty() if hasattr(binary, "isatty") else False):
            raise OSError("xlsx 为二进制格式，请用 --out 指定文件")
        out.flush()
        write_decisions_xlsx(result, binary, REGION_NAMES, result.errors)  # type: ignore[arg-type]
        return
    made = _table(result) if fmt == "table" else _lines(result, fmt)
    if made is None:
        text = io.StringIO()
        WRITERS[fmt](decisions_with_rows(result), text)
        _put(out, text.getvalue())
        return
    header, line, ids = made
    _put(out, header)
    _write_lines(result, line, ids, out, chunk_rows)


def decisions_with_rows(result: BulkResult) -> Iterator[Decision]:
    """The decisions of a result, each with its row (line in the file)."""
    for d, row in zip(result.decisions(), result.rows.tolist(), strict=True):
        yield evolve(d, row=row)


def _lines(result: BulkResult, fmt: str) -> tuple[str, Line, pl.Series] | None:
    """The CSV header (JSON Lines: none), and a line builder; None if a template has another shape."""
    templates = _templates(result, fmt)
    if templates is None:
        return None
    header = io.StringIO()
    if fmt == "csv":
        write_csv([], header)
    heads, mids, betweens, tails = (pl.Series(t, dtype=pl.String) for t in templates)

    def line(outcome: np.ndarray, rows: pl.Series, claim_id: pl.Series, amount: pl.Series
             ) -> list[pl.Expr | pl.Series]:
        return [heads.gather(outcome), rows.cast(pl.String), mids.gather(outcome), _claim_ids(claim_id, fmt),
                betweens.gather(outcome), amount, tails.gather(outcome).str.strip_suffix("\n")]

    return header.getvalue(), line, result.claim_id


def _write_lines(result: BulkResult, line: Line, ids: pl.Series, out: TextIO | BinaryIO, chunk_rows: int) -> None:
    """Each decision's line, built by ``line`` from (outcomes, rows, claim ids, amounts) a chunk at a time."""
    binary = out if not isinstance(out, io.TextIOBase) else _bytes_beneath(out)
    if binary is not None:
        out.flush()
    for start in range(0, len(result), chunk_rows):  # in chunks: the lines of a chunk are built in memory
        part = slice(start, start + chunk_rows)
        lines = pl.select(pl.concat_str(line(result.outcome[part], pl.Series(result.rows[part]),
                                             ids[part], _amounts(pl.Series(result.amount[part])))))
        if binary is None:
            _put(out, lines.write_csv(include_header=False, quote_style="never", line_terminator="\n"))
        else:
            lines.write_csv(binary, include_header=False, quote_style="never", line_terminator="\n")


def _bytes_beneath(out: io.TextIOBase) -> BinaryIO | None:
    """The binary file under a text file (stdout) when writing to it directly gives the same bytes."""
    utf8 = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "") == "utf8"
    return getattr(out, "buffer", None) if utf8 and os.linesep == "\n" else None


def _display_widths(text: pl.Series) -> pl.Series:
    """output.display_width of each text: wide (CJK) characters count two."""
    return text.str.len_chars() + text.str.count_matches(r"[\x{2E81}-\x{10FFFF}]")


def _table(result: BulkResult) -> tuple[str, Line, pl.Series] | None:
    """output.write_table's header, and a line builder. Each outcome's cells are laid out once;
    per row only the row number, the claim id (cut to its column, masked) and the amount."""
    cells = [table_texts({"row": 0, **o.decision("", 0).record()}) for o in result.outcomes]
    used = np.unique(result.outcome).tolist()
    columns = table_fields(any(cells[o]["allowance"] for o in used))
    names = [f for f, _, _ in columns]
    if names[:2] != ["row", "claim_id"] or "amount" not in names:  # pragma: no cover - the shape of output.py
        return None
    at = names.index("amount")
    ids = result.claim_id
    odd = ids.str.contains(_MAYBE_ID)
    if odd.any():
        where = odd.arg_true()
        ids = ids.clone().scatter(where, [mask_ids(v) for v in ids.gather(where).to_list()])
    widest = {f: max((display_width(cells[o][f]) for o in used), default=0) for f in names}
    if len(result):
        widest["row"] = len(str(int(result.rows.max())))
        widest["claim_id"] = int(_display_widths(ids).to_numpy().max())
        widest["amount"] = max(len(format_yuan(int(a))) for a in (result.amount.min(), result.amount.max()))
    widths = table_layout(widest, columns, table_width())
    right = {f: r for f, _, r in columns}

    def cell(text: str, f: str) -> str:
        return table_cell(text, widths[f], right[f])

    sep = " " * widths[GAP]
    between = ["".join(sep + cell(c[f], f) for f in names[2:at]) + sep for c in cells]
    tails = [("".join(sep + cell(c[f], f) for f in names[at + 1:])).rstrip() for c in cells]
    mids, ends = pl.Series(between, dtype=pl.String), pl.Series(tails, dtype=pl.String)
    claim_w = widths["claim_id"]

    def line(outcome: np.ndarray, rows: pl.Series, claim_id: pl.Series, amount: pl.Series
             ) -> list[pl.Expr | pl.Series]:
        part = claim_id
        wide = _display_widths(part)
        long = wide > claim_w
        if long.any():
            where = long.arg_true()
            part = part.clone().scatter(where, [cut(v, claim_w) for v in part.gather(where).to_list()])
            wide = _display_widths(part)
        return [rows.cast(pl.String).str.pad_start(widths["row"]), pl.lit(sep), part,
                pl.lit(" " * claim_w).str.slice(0, claim_w - wide), mids.gather(outcome),
                amount.str.pad_start(widths["amount"]), ends.gather(outcome)]

    return table_header(columns, widths), line, ids


def _put(out: TextIO | BinaryIO, text: str) -> None:
    if isinstance(out, io.TextIOBase):
        out.write(text)
    else:
        out.write(text.encode("utf-8"))  # type: ignore[arg-type]
