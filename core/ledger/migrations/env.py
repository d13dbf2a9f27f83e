"""Alembic's environment: migrations run on the connection :func:`jinhua_subsidy.ledger.store.upgrade`
passes in (``config.attributes["connection"]``), inside its transaction."""

from __future__ import annotations

from alembic import context

from jinhua_subsidy.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite",
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
