"""The claims contract (``docs/claims.md``) in columns: every column's type, the checks a row
must pass to be read, and the row errors of those that do not.

Each column of a frame of claims (strings, an empty cell null, see :mod:`jinhua_subsidy.reader`)
is decoded once into a numpy array: codes into a vocabulary, whole numbers, fen, booleans, bit
masks. Every check is written once, here, as a mask over the rows with the Chinese message of a
row that fails it; a row is read when it fails none, and its row error is the message of the
first check it fails, in the order of :func:`checks`.

Codes: ``-1`` is an absent cell (and, in a decoded column, a cell that cannot be read). Region
columns index ``regions`` followed by ``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import resident_id, vocab
from jinhua_subsidy.kinds import KINDS
from jinhua_subsidy.privacy import quote
from jinhua_subsidy.regions import KNOWN_REGIONS

#: Columns every claim has; ``REQUIRED`` must be given.
REQUIRED = ("claim_id", "person_id", "region", "kind", "date")
OTHER = "other"
#: Values representable in the columns: larger ones are row errors.
MAX_INT_DIGITS = 9
MAX_YUAN_DIGITS = 13
DAY_ONE = -719162  #: 0001-01-01 in days since 1970-01-01
MESSAGE_CHARS = 64  #: a bad value echoed in a message is cut to this many characters


@frozen
class Column:
    """A column of the contract: its name, how its cells are read, and (``kinds``) the kinds whose
    rows must have it read; empty: every row."""

    name: str
    type: str  #: text, person, date, choice, occupation, region, place, int, fen, bool, set
    choices: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


#: The contract's columns, in the order of the header a tool writes (testing.write_claims_csv).
CONTRACT: tuple[Column, ...] = (
    Column("claim_id", "text"),
    Column("person_id", "person"),
    Column("region", "region"),
    Column("kind", "choice", vocab.KINDS),
    Column("date", "date"),
    Column("occupation", "occupation", kinds=("qualification",)),
    Column("level", "choice", vocab.LEVELS, kinds=("qualification",)),
    Column("project_code", "text", kinds=("project",)),
    Column("organizer", "choice", vocab.ORGANIZERS, kinds=("project",)),
    Column("organizer_level", "choice", vocab.ORGANIZER_LEVELS, kinds=("project",)),
    Column("hours", "int", kinds=("project",)),
    Column("passed", "bool", kinds=("project",)),
    Column("review", "bool"),
    Column("employer_tags", "set", vocab.EMPLOYER_TAGS),
    Column("employer_region", "place"),
    Column("apprentice", "choice", vocab.APPRENTICES, kinds=("apprenticeship",)),
    Column("cost", "fen", kinds=("apprenticeship",)),
    Column("hukou", "place"),
    Column("residence_permit", "place"),
    Column("insured_region", "place"),
    Column("insured_months", "int"),
    Column("unemployed_region", "place"),
    Column("monthly_pension", "bool"),
    Column("welfare_post", "bool"),
    Column("welfare_approval", "text"),
    Column("course", "text", kinds=("entrepreneurship",)),
    Column("groups", "set", tuple(vocab.GROUPS)),
    Column("training_days", "int"),
    Column("employer_id", "text"),
)
COLUMN = {c.name: c for c in CONTRACT}
COLUMNS = tuple(c.name for c in CONTRACT)
#: Text columns coded across the whole file (R19 counts a project by its code).
FILE_CODED = ("project_code", "course", "employer_id")


#: Regions that are made of others (市区: its districts). An employer is insured in a district or
#: county, never in such an area as a whole (R16).
UMBRELLAS = frozenset(r.parent for r in KNOWN_REGIONS if r.parent)


def file_codes() -> dict[str, FileCodes]:
    """Fresh codes of the file-coded text columns, for one file."""
    return {name: FileCodes() for name in FILE_CODED}


class FileCodes:
    """The distinct values of a text column met so far in a file, numbered in order."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, s: pl.Series) -> np.ndarray:
        """The numbers of the cells of ``s`` (new values numbered); -1 for an absent cell."""
        distinct = s.drop_nulls().unique(maintain_order=True).to_list()
        for v in distinct:
            if v not in self.index:
                self.index[v] = len(self.index)
                self.values.append(v)
        if not distinct:
            return np.full(len(s), -1, dtype=np.int64)
        local = s.cast(pl.Enum(distinct)).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        table = np.array([*(self.index[v] for v in distinct), -1], dtype=np.int64)
        return table[local]  # type: ignore[no-any-return]


class Columns:
    """The decoded columns of one frame of claims. ``c[name]`` is a column's values (codes, whole
    numbers, fen, booleans); ``absent[name]`` and ``bad[name]`` mark empty and unreadable cells."""

    def __init__(self, frame: pl.DataFrame, regions: tuple[str, ...], occupations: tuple[str, ...],
                 codes: dict[str, FileCodes]) -> None:
        self.frame = frame
        self.regions = regions
        self.occupations = occupations
        self.codes = codes
        self.values: dict[str, np.ndarray] = {}
        self.absent: dict[str, np.ndarray] = {}
        self.bad: dict[str, np.ndarray] = {}
        self.claim_id = frame.get_column("claim_id")
        _decode(self)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def __len__(self) -> int:
        return self.frame.height

    @property
    def tags(self) -> np.ndarray:
        return self.values["employer_tags"]

    @staticmethod
    def tag_bit(tag: str) -> int:
        return 1 << vocab.EMPLOYER_TAGS.index(tag)

    @property
    def day(self) -> np.ndarray:
        return self.values["date"]

    @property
    def person(self) -> np.ndarray:
        return self.values["person_id"]

    def years(self) -> np.ndarray:
        return years(self.values["date"])

    def umbrella_codes(self) -> list[int]:
        """Codes of the regions that are whole areas (市区), see UMBRELLAS."""
        return [i for i, r in enumerate(self.regions) if r in UMBRELLAS]


def years(days: np.ndarray) -> np.ndarray:
    """Calendar years of days since 1970-01-01 (by a table over the days' range)."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    span = np.arange(lo, hi + 1, dtype=np.int64)
    table = span.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    return table[days - lo]  # type: ignore[no-any-return]


# --- decoding ---------------------------------------------------------------------------------


def _coded(expr: pl.Expr, categories: Sequence[str]) -> pl.Expr:
    if not categories:
        return pl.lit(None, dtype=pl.Int32)
    return expr.cast(pl.Enum(list(categories)), strict=False).to_physical().cast(pl.Int32)


def _expr(col: Column, places: tuple[str, ...], regions: tuple[str, ...], occupations: tuple[str, ...],
          plain_ids: bool = False) -> list[pl.Expr]:
    """Expressions giving the column's value (null where unreadable) as ``name``."""
    c = pl.col(col.name)
    t = col.type
    if t == "choice":
        return [_coded(c, col.choices).alias(col.name)]
    if t == "occupation":
        return [_coded(c, occupations).alias(col.name)]
    if t == "region":
        return [_coded(c, regions).alias(col.name)]
    if t == "place":
        return [_coded(c, places).alias(col.name)]
    if t == "bool":
        return [_coded(c.str.to_lowercase(), ("false", "true")).alias(col.name)]
    if t == "int":
        plain = c.str.contains(rf"^[0-9]{{1,{MAX_INT_DIGITS}}}$")
        return [pl.when(plain).then(c.cast(pl.Int64, strict=False)).alias(col.name)]
    if t == "fen":
        plain = c.str.contains(rf"^-?[0-9]{{1,{MAX_YUAN_DIGITS}}}(\.[0-9]{{1,2}})?$")
        fen = c.cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64)
        return [pl.when(plain).then(fen).alias(col.name)]
    if t == "date":
        days = c.str.to_date("%Y-%m-%d", strict=False).cast(pl.Int64)
        plain = c.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & (days >= DAY_ONE)
        return [pl.when(plain).then(days).alias(col.name)]
    if t == "person":
        n = c if plain_ids else c.str.normalize("NFKC").str.strip_chars().str.to_uppercase()
        shape = n.str.contains(r"^[0-9]{17}[0-9X]$")
        last = n.str.slice(17, 1).cast(pl.Enum([*"0123456789", "X"]), strict=False).to_physical()
        return [pl.when(shape).then(n.str.slice(0, 17).cast(pl.Int64, strict=False)).alias(col.name),
                pl.when(shape).then(last.cast(pl.Int64)).alias("person_id:last")]
    return []  # text: present or not; sets: see _sets


def _set_masks(vocabulary: Sequence[str]) -> dict[str, int]:
    """Every non-empty set of ``vocabulary`` written in its order, and its bits."""
    if len(vocabulary) > 6:  # too many sets to list: only single keys are read without a loop
        return {k: 1 << i for i, k in enumerate(vocabulary)}
    return {";".join(t for i, t in enumerate(vocabulary) if m >> i & 1): m for m in range(1, 1 << len(vocabulary))}


def _set_mask(text: str, vocabulary: Sequence[str]) -> int | None:
    """A ``;``-separated set as bits, however ordered and spaced; None with an unknown key."""
    mask = 0
    for t in (t.strip() for t in text.split(";")):
        if not t:
            continue
        if t not in vocabulary:
            return None
        mask |= 1 << vocabulary.index(t)
    return mask


def _sets(s: pl.Series, vocabulary: Sequence[str]) -> pl.Series:
    """A set column as bits (null where a key is unknown); cells written otherwise than one of the
    common spellings are read one distinct text at a time."""
    codes = s.replace_strict(_set_masks(vocabulary), default=None, return_dtype=pl.Int64)
    odd = codes.is_null() & s.is_not_null()
    if odd.any():
        table = {v: _set_mask(v, vocabulary) for v in s.filter(odd).unique().to_list()}
        codes = pl.select(pl.when(odd).then(s.replace_strict(table, default=None, return_dtype=pl.Int64))
                          .otherwise(codes)).to_series()
    return codes


#: 统一社会信用代码 (GB 32100-2015): its characters, and the weights of the first 17.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check(first17: str) -> str:
    """The check character of a 统一社会信用代码 (GB 32100-2015, MOD 31)."""
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def _uscc_valid(s: pl.Series) -> np.ndarray:
    """Whether each present cell is a 统一社会信用代码 with its check character right."""
    def ok(text: str) -> bool:
        return (len(text) == 18 and all(ch in USCC_CHARS for ch in text) and uscc_check(text[:17]) == text[17])

    distinct = s.drop_nulls().unique().to_list()
    table = {v: ok(v) for v in distinct}
    return s.replace_strict(table, default=None, return_dtype=pl.Boolean).fill_null(True).to_numpy()


def _check_values() -> np.ndarray:
    """GB 11643 check character for each weighted-sum remainder, as a number (X = 10)."""
    out = np.zeros(11, dtype=np.int64)
    for a in range(10):  # the last two weights are 4 and 2: 4a + 2b reaches every remainder
        for b in range(10):
            c = resident_id.check_digit("0" * 15 + f"{a}{b}")
            out[(4 * a + 2 * b) % 11] = 10 if c == "X" else int(c)
    return out


_CHECK_VALUE = _check_values()
_THREE_DIGIT_SUMS = np.array([(v // 100) * 4 + (v // 10 % 10) * 2 + v % 10 for v in range(1000)], dtype=np.int64)


def _id_remainders(first17: np.ndarray) -> np.ndarray:
    """GB 11643's weighted digit sum mod 11 of 17 digits. The weights are 2^17 … 2^1 (mod 11):
    block k of three digits from the right weighs 2^(3k+1) times its digits weighted 4, 2, 1."""
    total = np.zeros(len(first17), dtype=np.int64)
    for k in range(6):
        total += pow(2, 3 * k + 1, 11) * _THREE_DIGIT_SUMS[first17 // 10 ** (3 * k) % 1000]
    return total % 11


def _decode(cols: Columns) -> None:
    frame = cols.frame
    places = (*cols.regions, OTHER)
    if frame.get_column("employer_id").is_not_null().any():  # one 统一社会信用代码 per enterprise (as person_id)
        frame = cols.frame = frame.with_columns(
            pl.col("employer_id").str.normalize("NFKC").str.strip_chars().str.to_uppercase())
    # Resident ids are read after NFKC (full-width digits, Ｘ); a frame of plain ids needs none.
    plain_ids = bool(frame.select(pl.col("person_id").str.contains(r"^[0-9]{17}[0-9X]$").fill_null(True).all()).item())
    exprs: list[pl.Expr] = []
    for col in CONTRACT:
        exprs += _expr(col, places, cols.regions, cols.occupations, plain_ids)
    decoded = frame.select(exprs).with_columns(
        _sets(frame.get_column(col.name), col.choices).alias(col.name) for col in CONTRACT if col.type == "set")
    typed = [col for col in CONTRACT if col.type != "text"]
    # Three conversions to numpy for the whole frame (not three a column): absent cells, cells
    # that are no value of their type, and the values.
    absent = frame.select(pl.col(c).is_null() for c in COLUMNS).to_numpy(order="fortran")
    null = decoded.select(pl.col(col.name).is_null() for col in typed).to_numpy(order="fortran")
    values = decoded.select(pl.col(col.name).cast(pl.Int64).fill_null(-1) for col in typed).to_numpy(order="fortran")
    for k, name in enumerate(COLUMNS):
        cols.absent[name] = absent[:, k]
    for k, col in enumerate(typed):
        cols.bad[col.name] = null[:, k] & ~cols.absent[col.name]
        v = values[:, k]
        if col.type == "bool":
            v = v == 1
        elif col.type == "set":
            v = np.maximum(v, 0)
        cols.values[col.name] = v
    for col in CONTRACT:
        if col.type == "text":
            cols.bad[col.name] = np.zeros(frame.height, dtype=bool)
            if col.name in FILE_CODED:
                cols.values[col.name] = cols.codes[col.name].codes(frame.get_column(col.name))
    cols.bad["employer_id"] = ~_uscc_valid(frame.get_column("employer_id")) & ~cols.absent["employer_id"]
    # A kind's own columns mean nothing in a claim of another kind.
    kind = cols.values["kind"]
    for col in CONTRACT:
        if col.kinds:
            other = ~np.isin(kind, [vocab.KINDS.index(k) for k in col.kinds])
            if other.any():
                if col.name in cols.values:
                    masked = cols.values[col.name].copy()
                    masked[other] = False if masked.dtype == bool else -1
                    cols.values[col.name] = masked
    # The check character of a resident id (GB 11643).
    last = decoded.get_column("person_id:last").fill_null(-1).to_numpy()
    person = cols.values["person_id"]
    shaped = person >= 0
    valid = shaped & (_CHECK_VALUE[_id_remainders(np.where(shaped, person, 0))] == last)
    cols.bad["person_id"] = ~valid & ~cols.absent["person_id"]
    cols.values["person_id"] = np.where(valid, person, -1)
    for k, spec in enumerate(KINDS.values()):
        spec.derive(cols, kind == k)


# --- row errors -------------------------------------------------------------------------------


def show(text: str | None) -> str:
    """A bad value as a message echoes it: quoted, at most MESSAGE_CHARS characters, resident
    ids masked (jinhua_subsidy.privacy.quote)."""
    return quote(text or "", MESSAGE_CHARS)


Message = Callable[[Mapping[str, str | None]], str]


def _value_message(col: Column) -> Message:
    name, t = col.name, col.type
    if t == "choice":
        return lambda cells: f"{name} 须为 {'、'.join(col.choices)} 之一，而不是 {show(cells[name])}"
    if t == "occupation":
        return lambda cells: f"occupation {show(cells[name])} 不在职业分类目录中（catalogs/occupations.toml）"
    if t == "int":
        return lambda cells: f"{name} 须为非负整数，而不是 {show(cells[name])}"
    if t == "bool":
        return lambda cells: f"{name} 须为 true 或 false，而不是 {show(cells[name])}"
    if t == "fen":
        return lambda cells: f"{name} 须为以元计、精确到分的金额，而不是 {show(cells[name])}"
    if t == "date":
        return lambda cells: f"{name} 须为 YYYY-MM-DD 格式的日期，而不是 {show(cells[name])}"
    if t == "person":
        return lambda cells: (f"{name} {resident_id.mask(resident_id.normalise(cells[name] or ''))}："
                              f"{resident_id.problem(cells[name] or '')}")
    if t == "set":
        def bad_key(cells: Mapping[str, str | None]) -> str:
            keys = [x.strip() for x in (cells[name] or "").split(";") if x.strip()]
            first = next((x for x in keys if x not in col.choices), "")
            return f"{name} 须为 {'、'.join(col.choices)} 之一，而不是 {show(first)}"
        return bad_key
    if t == "place":
        extra = "" if name == "employer_region" else "或 other"
        return lambda cells: f"{name} 为未知地区 {show(cells[name])}（须为附件1的地区代码{extra}）"
    if t == "region":
        return lambda cells: f"{name} 为未知地区 {show(cells[name])}（须为附件1的地区代码）"
    raise ValueError(t)  # pragma: no cover - every type above


def _missing(name: str, kind: str | None = None) -> Message:
    text = f"缺少 {name}" + (f"（{kind} 类申领必填）" if kind else "")
    return lambda _cells: text


def checks(c: Columns) -> list[tuple[np.ndarray, Message]]:
    """Every check, in order: (rows that fail it, their message)."""
    out: list[tuple[np.ndarray, Message]] = []
    for name in REQUIRED:
        out.append((c.absent[name], _missing(name)))
    kind = c["kind"]
    out.append((c.bad["kind"], _value_message(COLUMN["kind"])))
    for k, spec in enumerate(KINDS.values()):
        of_kind = kind == k
        for name in spec.columns:
            out.append((of_kind & c.absent[name], _missing(name, spec.key)))
    out.append((c.bad["person_id"], _value_message(COLUMN["person_id"])))
    out.append((c.bad["date"], _value_message(COLUMN["date"])))
    for k, spec in enumerate(KINDS.values()):
        of_kind = kind == k
        for col in CONTRACT:
            if spec.key in col.kinds and col.type != "text":
                out.append((of_kind & c.bad[col.name], _value_message(col)))
        if spec.key == "apprenticeship":
            out.append((of_kind & ~c.bad["cost"] & (c["cost"] < 0) & ~c.absent["cost"],
                        lambda _cells: "cost 不能为负数"))
        out += [(of_kind & fails, message) for fails, message in spec.checks(c)]
    for name in ("review", "employer_tags", "employer_region", "hukou", "residence_permit", "insured_region",
                 "unemployed_region", "insured_months", "monthly_pension", "welfare_post", "groups", "training_days"):
        out.append((c.bad[name], _value_message(COLUMN[name])))
    out.append((c["employer_region"] == len(c.regions), _value_message(COLUMN["employer_region"])))
    umbrella = np.isin(c["employer_region"], c.umbrella_codes())
    out.append((umbrella, lambda cells: f"employer_region 为 {show(cells['employer_region'])}：须写明用人单位或培训主体"
                                        f"参保所在的区、县（市），不能是整个市区（annex3.4 R16）"))
    out.append((c.bad["employer_id"], lambda cells: f"employer_id {show(cells['employer_id'])} 不是有效的"
                                                    f"统一社会信用代码（18位，校验位按 GB 32100-2015）"))
    out.append((c.bad["region"], _value_message(COLUMN["region"])))
    return out


def row_errors(c: Columns) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Which rows are read (``ok``), and (position, message) for every other row."""
    found = checks(c)
    fails = np.stack([f for f, _ in found]) if found else np.zeros((0, len(c)), dtype=bool)
    failed = fails.any(axis=0)
    ok = ~failed
    out: list[tuple[int, str]] = []
    at = np.flatnonzero(failed)
    if len(at):
        first = fails[:, at].argmax(axis=0)
        rows = c.frame[at.tolist()].select(COLUMNS).to_dicts()
        out = [(int(i), found[int(f)][1](cells)) for i, f, cells in zip(at.tolist(), first.tolist(), rows,
                                                                         strict=True)]
    return np.asarray(ok), out


def cells_of(frame: pl.DataFrame, position: int) -> dict[str, Any]:
    """One row's cells (contract columns and extra columns), for messages and explanations."""
    return frame.row(position, named=True)
