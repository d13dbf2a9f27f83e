"""`subsidy plan progress --db` (issue 11 §7): the plan-progress report from what the ledger holds
equals `subsidy ledger plan-progress`, and FILE or --db is given, never both or neither."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from jinhua_subsidy.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "claims.csv"


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout


def test_plan_progress_from_the_ledger(tmp_path):
    db = str(tmp_path / "ledger.db")
    assert run("ledger", "--db", db, "upgrade")[0] == 0
    assert run("ledger", "--db", db, "ingest", str(EXAMPLE), "--format", "csv")[0] == 0
    code, from_db = run("plan", "progress", "--db", db, "--year", "2021", "--format", "csv")
    assert code == 0
    assert from_db == run("ledger", "--db", db, "plan-progress", "--year", "2021", "--format", "csv")[1]


def test_file_or_db_never_both_nor_neither(tmp_path):
    assert run("plan", "progress", "--year", "2021")[0] == 2
    assert run("plan", "progress", str(EXAMPLE), "--db", str(tmp_path / "x.db"), "--year", "2021")[0] == 2
