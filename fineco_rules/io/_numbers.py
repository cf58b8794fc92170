"""Exact decimal arithmetic: numbers compare as written and round half-up."""

from __future__ import annotations

import decimal
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from fineco_rules.errors import tr
from fineco_rules.io._json import ExactFloat

__all__ = [
    "CONTEXT",
    "MAX_NUMBER",
    "MIN_NUMBER",
    "ONE",
    "ZERO",
    "as_decimal",
    "float_exact",
    "in_range",
    "quantizer",
    "to_number",
]

#: Enough digits that sums and products of assessment figures are exact.
CONTEXT: Final = decimal.Context(prec=40, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation])
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
#: The largest and the smallest non-zero magnitude a policy number may have: products and quotients of two such
#: numbers stay far inside the context's exponent range, so no evaluation overflows.
MAX_NUMBER: Final = Decimal("1E+100")
MIN_NUMBER: Final = Decimal("1E-100")


def in_range(value: int | Decimal) -> bool:
    """Whether ``value`` is 0 or between :data:`MIN_NUMBER` and :data:`MAX_NUMBER` in size."""
    if isinstance(value, int):
        if value.bit_length() > 340:  # beyond 2**340 > 1E+100: decided without building a huge Decimal
            return False
        value = Decimal(value)
    if not value.is_finite():
        return False
    return value.is_zero() or MIN_NUMBER <= value.copy_abs() <= MAX_NUMBER


def as_decimal(value: object) -> Decimal:
    """Turn an int, float, str or Decimal into the Decimal a person would read.

    A float becomes the decimal of its shortest repr, so ``0.1`` is ``Decimal("0.1")``,
    not the binary value. NaN and infinities raise ``ValueError``.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError(tr("{value!r} is not a number", value=value)) from None
    else:
        raise TypeError(f"{type(value).__name__} is not a number")
    if not result.is_finite():
        raise ValueError(tr("{value!r} is not a finite number", value=value))
    return result


def quantizer(precision: int) -> Decimal:
    """The exponent that ``Decimal.quantize`` takes for ``precision`` decimals."""
    return Decimal(1).scaleb(-precision)


def to_number(value: Decimal) -> int | float:
    """A JSON-friendly number with the same digits as ``value``.

    A float where its shortest repr reads back as ``value``; else an :class:`ExactFloat`, which ``json.dumps``
    writes as the nearest float and :func:`fineco_rules.io._json.dumps` with every digit.
    """
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)
    near = float(value)
    if math.isfinite(near) and Decimal(repr(near)) == value:
        return near
    return ExactFloat(value)


def float_exact(value: Decimal) -> bool:
    """Whether ``value`` has at most 15 significant digits and a float64's range.

    Such decimals map to distinct float64s in the same order, so comparing them, or a float read
    from one, in float64 gives the decimal answer.
    """
    if not value.is_finite():
        return False
    digits = len(value.normalize().as_tuple().digits)
    return digits <= 15 and (value == 0 or Decimal("1e-300") < abs(value) < Decimal("1e300"))
