"""The engine: the installed plugins' rulebook, the occupation vocabulary, and ways to decide.

Every decision is made by :func:`jinhua_subsidy.evaluation.evaluate_file` in columns; one claim
is a table of one row (:meth:`Engine.decide`), and a small file's decisions can be had as objects
with their steps (:meth:`Engine.evaluate_file`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinhua_subsidy.decision import Decision
from jinhua_subsidy.manager import SubsidyPluginManager, get_plugin_manager
from jinhua_subsidy.occupations import load_vocabulary
from jinhua_subsidy.rulebook import NoRate, Rulebook

if TYPE_CHECKING:  # the columnar modules (polars, numpy) load when a claim is first decided
    from jinhua_subsidy.adjust import Adjuster
    from jinhua_subsidy.claims import Claim, ClaimParser, RowError
    from jinhua_subsidy.evaluation import Result


class Engine:
    """The rulebook of the installed plugins plus the occupation vocabulary."""

    def __init__(self, pm: SubsidyPluginManager | None = None) -> None:
        self.pm = pm if pm is not None else get_plugin_manager()
        self.rulebook = Rulebook(self.pm)
        self.vocabulary = load_vocabulary()
        self.names = self.vocabulary.names
        #: Each region's compiled rules (jinhua_subsidy.compiled.RegionPlan, or why it has none),
        #: built on first use by an evaluation and kept: they hold nothing of a run.
        self.region_plans: dict[str, Any] = {}

    @functools.cached_property
    def parser(self) -> ClaimParser:
        """One row of cells to a claim or a row error (the contract's checks on a table of one row)."""
        from jinhua_subsidy.claims import ClaimParser

        return ClaimParser(self.rulebook.regions, self.names)

    @property
    def region_names(self) -> dict[str, str]:
        return {k: r.name for k, r in self.rulebook.regions.items()}

    def adjuster(self, region: str) -> Adjuster | None:
        """The serving plugin's ``subsidy_adjust`` for a region, if it implements one."""
        from jinhua_subsidy.adjust import Adjuster

        plugin = self.rulebook.serving_plugin(region)
        if plugin is None or not self.pm.implements(plugin, "subsidy_adjust"):
            return None
        others = [p for n, p in self.pm.list_name_plugin() if n != plugin]
        caller = self.pm.subset_hook_caller("subsidy_adjust", remove_plugins=others)

        def call(**kwargs: object) -> object:
            results = caller(**kwargs)
            return results[0] if results else None

        return Adjuster(plugin, call)

    def evaluate_file(self, path: Path) -> tuple[list[Decision], list[RowError]]:
        """Decisions in file order, with their steps, and every row that could not be decided.
        For small files (every claim's cells are kept for its steps); the CLI streams instead."""
        from jinhua_subsidy.evaluation import ALL, evaluate_file

        result = evaluate_file(self, path, progress=False, watch=(ALL,))
        return self.decisions(result), result.errors

    def decisions(self, result: Result) -> list[Decision]:
        """The decisions of a result with their steps (for the claims it watched)."""
        return [self.decision(result, i) for i in range(len(result))]

    def decision(self, result: Result, i: int) -> Decision:
        """Decision ``i`` of a result, with its steps if the result watched its claim."""
        from attrs import evolve

        from jinhua_subsidy.decision import Step
        from jinhua_subsidy.money import format_yuan
        from jinhua_subsidy.reasons import YEAR_CEILING
        from jinhua_subsidy.steps import steps_of

        o = result.outcomes[int(result.outcome[i])]
        row = int(result.rows[i])
        d = evolve(o.decision(result.claim_id[i], int(result.amount[i])), row=row)
        w = result.watched.get(row)
        if w is not None:
            steps = steps_of(o, w.cells, w.base, w.amount, self.names, self.region_names, w.notes)
            if o.trace is not None and o.trace.limit == "capped":  # R23: what was left of the year's ceiling
                steps = (*steps, Step("跨申领限制", f"企业新型学徒制补贴每人每年有上限，本年度已享受的部分扣除后，"
                                                 f"按余额 {format_yuan(d.amount)} 元发放", YEAR_CEILING))
            d = evolve(d, steps=steps)
        return d

    def decide(self, claim: Claim) -> Decision:
        """One claim on its own (R18–R20 left out), as a table of one row. Raises NoRate when no
        catalog value is in force on its date (a row error, never 0)."""
        import numpy as np

        from jinhua_subsidy.claims import cells_frame
        from jinhua_subsidy.evaluation import evaluate_frame

        result = evaluate_frame(self, cells_frame([claim.cells]), np.array([claim.row], dtype=np.int64),
                                limits=False)
        if result.errors:
            raise NoRate(result.errors[0].message)
        return self.decisions(result)[0]
