"""居民身份证号 (GB 11643-1999): check digit and masking.

A resident id is never printed in full in a report or a log: use :func:`mask`.
"""

from __future__ import annotations

import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def problem(person_id: str) -> str | None:
    """Why ``person_id`` is not a valid 18-digit id, in Chinese; None when valid."""
    pid = person_id.strip().upper()
    if not _SHAPE.match(pid):
        return "身份证号须为18位（前17位数字，末位数字或X）"
    if check_digit(pid[:17]) != pid[17]:
        return "身份证号校验位错误（GB 11643）"
    return None


def normalise(person_id: str) -> str:
    return person_id.strip().upper()


def mask(person_id: str) -> str:
    """``330702199001011234`` → ``3307**********1234``; anything else is fully masked."""
    pid = person_id.strip()
    if len(pid) < 10:
        return "*" * len(pid)
    return pid[:4] + "*" * (len(pid) - 8) + pid[-4:]
