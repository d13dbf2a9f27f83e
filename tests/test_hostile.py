"""Hostile input (issue 7): every failure the issue lists, each with its exact outcome.

One resident id per person (full-width digits and ``X`` are the same person, R19); no full id in
any output; never overwrite an input, never leave a half-written file; a bug is exit status 3
with a log, every former traceback a row error or a usage error in Chinese; CSV outputs that
round-trip; encodings; strictness where the docs are strict; and ``subsidy check`` finding what
breaks evaluation. The generated cases are in tests/fuzz.py and tests/test_fuzz.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result
from fuzz import leaked_ids

from jinhua_subsidy import evaluation
from jinhua_subsidy.catalog import CatalogError
from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.cli import main
from jinhua_subsidy.invariants import format_findings, run_checks
from jinhua_subsidy.output import ERROR_FIELDS, OUTPUT_FIELDS, write_csv, write_errors
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.privacy import mask_ids
from jinhua_subsidy.testing import person_id, write_claims_csv

HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}
URBAN = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
#: 中式烹调师 level 1 in the urban area, hukou 婺城区: 3000.00 (annex3.1.2 R5).
COOK = {"region": "urban", "kind": "qualification", "date": "2021-06-01", "occupation": "4-03-02-01", "level": "1",
        "hukou": "wucheng"}
WELDER_APPRENTICE = {"region": "urban", "kind": "apprenticeship", "date": "2021-06-01", "apprentice": "employee",
                     "employer_region": "wucheng", "hukou": "wucheng"}
ID_A, ID_B, ID_C = "330702199001011042", "330702199001011034", "330702199001011018"  # valid
assert all(leaked_ids(i) for i in (ID_A, ID_B, ID_C))


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**HERMETIC, **(env or {})})


def decisions(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def errors_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def no_crash(result: Result, code: int) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stdout + result.stderr


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def jsonl(path: Path, *objects: dict[str, object]) -> Path:
    return write(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))


# --- one resident id per person ---------------------------------------------------------------------


def test_a_full_width_id_is_the_same_person_and_is_refused_as_a_repeat(tmp_path):
    claims = write_claims_csv(tmp_path / "c.csv", [
        {**COOK, "claim_id": "Q01", "person_id": "33070219900101119X"},
        {**COOK, "claim_id": "Q02", "person_id": "３３０７０２１９９００１０１１１９X"},
    ])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 0)
    rows = {r["claim_id"]: r for r in decisions(result.stdout)}
    assert (rows["Q01"]["eligible"], rows["Q01"]["amount"]) == ("true", "3000.00")
    assert (rows["Q02"]["eligible"], rows["Q02"]["amount"], rows["Q02"]["reasons"]) == ("false", "0.00", "repeat")
    assert rows["Q02"]["citations"].split(";") == ["main.4.1", "R19"]


@pytest.mark.parametrize("second", [
    ID_A.translate(FULL_WIDTH),  # a numeric check digit: once `校验位错误`
    "３３０７０２１９９０" + ID_A[10:],  # half full-width
    f"\u3000{ID_A}\u3000",  # ideographic spaces
])
def test_other_spellings_of_one_id_are_one_person(tmp_path, second):
    claims = write_claims_csv(tmp_path / "c.csv", [
        {**COOK, "claim_id": "A", "person_id": ID_A}, {**COOK, "claim_id": "B", "person_id": second}])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 0)
    assert [(r["claim_id"], r["reasons"]) for r in decisions(result.stdout)] == [("A", ""), ("B", "repeat")]


def test_arabic_indic_digits_are_a_row_error_that_says_so(tmp_path):
    arabic = ID_A[:6] + "".join(chr(0x0660 + int(d)) for d in ID_A[6:])
    claims = write_claims_csv(tmp_path / "c.csv", [{**COOK, "claim_id": "AR", "person_id": arabic}])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 1)
    assert "无法处理 第2行（AR）：person_id " in result.stderr
    assert "身份证号含有非数字字符（须为0-9，末位可为X）" in result.stderr


# --- no full resident id in any output ---------------------------------------------------------------


@pytest.fixture
def swapped(tmp_path):
    """Columns swapped: resident ids under claim_id (one row's person_id under it too), and in the
    region and hukou cells."""
    return write_claims_csv(tmp_path / "swapped.csv", [
        {**COOK, "claim_id": ID_A, "person_id": ID_C},  # decided: its claim id is an id
        {**COOK, "claim_id": ID_B, "person_id": "S2"},  # the swapped row: a row error under an id
        {**COOK, "claim_id": "S3", "person_id": ID_B, "hukou": ID_C},  # hukou an id: a row error
        {**COOK, "claim_id": "S4", "person_id": ID_C, "region": ID_A},  # region an id: a row error
        {**COOK, "claim_id": f"第{ID_B}号", "person_id": ID_A},  # decided: the id inside other text
    ])


def assert_no_id(*texts: str) -> None:
    for text in texts:
        assert leaked_ids(text) == []
        assert not any(i in text or i.translate(FULL_WIDTH) in text for i in (ID_A, ID_B, ID_C))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_swapped_columns_print_no_full_id_anywhere(tmp_path, swapped, fmt):
    out, errors = tmp_path / "out", tmp_path / "errors.csv"
    result = run("evaluate", str(swapped), "--format", fmt, "--errors", str(errors))
    no_crash(result, 1)
    to_file = run("evaluate", str(swapped), "--format", fmt, "--out", str(out))
    no_crash(to_file, 1)
    assert_no_id(result.stdout, result.stderr, errors.read_text(encoding="utf-8"), out.read_text(encoding="utf-8"),
                 to_file.stderr)
    if fmt != "table":  # the table cuts long cells
        assert "3307**********1042" in result.stdout and "第3307**********1034号" in result.stdout
    reasons = [(r["row"], r["claim_id"], r["reason"]) for r in errors_of(errors)]
    assert reasons == [
        ("3", "3307**********1034", "person_id **：身份证号须为18位（前17位数字，末位数字或X）"),
        ("4", "S3", "hukou 为未知地区 '3307**********1018'（须为附件1的地区代码或 other）"),
        ("5", "S4", "region 为未知地区 '3307**********1042'（须为附件1的地区代码）")]
    assert "无法处理 第3行（3307**********1034）：person_id **" in result.stderr


def test_explain_of_a_swapped_file_prints_no_full_id(swapped):
    result = run("explain", str(swapped), "--claim", ID_A)
    no_crash(result, 0)
    assert result.stdout.startswith("申领 3307**********1042：金华市区（urban）")
    bad = run("explain", str(swapped), "--claim", ID_B)
    no_crash(bad, 1)
    assert bad.stdout.startswith("无法处理 第3行（3307**********1034）：")
    assert_no_id(result.stdout, result.stderr, bad.stdout, bad.stderr)


def test_an_id_echoed_in_a_bad_value_is_masked_and_a_long_value_cut(tmp_path):
    claims = write_claims_csv(tmp_path / "c.csv", [
        {**COOK, "claim_id": "H1", "person_id": ID_A, "hukou": ID_B},
        {**COOK, "claim_id": "H2", "person_id": ID_C, "hukou": "h" * 131_073},
        {**COOK, "claim_id": "x" * 5_000 + "\n" + ID_B, "person_id": ID_B, "level": "9"},
    ])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 1)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("无法处理")]
    assert lines[0] == "无法处理 第2行（H1）：hukou 为未知地区 '3307**********1034'（须为附件1的地区代码或 other）"
    assert lines[1] == ("无法处理 第3行（H2）：hukou 为未知地区 '" + "h" * 64 + "'…（共 131073 字符）"
                        "（须为附件1的地区代码或 other）")
    # A claim id is echoed on one line, cut, ids masked
    assert lines[2] == ("无法处理 第5行（" + "x" * 64 + "…（共 5019 字符））："
                        "level 须为 1、2、3、4、5、S 之一，而不是 '9'")
    assert len(lines) == 3 and max(len(ln) for ln in lines) < 250
    assert_no_id(result.stdout, result.stderr)


# --- never overwrite an input, never leave a half-written file ---------------------------------------


@pytest.fixture
def claims(tmp_path):
    return write_claims_csv(tmp_path / "c.csv", [{**COOK, "claim_id": "Q01", "person_id": ID_A}])


@pytest.mark.parametrize("option", ["--out", "--errors"])
def test_an_output_naming_the_input_is_a_usage_error_and_the_file_is_unchanged(tmp_path, claims, option):
    before = claims.read_bytes()
    link = tmp_path / "link.csv"
    os.link(claims, link)
    sym = tmp_path / "sym.csv"
    sym.symlink_to(claims)
    for target in (claims, link, sym, tmp_path / "." / "c.csv"):
        result = run("evaluate", str(claims), option, str(target))
        no_crash(result, 2)
        assert result.stderr.startswith(f"错误：输出文件 {target} 就是申领文件 {claims}：不会覆盖输入")
        assert claims.read_bytes() == before
        assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "link.csv", "sym.csv"]


def test_a_failed_run_leaves_no_half_written_file(tmp_path, claims, monkeypatch):
    import jinhua_subsidy.writer as writer

    def half(result, fmt, fh, *args, **kwargs):
        fh.write(b"row,claim_id\n2,Q0")
        raise RuntimeError("the disk is full, say")

    monkeypatch.setattr(writer, "write_result", half)
    out, old = tmp_path / "new.csv", tmp_path / "old.csv"  # the log folder is made when needed
    old.write_text("an earlier run's decisions\n", encoding="utf-8")
    for target in (out, old):
        result = run("evaluate", str(claims), "--format", "csv", "--out", str(target),
                     env={"SUBSIDY_LOG_DIR": str(tmp_path / "logs")})
        no_crash(result, 3)
    assert not out.exists()
    assert old.read_text(encoding="utf-8") == "an earlier run's decisions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "logs", "old.csv"]  # no temporary file left


# --- exit status 3: a bug ---------------------------------------------------------------------------


def test_a_bug_is_exit_3_with_one_chinese_line_and_a_log_without_full_ids(tmp_path, claims, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError(f"a bug while deciding {ID_A}")

    monkeypatch.setattr(evaluation._Run, "chunk", broken)
    logs = tmp_path / "logs"
    logs.mkdir()
    result = run("explain", str(claims), "--claim", ID_B, env={"SUBSIDY_LOG_DIR": str(logs)})
    no_crash(result, 3)
    (log,) = logs.iterdir()
    assert result.stdout == ""
    assert result.stderr == (f"内部错误：程序出现缺陷，本次未完成（退出状态 3）。详情已记录在 {log}，"
                             "请交给维护人员。\n")
    text = log.read_text(encoding="utf-8")
    assert "RuntimeError: a bug while deciding 3307**********1042" in text
    assert "Traceback" in text and "--claim 3307**********1034" in text
    assert_no_id(text, result.stderr)
    result = run("evaluate", str(claims), env={"SUBSIDY_LOG_DIR": str(logs)})
    no_crash(result, 3)


# --- former tracebacks: row errors and usage errors ---------------------------------------------------


def test_numbers_of_thousands_of_digits_in_csv_cells_are_row_errors(tmp_path):
    huge = "9" * 5_000
    claims = write_claims_csv(tmp_path / "c.csv", [
        {**COOK, "claim_id": "N1", "person_id": person_id(1), "insured_months": huge},
        {**WELDER_APPRENTICE, "claim_id": "N2", "person_id": person_id(2), "cost": huge},
        {**WELDER_APPRENTICE, "claim_id": "N3", "person_id": person_id(3), "cost": "1." + huge},
    ])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 1)
    cut = "'" + "9" * 64 + "'…（共 5000 字符）"
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("无法处理")] == [
        f"无法处理 第2行（N1）：insured_months 须为非负整数，而不是 {cut}",
        f"无法处理 第3行（N2）：cost 须为以元计、精确到分的金额，而不是 {cut}",
        "无法处理 第4行（N3）：cost 须为以元计、精确到分的金额，而不是 '1." + "9" * 62 + "'…（共 5002 字符）"]


def test_json_numbers_of_thousands_of_digits_nesting_and_lone_surrogates_are_row_errors(tmp_path):
    good = {**COOK, "claim_id": "J0", "person_id": person_id(9)}
    lines = [
        json.dumps(good),
        json.dumps({**good, "claim_id": "J1"})[:-1] + ', "insured_months": ' + "9" * 5_000 + "}",
        json.dumps({**good, "claim_id": "J2"})[:-1] + ', "x": ' + "[" * 1_000 + "]" * 1_000 + "}",
        json.dumps({**good, "claim_id": "J3"})[:-1] + ', "note": "\\ud800"}',
        json.dumps({**good, "claim_id": "J4"})[:-1] + ', "cost": 1e999999999999999999999}',
        json.dumps({**good, "claim_id": "J5"})[:-1] + ', "\\udc00": 1}',
    ]
    path = write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    result = run("evaluate", str(path), "--format", "csv")
    no_crash(result, 1)
    assert [r["claim_id"] for r in decisions(result.stdout)] == ["J0"]
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("无法处理")] == [
        "无法处理 第2行：不是有效的 JSON：数字过长或嵌套过深",
        "无法处理 第3行：JSON 嵌套超过 64 层",
        "无法处理 第4行：JSON 中含有无效的 Unicode 字符（孤立的代理项）：'note'",
        "无法处理 第5行：不是有效的 JSON：数字过长或嵌套过深",
        "无法处理 第6行：JSON 中含有无效的 Unicode 字符（孤立的代理项）：'\\udc00'"]


def test_duplicate_json_keys_are_a_row_error(tmp_path):
    path = write(tmp_path / "c.jsonl", f'{{"claim_id": "A", "claim_id": "B", "person_id": "{ID_A}"}}\n')
    result = run("evaluate", str(path), "--format", "csv")
    no_crash(result, 1)
    assert "无法处理 第1行：JSON 对象中键 'claim_id' 出现两次" in result.stderr


def test_json_lines_without_objects_keep_their_count(tmp_path):
    path = write(tmp_path / "c.jsonl", "{}\n\n{}\r\n")
    errors = tmp_path / "e.csv"
    result = run("evaluate", str(path), "--format", "csv", "--errors", str(errors))
    no_crash(result, 1)
    assert [(r["row"], r["reason"]) for r in errors_of(errors)] == [("1", "缺少 claim_id"), ("3", "缺少 claim_id")]
    for blank in ("", "\n", "\r\n\r\n"):
        no_crash(run("evaluate", str(write(tmp_path / "b.jsonl", blank)), "--format", "csv"), 0)


# --- catalogs ---------------------------------------------------------------------------------------

LEVEL1 = 'amount = "3000"'
BROKEN_CATALOGS = {
    "5000 digits": (URBAN.replace(LEVEL1, f'amount = "{"9" * 5_000}"', 1),
                    "qualification[0].amount", "(5000 characters) is too large"),
    "2000 deep": (URBAN.replace(LEVEL1, "amount = " + "[" * 2_000 + "]" * 2_000, 1), "", "nested too deeply"),
    "10^17": (URBAN.replace(LEVEL1, 'amount = "100000000000000000"', 1), "qualification[0].amount",
              "'100000000000000000' is too large"),
    "a TOML number": (URBAN.replace(LEVEL1, "amount = 3000", 1), "qualification[0].amount",
                      'amount 3000 is a TOML number: write it as a string, e.g. "3000"'),
}


@pytest.fixture
def urban_catalog(tmp_path, monkeypatch):
    """Serve ``text`` (None: a folder) as the built-in urban plugin's catalog."""
    import jinhua_subsidy.plugins.urban as urban

    def serve(text: str | None) -> Path:
        path = tmp_path / "urban.toml"
        if text is None:
            path.mkdir()
        else:
            path.write_text(text, encoding="utf-8")
        monkeypatch.setattr(urban, "plugin", CatalogPlugin(path))
        return path

    return serve


@pytest.mark.parametrize("name", [*BROKEN_CATALOGS, "a folder"])
def test_a_broken_catalog_is_a_check_finding_and_a_usage_error(urban_catalog, claims, name):
    text, where, message = BROKEN_CATALOGS.get(name, (None, "", "cannot read the file: it is a folder"))
    path = urban_catalog(text)
    result = run("check", "--format", "json")
    no_crash(result, 1)
    records = json.loads(result.stdout)
    assert [(r["file"], r["path"], r["rule"], r["severity"]) for r in records] == [
        (str(path), where, "format", "error")]
    assert message in records[0]["message"]
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 2)
    assert result.stderr.startswith(f"错误：{path}: ") and message in result.stderr
    for command in (["plugins"], ["shortage", "urban", "--on", "2021-06-01"],
                    ["explain", str(claims), "--claim", "Q01"]):
        no_crash(run(*command), 2)


@pytest.mark.parametrize("name", BROKEN_CATALOGS)
def test_a_broken_catalog_through_the_plugin_kit(subsidy_engine, catalog_plugin, name):
    """A plugin kit catalog that cannot be loaded: a CatalogError when the engine is built (which
    ``subsidy check`` reports as its format findings), never another exception."""
    text, where, message = BROKEN_CATALOGS[name]
    plugin = catalog_plugin(text.replace('region = "urban"', 'region = "testland"').replace('name = "金华市区"',
                                                                                          'name = "测试地"'))
    with pytest.raises(CatalogError) as caught:
        subsidy_engine(extra=[("testland", plugin)])
    found = format_findings(caught.value)
    assert [(f.file, f.path, f.rule, f.severity) for f in found] == [(str(plugin.source), where, "format", "error")]
    assert message in found[0].message


# --- a broken pipe, encodings, blank lines, long cells, BOMs -------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path):
    rows = [{**COOK, "claim_id": f"P{i:06d}", "person_id": person_id(i, birth=f"19{50 + i // 1000 % 50:02d}0101")}
            for i in range(30_000)]
    big = write_claims_csv(tmp_path / "big.csv", rows)
    subsidy = shutil.which("subsidy", path=os.path.dirname(sys.executable)) or "subsidy"
    err = tmp_path / "stderr.txt"
    line = f'set -o pipefail; "{subsidy}" evaluate "{big}" --format csv 2>"{err}" | head -1'
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env={**os.environ, **HERMETIC},
                          timeout=300)
    assert done.stdout == ",".join(OUTPUT_FIELDS) + "\n"
    assert err.read_text(encoding="utf-8") == ""
    assert done.returncode == 0


def test_an_undecodable_file_names_the_line_and_encoding(tmp_path):
    rows = [{**COOK, "claim_id": f"G{i}", "person_id": person_id(i), "note": "高级技师"} for i in range(4)]
    header = [*COLUMNS, "note"]
    text = ",".join(header) + "\n" + "".join(",".join(r.get(c, "") for c in header) + "\n" for r in rows)
    gbk = write(tmp_path / "gbk.csv", text, "gbk")
    result = run("evaluate", str(gbk), "--format", "csv")
    no_crash(result, 2)
    at = len(",".join(rows[0].get(c, "") for c in header[:-1])) + 2
    assert result.stderr == (f"错误：{gbk}：第2行第 {at} 个字节（0xb8）无法按 utf-8 解码；若文件为 GBK 或 GB18030 编码"
                             "（旧版 Windows 系统常见），请加 --encoding gbk 或 --encoding gb18030\n")
    for encoding in ("gbk", "gb18030"):
        result = run("evaluate", str(gbk), "--format", "csv", "--encoding", encoding)
        no_crash(result, 0)
        assert [r["claim_id"] for r in decisions(result.stdout)] == ["G0", "G1", "G2", "G3"]
    # One stray byte far into a large file: its line, not a position in some buffer.
    big = tmp_path / "big.csv"
    line = ",".join({**COOK, "claim_id": "B", "person_id": ID_A}.get(c, "") for c in COLUMNS) + "\n"
    big.write_bytes((",".join(COLUMNS) + "\n" + line * 60_000).encode() + b"B,\xff\n")
    result = run("evaluate", str(big), "--format", "csv")
    no_crash(result, 2)
    assert result.stderr.startswith(f"错误：{big}：第60002行第 3 个字节（0xff）无法按 utf-8 解码；")
    # A file of one stray byte (a BOM's first byte) is no empty file.
    for name in ("ef.csv", "ef.jsonl"):
        (tmp_path / name).write_bytes(b"\xef")
        result = run("evaluate", str(tmp_path / name))
        no_crash(result, 2)
        assert "第1行第 1 个字节（0xef）无法按 utf-8 解码" in result.stderr
    result = run("evaluate", str(write(tmp_path / "u.jsonl", '{"claim_id": "中"}\n', "gbk")), "--format", "csv")
    no_crash(result, 2)
    assert "第1行" in result.stderr and "--encoding gbk" in result.stderr


@pytest.mark.parametrize("lead", ["\n", "\r\n", " \n\n", "\ufeff\n"])
def test_leading_blank_lines_are_skipped(tmp_path, lead):
    row = {**COOK, "claim_id": "Q01", "person_id": ID_A}
    text = lead + ",".join(COLUMNS) + "\n" + ",".join(row.get(c, "") for c in COLUMNS) + "\n"
    result = run("evaluate", str(write(tmp_path / "c.csv", text)), "--format", "csv")
    no_crash(result, 0)
    assert [(r["row"], r["amount"]) for r in decisions(result.stdout)] == [(str(lead.count("\n") + 2), "3000.00")]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_cell_over_131072_characters_is_read(tmp_path, quoted):
    long = "长" * 140_000
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow([*COLUMNS, "note"])
        w.writerow([{**COOK, "claim_id": "L1", "person_id": ID_A}.get(c, "") for c in COLUMNS] + [long])
        w.writerow([{**COOK, "claim_id": "L2", "person_id": ID_B, "hukou": long}.get(c, "") for c in COLUMNS] + [""])
    result = run("evaluate", str(path), "--format", "csv")
    no_crash(result, 1)
    assert [(r["claim_id"], r["amount"]) for r in decisions(result.stdout)] == [("L1", "3000.00")]
    assert f"无法处理 第3行（L2）：hukou 为未知地区 '{'长' * 64}'…（共 140000 字符）" in result.stderr


def test_a_utf8_bom_in_json_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({**COOK, "claim_id": "B1", "person_id": ID_A}).encode() + b"\n")
    result = run("evaluate", str(path), "--format", "csv")
    no_crash(result, 0)
    assert [(r["row"], r["claim_id"], r["amount"]) for r in decisions(result.stdout)] == [("1", "B1", "3000.00")]


# --- strict where the docs are strict ----------------------------------------------------------------


@pytest.mark.parametrize("date", ["2021-W22-2", "20210601", "2021-6-1", "2021-166", "２０２１-０６-０１"])
def test_only_yyyy_mm_dd_is_a_date(tmp_path, date):
    claims = write_claims_csv(tmp_path / "c.csv", [{**COOK, "claim_id": "D1", "person_id": ID_A, "date": date}])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 1)
    assert f"无法处理 第2行（D1）：date 须为 YYYY-MM-DD 格式的日期，而不是 {date!r}" in result.stderr


@pytest.mark.parametrize("cost", ["5e3", "5_000", "5E3", "0x10", " 5 000", "١٠٠"])
def test_only_plain_decimals_are_costs(tmp_path, cost):
    claims = write_claims_csv(tmp_path / "c.csv", [
        {**WELDER_APPRENTICE, "claim_id": "C1", "person_id": ID_A, "cost": cost}])
    result = run("evaluate", str(claims), "--format", "csv")
    no_crash(result, 1)
    assert f"无法处理 第2行（C1）：cost 须为以元计、精确到分的金额，而不是 {cost.strip()!r}" in result.stderr


def test_a_json_number_with_an_exponent_is_no_cost(tmp_path):
    path = write(tmp_path / "c.jsonl", json.dumps({**WELDER_APPRENTICE, "claim_id": "C1", "person_id": ID_A})[:-1]
                 + ', "cost": 5e3}\n')
    result = run("evaluate", str(path), "--format", "csv")
    no_crash(result, 1)
    assert "无法处理 第1行（C1）：cost 须为以元计、精确到分的金额，而不是 '5E+3'" in result.stderr


@pytest.mark.parametrize("on", ["20210601", "2021-W22-2", "2021-6-1", "2021-02-30"])
def test_shortage_on_a_date_not_yyyy_mm_dd_is_a_usage_error(on):
    result = run("shortage", "urban", "--on", on)
    no_crash(result, 2)
    assert result.stderr == f"错误：--on 须为 YYYY-MM-DD 格式的日期，而不是 {on!r}\n"


# --- CSV that round-trips ---------------------------------------------------------------------------

HOSTILE_IDS = ["a\rb", "a\nb", "a\r\nb", "x\r\r\ry", 'q"uo"te', '"', "com,ma", ",", "nul\x00x", "tab\tin",
               "L" * 200_000, "行\u2028分", "é", f"第{ID_A}号", ID_B, ID_A.translate(FULL_WIDTH) + "-1", "='=1+1'"]


def test_decisions_and_errors_round_trip_through_csv_and_polars(tmp_path):
    rows = []
    for i, cid in enumerate(HOSTILE_IDS):
        rows.append({**COOK, "claim_id": cid, "person_id": person_id(i)})  # decided
        rows.append({**COOK, "claim_id": cid + "!", "person_id": person_id(i), "level": "9"})  # a row error
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    expected = [mask_ids(cid) for cid in HOSTILE_IDS]
    for fmt in ("csv", "jsonl"):
        out, errors = tmp_path / f"d.{fmt}", tmp_path / "e.csv"
        result = run("evaluate", str(path), "--format", fmt, "--out", str(out), "--errors", str(errors))
        no_crash(result, 1)
        assert_no_id(out.read_text(encoding="utf-8"), errors.read_text(encoding="utf-8"), result.stderr)
        assert [r["claim_id"] for r in errors_of(errors)] == [c + "!" for c in expected]
        frame = pl.read_csv(errors, infer_schema=False)
        assert frame.columns == list(ERROR_FIELDS)
        assert frame["claim_id"].to_list() == [c + "!" for c in expected]
        if fmt == "csv":
            with out.open(encoding="utf-8", newline="") as fh:
                got = list(csv.reader(fh))
            assert got[0] == list(OUTPUT_FIELDS) and {len(r) for r in got} == {len(OUTPUT_FIELDS)}
            assert [r[1] for r in got[1:]] == expected
            assert pl.read_csv(out, infer_schema=False)["claim_id"].to_list() == expected
        else:
            lines = out.read_text(encoding="utf-8").split("\n")  # JSON Lines end at \n only (U+2028 is no end)
            assert lines[-1] == "" and [json.loads(ln)["claim_id"] for ln in lines[:-1]] == expected


def test_the_writers_quote_a_bare_carriage_return(claims):
    from jinhua_subsidy.claims import RowError
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import get_plugin_manager
    from jinhua_subsidy.writer import decisions_with_rows, write_result

    buf = io.StringIO()
    write_errors([RowError(2, "a\rb", "x\ry"), RowError(3, "plain", "ok")], buf)
    assert buf.getvalue() == 'row,claim_id,reason\n2,"a\rb","x\ry"\n3,plain,ok\n'
    result = evaluation.evaluate_file(Engine(get_plugin_manager(autoload=False)), claims, progress=False)
    for cid in ("a\rb", "plain", "a,b"):
        one = evolve_ids(result, cid)
        fast, reference = io.StringIO(), io.StringIO()
        write_result(one, "csv", fast)
        write_csv(decisions_with_rows(one), reference)
        assert fast.getvalue() == reference.getvalue()
        line = fast.getvalue().splitlines(keepends=True)[1] if cid == "plain" else fast.getvalue().split("\n")[1]
        assert line.startswith(f'2,"{cid}",' if cid != "plain" else "2,plain,")


def evolve_ids(result, cid):
    from attrs import evolve

    return evolve(result, claim_id=pl.Series("claim_id", [cid] * len(result), dtype=pl.String))


# --- check finds what breaks evaluation ---------------------------------------------------------------


def test_check_finds_a_catalog_region_that_is_no_region(urban_catalog):
    path = urban_catalog(URBAN.replace('region = "urban"', 'region = "urbn"'))
    result = run("check", "--format", "json")
    no_crash(result, 1)
    found = [r for r in json.loads(result.stdout) if r["file"] == str(path)]
    assert [(r["path"], r["rule"], r["clause"], r["severity"]) for r in found] == [
        ("catalog.region", "region", "annex1", "error")]
    assert found[0]["message"].startswith("地区代码 'urbn' 不是附件1的地区")
    assert found[0]["message"].endswith("内置插件 urban 的目录须服务附件1的地区；是否应为 'urban'（金华市区）？")


def test_check_finds_a_region_with_nothing_to_evaluate(urban_catalog):
    path = urban_catalog(URBAN[:URBAN.index("[uplift_limit]")])  # nothing but the [catalog] table
    result = run("check", "--format", "json")
    no_crash(result, 1)
    found = [r for r in json.loads(result.stdout) if r["file"] == str(path)]
    assert [(r["path"], r["rule"], r["clause"], r["severity"]) for r in found] == [
        ("", "coverage", "main.4.4", "error")]
    assert "插件 urban 声明了地区金华市区（urban），但没有任何可用于计算的内容" in found[0]["message"]
    assert not [r for r in json.loads(result.stdout) if "金华市区（urban）尚无完整补贴规则" in r["message"]]


@pytest.mark.parametrize(("region", "fragments"), [
    ("yiwu", ["地区义乌市（yiwu）已由插件 'yiwu'（jinhua-subsidy）服务，插件 'urban' 的目录不能再服务该地区"]),
    ("wucheng", ["地区婺城区（wucheng）已由插件 'wucheng'（jinhua-subsidy）服务",
                 "婺城区（wucheng）在附件1中的上级地区为 urban，插件 urban 给出的是 无"]),
])
def test_check_finds_a_catalog_whose_region_another_plugin_serves(urban_catalog, claims, region, fragments):
    path = urban_catalog(URBAN.replace('region = "urban"', f'region = "{region}"'))
    result = run("check")
    no_crash(result, 1)
    lines = result.stdout.splitlines()
    assert len(lines) == len(fragments) + 1 and lines[-1] == f"{len(fragments)} 项不符合，0 项提示"
    for line, fragment in zip(lines, fragments, strict=False):
        assert line.startswith(f"{path}: catalog.") and fragment in line
    result = run("evaluate", str(claims))
    no_crash(result, 2)
    assert result.stderr.startswith(f"错误：{path}: catalog.region: [region annex1] ")
    assert result.stderr.endswith("（运行 subsidy check 查看全部问题）\n")


def test_check_through_the_plugin_kit(subsidy_engine, catalog_plugin):
    def findings(text: str) -> list[tuple[str, str, str]]:
        plugin = catalog_plugin(text)
        return [(f.path, f.rule, f.severity) for f in run_checks(subsidy_engine(extra=[("x", plugin)]))
                if f.file == str(plugin.source)]

    testland = URBAN.replace('name = "金华市区"', 'name = "测试地"')
    assert findings(testland.replace('region = "urban"', 'region = "testland"')) == []  # a new region is allowed
    assert findings(testland.replace('region = "urban"', 'region = "yiwuu"')) == [
        ("catalog.region", "region", "error")]  # …but not one a letter from an annex-1 key, without a parent
    assert findings('[catalog]\nregion = "testland"\nname = "测试地"\ntitle = "t"\nstatus = "official"\n') == [
        ("", "coverage", "error")]


def test_check_finds_a_parent_that_is_no_region(urban_catalog):
    path = urban_catalog(URBAN.replace('region = "urban"', 'region = "testland"\nparent = "nowhre"')
                         .replace('name = "金华市区"', 'name = "测试地"'))
    result = run("check")
    no_crash(result, 1)
    assert result.stdout == (f"{path}: catalog.parent: [region annex1] 测试地（testland）的上级地区 'nowhre' "
                             "既不是附件1的地区，也不是任何插件声明的地区\n1 项不符合，0 项提示\n")


def test_a_folder_where_the_catalog_should_be_through_the_plugin_kit(subsidy_engine, tmp_path):
    folder = tmp_path / "testland.toml"
    folder.mkdir()
    with pytest.raises(CatalogError) as caught:
        subsidy_engine(extra=[("testland", CatalogPlugin(folder))])
    assert [(f.file, f.path, f.rule, f.message) for f in format_findings(caught.value)] == [
        (str(folder), "", "format", "目录文件无法读取：cannot read the file: it is a folder")]


def test_a_search_echoing_an_id_is_masked():
    result = run("occupations", "--search", ID_A)
    no_crash(result, 1)
    assert result.stderr == "职业分类词表中没有名称含“3307**********1042”或编码以“3307**********1042”开头的职业\n"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_an_id_spelled_with_enclosed_numbers_is_masked_in_decisions(tmp_path, fmt):
    spelled = "㉝0702⑲900101⑩㊷"  # NFKC: 330702199001011042
    claims = write_claims_csv(tmp_path / "c.csv", [{**COOK, "claim_id": spelled, "person_id": ID_B}])
    result = run("evaluate", str(claims), "--format", fmt)
    no_crash(result, 0)
    assert "3307**********1" in result.stdout  # the table cuts the claim id's column
    assert_no_id(result.stdout)
