"""Built-in plugin for region `yiwu`: its catalog is `catalogs/yiwu.toml`."""

from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

plugin = CatalogPlugin(shipped("yiwu.toml"))
