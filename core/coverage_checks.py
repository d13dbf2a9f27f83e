"""What breaks evaluation though every catalog loads (issue 7): findings for ``subsidy check``.

Every one is an ``error`` finding (exit status 1), never a usage error:

* ``region`` (annex1) — a catalog region that is no region of annex 1 nor one a plugin declares as
  its own: a built-in plugin's catalog serves an annex-1 region (``region = "urbn"`` in
  ``catalogs/urban.toml`` leaves 金华市区 without a catalog); an outside plugin may declare a new
  region, but not one a letter or two from an annex-1 key (``urbn``, ``yiwuu``) without a parent;
  a ``parent`` that is no region at all (:func:`unknown_parents`).
* ``coverage`` (main.4.4) — a region a plugin declares with nothing to evaluate: no rates,
  shortage list, eligibility or funding of its own nor from a parent region (a catalog of nothing
  but its ``[catalog]`` table). It replaces the ``coverage`` note of that region: every claim of
  it would be a row error.
* ``region`` (annex1) — a catalog whose region another plugin serves (``region = "yiwu"`` in
  ``urban.toml``), or that gives an annex-1 region another parent. The engine cannot be built
  then; :func:`declaration_findings` finds these from the plugins' declarations alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jinhua_subsidy.catalog import CatalogError
from jinhua_subsidy.invariants import ERROR, NOTE, Finding, format_findings
from jinhua_subsidy.regions import KNOWN_REGIONS, Region
from jinhua_subsidy.rulebook import NoRate, Rulebook

if TYPE_CHECKING:
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.manager import SubsidyPluginManager

ANNEX1 = {r.key: r for r in KNOWN_REGIONS}
#: How alike a new key and an annex-1 key are before the new key is taken for a misspelling.
MISSPELLED = 0.75


def coverage_findings(engine: Engine, found: Sequence[Finding]) -> list[Finding]:
    """``found`` (run_checks' findings) with the ones of this module added; a ``coverage`` note
    of a region with nothing to evaluate becomes the error that says so."""
    rb = engine.rulebook
    out = list(found)
    for key, plugin in sorted(rb.owner.items()):
        region = rb.regions[key]
        where = plugin_file(rb.pm, plugin)
        out += _unknown_region(rb, key, region, plugin, where)
        if _nothing_to_evaluate(rb, key):
            out = [f for f in out if not (f.rule == "coverage" and f.severity == NOTE and f"（{key}）" in f.message)]
            out.append(Finding(
                file=where, path="", rule="coverage", clause="main.4.4",
                message=f"插件 {plugin} 声明了地区{region.name}（{key}），但没有任何可用于计算的内容（本地区及上级地区"
                        f"均无补贴标准、紧缺职业目录、补贴对象和资金渠道），该地区的申领将全部无法处理"))
    return out


def unknown_parents(engine: Engine) -> list[Finding]:
    """A declared region whose ``parent`` is no region (annex 1 or declared by a plugin). The other
    checks walk up the parents, so ``subsidy check`` runs this first and reports only it."""
    rb = engine.rulebook
    out = []
    for key, plugin in sorted(rb.owner.items()):
        parent = rb.regions[key].parent
        if parent is not None and parent not in rb.regions:
            out.append(Finding(
                file=plugin_file(rb.pm, plugin), path="catalog.parent", rule="region", clause="annex1",
                message=f"{rb.regions[key].name}（{key}）的上级地区 {parent!r} 既不是附件1的地区，也不是任何插件声明的"
                        f"地区{_did_you_mean(parent)}"))
    return out


def _unknown_region(rb: Rulebook, key: str, region: Region, plugin: str, where: str) -> list[Finding]:
    out: list[Finding] = []
    if key in ANNEX1:
        return out
    info = rb.pm.info.get(plugin)
    close = _did_you_mean(key)
    if info is not None and info.builtin:
        out.append(Finding(
            file=where, path="catalog.region", rule="region", clause="annex1",
            message=f"地区代码 {key!r} 不是附件1的地区（{'、'.join(ANNEX1)}）：内置插件 {plugin} 的目录须服务附件1的"
                    f"地区{close}"))
    elif region.parent is None and close:
        out.append(Finding(
            file=where, path="catalog.region", rule="region", clause="annex1",
            message=f"地区代码 {key!r} 不是附件1的地区，也没有上级地区{close}（新设地区请另取代码并写明 parent）"))
    return out


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key.strip().lower(), list(ANNEX1), n=1, cutoff=MISSPELLED)
    return f"；是否应为 {close[0]!r}（{ANNEX1[close[0]].name}）？" if close else ""


def _nothing_to_evaluate(rb: Rulebook, key: str) -> bool:
    """Whether no data hook gives region ``key`` anything, up its chain (an answer that cannot be
    loaded is something: it is reported as a format finding)."""
    for hook in Rulebook.DATA_HOOKS:
        try:
            if rb.ask(hook, key) is not None:
                return False
        except (CatalogError, NoRate, KeyError):
            return False
    return True


def plugin_file(pm: SubsidyPluginManager, plugin: str) -> str:
    """How a finding names a plugin: its catalog file, else ``插件 NAME``."""
    obj: Any = pm.get_plugin(plugin)
    load = getattr(obj, "file", None)
    if callable(load):
        try:
            source = load().source
        except (CatalogError, AttributeError, TypeError):
            source = None
        if isinstance(source, str) and source:
            return source
    return f"插件 {plugin}"


def declaration_findings(pm: SubsidyPluginManager) -> list[Finding]:
    """Findings for plugins whose declared regions cannot be put together (two plugins serve one
    region; an annex-1 region with another parent), asked of every plugin on its own; empty when
    the declarations are not the trouble."""
    declared: dict[str, list[tuple[str, Region]]] = {}
    out: list[Finding] = []
    for name in sorted({i.plugin_name for i in pm.hook.subsidy_regions.get_hookimpls()}):
        others = [p for n, p in pm.list_name_plugin() if n != name]
        try:
            answers = pm.subset_hook_caller("subsidy_regions", remove_plugins=others)()
        except CatalogError as exc:
            out += format_findings(exc)
            continue
        for regions in answers:
            for region in regions or ():
                if isinstance(region, Region):
                    declared.setdefault(region.key, []).append((name, region))
    for key, claims in sorted(declared.items()):
        names = [n for n, _ in claims]
        home = key if key in names else next((n for n in names if n in ANNEX1), names[0])
        for name, region in claims:
            where = plugin_file(pm, name)
            if name != home:
                label = f"{ANNEX1[key].name}（{key}）" if key in ANNEX1 else repr(key)
                dist = pm.info[home].distribution if home in pm.info else "?"
                out.append(Finding(
                    file=where, path="catalog.region", rule="region", clause="annex1",
                    message=f"地区{label}已由插件 {home!r}（{dist}）服务，插件 {name!r} 的目录不能再服务该地区：请改正 "
                            f"[catalog] 的 region，或用 --disable {name} 停用其中一个插件"))
            known = ANNEX1.get(key)
            if known is not None and region.parent != known.parent:
                out.append(Finding(
                    file=where, path="catalog.parent", rule="region", clause="annex1",
                    message=f"{known.name}（{key}）在附件1中的上级地区为 {known.parent or '无'}，插件 {name} 给出的是 "
                            f"{region.parent or '无'}（要沿用其他地区的补贴标准，请在目录中写 inherits）"))
    return list(dict.fromkeys(out)) if any(f.severity == ERROR for f in out) else []
