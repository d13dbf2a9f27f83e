"""The occupation vocabulary (``catalogs/occupations.toml``): national classification codes."""

from __future__ import annotations

import functools

from attrs import frozen

from jinhua_subsidy.catalog import read_toml, structure
from jinhua_subsidy.plugin_kit import shipped

#: Stands for every occupation of the vocabulary in a ``[[qualification]]`` rate.
ANY = "*"


@frozen(kw_only=True)
class Occupation:
    code: str
    name: str


@frozen(kw_only=True)
class VocabularyHeader:
    title: str
    source: str
    note: str = ""


@frozen(kw_only=True)
class Vocabulary:
    vocabulary: VocabularyHeader
    occupations: tuple[Occupation, ...]

    @functools.cached_property
    def names(self) -> dict[str, str]:
        return {o.code: o.name for o in self.occupations}


@functools.cache
def load_vocabulary() -> Vocabulary:
    label, data = read_toml(shipped("occupations.toml"), "catalogs/occupations.toml")
    return structure(data, Vocabulary, label)
