"""Golden cases for 婺城区: the four rows of the district's published review of its 2020
department-run project training (公示 2021-12-13, under 金人社发〔2020〕17号), encoded as
programmes in catalogs/wucheng.toml.

Expected figures are the notice's, worked by hand: a programme without its own amount
pays the department standard of annex3.2.2 (25 元 an hour, at most 500 元, R9); one with
an amount pays that flat sum. The review admitted only people with urban 户籍 who draw no
pension, so the programmes restrict eligibility to the 户籍 ground.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.testing import person_id, write_claims_csv

WUCHENG_PROJECT = {"region": "wucheng", "kind": "project", "date": "2020-09-15",
                   "organizer": "department", "organizer_level": "district",
                   "employer_region": "wucheng", "passed": True, "hukou": "wucheng"}

#: The programmes narrow eligibility to urban 户籍 without pension: the notice is cited too.
NOTICE = "金人社发〔2020〕17号:婺城区2020年度部门项目制培训审核公示（2021-12-13）"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


def decide(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]]) -> dict[str, Decision]:
    rows = [{**WUCHENG_PROJECT, "person_id": person_id(n), **r} for n, r in enumerate(rows, start=1)]
    decisions, errors = engine.evaluate_file(write_claims_csv(tmp_path / "claims.csv", rows))
    assert [str(e) for e in errors] == []
    return {d.claim_id: d for d in decisions}


@pytest.mark.parametrize(("code", "hours", "amount", "reasons", "cites"), [
    # 农村建筑工匠: 25 课时 × 25 元 = 625 元, at most 500 元.
    ("WC2020-NCJZGJ", 25, 50_000, ("capped",), ("annex3.2.2", "R9")),
    # 养老护理员: 20 课时 × 25 元 = 500 元.
    ("WC2020-YLHLY", 20, 50_000, (), ("annex3.2.2", "R9")),
    # 退役军人适应性培训: the notice's flat 800 元 for 24 课时.
    ("WC2020-TYJR", 24, 80_000, (), (NOTICE,)),
    # 安全管理: the notice's flat 196 元 for 8 课时.
    ("WC2020-AQGL", 8, 19_600, (), (NOTICE,)),
])
def test_notice_rows(engine, tmp_path, code, hours, amount, reasons, cites):
    d = decide(engine, tmp_path, [{"claim_id": code, "project_code": code, "hours": hours}])[code]
    assert (d.eligible, d.amount, d.payee, d.channel, d.reasons) == (
        True, amount, "organizer", "district:wucheng", reasons)
    for c in (*cites, "annex3.1.1", "R1", "annex3.2.3", "R15", "main.4.1", "R16"):
        assert c in d.citations


def test_the_four_rows_in_one_file(engine, tmp_path):
    rows = [
        {"claim_id": "A", "project_code": "WC2020-NCJZGJ", "hours": 25},
        {"claim_id": "B", "project_code": "WC2020-YLHLY", "hours": 20},
        {"claim_id": "C", "project_code": "WC2020-TYJR", "hours": 24},
        {"claim_id": "D", "project_code": "WC2020-AQGL", "hours": 8},
    ]
    got = {k: d.amount for k, d in decide(engine, tmp_path, rows).items()}
    assert got == {"A": 50_000, "B": 50_000, "C": 80_000, "D": 19_600}
    assert sum(got.values()) == 199_600  # 500 + 500 + 800 + 196 = 1996 元


@pytest.mark.parametrize("code", ["WC2020-NCJZGJ", "WC2020-YLHLY", "WC2020-TYJR", "WC2020-AQGL"])
def test_pensioner_with_urban_hukou_is_excluded(engine, tmp_path, code):
    d = decide(engine, tmp_path, [{"claim_id": "P", "project_code": code, "hours": 24,
                                   "monthly_pension": True}])["P"]
    assert (d.eligible, d.amount, d.reasons, d.citations) == (False, 0, ("not_eligible",), ("annex3.1.1", "R1", NOTICE))


@pytest.mark.parametrize("code", ["WC2020-NCJZGJ", "WC2020-YLHLY", "WC2020-TYJR", "WC2020-AQGL"])
def test_residence_permit_without_urban_hukou_is_excluded(engine, tmp_path, code):
    # R1 would admit a 居住证 holder; the programme restricts the grounds to 户籍.
    d = decide(engine, tmp_path, [{"claim_id": "R", "project_code": code, "hours": 24, "hukou": "yiwu",
                                   "residence_permit": "wucheng"}])["R"]
    assert (d.eligible, d.amount, d.reasons) == (False, 0, ("not_eligible",))


def test_residence_permit_is_enough_outside_the_programmes(engine, tmp_path):
    # The same person on a district department course that is not one of the notice's
    # programmes: R1's 居住证 ground holds; 4 课时 × 25 元 = 100 元.
    d = decide(engine, tmp_path, [{"claim_id": "R", "project_code": "WC2020-OTHER", "hours": 4,
                                   "hukou": "yiwu", "residence_permit": "wucheng"}])["R"]
    assert (d.eligible, d.amount, d.channel) == (True, 10_000, "district:wucheng")


def test_programmes_end_with_2020(engine, tmp_path):
    # In 2021 the code is no longer a programme: the standard applies (24 × 25 = 600 → 500 元).
    d = decide(engine, tmp_path, [{"claim_id": "T", "project_code": "WC2020-TYJR", "hours": 24,
                                   "date": "2021-03-01"}])["T"]
    assert (d.eligible, d.amount, d.reasons) == (True, 50_000, ("capped",))
    assert NOTICE not in d.citations
