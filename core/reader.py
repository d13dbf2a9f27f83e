"""Reading a claims file into columns, a chunk of rows at a time.

A plain CSV file (no quotes, no blank lines, no bare carriage returns) is cut at line
ends into chunks that polars reads, every column as a string; data row ``i`` is line
``i + 2``, as ``csv.DictReader.line_num`` gives. Any other file (JSON Lines, quoted
fields that may hold newlines, blank lines, a header the row reader would refuse)
is read row by row by the row reader (:func:`jinhua_subsidy.claims.read_rows`)
and put into the same columns, so both give the same cells and row numbers. A plain
file found not to be plain after all, in a later chunk, raises :class:`NotPlain`, and
the caller starts again with the row reader.

Cells are stripped as :meth:`str.strip` does and an empty cell is null (absent).
"""

from __future__ import annotations

import codecs
import csv
import functools
import gc
from collections.abc import Iterator
from pathlib import Path

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
    fast = plain and encoding == "utf-8" and path.suffix.lower() not in JSON_SUFFIXES
    chunks = _plain_chunks(path, chunk_rows) if fast else None
    yield from chunks if chunks is not None else _chunks_by_rows(path, chunk_rows, encoding)


def _plain_chunks(path: Path, chunk_rows: int) -> Iterator[ClaimsFrame] | None:
    """polars' reader for a plain file; None when the file needs the row reader."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if not data or data[:1] in (b"\n", b"\r") or b'"' in data:
        return None
    # What is not printable ASCII: newlines, whitespace, control and non-ASCII bytes (small).
    rest = data.translate(None, _ASCII_PRINTABLE)
    if b"\x00" in rest or (b"\r" in rest and rest.count(b"\r") != data.count(b"\r\n")):
        return None
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    try:
        header = data[:end].rstrip(b"\r").decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    if len(set(header)) != len(header) or any(c not in header for c in REQUIRED):
        return None
    spaced = any(s in rest for s in _SPACES)
    return _cut(data, end + 1, header, chunk_rows, spaced)


def _cut(data: bytes, start: int, header: list[str], chunk_rows: int, spaced: bool) -> Iterator[ClaimsFrame]:
    line = 2
    sample = min(2**20, len(data) - start)
    size = max(1, sample // max(1, data.count(b"\n", start, start + sample)))  # bytes a line
    while start < len(data):
        cut = data.find(b"\n", start + chunk_rows * size)
        cut = len(data) if cut < 0 else cut + 1
        try:
            df = pl.read_csv(data[start:cut], has_header=False, new_columns=header, infer_schema=False,
                             truncate_ragged_lines=True, raise_if_empty=False)
        except Exception as exc:  # undecodable, malformed: the row reader says why
            raise NotPlain(str(exc)) from None
        # A blank line is no row for csv.DictReader but a row of nulls for polars.
        if df.height and df.select(pl.all_horizontal(pl.all().is_null()).any()).item():
            raise NotPlain("a row of empty cells")
        df = df.select([pl.col(c) if c in header else pl.lit(None, dtype=pl.String).alias(c) for c in COLUMNS]
                       + [c for c in header if c not in COLUMNS])  # extra columns reach plugins
        if spaced:
            df = _strip(df)
        yield ClaimsFrame(df, np.arange(line, line + df.height, dtype=np.int64), [])
        line += df.height
        start = cut
    if line == 2:  # a header alone
        yield ClaimsFrame(pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in COLUMNS}),
                          np.zeros(0, dtype=np.int64), [])


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
