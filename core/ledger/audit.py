"""The append-only, hash-chained event log, and ``subsidy ledger verify``.

Every change of the ledger is one event: ``ingest`` (a file's new claims, decided), ``publicize``,
``approve``, ``pay``, ``revoke``, ``export`` (who exported which payments). An event's hash covers
its number, time, actor, kind, payload, the SHA-256 of its body and the previous event's hash, so
that editing or deleting any event breaks the chain from there on. The database refuses UPDATE and
DELETE on the log (a trigger); only someone who drops the trigger can edit it, and ``verify`` then
names the first event that does not hold.

The other tables are derived from the events. An ingest event's body lists every claim it stored
with the hash of its record (:func:`record_hashes`: the claim, its decision and the form's hash);
lifecycle events list the claims they move. ``verify`` replays the events and checks that every
stored claim, decision, form, catalog, state, batch and 公示 equals what the events say, and that
no person holds more than R18/R19 allow.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
from typing import Any

import attrs
import numpy as np
import polars as pl
import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from jinhua_subsidy.ledger import schema
from jinhua_subsidy.ledger.forms import Form, canonical, sha256
from jinhua_subsidy.limits import PER_YEAR

GENESIS = "0" * 64
ACTOR_ENV = "SUBSIDY_ACTOR"
#: The fields of a claim's record, in the order they are hashed.
RECORD = ("seq", "claim_id", "batch", "row", "person_id", "kind", "region", "day", "amount", "pre_amount",
          "form_hash", "project_code", "content")


def actor() -> str:
    """Who acts: ``SUBSIDY_ACTOR``, else the login name and host."""
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV]
    try:
        user = getpass.getuser()
    except Exception:  # pragma: no cover - no login name
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def event_hash(seq: int, at: str, who: str, kind: str, payload: str, body: str, prev: str) -> str:
    head = canonical({"seq": seq, "at": at, "actor": who, "kind": kind, "payload": payload,
                      "body": hashlib.sha256(body.encode("utf-8")).hexdigest(), "prev": prev})
    return sha256(head)


def append(conn: Connection, kind: str, payload: dict[str, Any], body: str = "", who: str | None = None) -> int:
    """Append one event (the caller holds the writer's lock); its number."""
    h = conn.execute(sa.select(schema.head.c.events, schema.head.c.last_hash).where(schema.head.c.id == 1)).one()
    seq, prev = int(h.events) + 1, str(h.last_hash)
    at, who = now(), who or actor()
    text = canonical(payload)
    digest = event_hash(seq, at, who, kind, text, body, prev)
    conn.execute(sa.insert(schema.events).values(seq=seq, at=at, actor=who, kind=kind, payload=text, body=body,
                                                 prev_hash=prev, hash=digest))
    conn.execute(sa.update(schema.head).where(schema.head.c.id == 1).values(events=seq, last_hash=digest))
    return seq


def _escape_id(s: pl.Expr) -> pl.Expr:
    return (s.str.replace_all("\\", "\\\\", literal=True).str.replace_all("\t", "\\t", literal=True)
            .str.replace_all("\n", "\\n", literal=True).str.replace_all("\r", "\\r", literal=True))


def _unescape_id(s: str) -> str:
    if "\\" not in s:
        return s
    return str(json.loads('"' + s.replace('"', '\\"') + '"'))


def record_hashes(df: pl.DataFrame) -> pl.Series:
    """The hash of each claim's record (the RECORD fields of ``df``): the first 128 bits of its
    SHA-256, in hex."""
    text = df.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in RECORD], separator="\x1e")
                     .cast(pl.Binary)).to_series().to_list()
    sha = hashlib.sha256
    digests = pl.Series("hash", [sha(t).digest() for t in text], dtype=pl.Binary)
    return digests.bin.encode("hex").str.slice(0, 32)


def body_of(df: pl.DataFrame, hashes: pl.Series) -> str:
    """An ingest event's body: ``seq TAB hash TAB claim id`` a line (the id escaped)."""
    lines = df.select(pl.concat_str([pl.col("seq").cast(pl.String), hashes,
                                     _escape_id(pl.col("claim_id"))], separator="\t")).to_series()
    return "\n".join(lines.to_list())


# --- verify -----------------------------------------------------------------------------------


@frozen
class Finding:
    """One thing that does not hold: where (an event, a claim, a table) and what, in Chinese."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}：{self.what}"


def claims_frame(conn: Connection, where: Any = None) -> pl.DataFrame:
    """Stored claims with their form's hash, as a frame (RECORD fields and the state)."""
    c, f = schema.claims, schema.forms
    q = sa.select(*[c.c[n] for n in RECORD if n != "form_hash"], f.c.hash.label("form_hash"), c.c.state,
                  c.c.publication, f.c.eligible).select_from(c.join(f, c.c.form == f.c.id, isouter=True))
    if where is not None:
        q = q.where(where)
    rows = conn.execute(q.order_by(c.c.seq)).all()
    names = [*(n for n in RECORD if n != "form_hash"), "form_hash", "state", "publication", "eligible"]
    schema_ = {"seq": pl.Int64, "batch": pl.Int64, "row": pl.Int64, "day": pl.Int64, "amount": pl.Int64,
               "pre_amount": pl.Int64, "publication": pl.Int64, "eligible": pl.Boolean}
    return pl.DataFrame([tuple(r) for r in rows], schema={n: schema_.get(n, pl.String) for n in names}, orient="row")


def verify(conn: Connection) -> list[Finding]:
    """Everything that does not hold, the first bad event first."""
    out: list[Finding] = []
    prev, expected = GENESIS, 1
    bad_event: int | None = None
    claims_said: dict[int, tuple[str, str, int]] = {}  # seq → (claim id, record hash, event)
    state_said: dict[int, tuple[str, int | None]] = {}
    forms_said: dict[int, str] = {}
    catalogs_said: set[str] = set()
    batches_said: dict[int, dict[str, Any]] = {}
    pubs_said: dict[int, dict[str, Any]] = {}
    last_hash, last_seq = GENESIS, 0
    counters = {"claims": 0, "forms": 0, "batches": 0, "publications": 0}
    e = schema.events
    for ev in conn.execute(sa.select(e).order_by(e.c.seq)):
        seq = int(ev.seq)
        if bad_event is None:
            problem = None
            if seq != expected:
                problem = f"缺少事件 #{expected}" + (f"–#{seq - 1}" if seq - 1 > expected else "") + "（已被删除）"
            elif ev.prev_hash != prev:
                problem = "前一事件哈希不符（链条断开）"
            elif event_hash(seq, ev.at, ev.actor, ev.kind, ev.payload, ev.body, ev.prev_hash) != ev.hash:
                problem = "内容与其哈希不符（事件被改动）"
            if problem:
                bad_event = seq
                out.append(Finding(f"事件 #{seq}（{ev.kind}）", problem))
        prev, expected = ev.hash, seq + 1
        last_hash, last_seq = ev.hash, seq
        try:
            payload = json.loads(ev.payload)
        except ValueError:
            out.append(Finding(f"事件 #{seq}", "内容不是有效的 JSON"))
            continue
        _replay(seq, ev.kind, payload, ev.body, claims_said, state_said, forms_said, catalogs_said, batches_said,
                pubs_said, counters)
    out += _derived(conn, claims_said, state_said, forms_said, catalogs_said, batches_said, pubs_said, counters,
                    last_seq, last_hash)
    out += limit_violations(conn)
    return out


def _replay(seq: int, kind: str, payload: dict[str, Any], body: str, claims_said: dict[int, tuple[str, str, int]],
            state_said: dict[int, tuple[str, int | None]], forms_said: dict[int, str], catalogs_said: set[str],
            batches_said: dict[int, dict[str, Any]], pubs_said: dict[int, dict[str, Any]],
            counters: dict[str, int]) -> None:
    if kind == "ingest":
        for line in body.split("\n") if body else ():
            s, h, cid = line.split("\t", 2)
            claims_said[int(s)] = (_unescape_id(cid), h, seq)
            state_said[int(s)] = ("decided", None)
        for fid, h in payload.get("forms", {}).items():
            forms_said[int(fid)] = h
        catalogs_said.update(payload.get("catalogs", ()))
        b = dict(payload["batch"])
        batches_said[int(b["id"])] = {**b, "event": seq}
        counters["claims"] = max(counters["claims"], int(payload.get("last_seq") or 0))
        counters["forms"] = max([counters["forms"], *map(int, payload.get("forms", {}))])
        counters["batches"] = max(counters["batches"], int(b["id"]))
        return
    pub: dict[str, Any] = payload.get("publication") or {}
    if kind == "publicize":
        pubs_said[int(pub["id"])] = {**pub, "event": seq}
        counters["publications"] = max(counters["publications"], int(pub["id"]))
    for s in payload.get("claims", ()):
        if kind == "publicize":
            state_said[int(s)] = ("publicized", int(pub["id"]))
        elif kind in ("approve", "pay", "revoke"):
            old = state_said.get(int(s), ("", None))
            state_said[int(s)] = ({"approve": "approved", "pay": "paid", "revoke": "revoked"}[kind], old[1])


def _derived(conn: Connection, claims_said: dict[int, tuple[str, str, int]],
             state_said: dict[int, tuple[str, int | None]], forms_said: dict[int, str], catalogs_said: set[str],
             batches_said: dict[int, dict[str, Any]], pubs_said: dict[int, dict[str, Any]], counters: dict[str, int],
             last_seq: int, last_hash: str) -> list[Finding]:
    out: list[Finding] = []
    df = claims_frame(conn)
    hashes = record_hashes(df).to_list() if df.height else []
    stored = dict(zip(df.get_column("seq").to_list(), range(df.height), strict=True))
    cids = df.get_column("claim_id").to_list()
    states = df.get_column("state").to_list()
    pubs = df.get_column("publication").to_list()
    for s, (cid, h, ev) in sorted(claims_said.items()):
        i = stored.get(s)
        if i is None:
            out.append(Finding(f"申领 {cid}（序号 {s}，事件 #{ev}）", "事件记录了这条申领，台账中已不存在（被删除）"))
            continue
        if hashes[i] != h:
            out.append(Finding(f"申领 {cids[i]}（序号 {s}，事件 #{ev}）",
                               "台账中的申领或其决定与事件记录不符（被改动）"))
        want_state, want_pub = state_said[s]
        if states[i] != want_state or (want_pub is not None and pubs[i] != want_pub):
            out.append(Finding(f"申领 {cids[i]}（序号 {s}）",
                               f"状态为 {states[i]}，事件记录的状态为 {want_state}"))
    for s, i in stored.items():
        if s not in claims_said:
            out.append(Finding(f"申领 {cids[i]}（序号 {s}）", "台账中有这条申领，但没有任何事件记录它（被插入）"))
    f = schema.forms
    seen_forms: set[int] = set()
    for row in conn.execute(sa.select(f)):
        seen_forms.add(int(row.id))
        form = Form(**{a.name: getattr(row, a.name) for a in attrs.fields(Form)})
        if form.hash != row.hash or forms_said.get(int(row.id)) != row.hash:
            out.append(Finding(f"决定形式 #{row.id}", "内容与事件记录的哈希不符（被改动）"))
    for fid in sorted(set(forms_said) - seen_forms):
        out.append(Finding(f"决定形式 #{fid}", "事件记录了它，台账中已不存在（被删除）"))
    cat = schema.catalogs
    for row in conn.execute(sa.select(cat)):
        if sha256(row.body) != row.hash or row.hash not in catalogs_said:
            out.append(Finding(f"目录 {row.region}（{row.hash[:12]}）", "内容与其哈希不符（被改动）"))
    out += _rows_match(conn, schema.batches, batches_said, "导入批次")
    out += _rows_match(conn, schema.publications, pubs_said, "公示")
    head = conn.execute(sa.select(schema.head).where(schema.head.c.id == 1)).one()
    want = {"events": last_seq, "last_hash": last_hash, **counters}
    for k, v in want.items():
        if getattr(head, k) != v:
            out.append(Finding("台账头（ledger_head）", f"{k} 为 {getattr(head, k)}，事件记录为 {v}"))
    return out


def _rows_match(conn: Connection, table: sa.Table, said: dict[int, dict[str, Any]], name: str) -> list[Finding]:
    out = []
    seen = set()
    for row in conn.execute(sa.select(table)):
        rid = int(row.id)
        seen.add(rid)
        want = said.get(rid)
        got = {k: getattr(row, k) for k in row._fields}
        if want is None or any(str(got[k]) != str(want.get(k)) for k in got):
            out.append(Finding(f"{name} #{rid}", "与事件记录不符（被改动或插入）"))
    for rid in sorted(set(said) - seen):
        out.append(Finding(f"{name} #{rid}", "事件记录了它，台账中已不存在（被删除）"))
    return out


def granted_frame(conn: Connection) -> pl.DataFrame:
    """Grants held (amount > 0, not revoked): person, day, amount, kind, claim id, and the R19 key
    (history.limit_keys) of their cells."""
    from jinhua_subsidy.ledger.history import cells_frame, limit_keys

    c, b = schema.claims, schema.batches
    rows = list(conn.execute(sa.select(c.c.person_id, c.c.day, c.c.amount, c.c.kind, c.c.claim_id, c.c.content,
                                       b.c.columns).select_from(c.join(b, c.c.batch == b.c.id)).where(
        c.c.amount > 0, c.c.state != "revoked")))
    cols = {"person_id": pl.String, "day": pl.Int64, "amount": pl.Int64, "kind": pl.String, "claim_id": pl.String}
    g = pl.DataFrame([tuple(r)[:5] for r in rows], schema=cols, orient="row")
    if not rows:
        return g.with_columns(pl.lit(None, dtype=pl.String).alias("r19"))
    cells = cells_frame([(json.loads(r.columns), r.content) for r in rows])
    for name in ("occupation", "level", "project_code", "course"):
        if name not in cells.columns:
            cells = cells.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    return g.with_columns(limit_keys(cells))


def limit_violations(conn: Connection) -> list[Finding]:
    """Persons who hold more than R18 allows in a year, or one R19 key twice."""
    g = granted_frame(conn)
    if not g.height:
        return []
    g = g.with_columns(year=pl.Series(np.asarray(g.get_column("day").to_numpy().astype("datetime64[D]")
                                                 .astype("datetime64[Y]").astype(np.int64) + 1970)))
    out = []
    year = g.group_by("person_id", "year").agg(pl.len().alias("n"), pl.col("claim_id")).filter(pl.col("n") > PER_YEAR)
    for r in year.sort("person_id", "year").iter_rows(named=True):
        out.append(Finding(f"{r['year']} 年的 {r['n']} 笔补贴（{'、'.join(sorted(r['claim_id']))}）",
                           f"同一人一年享受超过 {PER_YEAR} 次（main.4.1 R18）"))
    once = g.filter(~pl.col("r19").str.ends_with('"v":null}')).group_by("person_id", "r19").agg(
        pl.len().alias("n"), pl.col("claim_id")).filter(pl.col("n") > 1)
    for r in once.sort("person_id", "r19").iter_rows(named=True):
        out.append(Finding(f"申领 {'、'.join(sorted(r['claim_id']))}",
                           "同一职业（项目）同一等级重复享受（main.4.1 R19）"))
    return out
