"""The claims file contract (docs/claims.md): CSV with a header, or JSON Lines.

Each row becomes a :class:`Claim` or a :class:`RowError` that names the row
(its line in the file) and the reason, in Chinese. Extra columns are allowed; an
empty cell means absent. A resident id is never put in full into a message.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import field, frozen

from jinhua_subsidy import resident_id, vocab
from jinhua_subsidy.money import MoneyError, parse_yuan

COLUMNS = (
    "claim_id", "person_id", "region", "kind", "date", "occupation", "level", "project_code",
    "organizer", "organizer_level", "hours", "passed", "review", "employer_tags",
    "employer_region", "apprentice", "cost", "hukou", "residence_permit", "insured_region",
    "insured_months", "unemployed_region", "monthly_pension", "welfare_post", "welfare_approval",
)  # fmt: skip
REQUIRED = ("claim_id", "person_id", "region", "kind", "date")
BY_KIND = {
    "qualification": ("occupation", "level"),
    "project": ("project_code", "organizer", "hours", "passed"),
    "apprenticeship": ("apprentice", "cost", "employer_region"),
}
OTHER = "other"


@frozen(kw_only=True)
class Claim:
    """One readable claim. Optional fields are None when absent."""

    row: int
    claim_id: str
    person_id: str = field(repr=resident_id.mask)
    region: str
    kind: str
    date: dt.date
    occupation: str | None = None
    level: str | None = None
    project_code: str | None = None
    organizer: str | None = None
    organizer_level: str | None = None
    hours: int | None = None
    passed: bool | None = None
    review: bool = False
    employer_tags: frozenset[str] = frozenset()
    employer_region: str | None = None
    apprentice: str | None = None
    cost: int | None = None  #: fen
    hukou: str | None = None
    residence_permit: str | None = None
    insured_region: str | None = None
    insured_months: int | None = None
    unemployed_region: str | None = None
    monthly_pension: bool = False
    welfare_post: bool = False
    welfare_approval: str | None = None

    @property
    def year(self) -> int:
        return self.date.year


@frozen
class RowError:
    """A row that cannot be read or has no rule to apply; it goes no further."""

    row: int
    claim_id: str
    message: str

    def __str__(self) -> str:
        cid = f"（{self.claim_id}）" if self.claim_id else ""
        return f"第{self.row}行{cid}：{self.message}"


class _Bad(Exception):
    pass


def _bool(col: str, text: str) -> bool:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    raise _Bad(f"{col} 须为 true 或 false，而不是 {text!r}")


def _int(col: str, text: str) -> int:
    if not text.isdecimal():  # isdigit() admits "²", which int() refuses
        raise _Bad(f"{col} 须为非负整数，而不是 {text!r}")
    return int(text)


def _choice(col: str, text: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if text not in allowed:
        raise _Bad(f"{col} 须为 {'、'.join(allowed)} 之一，而不是 {text!r}")
    return text


class ClaimParser:
    """Turns rows (dicts of strings) into claims, knowing the regions and occupations."""

    def __init__(self, regions: Iterable[str], occupations: Iterable[str]) -> None:
        self.regions = frozenset(regions)
        self.occupations = frozenset(occupations)

    def _region(self, col: str, text: str, *, other: bool) -> str:
        if text in self.regions or (other and text == OTHER):
            return text
        extra = "或 other" if other else ""
        raise _Bad(f"{col} 为未知地区 {text!r}（须为附件1的地区代码{extra}）")

    def parse(self, row: int, raw: Mapping[str, Any]) -> Claim | RowError:
        cells = {k: ("" if v is None else str(v).strip()) for k, v in raw.items() if k is not None}
        claim_id = cells.get("claim_id", "")
        try:
            return self._parse(row, cells)
        except _Bad as exc:
            return RowError(row, claim_id, str(exc))

    def _parse(self, row: int, c: dict[str, str]) -> Claim:
        def need(col: str) -> str:
            if not c.get(col):
                raise _Bad(f"缺少 {col}" + (f"（{kind} 类申领必填）" if col not in REQUIRED else ""))
            return c[col]

        kind = ""
        for col in REQUIRED:
            need(col)
        kind = _choice("kind", c["kind"], vocab.KINDS)
        for col in BY_KIND[kind]:
            need(col)
        pid = c["person_id"]
        problem = resident_id.problem(pid)
        if problem:
            raise _Bad(f"person_id {resident_id.mask(pid)}：{problem}")
        try:
            date = dt.date.fromisoformat(c["date"])
        except ValueError:
            raise _Bad(f"date 须为 YYYY-MM-DD 格式的日期，而不是 {c['date']!r}") from None
        if len(c["date"]) != 10:
            raise _Bad(f"date 须为 YYYY-MM-DD 格式的日期，而不是 {c['date']!r}")
        opt = {k: v for k, v in c.items() if v}
        fields: dict[str, Any] = {}
        if kind == "qualification":
            occ = opt["occupation"]
            if occ not in self.occupations:
                raise _Bad(f"occupation {occ!r} 不在职业分类目录中（catalogs/occupations.toml）")
            fields["occupation"] = occ
            fields["level"] = _choice("level", opt["level"], vocab.LEVELS)
        if kind == "project":
            fields["project_code"] = opt["project_code"]
            organizer = _choice("organizer", opt["organizer"], vocab.ORGANIZERS)
            fields["organizer"] = organizer
            fields["hours"] = _int("hours", opt["hours"])
            fields["passed"] = _bool("passed", opt["passed"])
            if "organizer_level" in opt:
                fields["organizer_level"] = _choice("organizer_level", opt["organizer_level"], vocab.ORGANIZER_LEVELS)
            elif organizer in ("department", "college"):
                raise _Bad("缺少 organizer_level（部门、院校组织的项目制培训须说明市级或区级，annex3.4）")
            city_body = organizer in ("department", "college") and fields["organizer_level"] == "city"
            if "employer_region" not in opt and not city_body:
                raise _Bad("缺少 employer_region（按属地原则确定资金渠道，main.4.1 annex3.4）")
        if kind == "apprenticeship":
            fields["apprentice"] = _choice("apprentice", opt["apprentice"], vocab.APPRENTICES)
            try:
                fields["cost"] = parse_yuan(opt["cost"])
            except MoneyError:
                raise _Bad(f"cost 须为以元计、精确到分的金额，而不是 {opt['cost']!r}") from None
            if fields["cost"] < 0:
                raise _Bad("cost 不能为负数")
        if "review" in opt:
            fields["review"] = _bool("review", opt["review"])
        if "employer_tags" in opt:
            tags = [t.strip() for t in opt["employer_tags"].split(";") if t.strip()]
            for t in tags:
                _choice("employer_tags", t, vocab.EMPLOYER_TAGS)
            fields["employer_tags"] = frozenset(tags)
        for col in ("employer_region", "hukou", "residence_permit", "insured_region", "unemployed_region"):
            if col in opt:
                fields[col] = self._region(col, opt[col], other=col != "employer_region")
        if "insured_months" in opt:
            fields["insured_months"] = _int("insured_months", opt["insured_months"])
        for col in ("monthly_pension", "welfare_post"):
            if col in opt:
                fields[col] = _bool(col, opt[col])
        if "welfare_approval" in opt:
            fields["welfare_approval"] = opt["welfare_approval"]
        return Claim(
            row=row,
            claim_id=c["claim_id"],
            person_id=resident_id.normalise(pid),
            region=self._region("region", c["region"], other=False),
            kind=kind,
            date=date,
            **fields,
        )


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from a CSV or JSON Lines file (by extension: .jsonl/.json)."""
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    yield n, {"__error__": f"不是有效的 JSON：{exc.msg}"}
                    continue
                if not isinstance(obj, dict):
                    yield n, {"__error__": "每行须为一个 JSON 对象"}
                    continue
                yield n, {k: _json_cell(v) for k, v in obj.items()}
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ClaimsFileError(f"{path}：表头缺少列 {', '.join(missing)}（见 docs/claims.md）")
        for row in reader:
            yield reader.line_num, row


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


class ClaimsFileError(Exception):
    """The file as a whole cannot be read (missing, wrong header)."""


def read_claims(path: Path, parser: ClaimParser) -> tuple[list[Claim], list[RowError]]:
    """Read every row; unreadable rows become :class:`RowError`, nothing is dropped."""
    claims: list[Claim] = []
    errors: list[RowError] = []
    try:
        for n, raw in read_rows(path):
            if "__error__" in raw:
                errors.append(RowError(n, "", raw["__error__"]))
                continue
            parsed = parser.parse(n, raw)
            (errors if isinstance(parsed, RowError) else claims).append(parsed)  # type: ignore[arg-type]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ClaimsFileError(f"{path}：无法读取：{exc}") from None
    return claims, errors
