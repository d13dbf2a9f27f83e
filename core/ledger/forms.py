"""A decision as the ledger stores it: its form (shared), and what is the claim's own.

A *form* is everything a decision says apart from the claim id and the amounts: eligible, payee,
fund, reasons, citations, status, the engine version, the hash of the region's effective catalog,
and its steps and explanation exactly as ``subsidy explain`` renders them. Many claims share a
form; each is stored once (by its hash) and a claim points at it.

The steps and the explanation are rendered by the engine's own code (:func:`~jinhua_subsidy.steps.steps_of`,
:func:`~jinhua_subsidy.explain.render`) with markers in place of the claim id, the amount before the
limits, the amount decided and the cost; :func:`fill` puts the claim's values back. The cells a
decision's steps read are found by watching them being read, and claims are grouped by those
cells' values, so the engine renders once a group. A group whose filled text does not equal the
engine's own rendering of its first claim, and any claim with notes of a plugin's adjustment, gets
a form of its own, rendered for it alone.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import __version__
from jinhua_subsidy.decision import Decision, Step
from jinhua_subsidy.explain import render
from jinhua_subsidy.money import format_yuan, parse_yuan
from jinhua_subsidy.steps import steps_of

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.ledger.history import Decided

CLAIM_MARK = "\ue000claim_id\ue001"
AMOUNT_FEN = 987654321098765  #: the amount before the limits (and any adjustment), as the steps show it
FINAL_FEN = 876543210987654  #: the amount decided
COST_TEXT = "7654321098765.43"
MARKED = ("cost",)  #: cells given as markers (their value is the claim's own)
SEP = "\x1f"  #: between the cells of ``claims.content``


def engine_version() -> str:
    return f"jinhua-subsidy {__version__}"


def canonical(value: Any) -> str:
    """JSON with sorted keys, no spaces, non-ASCII kept: the text that hashes are taken of."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=str)
    if attrs.has(type(v)):
        return attrs.asdict(v, recurse=True, value_serializer=lambda _i, _f, x: _plain(x) if not isinstance(
            x, (str, int, float, bool, type(None), list, tuple, dict)) else x)
    return str(v)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def catalog_body(engine: Engine, region: str) -> str:
    """The effective catalog of ``region`` (every rate, list, ground and fund rule the rulebook
    resolved, with the serving plugin and its version), as canonical JSON."""
    rules = engine.rulebook.rules(region)
    info = engine.pm.info.get(rules.plugin)
    return canonical({"region": region, "plugin": rules.plugin, "plugin_version": info.version if info else "",
                      "rules": attrs.asdict(rules, recurse=True, value_serializer=lambda _i, _f, x: _serial(x))})


def _serial(x: Any) -> Any:
    if isinstance(x, (dt.date, decimal.Decimal, set, frozenset)):
        return _plain(x)
    return x


# --- cells ------------------------------------------------------------------------------------


def encode_cells(df: pl.DataFrame) -> pl.Series:
    """Each row's cells in column order, joined by U+001F; an absent cell is empty; a backslash
    and U+001F inside a cell are escaped (``\\\\``, ``\\x1f``)."""
    parts = []
    for c in df.columns:
        col = pl.col(c).cast(pl.String)
        s = df.get_column(c)
        odd = s.dtype == pl.String and (s.str.contains("\\", literal=True).any()
                                       or s.str.contains(SEP, literal=True).any())
        if odd:
            col = col.str.replace_all("\\", "\\\\", literal=True).str.replace_all(SEP, "\\x1f", literal=True)
        parts.append(col.fill_null(""))
    return df.select(pl.concat_str(parts, separator=SEP).alias("content")).to_series()


def decode_cells(columns: list[str], content: str) -> dict[str, str | None]:
    """The cells of one claim from ``claims.content`` and its batch's columns."""
    values = content.split(SEP)
    out: dict[str, str | None] = {}
    for c, v in zip(columns, values, strict=False):
        if "\\" in v:
            v = v.replace("\\x1f", SEP).replace("\\\\", "\\") if "\\\\" not in v else _unescape(v)
        out[c] = v or None
    return out


def _unescape(v: str) -> str:
    out, i = [], 0
    while i < len(v):
        if v.startswith("\\\\", i):
            out.append("\\")
            i += 2
        elif v.startswith("\\x1f", i):
            out.append(SEP)
            i += 4
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


# --- forms ------------------------------------------------------------------------------------


#: Decision fields a form does not hold: the claim's own, and the steps (held as ``steps``).
OWN = ("claim_id", "amount", "steps", "row")


def decision_fields(d: Decision) -> dict[str, Any]:
    """A decision's fields but the claim's own, as JSON values."""
    return {f.name: list(v) if isinstance(v := getattr(d, f.name), tuple) else v
            for f in attrs.fields(Decision) if f.name not in OWN}


class Held:
    """An outcome rebuilt from a stored form: it gives the decision as it was stored."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        names = {f.name for f in attrs.fields(Decision)}
        self.fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k in names}
        self.region = str(fields.get("region", ""))
        self.eligible = bool(fields.get("eligible", False))
        self.status = str(fields.get("status", "official"))

    def decision(self, claim_id: str, amount: int) -> Decision:
        return Decision(claim_id=claim_id, amount=amount, **self.fields)

    def refused(self, code: str, citations: tuple[str, ...]) -> Held:
        """The same claim refused by a limit across claims (R20): no payee, fund or allowance."""
        return Held({**self.fields, "eligible": False, "payee": "", "channel": "", "reasons": (code,),
                     "citations": citations, "allowance": 0, "allowance_channel": ""})


@frozen
class Form:
    """A decision without its claim's own values; ``hash`` is of all the rest."""

    decision: str  #: canonical JSON of decision_fields
    region: str
    eligible: bool
    payee: str
    channel: str
    reasons: str
    citations: str
    status: str
    engine_version: str
    catalog_hash: str
    steps: str
    text: str

    @property
    def hash(self) -> str:
        return sha256(canonical(attrs.asdict(self)))

    def row(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "hash": self.hash}


def fill(text: str, claim_id: str, pre_amount: int, amount: int, cost: str | None) -> str:
    """A form's text with the claim's own values in place of the markers."""
    out = text.replace(CLAIM_MARK, claim_id).replace(format_yuan(AMOUNT_FEN), format_yuan(pre_amount))
    out = out.replace(format_yuan(FINAL_FEN), format_yuan(amount))
    if COST_TEXT in out:
        out = out.replace(COST_TEXT, format_yuan(parse_yuan(cost or "0")))
    return out


class _Reads(dict[str, Any]):
    """Cells that remember which of them were read."""

    def __init__(self, cells: Mapping[str, Any]) -> None:
        super().__init__(cells)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def _steps_json(steps: tuple[Step, ...]) -> str:
    return canonical([[s.rule, s.value, str(s.citation) if s.citation else None] for s in steps])


class Former:
    """Builds the forms of a run's decisions: one per group of claims that render alike."""

    def __init__(self, engine: Engine, decided: Decided, cells: pl.DataFrame, catalogs: Mapping[str, str]) -> None:
        self.engine = engine
        self.d = decided
        self.cells = cells  #: the decided claims' cells, in the result's order
        self.catalogs = catalogs  #: region → catalog hash
        self.version = engine_version()

    def _form(self, oid: int, cells: Mapping[str, Any], base: int, raw: int, claim_id: str, amount: int,
              notes: list[tuple[str, Any]]) -> Form:
        r = self.d.result
        o = r.outcomes[oid]
        steps = steps_of(o, cells, base, raw, self.engine.names, self.engine.region_names, notes)
        d = attrs.evolve(o.decision(claim_id, amount), steps=steps)
        return Form(decision=canonical(decision_fields(d)), region=o.region, eligible=o.eligible, payee=o.payee,
                    channel=o.channel,
                    reasons=";".join(o.reasons), citations=";".join(o.citations), status=o.status,
                    engine_version=self.version, catalog_hash=self.catalogs[o.region], steps=_steps_json(steps),
                    text=render(d, self.engine, r.reasons))

    def forms(self) -> tuple[list[Form], np.ndarray]:
        """The distinct forms, and each decision's index into them."""
        r, n = self.d.result, len(self.d.result)
        index = np.full(n, -1, dtype=np.int64)
        found: dict[str, int] = {}
        out: list[Form] = []

        def add(f: Form) -> int:
            h = f.hash
            if h not in found:
                found[h] = len(out)
                out.append(f)
            return found[h]

        watched_rows = set(r.watched)
        rows = r.rows
        outcome = r.outcome
        exact = np.zeros(n, dtype=bool)
        if watched_rows:
            exact = np.isin(rows, np.array(sorted(watched_rows), dtype=np.int64))
        names = self.cells.columns
        for oid in np.unique(outcome).tolist():
            at = np.flatnonzero((outcome == oid) & ~exact)
            if not len(at):
                continue
            read = self._reads(oid, int(at[0]))
            if read is None:
                exact[at] = True
                continue
            keys = [c for c in sorted(read) if c in names and c not in MARKED]
            sub = pl.DataFrame({"\0base": self.d.base[at], "\0at": at})
            if keys:
                sub = pl.concat([self.cells[at.tolist()].select(keys), sub], how="horizontal")
            groups = sub.group_by([c for c in sub.columns if c != "\0at"], maintain_order=True).agg(pl.col("\0at"))
            ok = True
            for g, members in enumerate(groups.get_column("\0at").to_list()):
                i = int(members[0])
                form = self._form(oid, self._marked(i), int(self.d.base[i]), AMOUNT_FEN, CLAIM_MARK, FINAL_FEN, [])
                if g == 0 and not self._agrees(form, oid, i):
                    ok = False
                    break
                index[np.asarray(members, dtype=np.int64)] = add(form)
            if not ok:
                exact[at] = True
        for i in np.flatnonzero(exact).tolist():
            w = r.watched.get(int(rows[i]))
            cells = w.cells if w is not None else self._cells(i)
            base, raw = (w.base, w.amount) if w is not None else (int(self.d.base[i]), int(self.d.raw[i]))
            index[i] = add(self._form(int(outcome[i]), cells, base, raw, str(r.claim_id[i]), int(r.amount[i]),
                                      list(w.notes) if w is not None else []))
        return out, index

    def _cells(self, i: int) -> dict[str, Any]:
        return self.cells.row(i, named=True)

    def _marked(self, i: int) -> dict[str, Any]:
        cells = self._cells(i)
        if cells.get("cost") is not None:
            cells["cost"] = COST_TEXT
        return cells

    def _reads(self, oid: int, i: int) -> set[str] | None:
        """The cells the steps of outcome ``oid`` read (for claim ``i``); None when they read the
        claim id or the person (every claim then renders alone)."""
        cells = _Reads(self._marked(i))
        o = self.d.result.outcomes[oid]
        steps_of(o, cells, int(self.d.base[i]), AMOUNT_FEN, self.engine.names, self.engine.region_names, [])
        if cells.read & {"claim_id", "person_id"}:
            return None
        return cells.read

    def _agrees(self, form: Form, oid: int, i: int) -> bool:
        """Whether the form, filled with claim ``i``'s values, is the engine's own rendering of it."""
        r = self.d.result
        cid, amount, raw = str(r.claim_id[i]), int(r.amount[i]), int(self.d.raw[i])
        direct = self._form(oid, self._cells(i), int(self.d.base[i]), raw, cid, amount, [])
        cost = self._cells(i).get("cost")
        return fill(form.text, cid, raw, amount, cost) == direct.text and \
            fill(form.steps, cid, raw, amount, cost) == direct.steps


def iter_rows(df: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    yield from df.iter_rows()
