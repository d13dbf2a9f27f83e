"""Money in fen (integers). R13: exact decimals in yuan, kept to the fen, half-up."""

from __future__ import annotations

import re

from jinhua_subsidy.privacy import mask_ids

FEN_PER_YUAN = 100
BP = 10_000  #: basis points in 1 (uplift rates are kept in basis points)
MAX_YUAN_DIGITS = 15  #: integer digits of an amount: < 10^17 fen, far inside an int64 column
MAX_RATE_DIGITS = 4  #: integer digits of a rate (a fraction of the standard, "0.30")

#: A plain decimal: an optional minus, ASCII digits, optionally a point and more digits. No
#: exponent (5e3), no digit separators (5_000), no plus sign, no NaN or Infinity.
_PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


class MoneyError(ValueError):
    """A text that is not an amount in yuan to the fen."""


def _show(value: object) -> str:
    """``value`` as a message shows it: repr, at most 40 characters of it, ids masked."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<a number of {value.bit_length()} bits>"  # repr() of an int over 4300 digits raises
    if isinstance(value, str):
        text = mask_ids(value[:57])
        return repr(text[:40]) + (f"… ({len(value)} characters)" if len(value) > 40 or len(text) > 40 else "")
    return repr(value)


def _plain(text: str, places: int, int_digits: int, what: str) -> tuple[int, int]:
    """(sign × integer part, sign × fraction scaled to ``places`` decimals) of a plain decimal."""
    m = _PLAIN.fullmatch(text.strip())
    if m is None:
        raise MoneyError(f"{_show(text)} is not a decimal {what}")
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    if len(frac) > places:
        raise MoneyError(f"{_show(text)} has more than two decimal places (R13: to the fen)" if what == "amount"
                         else f"{_show(text)} is not a rate with at most four decimal places")
    if len(whole) > int_digits:
        raise MoneyError(f"{_show(text)} is too large: a{'n' if what == 'amount' else ''} {what} has at most "
                         f"{int_digits} digits before the decimal point")
    k = -1 if sign else 1
    return k * int(whole), k * int(frac.ljust(places, "0"))


def parse_yuan(text: str | int) -> int:
    """``"900"`` or ``"24.50"`` yuan → fen. Floats are refused (R13).

    Only plain decimals: ASCII digits, at most two decimals, at most 15 digits before the point,
    surrounding whitespace ignored. A leading ``-`` is read (``subsidy check`` reports negative
    catalog amounts; the claims parser refuses them itself).
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise MoneyError(f"amount must be a decimal string such as \"900\", not {_show(text)}")
    if isinstance(text, int):
        if abs(text) >= 10**MAX_YUAN_DIGITS:
            raise MoneyError(f"{_show(text)} is too large: an amount has at most {MAX_YUAN_DIGITS} digits before "
                             "the decimal point")
        return text * FEN_PER_YUAN
    whole, frac = _plain(text, 2, MAX_YUAN_DIGITS, "amount")
    return whole * FEN_PER_YUAN + frac


def parse_rate_bp(text: str) -> int:
    """An uplift rate such as ``"0.30"`` → basis points (3000).

    Only plain decimals, as :func:`parse_yuan` reads them: at most four decimals and at most
    four digits before the point.
    """
    if not isinstance(text, str):
        raise MoneyError(f"rate must be a decimal string such as \"0.30\", not {_show(text)}")
    whole, frac = _plain(text, 4, MAX_RATE_DIGITS, "rate")
    return whole * BP + frac


def format_yuan(fen: int) -> str:
    """Fen → ``"800.00"``."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def uplift(fen: int, rate_bp: int) -> int:
    """``fen × (1 + rate)``, half-up to the fen (R13)."""
    return (fen * (BP + rate_bp) + BP // 2) // BP
