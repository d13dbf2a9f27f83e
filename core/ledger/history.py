"""Deciding a file against the grants the ledger holds (R18, R19, R23 across files; R28).

The engine does the counting: its run takes the held grants as ``history`` (claims as cells with
the amount paid, :func:`jinhua_subsidy.evaluation.evaluate_file`), counts them first in R18, R19
and R23 whatever their dates, and never takes one back (R28). This module gives it those grants
— every grant of the file's persons that the ledger holds, not revoked and worth more than 0
(R24) — with their cells exactly as they were stored.

The run also keeps, for every decision, its base amount and its amount before any adjustment and
before the limits, which the stored steps of a decision need (:mod:`~jinhua_subsidy.ledger.forms`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from jinhua_subsidy import evaluation
from jinhua_subsidy.kinds import KINDS
from jinhua_subsidy.ledger import schema
from jinhua_subsidy.ledger.forms import SEP, decode_cells

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.reader import ClaimsFrame

#: The cells each kind's R19 key is made of (kinds.Kind.same); None: no R19 key (apprenticeship:
#: R23's yearly ceiling limits it instead). A kind not listed uses its required columns.
KEY_CELLS: dict[str, tuple[str, ...] | None] = {
    "qualification": ("occupation", "level"), "project": ("project_code",), "apprenticeship": None,
    "entrepreneurship": ("course",)}
#: Persons looked up at a time.
BATCH = 500


def limit_keys(df: pl.DataFrame) -> pl.Series:
    """What R19 counts as the same subsidy, as text: ``{"kind":…,"v":[cells…]}`` (JSON);
    ``"v":null`` for a kind R19 does not limit."""
    kind = pl.col("kind")
    value: pl.Expr = pl.lit(None, dtype=pl.List(pl.String))
    for k, spec in reversed(list(KINDS.items())):
        cells = KEY_CELLS.get(k, spec.columns)
        if cells is None:
            continue
        value = pl.when(kind == k).then(pl.concat_list([pl.col(c) for c in cells])).otherwise(value)
    return df.select(pl.struct(kind=kind, v=value).struct.json_encode().alias("r19")).to_series()


def held_grants(conn: Connection, persons: Sequence[str]) -> pl.DataFrame:
    """The grants held for ``persons`` (normalised ids): their cells as stored, and ``amount``."""
    c = schema.claims
    q = sa.select(c.c.batch, c.c.content, c.c.amount, c.c.person_id).where(c.c.amount > 0, c.c.state != "revoked")
    total = conn.execute(sa.select(schema.head.c.claims)).scalar_one()
    rows: list[Any] = []
    if total and persons:
        if total < len(persons):  # a small ledger: read it whole
            wanted = set(persons)
            rows = [r for r in conn.execute(q) if r.person_id in wanted]
        else:
            people = sorted(set(persons))
            for start in range(0, len(people), BATCH):
                rows += list(conn.execute(q.where(c.c.person_id.in_(people[start:start + BATCH]))))
    if not rows:
        return pl.DataFrame({"claim_id": pl.Series([], dtype=pl.String), "amount": pl.Series([], dtype=pl.Int64)})
    columns = {int(b): json.loads(cols) for b, cols in conn.execute(
        sa.select(schema.batches.c.id, schema.batches.c.columns).where(
            schema.batches.c.id.in_({int(r.batch) for r in rows})))}
    return cells_frame([(columns[int(r.batch)], r.content) for r in rows], [int(r.amount) for r in rows])


def cells_frame(contents: Iterable[tuple[Sequence[str], str]], amounts: Sequence[int] | None = None) -> pl.DataFrame:
    """Stored claims as a frame of string cells (one column for every column any of them has)."""
    by_columns: dict[tuple[str, ...], list[int]] = {}
    items = [(list(cols), text) for cols, text in contents]
    for i, (names, _) in enumerate(items):
        by_columns.setdefault(tuple(names), []).append(i)
    parts = []
    for cols, at in by_columns.items():
        text = pl.Series("c", [items[i][1] for i in at], dtype=pl.String)
        if text.str.contains("\\", literal=True).any():
            decoded = [decode_cells(list(cols), items[i][1]) for i in at]
            part = pl.DataFrame({c: pl.Series(c, [d.get(c) for d in decoded], dtype=pl.String) for c in cols})
        else:
            split = text.str.split(SEP)
            part = pl.DataFrame({c: split.list.get(j, null_on_oob=True).replace("", None) for j, c in enumerate(cols)})
        parts.append(part.with_columns(pl.Series("\0at", at, dtype=pl.Int64)))
    df = pl.concat(parts, how="diagonal_relaxed").sort("\0at").drop("\0at")
    if amounts is not None:
        df = df.with_columns(pl.Series("amount", list(amounts), dtype=pl.Int64))
    return df


@frozen
class Decided:
    """The run's result, and per decision (in its order): base amount, amount before any
    adjustment and before the limits (what the steps show)."""

    result: evaluation.Result
    base: np.ndarray
    raw: np.ndarray


def decide(engine: Engine, frames: Iterable[ClaimsFrame], history: pl.DataFrame | None) -> Decided:
    """Decide the claims of ``frames`` (rows of one file) with the held grants counted first."""
    run = _Run(engine, history)
    result = run.result(iter(frames))
    base = np.concatenate(run.bases) if run.bases else np.zeros(0, np.int64)
    raw = np.concatenate(run.raws) if run.raws else np.zeros(0, np.int64)
    return Decided(result, base, raw)


class _Run(evaluation._Run):
    """The engine's run, keeping each decision's base and raw amounts (for its steps)."""

    def __init__(self, engine: Engine, history: pl.DataFrame | None) -> None:
        super().__init__(engine, evaluation.Progress(False), (), True, history)
        self.bases: list[np.ndarray] = []
        self.raws: list[np.ndarray] = []
        self._base = np.zeros(0, np.int64)
        self._raw = np.zeros(0, np.int64)

    def chunk(self, frame: ClaimsFrame) -> Any:
        self._base = np.zeros(frame.height, np.int64)
        self._raw = np.zeros(frame.height, np.int64)
        out = super().chunk(frame)
        pos = np.searchsorted(frame.rows, out.rows)
        self.bases.append(self._base[pos])
        self.raws.append(self._raw[pos])
        return out

    def watch_rows(self, frame: ClaimsFrame, idx: np.ndarray, outcome: np.ndarray, amount: np.ndarray,
                   base: np.ndarray) -> None:
        self._base[idx] = base[idx]
        self._raw[idx] = amount[idx]
        if self.watch:
            super().watch_rows(frame, idx, outcome, amount, base)
        # A region whose plugin adjusts its claims: keep them whole, for the notes of their steps.
        elif len(idx) and self.adjuster(str(frame.df.get_column("region")[int(idx[0])])) is not None:
            self.watch = frozenset({evaluation.ALL})
            try:
                super().watch_rows(frame, idx, outcome, amount, base)
            finally:
                self.watch = frozenset()
