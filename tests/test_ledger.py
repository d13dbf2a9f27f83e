"""The real-name ledger (issue 11, main.5): every test runs on SQLite and on PostgreSQL.

PostgreSQL is the server of ``SUBSIDY_TEST_PG_URL`` (``.ci/run`` starts one); each test gets a
schema of its own. Without the variable the PostgreSQL cases are skipped, except with CI=true,
where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.cli import main
from jinhua_subsidy.testing import person_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "claims.csv"
EXTRA = ("name", "account", "start_date", "roster", "organizer_name", "employer_name", "employer_id")
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def pg_base() -> str | None:
    url = os.environ.get("SUBSIDY_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but SUBSIDY_TEST_PG_URL is not set: the ledger tests need PostgreSQL")
        return None
    return url


def _pg_schema(base: str) -> Iterator[str]:
    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    try:
        conn = psycopg.connect(base, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {base} cannot be reached: {exc}")
        pytest.skip(f"PostgreSQL at {base} cannot be reached")
    with conn:
        conn.execute(f"CREATE SCHEMA {name}")
        try:
            yield f"{base}?options=-csearch_path%3D{name}"
        finally:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, upgraded ledger: a SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        url = str(tmp_path / "ledger.db")
        ok(run(url, "upgrade"))
        yield url
        return
    base = pg_base()
    if base is None:
        pytest.skip("SUBSIDY_TEST_PG_URL is not set")
    for url in _pg_schema(base):
        ok(run(url, "upgrade"))
        yield url


def run(db: str, *args: str | Path, env: Mapping[str, str] | None = None) -> Any:
    runner = CliRunner()
    return runner.invoke(main, ["ledger", "--db", db, *map(str, args)], env={"SUBSIDY_ACTOR": "测试员", **(env or {})},
                         catch_exceptions=False)


def ok(result: Any, code: int = 0) -> str:
    assert result.exit_code == code, f"exit {result.exit_code}:\n{result.output}"
    return str(result.output)


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*COLUMNS, *EXTRA])
        w.writeheader()
        for r in rows:
            w.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()})
    return path


def cert(cid: str, seed: int, date: str, occupation: str = "6-18-01-01", level: str = "4", region: str = "urban",
         **extra: Any) -> dict[str, Any]:
    return {"claim_id": cid, "person_id": person_id(seed), "region": region, "kind": "qualification", "date": date,
            "occupation": occupation, "level": level, "hukou": "wucheng" if region == "urban" else region, **extra}


def project(cid: str, seed: int, date: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"claim_id": cid, "person_id": person_id(seed), "region": "wucheng", "kind": "project", "date": date,
            "project_code": code, "organizer": "institution", "hours": "16", "passed": True,
            "employer_region": "wucheng", "hukou": "wucheng", **extra}


def apprentice(cid: str, seed: int, date: str, cost: str) -> dict[str, Any]:
    return {"claim_id": cid, "person_id": person_id(seed), "region": "wucheng", "kind": "apprenticeship",
            "date": date, "apprentice": "employee", "cost": cost, "employer_region": "wucheng", "hukou": "wucheng"}


def decisions(output: str) -> dict[str, dict[str, str]]:
    """CSV decisions by claim id (the row left out: files differ in line numbers)."""
    rows = list(csv.DictReader(io.StringIO(output[output.index("row,claim_id"):])))
    return {r["claim_id"]: {k: v for k, v in r.items() if k != "row"} for r in rows if r.get("claim_id")}


def ingest(db: str, path: Path, code: int = 0) -> str:
    result = run(db, "ingest", path, "--format", "csv")
    assert result.exit_code == code, result.output
    return str(result.stdout)


def evaluate(path: Path) -> str:
    result = CliRunner().invoke(main, ["evaluate", str(path), "--format", "csv"], catch_exceptions=False)
    return str(result.stdout)


def engine_of(db: str) -> sa.Engine:
    from jinhua_subsidy.ledger.store import Ledger

    return Ledger(db).engine


# --- ingest -----------------------------------------------------------------------------------


def test_ingest_decides_as_evaluate_on_a_new_ledger_and_again_changes_nothing(db: str) -> None:
    first = ingest(db, EXAMPLES)
    assert first == evaluate(EXAMPLES)
    again = ingest(db, EXAMPLES)
    assert again == first
    with engine_of(db).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_claims")).scalar_one() == len(decisions(first))
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_events")).scalar_one() == 1
    ok(run(db, "verify"))


def test_a_known_claim_id_with_other_content_is_a_row_error_naming_it(db: str, tmp_path: Path) -> None:
    ingest(db, write(tmp_path / "a.csv", [cert("K1", 1, "2021-03-01")]))
    result = run(db, "ingest", write(tmp_path / "b.csv", [cert("K1", 1, "2021-03-01", level="3"),
                                                           cert("K2", 2, "2021-03-01")]), "--format", "csv")
    assert result.exit_code == 1
    assert "K1" in result.stderr and "已在台账中" in result.stderr and "第2行" in result.stderr
    assert set(decisions(result.stdout)) == {"K2"}


def test_two_files_give_the_decisions_of_one_file_holding_both(db: str, tmp_path: Path) -> None:
    early = [cert("A1", 5, "2021-02-01"), cert("A2", 5, "2021-03-01", occupation="6-18-01-02"),
             cert("A3", 6, "2021-03-01"),  # R19 key granted in the first file
             apprentice("A4", 7, "2021-03-01", "4000")]
    late = [cert("B1", 5, "2021-09-01", occupation="6-18-01-03"), cert("B2", 5, "2021-10-01", occupation="6-18-01-04"),
            cert("B3", 6, "2021-09-01"), apprentice("B4", 7, "2021-06-01", "3000"),
            apprentice("B5", 7, "2021-08-01", "1500"), cert("B6", 5, "2022-01-05", occupation="6-18-01-04")]
    whole = decisions(evaluate(write(tmp_path / "both.csv", early + late)))
    got = {**decisions(ingest(db, write(tmp_path / "early.csv", early))),
           **decisions(ingest(db, write(tmp_path / "late.csv", late)))}
    assert got == whole
    assert got["B2"]["reasons"] == "annual_limit"  # R18: the fourth of 2021
    assert got["B3"]["reasons"] == "repeat"  # R19 across files
    assert got["B4"]["amount"] == "2000.00"  # R23: what is left of 6000
    assert got["B5"]["eligible"] == "false"  # R23/R24: nothing left
    assert got["B6"]["eligible"] == "true"  # 2022 counts anew
    ok(run(db, "verify"))


def test_earlier_grants_stand_and_a_revoked_grant_no_longer_counts(db: str, tmp_path: Path) -> None:
    april = [cert(f"M{i}", 9, f"2021-0{i + 3}-01", occupation=f"6-18-01-0{i}") for i in (1, 2, 3)]
    assert all(d["eligible"] == "true" for d in decisions(ingest(db, write(tmp_path / "apr.csv", april))).values())
    june = decisions(ingest(db, write(tmp_path / "jun.csv", [cert("J1", 9, "2021-02-01", occupation="6-18-01-04")])))
    assert june["J1"]["reasons"] == "annual_limit"  # R28: dated earlier, arrived later
    out = ok(run(db, "revoke", "M2", "--reason", "经核查证书系伪造"))
    assert "已撤销 1 条" in out
    later = decisions(ingest(db, write(tmp_path / "jul.csv", [cert("J2", 9, "2021-11-01", occupation="6-18-01-05")])))
    assert later["J2"]["eligible"] == "true"
    ok(run(db, "verify"))


def test_unreadable_rows_are_listed_and_the_others_ingested(db: str, tmp_path: Path) -> None:
    bad = cert("X2", 2, "2021-02-30")
    result = run(db, "ingest", write(tmp_path / "x.csv", [cert("X1", 1, "2021-03-01"), bad]), "--format", "csv")
    assert result.exit_code == 1
    assert "无法处理 第3行（X2）" in result.stderr
    assert set(decisions(result.stdout)) == {"X1"}


def test_explain_shows_every_decision_exactly_as_the_engine_explains_it(db: str) -> None:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.explain import render

    ingest(db, EXAMPLES)
    engine = Engine()
    decided, _errors = engine.evaluate_file(EXAMPLES)
    assert decided
    firsts = {d.claim_id: d for d in reversed(decided)}  # R20: the first row of an id is the claim
    assert len(firsts) > 40
    for d in firsts.values():
        shown = ok(run(db, "explain", d.claim_id))
        assert shown.split("\n\n台账记录：")[0].rstrip("\n") == render(d, engine), d.claim_id
        assert "engine" not in shown or "jinhua-subsidy" in shown
        assert "有效目录哈希" in shown


# --- lifecycle, 公示, payments ----------------------------------------------------------------


def named_claims(tmp_path: Path) -> Path:
    return write(tmp_path / "named.csv", [
        cert("N1", 11, "2022-03-01", name="张三丰", account="6217000011112222"),
        cert("N2", 12, "2022-03-02", name="李四", account="6217000033334444", occupation="6-18-01-02"),
        cert("N3", 13, "2022-04-01", name="欧阳小明", account="6217000055556666", occupation="6-18-01-03"),
        cert("N4", 14, "2022-03-05", name="王五", hukou="other"),  # refused: not on the list
    ])


def test_lifecycle_publicize_approve_pay_revoke(db: str, tmp_path: Path) -> None:
    ingest(db, named_claims(tmp_path))
    html_out, xlsx_out = tmp_path / "gs.html", tmp_path / "gs.xlsx"
    out = ok(run(db, "publicize", "--period", "2022-03", "--out", html_out))
    assert "公示 #1" in out and "2 人" in out and "异议期" in out
    page = html_out.read_text(encoding="utf-8")
    assert "张*丰" in page and "李*" in page and "张三丰" not in page
    assert "330702********" in page and not FULL_ID.search(page)
    assert "合计" in page and "N4" not in page
    # During the objection window: no approval.
    refused = run(db, "approve", "--publication", "1")
    assert refused.exit_code == 1 and "异议期" in refused.output
    # A 公示 that began in the past: its window is over.
    ok(run(db, "publicize", "--period", "2022-04", "--out", xlsx_out, "--start", "2022-04-28"))
    from openpyxl import load_workbook

    ws = load_workbook(xlsx_out).active
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "欧**明" in text and "2022-04-28 至 2022-05-07" in text and not FULL_ID.search(text)
    bad = run(db, "pay", "N3")
    assert bad.exit_code == 1 and "只有已审核" in bad.output
    ok(run(db, "approve", "--publication", "2"))
    ok(run(db, "pay", "N3"))
    revoked = ok(run(db, "revoke", "N3", "--reason", "经核查未参加培训"))
    assert "须追回资金" in revoked
    assert run(db, "revoke", "N4", "--reason", "x").exit_code == 1  # no grant to revoke
    assert run(db, "revoke", "N1", "--reason", "公示期内收到举报").exit_code == 0  # during the window: recorded
    shown = ok(run(db, "explain", "N3"))
    assert "已撤销（revoked）" in shown and "revoke" in shown and "approve" in shown
    ok(run(db, "verify"))


def test_export_payments_needs_unmasked_and_is_audited(db: str, tmp_path: Path) -> None:
    ingest(db, named_claims(tmp_path))
    ok(run(db, "publicize", "--period", "2022", "--start", "2022-05-05"))
    ok(run(db, "approve", "--publication", "1"))
    target = tmp_path / "bank.csv"
    assert run(db, "export-payments", "--fund", "city", "--out", target).exit_code == 2
    assert not target.exists()
    out = ok(run(db, "export-payments", "--fund", "city", "--out", target, "--unmasked"))
    assert "审计事件" in out and not FULL_ID.search(out)
    text = target.read_text(encoding="utf-8-sig")
    assert person_id(11) in text and "6217000011112222" in text and "张三丰" in text
    with engine_of(db).connect() as conn:
        ev = conn.execute(sa.text("SELECT actor, payload FROM ledger_events WHERE kind = 'export'")).one()
    assert ev.actor == "测试员" and json.loads(ev.payload)["fund"] == "city"
    xlsx = tmp_path / "bank.xlsx"
    ok(run(db, "export-payments", "--fund", "city", "--out", xlsx, "--unmasked"))
    ok(run(db, "verify"))


def test_no_full_id_in_any_output_but_the_export(db: str, tmp_path: Path) -> None:
    path = named_claims(tmp_path)
    outputs = [run(db, "ingest", path).output, run(db, "ingest", path, "--format", "jsonl").output,
               ok(run(db, "signals")), ok(run(db, "verify")), ok(run(db, "explain", "N1")),
               run(db, "publicize", "--project", "none").output,
               run(db, "publicize", "--period", "2022").output]
    for text in outputs:
        assert not FULL_ID.search(text), text


# --- the audit trail ----------------------------------------------------------------------------


def _tamper(db: str, *statements: str) -> None:
    eng = engine_of(db)
    with eng.begin() as conn:
        for s in statements:
            conn.exec_driver_sql(s)


def _drop_guard(db: str) -> str:
    if db.startswith("postgresql"):
        return "DROP TRIGGER ledger_events_append_only ON ledger_events"
    return "DROP TRIGGER ledger_events_append_only_UPDATE; DROP TRIGGER ledger_events_append_only_DELETE"


def test_the_event_log_refuses_edits(db: str) -> None:
    ingest(db, EXAMPLES)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _tamper(db, "UPDATE ledger_events SET actor = 'x'")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _tamper(db, "DELETE FROM ledger_events")


def test_verify_names_an_edited_and_a_deleted_claim(db: str) -> None:
    ingest(db, EXAMPLES)
    ok(run(db, "verify"))
    _tamper(db, "UPDATE ledger_claims SET amount = amount + 100 WHERE claim_id = 'Q02'")
    out = ok(run(db, "verify"), 1)
    assert "申领 Q02" in out and "被改动" in out
    _tamper(db, "DELETE FROM ledger_claims WHERE claim_id = 'Q03'")
    out = ok(run(db, "verify"), 1)
    assert "申领 Q03" in out and "被删除" in out


def test_verify_names_an_edited_state_and_form(db: str, tmp_path: Path) -> None:
    ingest(db, EXAMPLES)
    _tamper(db, "UPDATE ledger_claims SET state = 'paid' WHERE claim_id = 'Q01'")
    out = ok(run(db, "verify"), 1)
    assert "申领 Q01" in out and "paid" in out
    _tamper(db, "UPDATE ledger_claims SET state = 'decided' WHERE claim_id = 'Q01'",
            "UPDATE ledger_forms SET channel = 'district:jindong' WHERE id = 1")
    out = ok(run(db, "verify"), 1)
    assert "决定形式 #1" in out


def test_verify_names_the_first_bad_event(db: str, tmp_path: Path) -> None:
    ingest(db, EXAMPLES)
    ok(run(db, "publicize", "--period", "2021"))
    ingest(db, write(tmp_path / "more.csv", [cert("Z1", 77, "2023-01-05")]))
    ok(run(db, "verify"))
    _tamper(db, *_drop_guard(db).split("; "), "UPDATE ledger_events SET actor = '别人' WHERE seq = 2")
    out = ok(run(db, "verify"), 1)
    assert out.splitlines()[0].startswith("不符：事件 #2（publicize）") and "被改动" in out
    _tamper(db, "UPDATE ledger_events SET actor = '测试员' WHERE seq = 2")
    ok(run(db, "verify"))
    _tamper(db, "DELETE FROM ledger_events WHERE seq = 2")
    out = ok(run(db, "verify"), 1)
    assert "缺少事件 #2" in out.splitlines()[0]


# --- signals ------------------------------------------------------------------------------------


def test_signals(db: str, tmp_path: Path) -> None:
    rows = [
        cert("S1", 21, "2021-03-01", region="urban"),
        cert("S2", 21, "2021-05-01", region="yiwu"),  # same certificate, another region (refused: repeat)
        project("S3", 22, "2021-03-10", "WC-A", start_date="2021-03-01", roster="1"),
        project("S4", 22, "2021-03-20", "WC-B", start_date="2021-03-05", roster="5"),  # overlaps S3
        project("S5", 23, "2021-03-10", "WC-A", roster="1"),  # WC-A: 2 paid, roster 1
        cert("S6", 24, "2021-06-01", region="urban"),
        cert("S7", 24, "2021-06-01", region="yiwu", occupation="6-18-01-02"),  # same day, two regions
    ]
    ingest(db, write(tmp_path / "s.csv", rows))
    out = ok(run(db, "signals"))
    assert "同一人同一职业（工种）同一等级在两个地区申领补贴" in out and "S1、S2" in out
    assert "两期项目制培训时间重叠" in out and "S3、S4" in out
    assert "超过开班花名册人数" in out and "WC-A" in out
    assert "同一天在两个地区" in out and "S6" in out and "S7" in out
    assert "main.4.3" in out and not FULL_ID.search(out)
    found = json.loads(ok(run(db, "signals", "--format", "json")))
    assert {s["code"] for s in found} == {"same_certificate_regions", "overlapping_courses", "over_roster",
                                          "same_day_regions"}


# --- storage ------------------------------------------------------------------------------------


def test_the_schema_equals_the_migrations(db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from jinhua_subsidy.ledger.schema import metadata

    with engine_of(db).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_twice_is_a_no_op(db: str) -> None:
    assert "0001 → 0001" in ok(run(db, "upgrade"))


def test_unreachable_or_missing_ledger_is_one_line_exit_2(tmp_path: Path) -> None:
    for url in ("postgresql://postgres@127.0.0.1:1/nothing", str(tmp_path / "none.db")):
        result = run(url, "verify")
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("错误：")
    assert not (tmp_path / "none.db").exists()
    plain = tmp_path / "plain.db"
    sa.create_engine(f"sqlite:///{plain}").connect().close()
    result = run(str(plain), "ingest", EXAMPLES)
    assert result.exit_code == 2 and "subsidy ledger upgrade" in result.output


# --- pieces -------------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_holidays_and_count_adjusted_workdays() -> None:
    from jinhua_subsidy.ledger.workdays import Calendar

    cal = Calendar.load()
    assert cal.window(dt.date(2022, 3, 7), 5) == dt.date(2022, 3, 11)  # Monday to Friday
    assert cal.window(dt.date(2022, 3, 11), 5) == dt.date(2022, 3, 17)  # over a weekend
    assert cal.window(dt.date(2022, 9, 29), 5) == dt.date(2022, 10, 10)  # 国庆: 10-01..07 off, 10-08/09 worked
    assert cal.working(dt.date(2022, 10, 8)) and not cal.working(dt.date(2022, 10, 3))
    assert not cal.covers(dt.date(2035, 1, 1), dt.date(2035, 1, 9))


def test_masks() -> None:
    from jinhua_subsidy.ledger.publicize import mask_id, mask_name

    assert mask_name("张三丰") == "张*丰" and mask_name("李四") == "李*" and mask_name("欧阳小明") == "欧**明"
    assert mask_name(None) == "—"
    assert mask_id("330702199001011234") == "330702********1234"


def test_cells_round_trip() -> None:
    import polars as pl

    from jinhua_subsidy.ledger.forms import decode_cells, encode_cells

    df = pl.DataFrame({"a": ["x\\y", None, "p\x1fq"], "b": ["1", "2", "\\x1f"]})
    enc = encode_cells(df).to_list()
    assert [decode_cells(["a", "b"], e) for e in enc] == [{"a": "x\\y", "b": "1"}, {"a": None, "b": "2"},
                                                          {"a": "p\x1fq", "b": "\\x1f"}]


# --- plan progress, explain after a change --------------------------------------------------------


def test_plan_progress_from_the_ledger_equals_the_file_report(db: str, tmp_path: Path) -> None:
    rows = [cert("G1", 31, "2021-03-01"), cert("G2", 32, "2021-04-01", region="yiwu", hukou="yiwu"),
            project("G3", 33, "2021-05-01", "WC-9"), cert("G4", 34, "2022-01-05")]
    first, second = write(tmp_path / "a.csv", rows[:2]), write(tmp_path / "b.csv", rows[2:])
    ingest(db, first)
    ingest(db, second)
    whole = write(tmp_path / "whole.csv", rows)
    by_file = CliRunner().invoke(main, ["plan", "progress", str(whole), "--year", "2021", "--format", "csv"])
    by_ledger = run(db, "plan-progress", "--year", "2021", "--format", "csv")
    assert by_ledger.exit_code == 0, by_ledger.output
    assert by_ledger.stdout.replace("台账", "whole.csv") == by_file.stdout
    # A revoked grant is no longer paid.
    ok(run(db, "revoke", "G1", "--reason", "经核查未参加考试"))
    after = run(db, "plan-progress", "--year", "2021", "--format", "csv").stdout
    assert after != by_ledger.stdout


def test_explain_says_so_when_the_catalog_changed(db: str, tmp_path: Path) -> None:
    ingest(db, write(tmp_path / "c.csv", [cert("C1", 41, "2021-03-01")]))
    _tamper(db, "UPDATE ledger_forms SET catalog_hash = 'x'")
    shown = ok(run(db, "explain", "C1"))
    assert "无法逐步重现" in shown and "补贴 1170.00 元" in shown


def test_a_large_batch_builds_its_indexes_after_the_rows(db: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from jinhua_subsidy.ledger import ingest as module

    monkeypatch.setattr(module, "REBUILD_ROWS", 1)
    first = ingest(db, EXAMPLES)
    assert first == evaluate(EXAMPLES)
    ok(run(db, "verify"))
    test_the_schema_equals_the_migrations(db)  # the indexes are back
    with pytest.raises(sa.exc.IntegrityError):
        _tamper(db, "INSERT INTO ledger_claims (seq, claim_id, batch, row, person_id, kind, region, day, amount, "
                    "pre_amount, form, content) SELECT seq + 100000, claim_id, batch, row, person_id, kind, region, "
                    "day, amount, pre_amount, form, content FROM ledger_claims WHERE claim_id = 'Q01'")


def test_publicize_by_project_and_by_organizer(db: str, tmp_path: Path) -> None:
    rows = [project("P1", 51, "2021-03-10", "WC-A", organizer_name="金华某职业培训学校", name="赵六"),
            project("P2", 52, "2021-03-10", "WC-A", organizer_name="金华某职业培训学校"),
            project("P3", 53, "2021-03-12", "WC-B", organizer_name="另一家培训机构")]
    ingest(db, write(tmp_path / "p.csv", rows))
    out = ok(run(db, "publicize", "--project", "WC-B"))
    assert "1 人，1 人次" in out
    out = ok(run(db, "publicize", "--organizer", "金华某职业培训学校", "--out", tmp_path / "o.html"))
    assert "2 人，2 人次" in out
    page = (tmp_path / "o.html").read_text(encoding="utf-8")
    assert "赵*" in page and "—" in page and "P3" not in page
    again = run(db, "publicize", "--organizer", "金华某职业培训学校")
    assert again.exit_code == 1 and "没有待公示的补贴" in again.output  # each grant is publicized once
