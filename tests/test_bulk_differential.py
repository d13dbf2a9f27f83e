"""The bulk path (jinhua_subsidy.bulk) against the reference path (Engine.evaluate_file).

Claim sets are generated with hypothesis: every kind, every served region, dates at
the 2021-12-31 end of the enterprise uplift (R10) and before the plan took effect
(2020-01-07: no rate), shortage and non-shortage occupations, the Wucheng programme
codes, review courses, every employer tag, people with 1–6 claims across years (so
R18–R20 bite), repeated claim ids, and rows the contract refuses or spells oddly; written
as CSV (with a BOM, CRLF, blank lines, quotes, fewer or extra columns) or JSON Lines, and
read a few rows at a time as well as whole. Besides the built-in plugins, a throwaway
catalog (PUJIANG) has rules that change within the years, gaps with no rate, own-occupation
rates and the less common uplifts and funding rules. Both paths must give the same
decisions, the same row errors and the same bytes in every output format.

A second test registers a plugin implementing subsidy_review_claim: only its claims take the
slow path, and the results still match.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinhua_subsidy.bulk import CHUNK_ROWS, evaluate_file
from jinhua_subsidy.bulk_write import write_result
from jinhua_subsidy.claims import COLUMNS, Claim
from jinhua_subsidy.decision import Decision, Review
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.output import WRITERS
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.testing import person_id

# The built-in plugins' regions, and 浦江县 from the throwaway catalog PUJIANG below.
REGIONS = ("urban", "wucheng", "jindong", "kaifaqu", "yiwu", "dongyang", "pujiang")
# On the urban, 义乌 and 东阳 shortage lists, and on none of them.
OCCUPATIONS = ("6-18-01-01", "4-10-01-05", "6-18-02-04", "4-01-06-01", "6-05-01-03", "6-09-03-01",
               "6-06-03-01", "4-03-02-01", "4-07-03-05", "3-01-02-06")
PROGRAMMES = ("WC2020-NCJZGJ", "WC2020-YLHLY", "WC2020-TYJR", "WC2020-AQGL")
PROJECT_CODES = (*PROGRAMMES, "P-001", "P-002", "P-003")
TAGS = ("trade_friction", "key_manufacturing", "city_soe", "self_evaluation")
EDGE_DATES = ("2020-01-06", "2020-01-07", "2020-12-31", "2021-01-01", "2021-06-30", "2021-07-01", "2021-12-30",
              "2021-12-31", "2022-01-01", "2022-05-31", "2022-06-01", "2019-12-31")

PUJIANG = '''\
# A throwaway catalog for the differential test (tests/test_bulk_differential.py), not policy:
# 浦江县 as a test region whose rules change within the plan's years, so that the bulk path's
# compiled segments, own-occupation rates, gaps ("no rate" is never 0), shortage lists that change,
# uplifts other than 30% and the less common funding rules are all compared with the reference.

[catalog]
region = "pujiang"
name = "浦江县"
title = "浦江县职业技能培训补贴目录（差分测试用）"
status = "official"

[uplift_limit]
rate = "0.25"
clause = "main.4.2"
reading = "R11"

# Level 1 has no rate from 2021-01-01 to 2021-06-30: claims then are row errors.
[[qualification]]
occupation = "*"
level = "1"
amount = "3000"
start = 2020-01-07
end = 2020-12-31
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "1"
amount = "3100"
start = 2021-07-01
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "2"
amount = "2500"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "3"
amount = "2000"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "4"
amount = "900"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "5"
amount = "800"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R5"

[[qualification]]
occupation = "*"
level = "S"
amount = "600.50"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R5"

# Occupations with rates of their own, for part of the time.
[[qualification]]
occupation = "6-18-01-01"
level = "3"
amount = "2200"
start = 2021-07-01
clause = "annex3.1.2"
reading = "R6"

[[qualification]]
occupation = "4-10-01-05"
level = "5"
amount = "1000"
start = 2020-01-07
end = 2021-06-30
clause = "annex3.1.2"
reading = "R6"

[[project]]
organizers = ["enterprise"]
hour_rate = "30"
cap = "800"
min_hours = 20
start = 2020-01-07
end = 2021-12-31
clause = "annex3.2.2"
reading = "R8"

[[project]]
organizers = ["enterprise"]
hour_rate = "32.50"
cap = "900"
min_hours = 16
start = 2022-01-01
clause = "annex3.2.2"
reading = "R8"

# No standard for colleges: their projects are row errors.
[[project]]
organizers = ["department", "institution"]
hour_rate = "25"
cap = "500"
min_hours = 10
review_amount = "120"
start = 2020-01-07
clause = "annex3.2.2"
reading = "R9"

[[programmes]]
project_code = "P-003"
name = "县级定额项目（测试）"
amount = "333.33"
start = 2021-01-01
clause = "annex3.2.2"

[[programmes]]
project_code = "P-001"
name = "限参保人员项目（测试）"
grounds = ["insured"]
start = 2020-01-07
end = 2021-12-31
clause = "annex3.2.1"

[[apprenticeship]]
apprentice = "employee"
cap = "6000"
start = 2020-01-07
clause = "annex3.3"
reading = "R12"

[[apprenticeship]]
apprentice = "student"
cap = "3000"
start = 2020-01-07
end = 2021-12-31
clause = "annex3.3"
reading = "R12"

[[uplifts]]
key = "shortage"
kind = "qualification"
on = "shortage"
rate = "0.20"
start = 2020-01-07
clause = "annex3.1.2"
reading = "R7"

[[uplifts]]
key = "trade_friction"
kind = "qualification"
on = "employer_tag"
tag = "trade_friction"
rate = "0.30"
start = 2020-01-07
end = 2021-12-31
clause = "main.4.2"
reading = "R10"

[[uplifts]]
key = "key_manufacturing"
kind = "project"
on = "employer_tag"
tag = "key_manufacturing"
organizers = ["enterprise"]
rate = "0.10"
start = 2020-01-07
clause = "annex3.2.2"
reading = "R10"

[[uplifts]]
key = "city_soe"
kind = "apprenticeship"
on = "employer_tag"
tag = "city_soe"
apprentices = ["student"]
rate = "0.15"
start = 2020-01-07
clause = "annex3.3"
reading = "R10"

# Two lists with a gap (2022-01-01 to 2022-05-31): qualification claims then are row errors.
[[shortage]]
list = "pujiang-a"
title = "浦江县紧缺职业（工种）目录（甲，测试）"
status = "official"
occupations = ["6-18-01-01", "4-10-01-05"]
start = 2020-01-07
end = 2021-12-31
clause = "annex3.1.2"
reading = "R7"

[[shortage]]
list = "pujiang-b"
title = "浦江县紧缺职业（工种）目录（乙，测试）"
status = "provisional"
note = "测试用暂定目录。"
occupations = ["4-01-06-01", "6-18-01-01"]
start = 2022-06-01
clause = "annex3.1.2"
reading = "R7"

[eligibility]
area = ["pujiang"]
clause = "main.4.4"
reading = "R4"

[[eligibility.grounds]]
test = "insured"
min_months = 12
clause = "main.4.4"
reading = "R4"

[[eligibility.grounds]]
test = "unemployed"
clause = "main.4.4"
reading = "R4"

[[eligibility.grounds]]
test = "no_pension"
kinds = ["apprenticeship"]
clause = "main.4.4"
reading = "R4"

[[eligibility.grounds]]
test = "hukou"
clause = "main.4.4"
reading = "R4"

[funding]

[[funding.rules]]
kinds = ["qualification"]
levels = ["1", "2"]
channel = "city"
clause = "annex3.4"
reading = "R16"

[[funding.rules]]
kinds = ["qualification"]
channel = "county:pujiang"
clause = "main.4.3"
reading = "R17"

[[funding.rules]]
kinds = ["project"]
organizers = ["department"]
organizer_level = "city"
channel = "city"
clause = "annex3.4"
reading = "R16"

[[funding.rules]]
kinds = ["project"]
tag = "trade_friction"
channel = "county:pujiang"
clause = "main.4.3"
reading = "R17"

[[funding.rules]]
kinds = ["apprenticeship", "project"]
employer_in = ["pujiang", "wuyi"]
channel = "county:{employer_region}"
clause = "main.4.1"
reading = "R17"
'''


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The built-in plugins, and a throwaway one for 浦江县 whose rules change within the years."""
    toml = tmp_path_factory.mktemp("catalog") / "pujiang.toml"
    toml.write_text(PUJIANG, encoding="utf-8")
    e = Engine(get_plugin_manager(autoload=False, extra=[("pujiang_test", CatalogPlugin(toml))]))
    assert set(REGIONS) <= set(e.rulebook.served())
    return e


def assert_same(engine: Engine, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
    """Bulk and reference agree on every decision, every row error, and the written bytes."""
    decisions, errors = engine.evaluate_file(path)
    result = evaluate_file(engine, path, progress=False, chunk_rows=chunk_rows)
    assert result.errors == errors
    assert list(result.decisions()) == decisions
    assert result.rows.tolist() == [d.row for d in decisions]
    for fmt in ("csv", "jsonl", "table"):
        ref, bulk = io.StringIO(), io.StringIO()
        WRITERS[fmt](decisions, ref)
        write_result(result, fmt, bulk, chunk_rows)
        assert bulk.getvalue() == ref.getvalue()


dates = st.one_of(st.sampled_from(EDGE_DATES),
                  st.dates(min_value=dt.date(2020, 1, 7), max_value=dt.date(2023, 12, 31)).map(str))
tag_cells = st.sets(st.sampled_from(TAGS)).map(lambda s: ";".join(sorted(s)) or None)


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    home = draw(st.sampled_from(REGIONS))
    if draw(st.integers(0, 2)) == 0:  # local, many claims in one year: R18 bites
        year = draw(st.sampled_from((2020, 2021, 2022)))
        days = st.dates(min_value=dt.date(year, 1, 7), max_value=dt.date(year, 12, 31)).map(str)
        return {"person_id": person_id(draw(st.integers(0, 999))), "home": home, "hukou": home,
                "monthly_pension": "false", "year": year, "dates": draw(st.lists(days, min_size=1, max_size=3)),
                "occupations": draw(st.lists(st.sampled_from(OCCUPATIONS), min_size=3, max_size=5)),
                "levels": draw(st.lists(st.sampled_from("12345S"), min_size=2, max_size=3)), "crowded": True}
    return {
        "person_id": person_id(draw(st.integers(0, 999))),
        "home": home,
        "hukou": draw(st.sampled_from((home, home, "other", "lanxi", None))),
        "residence_permit": draw(st.sampled_from((None, None, home, "urban"))),
        "insured_region": draw(st.sampled_from((None, home, "other", "wucheng"))),
        "insured_months": draw(st.sampled_from((None, "0", "5", "6", "7", "48"))),
        "unemployed_region": draw(st.sampled_from((None, None, None, home))),
        "monthly_pension": draw(st.sampled_from((None, "false", "false", "true"))),
        "welfare_post": draw(st.sampled_from((None, None, "true", "false"))),
        "welfare_approval": draw(st.sampled_from((None, None, "婺人社审〔2020〕5号"))),
        # Claims crowded into one year, on a few occupations and projects: R18 and R19 bite.
        "year": draw(st.sampled_from((None, 2020, 2021, 2022))),
        "occupations": draw(st.lists(st.sampled_from(OCCUPATIONS), min_size=2, max_size=4)),
        "levels": draw(st.lists(st.sampled_from("12345S"), min_size=1, max_size=3)),
        "crowded": False,
    }


@st.composite
def claims(draw: st.DrawFn, person: dict[str, Any], n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(("qualification", "qualification", "project", "apprenticeship")))
    region = person["home"] if person["crowded"] else draw(st.sampled_from((person["home"], person["home"],
                                                                              *REGIONS)))
    row: dict[str, Any] = {k: v for k, v in person.items()
                           if k not in ("home", "year", "dates", "occupations", "levels", "crowded")}
    year = person["year"]
    if person["crowded"]:  # a few dates: claims of one day are taken by claim id
        date = draw(st.sampled_from(person["dates"]))
    elif year is None or draw(st.integers(0, 3)) == 0:
        date = draw(dates)
    else:
        date = draw(st.dates(min_value=dt.date(year, 1, 1), max_value=dt.date(year, 12, 31)).map(str))
    row |= {"claim_id": f"C{n:03d}", "region": region, "kind": kind, "date": date,
            "employer_tags": draw(tag_cells),
            "employer_region": draw(st.sampled_from((region, region, None, "wucheng", "yiwu", "jindong", "wuyi")))}
    if kind == "qualification":
        row |= {"occupation": draw(st.sampled_from(person["occupations"])),
                "level": draw(st.sampled_from(person["levels"]))}
    elif kind == "project":
        organizer = draw(st.sampled_from(("enterprise", "department", "institution", "college")))
        row |= {"project_code": draw(st.sampled_from(PROJECT_CODES)), "organizer": organizer,
                "organizer_level": draw(st.sampled_from(("city", "district", None)))
                if organizer in ("department", "college") else draw(st.sampled_from((None, "city"))),
                "hours": str(draw(st.sampled_from((0, 8, 19, 20, 24, 25, 26, 40)))),
                "passed": draw(st.sampled_from(("true", "true", "false"))),
                "review": draw(st.sampled_from((None, "false", "true")))}
    else:
        row |= {"apprentice": draw(st.sampled_from(("employee", "student"))),
                "cost": draw(st.sampled_from(("2500", "3000", "3000.01", "5999.99", "7000", "0.5", "0")))}
        row["employer_region"] = row["employer_region"] or region
    return row


def _set(col: str, value: Any) -> Any:
    def change(row: dict[str, Any]) -> None:
        row[col] = value
    return change


def _bad_check_digit(row: dict[str, Any]) -> None:
    pid = row["person_id"]
    row["person_id"] = pid[:17] + ("0" if pid[17] != "0" else "1")


def _drop(col: str) -> Any:
    def change(row: dict[str, Any]) -> None:
        row.pop(col, None)
    return change


def _pad(col: str) -> Any:
    def change(row: dict[str, Any]) -> None:
        if row.get(col) is not None:
            row[col] = f" {row[col]}\t"
    return change


def _upper(col: str) -> Any:
    def change(row: dict[str, Any]) -> None:
        if row.get(col) is not None:
            row[col] = str(row[col]).upper()
    return change


def _wide_person(row: dict[str, Any]) -> None:
    pid = row["person_id"]  # fullwidth digits: still a 居民身份证号 to the reference (\\d), another person
    row["person_id"] = "".join(chr(ord(c) + 0xFEE0) for c in pid[:17]) + pid[17]


#: Rows the contract refuses, and odd spellings it accepts.
ODDITIES = (
    _bad_check_digit, _set("region", "shanghai"), _set("region", "lanxi"), _set("date", "2021-02-30"),
    _set("date", "2021/03/01"), _set("date", "20210301"), _set("date", "2021-W10-1"), _set("date", "2019-12-20"),
    _drop("date"), _drop("claim_id"), _drop("kind"), _drop("occupation"), _drop("project_code"), _drop("hours"),
    _drop("apprentice"), _drop("cost"), _drop("organizer_level"), _drop("employer_region"),
    _set("occupation", "9-99-99-99"), _set("level", "6"), _set("kind", "Qualification"), _set("passed", "yes"),
    _upper("passed"), _upper("monthly_pension"), _upper("review"), _pad("date"), _pad("claim_id"),
    _pad("region"), _pad("occupation"), _set("hours", "007"), _set("hours", "١٢"), _set("hours", "²"),
    _set("hours", "99999999999"), _set("cost", "5."), _set("cost", "1e3"), _set("cost", "-5"),
    _set("cost", "12.345"), _set("cost", "abc"), _set("employer_tags", " city_soe ; trade_friction ;"),
    _set("employer_tags", "bogus"), _set("insured_months", "9999999999"), _set("insured_months", "x"),
    _set("employer_region", "other"), _set("hukou", "nowhere"), _set("organizer", "school"),
    _set("apprentice", "intern"), _wide_person, _set("welfare_approval", "  "), _set("claim_id", "申领甲-1"),
)


@st.composite
def claim_files(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for person in draw(st.lists(people(), min_size=1, max_size=7)):
        for _ in range(draw(st.integers(4 if person["crowded"] else 1, 6))):
            rows.append(draw(claims(person, len(rows))))
    # Claim ids not in row order: on one date the reference takes claims by claim id.
    for row, number in zip(rows, draw(st.permutations(range(len(rows)))), strict=True):
        row["claim_id"] = f"C{number:03d}"
    for row in rows:
        for change in draw(st.lists(st.sampled_from(ODDITIES), max_size=2)) if draw(st.integers(0, 4)) == 0 else ():
            change(row)
        if rows and draw(st.integers(0, 9)) == 0:  # R20: an id submitted again
            row["claim_id"] = draw(st.sampled_from(rows)).get("claim_id") or "C000"
    fmt = draw(st.sampled_from(("csv", "csv", "csv", "jsonl")))
    layout = {
        "chunk_rows": draw(st.sampled_from((CHUNK_ROWS, 1, 3, 10))),  # rows read and decided at a time
        "crlf": draw(st.booleans()), "bom": draw(st.integers(0, 5)) == 0,
        "blank_line": draw(st.integers(0, 7)) == 0, "quoted_id": draw(st.integers(0, 7)) == 0,
        "columns": draw(st.sampled_from(("all", "all", "few", "extra"))),
    }
    return rows, fmt, layout


def write(path: Path, rows: list[dict[str, Any]], fmt: str, layout: dict[str, Any]) -> Path:
    if layout["quoted_id"] and rows:
        rows[0]["claim_id"] = 'Q,1 "x"'
    if fmt == "jsonl":
        lines = [json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False) for r in rows]
        if layout["blank_line"]:
            lines.insert(len(lines) // 2, "")
            lines.append("[1, 2]")  # not an object: a row error of its own
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    columns = list(COLUMNS)
    if layout["columns"] == "few":
        columns = [c for c in columns if c not in ("welfare_post", "welfare_approval", "unemployed_region")]
    elif layout["columns"] == "extra":
        columns = ["note", *columns]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if layout["crlf"] else "\n")
    w.writerow(columns)
    for i, r in enumerate(rows):
        if layout["blank_line"] and i == len(rows) // 2:
            buf.write("\r\n" if layout["crlf"] else "\n")
        w.writerow(["" if r.get(c) is None else r[c] for c in columns])
    path.write_bytes(("\ufeff" if layout["bom"] else "").encode() + buf.getvalue().encode("utf-8"))
    return path


@settings(max_examples=40, deadline=None)
@given(claim_files())
def test_bulk_equals_reference(engine: Engine, case: tuple[list[dict[str, Any]], str, dict[str, Any]]) -> None:
    rows, fmt, layout = case
    with tempfile.TemporaryDirectory() as tmp:
        assert_same(engine, write(Path(tmp) / f"claims.{fmt}", rows, fmt, layout), layout["chunk_rows"])


class ReviewingLanxi(CatalogPlugin):
    """A throwaway county plugin serving 兰溪市 from a copy of the urban catalog, which also
    reviews each claim (subsidy_review_claim): its claims must take the slow path."""

    @hookimpl
    def subsidy_review_claim(self, region: str, claim: Claim, decision: Decision) -> Review | None:
        if claim.kind == "project" and claim.project_code == "P-002":
            return Review(refuse=True, reason="lanxi_cancelled", text="该培训项目已被撤销（测试）", clause="main.5")
        if claim.kind == "qualification" and claim.level == "S":
            return Review(amount=decision.amount // 2, reason="lanxi_halved", text="减半核拨（测试）",
                          clause="main.5")
        return None


def lanxi_plugin(tmp: Path) -> ReviewingLanxi:
    text = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")
    text = text.replace('region = "urban"', 'region = "lanxi"').replace('name = "金华市区"', 'name = "兰溪市"')
    text = text.replace('area = ["urban", "wucheng", "jindong", "kaifaqu"]', 'area = ["lanxi"]')
    text = text.replace('employer_in = ["wucheng", "jindong", "kaifaqu"]', 'employer_in = ["lanxi"]')
    text = text.replace('channel = "district:{employer_region}"', 'channel = "county:{employer_region}"')
    assert 'area = ["lanxi"]' in text and 'employer_in = ["lanxi"]' in text and "county:{" in text
    (tmp / "lanxi.toml").write_text(text, encoding="utf-8")
    return ReviewingLanxi(tmp / "lanxi.toml")


def test_a_reviewing_plugin_takes_only_its_claims_down_the_slow_path(subsidy_engine, tmp_path):
    engine = subsidy_engine(extra=[("lanxi_test", lanxi_plugin(tmp_path))])
    assert engine.rulebook.rules("lanxi").reviewer == "lanxi_test"
    rows = []
    for n in range(60):  # the same people claim in 兰溪 and in the urban area: the limits cross regions
        region = ("lanxi", "urban", "wucheng", "yiwu")[n % 4]
        row = {"claim_id": f"L{n:03d}", "person_id": person_id(n % 5), "region": region,
               "date": f"202{1 + n % 2}-{1 + n % 12:02d}-{1 + n % 28:02d}", "hukou": region if n % 11 else "other",
               "employer_region": region, "employer_tags": ("", "self_evaluation", "key_manufacturing")[n % 3]}
        if n % 3 == 0:
            row |= {"kind": "qualification", "occupation": OCCUPATIONS[n % 7], "level": "S3"[n // 3 % 2]}
        elif n % 3 == 1:
            row |= {"kind": "project", "project_code": ("P-001", "P-002", "P-003")[n // 4 % 3],
                    "organizer": "enterprise", "hours": str(10 + n), "passed": "true"}
        else:
            row |= {"kind": "apprenticeship", "apprentice": "employee", "cost": str(4000 + 100 * n)}
        rows.append(row)
    path = write(tmp_path / "claims.csv", rows, "csv", {"crlf": False, "bom": False, "blank_line": False,
                                                        "quoted_id": False, "columns": "all"})
    decisions, errors = engine.evaluate_file(path)
    assert errors == []
    reasons = {r for d in decisions for r in d.reasons}
    assert {"lanxi_cancelled", "lanxi_halved", "annual_limit"} <= reasons

    slow: list[str] = []
    decide = engine.decide
    engine.decide = lambda claim: (slow.append(claim.region), decide(claim))[1]  # type: ignore[method-assign]
    try:
        assert_same(engine, path, chunk_rows=16)
    finally:
        engine.decide = decide  # type: ignore[method-assign]
    # assert_same ran the reference first (every row), then the bulk path: only 兰溪's rows twice.
    lanxi = sum(r["region"] == "lanxi" for r in rows)
    assert slow.count("lanxi") == 2 * lanxi
    assert len(slow) == len(rows) + lanxi
