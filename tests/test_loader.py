"""Strict catalog loading: every problem names the file, the key path and what is wrong
(docs/catalog-format.md, "Loading errors"). Nothing is coerced or filled in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy import manager
from jinhua_subsidy.catalog import CatalogError, load_catalog_file
from jinhua_subsidy.cli import main
from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

LABEL = "catalogs/lanxi.toml"

GOOD = """\
[catalog]
region = "lanxi"
name = "兰溪市"
title = "兰溪市测试目录"
status = "official"

[uplift_limit]
rate = "0.30"
clause = "main.4.2"
reading = "R11"

[[qualification]]
occupation = "*"
level = "5"
amount = "800"
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

[[project]]
organizers = ["enterprise"]
hour_rate = "30"
cap = "800"
min_hours = 20
start = 2020-01-07
clause = "annex3.2.2"
reading = "R8"
"""

SECOND = 'level = "4"\namount = "900"\nstart = 2020-01-07\n'


def load(tmp_path: Path, text: str) -> CatalogError:
    path = tmp_path / "lanxi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog_file(path, LABEL)
    assert err.value.file == LABEL
    return err.value


def test_the_base_catalog_loads(tmp_path):
    path = tmp_path / "lanxi.toml"
    path.write_text(GOOD, encoding="utf-8")
    f = load_catalog_file(path, LABEL)
    assert [(q.level, q.amount) for q in f.qualification] == [("5", 80_000), ("4", 90_000)]
    assert f.project[0].hour_rate == 3_000 and f.project[0].cap == 80_000
    assert f.uplift_limit is not None and f.uplift_limit.rate == 3000
    assert f.source == LABEL
    assert f.eligibility is None and f.funding is None and f.shortage == ()  # nothing filled in


@pytest.mark.parametrize("name", ["urban.toml", "wucheng.toml", "yiwu.toml", "dongyang.toml"])
def test_shipped_catalogs_load(name):
    f = load_catalog_file(shipped(name), f"catalogs/{name}")
    assert f.catalog.region == name.removesuffix(".toml")


@pytest.mark.parametrize(("old", "new", "line"), [
    # unknown key, in a table and at the top
    ('amount = "900"\n', 'amount = "900"\ncolour = "red"\n',
     "qualification[1].colour: unknown key"),
    ("[[project]]\n", "[extra]\nx = 1\n\n[[project]]\n",
     "extra: unknown key"),
    ('status = "official"\n', 'status = "official"\nregon = "lanxi"\n',
     "catalog.regon: unknown key"),
    # missing citation and missing value
    ('start = 2020-01-07\nclause = "annex3.1.2"\nreading = "R5"\n\n[[qualification]]',
     'start = 2020-01-07\nreading = "R5"\n\n[[qualification]]',
     "qualification[0].clause: missing citation: every value needs its clause id (e.g. annex3.1.2)"),
    (SECOND, 'level = "4"\nstart = 2020-01-07\n',
     "qualification[1].amount: missing key 'amount'"),
    # dates: a string, a date-time
    (SECOND, 'level = "4"\namount = "900"\nstart = "2020-01-07"\n',
     "qualification[1].start: bad date '2020-01-07': write a TOML date such as 2020-01-07 (no quotes, no time)"),
    (SECOND, 'level = "4"\namount = "900"\nstart = 2020-01-07T08:00:00\n',
     "qualification[1].start: bad date datetime.datetime(2020, 1, 7, 8, 0): write a TOML date such as "
     "2020-01-07 (no quotes, no time)"),
    # amounts: a binary float, not a decimal, more than two decimals
    ('amount = "900"', "amount = 900.0",
     'qualification[1].amount: amount 900.0 is a binary float: write it as a string, e.g. "900" (R13)'),
    ('amount = "900"', 'amount = "九百"',
     "qualification[1].amount: '九百' is not a decimal amount"),
    ('amount = "900"', 'amount = "900.005"',
     "qualification[1].amount: '900.005' has more than two decimal places (R13: to the fen)"),
    ('hour_rate = "30"', 'hour_rate = "30.001"',
     "project[0].hour_rate: '30.001' has more than two decimal places (R13: to the fen)"),
    ('rate = "0.30"', "rate = 0.3",
     "uplift_limit.rate: rate must be a decimal string such as \"0.30\", not 0.3"),
    # whole numbers are whole numbers
    ("min_hours = 20", 'min_hours = "20"',
     "project[0].min_hours: expected a whole number, got '20'"),
    # validators of one object
    (SECOND, 'level = "4"\namount = "900"\nstart = 2020-01-07\nend = 2020-01-06\n',
     "qualification[1].end: end 2020-01-06 is before start 2020-01-07"),
    ('level = "4"', 'level = "6"',
     "qualification[1].level: 'level' must be in ('1', '2', '3', '4', '5', 'S') (got '6')"),
    ('organizers = ["enterprise"]', 'organizers = ["company"]',
     "project[0].organizers: 'company' is not one of enterprise, department, institution, college"),
    ('reading = "R8"', 'reading = "R30"',
     "project[0].reading: reading must be one of R1…R22, not 'R30'"),
    ('status = "official"', 'status = "draft"',
     "catalog.status: 'status' must be in ('official', 'provisional') (got 'draft')"),
])
def test_each_problem_names_file_key_path_and_message(tmp_path, old, new, line):
    assert old in GOOD
    err = load(tmp_path, GOOD.replace(old, new, 1))
    assert str(err) == f"{LABEL}: {line}"
    path, _, message = line.partition(": ")
    assert err.problems == [(path, message)]


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace('amount = "900"', 'amount = 900.0').replace(
        'hour_rate = "30"', 'hour_rate = "30"\nrat = "30"')
    err = load(tmp_path, text)
    assert sorted(err.problems) == [
        ("project[0].rat", "unknown key"),
        ("qualification[1].amount", 'amount 900.0 is a binary float: write it as a string, e.g. "900" (R13)'),
    ]


@pytest.mark.parametrize(("old", "new", "message"), [
    (SECOND, 'level = "4"\namount = "900"\nstart = 2020-02-30\n',
     "not valid TOML: Invalid date or datetime (at line 24, column 9)"),
    ('amount = "900"', 'amount = "900"\namount = "901"',
     "not valid TOML: Cannot overwrite a value (at line 24, column 15)"),
])
def test_toml_syntax_errors_name_the_line(tmp_path, old, new, message):
    err = load(tmp_path, GOOD.replace(old, new, 1))
    assert str(err) == f"{LABEL}: {message}"


def test_a_broken_outside_catalog_stops_the_cli_with_exit_2(tmp_path, monkeypatch):
    path = tmp_path / "lanxi.toml"
    path.write_text(GOOD.replace('amount = "900"', "amount = 900.0"), encoding="utf-8")

    class EntryPoint:
        name, value, group = "lanxi", "lanxi_subsidy:plugin", "jinhua_subsidy"

        class dist:
            name, version = "lanxi-subsidy", "0.1"

        def load(self):
            return CatalogPlugin(path)

    monkeypatch.setattr(manager.metadata, "entry_points", lambda group: [EntryPoint()])
    monkeypatch.delenv(manager.NO_AUTOLOAD_ENV, raising=False)
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 2
    assert result.stderr == (f"错误：{path}: qualification[1].amount: amount 900.0 is a binary float: "
                             'write it as a string, e.g. "900" (R13)\n')
    # `subsidy check` reports it as a finding instead, and exits 1.
    result = CliRunner().invoke(main, ["check", "--format", "json"])
    assert result.exit_code == 1
    found = [f for f in json.loads(result.stdout) if f["rule"] == "format"]
    assert [(f["file"], f["path"]) for f in found] == [(str(path), "qualification[1].amount")]
