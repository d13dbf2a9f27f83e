"""Limits across claims (R18–R20), as sorts and ranks over the whole file.

* R20: the first row of a claim id is the claim; every later row is ``duplicate_claim``.
* In (date, claim id, row) order per person, an eligible claim whose limit key
  (R19; annex3.3's one apprenticeship a year) is already granted is ``repeat``
  (``apprenticeship_year``); else, with 3 granted that calendar year, ``annual_limit``
  (R18); else it is granted. Only granted claims count.

Within a person, claims are grouped by limit key. When no year holds more than three
first-of-key claims, every first-of-key claim is granted and every other one is a
repeat: decided by vector operations. Only the persons with a year of four or more
keys (where a refusal under R18 leaves the key free for a later claim) are walked
claim by claim, exactly as the reference does.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from jinhua_subsidy.columns import years

#: R18 (main.4.1 每人每年可享受不超过3次): subsidies a person may get in a calendar year.
PER_YEAR = 3
NONE, DUPLICATE, REPEAT, APPRENTICESHIP_YEAR, ANNUAL_LIMIT = range(5)
CODES = {DUPLICATE: "duplicate_claim", REPEAT: "repeat", APPRENTICESHIP_YEAR: "apprenticeship_year",
         ANNUAL_LIMIT: "annual_limit"}


def apply_limits(claim_id: pl.Series, person: np.ndarray, day: np.ndarray, key: np.ndarray,
                 annual: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """A limit code per decision (decisions in row order): NONE or why it is refused.

    ``person`` and ``key`` are integer codes (equal exactly when the reference's person id and
    limit key are); ``annual`` marks the apprenticeship keys (one a year, annex3.3).
    """
    n = len(person)
    out = np.full(n, NONE, dtype=np.int64)
    first_row = first_of_each(claim_id)
    out[~first_row] = DUPLICATE
    cand = np.flatnonzero(eligible & first_row)
    if not len(cand):
        return out
    order = pl.DataFrame({"p": person[cand], "d": day[cand], "i": cand}).sort(["p", "d", "i"])
    p, d, pos = (order[c].to_numpy() for c in ("p", "d", "i"))
    pos = _ties_by_claim_id(p, d, pos.copy(), claim_id)
    k = key[pos]
    new_key = pl.select(pl.struct(p=p, k=k).is_first_distinct()).to_series().to_numpy()
    y = years(d)
    # Rank of each first-of-key claim within its (person, year): rows are sorted by person then date.
    person_start = np.ones(len(pos), dtype=bool)
    person_start[1:] = p[1:] != p[:-1]
    run_start = person_start.copy()
    run_start[1:] |= y[1:] != y[:-1]
    counted = np.cumsum(new_key)
    rank = counted - np.maximum.accumulate(np.where(run_start, counted - new_key, 0))
    person_run = np.cumsum(person_start) - 1
    crowded = np.zeros(int(person_run[-1]) + 1, dtype=bool)
    crowded[person_run[new_key & (rank > PER_YEAR)]] = True
    hard = crowded[person_run]

    refused = ~hard & ~new_key
    out[pos[refused]] = np.where(annual[pos[refused]], APPRENTICESHIP_YEAR, REPEAT)
    walk = np.flatnonzero(hard)
    if len(walk):
        out[pos[walk]] = _walk(p[walk], y[walk], k[walk], annual[pos[walk]])
    return out


def first_of_each(values: pl.Series) -> np.ndarray:
    """Whether each value is the first of its kind (R20: the first row of a claim id).

    Compared by hash first; only values whose hash repeats are compared as text."""
    hashed = values.hash(seed=20200107)
    first = np.ones(len(values), dtype=bool)
    again = np.flatnonzero(hashed.is_duplicated().to_numpy())
    if len(again):
        first[again] = values.gather(again).is_first_distinct().to_numpy()
    return first


def _ties_by_claim_id(p: np.ndarray, d: np.ndarray, pos: np.ndarray, claim_id: pl.Series) -> np.ndarray:
    """Claims of one person on one date, put in (claim id, row) order as the reference takes them."""
    same = (p[1:] == p[:-1]) & (d[1:] == d[:-1])
    if not same.any():
        return pos
    tied = np.zeros(len(pos), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    starts = tied.copy()
    starts[1:] &= ~same
    at = np.flatnonzero(tied)
    group = np.cumsum(starts)[at]
    ordered = pl.DataFrame({"g": group, "c": claim_id.gather(pos[at]), "i": pos[at]}).sort(["g", "c", "i"])
    pos[at] = ordered["i"].to_numpy()
    return pos


def _walk(person: np.ndarray, year: np.ndarray, key: np.ndarray, annual: np.ndarray) -> list[int]:
    """The reference's loop (limits.apply_limits) over claims already in order."""
    granted: set[tuple[int, int]] = set()
    per_year: Counter[tuple[int, int]] = Counter()
    out = []
    for p, y, k, a in zip(person.tolist(), year.tolist(), key.tolist(), annual.tolist(), strict=True):
        if (p, k) in granted:
            out.append(APPRENTICESHIP_YEAR if a else REPEAT)
        elif per_year[(p, y)] >= PER_YEAR:
            out.append(ANNUAL_LIMIT)
        else:
            granted.add((p, k))
            per_year[(p, y)] += 1
            out.append(NONE)
    return out
