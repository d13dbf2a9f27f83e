"""Render a decision's steps for people, in Chinese, with clauses and readings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from jinhua_subsidy.kinds import PAYEE_NAMES
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.reasons import LIMITS, REASONS
from jinhua_subsidy.steps import channel_name

if TYPE_CHECKING:
    from jinhua_subsidy.adjust import AdjustReason
    from jinhua_subsidy.decision import Decision
    from jinhua_subsidy.engine import Engine

READINGS_DOC = "docs/readings.md"


def render(d: Decision, engine: Engine, added: Mapping[str, AdjustReason] | None = None) -> str:
    """The explanation of ``d``; ``added``: reason codes plugins added (subsidy_adjust)."""
    added = added or {}
    region = engine.rulebook.regions[d.region]
    lines = [f"申领 {d.claim_id}：{region.name}（{d.region}）"]
    for n, s in enumerate(d.steps, start=1):
        cite = f"  〔{s.citation}〕" if s.citation else ""
        lines.append(f"{n:>2}. {s.rule}：{s.value}{cite}")
    # Limits across claims change the outcome after the steps above.
    if d.reasons and d.reasons[0] in LIMITS:
        r = REASONS[d.reasons[0]]
        lines.append(f"{len(d.steps) + 1:>2}. 跨申领限制：{r.text}  〔{r.citation}〕")
    verdict = f"补贴 {format_yuan(d.amount)} 元" if d.eligible else "不予补贴"
    lines.append(f"结论：{verdict}")
    if d.eligible:
        lines.append(f"发放对象：{PAYEE_NAMES[d.payee]}（{d.payee}）；"
                     f"资金渠道：{channel_name(d.channel, engine.region_names)}（{d.channel}）")
    if d.allowance:
        fund = channel_name(d.allowance_channel, engine.region_names)
        lines.append(f"生活费补贴：{format_yuan(d.allowance)} 元；资金渠道：{fund}（{d.allowance_channel}）")
    if d.reasons:
        def text(c: str) -> str:
            if c in REASONS:
                return f"{c}（{REASONS[c].text}）"
            return f"{c}（{added[c].text}）" if c in added else c

        lines.append("原因：" + "；".join(text(c) for c in d.reasons))
    lines.append("依据：" + "、".join(d.citations))
    if d.status == "provisional":
        lines.append("状态：暂定（provisional）——本决定所用的补贴目录、紧缺职业目录或生活费补贴标准有暂定内容，见上文说明")
    lines.append(f"解读编号（R1–R28）的含义见 {READINGS_DOC}")
    return "\n".join(lines)
