"""What each region's catalog says on a date, side by side (``subsidy compare rates``).

A region's rates on a date are flattened into :class:`RateCell` entries keyed by
(kind, item, level, measure, uplift): ``("qualification", "*", "4", "amount", "")`` is the level-4
standard, ``("project", "enterprise", "", "hour_rate", "trade_friction")`` the enterprise hour
rate with that uplift applied. Uplifts are shown as the amount they give (never compounded, at
most the uplift limit, R11). The same entries give ``subsidy diff`` (:mod:`jinhua_subsidy.diffs`).

The look-ups are those of the engine (:mod:`jinhua_subsidy.kinds`): the first entry in force wins,
an occupation's own entry before the ``"*"`` standard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from attrs import frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.money import uplift
from jinhua_subsidy.report import BLANK, NO_CATALOG, NONE, Cell, Chart, Col, Report, Table
from jinhua_subsidy.rulebook import NoRate, RegionRules

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

POLICY = "金人社发〔2020〕1号《金华市职业技能提升行动实施方案》及附件3《金华市区职业技能培训补贴标准》"
URBAN = "urban"
MEASURES = {"amount": "补贴标准", "hour_rate": "每课时", "cap": "上限", "min_hours": "最低课时",
            "review_amount": "复审培训每人", "programme": "每人"}
MEASURE_TYPE = {"min_hours": "int"}
KIND_ORDER = {k: i for i, k in enumerate(vocab.KINDS)}
MEASURE_ORDER = {m: i for i, m in enumerate(MEASURES)}
KIND_CLAUSES = {"qualification": "annex3.1.2", "project": "annex3.2.2", "apprenticeship": "annex3.3",
                "entrepreneurship": "main.2"}


@frozen
class RateCell:
    """One figure of a region's catalog on a date: fen (or hours), its citation, its status."""

    value: int
    clause: str
    provisional: bool
    entry: Any = None


Key = tuple[str, str, str, str, str]  #: kind, item, level, measure, uplift


def cite_text(entry: Any) -> str:
    c = entry.citation
    head = c.clause if c.document == "金人社发〔2020〕1号" else f"{c.document}:{c.clause}"
    return f"{head} {c.reading}" if c.reading else head


def regions_of(engine: Engine, wanted: Sequence[str] | None = None) -> list[str]:
    """Every region the rulebook knows (annex 1 first, in its order), or the ``wanted`` ones."""
    known = list(engine.rulebook.regions)
    if not wanted:
        return known
    unknown = [r for r in wanted if r not in engine.rulebook.regions]
    if unknown:
        raise ValueError(f"未知地区 {'、'.join(unknown)}（可用：{'、'.join(known)}）")
    return [r for r in known if r in wanted]


def rules_or_none(engine: Engine, key: str) -> tuple[RegionRules | None, str]:
    """A region's rules, or None and why it has none (the engine's NoRate message)."""
    try:
        return engine.rulebook.rules(key), ""
    except NoRate as exc:
        return None, str(exc)


def rate_cells(rules: RegionRules, on: dt.date) -> dict[Key, RateCell]:
    """Every figure of the region's rates section in force on ``on`` (see the module docstring)."""
    rates = rules.rates
    catalog_prov = rates.status == "provisional"
    limit = rates.uplift_limit.rate
    out: dict[Key, RateCell] = {}
    try:
        shortage = rules.shortage_list(on)
    except NoRate:
        shortage = None

    def uplifts(kind: str) -> list[Any]:
        return [u for u in rates.uplifts if u.kind == kind and u.in_force(on)]

    def add(key: Key, value: int, entry: Any, prov: bool = catalog_prov) -> None:
        if key not in out:
            out[key] = RateCell(value, cite_text(entry), prov, entry)

    def add_uplifts(kind: str, item: str, level: str, measure: str, base: int, entry: Any,
                    organizer: str | None = None, apprentice: str | None = None) -> None:
        for u in uplifts(kind):
            if organizer is not None and u.organizers and organizer not in u.organizers:
                continue
            if apprentice is not None and u.apprentices and apprentice not in u.apprentices:
                continue
            if u.on == "shortage" and shortage is None:
                continue  # no list in force: the uplift cannot apply (a row error in evaluate)
            prov = catalog_prov or (u.on == "shortage" and shortage is not None and shortage.status == "provisional")
            add((kind, item, level, measure, u.key), uplift(base, min(u.rate, limit)), u, prov)

    for q in rates.qualification:
        if q.in_force(on):
            key: Key = ("qualification", q.occupation, q.level, "amount", "")
            if key not in out:
                add(key, q.amount, q)
                add_uplifts("qualification", q.occupation, q.level, "amount", q.amount, q)
    for org in vocab.ORGANIZERS:
        found = [p for p in rates.project if org in p.organizers and p.in_force(on)]
        if not found:
            continue
        p = found[0]
        add(("project", org, "", "hour_rate", ""), p.hour_rate, p)
        add(("project", org, "", "cap", ""), p.cap, p)
        add(("project", org, "", "min_hours", ""), p.min_hours, p)
        if p.review_amount is not None:
            add(("project", org, "", "review_amount", ""), p.review_amount, p)
        add_uplifts("project", org, "", "hour_rate", p.hour_rate, p, organizer=org)
        add_uplifts("project", org, "", "cap", p.cap, p, organizer=org)
    for g in rates.programmes:
        if g.in_force(on) and g.amount is not None:
            add(("project", f"programme:{g.project_code}", "", "programme", ""), g.amount, g)
    for a in vocab.APPRENTICES:
        caps = [e for e in rates.apprenticeship if e.apprentice == a and e.in_force(on)]
        if caps:
            e = caps[0]
            add(("apprenticeship", a, "", "cap", ""), e.cap, e)
            add_uplifts("apprenticeship", a, "", "cap", e.cap, e, apprentice=a)
    for e in getattr(rates, "entrepreneurship", ()):
        if e.in_force(on):
            add(("entrepreneurship", e.course, "", "amount", ""), e.amount, e)
    return out


def uplift_label(rules_list: Iterable[RegionRules | None], kind: str, key: str) -> str:
    if not key:
        return ""
    for rules in rules_list:
        if rules is None:
            continue
        for u in rules.rates.uplifts:
            if u.kind == kind and u.key == key:
                if u.on == "shortage":
                    return "紧缺职业上浮"
                what = vocab.TAG_NAMES.get(u.tag or "", u.tag or "")
                need = f"且{vocab.TAG_NAMES.get(u.requires_tag, u.requires_tag)}" if u.requires_tag else ""
                return f"企业上浮：{what}{need}"
    return key


def item_label(kind: str, item: str, names: dict[str, str], programmes: dict[str, str]) -> str:
    if kind == "qualification":
        return "通用标准（*）" if item == "*" else f"{item} {names.get(item, '')}".strip()
    if kind == "project":
        if item.startswith("programme:"):
            code = item.split(":", 1)[1]
            return f"本地项目 {code} {programmes.get(code, '')}".strip()
        return vocab.ORGANIZER_NAMES.get(item, item)
    if kind == "apprenticeship":
        return vocab.APPRENTICE_NAMES.get(item, item)
    return "通用标准（*）" if item == "*" else item


def _sort_key(key: Key) -> tuple[Any, ...]:
    kind, item, level, measure, up = key
    lv = vocab.LEVELS.index(level) if level in vocab.LEVELS else -1
    org = vocab.ORGANIZERS.index(item) if item in vocab.ORGANIZERS else (
        vocab.APPRENTICES.index(item) if item in vocab.APPRENTICES else 99)
    return (KIND_ORDER.get(kind, 99), item != "*", item.startswith("programme:"), org, item, lv,
            MEASURE_ORDER.get(measure, 99), up != "", up != "shortage", up)


def _region_head(engine: Engine, key: str) -> str:
    return engine.rulebook.regions[key].name


def compare_rates(engine: Engine, on: dt.date, kinds: Sequence[str] = (), regions: Sequence[str] = ()) -> Report:
    """The rate matrix and the side-by-side tables of ``subsidy compare rates``."""
    keys = regions_of(engine, regions)
    got = {k: rules_or_none(engine, k) for k in keys}
    rules = {k: r for k, (r, _) in got.items()}
    urban_rules, _ = rules_or_none(engine, URBAN)
    urban = rate_cells(urban_rules, on) if urban_rules is not None else {}
    cells = {k: (rate_cells(r, on) if r is not None else None) for k, r in rules.items()}
    all_keys = sorted({key for c in cells.values() if c for key in c
                       if not kinds or key[0] in kinds}, key=_sort_key)
    names = engine.names
    programmes = {g.project_code: g.name for r in rules.values() if r for g in r.rates.programmes}
    region_cols = tuple(Col(k, _region_head(engine, k), "yuan") for k in keys)
    cols = (Col("kind", "类别", label=True), Col("item", "职业/对象", label=True),
            Col("level", "等级", label=True), Col("measure", "项目", label=True),
            Col("uplift", "上浮", label=True), *region_cols, Col("clause", "依据"))
    rows: list[tuple[Any, ...]] = []
    for key in all_keys:
        kind, item, level, measure, up = key
        row: list[Any] = [vocab.KIND_NAMES[kind].removesuffix("补贴"), item_label(kind, item, names, programmes),
                          vocab.LEVEL_NAMES.get(level, level), MEASURES[measure],
                          uplift_label([urban_rules, *rules.values()], kind, up)]
        clauses: list[str] = []
        for k in keys:
            c = cells[k]
            if c is None:
                row.append(NO_CATALOG)
                continue
            rc = c.get(key)
            if rc is None:
                row.append(NONE)
                continue
            ref = urban.get(key)
            differs = k != URBAN and (ref is None or ref.value != rc.value)
            value: Any = rc.value
            row.append(Cell(value, provisional=rc.provisional, differs=differs, clause=rc.clause))
            if rc.clause not in clauses:
                clauses.append(rc.clause)
        row.append("；".join(clauses))
        rows.append(tuple(row))
    # min_hours is hours, not yuan: the cells say so by their column type per row (see _typed).
    matrix = Table("rates", f"补贴标准对照（{on}）", _typed(cols, rows, all_keys), rows,
                   note="每行一项标准，每列一个地区；上浮行为上浮后的金额（多项上浮不叠加，R11）。"
                        "“最低课时”一行为课时数。",
                   chart=_heatmap(engine, keys, cells, on))
    tables = [matrix, shortage_table(engine, keys, rules, on), eligibility_table(engine, keys, rules),
              funding_table(engine, keys, rules), allowance_table(engine, keys, rules, on)]
    notes = [f"日期：{on}。每个数值为该日有效的标准，附其条款编号（依据列；HTML 中悬停单元格可见）。",
             "无目录的地区：" + ("、".join(f"{_region_head(engine, k)}（{k}）" for k, (r, _) in got.items()
                                          if r is None) or "无"),
             "“△”与金华市区标准比较；金华市区本身不标。"]
    return Report("compare rates", f"各地区职业技能培训补贴标准对照（{on}）", tables, notes, sources(engine, keys))


def _typed(cols: tuple[Col, ...], rows: list[tuple[Any, ...]], keys: list[Key]) -> tuple[Col, ...]:
    """Region columns are yuan; the hours of a ``min_hours`` row are written as whole numbers by
    turning those cells into text (a column has one type)."""
    for n, key in enumerate(keys):
        if key[3] == "min_hours":
            row = list(rows[n])
            for i, col in enumerate(cols):
                c = row[i]
                if col.type == "yuan" and isinstance(c, Cell) and c.state == "value":
                    row[i] = Cell(f"{c.value} 课时", provisional=c.provisional, differs=c.differs, clause=c.clause)
            rows[n] = tuple(row)
    return cols


def _heatmap(engine: Engine, keys: list[str], cells: dict[str, dict[Key, RateCell] | None], on: dt.date) -> Chart:
    """The qualification standard (``*``) per level × region, in yuan; gaps where there is none."""
    levels = list(vocab.LEVELS)
    z, text = [], []
    for lv in levels:
        zr: list[float | None] = []
        tr: list[str] = []
        for k in keys:
            c = cells[k]
            rc = c.get(("qualification", "*", lv, "amount", "")) if c is not None else None
            if c is None:
                zr.append(None)
                tr.append("无目录")
            elif rc is None:
                zr.append(None)
                tr.append("无此项")
            else:
                zr.append(rc.value / 100)
                tr.append(f"{rc.value // 100}" + ("（暂定）" if rc.provisional else ""))
        z.append(tuple(zr))
        text.append(tuple(tr))
    return Chart("heatmap", f"职业资格培训补贴通用标准（元，{on}）：地区 × 等级",
                 x=tuple(_region_head(engine, k) for k in keys), y=tuple(vocab.LEVEL_NAMES[lv] for lv in levels),
                 z=tuple(z), text=tuple(text), unit="元")


def shortage_table(engine: Engine, keys: list[str], rules: dict[str, RegionRules | None], on: dt.date) -> Table:
    lists: dict[str, Any] = {}
    for k, r in rules.items():
        if r is not None:
            try:
                lists[k] = r.shortage_list(on)
            except NoRate:
                lists[k] = None
    occs = sorted({o for s in lists.values() if s is not None for o in s.occupations})
    cols = (Col("occupation", "职业（工种）", label=True),
            *(Col(k, _region_head(engine, k)) for k in keys))
    rows: list[tuple[Any, ...]] = []
    head: list[Any] = ["目录"]
    for k in keys:
        s: Any = lists.get(k, "no") if rules[k] is not None else "no"
        if s == "no":
            head.append(NO_CATALOG)
        elif s is None:
            head.append(NONE)
        else:
            head.append(Cell(f"{s.title}（{s.list}）", provisional=s.status == "provisional", clause=cite_text(s)))
    rows.append(tuple(head))
    for o in occs:
        row: list[Any] = [f"{o} {engine.names.get(o, '')}"]
        for k in keys:
            s = lists.get(k, "no") if rules[k] is not None else "no"
            if isinstance(s, str):
                row.append(NO_CATALOG)
            elif s is None:
                row.append(NONE)
            elif o in s.occupations:
                row.append(Cell("列入", provisional=s.status == "provisional", clause=cite_text(s)))
            else:
                row.append(BLANK)
        rows.append(tuple(row))
    return Table("shortage", f"紧缺职业（工种）目录对照（{on}，annex3.1.2 R7）", cols, rows,
                 note="“列入”为该职业在该地区当日有效的紧缺目录中（补贴标准上浮，R7）；空白为未列入；"
                      "“无此项”为该地区当日无在用的紧缺目录。")


def eligibility_table(engine: Engine, keys: list[str], rules: dict[str, RegionRules | None]) -> Table:
    cols = (Col("ground", "补贴对象条件", label=True), *(Col(k, _region_head(engine, k)) for k in keys))
    rows: list[tuple[Any, ...]] = []
    area_row: list[Any] = ["本地范围（户籍、居住证、参保、失业登记所在地）"]
    for k in keys:
        r = rules[k]
        area_row.append(NO_CATALOG if r is None else Cell(
            "、".join(engine.rulebook.regions[a].name if a in engine.rulebook.regions else a
                     for a in r.eligibility.area),
            provisional=r.eligibility.status == "provisional", clause=cite_text(r.eligibility)))
    rows.append(tuple(area_row))
    for test in vocab.GROUND_TESTS:
        row: list[Any] = [vocab.GROUND_NAMES[test]]
        seen = False
        for k in keys:
            r = rules[k]
            if r is None:
                row.append(NO_CATALOG)
                continue
            grounds = [g for g in r.eligibility.grounds if g.test == test]
            if not grounds:
                row.append(NONE)
                continue
            seen = True
            texts = []
            for g in grounds:
                kinds = "各类" if set(g.kinds) >= set(vocab.KINDS) else "、".join(
                    vocab.KIND_NAMES[x].removesuffix("补贴") for x in g.kinds)
                extra = f"，满{g.min_months}个月" if g.min_months else ""
                groups = getattr(g, "groups", ())
                if groups:
                    extra += "：" + "、".join(vocab.GROUPS.get(x, x) for x in groups)
                texts.append(kinds + extra)
            row.append(Cell("；".join(texts), provisional=r.eligibility.status == "provisional",
                            clause="；".join(dict.fromkeys(cite_text(g) for g in grounds))))
        if seen:
            rows.append(tuple(row))
    age_row: list[Any] = ["年龄范围（R27）"]
    for k in keys:
        r = rules[k]
        age = getattr(r.eligibility, "age", None) if r is not None else None
        if r is None:
            age_row.append(NO_CATALOG)
        elif age is None:
            age_row.append(NONE)
        else:
            lo = "" if age.min_age is None else f"{age.min_age}岁"
            hi = "" if age.max_age is None else f"{age.max_age}岁"
            age_row.append(Cell(f"{lo}–{hi}", clause=cite_text(age)))
    rows.append(tuple(age_row))
    return Table("eligibility", "补贴对象范围对照（R1–R4，main.4.4）", cols, rows,
                 note="任一条件成立即属补贴对象；单元格为该条件适用的补贴类别。")


def _rule_text(rule: Any, names: dict[str, str]) -> str:
    cond = []
    if rule.levels:
        cond.append("、".join(vocab.LEVEL_NAMES.get(x, x) for x in rule.levels))
    if rule.organizers:
        cond.append("、".join(vocab.ORGANIZER_NAMES.get(x, x) for x in rule.organizers))
    if rule.organizer_level:
        cond.append({"city": "市级", "district": "区级"}[rule.organizer_level])
    if rule.tag:
        cond.append(vocab.TAG_NAMES.get(rule.tag, rule.tag))
    if rule.employer_in:
        cond.append("参保地" + "、".join(names.get(x, x) for x in rule.employer_in))
    channel = rule.channel
    if channel == "city":
        fund = "市级"
    elif "{employer_region}" in channel:
        fund = "参保地所在区（县）"
    else:
        kind, _, key = channel.partition(":")
        fund = names.get(key, key) + ("区级" if kind == "district" else "专项资金")
    return ("、".join(cond) + "→" if cond else "→") + fund


def funding_table(engine: Engine, keys: list[str], rules: dict[str, RegionRules | None]) -> Table:
    names = engine.region_names
    cols = (Col("kind", "补贴类别", label=True), *(Col(k, _region_head(engine, k)) for k in keys))
    rows: list[tuple[Any, ...]] = []
    for kind in vocab.KINDS:
        row: list[Any] = [vocab.KIND_NAMES[kind]]
        for k in keys:
            r = rules[k]
            if r is None:
                row.append(NO_CATALOG)
                continue
            applied = [x for x in r.funding.rules if not x.kinds or kind in x.kinds]
            if not applied:
                row.append(NONE)
                continue
            row.append(Cell("；".join(_rule_text(x, names) for x in applied),
                            clause="；".join(dict.fromkeys(cite_text(x) for x in applied))))
        rows.append(tuple(row))
    return Table("funds", "资金渠道对照（annex3.4 R16 R17）", cols, rows,
                 note="按顺序取第一条相符的规则；无相符规则者不予补贴（no_fund）。")


def allowance_table(engine: Engine, keys: list[str], rules: dict[str, RegionRules | None], on: dt.date) -> Table:
    cols = (Col("measure", "生活费补贴", label=True), *(Col(k, _region_head(engine, k), "yuan") for k in keys))
    found: dict[str, Any] = {}
    for k, r in rules.items():
        if r is not None:
            live = [a for a in getattr(r.rates, "allowances", ()) if a.in_force(on)]
            found[k] = live[0] if live else None
    rows: list[tuple[Any, ...]] = []
    for measure in ("per_day", "cap", "groups"):
        label = {"per_day": "每人每天", "cap": "每期上限", "groups": "适用人群"}[measure]
        row: list[Any] = [label]
        for k in keys:
            if rules[k] is None:
                row.append(NO_CATALOG)
                continue
            a = found.get(k)
            if a is None:
                row.append(NONE)
                continue
            prov = a.status == "provisional"
            if measure == "per_day":
                row.append(Cell(a.per_day, provisional=prov, clause=cite_text(a)))
            elif measure == "cap":
                row.append(Cell(a.cap, provisional=prov, clause=cite_text(a)) if a.cap is not None else NONE)
            else:
                row.append(Cell("、".join(vocab.GROUPS.get(g, g) for g in a.groups), provisional=prov,
                                clause=cite_text(a)))
        rows.append(tuple(row))
    return Table("allowance", f"生活费补贴标准对照（{on}，main.4.2 R25）", cols, rows,
                 note="生活费补贴由就业补助资金列支，只与获批的培训补贴同时发放（R25）。")


def sources(engine: Engine, keys: Iterable[str]) -> list[str]:
    out = [POLICY, "解读（R1–R28）：docs/readings.md；比较规则：docs/bureau.md"]
    for k in keys:
        r, why = rules_or_none(engine, k)
        name = _region_head(engine, k)
        if r is None:
            out.append(f"{name}（{k}）：{why}")
            continue
        status = "暂定" if r.rates.status == "provisional" else "正式"
        out.append(f"{name}（{k}）：{r.rates.title}（{r.rates.source or r.plugin}，{status}）")
    return out
