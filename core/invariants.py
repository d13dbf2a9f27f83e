"""The core invariants behind ``subsidy check``.

:func:`run_checks` asks every installed plugin for the data of every region it
serves, checks each catalog once (a district that inherits its parent's catalog
does not check it again) and returns :class:`Finding` objects: file, key path,
rule, clause (and reading), a Chinese message and a severity. ``error`` findings
make ``subsidy check`` exit 1; ``note`` findings are for information.

Rules (``Finding.rule``):

* ``R6`` (main.4.1) one qualification rate per occupation × level on any date;
  ``overlap``: the same for every other keyed table (project standards per
  organizer, programmes per ``project_code``, apprenticeship caps, uplifts, shortage lists).
* ``district`` (main.4.1, R6) a district with its own catalog uses the urban rates unchanged.
* ``R11`` (main.4.2) no uplift above 30%.
* ``negative`` no negative amount or rate.
* ``level_order`` (annex3.1.2, R5) a higher level never pays less than a lower one.
* ``occupation`` every occupation code is in the vocabulary.
* ``fund`` (annex3.4, R17) every funding channel names a fund that exists.
* ``citation`` every clause id of 金人社发〔2020〕1号 exists; readings are R1–R28.
* ``eligibility`` (R1–R4) grounds are complete; programmes name grounds the region has.
* ``coverage`` (note) a served region without a full set of rules.
* ``format`` a catalog that cannot be loaded.
* ``plan`` (annex1 R21, annex2 R22) the annual plans add up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import combinations, pairwise
from typing import TYPE_CHECKING, Any

from attrs import asdict, evolve, field, frozen
from attrs.validators import in_

from jinhua_subsidy import vocab
from jinhua_subsidy.catalog import CatalogError
from jinhua_subsidy.citations import POLICY, POLICY_CLAUSES, READINGS
from jinhua_subsidy.inheritance import Effective, own, rate_tables
from jinhua_subsidy.models import Cited, Dated, Eligibility, Funding, RateCatalog, ShortageList
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.plans import Plans, load_plans
from jinhua_subsidy.regions import KNOWN_REGIONS, Region
from jinhua_subsidy.rulebook import Answer, NoParentRates, Rulebook

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

ERROR = "error"
NOTE = "note"
#: main.4.2 上浮幅度不超过30% (R11), in basis points.
MAX_UPLIFT_BP = 3000
#: R5: level 1 is the highest; ``S`` (专项职业能力证书) is not ordered against the others.
ORDERED_LEVELS = ("1", "2", "3", "4", "5")
URBAN = "urban"
EMPLOYER_REGION = "{employer_region}"


@frozen(kw_only=True)
class Finding:
    """One thing ``subsidy check`` reports, e.g.
    ``catalogs/urban.toml: qualification[3].amount: [R6 main.4.1] 同一工种同一等级在 …``."""

    file: str
    path: str
    rule: str
    clause: str
    message: str
    severity: str = field(default=ERROR, validator=in_((ERROR, NOTE)))
    reading: str | None = None

    def __str__(self) -> str:
        tag = " ".join(t for t in (self.rule, self.clause, self.reading) if t)
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        kind = "提示：" if self.severity == NOTE else ""
        return f"{where}[{tag}] {kind}{self.message}"

    def record(self) -> dict[str, Any]:
        return asdict(self)


def format_findings(exc: CatalogError) -> list[Finding]:
    """A catalog that cannot be loaded: one finding per problem."""
    return [Finding(file=exc.file, path=path, rule="format", clause="", message=f"目录文件无法读取：{message}")
            for path, message in exc.problems]


# --- helpers ----------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"{format_yuan(fen)} 元"


def _pct(bp: int) -> str:
    return f"{Decimal(bp) / 100}%"


def _wan(value: Decimal) -> str:
    """万人次 without trailing zeros: ``Decimal("8.00")`` → ``8``."""
    return format(value.normalize(), "f")


def _occ(code: str, names: Mapping[str, str]) -> str:
    return "通用标准（*）" if code == "*" else f"职业 {code} {names.get(code, '')}".rstrip()


def _overlapping(entries: Sequence[Dated], keys: Callable[[Any], Iterable[Hashable]]
                 ) -> list[tuple[int, int, dt.date, Any]]:
    """Pairs ``(i, j)``, ``i < j``, sharing a key whose date ranges overlap, with the
    first date both are in force and the shared key."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        for k in keys(e):
            groups[k].append(i)
    found: dict[tuple[int, int], tuple[int, int, dt.date, Any]] = {}
    for k, idx in groups.items():
        for i, j in combinations(idx, 2):
            if (i, j) not in found and entries[i].overlaps(entries[j]):
                found[(i, j)] = (i, j, max(entries[i].start, entries[j].start), k)
    return sorted(found.values(), key=lambda f: (f[1], f[0]))


def _cited(rc: RateCatalog) -> Iterator[tuple[str, Cited]]:
    yield "uplift_limit", rc.uplift_limit
    for table in ("qualification", "project", "programmes", "apprenticeship", "uplifts"):
        for i, e in enumerate(getattr(rc, table)):
            yield f"{table}[{i}]", e


def check_citation(file: str, path: str, c: Cited) -> list[Finding]:
    """Every value is cited: a clause, which for 金人社发〔2020〕1号 is one of its clause ids,
    and a reading R1–R28 where one is given."""
    out = []
    if not c.clause.strip():
        out.append(Finding(file=file, path=f"{path}.clause", rule="citation", clause="",
                           message="缺少条款编号：每个取值须注明出处（如 annex3.1.2）"))
    elif c.document == POLICY and c.clause not in POLICY_CLAUSES:
        out.append(Finding(file=file, path=f"{path}.clause", rule="citation", clause=c.clause,
                           message=f"条款编号 {c.clause} 不是{POLICY}的条款编号（见 INTERPRETATIONS.md）"))
    if c.reading is not None and c.reading not in READINGS:
        out.append(Finding(file=file, path=f"{path}.reading", rule="citation", clause=c.clause,
                           message=f"解读编号 {c.reading} 不在 R1–R28 之中"))
    return out


# --- one rate catalog -------------------------------------------------------------------------


def check_rates(rc: RateCatalog, file: str, names: Mapping[str, str]) -> list[Finding]:
    """Every invariant that holds within one rate catalog."""
    out: list[Finding] = []
    out += _one_rate_per_key(rc, file, names)
    out += _uplift_limits(rc, file)
    out += _negatives(rc, file)
    out += _level_order(rc, file, names)
    for j, q in enumerate(rc.qualification):
        if q.occupation != "*" and q.occupation not in names:
            out.append(_unknown_occupation(file, f"qualification[{j}].occupation", q.occupation))
    for path, c in _cited(rc):
        out += check_citation(file, path, c)
    return out


def _unknown_occupation(file: str, path: str, code: str) -> Finding:
    return Finding(file=file, path=path, rule="occupation", clause="main.4.1",
                   message=f"职业编码 {code} 不在职业分类词表（catalogs/occupations.toml）中")


def _overlap(file: str, table: str, i: int, j: int, what: str, on: dt.date,
             clause: str = "main.4.1", reading: str = "R6") -> Finding:
    return Finding(file=file, path=f"{table}[{j}].start", rule="overlap", clause=clause, reading=reading,
                   message=f"{what}在 {on} 有两项同时有效：{table}[{i}] 与 {table}[{j}]")


def _one_rate_per_key(rc: RateCatalog, file: str, names: Mapping[str, str]) -> list[Finding]:
    """R6 (main.4.1): one value per key on any date."""
    out = []
    for i, j, on, _k in _overlapping(rc.qualification, lambda q: [(q.occupation, q.level)]):
        q = rc.qualification[j]
        out.append(Finding(
            file=file, path=f"qualification[{j}].amount", rule="R6", clause="main.4.1",
            message=f"同一工种同一等级在 {on} 有两个补贴标准：qualification[{i}] 与 qualification[{j}]"
                    f"（{_occ(q.occupation, names)}，{vocab.LEVEL_NAMES[q.level]}）"))
    for i, j, on, k in _overlapping(rc.project, lambda p: p.organizers):
        out.append(_overlap(file, "project", i, j, f"{vocab.ORGANIZER_NAMES[k]}组织的项目制培训补贴标准", on))
    for i, j, on, k in _overlapping(rc.programmes, lambda p: [p.project_code]):
        out.append(_overlap(file, "programmes", i, j, f"培训项目 {k} ", on))
    for i, j, on, k in _overlapping(rc.apprenticeship, lambda a: [a.apprentice]):
        out.append(_overlap(file, "apprenticeship", i, j, f"{vocab.APPRENTICE_NAMES[k]}补贴上限", on))
    for i, j, on, _k in _overlapping(rc.uplifts, lambda u: [(u.kind, u.on, u.tag, u.requires_tag)]):
        u = rc.uplifts[j]
        out.append(_overlap(file, "uplifts", i, j, f"{vocab.KIND_NAMES[u.kind]}的上浮 {u.key} ", on))
    for i, j, on, k in _overlapping(rc.entrepreneurship, lambda e: [e.course]):
        out.append(_overlap(file, "entrepreneurship", i, j, f"创业培训（{k}）补贴标准", on))
    for i, j, on, k in _overlapping(rc.topups, lambda t: [t.key]):
        out.append(_overlap(file, "topups", i, j, f"重点群体加发 {k} ", on))
    for i, j, on, _k in _overlapping(rc.allowances, lambda a: [()]):
        out.append(_overlap(file, "allowances", i, j, "生活费补贴标准", on, clause="main.4.4", reading="R25"))
    for i, j, on, k in _overlapping(rc.enterprise_lists, lambda lst: [lst.tag]):
        out.append(_overlap(file, "enterprise_lists", i, j, f"{vocab.TAG_NAMES[k]}名单", on, clause="main.4.2",
                            reading="R26"))
    for j, lst in enumerate(rc.enterprise_lists):
        for k, e in enumerate(lst.entries):
            if not _uscc_ok(e.code):
                out.append(Finding(file=file, path=f"enterprise_lists[{j}].entries[{k}].code", rule="enterprise",
                                   clause="main.4.2", reading="R26",
                                   message=f"{e.code!r} 不是有效的统一社会信用代码（18位，校验位按 GB 32100-2015）"))
    return out


def _uscc_ok(code: str) -> bool:
    from jinhua_subsidy.columns import USCC_CHARS, uscc_check

    return len(code) == 18 and all(ch in USCC_CHARS for ch in code) and uscc_check(code[:17]) == code[17]


def _uplift_limits(rc: RateCatalog, file: str) -> list[Finding]:
    """R11 (main.4.2): 上浮幅度不超过30%."""
    out = []
    for j, u in enumerate(rc.uplifts):
        if u.rate > MAX_UPLIFT_BP:
            out.append(Finding(file=file, path=f"uplifts[{j}].rate", rule="R11", clause="main.4.2",
                               message=f"上浮 {u.key} 为 {_pct(u.rate)}，超过上浮幅度上限 30%"))
    if rc.uplift_limit.rate > MAX_UPLIFT_BP:
        out.append(Finding(file=file, path="uplift_limit.rate", rule="R11", clause="main.4.2",
                           message=f"上浮合计上限为 {_pct(rc.uplift_limit.rate)}，超过上浮幅度上限 30%"))
    return out


_MONEY = {
    "qualification": ("amount",),
    "project": ("hour_rate", "cap", "review_amount"),
    "programmes": ("amount",),
    "apprenticeship": ("cap",),
    "entrepreneurship": ("amount",),
    "topups": ("amount",),
    "allowances": ("per_day", "cap"),
}


def _negatives(rc: RateCatalog, file: str) -> list[Finding]:
    out = []
    for table, fields in _MONEY.items():
        for j, e in enumerate(getattr(rc, table)):
            for name in fields:
                value = getattr(e, name)
                if value is not None and value < 0:
                    out.append(Finding(file=file, path=f"{table}[{j}].{name}", rule="negative", clause=e.clause,
                                       reading=e.reading, message=f"金额为负数：{_yuan(value)}"))
    rates: list[tuple[str, Cited, int]] = [(f"uplifts[{j}].rate", u, u.rate) for j, u in enumerate(rc.uplifts)]
    rates.append(("uplift_limit.rate", rc.uplift_limit, rc.uplift_limit.rate))
    for path, c, bp in rates:
        if bp < 0:
            out.append(Finding(file=file, path=path, rule="negative", clause=c.clause, reading=c.reading,
                               message=f"上浮比例为负数：{_pct(bp)}"))
    return out


def _level_order(rc: RateCatalog, file: str, names: Mapping[str, str]) -> list[Finding]:
    """annex3.1.2, R5: a higher level never pays less than a lower one, for each occupation
    (its own entries first, else ``*``, as the evaluator resolves them) on every date a rate
    starts or the day after one ends."""
    quals = rc.qualification
    days = {q.start for q in quals} | {q.end + dt.timedelta(days=1) for q in quals
                                       if q.end is not None and q.end < dt.date.max}
    out: list[Finding] = []
    seen: set[tuple[int, int]] = set()
    for occ in sorted({q.occupation for q in quals}):
        for on in sorted(days):
            effective: dict[str, int] = {}
            for level in ORDERED_LEVELS:
                own = [i for i, q in enumerate(quals) if q.occupation == occ and q.level == level and q.in_force(on)]
                found = own or [i for i, q in enumerate(quals)
                                if q.occupation == "*" and q.level == level and q.in_force(on)]
                if found:
                    effective[level] = found[0]
            present = [lv for lv in ORDERED_LEVELS if lv in effective]
            for high, low in pairwise(present):
                i, j = effective[high], effective[low]
                if quals[i].amount < quals[j].amount and (i, j) not in seen:
                    seen.add((i, j))
                    out.append(Finding(
                        file=file, path=f"qualification[{j}].amount", rule="level_order", clause="annex3.1.2",
                        reading="R5",
                        message=f"{_occ(occ, names)}在 {on} {vocab.LEVEL_NAMES[low]}补贴 {_yuan(quals[j].amount)}，"
                                f"高于{vocab.LEVEL_NAMES[high]}的 {_yuan(quals[i].amount)}（qualification[{i}]）："
                                f"等级高者补贴不得更低"))
    return out


# --- district catalogs (R6: 统一市区培训补贴标准) ------------------------------------------------

#: Table → (how entries are matched, the fields that must be equal). Keys end with start, end.
_DISTRICT_TABLES: dict[str, tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...]]] = {
    "qualification": (lambda q: (q.occupation, q.level, q.start, q.end), ("amount",)),
    "project": (lambda p: (tuple(sorted(p.organizers)), p.start, p.end),
                ("hour_rate", "cap", "min_hours", "review_amount")),
    "apprenticeship": (lambda a: (a.apprentice, a.start, a.end), ("cap",)),
    "uplifts": (lambda u: (u.key, u.kind, u.start, u.end),
                ("on", "tag", "requires_tag", "organizers", "apprentices", "rate")),
}
_FIELD_NAMES = {
    "amount": "补贴标准", "hour_rate": "每课时补贴", "cap": "补贴上限", "min_hours": "最少课时",
    "review_amount": "复审培训补贴", "on": "上浮条件", "tag": "企业类型", "requires_tag": "另需企业类型",
    "organizers": "组织者", "apprentices": "学徒类别", "rate": "上浮比例",
}
_YUAN_FIELDS = frozenset({"amount", "hour_rate", "cap", "review_amount"})


def _show(name: str, value: Any) -> str:
    if value is None or value == ():
        return "（无）"
    if name in _YUAN_FIELDS:
        return _yuan(value)
    if name == "rate":
        return _pct(value)
    if isinstance(value, tuple):
        return "、".join(value)
    return str(value)


def _describe(table: str, key: tuple[Any, ...], names: Mapping[str, str]) -> str:
    *what, start, end = key
    if table == "qualification":
        text = f"{_occ(what[0], names)}{vocab.LEVEL_NAMES[what[1]]}"
    elif table == "project":
        text = "、".join(vocab.ORGANIZER_NAMES[o] for o in what[0]) + "组织的项目制培训"
    elif table == "apprenticeship":
        text = vocab.APPRENTICE_NAMES[what[0]]
    else:
        text = f"{vocab.KIND_NAMES[what[1]]}的上浮 {what[0]}"
    return f"{text}（{start} 起" + (f"至 {end}）" if end else "）")


def check_district(region: Region, rc: RateCatalog, file: str, urban: RateCatalog, urban_file: str,
                   names: Mapping[str, str]) -> list[Finding]:
    """A district's own catalog must equal the urban one (main.4.1 统一市区培训补贴标准, R6),
    programmes (the district's own, keyed by ``project_code``) left out."""
    out: list[Finding] = []

    def finding(path: str, message: str) -> None:
        out.append(Finding(file=file, path=path, rule="district", clause="main.4.1", reading="R6",
                           message=f"{region.name}须执行市区统一补贴标准：{message}"))

    for table, (key, fields) in _DISTRICT_TABLES.items():
        ours: dict[tuple[Any, ...], int] = {}
        for j, e in enumerate(getattr(rc, table)):
            ours.setdefault(key(e), j)
        theirs: dict[tuple[Any, ...], int] = {}
        for i, e in enumerate(getattr(urban, table)):
            theirs.setdefault(key(e), i)
        for j, e in enumerate(getattr(rc, table)):
            k = key(e)
            what = _describe(table, k, names)
            if k not in theirs:
                finding(f"{table}[{j}]", f"{what}在市区统一标准（{urban_file}）中没有对应项")
                continue
            i = theirs[k]
            u = getattr(urban, table)[i]
            for name in fields:
                if getattr(e, name) != getattr(u, name):
                    finding(f"{table}[{j}].{name}",
                            f"{what}的{_FIELD_NAMES[name]}为 {_show(name, getattr(e, name))}，"
                            f"市区统一标准（{urban_file} {table}[{i}]）为 {_show(name, getattr(u, name))}")
        for k, i in theirs.items():
            if k not in ours:
                finding(table, f"缺少市区统一标准 {table}[{i}]：{_describe(table, k, names)}")
    if rc.uplift_limit.rate != urban.uplift_limit.rate:
        finding("uplift_limit.rate", f"上浮合计上限为 {_pct(rc.uplift_limit.rate)}，"
                                     f"市区统一标准为 {_pct(urban.uplift_limit.rate)}")
    return out


# --- shortage lists, eligibility, funding ------------------------------------------------------


def check_shortage(lists: Sequence[ShortageList], file: str, names: Mapping[str, str]) -> list[Finding]:
    out = []
    for i, j, on, _k in _overlapping(lists, lambda s: [()]):
        out.append(_overlap(file, "shortage", i, j, "紧缺职业（工种）目录", on, clause="annex3.1.2", reading="R7"))
    for i, s in enumerate(lists):
        for k, code in enumerate(s.occupations):
            if code not in names:
                out.append(_unknown_occupation(file, f"shortage[{i}].occupations[{k}]", code))
        out += check_citation(file, f"shortage[{i}]", s)
    return out


def check_eligibility(e: Eligibility, file: str, regions: Mapping[str, Region]) -> list[Finding]:
    out = []
    for k, key in enumerate(e.area):
        if key not in regions:
            out.append(Finding(file=file, path=f"eligibility.area[{k}]", rule="eligibility", clause=e.clause,
                               reading=e.reading, message=f"本地范围中的地区 {key!r} 不是已知地区"))
    for k, g in enumerate(e.grounds):
        if g.test == "insured" and g.min_months is None:
            out.append(Finding(file=file, path=f"eligibility.grounds[{k}].min_months", rule="eligibility",
                               clause=g.clause, reading=g.reading,
                               message="社保条件须写明缴费月数 min_months（如市区为6个月以上，R2）"))
        out += check_citation(file, f"eligibility.grounds[{k}]", g)
    out += check_citation(file, "eligibility", e)
    return out


def check_programme_grounds(region: Region, rc: RateCatalog, file: str, e: Eligibility) -> list[Finding]:
    """A programme's ``grounds`` must be tests the region's eligibility has for project training."""
    have = {g.test for g in e.grounds if "project" in g.kinds}
    out = []
    for j, p in enumerate(rc.programmes):
        for k, test in enumerate(p.grounds):
            if test not in have:
                out.append(Finding(
                    file=file, path=f"programmes[{j}].grounds[{k}]", rule="eligibility", clause="main.4.4",
                    reading="R4",
                    message=f"培训项目 {p.project_code} 限定的条件 {test}（{vocab.GROUND_NAMES[test]}）"
                            f"不在{region.name}（{region.key}）项目制培训的补贴对象条件中"))
    return out


def check_funding(f: Funding, file: str, funds: set[str]) -> list[Finding]:
    """R17 (annex3.4): every channel names a fund that exists; ``{employer_region}`` is
    expanded over ``employer_in``, which it requires."""
    out = []

    def finding(path: str, message: str) -> None:
        out.append(Finding(file=file, path=path, rule="fund", clause="annex3.4", reading="R17", message=message))

    for j, rule in enumerate(f.rules):
        if EMPLOYER_REGION in rule.channel:
            if not rule.employer_in:
                finding(f"funding.rules[{j}].employer_in",
                        f"资金渠道 {rule.channel} 按用人单位参保地确定，须列出 employer_in")
            for k, key in enumerate(rule.employer_in):
                channel = rule.channel.replace(EMPLOYER_REGION, key)
                if channel not in funds:
                    finding(f"funding.rules[{j}].employer_in[{k}]", f"资金渠道 {channel} 不存在")
        elif rule.channel not in funds:
            finding(f"funding.rules[{j}].channel",
                    f"资金渠道 {rule.channel} 不存在（可用：{'、'.join(sorted(funds))}）")
        out += check_citation(file, f"funding.rules[{j}]", rule)
    return out


# --- plans (annex 1, annex 2) -----------------------------------------------------------------


def check_plans(plans: Plans) -> list[Finding]:
    """R21: the urban total and the counties add up to the city total; the urban total
    above its districts is a note (the difference is the city-level share).
    R22: the departments add up to their total, which is the city total."""
    file, a1, a2 = plans.source, plans.annex1, plans.annex2
    out: list[Finding] = []

    def finding(path: str, clause: str, reading: str, message: str, severity: str = ERROR) -> None:
        out.append(Finding(file=file, path=path, rule="plan", clause=clause, reading=reading,
                           message=message, severity=severity))

    targets: dict[str, Decimal] = {}
    for k, r in enumerate(a1.regions):
        if r.region in targets:
            finding(f"annex1.regions[{k}].region", "annex1", "R21", f"地区 {r.region} 的计划数重复")
        targets.setdefault(r.region, r.wan)
    for region in KNOWN_REGIONS:
        if region.key not in targets:
            finding("annex1.regions", "annex1", "R21", f"缺少{region.name}（{region.key}）的培训计划数")
    top = [r for r in KNOWN_REGIONS if r.parent is None and r.key in targets]
    city = sum((targets[r.key] for r in top), Decimal(0))
    if city != Decimal(a1.city_total):
        finding("annex1.regions", "annex1", "R21",
                f"市区合计与各县（市）培训计划数之和为 {_wan(city)} 万人次，与全市总计 {a1.city_total} 万人次不符")
    districts = [r for r in KNOWN_REGIONS if r.parent == URBAN and r.key in targets]
    if URBAN in targets and districts:
        part = sum((targets[r.key] for r in districts), Decimal(0))
        terms = " + ".join(str(targets[r.key]) for r in districts)
        names = "、".join(r.name for r in districts)
        diff = targets[URBAN] - part
        if diff > 0:
            finding("annex1.regions", "annex1", "R21",
                    f"金华市区合计 {_wan(targets[URBAN])} 万人次，{names}之和 {_wan(part)} 万人次（{terms}），"
                    f"相差 {_wan(diff)} 万人次，视为市级统筹部分", NOTE)
        elif diff < 0:
            finding("annex1.regions", "annex1", "R21",
                    f"{names}之和 {_wan(part)} 万人次（{terms}）超过金华市区合计 {_wan(targets[URBAN])} 万人次")
    numbers: set[int] = set()
    for k, d in enumerate(a2.departments):
        if d.number in numbers:
            finding(f"annex2.departments[{k}].number", "annex2", "R22", f"序号 {d.number} 重复")
        numbers.add(d.number)
    total = sum((d.wan for d in a2.departments), Decimal(0))
    if total != Decimal(a2.total):
        finding("annex2.departments", "annex2", "R22",
                f"{len(a2.departments)} 个部门培训计划数之和为 {_wan(total)} 万人次，与合计 {a2.total} 万人次不符")
    if Decimal(a2.total) != Decimal(a1.city_total):
        finding("annex2.total", "annex2", "R22",
                f"分部门合计 {a2.total} 万人次与分地区全市总计 {a1.city_total} 万人次不符")
    out += check_citation(file, "annex1", a1)
    out += check_citation(file, "annex2", a2)
    for k, r in enumerate(a1.regions):
        out += check_citation(file, f"annex1.regions[{k}]", r)
    for k, d in enumerate(a2.departments):
        out += check_citation(file, f"annex2.departments[{k}]", d)
    return out


# --- one region: every check of its resolved data (shared by subsidy check and the guard) ------

_REF = re.compile(r"(?<![A-Za-z_])(" + "|".join(sorted(rate_tables(), key=len, reverse=True)) + r")\[(\d+)\]")
_PATH = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?(.*)$")


def _label(answer: Answer) -> str:
    value = answer.value
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return getattr(value, "source", "") or f"插件 {answer.plugin}（{answer.region}）"


def _relabel(f: Finding, eff: Effective, refs: bool) -> Finding:
    """A finding on an effective (merged) catalog, moved to the file and key path of the entry it
    is about; with ``refs``, other entries the message names get their own file too."""
    m = _PATH.match(f.path)
    file, path = eff.chain[0], f.path
    if m and m.group(1) in eff.origins:
        table, index, rest = m.groups()
        if table == "uplift_limit":
            o = eff.origins[table][0]
            file, path = o.file, f"{o.path}{rest}"
        elif index is not None and int(index) < len(eff.origins[table]):
            o = eff.origins[table][int(index)]
            file, path = o.file, f"{o.path}{rest}"
    message = f.message
    if refs:
        def ref(r: re.Match[str]) -> str:
            o = eff.origins[r.group(1)][int(r.group(2))]
            return o.path if o.file == file else f"{o.file} {o.path}"

        message = _REF.sub(ref, message)
    return evolve(f, file=file, path=path, message=message)


def _answer_findings(rb: Rulebook, hook: str, a: Answer, names: Mapping[str, str]) -> list[Finding]:
    """The checks of one answer, run once per (hook, plugin, region) and remembered."""
    key = (hook, a.plugin, a.region)
    if key not in rb.checked:
        if hook == "subsidy_rates":
            found = rb.rates(a.region)
            eff = found[1] if found else own(a.value, _label(a))
            out = [_relabel(f, eff, True) for f in check_rates(a.value, eff.chain[0], names)]
            out += [Finding(file=p.file, path=p.path, rule="inherit", clause="main.4.1", message=p.message)
                    for p in eff.problems]
            for r in eff.withdrawn:
                out += check_citation(r.origin.file, r.origin.path, r.withdrawal)
        elif hook == "subsidy_shortage":
            out = check_shortage(tuple(a.value), _label(a), names)
        elif hook == "subsidy_eligibility":
            out = check_eligibility(a.value, _label(a), rb.regions)
        elif hook == "subsidy_funding":
            out = check_funding(a.value, _label(a), rb.funds())
        else:  # pragma: no cover - DATA_HOOKS only
            out = []
        rb.checked[key] = out
    return rb.checked[key]


def region_findings(rb: Rulebook, key: str, got: Mapping[str, Answer | None] | None = None,
                    names: Mapping[str, str] | None = None) -> list[Finding]:
    """Every invariant over the data one region is evaluated with: its effective rates (with
    every catalog they inherit from), shortage lists, eligibility and funding, the programmes'
    grounds and, for an urban district, the urban rates. ``subsidy check`` runs it for every
    region; the rulebook runs it before a region is evaluated (the guard)."""
    if names is None:
        from jinhua_subsidy.occupations import load_vocabulary

        names = load_vocabulary().names
    if got is None:
        got = {h: rb.ask(h, key) for h in Rulebook.DATA_HOOKS}
    region = rb.regions[key]
    out: list[Finding] = []
    for hook, a in got.items():
        if a is not None:
            out += _answer_findings(rb, hook, a, names)
    rates, elig = got.get("subsidy_rates"), got.get("subsidy_eligibility")
    if rates is not None and elig is not None:
        eff = rb.rates(rates.region)
        found = check_programme_grounds(region, rates.value, _label(rates), elig.value)
        out += [_relabel(f, eff[1], False) for f in found] if eff else found
    if rates is not None and rates.region == key and region.parent == URBAN and key != URBAN:
        urban = rb.ask("subsidy_rates", URBAN)
        eff = rb.rates(key)
        if urban is not None and urban.region == URBAN and eff is not None:
            found = check_district(region, rates.value, _label(rates), urban.value, _label(urban), names)
            out += [_relabel(f, eff[1], False) for f in found]
    return list(dict.fromkeys(out))


# --- every catalog of every installed plugin ---------------------------------------------------


def run_checks(engine: Engine) -> list[Finding]:
    """Run every invariant over every catalog of every installed plugin, and over the plans."""
    rb = engine.rulebook
    names = engine.names
    out: list[Finding] = []

    def ask(hook: str, key: str) -> tuple[Answer | None, bool]:
        try:
            return rb.ask(hook, key), True
        except CatalogError as exc:
            out.extend(format_findings(exc))
        except NoParentRates as exc:
            out.append(Finding(file=exc.file, path="catalog.inherits", rule="inherit", clause="main.4.1",
                               message=str(exc)))
        return None, False

    for key, region in rb.regions.items():
        plugin = rb.serving_plugin(key)
        if plugin is None:
            continue
        got: dict[str, Answer | None] = {}
        broken = False
        for hook in Rulebook.DATA_HOOKS:
            got[hook], ok = ask(hook, key)
            broken = broken or not ok
        out += region_findings(rb, key, got, names)
        missing = [h for h, a in got.items() if a is None]
        if missing and not broken:
            own_answer = next((a for a in got.values() if a is not None and a.region == key), None)
            out.append(Finding(
                file=_label(own_answer) if own_answer else f"插件 {plugin}", path="", rule="coverage",
                clause="main.4.4", severity=NOTE,
                message=f"插件 {plugin} 所服务的{region.name}（{key}）尚无完整补贴规则（缺少 {'、'.join(missing)}），"
                        f"其申领将报错，不按 0 处理"))
    try:
        out += check_plans(load_plans())
    except CatalogError as exc:
        out += format_findings(exc)
    out = __import__("jinhua_subsidy.coverage_checks").coverage_checks.coverage_findings(engine, out)  # issue 7
    return list(dict.fromkeys(out))
