"""The municipal bureau's commands (docs/bureau.md): ``compare rates``, ``compare claims``,
``diff``, ``coverage`` and ``plan progress``. Each takes ``--format table|csv|json|xlsx|html``
and ``--out PATH``; the table is Chinese, for people.

Registered in :mod:`jinhua_subsidy.cli` (one ``main.add_command`` line each).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jinhua_subsidy.cli import _engine, _evaluated, _fail

if TYPE_CHECKING:
    from jinhua_subsidy.report import Report

FORMATS = ("table", "csv", "json", "xlsx", "html")


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the report here (xlsx: required unless standard output is a file).")(f)
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        help="table (Chinese, default), csv, json, xlsx (a workbook) or html (one page, charts).")(f)


def _date(value: str | None, option: str, default: dt.date | None = None) -> dt.date:
    if value is None:
        return default or dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} 须为 YYYY-MM-DD 格式的日期，而不是 {value!r}")
    raise AssertionError  # pragma: no cover - _fail exits


def _regions(value: str | None) -> list[str]:
    return [r.strip() for r in (value or "").split(",") if r.strip()]


def emit(report: Report, fmt: str, out: Path | None) -> None:
    """Write a report; an unwritable target is a usage error (exit 2), never a traceback."""
    from jinhua_subsidy.report import write_report

    if out is not None and not out.parent.is_dir():
        _fail(f"无法写入 {out}：目录 {out.parent} 不存在")
    try:
        if out is not None:
            from jinhua_subsidy.atomic import atomic_output

            with atomic_output(out, "wb") as fh:
                write_report(report, fmt, fh)
        elif fmt == "xlsx":
            if sys.stdout.isatty():
                _fail("xlsx 为二进制格式：请用 --out 指定文件，例如 --out 对照.xlsx")
            write_report(report, fmt, sys.stdout.buffer)
        else:
            write_report(report, fmt, sys.stdout)
    except OSError as exc:
        _fail(f"无法写入结果：{exc.strerror}（{exc.filename}）")


def _run(build: Callable[[], Report]) -> Report:
    try:
        return build()
    except ValueError as exc:
        _fail(str(exc))
    raise AssertionError  # pragma: no cover


@click.group()
def compare() -> None:
    """Compare the regions: their rates side by side, or the same claims under each region's rules."""


@compare.command("rates")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Date (default: today).")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["qualification", "project", "apprenticeship", "entrepreneurship"]),
              help="Only this kind (repeatable).")
@click.option("--regions", metavar="R,…", help="Only these regions (default: every region of annex 1).")
@output_options
@click.pass_context
def compare_rates_cmd(ctx: click.Context, on: str | None, kinds: tuple[str, ...], regions: str | None, fmt: str,
                      out: Path | None) -> None:
    """The rates in force on a date, one column per region, with shortage lists, eligibility, funds
    and living-allowance standards side by side."""
    from jinhua_subsidy.compare import compare_rates

    engine = _engine(ctx)
    day = _date(on, "--on")
    emit(_run(lambda: compare_rates(engine, day, kinds, _regions(regions))), fmt, out)


@compare.command("claims")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--regions", metavar="R,…", help="Only these regions (default: every region of annex 1).")
@click.option("--detail", is_flag=True,
              help="Add the long table (claim × region) and the claims whose outcome differs.")
@click.option("--sheet", metavar="NAME", help="For an .xlsx file: the sheet to read (default: the first).")
@output_options
@click.pass_context
def compare_claims_cmd(ctx: click.Context, file: Path, regions: str | None, detail: bool, sheet: str | None,
                       fmt: str, out: Path | None) -> None:
    """The claims of FILE decided under each region's rules (the counterfactual rule: docs/bureau.md)."""
    from jinhua_subsidy.counterfactual import compare_claims
    from jinhua_subsidy.xlsx import reading_sheet

    engine = _engine(ctx)
    with reading_sheet(sheet):
        report = _evaluated(engine, file, lambda: _run(lambda: compare_claims(engine, file, _regions(regions),
                                                                              detail)))
    emit(report, fmt, out)


@click.command("diff")
@click.argument("region")
@click.option("--from", "start", metavar="YYYY-MM-DD", required=True, help="The earlier date.")
@click.option("--to", "end", metavar="YYYY-MM-DD", required=True, help="The later date.")
@output_options
@click.pass_context
def diff_cmd(ctx: click.Context, region: str, start: str, end: str, fmt: str, out: Path | None) -> None:
    """What changed in REGION's catalog between two dates: rates, shortage list, uplifts starting or ending."""
    from jinhua_subsidy.diffs import diff

    engine = _engine(ctx)
    if region not in engine.rulebook.regions:
        _fail(f"未知地区 {region!r}（可用：{'、'.join(engine.rulebook.regions)}）")
    d1, d2 = _date(start, "--from"), _date(end, "--to")
    emit(_run(lambda: diff(engine, region, d1, d2)), fmt, out)


@click.command("coverage")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Date (default: today).")
@click.option("--regions", metavar="R,…", help="Only these regions (default: every region of annex 1).")
@output_options
@click.pass_context
def coverage_cmd(ctx: click.Context, on: str | None, regions: str | None, fmt: str, out: Path | None) -> None:
    """Per region: kinds with a standard, what is covered, what is provisional, what expires within 90 days."""
    from jinhua_subsidy.diffs import coverage

    engine = _engine(ctx)
    day = _date(on, "--on")
    emit(_run(lambda: coverage(engine, day, _regions(regions))), fmt, out)


@click.group("plan")
def plan() -> None:
    """The annual training plans of annex 1 and annex 2."""


@plan.command("progress")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--year", type=int, required=True, help="The plan year (claims by their date).")
@click.option("--sheet", metavar="NAME", help="For an .xlsx file: the sheet to read (default: the first).")
@click.option("--db", metavar="PATH|URL", help="From the ledger instead of a file (as `subsidy ledger plan-progress`).")
@output_options
@click.pass_context
def plan_progress_cmd(ctx: click.Context, file: Path | None, year: int, sheet: str | None, db: str | None,
                      fmt: str, out: Path | None) -> None:
    """Person-times decided and paid per region (annex 1) and department (annex 2) against target,
    from a claims FILE or from what the ledger holds (--db)."""
    from jinhua_subsidy.progress import plan_progress
    from jinhua_subsidy.xlsx import reading_sheet

    if (file is None) == (db is None):
        raise click.UsageError("给出申领文件 FILE 或 --db（台账），二者取其一")
    engine = _engine(ctx)
    if db is not None:
        from jinhua_subsidy.cli_ledger import _errors
        from jinhua_subsidy.ledger.plan import plan_progress as from_ledger
        from jinhua_subsidy.ledger.store import Ledger

        with _errors():
            led = Ledger(db)
            with led.read() as conn:
                report = from_ledger(engine, conn, year)
        emit(report, fmt, out)
        return
    assert file is not None
    with reading_sheet(sheet):
        report = _evaluated(engine, file, lambda: plan_progress(engine, file, year))
    emit(report, fmt, out)
