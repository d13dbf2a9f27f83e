"""``subsidy ledger export-payments --fund F --unmasked --out FILE``: the bank file of a fund.

The only output of the project with full resident ids. One line a payee: the approved claims of
the fund (``channel`` = F) added up per payee — a person (身份证号, ``name``), an employer
(``employer_id`` 统一社会信用代码, ``employer_name``) or a training body (``organizer_id``,
``organizer_name``) — with the account from the optional column ``account`` (社会保障卡/市民卡
金融账户 for a person, the body's bank account otherwise). Every export is an ``export`` event:
who exported which claims of which fund, the file's name and SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jinhua_subsidy.atomic import atomic_output
from jinhua_subsidy.ledger import audit, schema
from jinhua_subsidy.ledger.forms import decode_cells
from jinhua_subsidy.ledger.store import Ledger, Refused
from jinhua_subsidy.money import format_yuan

HEADERS = ("收款人类型", "收款人名称", "证件号码", "账号", "金额（元）", "笔数", "申领编号")
PAYEE_NAMES = {"person": "个人", "employer": "用人单位", "organizer": "培训主体"}


def export(led: Ledger, fund: str, out: Path) -> str:
    c, f, b = schema.claims, schema.forms, schema.batches
    with led.write() as conn:
        q = sa.select(c.c.seq, c.c.claim_id, c.c.person_id, c.c.amount, c.c.content, f.c.payee, b.c.columns
                      ).select_from(c.join(f, c.c.form == f.c.id).join(b, c.c.batch == b.c.id)).where(
            c.c.state == "approved", f.c.channel == fund).order_by(c.c.seq)
        rows = list(conn.execute(q))
        if not rows:
            raise Refused(f"资金渠道 {fund} 没有已审核、待发放的申领")
        payees: dict[tuple[str, str, str, str], list[Any]] = {}
        for r in rows:
            cells = decode_cells(json.loads(r.columns), r.content)
            if r.payee == "person":
                who = (r.payee, cells.get("name") or "", r.person_id, cells.get("account") or "")
            else:
                prefix = "employer" if r.payee == "employer" else "organizer"
                who = (r.payee, cells.get(f"{prefix}_name") or "", cells.get(f"{prefix}_id") or "",
                       cells.get("account") or "")
            payees.setdefault(who, []).append(r)
        lines = [(PAYEE_NAMES.get(k[0], k[0]), k[1], k[2], k[3], format_yuan(sum(int(r.amount) for r in rs)),
                  len(rs), "、".join(r.claim_id for r in rs)) for k, rs in payees.items()]
        total = sum(int(r.amount) for r in rows)
        data = _xlsx(lines, total) if out.suffix.lower() == ".xlsx" else _csv(lines, total)
        event = audit.append(conn, "export", {
            "fund": fund, "file": str(out), "file_sha256": hashlib.sha256(data).hexdigest(), "payees": len(lines),
            "total": total, "claims": [int(r.seq) for r in rows], "unmasked": True})
    # Written once the audit event is committed: never a file of full ids that no event records.
    with atomic_output(out, "wb") as fh:
        fh.write(data)
    return (f"已导出 {fund} 的付款文件 {out}：{len(lines)} 个收款人，{len(rows)} 笔，合计 {format_yuan(total)} 元；"
            f"含完整身份证号，已记入审计事件 #{event}")


def _csv(lines: list[tuple[Any, ...]], total: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADERS)
    w.writerows(lines)
    w.writerow(("合计", "", "", "", format_yuan(total), sum(x[5] for x in lines), ""))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _xlsx(lines: list[tuple[Any, ...]], total: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "付款明细"
    ws.append(list(HEADERS))
    for line in lines:
        ws.append(list(line))
    ws.append(["合计", "", "", "", format_yuan(total), sum(x[5] for x in lines), ""])
    for row in ws.iter_rows(min_row=2):
        row[2].number_format = "@"
        row[3].number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
