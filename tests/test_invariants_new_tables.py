"""The core invariants over the tables added for R23–R27: no negative amount, one value per key
on any date, valid 统一社会信用代码 on enterprise lists. Each broken catalog gives its exact finding."""

from __future__ import annotations

import pytest

from jinhua_subsidy.columns import uscc_check
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.invariants import run_checks
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

DONGYANG = shipped("dongyang.toml").read_text(encoding="utf-8")


def findings(tmp_path, text: str) -> list[str]:
    path = tmp_path / "dongyang.toml"
    path.write_text(text, encoding="utf-8")
    engine = Engine(get_plugin_manager(autoload=False, disable=["dongyang"], extra=[("dy", CatalogPlugin(path))]))
    return [f"{f.path}: [{f.rule}] {f.message}" for f in run_checks(engine) if f.file == str(path)]


def test_the_shipped_new_tables_are_clean(tmp_path):
    assert findings(tmp_path, DONGYANG) == []


@pytest.mark.parametrize(("old", "new", "finding"), [
    ('amount = "1000"\npayee', 'amount = "-1000"\npayee',
     "entrepreneurship[0].amount: [negative] 金额为负数：-1000.00 元"),
    ('amount = "200"\nkinds', 'amount = "-200"\nkinds', "topups[0].amount: [negative] 金额为负数：-200.00 元"),
])
def test_negative_amounts(tmp_path, old, new, finding):
    assert DONGYANG.count(old) == 1
    assert findings(tmp_path, DONGYANG.replace(old, new)) == [finding]


def test_two_entrepreneurship_rates_for_one_course_on_one_date(tmp_path):
    twice = DONGYANG.replace("[[entrepreneurship]]", "[[entrepreneurship]]\ncourse = \"*\"\namount = \"900\"\n"
                             "payee = \"person\"\nstart = 2021-01-01\nclause = \"main.2\"\nreading = \"R27\"\n\n"
                             "[[entrepreneurship]]", 1)
    assert findings(tmp_path, twice) == [
        "entrepreneurship[1].start: [overlap] 创业培训（*）补贴标准在 2021-01-01 有两项同时有效："
        "entrepreneurship[0] 与 entrepreneurship[1]"]


def test_an_enterprise_list_entry_with_a_bad_code(tmp_path):
    good = "91330783MA2000001" + uscc_check("91330783MA2000001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    lists = f'''
[[enterprise_lists]]
tag = "key_manufacturing"
title = "测试名单"
start = 2020-01-07
clause = "main.6.2"
reading = "R26"

[[enterprise_lists.entries]]
code = "{good}"
name = "甲"
start = 2020-01-07
clause = "main.6.2"

[[enterprise_lists.entries]]
code = "{bad}"
name = "乙"
start = 2020-01-07
clause = "main.6.2"
'''
    assert findings(tmp_path, DONGYANG + lists) == [
        f"enterprise_lists[0].entries[1].code: [enterprise] '{bad}' 不是有效的统一社会信用代码"
        "（18位，校验位按 GB 32100-2015）"]
