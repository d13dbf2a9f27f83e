"""Alembic migrations of the ledger's schema; run them with ``subsidy ledger upgrade``.

They ship inside the package (``script_location = jinhua_subsidy.ledger:migrations``), so an
installed wheel can create and upgrade a ledger without the source tree.
"""
