"""Exact money: Decimal rates and amounts, and the one way they are written out.

Costs are never rounded while they are computed: token counts are integers and
prices are short decimals, so every product is exact within the context below.
Rounding happens only for display (``display``), never in stored values.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

__all__ = [
    "EXACT",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MILLION",
    "MIN_EXPONENT",
    "ZERO",
    "display",
    "exact_str",
    "parse_decimal",
    "per_million",
]

ZERO = Decimal(0)
MILLION = Decimal(1_000_000)

# 60 significant digits: far more than any token count times any price needs,
# so multiplication and division by powers of ten stay exact.
EXACT = Context(prec=60)
_EXACT = EXACT

# Bounds of every amount read from outside (prices, limits, caps, weights): at
# most 10^12 and at least 10^-18 (the store's NUMERIC(38, 18)), 38 significant
# digits. Checked on the exponent before anything is computed, so "1e999999"
# neither overflows nor expands into a megabyte of digits.
MAX_EXPONENT = 12
MIN_EXPONENT = -18
MAX_DIGITS = 38
_SHOWN = 40  # characters of a refused value quoted back in an error


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def parse_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Read a price or amount from text or a number; floats go through ``str`` so
    ``0.1`` stays 0.1 and does not become 0.1000000000000000055511151231257827."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not a boolean")
    if isinstance(value, str) and len(value) > 100:
        raise ValueError(f"{what} is {len(value)} characters long; a decimal has at most 100")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValueError(f"{what} {_shown(value)} is not a decimal number") from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"{what} must be a decimal number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be finite, got {_shown(value)}")
    if result < 0:
        raise ValueError(f"{what} must not be negative, got {_shown(value)}")
    if not result.is_zero():
        if result.adjusted() >= MAX_EXPONENT:
            raise ValueError(f"{what} {_shown(value)} is too large (at most 10^{MAX_EXPONENT})")
        # Trailing zeros do not count against the precision: "1.50" is 1.5.
        digits, exponent = _significant(result)
        if exponent < MIN_EXPONENT:
            raise ValueError(f"{what} {_shown(value)} has more than {-MIN_EXPONENT} decimal places")
        if digits > MAX_DIGITS:
            raise ValueError(f"{what} {_shown(value)} has more than {MAX_DIGITS} digits")
    # One spelling per value ("2.50" and "2.5" hash alike).
    return Decimal(exact_str(result))


def _significant(amount: Decimal) -> tuple[int, int]:
    """(significant digits, exponent of the last one), ignoring trailing zeros."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
        exponent += 1
    return kept, exponent


def per_million(tokens: int, rate_per_million: Decimal) -> Decimal:
    """Cost of ``tokens`` at a USD-per-million-tokens rate, exactly."""
    return _EXACT.divide(_EXACT.multiply(Decimal(tokens), rate_per_million), MILLION)


def exact_str(amount: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("0.0125", "3", "0")."""
    if amount.is_zero():
        return "0"
    text = str(amount)
    # A dozen amounts per decision (every candidate's costs, latency and
    # quality), most of them written by ``str`` without an exponent: then the
    # canonical text is that one without trailing zeros after the point, as
    # long as it has no more digits than the context keeps (``normalize``
    # would round those). A special value (NaN, Infinity) does not end in a
    # digit and takes the long way too.
    if "E" not in text and len(text) <= _EXACT.prec and text[-1].isdigit():
        return text.rstrip("0").rstrip(".") if "." in text else text
    return format(amount.normalize(_EXACT), "f")


def display(amount: Decimal, places: int = 6) -> str:
    """A human-facing rendering in dollars, rounded half-even to ``places``."""
    return "$" + format(amount.quantize(Decimal(1).scaleb(-places)), "f")
