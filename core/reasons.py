"""Reason codes in decisions: why a claim was refused or paid less than it asked.

A decision's ``reasons`` is empty when the claim is paid in full.
"""

from __future__ import annotations

from attrs import frozen

from jinhua_subsidy.citations import Citation, cite


@frozen
class Reason:
    code: str
    text: str  #: Chinese, for bureau staff
    citation: Citation


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("not_eligible", "不属于补贴对象", cite("annex3.1.1", "R1")),
        Reason("not_passed", "学员未取得培训合格证书", cite("annex3.2.3")),
        Reason("below_min_hours", "每期培训不足规定课时", cite("annex3.2.2", "R8")),
        Reason("capped", "按补贴上限发放", cite("annex3.2.2", "R8")),
        Reason("no_fund", "用人单位或培训主体不在本地参保，无资金渠道", cite("main.4.1", "R16")),
        Reason("repeat", "同一职业（项目）同一等级不可重复享受", cite("main.4.1", "R19")),
        Reason("annual_limit", "每人每年享受不超过3次", cite("main.4.1", "R18")),
        Reason("duplicate_claim", "同一申领编号重复提交，以首次为准", cite("main.4.1", "R20")),
        Reason("nothing_to_pay", "补贴金额为0，不视为享受补贴", cite("main.4.1", "R24")),
        Reason("tag_not_listed", "所申报的企业类型不在当日有效的企业名单中，不予上浮", cite("main.4.2", "R26")),
        Reason("age_limit", "年龄不在本地补贴对象范围内", cite("main.4.4", "R27")),
        Reason("no_allowance_standard", "本地区未制定生活费补贴标准，不发生活费补贴", cite("main.4.4", "R25")),
    )
}
#: The reasons of the limits across claims (R18–R20, R23), applied after a claim's own steps.
LIMITS = ("repeat", "annual_limit", "duplicate_claim")
#: R23: what is left of a person's yearly apprenticeship ceiling pays a later claim.
YEAR_CEILING = cite("annex3.3", "R23")
