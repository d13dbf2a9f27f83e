"""Golden decisions for the two county plugins, 义乌市 (yiwu) and 东阳市 (dongyang).

Both catalogs are provisional: the urban standard of annex 3 adopted by the county
(main.4.1), each county's own shortage list (annex3.1.2 R7), its own eligibility
scope (main.4.4 R4) and its own fund ``county:<key>`` (main.4.3 R17). Every figure
below is worked out from the policy text in the comment beside it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from jinhua_subsidy.testing import person_id

DATE = "2021-06-01"
#: The citations of a paid certificate claim after the eligibility ground and rate.
PERSON_PAID = ("annex3.1.3", "R14")

ECOMMERCE = "4-01-06-01"  # 电子商务师: on yiwu's list only
CARVER = "6-09-03-01"  # 工艺品雕刻工: on dongyang's list only
CLERK = "4-01-02-04"  # 收银员: on no list


@pytest.fixture
def engine(subsidy_engine):
    return subsidy_engine()


def decide(engine, claims_csv, *rows):
    claims = []
    for n, row in enumerate(rows, start=1):
        claims.append({"claim_id": f"C{n}", "person_id": person_id(n), "date": DATE, **row})
    decisions, errors = engine.evaluate_file(claims_csv(claims))
    assert errors == []
    return [d.record() for d in decisions]


def qualification(region, occupation, level, **person):
    return {"region": region, "kind": "qualification", "occupation": occupation, "level": level, **person}


def test_both_counties_are_served_by_their_own_provisional_catalog(engine):
    for key in ("yiwu", "dongyang"):
        rules = engine.rulebook.rules(key)
        assert rules.plugin == key
        assert rules.region.parent is None
        assert rules.provisional
        assert rules.eligibility.area == (key,)
        assert "未能取得" in rules.rates.note


def test_shortage_lists_are_the_counties_own(engine):
    on = dt.date(2021, 6, 1)
    yiwu = set(engine.rulebook.rules("yiwu").shortage_list(on).occupations)
    dongyang = set(engine.rulebook.rules("dongyang").shortage_list(on).occupations)
    urban = set(engine.rulebook.rules("urban").shortage_list(on).occupations)
    assert ECOMMERCE in yiwu and ECOMMERCE not in dongyang | urban
    assert CARVER in dongyang and CARVER not in yiwu | urban
    assert not yiwu & urban and not dongyang & urban and not yiwu & dongyang
    assert (yiwu | dongyang) <= set(engine.names)


def test_county_shortage_uplift_and_county_fund(engine, claims_csv):
    q1, q2, q3, q4 = decide(
        engine, claims_csv,
        qualification("yiwu", ECOMMERCE, "4", hukou="yiwu"),
        qualification("dongyang", ECOMMERCE, "4", hukou="dongyang"),
        qualification("dongyang", CARVER, "3", hukou="dongyang"),
        qualification("yiwu", CARVER, "3", hukou="yiwu"),
    )
    # 中级工 900 × 1.3: 电子商务师 is on yiwu's list (annex3.1.2 R5, R7); county fund (main.4.3 R17).
    assert q1 == {"claim_id": "C1", "region": "yiwu", "eligible": True, "amount": "1170.00",
                  "payee": "person", "channel": "county:yiwu", "reasons": [],
                  "citations": ["main.4.4", "R4", "annex3.1.2", "R5", "R7", *PERSON_PAID,
                                "main.4.3", "R17"], "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}
    # Not on dongyang's list: 900 unchanged.
    assert q2["amount"] == "900.00"
    assert q2["channel"] == "county:dongyang"
    assert "R7" not in q2["citations"]
    # 高级工 2000 × 1.3 in dongyang (工艺品雕刻工 on its list); 2000 in yiwu.
    assert (q3["amount"], q3["channel"]) == ("2600.00", "county:dongyang")
    assert (q4["amount"], q4["channel"]) == ("2000.00", "county:yiwu")


def test_no_pension_ground_is_yiwus_for_every_kind(engine, claims_csv):
    outsider = {"hukou": "other", "monthly_pension": "false"}
    in_yiwu, in_dongyang = decide(
        engine, claims_csv,
        qualification("yiwu", CLERK, "5", **outsider),
        qualification("dongyang", CLERK, "5", **outsider),
    )
    # 确有培训需求、不具有按月领取养老金资格的人员 (main.4.4 R4): 初级工 800 in yiwu.
    assert in_yiwu == {"claim_id": "C1", "region": "yiwu", "eligible": True, "amount": "800.00",
                       "payee": "person", "channel": "county:yiwu", "reasons": [],
                       "citations": ["main.4.4", "R4", "annex3.1.2", "R5", *PERSON_PAID,
                                     "main.4.3", "R17"], "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}
    # dongyang takes that group in for project training only.
    assert in_dongyang == {"claim_id": "C2", "region": "dongyang", "eligible": False,
                           "amount": "0.00", "payee": "", "channel": "",
                           "reasons": ["not_eligible"], "citations": ["main.4.4", "R4"],
                           "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}


def test_dongyang_takes_non_pensioners_in_for_project_training(engine, claims_csv):
    (project,) = decide(engine, claims_csv, {
        "region": "dongyang", "kind": "project", "project_code": "DY-2021-01",
        "organizer": "enterprise", "hours": "30", "passed": "true",
        "employer_region": "dongyang", "hukou": "other",
    })
    # 30 课时 × 30 元 = 900, capped at 800 (annex3.2.2 R8); an enterprise's own staff: paid to the
    # enterprise as employer (R15, amended).
    assert project == {"claim_id": "C1", "region": "dongyang", "eligible": True,
                       "amount": "800.00", "payee": "employer", "channel": "county:dongyang",
                       "reasons": ["capped"],
                       "citations": ["main.4.4", "R4", "annex3.2.2", "R8", "annex3.2.3", "R15",
                                     "main.4.1", "R17"], "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}


def test_a_pensioner_needs_another_ground(engine, claims_csv):
    pensioner = {"hukou": "yiwu", "monthly_pension": "true"}
    refused, permit = decide(
        engine, claims_csv,
        qualification("yiwu", CLERK, "5", **pensioner),
        qualification("yiwu", CLERK, "5", residence_permit="yiwu", **pensioner),
    )
    # 户籍 counts only without a monthly pension, and no_pension fails too (main.4.4 R4).
    assert (refused["eligible"], refused["reasons"]) == (False, ["not_eligible"])
    assert (permit["eligible"], permit["amount"]) == (True, "800.00")


def test_six_months_of_county_insurance(engine, claims_csv):
    five, six, elsewhere = decide(
        engine, claims_csv,
        qualification("dongyang", CLERK, "4", hukou="other", insured_region="dongyang",
                      insured_months="5"),
        qualification("dongyang", CLERK, "4", hukou="other", insured_region="dongyang",
                      insured_months="6"),
        qualification("dongyang", CLERK, "4", hukou="other", insured_region="yiwu",
                      insured_months="24"),
    )
    # 缴费6个月以上 at the certificate date (R2), in the county's own area (R4).
    assert five["reasons"] == ["not_eligible"]
    assert (six["eligible"], six["amount"], six["channel"]) == (True, "900.00", "county:dongyang")
    assert elsewhere["reasons"] == ["not_eligible"]


def test_employer_outside_the_county_has_no_fund(engine, claims_csv):
    local = {"hukou": "yiwu"}
    project, apprentice, at_home = decide(
        engine, claims_csv,
        {"region": "yiwu", "kind": "project", "project_code": "YW-2021-01",
         "organizer": "enterprise", "hours": "20", "passed": "true",
         "employer_region": "dongyang", **local},
        {"region": "yiwu", "kind": "apprenticeship", "apprentice": "student", "cost": "2500",
         "employer_region": "wucheng", **local},
        {"region": "yiwu", "kind": "apprenticeship", "apprentice": "student", "cost": "2500",
         "employer_region": "yiwu", **local},
    )
    # 按属地原则由失业保险参保地进行管理 (main.4.1): the yiwu fund pays yiwu employers only.
    for refused in (project, apprentice):
        assert (refused["eligible"], refused["amount"], refused["channel"]) == (False, "0.00", "")
        assert refused["reasons"] == ["no_fund"]
        assert refused["citations"] == ["main.4.1", "R16"]
    # 学生学徒 actual cost 2500 under the 3000 cap (annex3.3 R12), paid to the employer (R15).
    assert at_home == {"claim_id": "C3", "region": "yiwu", "eligible": True, "amount": "2500.00",
                       "payee": "employer", "channel": "county:yiwu", "reasons": [],
                       "citations": ["main.4.4", "R4", "annex3.3", "R12", "R15", "main.4.1",
                                     "R17"], "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}


def test_enterprise_uplift_in_a_county_ends_with_2021(engine, claims_csv):
    apprentice = {"region": "yiwu", "kind": "apprenticeship", "apprentice": "employee",
                  "cost": "9000", "employer_region": "yiwu", "employer_tags": "key_manufacturing",
                  "hukou": "yiwu"}
    in_2021, in_2022 = decide(engine, claims_csv, apprentice, {**apprentice, "date": "2022-03-01"})
    # 职工学徒 cap 6000 × 1.3 = 7800 until 2021-12-31 (main.4.2 R10), then 6000 (annex3.3 R12).
    assert (in_2021["amount"], in_2021["reasons"]) == ("7800.00", ["capped"])
    assert "R10" in in_2021["citations"]
    assert (in_2022["amount"], in_2022["reasons"]) == ("6000.00", ["capped"])
    assert "R10" not in in_2022["citations"]


def test_shortage_and_enterprise_uplifts_do_not_compound(engine, claims_csv):
    (claim,) = decide(engine, claims_csv, qualification(
        "yiwu", ECOMMERCE, "3", hukou="yiwu", employer_tags="trade_friction;self_evaluation"))
    # 高级工 2000: shortage (R7) and trade friction (R10) give ×1.3 once (R11), not 3380;
    # the self-evaluating employer is paid instead of the person (R14).
    assert claim == {"claim_id": "C1", "region": "yiwu", "eligible": True, "amount": "2600.00",
                     "payee": "employer", "channel": "county:yiwu", "reasons": [],
                     "citations": ["main.4.4", "R4", "annex3.1.2", "R5", "R7", "main.4.2", "R10",
                                   "R11", "R14", "main.4.3", "R17"], "status": "provisional",
                 "allowance": "0.00", "allowance_channel": ""}


def test_three_a_year_counts_counties_and_the_urban_area_together(engine, claims_csv):
    pid = person_id(7)
    rows = [
        {"claim_id": "U1", "region": "urban", "occupation": CLERK, "level": "5", "date": "2021-02-01",
         "hukou": "wucheng"},
        {"claim_id": "Y1", "region": "yiwu", "occupation": CLERK, "level": "4", "date": "2021-03-01",
         "hukou": "wucheng"},
        {"claim_id": "D1", "region": "dongyang", "occupation": CARVER, "level": "4",
         "date": "2021-04-01", "residence_permit": "dongyang"},
        {"claim_id": "Y2", "region": "yiwu", "occupation": ECOMMERCE, "level": "4",
         "date": "2021-05-01", "hukou": "wucheng"},
    ]
    claims = [{"person_id": pid, "kind": "qualification", **r} for r in rows]
    decisions, errors = engine.evaluate_file(claims_csv(claims))
    assert errors == []
    got = {d.claim_id: (d.eligible, d.amount, d.channel, d.reasons) for d in decisions}
    # 每人每年不超过3次 (main.4.1 R18), all regions together: the fourth is refused.
    assert got == {
        "U1": (True, 800_00, "city", ()),
        "Y1": (True, 900_00, "county:yiwu", ()),
        "D1": (True, 1170_00, "county:dongyang", ()),  # 900 × 1.3 (R7)
        "Y2": (False, 0, "", ("annual_limit",)),
    }
