"""A test oracle: the rules of 金人社发〔2020〕1号 as the engine applies them, one claim at a time.

Written plainly from docs/readings.md for tests/test_differential.py. It takes the engine's
catalog data (``engine.rulebook.rules(region)``) and parsed claims (claims.read_claims), and
none of its evaluation (decide, kinds, compiled, limits). Amounts are in fen. For each claim:
the rate in force (none: a row error, never 0); eligibility (R1–R4, R27), the age range (R27),
project training's own refusals; employer tags checked against lists (R26); uplifts (R7, R10,
R11); top-ups (R27); nothing to pay (R24); payee (R14, R15) and fund (R16, R17); the living
allowance (R25); a plugin's adjustment. Then R18–R20 and R23 across the file.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from jinhua_subsidy.citations import Citation, cite
from jinhua_subsidy.claims import Claim, read_claims
from jinhua_subsidy.reasons import REASONS
from jinhua_subsidy.rulebook import NoRate, RegionRules

PASS_RULE = cite("annex3.2.3")  # the trainee passed
PAYEE = {"person": cite("annex3.1.3", "R14"), "self_evaluation": cite("annex3.1.2", "R14"),
         "project": cite("annex3.2.3", "R15"), "apprenticeship": cite("annex3.3", "R15")}
YEAR_CEILING = cite("annex3.3", "R23")
ALLOWANCE_GROUPS = {"poverty_household", "hard_to_employ", "zero_employment_family", "lianghou_rural",
                    "lianghou_urban_dibao"}  # main.4.2 (R25)
BODIES = ("department", "institution", "college")


class Verdict(NamedTuple):
    """What the oracle decides for a claim: the fields of a Decision."""

    claim_id: str
    region: str
    eligible: bool
    amount: int
    payee: str
    channel: str
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    status: str
    allowance: int = 0
    allowance_channel: str = ""


class Adjust(NamedTuple):
    """A plugin's adjustment of one claim: refuse it, or pay ``amount`` instead."""

    reason: str
    citation: Citation
    amount: int | None = None
    refuse: bool = False


def ids(citations: list[Citation]) -> tuple[str, ...]:
    """The ids a decision lists for its citations: in order, each once."""
    return tuple(dict.fromkeys(i for c in citations for i in c.ids()))


def uplifted(fen: int, rate_bp: int) -> int:
    """fen × (1 + rate), half-up to the fen (R13)."""
    return (fen * (10_000 + rate_bp) + 5_000) // 10_000


def first(entries: Any, c: Claim, test: Callable[[Any], bool] = lambda e: True) -> Any:
    """The first entry, in catalog order, in force on the claim's date that passes ``test``."""
    return next((e for e in entries if e.in_force(c.date) and test(e)), None)


def age(c: Claim) -> int:
    """Whole years on the claim's date, from the birth date in the resident id (digits 7–14)."""
    born = c.person_id[6:14]
    y, m, d = int(born[:4]), int(born[4:6]), int(born[6:])
    return int(c.date.year - y - ((c.date.month, c.date.day) < (m, d)))


def ground_holds(g: Any, c: Claim, area: tuple[str, ...], groups: set[str]) -> bool:
    if g.test == "hukou":  # R1: local 户籍, no monthly pension
        return c.hukou in area and not c.monthly_pension
    if g.test == "residence_permit":
        return c.residence_permit in area
    if g.test == "insured":  # R2: insured locally for the months required, at the event date
        return c.insured_region in area and (c.insured_months or 0) >= (g.min_months or 0)
    if g.test == "unemployed":
        return c.unemployed_region in area
    if g.test == "welfare_post":  # R3: a public-welfare post, with the bureau's approval
        return c.welfare_post and bool(c.welfare_approval)
    if g.test == "no_pension":  # R4
        return not c.monthly_pension
    if g.test == "group":  # R27: a target group the region admits
        return bool(groups & set(g.groups))
    raise ValueError(g.test)


def uplift_applies(u: Any, c: Claim, tags: set[str], shortage: frozenset[str]) -> bool:
    if (u.organizers and c.organizer not in u.organizers) or (u.apprentices and c.apprentice not in u.apprentices):
        return False
    if u.on == "shortage":  # R7
        return c.occupation in shortage
    return u.tag is not None and u.tag in tags and (u.requires_tag is None or u.requires_tag in tags)  # R10


def fund_rule(c: Claim, rules: RegionRules, tags: set[str], employer: str | None) -> Any:
    """The first funding rule that matches pays (R16); None: no fund."""
    for r in rules.funding.rules:
        if not ((r.kinds and c.kind not in r.kinds) or (r.levels and c.level not in r.levels)
                or (r.organizers and c.organizer not in r.organizers)
                or (r.organizer_level and c.organizer_level != r.organizer_level) or (r.tag and r.tag not in tags)
                or (r.employer_in and employer not in r.employer_in)
                or ("{employer_region}" in r.channel and not employer)):
            return r
    return None


def decide(c: Claim, rules: RegionRules) -> tuple[Verdict, int]:
    """One claim before the limits across claims, and its yearly ceiling (R23; -1: none)."""
    rates, cells = rules.rates, c.cells
    groups = {g.strip() for g in (cells.get("groups") or "").split(";") if g.strip()}
    status = "provisional" if rules.provisional else "official"
    ups = [u for u in rates.uplifts if u.kind == c.kind and u.in_force(c.date)]
    shortage: frozenset[str] = frozenset()
    if any(u.on == "shortage" for u in ups):
        slist = first(rules.shortage, c)
        if slist is None:
            raise NoRate("no shortage list in force (R7): a row error")
        shortage = frozenset(slist.occupations)
        status = "provisional" if slist.status == "provisional" else status

    programme, flat, capped, refusal, ceiling = None, False, False, None, -1
    if c.kind == "qualification":  # R5, R6: the occupation's own entry, else "*"
        entry = (first(rates.qualification, c, lambda e: e.occupation == c.occupation and e.level == c.level)
                 or first(rates.qualification, c, lambda e: e.occupation == "*" and e.level == c.level))
        base = entry.amount if entry else 0
    elif c.kind == "project":  # R8, R9: a programme's flat sum, else the organiser's standard
        programme = first(rates.programmes, c, lambda p: p.project_code == c.project_code)
        std = first(rates.project, c, lambda s: c.organizer in s.organizers)
        hours = c.hours or 0
        if programme is not None and programme.amount is not None:
            entry, base, flat = programme, programme.amount, True
        elif std is not None and c.review and std.review_amount is not None:
            entry, base = std, std.review_amount
        elif std is not None:
            entry, base, capped = std, min(hours * std.hour_rate, std.cap), hours * std.hour_rate > std.cap
            refusal = "below_min_hours" if hours < std.min_hours else None
        else:
            entry = None
        refusal = "not_passed" if not c.passed else refusal
    elif c.kind == "apprenticeship":  # R12
        entry = first(rates.apprenticeship, c, lambda e: e.apprentice == c.apprentice)
        base = entry.cap if entry else 0
    else:  # entrepreneurship (main.2): the course's own entry, else "*"
        entry = (first(rates.entrepreneurship, c, lambda e: e.course == c.course)
                 or first(rates.entrepreneurship, c, lambda e: e.course == "*"))
        base = entry.amount if entry else 0
    if entry is None:
        raise NoRate("no rate in force: a row error, never 0")

    def refused(reason: str, *why: Citation) -> tuple[Verdict, int]:
        return Verdict(c.claim_id, c.region, False, 0, "", "", (reason,), ids(list(why)), status), -1

    narrowing = programme if programme is not None and programme.grounds else None
    also = [narrowing.citation] if narrowing else []
    grounds = [g for g in rules.eligibility.grounds
               if c.kind in g.kinds and (narrowing is None or g.test in narrowing.grounds)]
    held = next((g for g in grounds if ground_holds(g, c, rules.eligibility.area, groups)), None)
    if held is None:
        return refused("not_eligible", rules.eligibility.citation, *also)
    limit = rules.eligibility.age
    if limit is not None and ((limit.min_age is not None and age(c) < limit.min_age)
                              or (limit.max_age is not None and age(c) > limit.max_age)):
        return refused("age_limit", limit.citation)
    if refusal is not None:  # annex3.2.3: passed; R8: the minimum hours (cited by the standard)
        return refused(refusal, PASS_RULE if refusal == "not_passed" else entry.citation)

    # R26: with a list in force for a tag and the employer named, the tag holds only for a listed one.
    tags, dropped = set(c.employer_tags), False
    employer_id = unicodedata.normalize("NFKC", cells.get("employer_id") or "").strip().upper()
    for tag in sorted(tags):
        lst = first(rates.enterprise_lists, c, lambda lst: lst.tag == tag)  # noqa: B023
        if employer_id and lst is not None and not any(e.code == employer_id and e.in_force(c.date)
                                                       for e in lst.entries):
            tags.discard(tag)
            dropped = True
    applied = [] if flat else [u for u in ups if uplift_applies(u, c, tags, shortage)]  # R11: never on a flat sum
    rate_bp = min(max(u.rate for u in applied), rates.uplift_limit.rate) if applied else 0
    if c.kind == "apprenticeship":  # the cap, raised, is also the year's ceiling (R23)
        ceiling = uplifted(base, rate_bp)
        amount, capped = min(c.cost or 0, ceiling), (c.cost or 0) > ceiling
    else:
        amount = uplifted(base, rate_bp)
    topups = [t for t in rates.topups if c.kind in t.kinds and t.in_force(c.date) and t.group in groups]
    amount += sum(t.amount for t in topups)
    if amount == 0:
        return refused("nothing_to_pay", REASONS["nothing_to_pay"].citation)  # R24

    if c.kind == "qualification":
        payee = "employer" if "self_evaluation" in tags else "person"
        payee_cite = PAYEE["self_evaluation" if payee == "employer" else "person"]
    elif c.kind in ("project", "apprenticeship"):  # R15 (amended): an enterprise's own training to it
        payee = "organizer" if c.kind == "project" and c.organizer != "enterprise" else "employer"
        payee_cite = PAYEE[c.kind]
    else:
        payee, payee_cite = entry.payee, entry.citation
    employer = c.employer_region  # R16 (amended): a district body's training, its own district
    if employer is None and c.kind == "project" and c.organizer in BODIES and c.organizer_level == "district":
        employer = c.region
    rule = fund_rule(c, rules, tags, employer)
    if rule is None:
        return refused("no_fund", REASONS["no_fund"].citation)
    channel = rule.channel.replace("{employer_region}", employer or "")

    standard = first(rates.allowances, c)  # R25: with a granted subsidy, for its groups
    in_group = bool(groups & (set(standard.groups) if standard is not None else ALLOWANCE_GROUPS))
    none, allowance = in_group and standard is None, 0
    if in_group and standard is not None:
        allowance = int(cells.get("training_days") or 0) * standard.per_day
        allowance = allowance if standard.cap is None else min(allowance, standard.cap)
        status = "provisional" if allowance and standard.status == "provisional" else status
    paid = allowance > 0

    cites = [held.citation, *also, entry.citation, *(u.citation for u in applied)]
    cites += [rates.uplift_limit.citation] if len(applied) > 1 else []
    cites += [REASONS["tag_not_listed"].citation] if dropped else []
    cites += [t.citation for t in topups] + ([PASS_RULE] if c.kind == "project" else [])
    cites += [payee_cite, rule.citation]
    cites += [standard.citation] if paid else [REASONS["no_allowance_standard"].citation] if none else []
    reasons = ("capped",) * capped + ("tag_not_listed",) * dropped + ("no_allowance_standard",) * none
    return Verdict(c.claim_id, c.region, True, amount, payee, channel, reasons, ids(cites), status, allowance,
                   f"employment:{c.region}" if paid else ""), ceiling


def limit_key(c: Claim) -> tuple[Any, ...]:
    """What R19 counts as the same subsidy (an apprenticeship: none, R23 limits it instead)."""
    same = {"qualification": (c.occupation, c.level), "project": (c.project_code,), "apprenticeship": (c.row,)}
    return (c.kind, *same.get(c.kind, (c.course,)))


def limited(v: Verdict, reason: str) -> Verdict:
    return v._replace(eligible=False, amount=0, payee="", channel="", reasons=(reason,),
                      citations=REASONS[reason].citation.ids(), allowance=0, allowance_channel="")


def apply_limits(claims: list[Claim], verdicts: list[Verdict], ceilings: list[int]) -> list[Verdict]:
    """R20: a claim id seen before (in row order) is a duplicate. Then in (date, claim id, row)
    order: an eligible claim whose R19 key the person was granted is a repeat; one whose yearly
    ceiling (R23) is spent has nothing to pay (R24); with 3 granted that calendar year it is
    refused (R18); else granted, at most what is left of its ceiling. Only grants count."""
    out = list(verdicts)
    seen: set[str] = set()
    for i, c in enumerate(claims):
        if c.claim_id in seen:
            out[i] = limited(out[i], "duplicate_claim")
        seen.add(c.claim_id)
    granted: set[tuple[str, tuple[Any, ...]]] = set()
    per_year: Counter[tuple[str, int]] = Counter()
    spent: Counter[tuple[str, int]] = Counter()
    for i in sorted(range(len(claims)), key=lambda i: (claims[i].date, claims[i].claim_id, claims[i].row)):
        c, v, top = claims[i], out[i], ceilings[i]
        year = (c.person_id, c.date.year)
        if not v.eligible:
            continue
        if (c.person_id, limit_key(c)) in granted:
            out[i] = limited(v, "repeat")
        elif top >= 0 and spent[year] >= top:
            out[i] = limited(v, "nothing_to_pay")
        elif per_year[year] >= 3:
            out[i] = limited(v, "annual_limit")
        else:
            if top >= 0 and v.amount > top - spent[year]:  # what is left of the ceiling (R23)
                reasons = v.reasons if "capped" in v.reasons else (*v.reasons, "capped")
                cites = (*v.citations, *(x for x in YEAR_CEILING.ids() if x not in v.citations))
                out[i] = v = v._replace(amount=top - spent[year], reasons=reasons, citations=cites)
            granted.add((c.person_id, limit_key(c)))
            per_year[year] += 1
            spent[year] += v.amount if top >= 0 else 0
    return out


def evaluate(engine: Any, path: Path, adjust: Callable[[Claim, Verdict], Adjust | None] | None = None
             ) -> tuple[list[Verdict], list[int]]:
    """Verdicts in file order, and the rows that are row errors (unreadable, or no value)."""
    claims, errors = read_claims(path, engine.parser)
    bad = [e.row for e in errors]
    decided: list[Claim] = []
    verdicts: list[Verdict] = []
    ceilings: list[int] = []
    for c in claims:
        try:
            v, ceiling = decide(c, engine.rulebook.rules(c.region))
        except NoRate:
            bad.append(c.row)
            continue
        a = adjust(c, v) if adjust is not None else None
        if a is not None and a.refuse:
            v = v._replace(eligible=False, amount=0, payee="", channel="", reasons=(a.reason,),
                           citations=a.citation.ids(), allowance=0, allowance_channel="")
        elif a is not None and a.amount is not None:
            v = v._replace(amount=a.amount, reasons=(*v.reasons, a.reason),
                           citations=(*v.citations, *(i for i in a.citation.ids() if i not in v.citations)))
        decided.append(c)
        verdicts.append(v)
        ceilings.append(ceiling)
    return apply_limits(decided, verdicts, ceilings), sorted(bad)
