"""The invariants of ``subsidy check`` (core/invariants.py), each on a broken catalog.

Broken catalogs are copies of the shipped ones, edited: ``catalogs/urban.toml`` served
as a new region ``testland`` (no parent), or ``catalogs/wucheng.toml`` with the urban rates
written out (it inherits them) served as the district ``jindong`` (parent ``urban``). Each test
asserts the exact findings.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from importlib.resources import files

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from jinhua_subsidy.cli import main
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.invariants import Finding, check_rates, run_checks
from jinhua_subsidy.models import QualificationRate, RateCatalog, UpliftLimit
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.regions import Region

URBAN = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")
WUCHENG = (files("jinhua_subsidy.catalogs") / "wucheng.toml").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old``, which must occur exactly once (so every edit hits what it means to)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


TESTLAND = edit(edit(URBAN, 'region = "urban"', 'region = "testland"'), 'name = "金华市区"', 'name = "测试地"')
# A district that writes every urban rate itself (catalogs/wucheng.toml inherits them): the
# district file with the urban rates section, equal entry by entry, so each can be edited.
JINDONG = WUCHENG + "\n" + URBAN[URBAN.index("[uplift_limit]"):URBAN.index("# --- 紧缺职业")]
for _old, _new in (('region = "wucheng"', 'region = "jindong"'), ('name = "婺城区"', 'name = "金东区"')):
    JINDONG = edit(JINDONG, _old, _new)


def qualification(occupation: str, level: str, amount: str, start: str, end: str | None = None) -> str:
    return f"""
[[qualification]]
occupation = "{occupation}"
level = "{level}"
amount = "{amount}"
start = {start}
{f"end = {end}" if end else ""}
clause = "annex3.1.2"
reading = "R5"
"""


def programme(code: str, start: str, end: str | None = None, grounds: str = "[]") -> str:
    return f"""
[[programmes]]
project_code = "{code}"
name = "测试项目"
grounds = {grounds}
start = {start}
{f"end = {end}" if end else ""}
clause = "annex3.2.2"
"""


@pytest.fixture
def findings_of(subsidy_engine, catalog_plugin):
    """Run every check with ``text`` served as an extra plugin; the findings of its file."""

    def run(text: str, region: str = "testland") -> list[Finding]:
        plugin = catalog_plugin(text)
        engine = subsidy_engine(extra=[(f"test-{region}", plugin)])
        return [f for f in run_checks(engine) if f.file == str(plugin.source)]

    return run


def only(findings: list[Finding], path: str, rule: str, clause: str, fragment: str,
         reading: str | None = None) -> None:
    assert [(f.path, f.rule, f.clause, f.reading, f.severity) for f in findings] == [
        (path, rule, clause, reading, "error")]
    assert fragment in findings[0].message


# --- the shipped catalogs ------------------------------------------------------------------------


def test_shipped_catalogs_have_no_error_and_only_the_annex1_note(subsidy_engine):
    findings = run_checks(subsidy_engine())
    assert [(f.file, f.path, f.rule, f.severity) for f in findings] == [
        ("catalogs/plans.toml", "annex1.regions", "plan", "note")]


def test_run_checks_is_fast(subsidy_engine):
    engine = subsidy_engine()
    run_checks(engine)  # the vocabulary and catalogs are loaded once
    began = time.perf_counter()
    run_checks(engine)
    assert time.perf_counter() - began < 0.3


def test_cli_check_passes_on_shipped_catalogs():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "0 项不符合，1 项提示"


def test_cli_check_json_is_a_list_of_records():
    result = CliRunner().invoke(main, ["check", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["file"], r["rule"], r["clause"], r["reading"], r["severity"]) for r in records] == [
        ("catalogs/plans.toml", "plan", "annex1", "R21", "note")]
    assert set(records[0]) == {"file", "path", "rule", "clause", "message", "severity", "reading"}


def test_cli_check_reports_an_unloadable_catalog_as_findings(monkeypatch, tmp_path):
    import jinhua_subsidy.plugins.wucheng as wucheng

    broken = tmp_path / "wucheng.toml"
    broken.write_text(edit(WUCHENG, 'amount = "196"', "amount = 196.5"), encoding="utf-8")
    monkeypatch.setattr(wucheng, "plugin", CatalogPlugin(broken))
    result = CliRunner().invoke(main, ["check", "--format", "json"])
    assert result.exit_code == 1, result.output
    records = json.loads(result.output)
    assert [(r["file"], r["path"], r["rule"]) for r in records] == [(str(broken), "programmes[3].amount", "format")]
    assert "binary float" in records[0]["message"]


def test_finding_prints_on_one_line():
    f = Finding(file="catalogs/urban.toml", path="qualification[3].amount", rule="R6", clause="main.4.1",
                message="同一工种同一等级在 2020-01-07 有两个补贴标准")
    assert str(f) == ("catalogs/urban.toml: qualification[3].amount: [R6 main.4.1] "
                      "同一工种同一等级在 2020-01-07 有两个补贴标准")
    note = Finding(file="catalogs/plans.toml", path="", rule="plan", clause="annex1", reading="R21",
                   message="相差 0.5 万人次", severity="note")
    assert str(note) == "catalogs/plans.toml: [plan annex1 R21] 提示：相差 0.5 万人次"


def test_unchanged_copies_give_no_findings(findings_of):
    assert findings_of(TESTLAND) == []
    assert findings_of(JINDONG, region="jindong") == []


# --- 1. R6: one rate per occupation × level on any date -----------------------------------------


def test_r6_two_general_rates_for_one_level(findings_of):
    found = findings_of(TESTLAND + qualification("*", "3", "2100", "2021-01-01"))
    only(found, "qualification[6].amount", "R6", "main.4.1",
         "同一工种同一等级在 2021-01-01 有两个补贴标准：qualification[2] 与 qualification[6]"
         "（通用标准（*），三级/高级工）")


def test_r6_two_rates_of_one_occupation(findings_of):
    found = findings_of(TESTLAND + qualification("6-18-01-01", "4", "1000", "2020-01-07")
                        + qualification("6-18-01-01", "4", "1100", "2020-06-01", "2020-12-31"))
    only(found, "qualification[7].amount", "R6", "main.4.1",
         "在 2020-06-01 有两个补贴标准：qualification[6] 与 qualification[7]（职业 6-18-01-01 车工，四级/中级工）")


def test_r6_consecutive_rates_do_not_overlap(findings_of):
    found = findings_of(TESTLAND + qualification("6-18-01-01", "4", "1000", "2020-01-07", "2020-12-31")
                        + qualification("6-18-01-01", "4", "1100", "2021-01-01"))
    assert found == []


# --- 6. other keyed tables: overlapping ranges ----------------------------------------------------

OVERLAPS = {
    "project": ("""
[[project]]
organizers = ["institution"]
hour_rate = "25"
cap = "500"
start = 2021-01-01
clause = "annex3.2.2"
reading = "R9"
""", "project[2].start", "main.4.1", "R6",
                "培训机构组织的项目制培训补贴标准在 2021-01-01 有两项同时有效：project[1] 与 project[2]"),
    "programmes": (programme("TL-1", "2020-01-07", "2020-12-31") + programme("TL-1", "2020-12-31"),
                   "programmes[1].start", "main.4.1", "R6",
                   "培训项目 TL-1 在 2020-12-31 有两项同时有效：programmes[0] 与 programmes[1]"),
    "apprenticeship": ("""
[[apprenticeship]]
apprentice = "student"
cap = "3000"
start = 2021-01-01
clause = "annex3.3"
reading = "R12"
""", "apprenticeship[2].start", "main.4.1", "R6",
                       "学生学徒补贴上限在 2021-01-01 有两项同时有效：apprenticeship[1] 与 apprenticeship[2]"),
    "uplifts": ("""
[[uplifts]]
key = "shortage"
kind = "qualification"
on = "shortage"
rate = "0.30"
start = 2022-01-01
clause = "annex3.1.2"
reading = "R7"
""", "uplifts[6].start", "main.4.1", "R6",
                "职业资格培训补贴的上浮 shortage 在 2022-01-01 有两项同时有效：uplifts[0] 与 uplifts[6]"),
    "shortage": ("""
[[shortage]]
list = "testland-2021"
title = "测试地紧缺目录"
status = "official"
occupations = ["6-18-01-01"]
start = 2021-01-01
clause = "annex3.1.2"
reading = "R7"
""", "shortage[1].start", "annex3.1.2", "R7",
                 "紧缺职业（工种）目录在 2021-01-01 有两项同时有效：shortage[0] 与 shortage[1]"),
}


@pytest.mark.parametrize("table", sorted(OVERLAPS))
def test_overlapping_ranges_of_one_key(findings_of, table):
    snippet, path, clause, reading, fragment = OVERLAPS[table]
    only(findings_of(TESTLAND + snippet), path, "overlap", clause, fragment, reading)


def test_different_keys_may_overlap(findings_of):
    found = findings_of(TESTLAND + programme("TL-1", "2020-01-07") + programme("TL-2", "2020-01-07")
                        + qualification("6-18-01-01", "4", "1000", "2020-01-07"))
    assert found == []


# --- 2. the urban districts use the urban catalog ----------------------------------------------


def test_district_rate_differs_from_urban(findings_of):
    found = findings_of(edit(JINDONG, 'amount = "2000"', 'amount = "2100"'), region="jindong")
    only(found, "qualification[2].amount", "district", "main.4.1",
         "金东区须执行市区统一补贴标准：通用标准（*）三级/高级工（2020-01-07 起）的补贴标准为 2100.00 元，"
         "市区统一标准（catalogs/urban.toml qualification[2]）为 2000.00 元", "R6")


def test_district_project_cap_differs_from_urban(findings_of):
    found = findings_of(edit(JINDONG, 'cap = "800"', 'cap = "900"'), region="jindong")
    only(found, "project[0].cap", "district", "main.4.1",
         "企业组织的项目制培训（2020-01-07 起）的补贴上限为 900.00 元，市区统一标准", "R6")


def test_district_uplift_limit_differs_from_urban(findings_of):
    found = findings_of(edit(JINDONG, '[uplift_limit]\nrate = "0.30"', '[uplift_limit]\nrate = "0.25"'),
                        region="jindong")
    only(found, "uplift_limit.rate", "district", "main.4.1", "上浮合计上限为 25%，市区统一标准为 30%", "R6")


def test_district_uplift_differs_from_urban(findings_of):
    text = edit(JINDONG, 'tag = "trade_friction"\norganizers = ["enterprise"]\nrate = "0.30"',
                'tag = "trade_friction"\norganizers = ["enterprise"]\nrate = "0.20"')
    only(findings_of(text, region="jindong"), "uplifts[3].rate", "district", "main.4.1",
         "项目制培训补贴的上浮 trade_friction（2020-01-07 起至 2021-12-31）的上浮比例为 20%，市区统一标准", "R6")


def test_district_missing_an_urban_rate(findings_of):
    student = """[[apprenticeship]]
apprentice = "student"
cap = "3000"
start = 2020-01-07
clause = "annex3.3"
reading = "R12"
"""
    # Left out, the urban rate is inherited (by entry); withdrawn, the district lacks it.
    assert findings_of(edit(JINDONG, student, ""), region="jindong") == []
    withdrawn = '\n[[withdrawn]]\ntable = "apprenticeship"\nmatch = { apprentice = "student" }\nclause = "main.4.1"\n'
    found = findings_of(edit(JINDONG, student, "") + withdrawn, region="jindong")
    only(found, "apprenticeship", "district", "main.4.1",
         "缺少市区统一标准 apprenticeship[1]：学生学徒（2020-01-07 起）", "R6")


def test_district_programmes_are_its_own(findings_of):
    assert findings_of(edit(JINDONG, 'amount = "196"', 'amount = "300"'), region="jindong") == []


# --- 3. R11: uplifts at most 30% ------------------------------------------------------------------


def test_r11_uplift_above_30_percent(findings_of):
    text = edit(TESTLAND, 'on = "shortage"\nrate = "0.30"', 'on = "shortage"\nrate = "0.35"')
    only(findings_of(text), "uplifts[0].rate", "R11", "main.4.2", "上浮 shortage 为 35%，超过上浮幅度上限 30%")


def test_r11_uplift_limit_above_30_percent(findings_of):
    text = edit(TESTLAND, '[uplift_limit]\nrate = "0.30"', '[uplift_limit]\nrate = "0.40"')
    only(findings_of(text), "uplift_limit.rate", "R11", "main.4.2", "上浮合计上限为 40%")


# --- 4. no negative amounts -------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "path", "clause", "reading", "fragment"), [
    ('amount = "800"', 'amount = "-800"', "qualification[4].amount", "annex3.1.2", "R5", "金额为负数：-800.00 元"),
    ('hour_rate = "30"', 'hour_rate = "-30"', "project[0].hour_rate", "annex3.2.2", "R8", "-30.00 元"),
    ('review_amount = "100"', 'review_amount = "-100"', "project[1].review_amount", "annex3.2.2", "R9", "-100.00 元"),
    ('cap = "3000"', 'cap = "-3000"', "apprenticeship[1].cap", "annex3.3", "R12", "-3000.00 元"),
    ('apprentices = ["employee"]\nrate = "0.30"', 'apprentices = ["employee"]\nrate = "-0.30"',
     "uplifts[5].rate", "annex3.3", "R10", "上浮比例为负数：-30%"),
])
def test_negative_amounts(findings_of, old, new, path, clause, reading, fragment):
    only(findings_of(edit(TESTLAND, old, new)), path, "negative", clause, fragment, reading)


def test_negative_programme_amount(findings_of):
    text = TESTLAND + edit(programme("TL-1", "2020-01-07"), 'name = "测试项目"', 'name = "测试项目"\namount = "-5"')
    only(findings_of(text), "programmes[0].amount", "negative", "annex3.2.2", "-5.00 元")


# --- 5. a higher level never pays less --------------------------------------------------------------


def test_level_order_general_rates(findings_of):
    found = findings_of(edit(TESTLAND, 'amount = "900"', 'amount = "2100"'))
    only(found, "qualification[3].amount", "level_order", "annex3.1.2",
         "通用标准（*）在 2020-01-07 四级/中级工补贴 2100.00 元，"
         "高于三级/高级工的 2000.00 元（qualification[2]）", "R5")


def test_level_order_own_rate_against_general_rate_from_its_start(findings_of):
    found = findings_of(TESTLAND + qualification("6-18-01-01", "5", "1000", "2021-01-01"))
    only(found, "qualification[6].amount", "level_order", "annex3.1.2",
         "职业 6-18-01-01 车工在 2021-01-01 五级/初级工补贴 1000.00 元，"
         "高于四级/中级工的 900.00 元（qualification[3]）", "R5")


def test_level_order_after_an_own_rate_ends(findings_of):
    # Until 2020-12-31 level 2 pays 2600 for 车工; from 2021-01-01 it falls back to the general 2500,
    # below 车工's own level 3 rate of 2550.
    found = findings_of(TESTLAND + qualification("6-18-01-01", "2", "2600", "2020-01-07", "2020-12-31")
                        + qualification("6-18-01-01", "3", "2550", "2020-01-07"))
    only(found, "qualification[7].amount", "level_order", "annex3.1.2",
         "职业 6-18-01-01 车工在 2021-01-01 三级/高级工补贴 2550.00 元，高于二级/技师的 2500.00 元（qualification[1]）",
         "R5")


def test_special_certificate_is_not_ordered(findings_of):
    assert findings_of(edit(TESTLAND, 'amount = "600"', 'amount = "5000"')) == []


LEVEL_AMOUNTS = st.lists(st.integers(min_value=0, max_value=500_000), min_size=5, max_size=5)


@given(LEVEL_AMOUNTS)
def test_level_order_finds_each_adjacent_inversion(amounts):
    start = dt.date(2020, 1, 7)
    rc = RateCatalog(
        region="x", title="x", status="official", uplift_limit=UpliftLimit(rate=3000, clause="main.4.2"),
        qualification=tuple(QualificationRate(occupation="*", level=str(n + 1), amount=a, start=start,
                                              clause="annex3.1.2") for n, a in enumerate(amounts)))
    found = [f for f in check_rates(rc, "x.toml", {}) if f.rule == "level_order"]
    inversions = [n + 1 for n in range(4) if amounts[n] < amounts[n + 1]]
    assert [f.path for f in found] == [f"qualification[{n}].amount" for n in inversions]


DAY = st.integers(min_value=0, max_value=40)


@given(DAY, st.one_of(st.none(), DAY), DAY, st.one_of(st.none(), DAY))
def test_r6_iff_some_day_has_two_rates(s1, e1, s2, e2):
    base = dt.date(2020, 1, 7)
    e1 = None if e1 is None else max(e1, s1)
    e2 = None if e2 is None else max(e2, s2)

    def rate(s: int, e: int | None) -> QualificationRate:
        return QualificationRate(occupation="*", level="3", amount=200000, start=base + dt.timedelta(days=s),
                                 end=None if e is None else base + dt.timedelta(days=e), clause="annex3.1.2")

    rc = RateCatalog(region="x", title="x", status="official",
                     uplift_limit=UpliftLimit(rate=3000, clause="main.4.2"), qualification=(rate(s1, e1), rate(s2, e2)))
    both = [d for d in range(100) if s1 <= d <= (99 if e1 is None else e1) and s2 <= d <= (99 if e2 is None else e2)]
    found = [f for f in check_rates(rc, "x.toml", {}) if f.rule == "R6"]
    assert len(found) == (1 if both else 0)
    if both:
        assert f"在 {base + dt.timedelta(days=both[0])} 有两个补贴标准" in found[0].message


# --- 7. occupation codes exist ----------------------------------------------------------------------


def test_unknown_occupation_in_a_rate(findings_of):
    only(findings_of(TESTLAND + qualification("9-99-99-99", "5", "800", "2020-01-07")),
         "qualification[6].occupation", "occupation", "main.4.1", "职业编码 9-99-99-99 不在职业分类词表")


def test_unknown_occupation_in_a_shortage_list(findings_of):
    text = edit(TESTLAND, '"4-10-01-03",  # 保育师', '"4-10-01-03",  # 保育师\n    "9-99-99-99",')
    only(findings_of(text), "shortage[0].occupations[8]", "occupation", "main.4.1", "职业编码 9-99-99-99")


# --- 8. R17: every fund exists ----------------------------------------------------------------------


def test_unknown_fund(findings_of):
    text = edit(TESTLAND, 'levels = ["S"]\nchannel = "city"', 'levels = ["S"]\nchannel = "province"')
    only(findings_of(text), "funding.rules[0].channel", "fund", "annex3.4", "资金渠道 province 不存在", "R17")


def test_employer_region_channel_needs_employer_in(findings_of):
    text = edit(TESTLAND, 'employer_in = ["wucheng", "jindong", "kaifaqu"]\n', "")
    only(findings_of(text), "funding.rules[4].employer_in", "fund", "annex3.4", "须列出 employer_in", "R17")


def test_employer_region_channel_expands_to_existing_funds(findings_of):
    text = edit(TESTLAND, 'employer_in = ["wucheng", "jindong", "kaifaqu"]',
                'employer_in = ["wucheng", "jindong", "kaifaqu", "lanxi"]')
    only(findings_of(text), "funding.rules[4].employer_in[3]", "fund", "annex3.4", "资金渠道 district:lanxi 不存在",
         "R17")


# --- 9. every value is cited -------------------------------------------------------------------------


def test_unknown_clause_of_the_policy(findings_of):
    text = edit(TESTLAND, 'level = "1"\namount = "3000"\nstart = 2020-01-07\nclause = "annex3.1.2"',
                'level = "1"\namount = "3000"\nstart = 2020-01-07\nclause = "annex3.9"')
    only(findings_of(text), "qualification[0].clause", "citation", "annex3.9",
         "条款编号 annex3.9 不是金人社发〔2020〕1号的条款编号")


def test_unknown_clause_of_the_eligibility(findings_of):
    text = edit(TESTLAND, 'area = ["urban", "wucheng", "jindong", "kaifaqu"]\nclause = "annex3.1.1"',
                'area = ["urban", "wucheng", "jindong", "kaifaqu"]\nclause = "annex3.1.9"')
    only(findings_of(text), "eligibility.clause", "citation", "annex3.1.9", "条款编号 annex3.1.9")


def test_clause_of_another_document_is_its_own(findings_of):
    text = TESTLAND + edit(programme("TL-1", "2020-01-07"), 'clause = "annex3.2.2"',
                           'document = "金人社发〔2020〕17号"\nclause = "公示（2021-12-13）"')
    assert findings_of(text) == []


# --- loading, eligibility, coverage -----------------------------------------------------------------


class LazyCatalog(CatalogPlugin):
    """Declares its region without reading the file, so the file is first read when asked for data."""

    def __init__(self, source, region: Region) -> None:
        super().__init__(source)
        self.region = region

    @hookimpl
    def subsidy_regions(self):
        return [self.region]


def test_unloadable_catalog_becomes_format_findings(subsidy_engine, tmp_path):
    path = tmp_path / "testland.toml"
    level1 = 'amount = "3000"\nstart = 2020-01-07\nclause = "annex3.1.2"\nreading = "R5"'
    text = edit(edit(TESTLAND, 'amount = "800"', "amount = 800.0"), level1, level1.replace("R5", "R30"))
    path.write_text(text, encoding="utf-8")
    engine = subsidy_engine(extra=[("lazy", LazyCatalog(path, Region(key="testland", name="测试地")))])
    found = [f for f in run_checks(engine) if f.file == str(path)]
    assert [(f.path, f.rule, f.severity) for f in found] == [
        ("qualification[0].reading", "format", "error"), ("qualification[4].amount", "format", "error")]
    assert "R1…R28" in found[0].message
    assert "binary float" in found[1].message


def test_insured_ground_needs_min_months(findings_of):
    only(findings_of(edit(TESTLAND, "min_months = 6\n", "")), "eligibility.grounds[2].min_months", "eligibility",
         "annex3.1.1", "须写明缴费月数 min_months", "R2")


def test_programme_grounds_must_be_the_regions(findings_of):
    found = findings_of(TESTLAND + programme("TL-1", "2020-01-07", grounds='["hukou", "welfare_post"]')
                        + programme("TL-2", "2020-01-07", grounds='["no_pension"]'))
    only(found, "programmes[1].grounds[0]", "eligibility", "main.4.4",
         "培训项目 TL-2 限定的条件 no_pension（确有培训需求、不具有按月领取养老金资格的人员）"
         "不在测试地（testland）", "R4")


def test_region_without_full_rules_is_a_note(findings_of):
    found = findings_of(TESTLAND[:TESTLAND.index("[funding]")])
    assert [(f.path, f.rule, f.severity) for f in found] == [("", "coverage", "note")]
    assert "测试地（testland）尚无完整补贴规则（缺少 subsidy_funding）" in found[0].message


def test_inherited_catalog_is_checked_once(subsidy_engine, catalog_plugin):
    parent = catalog_plugin(TESTLAND + qualification("*", "3", "2100", "2021-01-01"), name="testland.toml")
    child = catalog_plugin('[catalog]\nregion = "testkid"\nname = "测试子区"\nparent = "testland"\n'
                           'title = "测试子区目录"\nstatus = "official"\n', name="testkid.toml")
    engine = subsidy_engine(extra=[("testland", parent), ("testkid", child)])
    found = [f for f in run_checks(engine) if f.file in (str(parent.source), str(child.source))]
    assert [(f.file, f.path, f.rule) for f in found] == [(str(parent.source), "qualification[6].amount", "R6")]
