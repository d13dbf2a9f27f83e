"""The ``subsidy`` command line, run through click's CliRunner.

The shipped example (examples/claims.csv) is checked row by row against the expected
table in examples/README.md, so neither can drift.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jinhua_subsidy.cli import main
from jinhua_subsidy.testing import person_id, write_claims_csv

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLAIMS = EXAMPLES / "claims.csv"
UNREADABLE = EXAMPLES / "unreadable.csv"
#: Outside plugins installed in the environment must not change what these tests see.
HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=HERMETIC)


def table(markdown: str, heading: str) -> list[dict[str, str]]:
    """The first Markdown table under ``## heading``, as dicts of stripped cells."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")), strict=True)) for ln in lines[2:]]


def example_ids(path: Path = CLAIMS) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [r["person_id"] for r in csv.DictReader(fh)]


def assert_no_full_person_id(text: str, ids: list[str]) -> None:
    leaked = [i for i in ids if i and i in text]
    assert leaked == []


# --- the shipped example ---------------------------------------------------------------------


def test_example_decisions_equal_the_readme_table():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    expected = table(readme, "Decisions")
    with CLAIMS.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [(reader.line_num, r["claim_id"]) for r in reader]
    # The README accounts for every row of the file, once.
    assert sorted(int(e["行"]) for e in expected) == [n for n, _ in rows]
    claim_of_row = dict(rows)
    assert all(claim_of_row[int(e["行"])] == e["claim_id"] for e in expected)

    result = run("evaluate", str(CLAIMS), "--format", "csv")
    assert result.exit_code == 0, result.stderr  # the main job on the shipped example succeeds
    assert result.stderr == ""
    got = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(got) == len(expected)
    for want, d in zip(sorted(expected, key=lambda e: int(e["行"])), got, strict=True):
        where = f"row {want['行']} ({want['claim_id']})"
        fields = ("claim_id", "eligible", "amount", "payee", "channel", "reasons", "status", "allowance")
        assert {f: d[f] for f in fields} == {f: want[f] for f in fields}, where
        cites = d["citations"].split(";")
        assert [c for c in want["依据"].split() if c not in cites] == [], where
    assert_no_full_person_id(result.output, example_ids(CLAIMS))


def test_unreadable_example_rows_are_reported_by_row_and_reason():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    unreadable = table(readme, "Rows that cannot be read")
    with UNREADABLE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [(reader.line_num, r["claim_id"]) for r in reader]
    assert sorted((int(e["行"]), e["claim_id"]) for e in unreadable) == rows

    result = run("evaluate", str(UNREADABLE), "--format", "csv")
    assert result.exit_code == 1
    assert list(csv.DictReader(io.StringIO(result.stdout))) == []
    for want in unreadable:
        assert f"无法处理 第{want['行']}行（{want['claim_id']}）：" in result.stderr
        line = next(ln for ln in result.stderr.splitlines() if f"第{want['行']}行" in ln)
        assert want["错误"] in line
    assert f"{len(unreadable)} 行无法处理，其余 0 行已判定" in result.stderr
    assert "Traceback" not in result.output
    assert_no_full_person_id(result.output, example_ids(UNREADABLE))


def test_example_has_a_chinese_note_on_every_row():
    with CLAIMS.open(encoding="utf-8", newline="") as fh:
        notes = [r["note"] for r in csv.DictReader(fh)]
    assert notes and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in notes)


# --- help, plugins, occupations, shortage ---------------------------------------------------


def test_help():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("evaluate", "explain", "plugins", "occupations", "shortage", "check"):
        assert command in result.stdout


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from click.testing import CliRunner; from jinhua_subsidy.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
            "print(sorted(m for m in ('polars', 'numpy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugins_json():
    result = run("plugins", "--format", "json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"urban", "wucheng", "yiwu", "dongyang"}
    for r in rows.values():
        assert {"name", "version", "builtin", "regions", "hooks", "status"} <= set(r)
        assert r["builtin"] is True
        assert r["regions"] == [r["name"]]
        assert {"subsidy_regions", "subsidy_rates"} <= set(r["hooks"])
    assert rows["urban"]["status"] == "official"
    assert rows["yiwu"]["status"] == "provisional"
    assert rows["dongyang"]["status"] == "provisional"


def test_plugins_table():
    result = run("plugins")
    assert result.exit_code == 0
    assert "urban" in result.stdout and "built-in" in result.stdout
    assert "provisional 暂定" in result.stdout  # 义乌, 东阳


def test_disabled_plugin_is_not_listed():
    result = run("--disable", "dongyang", "plugins", "--format", "json")
    assert result.exit_code == 0
    assert {r["name"] for r in json.loads(result.stdout)} == {"urban", "wucheng", "yiwu"}


def test_occupations():
    result = run("occupations")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(ln.split("\t")) == 2 for ln in lines)
    assert "6-18-01-01\t车工" in lines
    assert "4-10-01-05\t养老护理员" in lines


def test_shortage_list_in_force_with_provisional_note():
    result = run("shortage", "urban", "--on", "2021-06-01")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "6-18-01-01\t车工" in lines
    assert "4-10-01-05\t养老护理员" in lines
    assert "4-03-02-01\t中式烹调师" not in lines
    assert "暂定" in result.stderr


def test_shortage_of_a_district_is_its_parents():
    assert run("shortage", "jindong", "--on", "2021-06-01").stdout == run(
        "shortage", "urban", "--on", "2021-06-01").stdout


def test_shortage_on_a_date_no_list_covers_is_an_error():
    result = run("shortage", "urban", "--on", "2019-06-01")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "错误：" in result.stderr
    assert "无在用的紧缺职业（工种）目录" in result.stderr
    assert "Traceback" not in result.output


def test_shortage_bad_date_is_a_usage_error():
    result = run("shortage", "urban", "--on", "2021/06/01")
    assert result.exit_code == 2
    assert "--on 须为 YYYY-MM-DD" in result.stderr


# --- evaluate --------------------------------------------------------------------------------

GOOD = {"region": "urban", "kind": "qualification", "date": "2021-06-01", "occupation": "4-03-02-01",
        "level": "4", "hukou": "wucheng"}


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, list[str]]:
    ids = [person_id(n) for n in range(1, 8)]
    bad_digit = ids[1][:17] + ("1" if ids[1][17] != "1" else "2")
    rows = [
        {**GOOD, "claim_id": "ok1", "person_id": ids[0]},
        {**GOOD, "claim_id": "bad_id", "person_id": bad_digit},
        {**GOOD, "claim_id": "bad_region", "person_id": ids[2], "region": "hangzhou"},
        {**GOOD, "claim_id": "bad_date", "person_id": ids[3], "date": "2021-02-30"},
        {"claim_id": "no_hours", "person_id": ids[4], "region": "urban", "kind": "project",
         "date": "2021-06-01", "project_code": "P", "organizer": "enterprise", "passed": True,
         "employer_region": "jindong", "hukou": "wucheng"},
        {**GOOD, "claim_id": "bad_occupation", "person_id": ids[5], "occupation": "9-99-99-99"},
        {**GOOD, "claim_id": "ok2", "person_id": ids[6], "level": "3"},
    ]
    return write_claims_csv(tmp_path / "mixed.csv", rows), [*ids, bad_digit]


def test_evaluate_reports_row_errors_and_decides_the_rest(mixed):
    path, ids = mixed
    result = run("evaluate", str(path), "--format", "csv")
    assert result.exit_code == 1
    got = {r["claim_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(got) == {"ok1", "ok2"}
    assert (got["ok1"]["amount"], got["ok2"]["amount"]) == ("900.00", "2000.00")
    err = result.stderr.splitlines()
    assert err[0].startswith("无法处理 第3行（bad_id）：person_id ") and "校验位错误" in err[0]
    assert err[1].startswith("无法处理 第4行（bad_region）：") and "'hangzhou'" in err[1]
    assert err[2].startswith("无法处理 第5行（bad_date）：") and "'2021-02-30'" in err[2]
    assert err[3] == "无法处理 第6行（no_hours）：缺少 hours（project 类申领必填）"
    assert err[4].startswith("无法处理 第7行（bad_occupation）：") and "'9-99-99-99'" in err[4]
    assert err[5] == "5 行无法处理，其余 2 行已判定"
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert_no_full_person_id(result.output, ids)
    masked = ids[-1][:4] + "*" * 10 + ids[-1][-4:]
    assert masked in err[0]


def test_evaluate_all_good_exits_0_with_a_table(tmp_path):
    path = write_claims_csv(tmp_path / "c.csv", [{**GOOD, "claim_id": "A", "person_id": person_id(1)}])
    result = run("evaluate", str(path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    # Issue 10: the table is for a clerk: Chinese headers, the row, Chinese names beside the codes.
    assert lines[0].split() == ["行", "申领编号", "地区", "补贴", "金额(元)", "发放对象", "资金渠道", "状态",
                                "原因与依据"]
    assert lines[1].split()[:8] == ["2", "A", "金华市区", "是", "900.00", "个人", "市级", "暂定"]
    assert result.stderr == ""


def test_evaluate_out_writes_the_file(mixed, tmp_path):
    path, ids = mixed
    out = tmp_path / "decisions.csv"
    result = run("evaluate", str(path), "--format", "csv", "--out", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    written = out.read_text(encoding="utf-8")
    assert written == run("evaluate", str(path), "--format", "csv").stdout
    assert [r["claim_id"] for r in csv.DictReader(io.StringIO(written))] == ["ok1", "ok2"]
    assert_no_full_person_id(written, ids)


def test_evaluate_jsonl(mixed):
    path, _ = mixed
    result = run("evaluate", str(path), "--format", "jsonl")
    assert result.exit_code == 1
    records = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert [r["claim_id"] for r in records] == ["ok1", "ok2"]
    assert records[0] | {"citations": None} == {
        "row": 2, "claim_id": "ok1", "region": "urban", "eligible": True, "amount": "900.00", "payee": "person",
        "channel": "city", "reasons": [], "citations": None, "status": "provisional", "allowance": "0.00",
        "allowance_channel": ""}
    assert records[0]["citations"][:4] == ["annex3.1.1", "R1", "annex3.1.2", "R5"]


def test_evaluate_reads_json_lines_input(tmp_path):
    path = tmp_path / "claims.jsonl"
    path.write_text(json.dumps({**GOOD, "claim_id": "J", "person_id": person_id(3),
                                "employer_tags": ["self_evaluation"]}) + "\n", encoding="utf-8")
    result = run("evaluate", str(path), "--format", "jsonl")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["payee"] == "employer"


def test_evaluate_missing_file_is_exit_2(tmp_path):
    result = run("evaluate", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "找不到申领文件" in result.stderr


def test_evaluate_header_without_required_column_is_exit_2(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("claim_id,region,kind,date\nA,urban,qualification,2021-06-01\n", encoding="utf-8")
    result = run("evaluate", str(path))
    assert result.exit_code == 2
    assert "表头缺少列 person_id" in result.stderr
    assert "Traceback" not in result.output


# --- explain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("claim", "provisional", "texts"), [
    ("Q07", True, ("申领 Q07：金华市区（urban）", "紧缺职业（工种）目录", "〔annex3.1.2 R7〕", "〔annex3.1.1 R1〕",
                   "结论：补贴 2600.00 元", "依据：annex3.1.1、R1、annex3.1.2、R5、R7")),
    ("P05", False, ("课时", "〔annex3.2.2 R8〕", "〔annex3.2.2 R10〕", "〔annex3.2.3〕", "结论：补贴 1040.00 元",
                    "capped")),
    ("A05", False, ("职工学徒", "〔annex3.3 R12〕", "〔annex3.3 R10〕", "结论：补贴 7800.00 元", "district:jindong")),
    ("W03", False, ("退役军人适应性培训", "金人社发〔2020〕17号", "结论：补贴 800.00 元")),
    ("Y01", True, ("义乌市", "〔main.4.4 R4〕", "〔main.4.3 R17〕", "结论：补贴 1170.00 元")),
    ("L05", False, ("跨申领限制：每人每年享受不超过3次", "〔main.4.1 R18〕", "结论：不予补贴")),
    ("P08", False, ("学员未取得培训合格证书", "〔annex3.2.3〕", "结论：不予补贴")),
])
def test_explain_one_claim_of_each_kind(claim, provisional, texts):
    result = run("explain", str(CLAIMS), "--claim", claim)
    assert result.exit_code == 0
    for text in texts:
        assert text in result.stdout, text
    assert ("暂定" in result.stdout) is provisional
    assert_no_full_person_id(result.output, example_ids())


def test_explain_never_prints_a_person_id():
    ids = example_ids()
    with CLAIMS.open(encoding="utf-8", newline="") as fh:
        claims = sorted({r["claim_id"] for r in csv.DictReader(fh)})
    for claim in claims:
        result = run("explain", str(CLAIMS), "--claim", claim)
        assert result.exit_code in (0, 1), claim
        assert_no_full_person_id(result.output, ids)


def test_explain_an_unreadable_row():
    result = run("explain", str(UNREADABLE), "--claim", "X01")
    assert result.exit_code == 1
    assert "第2行（X01）" in result.output and "校验位错误" in result.output
    assert_no_full_person_id(result.output, example_ids(UNREADABLE))


def test_explain_an_unknown_claim_is_exit_2():
    result = run("explain", str(CLAIMS), "--claim", "NOPE")
    assert result.exit_code == 2
    assert "没有申领编号 NOPE" in result.stderr


# --- where results go -------------------------------------------------------------------------


def test_errors_file_lists_every_unreadable_row(tmp_path):
    errors = tmp_path / "errors.csv"
    result = run("evaluate", str(UNREADABLE), "--format", "csv", "--errors", str(errors))
    assert result.exit_code == 1
    with errors.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["row"], r["claim_id"]) for r in rows] == [("2", "X01"), ("3", "X02"), ("4", "X03"),
                                                         ("5", "X04"), ("6", "X05"), ("7", "X06"), ("8", "X07")]
    # The same reasons as on stderr, and no full resident id.
    for r in rows:
        assert f"无法处理 第{r['row']}行（{r['claim_id']}）：{r['reason']}" in result.stderr
    assert_no_full_person_id(errors.read_text(encoding="utf-8"), example_ids(UNREADABLE))


def test_errors_file_is_only_a_header_when_every_row_is_read(tmp_path):
    errors = tmp_path / "errors.csv"
    result = run("evaluate", str(CLAIMS), "--format", "csv", "--errors", str(errors))
    assert result.exit_code == 0
    assert errors.read_text(encoding="utf-8") == "row,claim_id,reason\n"


@pytest.mark.parametrize("option", ["--out", "--errors"])
def test_output_to_a_missing_folder_is_a_usage_error_not_a_traceback(tmp_path, option):
    target = tmp_path / "no-such-folder" / "x.csv"
    result = run("evaluate", str(CLAIMS), "--format", "csv", option, str(target))
    assert result.exit_code == 2
    assert "无法写入" in result.stderr and "不存在" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
