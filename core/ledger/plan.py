"""Plan progress (annex 1, annex 2) from what the ledger holds, not from one file.

The bureau's report is :func:`jinhua_subsidy.progress.plan_progress`; it reads a claims file and
decides it. Here the same report is fed the ledger's claims and their decisions as stored (every
file held, limits across files applied, revoked grants left out): its reading and its deciding
are given the held claims instead, for the time of the call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinhua_subsidy.ledger import schema
from jinhua_subsidy.ledger.forms import Held
from jinhua_subsidy.ledger.history import cells_frame

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

_LOCK = threading.Lock()
HELD = Path("台账")


def held(conn: Connection, year: int) -> tuple[pl.DataFrame, np.ndarray, Any]:
    """The claims dated in ``year`` as string cells, their numbers, and their decisions as a
    Result (a revoked grant refused, R28)."""
    from jinhua_subsidy.evaluation import Result

    c, f, b = schema.claims, schema.forms, schema.batches
    lo = (np.datetime64(f"{year}-01-01") - np.datetime64("1970-01-01")).astype(int)
    hi = (np.datetime64(f"{year + 1}-01-01") - np.datetime64("1970-01-01")).astype(int)
    rows = list(conn.execute(sa.select(c.c.seq, c.c.claim_id, c.c.amount, c.c.state, c.c.content, b.c.columns,
                                       f.c.decision, f.c.id).select_from(
        c.join(f, c.c.form == f.c.id).join(b, c.c.batch == b.c.id)).where(
        c.c.day >= int(lo), c.c.day < int(hi)).order_by(c.c.seq)))
    df = cells_frame([(json.loads(r.columns), r.content) for r in rows]) if rows else pl.DataFrame(
        {"claim_id": pl.Series([], dtype=pl.String), "date": pl.Series([], dtype=pl.String),
         "region": pl.Series([], dtype=pl.String)})
    outcomes: list[Any] = []
    index: dict[tuple[int, bool], int] = {}
    which = []
    for r in rows:
        revoked = r.state == "revoked"
        key = (int(r.id), revoked)
        if key not in index:
            h = Held(json.loads(r.decision))
            index[key] = len(outcomes)
            outcomes.append(h.refused("revoked", ("main.4.3", "R28")) if revoked else h)
        which.append(index[key])
    seqs = np.array([int(r.seq) for r in rows], dtype=np.int64)
    amounts = np.array([0 if r.state == "revoked" else int(r.amount) for r in rows], dtype=np.int64)
    result = Result(claim_id=pl.Series("claim_id", [r.claim_id for r in rows], dtype=pl.String),
                    outcome=np.array(which, dtype=np.int64), amount=amounts, rows=seqs, outcomes=outcomes,
                    errors=[], watched={}, reasons={})
    return df, seqs, result


@contextmanager
def _fed(df: pl.DataFrame, seqs: np.ndarray, result: Any) -> Iterator[None]:
    from jinhua_subsidy import progress
    from jinhua_subsidy.counterfactual import ClaimsFile

    with _LOCK:
        before = {name: getattr(progress, name) for name in ("read_file", "evaluate_frame")}
        setattr(progress, "read_file", lambda _engine, _path: ClaimsFile(df, seqs, []))  # noqa: B010
        setattr(progress, "evaluate_frame", lambda *_a, **_k: result)  # noqa: B010
        try:
            yield
        finally:
            for name, value in before.items():
                setattr(progress, name, value)


def plan_progress(engine: Engine, conn: Connection, year: int) -> Any:
    """The plan-progress report of ``year`` from the ledger's claims and decisions."""
    from jinhua_subsidy import progress

    df, seqs, result = held(conn, year)
    with _fed(df, seqs, result):
        return progress.plan_progress(engine, HELD, year)
