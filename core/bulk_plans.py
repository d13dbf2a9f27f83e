"""A region's rules compiled into lookup arrays, for the bulk path.

Time is cut into segments at every start and every end + 1 of the region's dated
values, so that within a segment every look-up (rates, standards, programmes, caps,
uplifts, the shortage list) gives the same answer; each claim's date is mapped to
its segment with ``np.searchsorted``. For one region, kind and segment the rules
become small arrays indexed by the claim's codes (occupation × level, organizer,
apprentice, project code): a :class:`KindPlan`. The values come from the same
RegionRules look-ups the reference uses, or (qualification rates) from the same
rule: the occupation's own entry in force, else the ``"*"`` entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import Citation
from jinhua_subsidy.evaluate import PASS_RULE, cited_ids, payee_of
from jinhua_subsidy.models import ApprenticeshipCap, FundingRule, Ground, Programme, ProjectStandard, Uplift
from jinhua_subsidy.reasons import REASONS
from jinhua_subsidy.rulebook import NoRate, RegionRules

EPOCH = dt.date(1970, 1, 1).toordinal()
QUALIFICATION, PROJECT, APPRENTICESHIP = (vocab.KINDS.index(k) for k in ("qualification", "project",
                                                                         "apprenticeship"))
#: What a claim comes to before the limits: granted, or refused and why.
OK, NOT_ELIGIBLE, NOT_PASSED, BELOW_MIN_HOURS, NO_FUND = range(5)
#: Payees by code: person, self-evaluating employer (R14), organizer, apprenticeship employer (R15).
PAYEES = (payee_of("qualification", ()), payee_of("qualification", ("self_evaluation",)),
          payee_of("project", ()), payee_of("apprenticeship", ()))


def day_of(d: dt.date) -> int:
    return d.toordinal() - EPOCH


def date_of(day: int) -> dt.date | None:
    try:
        return dt.date.fromordinal(day + EPOCH)
    except (ValueError, OverflowError):
        return None


def lut(values: list[Any], fill: Any, dtype: Any = np.int64) -> np.ndarray:
    """An array for code look-ups; its last entry answers code -1 (absent)."""
    return np.array([*values, fill], dtype=dtype)


class KindPlan:
    """One region's rules for one kind on one segment of time, as arrays."""

    def __init__(self, region: RegionPlan, kind: int, on: dt.date) -> None:
        rules = region.rules
        rates = rules.rates
        self.kind = kind
        name = vocab.KINDS[kind]
        self.uplifts: tuple[Uplift, ...] = tuple(rules.uplifts(name, on))
        self.no_rate = False
        provisional = rules.provisional
        shortage: frozenset[str] = frozenset()
        if any(u.on == "shortage" for u in self.uplifts):
            try:
                slist = rules.shortage_list(on)
            except NoRate:
                self.no_rate = True
            else:
                shortage = frozenset(slist.occupations)
                provisional = provisional or slist.status == "provisional"
        self.status = "provisional" if provisional else "official"
        self.short = lut([o in shortage for o in region.occupations], False, bool)
        self.uplift_limit = rates.uplift_limit.rate
        self.limit_citation = rates.uplift_limit.citation
        self.uplift_citations = [u.citation for u in self.uplifts]
        self.grounds: tuple[Ground, ...] = rules.eligibility.grounds
        self.ground_citations = [g.citation for g in self.grounds]
        self.eligibility_citation = rules.eligibility.citation
        self.fund_citations = [r.citation for r in rules.funding.rules]
        self._citations: dict[tuple[int, ...], tuple[str, ...]] = {}
        self.funding: list[tuple[int, FundingRule]] = [
            (i, r) for i, r in enumerate(rules.funding.rules) if not r.kinds or name in r.kinds]
        self.rate_citations: list[Citation | None] = []  #: None: no value in force (never cited)
        self.stds: list[ProjectStandard] = []
        self.programmes: list[Programme] = []
        self.outcome_ids: dict[tuple[int, ...], int] = {}  #: filled by bulk_decide
        if kind == QUALIFICATION:
            self._qualification(rules, region.occupations, on)
        elif kind == PROJECT:
            self._project(rules, on)
        else:
            self._apprenticeship(rules, on)

    def citations(self, status: int, narrowed: int, rate_ref: int, held: int = -1, umask: int = 0,
                  payee: int = 0, fund: int = -1) -> tuple[str, ...]:
        """A decision's citations in the reference's order (see jinhua_subsidy.evaluate): the ground
        held, a programme narrowing the grounds, the rate, each uplift applied, the uplift limit
        when two or more applied (R11), the pass rule (project), the payee rule, the funding rule.
        A refusal cites only why (and a narrowing programme)."""
        key = (status, narrowed, rate_ref, held, umask, payee, fund)
        if key in self._citations:
            return self._citations[key]
        also = [self.programmes[narrowed].citation] if narrowed >= 0 else []
        if status != OK:
            why = {NOT_ELIGIBLE: self.eligibility_citation, NOT_PASSED: PASS_RULE,
                   NO_FUND: REASONS["no_fund"].citation}.get(status)
            if status == BELOW_MIN_HOURS:
                why = self.stds[rate_ref].citation
            cites = [why, *also]
        else:
            applied = [c for b, c in enumerate(self.uplift_citations) if umask >> b & 1]
            cites = [self.ground_citations[held], *also, self.rate_citations[rate_ref], *applied]
            if len(applied) > 1:
                cites.append(self.limit_citation)
            if self.kind == PROJECT:
                cites.append(PASS_RULE)
            cites += [PAYEES[payee][1], self.fund_citations[fund]]
        self._citations[key] = cited_ids(cites)  # type: ignore[arg-type]
        return self._citations[key]

    def _qualification(self, rules: RegionRules, occupations: tuple[str, ...], on: dt.date) -> None:
        # RegionRules.qualification_rate as a table: the occupation's own entry, else "*".
        star: dict[str, int] = {}
        own: dict[tuple[str, str], int] = {}
        entries = rules.rates.qualification
        for i, r in enumerate(entries):  # the first entry in force wins, as in RegionRules
            if not r.in_force(on):
                continue
            if r.occupation == "*":
                star.setdefault(r.level, i)
            else:
                own.setdefault((r.occupation, r.level), i)
        occ_index = {o: k for k, o in enumerate(occupations)}
        table = np.full((len(occupations) + 1, len(vocab.LEVELS) + 1), -1, dtype=np.int64)
        for lv, i in star.items():
            table[:-1, vocab.LEVELS.index(lv)] = i
        for (occ, lv), i in own.items():
            if occ in occ_index:
                table[occ_index[occ], vocab.LEVELS.index(lv)] = i
        self.q_table = table
        self.amounts = lut([r.amount for r in entries], 0)
        self.rate_citations = [*(r.citation for r in entries)]

    def _project(self, rules: RegionRules, on: dt.date) -> None:
        stds = self.stds
        std_of = []
        for org in vocab.ORGANIZERS:
            try:
                s = rules.project_standard(org, on)
            except NoRate:
                std_of.append(-1)
                continue
            if s not in stds:
                stds.append(s)
            std_of.append(stds.index(s))
        self.std_of = lut(std_of, -1)
        self.hour_rate = lut([s.hour_rate for s in stds], 0)
        self.cap = lut([s.cap for s in stds], 0)
        self.min_hours = lut([s.min_hours for s in stds], 0)
        self.review_amount = lut([-1 if s.review_amount is None else s.review_amount for s in stds], -1)
        self.programme_of: dict[str, int] = {}  #: project code → programme in force
        for code in sorted({p.project_code for p in rules.rates.programmes}):
            p = rules.programme(code, on)
            if p is not None:
                if p not in self.programmes:
                    self.programmes.append(p)
                self.programme_of[code] = self.programmes.index(p)
        self.prog_amount = lut([-1 if p.amount is None else p.amount for p in self.programmes], -1)
        self.rate_citations = [*(s.citation for s in stds), *(p.citation for p in self.programmes)]

    def _apprenticeship(self, rules: RegionRules, on: dt.date) -> None:
        caps: list[ApprenticeshipCap | None] = []
        for a in vocab.APPRENTICES:
            try:
                caps.append(rules.apprenticeship_cap(a, on))
            except NoRate:
                caps.append(None)
        self.cap_of = lut([i if c is not None else -1 for i, c in enumerate(caps)], -1)
        self.amounts = lut([0 if c is None else c.cap for c in caps], 0)
        self.rate_citations = [None if c is None else c.citation for c in caps]


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
                 *rates.uplifts, *rules.shortage]
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
            self._plans[(kind, segment)] = KindPlan(self, kind, on)
        return self._plans[(kind, segment)]
