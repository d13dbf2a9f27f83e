"""Excel both ways: an .xlsx claims file gives the decisions of its CSV (row numbers are sheet
rows; dates and numbers typed either way), and --format xlsx workbooks reopen with openpyxl and
convert with LibreOffice (required with CI=true)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from jinhua_subsidy.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLAIMS = EXAMPLES / "claims.csv"
HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}
NUMBERS = ("hours", "insured_months", "cost")


def run(*args: str):
    r = CliRunner().invoke(main, list(args), env=HERMETIC)
    assert "Traceback" not in r.output, r.output
    return r


def to_xlsx(src: Path, dst: Path, *, typed: bool, sheet: str = "申领", before: bool = False) -> Path:
    """The CSV's rows in a sheet. ``typed``: dates as Excel dates on odd rows, numbers as numbers,
    passed/review as TRUE/FALSE, the way a clerk's workbook has them; ids always as text."""
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    wb = Workbook()
    if before:
        wb.active.title = "封面"
        wb.active.append(["金华市职业技能培训补贴申领汇总"])
        ws = wb.create_sheet(sheet)
    else:
        ws = wb.active
        ws.title = sheet
    header = rows[0]
    ws.append(header)
    for n, r in enumerate(rows[1:]):
        out: list[object] = []
        for name, v in zip(header, r, strict=True):
            if not v:
                out.append(None)
            elif typed and name == "date" and n % 2:
                out.append(dt.date.fromisoformat(v))
            elif typed and name in NUMBERS:
                out.append(Decimal(v) if "." in v else int(v))
            elif typed and name in ("passed", "review", "monthly_pension", "welfare_post"):
                out.append(v == "true")
            else:
                out.append(v)
        ws.append(out)
    wb.save(dst)
    return dst


@pytest.mark.parametrize("typed", [True, False])
def test_xlsx_claims_give_the_decisions_of_their_csv(tmp_path, typed):
    book = to_xlsx(CLAIMS, tmp_path / "claims.xlsx", typed=typed)
    want = run("evaluate", str(CLAIMS), "--format", "csv")
    got = run("evaluate", str(book), "--format", "csv")
    assert got.exit_code == want.exit_code == 0, got.output
    assert got.stdout == want.stdout


def test_sheet_option_and_row_errors_name_sheet_rows(tmp_path):
    with CLAIMS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    date_at = rows[0].index("date")
    rows[3][date_at] = "2021/6/1"  # sheet row 4
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    book = to_xlsx(bad, tmp_path / "claims.xlsx", typed=True, sheet="申领", before=True)
    first = run("evaluate", str(book))
    assert first.exit_code == 2 and "表头缺少列" in first.stderr  # the cover sheet is not a claims table
    got = run("evaluate", str(book), "--sheet", "申领", "--format", "csv")
    assert got.exit_code == 1
    assert "无法处理 第4行（Q03）：date 须为 YYYY-MM-DD 格式的日期，而不是 '2021/6/1'" in got.stderr
    missing = run("evaluate", str(book), "--sheet", "Sheet9")
    assert missing.exit_code == 2 and "没有工作表 'Sheet9'" in missing.stderr


def test_an_id_typed_as_a_number_is_refused_not_guessed(tmp_path):
    book = to_xlsx(CLAIMS, tmp_path / "claims.xlsx", typed=True)
    wb = load_workbook(book)
    ws = wb.active
    ws.cell(row=2, column=2, value=float(ws.cell(row=2, column=2).value))  # Excel keeps 15 significant digits
    wb.save(book)
    got = run("evaluate", str(book), "--format", "csv")
    assert got.exit_code == 1 and "第2行（Q01）：person_id" in got.stderr


def test_evaluate_xlsx_reopens_with_openpyxl(tmp_path):
    out = tmp_path / "decisions.xlsx"
    assert run("evaluate", str(CLAIMS), "--format", "xlsx", "--out", str(out)).exit_code == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["判定结果", "无法处理的行", "说明与来源"]
    ws = wb["判定结果"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    assert header[:5] == ["行", "申领编号", "地区", "是否补贴", "补贴金额（元）"]
    decisions = list(csv.DictReader(io.StringIO(run("evaluate", str(CLAIMS), "--format", "csv").stdout)))
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(decisions)
    for r, d in zip(rows, decisions, strict=True):
        assert (r[0], r[1]) == (int(d["row"]), d["claim_id"])
        assert Decimal(str(r[4])) == Decimal(d["amount"])
    cell = ws.cell(row=2, column=5)
    assert cell.number_format == "#,##0.00"
    assert cell.fill.fgColor.rgb.endswith("FFF3CD")  # Q01 used the provisional urban shortage list: shaded
    assert ws.cell(row=20, column=5).fill.fgColor.rgb in ("00000000", None)  # P02: official, not shaded


def test_report_xlsx_one_sheet_per_table_states_as_text(tmp_path):
    out = tmp_path / "rates.xlsx"
    assert run("compare", "rates", "--on", "2021-06-01", "--format", "xlsx", "--out", str(out)).exit_code == 0
    wb = load_workbook(out)
    assert wb.sheetnames[-1] == "说明与来源" and len(wb.sheetnames) == 6
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    lanxi, yiwu = header.index("兰溪市") + 1, header.index("义乌市") + 1
    assert ws.cell(row=2, column=lanxi).value == "无目录"
    assert ws.cell(row=2, column=yiwu).value == 3000 and ws.cell(row=2, column=yiwu).fill.fgColor.rgb.endswith("FFF3CD")
    notes = [r[1] for r in wb["说明与来源"].iter_rows(min_row=2, values_only=True)]
    assert any("金人社发〔2020〕1号" in (n or "") for n in notes)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_converts_the_decisions_workbook(tmp_path):
    soffice = _soffice()
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: LibreOffice (soffice) is required (.ci/run installs it)")
        pytest.skip("no LibreOffice on this machine")
    book = tmp_path / "decisions.xlsx"
    assert run("evaluate", str(CLAIMS), "--format", "xlsx", "--out", str(book)).exit_code == 0
    profile = tmp_path / "lo-profile"
    done = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
                           "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(tmp_path), str(book)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    converted = (tmp_path / "decisions.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(converted)))
    decisions = list(csv.DictReader(io.StringIO(run("evaluate", str(CLAIMS), "--format", "csv").stdout)))
    assert rows[0][:5] == ["行", "申领编号", "地区", "是否补贴", "补贴金额（元）"]
    assert len(rows) - 1 == len(decisions)
    for r, d in zip(rows[1:], decisions, strict=True):
        assert (int(r[0]), r[1]) == (int(d["row"]), d["claim_id"])
        assert Decimal(r[4].replace(",", "")) == Decimal(d["amount"])
