"""Inheritance by entry: a catalog that names a parent says only what is its own.

A region's ``subsidy_rates`` may answer :class:`RateOverrides` instead of a whole
:class:`~jinhua_subsidy.models.RateCatalog`: its own entries, the entries it withdraws, and
the region whose *effective* rates it extends (``inherits``). The rulebook resolves the parent
first (which may itself inherit), then :func:`extend` merges:

* every table of :class:`~jinhua_subsidy.models.RateCatalog` is merged by entry, keyed by
  :func:`key_fields` — (occupation, level) for certificates, the organiser for project
  standards, ``project_code`` for programmes, the apprentice, the course, (kind, key) for
  uplifts, and so on; a table added to the model later is merged the same way;
* an entry of the child replaces **every** entry of the parent with the same key, whatever
  their dates (give all the dates you mean); other parent entries are inherited unchanged;
* a :class:`Withdrawal` removes the parent's entries of a key, with its own citation;
* ``uplift_limit`` is the child's if it gives one, else the parent's.

The result is an :class:`Effective`: the merged catalog and, for each entry, the file and
key path it came from (:class:`Origin`), so findings and ``subsidy catalog`` name the file
to edit. Problems (a withdrawal that matches nothing, a parent without rates) are kept in
``Effective.problems``; ``subsidy check`` reports them and the region is not evaluated.
"""

from __future__ import annotations

import functools
import itertools
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import field, frozen
from attrs.validators import in_

from jinhua_subsidy import vocab
from jinhua_subsidy.models import Cited, RateCatalog, UpliftLimit

#: The key of each table's entries: an entry of a child replaces the parent's entries with the
#: same key. A tuple-valued field (``organizers``) gives one key per member. ``()``: the table
#: is one value (a child's entries replace the parent's whole table).
ENTRY_KEYS: dict[str, tuple[str, ...]] = {
    "qualification": ("occupation", "level"),
    "project": ("organizers",),
    "programmes": ("project_code",),
    "apprenticeship": ("apprentice",),
    "entrepreneurship": ("course",),
    "uplifts": ("kind", "key"),
    "topups": ("key",),
    "allowances": (),
    "enterprise_lists": ("tag",),
}

Key = tuple[Any, ...]


@functools.cache
def rate_tables() -> tuple[str, ...]:
    """The tables of :class:`RateCatalog` (its tuple-valued fields), in the model's order."""
    return tuple(name for name, _cls in _entry_classes().items())


@functools.cache
def _entry_classes() -> dict[str, type]:
    hints = typing.get_type_hints(RateCatalog)
    out = {}
    for f in attrs.fields(RateCatalog):
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple:
            out[f.name] = typing.get_args(hint)[0]
    return out


def entry_class(table: str) -> type:
    return _entry_classes()[table]


def key_fields(table: str) -> tuple[str, ...]:
    """The fields that key ``table``'s entries: the model's ``INHERIT_KEY`` if it declares one,
    else :data:`ENTRY_KEYS`, else ``key`` when the entry has one, else ``()`` (the whole table)."""
    cls = entry_class(table)
    declared = getattr(cls, "INHERIT_KEY", None)
    if declared is not None:
        return tuple(declared)
    if table in ENTRY_KEYS:
        return ENTRY_KEYS[table]
    names = {f.name for f in attrs.fields(cls)}
    return ("key",) if "key" in names else ()


def keys_of(values: Mapping[str, Any], fields: tuple[str, ...]) -> set[Key]:
    """Every key an entry (or a withdrawal's ``match``) stands for: a tuple-valued field gives one
    key per member."""
    parts = []
    for f in fields:
        v = values[f]
        parts.append(list(v) if isinstance(v, (tuple, list)) else [v])
    return set(itertools.product(*parts))


def entry_keys(entry: Any, fields: tuple[str, ...]) -> set[Key]:
    return keys_of({f: getattr(entry, f) for f in fields}, fields)


def show_key(table: str, key: Key) -> str:
    """``occupation="*", level="S"``: a key as a withdrawal would write it."""
    return ", ".join(f'{f}="{v}"' for f, v in zip(key_fields(table), key, strict=True)) or "（整张表）"


@frozen(kw_only=True)
class Withdrawal(Cited):
    """An inherited entry withdrawn, with the citation of the rule that withdraws it.

    ``match`` gives the key fields of the table (``{"kind": "project", "key": "trade_friction"}``
    for ``uplifts``); for ``project`` an ``organizers`` list withdraws those organisers only.
    """

    table: str
    match: Mapping[str, Any] = field(factory=dict, hash=False)
    note: str = ""


@frozen(kw_only=True)
class RateOverrides:
    """A ``subsidy_rates`` answer that extends the effective rates of region ``inherits``.

    ``tables`` holds the region's own entries by table name (``{"programmes": (...)}``), each
    replacing the parent's entries of the same key; ``withdrawn`` removes inherited entries;
    ``uplift_limit`` None keeps the parent's. Header fields are the region's own.
    """

    region: str
    inherits: str
    title: str
    status: str = field(validator=in_(vocab.STATUSES))
    note: str = ""
    source: str = ""
    uplift_limit: UpliftLimit | None = None
    tables: Mapping[str, tuple[Any, ...]] = field(factory=dict, hash=False)
    withdrawn: tuple[Withdrawal, ...] = ()


@frozen
class Origin:
    """Where an effective value comes from: a file (or a plugin's label) and its key path there."""

    file: str
    path: str

    def __str__(self) -> str:
        return f"{self.file} {self.path}"


@frozen(kw_only=True)
class Problem:
    """Something in an inheriting catalog that cannot be merged; reported as a finding."""

    file: str
    path: str
    message: str


@frozen(kw_only=True)
class Removed:
    """A withdrawal as applied: the inherited entries it removed."""

    withdrawal: Withdrawal
    origin: Origin
    removed: tuple[Origin, ...]


@frozen(kw_only=True, eq=False)
class Effective:
    """A region's effective rates and where each value comes from.

    ``origins[table][j]`` is the origin of ``rates.<table>[j]``; ``origins["uplift_limit"][0]``
    that of the uplift limit. ``chain`` lists the files merged, the region's own first.
    """

    rates: RateCatalog
    origins: Mapping[str, tuple[Origin, ...]]
    chain: tuple[str, ...]
    withdrawn: tuple[Removed, ...] = ()
    problems: tuple[Problem, ...] = ()

    def origin(self, table: str, index: int) -> Origin:
        return self.origins[table][index]


def own(rc: RateCatalog, label: str) -> Effective:
    """A whole catalog: every value is its own."""
    origins: dict[str, tuple[Origin, ...]] = {
        t: tuple(Origin(label, f"{t}[{i}]") for i in range(len(getattr(rc, t)))) for t in rate_tables()}
    origins["uplift_limit"] = (Origin(label, "uplift_limit"),)
    return Effective(rates=rc, origins=origins, chain=(label,))


def extend(parent: Effective, child: RateOverrides, label: str) -> Effective:
    """Merge ``child`` over ``parent`` entry by entry (see the module docstring)."""
    problems: list[Problem] = []
    tables: dict[str, tuple[Any, ...]] = {}
    origins: dict[str, tuple[Origin, ...]] = {}
    for name in child.tables:
        if name not in rate_tables():
            problems.append(Problem(file=label, path=name,
                                    message=f"{name} 不是补贴目录的表（可用：{'、'.join(rate_tables())}）"))
    withdrawn_by: dict[str, list[tuple[int, Withdrawal]]] = {}
    for k, w in enumerate(child.withdrawn):
        if w.table not in rate_tables():
            problems.append(Problem(file=label, path=f"withdrawn[{k}].table",
                                    message=f"{w.table} 不是补贴目录的表（可用：{'、'.join(rate_tables())}）"))
            continue
        fields = key_fields(w.table)
        if set(w.match) != set(fields):
            want = "、".join(fields) or "（空：撤销整张表）"
            problems.append(Problem(file=label, path=f"withdrawn[{k}].match",
                                    message=f"撤销 {w.table} 的条目须按 {want} 指明"))
            continue
        withdrawn_by.setdefault(w.table, []).append((k, w))
    applied: list[Removed] = []
    for table in rate_tables():
        fields = key_fields(table)
        mine = tuple(child.tables.get(table, ()))
        theirs = getattr(parent.rates, table)
        their_origins = parent.origins[table]
        given: set[Key] = set()
        for e in mine:
            given |= entry_keys(e, fields)
        gone: dict[Key, int] = {}
        for k, w in withdrawn_by.get(table, []):
            for key in keys_of(w.match, fields):
                gone.setdefault(key, k)
        kept: list[Any] = []
        kept_origins: list[Origin] = []
        removed: dict[int, list[Origin]] = {}
        for e, o in zip(theirs, their_origins, strict=True):
            keys = entry_keys(e, fields)
            left = keys - given - set(gone)
            for key in keys & set(gone):
                if key not in given:
                    removed.setdefault(gone[key], []).append(o)
            if left == keys:
                kept.append(e)
                kept_origins.append(o)
            elif left:
                kept.append(_narrow(e, fields, left))
                kept_origins.append(o)
        for k, w in withdrawn_by.get(table, []):
            keys = keys_of(w.match, fields)
            if keys & given:
                problems.append(Problem(
                    file=label, path=f"withdrawn[{k}]",
                    message=f"{table} 的条目（{show_key(table, sorted(keys & given)[0])}）既撤销又在本文件中给出"))
            elif k not in removed:
                what = show_key(table, sorted(keys)[0])
                problems.append(Problem(file=label, path=f"withdrawn[{k}]",
                                        message=f"上级目录（{parent.chain[0]}）没有可撤销的 {table} 条目（{what}）"))
            else:
                applied.append(Removed(withdrawal=w, origin=Origin(label, f"withdrawn[{k}]"),
                                       removed=tuple(removed[k])))
        tables[table] = (*kept, *mine)
        origins[table] = (*kept_origins, *(Origin(label, f"{table}[{i}]") for i in range(len(mine))))
    if child.uplift_limit is not None:
        limit, origins["uplift_limit"] = child.uplift_limit, (Origin(label, "uplift_limit"),)
    else:
        limit, origins["uplift_limit"] = parent.rates.uplift_limit, parent.origins["uplift_limit"]
    provisional = "provisional" in (child.status, parent.rates.status)
    rates = RateCatalog(region=child.region, title=child.title, status="provisional" if provisional else "official",
                        note=child.note, source=child.source or label, uplift_limit=limit, **tables)
    return Effective(rates=rates, origins=origins, chain=(label, *parent.chain),
                     withdrawn=(*parent.withdrawn, *applied), problems=(*parent.problems, *problems))


def _narrow(entry: Any, fields: tuple[str, ...], left: Iterable[Key]) -> Any:
    """An inherited entry with some of its keys taken over: keep the members of its one
    tuple-valued key field that are left (``organizers = ["department", "institution"]``)."""
    lists = [i for i, f in enumerate(fields) if isinstance(getattr(entry, fields[i]), tuple)]
    if len(lists) != 1:  # pragma: no cover - no table is keyed by two lists
        raise ValueError(f"cannot narrow an entry keyed by {fields}")
    i = lists[0]
    members = {k[i] for k in left}
    kept = tuple(m for m in getattr(entry, fields[i]) if m in members)
    return attrs.evolve(entry, **{fields[i]: kept})
