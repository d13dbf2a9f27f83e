"""The claim-by-claim evaluator: the reference path, and the one ``subsidy explain`` shows.

``evaluate_claim`` decides one claim from its region's rules and records each rule
applied as a :class:`~jinhua_subsidy.decision.Step` (Chinese, with citations).
The limits across a file (R18–R20) are applied afterwards by
:mod:`jinhua_subsidy.limits`.

Citations of a decision, in order: the eligibility ground used, the rate entry,
each uplift applied (catalog order), the uplift limit when two or more applied
(R11), the pass rule for project training, the payee rule, the funding rule.
A refused claim cites only why it was refused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from attrs import evolve

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import Citation, cite
from jinhua_subsidy.claims import Claim
from jinhua_subsidy.decision import Decision, Review, Step
from jinhua_subsidy.models import Eligibility, Funding, FundingRule, Ground, Programme, Uplift
from jinhua_subsidy.money import format_yuan, uplift
from jinhua_subsidy.reasons import REASONS
from jinhua_subsidy.rulebook import RegionRules

PASS_RULE = cite("annex3.2.3")
PAYEE_PERSON = cite("annex3.1.3", "R14")
PAYEE_SELF_EVAL = cite("annex3.1.2", "R14")
PAYEE_ORGANIZER = cite("annex3.2.3", "R15")
PAYEE_EMPLOYER = cite("annex3.3", "R15")
PAYEE_NAMES = {"person": "个人（社会保障卡）", "employer": "用人单位", "organizer": "培训主体（申领单位）"}
STATUS_NAMES = {"official": "正式", "provisional": "暂定"}

Reviewer = Callable[[Claim, Decision], "Review | None"]


def ground_holds(g: Ground, claim: Claim, area: frozenset[str]) -> bool:
    """Whether one eligibility test holds for the claim (R1–R4)."""
    if g.test == "hukou":
        return claim.hukou in area and not claim.monthly_pension
    if g.test == "residence_permit":
        return claim.residence_permit in area
    if g.test == "insured":
        return claim.insured_region in area and (claim.insured_months or 0) >= (g.min_months or 0)
    if g.test == "unemployed":
        return claim.unemployed_region in area
    if g.test == "welfare_post":
        return claim.welfare_post and bool(claim.welfare_approval)
    if g.test == "no_pension":
        return not claim.monthly_pension
    raise ValueError(f"unknown eligibility test {g.test!r}")


def applicable_grounds(e: Eligibility, kind: str, programme: Programme | None) -> list[Ground]:
    return [
        g for g in e.grounds
        if kind in g.kinds and (programme is None or not programme.grounds or g.test in programme.grounds)
    ]


def uplift_applies(u: Uplift, claim: Claim, shortage: frozenset[str]) -> bool:
    if u.on == "shortage":
        ok = claim.occupation in shortage
    else:
        ok = u.tag in claim.employer_tags and (u.requires_tag is None or u.requires_tag in claim.employer_tags)
    if u.organizers and claim.organizer not in u.organizers:
        return False
    if u.apprentices and claim.apprentice not in u.apprentices:
        return False
    return ok


def uplift_text(u: Uplift, claim: Claim, names: dict[str, str], rules: RegionRules) -> str:
    until = f"（至 {u.end}）" if u.end else ""
    if u.on == "shortage":
        slist = rules.shortage_list(claim.date)
        status = "，暂定目录" if slist.status == "provisional" else ""
        what = f"{claim.occupation} {names.get(claim.occupation or '', '')} 列入《{slist.title}》{status}"
    else:
        what = vocab.TAG_NAMES[u.tag or ""] + ("（开展技能人才自主评价，培训本单位职工）" if u.requires_tag else "")
    return f"{what}：上浮 {u.rate / 100:g}%{until}"


def channel_name(channel: str, region_names: dict[str, str] | None = None) -> str:
    """``district:wucheng`` → ``区级专项资金（婺城区）`` (R17)."""
    if channel == "city":
        return "市级专项资金"
    kind, _, key = channel.partition(":")
    where = (region_names or {}).get(key, key)
    return f"区级专项资金（{where}）" if kind == "district" else f"县（市）专项资金（{where}）"


def funding_rule(f: Funding, claim: Claim) -> FundingRule | None:
    """The first rule that matches (R16); None when no fund pays."""
    for rule in f.rules:
        if rule.kinds and claim.kind not in rule.kinds:
            continue
        if rule.levels and claim.level not in rule.levels:
            continue
        if rule.organizers and claim.organizer not in rule.organizers:
            continue
        if rule.organizer_level and claim.organizer_level != rule.organizer_level:
            continue
        if rule.tag and rule.tag not in claim.employer_tags:
            continue
        if rule.employer_in and claim.employer_region not in rule.employer_in:
            continue
        if "{employer_region}" in rule.channel and not claim.employer_region:
            continue
        return rule
    return None


def channel_of(rule: FundingRule, claim: Claim) -> str:
    return fund_channel(rule, claim.employer_region)


def fund_channel(rule: FundingRule, employer_region: str | None) -> str:
    """The rule's channel, ``{employer_region}`` filled in (R16, R17)."""
    return rule.channel.replace("{employer_region}", employer_region or "")


def payee_of(kind: str, employer_tags: Collection[str]) -> tuple[str, Citation]:
    """Who is paid and the rule that says so: R14 for qualification (the employer instead of
    the person when it runs skill self-evaluation), R15 for project and apprenticeship."""
    if kind == "qualification":
        return ("employer", PAYEE_SELF_EVAL) if "self_evaluation" in employer_tags else ("person", PAYEE_PERSON)
    if kind == "project":
        return "organizer", PAYEE_ORGANIZER
    return "employer", PAYEE_EMPLOYER


def cited_ids(citations: Iterable[Citation]) -> tuple[str, ...]:
    """The ids a decision lists for these citations: in order, each once."""
    out: list[str] = []
    for c in citations:
        for i in c.ids():
            if i not in out:
                out.append(i)
    return tuple(out)


def limit_key(claim: Claim) -> tuple[str, ...]:
    """What R19 (and annex3.3's once a year) counts as 'the same'."""
    if claim.kind == "qualification":
        return ("qualification", claim.occupation or "", claim.level or "")
    if claim.kind == "project":
        return ("project", claim.project_code or "")
    return ("apprenticeship", str(claim.year))


class _Trace:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.cites: list[Citation] = []

    def step(self, rule: str, value: str, citation: Citation | None = None, *, counts: bool = True) -> None:
        self.steps.append(Step(rule, value, citation))
        if citation is not None and counts:
            self.cites.append(citation)

    def ids(self, citations: list[Citation] | None = None) -> tuple[str, ...]:
        return cited_ids(self.cites if citations is None else citations)


def evaluate_claim(claim: Claim, rules: RegionRules, names: dict[str, str],
                   reviewer: Reviewer | None = None) -> Decision:
    """Decide one claim. Raises :class:`~jinhua_subsidy.rulebook.NoRate` when no catalog
    value is in force on its date (a row error, never 0)."""
    t = _Trace()
    rates = rules.rates
    provisional = rules.provisional
    t.step("补贴目录", f"{rates.title}（状态：{STATUS_NAMES[rates.status]}；{rates.source or rules.rates_from.plugin}；"
           f"插件 {rules.rates_from.plugin}）" + (f"；说明：{rates.note}" if rates.status == "provisional" else ""),
           counts=False)

    def refuse(code: str, citation: Citation, value: str, *also: Citation) -> Decision:
        reason = REASONS[code]
        t.step(reason.text, value, citation, counts=False)
        return Decision(claim_id=claim.claim_id, region=claim.region, eligible=False, amount=0,
                        payee="", channel="", reasons=(code,), citations=t.ids([citation, *also]),
                        status="provisional" if provisional else "official",
                        steps=tuple(t.steps), row=claim.row, person_id=claim.person_id,
                        date=claim.date, limit_key=limit_key(claim))

    # 1. The catalog values in force on the claim's date (NoRate if none).
    programme = rules.programme(claim.project_code or "", claim.date) if claim.kind == "project" else None
    kind_uplifts = rules.uplifts(claim.kind, claim.date)
    shortage: frozenset[str] = frozenset()
    if any(u.on == "shortage" for u in kind_uplifts):
        slist = rules.shortage_list(claim.date)
        shortage = frozenset(slist.occupations)
        provisional = provisional or slist.status == "provisional"
        t.step("紧缺职业（工种）目录", f"{slist.title}（状态：{STATUS_NAMES[slist.status]}）"
               + (f"；说明：{slist.note}" if slist.status == "provisional" else ""), slist.citation, counts=False)
    capped = False
    rate_citation: Citation
    base: int
    if claim.kind == "qualification":
        rate = rules.qualification_rate(claim.occupation or "", claim.level or "", claim.date)
        base, rate_citation = rate.amount, rate.citation
        occ_name = names.get(claim.occupation or "", "")
        rate_text = f"{vocab.LEVEL_NAMES[claim.level or '']} {claim.occupation} {occ_name} → {format_yuan(base)} 元"
    elif claim.kind == "project" and programme is not None and programme.amount is not None:
        base, rate_citation = programme.amount, programme.citation
        rate_text = f"本地培训项目 {programme.project_code} {programme.name}：每人 {format_yuan(base)} 元"
        std = None
    elif claim.kind == "project":
        std = rules.project_standard(claim.organizer or "", claim.date)
        rate_citation = std.citation
        if claim.review and std.review_amount is not None:
            base = std.review_amount
            rate_text = f"特种作业人员操作证复审培训：每人 {format_yuan(base)} 元"
        else:
            raw = (claim.hours or 0) * std.hour_rate
            base = min(raw, std.cap)
            capped = raw > std.cap
            rate_text = (f"{vocab.ORGANIZER_NAMES[claim.organizer or '']}组织：{claim.hours} 课时 × "
                         f"{format_yuan(std.hour_rate)} 元 = {format_yuan(raw)} 元，上限 {format_yuan(std.cap)} 元"
                         f" → {format_yuan(base)} 元")
    else:
        cap = rules.apprenticeship_cap(claim.apprentice or "", claim.date)
        base, rate_citation = cap.cap, cap.citation
        rate_text = f"{vocab.APPRENTICE_NAMES[claim.apprentice or '']}每人每年不超过 {format_yuan(base)} 元"

    # 2. Eligibility (R1–R4; a programme may narrow the grounds, and is then cited too).
    narrowed = (programme.citation,) if programme is not None and programme.grounds else ()
    if narrowed:
        t.step("本地培训项目", f"{programme.project_code} {programme.name}：补贴对象限于"  # type: ignore[union-attr]
               + "、".join(vocab.GROUND_NAMES[g] for g in programme.grounds),  # type: ignore[union-attr]
               programme.citation, counts=False)  # type: ignore[union-attr]
    area = frozenset(rules.eligibility.area)
    grounds = applicable_grounds(rules.eligibility, claim.kind, programme)
    held = next((g for g in grounds if ground_holds(g, claim, area)), None)
    if held is None:
        tested = "、".join(vocab.GROUND_NAMES[g.test] for g in grounds) or "无适用条件"
        return refuse("not_eligible", rules.eligibility.citation, f"以下条件均不成立：{tested}", *narrowed)
    t.step("补贴对象", f"{vocab.GROUND_NAMES[held.test]}：成立", held.citation)
    for c in narrowed:
        t.cites.append(c)

    # 3. Kind-specific conditions.
    if claim.kind == "project":
        if not claim.passed:
            return refuse("not_passed", PASS_RULE, "passed = false")
        if std is not None and not (claim.review and std.review_amount is not None) \
                and (claim.hours or 0) < std.min_hours:
            return refuse("below_min_hours", std.citation, f"{claim.hours} 课时 < {std.min_hours} 课时")
    t.step("补贴标准", rate_text, rate_citation)

    # 4. Uplifts: never compounded (R11).
    applied = [u for u in kind_uplifts if uplift_applies(u, claim, shortage)]
    if programme is not None and programme.amount is not None:
        applied = []
    rate_bp = 0
    for u in applied:
        t.step("上浮", uplift_text(u, claim, names, rules), u.citation)
    if applied:
        rate_bp = min(max(u.rate for u in applied), rates.uplift_limit.rate)
        if len(applied) > 1:
            t.step("上浮不叠加", f"{len(applied)} 项上浮只计一次：+{rate_bp / 100:g}%", rates.uplift_limit.citation)
    if claim.kind == "apprenticeship":
        cap_up = uplift(base, rate_bp)
        amount = min(claim.cost or 0, cap_up)
        capped = (claim.cost or 0) > cap_up
        t.step("按实补贴", f"实际费用 {format_yuan(claim.cost or 0)} 元，上限 {format_yuan(cap_up)} 元"
               f" → {format_yuan(amount)} 元", rate_citation, counts=False)
    else:
        amount = uplift(base, rate_bp)
        if rate_bp:
            t.step("上浮后金额", f"{format_yuan(base)} 元 × (1 + {rate_bp / 100:g}%) = {format_yuan(amount)} 元",
                   None)
    if claim.kind == "project":
        t.step("申领材料", "学员取得培训合格证书", PASS_RULE)

    # 5. Who is paid (R14, R15).
    payee, pc = payee_of(claim.kind, claim.employer_tags)
    t.step("发放对象", PAYEE_NAMES[payee], pc)

    # 6. Which fund pays (R16, R17).
    rule = funding_rule(rules.funding, claim)
    if rule is None:
        return refuse("no_fund", REASONS["no_fund"].citation,
                      f"用人单位/培训主体参保地 {claim.employer_region or '（空）'} 无对应资金渠道")
    channel = channel_of(rule, claim)
    t.step("资金渠道", f"{channel}：{channel_name(channel, rules.region_names)}", rule.citation)

    decision = Decision(
        claim_id=claim.claim_id, region=claim.region, eligible=True, amount=amount, payee=payee,
        channel=channel, reasons=("capped",) if capped else (), citations=t.ids(),
        status="provisional" if provisional else "official", row=claim.row,
        person_id=claim.person_id, date=claim.date, limit_key=limit_key(claim),
    )
    # 7. The region plugin's own per-claim review (slow path).
    review = reviewer(claim, decision) if reviewer is not None else None
    if review is not None:
        decision = apply_review(decision, review, t)
    return evolve(decision, steps=tuple(t.steps))


def apply_review(decision: Decision, review: Review, t: _Trace) -> Decision:
    t.step("地区插件复核", review.text, review.citation, counts=False)
    if review.refuse:
        return evolve(decision, eligible=False, amount=0, payee="", channel="", reasons=(review.reason,),
                      citations=review.citation.ids())
    if review.amount is not None and review.amount < decision.amount:
        return evolve(decision, amount=review.amount, reasons=(*decision.reasons, review.reason),
                      citations=(*decision.citations, *[i for i in review.citation.ids()
                                                         if i not in decision.citations]))
    return decision
