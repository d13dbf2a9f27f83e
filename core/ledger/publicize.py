"""The 公示 list (main.5: results made public before payment): who is to be paid how much.

``subsidy ledger publicize --project CODE | --organizer X | --period P`` takes the decided grants
of the scope (eligible, more than 0, not yet on a list), puts them on a new 公示 and moves them to
``publicized``. The list shows, per person, the masked name (张*三) and masked id
(330702********1234), the items and the amount, and the total; and the objection window, 5 working
days by default (:mod:`~jinhua_subsidy.ledger.workdays`). It is written as self-contained,
printable HTML or as XLSX, by the extension of ``--out``.

``--organizer X`` matches the optional claims column ``organizer_name`` (培训主体名称), or, when X
is an organizer type (enterprise, department, institution, college), the ``organizer`` column.
Names come from the optional column ``name`` (姓名).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from jinhua_subsidy import vocab
from jinhua_subsidy.atomic import atomic_output
from jinhua_subsidy.ledger import audit, schema
from jinhua_subsidy.ledger.forms import decode_cells
from jinhua_subsidy.ledger.store import Ledger, Refused
from jinhua_subsidy.ledger.workdays import Calendar
from jinhua_subsidy.money import format_yuan

TITLE = "金华市职业技能培训补贴公示名单"
SCOPES = {"project": "培训项目", "organizer": "培训主体", "period": "期间"}
NOTICE = ("根据《金华市职业技能提升行动实施方案》（金人社发〔2020〕1号）“公示……再核拨经费”的规定（main.5），"
          "现将拟发放补贴人员名单予以公示。对名单如有异议，请在公示期内向所在地人力社保部门反映。")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def mask_name(name: str | None) -> str:
    """张三 → 张*；张三丰 → 张*丰；欧阳小明 → 欧**明; absent → ``—``."""
    n = (name or "").strip()
    if not n:
        return "—"
    if len(n) == 1:
        return "*"
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_id(pid: str) -> str:
    """330702199001011234 → 330702********1234 (the 公示's form: area code and last four)."""
    return pid[:6] + "*" * (len(pid) - 10) + pid[-4:] if len(pid) >= 10 else "*" * len(pid)


def period_days(period: str) -> tuple[int, int]:
    """A year or a month as [first day, last day] in days since 1970-01-01."""
    m = _PERIOD.match(period)
    if not m:
        raise Refused(f"--period 须为年份（2022）或月份（2022-03），而不是 {period!r}")
    year, month = int(m.group(1)), int(m.group(2) or 0)
    try:
        first = dt.date(year, month or 1, 1)
    except ValueError:
        raise Refused(f"--period 须为年份（2022）或月份（2022-03），而不是 {period!r}") from None
    last = dt.date(year + (month == 12), (month % 12) + 1, 1) - dt.timedelta(days=1) if month else dt.date(year, 12, 31)
    epoch = dt.date(1970, 1, 1)
    return (first - epoch).days, (last - epoch).days


@frozen
class Line:
    """One person on the list."""

    name: str
    person: str
    region: str
    items: str
    claims: str
    count: int
    amount: int


@frozen
class Publication:
    id: int
    title: str
    scope: str
    value: str
    start: dt.date
    end: dt.date
    working_days: int
    rows: list[Line]
    total: int
    calendar_note: str

    @property
    def total_text(self) -> str:
        return format_yuan(self.total)


def _candidates(conn: Connection, scope: str, value: str) -> list[Any]:
    c, b = schema.claims, schema.batches
    q = sa.select(c.c.seq, c.c.claim_id, c.c.person_id, c.c.region, c.c.kind, c.c.amount, c.c.content,
                  b.c.columns).select_from(c.join(b, c.c.batch == b.c.id)).where(
        c.c.state == "decided", c.c.amount > 0).order_by(c.c.seq)
    if scope == "project":
        q = q.where(c.c.project_code == value)
    elif scope == "period":
        lo, hi = period_days(value)
        q = q.where(c.c.day >= lo, c.c.day <= hi)
    else:
        q = q.where(c.c.kind == "project")
    rows = []
    for r in conn.execute(q):
        cells = decode_cells(json.loads(r.columns), r.content)
        if scope == "organizer" and cells.get("organizer_name") != value and not (
                value in vocab.ORGANIZERS and cells.get("organizer") == value):
            continue
        rows.append((r, cells))
    return rows


def _item(kind: str, cells: dict[str, str | None], names: dict[str, str]) -> str:
    if kind == "qualification":
        occ = cells.get("occupation") or ""
        return f"{names.get(occ, occ)} {vocab.LEVEL_NAMES.get(cells.get('level') or '', '')}".strip()
    if kind == "project":
        return f"项目制培训 {cells.get('project_code') or ''}".strip()
    return vocab.KIND_NAMES.get(kind, kind)


def _lines(found: Sequence[Any], names: dict[str, str], region_names: dict[str, str]) -> list[Line]:
    by: dict[str, list[Any]] = {}
    for r, cells in found:
        by.setdefault(r.person_id, []).append((r, cells))
    out = []
    for pid, items in by.items():
        first = items[0][1]
        out.append(Line(name=mask_name(first.get("name")), person=mask_id(pid),
                        region="、".join(dict.fromkeys(region_names.get(r.region, r.region) for r, _ in items)),
                        items="；".join(_item(r.kind, c, names) for r, c in items),
                        claims="、".join(r.claim_id for r, _ in items), count=len(items),
                        amount=sum(int(r.amount) for r, _ in items)))
    return out


def publicize(led: Ledger, scope: str, value: str, start: dt.date, days: int, calendar: Calendar) -> Publication:
    """Put the scope's decided grants on a new 公示 (one transaction, one event)."""
    from jinhua_subsidy.occupations import load_vocabulary
    from jinhua_subsidy.regions import KNOWN_REGIONS

    names = load_vocabulary().names
    region_names = {r.key: r.name for r in KNOWN_REGIONS}
    end = calendar.window(start, days)
    note = "" if calendar.covers(start, end) else (
        f"（节假日表 {calendar.source} 未含 {start.year}–{end.year} 年，仅扣除周末）")
    with led.write() as conn:
        found = _candidates(conn, scope, value)
        if not found:
            raise Refused(f"{SCOPES[scope]} {value} 没有待公示的补贴（已判定、金额大于0、尚未公示）")
        head = conn.execute(sa.select(schema.head.c.publications)).scalar_one()
        pid = int(head) + 1
        rows = _lines(found, names, region_names)
        total = sum(int(r.amount) for r, _ in found)
        row: dict[str, Any] = {"id": pid, "at": audit.now(), "actor": audit.actor(), "scope": scope, "value": value,
               "start": start.isoformat(), "end": end.isoformat(), "working_days": days, "claims": len(found),
               "total": total}
        seqs = [int(r.seq) for r, _ in found]
        c = schema.claims
        for i in range(0, len(seqs), 500):
            conn.execute(sa.update(c).where(c.c.seq.in_(seqs[i:i + 500])).values(state="publicized", publication=pid))
        event = audit.append(conn, "publicize", {"publication": row, "claims": seqs,
                                                 "holidays": calendar.source}, who=row["actor"])
        conn.execute(sa.insert(schema.publications).values(**row, event=event))
        conn.execute(sa.update(schema.head).where(schema.head.c.id == 1).values(publications=pid))
    title = f"{TITLE}（{SCOPES[scope]}：{value}）"
    return Publication(pid, title, scope, value, start, end, days, rows, total, note)


def write_list(pub: Publication, out: Path) -> None:
    if out.suffix.lower() == ".xlsx":
        _xlsx(pub, out)
    else:
        with atomic_output(out, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html_list(pub))


HEADERS = ("序号", "姓名", "身份证号", "地区", "补贴项目", "申领编号", "人次", "金额（元）")


def _cells(i: int, line: Line) -> list[str]:
    return [str(i), line.name, line.person, line.region, line.items, line.claims, str(line.count),
            format_yuan(line.amount)]


def html_list(pub: Publication) -> str:
    e = html.escape
    body = "\n".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in _cells(i, line)) + "</tr>"
                     for i, line in enumerate(pub.rows, start=1))
    count = sum(line.count for line in pub.rows)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{e(pub.title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em; }}
h1 {{ font-size: 1.4em; text-align: center; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: 0.3em 0.5em; font-size: 0.95em; }}
th {{ background: #eee; }}
td:nth-child(7), td:nth-child(8) {{ text-align: right; }}
tfoot td {{ font-weight: bold; }}
@media print {{ body {{ margin: 1cm; }} th {{ background: none; }} }}
</style>
</head>
<body>
<h1>{e(pub.title)}</h1>
<p>公示编号：{pub.id}　公示期：{pub.start} 至 {pub.end}（{pub.working_days} 个工作日）{e(pub.calendar_note)}</p>
<p>{e(NOTICE)}</p>
<table>
<thead><tr>{"".join(f"<th>{h}</th>" for h in HEADERS)}</tr></thead>
<tbody>
{body}
</tbody>
<tfoot><tr><td colspan="6">合计：{len(pub.rows)} 人</td><td>{count}</td><td>{pub.total_text}</td></tr></tfoot>
</table>
<p>姓名、身份证号已按规定隐去部分信息。</p>
</body>
</html>
"""


def _xlsx(pub: Publication, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "公示名单"
    ws.append([pub.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"公示编号：{pub.id}　公示期：{pub.start} 至 {pub.end}（{pub.working_days} 个工作日）"
               f"{pub.calendar_note}"])
    ws.append([NOTICE])
    ws.append(list(HEADERS))
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for i, line in enumerate(pub.rows, start=1):
        cells: list[Any] = _cells(i, line)
        cells[0], cells[6] = i, line.count
        ws.append(cells)
    ws.append(["合计", f"{len(pub.rows)} 人", "", "", "", "", sum(line.count for line in pub.rows), pub.total_text])
    for row in ws.iter_rows(min_row=5):
        row[7].alignment = Alignment(horizontal="right")
    for col, width in zip("ABCDEFGH", (6, 10, 22, 12, 36, 24, 6, 14), strict=True):
        ws.column_dimensions[col].width = width
    with atomic_output(out, "wb") as fh:
        wb.save(fh)
