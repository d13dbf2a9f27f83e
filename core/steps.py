"""The steps of a decision for people, in Chinese, with citations: what ``subsidy explain`` shows.

They are read off the decision's :class:`~jinhua_subsidy.decide.Trace` (which ground, entry,
uplifts, payee and funding rule decided it) and the claim's own cells; nothing about the rules
is decided here a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import cite
from jinhua_subsidy.decide import (
    AGE_LIMIT,
    ALLOWANCE_PAID,
    KIND_REFUSAL,
    NO_ALLOWANCE_STANDARD,
    NO_FUND,
    NOT_ELIGIBLE,
    NOTHING_TO_PAY,
    OK,
    Outcome,
    fund_channel,
)
from jinhua_subsidy.decision import Step
from jinhua_subsidy.kinds import PAYEE_NAMES
from jinhua_subsidy.money import format_yuan, parse_yuan, uplift
from jinhua_subsidy.reasons import REASONS

STATUS_NAMES = {"official": "正式", "provisional": "暂定"}


def channel_name(channel: str, region_names: Mapping[str, str] | None = None) -> str:
    """``district:wucheng`` → ``区级专项资金（婺城区）`` (R17)."""
    if channel == "city":
        return "市级专项资金"
    kind, _, key = channel.partition(":")
    where = (region_names or {}).get(key, key)
    if kind == "employment":
        return f"就业补助资金（{where}）"
    return f"区级专项资金（{where}）" if kind == "district" else f"县（市）专项资金（{where}）"


def _pct(bp: int) -> str:
    return f"{bp / 100:g}%"


def steps_of(o: Outcome, cells: Mapping[str, Any], base: int, amount: int, names: Mapping[str, str],
             region_names: Mapping[str, str], notes: list[tuple[str, Any]] = ()) -> tuple[Step, ...]:  # type: ignore[assignment]
    """The steps of outcome ``o`` for the claim with ``cells``; ``base`` and ``amount`` are its
    amounts before uplifts and before the limits across claims."""
    trace = o.trace
    if trace is None:  # pragma: no cover - every outcome the engine builds has one
        return ()
    plan = trace.plan
    rules = plan.region.rules
    rates = rules.rates
    status, narrowed, held, ref, umask, payee, fund, _chan, _capped, rate_bp, topups, dropped, verified, allowance, \
        allowance_state = trace.key[1:]
    out: list[Step] = []
    plugin = rules.rates_from.plugin
    out.append(Step("补贴目录", f"{rates.title}（状态：{STATUS_NAMES[rates.status]}；{rates.source or plugin}；"
                    f"插件 {plugin}）" + (f"；说明：{rates.note}" if rates.status == "provisional" else "")))
    if plan.shortage is not None:
        s = plan.shortage
        out.append(Step("紧缺职业（工种）目录", f"{s.title}（状态：{STATUS_NAMES[s.status]}）"
                        + (f"；说明：{s.note}" if s.status == "provisional" else ""), s.citation))
    if narrowed >= 0:
        p = plan.entries[narrowed]
        out.append(Step("本地培训项目", f"{p.project_code} {p.name}：补贴对象限于"  # type: ignore[attr-defined]
                        + "、".join(vocab.GROUND_NAMES[g] for g in p.grounds), p.citation))  # type: ignore[attr-defined]

    def refuse(code: str, value: str, citation: Any) -> tuple[Step, ...]:
        return (*out, Step(REASONS[code].text if code in REASONS else code, value, citation))

    if status == AGE_LIMIT:
        age = plan.age
        bounds = "、".join(x for x in (f"不小于 {age.min_age} 周岁" if age.min_age is not None else "",  # type: ignore[union-attr]
                                       f"不大于 {age.max_age} 周岁" if age.max_age is not None else "") if x)  # type: ignore[union-attr]
        return refuse("age_limit", f"按身份证号所载出生日期计算的年龄不在范围内（{bounds}）", age.citation)  # type: ignore[union-attr]
    if status == NOTHING_TO_PAY:
        return refuse("nothing_to_pay", "补贴金额为 0.00 元（实际费用或课时为 0）", REASONS["nothing_to_pay"].citation)
    if status == NOT_ELIGIBLE:
        tests = getattr(plan.entries[narrowed], "grounds", ()) if narrowed >= 0 else ()
        grounds = [g for g in plan.grounds if plan.kind.key in g.kinds and (not tests or g.test in tests)]
        tested = "、".join(vocab.GROUND_NAMES[g.test] for g in grounds) or "无适用条件"
        return refuse("not_eligible", f"以下条件均不成立：{tested}", rules.eligibility.citation)
    if status >= KIND_REFUSAL:
        why = plan.kind.refusals[status - KIND_REFUSAL]
        if why.reason == "not_passed":
            return refuse(why.reason, "passed = false", why.citation)
        entry = plan.entries[ref]
        return refuse(why.reason, f"{cells.get('hours')} 课时 < {entry.min_hours} 课时",  # type: ignore[attr-defined]
                      why.citation or plan.entry_citation(ref))
    out.append(Step("补贴对象", f"{vocab.GROUND_NAMES[plan.grounds[held].test]}：成立", plan.grounds[held].citation))
    entry = plan.entries[ref]
    out.append(Step("补贴标准", plan.kind.rate_text(entry, cells, names, amount), plan.entry_citation(ref)))
    out += _tag_steps(plan, cells, dropped, verified)
    applied = [u for b, u in enumerate(plan.uplifts) if umask >> b & 1]
    for u in applied:
        out.append(Step("上浮", _uplift_text(u, cells, names, plan), u.citation))
    if len(applied) > 1:
        out.append(Step("上浮不叠加", f"{len(applied)} 项上浮只计一次：+{_pct(rate_bp)}", plan.uplift_limit.citation))
    if plan.kind.key == "apprenticeship":
        cost = parse_yuan(cells.get("cost") or "0")
        out.append(Step("按实补贴", f"实际费用 {format_yuan(cost)} 元，上限 {format_yuan(uplift(base, rate_bp))} 元"
                        f" → {format_yuan(amount)} 元", plan.entry_citation(ref)))
    elif rate_bp:
        out.append(Step("上浮后金额", f"{format_yuan(base)} 元 × (1 + {_pct(rate_bp)}) = {format_yuan(amount)} 元"))
    for b, t in enumerate(plan.topups):
        if topups >> b & 1:
            out.append(Step("重点群体加发", f"{vocab.GROUPS[t.group]}：加发 {format_yuan(t.amount)} 元", t.citation))
    for c in plan.kind.extra_citations:
        out.append(Step("申领材料", "学员取得培训合格证书", c))
    name, citation = plan.payees[payee]
    out.append(Step("发放对象", PAYEE_NAMES[name], citation))
    if status == NO_FUND:
        return refuse("no_fund", f"用人单位/培训主体参保地 {cells.get('employer_region') or '（空）'} 无对应资金渠道",
                      REASONS["no_fund"].citation)
    assert status == OK
    rule = rules.funding.rules[fund]
    channel = fund_channel(rule.channel, (*plan.region.regions, "other")[_chan] if _chan >= 0 else None)
    out.append(Step("资金渠道", f"{channel}：{channel_name(channel, region_names)}", rule.citation))
    if allowance_state == ALLOWANCE_PAID:
        a = plan.allowance
        days = cells.get("training_days") or "0"
        cap = f"，上限 {format_yuan(a.cap)} 元" if a.cap is not None else ""  # type: ignore[union-attr]
        state = "（暂定标准）" if a.status == "provisional" else ""  # type: ignore[union-attr]
        out.append(Step("生活费补贴", f"{_groups(cells, a.groups)}：培训 {days} 天 × {format_yuan(a.per_day)} 元/天"  # type: ignore[union-attr]
                        f"{cap} → {format_yuan(allowance)} 元{state}，由就业补助资金（employment:{plan.region.key}）"
                        f"列支，与培训补贴同时发放", a.citation))  # type: ignore[union-attr]
        if a.status == "provisional" and a.note:  # type: ignore[union-attr]
            out.append(Step("生活费补贴标准说明", a.note))  # type: ignore[union-attr]
    elif allowance_state == NO_ALLOWANCE_STANDARD:
        none = REASONS["no_allowance_standard"]
        out.append(Step("生活费补贴", f"{_groups(cells, vocab.ALLOWANCE_GROUPS)}：{none.text}", none.citation))
    for text, note_citation in notes:
        out.append(Step("地区插件调整", text, note_citation))
    return tuple(out)


def _groups(cells: Mapping[str, Any], among: tuple[str, ...]) -> str:
    keys = [k.strip() for k in (cells.get("groups") or "").split(";") if k.strip() in among]
    return "、".join(vocab.GROUPS[k] for k in keys)


def _tag_steps(plan: Any, cells: Mapping[str, Any], dropped: int, verified: int) -> list[Step]:
    """What each declared employer tag came to (R26): on the list checked, not on it, or declared
    and not verified (no list in force, or no employer_id)."""
    out = []
    declared = [t.strip() for t in (cells.get("employer_tags") or "").split(";") if t.strip()]
    for i, tag in enumerate(vocab.EMPLOYER_TAGS):
        if tag not in declared:
            continue
        name = vocab.TAG_NAMES[tag]
        if tag in plan.lists:
            lst = plan.lists[tag][0]
            if dropped >> i & 1:
                out.append(Step("企业名单核对", f"用人单位 {cells.get('employer_id')} 不在《{lst.title}》中：不按{name}"
                                f"处理（{REASONS['tag_not_listed'].text}）", lst.citation))
                continue
            if verified >> i & 1:
                out.append(Step("企业名单核对", f"用人单位 {cells.get('employer_id')} 列入《{lst.title}》：{name}",
                                lst.citation))
                continue
        out.append(Step("企业类型", f"{name}：申报，未经名单核对（"
                        + ("未填统一社会信用代码 employer_id" if tag in plan.lists else "当日无在用的企业名单")
                        + "）", cite("main.4.2", "R26")))
    return out


def _uplift_text(u: Any, cells: Mapping[str, Any], names: Mapping[str, str], plan: Any) -> str:
    until = f"（至 {u.end}）" if u.end else ""
    if u.on == "shortage":
        s = plan.shortage
        status = "，暂定目录" if s.status == "provisional" else ""
        occ = cells.get("occupation") or ""
        what = f"{occ} {names.get(occ, '')} 列入《{s.title}》{status}"
    else:
        what = vocab.TAG_NAMES[u.tag or ""] + ("（开展技能人才自主评价，培训本单位职工）" if u.requires_tag else "")
    return f"{what}：上浮 {_pct(u.rate)}{until}"
