"""``subsidy check --format github|junit`` (findings on the TOML line, for county CI) and
``subsidy catalog REGION`` (the effective catalog, every value with the file it came from)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest
from click.testing import CliRunner

from jinhua_subsidy import manager
from jinhua_subsidy.catalog import line_of, load_catalog_file
from jinhua_subsidy.cli import main
from jinhua_subsidy.plugin_kit import CatalogPlugin

URBAN = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")

LANXI = """\
# 兰溪市：继承市区标准，只写本地不同之处
[catalog]
region = "lanxi"
name = "兰溪市"
inherits = "urban"
title = "兰溪市职业技能培训补贴目录（测试）"
status = "provisional"
note = "测试"

[[uplifts]]
key = "shortage"
kind = "qualification"
on = "shortage"
rate = "0.40"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R7"

[[shortage]]
list = "lanxi-2020"
title = "兰溪市紧缺职业（工种）目录（测试）"
status = "provisional"
occupations = [
    "6-18-02-04",
    "9-99-99-99",
]
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


class EntryPoint:
    name, value, group = "lanxi", "jinhua_lanxi:plugin", "jinhua_subsidy"

    class dist:
        name, version = "jinhua-subsidy-lanxi", "0.1"

    def __init__(self, plugin):
        self.plugin = plugin

    def load(self):
        return self.plugin


@pytest.fixture
def lanxi(tmp_path, monkeypatch):
    """兰溪's catalog at ``catalogs/lanxi.toml`` of a county checkout, the working directory."""

    def install(text: str = LANXI):
        (tmp_path / "catalogs").mkdir(exist_ok=True)
        path = tmp_path / "catalogs" / "lanxi.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(manager.metadata, "entry_points",
                            lambda group: [EntryPoint(CatalogPlugin(path.resolve()))])
        monkeypatch.delenv(manager.NO_AUTOLOAD_ENV, raising=False)
        return path

    return install


def line(text: str, fragment: str, after: str = "") -> int:
    lines = text.splitlines()
    start = next(n for n, ln in enumerate(lines) if after in ln) if after else 0
    return next(n for n, ln in enumerate(lines[start:], start=start + 1) if fragment in ln)


# --- the TOML line of a key path -----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "fragment", "after"), [
    ("qualification[3].amount", 'amount = "900"', ""),
    ("uplift_limit.rate", 'rate = "0.30"', ""),
    ("uplifts[1].tag", 'tag = "trade_friction"', ""),
    ("shortage[0].occupations[1]", '"6-18-01-02"', ""),
    ("eligibility.grounds[2].min_months", "min_months = 6", ""),
    ("funding.rules[4].employer_in[2]", "employer_in =", ""),  # an inline array: the key's line
    ("qualification[2]", "[[qualification]]", 'amount = "2500"'),
    ("funding.rules[0].document", "[[funding.rules]]", "[funding]"),  # not written: the entry's header
    ("", "#", ""),
])
def test_line_of_a_key_path(path, fragment, after):
    want = line(URBAN, fragment, after) if path else 1
    assert line_of(URBAN, path) == want


# --- subsidy check --format github ---------------------------------------------------------------------


def test_github_annotations_point_at_the_toml_line(lanxi):
    lanxi()
    result = CliRunner().invoke(main, ["check", "--format", "github"])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    rate_line = line(LANXI, 'rate = "0.40"')
    code_line = line(LANXI, '"9-99-99-99"')
    assert out[:2] == [
        f"::error file=catalogs/lanxi.toml,line={rate_line},title=subsidy check [R11 main.4.2]::uplifts[0].rate: "
        "上浮 shortage 为 40%25，超过上浮幅度上限 30%25",
        f"::error file=catalogs/lanxi.toml,line={code_line},title=subsidy check [occupation main.4.1]::"
        "shortage[0].occupations[1]: 职业编码 9-99-99-99 不在职业分类词表（catalogs/occupations.toml）中",
    ]
    assert out[2].startswith("::notice file=catalogs/plans.toml,line=")
    assert out[-1] == "2 项不符合，1 项提示"


def test_a_finding_across_files_is_annotated_on_the_childs_line(lanxi):
    # 兰溪's 四级 at 2100 is above the 三级 it inherits from the urban catalog (annex3.1.2 R5).
    text = (LANXI.replace('rate = "0.40"', 'rate = "0.30"').replace('    "9-99-99-99",\n', "")
            + '\n[[qualification]]\noccupation = "*"\nlevel = "4"\namount = "2100"\nstart = 2020-01-07\n'
              'clause = "annex3.1.2"\n')
    lanxi(text)
    result = CliRunner().invoke(main, ["check", "--format", "github"])
    (error,) = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    at = line(text, "2100")
    assert error.startswith(f"::error file=catalogs/lanxi.toml,line={at},"
                            "title=subsidy check [level_order annex3.1.2 R5]::qualification[0].amount: ")
    assert "（catalogs/urban.toml qualification[2]）" in error


def test_special_characters_are_escaped():
    from jinhua_subsidy.cli_kit import github_annotations
    from jinhua_subsidy.invariants import Finding

    f = Finding(file="a,b:c.toml", path="x", rule="R6", clause="main.4.1", message="50%\nnext")
    assert github_annotations([f]) == ["::error file=a%2Cb%3Ac.toml,line=1,title=subsidy check [R6 main.4.1]::"
                                       "x: 50%25%0Anext"]


# --- subsidy check --format junit ----------------------------------------------------------------------


def test_junit_xml_has_a_failure_per_error_and_a_case_per_clean_catalog(lanxi):
    lanxi()
    result = CliRunner().invoke(main, ["check", "--format", "junit"])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    suite = root.find("testsuite")
    assert (root.get("failures"), suite.get("failures")) == ("2", "2")
    cases = suite.findall("testcase")
    failing = [c for c in cases if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name"), c.get("line")) for c in failing] == [
        ("catalogs/lanxi.toml", "uplifts[0].rate [R11 main.4.2]", str(line(LANXI, 'rate = "0.40"'))),
        ("catalogs/lanxi.toml", "shortage[0].occupations[1] [occupation main.4.1]", str(line(LANXI, "9-99-99-99"))),
    ]
    assert failing[0].find("failure").get("message") == "上浮 shortage 为 40%，超过上浮幅度上限 30%"
    clean = {c.get("classname") for c in cases if c.get("name") == "core invariants"}
    assert {"catalogs/urban.toml", "catalogs/wucheng.toml", "catalogs/yiwu.toml", "catalogs/dongyang.toml"} <= clean
    assert int(suite.get("tests")) == len(cases)


def test_junit_on_the_shipped_catalogs_passes():
    result = CliRunner().invoke(main, ["check", "--format", "junit"])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.stdout)
    assert root.get("failures") == "0"


# --- subsidy catalog -----------------------------------------------------------------------------------


def test_catalog_shows_each_value_with_its_file(lanxi):
    lanxi(LANXI.replace('rate = "0.40"', 'rate = "0.25"').replace('    "9-99-99-99",\n', ""))
    result = CliRunner().invoke(main, ["catalog", "lanxi", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["chain"][1:] == ["catalogs/urban.toml"]
    assert doc["chain"][0].endswith("catalogs/lanxi.toml")
    shortage_uplift = [u for u in doc["uplifts"] if u["key"] == "shortage"]
    assert [(u["rate"], u["from"].rsplit(" ", 1)[1]) for u in shortage_uplift] == [("0.25", "uplifts[0]")]
    assert doc["qualification"][3] == {"occupation": "*", "level": "4", "amount": "900.00", "start": "2020-01-07",
                                       "clause": "annex3.1.2", "reading": "R5",
                                       "from": "catalogs/urban.toml qualification[3]"}
    assert doc["uplift_limit"]["from"] == "catalogs/urban.toml uplift_limit"
    assert doc["funding"]["rules"] == [{"channel": "county:lanxi", "clause": "main.4.3", "reading": "R17"}]


def test_catalog_on_a_date_lists_what_is_in_force():
    result = CliRunner().invoke(main, ["catalog", "urban", "--on", "2022-06-01", "--format", "json"])
    doc = json.loads(result.stdout)
    assert [u["key"] for u in doc["uplifts"]] == ["shortage"]  # R10's enterprise uplifts ended 2021-12-31
    result = CliRunner().invoke(main, ["catalog", "urban", "--on", "2021-06-01", "--format", "json"])
    assert len(json.loads(result.stdout)["uplifts"]) == 6


def test_catalog_toml_is_a_catalog_file_itself(tmp_path):
    for region in ("urban", "wucheng", "yiwu", "dongyang"):
        result = CliRunner().invoke(main, ["catalog", region])
        assert result.exit_code == 0, result.output
        assert "# catalogs/" in result.stdout
        path = tmp_path / f"{region}.toml"
        path.write_text(result.stdout, encoding="utf-8")
        printed = load_catalog_file(path)
        assert printed.catalog.region == region


def test_catalog_names_withdrawals(lanxi):
    lanxi(LANXI.replace('rate = "0.40"', 'rate = "0.30"').replace('    "9-99-99-99",\n', "")
          + '\n[[withdrawn]]\ntable = "apprenticeship"\nmatch = { apprentice = "student" }\n'
            'document = "兰人社〔2021〕1号"\nclause = "第五条"\n')
    result = CliRunner().invoke(main, ["catalog", "lanxi"])
    assert result.exit_code == 0, result.output
    assert "撤销了 catalogs/urban.toml apprenticeship[1]（兰人社〔2021〕1号 第五条）" in result.stdout
    assert "#   [[withdrawn]]" in result.stdout
    assert 'apprentice = "student"' not in result.stdout.split("#   [[withdrawn]]")[0]


def test_catalog_of_a_broken_region_is_printed_with_its_findings(lanxi):
    lanxi()
    result = CliRunner().invoke(main, ["catalog", "lanxi"])
    assert result.exit_code == 1
    assert 'rate = "0.40"' in result.stdout
    assert "未通过核心规则检查" in result.stderr and "uplifts[0].rate: [R11 main.4.2]" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["catalog", "nowhere"], "未知地区 'nowhere'"),
    (["catalog", "panan"], "磐安县（panan）尚无补贴目录"),
    (["catalog", "urban", "--on", "2021/01/01"], "--on 须为 YYYY-MM-DD"),
])
def test_catalog_usage_errors(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr
