"""The regions of annex 1 (全市职业技能提升行动分地区年度培训计划).

The framework knows all eleven keys even when no plugin serves them yet. A plugin
declares the regions it serves with ``subsidy_regions``; a region with no plugin
of its own is served by its parent's (R6: the three urban districts use the urban
catalog).
"""

from __future__ import annotations

from attrs import frozen

from jinhua_subsidy.citations import Citation


@frozen(kw_only=True)
class Region:
    """A region key (``wucheng``), its Chinese name (婺城区) and parent key, if any."""

    key: str
    name: str
    parent: str | None = None


ANNEX1 = Citation(clause="annex1")

#: The eleven regions of annex 1, in the annex's order.
KNOWN_REGIONS: tuple[Region, ...] = (
    Region(key="urban", name="金华市区"),
    Region(key="wucheng", name="婺城区", parent="urban"),
    Region(key="jindong", name="金东区", parent="urban"),
    Region(key="kaifaqu", name="开发区", parent="urban"),
    Region(key="lanxi", name="兰溪市"),
    Region(key="dongyang", name="东阳市"),
    Region(key="yiwu", name="义乌市"),
    Region(key="yongkang", name="永康市"),
    Region(key="pujiang", name="浦江县"),
    Region(key="wuyi", name="武义县"),
    Region(key="panan", name="磐安县"),
)

KNOWN_KEYS = frozenset(r.key for r in KNOWN_REGIONS)
