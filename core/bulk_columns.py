"""The claims contract checked as vector masks, and typed columns for the bulk path.

Each column is decoded once into a numpy array (codes into a vocabulary, integers,
fen, bit masks). A row passes (``ok``) only when every check the reference parser
(:class:`jinhua_subsidy.claims.ClaimParser`) makes holds in its common, plain form;
every other row is handed to that parser, which gives the exact row error (or, for
an unusual but valid spelling such as ``2021-W10-1``, the claim). The checks here
therefore only need to be sure, never complete: messages have one source.

Codes: ``-1`` is an absent cell. Region-valued columns index ``regions`` followed by
``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import claims, vocab
from jinhua_subsidy.claims import OTHER
from jinhua_subsidy.money import MoneyError, parse_yuan
from jinhua_subsidy.resident_id import check_digit

#: Values representable on the fast path (larger ones go to the reference parser).
MAX_INT = 10**9
MAX_FEN = 10**15
DAY_ONE = -719162  #: 0001-01-01 in days since 1970-01-01


def _check_values() -> np.ndarray:
    """GB 11643 check character for each weighted-sum remainder, as a number (X = 10)."""
    out = np.zeros(11, dtype=np.int64)
    for a in range(10):  # the last two weights are 4 and 2: 4a + 2b reaches every remainder
        for b in range(10):
            c = check_digit("0" * 15 + f"{a}{b}")
            out[(4 * a + 2 * b) % 11] = 10 if c == "X" else int(c)
    return out


_CHECK_VALUE = _check_values()
_INVALID = -2


@frozen
class Columns:
    """Typed columns of one claims frame (numpy arrays, one entry a row)."""

    ok: np.ndarray  #: bool: reads as a claim by the vector checks
    claim_id: pl.Series
    kind: np.ndarray  #: index in vocab.KINDS
    region: np.ndarray  #: index in regions
    day: np.ndarray  #: days since 1970-01-01
    person: np.ndarray  #: int64: the first 17 digits of the resident id
    occupation: np.ndarray  #: index in occupations
    level: np.ndarray  #: index in vocab.LEVELS
    project_code: np.ndarray  #: index in project_codes (the file's, across chunks)
    organizer: np.ndarray
    organizer_level: np.ndarray
    hours: np.ndarray
    passed: np.ndarray
    review: np.ndarray
    tags: np.ndarray  #: bit i: vocab.EMPLOYER_TAGS[i]
    employer_region: np.ndarray
    apprentice: np.ndarray
    cost: np.ndarray  #: fen
    hukou: np.ndarray
    residence_permit: np.ndarray
    insured_region: np.ndarray
    insured_months: np.ndarray  #: -1 absent
    unemployed_region: np.ndarray
    monthly_pension: np.ndarray
    welfare_post: np.ndarray
    welfare_approval: np.ndarray  #: bool: given
    regions: tuple[str, ...]
    occupations: tuple[str, ...]
    project_codes: ProjectCodes


class ProjectCodes:
    """The project codes met so far in a file, numbered in order (R19 counts a project by its code)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, values: Sequence[str]) -> np.ndarray:
        """The numbers of ``values`` (new ones numbered), with -1 appended for an absent cell."""
        index = self.index
        for v in values:
            if v not in index:
                index[v] = len(index)
        return np.array([*map(index.__getitem__, values), -1], dtype=np.int64)


def _np(s: pl.Series, fill: int) -> np.ndarray:
    return s.fill_null(fill).to_numpy()


def _coded(col: str, categories: Sequence[str]) -> pl.Expr:
    """Index of each cell in ``categories``; -1 absent, -2 anything else (as small integers)."""
    c = pl.col(col)
    dtype = pl.Int8 if len(categories) < 127 else pl.Int16 if len(categories) < 32767 else pl.Int32
    codes = c.cast(pl.Enum(list(categories)), strict=False).to_physical().cast(dtype) if categories \
        else pl.lit(None, dtype=dtype)
    return pl.when(c.is_null()).then(-1).otherwise(codes.fill_null(_INVALID)).cast(dtype).alias(col)


def _ints(col: str) -> pl.Expr:
    """Non-negative integers written plainly; -1 absent, -2 anything else."""
    c = pl.col(col)
    return (pl.when(c.is_null()).then(-1).when(c.str.contains(r"^[0-9]{1,9}$"))
            .then(c.cast(pl.Int32, strict=False)).otherwise(_INVALID).cast(pl.Int32).alias(col))


def _fen(col: str) -> pl.Expr:
    """Amounts in yuan to the fen written plainly (``6500``, ``6500.5``), as fen; -1 absent, -2 else."""
    c = pl.col(col)
    fen = c.cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64)
    return (pl.when(c.is_null()).then(-1).when(c.str.contains(r"^[0-9]{1,12}(\.[0-9]{1,2})?$"))
            .then(fen).otherwise(_INVALID).alias(col))


def _days(col: str) -> pl.Expr:
    """YYYY-MM-DD dates as days since 1970-01-01; -2 for anything else (the parser decides)."""
    c = pl.col(col)
    days = c.str.to_date("%Y-%m-%d", strict=False).cast(pl.Int32)
    plain = c.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & (days >= DAY_ONE)
    return pl.when(plain).then(days).otherwise(_INVALID).cast(pl.Int32).alias(col)


def _person(col: str) -> list[pl.Expr]:
    """An 18-digit resident id: its shape, its first 17 digits as a number, its last character."""
    c = pl.col(col)
    last = c.str.slice(17, 1).cast(pl.Enum([*"0123456789", "X", "x"]), strict=False).to_physical()
    return [c.str.contains(r"^[0-9]{17}[0-9Xx]$").fill_null(False).alias("id_shape"),
            c.str.slice(0, 17).cast(pl.Int64, strict=False).fill_null(0).alias("person"),
            last.cast(pl.Int8).fill_null(-1).clip(upper_bound=10).alias("id_last")]


_THREE_DIGIT_SUMS = np.array([(v // 100) * 4 + (v // 10 % 10) * 2 + v % 10 for v in range(1000)], dtype=np.int64)


def _id_remainders(first17: np.ndarray) -> np.ndarray:
    """GB 11643's weighted digit sum mod 11 of 17 digits. The weights are 2^17 … 2^1 (mod 11):
    block k of three digits from the right weighs 2^(3k+1) times its digits weighted 4, 2, 1."""
    total = np.zeros(len(first17), dtype=np.int64)
    for k in range(6):
        total += pow(2, 3 * k + 1, 11) * _THREE_DIGIT_SUMS[first17 // 10 ** (3 * k) % 1000]
    return total % 11


def _present(col: str) -> pl.Expr:
    return pl.col(col).is_not_null().alias(f"{col}?")


def _fix(s: pl.Series, out: np.ndarray, odd: Callable[[str], int]) -> np.ndarray:
    """Cells marked -2 in ``out``: ``odd`` of their text (once per distinct text), -2 if still not readable."""
    bad = np.flatnonzero(out == _INVALID)
    if not len(bad):
        return out
    values = s.gather(bad)
    distinct = values.unique().to_list()
    table = np.array([odd(v) for v in distinct], dtype=out.dtype)
    out = out.copy()
    out[bad] = table[_np(values.cast(pl.Enum(distinct)).to_physical().cast(pl.Int64), 0)]
    return out


def _odd_bool(col: str) -> Callable[[str], int]:
    def odd(text: str) -> int:
        try:
            return int(claims._bool(col, text))
        except claims._Bad:
            return _INVALID

    return odd


def _odd_int(col: str) -> Callable[[str], int]:
    def odd(text: str) -> int:
        try:
            value = claims._int(col, text)
        except claims._Bad:
            return _INVALID
        return value if value < MAX_INT else _INVALID

    return odd


def _odd_fen(text: str) -> int:
    try:
        value = parse_yuan(text)
    except MoneyError:
        return _INVALID
    return value if 0 <= value < MAX_FEN else _INVALID


def _odd_tags(text: str) -> int:
    """employer_tags as bits, as ClaimParser reads them; -2 with an unknown tag."""
    mask = 0
    for t in (t.strip() for t in text.split(";")):
        if not t:
            continue
        if t not in vocab.EMPLOYER_TAGS:
            return _INVALID
        mask |= 1 << vocab.EMPLOYER_TAGS.index(t)
    return mask


#: employer_tags written plainly: each non-empty set of tags, in vocabulary order; its code is its bits.
_TAG_SETS = tuple(";".join(t for i, t in enumerate(vocab.EMPLOYER_TAGS) if m >> i & 1)
                  for m in range(1 << len(vocab.EMPLOYER_TAGS)))
_BOOLS = ("passed", "review", "monthly_pension", "welfare_post")
_PLACES = ("employer_region", "hukou", "residence_permit", "insured_region", "unemployed_region")


def decode(df: pl.DataFrame, regions: Sequence[str], occupations: Sequence[str], projects: ProjectCodes
           ) -> Columns:
    """Decode a claims frame (see :mod:`jinhua_subsidy.bulk_read`)."""
    regions, occupations = tuple(regions), tuple(occupations)
    places = (*regions, OTHER)
    other = len(regions)
    out = df.select(
        _coded("kind", vocab.KINDS), _coded("region", regions), _coded("occupation", occupations),
        _coded("level", vocab.LEVELS), _coded("organizer", vocab.ORGANIZERS),
        _coded("organizer_level", vocab.ORGANIZER_LEVELS), _coded("apprentice", vocab.APPRENTICES),
        *(_coded(c, places) for c in _PLACES), *(_coded(c, ("false", "true")) for c in _BOOLS),
        _coded("employer_tags", _TAG_SETS), _ints("hours"), _ints("insured_months"), _fen("cost"), _days("date"),
        *_person("person_id"), *(_present(c) for c in ("claim_id", "project_code", "welfare_approval")),
    )
    a = {c: out.get_column(c).to_numpy() for c in out.columns}
    del out
    col = df.get_column
    for c in _BOOLS:
        a[c] = _fix(col(c), a[c], _odd_bool(c))
    a["employer_tags"] = _fix(col("employer_tags"), a["employer_tags"], _odd_tags)
    for c in ("hours", "insured_months"):
        a[c] = _fix(col(c), a[c], _odd_int(c))
    a["cost"] = _fix(col("cost"), a["cost"], _odd_fen)
    local, values = _factorize(col("project_code"))
    project_code = projects.codes(values)[local]

    kind, org, olevel, emp = a["kind"], a["organizer"], a["organizer_level"], a["employer_region"]

    def fine(c: str) -> np.ndarray:  # absent or readable
        return a[c] != _INVALID  # type: ignore[no-any-return]

    person = np.where(a["id_shape"], a["person"], 0)
    valid_id = a["id_shape"] & (_CHECK_VALUE[_id_remainders(person)] == a["id_last"])
    ok = valid_id & a["claim_id?"] & (kind >= 0) & (a["region"] >= 0) & (a["date"] != _INVALID)
    for c in ("review", "employer_tags", "hukou", "residence_permit", "insured_region", "unemployed_region",
              "insured_months", "monthly_pension", "welfare_post", "employer_region"):
        ok &= fine(c)
    ok &= emp != other
    # What each kind needs (claims.BY_KIND and the checks of ClaimParser._parse).
    q = (a["occupation"] >= 0) & (a["level"] >= 0)
    body = (org == vocab.ORGANIZERS.index("department")) | (org == vocab.ORGANIZERS.index("college"))
    city = olevel == vocab.ORGANIZER_LEVELS.index("city")
    p = ((org >= 0) & (a["hours"] >= 0) & (a["passed"] >= 0) & a["project_code?"]
         & np.where(olevel != -1, olevel >= 0, ~body) & ((emp != -1) | (body & city)))
    ap = (a["apprentice"] >= 0) & (a["cost"] >= 0) & (emp != -1)
    ok &= np.select([kind == 0, kind == 1, kind == 2], [q, p, ap], False)

    return Columns(
        ok=ok, claim_id=col("claim_id"), kind=kind, region=a["region"], day=a["date"], person=person,
        occupation=a["occupation"], level=a["level"], project_code=project_code, organizer=org,
        organizer_level=olevel, hours=a["hours"], passed=a["passed"] == 1, review=a["review"] == 1,
        tags=np.maximum(a["employer_tags"], 0), employer_region=emp,
        apprentice=a["apprentice"], cost=a["cost"], hukou=a["hukou"], residence_permit=a["residence_permit"],
        insured_region=a["insured_region"], insured_months=a["insured_months"],
        unemployed_region=a["unemployed_region"], monthly_pension=a["monthly_pension"] == 1,
        welfare_post=a["welfare_post"] == 1, welfare_approval=a["welfare_approval?"],
        regions=regions, occupations=occupations, project_codes=projects,
    )


def _factorize(s: pl.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes of the distinct values (-1 absent), and the values."""
    values = tuple(s.drop_nulls().unique(maintain_order=True).to_list())
    codes = s.cast(pl.Enum(list(values))).to_physical().cast(pl.Int32) if values else \
        pl.Series(np.full(len(s), -1, dtype=np.int32))
    return _np(codes, -1), values
