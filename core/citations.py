"""Citations: every rate, limit, date and rule points at its clause and reading.

Clause ids follow ``shared/policy/INTERPRETATIONS.md``: ``main.4.1``, ``annex3.1.2``,
and so on. Readings are ``R1`` … ``R28`` (docs/readings.md).
"""

from __future__ import annotations

import re

from attrs import field, frozen

POLICY = "金人社发〔2020〕1号"

#: Clause ids of 金人社发〔2020〕1号 (INTERPRETATIONS.md), plus ``main.effective``:
#: 本方案自印发之日起施行, the colophon's 2020年1月7日印发.
POLICY_CLAUSES: dict[str, str] = {
    "main.2": "二、明确职业技能培训对象和类别",
    "main.4.1": "四（一）落实完善职业技能培训补贴政策",
    "main.4.2": "四（二）加大对重点群体的支持力度",
    "main.4.3": "四（三）加大资金支持和监管力度",
    "main.4.4": "四（四）明确职业技能培训补贴政策的管理分工",
    "main.5": "五、提高培训管理服务水平",
    "main.6.1": "六（一）健全工作机制",
    "main.6.2": "六（二）明确部门职责",
    "main.6.3": "六（三）建立绩效评价机制",
    "main.effective": "本方案自印发之日起施行（2020年1月7日印发）",
    "annex1": "附件1 全市职业技能提升行动分地区年度培训计划",
    "annex2": "附件2 全市职业技能提升行动分部门年度培训计划",
    "annex3.1.1": "附件3 一、职业资格培训 1.补贴对象",
    "annex3.1.2": "附件3 一、职业资格培训 2.补贴标准",
    "annex3.1.3": "附件3 一、职业资格培训 3.补贴申领发放",
    "annex3.2.1": "附件3 二、项目制培训补贴 1.补贴对象",
    "annex3.2.2": "附件3 二、项目制培训补贴 2.补贴标准",
    "annex3.2.3": "附件3 二、项目制培训补贴 3.补贴申领",
    "annex3.3": "附件3 三、企业新型学徒制补贴",
    "annex3.4": "附件3 四、资金渠道",
}

READINGS = frozenset(f"R{i}" for i in range(1, 29))
_READING = re.compile(r"^R([1-9]|1\d|2[0-8])$")


# Validators pass the attribute as the exception's second argument, as attrs' own do, so the
# catalog loader can name the key (``qualification[1].reading``).
def _check_reading(_inst: object, attr: object, value: str | None) -> None:
    if value is not None and not _READING.match(value):
        raise ValueError(f"reading must be one of R1…R28, not {value!r}", attr)


def _check_clause(_inst: object, attr: object, value: str) -> None:
    if not value.strip():
        raise ValueError("clause must not be empty", attr)


@frozen(kw_only=True)
class Citation:
    """Where a value comes from: document, clause id and, where one applies, our reading."""

    clause: str = field(validator=_check_clause)
    reading: str | None = field(default=None, validator=_check_reading)
    document: str = POLICY

    def __str__(self) -> str:
        ref = self.clause if self.document == POLICY else f"{self.document} {self.clause}"
        return f"{ref} {self.reading}" if self.reading else ref

    def ids(self) -> tuple[str, ...]:
        """The ids a decision lists in its ``citations`` field."""
        base = self.clause if self.document == POLICY else f"{self.document}:{self.clause}"
        return (base, self.reading) if self.reading else (base,)


def cite(clause: str, reading: str | None = None) -> Citation:
    """A citation of 金人社发〔2020〕1号."""
    return Citation(clause=clause, reading=reading)
