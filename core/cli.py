"""The ``subsidy`` command line. Exit status: 0 ok, 1 findings or unreadable rows,
2 usage or input error (a missing file, a plugin that fails to load), 3 an internal error (a
bug: one Chinese line on stderr names the log with the details).

Every text a command writes passes :func:`jinhua_subsidy.privacy.mask_ids`: no full resident id
in any output (the ledger's audited payment export is the one exception).

Start-up stays light: heavy modules are imported inside the commands.
"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TextIO, cast

import click

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine


def _fail(message: str) -> None:
    _say(f"错误：{message}", err=True)
    sys.exit(2)


def _say(text: str, *, err: bool = False) -> None:
    """Echo ``text`` with every resident id in it masked."""
    from jinhua_subsidy.privacy import mask_ids

    click.echo(mask_ids(text), err=err)


INTERNAL_ERROR = 3


def _internal_error() -> None:
    """A bug: the details to a log file (ids masked), one Chinese line to stderr, exit status 3."""
    import datetime as dt
    import os
    import shlex
    import tempfile
    import traceback

    from jinhua_subsidy.privacy import mask_ids

    folder = Path(os.environ.get("SUBSIDY_LOG_DIR") or tempfile.gettempdir())
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = folder / f"subsidy-error-{stamp}-{os.getpid()}.log"
    command = shlex.join(["subsidy", *_Group.argv])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        log.write_text(mask_ids(command + "\n\n" + traceback.format_exc()), encoding="utf-8")
        where = f"详情已记录在 {log}"
    except OSError:
        where = "详情未能写入日志文件"
    click.echo(f"内部错误：程序出现缺陷，本次未完成（退出状态 3）。{where}，请交给维护人员。", err=True)
    sys.exit(INTERNAL_ERROR)


class _Group(click.Group):
    """The ``subsidy`` group: a bug is exit status 3 with a log, a closed pipe ends quietly."""

    #: The arguments of the command being run, for the log of an internal error.
    argv: ClassVar[tuple[str, ...]] = ()

    def main(self, args: Any = None, *pos: Any, **kwargs: Any) -> Any:
        _Group.argv = tuple(str(a) for a in (sys.argv[1:] if args is None else args))
        return super().main(args, *pos, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # a reader that stops early (| head): nothing more to say
            import os

            try:  # no "Exception ignored … BrokenPipeError" when Python flushes stdout at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # a stdout without a file descriptor (click's test runner)
                pass
            sys.exit(0)
        except Exception:
            _internal_error()


def _engine(ctx: click.Context, *, raise_catalog_errors: bool = False) -> Engine:
    from jinhua_subsidy.catalog import CatalogError
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import PluginError, get_plugin_manager
    from jinhua_subsidy.rulebook import RulebookError

    if "engine" not in ctx.obj:
        try:
            ctx.obj["engine"] = Engine(get_plugin_manager(disable=ctx.obj["disable"]))
        except (PluginError, RulebookError, CatalogError) as exc:
            if raise_catalog_errors and isinstance(exc, (CatalogError, RulebookError)):  # subsidy check: findings
                raise
            found = _declaration_findings(ctx) if isinstance(exc, RulebookError) else []
            _fail(f"{found[0]}（运行 subsidy check 查看全部问题）" if found else str(exc))
    return ctx.obj["engine"]  # type: ignore[no-any-return]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--disable", "-d", multiple=True, metavar="PLUGIN",
              help="Leave out a plugin by name (repeatable; also SUBSIDY_DISABLE_PLUGINS).")
@click.version_option(package_name="jinhua-subsidy")
@click.pass_context
def main(ctx: click.Context, disable: tuple[str, ...]) -> None:
    """Jinhua vocational-training subsidies (金人社发〔2020〕1号) as rules-as-code."""
    ctx.obj = {"disable": disable}


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """List plugins: name, version, built-in or external, regions, hooks, status."""
    from jinhua_subsidy.rulebook import BrokenCatalog, NoRate

    engine = _engine(ctx)
    rb, pm = engine.rulebook, engine.pm
    rows: list[dict[str, Any]] = []
    for name, info in sorted(pm.info.items()):
        own = sorted(k for k, p in rb.owner.items() if p == name)
        served = [k for k in rb.regions if rb.serving_plugin(k) == name]
        parts: list[str] = []
        incomplete: list[str] = []
        broken: list[str] = []
        catalog_provisional = False
        for key in served:
            try:
                rules = rb.rules(key)
            except BrokenCatalog as exc:  # fails a core invariant: not evaluated
                broken += [str(f) for f in exc.findings if str(f) not in broken]
                continue
            except NoRate:
                incomplete.append(key)
                continue
            catalog_provisional |= rules.provisional
            parts += [p for p in rules.provisional_parts() if p not in parts]
        status = ("broken" if broken else "provisional" if catalog_provisional
                  else "incomplete" if incomplete else "official")
        rows.append({
            "name": name, "version": info.version, "builtin": info.builtin,
            "distribution": info.distribution, "regions": own, "serves": served,
            "hooks": pm.hooks_of(name), "status": status, "provisional": parts,
            "incomplete": incomplete, "broken": broken, "adjusts": pm.implements(name, "subsidy_adjust"),
        })
    if fmt == "json":
        _say(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        kind = "built-in" if r["builtin"] else f"external ({r['distribution']})"
        status = {"provisional": "provisional 暂定", "official": "official 正式",
                  "broken": "broken 未通过核心规则检查，不予计算"}.get(r["status"], r["status"])
        _say(f"{r['name']} {r['version']}  {kind}  status: {status}")
        served = [k for k in r["serves"] if k not in r["regions"]]
        _say(f"  regions: {', '.join(r['regions'])}" + (f" (also serves {', '.join(served)})" if served else ""))
        _say(f"  hooks:   {', '.join(r['hooks'])}")
        if r["provisional"]:
            _say(f"  provisional 暂定: {'; '.join(r['provisional'])}")
        if r["incomplete"]:
            _say(f"  incomplete: {', '.join(r['incomplete'])} (no full set of rules)")
        for finding in r["broken"]:
            _say(f"  broken: {finding}")
        if r["adjusts"]:
            click.echo("  adjusts: implements subsidy_adjust (its own rules, applied in columns)")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "junit"]), default="text",
              help="github: workflow annotations on the TOML line of each finding; junit: JUnit XML.")
@click.pass_context
def check(ctx: click.Context, fmt: str) -> None:
    """Check every catalog of every installed plugin against the core invariants."""
    from jinhua_subsidy.catalog import CatalogError
    from jinhua_subsidy.coverage_checks import unknown_parents
    from jinhua_subsidy.invariants import format_findings, run_checks
    from jinhua_subsidy.rulebook import RulebookError

    engine = None
    try:
        engine = _engine(ctx, raise_catalog_errors=True)
        findings = unknown_parents(engine) or run_checks(engine)  # the checks walk up known parents only
    except CatalogError as exc:  # a catalog that cannot be loaded is a finding (rule "format")
        findings = format_findings(exc)
    except RulebookError as exc:  # two plugins serve one region: findings (coverage_checks), else exit 2
        findings = _declaration_findings(ctx)
        if not findings:
            _fail(str(exc))
    errors = [f for f in findings if f.severity == "error"]
    if fmt == "json":
        _say(json.dumps([f.record() for f in findings], ensure_ascii=False, indent=2))
    elif fmt in ("github", "junit"):
        from jinhua_subsidy.cli_kit import echo_findings

        echo_findings(fmt, findings, engine)
    else:
        for f in findings:
            _say(str(f))
        click.echo(f"{len(errors)} 项不符合，{len(findings) - len(errors)} 项提示" if findings else "全部通过")
    sys.exit(1 if errors else 0)


def _declaration_findings(ctx: click.Context) -> list[Any]:
    """Why the plugins' regions cannot be put together (two serve one region), as check findings."""
    from jinhua_subsidy.coverage_checks import declaration_findings
    from jinhua_subsidy.manager import get_plugin_manager

    return declaration_findings(get_plugin_manager(disable=ctx.obj["disable"]))


@main.command()
@click.option("--search", metavar="TEXT",
              help="Only occupations whose name contains TEXT or whose code starts with it, e.g. 车工, 6-18.")
@click.pass_context
def occupations(ctx: click.Context, search: str | None) -> None:
    """Print the occupation vocabulary: code TAB name."""
    from jinhua_subsidy.occupations import load_vocabulary

    found = load_vocabulary().occupations
    if search is not None:
        text = search.strip()
        if not text:
            _fail("--search 须给出职业名称或编码的一部分，例如 --search 车工")
        found = tuple(o for o in found if text in o.name or o.code.startswith(text))
        if not found:
            _say(f"职业分类词表中没有名称含“{text}”或编码以“{text}”开头的职业", err=True)
            sys.exit(1)
    for o in found:
        click.echo(f"{o.code}\t{o.name}")


@main.command()
@click.argument("region")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Date (default: today).")
@click.pass_context
def shortage(ctx: click.Context, region: str, on: str | None) -> None:
    """Print the shortage-occupation list of REGION in force on a date: code TAB name."""
    import datetime as dt
    import re

    from jinhua_subsidy.rulebook import NoRate

    try:
        if on is not None and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", on):
            raise ValueError(on)
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        _fail(f"--on 须为 YYYY-MM-DD 格式的日期，而不是 {on!r}")
    engine = _engine(ctx)
    try:
        slist = engine.rulebook.rules(region).shortage_list(day)
    except NoRate as exc:
        _fail(str(exc))
    if slist.status == "provisional":
        _say(f"# {slist.title}：暂定（provisional）。{slist.note}", err=True)
    for code in slist.occupations:
        _say(f"{code}\t{engine.names.get(code, '')}")


ENCODING = click.option("--encoding", type=click.Choice(["utf-8", "gbk", "gb18030"]), default="utf-8",
                        show_default=True, help="The claims file's encoding (GBK/GB18030: older Windows systems).")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "jsonl", "xlsx"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write decisions here.")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rows that cannot be read to this CSV file: row, claim_id, reason.")
@ENCODING
@click.option("--sheet", metavar="NAME", help="For an .xlsx claims file: the sheet to read (default: the first).")
@click.pass_context
def evaluate(ctx: click.Context, file: Path, fmt: str, out: Path | None, errors_out: Path | None,
             encoding: str, sheet: str | None = None) -> None:
    """Decide every claim of FILE (CSV or JSON Lines, see docs/claims.md)."""
    from attrs import evolve

    from jinhua_subsidy.atomic import atomic_output
    from jinhua_subsidy.evaluation import evaluate_file, masked
    from jinhua_subsidy.privacy import mask_column
    from jinhua_subsidy.writer import write_result

    _outputs_apart(file, out, errors_out)
    engine = _engine(ctx)
    from jinhua_subsidy.xlsx import in_sheet

    result = masked(_evaluated(engine, file, lambda: in_sheet(sheet, lambda: evaluate_file(engine, file,
                                                                                           encoding=encoding))))
    # Again with privacy's own test: masked() looks only at claim ids with 17 Unicode digits, and
    # misses ids spelled with enclosed numbers (㉝0702⑲900101⑩㊷ is 330702199001011042).
    result = evolve(result, claim_id=mask_column(result.claim_id))
    errors = result.errors
    for e in errors:
        _say(f"无法处理 {e}", err=True)
    try:
        if errors_out is not None:
            from jinhua_subsidy.output import write_errors

            with atomic_output(errors_out, "w", encoding="utf-8", newline="") as fh:
                write_errors(errors, cast("TextIO", fh))
        if out is not None:
            with atomic_output(out, "wb") as fh:
                write_result(result, fmt, cast("BinaryIO", fh))
        else:
            write_result(result, fmt, sys.stdout)
    except OSError as exc:
        if out is None and (isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE
                            or "Broken pipe" in str(exc)):  # polars' writer says it in words only
            raise BrokenPipeError(errno.EPIPE, "Broken pipe") from None
        _fail(f"无法写入结果：{exc.strerror or exc}（{exc.filename or out or '标准输出'}）")
    if errors:
        click.echo(f"{len(errors)} 行无法处理，其余 {len(result)} 行已判定", err=True)
    sys.exit(1 if errors else 0)


def _outputs_apart(file: Path, *outputs: Path | None) -> None:
    """``--out``/``--errors`` never name the claims file (or each other), and their folder exists."""
    from jinhua_subsidy.atomic import same_file

    given = [o for o in outputs if o is not None]
    for target in given:
        if same_file(target, file):
            _fail(f"输出文件 {target} 就是申领文件 {file}：不会覆盖输入，请换一个输出文件名")
        if not target.parent.is_dir():
            _fail(f"无法写入 {target}：目录 {target.parent} 不存在")
        if target.is_dir():
            _fail(f"无法写入 {target}：这是一个目录")
    if len(given) == 2 and same_file(given[0], given[1]):
        _fail(f"--out 与 --errors 是同一个文件 {given[0]}")


def _evaluated(engine: Engine, file: Path, run: Any) -> Any:
    """``run()``'s result, a missing or unreadable file or a plugin's bad answer a usage error."""
    from jinhua_subsidy.adjust import AdjustError
    from jinhua_subsidy.catalog import CatalogError
    from jinhua_subsidy.claims import ClaimsFileError
    from jinhua_subsidy.manager import PluginError

    if not file.exists():
        _fail(f"找不到申领文件 {file}")
    try:
        return run()
    except (ClaimsFileError, AdjustError, PluginError, CatalogError) as exc:
        _fail(str(exc))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--claim", "claim_id", required=True, help="The claim id to explain.")
@ENCODING
@click.option("--region", metavar="REGION",
              help="The claim under REGION's rules (the counterfactual rule, docs/bureau.md).")
@click.pass_context
def explain(ctx: click.Context, file: Path, claim_id: str, encoding: str, region: str | None = None) -> None:
    """Explain one claim's decision step by step, in Chinese, with clauses and readings."""
    import numpy as np

    from jinhua_subsidy.evaluation import evaluate_file
    from jinhua_subsidy.explain import render

    engine = _engine(ctx)
    from jinhua_subsidy.counterfactual import explain_moved  # --region: the file moved to REGION

    result = _evaluated(engine, file, lambda: explain_moved(engine, file, region, claim_id) if region
                        else evaluate_file(engine, file, watch=(claim_id,), encoding=encoding))
    at = np.flatnonzero((result.claim_id == claim_id).to_numpy())
    if not len(at):
        bad = [e for e in result.errors if e.claim_id == claim_id]
        if bad:
            _say(f"无法处理 {bad[0]}")
            sys.exit(1)
        _fail(f"{file} 中没有申领编号 {claim_id}")
    _say(render(engine.decision(result, int(at[0])), engine, result.reasons))


# Command groups that live in modules of their own register here, one line each.
main.add_command(__import__("jinhua_subsidy.cli_bureau", fromlist=["compare"]).compare)
main.add_command(__import__("jinhua_subsidy.cli_bureau", fromlist=["diff_cmd"]).diff_cmd)
main.add_command(__import__("jinhua_subsidy.cli_bureau", fromlist=["coverage_cmd"]).coverage_cmd)
main.add_command(__import__("jinhua_subsidy.cli_bureau", fromlist=["plan"]).plan)
main.add_command(__import__("jinhua_subsidy.cli_kit", fromlist=["catalog"]).catalog)
main.add_command(__import__("jinhua_subsidy.cli_kit", fromlist=["new_plugin"]).new_plugin)
main.add_command(__import__("jinhua_subsidy.cli_ledger", fromlist=["ledger"]).ledger)
