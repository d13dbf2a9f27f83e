"""The subsidy kinds (training modes of main.2), each declared once.

A kind says everything the engine needs to decide its claims:

* ``columns``: the claims columns it requires (``docs/claims.md``), and ``checks``: what else
  its rows must hold to be read (a row error otherwise);
* ``table``: the catalog table of its rates (``RateCatalog.<table>``), and ``compile``: that
  table as arrays for one date;
* ``rate``: the entry in force for each claim and its base amount; ``amount``: the amount once
  uplifts are known (R11 gives the uplift rate);
* ``payees``/``payee``: who is paid (R14, R15);
* ``same``: what R19 counts as "the same" subsidy, and ``annual``: whether that key is per year;
* ``refusals``: the kind's own reasons to refuse (not passed, too few hours);
* ``rate_text``/``missing``: the Chinese words of ``subsidy explain`` and of a "no rate" row error.

The engine (:mod:`jinhua_subsidy.decide`) never asks which kind it is deciding: adding a kind
means a class here, its catalog table (:mod:`jinhua_subsidy.models`), its docs and its tests.
Every method works on columns (numpy arrays, one entry a claim).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from attrs import frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import Citation, cite
from jinhua_subsidy.models import Programme
from jinhua_subsidy.money import format_yuan, uplift

PASS_RULE = cite("annex3.2.3")
PAYEE_PERSON = cite("annex3.1.3", "R14")
PAYEE_SELF_EVAL = cite("annex3.1.2", "R14")
PAYEE_ORGANIZER = cite("annex3.2.3", "R15")
PAYEE_EMPLOYER = cite("annex3.3", "R15")
PAYEE_ENTERPRISE = cite("annex3.2.3", "R15")
PAYEE_NAMES = {"person": "个人（社会保障卡）", "employer": "用人单位", "organizer": "培训主体（申领单位）"}
#: Codes of "absent" and "cannot read" in decoded columns (see jinhua_subsidy.columns).
ABSENT = -1


def lut(values: Sequence[Any], fill: Any, dtype: Any = np.int64) -> np.ndarray:
    """An array for code look-ups; its last entry answers code -1 (absent)."""
    return np.array([*values, fill], dtype=dtype)


@frozen
class Refusal:
    """A kind's own reason to refuse; ``citation`` None: the rate entry's own citation."""

    reason: str
    citation: Citation | None


@frozen
class Rate:
    """Per claim: the entry in force (``ref``, -1: none), the base amount in fen, whether uplifts
    are shut out (a flat sum), whether the base is a cap, the kind's own refusal (0: none, else
    1 + index into ``Kind.refusals``), and an entry whose ``grounds`` narrow eligibility (``narrow``,
    -1: none; a programme, which is then cited too)."""

    ref: np.ndarray
    base: np.ndarray
    flat: np.ndarray
    capped: np.ndarray
    refusal: np.ndarray
    narrow: np.ndarray | None = None


class Table:
    """A kind's rates on one date as arrays. ``entries`` are the catalog entries a claim's
    ``Rate.ref`` points at (cited in its decision, shown by ``subsidy explain``)."""

    def __init__(self) -> None:
        self.entries: list[Any] = []

    def add(self, entry: Any) -> int:
        if entry not in self.entries:
            self.entries.append(entry)
        return self.entries.index(entry)


class Kind:
    """Base of every kind; see the module docstring for what each member means."""

    key: str = ""
    columns: tuple[str, ...] = ()
    table: str = ""
    refusals: tuple[Refusal, ...] = ()
    #: Cited after the uplifts in a granted claim (project: the pass rule, annex3.2.3).
    extra_citations: tuple[Citation, ...] = ()

    @property
    def name(self) -> str:
        return vocab.KIND_NAMES[self.key]

    def compile(self, rules: Any, on: dt.date, occupations: Sequence[str]) -> Table:
        raise NotImplementedError

    def rate(self, t: Any, c: Any, idx: np.ndarray) -> Rate:
        raise NotImplementedError

    def amount(self, t: Any, c: Any, idx: np.ndarray, r: Rate, rate_bp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """money.uplift's arithmetic (half-up to the fen, R13) works on arrays as on ints."""
        return uplift(r.base, rate_bp), r.capped  # type: ignore[arg-type, return-value]

    def ceiling(self, t: Any, c: Any, idx: np.ndarray, r: Rate, rate_bp: np.ndarray) -> np.ndarray:
        """A yearly ceiling on what a person's claims of this kind are paid (R23); -1: none."""
        return np.full(len(idx), -1, dtype=np.int64)

    def payees(self, t: Any) -> list[tuple[str, Citation]]:
        raise NotImplementedError

    def payee(self, t: Any, c: Any, idx: np.ndarray, r: Rate, tags: np.ndarray) -> np.ndarray:
        """The payee of each claim, an index into ``payees``; ``tags`` are its employer tags as
        they hold (R26)."""
        raise NotImplementedError

    def same(self, c: Any) -> np.ndarray | None:
        """What R19 counts as the same subsidy, as a code per claim; None: every claim is its own."""
        raise NotImplementedError

    def checks(self, c: Any) -> list[tuple[np.ndarray, Any]]:
        """(fails, message) pairs for rows of this kind, in order, beyond the required columns."""
        return []

    def derive(self, c: Any, rows: np.ndarray) -> None:
        """Fill in, for the claims ``rows`` of this kind, a value the policy implies (columns ``c``)."""

    def missing(self, source: str, cells: Mapping[str, str | None], on: dt.date) -> str:
        raise NotImplementedError

    def rate_text(self, entry: Any, cells: Mapping[str, str | None], names: Mapping[str, str], amount: int) -> str:
        raise NotImplementedError


class Qualification(Kind):
    """职业资格培训 (annex3.1.2, R5): a rate per occupation × level, the occupation's own entry
    in force, else the ``"*"`` entry of that level; paid to the person, or to a self-evaluating
    employer training its own staff (R14)."""

    key = "qualification"
    columns = ("occupation", "level")
    table = "qualification"

    def compile(self, rules: Any, on: dt.date, occupations: Sequence[str]) -> Table:
        t = Table()
        star: dict[str, int] = {}
        own: dict[tuple[str, str], int] = {}
        for r in rules.rates.qualification:  # the first entry in force wins
            if not r.in_force(on):
                continue
            if r.occupation == "*":
                star.setdefault(r.level, t.add(r))
            else:
                own.setdefault((r.occupation, r.level), t.add(r))
        occ_index = {o: k for k, o in enumerate(occupations)}
        table = np.full((len(occupations) + 1, len(vocab.LEVELS) + 1), -1, dtype=np.int64)
        for lv, i in star.items():
            table[:-1, vocab.LEVELS.index(lv)] = i
        for (occ, lv), i in own.items():
            if occ in occ_index:
                table[occ_index[occ], vocab.LEVELS.index(lv)] = i
        t.table = table  # type: ignore[attr-defined]
        t.amounts = lut([r.amount for r in t.entries], 0)  # type: ignore[attr-defined]
        return t

    def rate(self, t: Any, c: Any, idx: np.ndarray) -> Rate:
        ref = t.table[c["occupation"][idx], c["level"][idx]]
        n = len(idx)
        no = np.zeros(n, dtype=bool)
        return Rate(ref, t.amounts[ref], no, no, np.zeros(n, dtype=np.int64))

    def payees(self, t: Any) -> list[tuple[str, Citation]]:
        return [("person", PAYEE_PERSON), ("employer", PAYEE_SELF_EVAL)]

    def payee(self, t: Any, c: Any, idx: np.ndarray, r: Rate, tags: np.ndarray) -> np.ndarray:
        return np.where(tags & c.tag_bit("self_evaluation"), 1, 0)

    def same(self, c: Any) -> np.ndarray:
        return c["occupation"].astype(np.int64) * 8 + c["level"]  # type: ignore[no-any-return]

    def missing(self, source: str, cells: Mapping[str, str | None], on: dt.date) -> str:
        return f"{source}：{on} 无职业 {cells['occupation']} 等级 {cells['level']} 的职业资格补贴标准（annex3.1.2）"

    def rate_text(self, entry: Any, cells: Mapping[str, str | None], names: Mapping[str, str], amount: int) -> str:
        occ = cells["occupation"] or ""
        return f"{vocab.LEVEL_NAMES[cells['level'] or '']} {occ} {names.get(occ, '')} → {format_yuan(entry.amount)} 元"


class Project(Kind):
    """项目制培训 (annex3.2.2, R8, R9): a region's own programme by ``project_code`` (a flat sum,
    or the standard), else the standard of the organiser: hours × rate, at most the cap, a
    minimum of hours (R8), a flat sum for a review course (R9); only for a trainee who passed
    (annex3.2.3). Paid to the body that applied (R15)."""

    key = "project"
    columns = ("project_code", "organizer", "hours", "passed")
    table = "project"
    refusals = (Refusal("not_passed", PASS_RULE), Refusal("below_min_hours", None))
    extra_citations = (PASS_RULE,)

    def compile(self, rules: Any, on: dt.date, occupations: Sequence[str]) -> Table:
        t = Table()
        std_of = []
        for org in vocab.ORGANIZERS:
            found = [p for p in rules.rates.project if org in p.organizers and p.in_force(on)]
            std_of.append(t.add(found[0]) if found else -1)
        stds = list(t.entries)
        t.std_of = lut(std_of, -1)  # type: ignore[attr-defined]
        t.hour_rate = lut([s.hour_rate for s in stds], 0)  # type: ignore[attr-defined]
        t.cap = lut([s.cap for s in stds], 0)  # type: ignore[attr-defined]
        t.min_hours = lut([s.min_hours for s in stds], 0)  # type: ignore[attr-defined]
        t.review_amount = lut([-1 if s.review_amount is None else s.review_amount  # type: ignore[attr-defined]
                               for s in stds], -1)
        programme_of: dict[str, int] = {}  #: project code → entry of the programme in force
        for p in rules.rates.programmes:
            if p.in_force(on) and p.project_code not in programme_of:
                programme_of[p.project_code] = t.add(p)
        t.programme_of = programme_of  # type: ignore[attr-defined]
        t.prog_amount = lut([e.amount if isinstance(e, Programme) and e.amount is not None  # type: ignore[attr-defined]
                             else -1 for e in t.entries], -1)
        return t

    def rate(self, t: Any, c: Any, idx: np.ndarray) -> Rate:
        codes = c.codes["project_code"]
        prog_of = np.full(len(codes) + 1, -1, dtype=np.int64)
        for code, e in t.programme_of.items():
            if code in codes.index:
                prog_of[codes.index[code]] = e
        prog = prog_of[c["project_code"][idx]]
        flat = t.prog_amount[prog] >= 0
        std = t.std_of[c["organizer"][idx]]
        review = ~flat & c["review"][idx] & (t.review_amount[std] >= 0)
        hours = c["hours"][idx]
        raw, cap = hours * t.hour_rate[std], t.cap[std]
        base = np.where(flat, t.prog_amount[prog], np.where(review, t.review_amount[std], np.minimum(raw, cap)))
        capped = ~flat & ~review & (raw > cap)
        # A programme with a flat sum is its own rate; one without uses the organiser's standard,
        # and is cited (it may narrow the grounds, see decide) besides it.
        ref = np.where(flat, prog, std)
        short = ~flat & ~review & (hours < t.min_hours[std])
        refusal = np.where(~c["passed"][idx], 1, np.where(short, 2, 0))
        return Rate(ref, base, flat, capped, refusal, narrow=prog)

    def payees(self, t: Any) -> list[tuple[str, Citation]]:
        return [("organizer", PAYEE_ORGANIZER), ("employer", PAYEE_ENTERPRISE)]

    def payee(self, t: Any, c: Any, idx: np.ndarray, r: Rate, tags: np.ndarray) -> np.ndarray:
        """R15 (amended): an enterprise training its own staff is paid as the employer; a
        department, institution or college as the body that applied."""
        return np.where(c["organizer"][idx] == vocab.ORGANIZERS.index("enterprise"), 1, 0)

    def same(self, c: Any) -> np.ndarray:
        return c["project_code"].astype(np.int64)  # type: ignore[no-any-return]

    def derive(self, c: Any, rows: np.ndarray) -> None:
        """R16 (amended): training by a district-level department, institution or college is
        paid from the fund of the district that ran it; with no ``employer_region``, that is the
        claim's own region (unless the region is a whole area such as 市区: a row error)."""
        emp = c.values["employer_region"]
        fill = rows & c.absent["employer_region"] & _district_body(c) & ~np.isin(c["region"], c.umbrella_codes())
        if fill.any():
            c.values["employer_region"] = np.where(fill, c["region"], emp)

    def checks(self, c: Any) -> list[tuple[np.ndarray, Any]]:
        org, olevel = c["organizer"], c["organizer_level"]
        no_employer = c.absent["employer_region"]
        body = np.isin(org, [vocab.ORGANIZERS.index("department"), vocab.ORGANIZERS.index("college")])
        city = olevel == vocab.ORGANIZER_LEVELS.index("city")
        area = np.isin(c["region"], c.umbrella_codes())
        return [
            (body & c.absent["organizer_level"],
             lambda _cells: "缺少 organizer_level（部门、院校组织的项目制培训须说明市级或区级，annex3.4）"),
            (no_employer & _district_body(c) & area,
             lambda cells: f"缺少 employer_region：申领地区为 {cells['region']}（整个市区），区级部门、机构、院校"
                           f"组织的培训须写明所属的区（annex3.4 R16）"),
            (no_employer & ~(body & city) & ~_district_body(c),
             lambda _cells: "缺少 employer_region（按属地原则确定资金渠道，main.4.1 annex3.4）"),
        ]

    def missing(self, source: str, cells: Mapping[str, str | None], on: dt.date) -> str:
        return f"{source}：{on} 无 {cells['organizer']} 组织的项目制培训补贴标准（annex3.2.2）"

    def rate_text(self, entry: Any, cells: Mapping[str, str | None], names: Mapping[str, str], amount: int) -> str:
        if isinstance(entry, Programme):
            return f"本地培训项目 {entry.project_code} {entry.name}：每人 {format_yuan(entry.amount or 0)} 元"
        if cells.get("review") == "true" and entry.review_amount is not None:
            return f"特种作业人员操作证复审培训：每人 {format_yuan(entry.review_amount)} 元"
        hours = int(cells["hours"] or 0)
        raw = hours * entry.hour_rate
        return (f"{vocab.ORGANIZER_NAMES[cells['organizer'] or '']}组织：{hours} 课时 × "
                f"{format_yuan(entry.hour_rate)} 元 = {format_yuan(raw)} 元，上限 {format_yuan(entry.cap)} 元"
                f" → {format_yuan(min(raw, entry.cap))} 元")


def _district_body(c: Any) -> np.ndarray:
    """Project training run by a district-level department, institution or college (R16)."""
    bodies = [vocab.ORGANIZERS.index(o) for o in ("department", "institution", "college")]
    return np.isin(c["organizer"], bodies) & (c["organizer_level"] == vocab.ORGANIZER_LEVELS.index("district"))  # type: ignore[no-any-return]


class Apprenticeship(Kind):
    """企业新型学徒制 (annex3.3, R12): the actual cost, at most the cap of the apprentice type
    (raised by an uplift, R10); paid to the enterprise (R15). The cap is a yearly ceiling on what
    a person's apprenticeships are paid (R23): a later claim gets what is left of it."""

    key = "apprenticeship"
    columns = ("apprentice", "cost", "employer_region")
    table = "apprenticeship"

    def compile(self, rules: Any, on: dt.date, occupations: Sequence[str]) -> Table:
        t = Table()
        cap_of = []
        for a in vocab.APPRENTICES:
            found = [e for e in rules.rates.apprenticeship if e.apprentice == a and e.in_force(on)]
            cap_of.append(t.add(found[0]) if found else -1)
        t.cap_of = lut(cap_of, -1)  # type: ignore[attr-defined]
        t.caps = lut([e.cap for e in t.entries], 0)  # type: ignore[attr-defined]
        return t

    def rate(self, t: Any, c: Any, idx: np.ndarray) -> Rate:
        ref = t.cap_of[c["apprentice"][idx]]
        n = len(idx)
        no = np.zeros(n, dtype=bool)
        return Rate(ref, t.caps[ref], no, no, np.zeros(n, dtype=np.int64))

    def amount(self, t: Any, c: Any, idx: np.ndarray, r: Rate, rate_bp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cap_up = uplift(r.base, rate_bp)  # type: ignore[arg-type]
        cost = c["cost"][idx]
        return np.minimum(cost, cap_up), cost > cap_up

    def ceiling(self, t: Any, c: Any, idx: np.ndarray, r: Rate, rate_bp: np.ndarray) -> np.ndarray:
        return uplift(r.base, rate_bp)  # type: ignore[arg-type, return-value]

    def payees(self, t: Any) -> list[tuple[str, Citation]]:
        return [("employer", PAYEE_EMPLOYER)]

    def payee(self, t: Any, c: Any, idx: np.ndarray, r: Rate, tags: np.ndarray) -> np.ndarray:
        return np.zeros(len(idx), dtype=np.int64)

    def same(self, c: Any) -> np.ndarray | None:
        return None  # R23: the yearly ceiling, not R19, limits a person's apprenticeships

    def missing(self, source: str, cells: Mapping[str, str | None], on: dt.date) -> str:
        return f"{source}：{on} 无 {cells['apprentice']} 学徒补贴标准（annex3.3）"

    def rate_text(self, entry: Any, cells: Mapping[str, str | None], names: Mapping[str, str], amount: int) -> str:
        return f"{vocab.APPRENTICE_NAMES[cells['apprentice'] or '']}每人每年不超过 {format_yuan(entry.cap)} 元"


class Entrepreneurship(Kind):
    """创业培训 (main.2 各类创业培训): a flat amount per certificate of a ``course``, the course's own
    entry in force, else the ``"*"`` entry. Annex 3 sets no urban standard: only a region whose
    catalog has ``[[entrepreneurship]]`` pays it (R27), to the payee that entry names."""

    key = "entrepreneurship"
    columns = ("course",)
    table = "entrepreneurship"

    def compile(self, rules: Any, on: dt.date, occupations: Sequence[str]) -> Table:
        t = Table()
        of: dict[str, int] = {}
        for e in rules.rates.entrepreneurship:
            if e.in_force(on):
                of.setdefault(e.course, t.add(e))
        t.of = of  # type: ignore[attr-defined]
        t.amounts = lut([e.amount for e in t.entries], 0)  # type: ignore[attr-defined]
        return t

    def rate(self, t: Any, c: Any, idx: np.ndarray) -> Rate:
        codes = c.codes["course"]
        of = np.full(len(codes) + 1, t.of.get("*", -1), dtype=np.int64)
        for course, e in t.of.items():
            if course != "*" and course in codes.index:
                of[codes.index[course]] = e
        ref = of[c["course"][idx]]
        n = len(idx)
        no = np.zeros(n, dtype=bool)
        return Rate(ref, t.amounts[ref], no, no, np.zeros(n, dtype=np.int64))

    def payees(self, t: Any) -> list[tuple[str, Citation]]:
        return [(e.payee, e.citation) for e in t.entries]

    def payee(self, t: Any, c: Any, idx: np.ndarray, r: Rate, tags: np.ndarray) -> np.ndarray:
        return np.maximum(r.ref, 0)  # type: ignore[no-any-return]

    def same(self, c: Any) -> np.ndarray:
        return c["course"].astype(np.int64)  # type: ignore[no-any-return]

    def missing(self, source: str, cells: Mapping[str, str | None], on: dt.date) -> str:
        return f"{source}：{on} 无创业培训（{cells['course']}）补贴标准（main.2）：本地区未制定该项标准"

    def rate_text(self, entry: Any, cells: Mapping[str, str | None], names: Mapping[str, str], amount: int) -> str:
        return f"创业培训 {cells['course']}：每人每证 {format_yuan(entry.amount)} 元"


#: Every kind, by key, in the order of vocab.KINDS.
KINDS: dict[str, Kind] = {k.key: k for k in (Qualification(), Project(), Apprenticeship(), Entrepreneurship())}
assert tuple(KINDS) == vocab.KINDS, "every kind of vocab.KINDS is declared here, in that order"
