"""Built-in plugin for region `urban`: its catalog is `catalogs/urban.toml`."""

from jinhua_subsidy.plugin_kit import CatalogPlugin, shipped

plugin = CatalogPlugin(shipped("urban.toml"))
