"""The ledger's tables, defined once (SQLAlchemy Core) for SQLite and PostgreSQL.

The event log (``ledger_events``) is the record: append-only, each event's hash covering the one
before it (:mod:`~jinhua_subsidy.ledger.audit`). Every other table is derived from the events and
kept for querying; ``subsidy ledger verify`` checks that they still equal what the events say.

Money is in fen (BIGINT), days are days since 1970-01-01, resident ids are stored normalised
(:func:`jinhua_subsidy.resident_id.normalise`), so that one person has one id.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

#: An integer primary key that is SQLite's rowid (fast appends) and a BIGINT on PostgreSQL.
Key = BigInteger().with_variant(Integer(), "sqlite")
#: Ids compare byte by byte (PostgreSQL's "C" collation; SQLite's BINARY is already that).
Id = Text().with_variant(Text(collation="C"), "postgresql")
PersonId = String(18).with_variant(String(18, collation="C"), "postgresql")

#: One row (id 1): the writer's lock (SELECT … FOR UPDATE on PostgreSQL), the head of the chain
#: and the counters used to number new rows.
head = Table(
    "ledger_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("events", BigInteger, nullable=False),  #: seq of the last event (0: none)
    Column("last_hash", String(64), nullable=False),
    Column("claims", BigInteger, nullable=False),  #: seq of the last claim
    Column("forms", BigInteger, nullable=False),
    Column("batches", BigInteger, nullable=False),
    Column("publications", BigInteger, nullable=False),
)

#: The append-only event log. ``payload`` is canonical JSON; ``body`` the bulk part of an event
#: (an ingest's claims: ``seq TAB claim_id TAB record hash`` per line), covered by the hash.
events = Table(
    "ledger_events", metadata,
    Column("seq", Key, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: One row a file ingested.
batches = Table(
    "ledger_batches", metadata,
    Column("id", Key, primary_key=True, autoincrement=False),
    Column("event", BigInteger, nullable=False),
    Column("at", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("file", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("columns", Text, nullable=False),  #: JSON list: the order of the cells in ``claims.content``
    Column("names", Text, nullable=False),  #: JSON: the names of the batch's occupations, as decided
    Column("engine_version", String(40), nullable=False),
    Column("rows", BigInteger, nullable=False),  #: readable rows decided
    Column("stored", BigInteger, nullable=False),  #: new claims stored
    Column("held", BigInteger, nullable=False),  #: rows already held with the same content
    Column("errors", BigInteger, nullable=False),  #: rows that could not be read or decided
)

#: The effective catalog of a region as a decision used it (canonical JSON), by its hash.
catalogs = Table(
    "ledger_catalogs", metadata,
    Column("hash", String(64), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("body", Text, nullable=False),
)

#: What a decision says apart from its claim id and amounts: stored once for every claim that
#: shares it. ``steps`` (JSON) and ``text`` (the explanation, as ``subsidy explain`` renders it)
#: hold markers for the claim id, the amounts and the cost (:mod:`~jinhua_subsidy.ledger.forms`).
forms = Table(
    "ledger_forms", metadata,
    Column("id", Key, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("decision", Text, nullable=False),  #: every field of the decision but the claim's own (JSON)
    Column("region", String(64), nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("payee", String(32), nullable=False),
    Column("channel", String(96), nullable=False),
    Column("reasons", Text, nullable=False),  #: ;-joined
    Column("citations", Text, nullable=False),  #: ;-joined
    Column("status", String(16), nullable=False),
    Column("engine_version", String(40), nullable=False),
    Column("catalog_hash", String(64), nullable=False),
    Column("steps", Text, nullable=False),
    Column("text", Text, nullable=False),
)

#: One row a claim id (R20 across files), in arrival order (``seq``).
claims = Table(
    "ledger_claims", metadata,
    Column("seq", Key, primary_key=True, autoincrement=False),
    Column("claim_id", Id, nullable=False),
    Column("batch", BigInteger, nullable=False),
    Column("row", BigInteger, nullable=False),  #: line in the batch's file
    Column("person_id", PersonId, nullable=False),  #: normalised 居民身份证号
    Column("kind", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("day", Integer, nullable=False),  #: the claim's date, days since 1970-01-01
    Column("amount", BigInteger, nullable=False),  #: fen, as decided
    Column("pre_amount", BigInteger, nullable=False),  #: fen, before the limits across claims
    Column("form", BigInteger, nullable=False),
    Column("project_code", Text, nullable=True),
    Column("content", Text, nullable=False),  #: the claim's cells (forms.encode_cells)
    Column("state", String(16), nullable=False, server_default="decided"),
    Column("publication", BigInteger, nullable=True),
)
#: One row a claim id (R20): a named unique index, so that a bulk load into a small table can build
#: it once at the end (ingest._insert_claims) instead of inserting into it row by row.
CLAIM_ID_INDEX = Index("ux_ledger_claims_claim_id", claims.c.claim_id, unique=True)
PERSON_INDEX = Index("ix_ledger_claims_person", claims.c.person_id)

#: One row a 公示 list.
publications = Table(
    "ledger_publications", metadata,
    Column("id", Key, primary_key=True, autoincrement=False),
    Column("event", BigInteger, nullable=False),
    Column("at", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("scope", String(16), nullable=False),  #: project, organizer or period
    Column("value", Text, nullable=False),
    Column("start", String(10), nullable=False),  #: first day of the objection window
    Column("end", String(10), nullable=False),  #: last day of the objection window
    Column("working_days", Integer, nullable=False),
    Column("claims", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),  #: fen
)

#: Tables derived from the events (everything but the log itself).
DERIVED = (head, batches, catalogs, forms, claims, publications)
