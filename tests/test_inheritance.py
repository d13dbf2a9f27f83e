"""Inheritance by entry (core/inheritance.py): a catalog that names a parent says only what is
its own. Every catalog here is written in the test: a county 兰溪市 that ``inherits`` the urban
rates, districts under it, and chains of them.
"""

from __future__ import annotations

import attrs
import pytest

from jinhua_subsidy.catalog import CatalogError, load_catalog_file
from jinhua_subsidy.inheritance import ENTRY_KEYS, entry_class, key_fields, rate_tables
from jinhua_subsidy.invariants import run_checks
from jinhua_subsidy.models import RateCatalog
from jinhua_subsidy.regions import Region
from jinhua_subsidy.rulebook import BrokenCatalog, NoParentRates
from jinhua_subsidy.testing import person_id

HEAD = """[catalog]
region = "lanxi"
name = "兰溪市"
inherits = "urban"
title = "兰溪市职业技能培训补贴目录（测试）"
status = "official"
"""

#: A county's own sections: its shortage list, eligibility and fund (main.4.1, main.4.4, main.4.3).
SECTIONS = """
[[shortage]]
list = "lanxi-2020"
title = "兰溪市紧缺职业（工种）目录（测试）"
status = "official"
occupations = ["6-18-02-04"]  # 焊工
start = 2020-01-07
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

LEVEL4 = """
[[qualification]]
occupation = "*"
level = "4"
amount = "950"
start = 2020-01-07
document = "兰人社〔2020〕9号"
clause = "第二条"
"""

COLLEGE = """
[[project]]
organizers = ["college"]
hour_rate = "28"
cap = "560"
start = 2020-01-07
document = "兰人社〔2020〕9号"
clause = "第三条"
"""

NO_APPRENTICE_UPLIFT = """
[[withdrawn]]
table = "uplifts"
match = { kind = "apprenticeship", key = "key_manufacturing" }
document = "兰人社〔2020〕9号"
clause = "第四条"
note = "本市学徒制补贴不上浮"
"""


@pytest.fixture
def lanxi(subsidy_engine, catalog_plugin):
    """An engine with the built-ins and a 兰溪 catalog of the given own entries."""

    def make(own: str = "", sections: str = SECTIONS, head: str = HEAD, extra=()):
        plugin = catalog_plugin(head + own + sections, name="lanxi.toml")
        engine = subsidy_engine(extra=[("lanxi", plugin), *extra])
        return engine, str(plugin.source)

    return make


def certificate(level: str, region: str = "lanxi", occupation: str = "4-03-02-01", **more):
    seed = (int(level) if level.isdigit() else 9) + 10 * sum(map(ord, region))
    return {"claim_id": f"{region}-{level}", "person_id": person_id(seed),
            "region": region, "kind": "qualification", "date": "2021-06-01", "occupation": occupation,
            "level": level, "hukou": region, **more}


# --- the tables ------------------------------------------------------------------------------------


def test_every_table_of_the_rate_catalog_is_merged_by_a_key():
    tables = tuple(f.name for f in attrs.fields(RateCatalog) if f.name in rate_tables())
    assert rate_tables() == tables
    assert {"qualification", "project", "programmes", "apprenticeship", "entrepreneurship", "uplifts"} <= set(tables)
    for table in tables:  # a table added to the model later is keyed by fields its entries have
        assert set(key_fields(table)) <= {f.name for f in attrs.fields(entry_class(table))}
    assert key_fields("qualification") == ("occupation", "level")
    assert key_fields("uplifts") == ("kind", "key")
    assert set(ENTRY_KEYS) >= {"qualification", "project", "programmes", "apprenticeship", "entrepreneurship",
                               "uplifts"}


# --- overrides ---------------------------------------------------------------------------------------


def test_a_county_inheriting_everything_pays_the_urban_rates(lanxi, claims_csv):
    engine, _ = lanxi()
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4"), certificate("4", region="urban",
                                                                                     hukou="wucheng")]))
    assert errors == []
    got = {d.claim_id: d for d in decisions}
    assert got["lanxi-4"].amount == got["urban-4"].amount == 90_000  # annex3.1.2 R5, inherited
    assert got["lanxi-4"].channel == "county:lanxi"  # the county's own fund


def test_an_entry_overrides_the_parents_entry_of_its_key_and_nothing_else(lanxi, claims_csv):
    engine, file = lanxi(LEVEL4)
    eff = engine.rulebook.rules("lanxi").effective
    levels = {(q.occupation, q.level): (q.amount, str(o)) for q, o in
              zip(eff.rates.qualification, eff.origins["qualification"], strict=True)}
    assert levels[("*", "4")] == (95_000, f"{file} qualification[0]")
    assert levels[("*", "3")] == (200_000, "catalogs/urban.toml qualification[2]")
    assert len(eff.rates.qualification) == 6
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4"), certificate("3")]))
    assert errors == []
    assert [d.amount for d in decisions] == [95_000, 200_000]
    assert "兰人社〔2020〕9号:第二条" in decisions[0].citations


def test_an_organiser_taken_over_narrows_the_inherited_standard(lanxi):
    engine, file = lanxi(COLLEGE)
    eff = engine.rulebook.rules("lanxi").effective
    assert [(p.organizers, str(o)) for p, o in zip(eff.rates.project, eff.origins["project"], strict=True)] == [
        (("enterprise",), "catalogs/urban.toml project[0]"),
        (("department", "institution"), "catalogs/urban.toml project[1]"),
        (("college",), f"{file} project[0]"),
    ]


def test_uplift_limit_is_inherited_unless_given(lanxi):
    engine, _ = lanxi()
    eff = engine.rulebook.rules("lanxi").effective
    assert eff.rates.uplift_limit.rate == 3000
    assert str(eff.origins["uplift_limit"][0]) == "catalogs/urban.toml uplift_limit"


def test_header_is_the_childs_and_provisional_is_inherited(lanxi, catalog_plugin):
    engine, file = lanxi(LEVEL4)
    rates = engine.rulebook.rules("lanxi").rates
    assert (rates.region, rates.title, rates.status, rates.source) == (
        "lanxi", "兰溪市职业技能培训补贴目录（测试）", "official", file)
    # A county inheriting from the provisional 义乌 catalog is provisional too.
    engine, _ = lanxi(LEVEL4, head=HEAD.replace('inherits = "urban"', 'inherits = "yiwu"'))
    assert engine.rulebook.rules("lanxi").rates.status == "provisional"


# --- withdrawals -------------------------------------------------------------------------------------


def test_a_withdrawn_entry_is_gone_with_its_citation(lanxi, claims_csv):
    engine, file = lanxi(NO_APPRENTICE_UPLIFT)
    eff = engine.rulebook.rules("lanxi").effective
    assert ("apprenticeship", "key_manufacturing") not in {(u.kind, u.key) for u in eff.rates.uplifts}
    assert len(eff.rates.uplifts) == 5
    (removed,) = eff.withdrawn
    assert str(removed.origin) == f"{file} withdrawn[0]"
    assert [str(o) for o in removed.removed] == ["catalogs/urban.toml uplifts[5]"]
    assert str(removed.withdrawal.citation) == "兰人社〔2020〕9号 第四条"
    apprentice = {"claim_id": "A", "person_id": person_id(1), "region": "lanxi", "kind": "apprenticeship",
                  "date": "2021-06-01", "apprentice": "employee", "cost": "7000", "employer_region": "lanxi",
                  "employer_tags": "key_manufacturing", "hukou": "lanxi"}
    decisions, errors = engine.evaluate_file(claims_csv([apprentice]))
    assert errors == []
    assert decisions[0].amount == 600_000  # the cap, not raised (annex3.3 R12)


def test_a_withdrawal_that_matches_nothing_is_a_finding_and_stops_the_region(lanxi, claims_csv):
    engine, file = lanxi(NO_APPRENTICE_UPLIFT.replace("key_manufacturing", "trade_friction"))
    found = [f for f in run_checks(engine) if f.file == file]
    assert [(f.path, f.rule, f.severity) for f in found] == [("withdrawn[0]", "inherit", "error")]
    assert "上级目录（catalogs/urban.toml）没有可撤销的 uplifts 条目" in found[0].message
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4"), certificate("4", region="urban")]))
    assert [d.claim_id for d in decisions] == ["urban-4"]
    assert [e.message.split("（兰溪市")[0] for e in errors] == [str(found[0])]


def test_withdrawing_and_giving_one_key_is_a_finding(lanxi):
    withdraw = ('\n[[withdrawn]]\ntable = "qualification"\nmatch = { occupation = "*", level = "4" }\n'
                'clause = "main.4.1"\n')
    engine, file = lanxi(LEVEL4 + withdraw)
    found = [f for f in run_checks(engine) if f.file == file]
    assert [(f.path, f.rule) for f in found] == [("withdrawn[0]", "inherit")]
    assert "既撤销又在本文件中给出" in found[0].message


def test_a_withdrawal_is_cited_and_checked(lanxi):
    engine, file = lanxi(NO_APPRENTICE_UPLIFT.replace('document = "兰人社〔2020〕9号"\nclause = "第四条"',
                                                      'clause = "main.9"'))
    found = [f for f in run_checks(engine) if f.file == file]
    assert [(f.path, f.rule) for f in found] == [("withdrawn[0].clause", "citation")]


@pytest.mark.parametrize(("text", "line"), [
    ('[[withdrawn]]\ntable = "rates"\nmatch = {}\nclause = "main.4.1"\n',
     "withdrawn[0].table: 'rates' is not a rate table"),
    ('[[withdrawn]]\ntable = "uplifts"\nmatch = { key = "shortage" }\nclause = "main.4.1"\n',
     "withdrawn[0].match: a uplifts entry is withdrawn by kind, key"),
    ('[[withdrawn]]\ntable = "apprenticeship"\nmatch = { apprentice = 1 }\nclause = "main.4.1"\n',
     "withdrawn[0].match.apprentice: expected a string, got 1"),
    ('[[withdrawn]]\ntable = "apprenticeship"\nmatch = { apprentice = "student" }\n',
     "withdrawn[0].clause: missing citation"),
])
def test_a_malformed_withdrawal_is_a_loading_error(tmp_path, text, line):
    path = tmp_path / "lanxi.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog_file(path, "lanxi.toml")
    assert f"lanxi.toml: {line}" in str(err.value)


def test_withdrawing_without_a_parent_is_a_loading_error(tmp_path):
    path = tmp_path / "lanxi.toml"
    path.write_text(HEAD.replace('inherits = "urban"\n', "") + NO_APPRENTICE_UPLIFT, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog_file(path, "lanxi.toml")
    assert "lanxi.toml: withdrawn: a catalog without a parent (or inherits) has nothing to withdraw" in str(err.value)


# --- chains ------------------------------------------------------------------------------------------


def district_plugin(catalog_plugin, key: str, name: str, parent: str, own: str = "", inherits: str = ""):
    text = (f'[catalog]\nregion = "{key}"\nname = "{name}"\nparent = "{parent}"\n'
            + (f'inherits = "{inherits}"\n' if inherits else "")
            + f'title = "{name}目录（测试）"\nstatus = "official"\n' + own)
    return catalog_plugin(text, name=f"{key}.toml")


def test_a_chain_of_three_names_each_file(lanxi, catalog_plugin, claims_csv):
    zhen = district_plugin(catalog_plugin, "lanxi_zhen", "兰溪某镇", "lanxi", own=COLLEGE.replace('"28"', '"27"'))
    engine, file = lanxi(LEVEL4 + COLLEGE, extra=[("zhen", zhen)])
    rules = engine.rulebook.rules("lanxi_zhen")
    eff = rules.effective
    assert eff.chain == (str(zhen.source), file, "catalogs/urban.toml")
    origin = {p.organizers: str(o) for p, o in zip(eff.rates.project, eff.origins["project"], strict=True)}
    assert origin == {("enterprise",): "catalogs/urban.toml project[0]",
                      ("department", "institution"): "catalogs/urban.toml project[1]",
                      ("college",): f"{zhen.source} project[0]"}
    assert {q.level: q.amount for q in eff.rates.qualification}["4"] == 95_000  # 兰溪's, inherited
    assert rules.funding.rules[0].channel == "county:lanxi"  # sections: the parent region's
    assert [f for f in run_checks(engine) if f.severity == "error"] == []


def test_inheriting_from_a_region_without_rates(lanxi, claims_csv):
    engine, file = lanxi(LEVEL4, head=HEAD.replace('inherits = "urban"', 'inherits = "panan"'))
    with pytest.raises(NoParentRates):
        engine.rulebook.rules("lanxi")
    found = [f for f in run_checks(engine) if f.file == file]
    assert [(f.path, f.rule) for f in found] == [("catalog.inherits", "inherit")]
    assert "继承自 磐安县（panan），但该地区尚无补贴目录" in found[0].message
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4")]))
    assert decisions == [] and "但该地区尚无补贴目录" in errors[0].message


def test_a_loop_of_inheritance_is_an_error(lanxi, catalog_plugin):
    pujiang = catalog_plugin(HEAD.replace('"lanxi"', '"pujiang"').replace('"兰溪市"', '"浦江县"')
                             .replace('inherits = "urban"', 'inherits = "lanxi"') + LEVEL4, name="pujiang.toml")
    engine, _ = lanxi(LEVEL4, head=HEAD.replace('inherits = "urban"', 'inherits = "pujiang"'),
                         extra=[("pujiang", pujiang)])
    with pytest.raises(NoParentRates) as err:
        engine.rulebook.rules("lanxi")
    assert "补贴目录的继承关系成环：lanxi → pujiang → lanxi" in str(err.value)


# --- the guard follows the chain ---------------------------------------------------------------------


def test_a_broken_parent_stops_its_children_and_names_the_parents_file(lanxi, catalog_plugin, claims_csv):
    parent_text = (HEAD.replace('"lanxi"', '"pujiang"').replace('"兰溪市"', '"浦江县"')
                   + '\n[[uplifts]]\nkey = "shortage"\nkind = "qualification"\non = "shortage"\nrate = "0.40"\n'
                     'start = 2020-01-07\nclause = "annex3.1.2"\nreading = "R7"\n'
                   + SECTIONS.replace("lanxi", "pujiang"))
    pujiang = catalog_plugin(parent_text, name="pujiang.toml")
    engine, _ = lanxi(LEVEL4, head=HEAD.replace('inherits = "urban"', 'inherits = "pujiang"'),
                         extra=[("pujiang", pujiang)])
    with pytest.raises(BrokenCatalog) as err:
        engine.rulebook.rules("lanxi")
    assert str(err.value).startswith(f"{pujiang.source}: uplifts[0].rate: [R11 main.4.2] 上浮 shortage 为 40%")
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4"), certificate("4", region="urban")]))
    assert [d.claim_id for d in decisions] == ["urban-4"]
    assert f"{pujiang.source}: uplifts[0].rate: [R11 main.4.2]" in errors[0].message


def test_a_finding_across_files_names_both(lanxi):
    # 兰溪's 四级 at 2100 is above the inherited urban 三级 (2000): annex3.1.2 R5.
    engine, file = lanxi(LEVEL4.replace('"950"', '"2100"'))
    found = [f for f in run_checks(engine) if f.file == file]
    assert [(f.path, f.rule) for f in found] == [("qualification[0].amount", "level_order")]
    assert "高于三级/高级工的 2000.00 元（catalogs/urban.toml qualification[2]）" in found[0].message


# --- districts ---------------------------------------------------------------------------------------


def test_a_district_inherits_the_urban_rates_and_keeps_its_programmes(subsidy_engine, catalog_plugin):
    programme = ('\n[[programmes]]\nproject_code = "JD-1"\nname = "测试项目"\namount = "300"\n'
                 'start = 2020-01-07\ndocument = "金东区公示"\nclause = "第一条"\n')
    plugin = district_plugin(catalog_plugin, "jindong", "金东区", "urban", own=programme)
    engine = subsidy_engine(extra=[("jindong", plugin)])
    eff = engine.rulebook.rules("jindong").effective
    urban = engine.rulebook.rules("urban").rates
    for table in ("qualification", "project", "apprenticeship", "uplifts"):
        assert getattr(eff.rates, table) == getattr(urban, table)
    assert [p.project_code for p in eff.rates.programmes] == ["JD-1"]
    assert [f for f in run_checks(engine) if f.file == str(plugin.source)] == []


def test_a_district_overriding_an_urban_rate_breaks_the_district_invariant(subsidy_engine, catalog_plugin,
                                                                           claims_csv):
    plugin = district_plugin(catalog_plugin, "jindong", "金东区", "urban", own=LEVEL4)
    engine = subsidy_engine(extra=[("jindong", plugin)])
    found = [f for f in run_checks(engine) if f.file == str(plugin.source)]
    assert [(f.path, f.rule) for f in found] == [("qualification[0].amount", "district")]
    assert "补贴标准为 950.00 元，市区统一标准（catalogs/urban.toml qualification[3]）为 900.00 元" in found[0].message
    decisions, errors = engine.evaluate_file(claims_csv([certificate("4", region="jindong")]))
    assert decisions == [] and "[district main.4.1 R6]" in errors[0].message


def test_a_region_declared_by_code_can_inherit(subsidy_engine, catalog_plugin):
    from jinhua_subsidy.hookspecs import hookimpl
    from jinhua_subsidy.inheritance import RateOverrides

    class Code:
        @hookimpl
        def subsidy_regions(self):
            return [Region(key="kaifaqu", name="开发区", parent="urban")]

        @hookimpl
        def subsidy_rates(self, region):
            return RateOverrides(region="kaifaqu", inherits="urban", title="开发区目录", status="official",
                                 source="开发区插件")

    engine = subsidy_engine(extra=[("kaifaqu", Code())])
    rules = engine.rulebook.rules("kaifaqu")
    assert rules.rates.title == "开发区目录"
    assert rules.rates.qualification == engine.rulebook.rules("urban").rates.qualification
