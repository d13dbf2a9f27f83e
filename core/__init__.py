"""jinhua-subsidy: rules-as-code for 金人社发〔2020〕1号 (Jinhua vocational-training subsidies).

The import package is ``jinhua_subsidy``; its source lives in the repository's
``core/`` folder. County developers start at :mod:`jinhua_subsidy.hookspecs`.
"""

__version__ = "0.1.0"
