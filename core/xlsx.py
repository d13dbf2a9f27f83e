"""Excel in and out (openpyxl).

**In.** A claims file ending in ``.xlsx`` is read from its first sheet, or the sheet named by
``--sheet`` (:func:`reading_sheet`), into the same columns as a CSV file
(:class:`~jinhua_subsidy.reader.ClaimsFrame`): row 1 is the header, and a claim's row number is its
row in the sheet, so every message names the row a clerk sees. Cells become the text a CSV would
hold: an Excel date is ``YYYY-MM-DD`` (a date with a time of day keeps it, and is then refused as
a date), a number its shortest exact decimal (``20``, ``5000.5``), TRUE/FALSE ``true``/``false``.
A resident id typed as a number has lost its digits in Excel (15 significant digits): it fails its
check digit and is reported; type ids as text.

**Out.** A report (:class:`~jinhua_subsidy.report.Report`) or a file's decisions become one
workbook: a sheet per table and a sheet 说明与来源 for the notes and sources; Chinese headers, the
header row frozen, an autofilter, yuan as numbers with two decimals, provisional cells shaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import numpy as np
import polars as pl

from jinhua_subsidy.claims import COLUMNS, REQUIRED, ClaimsFileError

if TYPE_CHECKING:
    from jinhua_subsidy.evaluation import Result
    from jinhua_subsidy.report import Report

T = TypeVar("T")
SUFFIXES = (".xlsx", ".xlsm")
_SHEET: ContextVar[str | None] = ContextVar("subsidy_xlsx_sheet", default=None)
YUAN_FORMAT = "#,##0.00"
PROVISIONAL_FILL = "FFF3CD"
NO_CATALOG_FILL = "EEEEEE"
HEADER_FILL = "DDE7F0"
#: Rows of a sheet (Excel's limit is 1,048,576 with the header): more decisions go on more sheets.
SHEET_ROWS = 1_000_000
NOTES_SHEET = "说明与来源"
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


@contextmanager
def reading_sheet(name: str | None) -> Iterator[None]:
    """Within the block, .xlsx claims files are read from sheet ``name`` (None: the first)."""
    token = _SHEET.set(name)
    try:
        yield
    finally:
        _SHEET.reset(token)


def in_sheet(name: str | None, run: Callable[[], T]) -> T:
    """``run()`` with .xlsx claims files read from sheet ``name`` (None: the first)."""
    with reading_sheet(name):
        return run()


def is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def cell_text(value: Any) -> str | None:
    """An Excel cell as the text a CSV cell would hold (None: empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value).strip()
    return text or None


def read_chunks(path: Path, chunk_rows: int) -> Iterator[Any]:
    """The claims of an .xlsx file as :class:`~jinhua_subsidy.reader.ClaimsFrame` chunks."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from jinhua_subsidy.reader import ClaimsFrame

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise ClaimsFileError(f"{path}：无法读取 Excel 文件：{exc}") from None
    try:
        wanted = _SHEET.get()
        if wanted is None:
            ws = wb.worksheets[0]
        elif wanted in wb.sheetnames:
            ws = wb[wanted]
        else:
            raise ClaimsFileError(f"{path}：没有工作表 {wanted!r}（有：{'、'.join(wb.sheetnames)}）")
        rows = ws.iter_rows(min_row=1, values_only=True)
        first = next(rows, None)
        header = [cell_text(v) or "" for v in (first or ())]
        while header and not header[-1]:
            header.pop()
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ClaimsFileError(f"{path}：工作表 {ws.title} 表头缺少列 {', '.join(missing)}（见 docs/claims.md）")
        named = [(i, h) for i, h in enumerate(header) if h]
        seen: set[str] = set()
        for _, h in named:
            if h in seen:
                raise ClaimsFileError(f"{path}：工作表 {ws.title} 表头列 {h} 重复")
            seen.add(h)
        extra = [h for _, h in named if h not in COLUMNS]
        names = [*COLUMNS, *extra]
        cells: dict[str, list[str | None]] = {n: [] for n in names}
        numbers: list[int] = []
        sent = False
        for n, values in enumerate(rows, start=2):
            texts = {h: cell_text(values[i]) if i < len(values) else None for i, h in named}
            if all(v is None for v in texts.values()):
                continue  # a blank row is no claim (its number is still counted)
            numbers.append(n)
            for h in names:
                cells[h].append(texts.get(h))
            if len(numbers) >= chunk_rows:
                yield ClaimsFrame(_frame(cells, names), np.array(numbers, dtype=np.int64), [])
                cells = {h: [] for h in names}
                numbers = []
                sent = True
        if numbers or not sent:
            yield ClaimsFrame(_frame(cells, names), np.array(numbers, dtype=np.int64), [])
    finally:
        wb.close()


def _frame(cells: dict[str, list[str | None]], names: list[str]) -> pl.DataFrame:
    return pl.DataFrame({n: pl.Series(n, cells[n], dtype=pl.String) for n in names})


# --- writing ----------------------------------------------------------------------------------


def sheet_title(text: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = text.translate(_BAD_SHEET_CHARS)[:31] or "表"
    name, n = base, 2
    while name in taken:
        suffix = f"（{n}）"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


class _Styles:
    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.header_font = Font(bold=True)
        self.header_fill = PatternFill("solid", fgColor=HEADER_FILL)
        self.provisional = PatternFill("solid", fgColor=PROVISIONAL_FILL)
        self.no_catalog = PatternFill("solid", fgColor=NO_CATALOG_FILL)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.differs = Font(bold=True, color="C0392B")


def _cell(ws: Any, value: Any, styles: _Styles, *, number_format: str | None = None, fill: Any = None,
          font: Any = None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    c = WriteOnlyCell(ws, value=value)
    if number_format:
        c.number_format = number_format
    if fill is not None:
        c.fill = fill
    if font is not None:
        c.font = font
    return c


def _excel_value(value: Any, type_: str) -> tuple[Any, str | None]:
    from jinhua_subsidy.privacy import mask_ids

    if value is None:
        return None, None
    if isinstance(value, str):
        return mask_ids(value), None
    if type_ == "yuan":
        return Decimal(int(value)) / 100, YUAN_FORMAT
    if type_ == "percent":
        return Decimal(value), "0.00%"
    if type_ == "decimal":
        return Decimal(value), None
    if type_ == "int":
        return int(value), "0"
    return mask_ids(str(value)), None


def _finish(ws: Any, columns: int, rows: int) -> None:
    from openpyxl.utils import get_column_letter

    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows, 1) + 1}"


def _widths(ws: Any, widths: list[int]) -> None:
    """Column widths, and the header row frozen (write-only sheets: before the first row)."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, w + 2))


def write_report_xlsx(report: Report, out: BinaryIO) -> None:
    from openpyxl import Workbook

    from jinhua_subsidy.report import LEGEND, STATE_TEXT, display_width

    wb = Workbook(write_only=True)
    styles = _Styles()
    taken: set[str] = {NOTES_SHEET}
    for t in report.tables:
        ws = wb.create_sheet(sheet_title(t.title, taken))
        widths = [display_width(c.title) for c in t.columns]
        _widths(ws, [min(40, w) for w in widths])
        ws.append([_cell(ws, c.title, styles, fill=styles.header_fill, font=styles.header_font) for c in t.columns])
        for r in t.rows:
            out_row = []
            for i, col in enumerate(t.columns):
                c = t.cell(r, i)
                if c.state != "value":
                    fill = styles.no_catalog if c.state == "no_catalog" else None
                    out_row.append(_cell(ws, STATE_TEXT[c.state] or None, styles, fill=fill))
                    continue
                value, fmt = _excel_value(c.value, col.type)
                out_row.append(_cell(ws, value, styles, number_format=fmt,
                                     fill=styles.provisional if c.provisional else None,
                                     font=styles.differs if c.differs else None))
            ws.append(out_row)
        _finish(ws, len(t.columns), len(t.rows))
    notes = wb.create_sheet(NOTES_SHEET)
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 120
    notes.append([_cell(notes, "类别", styles, fill=styles.header_fill, font=styles.header_font),
                  _cell(notes, "内容", styles, fill=styles.header_fill, font=styles.header_font)])
    notes.append(["报表", report.title])
    notes.append(["命令", f"subsidy {report.command}"])
    for n in [*report.notes, LEGEND, "黄色底色：暂定（provisional）；灰色底色：无目录；红色粗体：与金华市区标准不同。"]:
        notes.append(["说明", n])
    for t in report.tables:
        if t.note:
            notes.append([f"表：{t.title}"[:30], t.note])
    for s in report.sources:
        notes.append(["来源", s])
    notes.freeze_panes = "A2"
    wb.save(out)


#: Chinese headers of the decision fields (evaluate --format xlsx).
DECISION_HEADERS = {"row": "行", "claim_id": "申领编号", "region": "地区", "eligible": "是否补贴",
                    "amount": "补贴金额（元）",
                    "payee": "发放对象", "channel": "资金渠道", "reasons": "原因", "citations": "依据",
                    "status": "状态", "allowance": "生活费补贴（元）", "allowance_channel": "生活费资金渠道"}


def write_decisions_xlsx(result: Result, out: BinaryIO, region_names: dict[str, str], errors: list[Any]) -> None:
    """A file's decisions as a workbook: 判定结果 (one row a decision, every output field, English
    codes kept beside the Chinese), 无法处理的行 and 说明与来源."""
    from openpyxl import Workbook

    from jinhua_subsidy.decision import FIELDS
    from jinhua_subsidy.output import OUTPUT_FIELDS, reason_text
    from jinhua_subsidy.privacy import mask_ids
    from jinhua_subsidy.report import fund_name

    wb = Workbook(write_only=True)
    styles = _Styles()
    fields = list(OUTPUT_FIELDS)
    heads = [DECISION_HEADERS.get(f, f) for f in fields]
    # Each outcome's cells once; per row only its row number, claim id and amount.
    per_outcome = []
    for o in result.outcomes:
        rec = o.decision("", 0).record()
        cells = {}
        for f in FIELDS:
            v = rec[f]
            if f == "eligible":
                v = "补贴" if v else "不予补贴"
            elif f == "region":
                v = f"{region_names.get(v, v)}（{v}）"
            elif f in ("channel", "allowance_channel"):
                v = f"{fund_name(v, region_names)}（{v}）" if v else None
            elif f == "reasons":
                v = "；".join(reason_text(c) for c in v) or None
            elif f == "citations":
                v = " ".join(v) or None
            elif f == "status":
                v = "暂定" if v == "provisional" else "正式"
            elif f == "payee":
                v = {"person": "个人", "employer": "用人单位", "organizer": "培训主体"}.get(v, v) or None
            elif f == "allowance":
                v = Decimal(getattr(o, "allowance", 0)) / 100
            cells[f] = v
        per_outcome.append((cells, o.status == "provisional"))
    ids = result.claim_id.to_list()
    total = len(ids)
    sheets = max(1, -(-total // SHEET_ROWS))
    taken: set[str] = {NOTES_SHEET}
    for s in range(sheets):
        ws = wb.create_sheet(sheet_title("判定结果" if s == 0 else f"判定结果{s + 1}", taken))
        _widths(ws, [8, 16, 14, 10, 14, 10, 24, 30, 40, 8, 14, 22][: len(fields)] + [12] * max(0, len(fields) - 12))
        ws.append([_cell(ws, h, styles, fill=styles.header_fill, font=styles.header_font) for h in heads])
        part = range(s * SHEET_ROWS, min(total, (s + 1) * SHEET_ROWS))
        for i in part:
            cells, prov = per_outcome[int(result.outcome[i])]
            line: list[Any] = []
            for f in fields:
                if f == "row":
                    line.append(int(result.rows[i]))
                elif f == "claim_id":
                    line.append(mask_ids(ids[i]))
                elif f == "amount":
                    line.append(_cell(ws, Decimal(int(result.amount[i])) / 100, styles, number_format=YUAN_FORMAT,
                                      fill=styles.provisional if prov else None))
                elif f == "allowance":
                    line.append(_cell(ws, cells[f], styles, number_format=YUAN_FORMAT))
                elif f == "status" and prov:
                    line.append(_cell(ws, cells[f], styles, fill=styles.provisional))
                else:
                    line.append(cells[f])
            ws.append(line)
        _finish(ws, len(fields), len(part))
    err = wb.create_sheet(sheet_title("无法处理的行", taken))
    _widths(err, [8, 16, 90])
    err.append([_cell(err, h, styles, fill=styles.header_fill, font=styles.header_font)
                for h in ("行", "申领编号", "原因")])
    for e in errors:
        err.append([e.row, mask_ids(e.claim_id), mask_ids(e.message)])
    _finish(err, 3, len(errors))
    notes = wb.create_sheet(NOTES_SHEET)
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 120
    notes.append(["类别", "内容"])
    for n in ("每行一条申领的判定；“行”为申领在原文件中的行号。金额以元计，精确到分（R13）。",
              "黄色底色：判定用到暂定目录或名单（status = provisional）。",
              "原因、依据的代码含义见 docs/claims.md 与 docs/readings.md。"):
        notes.append(["说明", n])
    notes.append(["来源", "金人社发〔2020〕1号《金华市职业技能提升行动实施方案》及附件3"])
    wb.save(out)
