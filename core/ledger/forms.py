"""A decision as the ledger stores it: its form (shared), and what is the claim's own.

A *form* is everything a decision says apart from the claim id and its amounts: eligible, payee,
fund, reasons, citations, status, the living allowance, the engine version and the hash of the
region's effective catalog (whose whole text the ledger keeps, ``ledger_catalogs``). Claims that
decide alike share one form; a claim holds its cells, its amount and its amount before the limits
across claims.

The steps of a decision are a function of exactly these: the engine version, the effective
catalog, the claim's cells and the limit it met. ``subsidy ledger explain`` therefore decides the
stored claim again on its own (:func:`rederive`), applies the limit that the stored decision
records, and shows the steps only when the decision it gets is the one stored, field by field,
with the same engine version and catalog hash; otherwise it says so and shows the stored decision.
Rendering every claim's steps at ingest would cost more than deciding it (one render per distinct
combination of the cells the steps print: about one claim in three). A claim that a plugin's
``subsidy_adjust`` changed — whose notes only its own run knows — is the exception: its form
holds its steps and its explanation as rendered when it was decided.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import __version__
from jinhua_subsidy.decision import Decision, Step
from jinhua_subsidy.explain import render

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.ledger.history import Decided

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
    plain = df.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in df.columns],
                                    separator=SEP).alias("content")).to_series()
    # One scan of the joined text: a backslash, or more separators than columns, means a cell to escape.
    if not (plain.str.contains("\\", literal=True).any()
            or (plain.str.count_matches(SEP, literal=True) != len(df.columns) - 1).any()):
        return plain
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

    def __getattr__(self, name: str) -> Any:  # the other fields of the decision (payee, channel …)
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def decision(self, claim_id: str, amount: int) -> Decision:
        return Decision(claim_id=claim_id, amount=amount, **self.fields)  # type: ignore[arg-type]

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
        parts = [str(getattr(self, f.name)) for f in attrs.fields(Form)]
        return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()

    def row(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "hash": self.hash}


def _steps_json(steps: tuple[Step, ...]) -> str:
    return canonical([[s.rule, s.value, str(s.citation) if s.citation else None] for s in steps])


class Former:
    """The forms of a run's decisions: one per distinct decision (few: the amounts are the claims'
    own). A claim whose decision a plugin adjusted (with notes only its run knows) gets a form of
    its own holding its steps and explanation as rendered."""

    def __init__(self, engine: Engine, decided: Decided, cells: pl.DataFrame, catalogs: Mapping[str, str]) -> None:
        self.engine = engine
        self.d = decided
        self.cells = cells  #: the decided claims' cells, in the result's order
        self.catalogs = catalogs  #: region → catalog hash
        self.version = engine_version()

    def _form(self, d: Decision, steps: str = "", text: str = "") -> Form:
        return Form(decision=canonical(decision_fields(d)), region=d.region, eligible=d.eligible, payee=d.payee,
                    channel=d.channel, reasons=";".join(d.reasons), citations=";".join(d.citations), status=d.status,
                    engine_version=self.version, catalog_hash=self.catalogs[d.region], steps=steps, text=text)

    def forms(self) -> tuple[list[Form], np.ndarray]:
        """The distinct forms, and each decision's index into them."""
        r, n = self.d.result, len(self.d.result)
        found: dict[str, int] = {}
        out: list[Form] = []

        def add(f: Form) -> int:
            h = f.hash
            if h not in found:
                found[h] = len(out)
                out.append(f)
            return found[h]

        used = np.unique(r.outcome)
        table = np.full(int(used.max()) + 1 if len(used) else 0, -1, dtype=np.int64)
        for oid in used.tolist():
            table[oid] = add(self._form(r.outcomes[oid].decision("", 0)))
        index = table[r.outcome] if n else np.zeros(0, dtype=np.int64)
        if r.watched:
            for i in np.flatnonzero(np.isin(r.rows, np.array(sorted(r.watched), dtype=np.int64))).tolist():
                d = self.engine.decision(r, i)
                index[i] = add(self._form(d, _steps_json(d.steps), render(d, self.engine, r.reasons)))
        return out, index


def rederive(engine: Engine, cells: Mapping[str, Any], claim_id: str, stored: Mapping[str, Any], amount: int,
             pre_amount: int) -> Decision | None:
    """The claim decided again on its own, with the limit it met as stored: its decision with its
    steps, or None when that is not the decision stored (another engine or catalog)."""
    from jinhua_subsidy.claims import cells_frame
    from jinhua_subsidy.evaluation import Result
    from jinhua_subsidy.ledger.history import _Run
    from jinhua_subsidy.limits import CODES
    from jinhua_subsidy.reader import ClaimsFrame

    run = _Run(engine, None)
    run.watch = frozenset({"*"})
    run.with_limits = False
    frame = cells_frame([{k: v for k, v in cells.items() if v is not None}])
    res = run.result(iter([ClaimsFrame(frame, np.array([1], dtype=np.int64), [])]))
    if len(res) != 1 or 1 not in res.watched or res.watched[1].amount != pre_amount:
        return None
    pre = int(res.outcome[0])
    candidates = [pre, run.outcomes.reduced(pre), *(run.outcomes.refused(pre, c) for c in CODES.values())]
    for oid in candidates:
        one = Result(claim_id=pl.Series("claim_id", [claim_id], dtype=pl.String), outcome=np.array([oid]),
                     amount=np.array([amount], dtype=np.int64), rows=res.rows, outcomes=run.outcomes.table,
                     errors=[], watched=res.watched, reasons=res.reasons)
        d = engine.decision(one, 0)
        if canonical(decision_fields(d)) == canonical(dict(stored)):
            return d
    return None
