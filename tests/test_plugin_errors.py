"""Plugin failures are one-line messages, never tracebacks, exit status 2.

Each test installs a small outside distribution as pip would (a package and its ``.dist-info``
with RECORD, entry points and ``direct_url.json`` in a site folder of its own) and puts the
author's copy beside it, then runs the command line. Every message names the plugin and its
distribution, the hook, what was expected and what came back, and the author's own file.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy import manager
from jinhua_subsidy.cli import main
from jinhua_subsidy.manager import PluginError, PluginWarning, get_plugin_manager
from jinhua_subsidy.testing import person_id, write_claims_csv

DIST = "jinhua-subsidy-lanxi"

HEADER = """\
from importlib.resources import files

import polars as pl

from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.regions import Region
"""

_URBAN = (Path(__file__).parent.parent / "catalogs" / "urban.toml").read_text(encoding="utf-8")
#: 兰溪市 as a county with every section of its own: the urban catalog, its own area and fund.
CATALOG = (_URBAN[:_URBAN.index("[funding]")].replace('region = "urban"', 'region = "lanxi"')
           .replace('name = "金华市区"', 'name = "兰溪市"')
           .replace('area = ["urban", "wucheng", "jindong", "kaifaqu"]', 'area = ["lanxi"]')
           + '[funding]\n\n[[funding.rules]]\nchannel = "county:lanxi"\nclause = "main.4.3"\nreading = "R17"\n')


class Installed:
    """An installed outside distribution: ``site`` holds what pip installed, ``author`` the source."""

    def __init__(self, tmp: Path, package: str, code: str, *, ship_catalog: bool = True,
                 catalog: str = CATALOG) -> None:
        self.package = package
        self.author = tmp / "author" / DIST
        self.site = tmp / "site"
        src = self.author / "src" / package
        src.mkdir(parents=True)
        (src / "__init__.py").write_text(code, encoding="utf-8")
        (src / "lanxi.toml").write_text(catalog, encoding="utf-8")
        (self.author / "pyproject.toml").write_text(f'[project]\nname = "{DIST}"\nversion = "0.1"\n')
        installed = self.site / package
        installed.mkdir(parents=True)
        (installed / "__init__.py").write_text(code, encoding="utf-8")
        record = [f"{package}/__init__.py,,"]
        if ship_catalog:
            (installed / "lanxi.toml").write_text(catalog, encoding="utf-8")
            record.append(f"{package}/lanxi.toml,,")
        info = self.site / f"{DIST.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 0.1\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[jinhua_subsidy]\nlanxi = {package}:plugin\n", encoding="utf-8")
        (info / "direct_url.json").write_text(json.dumps({"url": self.author.as_uri(), "dir_info": {}}))
        record += [f"{info.name}/{n},," for n in ("METADATA", "entry_points.txt", "direct_url.json", "RECORD")]
        (info / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")

    def mine(self, name: str) -> str:
        """The author's copy of a file of the package."""
        return str(self.author / "src" / self.package / name)

    def installed(self, name: str) -> str:
        return str((self.site / self.package / name).resolve())

    def line(self, text: str) -> int:
        """The line of the author's ``__init__.py`` that holds ``text``."""
        lines = Path(self.mine("__init__.py")).read_text(encoding="utf-8").splitlines()
        return next(n for n, ln in enumerate(lines, start=1) if text in ln)


@pytest.fixture
def install(tmp_path, monkeypatch):
    monkeypatch.delenv(manager.NO_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(manager.DISABLE_ENV, raising=False)
    manager.author_file.cache_clear()

    def make(body: str, **kwargs: object) -> Installed:
        package = f"jinhua_lanxi_{uuid.uuid4().hex[:8]}"
        dist = Installed(tmp_path, package, HEADER + textwrap.dedent(body), **kwargs)  # type: ignore[arg-type]
        monkeypatch.syspath_prepend(str(dist.site))
        return dist

    yield make
    for name in [m for m in sys.modules if m.startswith("jinhua_lanxi_")]:
        del sys.modules[name]
    manager.author_file.cache_clear()


def one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("错误：") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("错误：").rstrip("\n")


CODE_PLUGIN = """
class Lanxi:
    def __init__(self):
        self.data = CatalogPlugin(files(__name__) / "lanxi.toml")

    @hookimpl
    def subsidy_regions(self):
        return self.data.subsidy_regions()

    @hookimpl
    def subsidy_shortage(self, region):
        return self.data.subsidy_shortage(region)

    @hookimpl
    def subsidy_eligibility(self, region):
        return self.data.subsidy_eligibility(region)

    @hookimpl
    def subsidy_funding(self, region):
        return self.data.subsidy_funding(region)
"""


# --- a wrong return type ----------------------------------------------------------------------------


def test_a_data_hook_that_returns_a_dict(install):
    dist = install(CODE_PLUGIN + """
    @hookimpl
    def subsidy_rates(self, region):
        return {"region": region, "uplift_limit": "0.30"}

plugin = Lanxi()
""")
    line = dist.line("def subsidy_rates")
    message = one_line_error(["plugins"])
    assert message == (f"plugin 'lanxi' ({DIST}), hook subsidy_rates: expected RateCatalog, RateOverrides or None, "
                       f"got dict ({dist.mine('__init__.py')}:{line})")
    assert one_line_error(["check"]) == message


def test_an_entry_of_the_wrong_type_is_named_by_its_key_path(install):
    install(CODE_PLUGIN + """
    @hookimpl
    def subsidy_rates(self, region):
        import attrs
        rates = self.data.subsidy_rates(region)
        return attrs.evolve(rates, qualification=(*rates.qualification, {"occupation": "*", "level": "4"}))

plugin = Lanxi()
""")
    message = one_line_error(["plugins"])
    assert ("hook subsidy_rates: expected RateCatalog, RateOverrides or None, got dict at qualification[6] ("
            in message)


def test_subsidy_adjust_that_returns_a_dict(install, tmp_path):
    dist = install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        return {"rows": claims.select("row")}

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    claims = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": "L1", "person_id": person_id(1), "region": "lanxi", "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4", "hukou": "lanxi"}])
    message = one_line_error(["evaluate", str(claims)])
    line = dist.line("def subsidy_adjust")
    assert message == (f"plugin 'lanxi' ({DIST}), hook subsidy_adjust: expected Adjustments or None, got dict "
                       f"({dist.mine('__init__.py')}:{line})")


# --- an exception raised inside a hook ----------------------------------------------------------------


def test_an_exception_inside_a_hook_names_the_authors_line(install):
    dist = install(CODE_PLUGIN + """
    @hookimpl
    def subsidy_rates(self, region):
        settings = {}
        return settings["rates"]

plugin = Lanxi()
""")
    message = one_line_error(["plugins"])
    line = dist.line('return settings["rates"]')
    assert message == (f"plugin 'lanxi' ({DIST}), hook subsidy_rates: raised KeyError: 'rates' "
                       f"(at {dist.mine('__init__.py')}:{line})")


def test_an_exception_inside_subsidy_adjust(install, tmp_path):
    dist = install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        return claims.select(pl.col("veteran"))

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    claims = write_claims_csv(tmp_path / "c.csv", [
        {"claim_id": "L1", "person_id": person_id(1), "region": "lanxi", "kind": "qualification",
         "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4", "hukou": "lanxi"}])
    message = one_line_error(["evaluate", str(claims)])
    assert message.startswith(f"plugin 'lanxi' ({DIST}), hook subsidy_adjust: raised ColumnNotFoundError: ")
    assert message.endswith(f"(at {dist.mine('__init__.py')}:{dist.line('pl.col(')})")


# --- a missing catalog file ---------------------------------------------------------------------------


def test_a_catalog_that_was_not_shipped(install):
    dist = install('plugin = CatalogPlugin(files(__name__) / "lanxi.toml")\n', ship_catalog=False)
    message = one_line_error(["plugins"])
    assert message == (
        f"plugin 'lanxi' ({DIST}), hook subsidy_regions: its catalog file lanxi.toml is not installed "
        f"({dist.installed('lanxi.toml')}): package data not shipped. In pyproject.toml add "
        f'[tool.setuptools.package-data] {dist.package} = ["*.toml"] and install again; '
        f"your copy is {dist.mine('lanxi.toml')}")
    assert one_line_error(["check"]) == message


# --- messages name the author's file, not the installed copy ------------------------------------------


def test_catalog_findings_and_format_errors_name_the_authors_file(install):
    broken = CATALOG.replace('on = "shortage"\nrate = "0.30"', 'on = "shortage"\nrate = "0.40"')
    dist = install('plugin = CatalogPlugin(files(__name__) / "lanxi.toml")\n', catalog=broken)
    result = CliRunner().invoke(main, ["check"])
    assert f"{dist.mine('lanxi.toml')}: uplifts[0].rate: [R11 main.4.2]" in result.stdout
    assert "site" not in result.stdout.split("uplifts[0]")[0]


def test_a_format_error_names_the_authors_file(install):
    dist = install('plugin = CatalogPlugin(files(__name__) / "lanxi.toml")\n',
                   catalog=CATALOG.replace('amount = "900"', "amount = 900.0"))
    assert one_line_error(["plugins"]).startswith(f"{dist.mine('lanxi.toml')}: qualification[3].amount: amount "
                                                  "900.0 is a binary float")


# --- mistakes pluggy lets pass ------------------------------------------------------------------------


def test_a_subsidy_function_without_hookimpl_is_a_warning(install):
    dist = install("""
class Lanxi(CatalogPlugin):
    def subsidy_adjust(self, region, claims, decisions):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    with pytest.warns(PluginWarning) as caught:
        get_plugin_manager()
    (w,) = [w for w in caught if issubclass(w.category, PluginWarning)]
    assert str(w.message) == (f"plugin 'lanxi' ({DIST}): subsidy_adjust is not marked @hookimpl, so it is never "
                              "called; put @hookimpl above it (from jinhua_subsidy.hookspecs import hookimpl)")
    assert (w.filename, w.lineno) == (dist.mine("__init__.py"), dist.line("def subsidy_adjust"))


def test_an_unmarked_misspelt_function_gets_a_suggestion(install):
    install("""
class Lanxi(CatalogPlugin):
    def subsidy_adjsut(self, region, claims, decisions):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_plugin_manager()
    assert any("subsidy_adjsut is not marked @hookimpl" in str(w.message)
               and str(w.message).endswith("; did you mean `subsidy_adjust`?") for w in caught)


def test_a_misspelt_hook_says_did_you_mean(install):
    dist = install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_rate(self, region):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    assert one_line_error(["plugins"]) == (
        f"plugin 'lanxi' ({DIST}) implements an unknown hook subsidy_rate "
        f"({dist.mine('__init__.py')}:{dist.line('def subsidy_rate')}); did you mean `subsidy_rates`?")


def test_a_hook_argument_the_spec_does_not_have(install):
    install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims, decisions, colour):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    message = one_line_error(["plugins"])
    assert message.startswith(f"plugin 'lanxi' ({DIST}) cannot be registered: ")
    assert "{'colour'}" in message and "can not be found in the hookspec" in message


def test_a_region_conflict_says_how_to_leave_one_out(install):
    install('plugin = CatalogPlugin(files(__name__) / "lanxi.toml")\n',
            catalog=CATALOG.replace('region = "lanxi"', 'region = "yiwu"')
            .replace('name = "兰溪市"', 'name = "义乌市"'))
    from jinhua_subsidy.engine import Engine
    from jinhua_subsidy.rulebook import RulebookError

    with pytest.raises(RulebookError) as err:
        Engine(get_plugin_manager())
    assert str(err.value) == (f"region 'yiwu' is claimed by two plugins: 'lanxi' ({DIST}) and 'yiwu' "
                              "(jinhua-subsidy); leave one out with `--disable yiwu` (or `--disable lanxi`)")
    message = one_line_error(["plugins"])
    assert "yiwu" in message and "lanxi" in message and "--disable" in message
    result = CliRunner().invoke(main, ["--disable", "yiwu", "plugins", "--format", "json"])
    assert result.exit_code == 0


def test_the_errors_are_plugin_errors_in_code_too(install):
    install(CODE_PLUGIN + """
    @hookimpl
    def subsidy_rates(self, region):
        return [self.data.subsidy_rates(region)]

plugin = Lanxi()
""")
    from jinhua_subsidy.engine import Engine

    with pytest.raises(PluginError) as err:
        Engine(get_plugin_manager())
    assert "hook subsidy_rates: expected RateCatalog, RateOverrides or None, got list (" in str(err.value)


# --- hook evolution: a deprecated argument (pluggy's warn_on_impl_args) --------------------------------


def test_no_hook_argument_is_deprecated_today():
    from jinhua_subsidy import hookspecs

    assert hookspecs.DEPRECATED_ARGUMENTS == {}
    pm = get_plugin_manager(autoload=False)
    assert all(hc.spec.opts["warn_on_impl_args"] is None for hc in vars(pm.hook).values() if hc.has_spec())


def test_a_deprecated_argument_warns_the_plugins_that_take_it(install, monkeypatch):
    from jinhua_subsidy import hookspecs

    retiring = {"subsidy_adjust": {"decisions": "0.3.0: read the decision columns from claims"}}
    monkeypatch.setitem(hookspecs.subsidy_adjust.jinhua_subsidy_spec, "warn_on_impl_args",
                        hookspecs.deprecated("subsidy_adjust", retiring))
    install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims, decisions):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    with pytest.warns(hookspecs.HookArgumentDeprecated) as caught:
        get_plugin_manager()
    (w,) = caught
    assert str(w.message) == ("subsidy_adjust: the argument 'decisions' is deprecated since 0.3.0: read the "
                              "decision columns from claims; it will be removed in a later release")
    assert w.filename.endswith("__init__.py")


def test_a_plugin_without_the_deprecated_argument_is_not_warned(install, monkeypatch):
    from jinhua_subsidy import hookspecs

    monkeypatch.setitem(hookspecs.subsidy_adjust.jinhua_subsidy_spec, "warn_on_impl_args",
                        hookspecs.deprecated("subsidy_adjust", {"subsidy_adjust": {"decisions": "0.3.0"}}))
    install("""
class Lanxi(CatalogPlugin):
    @hookimpl
    def subsidy_adjust(self, region, claims):
        return None

plugin = Lanxi(files(__name__) / "lanxi.toml")
""")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_plugin_manager()
