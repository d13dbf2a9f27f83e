"""Deciding a claims file: the engine's one path, in columns, a chunk of rows at a time.

1. read the rows into string columns (:mod:`~jinhua_subsidy.reader`) and decode them; rows that
   fail a check of the contract are row errors (:mod:`~jinhua_subsidy.columns`);
2. decide the claims region by region, kind by kind, segment of time by segment of time, from
   each region's rules compiled into arrays (:mod:`~jinhua_subsidy.compiled`,
   :mod:`~jinhua_subsidy.decide`); a claim with no catalog value in force is a row error;
3. let the region's plugin adjust its claims' decisions in columns (``subsidy_adjust``);
4. apply R18–R20 across the whole file (:mod:`~jinhua_subsidy.limits`).

What is kept for the whole file is a few integer columns and the claim ids; the cells of a
chunk are dropped once it is decided, except for the claims asked for by ``watch`` (the claim
``subsidy explain`` shows).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from attrs import field, frozen

from jinhua_subsidy.adjust import Adjuster, AdjustReason
from jinhua_subsidy.claims import RowError
from jinhua_subsidy.columns import COLUMNS, Columns, file_codes, row_errors
from jinhua_subsidy.compiled import RegionPlan
from jinhua_subsidy.decide import Outcome, Outcomes, decide, no_rate_message
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.kinds import KINDS
from jinhua_subsidy.limits import CODES, NONE, REDUCED, apply_limits
from jinhua_subsidy.reader import ClaimsFrame, NotPlain, read_chunks
from jinhua_subsidy.rulebook import NoRate

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

#: Runs with more rows than this report progress on stderr, when it is a terminal.
PROGRESS_ROWS = 100_000
#: Rows read and decided at a time: memory stays bounded by a chunk's cells.
CHUNK_ROWS = 250_000
_KIND_SHIFT = 40
HELD = -2  #: the outcome of a grant held from before (history, R28)
ALL = "*"  #: watch every claim (small files: tests, the testing kit)


@frozen
class Watched:
    """A claim kept whole for its explanation: its cells, and its amount before the limits and
    before any adjustment (with the base amount before uplifts)."""

    cells: dict[str, Any]
    base: int
    amount: int
    notes: list[tuple[str, Any]] = field(factory=list)  #: (text, citation) of adjustments


@frozen
class Result:
    """Decisions in row order as columns, and the rows that could not be decided."""

    claim_id: pl.Series  #: one a decision
    outcome: np.ndarray  #: index in ``outcomes``
    amount: np.ndarray  #: fen
    rows: np.ndarray  #: line numbers
    outcomes: list[Outcome]
    errors: list[RowError]
    watched: dict[int, Watched]  #: by line number
    reasons: dict[str, AdjustReason]  #: reason codes plugins added (subsidy_adjust)

    def __len__(self) -> int:
        return len(self.outcome)

    def decisions(self) -> Iterator[Decision]:
        """The decisions as objects (for small outputs and tests)."""
        for cid, o, a in zip(self.claim_id.to_list(), self.outcome.tolist(), self.amount.tolist(), strict=True):
            yield self.outcomes[o].decision(cid, a)


class Progress:
    """Reports on stderr, once more than PROGRESS_ROWS rows have been read, when it is a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.rows = 0
        self.start = time.perf_counter()

    def __call__(self, what: str) -> None:
        if self.enabled and self.rows > PROGRESS_ROWS:
            print(f"进度：{what}（{time.perf_counter() - self.start:.1f} 秒）", file=sys.stderr, flush=True)


def evaluate_file(engine: Engine, path: Path, progress: bool = True, chunk_rows: int = CHUNK_ROWS,
                  watch: Collection[str] = (), limits: bool = True, history: pl.DataFrame | None = None,
                  encoding: str = "utf-8") -> Result:
    """Decide every claim of ``path``. ``watch``: claim ids (or ``{ALL}``) kept for explanations;
    ``limits=False`` leaves R18–R20 out (one claim on its own). ``history``: grants already held
    (the ledger's): claims as string cells with their ``amount`` paid (Int64, fen); they count
    first in R18, R19 and R23 and are never taken back (R28); they get no decision here."""
    say = Progress(progress)
    try:
        return _Run(engine, say, watch, limits, history).result(read_chunks(path, chunk_rows, encoding=encoding))
    except NotPlain:  # found late in a file read as plain CSV: read it again row by row
        say.rows = 0
        return _Run(engine, say, watch, limits, history).result(
            read_chunks(path, chunk_rows, plain=False, encoding=encoding))


def masked(result: Result) -> Result:
    """The result as it may be shown: every resident id in a claim id or row error masked
    (jinhua_subsidy.privacy); the decisions are unchanged."""
    from attrs import evolve

    from jinhua_subsidy.privacy import mask_ids

    ids = result.claim_id
    odd = (ids.str.count_matches(r"\p{N}") >= 17).fill_null(False)
    if odd.any():
        at = odd.arg_true()
        ids = ids.clone().scatter(at, [mask_ids(v) for v in ids.gather(at).to_list()])
    errors = [RowError(e.row, mask_ids(e.claim_id), mask_ids(e.message)) for e in result.errors]
    return evolve(result, claim_id=ids, errors=errors)


def evaluate_frame(engine: Engine, frame: pl.DataFrame, rows: np.ndarray, watch: Collection[str] = (ALL,),
                   limits: bool = True) -> Result:
    """Decide claims given as a frame of string cells (a table of one row for one claim)."""
    frame = frame.select([pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c)
                          for c in COLUMNS] + [c for c in frame.columns if c not in COLUMNS])
    return _Run(engine, Progress(False), watch, limits).result(iter([ClaimsFrame(frame, rows, [])]))


@frozen
class _Chunk:
    claim_id: pl.Series
    rows: np.ndarray
    outcome: np.ndarray
    amount: np.ndarray
    person: np.ndarray
    day: np.ndarray
    key: np.ndarray
    ceiling: np.ndarray


class _Run:
    def __init__(self, engine: Engine, say: Progress, watch: Collection[str], limits: bool,
                 history: pl.DataFrame | None = None) -> None:
        self.engine, self.say = engine, say
        self.watch = frozenset(watch)
        self.with_limits = limits
        self.regions = tuple(sorted(engine.rulebook.regions))
        self.occupations = tuple(sorted(engine.names))
        self.codes = file_codes()
        self.outcomes = Outcomes()
        self.errors: list[RowError] = []
        self.adjusters: dict[str, Adjuster | None] = {}
        self.reasons: dict[str, AdjustReason] = {}
        self.watched: dict[int, Watched] = {}
        self.chunks: list[_Chunk] = []
        self.numbered = 0
        self.history = history

    def result(self, frames: Iterator[ClaimsFrame]) -> Result:
        if self.history is not None and self.history.height:
            self.chunks.append(self.held(self.history))
        for frame in frames:
            self.say.rows += frame.height
            self.errors += frame.errors
            self.chunks.append(self.chunk(frame))
            self.say(f"已读取并判定 {self.say.rows} 行")
        empty = np.zeros(0, np.int64)
        claim_id = pl.concat([c.claim_id for c in self.chunks]) if self.chunks else pl.Series([], dtype=pl.String)
        cat = {f: np.concatenate([getattr(c, f) for c in self.chunks]) if self.chunks else empty
               for f in ("rows", "outcome", "amount", "person", "day", "key", "ceiling")}
        cat["held"] = cat["outcome"] == HELD
        self.chunks = []
        return self.limits(claim_id, cat)

    def plan(self, key: str) -> RegionPlan | NoRate:
        """A region's compiled rules, built once per engine (they hold no state of a run)."""
        plans: dict[str, RegionPlan | NoRate] = self.engine.region_plans
        if key not in plans:
            try:
                plans[key] = RegionPlan(key, self.engine.rulebook.rules(key), self.regions, self.occupations)
            except NoRate as exc:
                plans[key] = exc
        return plans[key]

    def adjuster(self, key: str) -> Adjuster | None:
        if key not in self.adjusters:
            self.adjusters[key] = self.engine.adjuster(key)
        return self.adjusters[key]

    def chunk(self, frame: ClaimsFrame) -> _Chunk:
        c = Columns(frame.df, self.regions, self.occupations, self.codes)
        n = frame.height
        ok, bad = row_errors(c)
        ids = c.claim_id
        self.errors += [RowError(int(frame.rows[i]), ids[i] or "", message) for i, message in bad]
        outcome = np.full(n, -1, dtype=np.int64)
        amount = np.zeros(n, dtype=np.int64)
        base = np.zeros(n, dtype=np.int64)
        ceiling = np.full(n, -1, dtype=np.int64)
        fast = np.flatnonzero(ok)
        for r in np.unique(c["region"][fast]).tolist():
            idx = fast[c["region"][fast] == r]
            region = self.plan(self.regions[r])
            if isinstance(region, NoRate):
                self.errors += [RowError(int(frame.rows[i]), ids[i] or "", str(region)) for i in idx.tolist()]
                continue
            spans = len(region.bounds) + 1
            group = c["kind"][idx].astype(np.int64) * spans + region.segments(c.day[idx])
            order = np.argsort(group, kind="stable")
            idx, group = idx[order], group[order]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            for part, g in zip(np.split(idx, starts[1:]), group[starts].tolist(), strict=True):
                kind, segment = divmod(g, spans)
                plan = region.plan(kind, segment)
                got, amounts, no_rate, bases, ceilings = decide(region, plan, c, part, self.outcomes)
                outcome[part], amount[part], base[part], ceiling[part] = got, amounts, bases, ceilings
                for i in part[no_rate].tolist():
                    self.errors.append(RowError(int(frame.rows[i]), ids[i] or "",
                                                no_rate_message(plan, frame.df.row(i, named=True), int(c.day[i]))))
            self.watch_rows(frame, idx, outcome, amount, base)
            adjuster = self.adjuster(region.key)
            if adjuster is not None:
                decided = idx[outcome[idx] >= 0]
                adjuster.apply(region.key, frame, decided, outcome, amount, self.outcomes, self.reasons,
                               self.watched)
        decided = np.flatnonzero(outcome >= 0)
        key = self.keys(c)
        return _Chunk(claim_id=ids.gather(decided), rows=frame.rows[decided], outcome=outcome[decided],
                      amount=amount[decided], person=c.person[decided], day=c.day[decided].astype(np.int64),
                      key=key[decided], ceiling=ceiling[decided])

    def held(self, history: pl.DataFrame) -> _Chunk:
        """Grants already held, as rows the limits count first (R28)."""
        cells = history.select([pl.col(c).cast(pl.String) if c in history.columns
                                else pl.lit(None, dtype=pl.String).alias(c) for c in COLUMNS])
        c = Columns(cells, self.regions, self.occupations, self.codes)
        key = self.keys(c)
        paid = history.get_column("amount").cast(pl.Int64).to_numpy()
        ceiling = np.where(c["kind"] == list(KINDS).index("apprenticeship"), paid, -1)
        n = history.height
        return _Chunk(claim_id=c.claim_id.fill_null(""), rows=np.zeros(n, dtype=np.int64),
                      outcome=np.full(n, HELD, dtype=np.int64), amount=paid, person=c.person,
                      day=c.day.astype(np.int64), key=key, ceiling=ceiling)

    def keys(self, c: Columns) -> np.ndarray:
        """The R19 key of each claim: its kind and what the kind counts as the same (Kind.same)."""
        n = len(c)
        kind = c["kind"]
        key = np.zeros(n, dtype=np.int64)
        for k, spec in enumerate(KINDS.values()):
            of = kind == k
            if of.any():
                same = spec.same(c)
                if same is None:  # every claim its own: numbered through the file
                    same = self.numbered + np.arange(n, dtype=np.int64) + (1 << (_KIND_SHIFT - 1))
                key[of] = (k << _KIND_SHIFT) + same[of]
        self.numbered += n
        return key

    def watch_rows(self, frame: ClaimsFrame, idx: np.ndarray, outcome: np.ndarray, amount: np.ndarray,
                   base: np.ndarray) -> None:
        if not self.watch:
            return
        if ALL in self.watch:
            at = idx
        else:
            at = idx[frame.df.get_column("claim_id").gather(idx).is_in(list(self.watch)).to_numpy()]
        for i in at.tolist():
            if outcome[i] >= 0:
                self.watched[int(frame.rows[i])] = Watched(frame.df.row(i, named=True), int(base[i]), int(amount[i]))

    def limits(self, claim_id: pl.Series, d: dict[str, np.ndarray]) -> Result:
        outcome, amount, held = d["outcome"], d["amount"], d["held"]
        if self.with_limits and len(outcome):
            eligible = np.array([o.eligible for o in self.outcomes.table] + [False], dtype=bool)[
                np.where(held, -1, outcome)] | held
            code, amount = apply_limits(claim_id, d["person"], d["day"], d["key"], eligible, amount, d["ceiling"],
                                        held)
            code[held] = NONE
            for c in np.unique(code[code != NONE]).tolist():
                rows = code == c
                olds = np.unique(outcome[rows])
                table = np.zeros(int(olds.max()) + 1, dtype=np.int64)
                table[olds] = [self.outcomes.reduced(o) if c == REDUCED else self.outcomes.refused(o, CODES[c])
                               for o in olds.tolist()]
                outcome[rows] = table[outcome[rows]]
            self.say("已按 R18–R20 处理跨申领限制")
        if held.any():
            keep = np.flatnonzero(~held)
            claim_id, outcome, amount, d["rows"] = claim_id.gather(keep), outcome[keep], amount[keep], d["rows"][keep]
        return Result(claim_id=claim_id, outcome=outcome, amount=amount, rows=d["rows"],
                      outcomes=self.outcomes.table, errors=sorted(self.errors, key=lambda e: e.row),
                      watched=self.watched, reasons=self.reasons)
