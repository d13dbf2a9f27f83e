"""Render a decision's steps for people, in Chinese, with clauses and readings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinhua_subsidy.evaluate import PAYEE_NAMES, channel_name
from jinhua_subsidy.money import format_yuan
from jinhua_subsidy.reasons import REASONS

if TYPE_CHECKING:
    from jinhua_subsidy.decision import Decision
    from jinhua_subsidy.engine import Engine


def render(d: Decision, engine: Engine) -> str:
    region = engine.rulebook.regions[d.region]
    lines = [f"申领 {d.claim_id}：{region.name}（{d.region}）"]
    for n, s in enumerate(d.steps, start=1):
        cite = f"  〔{s.citation}〕" if s.citation else ""
        lines.append(f"{n:>2}. {s.rule}：{s.value}{cite}")
    # Limits across the file change the outcome after the steps above.
    if d.reasons and d.reasons[0] in ("repeat", "annual_limit", "duplicate_claim", "apprenticeship_year"):
        r = REASONS[d.reasons[0]]
        lines.append(f"{len(d.steps) + 1:>2}. 跨申领限制：{r.text}  〔{r.citation}〕")
    verdict = f"补贴 {format_yuan(d.amount)} 元" if d.eligible else "不予补贴"
    lines.append(f"结论：{verdict}")
    if d.eligible:
        names = {k: r.name for k, r in engine.rulebook.regions.items()}
        lines.append(f"发放对象：{PAYEE_NAMES[d.payee]}（{d.payee}）；"
                     f"资金渠道：{channel_name(d.channel, names)}（{d.channel}）")
    if d.reasons:
        lines.append("原因：" + "；".join(f"{c}（{REASONS[c].text}）" if c in REASONS else c for c in d.reasons))
    lines.append("依据：" + "、".join(d.citations))
    if d.status == "provisional":
        lines.append("状态：暂定（provisional）——本决定所用目录或紧缺职业目录为暂定，见上文说明")
    return "\n".join(lines)
