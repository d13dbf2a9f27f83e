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
from collections.abc import Callable
from typing import BinaryIO, TextIO

import numpy as np
import polars as pl

from jinhua_subsidy.decision import FIELDS
from jinhua_subsidy.evaluation import Result as BulkResult
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.output import WRITERS, csv_cells, display_width, write_csv, write_jsonl

#: Lines built and written at a time.
CHUNK_ROWS = 250_000
_CLAIM_MARK = "QQBULKCLAIMIDQQ"
_AMOUNT_MARK = 987654321098765  # fen → "9876543210987.65"
#: Builds the lines of a chunk from its outcomes, claim ids and formatted amounts.
Line = Callable[[np.ndarray, pl.Series, pl.Series], list[pl.Expr | pl.Series]]
#: Characters after which the reference writers escape a claim id (a superset is safe).
_CSV_SPECIAL = r'[,"\r\n]'
_JSON_SPECIAL = r'[\x00-\x1f"\\]'


def _csv_cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text, ""])
    return buf.getvalue()[:-2]


def _json_cell(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]  # the template has the quotes


def _templates(result: BulkResult, fmt: str) -> tuple[list[str], list[str], list[str]] | None:
    """(before claim id, between claim id and amount, after amount) per outcome; None if the
    reference line does not have that shape (then the reference writer is used)."""
    heads, mids, tails = [], [], []
    amount = format_yuan(_AMOUNT_MARK)
    for o in result.outcomes:
        buf = io.StringIO()
        d = o.decision(_CLAIM_MARK, _AMOUNT_MARK)
        (write_csv if fmt == "csv" else write_jsonl)([d], buf)
        line = buf.getvalue().split("\n", 1)[1] if fmt == "csv" else buf.getvalue()
        if line.count(_CLAIM_MARK) != 1 or line.count(amount) != 1 or line.index(_CLAIM_MARK) > line.index(amount):
            return None
        head, rest = line.split(_CLAIM_MARK)
        mid, tail = rest.split(amount)
        heads.append(head)
        mids.append(mid)
        tails.append(tail)
    return heads, mids, tails


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
    made = _table(result) if fmt == "table" else _lines(result, fmt)
    if made is None:
        text = io.StringIO()
        WRITERS[fmt](result.decisions(), text)
        _put(out, text.getvalue())
        return
    header, line = made
    _put(out, header)
    _write_lines(result, line, out, chunk_rows)


def _lines(result: BulkResult, fmt: str) -> tuple[str, Line] | None:
    """The CSV header (JSON Lines: none), and a line builder; None if a template has another shape."""
    templates = _templates(result, fmt)
    if templates is None:
        return None
    header = io.StringIO()
    if fmt == "csv":
        write_csv([], header)
    heads, mids, tails = (pl.Series(t, dtype=pl.String) for t in templates)

    def line(outcome: np.ndarray, claim_id: pl.Series, amount: pl.Series) -> list[pl.Expr | pl.Series]:
        return [heads.gather(outcome), _claim_ids(claim_id, fmt), mids.gather(outcome), amount,
                tails.gather(outcome).str.strip_suffix("\n")]

    return header.getvalue(), line


def _write_lines(result: BulkResult, line: Line, out: TextIO | BinaryIO, chunk_rows: int) -> None:
    """Each decision's line, built by ``line`` from (outcomes, claim ids, amounts) a chunk at a time."""
    binary = out if not isinstance(out, io.TextIOBase) else _bytes_beneath(out)
    if binary is not None:
        out.flush()
    for start in range(0, len(result), chunk_rows):  # in chunks: the lines of a chunk are built in memory
        part = slice(start, start + chunk_rows)
        lines = pl.select(pl.concat_str(line(result.outcome[part], result.claim_id[part],
                                              _amounts(pl.Series(result.amount[part])))))
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


def _table(result: BulkResult) -> tuple[str, Line] | None:
    """output.write_table's header, and a line builder; None if FIELDS has another shape."""
    if FIELDS[0] != "claim_id" or "amount" not in FIELDS[1:]:  # pragma: no cover - the shape of decision.py
        return None
    at = FIELDS.index("amount")
    cells = [csv_cells(o.decision("", 0).record()) for o in result.outcomes]
    used = np.unique(result.outcome).tolist()
    ids = result.claim_id
    widths = [max([len(f), *(display_width(cells[o][i]) for o in used)]) for i, f in enumerate(FIELDS)]
    if len(result):  # the claim id and amount columns: their widest cells
        widths[0] = max(len(FIELDS[0]), int(_display_widths(ids).to_numpy().max()))
        widths[at] = max(len(FIELDS[at]), *(len(format_yuan(int(a))) for a in (result.amount.min(),
                                                                               result.amount.max())))
    header = "  ".join(h.ljust(w) for h, w in zip(FIELDS, widths, strict=True)).rstrip() + "\n"

    def pad(text: str, width: int) -> str:
        return text + " " * (width - display_width(text))

    between = ["  " + "".join(pad(c[i], widths[i]) + "  " for i in range(1, at)) for c in cells]
    tails = [("".join("  " + pad(c[i], widths[i]) for i in range(at + 1, len(FIELDS)))).rstrip() for c in cells]
    mids, ends = pl.Series(between, dtype=pl.String), pl.Series(tails, dtype=pl.String)
    padded = pl.Series([bool(t) for t in tails], dtype=pl.Boolean)  # else the amount ends the line
    spaces = pl.lit(" " * widths[0])

    def line(outcome: np.ndarray, claim_id: pl.Series, amount: pl.Series) -> list[pl.Expr | pl.Series]:
        wide = _display_widths(claim_id)
        amount_cell = pl.when(padded.gather(outcome)).then(amount.str.pad_end(widths[at])).otherwise(amount)
        return [claim_id, spaces.str.slice(0, widths[0] - wide), mids.gather(outcome), amount_cell,
                ends.gather(outcome)]

    return header, line


def _put(out: TextIO | BinaryIO, text: str) -> None:
    if isinstance(out, io.TextIOBase):
        out.write(text)
    else:
        out.write(text.encode("utf-8"))  # type: ignore[arg-type]
