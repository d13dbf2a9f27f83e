"""The amended readings R15–R17 and the new R23–R28 (docs/readings.md), each checked from the
policy text. Expected figures are worked by hand, in fen, with the working in a comment.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from jinhua_subsidy.columns import uscc_check
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.evaluation import evaluate_file
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped
from jinhua_subsidy.testing import person_id, write_claims_csv

COOK = "4-03-02-01"  # 中式烹调师: on no shortage list
QUALIFICATION = {"region": "urban", "kind": "qualification", "date": "2021-06-01", "occupation": COOK,
                 "level": "4", "hukou": "wucheng"}
PROJECT = {"region": "urban", "kind": "project", "date": "2021-06-01", "organizer": "enterprise", "hours": 20,
           "passed": True, "employer_region": "jindong", "hukou": "wucheng"}
APPRENTICESHIP = {"region": "urban", "kind": "apprenticeship", "date": "2021-03-01", "apprentice": "employee",
                  "employer_region": "jindong", "hukou": "wucheng"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


def decide(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]], seed: int = 1
           ) -> tuple[dict[str, Decision], list[str]]:
    rows = [{"person_id": person_id(seed), **r} for r in rows]
    decisions, errors = engine.evaluate_file(write_claims_csv(tmp_path / "claims.csv", rows))
    return {d.claim_id: d for d in decisions}, [str(e) for e in errors]


def test_R15_enterprise_training_to_the_employer_bodies_to_the_organizer(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "enterprise", **PROJECT, "project_code": "A"},
        {"claim_id": "department", **PROJECT, "project_code": "B", "organizer": "department",
         "organizer_level": "city", "employer_region": "", "person_id": person_id(151)},
        {"claim_id": "institution", **PROJECT, "project_code": "C", "organizer": "institution",
         "person_id": person_id(152)},
        {"claim_id": "college", **PROJECT, "project_code": "D", "organizer": "college", "organizer_level": "city",
         "person_id": person_id(153)},
    ], seed=15)
    assert errors == []
    assert {k: d.payee for k, d in got.items()} == {
        "enterprise": "employer", "department": "organizer", "institution": "organizer", "college": "organizer"}
    assert all(("annex3.2.3", "R15") == d.citations[-4:-2] for d in got.values())


def _roster(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    """A district department's roster as it reaches the bureau: no employer_region column at all."""
    columns = ["claim_id", "person_id", "region", "kind", "date", "project_code", "organizer", "organizer_level",
               "hours", "passed", "hukou", "monthly_pension"]
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def test_R16_a_district_departments_roster_is_paid_from_that_districts_fund(engine, tmp_path):
    base = {"region": "wucheng", "kind": "project", "date": "2020-11-20", "organizer": "department",
            "organizer_level": "district", "passed": "true", "hukou": "wucheng"}
    path = _roster(tmp_path, [
        {**base, "claim_id": "R1", "person_id": person_id(161), "project_code": "WC2020-NCJZGJ", "hours": "25"},
        {**base, "claim_id": "R2", "person_id": person_id(162), "project_code": "WC2020-YLHLY", "hours": "20"},
        {**base, "claim_id": "R3", "person_id": person_id(163), "project_code": "WC2020-YLHLY", "hours": "20",
         "monthly_pension": "true"},
        {**base, "claim_id": "R4", "person_id": person_id(164), "project_code": "WC2020-YLHLY", "hours": "20",
         "hukou": "yiwu"},
        {**base, "claim_id": "R5", "person_id": person_id(165), "project_code": "WC2020-YLHLY", "hours": "20",
         "passed": "false"},
    ])
    decisions, errors = engine.evaluate_file(path)
    assert errors == []
    got = {d.claim_id: d for d in decisions}
    # annex3.2.2 R9: 25 元/课时, at most 500: 25 h → 625 → 500 (capped); 20 h → 500.
    assert (got["R1"].amount, got["R1"].reasons, got["R1"].channel) == (50_000, ("capped",), "district:wucheng")
    assert (got["R2"].amount, got["R2"].channel, got["R2"].payee) == (50_000, "district:wucheng", "organizer")
    # The exclusions of the notice and of annex3.2.3: pensioners, 户籍 outside the urban area, not passed.
    assert [got[k].reasons for k in ("R3", "R4", "R5")] == [("not_eligible",), ("not_eligible",), ("not_passed",)]


def test_R16_no_district_to_be_known_is_a_row_error_naming_the_column(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "urban_body", **PROJECT, "project_code": "U", "organizer": "department",
         "organizer_level": "district", "employer_region": ""},
        {"claim_id": "whole_area", **QUALIFICATION, "employer_region": "urban"},
        {"claim_id": "mirror", **PROJECT, "project_code": "M", "region": "wucheng", "hukou": "wucheng"},
    ], seed=16)
    assert errors == [
        "第2行（urban_body）：缺少 employer_region：申领地区为 urban（整个市区），"
        "区级部门、机构、院校组织的培训须写明所属的区（annex3.4 R16）",
        "第3行（whole_area）：employer_region 为 'urban'："
        "须写明用人单位或培训主体参保所在的区、县（市），不能是整个市区（annex3.4 R16）",
    ]
    # 婺城区 claim, employer insured in 金东区: paid from 金东区's own fund (属地原则, main.4.1).
    assert got["mirror"].channel == "district:jindong"


def test_R23_apprenticeship_cap_is_a_yearly_ceiling(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "a1", **APPRENTICESHIP, "cost": "4000"},
        {"claim_id": "a2", **APPRENTICESHIP, "cost": "4000", "date": "2021-06-01"},
        {"claim_id": "a3", **APPRENTICESHIP, "cost": "1000", "date": "2021-09-01"},
        {"claim_id": "a4", **APPRENTICESHIP, "cost": "4000", "date": "2022-01-10"},
    ], seed=23)
    assert errors == []
    # 6000 a year (annex3.3): 4000, then what is left, 2000 (capped, R23); then nothing (R24).
    assert (got["a1"].amount, got["a1"].reasons) == (400_000, ())
    assert (got["a2"].amount, got["a2"].reasons) == (200_000, ("capped",))
    assert got["a2"].citations[-1] == "R23" and "annex3.3" in got["a2"].citations
    assert (got["a3"].eligible, got["a3"].reasons, got["a3"].citations) == (False, ("nothing_to_pay",),
                                                                            ("main.4.1", "R24"))
    assert (got["a4"].amount, got["a4"].reasons) == (400_000, ())  # a new calendar year


def test_R23_the_ceiling_with_the_uplift_and_for_students(engine, tmp_path):
    key = {**APPRENTICESHIP, "employer_tags": "key_manufacturing"}
    got, _ = decide(engine, tmp_path, [
        {"claim_id": "k1", **key, "cost": "5000"},
        {"claim_id": "k2", **key, "cost": "5000", "date": "2021-08-01"},
    ], seed=231)
    # ×1.3 until 2021-12-31 (R10): 7800 a year; 5000, then 2800.
    assert (got["k1"].amount, got["k2"].amount, got["k2"].reasons) == (500_000, 280_000, ("capped",))
    got, _ = decide(engine, tmp_path, [
        {"claim_id": "s1", **APPRENTICESHIP, "apprentice": "student", "cost": "2000"},
        {"claim_id": "s2", **APPRENTICESHIP, "apprentice": "student", "cost": "2000", "date": "2021-04-01"},
    ], seed=232)
    assert (got["s1"].amount, got["s2"].amount) == (200_000, 100_000)  # 3000 a year


def test_R24_a_decision_worth_nothing_is_not_a_subsidy_received(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "zero", **APPRENTICESHIP, "cost": "0", "date": "2021-01-02"},
        {"claim_id": "q1", **QUALIFICATION, "date": "2021-02-01"},
        {"claim_id": "q2", **QUALIFICATION, "level": "3", "date": "2021-03-01"},
        {"claim_id": "p1", **PROJECT, "project_code": "P-24", "date": "2021-04-01"},
        {"claim_id": "dept0", **PROJECT, "project_code": "P-0", "organizer": "department",
         "organizer_level": "district", "hours": 0, "date": "2020-06-01"},
    ], seed=24)
    assert errors == []
    assert (got["zero"].eligible, got["zero"].amount, got["zero"].reasons) == (False, 0, ("nothing_to_pay",))
    assert got["dept0"].reasons == ("nothing_to_pay",)  # 0 课时 × 25 元 = 0
    # The zero claim used none of the three a year (R18): the three others are all paid.
    assert [got[k].eligible for k in ("q1", "q2", "p1")] == [True, True, True]


def test_R25_living_allowance_for_its_groups_with_a_granted_subsidy(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "poor", **QUALIFICATION, "groups": "poverty_household", "training_days": 10},
        {"claim_id": "long", **QUALIFICATION, "level": "3", "groups": "hard_to_employ;veteran", "training_days": 30},
        {"claim_id": "veteran", **QUALIFICATION, "person_id": person_id(252), "groups": "veteran",
         "training_days": 10},
        {"claim_id": "refused", **QUALIFICATION, "person_id": person_id(253), "hukou": "other",
         "groups": "zero_employment_family", "training_days": 10},
        {"claim_id": "county", **QUALIFICATION, "person_id": person_id(254), "region": "yiwu", "hukou": "yiwu",
         "groups": "lianghou_rural", "training_days": 10},
    ], seed=25)
    assert errors == []
    # The urban standard (provisional): 30 元 a day, at most 600 a claim. 10 × 30 = 300.
    poor = got["poor"]
    assert (poor.allowance, poor.allowance_channel, poor.status) == (30_000, "employment:urban", "provisional")
    assert poor.citations[-2:] == ("main.4.2", "R25")
    assert poor.amount == 90_000  # the training subsidy itself is unchanged; R18 does not count the allowance
    assert got["long"].allowance == 60_000  # 30 × 30 = 900 → at most 600
    assert (got["veteran"].allowance, got["veteran"].allowance_channel) == (0, "")  # not a group of main.4.2
    assert (got["refused"].eligible, got["refused"].allowance) == (False, 0)  # 同时给予: never alone
    county = got["county"]
    assert (county.allowance, county.reasons) == (0, ("no_allowance_standard",))
    assert county.citations[-1] == "R25" and "main.4.4" in county.citations


def test_R25_no_allowance_when_a_limit_refuses_the_subsidy(engine, tmp_path):
    got, _ = decide(engine, tmp_path, [
        {"claim_id": "first", **QUALIFICATION, "groups": "poverty_household", "training_days": 5},
        {"claim_id": "again", **QUALIFICATION, "groups": "poverty_household", "training_days": 5,
         "date": "2021-07-01"},
    ], seed=251)
    assert (got["first"].allowance, got["again"].allowance, got["again"].reasons) == (15_000, 0, ("repeat",))


def uscc(seed: int) -> str:
    first17 = f"91330702MA2{seed:06d}"
    return first17 + uscc_check(first17)


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str]:
    """浦江县 as a test region: 义乌's provisional catalog with a list of key-manufacturing enterprises."""
    code = uscc(1)
    text = shipped("yiwu.toml").read_text(encoding="utf-8").replace('"yiwu"', '"pujiang"').replace(
        "county:yiwu", "county:pujiang").replace("义乌市", "浦江县") + f'''
[[enterprise_lists]]
tag = "key_manufacturing"
title = "浦江县制造业重点细分行业企业名单（测试）"
start = 2020-01-07
end = 2021-12-31
clause = "main.6.2"
reading = "R26"

[[enterprise_lists.entries]]
code = "{code}"
name = "浦江测试制造有限公司"
start = 2020-01-07
clause = "main.6.2"
reading = "R26"
'''
    path = tmp_path_factory.mktemp("pujiang") / "pujiang.toml"
    path.write_text(text, encoding="utf-8")
    return Engine(get_plugin_manager(autoload=False, extra=[("pujiang", CatalogPlugin(path))])), code


def test_R26_a_tag_holds_only_for_an_employer_on_the_list_in_force(listed, tmp_path):
    engine, code = listed
    base = {"region": "pujiang", "kind": "project", "date": "2021-06-01", "organizer": "enterprise", "hours": 20,
            "passed": True, "employer_region": "pujiang", "hukou": "pujiang", "employer_tags": "key_manufacturing"}
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "listed", **base, "project_code": "A", "employer_id": code},
        {"claim_id": "unlisted", **base, "project_code": "B", "employer_id": uscc(2)},
        {"claim_id": "unnamed", **base, "project_code": "C"},
        {"claim_id": "expired", **base, "project_code": "D", "employer_id": uscc(2), "date": "2022-03-01"},
        {"claim_id": "bad_code", **base, "project_code": "E", "employer_id": code[:-1] + "0"},
    ], seed=26)
    assert errors == [f"第6行（bad_code）：employer_id '{code[:-1]}0' 不是有效的统一社会信用代码"
                      f"（18位，校验位按 GB 32100-2015）"]
    # 20 × 39 = 780 with the uplift (R10); 20 × 30 = 600 without.
    assert (got["listed"].amount, got["listed"].reasons) == (78_000, ())
    assert (got["unlisted"].amount, got["unlisted"].reasons) == (60_000, ("tag_not_listed",))
    assert ("main.4.2", "R26") == got["unlisted"].citations[4:6]
    assert got["unnamed"].amount == 78_000  # no employer named: the declared tag, not verified
    assert (got["expired"].amount, got["expired"].reasons) == (60_000, ())  # 2022: no uplift, no list either
    steps = {d: [s.value for s in got[d].steps if s.rule in ("企业名单核对", "企业类型")] for d in got}
    assert steps["listed"] == [f"用人单位 {code} 列入《浦江县制造业重点细分行业企业名单（测试）》："
                               f"制造业重点细分行业企业"]
    assert steps["unnamed"] == ["制造业重点细分行业企业：申报，未经名单核对（未填统一社会信用代码 employer_id）"]
    assert steps["expired"] == ["制造业重点细分行业企业：申报，未经名单核对（当日无在用的企业名单）"]


def test_R27_a_countys_top_up_group_ground_and_age_range(engine, tmp_path):
    dongyang = {"region": "dongyang", "kind": "qualification", "date": "2021-06-01", "occupation": COOK,
                "level": "4", "hukou": "dongyang"}
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "veteran", **dongyang, "groups": "veteran"},
        {"claim_id": "farmer", **dongyang, "person_id": person_id(271), "hukou": "other", "groups": "farmer"},
        {"claim_id": "outsider", **dongyang, "person_id": person_id(272), "hukou": "other"},
        {"claim_id": "old", **dongyang, "person_id": person_id(273, birth="19600101")},
        {"claim_id": "young", **dongyang, "person_id": person_id(274, birth="20050602")},
    ], seed=27)
    assert errors == []
    # 中级工 900 + 200 for 退役军人 (the provisional top-up of 东阳市).
    assert got["veteran"].amount == 110_000
    assert got["farmer"].eligible and got["farmer"].citations[:2] == ("main.2", "R27")
    assert got["outsider"].reasons == ("not_eligible",)
    # Born 1960-01-01: 61 on 2021-06-01, above 60. Born 2005-06-02: 15, one day short of 16.
    assert [got[k].reasons for k in ("old", "young")] == [("age_limit",), ("age_limit",)]
    assert got["old"].citations == ("main.4.4", "R27")


def test_entrepreneurship_in_dongyang_and_no_standard_in_the_urban_area(engine, tmp_path):
    got, errors = decide(engine, tmp_path, [
        {"claim_id": "dy", "region": "dongyang", "kind": "entrepreneurship", "date": "2021-06-01", "course": "SYB",
         "hukou": "dongyang"},
        {"claim_id": "urban", "region": "urban", "kind": "entrepreneurship", "date": "2021-06-01", "course": "SYB",
         "person_id": person_id(281), "hukou": "wucheng"},
        {"claim_id": "no_course", "region": "dongyang", "kind": "entrepreneurship", "date": "2021-06-01",
         "person_id": person_id(282), "hukou": "dongyang"},
    ], seed=28)
    assert (got["dy"].amount, got["dy"].payee, got["dy"].channel, got["dy"].status) == (
        100_000, "person", "county:dongyang", "provisional")
    assert errors == [
        "第3行（urban）：catalogs/urban.toml：2021-06-01 无创业培训（SYB）补贴标准（main.2）：本地区未制定该项标准",
        "第4行（no_course）：缺少 course（entrepreneurship 类申领必填）",
    ]


def test_R28_grants_held_count_first_and_stand(engine, tmp_path):
    me = person_id(280)
    path = write_claims_csv(tmp_path / "new.csv", [
        {"claim_id": "N1", "person_id": me, **QUALIFICATION, "date": "2021-01-05"},
        {"claim_id": "N2", "person_id": me, **QUALIFICATION, "level": "3", "date": "2021-02-05"},
    ])
    held = pl.DataFrame({"claim_id": ["H1", "H2", "H3"], "person_id": [me] * 3, "region": ["urban"] * 3,
                         "kind": ["qualification"] * 3, "date": ["2021-06-01", "2021-07-01", "2021-08-01"],
                         "occupation": [COOK] * 3, "level": ["1", "2", "5"], "hukou": ["wucheng"] * 3,
                         "amount": [300_000, 250_000, 90_000]})
    result = evaluate_file(engine, path, progress=False, history=held)
    got = {d.claim_id: d for d in result.decisions()}
    # Three held in 2021 (R18), whatever their dates: the earlier-dated new claims get none.
    assert {k: d.reasons for k, d in got.items()} == {"N1": ("annual_limit",), "N2": ("annual_limit",)}
    result = evaluate_file(engine, path, progress=False, history=held.head(1).with_columns(level=pl.lit("4")))
    got = {d.claim_id: d for d in result.decisions()}
    assert (got["N1"].reasons, got["N2"].eligible) == (("repeat",), True)  # R19 against what is held
