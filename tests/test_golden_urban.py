"""Golden cases for the urban area (市区), every figure of annex 3 of 金人社发〔2020〕1号.

Expected amounts are worked out by hand from the policy text (and the readings of
INTERPRETATIONS.md), written in fen with the working in a comment. They are never
obtained by running the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.testing import person_id, write_claims_csv

COOK = "4-03-02-01"  # 中式烹调师: not on the urban shortage list
TURNER = "6-18-01-01"  # 车工: on the urban shortage list (R7)
CARER = "4-10-01-05"  # 养老护理员: on the urban shortage list (R7)

QUALIFICATION = {"region": "urban", "kind": "qualification", "date": "2021-06-01",
                 "occupation": COOK, "hukou": "wucheng"}
PROJECT = {"region": "urban", "kind": "project", "date": "2021-06-01", "project_code": "P-1",
           "organizer": "enterprise", "hours": 20, "passed": True, "employer_region": "jindong",
           "hukou": "wucheng"}
APPRENTICESHIP = {"region": "urban", "kind": "apprenticeship", "date": "2021-06-01",
                  "apprentice": "employee", "cost": "6000", "employer_region": "jindong",
                  "hukou": "wucheng"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


def decide_one(engine: Engine, tmp_path: Path, base: dict[str, Any], **changes: Any) -> Decision:
    row = {**base, "claim_id": "G1", "person_id": person_id(1), **changes}
    decisions, errors = engine.evaluate_file(write_claims_csv(tmp_path / "claims.csv", [row]))
    assert [str(e) for e in errors] == []
    assert len(decisions) == 1
    return decisions[0]


def assert_paid(d: Decision, amount: int, payee: str, channel: str,
                reasons: tuple[str, ...] = (), cites: tuple[str, ...] = ()) -> None:
    assert (d.eligible, d.amount, d.payee, d.channel, d.reasons) == (True, amount, payee, channel, reasons)
    missing = [c for c in cites if c not in d.citations]
    assert missing == [], f"citations {d.citations} lack {missing}"


def assert_refused(d: Decision, reason: str, citations: tuple[str, ...]) -> None:
    assert (d.eligible, d.amount, d.payee, d.channel) == (False, 0, "", "")
    assert d.reasons == (reason,)
    assert d.citations == citations


# --- 一、职业资格培训 (annex3.1.2; levels R5; paid to the person R14; city fund R16) ---------------

@pytest.mark.parametrize(("level", "amount"), [
    ("1", 300_000),  # 高级技师 3000 元
    ("2", 250_000),  # 技师 2500 元
    ("3", 200_000),  # 高级工 2000 元
    ("4", 90_000),   # 中级工 900 元
    ("5", 80_000),   # 初级工 800 元
    ("S", 60_000),   # 专项能力证书 600 元
])
def test_qualification_rate_per_level(engine, tmp_path, level, amount):
    d = decide_one(engine, tmp_path, QUALIFICATION, level=level)
    assert_paid(d, amount, "person", "city",
                cites=("annex3.1.1", "R1", "annex3.1.2", "R5", "annex3.1.3", "R14", "annex3.4", "R16"))


@pytest.mark.parametrize(("occupation", "level", "amount"), [
    (TURNER, "3", 260_000),  # 2000 × 1.3 = 2600 元
    (CARER, "S", 78_000),    # 600 × 1.3 = 780 元
    (TURNER, "1", 390_000),  # 3000 × 1.3 = 3900 元
])
def test_shortage_occupation_is_raised_30_percent(engine, tmp_path, occupation, level, amount):
    d = decide_one(engine, tmp_path, QUALIFICATION, occupation=occupation, level=level)
    assert_paid(d, amount, "person", "city", cites=("annex3.1.2", "R5", "R7", "annex3.4", "R16"))
    assert "R11" not in d.citations  # one uplift: no limit to apply


def test_self_evaluating_employer_is_paid_instead_of_the_person(engine, tmp_path):
    # 开展技能人才自主评价的企业组织本单位职工培训的，参照以上标准给予补贴，不再发放职工个人培训补贴.
    d = decide_one(engine, tmp_path, QUALIFICATION, level="4", employer_tags="self_evaluation")
    assert_paid(d, 90_000, "employer", "city", cites=("annex3.1.2", "R14", "annex3.4", "R16"))
    assert "annex3.1.3" not in d.citations  # not paid to the person's card


def test_trade_friction_without_self_evaluation_leaves_the_person_rate(engine, tmp_path):
    # R10 raises training the enterprise organises for its own staff; a person's own
    # certificate is not that: 900 元 to the person.
    d = decide_one(engine, tmp_path, QUALIFICATION, level="4", employer_tags="trade_friction")
    assert_paid(d, 90_000, "person", "city")
    assert "R10" not in d.citations


@pytest.mark.parametrize(("tags", "date", "amount", "raised"), [
    ("self_evaluation;trade_friction", "2021-06-01", 117_000, True),     # 900 × 1.3 = 1170 元
    ("self_evaluation;key_manufacturing", "2021-12-31", 117_000, True),  # last day of 2021年底前
    ("self_evaluation;key_manufacturing", "2022-01-01", 90_000, False),  # uplift over: 900 元
    ("self_evaluation;trade_friction", "2020-01-07", 117_000, True),     # the day the plan was issued
])
def test_self_evaluation_enterprise_uplift_until_end_of_2021(engine, tmp_path, tags, date, amount, raised):
    d = decide_one(engine, tmp_path, QUALIFICATION, level="4", employer_tags=tags, date=date)
    assert_paid(d, amount, "employer", "city", cites=("annex3.1.2", "R14"))
    assert ("R10" in d.citations) is raised


@pytest.mark.parametrize("tags", [
    "self_evaluation;trade_friction",
    "self_evaluation;key_manufacturing",
    "self_evaluation;trade_friction;key_manufacturing",
])
def test_shortage_and_enterprise_uplift_do_not_compound(engine, tmp_path, tags):
    # 2000 × 1.3 = 2600 元 once, not 2000 × 1.3 × 1.3 = 3380 元 (main.4.2 上浮幅度不超过30%, R11).
    d = decide_one(engine, tmp_path, QUALIFICATION, occupation=TURNER, level="3", employer_tags=tags)
    assert_paid(d, 260_000, "employer", "city", cites=("R7", "R10", "main.4.2", "R11", "R14"))


# --- 二、项目制培训 (annex3.2.2; R8 enterprise, R9 departments; organiser paid R15) ----------------

@pytest.mark.parametrize(("hours", "amount", "reasons"), [
    (20, 60_000, ()),           # 20 × 30 = 600 元
    (26, 78_000, ()),           # 26 × 30 = 780 元
    (27, 80_000, ("capped",)),  # 27 × 30 = 810 → 800 元
    (40, 80_000, ("capped",)),  # 1200 → 800 元
])
def test_enterprise_project_30_an_hour_up_to_800(engine, tmp_path, hours, amount, reasons):
    d = decide_one(engine, tmp_path, PROJECT, hours=hours)
    assert_paid(d, amount, "employer", "district:jindong", reasons,
                cites=("annex3.2.2", "R8", "annex3.2.3", "R15", "main.4.1", "R16"))


def test_enterprise_project_below_20_hours_pays_nothing(engine, tmp_path):
    d = decide_one(engine, tmp_path, PROJECT, hours=19)
    assert_refused(d, "below_min_hours", ("annex3.2.2", "R8"))


def test_enterprise_uplift_does_not_lower_the_minimum_hours(engine, tmp_path):
    d = decide_one(engine, tmp_path, PROJECT, hours=19, employer_tags="trade_friction")
    assert_refused(d, "below_min_hours", ("annex3.2.2", "R8"))


def test_project_not_passed_pays_nothing(engine, tmp_path):
    # 申领时应提交……学员培训合格证书 (annex3.2.3).
    d = decide_one(engine, tmp_path, PROJECT, hours=30, passed=False)
    assert_refused(d, "not_passed", ("annex3.2.3",))


@pytest.mark.parametrize(("tags", "hours", "date", "amount", "reasons"), [
    ("trade_friction", 20, "2021-06-01", 78_000, ()),                    # 20 × 39 = 780 元
    ("trade_friction", 30, "2021-06-01", 104_000, ("capped",)),          # 30 × 39 = 1170 → 1040 元
    ("key_manufacturing", 27, "2021-12-31", 104_000, ("capped",)),       # 27 × 39 = 1053 → 1040 元
    ("key_manufacturing", 26, "2021-06-01", 101_400, ()),                # 26 × 39 = 1014 元
    ("trade_friction;key_manufacturing", 20, "2021-06-01", 78_000, ()),  # both: ×1.3 once (R11)
    ("trade_friction", 30, "2022-01-01", 80_000, ("capped",)),           # after 2021年底前: 800 元
    ("key_manufacturing", 20, "2022-01-01", 60_000, ()),                 # 600 元
])
def test_enterprise_uplift_on_rate_and_cap_until_end_of_2021(engine, tmp_path, tags, hours, date, amount, reasons):
    d = decide_one(engine, tmp_path, PROJECT, hours=hours, date=date, employer_tags=tags)
    assert_paid(d, amount, "employer", "district:jindong", reasons, cites=("annex3.2.2", "R8"))
    assert ("R10" in d.citations) is date.startswith("2021")


def test_two_enterprise_uplifts_cite_the_limit(engine, tmp_path):
    d = decide_one(engine, tmp_path, PROJECT, employer_tags="trade_friction;key_manufacturing")
    assert_paid(d, 78_000, "employer", "district:jindong", cites=("R10", "main.4.2", "R11"))


@pytest.mark.parametrize(("organizer", "level", "hours", "amount", "reasons", "channel"), [
    ("department", "city", 4, 10_000, (), "city"),                          # 4 × 25 = 100 元
    ("department", "city", 1, 2_500, (), "city"),                           # no minimum: 25 元
    ("college", "city", 20, 50_000, (), "city"),                            # 20 × 25 = 500 元
    ("college", "city", 21, 50_000, ("capped",), "city"),                   # 525 → 500 元
    ("institution", None, 30, 50_000, ("capped",), "district:kaifaqu"),     # 750 → 500 元
    ("department", "district", 4, 10_000, (), "district:kaifaqu"),          # a district's department
])
def test_department_institution_college_25_an_hour_up_to_500(engine, tmp_path, organizer, level, hours,
                                                             amount, reasons, channel):
    d = decide_one(engine, tmp_path, PROJECT, organizer=organizer, organizer_level=level, hours=hours,
                   employer_region="kaifaqu")
    assert_paid(d, amount, "organizer", channel, reasons, cites=("annex3.2.2", "R9", "R15", "R16"))


def test_enterprise_uplift_is_not_for_department_training(engine, tmp_path):
    d = decide_one(engine, tmp_path, PROJECT, organizer="department", organizer_level="city", hours=4,
                   employer_tags="trade_friction;key_manufacturing")
    assert_paid(d, 10_000, "organizer", "city")  # 4 × 25 = 100 元, no uplift
    assert "R10" not in d.citations


@pytest.mark.parametrize(("organizer", "level", "hours"), [
    ("institution", None, 8),
    ("department", "city", 40),
    ("college", "city", 2),
])
def test_special_operations_review_course_is_a_flat_100(engine, tmp_path, organizer, level, hours):
    # 特种作业人员操作证复审培训每人补贴100元, whatever the hours.
    d = decide_one(engine, tmp_path, PROJECT, organizer=organizer, organizer_level=level, hours=hours,
                   review=True)
    assert_paid(d, 10_000, "organizer", "city" if level == "city" else "district:jindong",
                cites=("annex3.2.2", "R9"))


# --- 三、企业新型学徒制 (annex3.3, R12; paid to the enterprise R15) --------------------------------

@pytest.mark.parametrize(("apprentice", "cost", "tags", "date", "amount", "reasons"), [
    ("employee", "5000.50", None, "2021-06-01", 500_050, ()),                      # actual cost
    ("employee", "6000", None, "2021-06-01", 600_000, ()),                         # exactly the cap
    ("employee", "7000", None, "2021-06-01", 600_000, ("capped",)),                # ≤ 6000 元
    ("student", "2800", None, "2021-06-01", 280_000, ()),                          # actual cost
    ("student", "3500", None, "2021-06-01", 300_000, ("capped",)),                 # ≤ 3000 元
    ("employee", "7000", "key_manufacturing", "2021-06-01", 700_000, ()),          # under 7800
    ("employee", "9000", "key_manufacturing", "2021-12-31", 780_000, ("capped",)), # 6000 × 1.3
    ("employee", "7000", "key_manufacturing", "2022-01-01", 600_000, ("capped",)), # after 2021
    ("student", "3500", "key_manufacturing", "2021-06-01", 300_000, ("capped",)),  # 职工学徒 only
])
def test_apprenticeship_actual_cost_up_to_the_cap(engine, tmp_path, apprentice, cost, tags, date, amount,
                                                  reasons):
    d = decide_one(engine, tmp_path, APPRENTICESHIP, apprentice=apprentice, cost=cost,
                   employer_tags=tags, date=date)
    assert_paid(d, amount, "employer", "district:jindong", reasons,
                cites=("annex3.3", "R12", "R15", "main.4.1", "R16"))
    raised = tags == "key_manufacturing" and apprentice == "employee" and date <= "2021-12-31"
    assert ("R10" in d.citations) is raised


# --- 四、资金渠道 (annex3.4, R16) ----------------------------------------------------------------

@pytest.mark.parametrize(("base", "changes", "channel"), [
    (QUALIFICATION, {"level": "3"}, "city"),
    (QUALIFICATION, {"level": "S"}, "city"),  # no district has agreed to pay S certificates
    (PROJECT, {"organizer": "department", "organizer_level": "city", "employer_region": None}, "city"),
    (PROJECT, {"organizer": "college", "organizer_level": "city", "employer_region": None}, "city"),
    (PROJECT, {"employer_tags": "city_soe", "employer_region": "wucheng"}, "city"),
    (APPRENTICESHIP, {"employer_tags": "city_soe", "employer_region": "kaifaqu"}, "city"),
    (PROJECT, {"employer_region": "wucheng"}, "district:wucheng"),
    (PROJECT, {"organizer": "institution", "employer_region": "jindong"}, "district:jindong"),
    (PROJECT, {"organizer": "college", "organizer_level": "district", "employer_region": "kaifaqu"},
     "district:kaifaqu"),
    (APPRENTICESHIP, {"employer_region": "kaifaqu"}, "district:kaifaqu"),
    (APPRENTICESHIP, {"employer_region": "wucheng", "apprentice": "student", "cost": "3000"},
     "district:wucheng"),
])
def test_fund_that_pays(engine, tmp_path, base, changes, channel):
    d = decide_one(engine, tmp_path, base, **changes)
    assert d.eligible
    assert d.channel == channel


@pytest.mark.parametrize("base", [PROJECT, APPRENTICESHIP])
def test_employer_insured_outside_the_urban_districts_has_no_fund(engine, tmp_path, base):
    # 按属地原则由所在地的区级专项资金列支: an employer insured in 义乌 has no urban fund.
    d = decide_one(engine, tmp_path, base, employer_region="yiwu")
    assert_refused(d, "no_fund", ("main.4.1", "R16"))
