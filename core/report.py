"""The bureau's reports: tables of cells with their states, written as a terminal table, CSV, JSON,
an Excel workbook (:mod:`jinhua_subsidy.xlsx`) or one self-contained HTML page with charts.

Every command of ``docs/bureau.md`` builds a :class:`Report` (tables of :class:`Cell`) and hands it
to :func:`write_report`. A cell's ``state`` keeps apart what a reader must never confuse:

* ``value``: a figure (``0`` is a real zero);
* ``none``: 无此项 — the region has a catalog, but no such rate (or list, or standard) on the date;
* ``no_catalog``: 无目录 — the region has no catalog at all;
* ``blank``: nothing to say (a label column, a cell outside the table's question).

``provisional`` marks a figure taken from a provisional catalog or list (暂定); ``differs`` a figure
that differs from the urban standard (市区). Amounts are fen (int), rates and shares
:class:`~decimal.Decimal`: nothing is a binary float until a chart draws it.

Human formats (table, xlsx, html) are in Chinese; machine formats (csv, json) keep English keys.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, BinaryIO, TextIO

from attrs import field, frozen

from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.privacy import mask_ids

#: The formats every bureau command takes.
FORMATS = ("table", "csv", "json", "xlsx", "html")
STATES = ("value", "none", "no_catalog", "blank")
STATE_TEXT = {"none": "无此项", "no_catalog": "无目录", "blank": ""}
PROVISIONAL_MARK = "暂定"
DIFFERS_MARK = "△"
LEGEND = (f"注：“无目录”为该地区尚无补贴目录；“无此项”为有目录但无此项标准；"
          f"“{PROVISIONAL_MARK}”为暂定目录或名单中的数值；“{DIFFERS_MARK}”为与金华市区标准不同；0 即为 0。")
#: Widest a cell of the terminal table gets before it is cut with CUT.
MAX_CELL = 36
CUT = "…"
#: Width of the terminal table when no terminal says otherwise (COLUMNS, the terminal, this).
DEFAULT_WIDTH = 120
MIN_WIDTH = 60


@frozen
class Col:
    """A column: its English key (machine formats), Chinese title, and type: ``text``, ``yuan``
    (fen), ``int``, ``percent`` (a Decimal fraction), ``decimal`` (a Decimal) or ``date``.
    ``label``: a column that names the row (repeated on every panel of a wide terminal table)."""

    key: str
    title: str
    type: str = "text"
    label: bool = False


@frozen
class Cell:
    value: Any = None
    state: str = "value"
    provisional: bool = False
    differs: bool = False
    clause: str = ""  #: the clause ids of this figure, when they are not the row's

    def __attrs_post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown cell state {self.state!r}")


NONE = Cell(state="none")
NO_CATALOG = Cell(state="no_catalog")
BLANK = Cell(state="blank")


@frozen
class Chart:
    """A chart drawn above its table in the HTML report. ``kind``: ``heatmap`` (``x``, ``y``,
    ``z`` a row of values per y, None for a gap, ``text`` the same shape), ``bar`` (``x`` and
    ``series``: (name, values) pairs, stacked when ``stacked``) or ``progress`` (bars of shares
    against a line at 100%)."""

    kind: str
    title: str
    x: tuple[str, ...]
    y: tuple[str, ...] = ()
    z: tuple[tuple[float | None, ...], ...] = ()
    text: tuple[tuple[str, ...], ...] = ()
    series: tuple[tuple[str, tuple[float | None, ...]], ...] = ()
    stacked: bool = False
    unit: str = ""


@frozen
class Table:
    key: str
    title: str
    columns: tuple[Col, ...]
    rows: list[tuple[Any, ...]] = field(factory=list)
    note: str = ""
    chart: Chart | None = None

    def cell(self, row: Sequence[Any], i: int) -> Cell:
        v = row[i]
        return v if isinstance(v, Cell) else Cell(v, "blank" if v is None or v == "" else "value")


@frozen
class Report:
    command: str  #: e.g. ``compare rates``
    title: str  #: Chinese
    tables: list[Table]
    notes: list[str] = field(factory=list)  #: Chinese: how to read it, the rule used
    sources: list[str] = field(factory=list)  #: the documents and catalogs it stands on


# --- cell text --------------------------------------------------------------------------------


def value_text(value: Any, type_: str) -> str:
    """A figure as text: yuan to the fen, a percentage to two decimals, exact decimals as given."""
    if value is None:
        return ""
    if isinstance(value, str):  # a text in a column of figures (a note, hours with their unit)
        return mask_ids(value)
    if type_ == "yuan":
        return format_yuan(int(value))
    if type_ == "percent":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"
    if type_ == "decimal":
        return format(Decimal(value), "f")
    return mask_ids(str(value))


def machine_value(value: Any, type_: str) -> Any:
    """A figure for CSV and JSON: yuan as ``"900.00"``, decimals as strings, whole numbers as ints."""
    if value is None:
        return None
    if isinstance(value, str):
        return mask_ids(value)
    if type_ == "yuan":
        return format_yuan(int(value))
    if type_ in ("percent", "decimal"):
        return format(Decimal(value), "f")
    if type_ == "int":
        return int(value)
    return mask_ids(str(value))


def cell_text(cell: Cell, col: Col, marks: bool = True) -> str:
    """A cell as a person reads it: the figure or the state in Chinese, with its marks."""
    if cell.state != "value":
        return STATE_TEXT[cell.state]
    text = value_text(cell.value, col.type)
    if marks and cell.differs:
        text += DIFFERS_MARK
    if marks and cell.provisional and text != PROVISIONAL_MARK:
        text += " " + PROVISIONAL_MARK
    return text


# --- the terminal table -----------------------------------------------------------------------


def display_width(text: str) -> int:
    """Columns a text takes in a terminal: wide (CJK) characters count two."""
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


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def terminal_width() -> int:
    """COLUMNS, else the terminal's width, else DEFAULT_WIDTH; never below MIN_WIDTH."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


NUMERIC = ("yuan", "int", "percent", "decimal")


def text_table(columns: Sequence[Col], rows: Iterable[Sequence[str]], width: int) -> str:
    """Rows of cell texts as aligned lines, cut to fit ``width``: a table wider than that is
    printed in panels of columns, the label columns repeated on each."""
    rows = [[cut(c, MAX_CELL) for c in r] for r in rows]
    heads = [c.title for c in columns]
    widths = [max([display_width(h), *(display_width(r[i]) for r in rows)]) for i, h in enumerate(heads)]
    labels = [i for i, c in enumerate(columns) if c.label]
    rest = [i for i, c in enumerate(columns) if not c.label]
    base = sum(widths[i] + 2 for i in labels)
    panels: list[list[int]] = []
    for i in rest:
        if panels and base + sum(widths[j] + 2 for j in panels[-1]) + widths[i] <= width:
            panels[-1].append(i)
        else:
            panels.append([i])
    if not panels:
        panels = [[]]
    out = []
    for p, panel in enumerate(panels):
        shown = labels + panel
        if p:
            out.append("")
        out.append("  ".join(pad(heads[i], widths[i], columns[i].type in NUMERIC) for i in shown).rstrip())
        out.append("  ".join("-" * widths[i] for i in shown))
        for r in rows:
            out.append("  ".join(pad(r[i], widths[i], columns[i].type in NUMERIC) for i in shown).rstrip())
    return "\n".join(out) + "\n"


def write_table(report: Report, fh: TextIO, width: int | None = None) -> None:
    width = width or terminal_width()
    fh.write(f"{report.title}\n\n")
    for t in report.tables:
        fh.write(f"【{t.title}】\n")
        texts = [[cell_text(t.cell(r, i), c) for i, c in enumerate(t.columns)] for r in t.rows]
        if texts:
            fh.write(text_table(t.columns, texts, width))
        else:
            fh.write("（无）\n")
        if t.note:
            fh.write(f"{mask_ids(t.note)}\n")
        fh.write("\n")
    for n in report.notes:
        fh.write(f"{mask_ids(n)}\n")


# --- machine formats --------------------------------------------------------------------------

CSV_FIELDS = ("table", "row", "column", "value", "state", "provisional", "differs", "clause")


def write_csv(report: Report, fh: TextIO) -> None:
    """Every cell of every table, one line a cell (long form): the table's and column's English
    keys, the row number in the table (from 1), the value, its state and marks."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for t in report.tables:
        for n, r in enumerate(t.rows, start=1):
            for i, col in enumerate(t.columns):
                c = t.cell(r, i)
                v = machine_value(c.value, col.type) if c.state == "value" else ""
                w.writerow((t.key, n, col.key, "" if v is None else v, c.state, str(c.provisional).lower(),
                            str(c.differs).lower(), c.clause))


def json_record(report: Report) -> dict[str, Any]:
    tables = []
    for t in report.tables:
        rows = []
        for r in t.rows:
            rec: dict[str, Any] = {}
            for i, col in enumerate(t.columns):
                c = t.cell(r, i)
                v = machine_value(c.value, col.type) if c.state == "value" else None
                if col.label and c.state in ("value", "blank") and not c.provisional and not c.differs:
                    rec[col.key] = "" if v is None else v
                else:
                    rec[col.key] = {"value": v, "state": c.state, "provisional": c.provisional,
                                    "differs": c.differs, **({"clause": c.clause} if c.clause else {})}
            rows.append(rec)
        tables.append({"key": t.key, "title": t.title, "note": mask_ids(t.note),
                       "columns": [{"key": c.key, "title": c.title, "type": c.type} for c in t.columns],
                       "rows": rows})
    return {"command": report.command, "title": report.title, "tables": tables,
            "notes": [mask_ids(n) for n in report.notes], "sources": list(report.sources)}


def write_json(report: Report, fh: TextIO) -> None:
    fh.write(json.dumps(json_record(report), ensure_ascii=False, indent=2) + "\n")


# --- HTML -------------------------------------------------------------------------------------

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def _figure(chart: Chart) -> dict[str, Any]:
    """The chart as a plotly figure (data and layout), validated by plotly."""
    import plotly.graph_objects as go

    layout: dict[str, Any] = {"title": {"text": chart.title}, "font": {"family": FONT, "size": 13},
                              "margin": {"l": 70, "r": 30, "t": 60, "b": 90}, "height": 420,
                              "paper_bgcolor": "white", "plot_bgcolor": "white"}
    if chart.kind == "heatmap":
        fig = go.Figure(go.Heatmap(x=list(chart.x), y=list(chart.y), z=[list(r) for r in chart.z],
                                   text=[list(r) for r in chart.text], texttemplate="%{text}",
                                   hovertemplate="%{y} · %{x}：%{text}<extra></extra>",
                                   colorscale="YlGnBu", colorbar={"title": {"text": chart.unit}},
                                   hoverongaps=False, xgap=2, ygap=2))
        layout["yaxis"] = {"autorange": "reversed"}
    elif chart.kind in ("bar", "progress"):
        fig = go.Figure([go.Bar(name=name, x=list(chart.x), y=list(values),
                                hovertemplate=f"%{{x}} · {html.escape(name)}：%{{y}}{html.escape(chart.unit)}"
                                              "<extra></extra>")
                         for name, values in chart.series])
        layout["barmode"] = "stack" if chart.stacked else "group"
        layout["yaxis"] = {"title": {"text": chart.unit}, "gridcolor": "#ddd",
                           **({"tickformat": ".0%"} if chart.kind == "progress" else {})}
        if chart.kind == "progress":
            layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                                 "line": {"color": "#c0392b", "dash": "dash"}}]
    else:  # pragma: no cover - the kinds above are all the commands make
        raise ValueError(chart.kind)
    fig.update_layout(**layout)
    return json.loads(fig.to_json())  # type: ignore[no-any-return]


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c.title)}</th>" for c in t.columns)
    body = []
    for r in t.rows:
        tds = []
        for i, col in enumerate(t.columns):
            c = t.cell(r, i)
            classes = [f"s-{c.state}"] + (["prov"] if c.provisional else []) + (["diff"] if c.differs else []) \
                + (["num"] if col.type in NUMERIC else [])
            text = html.escape(cell_text(c, col, marks=False))
            if c.state == "value" and c.differs:
                text += f'<span class="mark" title="与金华市区标准不同">{DIFFERS_MARK}</span>'
            if c.state == "value" and c.provisional:
                text += f' <span class="badge">{PROVISIONAL_MARK}</span>'
            title = f' title="{html.escape(c.clause)}"' if c.clause else ""
            tds.append(f'<td class="{" ".join(classes)}"{title}>{text}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    rows = "\n".join(body) if body else f'<tr><td colspan="{len(t.columns)}">（无）</td></tr>'
    return f'<table id="t-{html.escape(t.key)}"><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>'


def render_html(report: Report) -> str:
    """One self-contained page: every script and style inline, nothing fetched."""
    from importlib.resources import files
    from string import Template

    from plotly.offline import get_plotlyjs

    sections, figures = [], []
    for n, t in enumerate(report.tables):
        parts = [f"<section><h2>{html.escape(t.title)}</h2>"]
        if t.chart is not None:
            parts.append(f'<div class="chart" id="chart-{n}" data-table="{html.escape(t.key)}"></div>')
            figures.append((f"chart-{n}", _figure(t.chart)))
        parts.append(_html_table(t))
        if t.note:
            parts.append(f'<p class="note">{html.escape(mask_ids(t.note))}</p>')
        parts.append("</section>")
        sections.append("\n".join(parts))
    figs = json.dumps([{"id": i, "data": f["data"], "layout": f["layout"]} for i, f in figures],
                      ensure_ascii=False).replace("</", "<\\/")
    template = Template(files("jinhua_subsidy").joinpath("report.html").read_text(encoding="utf-8"))
    notes = "".join(f"<li>{html.escape(mask_ids(n))}</li>" for n in [*report.notes, LEGEND])
    sources = "".join(f"<li>{html.escape(s)}</li>" for s in report.sources)
    return template.substitute(
        title=html.escape(report.title), command=html.escape(f"subsidy {report.command}"),
        sections="\n".join(sections), notes=notes, sources=sources, figures=figs,
        plotly=get_plotlyjs().replace("</script", "<\\/script"))


# --- dispatch ---------------------------------------------------------------------------------


def write_report(report: Report, fmt: str, out: IO[Any]) -> None:
    """Write ``report`` in ``fmt`` to a text file (table, csv, json, html) or a binary one (any)."""
    if fmt == "xlsx":
        from jinhua_subsidy.xlsx import write_report_xlsx

        write_report_xlsx(report, _binary(out))
        return
    text = io.StringIO()
    if fmt == "table":
        write_table(report, text)
    elif fmt == "csv":
        write_csv(report, text)
    elif fmt == "json":
        write_json(report, text)
    elif fmt == "html":
        text.write(render_html(report))
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if isinstance(out, io.TextIOBase):
        out.write(text.getvalue())
    else:
        out.write(text.getvalue().encode("utf-8"))


def _binary(out: IO[Any]) -> BinaryIO:
    if isinstance(out, io.TextIOBase):
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            raise ValueError("xlsx 为二进制格式，须写入文件（--out）")
        out.flush()
        return buffer
    return out  # type: ignore[return-value]


def fund_name(channel: str, names: Mapping[str, str]) -> str:
    """``district:wucheng`` → ``区级专项资金（婺城区）`` (R17); ``employment:X`` the 就业补助资金 (R25)."""
    if channel == "city":
        return "市级专项资金"
    kind, _, key = channel.partition(":")
    where = names.get(key, key)
    return {"district": f"区级专项资金（{where}）", "county": f"县（市）专项资金（{where}）",
            "employment": f"就业补助资金（{where}）"}.get(kind, channel)


def fund_clause(channel: str) -> str:
    return "main.4.2 R25" if channel.startswith("employment:") else "annex3.4 R17"
