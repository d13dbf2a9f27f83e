"""The columnar bulk path of ``subsidy evaluate``: the same decisions as the reference, in columns.

A chunk of rows at a time (so memory is bounded by a chunk's cells, not the file's):

1. read the rows into string columns (:mod:`~jinhua_subsidy.bulk_read`) and decode them with
   vector checks (:mod:`~jinhua_subsidy.bulk_columns`);
2. decide the claims region by region, kind by kind, segment of time by segment of time, from
   each region's rules compiled into arrays (:mod:`~jinhua_subsidy.bulk_plans`, :mod:`~jinhua_subsidy.bulk_decide`);
3. keep the cells of every other row for the reference (the slow path): rows the vector checks
   do not pass (the parser gives the row error, or the claim), rows with no catalog value in
   force (NoRate gives the row error), and every claim of a region whose plugin implements
   ``subsidy_review_claim``.

Then the reference parses and decides those rows one by one, and R18–R20 are applied across
the whole file (:mod:`~jinhua_subsidy.bulk_limits`).

The reference (:meth:`jinhua_subsidy.engine.Engine.evaluate_file`) is the truth; the
differential test (tests/test_bulk_differential.py) holds the two together.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.bulk_columns import Columns, ProjectCodes, decode
from jinhua_subsidy.bulk_decide import Outcome, Outcomes, decide
from jinhua_subsidy.bulk_limits import CODES, NONE, apply_limits, years
from jinhua_subsidy.bulk_plans import APPRENTICESHIP, PROJECT, QUALIFICATION, RegionPlan, day_of
from jinhua_subsidy.bulk_read import ClaimsFrame, NotPlain, read_chunks
from jinhua_subsidy.claims import RowError
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.rulebook import NoRate

#: Runs with more rows than this report progress on stderr, when it is a terminal.
PROGRESS_ROWS = 100_000
#: Rows read and decided at a time: memory stays bounded by a chunk's cells.
CHUNK_ROWS = 250_000
_KIND_SHIFT = 40
_PLAIN_ID = re.compile(r"[0-9]{17}[0-9X]")


@frozen
class BulkResult:
    """Decisions in row order as columns, and the rows that could not be decided."""

    claim_id: pl.Series  #: one a decision
    outcome: np.ndarray  #: index in ``outcomes``
    amount: np.ndarray  #: fen
    rows: np.ndarray  #: line numbers
    outcomes: list[Outcome]
    errors: list[RowError]

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


def evaluate_file(engine: Engine, path: Path, progress: bool = True, chunk_rows: int = CHUNK_ROWS) -> BulkResult:
    """Decide every claim of ``path``; the same result as ``engine.evaluate_file(path)``."""
    say = Progress(progress)
    try:
        return _Run(engine, say).result(read_chunks(path, chunk_rows))
    except NotPlain:  # found late in a file read as plain CSV: read it again row by row
        say.rows = 0
        return _Run(engine, say).result(read_chunks(path, chunk_rows, plain=False))


@frozen
class _Chunk:
    """One chunk's rows, decided (``outcome`` ≥ 0) or handed to the reference (in ``slow``)."""

    claim_id: pl.Series
    rows: np.ndarray
    outcome: np.ndarray
    amount: np.ndarray
    person: np.ndarray
    day: np.ndarray
    key: np.ndarray
    slow: np.ndarray  #: positions in the chunk
    raws: list[dict[str, Any]]  #: their cells


class _Run:
    def __init__(self, engine: Engine, say: Progress) -> None:
        self.engine, self.say = engine, say
        self.regions = tuple(sorted(engine.parser.regions))
        self.occupations = tuple(sorted(engine.parser.occupations))
        self.projects = ProjectCodes()
        self.outcomes = Outcomes()
        self.errors: list[RowError] = []
        self.plans: dict[str, RegionPlan | NoRate | None] = {}  # None: the region's plugin reviews claims
        self.chunks: list[_Chunk] = []

    def result(self, frames: Iterator[ClaimsFrame]) -> BulkResult:
        for frame in frames:
            self.say.rows += frame.height
            self.errors += frame.errors
            self.chunks.append(self.chunk(frame))
            self.say(f"已读取并判定 {self.say.rows} 行")
        claim_id = pl.concat([c.claim_id for c in self.chunks]) if self.chunks else pl.Series([], dtype=pl.String)
        cat = {f: np.concatenate([getattr(c, f) for c in self.chunks]) if self.chunks else np.zeros(0, np.int64)
               for f in ("rows", "outcome", "amount", "person", "day", "key")}
        slow = self.reference(cat)
        self.say(f"已逐条处理 {slow} 行（参考路径）")
        decided = np.flatnonzero(cat["outcome"] >= 0)
        return self.limits(claim_id.gather(decided), {f: v[decided] for f, v in cat.items()})

    def plan(self, key: str) -> RegionPlan | NoRate | None:
        if key not in self.plans:
            try:
                rules = self.engine.rulebook.rules(key)
            except NoRate as exc:
                self.plans[key] = exc
            else:
                self.plans[key] = None if rules.reviewer is not None else \
                    RegionPlan(key, rules, self.regions, self.occupations)
        return self.plans[key]

    def chunk(self, frame: ClaimsFrame) -> _Chunk:
        """Decide a chunk's claims by vector operations; the rest go to the reference later."""
        c = decode(frame.df, self.regions, self.occupations, self.projects)
        n = frame.height
        outcome = np.full(n, -1, dtype=np.int64)
        amount = np.zeros(n, dtype=np.int64)
        slow = ~c.ok
        fast = np.flatnonzero(c.ok)
        for r in np.unique(c.region[fast]).tolist():
            idx = fast[c.region[fast] == r]
            region = self.plan(c.regions[r])
            if isinstance(region, NoRate):
                claim_ids = c.claim_id.gather(idx).to_list()
                self.errors += [RowError(row, i, str(region)) for row, i in zip(frame.rows[idx].tolist(), claim_ids,
                                                                                 strict=True)]
                continue
            if region is None:  # the plugin looks at each claim: slow path
                slow[idx] = True
                continue
            spans = len(region.bounds) + 1
            group = c.kind[idx].astype(np.int64) * spans + region.segments(c.day[idx])
            order = np.argsort(group, kind="stable")
            idx, group = idx[order], group[order]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            for part, g in zip(np.split(idx, starts[1:]), group[starts].tolist(), strict=True):
                kind, segment = divmod(g, spans)
                ids, amounts, no_rate = decide(region, region.plan(kind, segment), c, part, self.outcomes)
                outcome[part] = np.where(no_rate, -1, ids)
                amount[part] = amounts
                slow[part[no_rate]] = True
        at = np.flatnonzero(slow)
        return _Chunk(claim_id=c.claim_id, rows=frame.rows, outcome=outcome, amount=amount,
                      person=c.person, day=c.day.astype(np.int64), key=self._keys(c), slow=at,
                      raws=[frame.df.row(i, named=True) for i in at.tolist()])

    def _keys(self, c: Columns) -> np.ndarray:
        """Integer limit keys (limit_key of the reference) of the chunk's readable rows."""
        kind = c.kind.astype(np.int64)
        sub = np.select(
            [kind == QUALIFICATION, kind == PROJECT, kind == APPRENTICESHIP],
            [c.occupation.astype(np.int64) * 8 + c.level, c.project_code, years(c.day)])
        return (kind << _KIND_SHIFT) + sub  # type: ignore[no-any-return]

    def reference(self, cat: dict[str, np.ndarray]) -> int:
        """The slow path: rows the reference parses and decides one by one."""
        engine = self.engine
        occ = {o: i for i, o in enumerate(self.occupations)}
        extra_people: dict[str, int] = {}
        extra_keys: dict[tuple[str, ...], int] = {}
        offset = 0
        for chunk in self.chunks:
            for i, raw in zip((chunk.slow + offset).tolist(), chunk.raws, strict=True):
                parsed = engine.parser.parse(int(cat["rows"][i]), raw)
                if isinstance(parsed, RowError):
                    self.errors.append(parsed)
                    continue
                try:
                    d = engine.decide(parsed)
                except NoRate as exc:
                    self.errors.append(RowError(parsed.row, parsed.claim_id, str(exc)))
                    continue
                cat["outcome"][i] = self.outcomes.of_decision(d)
                cat["amount"][i] = d.amount
                cat["day"][i] = day_of(d.date)
                pid = d.person_id
                cat["person"][i] = int(pid[:17]) if _PLAIN_ID.fullmatch(pid) else \
                    -1 - extra_people.setdefault(pid, len(extra_people))
                lk = d.limit_key
                kind = vocab.KINDS.index(lk[0])
                if kind == QUALIFICATION and lk[1] in occ:
                    sub = occ[lk[1]] * 8 + vocab.LEVELS.index(lk[2])
                elif kind == PROJECT:
                    sub = int(self.projects.codes([lk[1]])[0])
                elif kind == APPRENTICESHIP:
                    sub = int(lk[1])
                else:  # pragma: no cover - the parser only passes known occupations
                    sub = (1 << (_KIND_SHIFT - 1)) + extra_keys.setdefault(lk, len(extra_keys))
                cat["key"][i] = (kind << _KIND_SHIFT) + sub
            offset += len(chunk.rows)
        count = sum(len(c.slow) for c in self.chunks)
        self.chunks = []
        return count

    def limits(self, claim_id: pl.Series, d: dict[str, np.ndarray]) -> BulkResult:
        outcome, amount = d["outcome"], d["amount"]
        eligible = np.array([o.eligible for o in self.outcomes.table], dtype=bool)[outcome]
        annual = (d["key"] >> _KIND_SHIFT) == APPRENTICESHIP
        code = apply_limits(claim_id, d["person"], d["day"], d["key"], annual, eligible)
        for c in np.unique(code[code != NONE]).tolist():
            rows = code == c
            olds = np.unique(outcome[rows])
            lut = np.zeros(int(olds.max()) + 1, dtype=np.int64)
            lut[olds] = [self.outcomes.refused(o, CODES[c]) for o in olds.tolist()]
            outcome[rows] = lut[outcome[rows]]
            amount[rows] = 0
        self.say("已按 R18–R20 处理跨申领限制")
        return BulkResult(claim_id=claim_id, outcome=outcome, amount=amount, rows=d["rows"],
                          outcomes=self.outcomes.table, errors=sorted(self.errors, key=lambda e: e.row))
