"""The claims file contract (docs/claims.md): CSV and JSON Lines, empty cell = absent,
extra columns allowed, one Chinese row error per unreadable row."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from attrs import evolve

from jinhua_subsidy.claims import Claim, ClaimParser, ClaimsFileError, RowError, read_claims
from jinhua_subsidy.occupations import load_vocabulary
from jinhua_subsidy.regions import KNOWN_KEYS
from jinhua_subsidy.testing import person_id

PID = person_id(1)
QUAL = {"claim_id": "Q", "person_id": PID, "region": "urban", "kind": "qualification", "date": "2021-06-01",
        "occupation": "6-18-01-01", "level": "3"}
PROJ = {"claim_id": "P", "person_id": PID, "region": "urban", "kind": "project", "date": "2021-06-01",
        "project_code": "XM-1", "organizer": "enterprise", "hours": "20", "passed": "true",
        "employer_region": "jindong"}
APPR = {"claim_id": "A", "person_id": PID, "region": "urban", "kind": "apprenticeship", "date": "2021-06-01",
        "apprentice": "employee", "cost": "5000.50", "employer_region": "kaifaqu"}


@pytest.fixture(scope="module")
def parser() -> ClaimParser:
    return ClaimParser(KNOWN_KEYS, load_vocabulary().names)


def parse(parser: ClaimParser, row: dict[str, str]) -> Claim:
    got = parser.parse(2, row)
    assert isinstance(got, Claim), got
    return got


def error(parser: ClaimParser, row: dict[str, str]) -> str:
    got = parser.parse(2, row)
    assert isinstance(got, RowError), got
    return got.message


# --- CSV --------------------------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_csv_columns_in_any_order_extra_columns_and_empty_cells(tmp_path, parser):
    path = write(tmp_path / "c.csv",
                 "note,kind,date,region,person_id,claim_id,level,occupation,hours,hukou,monthly_pension\n"
                 f"说明，随便写,qualification,2021-06-01,urban,{PID},Q1,3,6-18-01-01,,wucheng,\n"
                 f" 备注 ,qualification, 2021-06-02 , wucheng ,{PID.lower()}, Q2 ,S,4-10-01-05,  ,, \n")
    claims, errors = read_claims(path, parser)
    assert errors == []
    q1, q2 = claims
    assert (q1.row, q1.claim_id, q1.region, q1.kind, q1.date, q1.level, q1.occupation) == (
        2, "Q1", "urban", "qualification", dt.date(2021, 6, 1), "3", "6-18-01-01")
    assert (q1.hours, q1.hukou, q1.monthly_pension, q1.employer_tags) == (None, "wucheng", False, frozenset())
    # Cells are trimmed; a cell of spaces is empty, so absent.
    assert (q2.row, q2.claim_id, q2.region, q2.date, q2.hukou, q2.hours) == (
        3, "Q2", "wucheng", dt.date(2021, 6, 2), None, None)


def test_csv_with_bom(tmp_path, parser):
    text = ("claim_id,person_id,region,kind,date,occupation,level\n"
            f"Q,{PID},urban,qualification,2021-06-01,6-18-01-01,3\n")
    claims, errors = read_claims(write(tmp_path / "c.csv", text, "utf-8-sig"), parser)
    assert errors == [] and [c.claim_id for c in claims] == ["Q"]


def test_csv_rows_are_file_lines(tmp_path, parser):
    text = ("claim_id,person_id,region,kind,date,occupation,level,note\n"
            f"A,{PID},urban,qualification,2021-06-01,6-18-01-01,3,\"two\nlines\"\n"
            f"B,{PID},urban,qualification,2021-06-01,6-18-01-01,9,\n")
    claims, errors = read_claims(write(tmp_path / "c.csv", text), parser)
    assert [c.row for c in claims] == [3]  # a quoted cell spanning lines: the row's last line
    assert [(e.row, e.claim_id) for e in errors] == [(4, "B")]
    assert str(errors[0]) == "第4行（B）：level 须为 1、2、3、4、5、S 之一，而不是 '9'"


def test_csv_header_without_required_column(tmp_path, parser):
    path = write(tmp_path / "c.csv", "claim_id,region,kind\nA,urban,project\n")
    with pytest.raises(ClaimsFileError) as err:
        read_claims(path, parser)
    assert str(err.value) == f"{path}：表头缺少列 person_id, date（见 docs/claims.md）"


def test_csv_only_header(tmp_path, parser):
    path = write(tmp_path / "c.csv", "claim_id,person_id,region,kind,date\n")
    assert read_claims(path, parser) == ([], [])


# --- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_types_null_and_blank_lines(tmp_path, parser):
    lines = [
        json.dumps({"claim_id": "A", "person_id": PID, "region": "urban", "kind": "apprenticeship",
                    "date": "2021-06-01", "apprentice": "employee", "cost": 5000.5,
                    "employer_region": "kaifaqu", "employer_tags": ["key_manufacturing", "city_soe"],
                    "hukou": None, "monthly_pension": False, "note": "额外字段"}),
        "",
        json.dumps({"claim_id": "P", "person_id": PID, "region": "urban", "kind": "project",
                    "date": "2021-06-01", "project_code": "XM", "organizer": "enterprise", "hours": 20,
                    "passed": True, "employer_region": "jindong", "review": "", "insured_months": 6}),
        "[1, 2]",
        "{not json",
    ]
    path = write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    claims, errors = read_claims(path, parser)
    a, p = claims
    assert (a.row, a.cost, a.employer_tags, a.hukou, a.monthly_pension) == (
        1, 500_050, frozenset({"key_manufacturing", "city_soe"}), None, False)
    assert type(a.cost) is int  # 5000.5 read exactly, never as a binary float
    assert (p.row, p.hours, p.passed, p.review, p.insured_months) == (3, 20, True, False, 6)
    assert (errors[0].row, errors[0].message) == (4, "每行须为一个 JSON 对象")
    assert errors[1].row == 5 and errors[1].message.startswith("不是有效的 JSON：")


def test_csv_and_jsonl_give_the_same_claim(tmp_path, parser):
    row = {**PROJ, "employer_tags": "trade_friction;key_manufacturing", "hukou": "wucheng", "review": "false"}
    csv_path = write(tmp_path / "c.csv", ",".join(row) + "\n" + ",".join(row.values()) + "\n")
    as_json = {**row, "hours": 20, "passed": True, "review": False,
               "employer_tags": ["trade_friction", "key_manufacturing"]}
    jsonl_path = write(tmp_path / "c.jsonl", json.dumps(as_json) + "\n")
    (from_csv,), _ = read_claims(csv_path, parser)
    (from_jsonl,), _ = read_claims(jsonl_path, parser)
    assert from_csv.row == 2 and from_jsonl.row == 1
    assert evolve(from_jsonl, row=2) == from_csv
    assert from_csv.employer_tags == frozenset({"trade_friction", "key_manufacturing"})


# --- one row ----------------------------------------------------------------------------------


def test_each_kind_parses(parser):
    q = parse(parser, QUAL)
    assert (q.kind, q.occupation, q.level, q.project_code) == ("qualification", "6-18-01-01", "3", None)
    p = parse(parser, PROJ)
    assert (p.hours, p.passed, p.organizer, p.organizer_level, p.employer_region) == (
        20, True, "enterprise", None, "jindong")
    a = parse(parser, APPR)
    assert (a.apprentice, a.cost, a.employer_region) == ("employee", 500_050, "kaifaqu")


def test_columns_of_another_kind_are_ignored_when_empty(parser):
    row = {**QUAL, "project_code": "", "hours": "", "cost": "", "apprentice": ""}
    assert parse(parser, row) == parse(parser, QUAL)


def test_city_department_needs_no_employer_region(parser):
    p = parse(parser, {**PROJ, "organizer": "department", "organizer_level": "city", "employer_region": ""})
    assert (p.organizer_level, p.employer_region) == ("city", None)


@pytest.mark.parametrize(("row", "message"), [
    ({**QUAL, "claim_id": ""}, "缺少 claim_id"),
    ({**QUAL, "date": "  "}, "缺少 date"),
    ({**QUAL, "level": ""}, "缺少 level（qualification 类申领必填）"),
    ({**PROJ, "hours": ""}, "缺少 hours（project 类申领必填）"),
    ({**PROJ, "passed": ""}, "缺少 passed（project 类申领必填）"),
    ({**APPR, "cost": ""}, "缺少 cost（apprenticeship 类申领必填）"),
    ({**APPR, "employer_region": ""}, "缺少 employer_region（apprenticeship 类申领必填）"),
    ({**QUAL, "kind": "course"},
     "kind 须为 qualification、project、apprenticeship、entrepreneurship 之一，而不是 'course'"),
    ({**QUAL, "level": "6"}, "level 须为 1、2、3、4、5、S 之一，而不是 '6'"),
    ({**QUAL, "date": "2021/6/1"}, "date 须为 YYYY-MM-DD 格式的日期，而不是 '2021/6/1'"),
    ({**QUAL, "date": "2021-02-30"}, "date 须为 YYYY-MM-DD 格式的日期，而不是 '2021-02-30'"),
    ({**QUAL, "date": "20210601"}, "date 须为 YYYY-MM-DD 格式的日期，而不是 '20210601'"),
    ({**QUAL, "occupation": "9-99"}, "occupation '9-99' 不在职业分类目录中（catalogs/occupations.toml）"),
    ({**QUAL, "region": "hangzhou"}, "region 为未知地区 'hangzhou'（须为附件1的地区代码）"),
    ({**QUAL, "region": "other"}, "region 为未知地区 'other'（须为附件1的地区代码）"),
    ({**QUAL, "hukou": "hangzhou"}, "hukou 为未知地区 'hangzhou'（须为附件1的地区代码或 other）"),
    ({**APPR, "employer_region": "other"}, "employer_region 为未知地区 'other'（须为附件1的地区代码）"),
    ({**PROJ, "hours": "2.5"}, "hours 须为非负整数，而不是 '2.5'"),
    ({**PROJ, "hours": "-1"}, "hours 须为非负整数，而不是 '-1'"),
    ({**PROJ, "passed": "yes"}, "passed 须为 true 或 false，而不是 'yes'"),
    ({**QUAL, "monthly_pension": "1"}, "monthly_pension 须为 true 或 false，而不是 '1'"),
    ({**PROJ, "organizer": "company"},
     "organizer 须为 enterprise、department、institution、college 之一，而不是 'company'"),
    ({**PROJ, "organizer": "college"},
     "缺少 organizer_level（部门、院校组织的项目制培训须说明市级或区级，annex3.4）"),
    ({**PROJ, "employer_region": ""}, "缺少 employer_region（按属地原则确定资金渠道，main.4.1 annex3.4）"),
    ({**PROJ, "employer_tags": "trade_friction;soe"},
     "employer_tags 须为 trade_friction、key_manufacturing、city_soe、self_evaluation 之一，而不是 'soe'"),
    ({**APPR, "cost": "1.005"}, "cost 须为以元计、精确到分的金额，而不是 '1.005'"),
    ({**APPR, "cost": "六千"}, "cost 须为以元计、精确到分的金额，而不是 '六千'"),
    ({**APPR, "cost": "-1"}, "cost 不能为负数"),
    ({**APPR, "apprentice": "intern"}, "apprentice 须为 employee、student 之一，而不是 'intern'"),
    # optional columns of every kind: an unreadable value is a row error, never read as absent
    ({**QUAL, "insured_months": "6个月"}, "insured_months 须为非负整数，而不是 '6个月'"),
    ({**QUAL, "insured_months": "-3"}, "insured_months 须为非负整数，而不是 '-3'"),
    ({**QUAL, "training_days": "1.5"}, "training_days 须为非负整数，而不是 '1.5'"),
    ({**QUAL, "residence_permit": "hangzhou"}, "residence_permit 为未知地区 'hangzhou'（须为附件1的地区代码或 other）"),
    ({**QUAL, "insured_region": "hangzhou"}, "insured_region 为未知地区 'hangzhou'（须为附件1的地区代码或 other）"),
    ({**QUAL, "unemployed_region": "xx"}, "unemployed_region 为未知地区 'xx'（须为附件1的地区代码或 other）"),
    ({**QUAL, "welfare_post": "y"}, "welfare_post 须为 true 或 false，而不是 'y'"),
    ({**QUAL, "review": "??"}, "review 须为 true 或 false，而不是 '??'"),
])
def test_row_errors(parser, row, message):
    assert error(parser, row) == message


def test_bad_resident_id_is_masked(parser):
    bad = PID[:17] + ("0" if PID[17] != "0" else "1")
    message = error(parser, {**QUAL, "person_id": bad})
    assert message == f"person_id {bad[:4]}**********{bad[-4:]}：身份证号校验位错误（GB 11643）"
