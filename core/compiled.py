"""A region's rules compiled into lookup arrays, once per kind and segment of time.

Time is cut into segments at every start and every end + 1 of the region's dated values, so
that within a segment every look-up (rates, uplifts, the shortage list) gives the same answer;
each claim's date is mapped to its segment with ``np.searchsorted``. For one region, kind and
segment the rules become a :class:`KindPlan`: the kind's table (:mod:`jinhua_subsidy.kinds`),
the uplifts, grounds and funding rules in force.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from jinhua_subsidy.citations import Citation, cite
from jinhua_subsidy.kinds import KINDS, Kind, lut
from jinhua_subsidy.models import Allowance, EnterpriseList, FundingRule, Ground, ShortageList, TopUp, Uplift
from jinhua_subsidy.rulebook import NoRate, RegionRules

EPOCH = dt.date(1970, 1, 1).toordinal()
SHORTAGE_RULE = cite("annex3.1.2", "R7")


def day_of(d: dt.date) -> int:
    return d.toordinal() - EPOCH


def date_of(day: int) -> dt.date | None:
    try:
        return dt.date.fromordinal(int(day) + EPOCH)
    except (ValueError, OverflowError):
        return None


class KindPlan:
    """One region's rules for one kind on one segment of time, as arrays."""

    def __init__(self, region: RegionPlan, kind: Kind, on: dt.date) -> None:
        rules = region.rules
        self.region = region
        self.kind = kind
        self.on = on
        self.uplifts: tuple[Uplift, ...] = tuple(rules.uplifts(kind.key, on))
        #: No shortage list in force where a shortage uplift could apply: a row error (R7).
        self.no_shortage_list = False
        self.shortage: ShortageList | None = None
        provisional = rules.provisional
        members: frozenset[str] = frozenset()
        if any(u.on == "shortage" for u in self.uplifts):
            try:
                self.shortage = rules.shortage_list(on)
            except NoRate:
                self.no_shortage_list = True
            else:
                members = frozenset(self.shortage.occupations)
                provisional = provisional or self.shortage.status == "provisional"
        self.status = "provisional" if provisional else "official"
        self.short = lut([o in members for o in region.occupations], False, bool)
        self.uplift_limit = rules.rates.uplift_limit
        rates = rules.rates
        self.topups: tuple[TopUp, ...] = tuple(t for t in rates.topups if kind.key in t.kinds and t.in_force(on))
        allowances = [a for a in rates.allowances if a.in_force(on)]
        self.allowance: Allowance | None = allowances[0] if allowances else None
        #: Enterprise lists in force (R26), by tag: the list and its members' codes on the date.
        self.lists: dict[str, tuple[EnterpriseList, frozenset[str]]] = {}
        for lst in rates.enterprise_lists:
            if lst.in_force(on) and lst.tag not in self.lists:
                self.lists[lst.tag] = (lst, frozenset(e.code for e in lst.entries if e.in_force(on)))
        self.age = rules.eligibility.age
        self.grounds: tuple[Ground, ...] = rules.eligibility.grounds
        self.funding: list[tuple[int, FundingRule]] = [
            (i, r) for i, r in enumerate(rules.funding.rules) if not r.kinds or kind.key in r.kinds]
        self.table = kind.compile(rules, on, region.occupations)
        self.payees = kind.payees(self.table)

    @property
    def entries(self) -> list[object]:
        return self.table.entries

    def entry_citation(self, ref: int) -> Citation:
        return self.entries[ref].citation  # type: ignore[attr-defined, no-any-return]


class RegionPlan:
    """One region's rules, compiled on demand per kind and segment of time."""

    def __init__(self, key: str, rules: RegionRules, regions: tuple[str, ...], occupations: tuple[str, ...]
                 ) -> None:
        self.key = key
        self.rules = rules
        self.regions = regions
        self.occupations = occupations
        rates = rules.rates
        dated = [*rates.qualification, *rates.project, *rates.programmes, *rates.apprenticeship,
                 *rates.entrepreneurship, *rates.uplifts, *rates.topups, *rates.allowances, *rates.enterprise_lists,
                 *(e for lst in rates.enterprise_lists for e in lst.entries), *rules.shortage]
        cuts = {day_of(e.start) for e in dated} | {day_of(e.end) + 1 for e in dated if e.end is not None}
        self.bounds = np.array(sorted(cuts), dtype=np.int64)
        area = set(rules.eligibility.area)
        self.area = lut([k in area for k in (*regions, "other")], False, bool)
        self._plans: dict[tuple[int, int], KindPlan] = {}

    def segments(self, days: np.ndarray) -> np.ndarray:
        return np.asarray(np.searchsorted(self.bounds, days, side="right"))

    def plan(self, kind: int, segment: int) -> KindPlan:
        if (kind, segment) not in self._plans:
            first = int(self.bounds[segment - 1]) if segment else (int(self.bounds[0]) - 1 if len(self.bounds) else 0)
            on = date_of(first)
            if on is None:  # pragma: no cover - no date of a claim falls there
                raise NoRate(f"{self.key}：日期超出范围")
            self._plans[(kind, segment)] = KindPlan(self, list(KINDS.values())[kind], on)
        return self._plans[(kind, segment)]
