"""Resolve each region's data once: which plugin serves it, and its catalogs.

The rulebook asks the data hooks once per region (walking up to the parent
region when a plugin answers ``None``) and answers date look-ups from that data.
A date no catalog covers raises :class:`NoRate`: a missing rate is never 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from attrs import frozen

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


class RulebookError(Exception):
    """Plugins that disagree (two serve one region) or a region that cannot be resolved."""


class NoRate(Exception):
    """No catalog value in force for a claim: a row error, never a rate of 0."""


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
                raise RulebookError(
                    f"region {region.key!r} is claimed by two plugins: {self.owner[region.key]!r} and {plugin!r}"
                )
            known = self.regions.get(region.key)
            if known is not None and known.parent != region.parent:
                raise RulebookError(
                    f"plugin {plugin!r} gives region {region.key!r} parent {region.parent!r}; "
                    f"annex 1 has {known.parent!r}"
                )
            self.owner[region.key] = plugin
            self.regions[region.key] = region
        self._rules: dict[str, RegionRules] = {}

    def call_one(self, hook: str, plugin: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one plugin only; its answer or None."""
        others = [p for n, p in self.pm.list_name_plugin() if n != plugin]
        results = self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)
        return results[0] if results else None

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
        """The first non-None answer up the region chain, asking only serving plugins."""
        for k in self.chain(key):
            plugin = self.owner.get(k)
            if plugin is None:
                continue
            value = self.call_one(hook, plugin, region=k)
            if value is not None:
                return Answer(value, plugin, k)
        return None

    def rules(self, key: str) -> RegionRules:
        """Resolved rules for a region; :class:`NoRate` if it has no catalog."""
        if key in self._rules:
            return self._rules[key]
        if key not in self.regions:
            raise NoRate(f"未知地区 {key!r}")
        answers = {h: self.ask(h, key) for h in self.DATA_HOOKS}
        missing = [h for h, a in answers.items() if a is None]
        plugin = self.serving_plugin(key)
        if plugin is None or missing:
            what = "无插件" if plugin is None else "缺少 " + "、".join(missing)
            raise NoRate(f"地区 {self.regions[key].name}（{key}）尚无补贴目录：{what}")
        rules = RegionRules(
            region=self.regions[key],
            plugin=plugin,
            rates=answers["subsidy_rates"].value,  # type: ignore[union-attr]
            rates_from=answers["subsidy_rates"],  # type: ignore[arg-type]
            shortage=tuple(answers["subsidy_shortage"].value),  # type: ignore[union-attr]
            eligibility=answers["subsidy_eligibility"].value,  # type: ignore[union-attr]
            funding=answers["subsidy_funding"].value,  # type: ignore[union-attr]
            region_names={k: r.name for k, r in self.regions.items()},
        )
        self._rules[key] = rules
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
