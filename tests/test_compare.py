"""The bureau's commands (issue 10): compare rates, compare claims, diff, coverage, plan progress,
and what a clerk sees from ``evaluate``. Golden figures are worked by hand from annex 3 of
金人社发〔2020〕1号 and annex 1 / annex 2; compare claims is checked against ``evaluate`` run on
copies of the file moved by hand (the rule of docs/bureau.md, written out again here)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy.cli import main
from jinhua_subsidy.output import display_width
from jinhua_subsidy.testing import person_id, write_claims_csv

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLAIMS = EXAMPLES / "claims.csv"
HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": "", "COLUMNS": "120"}
FILLED = ("urban", "wucheng", "jindong", "kaifaqu", "dongyang", "yiwu")
EMPTY = ("lanxi", "yongkang", "pujiang", "wuyi", "panan")
ANNEX1 = ("urban", "wucheng", "jindong", "kaifaqu", "lanxi", "dongyang", "yiwu", "yongkang", "pujiang", "wuyi", "panan")


def run(*args: str, env: dict[str, str] | None = None):
    r = CliRunner().invoke(main, list(args), env={**HERMETIC, **(env or {})})
    assert "Traceback" not in r.output, r.output
    return r


def report(*args: str) -> dict:
    r = run(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def table(rep: dict, key: str) -> dict:
    return next(t for t in rep["tables"] if t["key"] == key)


def val(cell):
    """A cell's value: label columns are plain, figures are objects with their state."""
    return cell["value"] if isinstance(cell, dict) else cell


def row_of(t: dict, **labels: str) -> dict:
    found = [r for r in t["rows"] if all(r[k] == v for k, v in labels.items())]
    assert len(found) == 1, (labels, len(found))
    return found[0]


# --- compare rates -----------------------------------------------------------------------------


def test_compare_rates_shows_all_eleven_regions_six_filled_five_without_catalog():
    rep = report("compare", "rates", "--on", "2021-06-01")
    rates = table(rep, "rates")
    assert [c["key"] for c in rates["columns"] if c["type"] == "yuan"] == list(ANNEX1)
    # annex3.1.2: 中级工 900 元 in the urban area; 义乌 and 东阳 adopt it (provisional catalogs).
    lv4 = row_of(rates, kind="职业资格培训", item="通用标准（*）", level="四级/中级工", measure="补贴标准", uplift="")
    for k in FILLED:
        assert lv4[k]["state"] == "value" and lv4[k]["value"] == "900.00", k
    for k in EMPTY:
        assert lv4[k] == {"value": None, "state": "no_catalog", "provisional": False, "differs": False}, k
    assert lv4["urban"]["provisional"] is False and lv4["yiwu"]["provisional"] is True
    assert lv4["yiwu"]["differs"] is False
    # R7: the shortage uplift, 2000 × 1.3 = 2600 for 高级工; the urban list is provisional.
    short = row_of(rates, kind="职业资格培训", item="通用标准（*）", level="三级/高级工", measure="补贴标准",
                   uplift="紧缺职业上浮")
    assert short["urban"]["value"] == "2600.00" and short["urban"]["provisional"] is True
    # R10: enterprises' own staff, 30 × 1.3 = 39 yuan an hour, cap 800 × 1.3 = 1040, until 2021-12-31.
    hour = row_of(rates, kind="项目制培训", item="企业", measure="每课时", uplift="企业上浮：受经贸摩擦影响企业")
    cap = row_of(rates, kind="项目制培训", item="企业", measure="上限", uplift="企业上浮：受经贸摩擦影响企业")
    assert (hour["jindong"]["value"], cap["jindong"]["value"]) == ("39.00", "1040.00")
    # 东阳's own entrepreneurship rate differs from the urban area, which has none (无此项, not 0).
    ent = row_of(rates, kind="创业培训", item="通用标准（*）", measure="补贴标准", uplift="")
    assert ent["urban"]["state"] == "none" and ent["dongyang"]["differs"] is True
    assert ent["lanxi"]["state"] == "no_catalog"


def test_compare_rates_table_keeps_the_states_apart():
    r = run("compare", "rates", "--on", "2021-06-01", "--kind", "apprenticeship", env={"COLUMNS": "400"})
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    head = next(ln for ln in lines if ln.startswith("类别"))
    assert all(name in head for name in ("金华市区", "兰溪市", "磐安县"))
    employee = next(ln for ln in lines if ln.startswith("企业新型学徒制  职工学徒") and "上浮" not in ln)
    cells = employee.split()
    assert cells.count("6000.00") == 6 and cells.count("无目录") == 5 and "0.00" not in cells
    assert cells.count("暂定") == 2  # 东阳, 义乌


def test_compare_rates_side_tables():
    rep = report("compare", "rates", "--on", "2021-06-01", "--regions", "urban,yiwu,lanxi")
    short = table(rep, "shortage")
    ecommerce = row_of(short, occupation="4-01-06-01 电子商务师")
    assert ecommerce["yiwu"]["value"] == "列入" and ecommerce["urban"]["state"] == "blank"
    assert ecommerce["lanxi"]["state"] == "no_catalog"
    elig = table(rep, "eligibility")
    no_pension = row_of(elig, ground="确有培训需求、不具有按月领取养老金资格的人员")
    assert no_pension["urban"]["state"] == "none" and no_pension["yiwu"]["value"] == "各类"
    allowance = table(rep, "allowance")
    per_day = row_of(allowance, measure="每人每天")
    assert per_day["urban"]["value"] == "30.00" and per_day["urban"]["provisional"] is True
    assert per_day["yiwu"]["state"] == "none" and per_day["lanxi"]["state"] == "no_catalog"
    funds = table(rep, "funds")
    assert "市级" in row_of(funds, kind="职业资格培训补贴")["urban"]["value"]


def test_compare_rates_unknown_region_is_a_usage_error():
    r = run("compare", "rates", "--regions", "hangzhou")
    assert r.exit_code == 2 and "未知地区" in r.stderr


# --- diff and coverage ----------------------------------------------------------------------------


def test_diff_shows_the_enterprise_uplift_ending_2021_12_31():
    rep = report("diff", "urban", "--from", "2021-12-01", "--to", "2022-01-01")
    rates = table(rep, "rates")
    hour = row_of(rates, kind="项目制培训", item="企业", measure="每课时", uplift="企业上浮：受经贸摩擦影响企业")
    assert hour["change"] == "取消" and hour["before"]["value"] == "39.00" and hour["after"]["state"] == "none"
    assert all(r["change"] == "取消" for r in rates["rows"])  # nothing else changed; the 30/hour standard stays
    ups = table(rep, "uplifts")["rows"]
    # urban.toml: two qualification, two project and one apprenticeship enterprise uplift, main.4.2 2021年底前.
    assert len(ups) == 5 and {u["date"] for u in ups} == {"2021-12-31"}
    assert {u["change"] for u in ups} == {"截止（最后适用日）"}


def test_diff_end_date_is_inclusive():
    rep = report("diff", "urban", "--from", "2021-06-01", "--to", "2021-12-31")
    assert table(rep, "rates")["rows"] == [] and table(rep, "events")["rows"] == []


def test_diff_of_a_region_without_catalog_says_so():
    r = run("diff", "lanxi", "--from", "2021-01-01", "--to", "2022-01-01")
    assert r.exit_code == 0 and "无目录" in r.stdout


def test_coverage_lists_what_expires_and_regions_without_catalog():
    rep = report("coverage", "--on", "2021-10-15")
    assert {r["region"] for r in table(rep, "no_catalog")["rows"]} == {
        "兰溪市（lanxi）", "永康市（yongkang）", "浦江县（pujiang）", "武义县（wuyi）", "磐安县（panan）"}
    expiring = table(rep, "expiring")["rows"]
    assert {val(r["end"]) for r in expiring} == {"2021-12-31"} and all(val(r["days"]) == 77 for r in expiring)
    assert len([r for r in expiring if r["region"] == "金华市区"]) == 5
    main_t = table(rep, "coverage")
    assert row_of(main_t, region="金华市区")["occupations"]["value"] == 1631
    assert row_of(main_t, region="兰溪市")["occupations"]["state"] == "no_catalog"
    # 2021-09-01 + 90 days = 2021-11-30: the 2021-12-31 sunset is not yet within reach.
    assert table(report("coverage", "--on", "2021-09-01"), "expiring")["rows"] == []


# --- compare claims ------------------------------------------------------------------------------

#: Each region's local area, written out from the catalogs (eligibility.area) for the hand move.
AREA = {"urban": {"urban", "wucheng", "jindong", "kaifaqu"}, "wucheng": {"urban", "wucheng", "jindong", "kaifaqu"},
        "jindong": {"urban", "wucheng", "jindong", "kaifaqu"}, "kaifaqu": {"urban", "wucheng", "jindong", "kaifaqu"},
        "yiwu": {"yiwu"}, "dongyang": {"dongyang"}}
PLACES = ("hukou", "residence_permit", "insured_region", "unemployed_region", "employer_region")
DISTRICTS = {"urban": {"wucheng", "jindong", "kaifaqu"}}


def moved_by_hand(src: Path, target: str, dst: Path) -> Path:
    with src.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows, fields = list(reader), reader.fieldnames
    for r in rows:
        home = r["region"]
        if home == target:
            continue
        for col in PLACES:
            v = r[col]
            if v and (v == home or v in AREA[home]):
                if col == "employer_region" and target in DISTRICTS:
                    r[col] = v if v in DISTRICTS[target] else ""
                else:
                    r[col] = target
        r["region"] = target
    with dst.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return dst


@pytest.mark.parametrize("target", FILLED)
def test_compare_claims_matches_evaluate_on_hand_moved_copies(tmp_path, target):
    rep = report("compare", "claims", str(CLAIMS))
    copy = moved_by_hand(CLAIMS, target, tmp_path / f"moved-{target}.csv")
    r = run("evaluate", str(copy), "--format", "csv")
    decisions = list(csv.DictReader(io.StringIO(r.stdout)))
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("无法处理")]
    paid = [d for d in decisions if d["eligible"] == "true"]
    summary = row_of(table(rep, "summary"), region=rep_name(rep, target))
    assert summary["decided"]["value"] == len(decisions)
    assert summary["eligible"]["value"] == len(paid)
    assert summary["not_decided"]["value"] == len(errors)
    assert Decimal(summary["amount"]["value"]) == sum(Decimal(d["amount"]) for d in paid)
    assert Decimal(summary["allowance"]["value"]) == sum(Decimal(d["allowance"]) for d in paid)
    funds = {row["fund"]: row[target] for row in table(rep, "by_fund")["rows"]}
    by_channel: dict[str, Decimal] = {}
    for d in paid:
        by_channel[d["channel"]] = by_channel.get(d["channel"], Decimal(0)) + Decimal(d["amount"])
        if d["allowance_channel"]:  # the living allowance's own fund, 就业补助资金 (R17, R25)
            by_channel[d["allowance_channel"]] = by_channel.get(d["allowance_channel"], Decimal(0)) + Decimal(
                d["allowance"])
    got = {k: Decimal(v["value"]) for k, v in funds.items() if v["state"] == "value" and Decimal(v["value"])}
    assert sorted(got.values()) == sorted(v for v in by_channel.values() if v)
    refusals = {row["reason"].split()[0]: row[target]["value"] for row in table(rep, "refusals")["rows"]}
    counted: dict[str, int] = {}
    for d in decisions:
        if d["eligible"] == "false":
            counted[d["reasons"].split(";")[0]] = counted.get(d["reasons"].split(";")[0], 0) + 1
    assert {k: v for k, v in refusals.items() if v} == counted


def rep_name(rep: dict, key: str) -> str:
    return next(c["title"] for c in table(rep, "by_fund")["columns"] if c["key"] == key)


def test_compare_claims_own_column_is_evaluate(tmp_path):
    """A region's own claims are not moved: yiwu's column for a file of yiwu claims is evaluate's."""
    rep = report("compare", "claims", str(CLAIMS), "--regions", "yiwu", "--detail")
    own = [r for r in table(rep, "detail")["rows"] if r["home"] == "义乌市"]
    evaluated = {d["claim_id"]: d for d in csv.DictReader(io.StringIO(run("evaluate", str(CLAIMS), "--format",
                                                                         "csv").stdout)) if d["region"] == "yiwu"}
    # L02 is refused as a repeat of L01 made in the urban area; moved to 义乌 L01 stays first.
    assert {r["claim_id"]: r["amount"]["value"] for r in own} == {k: d["amount"] for k, d in evaluated.items()}


def test_compare_claims_golden_small_file(tmp_path):
    """Worked by hand. A: urban 中级工 (900), 户籍 婺城区. B: urban enterprise course 20 h (600),
    employer in 金东区. C: 义乌 初级工 (800), 户籍 义乌."""
    p = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": "A", "person_id": person_id(1), "region": "urban", "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4", "hukou": "wucheng"},
        {"claim_id": "B", "person_id": person_id(2), "region": "urban", "kind": "project", "date": "2021-06-01",
         "project_code": "XM-B", "organizer": "enterprise", "hours": 20, "passed": True,
         "employer_region": "jindong", "hukou": "jindong"},
        {"claim_id": "C", "person_id": person_id(3), "region": "yiwu", "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "5", "hukou": "yiwu"},
    ])
    rep = report("compare", "claims", str(p), "--detail")
    s = {r["region"]: r for r in table(rep, "summary")["rows"]}
    # 义乌: A moves (户籍 婺城区 → 义乌) 900, B's employer moves to 义乌 600, C 800: 2300, county:yiwu.
    assert (s["义乌市"]["eligible"]["value"], s["义乌市"]["amount"]["value"]) == (3, "2300.00")
    # 金东区: A 900 (city fund), B 600 (district:jindong), C moves (户籍 义乌 → 金东区) 800: 2300.
    assert (s["金东区"]["eligible"]["value"], s["金东区"]["amount"]["value"]) == (3, "2300.00")
    # 金华市区: C's hukou moves to urban (800), A and B are urban's own: 2300.
    assert s["金华市区"]["amount"]["value"] == "2300.00"
    assert s["兰溪市"]["amount"]["state"] == "no_catalog"
    funds = {r["fund"]: r for r in table(rep, "by_fund")["rows"]}
    assert funds["县（市）专项资金（义乌市）"]["yiwu"]["value"] == "2300.00"
    assert funds["区级专项资金（金东区）"]["jindong"]["value"] == "600.00"
    assert funds["市级专项资金"]["jindong"]["value"] == "1700.00"
    assert table(rep, "differs")["rows"] == []  # the same amounts everywhere with a catalog


def test_explain_region_shows_a_claim_under_another_regions_rules():
    r = run("explain", str(CLAIMS), "--claim", "Q04", "--region", "yiwu")
    assert r.exit_code == 0, r.output
    assert "义乌市（yiwu）" in r.stdout and "county:yiwu" in r.stdout and "900.00" in r.stdout
    assert run("explain", str(CLAIMS), "--claim", "Q04", "--region", "hangzhou").exit_code == 2


# --- plan progress ---------------------------------------------------------------------------------


def test_plan_progress_matches_a_hand_count(tmp_path):
    base = {"kind": "qualification", "occupation": "4-03-02-01", "level": "4"}
    p = write_claims_csv(tmp_path / "c.csv", [
        {**base, "claim_id": "U1", "person_id": person_id(1), "region": "urban", "date": "2021-03-01",
         "hukou": "wucheng"},                                     # paid 900, 市本级
        {**base, "claim_id": "U2", "person_id": person_id(2), "region": "urban", "date": "2021-03-01",
         "hukou": "other"},                                       # refused: not eligible
        {**base, "claim_id": "W1", "person_id": person_id(3), "region": "wucheng", "date": "2021-04-01",
         "hukou": "wucheng"},                                     # paid 900
        {**base, "claim_id": "Y1", "person_id": person_id(4), "region": "yiwu", "date": "2021-05-01",
         "hukou": "yiwu"},                                        # paid 900, county:yiwu
        {**base, "claim_id": "Y2", "person_id": person_id(5), "region": "yiwu", "date": "2022-05-01",
         "hukou": "yiwu"},                                        # another year
    ])
    rows = list(csv.DictReader(p.open(encoding="utf-8")))
    for r, dept in zip(rows, ("hrss", "hrss", "", "市人力社保局", "hrss"), strict=True):
        r["department"] = dept
    with p.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*rows[0].keys()], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    rep = report("plan", "progress", str(p), "--year", "2021")
    regions = {r["region"]: r for r in table(rep, "regions")["rows"]}
    city = regions["金华市区（市本级，urban）"]
    def values(r, *keys):
        return tuple(val(r[k]) for k in keys)

    assert values(city, "decided", "paid", "target", "target_wan") == (2, 1, 5000, "0.5")
    assert val(city["rate"]) == "0.0002"  # 1 / 5000
    total = regions["金华市区合计"]
    assert values(total, "decided", "paid", "target", "amount") == (3, 2, 22000, "1800.00")
    assert values(regions["义乌市"], "paid", "target") == (1, 21000)
    assert values(regions["全市总计"], "decided", "paid") == (4, 3)
    depts = {r["department"]: r for r in table(rep, "departments")["rows"]}
    hrss = depts["市人力社保局（hrss）"]
    assert values(hrss, "decided", "paid", "target") == (3, 2, 26800)  # U1, U2, Y1 (by name)
    assert val(depts["未注明部门"]["decided"]) == 1
    funds = {(r["region"], r["fund"]): r for r in table(rep, "funds")["rows"]}
    assert val(funds[("义乌市", "县（市）专项资金（义乌市）")]["amount"]) == "900.00"


# --- what a clerk sees --------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 120, 200])
def test_evaluate_table_fits_the_terminal_in_chinese(width):
    r = run("evaluate", str(CLAIMS), env={"COLUMNS": str(width)})
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert max(display_width(ln) for ln in lines) <= width
    assert lines[0].split()[:4] == ["行", "申领编号", "地区", "补贴"]
    p14 = next(ln for ln in lines if " P14 " in ln)
    assert p14.split()[:4] == ["32", "P14", "金华市区", "否"]
    if width >= 120:
        assert "no_fund 用人单位或培训主体不在本地参保" in p14
    assert any(ln.endswith("…") for ln in lines)  # long citations are cut with a marker


def test_decisions_carry_their_row():
    r = run("evaluate", str(CLAIMS), "--format", "csv")
    got = [(int(d["row"]), d["claim_id"]) for d in csv.DictReader(io.StringIO(r.stdout))]
    with CLAIMS.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        want = [(reader.line_num, row["claim_id"]) for row in reader]
    assert got == want
    first = json.loads(run("evaluate", str(CLAIMS), "--format", "jsonl").stdout.splitlines()[0])
    assert list(first)[:2] == ["row", "claim_id"] and first["row"] == 2


def test_narrow_table_fast_writer_matches_the_plain_writer(monkeypatch):
    """At 80 columns the table sets its columns one space apart; the fast writer agrees byte for byte."""
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import get_plugin_manager
    from jinhua_subsidy.output import WRITERS

    monkeypatch.setenv("COLUMNS", "80")
    decisions, _ = Engine(get_plugin_manager(autoload=False)).evaluate_file(CLAIMS)
    plain = io.StringIO()
    WRITERS["table"](decisions, plain)
    assert run("evaluate", str(CLAIMS), env={"COLUMNS": "80"}).stdout == plain.getvalue()
    assert max(display_width(ln) for ln in plain.getvalue().splitlines()) <= 80
