"""Built-in plugin for region `wucheng`: its catalog is `catalogs/wucheng.toml`."""

from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

plugin = CatalogPlugin(shipped("wucheng.toml"))
