"""The ledger under load and faults, with real processes (issue 11 §6), on SQLite and PostgreSQL.

* 8 ``subsidy ledger ingest`` processes at once on overlapping files: 0 violations of R18, R19 or
  R23, 0 duplicate claims, and the same claims as one process ingesting the files one by one
  would store.
* ``kill -9`` at random points of an ingest, then the ingest again: exactly the state of one
  clean run (0 lost, 0 duplicated).
"""

from __future__ import annotations

import csv
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.testing import person_id

OCCUPATIONS = ("6-18-01-01", "6-18-01-02", "6-18-01-03", "6-18-01-04", "6-18-01-05", "6-18-01-06")
SUBSIDY = [sys.executable, "-c", "import sys; from jinhua_subsidy.cli import main; sys.exit(main())"]


def _pg() -> str | None:
    url = os.environ.get("SUBSIDY_TEST_PG_URL")
    if not url and os.environ.get("CI") == "true":
        pytest.fail("CI=true but SUBSIDY_TEST_PG_URL is not set: the ledger tests need PostgreSQL")
    return url


def _new_db(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield str(tmp_path / f"{name}.db")
        return
    base = _pg()
    if base is None:
        pytest.skip("SUBSIDY_TEST_PG_URL is not set")
    import psycopg

    schema = f"p_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{base}?options=-csearch_path%3D{schema}"
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def subsidy(db: str, *args: str | Path, wait: bool = True) -> Any:
    cmd = [*SUBSIDY, "ledger", "--db", db, *map(str, args)]
    env = {**os.environ, "SUBSIDY_ACTOR": "test"}
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def claims(rng: random.Random, file: int, n: int, persons: int) -> list[dict[str, str]]:
    """Claims of ``persons`` people, many in the same year, some ids shared between files."""
    out = []
    for i in range(n):
        p = rng.randrange(persons)
        shared = rng.random() < 0.3
        cid = f"S{p:03d}-{rng.randrange(40):02d}" if shared else f"F{file}-{i:04d}"
        r = random.Random(cid)  # a shared id has the same content in every file
        year = r.choice((2021, 2022))
        date = f"{year}-{r.randrange(1, 13):02d}-{r.randrange(1, 28):02d}"
        row = {"claim_id": cid, "person_id": person_id(p), "date": date, "hukou": "wucheng"}
        if r.random() < 0.25:
            row.update(region="wucheng", kind="apprenticeship", apprentice="employee",
                       cost=f"{r.randrange(1000, 5000)}", employer_region="wucheng")
        else:
            row.update(region=r.choice(("urban", "wucheng")), kind="qualification",
                       occupation=r.choice(OCCUPATIONS), level=r.choice("345"))
        out.append(row)
    return out


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def state(db: str) -> list[tuple[Any, ...]]:
    from jinhua_subsidy.ledger.store import Ledger

    with Ledger(db).engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT c.seq, c.claim_id, c.person_id, c.day, c.amount, c.pre_amount, c.state, c.content, f.hash "
            "FROM ledger_claims c JOIN ledger_forms f ON c.form = f.id ORDER BY c.seq"))]


def apprenticeship_over_ceiling(db: str) -> list[Any]:
    from jinhua_subsidy.ledger.store import Ledger

    with Ledger(db).engine.connect() as conn:
        rows = list(conn.execute(sa.text(
            "SELECT person_id, day, amount FROM ledger_claims WHERE kind = 'apprenticeship' AND amount > 0")))
    import datetime as dt

    per: dict[tuple[str, int], int] = {}
    for p, day, amount in rows:
        y = (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).year
        per[(p, y)] = per.get((p, y), 0) + int(amount)
    return [k for k, v in per.items() if v > 600000]  # employee apprentices without the uplift: 6000 a year


def test_eight_concurrent_ingests_violate_nothing(kind: str, tmp_path: Path) -> None:
    rng = random.Random(11)
    files = [write(tmp_path / f"f{i}.csv", claims(rng, i, 60, 25)) for i in range(8)]
    for db in _new_db(kind, tmp_path, "conc"):
        assert subsidy(db, "upgrade").returncode == 0
        procs = [subsidy(db, "ingest", f, "--format", "csv", "--out", tmp_path / f"out{i}.csv", wait=False)
                 for i, f in enumerate(files)]
        codes = [p.wait(timeout=300) for p in procs]
        assert codes == [0] * 8
        checked = subsidy(db, "verify")
        assert checked.returncode == 0, checked.stdout + checked.stderr  # chain, tables, R18 and R19
        assert apprenticeship_over_ceiling(db) == []  # R23
        stored = state(db)
        ids = [r[1] for r in stored]
        assert len(ids) == len(set(ids))
        every = {row["claim_id"] for f in files for row in csv.DictReader(f.open(encoding="utf-8"))}
        assert set(ids) == every


def test_kill_9_during_ingest_then_again_is_one_clean_run(kind: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    path = write(tmp_path / "big.csv", claims(rng, 0, 6000, 1500))
    dbs = _new_db(kind, tmp_path, "clean")
    clean = next(dbs)
    assert subsidy(clean, "upgrade").returncode == 0
    started = time.monotonic()
    assert subsidy(clean, "ingest", path, "--format", "csv", "--out", tmp_path / "clean.csv").returncode == 0
    took = time.monotonic() - started  # the kills fall within a run as long as this one, on any machine
    want = state(clean)
    for db in _new_db(kind, tmp_path, "killed"):
        assert subsidy(db, "upgrade").returncode == 0
        kills = 0
        for attempt in range(5):
            p = subsidy(db, "ingest", path, "--format", "csv", "--out", tmp_path / "out.csv", wait=False)
            time.sleep(took * random.Random(attempt).uniform(0.2, 0.8))
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                kills += 1
            p.wait()
        assert kills, "no ingest was killed: the file is too small for this machine"
        done = subsidy(db, "ingest", path, "--format", "csv", "--out", tmp_path / "out.csv")
        assert done.returncode == 0, done.stderr
        got = state(db)
        assert [r[1:] for r in got] == [r[1:] for r in want]  # seq may only differ if a kill came after commit
        assert len(got) == len({r[1] for r in got})
        checked = subsidy(db, "verify")
        assert checked.returncode == 0, checked.stdout
    for _ in dbs:  # drop the clean schema
        pass
