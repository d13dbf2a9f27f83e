"""Reading a claims file into columns, a chunk of rows at a time.

A UTF-8 CSV file is read a block of bytes at a time (memory stays bounded) and cut at record
ends, found in the bytes: newlines outside quotes. polars reads each block, every column as a
string, quoted cells (with newlines inside them), CRLF line ends, blank lines and a byte order
mark included; each record's row number is the line it ends on, as ``csv.DictReader.line_num``
gives. Any other file (JSON Lines, GBK/GB18030, a header polars would read differently) is read
row by row by the row reader (:func:`jinhua_subsidy.claims.read_rows`) and put into the same
columns. A block found unsafe for polars (a NUL, a bare carriage return, an undecodable byte)
raises :class:`NotPlain`, and the caller starts again with the row reader.

Cells are stripped as :meth:`str.strip` does and an empty cell is null (absent).
"""

from __future__ import annotations

import codecs
import csv
import functools
import gc
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy.claims import COLUMNS, REQUIRED, ClaimsFileError, RowError, read_rows

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_EDGE_SPACE = r"^[\s\x1c-\x1f]|[\s\x1c-\x1f]$"
#: Whitespace that str.strip removes: ASCII bytes, and the UTF-8 lead bytes of the others.
_SPACES = (b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"\xc2\x85", b"\xc2\xa0",
           b"\xe1\x9a\x80", b"\xe2\x80", b"\xe2\x81\x9f", b"\xe3\x80\x80")
_ASCII_PRINTABLE = bytes(range(0x21, 0x7F))


class NotPlain(Exception):
    """A file read as plain CSV that turns out not to be (a blank line, bytes polars refuses)."""


@frozen
class ClaimsFrame:
    """Cells of consecutive rows: one nullable string column per contract column.

    ``rows`` holds each row's line number; ``errors`` the lines that are no row at all
    (a JSON Lines line that is not an object).
    """

    df: pl.DataFrame
    rows: np.ndarray
    errors: list[RowError]

    @property
    def height(self) -> int:
        return self.df.height


def read_chunks(path: Path, chunk_rows: int, *, plain: bool = True, encoding: str = "utf-8"
                ) -> Iterator[ClaimsFrame]:
    """The claims of ``path`` in chunks of about ``chunk_rows`` rows. Raises ClaimsFileError as the
    row reader does, and NotPlain (plain files only) as explained above. ``encoding``: utf-8 (a
    BOM accepted), gbk or gb18030 (read by the row reader)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):  # an Excel workbook: its sheet's rows (jinhua_subsidy.xlsx)
        from jinhua_subsidy.xlsx import read_chunks as read_sheet

        yield from read_sheet(path, chunk_rows)
        return
    fast = plain and encoding == "utf-8"
    json = path.suffix.lower() in JSON_SUFFIXES
    chunks = (_json_chunks(path, chunk_rows) if json else _plain_chunks(path, chunk_rows)) if fast else None
    yield from chunks if chunks is not None else _chunks_by_rows(path, chunk_rows, encoding)


def _json_chunks(path: Path, chunk_rows: int) -> Iterator[ClaimsFrame] | None:
    """JSON Lines read in columns by polars, a block at a time; NotPlain for any line the row
    reader must judge (not an object, a key twice, nesting, a lone surrogate, a huge number)."""
    try:
        fh = path.open("rb")
    except OSError:
        return None
    return _json_blocks(fh, chunk_rows)


def _json_blocks(fh: Any, chunk_rows: int) -> Iterator[ClaimsFrame]:
    line = 1
    rest = b""
    first = True
    yielded = False
    with fh:
        while True:
            more = fh.read(BLOCK_BYTES)
            block = rest + more
            if not block:
                break
            cut = block.rfind(b"\n") + 1 if more else len(block)
            if cut == 0:
                rest = block
                continue
            part, rest = block[:cut], block[cut:]
            if first and part.startswith(codecs.BOM_UTF8):
                part = part[len(codecs.BOM_UTF8):]
            first = False
            frame, line = _json_frame(part, line)
            if frame.height:
                yield from _split(frame, chunk_rows)
                yielded = True
            if not more:
                break
    if not yielded:
        yield ClaimsFrame(pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in COLUMNS}),
                          np.zeros(0, dtype=np.int64), [])


#: A key of a JSON object (its text between quotes, before a colon).
_JSON_KEY = r'"((?:[^"\\]|\\.)*)"\s*:'


def _json_frame(part: bytes, line: int) -> tuple[ClaimsFrame, int]:
    if b"\x1f" in part:  # the separator that reads whole lines below
        raise NotPlain("a unit separator byte")
    try:  # every line as one cell (a blank line null), read by polars, UTF-8 checked
        s = pl.read_csv(part, has_header=False, separator="\x1f", quote_char=None, new_columns=["line"],
                        infer_schema=False, raise_if_empty=False).get_column("line").fill_null("").str.strip_chars()
    except Exception as exc:
        raise NotPlain(str(exc)) from None
    if len(s) != part.count(b"\n") + (0 if part.endswith(b"\n") or not part else 1):
        raise NotPlain("polars read another number of lines")
    numbers = np.arange(line, line + len(s), dtype=np.int64)
    next_line = line + len(s)
    keep = (s.str.len_bytes() > 0).to_numpy()
    s, numbers = s.filter(pl.Series(keep)), numbers[keep]
    odd = (
        (~s.str.starts_with("{") | ~s.str.ends_with("}")).any(),
        (s.str.count_matches(r"[\[{]") > 2).any(),  # nested values: the row reader's business
        s.str.contains(r"\\u[dD][89abAB]").any(),  # a lone surrogate escape, perhaps
        s.str.contains(r"[0-9]{300}").any(),  # a number of hundreds of digits
        # A number polars would not give back as written: an exponent, or past int64.
        s.str.contains(r"[:,\[]\s*-?[0-9.]+[eE]|[:,\[]\s*-?[0-9]{19}").any(),
    )
    if any(odd):
        raise NotPlain("a line the row reader must judge")
    keys = (pl.DataFrame({"line": np.arange(len(s)), "key": s.str.extract_all(_JSON_KEY)}).explode("key")
            .drop_nulls().with_columns(pl.col("key").str.replace(r'"\s*:$', "").str.slice(1)))
    if keys.select(pl.struct("line", "key").is_duplicated().any()).item():
        raise NotPlain("a key given twice")
    names = keys.get_column("key").unique(maintain_order=True).to_list()
    if any("\\" in k for k in names):
        raise NotPlain("an escaped key")
    # A list is accepted for a set column (employer_tags, groups): its items joined by ";".
    listed = set(s.str.extract_all(r'"[^"\\]*"\s*:\s*\[').explode().drop_nulls()
                 .str.replace(r'"\s*:\s*\[$', "").str.slice(1).to_list())
    schema = {n: pl.List(pl.String) if n in listed else pl.String for n in names}
    try:
        # No key at all ({} or blank lines only): one absent cell a line (a frame of no columns
        # would give the literal columns below one row, whatever its height).
        df = (pl.read_ndjson(io.BytesIO(part), schema=schema) if names
              else pl.DataFrame({"claim_id": pl.Series([None] * len(s), dtype=pl.String)}))
    except Exception as exc:  # not JSON after all, or a key both a list and not
        raise NotPlain(str(exc)) from None
    if df.height != len(s):
        raise NotPlain("polars read another number of lines")
    if listed:
        df = df.with_columns(pl.col(c).list.join(";") for c in listed)
    df = _strip(df)
    empty = [c for c in df.columns if (df.get_column(c) == "").any()]
    if empty:
        df = df.with_columns(pl.col(c).replace("", None) for c in empty)
    df = df.select([pl.col(c) if c in df.columns else pl.lit(None, dtype=pl.String).alias(c) for c in COLUMNS]
                   + [c for c in df.columns if c not in COLUMNS])
    return ClaimsFrame(df, numbers, []), next_line


#: Bytes read at a time by the columnar CSV reader: memory stays bounded whatever the file's size.
BLOCK_BYTES = 32 * 2**20


def _plain_chunks(path: Path, chunk_rows: int) -> Iterator[ClaimsFrame] | None:
    """polars' reader, a block of bytes at a time; None when the file needs the row reader (a
    header it would refuse, an unreadable file)."""
    try:
        fh = path.open("rb")
    except OSError:
        return None
    head = fh.read(BLOCK_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    skipped = 0  # blank lines before the header (the row reader skips them too)
    while head[:1] in (b"\n", b"\r") and head:
        head = head[2:] if head.startswith(b"\r\n") else head[1:]
        skipped += 1
    end = head.find(b"\n")
    # A quote, a NUL or a bare carriage return (a line end for the csv module) in the header line:
    # the row reader decides what the header is.
    # A NUL, a bare carriage return (a line end for the csv module) or a quoted name holding a
    # line end in the header line: the row reader decides what the header is.
    first = head[:end]
    if end < 0 or b"\x00" in first or b"\r" in first.removesuffix(b"\r") or first.count(b'"') % 2:
        fh.close()
        return None
    try:
        text = first.rstrip(b"\r").decode("utf-8")
        header = next(csv.reader([text])) if '"' in text else text.split(",")
    except (UnicodeDecodeError, csv.Error, StopIteration):
        fh.close()
        return None
    if len(set(header)) != len(header) or any(c not in header for c in REQUIRED):
        fh.close()
        return None
    return _blocks(fh, head[end + 1:], header, chunk_rows, first_line=skipped + 2)


def _record_ends(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Positions of every newline of ``block``, and which of them end a record: those outside
    quotes (an even number of quote characters before them; ``""`` inside a quoted cell counts
    two)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == 34)
    if not len(quotes):
        return newlines, np.ones(len(newlines), dtype=bool)
    return newlines, np.searchsorted(quotes, newlines) % 2 == 0


def _blocks(fh: Any, rest: bytes, header: list[str], chunk_rows: int, first_line: int) -> Iterator[ClaimsFrame]:
    line = first_line  # the line the next record starts on
    yielded = False
    with fh:
        while True:
            more = fh.read(BLOCK_BYTES)
            block = rest + more
            if not block:
                break
            newlines, ends = _record_ends(block)
            at_end = not more and not fh.peek(1) if hasattr(fh, "peek") else not more
            cut_at = newlines[ends]
            if at_end:
                cut = len(block)
            elif len(cut_at):
                cut = int(cut_at[-1]) + 1
            else:  # one record longer than a block: read on
                rest = block
                continue
            rest = block[cut:]
            part = block[:cut]
            frame, line = _frame(part, newlines[newlines < cut], ends[newlines < cut], header, line)
            if frame.height:
                yield from _split(frame, chunk_rows)
                yielded = True
            if at_end:
                break
    if not yielded:  # a header alone
        yield ClaimsFrame(pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in COLUMNS}),
                          np.zeros(0, dtype=np.int64), [])


def _split(frame: ClaimsFrame, chunk_rows: int) -> Iterator[ClaimsFrame]:
    for start in range(0, frame.height, chunk_rows):
        yield ClaimsFrame(frame.df.slice(start, chunk_rows), frame.rows[start:start + chunk_rows], [])


def _frame(part: bytes, newlines: np.ndarray, ends: np.ndarray, header: list[str], line: int
           ) -> tuple[ClaimsFrame, int]:
    """The records of ``part`` (whole records) as cells, each with the line it ends on, as
    ``csv.DictReader.line_num`` gives; blank lines are no records. Raises NotPlain where polars and
    the csv module could read the bytes differently (a NUL, a bare carriage return)."""
    rest = part.translate(None, _ASCII_PRINTABLE)  # what is not printable ASCII (small)
    if b"\x00" in rest or (b"\r" in rest and rest.count(b"\r") != part.count(b"\r\n")):
        raise NotPlain("a NUL byte or a bare carriage return")
    record_end = newlines[ends]
    if not len(record_end) or record_end[-1] != len(part) - 1:  # the last record has no newline
        record_end = np.append(record_end, len(part))
    starts = np.r_[0, record_end[:-1] + 1]
    length = record_end - starts
    crlf = np.zeros(len(length), dtype=bool)
    inside = record_end < len(part)
    crlf[inside] = np.frombuffer(part, dtype=np.uint8)[np.maximum(record_end[inside] - 1, 0)] == 13
    blank = (length == 0) | ((length == 1) & crlf)
    # Each record's last line: the newlines before its end, counted from where the part starts.
    last_line = line + np.searchsorted(newlines, record_end, side="left")
    try:
        df = pl.read_csv(part, has_header=False, new_columns=header, infer_schema=False,
                         truncate_ragged_lines=True, raise_if_empty=False)
    except Exception as exc:  # undecodable, malformed: the row reader says why
        raise NotPlain(str(exc)) from None
    if df.height != len(record_end) - (1 if length[-1] == 0 and not inside[-1] else 0):
        raise NotPlain("polars and the record ends disagree")
    keep = ~blank[:df.height]
    if not keep.all():
        df = df.filter(pl.Series(keep))
    if b'"' in part:  # a quoted empty cell is absent too
        df = df.with_columns(pl.col(c).replace("", None) for c in df.columns)
    df = df.select([pl.col(c) if c in header else pl.lit(None, dtype=pl.String).alias(c) for c in COLUMNS]
                   + [c for c in header if c not in COLUMNS])  # extra columns reach plugins
    if any(s in rest for s in _SPACES):
        df = _strip(df)
    rows = last_line[:len(keep)][keep]
    next_line = line + len(newlines)
    return ClaimsFrame(df, rows.astype(np.int64), []), next_line


@functools.cache
def python_whitespace() -> str:
    """Every character :meth:`str.strip` removes (str.isspace), for polars' strip_chars."""
    return "".join(chr(i) for i in range(0x110000) if chr(i).isspace())


def _strip(df: pl.DataFrame) -> pl.DataFrame:
    edged = [c for c in df.columns if df[c].str.contains(_EDGE_SPACE).any()]
    if not edged:
        return df
    return df.with_columns(
        pl.col(c).str.strip_chars(python_whitespace()).replace("", None) for c in edged
    )


def _chunks_by_rows(path: Path, chunk_rows: int, encoding: str = "utf-8") -> Iterator[ClaimsFrame]:
    """The row reader's rows, as columns, a chunk at a time."""
    rows = read_rows(path, encoding)
    first = True
    while True:
        frame = _read_by_rows(path, rows, chunk_rows)
        if frame.height or frame.errors or first:
            yield frame
        if frame.height < chunk_rows:
            return
        first = False


def _read_by_rows(path: Path, rows: Iterator[tuple[int, dict[str, str]]], limit: int) -> ClaimsFrame:
    cells: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    numbers: list[int] = []
    errors: list[RowError] = []
    collecting = gc.isenabled()
    gc.disable()  # many small objects and no cycles: collections would only cost time
    try:
        for n, raw in rows:
            if "__error__" in raw:
                errors.append(RowError(n, "", raw["__error__"]))
                continue
            for k in raw:  # an extra column, first met in this row
                if k is not None and k not in cells:
                    cells[k] = [None] * len(numbers)
            numbers.append(n)
            for c, column in cells.items():  # cells stripped, an empty cell absent
                v = raw.get(c)
                column.append(None if v is None else str(v).strip() or None)
            if len(numbers) >= limit:
                break
    except OSError as exc:
        raise ClaimsFileError(f"{path}：无法读取：{exc.strerror}") from None
    except csv.Error as exc:
        raise ClaimsFileError(f"{path}：无法按 CSV 读取：{exc}") from None
    finally:
        if collecting:
            gc.enable()
    df = pl.DataFrame({c: pl.Series(c, v, dtype=pl.String) for c, v in cells.items()})
    return ClaimsFrame(df, np.array(numbers, dtype=np.int64), errors)
