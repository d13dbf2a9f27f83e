"""Frozen attrs models of catalog data: what plugin hooks return.

Every value carries its citation (``clause``, optional ``reading`` and
``document``) and every rate or list carries effective dates: an inclusive
``start`` and an optional inclusive ``end``. Amounts are integers in fen; in TOML
they are written as yuan strings (``"900"``), see ``docs/catalog-format.md``.

Validators here check what holds for one object (an end is not before its start,
a level is one of R5's). What must hold across objects is checked by
:mod:`jinhua_subsidy.invariants` (``subsidy check``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NewType

from attrs import field, frozen
from attrs.validators import in_

from jinhua_subsidy import vocab
from jinhua_subsidy.citations import POLICY, Citation, _check_clause, _check_reading

#: An amount in fen. Written in TOML as a yuan string: ``"900"`` → 90000.
Fen = NewType("Fen", int)
#: A rate in basis points. Written in TOML as a decimal string: ``"0.30"`` → 3000.
RateBp = NewType("RateBp", int)


def _members(allowed: Iterable[str]):  # type: ignore[no-untyped-def]
    allowed = tuple(allowed)

    def check(_inst: object, attr: object, value: tuple[str, ...]) -> None:
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ValueError(f"{bad[0]!r} is not one of {', '.join(allowed)}", attr)

    return check


def _not_before_start(inst: Dated, attr: object, value: dt.date | None) -> None:
    if value is not None and value < inst.start:
        raise ValueError(f"end {value} is before start {inst.start}", attr)


@frozen(kw_only=True)
class Cited:
    """Base of every cited value: ``clause`` is required, ``reading`` where one applies."""

    clause: str = field(validator=_check_clause)
    reading: str | None = field(default=None, validator=_check_reading)
    document: str = POLICY

    @property
    def citation(self) -> Citation:
        return Citation(clause=self.clause, reading=self.reading, document=self.document)


@frozen(kw_only=True)
class Dated(Cited):
    """A cited value in force from ``start`` to ``end`` inclusive (``end`` None: open)."""

    start: dt.date
    end: dt.date | None = field(default=None, validator=_not_before_start)

    def in_force(self, on: dt.date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)

    def overlaps(self, other: Dated) -> bool:
        far = dt.date.max
        return self.start <= (other.end or far) and other.start <= (self.end or far)


@frozen(kw_only=True)
class QualificationRate(Dated):
    """Certificate subsidy for one occupation (or ``"*"``: every occupation without its
    own entry) at one level (annex3.1.2, R5)."""

    occupation: str
    level: str = field(validator=in_(vocab.LEVELS))
    amount: Fen


@frozen(kw_only=True)
class ProjectStandard(Dated):
    """Project training per class hour, capped, with a minimum course length (R8, R9)."""

    organizers: tuple[str, ...] = field(validator=_members(vocab.ORGANIZERS))
    hour_rate: Fen
    cap: Fen
    min_hours: int = 0
    #: Flat amount for a special-operations certificate review course (R9); None: none.
    review_amount: Fen | None = None


@frozen(kw_only=True)
class Programme(Dated):
    """A region's own training programme, keyed by ``project_code`` (R19).

    With ``amount`` it pays that flat sum; without, the project standard applies.
    ``grounds``, when given, restricts eligibility to those tests of the region.
    """

    project_code: str
    name: str
    amount: Fen | None = None
    hours: int | None = None
    run_by: str = ""
    grounds: tuple[str, ...] = field(default=(), validator=_members(vocab.GROUND_TESTS))


@frozen(kw_only=True)
class ApprenticeshipCap(Dated):
    """Apprenticeship: the actual cost, at most ``cap`` a year (annex3.3, R12)."""

    apprentice: str = field(validator=in_(vocab.APPRENTICES))
    cap: Fen


@frozen(kw_only=True)
class EntrepreneurshipRate(Dated):
    """Entrepreneurship training (创业培训, main.2 各类创业培训): a flat amount per certificate of a
    ``course`` (or ``"*"``: every course without its own entry), paid to ``payee``.

    Annex 3 gives the urban area no such standard; a county may set one (main.4.1, R27).
    """

    course: str
    amount: Fen
    payee: str = field(validator=in_(vocab.PAYEES))


@frozen(kw_only=True)
class TopUp(Dated):
    """A flat sum added to a granted subsidy of ``kinds`` for a target group of main.2
    (a county's own variation, R27), after any uplift."""

    key: str
    group: str = field(validator=in_(tuple(vocab.GROUPS)))
    amount: Fen
    kinds: tuple[str, ...] = field(default=vocab.KINDS, validator=_members(vocab.KINDS))


@frozen(kw_only=True)
class Allowance(Dated):
    """The living allowance standard (生活费补贴, main.4.2, main.4.4, R25): ``per_day`` for each
    training day, at most ``cap`` a claim, for the claimant groups ``groups``."""

    per_day: Fen
    cap: Fen | None = None
    groups: tuple[str, ...] = field(default=vocab.ALLOWANCE_GROUPS, validator=_members(vocab.GROUPS))
    status: str = field(default="official", validator=in_(vocab.STATUSES))
    note: str = ""


@frozen(kw_only=True)
class Enterprise(Dated):
    """One enterprise on a list: its 统一社会信用代码 (GB 32100-2015), name and source."""

    code: str
    name: str
    source: str = ""


@frozen(kw_only=True)
class EnterpriseList(Dated):
    """A dated list of enterprises for an employer tag (R26): 受经贸摩擦影响企业目录清单
    (``trade_friction``), 制造业重点细分行业企业 confirmed by 经信部门 (``key_manufacturing``),
    市属国有企业 (``city_soe``), 开展技能人才自主评价的企业 (``self_evaluation``)."""

    tag: str = field(validator=in_(vocab.EMPLOYER_TAGS))
    title: str
    entries: tuple[Enterprise, ...] = ()


@frozen(kw_only=True)
class Uplift(Dated):
    """A raise of the standard (上浮), e.g. shortage ×1.3 (R7) or the enterprise uplift (R10).

    ``on = "shortage"``: the occupation is on the shortage list in force.
    ``on = "employer_tag"``: the claim's ``employer_tags`` include ``tag``
    (and ``requires_tag`` when given). ``organizers``/``apprentices`` narrow it further.
    Several uplifts on one claim never compound (R11).
    """

    key: str
    kind: str = field(validator=in_(vocab.KINDS))
    on: str = field(validator=in_(vocab.UPLIFT_CONDITIONS))
    rate: RateBp
    tag: str | None = field(default=None, validator=in_((None, *vocab.EMPLOYER_TAGS)))
    requires_tag: str | None = field(default=None, validator=in_((None, *vocab.EMPLOYER_TAGS)))
    organizers: tuple[str, ...] = field(default=(), validator=_members(vocab.ORGANIZERS))
    apprentices: tuple[str, ...] = field(default=(), validator=_members(vocab.APPRENTICES))


@frozen(kw_only=True)
class UpliftLimit(Cited):
    """All uplifts on one claim together (R11, main.4.2 上浮幅度不超过30%)."""

    rate: RateBp


@frozen(kw_only=True)
class RateCatalog:
    """A region's subsidy catalog: rates per kind × occupation × level and the rest."""

    region: str
    title: str
    status: str = field(validator=in_(vocab.STATUSES))
    note: str = ""
    source: str = ""
    uplift_limit: UpliftLimit
    qualification: tuple[QualificationRate, ...] = ()
    project: tuple[ProjectStandard, ...] = ()
    programmes: tuple[Programme, ...] = ()
    apprenticeship: tuple[ApprenticeshipCap, ...] = ()
    entrepreneurship: tuple[EntrepreneurshipRate, ...] = ()
    uplifts: tuple[Uplift, ...] = ()
    topups: tuple[TopUp, ...] = ()
    allowances: tuple[Allowance, ...] = ()
    enterprise_lists: tuple[EnterpriseList, ...] = ()


@frozen(kw_only=True)
class ShortageList(Dated):
    """A shortage-occupation list (紧缺职业（工种）目录) and the dates it is in force (R7)."""

    list: str
    title: str
    status: str = field(validator=in_(vocab.STATUSES))
    note: str = ""
    occupations: tuple[str, ...]
    source: str = ""


@frozen(kw_only=True)
class Ground(Cited):
    """One eligibility test. ``kinds`` limits it to some subsidy kinds (R3: project only)."""

    test: str = field(validator=in_(vocab.GROUND_TESTS))
    kinds: tuple[str, ...] = field(default=vocab.KINDS, validator=_members(vocab.KINDS))
    min_months: int | None = None
    #: For ``test = "group"``: the target groups of main.2 the region admits (R4, R27).
    groups: tuple[str, ...] = field(default=(), validator=_members(vocab.GROUPS))


@frozen(kw_only=True)
class AgeLimit(Cited):
    """An age range for every claim of a region (R27), the age at the claim's date taken from the
    birth date inside the resident id (GB 11643 digits 7–14); either bound may be left out."""

    min_age: int | None = None
    max_age: int | None = None


@frozen(kw_only=True)
class Eligibility(Cited):
    """Who may claim in a region (R1–R4): any one ground that holds is enough.

    ``area`` lists the region keys that count as local for 户籍, 居住证, 社保 and 失业登记.
    """

    area: tuple[str, ...]
    grounds: tuple[Ground, ...]
    age: AgeLimit | None = None
    status: str = field(default="official", validator=in_(vocab.STATUSES))
    note: str = ""
    source: str = ""


@frozen(kw_only=True)
class FundingRule(Cited):
    """One funding rule (R16). Rules are tried in order; the first that matches pays.

    Empty filters match anything. ``channel`` is ``city``, ``district:<key>`` or
    ``county:<key>`` (R17); ``{employer_region}`` in it is replaced by the claim's
    ``employer_region``, which must then be one of ``employer_in``.
    """

    channel: str
    kinds: tuple[str, ...] = field(default=(), validator=_members(vocab.KINDS))
    levels: tuple[str, ...] = field(default=(), validator=_members(vocab.LEVELS))
    organizers: tuple[str, ...] = field(default=(), validator=_members(vocab.ORGANIZERS))
    organizer_level: str | None = field(default=None, validator=in_((None, *vocab.ORGANIZER_LEVELS)))
    tag: str | None = field(default=None, validator=in_((None, *vocab.EMPLOYER_TAGS)))
    employer_in: tuple[str, ...] = ()


@frozen(kw_only=True)
class Funding:
    """A region's funding channels (R16–R17)."""

    rules: tuple[FundingRule, ...]
    source: str = ""
