"""A testing kit for plugin authors, loaded by pytest through the ``pytest11`` entry point.

Fixtures:

* ``subsidy_engine(extra=(), disable=())`` builds an :class:`~jinhua_subsidy.engine.Engine`
  with outside plugins registered in code, e.g. a county's own plugin under test.
* ``catalog_plugin(toml_text)`` writes a catalog to a temporary file and returns a
  :class:`~jinhua_subsidy.plugin_kit.CatalogPlugin` for it.
* ``claims_csv(rows)`` writes claim dicts to a CSV file with the contract header.

Helpers: :func:`person_id` makes a valid 居民身份证号 from a seed (GB 11643 check digit).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager
from jinhua_subsidy.plugin_kit import CatalogPlugin
from jinhua_subsidy.resident_id import check_digit


def person_id(seed: int, *, area: str = "330702", birth: str = "19900101") -> str:
    """A valid 18-digit id: area code, birth date, a 3-digit sequence from ``seed``, check digit."""
    first17 = f"{area}{birth}{seed % 1000:03d}"
    return first17 + check_digit(first17)


def write_claims_csv(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write claims with the full contract header; missing keys are empty cells."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
    return path


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@pytest.fixture
def subsidy_engine() -> Callable[..., Engine]:
    def make(extra: Iterable[tuple[str, object]] = (), disable: Iterable[str] = ()) -> Engine:
        return Engine(get_plugin_manager(extra=extra, disable=disable, autoload=False))

    return make


@pytest.fixture
def catalog_plugin(tmp_path: Path) -> Callable[[str, str], CatalogPlugin]:
    def make(toml_text: str, name: str = "test.toml") -> CatalogPlugin:
        p = tmp_path / name
        p.write_text(toml_text, encoding="utf-8")
        return CatalogPlugin(p)

    return make


@pytest.fixture
def claims_csv(tmp_path: Path) -> Callable[..., Path]:
    def make(rows: Iterable[Mapping[str, Any]], name: str = "claims.csv") -> Path:
        return write_claims_csv(tmp_path / name, rows)

    return make
