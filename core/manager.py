"""The plugin manager factory. Nothing is registered at import time.

Every hook call passes the boundary check of :class:`SubsidyPluginManager`: an answer of the
wrong type or shape, or an exception raised inside a hook, becomes one :class:`PluginError`
line naming the plugin, its distribution, the hook, what was expected and what came back, and
where it can, the author's own file (:func:`author_file`), never a traceback.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import json
import os
import types
import typing
import warnings
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import attrs
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
    """A plugin that cannot be loaded or registered, or that answered a hook wrongly; the message
    names it. A usage error: the command line exits 2."""


class PluginWarning(UserWarning):
    """A plugin that is probably not what its author meant (a ``subsidy_*`` function without
    ``@hookimpl``, which is never called)."""


@frozen
class PluginInfo:
    name: str
    version: str
    builtin: bool
    distribution: str


class SubsidyPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers where each plugin came from, and checks every answer
    at the hook boundary."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.add_hookcall_monitoring(_ignore, self._after)

    def add(self, plugin: object, info: PluginInfo) -> None:
        if info.name in self.info:
            raise PluginError(f"two plugins are named {info.name!r}: "
                              f"{self.info[info.name].distribution} and {info.distribution}")
        try:
            self.register(plugin, name=info.name)
        except Exception as exc:
            where = _where_object(plugin)
            text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise PluginError(f"plugin {info.name!r} ({info.distribution}) cannot be registered: {text}"
                              + (f" ({where})" if where else "")) from None
        self.info[info.name] = info
        self._warn_unmarked(plugin, info)

    def implements(self, name: str, hook: str) -> bool:
        return any(i.plugin_name == name for i in getattr(self.hook, hook).get_hookimpls())

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.get_plugin(name)
        return sorted(c.name for c in (self.get_hookcallers(plugin) or []))

    def describe(self, name: str) -> str:
        """``plugin 'lanxi' (jinhua-subsidy-lanxi)``."""
        info = self.info.get(name)
        return f"plugin {name!r} ({info.distribution if info else '?'})"

    def spec_names(self) -> list[str]:
        return sorted(n for n, hc in vars(self.hook).items() if hc.has_spec())

    # --- the hook boundary ---------------------------------------------------------------------

    def _after(self, outcome: pluggy.Result[Any], hook: str, impls: Sequence[pluggy.HookImpl],
               kwargs: Mapping[str, object]) -> None:
        from jinhua_subsidy.catalog import CatalogError, CatalogFileMissing

        exc = outcome.exception
        if exc is not None:
            if isinstance(exc, PluginError) or not isinstance(exc, Exception):
                return
            impl = _raising_impl(exc, impls)
            who = self._who(impl, impls, hook)
            if isinstance(exc, CatalogFileMissing):
                outcome.force_exception(PluginError(f"{who}: {_missing_file(exc.file)}"))
            elif not isinstance(exc, CatalogError):  # a catalog's format errors name file and key path
                where = _where_raised(exc, impl)
                outcome.force_exception(PluginError(
                    f"{who}: raised {type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")))
            return
        expected = _EXPECTED.get(hook)
        if expected is None:  # a hook this check does not know yet: nothing to check
            return
        for value in outcome.get_result():
            problem = _check_answer(hook, value, expected)
            if problem is not None:
                impl = impls[0] if len(impls) == 1 else None
                where = _where_function(impl.function) if impl else ""
                outcome.force_exception(PluginError(
                    f"{self._who(impl, impls, hook)}: {problem}" + (f" ({where})" if where else "")))
                return

    def _who(self, impl: pluggy.HookImpl | None, impls: Sequence[pluggy.HookImpl], hook: str) -> str:
        if impl is not None:
            return f"{self.describe(impl.plugin_name)}, hook {hook}"
        names = ", ".join(repr(i.plugin_name) for i in impls)
        return f"one of the plugins {names}, hook {hook}"

    # --- mistakes pluggy lets pass ----------------------------------------------------------------

    def _warn_unmarked(self, plugin: object, info: PluginInfo) -> None:
        """A ``subsidy_*`` function without ``@hookimpl`` is never called: say so."""
        specs = self.spec_names()
        for name in sorted(dir(plugin)):
            if not name.startswith("subsidy_") or name in hookspecs.REMOVED_HOOKS:
                continue
            try:
                value = getattr(plugin, name)
            except Exception:  # pragma: no cover - a property that fails
                continue
            if not callable(value) or self.parse_hookimpl_opts(plugin, name) is not None:
                continue
            hint = "" if name in specs else _did_you_mean(name, specs)
            code = _code(value)
            warnings.warn_explicit(
                f"plugin {info.name!r} ({info.distribution}): {name} is not marked @hookimpl, so it is never "
                f"called; put @hookimpl above it (from jinhua_subsidy.hookspecs import hookimpl){hint}",
                PluginWarning, filename=author_file(code.co_filename) if code else "?",
                lineno=_def_line(code) if code else 0, module=getattr(value, "__module__", None) or "?")

    def unknown_hooks(self) -> list[tuple[str, pluggy.HookImpl]]:
        """(hook name, implementation) of every ``@hookimpl`` whose name is no hook spec."""
        out = []
        for name, caller in sorted(vars(self.hook).items()):
            if not caller.has_spec():
                out += [(name, impl) for impl in caller.get_hookimpls() if not impl.optionalhook]
        return out


def _ignore(*_args: object) -> None:
    return None


# --- what each hook returns --------------------------------------------------------------------


def _expected_types() -> dict[str, tuple[str, Any]]:
    """Hook → (what a plugin must return, in words; the type to check against)."""
    from jinhua_subsidy.inheritance import RateOverrides
    from jinhua_subsidy.models import Eligibility, Funding, RateCatalog, ShortageList
    from jinhua_subsidy.regions import Region

    return {
        "subsidy_regions": ("a list of Region", tuple[Region, ...]),
        "subsidy_rates": ("RateCatalog, RateOverrides or None", RateCatalog | RateOverrides),
        "subsidy_shortage": ("a list of ShortageList or None", tuple[ShortageList, ...]),
        "subsidy_eligibility": ("Eligibility or None", Eligibility),
        "subsidy_funding": ("Funding or None", Funding),
        "subsidy_adjust": ("Adjustments or None", "Adjustments"),
    }


class _Expected(Mapping[str, tuple[str, Any]]):
    """:func:`_expected_types`, built on first use (the models are imported then)."""

    @functools.cached_property
    def _table(self) -> dict[str, tuple[str, Any]]:
        return _expected_types()

    def __getitem__(self, key: str) -> tuple[str, Any]:
        return self._table[key]

    def __iter__(self) -> typing.Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


_EXPECTED = _Expected()


def _check_answer(hook: str, value: object, expected: tuple[str, Any]) -> str | None:
    words, hint = expected
    if hint == "Adjustments":
        from jinhua_subsidy.adjust import Adjustments

        hint = Adjustments
    problem = _shape(value, hint, "")
    if problem is None and hook == "subsidy_rates":
        problem = _overrides_shape(value)
    if problem is None:
        return None
    where, got = problem
    if not where:
        return f"expected {words}, got {got}"
    return f"expected {words}, got {got} at {where.lstrip('.')}"


def _overrides_shape(value: object) -> tuple[str, str] | None:
    """The entries of a RateOverrides' ``tables``: each table's own model class."""
    from jinhua_subsidy.inheritance import RateOverrides, entry_class, rate_tables

    if not isinstance(value, RateOverrides):
        return None
    for table, entries in value.tables.items():
        if table not in rate_tables():
            continue
        path = f".tables[{table!r}]"
        if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Sequence):
            return path, _name(entries)
        for i, entry in enumerate(entries):
            found = _shape(entry, entry_class(table), f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _name(value: object) -> str:
    return type(value).__name__


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _shape(value: object, hint: Any, path: str) -> tuple[str, str] | None:
    """None if ``value`` fits ``hint``, else (key path, what came instead). Containers are lenient
    (a list for a tuple), contents strict: every entry of a table is the model class."""
    if hint is Any or isinstance(hint, typing.TypeVar):
        return None
    supertype = getattr(hint, "__supertype__", None)  # NewType: Fen, RateBp
    if supertype is not None:
        return _shape(value, supertype, path)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        fits = [a for a in args if a is not type(None) and _shape(value, a, path) is None]
        if fits:
            return None
        classes = [a for a in args if isinstance(a, type) and isinstance(value, a)]
        return _shape(value, classes[0], path) if classes else (path, _name(value))
    if origin is tuple:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            return path, _name(value)
        element = typing.get_args(hint)[0]
        for i, v in enumerate(value):
            found = _shape(v, element, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if origin is not None:  # Mapping[...], dict[...]: the container only
        return None if isinstance(value, origin) else (path, _name(value))
    if hint is type(None):
        return None if value is None else (path, _name(value))
    if not isinstance(hint, type):
        return None
    if hint is int and isinstance(value, bool):
        return path, _name(value)
    if not isinstance(value, hint):
        return path, _name(value)
    if attrs.has(hint):
        hints = _hints(hint)
        for f in attrs.fields(hint):
            found = _shape(getattr(value, f.name), hints[f.name], f"{path}.{f.name}")
            if found is not None:
                return found
    return None


# --- where: the author's own file ---------------------------------------------------------------


@functools.cache
def author_file(path: str) -> str:
    """The author's copy of an installed file: for a distribution installed from a local folder
    (``pip install ./jinhua-subsidy-lanxi``, recorded in its ``direct_url.json``), the same file in
    that folder (``src/jinhua_lanxi/lanxi.toml``) when it exists; else ``path`` unchanged."""
    if not Path(path).is_file():
        return path
    return author_copy(path) or path


def author_copy(path: str) -> str | None:
    """The author's copy of ``path``, a file a distribution installed (or should have: a file of
    its package folder that is missing), if the distribution came from a local folder."""
    try:
        file = Path(path).resolve()
    except (OSError, RuntimeError):
        return None
    for site in file.parents:
        infos = list(site.glob("*.dist-info")) if site.is_dir() else []
        if not infos:
            continue
        rel = file.relative_to(site)
        for info in infos:
            root = _local_root(info)
            if root is None or not _owns(info, rel):
                continue
            for candidate in (root / rel, root / "src" / rel):
                if candidate.is_file():
                    return str(candidate)
        return None
    return None


def _local_root(info: Path) -> Path | None:
    try:
        data = json.loads((info / "direct_url.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = urlparse(str(data.get("url", "")))
    if url.scheme != "file" or data.get("dir_info", {}).get("editable"):
        return None
    root = Path(unquote(url.path))
    return root if root.is_dir() else None


def _owns(info: Path, rel: Path) -> bool:
    """Whether the distribution of ``info`` installed ``rel``, or a file in its folder (a file it
    should have shipped and did not)."""
    try:
        record = (info / "RECORD").read_text(encoding="utf-8")
    except OSError:
        return False
    files = {line.split(",")[0] for line in record.splitlines()}
    folder = rel.parent.as_posix() + "/"
    return rel.as_posix() in files or any(f.startswith(folder) for f in files)


def _code(func: Any) -> types.CodeType | None:
    return getattr(inspect.unwrap(getattr(func, "__func__", func)), "__code__", None)


def _def_line(code: types.CodeType) -> int:
    """The line of ``def`` (``co_firstlineno`` is the first decorator's)."""
    import linecache

    for n in range(code.co_firstlineno, code.co_firstlineno + 20):
        if linecache.getline(code.co_filename, n).lstrip().startswith(("def ", "async def ")):
            return n
    return code.co_firstlineno


def _where_function(func: Any) -> str:
    code = _code(func)
    return f"{author_file(code.co_filename)}:{_def_line(code)}" if code else ""


def _where_object(plugin: object) -> str:
    try:
        file = inspect.getsourcefile(plugin if inspect.ismodule(plugin) else type(plugin))
    except TypeError:
        return ""
    return author_file(file) if file else ""


def _where_raised(exc: BaseException, impl: pluggy.HookImpl | None) -> str:
    """The innermost line of the traceback in the plugin's own folder (else outside the core,
    pluggy and the libraries): the author's line."""
    code = _code(impl.function) if impl else None
    home = str(Path(code.co_filename).resolve().parent) if code else None
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        file = str(Path(tb.tb_frame.f_code.co_filename).resolve())
        if home is not None and file.startswith(home):
            where = f"{author_file(file)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _raising_impl(exc: BaseException, impls: Sequence[pluggy.HookImpl]) -> pluggy.HookImpl | None:
    if len(impls) == 1:
        return impls[0]
    codes = {}
    for impl in impls:
        code = getattr(inspect.unwrap(getattr(impl.function, "__func__", impl.function)), "__code__", None)
        if code is not None:
            codes[code] = impl
    tb = exc.__traceback__
    found = None
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def _missing_file(path: str) -> str:
    installed = Path(path)
    mine = author_copy(path)
    package = installed.parent.name
    yours = f"; your copy is {mine}" if mine else ""
    return (f"its catalog file {installed.name} is not installed ({path}): package data not shipped. "
            f"In pyproject.toml add [tool.setuptools.package-data] {package} = [\"*.toml\"] and install "
            f"again{yours}")


def _did_you_mean(name: str, specs: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, specs, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else f"; the hooks are {', '.join(specs)}"


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
    unknown = pm.unknown_hooks()
    if unknown:
        hook, impl = unknown[0]
        removed = hookspecs.REMOVED_HOOKS.get(hook)
        if removed:
            raise PluginError(f"plugin {impl.plugin_name!r}: {removed}")
        raise PluginError(f"{pm.describe(impl.plugin_name)} implements an unknown hook {hook} "
                          f"({_where_function(impl.function)}){_did_you_mean(hook, pm.spec_names())}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # pragma: no cover - unknown hooks are caught above
        name = pm.get_name(exc.plugin) or "?"
        raise PluginError(f"plugin {name!r} implements an unknown hook: {exc}") from exc
    return pm
