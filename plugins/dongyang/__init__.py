"""Built-in plugin for region `dongyang`: its catalog is `catalogs/dongyang.toml`."""

from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

plugin = CatalogPlugin(shipped("dongyang.toml"))
