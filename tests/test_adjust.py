"""The columnar hook subsidy_adjust: a county rule on columns changes amounts (higher or lower),
refuses a claim and adds a step to its explanation; R18–R20 still apply afterwards; the claims
file's extra columns reach it; a wrong answer is an error naming the plugin."""

from __future__ import annotations

import polars as pl
import pytest

from jinhua_subsidy.adjust import AdjustError, Adjustments, AdjustReason
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped
from jinhua_subsidy.testing import person_id, write_claims_csv

TOP_UP = AdjustReason(code="dy_veteran", text="退役军人加发200元（测试）", document="东阳测试文件", clause="第一条")
CUT = AdjustReason(code="dy_halved", text="抽查不合格，减半核拨（测试）", document="东阳测试文件", clause="第二条")
CANCELLED = AdjustReason(code="dy_cancelled", text="该项目已撤销（测试）", clause="main.5")


class Dongyang(CatalogPlugin):
    """东阳市's shipped catalog, with a rule in code on the extra column ``veteran``."""

    seen: list[list[str]]

    def __init__(self) -> None:
        super().__init__(shipped("dongyang.toml"))
        self.seen = []

    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        self.seen.append(claims.columns)
        both = pl.concat([claims.select("row", "veteran", "project_code"),
                          decisions.select("eligible", "amount")], how="horizontal")
        rows = pl.concat([
            both.filter((pl.col("veteran") == "yes") & pl.col("eligible")).select(
                "row", pl.lit("dy_veteran").alias("reason"), (pl.col("amount") + 20_000).alias("amount")),
            both.filter(pl.col("project_code") == "DY-HALF").select(
                "row", pl.lit("dy_halved").alias("reason"), (pl.col("amount") // 2).alias("amount")),
            both.filter(pl.col("project_code") == "DY-GONE").select(
                "row", pl.lit("dy_cancelled").alias("reason"), pl.lit(True).alias("refuse")),
        ], how="diagonal")
        return Adjustments(rows=rows, reasons=(TOP_UP, CUT, CANCELLED))


@pytest.fixture
def plugin() -> Dongyang:
    return Dongyang()


def engine_with(plugin: object) -> Engine:
    return Engine(get_plugin_manager(autoload=False, disable=["dongyang"], extra=[("dongyang_code", plugin)]))


BASE = {"region": "dongyang", "date": "2021-06-01", "hukou": "dongyang"}
CERT = {**BASE, "kind": "qualification", "occupation": "4-03-02-01", "level": "4"}
COURSE = {**BASE, "kind": "project", "organizer": "enterprise", "hours": 20, "passed": True,
          "employer_region": "dongyang"}


def test_amounts_changed_a_claim_refused_steps_added_limits_after(plugin, tmp_path):
    me = person_id(1)
    rows = [
        {**CERT, "claim_id": "vet", "person_id": person_id(2), "veteran": "yes"},
        {**COURSE, "claim_id": "half", "person_id": person_id(3), "project_code": "DY-HALF"},
        {**COURSE, "claim_id": "gone", "person_id": person_id(4), "project_code": "DY-GONE"},
        # One person, four claims in 2021: the adjustment does not spare R18.
        {**CERT, "claim_id": "m1", "person_id": me, "date": "2021-01-01", "veteran": "yes"},
        {**CERT, "claim_id": "m2", "person_id": me, "level": "3", "date": "2021-02-01", "veteran": "yes"},
        {**COURSE, "claim_id": "m3", "person_id": me, "project_code": "P1", "date": "2021-03-01"},
        {**COURSE, "claim_id": "m4", "person_id": me, "project_code": "P2", "date": "2021-04-01", "veteran": "yes"},
    ]
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:  # the extra column `veteran`
        import csv

        from jinhua_subsidy.claims import COLUMNS
        w = csv.DictWriter(fh, fieldnames=[*COLUMNS, "veteran"])
        w.writeheader()
        for r in rows:
            w.writerow({k: ("true" if v is True else v) for k, v in r.items()})
    decisions, errors = engine_with(plugin).evaluate_file(path)
    assert errors == []
    got = {d.claim_id: d for d in decisions}
    # 中级工 900 (annex3.1.2) + 200 from the county's rule in code.
    assert (got["vet"].amount, got["vet"].reasons) == (110_000, ("dy_veteran",))
    assert "东阳测试文件:第一条" in got["vet"].citations
    # 20 × 30 = 600, halved: 300.
    assert (got["half"].amount, got["half"].reasons) == (30_000, ("dy_halved",))
    assert (got["gone"].eligible, got["gone"].amount, got["gone"].reasons, got["gone"].citations) == (
        False, 0, ("dy_cancelled",), ("main.5",))
    assert [s.rule for s in got["vet"].steps][-1] == "地区插件调整"
    assert got["vet"].steps[-1].value == "退役军人加发200元（测试）"
    assert (got["m4"].eligible, got["m4"].reasons) == (False, ("annual_limit",))
    assert got["m1"].amount == 110_000
    assert "veteran" in plugin.seen[0] and "row" in plugin.seen[0]


@pytest.mark.parametrize(("answer", "message"), [
    (Adjustments(rows=pl.DataFrame({"row": [99], "reason": ["dy_veteran"], "amount": [1]}), reasons=(TOP_UP,)),
     "第99行不是本次交给插件的 dongyang 申领"),
    (Adjustments(rows=pl.DataFrame({"row": [2], "reason": ["nope"], "amount": [1]}), reasons=(TOP_UP,)),
     "原因代码 'nope' 未在 Adjustments.reasons 中声明"),
    (Adjustments(rows=pl.DataFrame({"row": [2], "reason": ["dy_veteran"], "amount": [-1]}), reasons=(TOP_UP,)),
     "第2行的金额 -1 为负数"),
    (Adjustments(rows=pl.DataFrame({"row": [2], "reason": ["dy_veteran"]}), reasons=(TOP_UP,)),
     "第2行既未给 amount 也未给 refuse"),
])
def test_a_wrong_answer_is_an_error_naming_the_plugin(tmp_path, answer, message):
    class Wrong(CatalogPlugin):
        @hookimpl
        def subsidy_adjust(self, region, claims, decisions):
            return answer

    path = write_claims_csv(tmp_path / "c.csv", [{**CERT, "claim_id": "A", "person_id": person_id(5)}])
    with pytest.raises(AdjustError) as err:
        engine_with(Wrong(shipped("dongyang.toml"))).evaluate_file(path)
    assert str(err.value) == f"插件 dongyang_code 的 subsidy_adjust：{message}"
