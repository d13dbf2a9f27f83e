"""The annual plans (catalogs/plans.toml, core/plans.py) and their checks (R21, R22)."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from jinhua_subsidy.catalog import CatalogError
from jinhua_subsidy.invariants import Finding, check_plans
from jinhua_subsidy.plans import load_plans

PLANS = (files("jinhua_subsidy.catalogs") / "plans.toml").read_text(encoding="utf-8")

#: 附件1, as printed in the policy text (万人次).
ANNEX1 = {"urban": "2.2", "wucheng": "0.6", "jindong": "0.5", "kaifaqu": "0.6", "lanxi": "0.6", "dongyang": "1.3",
          "yiwu": "2.1", "yongkang": "0.9", "pujiang": "0.4", "wuyi": "0.4", "panan": "0.1"}
#: 附件2, as printed in the policy text (万人次).
ANNEX2 = [("市经信局", "1"), ("市教育局", "0.15"), ("市建设局", "0.5"), ("市农业农村局", "0.13"),
          ("市退役军人事务局", "0.1"), ("市应急管理局", "1.9"), ("市民政局", "0.16"), ("市卫生健康委", "0.08"),
          ("市国资委", "0.3"), ("市市场监管局", "0.8"), ("市残联", "0.2"), ("市人力社保局", "2.68")]

NOTE = Finding(file="catalogs/plans.toml", path="annex1.regions", rule="plan", clause="annex1", reading="R21",
               severity="note",
               message="金华市区合计 2.2 万人次，婺城区、金东区、开发区之和 1.7 万人次（0.6 + 0.5 + 0.6），"
                       "相差 0.5 万人次，视为市级统筹部分")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture
def plans_from(tmp_path):
    def load(text: str):
        path = tmp_path / "plans.toml"
        path.write_text(text, encoding="utf-8")
        return load_plans(path), str(path)

    return load


def test_annex1_as_in_the_policy():
    plans = load_plans()
    assert plans.source == "catalogs/plans.toml"
    assert {r.region: r.target for r in plans.annex1.regions} == ANNEX1
    assert len(plans.annex1.regions) == 11
    assert plans.annex1.city_total == "8"
    assert {(r.clause, r.reading) for r in [plans.annex1, *plans.annex1.regions]} == {("annex1", "R21")}


def test_annex2_as_in_the_policy():
    plans = load_plans()
    assert [(d.department, d.target) for d in plans.annex2.departments] == ANNEX2
    assert [d.number for d in plans.annex2.departments] == list(range(1, 13))
    assert plans.annex2.departments[0].task == ("发挥行业主管部门的作用，"
                                                "重点协调组织制造业重点细分行业和数字经济产业的职业技能培训工作。")
    assert plans.annex2.total == "8"
    assert {(d.clause, d.reading) for d in [plans.annex2, *plans.annex2.departments]} == {("annex2", "R22")}


def test_targets_are_exact_decimals():
    plans = load_plans()
    assert sum(d.wan for d in plans.annex2.departments) == Decimal("8")
    assert plans.annex2.departments[11].wan == Decimal("2.68")


def test_shipped_plans_give_only_the_urban_note():
    assert check_plans(load_plans()) == [NOTE]


def test_r22_departments_not_adding_up(plans_from):
    plans, file = plans_from(edit(PLANS, 'target = "2.68"', 'target = "2.7"'))
    found = check_plans(plans)
    assert [(f.file, f.path, f.rule, f.clause, f.reading, f.severity) for f in found] == [
        (file, "annex1.regions", "plan", "annex1", "R21", "note"),
        (file, "annex2.departments", "plan", "annex2", "R22", "error")]
    assert found[1].message == "12 个部门培训计划数之和为 8.02 万人次，与合计 8 万人次不符"


def test_r22_department_total_is_the_city_total(plans_from):
    plans, file = plans_from(edit(PLANS, '\ntotal = "8"', '\ntotal = "9"'))
    found = [f for f in check_plans(plans) if f.severity == "error"]
    assert [(f.file, f.path, f.reading) for f in found] == [(file, "annex2.departments", "R22"),
                                                            (file, "annex2.total", "R22")]
    assert "分部门合计 9 万人次与分地区全市总计 8 万人次不符" in found[1].message


def test_r21_regions_not_adding_up(plans_from):
    plans, file = plans_from(edit(PLANS, '"yiwu"  # 义乌市\ntarget = "2.1"', '"yiwu"\ntarget = "2.0"'))
    found = check_plans(plans)
    assert [(f.file, f.path, f.rule, f.clause, f.reading, f.severity) for f in found] == [
        (file, "annex1.regions", "plan", "annex1", "R21", "error"),
        (file, "annex1.regions", "plan", "annex1", "R21", "note")]
    assert found[0].message == "市区合计与各县（市）培训计划数之和为 7.9 万人次，与全市总计 8 万人次不符"


def test_r21_districts_equal_to_the_urban_total_give_no_note(plans_from):
    plans, _ = plans_from(edit(PLANS, '"jindong"  # 金东区\ntarget = "0.5"', '"jindong"\ntarget = "1.0"'))
    assert check_plans(plans) == []


def test_r21_districts_above_the_urban_total(plans_from):
    plans, file = plans_from(edit(PLANS, '"jindong"  # 金东区\ntarget = "0.5"', '"jindong"\ntarget = "1.1"'))
    found = check_plans(plans)
    assert [(f.file, f.path, f.reading, f.severity) for f in found] == [(file, "annex1.regions", "R21", "error")]
    assert "婺城区、金东区、开发区之和 2.3 万人次（0.6 + 1.1 + 0.6）超过金华市区合计 2.2 万人次" in found[0].message


def test_missing_region(plans_from):
    block = '[[annex1.regions]]\nregion = "panan"  # 磐安县\ntarget = "0.1"\nclause = "annex1"\nreading = "R21"\n'
    plans, _ = plans_from(edit(PLANS, block, ""))
    found = [f for f in check_plans(plans) if f.severity == "error"]
    assert [f.message for f in found] == ["缺少磐安县（panan）的培训计划数",
                                          "市区合计与各县（市）培训计划数之和为 7.9 万人次，与全市总计 8 万人次不符"]


def test_duplicate_department_number(plans_from):
    plans, _ = plans_from(edit(PLANS, "number = 12", "number = 11"))
    found = check_plans(plans)
    errors = [(f.path, f.rule, f.reading) for f in found if f.severity == "error"]
    assert errors == [("annex2.departments[11].number", "plan", "R22")]


def test_unknown_clause_in_plans(plans_from):
    plans, file = plans_from(edit(PLANS, 'target = "0.5"\nclause = "annex2"', 'target = "0.5"\nclause = "annex9"'))
    found = [f for f in check_plans(plans) if f.severity == "error"]
    assert [(f.file, f.path, f.rule, f.clause) for f in found] == [
        (file, "annex2.departments[2].clause", "citation", "annex9")]
    assert "条款编号 annex9 不是金人社发〔2020〕1号的条款编号" in found[0].message


@pytest.mark.parametrize(("old", "new", "path", "fragment"), [
    ('"wucheng"  # 婺城区\ntarget = "0.6"', '"wucheng"\ntarget = 0.6', "annex1.regions[1].target", "expected a string"),
    ('target = "1.3"', 'target = "1,3"', "annex1.regions[5]", "not a target in 万人次"),
    ('region = "lanxi"', 'region = "jinhua"', "annex1.regions[4].region", "'region' must be in"),
    ('unit = "万人次"', 'unit = "万人次"\nyear = 2020', "plans.year", "unknown key"),
    ('department = "市残联"\n', "", "annex2.departments[10].department", "missing key"),
])
def test_broken_plans_do_not_load(plans_from, old, new, path, fragment):
    with pytest.raises(CatalogError) as err:
        plans_from(edit(PLANS, old, new))
    assert [p for p, _ in err.value.problems] == [path]
    assert fragment in err.value.problems[0][1]


HUNDREDTHS = st.integers(min_value=-99, max_value=99).filter(bool)


@given(st.integers(min_value=0, max_value=11), HUNDREDTHS)
def test_r22_any_change_of_one_department_is_found(k, delta):
    plans = load_plans()
    deps = list(plans.annex2.departments)
    new = deps[k].wan + Decimal(delta) / 100
    if new < 0:
        new = deps[k].wan + abs(Decimal(delta)) / 100
    deps[k] = evolve(deps[k], target=str(new))
    broken = evolve(plans, annex2=evolve(plans.annex2, departments=tuple(deps)))
    found = [f for f in check_plans(broken) if f.severity == "error"]
    assert [(f.path, f.reading) for f in found] == [("annex2.departments", "R22")]
    expected = Decimal(8) + new - plans.annex2.departments[k].wan
    assert f"之和为 {format(expected.normalize(), 'f')} 万人次，与合计 8 万人次不符" in found[0].message
