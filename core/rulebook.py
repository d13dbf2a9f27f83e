"""Resolve each region's data once: which plugin serves it, and its catalogs.

The rulebook asks the data hooks once per region (walking up to the parent
region when a plugin answers ``None``) and answers date look-ups from that data.
A date no catalog covers raises :class:`NoRate`: a missing rate is never 0.

Rates that inherit (:class:`~jinhua_subsidy.inheritance.RateOverrides`) are merged entry by
entry over the effective rates of the region they name. Before a region's rules are used,
they are checked against the core invariants (:func:`jinhua_subsidy.invariants.region_findings`,
the same checks as ``subsidy check``): a region whose catalog, or a catalog it inherits from,
fails one is not evaluated (:class:`BrokenCatalog`, a :class:`NoRate`), and its claims are row
errors naming the finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from jinhua_subsidy.inheritance import Effective, RateOverrides, extend, own
from jinhua_subsidy.manager import SubsidyPluginManager
from jinhua_subsidy.models import (
    Dated,
    Eligibility,
    Funding,
    RateCatalog,
    ShortageList,
    Uplift,
)
from jinhua_subsidy.regions import KNOWN_REGIONS, Region

if TYPE_CHECKING:
    from jinhua_subsidy.invariants import Finding


class RulebookError(Exception):
    """Plugins that disagree (two serve one region) or a region that cannot be resolved."""


class NoRate(Exception):
    """No catalog value in force for a claim: a row error, never a rate of 0."""


class BrokenCatalog(NoRate):
    """A region whose rules fail a core invariant: it is not evaluated. ``findings`` are the errors."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class NoParentRates(NoRate):
    """A catalog that inherits from a region without rates, or a chain of inheritance that loops.
    ``file`` is the catalog that inherits."""

    def __init__(self, message: str, file: str) -> None:
        super().__init__(message)
        self.file = file


@frozen
class Answer:
    """A hook's answer for a region, with the plugin and region that gave it."""

    value: Any
    plugin: str
    region: str


def _in_force(entries: Sequence[Dated], on: dt.date) -> list[Any]:
    return [e for e in entries if e.in_force(on)]


@frozen(kw_only=True)
class RegionRules:
    """Everything needed to evaluate claims of one region."""

    region: Region
    plugin: str  #: the plugin serving this region (its own or an ancestor's)
    rates: RateCatalog
    rates_from: Answer
    shortage: tuple[ShortageList, ...]
    eligibility: Eligibility
    funding: Funding
    region_names: dict[str, str]  #: every known region key → Chinese name, for explanations
    #: The effective rates with the origin of every entry (see jinhua_subsidy.inheritance).
    effective: Effective | None = field(default=None, eq=False, repr=False)

    @property
    def provisional(self) -> bool:
        """Whether the catalog itself is provisional (every decision of the region then is)."""
        return self.rates.status == "provisional" or self.eligibility.status == "provisional"

    def provisional_parts(self) -> list[str]:
        """What of this region's data is provisional, for listings: catalog, eligibility, shortage lists."""
        parts = []
        if self.rates.status == "provisional":
            parts.append(f"catalog {self.rates.source or self.region.key}")
        if self.eligibility.status == "provisional" and self.eligibility.source != self.rates.source:
            parts.append(f"eligibility {self.eligibility.source}")
        parts += [f"shortage list {s.list}" for s in self.shortage if s.status == "provisional"]
        return parts

    def shortage_list(self, on: dt.date) -> ShortageList:
        found = _in_force(self.shortage, on)
        if not found:
            raise NoRate(f"{self.region.key}：{on} 无在用的紧缺职业（工种）目录（annex3.1.2 R7）")
        return found[0]  # type: ignore[no-any-return]

    def uplifts(self, kind: str, on: dt.date) -> list[Uplift]:
        return [u for u in self.rates.uplifts if u.kind == kind and u.in_force(on)]


class Rulebook:
    """Regions, the plugins serving them, and each region's resolved rules (built lazily)."""

    DATA_HOOKS = ("subsidy_rates", "subsidy_shortage", "subsidy_eligibility", "subsidy_funding")

    def __init__(self, pm: SubsidyPluginManager) -> None:
        self.pm = pm
        self.regions: dict[str, Region] = {r.key: r for r in KNOWN_REGIONS}
        self.owner: dict[str, str] = {}
        declared: list[tuple[str, Region]] = []
        for name in sorted({i.plugin_name for i in pm.hook.subsidy_regions.get_hookimpls()}):
            for region in self.call_one("subsidy_regions", name) or ():
                if not isinstance(region, Region):
                    raise RulebookError(f"plugin {name!r}: subsidy_regions must return Region objects, got {region!r}")
                declared.append((name, region))
        for plugin, region in sorted(declared, key=lambda d: (d[1].key, d[0])):
            if region.key in self.owner:
                first = self.owner[region.key]
                raise RulebookError(
                    f"region {region.key!r} is claimed by two plugins: {first!r} ({self._dist(first)}) and "
                    f"{plugin!r} ({self._dist(plugin)}); leave one out with `--disable {plugin}` "
                    f"(or `--disable {first}`)"
                )
            known = self.regions.get(region.key)
            if known is not None and known.parent != region.parent:
                raise RulebookError(
                    f"plugin {plugin!r} ({self._dist(plugin)}) gives region {region.key!r} parent "
                    f"{region.parent!r}; annex 1 has {known.parent!r} (to extend another region's rates, "
                    "name it in the catalog's `inherits`)"
                )
            self.owner[region.key] = plugin
            self.regions[region.key] = region
        self._rules: dict[str, RegionRules | NoRate] = {}
        self._rates: dict[str, tuple[Answer, Effective] | None] = {}
        self._resolving: list[str] = []
        #: Findings of each answer already checked, by (hook, plugin, region): see region_findings.
        self.checked: dict[tuple[str, str, str], list[Finding]] = {}
        #: Check a region's rules before they are used (the guard). Only a test comparing the engine
        #: with an oracle on deliberately odd catalogs turns it off; the command line never does.
        self.guard = True
        self._answers: dict[tuple[str, str, str], Any] = {}
        # Ask every data hook of every plugin for its own regions now, so that a plugin answering
        # wrongly fails at start-up (PluginError, exit 2), before any claim is decided. A catalog
        # that cannot be loaded is reported when it is asked for (subsidy check: format findings).
        from jinhua_subsidy.catalog import CatalogError

        for key, plugin in sorted(self.owner.items()):
            for hook in self.DATA_HOOKS:
                try:
                    self.answer(hook, plugin, key)
                except CatalogError:
                    continue

    def _dist(self, plugin: str) -> str:
        info = self.pm.info.get(plugin)
        return info.distribution if info else "?"

    def call_one(self, hook: str, plugin: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one plugin only; its answer or None."""
        others = [p for n, p in self.pm.list_name_plugin() if n != plugin]
        results = self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)
        return results[0] if results else None

    def answer(self, hook: str, plugin: str, key: str) -> Any:
        """A data hook's answer for region ``key`` from ``plugin``, asked once."""
        if (hook, plugin, key) not in self._answers:
            self._answers[(hook, plugin, key)] = self.call_one(hook, plugin, region=key)
        return self._answers[(hook, plugin, key)]

    def sources(self) -> set[str]:
        """The files (sources) of every answer the plugins gave so far."""
        out = set()
        for value in self._answers.values():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if getattr(v, "source", ""):
                    out.add(v.source)
        return out

    def chain(self, key: str) -> list[str]:
        """``wucheng`` → ``[wucheng, urban]``."""
        out: list[str] = []
        while key is not None and key not in out:
            out.append(key)
            key = self.regions[key].parent  # type: ignore[assignment]
        return out

    def serving_plugin(self, key: str) -> str | None:
        return next((self.owner[k] for k in self.chain(key) if k in self.owner), None)

    def ask(self, hook: str, key: str) -> Answer | None:
        """The first non-None answer up the region chain, asking only serving plugins.
        For ``subsidy_rates`` the answer's value is the effective (merged) catalog."""
        if hook == "subsidy_rates":
            found = self.rates(key)
            return found[0] if found else None
        for k in self.chain(key):
            plugin = self.owner.get(k)
            if plugin is None:
                continue
            value = self.answer(hook, plugin, k)
            if value is not None:
                return Answer(value, plugin, k)
        return None

    def rates(self, key: str) -> tuple[Answer, Effective] | None:
        """The effective rates of a region with the origin of each entry, or None if it has none.

        A plugin's :class:`RateOverrides` is merged over the effective rates of the region it
        names; :class:`NoParentRates` if that region has none, or if the chain loops."""
        if key in self._rates:
            return self._rates[key]
        if key in self._resolving:
            loop = " → ".join([*self._resolving[self._resolving.index(key):], key])
            raise NoParentRates(f"补贴目录的继承关系成环：{loop}", f"插件 {self.serving_plugin(key)}（{key}）")
        self._resolving.append(key)
        try:
            found = None
            for k in self.chain(key):
                plugin = self.owner.get(k)
                if plugin is None:
                    continue
                value = self.answer("subsidy_rates", plugin, k)
                if value is None:
                    continue
                label = value.source or f"插件 {plugin}（{k}）"
                if isinstance(value, RateOverrides):
                    parent = self.rates(value.inherits) if value.inherits in self.regions else None
                    if parent is None:
                        name = self.regions[value.inherits].name if value.inherits in self.regions else "未知地区"
                        raise NoParentRates(f"{label}：继承自 {name}（{value.inherits}），但该地区尚无补贴目录", label)
                    effective = extend(parent[1], value, label)
                else:
                    effective = own(value, label)
                found = (Answer(effective.rates, plugin, k), effective)
                break
        finally:
            self._resolving.remove(key)
        self._rates[key] = found
        return found

    def resolve(self, key: str) -> RegionRules:
        """A region's rules as the plugins give them, unchecked; :class:`NoRate` if it has no catalog."""
        if key not in self.regions:
            raise NoRate(f"未知地区 {key!r}")
        answers = {h: self.ask(h, key) for h in self.DATA_HOOKS}
        missing = [h for h, a in answers.items() if a is None]
        plugin = self.serving_plugin(key)
        if plugin is None or missing:
            what = "无插件" if plugin is None else "缺少 " + "、".join(missing)
            raise NoRate(f"地区 {self.regions[key].name}（{key}）尚无补贴目录：{what}")
        rates = self.rates(key)
        return RegionRules(
            region=self.regions[key],
            plugin=plugin,
            rates=answers["subsidy_rates"].value,  # type: ignore[union-attr]
            rates_from=answers["subsidy_rates"],  # type: ignore[arg-type]
            shortage=tuple(answers["subsidy_shortage"].value),  # type: ignore[union-attr]
            eligibility=answers["subsidy_eligibility"].value,  # type: ignore[union-attr]
            funding=answers["subsidy_funding"].value,  # type: ignore[union-attr]
            region_names={k: r.name for k, r in self.regions.items()},
            effective=rates[1] if rates else None,
        )

    def rules(self, key: str) -> RegionRules:
        """Resolved rules for a region; :class:`NoRate` if it has no catalog, :class:`BrokenCatalog`
        if its catalog or one it inherits from fails a core invariant (it is then not evaluated)."""
        if key not in self._rules:
            try:
                self._rules[key] = self._guarded(key)
            except NoRate as exc:
                self._rules[key] = exc
        got = self._rules[key]
        if isinstance(got, NoRate):
            raise got
        return got

    def _guarded(self, key: str) -> RegionRules:
        from jinhua_subsidy.invariants import ERROR, region_findings

        rules = self.resolve(key)
        if not self.guard:
            return rules
        errors = [f for f in region_findings(self, key) if f.severity == ERROR]
        if errors:
            region = self.regions[key]
            more = f"；另有 {len(errors) - 1} 项" if len(errors) > 1 else ""
            raise BrokenCatalog(f"{errors[0]}（{region.name}（{key}）的补贴目录未通过核心规则检查，本地区申领不予计算"
                                f"{more}；运行 subsidy check 查看）", errors)
        return rules

    def served(self) -> list[str]:
        """Region keys that resolve to a full set of rules, in annex-1 order."""
        out = []
        for key in self.regions:
            try:
                self.rules(key)
            except NoRate:
                continue
            out.append(key)
        return out

    def funds(self) -> set[str]:
        """Every fund that exists (R17): city, district:<urban district>, county:<county>."""
        out = {"city"}
        for r in self.regions.values():
            if r.parent == "urban":
                out.add(f"district:{r.key}")
            elif r.parent is None and r.key != "urban":
                out.add(f"county:{r.key}")
        return out
