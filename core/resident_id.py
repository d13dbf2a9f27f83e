"""居民身份证号 (GB 11643-1999): normalising, the check digit and masking.

A resident id is read after Unicode NFKC normalisation, so that an id typed with full-width
digits (``３３０７…``, ``Ｘ``) or ideographic spaces is the same id as the ASCII one. After that
only the ASCII digits ``0``–``9`` count as digits: ``str.isdigit`` (and the ``\\d`` of
:mod:`re`) also accept e.g. Arabic-Indic ``٣``, which NFKC leaves as it is; such an id is refused.

A resident id is never printed in full in a report or a log: use :func:`mask` for a value known
to be a person id, and :func:`jinhua_subsidy.privacy.mask_ids` for any other text.
"""

from __future__ import annotations

import re
import unicodedata

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

SHAPE_MESSAGE = "身份证号须为18位（前17位数字，末位数字或X）"
NOT_ASCII_DIGITS_MESSAGE = "身份证号含有非数字字符（须为0-9，末位可为X）"
CHECK_MESSAGE = "身份证号校验位错误（GB 11643）"


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise(person_id: str) -> str:
    """NFKC (full-width digits and ``Ｘ``, ideographic spaces), stripped, ``x`` read as ``X``."""
    return unicodedata.normalize("NFKC", person_id).strip().upper()


def problem(person_id: str) -> str | None:
    """Why ``person_id`` is not a valid 18-digit id, in Chinese; None when valid.

    The text is read as :func:`normalise` reads it.
    """
    pid = normalise(person_id)
    if any(c.isdigit() and not c.isascii() for c in pid):
        return NOT_ASCII_DIGITS_MESSAGE
    if not _SHAPE.fullmatch(pid):
        return SHAPE_MESSAGE
    if check_digit(pid[:17]) != pid[17]:
        return CHECK_MESSAGE
    return None


def mask(person_id: str) -> str:
    """``330702199001011234`` → ``3307**********1234``; anything else is fully masked.

    The text is normalised first (:func:`normalise`): a full-width id is masked as the ASCII one.
    """
    pid = normalise(person_id)
    if len(pid) < 10:
        return "*" * len(pid)
    return pid[:4] + "*" * (len(pid) - 8) + pid[-4:]
