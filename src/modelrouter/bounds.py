"""The bounds of every input from outside, stated once: the request model,
policy documents, catalog files, outcomes and the service's path and query
parameters all use these types, so a value that fits here fits the store.

- Names (ids, model names, providers, regions, globs): 1 to 200 characters,
  the store's column size, without control characters or lone surrogates (a
  NUL is refused by PostgreSQL after the answer was sent; a surrogate cannot
  be encoded at all).
- Counts: JSON integers only; ``true`` is not 1 and ``"5"`` is not 5.
- Amounts (``Amount``: money, ratios, milliseconds): ``money.parse_decimal``'s
  bounds (at most 10^12, at least 10^-18, 38 digits), checked before any
  arithmetic.
- Timestamps: time-zone aware (naive means UTC), between 2000 and 2100 UTC.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict, ValidationInfo

from modelrouter.money import parse_decimal

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_NAME",
    "Amount",
    "Count",
    "Label",
    "Name",
    "Timestamp",
    "amount",
    "check_text",
    "check_timestamp",
]

MAX_NAME = 200
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def check_text(value: str) -> str:
    """Refuse control characters and lone surrogates; say where the first one is."""
    for index, char in enumerate(value):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            kind = "a control character" if category == "Cc" else "a lone surrogate"
            raise ValueError(f"has {kind} (U+{ord(char):04X}) at position {index}")
    return value


def check_timestamp(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(
            f"must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()} UTC"
        )
    return aware


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(check_text)]
# Free text a person reads (a price scale, an error class): longer, same characters.
Label = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(check_text)]
Count = Annotated[int, Strict()]
Timestamp = Annotated[datetime, AfterValidator(check_timestamp)]


def amount(value: object, info: ValidationInfo) -> Decimal | None:
    """An amount read from outside, within the money bounds; errors name the
    field. None (an optional amount left out) passes."""
    return None if value is None else parse_decimal(value, what=str(info.field_name or "amount"))


Amount = Annotated[Decimal, BeforeValidator(amount)]
