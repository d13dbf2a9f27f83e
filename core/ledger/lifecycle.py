"""A claim's life in the ledger (main.5): decided → publicized → approved → paid, or revoked.

* ``decided``: stored by ``ingest`` (submitted and decided in one step, one event);
* ``publicized``: on a 公示 list (:mod:`~jinhua_subsidy.ledger.publicize`); only a grant (eligible,
  more than 0) can be;
* ``approved``: only once the 公示's objection window has ended (5 working days by default);
* ``paid``: only once approved;
* ``revoked`` (main.4.3): a grant in any state but revoked, with a reason and a clause; a revoked
  grant no longer counts toward R18, R19, R23 (R28). A revocation during the objection window, or
  after payment, is recorded like any other.

A step that is not allowed changes nothing and says why, naming the claims.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinhua_subsidy.citations import POLICY_CLAUSES as CLAUSES
from jinhua_subsidy.ledger import audit, schema
from jinhua_subsidy.ledger.forms import Held, catalog_body, decode_cells, engine_version, rederive, sha256
from jinhua_subsidy.ledger.store import Ledger, Refused
from jinhua_subsidy.money import format_yuan

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

STATES = ("decided", "publicized", "approved", "paid", "revoked")
STATE_NAMES = {"decided": "已判定", "publicized": "公示中", "approved": "已审核", "paid": "已发放", "revoked": "已撤销"}
#: Most claims a refusal names.
NAMED = 5


def _claims(conn: Connection, ids: Sequence[str], publication: int | None) -> list[Any]:
    c = schema.claims
    q = sa.select(c.c.seq, c.c.claim_id, c.c.state, c.c.amount, c.c.publication).order_by(c.c.seq)
    if publication is not None:
        rows = list(conn.execute(q.where(c.c.publication == publication)))
        if not rows:
            raise Refused(f"公示 #{publication} 不存在或没有申领")
    else:
        rows = []
        for start in range(0, len(ids), 500):
            rows += list(conn.execute(q.where(c.c.claim_id.in_(list(ids[start:start + 500])))))
        missing = sorted(set(ids) - {r.claim_id for r in rows})
        if missing:
            raise Refused(f"台账中没有申领编号 {'、'.join(missing[:NAMED])}" + ("等" if len(missing) > NAMED else ""))
    return rows


def _refuse(bad: list[Any], why: str) -> None:
    if bad:
        named = "、".join(f"{r.claim_id}（{STATE_NAMES.get(r.state, r.state)}）" for r in bad[:NAMED])
        more = f"等 {len(bad)} 条" if len(bad) > NAMED else ""
        raise Refused(f"{named}{more}：{why}；未作任何改动")


def _move(conn: Connection, kind: str, rows: list[Any], to: str, payload: dict[str, Any]) -> int:
    seqs = [int(r.seq) for r in rows]
    c = schema.claims
    for start in range(0, len(seqs), 500):
        conn.execute(sa.update(c).where(c.c.seq.in_(seqs[start:start + 500])).values(state=to))
    return audit.append(conn, kind, {**payload, "claims": seqs})


def approve(led: Ledger, ids: Sequence[str], publication: int | None, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    with led.write() as conn:
        rows = _claims(conn, ids, publication)
        _refuse([r for r in rows if r.state != "publicized"], "只有公示中的申领可以审核")
        ends = dict(conn.execute(sa.select(schema.publications.c.id, schema.publications.c.end).where(
            schema.publications.c.id.in_({int(r.publication) for r in rows}))).all())
        early = [r for r in rows if dt.date.fromisoformat(ends[int(r.publication)]) >= today]
        if early:
            end = min(ends[int(r.publication)] for r in early)
            _refuse(early, f"公示异议期至 {end} 结束，期满后方可审核（main.5 公示后再核拨经费）")
        event = _move(conn, "approve", rows, "approved", {"on": today.isoformat()})
    return f"已审核 {len(rows)} 条申领（事件 #{event}）"


def pay(led: Ledger, ids: Sequence[str], publication: int | None, on: dt.date | None = None) -> str:
    on = on or dt.date.today()
    with led.write() as conn:
        rows = _claims(conn, ids, publication)
        _refuse([r for r in rows if r.state != "approved"], "只有已审核的申领可以发放")
        event = _move(conn, "pay", rows, "paid", {"on": on.isoformat()})
    total = sum(int(r.amount) for r in rows)
    return f"已登记发放 {len(rows)} 条申领，合计 {format_yuan(total)} 元（事件 #{event}）"


def revoke(led: Ledger, ids: Sequence[str], reason: str, clause: str = "main.4.3") -> str:
    if clause not in CLAUSES:
        raise Refused(f"条款编号 {clause!r} 不在政策条款表中（见 docs/readings.md）")
    if not reason.strip():
        raise Refused("撤销须说明原因")
    with led.write() as conn:
        rows = _claims(conn, ids, None)
        _refuse([r for r in rows if r.state == "revoked"], "已撤销")
        _refuse([r for r in rows if int(r.amount) <= 0], "不是补贴（未获批或金额为0），无可撤销")
        before = {r.claim_id: r.state for r in rows}
        event = _move(conn, "revoke", rows, "revoked", {"reason": reason.strip(), "clause": clause, "from": before})
    paid = [cid for cid, s in before.items() if s == "paid"]
    note = f"；其中 {len(paid)} 条已发放，须追回资金" if paid else ""
    return f"已撤销 {len(rows)} 条申领（事件 #{event}，{clause}：{reason.strip()}）{note}"


def explain(conn: Connection, claim_id: str, engine: Engine) -> str | None:
    """The claim's decision exactly as it was decided, then its record in the ledger."""
    c, f, b = schema.claims, schema.forms, schema.batches
    row = conn.execute(sa.select(c, f.c.decision, f.c.text, f.c.engine_version, f.c.catalog_hash, b.c.columns,
                                 b.c.file, b.c.at, b.c.event).select_from(
        c.join(f, c.c.form == f.c.id).join(b, c.c.batch == b.c.id)).where(c.c.claim_id == claim_id)).first()
    if row is None:
        return None
    cells = decode_cells(json.loads(row.columns), row.content)
    stored = json.loads(row.decision)
    lines = [_decision_text(engine, row, cells, stored), "", "台账记录：",
             f"  登记：批次 #{row.batch}（{row.file} 第{row.row}行），{row.at}，事件 #{row.event}",
             f"  判定所用：{row.engine_version}；有效目录哈希 {row.catalog_hash}",
             f"  状态：{STATE_NAMES.get(row.state, row.state)}（{row.state}）"
             + (f"；公示 #{row.publication}" if row.publication is not None else "")]
    e = schema.events
    for ev in conn.execute(sa.select(e.c.seq, e.c.at, e.c.actor, e.c.kind, e.c.payload).where(
            e.c.kind.in_(("publicize", "approve", "pay", "revoke"))).order_by(e.c.seq)):
        payload = json.loads(ev.payload)
        if int(row.seq) in payload.get("claims", ()):
            extra = f"：{payload.get('clause')} {payload.get('reason')}" if ev.kind == "revoke" else ""
            lines.append(f"  事件 #{ev.seq} {ev.at} {ev.kind}（{ev.actor}）{extra}")
    return "\n".join(lines)


def _decision_text(engine: Engine, row: Any, cells: dict[str, str | None], stored: dict[str, Any]) -> str:
    from jinhua_subsidy.explain import render

    if row.text:  # rendered when decided (a plugin adjusted it)
        return str(row.text)
    same_engine = row.engine_version == engine_version()
    region = stored.get("region", "")
    try:
        same_catalog = sha256(catalog_body(engine, region)) == row.catalog_hash
    except Exception:  # the region is no longer served: it cannot be decided again here
        same_catalog = False
    d = rederive(engine, cells, row.claim_id, stored, int(row.amount), int(row.pre_amount)) \
        if same_engine and same_catalog else None
    if d is not None:
        return render(d, engine)
    held = Held(stored).decision(row.claim_id, int(row.amount))
    why = ("判定时所用的引擎或目录与当前不同" if not (same_engine and same_catalog)
           else "按当前引擎重新计算的结果与台账所存决定不一致")
    lines = [f"申领 {row.claim_id}：{region}", f"（{why}，无法逐步重现；以下为台账所存的决定）",
             f"结论：{'补贴 ' + format_yuan(held.amount) + ' 元' if held.eligible else '不予补贴'}",
             f"发放对象：{held.payee or '—'}；资金渠道：{held.channel or '—'}",
             "原因：" + ("；".join(held.reasons) or "—"), "依据：" + "、".join(held.citations)]
    return "\n".join(lines)
