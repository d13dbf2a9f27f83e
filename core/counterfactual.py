"""The same claims under each region's rules (``subsidy compare claims``, ``explain --region``).

**The counterfactual rule** (docs/bureau.md). To decide a claim of region C under the rules of
region T, the claim is *moved* to T:

* ``region`` becomes T;
* each of ``hukou``, ``residence_permit``, ``insured_region``, ``unemployed_region`` and
  ``employer_region`` that points at C — equal to C or within C's local area (its eligibility
  ``area``; a region without a catalog: itself and its districts) — becomes T;
* every other column is kept (a value pointing elsewhere, ``other``, tags, dates, amounts…).

Claims of T itself are not changed, so T's column is exactly ``subsidy evaluate`` of T's claims.
An employer is insured in a district or county, never in 市区 as a whole (R16): when T is such an
area (``urban``), an ``employer_region`` already in one of T's districts is kept, and one that
would have to move (a county's) is left empty; a claim that needs it is then "not comparable" in
that column (无法比较), never guessed.

Each region's moved copy is decided as a file of its own, in columns, with R18–R20 across it.
Rows the file itself cannot be read for (the contract of docs/claims.md) are reported once and
left out of every column.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from attrs import frozen

from jinhua_subsidy import vocab
from jinhua_subsidy.claims import ClaimsFileError, RowError
from jinhua_subsidy.columns import Columns, file_codes, row_errors
from jinhua_subsidy.compare import KIND_CLAUSES, regions_of, rules_or_none, sources
from jinhua_subsidy.evaluation import Result, evaluate_frame
from jinhua_subsidy.reader import NotPlain, read_chunks
from jinhua_subsidy.reasons import REASONS
from jinhua_subsidy.report import NO_CATALOG, Cell, Chart, Col, Report, Table, fund_clause, fund_name

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine

#: The columns that point at the claim's own region and move with it.
PLACE_COLUMNS = ("hukou", "residence_permit", "insured_region", "unemployed_region", "employer_region")
NOT_COMPARABLE = "迁至{name}时用人单位参保地无法确定到区（市区须写明所在区，annex3.4 R16；比较规则见 docs/bureau.md）"
READ_ROWS = 250_000


@frozen
class ClaimsFile:
    """A whole claims file as string cells (contract columns first), its line numbers, and the
    rows that cannot be read whatever the region (row errors of the file as given)."""

    df: pl.DataFrame
    rows: np.ndarray
    errors: list[RowError]


def read_file(engine: Engine, path: Path) -> ClaimsFile:
    """Read every row of ``path`` (CSV, JSON Lines or .xlsx) and check the contract once."""
    try:
        frames = list(read_chunks(path, READ_ROWS))
    except NotPlain:
        frames = list(read_chunks(path, READ_ROWS, plain=False))
    errors = [e for f in frames for e in f.errors]
    df = pl.concat([f.df for f in frames], how="diagonal_relaxed") if frames else pl.DataFrame()
    rows = np.concatenate([f.rows for f in frames]) if frames else np.zeros(0, dtype=np.int64)
    regions = tuple(sorted(engine.rulebook.regions))
    c = Columns(df, regions, tuple(sorted(engine.names)), file_codes())
    ok, bad = row_errors(c)
    errors += [RowError(int(rows[i]), c.claim_id[i] or "", m) for i, m in bad]
    keep = np.flatnonzero(ok)
    return ClaimsFile(df[keep.tolist()] if len(keep) < df.height else df, rows[keep],
                      sorted(errors, key=lambda e: e.row))


def local_pairs(engine: Engine, claim_regions: Collection[str]) -> list[str]:
    """``region\\x00place`` for every place local to each region (see the module docstring)."""
    out = []
    rb = engine.rulebook
    for c in claim_regions:
        rules, _ = rules_or_none(engine, c)
        if rules is not None:
            area = set(rules.eligibility.area)
        else:
            area = {c} | {k for k, r in rb.regions.items() if r.parent == c}
        area.add(c)
        out += [f"{c}\x00{p}" for p in sorted(area)]
    return out


def move(engine: Engine, df: pl.DataFrame, target: str) -> tuple[pl.DataFrame, np.ndarray]:
    """The claims of ``df`` moved to ``target``, and which rows lost their employer region (an
    area such as 市区 as target, an employer that would have to move: see the module docstring)."""
    rb = engine.rulebook
    umbrella = any(r.parent == target for r in rb.regions.values())
    districts = [k for k, r in rb.regions.items() if r.parent == target]
    own = pl.col("region") == target
    pairs = local_pairs(engine, df.get_column("region").unique().drop_nulls().to_list()) if df.height else []
    exprs = []
    lost = pl.lit(False)
    for col in PLACE_COLUMNS:
        value = pl.col(col)
        local = pl.concat_str([pl.col("region"), pl.lit("\x00"), value]).is_in(pairs)
        moved = pl.lit(target, dtype=pl.String)
        if col == "employer_region" and umbrella:
            moved = pl.when(value.is_in(districts)).then(value).otherwise(pl.lit(None, dtype=pl.String))
            lost = ~own & local & ~value.is_in(districts)
        exprs.append(pl.when(~own & local).then(moved).otherwise(value).alias(col))
    out = df.with_columns(*exprs, pl.lit(target, dtype=pl.String).alias("region"),
                          lost.fill_null(False).alias("__lost"))
    lost_mask = out.get_column("__lost").to_numpy()
    return out.drop("__lost"), lost_mask


def evaluate_moved(engine: Engine, claims: ClaimsFile, target: str, watch: Collection[str] = ()) -> Result:
    """``claims`` decided under ``target``'s rules, with R18–R20 across them."""
    moved, lost = move(engine, claims.df, target)
    result = evaluate_frame(engine, moved, claims.rows, watch=watch, limits=True)
    if lost.any():
        gone = set(claims.rows[lost].tolist())
        name = engine.rulebook.regions[target].name
        for i, e in enumerate(result.errors):
            if e.row in gone and e.message.startswith("缺少 employer_region"):
                result.errors[i] = RowError(e.row, e.claim_id, NOT_COMPARABLE.format(name=name))
    return result


def explain_moved(engine: Engine, path: Path, target: str, claim_id: str) -> Result:
    """The file moved to ``target`` and decided, ``claim_id`` kept for its explanation
    (``subsidy explain --region``)."""
    if target not in engine.rulebook.regions:
        raise ClaimsFileError(f"未知地区 {target!r}（可用：{'、'.join(engine.rulebook.regions)}）")
    claims = read_file(engine, path)
    result = evaluate_moved(engine, claims, target, watch=(claim_id,))
    result.errors[:0] = claims.errors
    return result


@frozen
class RegionOutcome:
    """One region's column: counts and sums of the decided claims, and the row errors."""

    key: str
    decided: int
    eligible: int
    amount: int
    allowance: int
    by_kind: dict[str, tuple[int, int]]  #: kind → (claims paid, fen)
    by_fund: dict[str, int]  #: channel → fen (living allowance under employment:…)
    refusals: dict[str, int]  #: reason code → claims
    errors: list[RowError]
    provisional: bool  #: some decision used a provisional catalog or list
    result: Result
    provisional_in: frozenset[str] = frozenset()  #: the kinds, channels and reasons whose figures did


def summarise(engine: Engine, claims: ClaimsFile, key: str, result: Result) -> RegionOutcome:
    kinds = claims.df.get_column("kind").to_numpy()
    at = np.searchsorted(claims.rows, result.rows)
    frame = pl.DataFrame({"outcome": result.outcome, "amount": result.amount, "kind": kinds[at]},
                         schema={"outcome": pl.Int64, "amount": pl.Int64, "kind": pl.String})
    groups = frame.group_by("outcome", "kind").agg(pl.len().alias("n"), pl.col("amount").sum().alias("fen"))
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_fund: dict[str, int] = defaultdict(int)
    refusals: Counter[str] = Counter()
    eligible = amount = allowance = 0
    provisional = False
    marked: set[str] = set()
    for oid, kind, n, fen in groups.iter_rows():
        o = result.outcomes[oid]
        if o.status == "provisional":
            provisional = True
            marked |= {kind, o.channel, getattr(o, "allowance_channel", "")} if o.eligible else {
                o.reasons[0] if o.reasons else "not_eligible"}
        if o.eligible:
            eligible += n
            amount += fen
            by_kind[kind][0] += n
            by_kind[kind][1] += fen
            by_fund[o.channel] += fen
            extra = getattr(o, "allowance", 0) * n
            if extra:
                allowance += extra
                by_fund[o.allowance_channel] += extra
        else:
            refusals[o.reasons[0] if o.reasons else "not_eligible"] += n
    return RegionOutcome(key, len(result), eligible, amount, allowance, {k: (v[0], v[1]) for k, v in by_kind.items()},
                         dict(by_fund), dict(refusals), list(result.errors), provisional, result,
                         frozenset(marked - {""}))


def compare_claims(engine: Engine, path: Path, regions: Sequence[str] = (), detail: bool = False) -> Report:
    claims = read_file(engine, path)
    keys = regions_of(engine, regions)
    outcomes: dict[str, RegionOutcome | None] = {}
    for k in keys:
        rules, _ = rules_or_none(engine, k)
        outcomes[k] = None if rules is None else summarise(engine, claims, k, evaluate_moved(engine, claims, k))
    has_allowance = any(o is not None and o.allowance for o in outcomes.values()) or any(
        getattr(r, "allowances", ()) for k in keys for r in [_rates(engine, k)] if r is not None)
    tables = [_summary(engine, keys, outcomes, claims, has_allowance), *_by_kind(engine, keys, outcomes),
              _by_fund(engine, keys, outcomes), _refusals(engine, keys, outcomes),
              _errors(engine, keys, outcomes, claims)]
    if detail:
        tables += _detail(engine, keys, outcomes, claims)
    notes = [f"申领文件：{path.name}，可读申领 {len(claims.rows)} 条，无法读取 {len(claims.errors)} 行"
             "（见“无法判定的申领”）。",
             "比较规则：申领迁至比较地区，指向原地区的 hukou、residence_permit、insured_region、unemployed_region、"
             "employer_region 改为比较地区，其余各列不变；每个地区单独按 R18–R20 计算（详见 docs/bureau.md）。",
             "各地区一栏中原属本地区的申领不作改动，与 subsidy evaluate 的结果相同。"]
    return Report("compare claims", f"同一批申领在各地区规则下的结果（{path.name}）", tables, notes,
                  sources(engine, keys))


def _rates(engine: Engine, key: str) -> Any:
    rules, _ = rules_or_none(engine, key)
    return rules.rates if rules is not None else None


def _head(engine: Engine, key: str) -> str:
    return engine.rulebook.regions[key].name


def _summary(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None], claims: ClaimsFile,
             allowance: bool) -> Table:
    cols = [Col("region", "地区", label=True), Col("decided", "判定条数", "int"), Col("eligible", "补贴条数", "int"),
            Col("refused", "不予补贴条数", "int"), Col("not_decided", "无法判定条数", "int"),
            Col("amount", "补贴金额合计", "yuan")]
    if allowance:
        cols.append(Col("allowance", "生活费补贴合计", "yuan"))
    cols.append(Col("clause", "依据"))
    rows: list[tuple[Any, ...]] = []
    for k in keys:
        o = outcomes[k]
        if o is None:
            rows.append((_head(engine, k), *([NO_CATALOG] * (len(cols) - 2)), "无目录"))
            continue
        p = o.provisional
        row: list[Any] = [_head(engine, k), Cell(o.decided, provisional=p), Cell(o.eligible, provisional=p),
                          Cell(o.decided - o.eligible, provisional=p), Cell(len(o.errors)),
                          Cell(o.amount, provisional=p)]
        if allowance:
            row.append(Cell(o.allowance, provisional=p))
        row.append("annex3 R13；main.4.1 R18–R20" + ("；main.4.2 R25" if allowance else ""))
        rows.append(tuple(row))
    served = [k for k in keys if outcomes[k] is not None]
    chart = Chart("bar", "各地区补贴金额合计（元）", x=tuple(_head(engine, k) for k in served),
                  series=(("补贴金额", tuple(outcomes[k].amount / 100 for k in served)),  # type: ignore[union-attr]
                          *((("生活费补贴", tuple(outcomes[k].allowance / 100 for k in served)),)  # type: ignore[union-attr]
                            if allowance else ())),
                  stacked=True, unit="元")
    return Table("summary", "各地区汇总", tuple(cols), rows, chart=chart,
                 note="“暂定”：该地区有判定用到暂定目录或名单。无目录的地区不判定。")


def _by_kind(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None]) -> list[Table]:
    out = []
    for measure, title, type_ in (("fen", "按补贴类别：补贴金额", "yuan"), ("n", "按补贴类别：补贴条数", "int")):
        cols = (Col("kind", "补贴类别", label=True), *(Col(k, _head(engine, k), type_) for k in keys),
                Col("clause", "依据"))
        rows: list[tuple[Any, ...]] = []
        for kind in vocab.KINDS:
            if not any(o is not None and kind in o.by_kind for o in outcomes.values()):
                continue
            row: list[Any] = [vocab.KIND_NAMES[kind]]
            for k in keys:
                o = outcomes[k]
                if o is None:
                    row.append(NO_CATALOG)
                    continue
                n, fen = o.by_kind.get(kind, (0, 0))
                row.append(Cell(fen if measure == "fen" else n, provisional=kind in o.provisional_in))
            row.append(KIND_CLAUSES[kind])
            rows.append(tuple(row))
        out.append(Table(f"by_kind_{measure}", title, cols, rows))
    return out


def _by_fund(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None]) -> Table:
    names = engine.region_names
    channels = sorted({c for o in outcomes.values() if o is not None for c in o.by_fund},
                      key=lambda c: (c.startswith("employment:"), c != "city", c))
    cols = (Col("fund", "资金渠道", label=True), *(Col(k, _head(engine, k), "yuan") for k in keys),
            Col("clause", "依据"))
    rows = []
    for ch in channels:
        row: list[Any] = [fund_name(ch, names)]
        for k in keys:
            o = outcomes[k]
            row.append(NO_CATALOG if o is None else Cell(o.by_fund.get(ch, 0), provisional=ch in o.provisional_in))
        row.append(fund_clause(ch))
        rows.append(tuple(row))
    served = [k for k in keys if outcomes[k] is not None]
    chart = Chart("bar", "各地区补贴金额按资金渠道（元）", x=tuple(_head(engine, k) for k in served),
                  series=tuple((fund_name(ch, names), tuple(outcomes[k].by_fund.get(ch, 0) / 100  # type: ignore[union-attr]
                                                            for k in served)) for ch in channels),
                  stacked=True, unit="元")
    return Table("by_fund", "按资金渠道", cols, rows, chart=chart,
                 note="资金渠道名称见 R17；就业补助资金为生活费补贴（R25）。")


def _refusals(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None]) -> Table:
    codes = sorted({c for o in outcomes.values() if o is not None for c in o.refusals})
    cols = (Col("reason", "不予补贴原因", label=True), *(Col(k, _head(engine, k), "int") for k in keys),
            Col("clause", "依据"))
    rows = []
    for code in codes:
        text = f"{code} {REASONS[code].text}" if code in REASONS else code
        row: list[Any] = [text]
        for k in keys:
            o = outcomes[k]
            row.append(NO_CATALOG if o is None else Cell(o.refusals.get(code, 0),
                                                         provisional=code in o.provisional_in))
        row.append(str(REASONS[code].citation) if code in REASONS else "")
        rows.append(tuple(row))
    return Table("refusals", "不予补贴的原因（条数）", cols, rows)


def _errors(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None], claims: ClaimsFile
            ) -> Table:
    cols = (Col("region", "比较地区", label=True), Col("row", "行", "int"), Col("claim_id", "申领编号"),
            Col("reason", "原因"))
    rows: list[tuple[Any, ...]] = [("（文件本身）", e.row, e.claim_id, e.message) for e in claims.errors]
    for k in keys:
        o = outcomes[k]
        if o is not None:
            rows += [(_head(engine, k), e.row, e.claim_id, e.message) for e in o.errors]
    return Table("not_decided", "无法判定的申领", cols, rows,
                 note="“（文件本身）”：按原文件即无法读取的行，不参与任何地区的比较。")


def _detail(engine: Engine, keys: list[str], outcomes: dict[str, RegionOutcome | None], claims: ClaimsFile
            ) -> list[Table]:
    ids = claims.df.get_column("claim_id").to_list()
    home = claims.df.get_column("region").to_list()
    names = engine.region_names
    cols = (Col("row", "行", "int", label=True), Col("claim_id", "申领编号", label=True),
            Col("home", "原地区", label=True), Col("region", "比较地区", label=True), Col("eligible", "结果"),
            Col("amount", "金额", "yuan"), Col("channel", "资金渠道"), Col("reasons", "原因"), Col("status", "状态"))
    long_rows: list[tuple[Any, ...]] = []
    per_claim: dict[int, dict[str, str]] = defaultdict(dict)
    for k in keys:
        o = outcomes[k]
        if o is None:
            continue
        r = o.result
        at = np.searchsorted(claims.rows, r.rows)
        for row, pos, oid, fen in zip(r.rows.tolist(), at.tolist(), r.outcome.tolist(), r.amount.tolist(),
                                      strict=True):
            oc = r.outcomes[oid]
            long_rows.append((row, ids[pos], names.get(home[pos], home[pos]), _head(engine, k),
                              "补贴" if oc.eligible else "不予补贴", Cell(fen, provisional=oc.status == "provisional"),
                              fund_name(oc.channel, names) if oc.channel else "", "；".join(oc.reasons),
                              "暂定" if oc.status == "provisional" else "正式"))
            per_claim[row][k] = f"{fen}" if oc.eligible else f"不予补贴（{oc.reasons[0] if oc.reasons else ''}）"
        for e in o.errors:
            per_claim[e.row][k] = "无法判定"
    long_rows.sort(key=lambda r: (r[0], keys.index(next(k for k in keys if _head(engine, k) == r[3]))))
    served = [k for k in keys if outcomes[k] is not None]
    dcols = (Col("row", "行", "int", label=True), Col("claim_id", "申领编号", label=True),
             Col("home", "原地区", label=True), *(Col(k, _head(engine, k), "yuan") for k in served))
    diff_rows = []
    pos_of = {int(r): i for i, r in enumerate(claims.rows.tolist())}
    for row in sorted(per_claim):
        got = per_claim[row]
        if len({got.get(k, "") for k in served}) > 1:
            i = pos_of[row]
            cells: list[Any] = []
            for k in served:
                v = got.get(k, "")
                cells.append(Cell(int(v)) if v.isdigit() else Cell(v))
            diff_rows.append((row, ids[i], names.get(home[i], home[i]), *cells))
    return [Table("detail", "逐条结果（申领 × 地区）", cols, long_rows),
            Table("differs", "各地区结果不同的申领", dcols, diff_rows,
                  note="金额为补贴金额（元）；不予补贴者注明原因代码。")]
