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
from jinhua_subsidy.money import MoneyError, parse_rate_bp, parse_yuan
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
     "project[0].reading: reading must be one of R1…R28, not 'R30'"),
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


# --- hostile input (issue 7) ------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "line"), [
    # amounts are strings of yuan: a TOML integer is refused like a float
    ('amount = "900"', "amount = 3000",
     'qualification[1].amount: amount 3000 is a TOML number: write it as a string, e.g. "3000"'),
    ('hour_rate = "30"', "hour_rate = 30",
     'project[0].hour_rate: amount 30 is a TOML number: write it as a string, e.g. "30"'),
    ('amount = "900"', "amount = -5",
     'qualification[1].amount: amount -5 is a TOML number: write it as a string, e.g. "-5"'),
    ('amount = "900"', "amount = 0x" + "f" * 5000,
     'qualification[1].amount: amount is a TOML number: write it as a string of yuan, e.g. "900"'),
    ('amount = "900"', "amount = true",
     'qualification[1].amount: amount must be a decimal string such as "900", not True'),
    # plain decimals only
    ('amount = "900"', 'amount = "5e3"', "qualification[1].amount: '5e3' is not a decimal amount"),
    ('amount = "900"', 'amount = "5E3"', "qualification[1].amount: '5E3' is not a decimal amount"),
    ('amount = "900"', 'amount = "5_000"', "qualification[1].amount: '5_000' is not a decimal amount"),
    ('amount = "900"', 'amount = "+5"', "qualification[1].amount: '+5' is not a decimal amount"),
    ('amount = "900"', 'amount = "NaN"', "qualification[1].amount: 'NaN' is not a decimal amount"),
    ('amount = "900"', 'amount = "Infinity"', "qualification[1].amount: 'Infinity' is not a decimal amount"),
    ('amount = "900"', 'amount = "９００"', "qualification[1].amount: '９００' is not a decimal amount"),
    ('amount = "900"', 'amount = "900."', "qualification[1].amount: '900.' is not a decimal amount"),
    ('amount = "900"', 'amount = ".5"', "qualification[1].amount: '.5' is not a decimal amount"),
    ('amount = "900"', 'amount = "900.000"',
     "qualification[1].amount: '900.000' has more than two decimal places (R13: to the fen)"),
    ('amount = "900"', 'amount = "1000000000000000"',
     "qualification[1].amount: '1000000000000000' is too large: an amount has at most 15 digits before the "
     "decimal point"),
    ('amount = "900"', 'amount = "' + "9" * 5000 + '"',
     "qualification[1].amount: '" + "9" * 40 + "'… (5000 characters) is too large: an amount has at most 15 "
     "digits before the decimal point"),
    ('amount = "900"', 'amount = "' + "x" * 131_072 + '"',
     "qualification[1].amount: '" + "x" * 40 + "'… (131072 characters) is not a decimal amount"),
    # a resident id pasted into an amount is not shown
    ('amount = "900"', 'amount = "330702199001011042"',
     "qualification[1].amount: '3307**********1042' is too large: an amount has at most 15 digits before the "
     "decimal point"),
    # rates: plain decimals, at most four decimals, bounded
    ('rate = "0.30"', 'rate = "0.30000"',
     "uplift_limit.rate: '0.30000' is not a rate with at most four decimal places"),
    ('rate = "0.30"', 'rate = "3e-1"', "uplift_limit.rate: '3e-1' is not a decimal rate"),
    ('rate = "0.30"', 'rate = "+0.3"', "uplift_limit.rate: '+0.3' is not a decimal rate"),
    ('rate = "0.30"', 'rate = "NaN"', "uplift_limit.rate: 'NaN' is not a decimal rate"),
    ('rate = "0.30"', 'rate = "12345"',
     "uplift_limit.rate: '12345' is too large: a rate has at most 4 digits before the decimal point"),
    ('rate = "0.30"', "rate = 0",
     "uplift_limit.rate: rate must be a decimal string such as \"0.30\", not 0"),
    ('rate = "0.30"', "rate = 0x" + "f" * 5000,
     "uplift_limit.rate: rate must be a decimal string such as \"0.30\", not <a number of 20000 bits>"),
])
def test_hostile_amounts_and_rates_are_named(tmp_path, old, new, line):
    assert old in GOOD
    err = load(tmp_path, GOOD.replace(old, new, 1))
    assert str(err) == f"{LABEL}: {line}"
    path, _, message = line.partition(": ")
    assert err.problems == [(path, message)]


@pytest.mark.parametrize(("text", "fen"), [
    ("900", 90_000), ("24.50", 2_450), ("24.5", 2_450), (" 900 ", 90_000), ("\u3000900\t", 90_000),
    ("0", 0), ("-5", -500), ("-0.01", -1), ("007", 700), ("999999999999999.99", 99_999_999_999_999_999),
    (900, 90_000),
])
def test_plain_decimal_amounts_are_read(text, fen):
    # A leading minus is read: `subsidy check` reports a negative catalog amount as a finding.
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(("text", "bp"), [("0.30", 3_000), ("0.3", 3_000), ("0.1234", 1_234), ("1", 10_000),
                                          (" 0.05 ", 500), ("-0.1", -1_000), ("9999.9999", 99_999_999)])
def test_plain_decimal_rates_are_read(text, bp):
    assert parse_rate_bp(text) == bp


def test_a_huge_python_int_is_refused_without_printing_it():
    with pytest.raises(MoneyError) as err:
        parse_yuan(10**5000)
    assert str(err.value) == ("<a number of 16610 bits> is too large: an amount has at most 15 digits before the "
                              "decimal point")


@pytest.mark.parametrize(("text", "message"), [
    (b"x = " + b"[" * 2000 + b"]" * 2000, "not valid TOML: nested too deeply"),
    (b"x = " + b"{a = " * 2000 + b"1" + b"}" * 2000, "not valid TOML: nested too deeply"),
    (b"x = " + b"9" * 5000, "not valid TOML: a number has too many digits"),
    (b"x = \xff", "not valid TOML: 'utf-8' codec can't decode byte 0xff in position 4: invalid start byte"),
])
def test_toml_that_cannot_be_parsed_is_a_catalog_error(tmp_path, text, message):
    path = tmp_path / "lanxi.toml"
    path.write_bytes(text)
    with pytest.raises(CatalogError) as err:
        load_catalog_file(path, LABEL)
    assert str(err.value) == f"{LABEL}: {message}"
    assert err.value.problems == [("", message)]


def test_a_catalog_path_that_is_a_folder_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError) as err:
        load_catalog_file(tmp_path, LABEL)
    assert str(err.value) == f"{LABEL}: cannot read the file: it is a folder"


def test_a_missing_catalog_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError) as err:
        load_catalog_file(tmp_path / "nowhere.toml")
    assert str(err.value) == f"{tmp_path / 'nowhere.toml'}: cannot read the file: there is no such file"


class _Unreadable:
    name = "lanxi.toml"

    def __init__(self, exc: OSError) -> None:
        self.exc = exc

    def read_bytes(self) -> bytes:
        raise self.exc


@pytest.mark.parametrize(("exc", "message"), [
    (PermissionError(13, "Permission denied"), "cannot read the file: permission denied"),
    (OSError(5, "Input/output error"), "cannot read the file: Input/output error"),
])
def test_an_unreadable_catalog_file_is_a_catalog_error(exc, message):
    with pytest.raises(CatalogError) as err:
        load_catalog_file(_Unreadable(exc), LABEL)
    assert str(err.value) == f"{LABEL}: {message}"
