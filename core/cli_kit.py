"""Commands of the kit for county teams: ``subsidy catalog`` and ``subsidy new-plugin``, and the
CI formats of ``subsidy check`` (``--format github``, ``--format junit``).

Registered at the end of :mod:`jinhua_subsidy.cli`. Start-up stays light: only click here at
import time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.invariants import Finding
    from jinhua_subsidy.rulebook import RegionRules


# --- subsidy catalog --------------------------------------------------------------------------------


@click.command()
@click.argument("region")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Only the entries in force on this date.")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml")
@click.pass_context
def catalog(ctx: click.Context, region: str, on: str | None, fmt: str) -> None:
    """Print the effective catalog of REGION, every value with the file it came from."""
    import datetime as dt

    from jinhua_subsidy.cli import _engine, _fail
    from jinhua_subsidy.rulebook import BrokenCatalog, NoRate

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        _fail(f"--on 须为 YYYY-MM-DD 格式的日期，而不是 {on!r}")
    engine = _engine(ctx)
    rb = engine.rulebook
    if region not in rb.regions:
        _fail(f"未知地区 {region!r}（可用：{'、'.join(rb.regions)}）")
    try:
        rules = rb.resolve(region)
    except NoRate as exc:
        _fail(str(exc))
    broken: list[str] = []
    try:
        rb.rules(region)
    except BrokenCatalog as exc:
        broken = [str(f) for f in exc.findings]
    doc = effective_document(rules, day)
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=lambda d: d.isoformat()))
    else:
        click.echo("\n".join(toml_lines(doc)))
    if broken:
        click.echo(f"{rules.region.name}（{region}）的补贴目录未通过核心规则检查，本地区申领不予计算：", err=True)
        for line in broken:
            click.echo(f"  {line}", err=True)
        sys.exit(1)


def effective_document(rules: RegionRules, on: Any = None) -> dict[str, Any]:
    """A region's effective rules as plain data in the catalog format, each entry with ``from``:
    the file and key path it came from."""
    from jinhua_subsidy.inheritance import own, rate_tables
    from jinhua_subsidy.scaffold import entry_fields

    eff = rules.effective or own(rules.rates, rules.rates.source)
    region = rules.region

    def dated(entry: Any) -> bool:
        return on is None or not hasattr(entry, "in_force") or entry.in_force(on)

    header: dict[str, Any] = {"region": region.key, "name": region.name}
    if region.parent:
        header["parent"] = region.parent
    header |= {"title": rules.rates.title, "status": rules.rates.status}
    if rules.rates.note:
        header["note"] = rules.rates.note
    doc: dict[str, Any] = {
        "region": region.key, "on": on.isoformat() if on else None, "chain": list(eff.chain), "catalog": header,
        "uplift_limit": {**entry_fields(rules.rates.uplift_limit), "from": str(eff.origins["uplift_limit"][0])},
    }
    for table in rate_tables():
        rows = [{**entry_fields(e), "from": str(o)}
                for e, o in zip(getattr(eff.rates, table), eff.origins[table], strict=True) if dated(e)]
        if rows:
            doc[table] = rows
    if eff.withdrawn:
        doc["withdrawn"] = [{**entry_fields(r.withdrawal), "from": str(r.origin),
                             "removed": [str(o) for o in r.removed]} for r in eff.withdrawn]
    doc["shortage"] = [{**entry_fields(s), "from": f"{s.source} shortage[{i}]"}
                       for i, s in enumerate(rules.shortage) if dated(s)]
    e = rules.eligibility
    doc["eligibility"] = {**{k: v for k, v in entry_fields(e).items() if k != "grounds"}, "from": e.source,
                          "grounds": [entry_fields(g) for g in e.grounds]}
    doc["funding"] = {"from": rules.funding.source, "rules": [entry_fields(r) for r in rules.funding.rules]}
    return doc


def toml_lines(doc: dict[str, Any]) -> Iterator[str]:
    """The effective document as a catalog file, each entry's origin in a comment above it."""
    from jinhua_subsidy.scaffold import toml_table

    when = f"，{doc['on']} 有效的条目" if doc["on"] else ""
    yield f"# {doc['catalog']['name']}（{doc['region']}）的生效补贴目录{when}"
    yield "# 继承链：" + " → ".join(doc["chain"])
    yield "# 每项上方的注释是它所在的文件和键路径。"
    yield ""
    yield from toml_table("catalog", doc["catalog"], array=False)
    for name, value in doc.items():
        if name in ("region", "on", "chain", "catalog", "eligibility", "funding", "withdrawn"):
            continue
        if isinstance(value, dict):
            yield ""
            yield from toml_table(name, _without(value, "from"), array=False, comment=value["from"])
        else:
            for entry in value:
                yield ""
                yield from toml_table(name, _without(entry, "from"), comment=entry["from"])
    for w in doc.get("withdrawn", []):  # already applied above: shown, not written as a table
        yield ""
        removed = "、".join(w["removed"])
        yield f"# {w['from']} 撤销了 {removed}（{w.get('document', '金人社发〔2020〕1号')} {w['clause']}）"
        for line in toml_table("withdrawn", _without(w, "from", "removed")):
            yield f"#   {line}"
    e = doc["eligibility"]
    yield ""
    yield from toml_table("eligibility", _without(e, "from", "grounds"), array=False, comment=e["from"])
    for g in e["grounds"]:
        yield ""
        yield from toml_table("eligibility.grounds", g)
    yield ""
    yield f"# {doc['funding']['from']}"
    yield "[funding]"
    for r in doc["funding"]["rules"]:
        yield ""
        yield from toml_table("funding.rules", r)


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


# --- subsidy new-plugin -------------------------------------------------------------------------------


@click.command("new-plugin")
@click.argument("region")
@click.option("--parent", metavar="REGION", help="The region whose catalog it inherits (default: its parent "
                                                 "in annex 1, else urban).")
@click.option("--name", metavar="NAME", help="Chinese name, for a region not in annex 1 (e.g. 兰溪市).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write it (default: ./jinhua-subsidy-REGION).")
@click.pass_context
def new_plugin(ctx: click.Context, region: str, parent: str | None, name: str | None, folder: Path | None) -> None:
    """Write an outside county plugin: pyproject, a catalog inheriting from a parent, cases, tests, CI."""
    from jinhua_subsidy.cli import _engine, _fail
    from jinhua_subsidy.scaffold import ScaffoldError, plan, write_plugin

    engine = _engine(ctx)
    try:
        p = plan(engine, region, parent, name, folder)
        written = write_plugin(p)
    except ScaffoldError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"无法写入 {exc.filename}：{exc.strerror}")
    click.echo(f"已写出 {p.folder}：")
    for rel in written:
        click.echo(f"  {rel.as_posix()}")
    click.echo(f"下一步：cd {p.folder} && pip install -e \".[test]\" && subsidy check && pytest")


# --- subsidy check --format github | junit ------------------------------------------------------------


def _text_of(file: str) -> str | None:
    """A catalog's text, to find lines in: the file, else a shipped ``catalogs/…`` resource."""
    path = Path(file)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
        if file.startswith("catalogs/"):
            from jinhua_subsidy.plugin_kit import shipped

            return shipped(file.removeprefix("catalogs/")).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None


def _located(findings: Sequence[Finding]) -> Iterator[tuple[Finding, str, int]]:
    """Each finding with its file (relative to the working directory when under it) and line."""
    from jinhua_subsidy.catalog import line_of

    texts: dict[str, str | None] = {}
    here = Path.cwd().resolve()
    for f in findings:
        if f.file not in texts:
            texts[f.file] = _text_of(f.file)
        text = texts[f.file]
        line = line_of(text, f.path) if text is not None else 1
        file = f.file
        try:
            file = Path(f.file).resolve().relative_to(here).as_posix() if Path(f.file).is_absolute() else f.file
        except ValueError:
            pass
        yield f, file, line


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_annotations(findings: Sequence[Finding]) -> list[str]:
    """GitHub workflow commands: ``::error file=…,line=…,title=…::message`` per finding."""
    out = []
    for f, file, line in _located(findings):
        level = "error" if f.severity == "error" else "notice"
        tag = " ".join(t for t in (f.rule, f.clause, f.reading) if t)
        title = _escape(f"subsidy check [{tag}]", prop=True)
        message = _escape(f"{f.path}: {f.message}" if f.path else f.message)
        out.append(f"::{level} file={_escape(file, prop=True)},line={line},title={title}::{message}")
    return out


def junit_xml(findings: Sequence[Finding], files: Iterable[str]) -> str:
    """JUnit XML: one test case per catalog checked (passing when it has no finding) and one per
    finding (a failure for an error, a passing case with its text for a note)."""
    from xml.sax.saxutils import quoteattr

    located = list(_located(findings))
    errors = sum(1 for f, _, _ in located if f.severity == "error")
    with_findings = {f.file for f, _, _ in located}
    clean = sorted(set(files) - with_findings)
    cases = []
    for file in clean:
        cases.append(f"    <testcase classname={quoteattr(file)} name=\"core invariants\" file={quoteattr(file)}/>")
    for f, file, line in located:
        tag = " ".join(t for t in (f.rule, f.clause, f.reading) if t)
        name = quoteattr(f"{f.path or '(file)'} [{tag}]")
        head = f"    <testcase classname={quoteattr(file)} name={name} file={quoteattr(file)} line=\"{line}\""
        body = _xml_text(str(f))
        if f.severity == "error":
            cases.append(f"{head}>\n      <failure message={quoteattr(f.message)} type={quoteattr(f.rule)}>"
                         f"{body}</failure>\n    </testcase>")
        else:
            cases.append(f"{head}>\n      <system-out>{body}</system-out>\n    </testcase>")
    total = len(cases)
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="subsidy check" tests="{total}" failures="{errors}" errors="0">',
        f'  <testsuite name="subsidy check" tests="{total}" failures="{errors}" errors="0" skipped="0">',
        *cases,
        "  </testsuite>",
        "</testsuites>",
    ])


def _xml_text(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def checked_files(engine: Engine) -> list[str]:
    """Every catalog file the check read: the sources of every answer, and the plans."""
    return sorted({"catalogs/plans.toml", *engine.rulebook.sources()})


def echo_findings(fmt: str, findings: Sequence[Finding], engine: Engine | None) -> None:
    """Print findings of ``subsidy check`` as GitHub annotations or JUnit XML."""
    if fmt == "github":
        for line in github_annotations(findings):
            click.echo(line)
        errors = sum(1 for f in findings if f.severity == "error")
        click.echo(f"{errors} 项不符合，{len(findings) - errors} 项提示" if findings else "全部通过")
    else:
        files = checked_files(engine) if engine is not None else []
        click.echo(junit_xml(findings, files))
