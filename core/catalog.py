"""Strict loading of catalog TOML into the frozen models of :mod:`jinhua_subsidy.models`.

Every problem is an error naming the file and the key path
(``catalogs/yiwu.toml: qualification[3].level``): an unknown key, a missing
citation, a bad date, an amount that is not a decimal. Nothing is filled in: a
missing rate stays missing ("no rate" is never 0).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs
import cattrs
from attrs import evolve, field, frozen
from attrs.validators import in_

from jinhua_subsidy import vocab
from jinhua_subsidy.inheritance import RateOverrides, Withdrawal, key_fields, rate_tables
from jinhua_subsidy.models import (
    AgeLimit,
    Allowance,
    ApprenticeshipCap,
    Cited,
    Eligibility,
    EnterpriseList,
    EntrepreneurshipRate,
    Fen,
    Funding,
    FundingRule,
    Ground,
    Programme,
    ProjectStandard,
    QualificationRate,
    RateBp,
    RateCatalog,
    ShortageList,
    TopUp,
    Uplift,
    UpliftLimit,
)
from jinhua_subsidy.money import MoneyError, parse_rate_bp, parse_yuan
from jinhua_subsidy.regions import Region

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


class Readable(Protocol):
    """A file path or an ``importlib.resources`` traversable."""

    name: str

    def read_bytes(self) -> bytes: ...


class CatalogError(Exception):
    """A catalog file that cannot be loaded. ``problems`` are (key path, message) pairs."""

    def __init__(self, file: str, problems: list[tuple[str, str]]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {p}: {m}" if p else f"{file}: {m}" for p, m in problems))


class CatalogFileMissing(CatalogError):
    """A catalog file that does not exist: for an installed plugin, package data not shipped."""


def _strict_str(value: Any, _t: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _strict_int(value: Any, _t: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def _date(value: Any, _t: type) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"bad date {value!r}: write a TOML date such as 2020-01-07 (no quotes, no time)")
    return value


def _fen(value: Any, _t: type) -> int:
    if isinstance(value, float):
        raise MoneyError(f"amount {value!r} is a binary float: write it as a string, e.g. \"900\" (R13)")
    if isinstance(value, int) and not isinstance(value, bool):
        # An amount is a string of yuan (docs/catalog-format.md). repr() of an int over 4300 digits raises.
        if value.bit_length() > 64:
            raise MoneyError('amount is a TOML number: write it as a string of yuan, e.g. "900"')
        raise MoneyError(f'amount {value} is a TOML number: write it as a string, e.g. "{value}"')
    return parse_yuan(value)


def _rate(value: Any, _t: type) -> int:
    return parse_rate_bp(value)


def make_converter() -> cattrs.Converter:
    """The strict converter: unknown keys are errors, nothing is coerced."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(dt.date, _date)
    conv.register_structure_hook(Fen, _fen)
    conv.register_structure_hook(RateBp, _rate)
    return conv


_CONVERTER = make_converter()


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, KeyError):
        return "missing key"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown key(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, (ValueError, TypeError)):
        # Validators raise ValueError(message, attribute, …), as attrs' in_ does: keep the
        # message, and hand the attribute's name to _problems to finish the key path.
        if len(exc.args) > 1 and isinstance(exc.args[0], str):
            attr = exc.args[1]
            return exc.args[0] + (f"{_FIELD}{attr.name}" if isinstance(attr, attrs.Attribute) else "")
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


_FIELD = "\x1f"  #: separates a message from the name of the key it is about


def _problems(exc: Exception) -> list[tuple[str, str]]:
    out = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format):
        message, _, path = line.rpartition(" @ ")
        path = path.removeprefix("$").removeprefix(".")
        if _FIELD in message:
            message, _, name = message.partition(_FIELD)
            path = f"{path}.{name}" if path else name
        leaf = path.rsplit(".", 1)[-1]
        if message == "missing key" and leaf == "clause":
            message = "missing citation: every value needs its clause id (e.g. annex3.1.2)"
        elif message == "missing key":
            message = f"missing key {leaf!r}"
        if message.startswith("unknown key(s): "):
            keys = message.removeprefix("unknown key(s): ").split(", ")
            for k in keys:
                out.append((f"{path}.{k}" if path else k, "unknown key"))
            continue
        out.append((path, message))
    return out


def structure(data: Any, cls: type[T], file: str) -> T:
    """Structure ``data`` into ``cls`` or raise :class:`CatalogError` naming file and key path."""
    try:
        return _CONVERTER.structure(data, cls)
    except Exception as exc:  # cattrs wraps everything it finds in an exception group
        raise CatalogError(file, _problems(exc)) from None


def read_toml(source: Readable | Path, label: str | None = None) -> tuple[str, dict[str, Any]]:
    """Parse a TOML file. Duplicate keys and syntax errors (bad dates included) are errors."""
    label = label or str(source)
    try:
        data = source.read_bytes()
    except IsADirectoryError:
        raise CatalogError(label, [("", "cannot read the file: it is a folder")]) from None
    except FileNotFoundError:
        raise CatalogFileMissing(label, [("", "cannot read the file: there is no such file")]) from None
    except PermissionError:
        raise CatalogError(label, [("", "cannot read the file: permission denied")]) from None
    except OSError as exc:
        raise CatalogError(label, [("", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        return label, tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(label, [("", f"not valid TOML: {exc}")]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise CatalogError(label, [("", "not valid TOML: nested too deeply")]) from None
    except ValueError as exc:  # int() of a literal over 4300 digits (sys.get_int_max_str_digits)
        message = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise CatalogError(label, [("", f"not valid TOML: {message}")]) from None


# --- the file format ---------------------------------------------------------------------


@frozen(kw_only=True)
class CatalogHeader:
    """``[catalog]``: which region the file serves and how final it is."""

    region: str
    name: str
    parent: str | None = None
    #: The region whose effective rates this file extends, entry by entry (default: ``parent``).
    inherits: str | None = None
    title: str
    status: str = field(validator=in_(vocab.STATUSES))
    note: str = ""


@frozen(kw_only=True)
class WithdrawnEntry(Cited):
    """``[[withdrawn]]``: an inherited rate entry this file withdraws, with its citation."""

    table: str
    match: dict[str, Any] = field(hash=False)
    note: str = ""


@frozen(kw_only=True)
class ShortageEntry(Cited):
    """``[[shortage]]``: one dated shortage list."""

    list: str
    title: str
    status: str = field(validator=in_(vocab.STATUSES))
    note: str = ""
    occupations: tuple[str, ...]
    start: dt.date
    end: dt.date | None = None


@frozen(kw_only=True)
class EligibilitySection(Cited):
    area: tuple[str, ...]
    grounds: tuple[Ground, ...]
    age: AgeLimit | None = None


@frozen(kw_only=True)
class FundingSection:
    rules: tuple[FundingRule, ...]


@frozen(kw_only=True)
class CatalogFile:
    """One region's catalog file (``catalogs/<region>.toml``). See docs/catalog-format.md.

    Sections left out are inherited from the parent region.
    """

    catalog: CatalogHeader
    uplift_limit: UpliftLimit | None = None
    qualification: tuple[QualificationRate, ...] = ()
    project: tuple[ProjectStandard, ...] = ()
    programmes: tuple[Programme, ...] = ()
    apprenticeship: tuple[ApprenticeshipCap, ...] = ()
    entrepreneurship: tuple[EntrepreneurshipRate, ...] = ()
    uplifts: tuple[Uplift, ...] = ()
    topups: tuple[TopUp, ...] = ()
    allowances: tuple[Allowance, ...] = ()
    enterprise_lists: tuple[EnterpriseList, ...] = ()
    withdrawn: tuple[WithdrawnEntry, ...] = ()
    shortage: tuple[ShortageEntry, ...] = ()
    eligibility: EligibilitySection | None = None
    funding: FundingSection | None = None
    source: str = ""

    def region(self) -> Region:
        return Region(key=self.catalog.region, name=self.catalog.name, parent=self.catalog.parent)

    def inherits(self) -> str | None:
        """The region whose effective rates this file extends: ``inherits``, else ``parent``."""
        return self.catalog.inherits or self.catalog.parent

    def own_tables(self) -> dict[str, tuple[Any, ...]]:
        """This file's entries of every rate table (the tables of RateCatalog)."""
        return {t: getattr(self, t) for t in rate_tables() if getattr(self, t, ())}

    def rates(self) -> RateCatalog | RateOverrides | None:
        """The file's rates: a whole catalog, overrides of the catalog it inherits from, or None
        (nothing of its own: the parent region's)."""
        tables = self.own_tables()
        parent = self.inherits()
        if parent is not None:
            if not (tables or self.withdrawn or self.uplift_limit or self.catalog.inherits):
                return None
            return RateOverrides(
                region=self.catalog.region, inherits=parent, title=self.catalog.title, status=self.catalog.status,
                note=self.catalog.note, source=self.source, uplift_limit=self.uplift_limit, tables=tables,
                withdrawn=tuple(Withdrawal(table=w.table, match=w.match, note=w.note, clause=w.clause,
                                           reading=w.reading, document=w.document) for w in self.withdrawn))
        if self.uplift_limit is None:
            return None
        return RateCatalog(region=self.catalog.region, title=self.catalog.title, status=self.catalog.status,
                           note=self.catalog.note, source=self.source, uplift_limit=self.uplift_limit, **tables)

    def shortage_lists(self) -> tuple[ShortageList, ...] | None:
        if not self.shortage:
            return None
        return tuple(
            ShortageList(
                list=s.list, title=s.title, status=s.status, note=s.note,
                occupations=s.occupations, start=s.start, end=s.end,
                clause=s.clause, reading=s.reading, document=s.document, source=self.source,
            )
            for s in self.shortage
        )

    def eligibility_rules(self) -> Eligibility | None:
        e = self.eligibility
        if e is None:
            return None
        return Eligibility(
            area=e.area, grounds=e.grounds, age=e.age, clause=e.clause, reading=e.reading,
            document=e.document, status=self.catalog.status, note=self.catalog.note,
            source=self.source,
        )

    def funding_rules(self) -> Funding | None:
        if self.funding is None:
            return None
        return Funding(rules=self.funding.rules, source=self.source)


def load_catalog_file(source: Readable | Path, label: str | None = None) -> CatalogFile:
    """Load and structure one region's catalog file; raise :class:`CatalogError` on any problem."""
    label, data = read_toml(source, label)
    loaded = structure(data, CatalogFile, label)
    problems = _withdrawn_problems(loaded)
    given = list(loaded.own_tables())
    if loaded.inherits() is None:
        if loaded.uplift_limit is None and given:
            # Without [uplift_limit] and without a parent the tables would be ignored: never silently.
            problems.append(("uplift_limit", f"missing table: {', '.join(given)} given without [uplift_limit] "
                                             "would be ignored (a catalog without a parent gives its own limit)"))
        if loaded.withdrawn:
            problems.append(("withdrawn", "a catalog without a parent (or inherits) has nothing to withdraw"))
    if problems:
        raise CatalogError(label, problems)
    return evolve(loaded, source=label)


def _withdrawn_problems(loaded: CatalogFile) -> list[tuple[str, str]]:
    """Each ``[[withdrawn]]`` names a rate table and exactly the fields that key its entries."""
    out = []
    for k, w in enumerate(loaded.withdrawn):
        if w.table not in rate_tables():
            out.append((f"withdrawn[{k}].table", f"{w.table!r} is not a rate table ({', '.join(rate_tables())})"))
            continue
        fields = key_fields(w.table)
        if set(w.match) != set(fields):
            want = ", ".join(fields) if fields else "nothing: match = {} withdraws the whole table"
            out.append((f"withdrawn[{k}].match", f"a {w.table} entry is withdrawn by {want}"))
            continue
        for name, value in w.match.items():
            members = value if isinstance(value, list) else [value]
            if not members or not all(isinstance(m, str) for m in members):
                out.append((f"withdrawn[{k}].match.{name}", f"expected a string, got {value!r}"))
    return out


def catalog_label(source: Readable | Path) -> str:
    """``catalogs/urban.toml`` for a shipped file, else the path as given."""
    name = getattr(source, "name", str(source))
    parts = Path(str(source)).parts
    return f"catalogs/{name}" if "catalogs" in parts else str(source)


def loader(source: Readable | Path, label: str | None = None) -> Callable[[], CatalogFile]:
    """A memoised loader for ``source`` (plugins load their file once, on first use); ``label``
    names the file in messages (default :func:`catalog_label`)."""
    cached: list[CatalogFile] = []

    def get() -> CatalogFile:
        if not cached:
            cached.append(load_catalog_file(source, label or catalog_label(source)))
        return cached[0]

    return get


# --- where a key path is in a file's text --------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]\s][^\]]*?)\s*\]\]?\s*(#.*)?$")
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def line_of(text: str, path: str) -> int:
    """The 1-based line of a finding's key path in a catalog's TOML text, found by locating the
    table entry (``qualification[3]`` is the fourth ``[[qualification]]``, ``funding.rules[1]`` the
    second ``[[funding.rules]]``) and then its key (``amount = …``) or array element; the entry's
    header line when the key is not written (inherited or defaulted); 1 when nothing is found."""
    lines = text.splitlines()
    tokens: list[str | int] = [name if name else int(index) for name, index in _TOKEN.findall(path)]
    headers = []  # (line index, dotted name, is array)
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            headers.append((i, ".".join(p.strip().strip('"') for p in m.group(2).split(".")), m.group(1) == "[["))
    start, end, found = 0, len(lines), 0
    table = ""
    k = 0
    while k < len(tokens):
        token = tokens[k]
        if not isinstance(token, str):
            break
        name = f"{table}.{token}" if table else token
        index = tokens[k + 1] if k + 1 < len(tokens) and isinstance(tokens[k + 1], int) else None
        matches = [h for h in headers if h[1] == name and h[2] == (index is not None) and start <= h[0] < end]
        if index is not None and len(matches) > index:  # type: ignore[operator]
            at = matches[index][0]  # type: ignore[index]
            k += 2
        elif index is None and matches:
            at = matches[0][0]
            k += 1
        else:
            break
        later = [h for h in headers if h[0] > at]
        outside = [h[0] for h in later if not h[1].startswith(f"{name}.")]
        start, end, found, table = at, outside[0] if outside else len(lines), at + 1, name
    if k >= len(tokens):
        return found or 1
    key = tokens[k]
    if not isinstance(key, str):
        return found or 1
    assign = re.compile(rf"^\s*{re.escape(key)}\s*=")
    own_end = next((h[0] for h in headers if h[0] > start), len(lines)) if found else end
    for i in range(start, min(end, own_end)):
        if assign.match(lines[i]):
            element = tokens[k + 1] if k + 1 < len(tokens) and isinstance(tokens[k + 1], int) else None
            if element is not None and lines[i].rstrip().endswith("["):
                n = -1
                for j in range(i + 1, end):
                    stripped = lines[j].strip()
                    if stripped.startswith("]"):
                        break
                    if stripped and not stripped.startswith("#"):
                        n += 1
                        if n == element:
                            return j + 1
            return i + 1
    return found or 1
