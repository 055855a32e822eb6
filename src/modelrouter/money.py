"""Exact money: Decimal rates and amounts, and the one way they are written out.

Costs are never rounded while they are computed: token counts are integers and
prices are short decimals, so every product is exact within the context below.
Rounding happens only for display (``display``), never in stored values.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

__all__ = ["EXACT", "MILLION", "ZERO", "display", "exact_str", "parse_decimal", "per_million"]

ZERO = Decimal(0)
MILLION = Decimal(1_000_000)

# 60 significant digits: far more than any token count times any price needs,
# so multiplication and division by powers of ten stay exact.
EXACT = Context(prec=60)
_EXACT = EXACT


def parse_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Read a price or amount from text or a number; floats go through ``str`` so
    ``0.1`` stays 0.1 and does not become 0.1000000000000000055511151231257827."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what} {value!r} is not a decimal number") from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"{what} must be a decimal number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be finite, got {value!r}")
    if result < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    # One spelling per value ("2.50" and "2.5" hash alike).
    return Decimal(exact_str(result))


def per_million(tokens: int, rate_per_million: Decimal) -> Decimal:
    """Cost of ``tokens`` at a USD-per-million-tokens rate, exactly."""
    return _EXACT.divide(_EXACT.multiply(Decimal(tokens), rate_per_million), MILLION)


def exact_str(amount: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("0.0125", "3", "0")."""
    if amount.is_zero():
        return "0"
    text = format(amount.normalize(_EXACT), "f")
    return text


def display(amount: Decimal, places: int = 6) -> str:
    """A human-facing rendering in dollars, rounded half-even to ``places``."""
    return "$" + format(amount.quantize(Decimal(1).scaleb(-places)), "f")
