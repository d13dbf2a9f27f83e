"""How far each region and department is from its annual plan (``subsidy plan progress``).

A claim is one person-time (人次) of training. For the year asked (by the claim's ``date``):

* **decided** (判定人次): claims decided, granted or refused; **paid** (补贴人次): claims granted;
* against **annex 1** (R21) by the claim's ``region``: the urban row 金华市区合计 (2.2万) is the
  urban region and its three districts together, and the 0.5万 it exceeds them by is the
  city-level share, counted by the claims made in ``urban`` itself (市本级);
* against **annex 2** (R22) by the optional claims column ``department``: one of the keys of
  :data:`DEPARTMENTS` (or the department's Chinese name as annex 2 writes it);
* the completion rate is paid ÷ target, the target in 人次 (万人次 × 10000), exact.

The whole file is decided (R18–R20 see every year), then the claims of the year are counted.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jinhua_subsidy.compare import rules_or_none
from jinhua_subsidy.counterfactual import read_file
from jinhua_subsidy.evaluation import evaluate_frame
from jinhua_subsidy.plans import load_plans
from jinhua_subsidy.report import NONE, Cell, Chart, Col, Report, Table, fund_clause, fund_name

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

#: The ``department`` keys of the claims column: annex 2's number → key (docs/claims.md).
DEPARTMENTS: dict[int, str] = {
    1: "economy",        # 市经信局
    2: "education",      # 市教育局
    3: "construction",   # 市建设局
    4: "agriculture",    # 市农业农村局
    5: "veterans",       # 市退役军人事务局
    6: "emergency",      # 市应急管理局
    7: "civil_affairs",  # 市民政局
    8: "health",         # 市卫生健康委
    9: "sasac",          # 市国资委
    10: "market",        # 市市场监管局
    11: "disabled",      # 市残联
    12: "hrss",          # 市人力社保局
}
PER_WAN = 10_000
URBAN = "urban"


def _rate(paid: int, target: int) -> Cell:
    if target <= 0:
        return NONE
    return Cell((Decimal(paid) / Decimal(target)).quantize(Decimal("0.0001")))


def plan_progress(engine: Engine, path: Path, year: int) -> Report:
    plans = load_plans()
    claims = read_file(engine, path)
    result = evaluate_frame(engine, claims.df, claims.rows, watch=(), limits=True)
    at = np.searchsorted(claims.rows, result.rows)
    dates = claims.df.get_column("date").to_numpy()[at]
    regions = claims.df.get_column("region").to_numpy()[at]
    in_year = np.array([str(d).startswith(f"{year}-") for d in dates], dtype=bool)
    dept_col = claims.df.get_column("department").to_numpy()[at] if "department" in claims.df.columns else None
    by_name = {d.department: DEPARTMENTS[d.number] for d in plans.annex2.departments}
    valid = set(DEPARTMENTS.values())
    decided: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    fen: dict[str, int] = defaultdict(int)
    funds: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    d_decided: dict[str, int] = defaultdict(int)
    d_paid: dict[str, int] = defaultdict(int)
    d_fen: dict[str, int] = defaultdict(int)
    bad_dept: list[tuple[Any, ...]] = []
    ids = result.claim_id.to_list()
    for i in np.flatnonzero(in_year).tolist():
        o = result.outcomes[int(result.outcome[i])]
        amount = int(result.amount[i])
        r = str(regions[i])
        decided[r] += 1
        dept = None
        if dept_col is not None and dept_col[i] is not None:
            raw = str(dept_col[i])
            dept = raw if raw in valid else by_name.get(raw)
            if dept is None:
                bad_dept.append((int(result.rows[i]), ids[i],
                                 f"department 须为附件2的部门代码（{'、'.join(DEPARTMENTS.values())}）之一，"
                                 f"而不是 {raw!r}"))
        if dept is not None:
            d_decided[dept] += 1
        if o.eligible:
            paid[r] += 1
            fen[r] += amount
            funds[(r, o.channel)][0] += 1
            funds[(r, o.channel)][1] += amount
            extra = getattr(o, "allowance", 0)
            if extra:
                funds[(r, o.allowance_channel)][0] += 1
                funds[(r, o.allowance_channel)][1] += extra
            if dept is not None:
                d_paid[dept] += 1
                d_fen[dept] += amount
    names = engine.region_names
    targets = {t.region: t.wan for t in plans.annex1.regions}
    districts = [k for k, r in engine.rulebook.regions.items() if r.parent == URBAN]
    share = targets[URBAN] - sum((targets[d] for d in districts if d in targets), Decimal(0))
    cols = (Col("region", "地区", label=True), Col("catalog", "目录"), Col("target_wan", "计划（万人次）", "decimal"),
            Col("target", "计划人次", "int"), Col("decided", "判定人次", "int"), Col("paid", "补贴人次", "int"),
            Col("rate", "完成率", "percent"), Col("amount", "补贴金额", "yuan"), Col("clause", "依据"))

    def catalog(keys: list[str]) -> Any:
        if len(keys) != 1:
            return ""
        rules, _ = rules_or_none(engine, keys[0])
        if rules is None:
            return Cell(state="no_catalog")
        return Cell("暂定", provisional=True) if rules.provisional else "正式"

    def row(label: str, wan: Decimal | None, keys: list[str], clause: str) -> tuple[Any, ...]:
        dn, pn, fn = sum(decided[k] for k in keys), sum(paid[k] for k in keys), sum(fen[k] for k in keys)
        if wan is None:
            return (label, catalog(keys), NONE, NONE, dn, pn, NONE, fn, clause)
        target = int(wan * PER_WAN)
        return (label, catalog(keys), Cell(wan), target, dn, pn, _rate(pn, target), fn, clause)

    rows = [row(f"{names[URBAN]}（市本级，{URBAN}）", share, [URBAN], "annex1 R21（市区合计减三区之和）")]
    rows += [row(names[d], targets.get(d), [d], "annex1 R21") for d in districts]
    rows.append(row(f"{names[URBAN]}合计", targets[URBAN], [URBAN, *districts], "annex1 R21"))
    others = [k for k in engine.rulebook.regions if k != URBAN and k not in districts]
    rows += [row(names[k], targets.get(k), [k], "annex1 R21") for k in others]
    rows.append(row("全市总计", Decimal(plans.annex1.city_total), list(engine.rulebook.regions), "annex1 R21"))
    chart_rows = [r for r in rows if isinstance(r[6], Cell) and r[6].state == "value"]
    region_t = Table("regions", f"{year}年分地区培训计划完成情况（附件1）", cols, rows,
                     chart=Chart("progress", f"{year}年分地区计划完成率（补贴人次 ÷ 计划人次）",
                                 x=tuple(r[0] for r in chart_rows),
                                 series=(("完成率", tuple(float(r[6].value) for r in chart_rows)),), unit="完成率"),
                     note=f"金华市区合计 {targets[URBAN]} 万人次高于三区之和，差额 {share} 万人次为市级部分（R21），"
                          "以申领地区为 urban 的申领计。")
    dcols = (Col("number", "序号", "int", label=True), Col("department", "部门", label=True), *cols[2:])
    drows: list[tuple[Any, ...]] = []
    for d in plans.annex2.departments:
        key = DEPARTMENTS[d.number]
        target = int(d.wan * PER_WAN)
        drows.append((d.number, f"{d.department}（{key}）", Cell(d.wan), target, d_decided[key], d_paid[key],
                      _rate(d_paid[key], target), d_fen[key], "annex2 R22"))
    total_t = int(Decimal(plans.annex2.total) * PER_WAN)
    td, tp, tf = sum(d_decided.values()), sum(d_paid.values()), sum(d_fen.values())
    drows.append(("", "合计（注明部门的申领）", Cell(Decimal(plans.annex2.total)), total_t, td, tp, _rate(tp, total_t),
                  tf, "annex2 R22"))
    nd, np_ = sum(decided.values()) - td, sum(paid.values()) - tp
    drows.append(("", "未注明部门", NONE, NONE, nd, np_, NONE, sum(fen.values()) - tf, ""))
    dchart = [r for r in drows[:len(plans.annex2.departments)]]
    dept_t = Table("departments", f"{year}年分部门培训计划完成情况（附件2）", dcols, drows,
                   chart=Chart("progress", f"{year}年分部门计划完成率", x=tuple(r[1] for r in dchart),
                               series=(("完成率", tuple(float(r[6].value) if r[6].state == "value" else None
                                                      for r in dchart)),), unit="完成率"),
                   note="部门由申领文件的 department 列注明（docs/claims.md）；一条申领只计入一个部门。")
    fcols = (Col("region", "地区", label=True), Col("fund", "资金渠道", label=True), Col("paid", "补贴人次", "int"),
             Col("amount", "金额", "yuan"), Col("clause", "依据"))
    order = list(engine.rulebook.regions)
    frows = [(names.get(r, r), fund_name(ch, names), n, a, fund_clause(ch))
             for (r, ch), (n, a) in sorted(funds.items(), key=lambda kv: (order.index(kv[0][0])
                                                                          if kv[0][0] in order else 99, kv[0][1]))]
    fund_t = Table("funds", f"{year}年各地区按资金渠道的补贴金额", fcols, frows,
                   note="就业补助资金一行为生活费补贴（R25），其人次为同时获得生活费补贴的人次。")
    errors = [(e.row, e.claim_id, e.message) for e in claims.errors + result.errors]
    ecols = (Col("row", "行", "int", label=True), Col("claim_id", "申领编号"), Col("reason", "原因"))
    err_t = Table("not_counted", "未计入的行", ecols, sorted(errors + bad_dept, key=lambda r: r[0]),
                  note="无法读取或无法判定的行不计入人次；部门代码有误的申领计入地区、不计入部门。")
    notes = [f"年度：{year}（按申领的 date）。一条申领为一人次；判定人次含不予补贴者，补贴人次为获批者。",
             "计划数见 catalogs/plans.toml（附件1 R21、附件2 R22）。"]
    return Report("plan progress", f"{year}年职业技能提升行动培训计划完成情况（{path.name}）",
                  [region_t, dept_t, fund_t, err_t], notes,
                  ["金人社发〔2020〕1号 附件1 全市职业技能提升行动分地区年度培训计划（annex1，R21）",
                   "金人社发〔2020〕1号 附件2 全市职业技能提升行动分部门年度培训计划（annex2，R22）",
                   f"申领文件：{path.name}"])
