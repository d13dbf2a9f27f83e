"""``subsidy ledger ingest FILE``: decide a claims file against everything the ledger holds, and
store the new claims with their decisions, in one transaction.

* A claim id the ledger already holds is the same claim (R20 across files): with the same cells it
  changes nothing and its held decision is printed again; with other cells it is a row error that
  names the id. A later row of an id in the same file is ``duplicate_claim``, as ``evaluate`` says.
* The other claims are decided with the grants held for their persons counted first
  (:mod:`~jinhua_subsidy.ledger.history`: R18, R19, R23 across files, R28).
* Each new claim is stored with its cells, its decision (through its form: engine version, the
  hash of the effective catalog, the steps), and one ``ingest`` event covers them all.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from jinhua_subsidy.claims import RowError
from jinhua_subsidy.evaluation import CHUNK_ROWS, Result
from jinhua_subsidy.ledger import audit, schema
from jinhua_subsidy.ledger.forms import Former, Held, catalog_body, encode_cells, engine_version, sha256
from jinhua_subsidy.ledger.history import decide, held_grants
from jinhua_subsidy.ledger.store import Ledger, bulk_insert
from jinhua_subsidy.limits import first_of_each
from jinhua_subsidy.reader import ClaimsFrame, NotPlain, read_chunks
from jinhua_subsidy.reasons import REASONS

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

CLAIM_COLUMNS = ("seq", "claim_id", "batch", "row", "person_id", "kind", "region", "day", "amount",
                 "pre_amount", "form", "project_code", "content")
CHANGED = "申领编号 {cid} 已在台账中，但本次提交的内容与台账中的不同（同一申领编号只能对应同一申领，R20）"
CONTROL = "申领编号含有控制字符，台账不予登记"


@frozen
class Ingested:
    """What an ingest did: the decisions to print (file order), and its counts."""

    result: Result
    batch: int | None
    stored: int
    held: int
    event: int | None


def read_frames(path: Path) -> list[ClaimsFrame]:
    try:
        return list(read_chunks(path, CHUNK_ROWS))
    except NotPlain:
        return list(read_chunks(path, CHUNK_ROWS, plain=False))


def normalised(s: pl.Expr) -> pl.Expr:
    """resident_id.normalise in columns."""
    return s.str.normalize("NFKC").str.strip_chars().str.to_uppercase()


def ingest(ledger: Ledger, engine: Engine, path: Path, who: str | None = None) -> Ingested:
    data = path.read_bytes()
    file_sha = hashlib.sha256(data).hexdigest()
    del data
    frames = read_frames(path)
    columns = frames[0].df.columns if frames else []
    cells = pl.concat([f.df for f in frames], how="diagonal_relaxed") if frames else pl.DataFrame()
    rows = np.concatenate([f.rows for f in frames]) if frames else np.zeros(0, np.int64)
    read_errors = [e for f in frames for e in f.errors]
    with ledger.write() as conn:
        return _ingest(conn, engine, path, file_sha, columns, cells, rows, read_errors, who)


def _ingest(conn: Connection, engine: Engine, path: Path, file_sha: str, columns: list[str], cells: pl.DataFrame,
            rows: np.ndarray, read_errors: list[RowError], who: str | None) -> Ingested:
    n = cells.height
    ids = cells.get_column("claim_id") if n else pl.Series("claim_id", [], dtype=pl.String)
    content = encode_cells(cells) if n else pl.Series("content", [], dtype=pl.String)
    errors: list[RowError] = list(read_errors)
    control = ids.str.contains(r"[\x00-\x1f\x7f]").fill_null(False).to_numpy() if n else np.zeros(0, bool)
    for i in np.flatnonzero(control).tolist():
        errors.append(RowError(int(rows[i]), "", CONTROL))
    # Claim ids the ledger holds (R20 across files).
    holding = bool(conn.execute(sa.select(schema.head.c.claims)).scalar_one())
    held = _held_claims(conn, [v for v in ids.unique().to_list() if v is not None]) if n and holding else {}
    is_held = ids.is_in(list(held)).fill_null(False).to_numpy() if held else np.zeros(n, bool)
    first = first_of_each(ids.fill_null("")) if n else np.zeros(0, bool)
    out_ids: list[str] = []
    out_rows: list[int] = []
    out_outcome: list[Any] = []
    out_amount: list[int] = []
    same = 0
    batch_columns = {b: json.loads(c) for b, c in conn.execute(sa.select(schema.batches.c.id, schema.batches.c.columns))
                     } if held else {}
    for i in np.flatnonzero(is_held & ~control).tolist():
        cid = str(ids[i])
        h = held[cid]
        if not first[i]:
            out_outcome.append(h["outcome"].refused("duplicate_claim", REASONS["duplicate_claim"].citation.ids()))
            out_amount.append(0)
        elif _same_cells(columns, str(content[i]), batch_columns[h["batch"]], h["content"]):
            out_outcome.append(h["outcome"])
            out_amount.append(h["amount"])
            same += 1
        else:
            errors.append(RowError(int(rows[i]), cid, CHANGED.format(cid=cid)))
            continue
        out_ids.append(cid)
        out_rows.append(int(rows[i]))
    keep = ~is_held & ~control
    every = bool(keep.all())
    new_cells = cells.filter(pl.Series(keep)) if n and not every else cells
    new_rows = rows[keep] if not every else rows
    new_content = content.filter(pl.Series(keep)) if n and not every else content
    persons = new_cells.select(normalised(pl.col("person_id"))).to_series() if n else pl.Series([], dtype=pl.String)
    history = held_grants(conn, [p for p in persons.unique().to_list() if p is not None and len(p) == 18]
                          ) if holding else None
    frame = ClaimsFrame(new_cells, new_rows, [])
    decided = decide(engine, [frame] if new_cells.height else [], history)
    r = decided.result
    errors += r.errors
    # The decided rows' cells, in the result's order.
    pos = np.searchsorted(new_rows, r.rows)
    whole = len(pos) == new_cells.height and bool((pos == np.arange(len(pos))).all())
    dc = new_cells if whole else new_cells[pl.Series(pos)] if len(pos) else new_cells.clear()
    stored = first_of_each(r.claim_id) if len(r) else np.zeros(0, bool)
    batch = event = None
    count = int(stored.sum())
    if count:
        batch, event = _store(conn, engine, decided, dc, new_content if whole else new_content.gather(pos),
                              stored, persons if whole else persons.gather(pos), path, file_sha, columns,
                              len(r) + len(out_ids),
                              same, len(errors), who)
    printed = _printed(r, out_ids, out_rows, out_outcome, out_amount, errors)
    return Ingested(printed, batch, count, same, event)


def _same_cells(columns: list[str], content: str, held_columns: list[str], held_content: str) -> bool:
    from jinhua_subsidy.ledger.forms import decode_cells

    if columns == held_columns:
        return content == held_content
    a = {k: v for k, v in decode_cells(columns, content).items() if v is not None}
    b = {k: v for k, v in decode_cells(held_columns, held_content).items() if v is not None}
    return a == b


def _held_claims(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The held claims among ``ids``: their batch, cells and decision."""
    c, f = schema.claims, schema.forms
    total = conn.execute(sa.select(schema.head.c.claims)).scalar_one()
    if not total:
        return {}
    q = sa.select(c.c.claim_id, c.c.batch, c.c.content, c.c.amount, f.c.decision).select_from(
        c.join(f, c.c.form == f.c.id))
    found: list[Any] = []
    if total < len(ids):
        wanted = set(ids)
        found = [r for r in conn.execute(q) if r.claim_id in wanted]
    else:
        for start in range(0, len(ids), 500):
            found += list(conn.execute(q.where(c.c.claim_id.in_(ids[start:start + 500]))))
    out = {}
    for r in found:
        out[r.claim_id] = {"batch": int(r.batch), "content": r.content, "amount": int(r.amount),
                           "outcome": Held(json.loads(r.decision))}
    return out


def _store(conn: Connection, engine: Engine, decided: Any, dc: pl.DataFrame, content: pl.Series, stored: np.ndarray,
           persons: pl.Series, path: Path, file_sha: str, columns: list[str], rows: int, same: int, errors: int,
           who: str | None) -> tuple[int, int]:
    r = decided.result
    head = conn.execute(sa.select(schema.head).where(schema.head.c.id == 1)).one()
    batch = int(head.batches) + 1
    # The effective catalogs of the regions decided.
    regions = sorted({o.region for o in r.outcomes if o.region})
    catalogs: dict[str, str] = {}
    bodies: dict[str, tuple[str, str]] = {}
    for region in regions:
        body = catalog_body(engine, region)
        catalogs[region] = sha256(body)
        bodies[catalogs[region]] = (region, body)
    have = {h for (h,) in conn.execute(sa.select(schema.catalogs.c.hash).where(
        schema.catalogs.c.hash.in_(list(bodies))))}
    new_catalogs = [(h, reg, body) for h, (reg, body) in bodies.items() if h not in have]
    bulk_insert(conn, schema.catalogs, ("hash", "region", "body"), new_catalogs)
    # Forms: the ones not held yet get the next ids.
    forms, index = Former(engine, decided, dc, catalogs).forms()
    hashes = [f.hash for f in forms]
    known: dict[str, int] = {}
    for start in range(0, len(hashes), 500):
        part = hashes[start:start + 500]
        known.update({h: int(i) for h, i in conn.execute(
            sa.select(schema.forms.c.hash, schema.forms.c.id).where(schema.forms.c.hash.in_(part)))})
    next_form = int(head.forms)
    new_forms: dict[str, int] = {}
    form_rows = []
    for f in forms:
        if f.hash not in known and f.hash not in new_forms:
            next_form += 1
            new_forms[f.hash] = next_form
            row = f.row()
            form_rows.append((next_form, *(row[c] for c in FORM_COLUMNS[1:])))
    bulk_insert(conn, schema.forms, FORM_COLUMNS, form_rows)
    ids = {**known, **new_forms}
    form_id = np.array([ids[h] for h in hashes], dtype=np.int64)[index]
    form_hash = pl.Series("form_hash", hashes, dtype=pl.String).gather(index)
    # The claims, numbered in arrival order.
    at = np.flatnonzero(stored)
    first_seq = int(head.claims) + 1
    k = len(at)
    sel = pl.Series(at)
    every = k == len(stored)

    def take(s: pl.Series) -> pl.Series:
        return s if every else s.gather(sel)

    df = pl.DataFrame({
        "claim_id": take(r.claim_id),
        "batch": np.full(k, batch, np.int64),
        "row": r.rows[at].astype(np.int64),
        "person_id": take(persons),
        "kind": take(dc.get_column("kind")),
        "region": take(dc.get_column("region")),
        "day": take(dc.get_column("date")).str.to_date("%Y-%m-%d").cast(pl.Int64),
        "amount": r.amount[at].astype(np.int64),
        "pre_amount": decided.raw[at].astype(np.int64),
        "form": form_id[at],
        "form_hash": take(form_hash),
        "project_code": take(dc.get_column("project_code")),
        "content": take(content),
    })
    # Numbered person by person (the order within a file is no order of decision: R28 orders
    # files by arrival, claims within one by date): the person index then grows in order.
    df = df.sort("person_id", "row").with_columns(seq=pl.Series(np.arange(first_seq, first_seq + k, dtype=np.int64)))
    # The rows go in on a thread of their own (the database's work releases the GIL) while the
    # event's body is hashed here; nothing else touches the connection meanwhile.
    insert = _Insert(conn, df.select(*CLAIM_COLUMNS), int(head.claims))  # state: decided (its default)
    try:
        record = audit.record_hashes(df)
        body = audit.body_of(df, record)
    finally:
        insert.join()
    at_time = audit.now()
    who = who or audit.actor()
    batch_row = {"id": batch, "at": at_time, "actor": who, "file": str(path), "file_sha256": file_sha,
                 "columns": json.dumps(columns, ensure_ascii=False), "names": _names(engine, dc),
                 "engine_version": engine_version(),
                 "rows": rows, "stored": k, "held": same, "errors": errors}
    payload = {"batch": batch_row, "forms": {str(v): h for h, v in new_forms.items()},
               "catalogs": [h for h, _, _ in new_catalogs], "first_seq": first_seq, "last_seq": first_seq + k - 1,
               "count": k}
    event = audit.append(conn, "ingest", payload, body, who)
    conn.execute(sa.insert(schema.batches).values(**batch_row, event=event))
    conn.execute(sa.update(schema.head).where(schema.head.c.id == 1).values(
        claims=first_seq + k - 1, forms=next_form, batches=batch))
    return batch, event


def _names(engine: Engine, cells: pl.DataFrame) -> str:
    """The names of the occupations of a batch, as the decisions used them (JSON)."""
    codes = sorted(c for c in cells.get_column("occupation").unique().to_list() if c is not None)
    return json.dumps({c: engine.names.get(c, "") for c in codes}, ensure_ascii=False, sort_keys=True)


FORM_COLUMNS = ("id", "hash", "decision", "region", "eligible", "payee", "channel", "reasons", "citations", "status",
                "engine_version", "catalog_hash", "steps", "text")


class _Insert(threading.Thread):
    """_insert_claims on a thread; join() re-raises what it raised."""

    def __init__(self, conn: Connection, df: pl.DataFrame, held: int) -> None:
        super().__init__(name="ledger-insert", daemon=True)
        self.conn, self.df, self.held = conn, df, held
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            _insert_claims(self.conn, self.df, self.held)
        except BaseException as exc:  # handed to the joining thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


#: A batch of at least this many claims, and at least as many as the ledger holds, loads with its
#: indexes built after the rows.
REBUILD_ROWS = 10_000


def _insert_claims(conn: Connection, df: pl.DataFrame, held: int) -> None:
    """The claims, in bulk. Into a table that holds fewer claims than the batch brings, the indexes
    are dropped and built again once the rows are in (in the same transaction: a duplicate id still
    fails the whole ingest), which costs far less than inserting into them row by row."""
    rebuild = df.height >= max(held, REBUILD_ROWS)
    if rebuild:
        for index in (schema.CLAIM_ID_INDEX, schema.PERSON_INDEX):
            index.drop(conn)
    if conn.dialect.name == "postgresql":
        from jinhua_subsidy.ledger.store import copy_csv

        copy_csv(conn, schema.claims, df.columns, df.write_csv(include_header=False, null_value=""))
    else:
        bulk_insert(conn, schema.claims, df.columns, df.rows())
    if rebuild:
        for index in (schema.CLAIM_ID_INDEX, schema.PERSON_INDEX):
            index.create(conn)


def _printed(r: Result, ids: list[str], rows: list[int], outcomes: list[Any], amounts: list[int],
             errors: list[RowError]) -> Result:
    """The decisions to print, in file order: the new ones and the held ones."""
    if not ids:
        return Result(claim_id=r.claim_id, outcome=r.outcome, amount=r.amount, rows=r.rows, outcomes=r.outcomes,
                      errors=sorted(errors, key=lambda e: e.row), watched={}, reasons=r.reasons)
    table = list(r.outcomes)
    extra = np.arange(len(table), len(table) + len(outcomes), dtype=np.int64)
    table += outcomes
    all_rows = np.concatenate([r.rows, np.array(rows, dtype=np.int64)])
    order = np.argsort(all_rows, kind="stable")
    claim_id = pl.concat([r.claim_id, pl.Series("claim_id", ids, dtype=pl.String)]).gather(order)
    return Result(claim_id=claim_id, outcome=np.concatenate([r.outcome, extra])[order],
                  amount=np.concatenate([r.amount, np.array(amounts, dtype=np.int64)])[order], rows=all_rows[order],
                  outcomes=table, errors=sorted(errors, key=lambda e: e.row), watched={}, reasons=r.reasons)
