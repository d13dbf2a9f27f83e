"""The invariants guard evaluation: a catalog that fails a core invariant is never used to pay.

兰溪市's outside catalog below is the urban one with a 40% shortage uplift (main.4.2 上浮幅度不超过
30%, R11). Its claims become row errors naming the finding; every other region still evaluates;
``subsidy plugins`` marks the plugin broken; ``subsidy check`` reports the same finding.
"""

from __future__ import annotations

import csv
import io
import json
from importlib.resources import files

import pytest
from click.testing import CliRunner

from jinhua_subsidy import manager
from jinhua_subsidy.cli import main
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.testing import person_id, write_claims_csv

URBAN = (files("jinhua_subsidy.catalogs") / "urban.toml").read_text(encoding="utf-8")


def lanxi_text(rate: str) -> str:
    text = URBAN.replace('region = "urban"', 'region = "lanxi"').replace('name = "金华市区"', 'name = "兰溪市"')
    text = text.replace('on = "shortage"\nrate = "0.30"', f'on = "shortage"\nrate = "{rate}"')
    text = text.replace('area = ["urban", "wucheng", "jindong", "kaifaqu"]', 'area = ["lanxi"]')
    return text[:text.index("[funding]")] + (
        '[funding]\n\n[[funding.rules]]\nchannel = "county:lanxi"\nclause = "main.4.3"\nreading = "R17"\n')


class EntryPoint:
    name, value, group = "lanxi", "jinhua_lanxi:plugin", "jinhua_subsidy"

    class dist:
        name, version = "jinhua-subsidy-lanxi", "0.1"

    def __init__(self, plugin: CatalogPlugin) -> None:
        self.plugin = plugin

    def load(self) -> CatalogPlugin:
        return self.plugin


@pytest.fixture
def lanxi(tmp_path, monkeypatch):
    def install(rate: str = "0.40"):
        path = tmp_path / "lanxi.toml"
        path.write_text(lanxi_text(rate), encoding="utf-8")
        monkeypatch.setattr(manager.metadata, "entry_points", lambda group: [EntryPoint(CatalogPlugin(path))])
        monkeypatch.delenv(manager.NO_AUTOLOAD_ENV, raising=False)
        return path

    return install


@pytest.fixture
def claims(tmp_path):
    welder = {"kind": "qualification", "date": "2021-06-01", "occupation": "6-18-02-04", "level": "4"}
    return write_claims_csv(tmp_path / "claims.csv", [
        {**welder, "claim_id": "LX1", "person_id": person_id(1), "region": "lanxi", "hukou": "lanxi"},
        {**welder, "claim_id": "U1", "person_id": person_id(2), "region": "urban", "hukou": "wucheng"},
    ])


def test_a_40_percent_uplift_is_never_paid(lanxi, claims):
    path = lanxi()
    result = CliRunner().invoke(main, ["evaluate", str(claims), "--format", "csv"])
    assert result.exit_code == 1  # row errors
    rows = {r["claim_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"U1"}  # the urban claim is decided: 900 × 1.3 (焊工 is on the urban list)
    assert rows["U1"]["amount"] == "1170.00"
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("无法处理")]
    assert line.startswith(f"无法处理 第2行（LX1）：{path}: uplifts[0].rate: [R11 main.4.2] "
                           "上浮 shortage 为 40%，超过上浮幅度上限 30%（兰溪市（lanxi）的补贴目录未通过核心规则检查")
    assert "1134" not in result.output

    result = CliRunner().invoke(main, ["explain", str(claims), "--claim", "LX1"])
    assert result.exit_code == 1
    assert "uplifts[0].rate: [R11 main.4.2]" in result.stdout and "补贴 " not in result.stdout


def test_plugins_marks_it_broken(lanxi):
    path = lanxi()
    rows = {r["name"]: r for r in json.loads(CliRunner().invoke(main, ["plugins", "--format", "json"]).stdout)}
    assert rows["lanxi"]["status"] == "broken"
    assert rows["lanxi"]["broken"] == [
        f"{path}: uplifts[0].rate: [R11 main.4.2] 上浮 shortage 为 40%，超过上浮幅度上限 30%"]
    assert rows["urban"]["status"] == "official" and rows["urban"]["broken"] == []
    text = CliRunner().invoke(main, ["plugins"]).stdout
    assert "lanxi 0.1  external (jinhua-subsidy-lanxi)  status: broken 未通过核心规则检查，不予计算" in text
    assert f"  broken: {path}: uplifts[0].rate: [R11 main.4.2]" in text


def test_check_reports_the_same_finding(lanxi):
    path = lanxi()
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"{path}: uplifts[0].rate: [R11 main.4.2] 上浮 shortage 为 40%，超过上浮幅度上限 30%" in result.stdout


def test_a_good_catalog_pays(lanxi, claims):
    lanxi("0.30")
    result = CliRunner().invoke(main, ["evaluate", str(claims), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["claim_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert (rows["LX1"]["amount"], rows["LX1"]["channel"]) == ("1170.00", "county:lanxi")
