"""One test per reading of shared/policy/INTERPRETATIONS.md (R1–R20; R21/R22 are the plan
checks, tested elsewhere). Expected values are worked out by hand from the policy text.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.money import uplift
from jinhua_subsidy.output import write_csv
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.testing import person_id, write_claims_csv

COOK = "4-03-02-01"  # 中式烹调师: on no shortage list
TURNER = "6-18-01-01"  # 车工: on the urban shortage list

QUALIFICATION = {"region": "urban", "kind": "qualification", "date": "2021-06-01",
                 "occupation": COOK, "level": "4", "hukou": "wucheng"}
PROJECT = {"region": "urban", "kind": "project", "date": "2021-06-01", "organizer": "enterprise",
           "hours": 20, "passed": True, "employer_region": "jindong", "hukou": "wucheng"}
APPRENTICESHIP = {"region": "urban", "kind": "apprenticeship", "date": "2021-06-01",
                  "apprentice": "employee", "cost": "7000", "employer_region": "jindong",
                  "hukou": "wucheng"}

NOT_ELIGIBLE = (False, 0, ("not_eligible",), ("annex3.1.1", "R1"))

# A county catalog built for these tests: two dated shortage lists and a rate with fen.
LANXI_TOML = """
[catalog]
region = "lanxi"
name = "兰溪市"
title = "兰溪市测试目录"
status = "official"

[uplift_limit]
rate = "0.30"
clause = "main.4.2"
reading = "R11"

[[qualification]]
occupation = "*"
level = "5"
amount = "100.05"
start = 2020-01-01
clause = "annex3.1.2"
reading = "R5"

[[uplifts]]
key = "shortage"
kind = "qualification"
on = "shortage"
rate = "0.30"
start = 2020-01-01
clause = "annex3.1.2"
reading = "R7"

[[shortage]]
list = "lanxi-2020"
title = "兰溪市紧缺工种目录（2020）"
status = "official"
occupations = ["4-03-02-01"]
start = 2020-01-07
end = 2020-12-31
clause = "annex3.1.2"
reading = "R7"

[[shortage]]
list = "lanxi-2021"
title = "兰溪市紧缺工种目录（2021）"
status = "official"
occupations = ["6-18-01-01"]
start = 2021-01-01
clause = "annex3.1.2"
reading = "R7"

[eligibility]
area = ["lanxi"]
clause = "main.4.4"
reading = "R4"

[[eligibility.grounds]]
test = "hukou"
clause = "main.4.4"
reading = "R4"

[funding]

[[funding.rules]]
channel = "county:lanxi"
clause = "main.4.3"
reading = "R17"
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


@pytest.fixture
def lanxi_engine(tmp_path: Path) -> Engine:
    path = tmp_path / "lanxi.toml"
    path.write_text(LANXI_TOML, encoding="utf-8")
    return Engine(get_plugin_manager(autoload=False, extra=[("lanxi_test", CatalogPlugin(path))]))


def run(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]], base: dict[str, Any] | None = None,
        ) -> tuple[dict[str, Decision], list[str]]:
    """Decide ``rows`` (each over ``base``; person n unless the row names one) from one file."""
    full = [{**(base or {}), "person_id": person_id(n), **r} for n, r in enumerate(rows, start=1)]
    decisions, errors = engine.evaluate_file(write_claims_csv(tmp_path / "claims.csv", full))
    return {d.claim_id: d for d in decisions}, [str(e) for e in errors]


def decide(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]], base: dict[str, Any] | None = None,
           ) -> dict[str, Decision]:
    got, errors = run(engine, tmp_path, rows, base)
    assert errors == []
    return got


def outcome(d: Decision) -> tuple[bool, int, tuple[str, ...], tuple[str, ...]]:
    return (d.eligible, d.amount, d.reasons, d.citations)


def test_R1_urban_eligibility_any_one_ground(engine, tmp_path):
    no_ties = {"hukou": None}
    got = decide(engine, tmp_path, [
        {"claim_id": "hukou", "hukou": "kaifaqu"},
        {"claim_id": "hukou_urban", "hukou": "urban"},
        {"claim_id": "pensioner", "hukou": "wucheng", "monthly_pension": True},
        {"claim_id": "pensioner_with_permit", "hukou": "wucheng", "monthly_pension": True,
         "residence_permit": "jindong"},
        {"claim_id": "permit", **no_ties, "residence_permit": "jindong"},
        {"claim_id": "unemployed", **no_ties, "unemployed_region": "kaifaqu"},
        {"claim_id": "county_hukou", "hukou": "yiwu"},
        {"claim_id": "other_hukou", "hukou": "other", "residence_permit": "yiwu"},
        {"claim_id": "nothing", **no_ties},
    ], QUALIFICATION)
    paid = (True, 90_000, ())  # 中级工 900 元
    for cid in ("hukou", "hukou_urban", "pensioner_with_permit", "permit", "unemployed"):
        assert outcome(got[cid])[:3] == paid, cid
        assert got[cid].citations[:2] == ("annex3.1.1", "R1")
    for cid in ("pensioner", "county_hukou", "other_hukou", "nothing"):
        assert outcome(got[cid]) == NOT_ELIGIBLE, cid


def test_R2_six_months_of_insurance_at_the_event_date(engine, tmp_path):
    no_ties = {"hukou": None}
    got = decide(engine, tmp_path, [
        {"claim_id": "six", **no_ties, "insured_region": "wucheng", "insured_months": 6},
        {"claim_id": "many", **no_ties, "insured_region": "urban", "insured_months": 40},
        {"claim_id": "five", **no_ties, "insured_region": "wucheng", "insured_months": 5},
        {"claim_id": "elsewhere", **no_ties, "insured_region": "yiwu", "insured_months": 60},
        {"claim_id": "project_six", **no_ties, **{k: v for k, v in PROJECT.items() if k != "hukou"},
         "project_code": "P-R2", "insured_region": "kaifaqu", "insured_months": 6},
    ], QUALIFICATION)
    for cid in ("six", "many"):
        assert outcome(got[cid])[:3] == (True, 90_000, ())
        assert got[cid].citations[:2] == ("annex3.1.1", "R2")
    assert outcome(got["project_six"])[:3] == (True, 60_000, ())  # 20 × 30 = 600 元
    assert "R2" in got["project_six"].citations
    for cid in ("five", "elsewhere"):
        assert outcome(got[cid]) == NOT_ELIGIBLE, cid


def test_R3_public_welfare_post_needs_a_recorded_approval(engine, tmp_path):
    welfare = {"hukou": None, "welfare_post": True}
    got = decide(engine, tmp_path, [
        {"claim_id": "approved", **PROJECT, **welfare, "project_code": "P-R3",
         "welfare_approval": "区人社局审批（报市局备案）"},
        {"claim_id": "unapproved", **PROJECT, **welfare, "project_code": "P-R3"},
        {"claim_id": "certificate", **QUALIFICATION, **welfare, "welfare_approval": "区人社局审批"},
    ])
    assert outcome(got["approved"])[:3] == (True, 60_000, ())
    assert got["approved"].citations[:2] == ("annex3.2.1", "R3")
    assert outcome(got["unapproved"]) == NOT_ELIGIBLE
    assert outcome(got["certificate"]) == NOT_ELIGIBLE  # annex3.2.1 widens project training only


def test_R4_counties_set_their_own_scope(engine, tmp_path):
    # Someone with no local ties anywhere and no pension: 义乌 takes in 不具有按月领取养老金资格
    # 的人员 for every kind, 东阳 for project training only, the urban area not at all (R1).
    stranger = {"hukou": "other"}
    cert = {**QUALIFICATION, **stranger}
    course = {**PROJECT, **stranger, "project_code": "P-R4"}
    got = decide(engine, tmp_path, [
        {"claim_id": "yiwu_cert", **cert, "region": "yiwu"},
        {"claim_id": "dongyang_cert", **cert, "region": "dongyang"},
        {"claim_id": "urban_cert", **cert},
        {"claim_id": "dongyang_course", **course, "region": "dongyang", "employer_region": "dongyang"},
        {"claim_id": "yiwu_pensioner", **cert, "region": "yiwu", "hukou": "yiwu", "monthly_pension": True},
        {"claim_id": "urban_hukou_in_yiwu", **cert, "region": "yiwu", "hukou": "wucheng",
         "monthly_pension": True},
    ])
    assert outcome(got["yiwu_cert"]) == (True, 90_000, (), (
        "main.4.4", "R4", "annex3.1.2", "R5", "annex3.1.3", "R14", "main.4.3", "R17"))
    assert got["yiwu_cert"].channel == "county:yiwu"
    assert outcome(got["dongyang_course"])[:3] == (True, 60_000, ())
    assert got["dongyang_course"].channel == "county:dongyang"
    for cid in ("dongyang_cert", "yiwu_pensioner", "urban_hukou_in_yiwu"):
        assert outcome(got[cid]) == (False, 0, ("not_eligible",), ("main.4.4", "R4")), cid
    assert outcome(got["urban_cert"]) == NOT_ELIGIBLE


def test_R5_levels(engine, tmp_path):
    # 一级/高级技师 3000, 二级/技师 2500, 三级/高级工 2000, 四级/中级工 900, 五级/初级工 800,
    # 专项职业能力证书 600 元 (annex3.1.2).
    expected = {"1": 300_000, "2": 250_000, "3": 200_000, "4": 90_000, "5": 80_000, "S": 60_000}
    got = decide(engine, tmp_path, [{"claim_id": lvl, "level": lvl} for lvl in expected], QUALIFICATION)
    assert {k: d.amount for k, d in got.items()} == expected
    assert all(d.citations[2:4] == ("annex3.1.2", "R5") for d in got.values())
    names = {lvl: next(s.value for s in d.steps if s.rule == "补贴标准") for lvl, d in got.items()}
    for lvl, name in {"1": "高级技师", "2": "技师", "3": "高级工", "4": "中级工", "5": "初级工",
                      "S": "专项职业能力证书"}.items():
        assert name in names[lvl]


@pytest.mark.parametrize("region", ["urban", "wucheng", "jindong", "kaifaqu"])
def test_R6_one_urban_rate_in_every_district(engine, tmp_path, region):
    rows = [
        *({"claim_id": f"Q{lvl}", **QUALIFICATION, "level": lvl} for lvl in ("1", "2", "3", "4", "5", "S")),
        {"claim_id": "shortage", **QUALIFICATION, "occupation": TURNER, "level": "3"},
        {"claim_id": "enterprise", **PROJECT, "project_code": "P-E", "hours": 27},
        {"claim_id": "raised", **PROJECT, "project_code": "P-R", "hours": 30, "employer_tags": "trade_friction"},
        {"claim_id": "department", **PROJECT, "project_code": "P-D", "organizer": "department",
         "organizer_level": "city", "hours": 4},
        {"claim_id": "review", **PROJECT, "project_code": "P-V", "organizer": "institution", "review": True},
        {"claim_id": "employee", **APPRENTICESHIP},
        {"claim_id": "student", **APPRENTICESHIP, "apprentice": "student", "cost": "3500"},
    ]
    employer = "jindong" if region in ("urban", "jindong") else region
    rows = [{**r, "region": region, "employer_region": employer} for r in rows]
    got = decide(engine, tmp_path, rows)
    assert {k: d.amount for k, d in got.items()} == {
        "Q1": 300_000, "Q2": 250_000, "Q3": 200_000, "Q4": 90_000, "Q5": 80_000, "QS": 60_000,
        "shortage": 260_000,    # 2000 × 1.3
        "enterprise": 80_000,   # 27 × 30 = 810 → 800
        "raised": 104_000,      # 30 × 39 = 1170 → 1040
        "department": 10_000,   # 4 × 25
        "review": 10_000,       # flat 100
        "employee": 600_000,    # 7000 → 6000
        "student": 300_000,     # 3500 → 3000
    }


def test_R7_shortage_uplift_from_the_list_in_force(engine, lanxi_engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "listed", "occupation": TURNER, "level": "4"},    # 900 × 1.3 = 1170 元
        {"claim_id": "not_listed", "occupation": COOK, "level": "4"},  # 900 元
    ], QUALIFICATION)
    assert outcome(got["listed"])[:3] == (True, 117_000, ())
    assert "R7" in got["listed"].citations
    assert outcome(got["not_listed"])[:3] == (True, 90_000, ())
    assert "R7" not in got["not_listed"].citations
    # A region's own lists, each with its dates: 100.05 元, × 1.3 = 130.065 → 130.07 元 when listed.
    lanxi = {"region": "lanxi", "kind": "qualification", "level": "5", "hukou": "lanxi"}
    got, errors = run(lanxi_engine, tmp_path, [
        {"claim_id": "cook_2020", "occupation": COOK, "date": "2020-06-01"},
        {"claim_id": "cook_2021", "occupation": COOK, "date": "2021-06-01"},
        {"claim_id": "turner_2020", "occupation": TURNER, "date": "2020-12-31"},
        {"claim_id": "turner_2021", "occupation": TURNER, "date": "2021-01-01"},
        {"claim_id": "no_list", "occupation": COOK, "date": "2020-01-03"},
    ], lanxi)
    assert {k: d.amount for k, d in got.items()} == {
        "cook_2020": 13_007, "cook_2021": 10_005, "turner_2020": 10_005, "turner_2021": 13_007}
    # A date no list covers is an error, never "not short".
    assert len(errors) == 1
    assert errors[0].startswith("第6行（no_list）")
    assert "无在用的紧缺职业（工种）目录" in errors[0]


def test_R8_enterprise_30_an_hour_up_to_800_from_20_hours(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": str(h), "project_code": f"P-{h}", "hours": h} for h in (0, 19, 20, 21, 26, 27, 100)
    ], PROJECT)
    assert outcome(got["19"]) == (False, 0, ("below_min_hours",), ("annex3.2.2", "R8"))
    assert outcome(got["0"]) == (False, 0, ("below_min_hours",), ("annex3.2.2", "R8"))
    assert {h: (got[h].amount, got[h].reasons) for h in ("20", "21", "26", "27", "100")} == {
        "20": (60_000, ()), "21": (63_000, ()), "26": (78_000, ()),
        "27": (80_000, ("capped",)), "100": (80_000, ("capped",)),
    }


def test_R9_departments_25_an_hour_up_to_500_and_the_flat_review_course(engine, tmp_path):
    dept = {**PROJECT, "organizer": "department", "organizer_level": "city"}
    got = decide(engine, tmp_path, [
        {"claim_id": "1h", **dept, "project_code": "D1", "hours": 1},                       # 25 元
        {"claim_id": "4h", **dept, "project_code": "D4", "hours": 4, "organizer": "college"},  # 100 元
        {"claim_id": "20h", **dept, "project_code": "D20", "hours": 20, "organizer": "institution"},  # 500
        {"claim_id": "21h", **dept, "project_code": "D21", "hours": 21},                    # 525 → 500
        {"claim_id": "review", **dept, "project_code": "DR", "hours": 40, "review": True},  # 100 元
    ])
    assert {k: (d.amount, d.reasons) for k, d in got.items()} == {
        "1h": (2_500, ()), "4h": (10_000, ()), "20h": (50_000, ()), "21h": (50_000, ("capped",)),
        "review": (10_000, ()),
    }
    assert all(d.citations[2:4] == ("annex3.2.2", "R9") for d in got.values())


def test_R10_enterprise_uplift_on_rate_and_cap_until_2021_12_31(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "20h", **PROJECT, "project_code": "A", "employer_tags": "trade_friction"},   # 20 × 39
        {"claim_id": "30h", **PROJECT, "project_code": "B", "hours": 30,
         "employer_tags": "key_manufacturing"},                                                  # → 1040
        {"claim_id": "last_day", **PROJECT, "project_code": "C", "hours": 30, "date": "2021-12-31",
         "employer_tags": "trade_friction"},
        {"claim_id": "2022", **PROJECT, "project_code": "D", "hours": 30, "date": "2022-01-01",
         "employer_tags": "trade_friction"},                                                     # 800
        {"claim_id": "apprentice", **APPRENTICESHIP, "cost": "9000", "employer_tags": "key_manufacturing"},
        {"claim_id": "apprentice_2022", **APPRENTICESHIP, "cost": "9000", "date": "2022-01-01",
         "employer_tags": "key_manufacturing"},
        {"claim_id": "trade_friction_cert", **QUALIFICATION, "employer_tags": "self_evaluation;trade_friction"},
    ])
    assert {k: d.amount for k, d in got.items()} == {
        "20h": 78_000, "30h": 104_000, "last_day": 104_000, "2022": 80_000,
        "apprentice": 780_000, "apprentice_2022": 600_000, "trade_friction_cert": 117_000,
    }
    for k in ("20h", "30h", "last_day", "apprentice", "trade_friction_cert"):
        assert "R10" in got[k].citations, k
    for k in ("2022", "apprentice_2022"):
        assert "R10" not in got[k].citations, k


def test_R11_uplifts_do_not_compound(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "cert", **QUALIFICATION, "occupation": TURNER, "level": "3",
         "employer_tags": "self_evaluation;trade_friction;key_manufacturing"},  # 2000 × 1.3 = 2600
        {"claim_id": "course", **PROJECT, "project_code": "A", "hours": 20,
         "employer_tags": "trade_friction;key_manufacturing"},                  # 600 × 1.3 = 780
        {"claim_id": "capped", **PROJECT, "project_code": "B", "hours": 40,
         "employer_tags": "trade_friction;key_manufacturing"},                  # 800 × 1.3 = 1040
    ])
    assert {k: d.amount for k, d in got.items()} == {"cert": 260_000, "course": 78_000, "capped": 104_000}
    for d in got.values():
        assert "main.4.2" in d.citations and "R11" in d.citations
    steps = [s.value for s in got["cert"].steps if s.rule == "上浮不叠加"]
    assert steps == ["3 项上浮只计一次：+30%"]


def test_R12_apprenticeship_actual_cost_up_to_a_cap(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "e_low", "cost": "5999.99"},
        {"claim_id": "e_cap", "cost": "6000.01"},
        {"claim_id": "s_low", "apprentice": "student", "cost": "2999.99"},
        {"claim_id": "s_cap", "apprentice": "student", "cost": "3000.01"},
    ], APPRENTICESHIP)
    assert {k: (d.amount, d.reasons) for k, d in got.items()} == {
        "e_low": (599_999, ()), "e_cap": (600_000, ("capped",)),
        "s_low": (299_999, ()), "s_cap": (300_000, ("capped",)),
    }
    assert all(("annex3.3", "R12") == d.citations[2:4] for d in got.values())


def test_R13_exact_money_half_up_to_the_fen(engine, lanxi_engine, tmp_path):
    got = decide(engine, tmp_path, [{"claim_id": "A", "cost": "5000.50"}], APPRENTICESHIP)
    assert got["A"].amount == 500_050
    assert type(got["A"].amount) is int
    # 100.05 元 × 1.3 = 130.065 元: half-up gives 130.07 (half-even would give 130.06).
    lanxi = {"region": "lanxi", "kind": "qualification", "level": "5", "hukou": "lanxi",
             "occupation": COOK, "date": "2020-06-01"}
    got = decide(lanxi_engine, tmp_path, [{"claim_id": "L"}], lanxi)
    assert got["L"].amount == 13_007
    out = io.StringIO()
    write_csv([got["L"]], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue())))["amount"] == "130.07"
    assert (uplift(5, 3000), uplift(15, 3000), uplift(1, 3000), uplift(10_005, 3000)) == (7, 20, 1, 13_007)
    # More than two decimals cannot be read (kept to the fen).
    _, errors = run(engine, tmp_path, [{"claim_id": "B", "cost": "5000.505"}], APPRENTICESHIP)
    assert len(errors) == 1
    assert "cost" in errors[0]


def test_R14_certificate_paid_to_the_person_or_the_self_evaluating_employer(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "person"},
        {"claim_id": "employer", "employer_tags": "self_evaluation"},
    ], QUALIFICATION)
    assert (got["person"].payee, got["person"].amount) == ("person", 90_000)
    assert ("annex3.1.3", "R14") == got["person"].citations[4:6]
    assert (got["employer"].payee, got["employer"].amount) == ("employer", 90_000)  # same amount
    assert "R14" in got["employer"].citations
    assert "annex3.1.3" not in got["employer"].citations


def test_R15_project_to_the_body_that_ran_it_apprenticeship_to_the_enterprise(engine, tmp_path):
    # R15 (amended): an enterprise training its own staff is paid as the employer; a college (or a
    # department, an institution) as the body that applied; apprenticeships to the enterprise.
    got = decide(engine, tmp_path, [
        {"claim_id": "enterprise", **PROJECT, "project_code": "A"},
        {"claim_id": "college", **PROJECT, "project_code": "B", "organizer": "college",
         "organizer_level": "city"},
        {"claim_id": "apprentice", **APPRENTICESHIP},
    ])
    assert {k: d.payee for k, d in got.items()} == {
        "enterprise": "employer", "college": "organizer", "apprentice": "employer"}
    assert "annex3.2.3" in got["enterprise"].citations
    assert "annex3.3" in got["apprentice"].citations
    assert all("R15" in d.citations for d in got.values())


def test_R16_urban_funds(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "cert", **QUALIFICATION},
        {"claim_id": "special", **QUALIFICATION, "level": "S"},
        {"claim_id": "city_dept", **PROJECT, "project_code": "A", "organizer": "department",
         "organizer_level": "city", "employer_region": None},
        {"claim_id": "city_college", **PROJECT, "project_code": "B", "organizer": "college",
         "organizer_level": "city", "employer_region": None},
        {"claim_id": "city_soe", **PROJECT, "project_code": "C", "employer_tags": "city_soe",
         "employer_region": "kaifaqu"},
        {"claim_id": "city_soe_apprentice", **APPRENTICESHIP, "employer_tags": "city_soe",
         "employer_region": "wucheng"},
        {"claim_id": "enterprise", **PROJECT, "project_code": "D", "employer_region": "kaifaqu"},
        {"claim_id": "district_dept", **PROJECT, "project_code": "E", "organizer": "department",
         "organizer_level": "district", "employer_region": "wucheng"},
        {"claim_id": "institution", **PROJECT, "project_code": "F", "organizer": "institution",
         "employer_region": "jindong"},
        {"claim_id": "apprentice", **APPRENTICESHIP, "employer_region": "wucheng"},
        {"claim_id": "outside", **PROJECT, "project_code": "G", "employer_region": "dongyang"},
    ])
    assert {k: d.channel for k, d in got.items()} == {
        "cert": "city", "special": "city", "city_dept": "city", "city_college": "city",
        "city_soe": "city", "city_soe_apprentice": "city",
        "enterprise": "district:kaifaqu", "district_dept": "district:wucheng",
        "institution": "district:jindong", "apprentice": "district:wucheng", "outside": "",
    }
    assert outcome(got["outside"]) == (False, 0, ("no_fund",), ("main.4.1", "R16"))
    assert got["cert"].citations[-2:] == ("annex3.4", "R16")
    assert got["enterprise"].citations[-2:] == ("main.4.1", "R16")


def test_R16_a_district_that_agreed_pays_special_ability_certificates(tmp_path):
    # annex3.4: 专项能力证书培训经同意后可由区级专项资金列支 — a district plugin setting. 金东区
    # publishes the urban catalog (as 婺城区 does) plus a first funding rule for level S.
    shipped = (Path(__file__).resolve().parents[1] / "catalogs" / "wucheng.toml").read_text(encoding="utf-8")
    text = (shipped.replace('region = "wucheng"', 'region = "jindong"').replace('name = "婺城区"', 'name = "金东区"')
            .replace("[funding]\n", '[funding]\n\n[[funding.rules]]\nkinds = ["qualification"]\nlevels = ["S"]\n'
                     'channel = "district:jindong"\nclause = "annex3.4"\nreading = "R16"\n', 1))
    assert text.count('channel = "district:jindong"') == 1
    path = tmp_path / "jindong.toml"
    path.write_text(text, encoding="utf-8")
    agreed = Engine(get_plugin_manager(autoload=False, extra=[("jindong_agreed", CatalogPlugin(path))]))
    got = decide(agreed, tmp_path, [
        {"claim_id": "special", **QUALIFICATION, "region": "jindong", "level": "S"},
        {"claim_id": "level4", **QUALIFICATION, "region": "jindong", "level": "4"},
        {"claim_id": "urban_special", **QUALIFICATION, "level": "S"},
    ])
    assert {k: (d.amount, d.channel) for k, d in got.items()} == {
        "special": (60_000, "district:jindong"),  # 600 元 (annex3.1.2), from the district fund
        "level4": (90_000, "city"),  # 900 元, still the city fund
        "urban_special": (60_000, "city"),  # the urban area has not agreed: the city fund
    }
    assert got["special"].citations[-2:] == ("annex3.4", "R16")


def test_R17_fund_names(engine, tmp_path):
    got = decide(engine, tmp_path, [
        {"claim_id": "city", **QUALIFICATION},
        {"claim_id": "wucheng", **PROJECT, "region": "wucheng", "project_code": "A", "employer_region": "wucheng"},
        {"claim_id": "jindong", **APPRENTICESHIP, "region": "jindong"},
        {"claim_id": "yiwu", **QUALIFICATION, "region": "yiwu", "hukou": "yiwu"},
        {"claim_id": "dongyang", **PROJECT, "region": "dongyang", "project_code": "B",
         "hukou": "dongyang", "employer_region": "dongyang"},
    ])
    channels = {k: d.channel for k, d in got.items()}
    assert channels == {"city": "city", "wucheng": "district:wucheng", "jindong": "district:jindong",
                        "yiwu": "county:yiwu", "dongyang": "county:dongyang"}
    funds = engine.rulebook.funds()
    for c in channels.values():
        assert re.fullmatch(r"city|district:(wucheng|jindong|kaifaqu)|county:[a-z]+", c)
        assert c in funds
    assert "district:urban" not in funds and "county:urban" not in funds


def test_R18_three_a_year_across_kinds_and_regions(engine, tmp_path):
    me = person_id(18)
    rows = [  # in the file out of date order: the limit goes by event date
        {"claim_id": "2022", **PROJECT, "project_code": "Z", "date": "2022-01-05"},
        {"claim_id": "fourth", **APPRENTICESHIP, "region": "dongyang", "date": "2021-06-01",
         "residence_permit": "dongyang", "employer_region": "dongyang"},
        {"claim_id": "third", **QUALIFICATION, "region": "yiwu", "level": "3", "date": "2021-05-01",
         "hukou": "yiwu"},
        {"claim_id": "second", **PROJECT, "region": "wucheng", "project_code": "W", "date": "2021-04-01",
         "employer_region": "wucheng"},
        {"claim_id": "refused", **PROJECT, "project_code": "X", "date": "2021-02-01", "passed": False},
        {"claim_id": "first", **QUALIFICATION, "date": "2021-03-01"},
        {"claim_id": "other_person", **QUALIFICATION, "date": "2021-12-01", "person_id": person_id(19)},
    ]
    got = decide(engine, tmp_path, [{**r, "person_id": r.get("person_id", me)} for r in rows])
    assert {k: d.eligible for k, d in got.items()} == {
        "first": True, "second": True, "third": True, "fourth": False, "2022": True,
        "refused": False, "other_person": True,
    }
    assert outcome(got["fourth"]) == (False, 0, ("annual_limit",), ("main.4.1", "R18"))
    assert got["refused"].reasons == ("not_passed",)  # a refused claim does not count


def test_R19_never_the_same_twice(engine, tmp_path):
    me = person_id(19)
    rows = [
        {"claim_id": "cook4", **QUALIFICATION, "date": "2020-03-01"},
        {"claim_id": "cook4_again", **QUALIFICATION, "region": "yiwu", "date": "2021-03-01"},
        {"claim_id": "cook3", **QUALIFICATION, "level": "3", "date": "2021-04-01"},
        {"claim_id": "p9", **PROJECT, "project_code": "P-9", "date": "2020-04-01"},
        {"claim_id": "p9_again", **PROJECT, "project_code": "P-9", "region": "wucheng",
         "employer_region": "wucheng", "hours": 30, "date": "2022-02-01"},
        {"claim_id": "p10_failed", **PROJECT, "project_code": "P-10", "passed": False, "date": "2020-05-01"},
        {"claim_id": "p10", **PROJECT, "project_code": "P-10", "date": "2020-06-01"},
        {"claim_id": "apprentice", **APPRENTICESHIP, "date": "2021-03-01"},
        {"claim_id": "apprentice_again", **APPRENTICESHIP, "date": "2021-09-01"},
        {"claim_id": "apprentice_2022", **APPRENTICESHIP, "date": "2022-03-01"},
    ]
    got = decide(engine, tmp_path, [{**r, "person_id": me} for r in rows])
    assert {k: d.eligible for k, d in got.items()} == {
        "cook4": True, "cook4_again": False, "cook3": True, "p9": True, "p9_again": False,
        "p10_failed": False, "p10": True, "apprentice": True, "apprentice_again": False,
        "apprentice_2022": True,
    }
    for cid in ("cook4_again", "p9_again"):
        assert outcome(got[cid]) == (False, 0, ("repeat",), ("main.4.1", "R19")), cid
    # An apprenticeship is limited by its yearly ceiling (R23), not by R19: the first claim of 2021
    # used up the 6000 元, so the second gets nothing, which is no subsidy received (R24).
    assert outcome(got["apprentice_again"]) == (False, 0, ("nothing_to_pay",), ("main.4.1", "R24"))
    assert got["cook3"].amount == 200_000  # a higher level is a new claim: 2000 元


def test_R20_duplicate_claim_id_is_one_claim(engine, tmp_path):
    rows = [
        {"claim_id": "X", **QUALIFICATION, "person_id": person_id(20)},
        {"claim_id": "Y", **QUALIFICATION, "person_id": person_id(21), "level": "3"},
        {"claim_id": "Z", **QUALIFICATION, "person_id": person_id(20), "level": "3"},
        {"claim_id": "W", **QUALIFICATION, "person_id": person_id(20), "level": "2"},
    ]
    once = decide(engine, tmp_path, rows)
    # The same claim id again, earlier in the year and asking for more: changes nothing.
    dup = {**rows[0], "level": "1", "date": "2021-01-02"}
    twice, errors = engine.evaluate_file(write_claims_csv(tmp_path / "dup.csv", [*rows, dup]))
    assert errors == []
    assert [d.claim_id for d in twice] == ["X", "Y", "Z", "W", "X"]
    assert twice[:4] == [once[k] for k in ("X", "Y", "Z", "W")]
    assert [outcome(d) for d in twice[:4] if not d.eligible] == []  # three a year still all paid
    assert outcome(twice[4]) == (False, 0, ("duplicate_claim",), ("main.4.1", "R20"))
    assert twice[0].amount == 90_000
