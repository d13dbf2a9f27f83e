"""Evaluate claims files: parse, decide each claim, apply the limits across the file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from jinhua_subsidy.claims import Claim, ClaimParser, RowError, read_claims
from jinhua_subsidy.decision import Decision, Review
from jinhua_subsidy.evaluate import Reviewer, evaluate_claim
from jinhua_subsidy.limits import apply_limits
from jinhua_subsidy.manager import SubsidyPluginManager, get_plugin_manager
from jinhua_subsidy.occupations import load_vocabulary
from jinhua_subsidy.rulebook import NoRate, RegionRules, Rulebook


class Engine:
    """The rulebook of the installed plugins plus the occupation vocabulary."""

    def __init__(self, pm: SubsidyPluginManager | None = None) -> None:
        self.pm = pm if pm is not None else get_plugin_manager()
        self.rulebook = Rulebook(self.pm)
        self.vocabulary = load_vocabulary()
        self.names = self.vocabulary.names
        self.parser = ClaimParser(self.rulebook.regions, self.names)
        self._reviewers: dict[str, Reviewer | None] = {}

    def reviewer(self, rules: RegionRules) -> Reviewer | None:
        """The serving plugin's ``subsidy_review_claim``, if it has one (the slow path); built once a region."""
        key = rules.region.key
        if key not in self._reviewers:
            self._reviewers[key] = self._make_reviewer(rules)
        return self._reviewers[key]

    def _make_reviewer(self, rules: RegionRules) -> Reviewer | None:
        if rules.reviewer is None:
            return None
        others = [p for n, p in self.pm.list_name_plugin() if n != rules.reviewer]
        caller = self.pm.subset_hook_caller("subsidy_review_claim", remove_plugins=others)

        def review(claim: Claim, decision: Decision) -> Review | None:
            results = caller(region=claim.region, claim=claim, decision=decision)
            return results[0] if results else None

        return review

    def decide(self, claim: Claim) -> Decision:
        """One claim, before the limits across the file. Raises NoRate."""
        rules = self.rulebook.rules(claim.region)
        return evaluate_claim(claim, rules, self.names, self.reviewer(rules))

    def evaluate(self, claims: Iterable[Claim]) -> tuple[list[Decision], list[RowError]]:
        decisions: list[Decision] = []
        errors: list[RowError] = []
        for claim in claims:
            try:
                decisions.append(self.decide(claim))
            except NoRate as exc:
                errors.append(RowError(claim.row, claim.claim_id, str(exc)))
        return apply_limits(decisions), errors

    def evaluate_file(self, path: Path) -> tuple[list[Decision], list[RowError]]:
        """Decisions in file order, and every row that could not be decided."""
        claims, errors = read_claims(path, self.parser)
        decisions, more = self.evaluate(claims)
        return decisions, sorted(errors + more, key=lambda e: e.row)
