"""A second, throwaway county plugin written in code, as an outside author would: listed,
checked, used. And the ways a plugin can be wrong: two plugins claiming one region, a
misspelt hook, an entry point whose import fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from jinhua_subsidy import manager
from jinhua_subsidy.adjust import Adjustments, AdjustReason
from jinhua_subsidy.cli import main
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.invariants import run_checks
from jinhua_subsidy.manager import PluginError, get_plugin_manager
from jinhua_subsidy.models import (
    ApprenticeshipCap,
    Eligibility,
    Funding,
    FundingRule,
    Ground,
    ProjectStandard,
    QualificationRate,
    RateCatalog,
    ShortageList,
    Uplift,
    UpliftLimit,
)
from jinhua_subsidy.regions import Region
from jinhua_subsidy.rulebook import RulebookError
from jinhua_subsidy.testing import person_id, write_claims_csv

START = dt.date(2020, 1, 7)
CANCELLED = "LX-2021-07"
SOURCE = "兰溪插件（测试）"


def lanxi_rates(level_4: int = 90_000) -> RateCatalog:
    levels = {"1": 300_000, "2": 250_000, "3": 200_000, "4": level_4, "5": 80_000, "S": 60_000}
    return RateCatalog(
        region="lanxi", title="兰溪市职业技能培训补贴目录（测试）", status="official", source=SOURCE,
        uplift_limit=UpliftLimit(rate=3000, clause="main.4.2", reading="R11"),
        qualification=tuple(QualificationRate(occupation="*", level=lv, amount=fen, start=START,
                                              clause="annex3.1.2", reading="R5") for lv, fen in levels.items()),
        project=(
            ProjectStandard(organizers=("enterprise",), hour_rate=3_000, cap=80_000, min_hours=20,
                            start=START, clause="annex3.2.2", reading="R8"),
            ProjectStandard(organizers=("department", "institution", "college"), hour_rate=2_500, cap=50_000,
                            review_amount=10_000, start=START, clause="annex3.2.2", reading="R9"),
        ),
        apprenticeship=(
            ApprenticeshipCap(apprentice="employee", cap=600_000, start=START, clause="annex3.3", reading="R12"),
            ApprenticeshipCap(apprentice="student", cap=300_000, start=START, clause="annex3.3", reading="R12"),
        ),
        uplifts=(Uplift(key="shortage", kind="qualification", on="shortage", rate=3000, start=START,
                        clause="annex3.1.2", reading="R7"),),
    )


CANCELLED_REASON = AdjustReason(code="lanxi_cancelled", text="该培训项目已被兰溪市撤销", clause="main.5")


class Lanxi:
    """Serves 兰溪市 from data built in code; refuses the claims of one cancelled project (subsidy_adjust)."""

    __version__ = "0.0.1"

    def __init__(self, rates: RateCatalog | None = None) -> None:
        self.rates = rates or lanxi_rates()

    @hookimpl
    def subsidy_regions(self):
        return [Region(key="lanxi", name="兰溪市")]

    @hookimpl
    def subsidy_rates(self, region):
        return self.rates if region == "lanxi" else None

    @hookimpl
    def subsidy_shortage(self, region):
        return [ShortageList(list="lanxi-2020", title="兰溪市紧缺职业（工种）目录（测试）", status="official",
                             occupations=("6-18-02-04",), start=START, clause="annex3.1.2", reading="R7",
                             source=SOURCE)]

    @hookimpl
    def subsidy_eligibility(self, region):
        return Eligibility(area=("lanxi",), clause="main.4.4", reading="R4", source=SOURCE,
                           grounds=(Ground(test="hukou", clause="main.4.4", reading="R4"),))

    @hookimpl
    def subsidy_funding(self, region):
        return Funding(source=SOURCE, rules=(FundingRule(channel="county:lanxi", clause="main.4.3", reading="R17"),))

    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        rows = claims.filter(pl.col("project_code") == CANCELLED).select(
            "row", pl.lit("lanxi_cancelled").alias("reason"), pl.lit(True).alias("refuse"))
        return Adjustments(rows=rows, reasons=(CANCELLED_REASON,))


class Claimant:
    """A plugin that only declares a region (to clash with another)."""

    def __init__(self, key: str, name: str, parent: str | None = None) -> None:
        self.region = Region(key=key, name=name, parent=parent)

    @hookimpl
    def subsidy_regions(self):
        return [self.region]


class Misspelt:
    @hookimpl
    def subsidy_rate(self, region):  # should be subsidy_rates
        return None


class FakeDist:
    name = "lanxi-subsidy"
    version = "0.0.1"


class FakeEntryPoint:
    """Stands in for an installed distribution's ``jinhua_subsidy`` entry point."""

    group = "jinhua_subsidy"
    dist = FakeDist()

    def __init__(self, name: str, value: str, load: Callable[[], object]) -> None:
        self.name, self.value, self._load = name, value, load

    def load(self) -> object:
        return self._load()


def install(monkeypatch: pytest.MonkeyPatch, *eps: FakeEntryPoint) -> None:
    def entry_points(group: str):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(manager.metadata, "entry_points", entry_points)
    monkeypatch.delenv(manager.NO_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(manager.DISABLE_ENV, raising=False)


def lanxi_entry_point(plugin: object | None = None) -> FakeEntryPoint:
    return FakeEntryPoint("lanxi", "lanxi_subsidy:plugin", lambda: plugin or Lanxi())


def engine_with(plugin: object) -> Engine:
    return Engine(get_plugin_manager(autoload=False, extra=[("lanxi", plugin)]))


# --- listed -----------------------------------------------------------------------------------


def test_listed_as_external_with_its_adjust_hook(monkeypatch):
    install(monkeypatch, lanxi_entry_point())
    result = CliRunner().invoke(main, ["plugins", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"urban", "wucheng", "yiwu", "dongyang", "lanxi"}
    lanxi = rows["lanxi"]
    assert (lanxi["version"], lanxi["builtin"], lanxi["regions"], lanxi["status"]) == (
        "0.0.1", False, ["lanxi"], "official")
    assert lanxi["hooks"] == ["subsidy_adjust", "subsidy_eligibility", "subsidy_funding", "subsidy_rates",
                              "subsidy_regions", "subsidy_shortage"]
    assert lanxi["adjusts"] is True
    assert rows["urban"]["adjusts"] is False

    result = CliRunner().invoke(main, ["plugins"])
    block = result.stdout.split("lanxi 0.0.1", 1)[1]
    assert block.startswith("  external (lanxi-subsidy)")
    assert "adjusts: implements subsidy_adjust" in block


def test_disabled_by_name(monkeypatch):
    install(monkeypatch, lanxi_entry_point())
    result = CliRunner().invoke(main, ["-d", "lanxi", "plugins", "--format", "json"])
    assert "lanxi" not in {r["name"] for r in json.loads(result.stdout)}


# --- checked ----------------------------------------------------------------------------------


def test_checked_clean():
    findings = run_checks(engine_with(Lanxi()))
    assert [str(f) for f in findings if f.severity == "error"] == []
    assert not any(SOURCE in f.file for f in findings)


def test_checked_finds_a_broken_catalog():
    # 中级工 paying more than 高级工 breaks annex3.1.2 R5 (a higher level never pays less).
    findings = run_checks(engine_with(Lanxi(lanxi_rates(level_4=250_000))))
    mine = [f for f in findings if f.file == SOURCE]
    assert [(f.rule, f.path, f.severity) for f in mine] == [("level_order", "qualification[3].amount", "error")]


def test_check_command_with_the_plugin(monkeypatch):
    install(monkeypatch, lanxi_entry_point(Lanxi(lanxi_rates(level_4=250_000))))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"{SOURCE}: qualification[3].amount: [level_order annex3.1.2 R5]" in result.stdout


# --- used -------------------------------------------------------------------------------------


def test_used_for_its_region_and_its_adjustment_refuses_one_project(monkeypatch, tmp_path):
    base = {"region": "lanxi", "date": "2021-06-01", "hukou": "lanxi"}
    rows = [
        {**base, "claim_id": "cert", "kind": "qualification", "occupation": "6-18-02-04", "level": "3"},
        {**base, "claim_id": "course", "kind": "project", "project_code": "LX-2021-01", "organizer": "enterprise",
         "hours": 20, "passed": True, "employer_region": "lanxi"},
        {**base, "claim_id": "cancelled", "kind": "project", "project_code": CANCELLED, "organizer": "enterprise",
         "hours": 20, "passed": True, "employer_region": "lanxi"},
        {**base, "claim_id": "outsider", "kind": "qualification", "occupation": "6-18-02-04", "level": "3",
         "hukou": "wucheng"},
        {**base, "claim_id": "urban", "kind": "qualification", "occupation": "6-18-02-04", "level": "3",
         "region": "urban", "hukou": "wucheng"},
    ]
    path = write_claims_csv(tmp_path / "c.csv", [{**r, "person_id": person_id(n)} for n, r in enumerate(rows)])
    install(monkeypatch, lanxi_entry_point())
    result = CliRunner().invoke(main, ["evaluate", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    got = {r["claim_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    # 焊工 on 兰溪's list: 2000 × 1.3 = 2600 元 from the county fund.
    assert (got["cert"]["amount"], got["cert"]["channel"], got["cert"]["eligible"]) == (
        "2600.00", "county:lanxi", "true")
    assert got["cert"]["citations"].split(";")[:2] == ["main.4.4", "R4"]
    assert (got["course"]["amount"], got["course"]["channel"]) == ("600.00", "county:lanxi")
    assert (got["cancelled"]["eligible"], got["cancelled"]["amount"], got["cancelled"]["reasons"],
            got["cancelled"]["citations"]) == ("false", "0.00", "lanxi_cancelled", "main.5")
    assert (got["outsider"]["eligible"], got["outsider"]["reasons"]) == ("false", "not_eligible")
    assert got["urban"]["channel"] == "city"  # other regions are untouched

    result = CliRunner().invoke(main, ["explain", str(path), "--claim", "cancelled"])
    assert result.exit_code == 0
    assert "地区插件调整：该培训项目已被兰溪市撤销  〔main.5〕" in result.stdout
    assert "原因：lanxi_cancelled（该培训项目已被兰溪市撤销）" in result.stdout
    assert "结论：不予补贴" in result.stdout


def test_adjust_runs_only_for_its_own_region(tmp_path):
    calls: list[str] = []

    class Watching(Lanxi):
        @hookimpl
        def subsidy_adjust(self, region, claims, decisions):
            calls.extend(claims["claim_id"].to_list())
            return None

    engine = engine_with(Watching())
    path = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": c, "person_id": person_id(n), "region": region, "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4", "hukou": region}
        for n, (c, region) in enumerate([("L", "lanxi"), ("U", "urban"), ("W", "wucheng")])
    ])
    decisions, errors = engine.evaluate_file(path)
    assert errors == [] and len(decisions) == 3
    assert calls == ["L"]


# --- wrong plugins ----------------------------------------------------------------------------


def test_a_plugin_with_the_removed_per_claim_hook_is_told_what_replaces_it():
    class Old(Lanxi):
        @hookimpl
        def subsidy_review_claim(self, region, claim, decision):
            return None

    with pytest.raises(PluginError) as err:
        get_plugin_manager(autoload=False, extra=[("lanxi", Old())])
    assert str(err.value) == ("plugin 'lanxi': subsidy_review_claim 已于 0.2.0 移除（逐条复核）：请改用 subsidy_adjust"
                              "（按列调整，见 jinhua_subsidy.hookspecs）")


def test_two_plugins_claiming_one_region_names_both():
    pm = get_plugin_manager(autoload=False, extra=[("lanxi_a", Lanxi()), ("lanxi_b", Claimant("lanxi", "兰溪市"))])
    with pytest.raises(RulebookError) as err:
        Engine(pm)
    assert "'lanxi'" in str(err.value)
    assert "'lanxi_a'" in str(err.value) and "'lanxi_b'" in str(err.value)


def test_claiming_a_builtin_region_names_both():
    pm = get_plugin_manager(autoload=False, extra=[("rogue", Claimant("wucheng", "婺城区", "urban"))])
    with pytest.raises(RulebookError) as err:
        Engine(pm)
    assert "'wucheng'" in str(err.value) and "'rogue'" in str(err.value)


def test_region_clash_through_the_cli_is_exit_2(monkeypatch):
    install(monkeypatch, lanxi_entry_point(),
            FakeEntryPoint("lanxi2", "other_lanxi:plugin", lambda: Claimant("lanxi", "兰溪市")))
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 2
    assert "'lanxi'" in result.stderr and "'lanxi2'" in result.stderr
    assert "Traceback" not in result.output


def test_misspelt_hook_is_an_error_naming_plugin_and_hook():
    with pytest.raises(PluginError) as err:
        get_plugin_manager(autoload=False, extra=[("typo_plugin", Misspelt())])
    assert "typo_plugin" in str(err.value)
    assert "subsidy_rate" in str(err.value)


def test_entry_point_that_fails_to_import_is_reported_by_name(monkeypatch):
    def broken() -> object:
        raise ModuleNotFoundError("No module named 'lanxi_subsidy'")

    install(monkeypatch, FakeEntryPoint("lanxi", "lanxi_subsidy:plugin", broken))
    with pytest.raises(PluginError) as err:
        get_plugin_manager()
    message = str(err.value)
    assert "'lanxi'" in message and "lanxi_subsidy:plugin" in message and "lanxi-subsidy" in message
    assert "No module named 'lanxi_subsidy'" in message

    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：plugin 'lanxi'")
    assert "Traceback" not in result.output
    # Switched off by name, the rest still works.
    result = CliRunner().invoke(main, ["-d", "lanxi", "plugins", "--format", "json"])
    assert result.exit_code == 0
    assert "lanxi" not in {r["name"] for r in json.loads(result.stdout)}


def test_a_broken_object_registered_in_code_is_reported_by_name():
    class Broken:
        @hookimpl
        def subsidy_rates(self, region, colour):  # an argument the spec does not have
            return None

    with pytest.raises(PluginError) as err:
        get_plugin_manager(autoload=False, extra=[("broken_plugin", Broken())])
    assert "broken_plugin" in str(err.value)


def test_a_region_without_a_plugin_is_a_row_error(tmp_path: Path):
    engine = Engine(get_plugin_manager(autoload=False))
    path = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": "L", "person_id": person_id(1), "region": "lanxi", "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4", "hukou": "lanxi"}])
    decisions, errors = engine.evaluate_file(path)
    assert decisions == []
    assert [str(e) for e in errors] == ["第2行（L）：地区 兰溪市（lanxi）尚无补贴目录：无插件"]
