"""Limits across a claims file (R18–R20), applied in date order.

* R20: a claim id seen again is the same claim; the later row changes nothing.
* R19: a person never gets a second subsidy for the same occupation and level, nor the
  same project (and annex3.3: one apprenticeship subsidy a year).
* R18: at most 3 subsidies a person a calendar year, all kinds and regions together.

Claims are taken in order of (date, claim id); only granted claims count against later ones.
"""

from __future__ import annotations

from collections import Counter

from attrs import evolve

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.reasons import REASONS

#: R18 (main.4.1 每人每年可享受不超过3次): subsidies a person may get in a calendar year.
PER_YEAR = 3


def refused(d: Decision, code: str) -> Decision:
    return evolve(d, eligible=False, amount=0, payee="", channel="", reasons=(code,),
                  citations=REASONS[code].citation.ids())


def apply_limits(decisions: list[Decision]) -> list[Decision]:
    """The decisions with R18–R20 applied, in the order given."""
    out = list(decisions)
    first_row: dict[str, int] = {}
    for d in sorted(out, key=lambda d: d.row):
        first_row.setdefault(d.claim_id, d.row)
    granted: set[tuple[str, tuple[str, ...]]] = set()
    per_year: Counter[tuple[str, int]] = Counter()
    order = sorted(range(len(out)), key=lambda i: (out[i].date, out[i].claim_id, out[i].row))
    for i in order:
        d = out[i]
        if first_row[d.claim_id] != d.row:
            out[i] = refused(d, "duplicate_claim")
            continue
        if not d.eligible:
            continue
        key = (d.person_id, d.limit_key)
        if key in granted:
            out[i] = refused(d, "apprenticeship_year" if d.limit_key[0] == "apprenticeship" else "repeat")
        elif per_year[(d.person_id, d.date.year)] >= PER_YEAR:
            out[i] = refused(d, "annual_limit")
        else:
            granted.add(key)
            per_year[(d.person_id, d.date.year)] += 1
    return out
