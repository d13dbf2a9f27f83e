"""Limits across claims (R18–R20, R23, R28), as sorts and ranks over the whole file.

* R20: the first row of a claim id is the claim; every later row is ``duplicate_claim``.
* Per person, grants already held (the ledger's, R28) first, then claims in (date, claim id,
  row) order: an eligible claim whose R19 key is already granted is ``repeat``; a claim under a
  yearly ceiling (apprenticeship, R23) that finds nothing left of it is ``nothing_to_pay``
  (R24); with 3 granted that calendar year it is ``annual_limit`` (R18); else it is granted,
  under a ceiling for at most what is left of it (reason ``capped``). Only grants count.

When no (person, year) holds more than three first-of-key claims or two ceiling claims, and
the person has nothing held, every first-of-key claim is granted and every other one is a
repeat: decided by vector operations. Only the other persons are walked claim by claim.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from jinhua_subsidy.columns import years

#: R18 (main.4.1 每人每年可享受不超过3次): subsidies a person may get in a calendar year.
PER_YEAR = 3
NONE, DUPLICATE, REPEAT, ANNUAL_LIMIT, NOTHING, REDUCED = range(6)
#: Refusals by a limit, by code; REDUCED is a grant of what is left of a yearly ceiling (R23).
CODES = {DUPLICATE: "duplicate_claim", REPEAT: "repeat", ANNUAL_LIMIT: "annual_limit", NOTHING: "nothing_to_pay"}


def apply_limits(claim_id: pl.Series, person: np.ndarray, day: np.ndarray, key: np.ndarray, eligible: np.ndarray,
                 amount: np.ndarray, ceiling: np.ndarray, held: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A limit code per decision (decisions in row order), and the amounts as the limits leave them.

    ``person`` and ``key`` are integer codes (equal exactly when the person ids and the R19 keys
    are); ``ceiling`` is a claim's yearly ceiling (R23; -1: none); ``held`` marks grants made
    before (the ledger's): they stand and count first, whatever their dates (R28).
    """
    n = len(person)
    out = np.full(n, NONE, dtype=np.int64)
    paid = amount.copy()
    held = np.zeros(n, dtype=bool) if held is None else held
    first_row = first_of_each(claim_id)
    out[~first_row & ~held] = DUPLICATE
    cand = np.flatnonzero(eligible & (first_row | held))
    if not len(cand):
        paid[out != NONE] = 0
        return out, paid
    # Per person: grants held first (R28), then by date; claims of one day by claim id.
    order = pl.DataFrame({"p": person[cand], "h": ~held[cand], "d": day[cand], "i": cand}).sort(["p", "h", "d", "i"])
    p, d, pos = (order[c].to_numpy() for c in ("p", "d", "i"))
    pos = _ties_by_claim_id(p, order["h"].to_numpy(), d, pos.copy(), claim_id)
    k = key[pos]
    new_key = pl.select(pl.struct(p=p, k=k).is_first_distinct()).to_series().to_numpy()
    y = years(d)
    person_start = np.ones(len(pos), dtype=bool)
    person_start[1:] = p[1:] != p[:-1]
    person_run = np.cumsum(person_start) - 1
    # A person is walked claim by claim when the order matters: a year with more than three
    # first-of-key claims (a refusal under R18 leaves the key free for a later claim), two claims
    # under one yearly ceiling in a year (R23), or grants held from before (R28). Everyone else:
    # every first-of-key claim is granted and every other one is a repeat (R19).
    py = pl.DataFrame({"r": person_run, "y": y, "new": new_key, "ceil": ceiling[pos] >= 0})
    busy = py.group_by("r", "y").agg((pl.col("new").sum() > PER_YEAR) | (pl.col("ceil").sum() > 1)).filter(
        pl.col("new")).get_column("r").to_numpy()
    hard_person = np.zeros(int(person_run[-1]) + 1, dtype=bool)
    hard_person[busy] = True
    hard_person[person_run[held[pos]]] = True
    over = (ceiling[pos] >= 0) & (amount[pos] > ceiling[pos])  # raised past its ceiling (subsidy_adjust, R23)
    hard_person[person_run[over]] = True
    hard = hard_person[person_run]
    refused = ~hard & ~new_key
    out[pos[refused]] = REPEAT
    walk = np.flatnonzero(hard)
    if len(walk):
        at = pos[walk]
        codes, amounts = _walk(p[walk], y[walk], k[walk], amount[at], ceiling[at], held[at])
        out[at] = codes
        paid[at] = amounts
    paid[np.isin(out, list(CODES))] = 0
    return out, paid


def first_of_each(values: pl.Series) -> np.ndarray:
    """Whether each value is the first of its kind (R20: the first row of a claim id).

    Compared by hash first; only values whose hash repeats are compared as text."""
    hashed = values.hash(seed=20200107)
    first = np.ones(len(values), dtype=bool)
    again = np.flatnonzero(hashed.is_duplicated().to_numpy())
    if len(again):
        first[again] = values.gather(again).is_first_distinct().to_numpy()
    return first


def _ties_by_claim_id(p: np.ndarray, h: np.ndarray, d: np.ndarray, pos: np.ndarray, claim_id: pl.Series
                      ) -> np.ndarray:
    """Claims of one person on one date (and equally held or not), put in (claim id, row) order."""
    same = (p[1:] == p[:-1]) & (d[1:] == d[:-1]) & (h[1:] == h[:-1])
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


def _walk(person: np.ndarray, year: np.ndarray, key: np.ndarray, amount: np.ndarray, ceiling: np.ndarray,
          held: np.ndarray) -> tuple[list[int], list[int]]:
    """The limits claim by claim, over claims already in order: R19, R23, R18; held grants stand."""
    granted: set[tuple[int, int]] = set()
    per_year: Counter[tuple[int, int]] = Counter()
    spent: Counter[tuple[int, int]] = Counter()  # what a person's ceiling claims were paid in a year
    codes, amounts = [], []
    for p, y, k, a, top, was in zip(person.tolist(), year.tolist(), key.tolist(), amount.tolist(), ceiling.tolist(),
                                    held.tolist(), strict=True):
        code = NONE
        if was:
            pass
        elif (p, k) in granted:
            code = REPEAT
        elif top >= 0 and spent[(p, y)] >= top:
            code = NOTHING  # R23 leaves nothing: not a subsidy received (R24)
        elif per_year[(p, y)] >= PER_YEAR:
            code = ANNUAL_LIMIT
        elif top >= 0 and a > top - spent[(p, y)]:
            a, code = top - spent[(p, y)], REDUCED
        if code in (NONE, REDUCED):
            granted.add((p, k))
            per_year[(p, y)] += 1
            if top >= 0:
                spent[(p, y)] += a
        codes.append(code)
        amounts.append(a)
    return codes, amounts
