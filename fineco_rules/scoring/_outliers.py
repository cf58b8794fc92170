"""Outlier treatment for cohort scorers: winsorising by the skewness and kurtosis rule, log, or fixed caps.

Fitted on the whole batch like min-max, so a :class:`fineco_rules.engine.Cohort` fitted on the population
carries the treated scores and every partition grades as the whole. The rule's decisions (skewness and
kurtosis against their thresholds) are made in exact rationals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs

from fineco_rules.errors import ParamError, tr
from fineco_rules.io._numbers import CONTEXT, ONE, as_decimal

__all__ = ["OUTLIERS", "Treatment", "check_outliers", "outlying", "treat"]

#: The JSON Schema of a cohort scorer's ``outliers`` param.
OUTLIERS: Final = {
    "type": "object",
    "description": "outlier treatment fitted on the batch before normalising",
    "properties": {
        "method": {"enum": ["winsorise", "log", "caps"]},
        "max_points": {"type": "integer", "minimum": 1, "maximum": 100},
        "fallback": {"enum": ["log", "none"]},
        "skewness": {"type": "number", "exclusiveMinimum": 0},
        "kurtosis": {"type": "number"},
        "min": {"type": "number"},
        "max": {"type": "number"},
    },
    "required": ["method"],
    "additionalProperties": False,
}

#: The usual thresholds (OECD/JRC Handbook on composite indicators): |skewness| > 2 and kurtosis > 3.5.
SKEWNESS: Final = Fraction(2)
KURTOSIS: Final = Fraction(7, 2)
MAX_POINTS: Final = 5


@attrs.frozen
class Treatment:
    """What was done to a batch: the treated values (same order) and the facts every record reports."""

    values: tuple[Decimal, ...]
    facts: Mapping[str, object]


def check_outliers(spec: Mapping[str, Any]) -> None:
    """Refuse params the schema cannot: caps without a bound, or min above max."""
    method = spec["method"]
    if method == "caps":
        if "min" not in spec and "max" not in spec:
            raise ParamError(tr("caps need `min`, `max` or both"), ("outliers",), tr("add `min:` or `max:`"))
        if "min" in spec and "max" in spec and as_decimal(spec["min"]) > as_decimal(spec["max"]):
            raise ParamError(tr("the lower cap is above the upper cap"), ("outliers", "max"))
        return
    extra = [k for k in ("min", "max") if k in spec]
    if extra:
        raise ParamError(
            tr("`{extra}` belongs to caps, not {method}", extra=extra[0], method=method), ("outliers", extra[0])
        )


def _moments(values: Sequence[Fraction]) -> tuple[Fraction, Fraction, Fraction]:
    """The second, third and fourth central moments (population, divided by N)."""
    n = len(values)
    mean = sum(values, Fraction(0)) / n
    deviations = [v - mean for v in values]
    return (
        sum((d**2 for d in deviations), Fraction(0)) / n,
        sum((d**3 for d in deviations), Fraction(0)) / n,
        sum((d**4 for d in deviations), Fraction(0)) / n,
    )


def outlying(values: Sequence[Fraction], skewness: Fraction = SKEWNESS, kurtosis: Fraction = KURTOSIS) -> bool:
    """Whether |skewness| > ``skewness`` and (excess) kurtosis > ``kurtosis``, decided exactly.

    Skewness is ``m3 / m2^1.5`` and excess kurtosis ``m4 / m2² − 3``, from population moments; squared
    forms avoid the square root: ``m3² > s² m2³`` and ``m4 > (k + 3) m2²``.
    """
    if len(values) < 2:
        return False
    m2, m3, m4 = _moments(values)
    if m2 == 0:
        return False
    return m3 * m3 > skewness * skewness * m2**3 and m4 > (kurtosis + 3) * m2 * m2


def _shape(values: Sequence[Fraction]) -> dict[str, object]:
    """Skewness and excess kurtosis as decimals, for the record."""
    m2, m3, m4 = _moments(values)
    if m2 == 0:
        return {"skewness": Decimal(0), "kurtosis": Decimal(0)}
    m2d = _decimal(m2)
    return {
        "skewness": CONTEXT.divide(_decimal(m3), CONTEXT.power(m2d, Decimal("1.5"))),
        "kurtosis": CONTEXT.subtract(CONTEXT.divide(_decimal(m4), CONTEXT.multiply(m2d, m2d)), Decimal(3)),
    }


def _decimal(value: Fraction) -> Decimal:
    return CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def treat(spec: Mapping[str, Any], values: Sequence[Decimal]) -> Treatment:
    """Apply the ``outliers`` step ``spec`` to a batch's values."""
    method = spec["method"]
    if method == "caps":
        low = as_decimal(spec["min"]) if "min" in spec else None
        high = as_decimal(spec["max"]) if "max" in spec else None
        capped = tuple(max(v, low) if low is not None else v for v in values)
        capped = tuple(min(v, high) if high is not None else v for v in capped)
        return Treatment(capped, {"outliers": "caps", "cap_min": low, "cap_max": high})
    if method == "log":
        return _log(values, {"outliers": "log"})
    return _winsorise(spec, values)


def _winsorise(spec: Mapping[str, Any], values: Sequence[Decimal]) -> Treatment:
    """Winsorise the extreme values one level at a time (ties together) while the batch is outlying, up to
    ``max_points`` values; if it still is, log-transform the original values instead (``fallback: log``)."""
    limit = int(spec.get("max_points", MAX_POINTS))
    skew = Fraction(as_decimal(spec["skewness"])) if "skewness" in spec else SKEWNESS
    kurt = Fraction(as_decimal(spec["kurtosis"])) if "kurtosis" in spec else KURTOSIS
    exact = [Fraction(v) for v in values]
    current = list(exact)
    changed = 0
    while outlying(current, skew, kurt):
        _, m3, _ = _moments(current)
        high = m3 > 0  # a long right tail: pull the highest values in
        extreme = max(current) if high else min(current)
        others = [v for v in current if v != extreme]
        hits = len(current) - len(others)
        if not others or changed + hits > limit:
            break
        nearest = max(others) if high else min(others)
        current = [nearest if v == extreme else v for v in current]
        changed += hits
    if not outlying(current, skew, kurt):
        facts: dict[str, object] = {"outliers": "winsorised" if changed else "none", "winsorised": changed}
        facts |= _shape(exact)
        written = {Fraction(v): v for v in values}  # a winsorised value is another county's, as written
        return Treatment(tuple(written[v] for v in current), facts)
    facts = {"outliers": "log" if spec.get("fallback", "log") == "log" else "none", "winsorised": 0}
    facts |= _shape(exact)
    if spec.get("fallback", "log") == "log":
        return _log(values, facts)
    return Treatment(tuple(values), facts)


def _log(values: Sequence[Decimal], facts: Mapping[str, object]) -> Treatment:
    """``ln(x − min + 1)`` for a right tail, ``−ln(max − x + 1)`` for a left one: order kept, tail shortened."""
    exact = [Fraction(v) for v in values]
    _, m3, _ = _moments(exact) if len(exact) > 1 else (Fraction(0), Fraction(0), Fraction(0))
    low, high = min(values), max(values)
    if m3 >= 0:
        treated = tuple(CONTEXT.ln(v - low + ONE) for v in values)
    else:
        treated = tuple(-CONTEXT.ln(high - v + ONE) for v in values)
    return Treatment(treated, {**facts, "transformed": "ln(x − min + 1)" if m3 >= 0 else "−ln(max − x + 1)"})
