"""Fraud signals (main.4.3 对骗取职业培训补贴资金的单位和个人…严肃查处): claims worth a second look.

A signal is not a decision: it lists the claims involved for a person to check. Grants are the
claims held with an amount (not revoked); attempts are every claim held.

1. ``same_certificate_regions`` — one person, one occupation and level, claimed in two regions
   with at least one granted (R19 refuses the second; the attempt is the signal).
2. ``overlapping_courses`` — one person granted two project courses whose dates overlap (the
   optional column ``start_date``, with ``date`` the end of the course).
3. ``over_roster`` — a course (project_code) with more granted trainees than its roster (the
   optional column ``roster``: the course's enrolled count).
4. ``same_day_regions`` — one person granted on the same day in two regions.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from jinhua_subsidy.ledger import schema
from jinhua_subsidy.ledger.history import cells_frame
from jinhua_subsidy.resident_id import mask

TEXTS = {
    "same_certificate_regions": "同一人同一职业（工种）同一等级在两个地区申领补贴",
    "overlapping_courses": "同一人参加的两期项目制培训时间重叠",
    "over_roster": "培训项目获补贴人数超过开班花名册人数",
    "same_day_regions": "同一人同一天在两个地区获得补贴",
}
CLAUSE = "main.4.3"


@frozen
class Signal:
    code: str
    subject: str  #: what it is about (a masked person, a project code)
    detail: str
    claims: tuple[str, ...]

    def __str__(self) -> str:
        return (f"【{TEXTS[self.code]}】{self.subject}：{self.detail}；涉及申领 {'、'.join(self.claims)}"
                f"  〔{CLAUSE}〕")

    def record(self) -> dict[str, Any]:
        return {"code": self.code, "text": TEXTS[self.code], "subject": self.subject, "detail": self.detail,
                "claims": list(self.claims), "clause": CLAUSE}


def _frame(conn: Connection) -> pl.DataFrame:
    c, b = schema.claims, schema.batches
    rows = list(conn.execute(sa.select(c.c.claim_id, c.c.person_id, c.c.region, c.c.kind, c.c.day, c.c.amount,
                                       c.c.state, c.c.content, b.c.columns).select_from(
        c.join(b, c.c.batch == b.c.id)).order_by(c.c.seq)))
    if not rows:
        return pl.DataFrame()
    cells = cells_frame([(json.loads(r.columns), r.content) for r in rows])
    for name in ("start_date", "roster", "occupation", "level", "project_code"):
        if name not in cells.columns:
            cells = cells.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    meta = pl.DataFrame({"claim": [r.claim_id for r in rows], "person": [r.person_id for r in rows],
                         "reg": [r.region for r in rows], "k": [r.kind for r in rows],
                         "day": [int(r.day) for r in rows], "paid": [int(r.amount) for r in rows],
                         "granted": [int(r.amount) > 0 and r.state != "revoked" for r in rows]})
    return pl.concat([meta, cells.select("start_date", "roster", "occupation", "level", "project_code")],
                     how="horizontal")


def find(conn: Connection) -> list[Signal]:
    df = _frame(conn)
    if not df.height:
        return []
    out: list[Signal] = []
    q = df.filter(pl.col("k") == "qualification")
    for r in q.group_by("person", "occupation", "level").agg(
            pl.col("reg").n_unique().alias("n"), pl.col("granted").any().alias("g"), pl.col("claim"),
            pl.col("reg").unique().sort().alias("regs")).filter((pl.col("n") > 1) & pl.col("g")).sort(
            "person", "occupation", "level").iter_rows(named=True):
        out.append(Signal("same_certificate_regions", mask(r["person"]),
                          f"职业 {r['occupation']} 等级 {r['level']}，地区 {'、'.join(r['regs'])}", tuple(r["claim"])))
    p = df.filter((pl.col("k") == "project") & pl.col("granted") & pl.col("start_date").is_not_null()).with_columns(
        start=pl.col("start_date").str.to_date("%Y-%m-%d", strict=False).cast(pl.Int64)).filter(
        pl.col("start").is_not_null())
    if p.height:
        pairs = p.join(p, on="person", suffix="_b").filter(
            (pl.col("claim") < pl.col("claim_b")) & (pl.col("start") <= pl.col("day_b"))
            & (pl.col("start_b") <= pl.col("day"))).sort("person", "claim", "claim_b")
        for r in pairs.iter_rows(named=True):
            out.append(Signal("overlapping_courses", mask(r["person"]),
                              f"{r['project_code']}（{r['start_date']} 至 {_date(r['day'])}）与 {r['project_code_b']}"
                              f"（{r['start_date_b']} 至 {_date(r['day_b'])}）", (r["claim"], r["claim_b"])))
    course = df.filter((pl.col("k") == "project") & pl.col("granted") & pl.col("project_code").is_not_null())
    if course.height:
        for r in course.with_columns(n=pl.col("roster").cast(pl.Int64, strict=False)).group_by("project_code").agg(
                pl.len().alias("paid"), pl.col("n").max().alias("roster"), pl.col("claim")).filter(
                pl.col("roster").is_not_null() & (pl.col("paid") > pl.col("roster"))).sort(
                "project_code").iter_rows(named=True):
            out.append(Signal("over_roster", f"培训项目 {r['project_code']}",
                              f"获补贴 {r['paid']} 人，花名册 {r['roster']} 人", tuple(r["claim"])))
    g = df.filter(pl.col("granted"))
    for r in g.group_by("person", "day").agg(pl.col("reg").n_unique().alias("n"), pl.col("claim"),
                                             pl.col("reg").unique().sort().alias("regs")).filter(
            pl.col("n") > 1).sort("person", "day").iter_rows(named=True):
        out.append(Signal("same_day_regions", mask(r["person"]), f"{_date(r['day'])}，地区 {'、'.join(r['regs'])}",
                          tuple(r["claim"])))
    return out


def _date(day: int) -> str:
    import datetime as dt

    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).isoformat()
