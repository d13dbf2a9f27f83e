"""Money in fen (integers). R13: exact decimals in yuan, kept to the fen, half-up."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

FEN_PER_YUAN = 100
BP = 10_000  #: basis points in 1 (uplift rates are kept in basis points)


class MoneyError(ValueError):
    """A text that is not an amount in yuan to the fen."""


def parse_yuan(text: str | int) -> int:
    """``"900"`` or ``"24.50"`` yuan → fen. Floats are refused (R13)."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise MoneyError(f"amount must be a decimal string such as \"900\", not {text!r}")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not a decimal amount") from None
    if not value.is_finite():
        raise MoneyError(f"{text!r} is not a decimal amount")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyError(f"{text!r} has more than two decimal places (R13: to the fen)")
    return int(fen)


def parse_rate_bp(text: str) -> int:
    """An uplift rate such as ``"0.30"`` → basis points (3000)."""
    if not isinstance(text, str):
        raise MoneyError(f"rate must be a decimal string such as \"0.30\", not {text!r}")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not a decimal rate") from None
    bp = value * BP
    if not value.is_finite() or bp != bp.to_integral_value():
        raise MoneyError(f"{text!r} is not a rate with at most four decimal places")
    return int(bp)


def format_yuan(fen: int) -> str:
    """Fen → ``"800.00"``."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def uplift(fen: int, rate_bp: int) -> int:
    """``fen × (1 + rate)``, half-up to the fen (R13)."""
    return (fen * (BP + rate_bp) + BP // 2) // BP
