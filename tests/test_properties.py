"""Properties that hold for every claim (hypothesis).

Bounds are the figures of annex 3 of 金人社发〔2020〕1号, written here by hand: the
shipped regions (市区, its districts, and the provisional 义乌/东阳 catalogs, which
adopt the urban standard) all pay by them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinhua_subsidy.claims import Claim
from jinhua_subsidy.columns import years
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.testing import person_id, write_claims_csv

# annex3.1.2 (R5): 3000/2500/2000/900/800/600 元, in fen.
QUALIFICATION_RATE = {"1": 300_000, "2": 250_000, "3": 200_000, "4": 90_000, "5": 80_000, "S": 60_000}
# annex3.2.2 (R8, R9): fen an hour and cap.
HOUR_RATE = {"enterprise": 3_000, "department": 2_500, "institution": 2_500, "college": 2_500}
PROJECT_CAP = {"enterprise": 80_000, "department": 50_000, "institution": 50_000, "college": 50_000}
# annex3.3 (R12).
APPRENTICE_CAP = {"employee": 600_000, "student": 300_000}

REGIONS = ("urban", "wucheng", "jindong", "kaifaqu", "yiwu", "dongyang")
# On the urban, 义乌 and 东阳 shortage lists, and on none.
OCCUPATIONS = ("6-18-01-01", "4-10-01-05", "4-01-06-01", "6-09-03-01", "4-03-02-01", "4-07-03-05")
TAGS = ("trade_friction", "key_manufacturing", "city_soe", "self_evaluation")

SETTINGS = settings(max_examples=200, deadline=None)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(get_plugin_manager(autoload=False))


def times_1_3(fen: int) -> int:
    """fen × 1.3, half-up to the fen (R13), worked with Decimal."""
    return int((Decimal(fen) * Decimal("1.3")).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cells(row: dict[str, Any]) -> dict[str, str]:
    out = {}
    for k, v in row.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


dates = st.dates(min_value=dt.date(2020, 1, 7), max_value=dt.date(2023, 12, 31))
tags = st.sets(st.sampled_from(TAGS)).map(lambda s: ";".join(sorted(s)))


@st.composite
def rows(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    """A readable claim of any kind, region and date; the person is local to the region."""
    region = draw(st.sampled_from(REGIONS))
    kind = kind or draw(st.sampled_from(("qualification", "project", "apprenticeship")))
    employer = "jindong" if region == "urban" else region
    row: dict[str, Any] = {
        "claim_id": "C", "person_id": person_id(draw(st.integers(0, 999))), "region": region,
        "kind": kind, "date": draw(dates).isoformat(), "hukou": "other" if region == "urban" else region,
        "residence_permit": "urban" if region == "urban" else None, "employer_tags": draw(tags),
        "employer_region": draw(st.sampled_from((employer, employer, "yiwu", "kaifaqu"))),
    }
    if kind == "qualification":
        row |= {"occupation": draw(st.sampled_from(OCCUPATIONS)),
                "level": draw(st.sampled_from(list(QUALIFICATION_RATE)))}
    elif kind == "project":
        row |= {"project_code": "P-1", "organizer": draw(st.sampled_from(list(HOUR_RATE))),
                "organizer_level": draw(st.sampled_from(("city", "district"))),
                "hours": draw(st.integers(0, 120)), "passed": draw(st.booleans()),
                "review": draw(st.booleans())}
    else:
        fen = draw(st.integers(0, 1_500_000))
        row |= {"apprentice": draw(st.sampled_from(list(APPRENTICE_CAP))), "cost": f"{fen // 100}.{fen % 100:02d}"}
    return row


def claim_of(engine: Engine, row: dict[str, Any]) -> Claim:
    parsed = engine.parser.parse(2, cells(row))
    assert isinstance(parsed, Claim), parsed
    return parsed


def base_amount(row: dict[str, Any]) -> int:
    """What the standard pays before any uplift (annex 3), by hand."""
    if row["kind"] == "qualification":
        return QUALIFICATION_RATE[row["level"]]
    if row["kind"] == "project":
        if row["review"] and row["organizer"] != "enterprise":
            return 10_000
        return min(row["hours"] * HOUR_RATE[row["organizer"]], PROJECT_CAP[row["organizer"]])
    return min(int(Decimal(row["cost"]) * 100), APPRENTICE_CAP[row["apprentice"]])


@SETTINGS
@given(row=rows())
def test_amount_never_exceeds_its_cap_times_1_3(engine, row):
    d = engine.decide(claim_of(engine, row))
    if row["kind"] == "qualification":
        cap = QUALIFICATION_RATE[row["level"]]
    elif row["kind"] == "project":
        cap = PROJECT_CAP[row["organizer"]]
    else:
        cap = APPRENTICE_CAP[row["apprentice"]]
        assert d.amount <= int(Decimal(row["cost"]) * 100)
    assert 0 <= d.amount <= times_1_3(cap)
    assert d.eligible or d.amount == 0


@SETTINGS
@given(row=rows("project"), more=st.integers(0, 60))
def test_more_hours_never_pay_less(engine, row, more):
    fewer = engine.decide(claim_of(engine, row))
    longer = engine.decide(claim_of(engine, {**row, "hours": row["hours"] + more}))
    assert longer.amount >= fewer.amount


@SETTINGS
@given(row=rows())
def test_uplifts_never_compound(engine, row):
    # Whatever the tags and whether the occupation is short: at most base × 1.3, once (R11).
    d = engine.decide(claim_of(engine, row))
    assert d.amount <= times_1_3(base_amount(row))


def decide_file(engine: Engine, rows_: list[dict[str, Any]]) -> dict[str, tuple[Decision, list[Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        decisions, errors = engine.evaluate_file(write_claims_csv(Path(tmp) / "claims.csv", rows_))
    assert errors == []
    return {d.claim_id: (d, [(s.rule, s.value, s.citation) for s in d.steps]) for d in decisions}


@st.composite
def files(draw: st.DrawFn, shared_persons: bool) -> list[dict[str, Any]]:
    n = draw(st.integers(2, 12))
    seeds = (draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)) if shared_persons
             else draw(st.lists(st.integers(0, 999), min_size=n, max_size=n, unique=True)))
    out = []
    for i, seed in enumerate(seeds):
        row = draw(rows())
        out.append({**row, "claim_id": f"C{i:02d}", "person_id": person_id(seed)})
    return out


@SETTINGS
@given(data=st.data())
def test_position_in_the_file_does_not_matter_for_distinct_persons(engine, data):
    original = data.draw(files(shared_persons=False))
    shuffled = data.draw(st.permutations(original))
    assert decide_file(engine, shuffled) == decide_file(engine, original)


@SETTINGS
@given(data=st.data())
def test_limits_go_by_date_not_by_position(engine, data):
    # R18/R19 take a person's claims in order of (date, claim id), so with distinct claim
    # ids (R20 aside) even claims of one person decide the same in any order.
    original = data.draw(files(shared_persons=True))
    shuffled = data.draw(st.permutations(original))
    assert decide_file(engine, shuffled) == decide_file(engine, original)


@given(st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), min_size=1, max_size=30))
def test_calendar_year_of_a_day_is_its_year(dates):
    """R18/R23 count per calendar year (每人每年): the year of each day, as the calendar gives it."""
    days = [(d - dt.date(1970, 1, 1)).days for d in dates]
    assert years(days).tolist() == [d.year for d in dates]
