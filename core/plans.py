"""The annual training plans of 金人社发〔2020〕1号 (``catalogs/plans.toml``).

Annex 1 (``annex1``, R21) gives each region's target; annex 2 (``annex2``, R22) each
city department's. Targets are in 万人次 and kept exact: written as decimal strings
(``"0.6"``), read as :class:`~decimal.Decimal`. The totals are checked by
:func:`jinhua_subsidy.invariants.check_plans` (``subsidy check``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from attrs import evolve, field, frozen
from attrs.validators import in_

from jinhua_subsidy.catalog import Readable, catalog_label, read_toml, structure
from jinhua_subsidy.models import Cited
from jinhua_subsidy.plugin_kit import shipped
from jinhua_subsidy.regions import KNOWN_KEYS

_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _wan(_inst: object, attr: object, value: str) -> None:
    if not _DECIMAL.match(value):
        raise ValueError(f"{value!r} is not a target in 万人次: write a decimal string such as \"0.6\"")


@frozen(kw_only=True)
class RegionTarget(Cited):
    """One row of annex 1: a region key of :mod:`jinhua_subsidy.regions` and its target.
    ``urban`` is the row 金华市区合计."""

    region: str = field(validator=in_(sorted(KNOWN_KEYS)))
    target: str = field(validator=_wan)

    @property
    def wan(self) -> Decimal:
        return Decimal(self.target)


@frozen(kw_only=True)
class DepartmentTarget(Cited):
    """One row of annex 2: a city department, its task and its target."""

    number: int
    department: str
    task: str
    target: str = field(validator=_wan)

    @property
    def wan(self) -> Decimal:
        return Decimal(self.target)


@frozen(kw_only=True)
class RegionPlan(Cited):
    """Annex 1: the regions' targets and the city total (全市总计)."""

    title: str
    note: str = ""
    city_total: str = field(validator=_wan)
    regions: tuple[RegionTarget, ...]


@frozen(kw_only=True)
class DepartmentPlan(Cited):
    """Annex 2: the departments' targets and their total (合计)."""

    title: str
    note: str = ""
    total: str = field(validator=_wan)
    departments: tuple[DepartmentTarget, ...]


@frozen(kw_only=True)
class PlansHeader:
    title: str
    unit: str


@frozen(kw_only=True)
class Plans:
    """``catalogs/plans.toml``: annex 1 and annex 2."""

    plans: PlansHeader
    annex1: RegionPlan
    annex2: DepartmentPlan
    source: str = ""


def load_plans(source: Readable | Path | None = None) -> Plans:
    """Load the plans (default: the shipped ``catalogs/plans.toml``) or raise
    :class:`~jinhua_subsidy.catalog.CatalogError` naming file and key path."""
    if source is None:
        source = shipped("plans.toml")
    label, data = read_toml(source, catalog_label(source))
    return evolve(structure(data, Plans, label), source=label)
