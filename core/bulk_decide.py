"""Claims decided as vector operations from a region's compiled rules (:mod:`~jinhua_subsidy.bulk_plans`).

The decision follows :func:`jinhua_subsidy.evaluate.evaluate_claim` step for step:
values in force (a missing one is the reference's NoRate: the row is handed back),
eligibility (the first ground that holds), project conditions, uplifts (never
compounded, R11), payee (R14, R15), fund (first rule that matches, R16, R17).
What a decision says apart from its claim id and amount is an :class:`Outcome`;
each distinct outcome is built once, with its citations in the reference's order.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.bulk_columns import Columns
from jinhua_subsidy.bulk_plans import (
    APPRENTICESHIP,
    BELOW_MIN_HOURS,
    NO_FUND,
    NOT_ELIGIBLE,
    NOT_PASSED,
    OK,
    PAYEES,
    PROJECT,
    QUALIFICATION,
    KindPlan,
    RegionPlan,
    lut,
)
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.evaluate import fund_channel
from jinhua_subsidy.models import Ground
from jinhua_subsidy.money import uplift
from jinhua_subsidy.reasons import REASONS

REFUSALS = {NOT_ELIGIBLE: "not_eligible", NOT_PASSED: "not_passed", BELOW_MIN_HOURS: "below_min_hours",
            NO_FUND: "no_fund"}
SELF_EVALUATION = 1 << vocab.EMPLOYER_TAGS.index("self_evaluation")
#: A plan with more uplifts in force than bits for them is left to the reference path.
MAX_UPLIFTS = 40


def tag_bit(tag: str) -> int:
    return 1 << vocab.EMPLOYER_TAGS.index(tag)


@frozen
class Outcome:
    """A decision without its claim id and amount."""

    region: str
    eligible: bool
    payee: str
    channel: str
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    status: str

    def decision(self, claim_id: str, amount: int) -> Decision:
        return Decision(claim_id=claim_id, region=self.region, eligible=self.eligible, amount=amount,
                        payee=self.payee, channel=self.channel, reasons=self.reasons,
                        citations=self.citations, status=self.status)


class Outcomes:
    """Distinct outcomes, numbered in the order first met."""

    def __init__(self) -> None:
        self.table: list[Outcome] = []
        self._ids: dict[Outcome, int] = {}
        self._refused: dict[tuple[int, str], int] = {}

    def id(self, o: Outcome) -> int:
        if o not in self._ids:
            self._ids[o] = len(self.table)
            self.table.append(o)
        return self._ids[o]

    def of_decision(self, d: Decision) -> int:
        return self.id(Outcome(d.region, d.eligible, d.payee, d.channel, d.reasons, d.citations, d.status))

    def refused(self, oid: int, code: str) -> int:
        """The outcome refused by a limit across the file (as limits.refused)."""
        if (oid, code) not in self._refused:
            o = self.table[oid]
            self._refused[(oid, code)] = self.id(Outcome(o.region, False, "", "", (code,),
                                                         REASONS[code].citation.ids(), o.status))
        return self._refused[(oid, code)]


def _ground_holds(g: Ground, area: np.ndarray, c: Columns, idx: np.ndarray) -> np.ndarray:
    """:func:`jinhua_subsidy.evaluate.ground_holds` for many claims."""
    if g.test == "hukou":
        return area[c.hukou[idx]] & ~c.monthly_pension[idx]  # type: ignore[no-any-return]
    if g.test == "residence_permit":
        return area[c.residence_permit[idx]]  # type: ignore[no-any-return]
    if g.test == "insured":
        enough = np.maximum(c.insured_months[idx], 0) >= (g.min_months or 0)  # absent: 0 months
        return area[c.insured_region[idx]] & enough  # type: ignore[no-any-return]
    if g.test == "unemployed":
        return area[c.unemployed_region[idx]]  # type: ignore[no-any-return]
    if g.test == "welfare_post":
        return c.welfare_post[idx] & c.welfare_approval[idx]  # type: ignore[no-any-return]
    if g.test == "no_pension":
        return ~c.monthly_pension[idx]  # type: ignore[no-any-return]
    raise ValueError(f"unknown eligibility test {g.test!r}")


def _codes(values: tuple[str, ...], vocabulary: tuple[str, ...]) -> list[int]:
    return [vocabulary.index(v) for v in values if v in vocabulary]


def _pack(parts: list[np.ndarray]) -> np.ndarray | None:
    """One int64 per row that is equal exactly when all parts are (parts ≥ -1); None if too wide."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    span = 1
    for p in parts:
        radix = int(p.max(initial=0)) + 2
        span *= radix
        if span >= 2**62:
            return None
        key = key * radix + (p + 1)
    return key


def decide(region: RegionPlan, plan: KindPlan, c: Columns, idx: np.ndarray, outcomes: Outcomes
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide the claims ``idx`` of ``c`` (one region, kind and segment) before the limits.

    Returns (outcome ids, amounts in fen, no-rate mask): rows of the mask have no
    catalog value in force and go back to the reference path for their row error.
    """
    kind, n = plan.kind, len(idx)
    none = np.full(n, -1, dtype=np.int64)
    tags, emp = c.tags[idx], c.employer_region[idx]
    occ = c.occupation[idx] if kind == QUALIFICATION else none
    lvl = c.level[idx] if kind == QUALIFICATION else none
    org = c.organizer[idx] if kind == PROJECT else none
    olevel = c.organizer_level[idx] if kind == PROJECT else none
    appr = c.apprentice[idx] if kind == APPRENTICESHIP else none
    no_rate = np.full(n, plan.no_rate or len(plan.uplifts) > MAX_UPLIFTS)
    capped = np.zeros(n, dtype=bool)
    prog = none
    flat = np.zeros(n, dtype=bool)
    status = np.full(n, OK, dtype=np.int64)

    # 1. The values in force: the rate, standard, programme or cap.
    if kind == QUALIFICATION:
        rate_ref = plan.q_table[occ, lvl]
        no_rate |= rate_ref < 0
        base = plan.amounts[rate_ref]
    elif kind == PROJECT:
        prog_of = np.full(len(c.project_codes) + 1, -1, dtype=np.int64)
        for code, p in plan.programme_of.items():
            if code in c.project_codes.index:
                prog_of[c.project_codes.index[code]] = p
        prog = prog_of[c.project_code[idx]]
        flat = plan.prog_amount[prog] >= 0
        std = plan.std_of[org]
        no_rate |= ~flat & (std < 0)
        review = ~flat & c.review[idx] & (plan.review_amount[std] >= 0)
        hours = c.hours[idx]
        raw, cap = hours * plan.hour_rate[std], plan.cap[std]
        base = np.where(flat, plan.prog_amount[prog], np.where(review, plan.review_amount[std],
                                                               np.minimum(raw, cap)))
        capped = ~flat & ~review & (raw > cap)
        rate_ref = np.where(flat, prog + len(plan.stds), std)
    else:
        rate_ref = plan.cap_of[appr]
        no_rate |= rate_ref < 0
        base = plan.amounts[rate_ref]

    # 2. Eligibility: the first applicable ground that holds (a programme may narrow them).
    name = vocab.KINDS[kind]
    holds = {gi: _ground_holds(g, region.area, c, idx) for gi, g in enumerate(plan.grounds) if name in g.kinds}
    held = np.full(n, -1, dtype=np.int64)
    for p in np.unique(prog):
        rows = prog == p
        narrow = plan.programmes[p].grounds if p >= 0 else ()
        allowed = [gi for gi in holds if not narrow or plan.grounds[gi].test in narrow]
        sub = np.full(int(rows.sum()), -1, dtype=np.int64)
        for gi in reversed(allowed):
            sub[holds[gi][rows]] = gi
        held[rows] = sub
    status[held < 0] = NOT_ELIGIBLE

    # 3. Project conditions: passed, minimum hours (R8).
    if kind == PROJECT:
        status[(status == OK) & ~c.passed[idx]] = NOT_PASSED
        short = ~flat & ~review & (hours < plan.min_hours[std])
        status[(status == OK) & short] = BELOW_MIN_HOURS

    # 4. Uplifts, never compounded (R11): the highest rate applied, at most the uplift limit.
    umask = np.zeros(n, dtype=np.int64)
    best = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    for bit, u in enumerate(plan.uplifts):
        if u.on == "shortage":
            ok = plan.short[occ]
        elif u.tag is None:  # an employer-tag uplift without a tag never applies
            ok = np.zeros(n, dtype=bool)
        else:
            ok = (tags & tag_bit(u.tag)) != 0
            if u.requires_tag is not None:
                ok &= (tags & tag_bit(u.requires_tag)) != 0
        if u.organizers:
            ok &= np.isin(org, _codes(u.organizers, vocab.ORGANIZERS))
        if u.apprentices:
            ok &= np.isin(appr, _codes(u.apprentices, vocab.APPRENTICES))
        ok &= ~flat
        umask |= ok.astype(np.int64) << bit
        best = np.where(ok, np.maximum(best, u.rate), best)
    rate_bp = np.where(umask != 0, np.minimum(best, plan.uplift_limit), 0)
    # money.uplift's arithmetic (half-up to the fen, R13) works on arrays as on ints.
    if kind == APPRENTICESHIP:
        cap_up = uplift(base, rate_bp)  # type: ignore[arg-type]
        cost = c.cost[idx]
        amount = np.minimum(cost, cap_up)
        capped = cost > cap_up
    else:
        amount = uplift(base, rate_bp)  # type: ignore[arg-type]

    # 5. Payee (R14, R15).
    if kind == QUALIFICATION:
        payee = np.where(tags & SELF_EVALUATION, 1, 0)
    else:
        payee = np.full(n, 2 if kind == PROJECT else 3, dtype=np.int64)

    # 6. Fund: the first rule that matches (R16, R17).
    fund = np.full(n, -1, dtype=np.int64)
    place = (*region.regions, "other")
    for fi, rule in reversed(plan.funding):
        m = np.ones(n, dtype=bool)
        if rule.levels:
            m &= np.isin(lvl, _codes(rule.levels, vocab.LEVELS))
        if rule.organizers:
            m &= np.isin(org, _codes(rule.organizers, vocab.ORGANIZERS))
        if rule.organizer_level:
            m &= olevel == vocab.ORGANIZER_LEVELS.index(rule.organizer_level)
        if rule.tag:
            m &= (tags & tag_bit(rule.tag)) != 0
        if rule.employer_in:
            m &= np.isin(emp, _codes(rule.employer_in, place))
        if "{employer_region}" in rule.channel:
            m &= emp >= 0
        fund[m] = fi
    status[(status == OK) & (fund < 0)] = NO_FUND
    placeholder = lut(["{employer_region}" in r.channel for r in region.rules.funding.rules], False, bool)
    chan = np.where(placeholder[fund], emp, -1)

    # The outcome of each row, built once per distinct combination.
    refused = status != OK
    amount = np.where(refused, 0, amount)
    # A programme that narrows the grounds is cited after the ground (and with a refusal for them).
    narrowing = lut([bool(p.grounds) for p in plan.programmes] if kind == PROJECT else [], False, bool)
    narrowed = np.where(narrowing[prog] & ((status == OK) | (status == NOT_ELIGIBLE)), prog, -1)
    parts = [status, narrowed, np.where(refused, -1, held),
             np.where(refused & (status != BELOW_MIN_HOURS), -1, rate_ref),
             np.where(refused, 0, umask), np.where(refused, 0, payee), np.where(refused, -1, fund),
             np.where(refused, -1, chan), np.where(refused, 0, capped.astype(np.int64))]
    out = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(~no_rate)
    if len(rows):
        parts = [p[rows] for p in parts]
        packed = _pack(parts)
        if packed is not None:
            _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        else:  # pragma: no cover - more combinations than an int64 holds: compare rows of parts
            _, first, inverse = np.unique(np.stack(parts, axis=1), axis=0, return_index=True, return_inverse=True)
        stacked = np.stack([p[first] for p in parts], axis=1).tolist()
        ids = np.array([_outcome_id(outcomes, region, plan, tuple(k)) for k in stacked], dtype=np.int64)
        out[rows] = ids[inverse.reshape(-1)]
    return out, amount, no_rate


def _outcome_id(outcomes: Outcomes, region: RegionPlan, plan: KindPlan, parts: tuple[int, ...]) -> int:
    """The outcome of a combination of parts (see :func:`decide`), built once a plan."""
    if parts not in plan.outcome_ids:
        plan.outcome_ids[parts] = outcomes.id(_outcome(region, plan, *parts))
    return plan.outcome_ids[parts]


def _outcome(region: RegionPlan, plan: KindPlan, status: int, narrowed: int, held: int, rate_ref: int,
             umask: int, payee: int, fund: int, chan: int, capped: int) -> Outcome:
    if status != OK:
        return Outcome(region.key, False, "", "", (REFUSALS[status],), plan.citations(status, narrowed, rate_ref),
                       plan.status)
    rule = region.rules.funding.rules[fund]
    employer = (*region.regions, "other")[chan] if chan >= 0 else None
    return Outcome(region.key, True, PAYEES[payee][0], fund_channel(rule, employer), ("capped",) if capped else (),
                   plan.citations(OK, narrowed, rate_ref, held, umask, payee, fund), plan.status)
