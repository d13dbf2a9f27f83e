"""The ledger's first schema: the event log, its derived tables, and the log's append-only guard.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
PersonId = sa.String(18).with_variant(sa.String(18, collation="C"), "postgresql")

#: The event log refuses UPDATE and DELETE (append-only); editing it needs the guard dropped first,
#: and ``subsidy ledger verify`` then names the first event that no longer holds.
SQLITE_GUARD = """
CREATE TRIGGER ledger_events_append_only_{what} BEFORE {what} ON ledger_events
BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only'); END
"""
PG_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'ledger_events is append-only'; END $$ LANGUAGE plpgsql
"""
PG_GUARD = """
CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_events
FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("claims", sa.BigInteger, nullable=False),
        sa.Column("forms", sa.BigInteger, nullable=False),
        sa.Column("batches", sa.BigInteger, nullable=False),
        sa.Column("publications", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_events",
        sa.Column("seq", Key, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "ledger_batches",
        sa.Column("id", Key, primary_key=True, autoincrement=False),
        sa.Column("event", sa.BigInteger, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("names", sa.Text, nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("stored", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_catalogs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_forms",
        sa.Column("id", Key, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("payee", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(96), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("citations", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        sa.Column("catalog_hash", sa.String(64), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_claims",
        sa.Column("seq", Key, primary_key=True, autoincrement=False),
        sa.Column("claim_id", Id, nullable=False),
        sa.Column("batch", sa.BigInteger, nullable=False),
        sa.Column("row", sa.BigInteger, nullable=False),
        sa.Column("person_id", PersonId, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("pre_amount", sa.BigInteger, nullable=False),
        sa.Column("form", sa.BigInteger, nullable=False),
        sa.Column("project_code", sa.Text, nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="decided"),
        sa.Column("publication", sa.BigInteger, nullable=True),
    )
    op.create_index("ux_ledger_claims_claim_id", "ledger_claims", ["claim_id"], unique=True)
    op.create_index("ix_ledger_claims_person", "ledger_claims", ["person_id"])
    op.create_table(
        "ledger_publications",
        sa.Column("id", Key, primary_key=True, autoincrement=False),
        sa.Column("event", sa.BigInteger, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("start", sa.String(10), nullable=False),
        sa.Column("end", sa.String(10), nullable=False),
        sa.Column("working_days", sa.Integer, nullable=False),
        sa.Column("claims", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
    )
    op.execute(sa.text("INSERT INTO ledger_head (id, events, last_hash, claims, forms, batches, publications) "
                       "VALUES (1, 0, :genesis, 0, 0, 0, 0)").bindparams(genesis="0" * 64))
    if op.get_bind().dialect.name == "postgresql":
        # An ingest's body is large and hashed already: stored out of line, uncompressed.
        op.execute("ALTER TABLE ledger_events ALTER COLUMN body SET STORAGE EXTERNAL")
        op.execute(PG_GUARD_FUNCTION)
        op.execute(PG_GUARD)
    else:
        op.execute(SQLITE_GUARD.format(what="UPDATE"))
        op.execute(SQLITE_GUARD.format(what="DELETE"))


def downgrade() -> None:
    for name in ("ledger_publications", "ledger_claims", "ledger_forms", "ledger_catalogs", "ledger_batches",
                 "ledger_events", "ledger_head"):
        op.drop_table(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_events_append_only()")
