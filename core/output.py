"""Writing decisions: a table for people, CSV and JSON Lines for programs.

Every format starts with ``row``, the claim's line in the file (its row in an .xlsx sheet), then
the decision's fields (:data:`jinhua_subsidy.decision.FIELDS`). CSV and JSON Lines keep the
English keys and codes. The table is for a clerk at a terminal: Chinese headers, Chinese names
beside the codes, and it fits the terminal's width (``COLUMNS``, the terminal, else 120): long
cells are cut with ``…``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from jinhua_subsidy.claims import RowError
from jinhua_subsidy.decision import FIELDS, Decision
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.privacy import mask_ids
from jinhua_subsidy.reasons import REASONS
from jinhua_subsidy.regions import KNOWN_REGIONS

#: Columns of the ``--errors`` file: the line in the claims file, its claim id, the reason (Chinese).
ERROR_FIELDS = ("row", "claim_id", "reason")
#: The fields of every output format, in order.
OUTPUT_FIELDS = ("row", *FIELDS)


def record(d: Decision) -> dict[str, Any]:
    """A decision's output fields, its row first."""
    return {"row": d.row, **d.record()}


def csv_cells(rec: Mapping[str, Any]) -> list[str]:
    out = []
    for f in OUTPUT_FIELDS:
        v = rec[f]
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, list):
            v = ";".join(v)
        out.append(str(v))
    return out


class _EndInLF:
    """A file for :func:`csv_writer`: each row the writer ends in CRLF is written ending in LF."""

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh

    def write(self, line: str) -> int:
        return self.fh.write(line[:-2] + "\n")


def csv_writer(fh: TextIO) -> Any:
    """A csv writer whose rows end in LF and whose fields are quoted whenever they hold a CR or
    an LF. ``csv.writer(lineterminator="\n")`` leaves a field with a bare CR unquoted (``a\rb,c``),
    which no reader reads back; a writer ending rows in CRLF quotes it, and the CR is cut off the
    row's end again. Other fields are written exactly as before."""
    return csv.writer(_EndInLF(fh), lineterminator="\r\n")


def write_csv(decisions: Iterable[Decision], fh: TextIO) -> None:
    w = csv_writer(fh)
    w.writerow(OUTPUT_FIELDS)
    for d in decisions:
        w.writerow(csv_cells(record(d)))


def write_jsonl(decisions: Iterable[Decision], fh: TextIO) -> None:
    for d in decisions:
        fh.write(json.dumps(record(d), ensure_ascii=False) + "\n")


# --- the table for people ---------------------------------------------------------------------

#: (field, Chinese header, right-aligned) of the table, in order; ``allowance`` only when paid.
#: ``why`` is the reasons (code and Chinese text) and then the citations, cut to what is left.
TABLE_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("row", "行", True), ("claim_id", "申领编号", False), ("region", "地区", False), ("eligible", "补贴", False),
    ("amount", "金额(元)", True), ("payee", "发放对象", False), ("channel", "资金渠道", False),
    ("status", "状态", False), ("allowance", "生活费(元)", True), ("why", "原因与依据", False),
)
#: The most a column takes before its cells are cut (``why`` takes what is left).
TABLE_CAPS = {"claim_id": 16, "region": 8, "payee": 8, "channel": 12}
TABLE_MIN = {"claim_id": 8, "channel": 8, "region": 4, "why": 10}
GAP = "__gap"  #: table_layout's key for the spaces between columns
CUT = "…"
DEFAULT_WIDTH = 120
MIN_WIDTH = 60
REGION_NAMES = {r.key: r.name for r in KNOWN_REGIONS}
PAYEE_SHORT = {"person": "个人", "employer": "用人单位", "organizer": "培训主体"}


def table_width() -> int:
    """COLUMNS, else the terminal's width, else DEFAULT_WIDTH; never below MIN_WIDTH."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, cut with CUT when longer."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if ord(ch) > 0x2E80 else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + CUT


def reason_text(code: str) -> str:
    """``capped`` → ``capped 按补贴上限发放``; a code a plugin added stays as it is."""
    return f"{code} {REASONS[code].text}" if code in REASONS else code


def fund_short(channel: str) -> str:
    if not channel:
        return ""
    if channel == "city":
        return "市级"
    kind, _, key = channel.partition(":")
    where = REGION_NAMES.get(key, key)
    return {"district": f"区级·{where}", "county": f"县级·{where}", "employment": f"就业·{where}"}.get(kind, channel)


def table_texts(rec: Mapping[str, Any]) -> dict[str, str]:
    """A decision record's cells as the table shows them."""
    region = rec["region"]
    return {
        "row": str(rec["row"]), "claim_id": mask_ids(rec["claim_id"]),
        "region": REGION_NAMES.get(region, region),
        "eligible": "是" if rec["eligible"] else "否",
        "amount": rec["amount"],
        "payee": PAYEE_SHORT.get(rec["payee"], rec["payee"]),
        "channel": fund_short(rec["channel"]),
        "status": "暂定" if rec["status"] == "provisional" else "正式",
        "allowance": rec.get("allowance", "") if rec.get("allowance", "0.00") != "0.00" else "",
        "why": "；".join([*(reason_text(c) for c in rec["reasons"]), " ".join(rec["citations"])][-2:]
                        if rec["reasons"] else [" ".join(rec["citations"])]),
    }


def table_fields(with_allowance: bool) -> list[tuple[str, str, bool]]:
    return [c for c in TABLE_COLUMNS if c[0] != "allowance" or (with_allowance and "allowance" in FIELDS)]


def table_layout(widest: Mapping[str, int], columns: Sequence[tuple[str, str, bool]], width: int) -> dict[str, int]:
    """Each column's width: its widest cell (or header), capped; ``why`` gets what is left. On a
    narrow terminal the columns are set one space apart (``GAP`` in the answer) and the claim id,
    channel and region give way (their cells are cut)."""
    heads = {f: display_width(h) for f, h, _ in columns}
    for gap in (2, 1):
        widths = {f: max(heads[f], widest.get(f, 0)) for f, _, _ in columns}
        for f, cap in TABLE_CAPS.items():
            if f in widths:
                widths[f] = min(widths[f], max(cap, heads[f]))
        gaps = gap * (len(columns) - 1)

        def left() -> int:
            return width - gaps - sum(w for k, w in widths.items() if k != "why")  # noqa: B023

        if gap == 2 and left() < TABLE_MIN["why"]:
            continue
        for f in ("claim_id", "channel", "region"):
            if left() >= TABLE_MIN["why"]:
                break
            widths[f] = max(TABLE_MIN[f], widths[f] - (TABLE_MIN["why"] - left()))
        widths["why"] = min(widths["why"], max(TABLE_MIN["why"], left()))
        widths[GAP] = gap
        return widths
    raise AssertionError  # pragma: no cover - the loop returns


def table_cell(text: str, width: int, right: bool) -> str:
    text = cut(text, width)
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def table_header(columns: Sequence[tuple[str, str, bool]], widths: Mapping[str, int]) -> str:
    return (" " * widths[GAP]).join(table_cell(h, widths[f], r) for f, h, r in columns).rstrip() + "\n"


def write_table(decisions: Iterable[Decision], fh: TextIO) -> None:
    rows = [table_texts(record(d)) for d in decisions]
    columns = table_fields(any(r["allowance"] for r in rows))
    widest = {f: max((display_width(r[f]) for r in rows), default=0) for f, _, _ in columns}
    widths = table_layout(widest, columns, table_width())
    fh.write(table_header(columns, widths))
    for r in rows:
        fh.write((" " * widths[GAP]).join(table_cell(r[f], widths[f], right) for f, _, right in columns).rstrip()
                 + "\n")


def write_errors(errors: Iterable[RowError], fh: TextIO) -> None:
    """Rows that cannot be read, one per line; person ids are already masked in the reasons."""
    w = csv_writer(fh)
    w.writerow(ERROR_FIELDS)
    for e in errors:
        w.writerow((e.row, e.claim_id, e.message))


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "table": write_table}
__all__ = ["ERROR_FIELDS", "OUTPUT_FIELDS", "WRITERS", "csv_cells", "display_width", "format_yuan", "record",
           "write_csv", "write_errors", "write_jsonl", "write_table"]
