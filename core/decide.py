"""Claims decided in columns: the one place every rule of a decision is applied.

For the claims of one region, kind and segment of time (a :class:`~jinhua_subsidy.compiled.KindPlan`):

1. the kind's entry in force and base amount (:mod:`jinhua_subsidy.kinds`); none: a row error,
   never 0;
2. eligibility: the first ground of the region that holds (R1–R4), narrowed by a programme;
3. the kind's own refusals (not passed, too few hours);
4. uplifts: the highest rate that applies, at most the uplift limit, never compounded (R11);
5. the amount (the kind's amount rule), the payee (R14, R15), the fund: the first funding rule
   that matches (R16, R17).

What a decision says apart from its claim id and amount is an :class:`Outcome`, built once per
distinct combination; its :class:`Trace` keeps which ground, entry, uplifts, payee and fund rule
decided, so that citations and the steps of ``subsidy explain`` come from this same evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from attrs import evolve, field, frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import Citation
from jinhua_subsidy.columns import Columns
from jinhua_subsidy.compiled import KindPlan, RegionPlan, date_of
from jinhua_subsidy.decision import Decision
from jinhua_subsidy.kinds import lut
from jinhua_subsidy.models import Ground
from jinhua_subsidy.reasons import REASONS, YEAR_CEILING

#: What a claim comes to before the limits: granted, refused and why (kind refusals from 10).
OK, NOT_ELIGIBLE, NO_FUND, AGE_LIMIT, NOTHING_TO_PAY = 0, 1, 2, 3, 4
#: Living allowance (R25): not for this claim, paid, or in a group but no standard in the region.
NO_ALLOWANCE, ALLOWANCE_PAID, NO_ALLOWANCE_STANDARD = 0, 1, 2
PARTS = ("plan", "status", "narrowed", "held", "ref", "umask", "payee", "fund", "chan", "capped", "bp", "topups",
         "dropped", "verified", "allowance", "allowance_state")
KIND_REFUSAL = 10
#: A plan with more uplifts in force than bits for them cannot be decided (a row error).
MAX_UPLIFTS = 40


@frozen
class Trace:
    """Which rules decided an outcome: the plan, and indices into its grounds, entries, uplifts
    (bits), payees and funding rules; ``limit`` a refusal by R18–R20; ``adjust`` the reason codes
    of a plugin's adjustment (``subsidy_adjust``)."""

    plan: KindPlan = field(eq=False, hash=False)
    key: tuple[int, ...]  #: one value for each of PARTS
    limit: str | None = None
    adjust: tuple[str, ...] = ()

    @property
    def status(self) -> int:
        return self.key[1]

    def part(self, name: str) -> int:
        return self.key[PARTS.index(name)]


@frozen
class Outcome:
    """A decision without its claim id and amount, and how it was reached."""

    region: str
    eligible: bool
    payee: str
    channel: str
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    status: str
    trace: Trace | None = None
    allowance: int = 0  #: fen (R25)
    allowance_channel: str = ""

    def decision(self, claim_id: str, amount: int) -> Decision:
        return Decision(claim_id=claim_id, region=self.region, eligible=self.eligible, amount=amount,
                        payee=self.payee, channel=self.channel, reasons=self.reasons,
                        citations=self.citations, status=self.status, allowance=self.allowance,
                        allowance_channel=self.allowance_channel)


class Outcomes:
    """Distinct outcomes, numbered in the order first met."""

    def __init__(self) -> None:
        self.table: list[Outcome] = []
        self._ids: dict[Outcome, int] = {}
        self._derived: dict[tuple[int, str, tuple[str, ...]], int] = {}
        #: The outcome of each (plan, parts) combination met (see decide).
        self.of_parts: dict[tuple[int, ...], int] = {}

    def id(self, o: Outcome) -> int:
        if o not in self._ids:
            self._ids[o] = len(self.table)
            self.table.append(o)
        return self._ids[o]

    def refused(self, oid: int, code: str) -> int:
        """The outcome refused by a limit across claims (R18–R20, R23 leaving nothing, R24): cites
        only that limit, and pays no living allowance (R25: only with a granted subsidy)."""
        key = (oid, "limit", (code,))
        if key not in self._derived:
            o = self.table[oid]
            trace = evolve(o.trace, limit=code) if o.trace is not None else None
            self._derived[key] = self.id(Outcome(o.region, False, "", "", (code,), REASONS[code].citation.ids(),
                                                 o.status, trace))
        return self._derived[key]

    def reduced(self, oid: int) -> int:
        """The outcome paid only what is left of the person's yearly apprenticeship ceiling (R23)."""
        key = (oid, "reduced", ("capped",))
        if key not in self._derived:
            o = self.table[oid]
            trace = evolve(o.trace, limit="capped") if o.trace is not None else None
            reasons = o.reasons if "capped" in o.reasons else (*o.reasons, "capped")
            cites = (*o.citations, *(i for i in YEAR_CEILING.ids() if i not in o.citations))
            self._derived[key] = self.id(evolve(o, reasons=reasons, citations=cites, trace=trace))
        return self._derived[key]

    def adjusted(self, oid: int, reason: str, citation: Citation, refuse: bool) -> int:
        """The outcome as a plugin's adjustment leaves it: refused for ``reason``, or its amount
        changed with ``reason`` added; the adjustment's citation is added to the outcome's."""
        key = (oid, "refuse" if refuse else "amount", (reason,))
        if key not in self._derived:
            o = self.table[oid]
            trace = evolve(o.trace, adjust=(*o.trace.adjust, reason)) if o.trace is not None else None
            ids = tuple(i for i in citation.ids())
            if refuse:
                new = Outcome(o.region, False, "", "", (reason,), ids, o.status, trace)  # no allowance (R25)
            else:  # the living allowance stays (R25: it goes with the subsidy granted)
                new = evolve(o, reasons=(*o.reasons, reason),
                             citations=(*o.citations, *(i for i in ids if i not in o.citations)), trace=trace)
            self._derived[key] = self.id(new)
        return self._derived[key]


def ground_holds(g: Ground, area: np.ndarray, c: Columns, idx: np.ndarray) -> np.ndarray:
    """Whether one eligibility test holds for each claim (R1–R4)."""
    if g.test == "hukou":
        return area[c["hukou"][idx]] & ~c["monthly_pension"][idx]  # type: ignore[no-any-return]
    if g.test == "residence_permit":
        return area[c["residence_permit"][idx]]  # type: ignore[no-any-return]
    if g.test == "insured":
        enough = np.maximum(c["insured_months"][idx], 0) >= (g.min_months or 0)  # absent: 0 months
        return area[c["insured_region"][idx]] & enough  # type: ignore[no-any-return]
    if g.test == "unemployed":
        return area[c["unemployed_region"][idx]]  # type: ignore[no-any-return]
    if g.test == "welfare_post":
        return c["welfare_post"][idx] & ~c.absent["welfare_approval"][idx]  # type: ignore[no-any-return]
    if g.test == "no_pension":
        return ~c["monthly_pension"][idx]  # type: ignore[no-any-return]
    if g.test == "group":
        wanted = sum(1 << list(vocab.GROUPS).index(k) for k in g.groups)
        return (c["groups"][idx] & wanted) != 0  # type: ignore[no-any-return]
    raise ValueError(f"unknown eligibility test {g.test!r}")  # pragma: no cover - vocab.GROUND_TESTS


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
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decide the claims ``idx`` of ``c`` (one region, kind and segment) before the limits.

    Returns (outcome ids, amounts in fen, no-rate mask, base amounts before uplifts, yearly
    ceilings (R23; -1: none)): rows of the mask have no catalog value in force; they are row
    errors (:func:`no_rate_message`).
    """
    kind, n = plan.kind, len(idx)
    r = kind.rate(plan.table, c, idx)
    no_rate = (r.ref < 0) | plan.no_shortage_list | (len(plan.uplifts) > MAX_UPLIFTS)
    status = np.full(n, OK, dtype=np.int64)

    # Eligibility: the first applicable ground that holds (an entry may narrow the grounds).
    narrow = r.narrow if r.narrow is not None else np.full(n, -1, dtype=np.int64)
    holds = {gi: ground_holds(g, region.area, c, idx) for gi, g in enumerate(plan.grounds) if kind.key in g.kinds}
    held = np.full(n, -1, dtype=np.int64)
    narrowing = lut([bool(getattr(e, "grounds", ())) for e in plan.entries], False, bool)
    for p in np.unique(narrow).tolist():
        rows = narrow == p
        tests = getattr(plan.entries[p], "grounds", ()) if p >= 0 else ()
        allowed = [gi for gi in holds if not tests or plan.grounds[gi].test in tests]
        sub = np.full(int(rows.sum()), -1, dtype=np.int64)
        for gi in reversed(allowed):
            sub[holds[gi][rows]] = gi
        held[rows] = sub
    status[held < 0] = NOT_ELIGIBLE
    # A region's age range (R27), from the birth date in the resident id.
    if plan.age is not None:
        age = ages(c.person[idx], c.day[idx])
        outside = np.zeros(n, dtype=bool)
        if plan.age.min_age is not None:
            outside |= age < plan.age.min_age
        if plan.age.max_age is not None:
            outside |= age > plan.age.max_age
        status[(status == OK) & outside] = AGE_LIMIT
    # The kind's own conditions.
    own = (status == OK) & (r.refusal > 0)
    status[own] = KIND_REFUSAL + r.refusal[own] - 1

    # Employer tags: where a list for a tag is in force and the claim names its employer, the tag
    # holds only for an employer on the list (R26); else the declared tag is used, unverified.
    tags = c.tags[idx]
    dropped = np.zeros(n, dtype=np.int64)
    verified = np.zeros(n, dtype=np.int64)
    named = ~c.absent["employer_id"][idx]
    for tag, (_lst, members) in plan.lists.items():
        bit = c.tag_bit(tag)
        codes = c.codes["employer_id"]
        member = lut([v in members for v in codes.values], False, bool)[c["employer_id"][idx]]
        checked = named & ((tags & bit) != 0)
        dropped |= np.where(checked & ~member, bit, 0)
        verified |= np.where(checked & member, bit, 0)
    tags = tags & ~dropped

    # Uplifts, never compounded (R11): the highest rate applied, at most the uplift limit.
    umask = np.zeros(n, dtype=np.int64)
    best = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    for bit, u in enumerate(plan.uplifts[:MAX_UPLIFTS]):
        if u.on == "shortage":
            ok = plan.short[c["occupation"][idx]]
        elif u.tag is None:  # an employer-tag uplift without a tag never applies
            ok = np.zeros(n, dtype=bool)
        else:
            ok = (tags & c.tag_bit(u.tag)) != 0
            if u.requires_tag is not None:
                ok &= (tags & c.tag_bit(u.requires_tag)) != 0
        if u.organizers:
            ok &= np.isin(c["organizer"][idx], _codes(u.organizers, vocab.ORGANIZERS))
        if u.apprentices:
            ok &= np.isin(c["apprentice"][idx], _codes(u.apprentices, vocab.APPRENTICES))
        ok &= ~r.flat
        umask |= ok.astype(np.int64) << bit
        best = np.where(ok, np.maximum(best, u.rate), best)
    rate_bp = np.where(umask != 0, np.minimum(best, plan.uplift_limit.rate), 0)
    amount, capped = kind.amount(plan.table, c, idx, r, rate_bp)
    ceiling = kind.ceiling(plan.table, c, idx, r, rate_bp)
    # A county's flat top-ups for target groups (R27), after the uplift.
    topmask = np.zeros(n, dtype=np.int64)
    groups = c["groups"][idx]
    for bit, t in enumerate(plan.topups):
        gets = (groups & (1 << list(vocab.GROUPS).index(t.group))) != 0
        topmask |= gets.astype(np.int64) << bit
        amount = amount + np.where(gets, t.amount, 0)
    # R24: a subsidy worth nothing is not a subsidy received.
    status[(status == OK) & (amount == 0)] = NOTHING_TO_PAY
    payee = kind.payee(plan.table, c, idx, r, tags)

    # Fund: the first rule that matches (R16, R17).
    emp = c["employer_region"][idx]
    fund = np.full(n, -1, dtype=np.int64)
    place = (*region.regions, "other")
    for fi, rule in reversed(plan.funding):
        m = np.ones(n, dtype=bool)
        if rule.levels:
            m &= np.isin(c["level"][idx], _codes(rule.levels, vocab.LEVELS))
        if rule.organizers:
            m &= np.isin(c["organizer"][idx], _codes(rule.organizers, vocab.ORGANIZERS))
        if rule.organizer_level:
            m &= c["organizer_level"][idx] == vocab.ORGANIZER_LEVELS.index(rule.organizer_level)
        if rule.tag:
            m &= (tags & c.tag_bit(rule.tag)) != 0
        if rule.employer_in:
            m &= np.isin(emp, _codes(rule.employer_in, place))
        if "{employer_region}" in rule.channel:
            m &= emp >= 0
        fund[m] = fi
    status[(status == OK) & (fund < 0)] = NO_FUND
    placeholder = lut(["{employer_region}" in rule.channel for rule in region.rules.funding.rules], False, bool)
    chan = np.where(placeholder[fund], emp, -1)

    # The living allowance (R25): for a claimant of its groups, the days of training at the
    # region's standard, paid with a granted subsidy only.
    standard = plan.allowance
    wanted = standard.groups if standard is not None else vocab.ALLOWANCE_GROUPS
    in_group = (groups & sum(1 << list(vocab.GROUPS).index(g) for g in wanted)) != 0
    days = np.maximum(c["training_days"][idx], 0)
    allowance = np.zeros(n, dtype=np.int64)
    allowance_state = np.where(in_group, NO_ALLOWANCE_STANDARD, NO_ALLOWANCE)
    if standard is not None:
        allowance = days * standard.per_day
        if standard.cap is not None:
            allowance = np.minimum(allowance, standard.cap)
        allowance_state = np.where(in_group & (allowance > 0), ALLOWANCE_PAID, NO_ALLOWANCE)
        allowance = np.where(in_group, allowance, 0)

    # The outcome of each row, built once per distinct combination of what decided it.
    refused = status != OK
    amount = np.where(refused, 0, amount)
    entry_cited = np.zeros(n, dtype=bool)
    for k, why in enumerate(kind.refusals):
        if why.citation is None:
            entry_cited |= status == KIND_REFUSAL + k
    narrowed = np.where(narrowing[narrow] & ((status == OK) | (status == NOT_ELIGIBLE)), narrow, -1)
    parts = [status, narrowed, np.where(refused, -1, held), np.where(refused & ~entry_cited, -1, r.ref),
             np.where(refused, 0, umask), np.where(refused, 0, payee), np.where(refused, -1, fund),
             np.where(refused, -1, chan), np.where(refused, 0, capped.astype(np.int64)), np.where(refused, 0, rate_bp),
             np.where(refused, 0, topmask), np.where(refused, 0, dropped), np.where(refused, 0, verified),
             np.where(refused, 0, allowance), np.where(refused, 0, allowance_state)]
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
        ids = np.array([_outcome_id(outcomes, plan, tuple(k)) for k in stacked], dtype=np.int64)
        out[rows] = ids[inverse.reshape(-1)]
    return out, amount, no_rate, r.base, np.where(refused, -1, ceiling)


def _outcome_id(outcomes: Outcomes, plan: KindPlan, parts: tuple[int, ...]) -> int:
    key = (id(plan), *parts)
    if key not in outcomes.of_parts:
        outcomes.of_parts[key] = outcomes.id(_outcome(plan, parts))
    return outcomes.of_parts[key]


def citations(plan: KindPlan, status: int, narrowed: int, ref: int, held: int = -1, umask: int = 0,
              payee: int = 0, fund: int = -1, topups: int = 0, dropped: int = 0, allowance_state: int = 0
              ) -> list[Citation]:
    """A decision's citations, in order: the ground held, a programme narrowing the grounds, the
    rate entry, each uplift applied, the uplift limit when two or more applied (R11), the kind's
    own (the pass rule of project training), the payee rule, the funding rule. A refusal cites
    only why (and a narrowing programme)."""
    also = [plan.entry_citation(narrowed)] if narrowed >= 0 else []
    if status != OK:
        if status == NOT_ELIGIBLE:
            why = plan.region.rules.eligibility.citation
        elif status == AGE_LIMIT:
            why = plan.age.citation  # type: ignore[union-attr]
        elif status in (NO_FUND, NOTHING_TO_PAY):
            why = REASONS[reason_of(plan, status)].citation
        else:
            refusal = plan.kind.refusals[status - KIND_REFUSAL]
            why = refusal.citation or plan.entry_citation(ref)
        return [why, *also]
    applied = [u.citation for b, u in enumerate(plan.uplifts) if umask >> b & 1]
    cites = [plan.grounds[held].citation, *also, plan.entry_citation(ref), *applied]
    if len(applied) > 1:
        cites.append(plan.uplift_limit.citation)
    if dropped:
        cites.append(REASONS["tag_not_listed"].citation)
    cites += [t.citation for b, t in enumerate(plan.topups) if topups >> b & 1]
    cites += [*plan.kind.extra_citations, plan.payees[payee][1], plan.region.rules.funding.rules[fund].citation]
    if allowance_state == ALLOWANCE_PAID:
        cites.append(plan.allowance.citation)  # type: ignore[union-attr]
    elif allowance_state == NO_ALLOWANCE_STANDARD:
        cites.append(REASONS["no_allowance_standard"].citation)
    return cites


def cited_ids(cites: list[Citation]) -> tuple[str, ...]:
    """The ids a decision lists for these citations: in order, each once."""
    out: list[str] = []
    for c in cites:
        for i in c.ids():
            if i not in out:
                out.append(i)
    return tuple(out)


def _cited(plan: KindPlan, *key: int) -> tuple[str, ...]:
    """cited_ids(citations(plan, *key)), once per plan and key."""
    cache: dict[tuple[int, ...], tuple[str, ...]] = plan.__dict__.setdefault("_cited", {})
    if key not in cache:
        cache[key] = cited_ids(citations(plan, *key))
    return cache[key]


def fund_channel(channel: str, employer_region: str | None) -> str:
    """The rule's channel, ``{employer_region}`` filled in (R16, R17)."""
    return channel.replace("{employer_region}", employer_region or "")


def reason_of(plan: KindPlan, status: int) -> str:
    if status == NOT_ELIGIBLE:
        return "not_eligible"
    if status == NO_FUND:
        return "no_fund"
    if status == AGE_LIMIT:
        return "age_limit"
    if status == NOTHING_TO_PAY:
        return "nothing_to_pay"
    return plan.kind.refusals[status - KIND_REFUSAL].reason


def _outcome(plan: KindPlan, parts: tuple[int, ...]) -> Outcome:
    status, narrowed, held, ref, umask, payee, fund, chan, capped, _bp, topups, dropped, _verified, allowance, \
        allowance_state = parts
    region = plan.region
    trace = Trace(plan, (id(plan), *parts))
    if status != OK:
        return Outcome(region.key, False, "", "", (reason_of(plan, status),),
                       _cited(plan, status, narrowed, ref), plan.status, trace)
    rule = region.rules.funding.rules[fund]
    employer = (*region.regions, "other")[chan] if chan >= 0 else None
    reasons = (*(("capped",) if capped else ()), *(("tag_not_listed",) if dropped else ()),
               *(("no_allowance_standard",) if allowance_state == NO_ALLOWANCE_STANDARD else ()))
    status_text = plan.status
    if allowance_state == ALLOWANCE_PAID and plan.allowance is not None and plan.allowance.status == "provisional":
        status_text = "provisional"
    return Outcome(region.key, True, plan.payees[payee][0], fund_channel(rule.channel, employer), reasons,
                   _cited(plan, status, narrowed, ref, held, umask, payee, fund, topups, dropped, allowance_state),
                   status_text, trace,
                   allowance=allowance if allowance_state == ALLOWANCE_PAID else 0,
                   allowance_channel=f"employment:{region.key}" if allowance_state == ALLOWANCE_PAID else "")


def ages(person: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Whole years of age on each day, from the birth date (digits 7–14) of the resident id."""
    birth = person // 1000 % 100_000_000
    on = days.astype("datetime64[D]")
    year = on.astype("datetime64[Y]").astype(np.int64) + 1970
    month = on.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (on - on.astype("datetime64[M]")).astype(np.int64) + 1
    return year - birth // 10_000 - ((month * 100 + day) < birth % 10_000)  # type: ignore[no-any-return]


def no_rate_message(plan: KindPlan, cells: Mapping[str, str | None], day: int) -> str:
    """The row error of a claim with no catalog value in force on its date (never 0)."""
    on = date_of(day)
    if plan.no_shortage_list:
        return f"{plan.region.key}：{on} 无在用的紧缺职业（工种）目录（annex3.1.2 R7）"
    if len(plan.uplifts) > MAX_UPLIFTS:
        return f"{plan.region.key}：{on} 在用的上浮多于 {MAX_UPLIFTS} 项，无法判定"
    return plan.kind.missing(plan.region.rules.rates.source, cells, on)  # type: ignore[arg-type]
