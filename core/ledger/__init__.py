"""The real-name ledger (实名制台账, main.5): every claim the bureau decides, kept with its decision.

* :mod:`~jinhua_subsidy.ledger.schema` — the tables (SQLAlchemy Core), one definition for SQLite
  and PostgreSQL; :mod:`~jinhua_subsidy.ledger.migrations` — their Alembic migrations;
* :mod:`~jinhua_subsidy.ledger.store` — opening a ledger by path or URL, transactions that take
  the writer's lock (``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL), bulk inserts;
* :mod:`~jinhua_subsidy.ledger.history` — deciding a file against the grants the ledger holds
  (R18, R19, R23 across files; R28: earlier grants stand);
* :mod:`~jinhua_subsidy.ledger.forms` — a decision's steps and explanation, stored once per form;
* :mod:`~jinhua_subsidy.ledger.ingest` — ``subsidy ledger ingest``;
* :mod:`~jinhua_subsidy.ledger.lifecycle` — decided → publicized → approved → paid, or revoked;
* :mod:`~jinhua_subsidy.ledger.publicize` — the 公示 list (HTML, XLSX), masked, and its objection
  window in working days (:mod:`~jinhua_subsidy.ledger.workdays`, holidays as data);
* :mod:`~jinhua_subsidy.ledger.export` — the payment file, the only output with full ids;
* :mod:`~jinhua_subsidy.ledger.audit` — the append-only, hash-chained event log and ``verify``;
* :mod:`~jinhua_subsidy.ledger.signals` — fraud signals (main.4.3).

See docs/ledger.md.
"""
