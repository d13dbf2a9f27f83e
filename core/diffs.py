"""A region's catalog between two dates (``subsidy diff``) and what each catalog covers
(``subsidy coverage``).

``diff REGION --from D1 --to D2`` compares the figures in force on D1 with those in force on D2
(:func:`jinhua_subsidy.compare.rate_cells`: rates added, removed or changed), the shortage lists
in force on each date (entries in and out), and lists every dated value that starts in (D1, D2]
or whose last day falls in [D1, D2) (an uplift's ``end = 2021-12-31`` shows as ending on that day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jinhua_subsidy import vocab
from jinhua_subsidy.compare import (
    MEASURE_TYPE,
    MEASURES,
    RateCell,
    _sort_key,
    cite_text,
    item_label,
    rate_cells,
    regions_of,
    rules_or_none,
    sources,
    uplift_label,
)
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.report import NONE, Cell, Chart, Col, Report, Table
from jinhua_subsidy.rulebook import NoRate, RegionRules

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

#: ``coverage`` lists what expires within this many days of ``--on``.
EXPIRY_DAYS = 90
DATED_TABLES = {"qualification": "职业资格培训补贴标准", "project": "项目制培训补贴标准", "programmes": "本地培训项目",
                "apprenticeship": "企业新型学徒制补贴标准", "entrepreneurship": "创业培训补贴标准",
                "uplifts": "上浮", "topups": "重点群体定额加补", "allowances": "生活费补贴标准",
                "enterprise_lists": "企业名单"}


def _value(rc: RateCell | None, measure: str) -> Any:
    if rc is None:
        return NONE
    if MEASURE_TYPE.get(measure) == "int":
        return Cell(f"{rc.value} 课时", provisional=rc.provisional, clause=rc.clause)
    return Cell(rc.value, provisional=rc.provisional, clause=rc.clause)


def describe(table: str, e: Any, names: dict[str, str]) -> str:
    """One dated catalog value in Chinese, for the lists of ``diff`` and ``coverage``."""
    if table == "qualification":
        occ = "通用标准（*）" if e.occupation == "*" else f"{e.occupation} {names.get(e.occupation, '')}"
        return f"{occ} {vocab.LEVEL_NAMES[e.level]}：{format_yuan(e.amount)} 元"
    if table == "project":
        orgs = "、".join(vocab.ORGANIZER_NAMES[o] for o in e.organizers)
        return f"{orgs}：每课时 {format_yuan(e.hour_rate)} 元，上限 {format_yuan(e.cap)} 元"
    if table == "programmes":
        amount = f"每人 {format_yuan(e.amount)} 元" if e.amount is not None else "按项目制培训标准"
        return f"{e.project_code} {e.name}：{amount}"
    if table == "apprenticeship":
        return f"{vocab.APPRENTICE_NAMES[e.apprentice]}：每人每年不超过 {format_yuan(e.cap)} 元"
    if table == "entrepreneurship":
        return f"创业培训 {e.course}：每人 {format_yuan(e.amount)} 元"
    if table == "uplifts":
        what = "紧缺职业" if e.on == "shortage" else vocab.TAG_NAMES.get(e.tag or "", e.tag or "")
        return f"{vocab.KIND_NAMES[e.kind]}上浮（{what}）{e.rate / 100:g}%"
    if table == "topups":
        return f"{vocab.GROUPS.get(e.group, e.group)}加补 {format_yuan(e.amount)} 元"
    if table == "allowances":
        cap = f"，每期上限 {format_yuan(e.cap)} 元" if e.cap is not None else ""
        return f"每人每天 {format_yuan(e.per_day)} 元{cap}"
    if table == "enterprise_lists":
        return f"{e.title}（{len(e.entries)} 家）"
    if table == "shortage":
        return f"{e.title}（{len(e.occupations)} 个职业）"
    return str(e)  # pragma: no cover


def dated_values(rules: RegionRules) -> list[tuple[str, Any]]:
    """(table, entry) for every dated value of a region's rules: its rates section and lists."""
    out = [(t, e) for t in DATED_TABLES for e in getattr(rules.rates, t, ())]
    out += [("shortage", s) for s in rules.shortage]
    return out


def diff(engine: Engine, region: str, start: dt.date, end: dt.date) -> Report:
    if end < start:
        raise ValueError(f"--to {end} 早于 --from {start}")
    rules, why = rules_or_none(engine, region)
    name = engine.rulebook.regions[region].name
    title = f"{name}（{region}）补贴目录变化：{start} → {end}"
    if rules is None:
        t = Table("no_catalog", "无目录", (Col("region", "地区"), Col("reason", "原因")), [(name, why)])
        return Report("diff", title, [t], [f"{name}尚无补贴目录，无可比较的内容。"], sources(engine, [region]))
    names = engine.names
    programmes = {g.project_code: g.name for g in rules.rates.programmes}
    before, after = rate_cells(rules, start), rate_cells(rules, end)
    cols = (Col("change", "变化", label=True), Col("kind", "类别", label=True), Col("item", "职业/对象", label=True),
            Col("level", "等级", label=True), Col("measure", "项目", label=True), Col("uplift", "上浮", label=True),
            Col("before", str(start), "yuan"), Col("after", str(end), "yuan"), Col("clause", "依据"))
    rows: list[tuple[Any, ...]] = []
    for key in sorted(set(before) | set(after), key=_sort_key):
        b, a = before.get(key), after.get(key)
        if b is not None and a is not None and b.value == a.value:
            continue
        change = "新增" if b is None else "取消" if a is None else "调整"
        kind, item, level, measure, up = key
        clause = "；".join(dict.fromkeys(c.clause for c in (b, a) if c is not None))
        rows.append((change, vocab.KIND_NAMES[kind].removesuffix("补贴"), item_label(kind, item, names, programmes),
                     vocab.LEVEL_NAMES.get(level, level), MEASURES[measure], uplift_label([rules], kind, up),
                     _value(b, measure), _value(a, measure), clause))
    rates = Table("rates", "补贴标准变化（新增、取消、调整）", cols, rows,
                  note="“取消”为前一日期有效而后一日期不再有效的标准（含上浮后的金额）。")
    shortage = _shortage_changes(rules, start, end, names)
    events = _events(rules, start, end, names)
    uplifts = Table("uplifts", "上浮的开始与截止", events.columns,
                    [r for r in events.rows if r[2] == DATED_TABLES["uplifts"]],
                    note="main.4.2：企业上浮至2021年底（R10）；截止日为最后一个适用日。")
    notes = [f"比较 {start} 与 {end} 两日有效的规定；期间开始或截止的规定另列。",
             "解读编号（R1–R28）见 docs/readings.md。"]
    return Report("diff", title, [rates, shortage, uplifts, events], notes, sources(engine, [region]))


def _shortage_changes(rules: RegionRules, start: dt.date, end: dt.date, names: dict[str, str]) -> Table:
    def listed(on: dt.date) -> Any:
        try:
            return rules.shortage_list(on)
        except NoRate:
            return None

    b, a = listed(start), listed(end)
    cols = (Col("change", "变化", label=True), Col("occupation", "职业（工种）", label=True),
            Col("before", f"{start} 目录"), Col("after", f"{end} 目录"), Col("clause", "依据"))
    before, after = set(b.occupations) if b else set(), set(a.occupations) if a else set()
    rows: list[tuple[Any, ...]] = []
    for change, occs in (("列入", sorted(after - before)), ("移出", sorted(before - after))):
        for o in occs:
            rows.append((change, f"{o} {names.get(o, '')}",
                         Cell(b.list, provisional=b.status == "provisional") if b else NONE,
                         Cell(a.list, provisional=a.status == "provisional") if a else NONE,
                         "；".join(dict.fromkeys(cite_text(s) for s in (b, a) if s is not None))))
    return Table("shortage", "紧缺职业（工种）目录变化（annex3.1.2 R7）", cols, rows)


def _events(rules: RegionRules, start: dt.date, end: dt.date, names: dict[str, str]) -> Table:
    cols = (Col("date", "日期", "date", label=True), Col("change", "变化", label=True),
            Col("table", "类别", label=True), Col("what", "内容"), Col("status", "状态"), Col("clause", "依据"))
    found: list[tuple[dt.date, int, tuple[Any, ...]]] = []
    prov = rules.rates.status == "provisional"
    for table, e in dated_values(rules):
        status = Cell("暂定", provisional=True) if (prov or getattr(e, "status", "") == "provisional") else "正式"
        what = describe(table, e, names)
        label = DATED_TABLES.get(table, "紧缺职业（工种）目录")
        if start < e.start <= end:
            found.append((e.start, 0, (e.start.isoformat(), "开始施行", label, what, status, cite_text(e))))
        if e.end is not None and start <= e.end < end:
            found.append((e.end, 1, (e.end.isoformat(), "截止（最后适用日）", label, what, status, cite_text(e))))
    rows = [r for _, _, r in sorted(found, key=lambda f: (f[0], f[1], f[2][2], f[2][3]))]
    return Table("events", f"期间开始施行或截止的规定（{start} 至 {end}）", cols, rows)


def coverage(engine: Engine, on: dt.date, regions: Sequence[str] = ()) -> Report:
    keys = regions_of(engine, regions)
    names = engine.names
    total = len(engine.vocabulary.occupations)
    cols = (Col("region", "地区", label=True), Col("status", "目录状态"), Col("kinds", "有标准的补贴类别"),
            Col("star_levels", "职业资格通用标准（*）等级"), Col("occupations", "职业资格覆盖职业数", "int"),
            Col("own", "本地职业标准数", "int"), Col("organizers", "项目制培训组织者"),
            Col("apprentices", "学徒类型"), Col("programmes", "本地培训项目数", "int"),
            Col("shortage", "紧缺目录（职业数）"), Col("allowance", "生活费补贴标准"),
            Col("expiring", f"{EXPIRY_DAYS}天内到期", "int"), Col("clause", "依据"))
    rows: list[tuple[Any, ...]] = []
    missing: list[tuple[Any, ...]] = []
    expiring: list[tuple[Any, ...]] = []
    provisional: list[tuple[Any, ...]] = []
    horizon = on + dt.timedelta(days=EXPIRY_DAYS)
    for k in keys:
        region = engine.rulebook.regions[k]
        rules, why = rules_or_none(engine, k)
        if rules is None:
            rows.append((region.name, Cell(state="no_catalog"), *([Cell(state="no_catalog")] * 10), ""))
            missing.append((f"{region.name}（{k}）", why))
            continue
        cells = rate_cells(rules, on)
        prov = rules.rates.status == "provisional"
        kinds = [vocab.KIND_NAMES[kd].removesuffix("补贴") for kd in vocab.KINDS if any(c[0] == kd for c in cells)]
        star = [vocab.LEVEL_NAMES[lv] for lv in vocab.LEVELS if ("qualification", "*", lv, "amount", "") in cells]
        own = {c[1] for c in cells if c[0] == "qualification" and c[1] != "*"}
        orgs = [vocab.ORGANIZER_NAMES[o] for o in vocab.ORGANIZERS if ("project", o, "", "hour_rate", "") in cells]
        apps = [vocab.APPRENTICE_NAMES[a] for a in vocab.APPRENTICES if ("apprenticeship", a, "", "cap", "") in cells]
        progs = [g for g in rules.rates.programmes if g.in_force(on)]
        try:
            s = rules.shortage_list(on)
            short: Any = Cell(f"{s.title}（{len(s.occupations)}）", provisional=s.status == "provisional")
        except NoRate:
            short = Cell(state="none")
        allowances = [a for a in getattr(rules.rates, "allowances", ()) if a.in_force(on)]
        allowance: Any = (Cell(describe("allowances", allowances[0], names),
                               provisional=allowances[0].status == "provisional") if allowances else Cell(state="none"))
        soon = [(t, e) for t, e in dated_values(rules) if e.end is not None and on <= e.end <= horizon]
        for t, e in sorted(soon, key=lambda te: te[1].end):
            expiring.append((region.name, DATED_TABLES.get(t, "紧缺职业（工种）目录"), describe(t, e, names),
                             e.end.isoformat(), (e.end - on).days, cite_text(e)))
        rows.append((region.name, Cell("暂定", provisional=True) if prov else "正式", "、".join(kinds) or NONE,
                     "、".join(star) or NONE, total if star else len(own), len(own), "、".join(orgs) or NONE,
                     "、".join(apps) or NONE, len(progs), short, allowance, len(soon), rules.rates.title))
        for part in rules.provisional_parts():
            note = rules.rates.note if part.startswith("catalog") else ""
            what, _, name = part.partition(" ")
            if part.startswith("shortage list "):
                what, name = "紧缺职业（工种）目录", part.removeprefix("shortage list ")
            label = {"catalog": "补贴目录", "eligibility": "补贴对象范围"}.get(what, what)
            provisional.append((region.name, f"{label} {name}", note))
        for a in allowances:
            if a.status == "provisional":
                provisional.append((region.name, f"生活费补贴标准 {describe('allowances', a, names)}", a.note))
    main = Table("coverage", f"各地区补贴目录覆盖情况（{on}）", cols, rows,
                 note=f"“职业资格覆盖职业数”：有通用标准（*）时为职业分类词表的全部 {total} 个职业，"
                      "否则为有本地标准的职业数。",
                 chart=Chart("bar", f"各地区职业资格通用标准覆盖的等级数（{on}）",
                             x=tuple(r[0] for r in rows),
                             series=(("通用标准等级数", tuple(
                                 float(len(str(r[3]).split("、"))) if isinstance(r[3], str) else None
                                 for r in rows)),), unit="个"))
    exp = Table("expiring", f"{EXPIRY_DAYS}天内到期的规定（{on} 至 {horizon}）",
                (Col("region", "地区", label=True), Col("table", "类别"), Col("what", "内容"),
                 Col("end", "截止日", "date"), Col("days", "剩余天数", "int"), Col("clause", "依据")), expiring)
    prov_t = Table("provisional", "暂定的部分", (Col("region", "地区", label=True), Col("part", "内容"),
                                               Col("note", "说明")), provisional)
    none_t = Table("no_catalog", "无目录的地区", (Col("region", "地区", label=True), Col("reason", "原因")), missing)
    notes = [f"日期：{on}；到期提示范围 {EXPIRY_DAYS} 天。"]
    return Report("coverage", f"各地区补贴目录覆盖情况（{on}）", [main, exp, prov_t, none_t], notes,
                  sources(engine, keys))
