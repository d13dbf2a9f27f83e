"""A testing kit for plugin authors, loaded by pytest through the ``pytest11`` entry point.

Fixtures:

* ``subsidy_engine(extra=(), disable=())`` builds an :class:`~jinhua_subsidy.engine.Engine`
  with outside plugins registered in code, e.g. a county's own plugin under test.
* ``catalog_plugin(toml_text)`` writes a catalog to a temporary file and returns a
  :class:`~jinhua_subsidy.plugin_kit.CatalogPlugin` for it.
* ``claims_csv(rows)`` writes claim dicts to a CSV file with the contract header.

Helpers: :func:`person_id` makes a valid 居民身份证号 from a seed (GB 11643 check digit).

Case files: every ``cases/*.toml`` (or ``cases/*.csv``) under the folders pytest collects is a
table of claims with the decision each must get. pytest runs one test per claim with the
installed plugins (as ``subsidy evaluate`` would); a claim whose decision differs fails, naming
the claim, its line, what was expected and what came, followed by its explanation
(:func:`jinhua_subsidy.explain.render`). In TOML::

    [defaults]                      # optional: cells every claim shares
    region = "lanxi"
    date = "2021-06-01"

    [[claims]]
    claim_id = "C1"
    kind = "qualification"
    occupation = "4-03-02-01"
    level = "4"
    hukou = "lanxi"
    note = "四级/中级工 900 元（annex3.1.2 R5）"
    expect = { eligible = true, amount = "900.00", payee = "person", channel = "county:lanxi" }

``expect`` may give ``eligible``, ``amount`` (yuan, as ``"900.00"``), ``payee``, ``channel``,
``reasons`` (a list, compared whole), ``status``, or ``error`` (a text the row error must
contain: the claim is expected not to be decided). ``person = 3`` gives the claim the same
generated resident id as every other claim with ``person = 3`` (for R18–R20); without it and
without ``person_id`` each claim gets an id of its own. In CSV the columns are the claims file's
(docs/claims.md) plus ``expect_eligible``, ``expect_amount``, ``expect_payee``,
``expect_channel``, ``expect_reasons`` (``;``-joined), ``expect_status``, ``expect_error``,
``note`` and ``person``; an empty cell is not checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.resident_id import check_digit


def person_id(seed: int, *, area: str = "330702", birth: str = "19900101") -> str:
    """A valid 18-digit id: area code, birth date, a 3-digit sequence from ``seed``, check digit."""
    first17 = f"{area}{birth}{seed % 1000:03d}"
    return first17 + check_digit(first17)


def write_claims_csv(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write claims with the full contract header; missing keys are empty cells."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
    return path


def _cell(v: Any) -> str:
    """A cell as the claims file writes it: ``true``/``false``, ISO dates, ``;``-joined lists."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ";".join(_cell(x) for x in v)
    return str(v)


@pytest.fixture
def subsidy_engine() -> Callable[..., Engine]:
    def make(extra: Iterable[tuple[str, object]] = (), disable: Iterable[str] = ()) -> Engine:
        return Engine(get_plugin_manager(extra=extra, disable=disable, autoload=False))

    return make


@pytest.fixture
def catalog_plugin(tmp_path: Path) -> Callable[[str, str], CatalogPlugin]:
    def make(toml_text: str, name: str = "test.toml") -> CatalogPlugin:
        p = tmp_path / name
        p.write_text(toml_text, encoding="utf-8")
        return CatalogPlugin(p)

    return make


@pytest.fixture
def claims_csv(tmp_path: Path) -> Callable[..., Path]:
    def make(rows: Iterable[Mapping[str, Any]], name: str = "claims.csv") -> Path:
        return write_claims_csv(tmp_path / name, rows)

    return make


# --- case files: cases/*.toml and cases/*.csv -------------------------------------------------------

#: What ``expect`` may say about a decision.
EXPECT_KEYS = ("eligible", "amount", "payee", "channel", "reasons", "status", "error")
#: Keys of a case that are not cells of the claims file.
CASE_KEYS = ("expect", "note", "person")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.parent.name == "cases" and file_path.suffix in (".toml", ".csv"):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseError(Exception):
    """A case file that cannot be read; the message names the file and the claim."""


class Case:
    """One claim of a case file with what its decision must be."""

    def __init__(self, index: int, line: int, cells: dict[str, str], expect: dict[str, Any], note: str) -> None:
        self.index, self.line, self.cells, self.expect, self.note = index, line, cells, expect, note

    @property
    def claim_id(self) -> str:
        return self.cells.get("claim_id", "")


def _claim_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("[[claims]]")]


def read_cases(path: Path) -> list[Case]:
    """The cases of one file (TOML or CSV); :class:`CaseError` for a file that cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read the file: {exc}") from None
    raw: list[tuple[int, dict[str, Any]]] = []
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CaseError(f"{path}: not valid TOML: {exc}") from None
        unknown = sorted(set(data) - {"defaults", "claims"})
        if unknown:
            raise CaseError(f"{path}: unknown table(s) {', '.join(unknown)}: a case file has [defaults] and [[claims]]")
        defaults = data.get("defaults", {})
        lines = _claim_lines(text)
        for k, claim in enumerate(data.get("claims", [])):
            raw.append((lines[k] if k < len(lines) else 1, {**defaults, **claim}))
    else:
        rows = list(csv.DictReader(text.splitlines()))
        for k, row in enumerate(rows):
            expect = {key.removeprefix("expect_"): v for key, v in row.items()
                      if key and key.startswith("expect_") and v not in (None, "")}
            cells = {key: v for key, v in row.items() if key and not key.startswith("expect_")}
            if "eligible" in expect:
                expect["eligible"] = expect["eligible"].strip().lower() == "true"
            if "reasons" in expect:
                expect["reasons"] = [r for r in expect["reasons"].split(";") if r]
            raw.append((k + 2, {**cells, "expect": expect}))
    cases = []
    seen: set[str] = set()
    for k, (line, claim) in enumerate(raw):
        where = f"{path}:{line}"
        expect = claim.get("expect", {})
        if not isinstance(expect, dict):
            raise CaseError(f"{where}: expect must be a table, e.g. expect = {{ amount = \"900.00\" }}")
        bad = sorted(set(expect) - set(EXPECT_KEYS))
        if bad:
            raise CaseError(f"{where}: unknown expect key(s) {', '.join(bad)} (use {', '.join(EXPECT_KEYS)})")
        if not expect:
            raise CaseError(f"{where}: the claim expects nothing: give expect = {{ … }}")
        cells = {key: _cell(v) for key, v in claim.items() if key not in CASE_KEYS}
        if not cells.get("claim_id"):
            raise CaseError(f"{where}: every claim needs a claim_id")
        if cells["claim_id"] in seen:
            raise CaseError(f"{where}: claim_id {cells['claim_id']} is given twice")
        seen.add(cells["claim_id"])
        if not cells.get("person_id"):
            person = claim.get("person")
            cells["person_id"] = person_id(int(person) if person not in (None, "") else 500 + k)
        cases.append(Case(k, line, cells, expect, _cell(claim.get("note", ""))))
    return cases


class CaseFile(pytest.File):
    """A case file: one test per claim, every claim decided together (R18–R20 apply across them)."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            cases = read_cases(self.path)
        except CaseError as exc:
            raise self.CollectError(str(exc)) from None
        self.cases = cases
        self._result: tuple[Any, ...] | None = None
        for case in cases:
            yield CaseItem.from_parent(self, name=case.claim_id, case=case)

    def decided(self) -> tuple[Any, ...]:
        """(engine, decisions by claim id, row errors by claim id, added reasons), once per file."""
        if self._result is None:
            import tempfile

            from jinhua_subsidy.evaluation import ALL, evaluate_file

            engine = Engine()
            columns = list(COLUMNS) + [c for case in self.cases for c in case.cells if c not in COLUMNS]
            columns = list(dict.fromkeys(columns))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{self.path.stem}.csv"
                with path.open("w", encoding="utf-8", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=columns)
                    w.writeheader()
                    for case in self.cases:
                        w.writerow(case.cells)
                result = evaluate_file(engine, path, progress=False, watch=(ALL,))
            decisions = {d.claim_id: d for d in engine.decisions(result)}
            errors = {e.claim_id: e for e in result.errors}
            self._result = (engine, decisions, errors, result.reasons)
        return self._result


class CaseFailure(Exception):
    """A claim whose decision is not the one its case expects."""


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.explanation = ""

    def runtest(self) -> None:
        parent: CaseFile = self.parent  # type: ignore[assignment]
        engine, decisions, errors, added = parent.decided()
        case, want = self.case, self.case.expect
        cid = case.claim_id
        if cid in errors:
            message = errors[cid].message
            if "error" in want and want["error"] in message:
                return
            raise CaseFailure(f"{cid}: not decided: {errors[cid]}"
                              + (f" (expected an error containing {want['error']!r})" if "error" in want else ""))
        if "error" in want:
            raise CaseFailure(f"{cid}: expected a row error containing {want['error']!r}, but it was decided")
        d = decisions[cid]
        got = d.record()
        wrong = []
        for key in EXPECT_KEYS[:-1]:
            if key not in want:
                continue
            expected, actual = want[key], got[key]
            if key == "amount":
                expected = _yuan(str(expected))
            if key == "reasons":
                expected = list(expected)
            if expected != actual:
                wrong.append(f"{key}: expected {_show(expected)}, got {_show(actual)}")
        if wrong:
            from jinhua_subsidy.explain import render

            self.explanation = render(d, engine, added)
            raise CaseFailure(f"{cid}: " + "; ".join(wrong))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            note = f"\n{self.case.note}" if self.case.note else ""
            tail = f"\n\n{self.explanation}" if self.explanation else ""
            try:
                where = self.path.relative_to(self.config.rootpath)
            except ValueError:
                where = self.path
            return f"{where}:{self.case.line}: {excinfo.value}{note}{tail}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case {self.case.claim_id}"


def _yuan(text: str) -> str:
    """``"900"`` → ``"900.00"``, as decisions print amounts."""
    from jinhua_subsidy.money import MoneyError, format_yuan, parse_yuan

    try:
        return format_yuan(parse_yuan(text))
    except MoneyError:
        return text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return str(value)
