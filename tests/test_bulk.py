"""The bulk path on files the hypothesis test does not write: odd layouts, unreadable files,
the limits walked claim by claim, the command line, progress and start-up."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy import evaluation as bulk
from jinhua_subsidy.claims import COLUMNS, ClaimsFileError
from jinhua_subsidy.cli import main
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.evaluation import evaluate_file
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.output import WRITERS
from jinhua_subsidy.testing import person_id, write_claims_csv
from jinhua_subsidy.writer import write_result

HEADER = ",".join(COLUMNS)
P1, P2 = person_id(1), person_id(2)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


def same(engine: Engine, path: Path) -> tuple[list, list]:
    """Chunks of any size give the same decisions and row errors, and the fast writer the bytes of
    the plain writers (output.WRITERS), in every format; the decisions and row errors."""
    decisions, errors = engine.evaluate_file(path)
    for chunk_rows in (bulk.CHUNK_ROWS, 2):
        result = evaluate_file(engine, path, progress=False, chunk_rows=chunk_rows)
        assert result.errors == errors
        assert list(result.decisions()) == decisions
        for fmt in ("csv", "jsonl", "table"):
            ref, out = io.StringIO(), io.StringIO()
            WRITERS[fmt](decisions, ref)
            write_result(result, fmt, out, chunk_rows)
            assert out.getvalue() == ref.getvalue()
    return decisions, errors


def row(claim_id: str, pid: str = P1, date: str = "2021-03-01", occupation: str = "6-18-01-01",
        level: str = "3", region: str = "urban") -> str:
    cells = {"claim_id": claim_id, "person_id": pid, "region": region, "kind": "qualification", "date": date,
             "occupation": occupation, "level": level, "hukou": "wucheng"}
    return ",".join(cells.get(c, "") for c in COLUMNS)


def test_bom_and_crlf(engine, tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HEADER, row("A"), row("B", date="2019-01-01")]).encode() + b"\r\n")
    decisions, errors = same(engine, p)
    assert [d.claim_id for d in decisions] == ["A"] and [e.row for e in errors] == [3]


def test_quoted_newline_blank_lines_and_ragged_rows(engine, tmp_path):
    p = tmp_path / "c.csv"
    quoted = row("Q").split(",")
    quoted[COLUMNS.index("welfare_approval")] = '"批复\n第2号"'
    p.write_text("\n".join([HEADER, row("A"), "", ",".join(quoted), row("B")[:40], row("C") + ",extra,cells",
                            "", row("D")]) + "\n", encoding="utf-8")
    decisions, errors = same(engine, p)
    assert [d.claim_id for d in decisions] == ["A", "Q", "C", "D"]
    assert [e.row for e in errors] == [6]  # row B lost its columns; the quoted row took two lines


def test_plain_rows_with_cells_missing_or_extra(engine, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("\n".join([HEADER, row("A"), row("B")[:40], row("C") + ",extra,cells", row("D")]) + "\n",
                 encoding="utf-8")
    decisions, errors = same(engine, p)
    assert [d.claim_id for d in decisions] == ["A", "C", "D"] and [e.row for e in errors] == [3]


def test_an_undecodable_byte_late_in_a_plain_file_names_its_line_and_the_option(engine, tmp_path):
    bad_bytes = tmp_path / "bytes.csv"
    bad_bytes.write_bytes(("\n".join([HEADER, *(row(f"A{i}") for i in range(5))]) + "\n").encode() + b"X\xff\n")
    for chunk_rows in (2, bulk.CHUNK_ROWS):
        with pytest.raises(ClaimsFileError) as got:
            evaluate_file(engine, bad_bytes, progress=False, chunk_rows=chunk_rows)
        assert str(got.value) == (f"{bad_bytes}：第7行第 2 个字节（0xff）无法按 utf-8 解码；"
                                  "若文件为 GBK 或 GB18030 编码（旧版 Windows 系统常见），"
                                  "请加 --encoding gbk 或 --encoding gb18030")


def test_a_cell_longer_than_the_csv_modules_default_limit_is_read(engine, tmp_path):
    long_cell = tmp_path / "long.csv"
    long_cell.write_text("\n".join([HEADER, *(row(f"A{i}", pid=person_id(i)) for i in range(5)),
                                    row("B" * 200_000, pid=person_id(9))]) + "\n", encoding="utf-8")
    decisions, errors = same(engine, long_cell)
    assert errors == [] and len(decisions) == 6


def test_gbk_is_read_with_the_option(engine, tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes(("\n".join([HEADER + ",note", row("A") + ",婺城区"]) + "\n").encode("gbk"))
    with pytest.raises(ClaimsFileError):
        evaluate_file(engine, p, progress=False)
    result = evaluate_file(engine, p, progress=False, encoding="gbk")
    assert [d.claim_id for d in result.decisions()] == ["A"] and result.errors == []


def test_blank_lines_before_the_header_are_skipped_and_counted(engine, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("\n\n" + HEADER + "\n" + row("A") + "\n" + row("B", date="2019-01-01") + "\n", encoding="utf-8")
    result = evaluate_file(engine, p, progress=False)
    assert [d.claim_id for d in result.decisions()] == ["A"] and [e.row for e in result.errors] == [5]


def test_cells_padded_with_whitespace(engine, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("\n".join([HEADER, row(" A ", date=" 2021-03-01\t", level="3\u3000"), row("B")]) + "\n",
                 encoding="utf-8")
    decisions, _ = same(engine, p)
    assert [d.claim_id for d in decisions] == ["A", "B"]


def test_a_row_of_empty_cells_is_an_error_a_blank_line_is_not(engine, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("\n".join([HEADER, "," * (len(COLUMNS) - 1), row("A")]) + "\n", encoding="utf-8")
    _, errors = same(engine, p)
    assert [(e.row, e.message) for e in errors] == [(2, "缺少 claim_id")]


def test_duplicate_header_names_and_a_header_only_file(engine, tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text(HEADER + ",level\n" + row("A") + ",S\n", encoding="utf-8")
    decisions, _ = same(engine, dup)
    assert decisions[0].amount == 78_000  # the later "level" column wins, as in csv.DictReader: S, ×1.3
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER + "\n", encoding="utf-8")
    assert same(engine, empty) == ([], [])


@pytest.mark.parametrize("content", [b"claim_id,person_id\nA,1\n", b"", b"\xff\xfe\x00bad"])
def test_unreadable_files_fail_as_the_reference_does(engine, tmp_path, content):
    p = tmp_path / "c.csv"
    p.write_bytes(content)
    with pytest.raises(ClaimsFileError) as ref:
        engine.evaluate_file(p)
    with pytest.raises(ClaimsFileError) as got:
        evaluate_file(engine, p, progress=False)
    assert str(got.value) == str(ref.value)


def test_json_lines_with_native_values(engine, tmp_path):
    p = tmp_path / "c.jsonl"
    objects = [
        {"claim_id": 1, "person_id": P1, "region": "urban", "kind": "project", "date": "2021-05-01",
         "project_code": "P1", "organizer": "enterprise", "hours": 30, "passed": True, "employer_region": "jindong",
         "employer_tags": ["trade_friction", "city_soe"], "hukou": "jindong"},
        {"claim_id": "2", "person_id": P2, "region": "urban", "kind": "apprenticeship", "date": "2021-05-01",
         "apprentice": "employee", "cost": 6500.5, "employer_region": "kaifaqu", "insured_region": "urban",
         "insured_months": 6},
    ]
    p.write_text("\n".join([*(json.dumps(o) for o in objects), "not json", "[1]"]) + "\n", encoding="utf-8")
    decisions, errors = same(engine, p)
    assert [d.claim_id for d in decisions] == ["1", "2"] and [e.row for e in errors] == [3, 4]


def test_limits_walked_claim_by_claim_where_a_refusal_frees_a_key(engine, tmp_path):
    """Five occupations in 2021: the 4th and 5th are refused (R18), so the 4th's occupation and
    level are still free in 2022 (R19 counts only granted claims); a repeat of the 1st is not."""
    occs = ("6-18-01-01", "6-18-01-02", "6-18-01-07", "6-18-02-04", "6-20-01-01")
    lines = [HEADER] + [row(f"Y1-{i}", date=f"2021-0{i + 1}-01", occupation=o) for i, o in enumerate(occs)]
    lines += [row("Y2-a", date="2022-02-01", occupation=occs[3]), row("Y2-b", date="2022-03-01", occupation=occs[0]),
              row("Y2-c", date="2022-03-01", occupation=occs[4], pid=P2), row("Y1-0", date="2022-04-01")]
    p = tmp_path / "c.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    decisions, _ = same(engine, p)
    assert [d.reasons for d in decisions] == [(), (), (), ("annual_limit",), ("annual_limit",), (), ("repeat",), (),
                                              ("duplicate_claim",)]


def test_claims_of_one_day_are_taken_in_claim_id_order(engine, tmp_path):
    occs = ("6-18-01-01", "6-18-01-02", "6-18-01-07", "6-18-02-04")
    lines = [HEADER] + [row(cid, date="2021-05-01", occupation=o) for cid, o in zip("DCBA", occs, strict=True)]
    p = tmp_path / "c.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    decisions, _ = same(engine, p)
    assert [d.reasons for d in decisions] == [("annual_limit",), (), (), ()]  # D is the 4th by claim id (R18)


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_cli_prints_what_the_plain_writers_write(engine, tmp_path, fmt):
    p = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": "A", "person_id": P1, "region": "wucheng", "kind": "project", "date": "2020-06-01",
         "project_code": "WC2020-TYJR", "organizer": "department", "organizer_level": "district", "hours": 24,
         "passed": True, "employer_region": "wucheng", "hukou": "wucheng"},
        {"claim_id": "B", "person_id": P2[:-1] + "0", "region": "urban", "kind": "qualification",
         "date": "2021-01-01", "occupation": "6-18-01-01", "level": "4"},
        {"claim_id": "C", "person_id": P2, "region": "yiwu", "kind": "qualification", "date": "2021-12-31",
         "occupation": "4-01-06-01", "level": "S", "employer_tags": "self_evaluation;key_manufacturing"},
    ])
    got = run("evaluate", str(p), "--format", fmt)
    decisions, _errors = engine.evaluate_file(p)
    plain = io.StringIO()
    WRITERS[fmt](decisions, plain)
    assert got[1] == plain.getvalue()
    assert got[0] == 1 and "无法处理 第3行（B）" in got[2]
    out = tmp_path / "decisions.out"
    assert run("evaluate", str(p), "--format", fmt, "--out", str(out))[0] == 1
    assert out.read_text(encoding="utf-8") == plain.getvalue()


def test_progress_only_for_long_runs_on_a_terminal(monkeypatch, capsys):
    say = bulk.Progress()
    say.rows = bulk.PROGRESS_ROWS + 1
    say("已读取")
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    say = bulk.Progress()
    say.rows = bulk.PROGRESS_ROWS
    say("已读取")
    assert capsys.readouterr().err == ""
    say.rows += 1
    say("已读取并判定 100001 行")
    assert capsys.readouterr().err.startswith("进度：已读取并判定 100001 行（")
    assert bulk.Progress(enabled=False).enabled is False


def test_evaluate_help_imports_neither_polars_nor_numpy():
    code = ("import sys; from click.testing import CliRunner; from jinhua_subsidy.cli import main; "
            "r = CliRunner().invoke(main, ['evaluate', '--help']); assert '--errors' in r.output; "
            "print(sorted(m for m in ('polars', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_bare_carriage_return_in_the_header_line_loses_no_row(engine, tmp_path):
    # Found by benchmarks/fuzz.py --examples 100000 (seed 40246): for the csv module "\r" ends the
    # header line, so " " after it is a data row of its own; it must be reported, never dropped.
    p = tmp_path / "c.csv"
    p.write_bytes(HEADER.encode() + b"\r \r\n")
    result = evaluate_file(engine, p, progress=False)
    assert len(result) == 0 and [(e.row, e.message) for e in result.errors] == [(2, "缺少 claim_id")]
