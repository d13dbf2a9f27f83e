"""The columnar hook ``subsidy_adjust``: a county's rule that data cannot say, on columns.

A plugin sees one region's decided claims of a chunk at a time, as two polars frames (see
:func:`jinhua_subsidy.hookspecs.subsidy_adjust`), and answers with :class:`Adjustments`: per
row, a new amount or a refusal, with a reason code declared once with its Chinese text and
citation. The engine applies them, records them in the explanation, and applies R18–R20 after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from attrs import field, frozen

from jinhua_subsidy.citations import POLICY as _POLICY
from jinhua_subsidy.citations import Citation, _check_clause, _check_reading

if TYPE_CHECKING:
    from jinhua_subsidy.decide import Outcomes
    from jinhua_subsidy.evaluation import Watched
    from jinhua_subsidy.reader import ClaimsFrame

#: Columns of the ``decisions`` frame a plugin receives.
DECISION_COLUMNS = {"row": pl.Int64, "eligible": pl.Boolean, "amount": pl.Int64, "payee": pl.String,
                    "channel": pl.String, "reasons": pl.String, "status": pl.String}
#: Columns of ``Adjustments.rows``: row and reason required; amount, refuse and text optional.
ADJUSTMENT_COLUMNS = {"row": pl.Int64, "reason": pl.String, "amount": pl.Int64, "refuse": pl.Boolean,
                      "text": pl.String}


class AdjustError(Exception):
    """A plugin's adjustments that cannot be applied; the message names the plugin and the hook."""


@frozen(kw_only=True)
class AdjustReason:
    """A reason code a plugin adds, declared once: its Chinese text and its citation."""

    code: str
    text: str
    clause: str = field(validator=_check_clause)
    reading: str | None = field(default=None, validator=_check_reading)
    document: str = _POLICY

    @property
    def citation(self) -> Citation:
        return Citation(clause=self.clause, reading=self.reading, document=self.document)


@frozen(kw_only=True)
class Adjustments:
    """What ``subsidy_adjust`` returns. ``rows`` has one row per adjusted claim:

    * ``row`` (int): the claim's row (its line in the file), as in the ``claims`` frame;
    * ``reason`` (str): a code of ``reasons``;
    * ``amount`` (int, fen, optional): the new amount, higher or lower; null: unchanged;
    * ``refuse`` (bool, optional): refuse the claim; ``amount`` is then ignored;
    * ``text`` (str, optional): a Chinese sentence for ``subsidy explain`` about this claim.
    """

    rows: pl.DataFrame
    reasons: tuple[AdjustReason, ...]


class Adjuster:
    """Calls one plugin's ``subsidy_adjust`` for a region and applies its answer."""

    def __init__(self, plugin: str, call: Callable[..., Any]) -> None:
        self.plugin = plugin
        self.call = call

    def _fail(self, message: str) -> AdjustError:
        return AdjustError(f"插件 {self.plugin} 的 subsidy_adjust：{message}")

    def apply(self, region: str, frame: ClaimsFrame, idx: np.ndarray, outcome: np.ndarray, amount: np.ndarray,
              outcomes: Outcomes, reasons: dict[str, AdjustReason], watched: dict[int, Watched]) -> None:
        if not len(idx):
            return
        table = outcomes.table
        used = outcome[idx]
        decisions = pl.DataFrame({
            "row": frame.rows[idx],
            "eligible": np.array([o.eligible for o in table], dtype=bool)[used],
            "amount": amount[idx],
            "payee": pl.Series([o.payee for o in table], dtype=pl.String).gather(used),
            "channel": pl.Series([o.channel for o in table], dtype=pl.String).gather(used),
            "reasons": pl.Series([";".join(o.reasons) for o in table], dtype=pl.String).gather(used),
            "status": pl.Series([o.status for o in table], dtype=pl.String).gather(used),
        }, schema=DECISION_COLUMNS)
        claims = frame.df[idx.tolist()].with_columns(pl.Series("row", frame.rows[idx], dtype=pl.Int64))
        answer = self.call(region=region, claims=claims, decisions=decisions)
        if answer is None:
            return
        if not isinstance(answer, Adjustments):
            raise self._fail(f"须返回 Adjustments 或 None，而返回了 {type(answer).__name__}")
        declared = {r.code: r for r in answer.reasons if isinstance(r, AdjustReason)}
        rows = answer.rows
        if not isinstance(rows, pl.DataFrame) or "row" not in rows.columns or "reason" not in rows.columns:
            raise self._fail("Adjustments.rows 须为含 row、reason 列的 polars DataFrame")
        unknown = [c for c in rows.columns if c not in ADJUSTMENT_COLUMNS]
        if unknown:
            raise self._fail(f"Adjustments.rows 有未知列 {', '.join(unknown)}（可用：{', '.join(ADJUSTMENT_COLUMNS)}）")
        try:
            rows = rows.select(pl.col(c).cast(ADJUSTMENT_COLUMNS[c], strict=True) if c in rows.columns
                               else pl.lit(None, dtype=ADJUSTMENT_COLUMNS[c]).alias(c) for c in ADJUSTMENT_COLUMNS)
        except Exception as exc:  # a column of the wrong type
            raise self._fail(f"Adjustments.rows 的列类型不符：{exc}") from None
        position = {int(r): int(i) for r, i in zip(frame.rows[idx].tolist(), idx.tolist(), strict=True)}
        for row, reason, new, refuse, text in rows.iter_rows():
            if row not in position:
                raise self._fail(f"第{row}行不是本次交给插件的 {region} 申领")
            if reason not in declared:
                raise self._fail(f"原因代码 {reason!r} 未在 Adjustments.reasons 中声明")
            i = position[row]
            why = declared[reason]
            if refuse:
                outcome[i] = outcomes.adjusted(int(outcome[i]), reason, why.citation, True)
                amount[i] = 0
            elif new is not None:
                if new < 0:
                    raise self._fail(f"第{row}行的金额 {new} 为负数")
                if not table[int(outcome[i])].eligible:
                    raise self._fail(f"第{row}行已不予补贴，不能改定金额（可用 refuse）")
                outcome[i] = outcomes.adjusted(int(outcome[i]), reason, why.citation, False)
                amount[i] = new
            else:
                raise self._fail(f"第{row}行既未给 amount 也未给 refuse")
            reasons[reason] = why
            if row in watched:
                watched[row].notes.append((text or why.text, why.citation))

