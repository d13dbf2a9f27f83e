"""A plugin made of one catalog TOML file: every data hook, no code.

``CatalogPlugin(path)`` serves the region named in the file's ``[catalog]`` table.
Sections the file leaves out answer ``None``, so the parent region's are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinhua_subsidy.catalog import CatalogFile, Readable, catalog_label, loader
from jinhua_subsidy.hookspecs import hookimpl
from jinhua_subsidy.inheritance import RateOverrides
from jinhua_subsidy.models import Eligibility, Funding, RateCatalog, ShortageList
from jinhua_subsidy.regions import Region


class CatalogPlugin:
    """Implements the data hooks from one catalog file, loaded on first use."""

    def __init__(self, source: Readable | Path) -> None:
        self.source = source
        self.file = loader(source, _label(source))

    def _mine(self, region: str) -> CatalogFile | None:
        f = self.file()
        return f if f.catalog.region == region else None

    @hookimpl
    def subsidy_regions(self) -> Sequence[Region]:
        return [self.file().region()]

    @hookimpl
    def subsidy_rates(self, region: str) -> RateCatalog | RateOverrides | None:
        f = self._mine(region)
        return f.rates() if f else None

    @hookimpl
    def subsidy_shortage(self, region: str) -> Sequence[ShortageList] | None:
        f = self._mine(region)
        return f.shortage_lists() if f else None

    @hookimpl
    def subsidy_eligibility(self, region: str) -> Eligibility | None:
        f = self._mine(region)
        return f.eligibility_rules() if f else None

    @hookimpl
    def subsidy_funding(self, region: str) -> Funding | None:
        f = self._mine(region)
        return f.funding_rules() if f else None


def _label(source: Readable | Path) -> str | None:
    """How messages name an outside plugin's catalog: the author's own file when the plugin was
    installed from a local folder (see :func:`jinhua_subsidy.manager.author_file`)."""
    label = catalog_label(source)
    if label.startswith("catalogs/"):
        return None
    from jinhua_subsidy.manager import author_file

    return author_file(label)


def shipped(name: str) -> Readable:
    """A catalog file shipped in the ``catalogs/`` folder of this distribution."""
    from importlib.resources import files

    return files("jinhua_subsidy.catalogs") / name  # type: ignore[return-value]
