"""``subsidy ledger …``: the real-name ledger (main.5), see docs/ledger.md.

Exit status: 0 ok, 1 findings (rows that cannot be read, a ledger that does not verify, a step
that is not allowed), 2 usage or input error (a database that cannot be reached is one line).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, cast

import click

from jinhua_subsidy.cli import _engine, _fail

if TYPE_CHECKING:
    from jinhua_subsidy.ledger.store import Ledger


@contextmanager
def _errors() -> Iterator[None]:
    """Ledger and database errors as one line and exit 2; a refused step as exit 1."""
    import sqlalchemy as sa

    from jinhua_subsidy.ledger.store import LedgerError, Refused, first_line
    from jinhua_subsidy.privacy import mask_ids

    try:
        yield
    except LedgerError as exc:
        _fail(mask_ids(str(exc)))
    except Refused as exc:
        click.echo(f"不允许：{mask_ids(str(exc))}", err=True)
        sys.exit(1)
    except sa.exc.DBAPIError as exc:
        _fail(mask_ids(f"台账数据库出错：{first_line(exc.orig or exc)}"))


def _ledger(ctx: click.Context) -> Ledger:
    from jinhua_subsidy.ledger.store import Ledger

    with _errors():
        return Ledger(ctx.obj.get("db"))


@click.group()
@click.option("--db", metavar="PATH|URL", envvar="SUBSIDY_DB",
              help="The ledger: a SQLite file (default subsidy-ledger.db) or postgresql://… (also SUBSIDY_DB).")
@click.pass_context
def ledger(ctx: click.Context, db: str | None) -> None:
    """The real-name ledger (实名制台账, main.5): every decision kept, across files."""
    ctx.obj["db"] = db


@ledger.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create the ledger, or bring its schema to the current version (Alembic migrations)."""
    led = _ledger(ctx)
    with _errors():
        before, after = led.upgrade()
    click.echo(f"台账 {led.name}：结构版本 {before or '（新建）'} → {after}")


@ledger.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "jsonl"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write decisions here.")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rows that cannot be read to this CSV file: row, claim_id, reason.")
@click.pass_context
def ingest(ctx: click.Context, file: Path, fmt: str, out: Path | None, errors_out: Path | None) -> None:
    """Decide FILE against every grant the ledger holds and store the new claims (idempotent)."""
    from jinhua_subsidy.atomic import atomic_output
    from jinhua_subsidy.claims import ClaimsFileError
    from jinhua_subsidy.ledger.ingest import ingest as run
    from jinhua_subsidy.output import write_errors
    from jinhua_subsidy.writer import write_result

    for target in (out, errors_out):
        if target is not None and not target.parent.is_dir():
            _fail(f"无法写入 {target}：目录 {target.parent} 不存在")
    if not file.exists():
        _fail(f"找不到申领文件 {file}")
    engine = _engine(ctx)
    led = _ledger(ctx)
    with _errors():
        try:
            done = run(led, engine, file)
        except ClaimsFileError as exc:
            _fail(str(exc))
    result = done.result
    for e in result.errors:
        click.echo(f"无法处理 {e}", err=True)
    try:
        if errors_out is not None:
            with atomic_output(errors_out) as fh:
                write_errors(result.errors, cast(TextIO, fh))
        if out is not None:
            with atomic_output(out, "wb") as bh:
                write_result(result, fmt, cast(BinaryIO, bh))
        else:
            write_result(result, fmt, sys.stdout)
    except OSError as exc:
        _fail(f"无法写入结果：{exc.strerror}（{exc.filename}）")
    where = f"批次 #{done.batch}，事件 #{done.event}" if done.batch else "无新申领"
    click.echo(f"已登记 {done.stored} 条新申领，{done.held} 条已在台账中（未改变）；{where}", err=True)
    if result.errors:
        click.echo(f"{len(result.errors)} 行无法处理，其余 {len(result)} 行已判定", err=True)
    sys.exit(1 if result.errors else 0)


@ledger.command()
@click.argument("claim_id")
@click.pass_context
def explain(ctx: click.Context, claim_id: str) -> None:
    """Show a held claim's decision exactly as it was decided, and where it stands now."""
    from jinhua_subsidy.ledger.lifecycle import explain as text

    engine = _engine(ctx)
    led = _ledger(ctx)
    with _errors(), led.read() as conn:
        found = text(conn, claim_id, engine)
    if found is None:
        _fail(f"台账中没有申领编号 {claim_id}")
    click.echo(found)


@ledger.command()
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Recompute the event chain and check every derived table against it (exit 1 on findings)."""
    from jinhua_subsidy.ledger.audit import verify as run
    from jinhua_subsidy.privacy import mask_ids

    led = _ledger(ctx)
    with _errors(), led.read() as conn:
        findings = run(conn)
        import sqlalchemy as sa

        from jinhua_subsidy.ledger import schema

        head = conn.execute(sa.select(schema.head)).one()
    for f in findings:
        click.echo(mask_ids(f"不符：{f}"))
    if findings:
        click.echo(f"{len(findings)} 项不符", err=True)
        sys.exit(1)
    click.echo(f"全部相符：{head.events} 个事件，{head.claims} 条申领；链尾哈希 {head.last_hash}")


def _today(on: str | None) -> Any:
    import datetime as dt

    if on is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(on)
    except ValueError:
        _fail(f"日期须为 YYYY-MM-DD 格式，而不是 {on!r}")
    raise AssertionError  # pragma: no cover


@ledger.command()
@click.option("--project", metavar="CODE", help="The claims of one training project (project_code).")
@click.option("--organizer", metavar="X",
              help="The claims of one training body (organizer_name), or an organizer type.")
@click.option("--period", metavar="YYYY|YYYY-MM", help="The claims dated in a year or a month.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The list: .html or .xlsx.")
@click.option("--start", metavar="YYYY-MM-DD", help="First day of the 公示 (default today).")
@click.option("--days", type=click.IntRange(1, 60), default=5, show_default=True,
              help="The objection window in working days.")
@click.option("--holidays", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A holiday list (TOML) instead of the one shipped (docs/ledger.md).")
@click.pass_context
def publicize(ctx: click.Context, project: str | None, organizer: str | None, period: str | None, out: Path | None,
              start: str | None, days: int, holidays: Path | None) -> None:
    """Publish the 公示 list of decided grants: masked names and ids, amounts, the objection window."""
    from jinhua_subsidy.ledger.publicize import publicize as run
    from jinhua_subsidy.ledger.publicize import write_list
    from jinhua_subsidy.ledger.workdays import Calendar

    chosen = [(k, v) for k, v in (("project", project), ("organizer", organizer), ("period", period)) if v]
    if len(chosen) != 1:
        _fail("须且只能给出 --project、--organizer、--period 之一")
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".xlsx"):
        _fail(f"--out 须为 .html 或 .xlsx 文件，而不是 {out.name}")
    if out is not None and not out.parent.is_dir():
        _fail(f"无法写入 {out}：目录 {out.parent} 不存在")
    scope, value = chosen[0]
    calendar = Calendar.load(holidays)
    led = _ledger(ctx)
    with _errors():
        pub = run(led, scope, value, _today(start), days, calendar)
    if out is not None:
        write_list(pub, out)
    times = sum(r.count for r in pub.rows)
    click.echo(f"公示 #{pub.id}：{pub.title}；{len(pub.rows)} 人，{times} 人次，合计 {pub.total_text} 元；"
               f"异议期 {pub.start} 至 {pub.end}（{pub.working_days} 个工作日）" + (f"；已写入 {out}" if out else ""))


@ledger.command()
@click.argument("claim_ids", nargs=-1)
@click.option("--publication", type=int, help="Every claim of one 公示.")
@click.pass_context
def approve(ctx: click.Context, claim_ids: tuple[str, ...], publication: int | None) -> None:
    """Approve publicized claims whose objection window has ended."""
    from jinhua_subsidy.ledger.lifecycle import approve as run

    if not claim_ids and publication is None:
        _fail("须给出申领编号或 --publication")
    led = _ledger(ctx)
    with _errors():
        click.echo(run(led, list(claim_ids), publication))


@ledger.command()
@click.argument("claim_ids", nargs=-1)
@click.option("--publication", type=int, help="Every claim of one 公示.")
@click.option("--on", metavar="YYYY-MM-DD", help="The day paid (default today).")
@click.pass_context
def pay(ctx: click.Context, claim_ids: tuple[str, ...], publication: int | None, on: str | None) -> None:
    """Record approved claims as paid."""
    from jinhua_subsidy.ledger.lifecycle import pay as run

    if not claim_ids and publication is None:
        _fail("须给出申领编号或 --publication")
    led = _ledger(ctx)
    with _errors():
        click.echo(run(led, list(claim_ids), publication, _today(on)))


@ledger.command()
@click.argument("claim_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why (Chinese), e.g. 经核查系骗取补贴.")
@click.option("--clause", default="main.4.3", show_default=True, help="The clause it rests on.")
@click.pass_context
def revoke(ctx: click.Context, claim_ids: tuple[str, ...], reason: str, clause: str) -> None:
    """Revoke grants (main.4.3): a revoked grant no longer counts (R28)."""
    from jinhua_subsidy.ledger.lifecycle import revoke as run

    led = _ledger(ctx)
    with _errors():
        click.echo(run(led, list(claim_ids), reason, clause))


@ledger.command("export-payments")
@click.option("--fund", required=True, metavar="F", help="The fund: city, district:<region>, county:<region> …")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The bank file (.csv or .xlsx).")
@click.option("--unmasked", is_flag=True, help="Required: the bank file holds full ids; the export is audited.")
@click.pass_context
def export_payments(ctx: click.Context, fund: str, out: Path, unmasked: bool) -> None:
    """Write the bank file of the approved claims of a fund, one line a payee (full ids; audited)."""
    from jinhua_subsidy.ledger.export import export

    if not unmasked:
        _fail("付款文件含完整身份证号：须加 --unmasked 确认（导出将记入审计事件）")
    if out.suffix.lower() not in (".csv", ".xlsx"):
        _fail(f"--out 须为 .csv 或 .xlsx 文件，而不是 {out.name}")
    if not out.parent.is_dir():
        _fail(f"无法写入 {out}：目录 {out.parent} 不存在")
    led = _ledger(ctx)
    with _errors():
        done = export(led, fund, out)
    click.echo(done)


@ledger.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def signals(ctx: click.Context, fmt: str) -> None:
    """Fraud signals (main.4.3): the same certificate in two regions, overlapping courses, a course
    paid beyond its roster, payments on one day in two regions."""
    import json

    from jinhua_subsidy.ledger.signals import find
    from jinhua_subsidy.privacy import mask_ids

    led = _ledger(ctx)
    with _errors(), led.read() as conn:
        found = find(conn)
    if fmt == "json":
        click.echo(mask_ids(json.dumps([s.record() for s in found], ensure_ascii=False, indent=2)))
    else:
        for s in found:
            click.echo(mask_ids(str(s)))
        click.echo(f"共 {len(found)} 条疑点" if found else "未发现疑点")


@ledger.command("plan-progress")
@click.option("--year", type=int, required=True, help="The plan year (claims by their date).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx", "html"]), default="table",
              help="table (Chinese, default), csv, json, xlsx or html, as `subsidy plan progress`.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.pass_context
def plan_progress(ctx: click.Context, year: int, fmt: str, out: Path | None) -> None:
    """`subsidy plan progress` from what the ledger holds: every file, limits across files applied."""
    from jinhua_subsidy.cli_bureau import emit
    from jinhua_subsidy.ledger.plan import plan_progress as run

    engine = _engine(ctx)
    led = _ledger(ctx)
    with _errors(), led.read() as conn:
        report = run(engine, conn, year)
    emit(report, fmt, out)
