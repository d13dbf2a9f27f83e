"""Writing catalogs for people: catalog entries as TOML, and ``subsidy new-plugin``'s distribution.

:func:`entry_fields` turns a catalog entry (a frozen model) back into the keys of the catalog
format — amounts as yuan strings, rates as decimal strings, dates as TOML dates, defaults left
out — for ``subsidy catalog`` and for the files :func:`write_plugin` writes.

:func:`write_plugin` writes an outside county distribution that installs, checks and tests green
as it is: ``pyproject.toml`` with the entry point, a catalog that inherits from a parent region
(only the county's own sections written out), ``cases/`` with claim tables and their expected
decisions, a test, a CI workflow and a README, all in Chinese where county staff read them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from jinhua_subsidy.citations import POLICY
from jinhua_subsidy.models import Fen, RateBp
from jinhua_subsidy.money import BP, format_yuan

#: Fields that are not keys of the catalog format (set from the file's header or its label).
NOT_IN_FILE = {"ShortageList": {"source"}, "Eligibility": {"status", "note", "source"}, "Funding": {"source"}}


def format_rate(bp: int) -> str:
    """Basis points → ``"0.30"`` (two decimals at least, four at most)."""
    sign = "-" if bp < 0 else ""
    whole, frac = divmod(abs(bp), BP)
    text = f"{frac:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{text}"


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _base(hint: Any) -> Any:
    """``Fen | None`` → ``Fen``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and args else hint


def entry_fields(entry: Any) -> dict[str, Any]:
    """An entry's keys as the catalog format writes them, defaults left out. Values: str, int, bool,
    dt.date, lists of those, dicts (nested tables) and lists of dicts."""
    cls = type(entry)
    skip = NOT_IN_FILE.get(cls.__name__, set())
    hints = _hints(cls)
    out: dict[str, Any] = {}
    late = ("start", "end", "document", "clause", "reading")  # as the catalog files write them: last
    for f in sorted(attrs.fields(cls), key=lambda f: late.index(f.name) + 1 if f.name in late else 0):
        if f.name in skip:
            continue
        value = getattr(entry, f.name)
        default = f.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if value is None or (default is not attrs.NOTHING and value == default):
            continue
        if f.name == "document" and value == POLICY:
            continue
        out[f.name] = _plain(value, _base(hints[f.name]))
    return out


def _plain(value: Any, hint: Any) -> Any:
    if hint is Fen:
        return format_yuan(value)
    if hint is RateBp:
        return format_rate(value)
    if attrs.has(type(value)):
        return entry_fields(value)
    if isinstance(value, Mapping):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        element = typing.get_args(hint)[0] if typing.get_args(hint) else Any
        return [_plain(v, element) for v in value]
    return value


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, dt.date)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")  # pragma: no cover


def _key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def toml_table(header: str, fields: Mapping[str, Any], *, array: bool = True,
               comment: str | None = None) -> Iterator[str]:
    """Lines of one ``[[header]]`` (or ``[header]``) table: scalar keys, then sub-tables."""
    if comment:
        yield f"# {comment}"
    yield f"[[{header}]]" if array else f"[{header}]"
    subtables = {k: v for k, v in fields.items() if isinstance(v, dict) and k != "match"}
    for k, v in fields.items():
        if k not in subtables:
            yield f"{_key(k)} = {toml_value(v)}"
    for k, v in subtables.items():
        yield ""
        yield from toml_table(f"{header}.{k}", v, array=False)


# --- subsidy new-plugin ------------------------------------------------------------------------

#: An occupation code for the scaffold's example certificate (中式烹调师, on no shipped shortage list).
EXAMPLE_OCCUPATION = "4-03-02-01"


class ScaffoldError(Exception):
    """The distribution cannot be written (the folder is not empty, the region is unknown…)."""


@attrs.frozen(kw_only=True)
class Plan:
    """What :func:`write_plugin` writes."""

    region: str
    name: str
    parent_region: str | None  #: the region's parent in annex 1 (districts), else None
    inherits: str  #: the region whose effective rates the catalog extends
    inherits_name: str
    folder: Path
    package: str
    level4: int  #: the inherited 四级/中级工 general rate, fen (for the example case)
    shortage: tuple[str, ...]  #: the parent's shortage list in force today (a county's starting list)
    district: bool


def plan(engine: Any, region: str, parent: str | None, name: str | None, folder: Path | None) -> Plan:
    """Work out the distribution for ``region`` from the installed plugins."""
    from jinhua_subsidy.rulebook import NoRate

    rb = engine.rulebook
    if not re.fullmatch(r"[a-z][a-z0-9_]*", region):
        raise ScaffoldError(f"地区代码须为小写字母、数字和下划线，如 lanxi，而不是 {region!r}")
    known = rb.regions.get(region)
    if known is None and not name:
        raise ScaffoldError(f"{region} 不是附件1的地区：请用 --name 给出中文名称，如 --name 兰溪市")
    served_by = rb.owner.get(region)
    if served_by is not None:
        info = engine.pm.info[served_by]
        raise ScaffoldError(f"地区 {region} 已由插件 {served_by}（{info.distribution}）服务；"
                            f"要替换它，先写好新插件，再用 --disable {served_by} 停用原插件")
    parent_region = known.parent if known else None
    inherits = parent or parent_region or "urban"
    try:
        rules = rb.rules(inherits)
    except NoRate as exc:
        raise ScaffoldError(f"上级地区 {inherits} 无法继承：{exc}") from None
    today = dt.date.today()
    level4 = next((q.amount for q in rules.rates.qualification
                   if q.occupation == "*" and q.level == "4" and q.in_force(today)), None)
    if level4 is None:
        raise ScaffoldError(f"上级地区 {inherits} 今日没有四级/中级工的通用补贴标准（*），无法写出示例")
    try:
        shortage = rules.shortage_list(today).occupations
    except NoRate:
        shortage = ()
    return Plan(region=region, name=name or (known.name if known else region), parent_region=parent_region,
                inherits=inherits, inherits_name=rb.regions[inherits].name,
                folder=folder or Path(f"jinhua-subsidy-{region}"), package=f"jinhua_{region}",
                level4=level4, shortage=tuple(c for c in shortage if c != EXAMPLE_OCCUPATION),
                district=parent_region is not None)


def write_plugin(p: Plan) -> list[Path]:
    """Write the distribution; the files written, relative to its folder."""
    if p.folder.exists() and any(p.folder.iterdir()):
        raise ScaffoldError(f"目录 {p.folder} 已存在且不为空：请换一个 --dir")
    files = {
        Path("pyproject.toml"): _pyproject(p),
        Path("README.md"): _readme(p),
        Path("src") / p.package / "__init__.py": _init(p),
        Path("src") / p.package / f"{p.region}.toml": _catalog(p),
        Path("cases") / f"{p.region}.toml": _cases(p),
        Path("tests") / f"test_{p.region}.py": _test(p),
        Path(".github") / "workflows" / "subsidy.yml": _workflow(p),
        Path(".gitignore"): "__pycache__/\n*.egg-info/\nbuild/\ndist/\n",
    }
    for rel, text in files.items():
        path = p.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def _pyproject(p: Plan) -> str:
    from jinhua_subsidy import __version__

    return f'''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "jinhua-subsidy-{p.region}"
version = "0.1.0"
description = "{p.name}职业技能培训补贴插件（jinhua-subsidy）"
requires-python = ">=3.10"
dependencies = ["jinhua-subsidy>={__version__}"]

[project.optional-dependencies]
test = ["jinhua-subsidy[testing]>={__version__}"]

# The plugin's name in `subsidy plugins` and `--disable` is the entry point's name.
[project.entry-points.jinhua_subsidy]
{p.region} = "{p.package}:plugin"

[tool.setuptools.packages.find]
where = ["src"]

# Ship the catalog: without this line the TOML file is not installed (package data).
[tool.setuptools.package-data]
{p.package} = ["*.toml"]

[tool.pytest.ini_options]
# tests/ and the claim tables of cases/ (collected by jinhua-subsidy's pytest plugin).
testpaths = ["tests", "cases"]
'''


def _init(p: Plan) -> str:
    return f'''"""{p.name}（{p.region}）补贴插件：补贴目录为本目录下的 {p.region}.toml。"""

from importlib.resources import files

from jinhua_subsidy.plugin_kit import CatalogPlugin

plugin = CatalogPlugin(files("{p.package}") / "{p.region}.toml")
'''


def _catalog(p: Plan) -> str:
    header = [
        f"# {p.name}（{p.region}）职业技能培训补贴目录。格式见 jinhua-subsidy 的 docs/catalog-format.md，",
        "# 中文指南见 docs/plugins.zh.md。",
        f"# 补贴标准逐项继承{p.inherits_name}（{p.inherits}）的生效目录：本文件只写本地不同之处。",
        "# 要改一项标准，写一条同键的条目（同一职业和等级、同一组织者、同一项目代码……）；",
        "# 要撤销一项，写 [[withdrawn]] 并注明依据。查看合并后的目录：",
        f"#     subsidy catalog {p.region}",
        "",
        "[catalog]",
        f'region = "{p.region}"',
        f'name = "{p.name}"',
    ]
    if p.parent_region:
        header.append(f'parent = "{p.parent_region}"')
    if p.inherits != p.parent_region:
        header.append(f'inherits = "{p.inherits}"')
    header += [
        f'title = "{p.name}职业技能培训补贴目录（暂定）"',
        'status = "provisional"',
        f'note = "{p.name}尚未取得本地补贴文件；本目录暂按{p.inherits_name}标准执行，'
        '取得本地文件后逐项改写并改为 official。"',
        "",
        "# --- 本地标准示例（去掉 # 即生效）：四级/中级工通用标准改为 950 元，引用本地文件 ----------",
        "# [[qualification]]",
        '# occupation = "*"',
        '# level = "4"',
        '# amount = "950"',
        "# start = 2021-01-01",
        f'# document = "{p.name}人社局〔2021〕1号"   # 本地文件的文号',
        '# clause = "第二条"                       # 文件中的条款',
        "",
        "# --- 撤销示例：本地不执行学徒制上浮 ------------------------------------------------------",
        "# [[withdrawn]]",
        '# table = "uplifts"',
        '# match = { kind = "apprenticeship", key = "key_manufacturing" }',
        f'# document = "{p.name}人社局〔2021〕1号"',
        '# clause = "第三条"',
        "",
    ]
    if p.district:
        header += [
            f"# 紧缺职业目录、补贴对象和资金渠道：未写出的部分沿用{p.inherits_name}（上级地区）。",
            "",
        ]
        return "\n".join(header)
    occupations = "\n".join(f'    "{c}",' for c in p.shortage)
    header += [
        f"# --- 紧缺职业（工种）目录（R7）：县（市）按本地紧缺程度自定（main.4.1）；暂以{p.inherits_name}目录为起点",
        "[[shortage]]",
        f'list = "{p.region}-provisional"',
        f'title = "{p.name}紧缺职业（工种）目录（暂定）"',
        'status = "provisional"',
        f'note = "{p.name}紧缺职业（工种）目录尚未取得；暂列{p.inherits_name}目录中的工种，取得后替换。"',
        "occupations = [" + (f"\n{occupations}\n]" if occupations else "]"),
        "start = 2020-01-07",
        'clause = "annex3.1.2"',
        'reading = "R7"',
        "",
        "# --- 补贴对象（R4）：县（市）自定范围（main.4.4）-----------------------------------------",
        "[eligibility]",
        f'area = ["{p.region}"]',
        'clause = "main.4.4"',
        'reading = "R4"',
        "",
        "[[eligibility.grounds]]",
        'test = "hukou"',
        'clause = "main.4.4"',
        'reading = "R4"',
        "",
        "[[eligibility.grounds]]",
        'test = "residence_permit"',
        'clause = "main.4.4"',
        'reading = "R4"',
        "",
        "[[eligibility.grounds]]",
        'test = "insured"',
        "min_months = 6",
        'clause = "main.4.4"',
        'reading = "R4"',
        "",
        "[[eligibility.grounds]]",
        'test = "unemployed"',
        'clause = "main.4.4"',
        'reading = "R4"',
        "",
        "# --- 资金渠道（R17）：县（市）专项资金（main.4.3）；企业按属地（main.4.1）---------------------",
        "[funding]",
        "",
        "[[funding.rules]]",
        'kinds = ["qualification"]',
        f'channel = "county:{p.region}"',
        'clause = "main.4.3"',
        'reading = "R17"',
        "",
        "[[funding.rules]]",
        'kinds = ["project", "apprenticeship"]',
        f'employer_in = ["{p.region}"]',
        f'channel = "county:{p.region}"',
        'clause = "main.4.1"',
        'reading = "R17"',
        "",
    ]
    return "\n".join(header)


def _cases(p: Plan) -> str:
    channel = f"district:{p.region}" if p.district else f"county:{p.region}"
    hukou = p.region
    amount = format_yuan(p.level4)
    cases = [
        f"# {p.name}的判定用例：每条申领写明应得的结果，pytest 逐条核对（jinhua-subsidy 的 pytest 插件）。",
        "# 金额取自政策文件和本地文件，并在 note 中注明条款——不要照抄程序的输出。",
        "# 列名与申领文件相同（docs/claims.md）；expect 中未写的项不核对。",
        "",
        "[defaults]",
        f'region = "{p.region}"',
        'date = "2021-06-01"',
        f'hukou = "{hukou}"',
        "",
        "[[claims]]",
        'claim_id = "C1"',
        'kind = "qualification"',
        f'occupation = "{EXAMPLE_OCCUPATION}"   # 中式烹调师，不在紧缺目录',
        'level = "4"',
        f'note = "四级/中级工通用标准 {amount} 元，继承自{p.inherits_name}（annex3.1.2 R5）"',
        f'expect = {{ eligible = true, amount = "{amount}", payee = "person"'
        + (f', channel = "{channel}"' if not p.district else "") + " }",
        "",
        "[[claims]]",
        'claim_id = "C2"',
        'kind = "qualification"',
        f'occupation = "{EXAMPLE_OCCUPATION}"',
        'level = "4"',
        'hukou = "other"',
        f'note = "户籍不在{p.name}，也无居住证、社保或失业登记：不予补贴（R1–R4）"',
        'expect = { eligible = false, amount = "0.00", reasons = ["not_eligible"] }',
        "",
    ]
    return "\n".join(cases)


def _test(p: Plan) -> str:
    return f'''"""{p.name}插件的测试：目录通过核心规则检查；cases/ 中的判定用例由 jinhua-subsidy 的 pytest 插件收集。"""

from jinhua_subsidy.engine import Engine
from jinhua_subsidy.invariants import run_checks


def test_the_plugin_serves_its_region():
    engine = Engine()
    assert engine.rulebook.owner["{p.region}"] == "{p.region}"
    assert engine.pm.info["{p.region}"].distribution == "jinhua-subsidy-{p.region}"


def test_the_catalog_passes_the_core_invariants():
    errors = [str(f) for f in run_checks(Engine()) if f.severity == "error"]
    assert errors == []
'''


def _workflow(p: Plan) -> str:
    return '''# 每次提交：安装插件，按核心规则检查目录（不符合处标注在 TOML 的行上），再运行测试和判定用例。
name: subsidy
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install ".[test]"
      - run: subsidy check --format github
      - run: subsidy check --format junit > subsidy-check.xml
        if: always()
      - run: pytest --junitxml=pytest.xml
'''


def _readme(p: Plan) -> str:
    return f'''# jinhua-subsidy-{p.region}：{p.name}职业技能培训补贴插件

由 `subsidy new-plugin {p.region}` 生成。补贴目录 `src/{p.package}/{p.region}.toml` 逐项继承
{p.inherits_name}（`{p.inherits}`）的生效目录，只写本地不同之处。完整指南：jinhua-subsidy 的
`docs/plugins.zh.md`。

```sh
pip install -e ".[test]"      # 安装插件（及 pytest）
subsidy plugins               # 应列出 {p.region}，状态 provisional 暂定
subsidy check                 # 按核心规则检查目录：无“不符合”才可发布
subsidy catalog {p.region}          # 合并后的目录，每项注明来自哪个文件
pytest                        # tests/ 和 cases/ 中的判定用例
```

- 改标准：在目录中写同键条目，注明本地文件（`document`、`clause`）。
- 尚无文件的取值：保留 `status = "provisional"`，在 `note` 中说明依据。
- 判定用例：`cases/{p.region}.toml`，每条申领写明应得结果；金额取自文件，不要照抄程序输出。
- CI：`.github/workflows/subsidy.yml` 运行 `subsidy check --format github`，不符合之处标注在 TOML 行上。
'''
