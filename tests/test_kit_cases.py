"""Case files (core/testing.py): a county writes claims and their expected decisions in
``cases/*.toml`` or ``cases/*.csv``; pytest runs one test per claim and reports a failing claim
by name and line, with its explanation. Run here with pytester, on the built-in urban catalog.
"""

from __future__ import annotations

import pytest

from jinhua_subsidy.testing import CaseError, read_cases

pytest_plugins = ["pytester"]

#: 中式烹调师 (not on the urban shortage list) at each level, annex3.1.2 (R5).
URBAN_CASES = """\
# 金华市区的判定用例
[defaults]
region = "urban"
date = "2021-06-01"
hukou = "wucheng"
kind = "qualification"
occupation = "4-03-02-01"

[[claims]]
claim_id = "U4"
level = "4"
note = "四级/中级工 900 元（annex3.1.2 R5）"
expect = { eligible = true, amount = "900", payee = "person", channel = "city", reasons = [] }

[[claims]]
claim_id = "U3"
level = "3"
expect = { amount = "2000.00" }

[[claims]]
claim_id = "OUT"
level = "3"
hukou = "other"
expect = { eligible = false, reasons = ["not_eligible"] }

[[claims]]
claim_id = "OLD"
level = "3"
date = 2019-06-01
expect = { error = "职业资格补贴标准" }
"""


@pytest.fixture
def cases(pytester, monkeypatch):
    monkeypatch.setenv("SUBSIDY_DISABLE_PLUGIN_AUTOLOAD", "1")

    def write(text: str, name: str = "urban.toml") -> None:
        (pytester.path / "cases").mkdir(exist_ok=True)
        (pytester.path / "cases" / name).write_text(text, encoding="utf-8")

    return write


def test_a_table_of_right_cases_passes(pytester, cases):
    cases(URBAN_CASES)
    result = pytester.runpytest("cases", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["cases/urban.toml::U4 PASSED*", "cases/urban.toml::OLD PASSED*"])


def test_a_wrong_expected_amount_fails_naming_the_claim(pytester, cases):
    cases(URBAN_CASES.replace('expect = { amount = "2000.00" }', 'expect = { amount = "2100.00" }'))
    result = pytester.runpytest("cases")
    result.assert_outcomes(passed=3, failed=1)
    out = result.stdout.str()
    line = [n for n, ln in enumerate(URBAN_CASES.splitlines(), start=1) if ln == "[[claims]]"][1]
    assert f"\ncases/urban.toml:{line}: U3: amount: expected 2100.00, got 2000.00" in out
    assert "申领 U3：金华市区（urban）" in out  # the explanation follows
    assert "结论：补贴 2000.00 元" in out
    assert "FAILED cases/urban.toml::U3" in out


def test_every_difference_is_listed(pytester, cases):
    cases(URBAN_CASES.replace('expect = { eligible = true, amount = "900", payee = "person", channel = "city"',
                              'expect = { eligible = true, amount = "800", payee = "employer", channel = "city"'))
    result = pytester.runpytest("cases")
    result.assert_outcomes(passed=3, failed=1)
    assert "U4: amount: expected 800.00, got 900.00; payee: expected employer, got person" in result.stdout.str()
    assert "四级/中级工 900 元（annex3.1.2 R5）" in result.stdout.str()  # the case's note


def test_an_expected_error_that_does_not_come(pytester, cases):
    cases(URBAN_CASES.replace('expect = { amount = "2000.00" }', 'expect = { error = "尚无补贴目录" }'))
    result = pytester.runpytest("cases")
    result.assert_outcomes(passed=3, failed=1)
    assert "U3: expected a row error containing '尚无补贴目录', but it was decided" in result.stdout.str()


def test_a_csv_case_file(pytester, cases):
    cases("claim_id,region,kind,date,occupation,level,hukou,expect_eligible,expect_amount,expect_reasons,note\n"
          "C1,urban,qualification,2021-06-01,4-03-02-01,4,wucheng,true,900.00,,中级工\n"
          "C2,urban,qualification,2021-06-01,4-03-02-01,4,wucheng,false,0.00,repeat,R19: the same certificate\n",
          name="repeat.csv")
    result = pytester.runpytest("cases")
    result.assert_outcomes(passed=1, failed=1)  # C2 has its own person: not a repeat
    assert "repeat.csv:3: C2: eligible: expected false, got true" in result.stdout.str()


def test_person_makes_two_claims_one_persons(pytester, cases):
    cases("claim_id,region,kind,date,occupation,level,hukou,person,expect_eligible,expect_reasons\n"
          "C1,urban,qualification,2021-06-01,4-03-02-01,4,wucheng,7,true,\n"
          "C2,urban,qualification,2021-06-02,4-03-02-01,4,wucheng,7,false,repeat\n", name="repeat.csv")
    pytester.runpytest("cases").assert_outcomes(passed=2)


@pytest.mark.parametrize(("text", "message"), [
    ('[[claims]]\nclaim_id = "A"\nexpect = { amout = "1" }\n', "unknown expect key(s) amout"),
    ('[[claims]]\nclaim_id = "A"\n', "the claim expects nothing"),
    ('[[claims]]\nexpect = { amount = "1" }\n', "every claim needs a claim_id"),
    ('[[claim]]\nclaim_id = "A"\n', "unknown table(s) claim"),
    ('[[claims]]\nclaim_id = "A"\nexpect = { amount = "1" }\n[[claims]]\nclaim_id = "A"\nexpect = { amount = "1" }\n',
     "claim_id A is given twice"),
])
def test_a_case_file_that_cannot_be_read(tmp_path, text, message):
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError) as err:
        read_cases(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_an_unreadable_case_file_is_a_collection_error(pytester, cases):
    cases('[[claims]]\nclaim_id = "A"\n')
    result = pytester.runpytest("cases")
    assert result.ret != 0
    assert "the claim expects nothing" in result.stdout.str()
