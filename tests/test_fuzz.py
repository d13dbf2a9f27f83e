"""The fuzz harness of issue 7 on a bounded budget (tests/fuzz.py says what is generated and what
every run must pass; benchmarks/fuzz.py runs the long budget by hand).

In-process through click's test runner, the engine built once; a few cases as the real
``subsidy`` command in a process of its own. The examples are derandomized: CI sees the same
cases every run.
"""

from __future__ import annotations

import fuzz
import pytest
from fuzz import ClaimsCase, catalog_cases, check_catalog, check_claims, claims_cases, expected_rows, leaked_ids
from hypothesis import HealthCheck, given, settings

BUDGET = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def budget(examples: int) -> settings:
    return settings(BUDGET, max_examples=examples)


@pytest.fixture(scope="module")
def shared_engine():
    with fuzz.shared_engine():
        yield


@budget(400)
@given(claims_cases())
def test_hostile_claims_files(shared_engine, case):
    assert check_claims(case).problems == []


@budget(60)
@given(catalog_cases())
def test_hostile_catalogs(case):
    assert check_catalog(case).problems == []


@budget(3)
@given(claims_cases())
def test_hostile_claims_files_through_the_command(case):
    assert check_claims(case, process=True).problems == []


# --- the harness's own checks ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "330702199001011042", "１１０１０５１９４９１２３１００２ｘ", "第4行（33070219900101119X）", "𝟑𝟑𝟎𝟕𝟎𝟐𝟏𝟗𝟗𝟎𝟎𝟏𝟎𝟏𝟏𝟎𝟒𝟐",
    "a,330702199001011042\n",
])
def test_the_scan_finds_a_valid_id_in_any_spelling(text):
    assert leaked_ids(text)


@pytest.mark.parametrize("text", ["3307**********1042", "330702199001011043", "33070219900101104", ""])
def test_the_scan_passes_masked_and_invalid_ids(text):
    assert leaked_ids(text) == []


@pytest.mark.parametrize(("data", "suffix", "rows"), [
    (b"claim_id,person_id,region,kind,date\na,b,c,d,e\n\nf\n", ".csv", 2),
    (b"\n \r\nclaim_id,person_id,region,kind,date\r\na,\"b\nc\",d,e,f\r\n", ".csv", 1),
    (b"claim_id,person_id\na,b\n", ".csv", "header"),
    (b"\xef", ".csv", "undecodable"),
    (b'{"a": 1}\r{"b": 2}\n\n  \n[]\n', ".jsonl", 3),
    (b"\xef\xbb\xbf{}\n", ".ndjson", 1),
])
def test_rows_are_counted_as_the_contract_says(data, suffix, rows):
    assert expected_rows(data, suffix, "utf-8") == rows


def test_the_harness_on_a_plain_and_an_undecodable_file(shared_engine):
    data = b"claim_id,person_id,region,kind,date\nA,330702199001011042,urban,qualification,2021-06-01\n"
    got = check_claims(ClaimsCase(data, ".csv", "utf-8", "csv", out=True))
    assert (got.problems, got.exit, got.decisions, got.reported) == ([], 1, 0, 1)  # no occupation: a row error
    got = check_claims(ClaimsCase(data + b"\xff", ".csv", "utf-8", "csv", out=True))
    assert (got.problems, got.exit) == ([], 2)
