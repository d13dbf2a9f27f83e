"""Hook specifications: everything a county plugin can tell the engine.

Read this file to write a plugin; you should not need the rest of the core.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names
are the specs below; all start with ``subsidy_``. Implement only the hooks you
need and take only the arguments you use (adding an argument to a spec later is
safe; renaming one goes through a deprecation period).

Most plugins are pure data. :class:`jinhua_subsidy.plugin_kit.CatalogPlugin`
implements every data hook from one TOML file, so a county's whole plugin is::

    # mycounty/__init__.py
    from importlib.resources import files
    from jinhua_subsidy.plugin_kit import CatalogPlugin

    plugin = CatalogPlugin(files("mycounty") / "lanxi.toml")

and in its ``pyproject.toml``::

    [project.entry-points."jinhua_subsidy"]
    lanxi = "mycounty:plugin"

How answers are collected
-------------------------
* ``subsidy_regions`` is called on every plugin; answers are collected with the
  plugin that gave them and sorted by region key, never by registration order.
  Two plugins claiming one region is an error that names both.
* The data hooks (``subsidy_rates``, ``subsidy_shortage``, ``subsidy_eligibility``,
  ``subsidy_funding``) are called once per region, only on the plugin that serves
  that region. Returning ``None`` means "same as my parent region": the engine
  then asks the plugin serving the parent (婺城区 → 市区). A region whose chain
  gives no answer has no catalog, and its claims are reported as errors: a
  missing rate is never 0.
* Data hooks return frozen attrs objects from :mod:`jinhua_subsidy.models`, with
  every value dated and cited. The engine compiles them once and evaluates every
  claim from that data, so these hooks cost nothing per claim.
* ``subsidy_adjust`` is for what data cannot say: it gets a region's claims and decisions
  as polars DataFrames and returns adjustments as columns, so it stays fast.
* Every answer is checked at the hook boundary: the wrong type or shape (a dict for a
  ``RateCatalog``), or an exception raised inside a hook, stops the command with one line
  naming the plugin, its distribution, the hook, what was expected and what came back, and
  the author's own file (exit status 2). A ``subsidy_*`` function without ``@hookimpl`` is a
  warning (it is never called); a misspelt hook name is an error with "did you mean".

How the specs change
--------------------
* Adding an argument to a spec is safe: implementations take only the arguments they name.
* An argument that is going away is first **deprecated**: it is listed in
  :data:`DEPRECATED_ARGUMENTS` with the version and what to use instead, and the spec passes
  :func:`deprecated` to pluggy's ``warn_on_impl_args`` (pluggy >= 1.5). An implementation that
  still takes it gets a :class:`HookArgumentDeprecated` warning pointing at its own ``def`` line
  when it is registered, while the argument is still passed. It is removed no earlier than the
  next minor release. A removed hook is listed in :data:`REMOVED_HOOKS` with what replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import polars as pl

    from jinhua_subsidy.adjust import Adjustments
    from jinhua_subsidy.models import Eligibility, Funding, RateCatalog, ShortageList
    from jinhua_subsidy.regions import Region

PROJECT = "jinhua_subsidy"
#: Entry-point group through which outside (county) plugins are installed.
ENTRY_POINT_GROUP = "jinhua_subsidy"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookArgumentDeprecated(FutureWarning):
    """A plugin's implementation takes a hook argument that is going away (shown by default)."""


#: Hook → {argument: since which version, why, and what to use instead}. Empty while no argument
#: is being retired. Example entry::
#:
#:     "subsidy_adjust": {"decisions": "0.3.0: use the decision columns of ``claims`` instead"}
DEPRECATED_ARGUMENTS: dict[str, dict[str, str]] = {}


def deprecated(hook: str, arguments: dict[str, dict[str, str]] | None = None) -> dict[str, Warning] | None:
    """The ``warn_on_impl_args`` of ``hook``: a :class:`HookArgumentDeprecated` per deprecated
    argument (from :data:`DEPRECATED_ARGUMENTS`, or ``arguments``), or None."""
    table = DEPRECATED_ARGUMENTS if arguments is None else arguments
    found: dict[str, Warning] = {arg: HookArgumentDeprecated(f"{hook}: the argument {arg!r} is deprecated since {why}; "
                                         "it will be removed in a later release")
             for arg, why in table.get(hook, {}).items()}
    return found or None


@hookspec(warn_on_impl_args=deprecated("subsidy_regions"))
def subsidy_regions() -> Sequence[Region]:  # type: ignore[empty-body]
    """The regions this plugin serves.

    Receives nothing. Returns a sequence of :class:`~jinhua_subsidy.regions.Region`:
    key, Chinese name and parent key. Every plugin is asked; all answers are
    collected. Two plugins returning the same key is an error naming both.
    The eleven regions of annex 1 are known to the core already; a plugin may
    declare a new key, with a parent.

    Example::

        @hookimpl
        def subsidy_regions():
            return [Region(key="wucheng", name="婺城区", parent="urban")]
    """


@hookspec(warn_on_impl_args=deprecated("subsidy_rates"))
def subsidy_rates(region: str) -> RateCatalog | None:
    """The subsidy catalog of ``region``: qualification rates per occupation × level
    (annex3.1.2), project hour rates, caps and minimum hours (annex3.2.2),
    programmes keyed by ``project_code``, apprenticeship caps (annex3.3), uplifts
    and the uplift limit (main.4.2, R11).

    Receives a region key this plugin serves. Returns a
    :class:`~jinhua_subsidy.models.RateCatalog`, or ``None`` to use the parent
    region's. Only the serving plugin is asked, once per region.

    Or it returns :class:`~jinhua_subsidy.inheritance.RateOverrides`: only the region's own
    entries, over the effective rates of the region it ``inherits`` (a catalog file with a
    ``parent`` or ``inherits`` does this). Each entry replaces the parent's entries of the
    same key — (occupation, level), organiser, ``project_code``, apprentice, course,
    (kind, key) of an uplift — every other entry is inherited; a
    :class:`~jinhua_subsidy.inheritance.Withdrawal` removes one, with its citation::

        @hookimpl
        def subsidy_rates(region):
            return RateOverrides(region=region, inherits="urban", title="兰溪市职业技能培训补贴目录",
                                 status="provisional", tables={"qualification": (QualificationRate(
                                     occupation="*", level="4", amount=95000, start=date(2021, 1, 1),
                                     document="兰人社〔2021〕1号", clause="第二条"),)})

    Example::

        @hookimpl
        def subsidy_rates(region):
            return RateCatalog(region=region, title="兰溪市职业技能培训补贴目录",
                               status="official", uplift_limit=UpliftLimit(
                                   rate=3000, clause="main.4.2", reading="R11"),
                               qualification=(QualificationRate(
                                   occupation="*", level="5", amount=80000,
                                   start=date(2020, 1, 7), clause="annex3.1.2"),))
    """


@hookspec(warn_on_impl_args=deprecated("subsidy_shortage"))
def subsidy_shortage(region: str) -> Sequence[ShortageList] | None:
    """The shortage-occupation lists (紧缺职业（工种）目录) of ``region``, each with the
    dates it is in force (R7).

    Receives a region key this plugin serves. Returns every list with its dates,
    or ``None`` to use the parent region's. The engine picks the list in force on
    each claim's date; a date no list covers is an error, not "not short". Only
    the serving plugin is asked, once per region. A list with
    ``status="provisional"`` is named as such in every explanation that uses it.

    Example::

        @hookimpl
        def subsidy_shortage(region):
            return [ShortageList(list="lanxi-2021", title="兰溪市紧缺工种目录",
                                 status="official", occupations=("6-18-02-04",),
                                 start=date(2021, 1, 1), clause="annex3.1.2", reading="R7")]
    """


@hookspec(warn_on_impl_args=deprecated("subsidy_eligibility"))
def subsidy_eligibility(region: str) -> Eligibility | None:
    """Who may claim in ``region`` (R1–R4): the local ``area`` and the grounds, any one
    of which makes a person eligible (户籍, 居住证, 社保满6个月, 失业登记, R3's approved
    public-welfare posts, R4's county scope).

    Receives a region key this plugin serves. Returns an
    :class:`~jinhua_subsidy.models.Eligibility`, or ``None`` to use the parent's.
    Only the serving plugin is asked, once per region.

    Example::

        @hookimpl
        def subsidy_eligibility(region):
            return Eligibility(area=("lanxi",), clause="main.4.4", reading="R4",
                               grounds=(Ground(test="hukou", clause="main.4.4"),
                                        Ground(test="no_pension", clause="main.4.4",
                                               reading="R4")))
    """


@hookspec(warn_on_impl_args=deprecated("subsidy_funding"))
def subsidy_funding(region: str) -> Funding | None:
    """Which fund pays a claim of ``region`` (R16–R17): ordered rules, first match wins.

    Receives a region key this plugin serves. Returns a
    :class:`~jinhua_subsidy.models.Funding`, or ``None`` to use the parent's.
    Channels are ``city``, ``district:<region>`` or ``county:<region>``.
    Only the serving plugin is asked, once per region.

    Example::

        @hookimpl
        def subsidy_funding(region):
            return Funding(rules=(FundingRule(channel="county:lanxi",
                                              clause="main.4.3", reading="R17"),))
    """


@hookspec(warn_on_impl_args=deprecated("subsidy_adjust"))
def subsidy_adjust(region: str, claims: pl.DataFrame, decisions: pl.DataFrame) -> Adjustments | None:
    """A county rule that data cannot say, applied in columns: change amounts (lower or
    higher), refuse claims, add a step to their explanations.

    Receives the region key and, for a batch of that region's decided claims (up to a chunk of
    the file at a time, so expect several calls for a large file):

    * ``claims``: a polars DataFrame, one row a claim. Every column of the contract
      (``docs/claims.md``) as a string (null when empty), **every other column of the claims
      file as a string under its own header name** (a county's ``veteran`` column arrives as
      ``veteran``), and ``row`` (Int64): the claim's line in the file.
    * ``decisions``: a polars DataFrame aligned with ``claims``: ``row`` (Int64), ``eligible``
      (Boolean), ``amount`` (Int64, fen), ``payee``, ``channel``, ``reasons`` (``;``-joined),
      ``status`` (String).

    Returns ``None`` to change nothing, or :class:`~jinhua_subsidy.adjust.Adjustments`:
    ``rows``, a DataFrame with ``row`` and ``reason`` and optionally ``amount`` (Int64 fen, the
    new amount), ``refuse`` (Boolean) and ``text`` (a Chinese sentence for ``subsidy explain``);
    and ``reasons``, each reason code declared once as an
    :class:`~jinhua_subsidy.adjust.AdjustReason` with its Chinese text and citation. The engine
    applies each row (a refusal, or the new amount with the reason added to the decision's
    ``reasons`` and the citation to its ``citations``), shows it in ``subsidy explain``, and
    applies R18–R20 afterwards. A row that names a claim not given, an undeclared reason, a
    negative amount, or an amount for a refused claim is an error naming the plugin.

    Only the plugin serving the claim's region is asked. The call is made once per batch, not
    per claim: write it with polars expressions and it costs little.

    Since 0.2.0; it replaces ``subsidy_review_claim`` (one call per claim), which was removed.

    Example::

        import polars as pl
        from jinhua_subsidy.adjust import Adjustments, AdjustReason

        TOP_UP = AdjustReason(code="lanxi_veteran", text="退役军人加发200元",
                              document="兰人社〔2021〕1号", clause="第三条")

        @hookimpl
        def subsidy_adjust(region, claims, decisions):
            rows = (pl.concat([claims.select("row", "veteran"), decisions.select("eligible", "amount")],
                              how="horizontal")
                    .filter((pl.col("veteran") == "true") & pl.col("eligible"))
                    .select("row", pl.lit("lanxi_veteran").alias("reason"),
                            (pl.col("amount") + 20000).alias("amount")))
            return Adjustments(rows=rows, reasons=(TOP_UP,))
    """


#: Hooks that existed and were removed: a plugin still implementing one gets this message.
REMOVED_HOOKS = {
    "subsidy_review_claim": "subsidy_review_claim 已于 0.2.0 移除（逐条复核）：请改用 subsidy_adjust（按列调整，"
                            "见 jinhua_subsidy.hookspecs）",
}
