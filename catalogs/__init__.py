"""Catalog data (TOML), shipped as package data of jinhua_subsidy."""
