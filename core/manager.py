"""The plugin manager factory. Nothing is registered at import time."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from importlib import metadata

import pluggy
from attrs import frozen

from jinhua_subsidy import __version__, hookspecs

#: Plugins shipped with the framework, registered in this order by name.
BUILTIN_PLUGINS: tuple[str, ...] = ("urban", "wucheng", "yiwu", "dongyang")
#: Comma-separated plugin names to leave out (like pytest's ``-p no:name``).
DISABLE_ENV = "SUBSIDY_DISABLE_PLUGINS"
#: Set to 1 to load no outside plugins from the entry-point group.
NO_AUTOLOAD_ENV = "SUBSIDY_DISABLE_PLUGIN_AUTOLOAD"


class PluginError(Exception):
    """A plugin that cannot be loaded or registered; the message names it."""


@frozen
class PluginInfo:
    name: str
    version: str
    builtin: bool
    distribution: str


class SubsidyPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}

    def add(self, plugin: object, info: PluginInfo) -> None:
        if info.name in self.info:
            raise PluginError(f"two plugins are named {info.name!r}: "
                              f"{self.info[info.name].distribution} and {info.distribution}")
        try:
            self.register(plugin, name=info.name)
        except Exception as exc:
            raise PluginError(f"plugin {info.name!r} ({info.distribution}) cannot be registered: {exc}") from exc
        self.info[info.name] = info

    def implements(self, name: str, hook: str) -> bool:
        return any(i.plugin_name == name for i in getattr(self.hook, hook).get_hookimpls())

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.get_plugin(name)
        return sorted(c.name for c in (self.get_hookcallers(plugin) or []))


def get_plugin_manager(
    *, disable: Iterable[str] = (), autoload: bool | None = None, extra: Iterable[tuple[str, object]] = ()
) -> SubsidyPluginManager:
    """Build the manager: specs, built-ins, outside plugins, then ``check_pending()``.

    ``extra`` registers (name, plugin) pairs as outside plugins (tests use it).
    """
    off = set(disable) | {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
    if autoload is None:
        autoload = os.environ.get(NO_AUTOLOAD_ENV, "") not in ("1", "true")
    pm = SubsidyPluginManager()
    for name in BUILTIN_PLUGINS:
        if name in off:
            continue
        try:
            module = importlib.import_module(f"jinhua_subsidy.plugins.{name}")
        except Exception as exc:
            raise PluginError(f"built-in plugin {name!r} failed to load: {exc}") from exc
        pm.add(module.plugin, PluginInfo(name, __version__, True, "jinhua-subsidy"))
    if autoload:
        for ep in sorted(metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in off:
                continue
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} (entry point {ep.value} in {dist}) failed to load: {exc}"
                ) from exc
            pm.add(plugin, PluginInfo(ep.name, version, False, dist))
    for name, plugin in extra:
        if name not in off:
            pm.add(plugin, PluginInfo(name, getattr(plugin, "__version__", "0"), False, "(registered in code)"))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        removed = [m for h, m in hookspecs.REMOVED_HOOKS.items() if h in str(exc)]
        if removed:
            raise PluginError(f"plugin {name!r}: {removed[0]}") from exc
        raise PluginError(f"plugin {name!r} implements an unknown hook: {exc}") from exc
    return pm
