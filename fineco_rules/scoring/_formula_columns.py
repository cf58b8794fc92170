"""The formula language over NumPy columns: float64 values with a proven absolute error bound, for the columnar
path; a value within its bound of a decision is NaN (undecided), so the exact evaluation decides it.

Kept apart from :mod:`fineco_rules.scoring._formula` so that parsing and exact evaluation never load NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Final

import numpy as np

__all__ = ["vector"]

#: The comparison operators of the language (as in ``_formula.COMPARISONS``; this module must not import the
#: parser's module, which loads it lazily).
COMPARISONS: Final = ("<", "<=", ">", ">=", "==", "!=")


def vector(tree: Any, columns: Mapping[str, Any]) -> tuple[Any, Any]:
    """``tree`` over NumPy ``columns``: float64 values and an absolute error bound each (NaN: undecided)."""
    return _vec(tree, columns)


#: Relative error of one float64 operation, with room to spare.
_U: Final = 2.0**-50
#: Relative error of the float64 nearest a decimal.
_HALF_ULP: Final = 2.0**-53


def _is_truth(error: Any) -> bool:
    """Whether a vectorised part is a condition (its "error" is whether it is undecided)."""
    return bool(np.asarray(error).dtype == bool)


def _vec(node: Any, cols: Mapping[str, Any]) -> tuple[Any, Any]:
    """(values, errors) for a number node; (truths, undecided) for a condition."""
    kind = node.kind
    if kind == "num":
        value = float(node.value)
        return value, (abs(value) * _U if Fraction(value) != node.value else 0.0)
    if kind == "bool":
        return np.bool_(node.value), np.bool_(False)
    if kind == "name":
        column = np.asarray(cols[str(node.value)])
        if column.dtype == bool:
            return column, np.bool_(False)
        return column, np.abs(column) * _HALF_ULP  # the float of a decimal input is off by up to half an ulp
    if kind == "neg":
        value, error = _vec(node.args[0], cols)
        return -value, error
    if kind == "not":
        value, undecided = _vec(node.args[0], cols)
        return np.logical_not(value), undecided
    if kind == "if":
        (test, unsure), (yes, yes_err), (no, no_err) = (_vec(a, cols) for a in node.args)
        value = np.where(test, yes, no)
        error = np.where(test, yes_err, no_err)
        if _is_truth(yes_err):
            return value, np.logical_or(unsure, error)
        return np.where(unsure, np.nan, value), error
    if kind == "call":
        return _vec_call(node, [_vec(a, cols) for a in node.args])
    (left, lerr), (right, rerr) = _vec(node.args[0], cols), _vec(node.args[1], cols)
    return _vec_binary(node.op, left, lerr, right, rerr)


def _vec_binary(op: str, a: Any, ea: Any, b: Any, eb: Any) -> tuple[Any, Any]:
    if op in ("and", "or"):
        # Undecided only when an undecided side could change the answer: any undecided side, unless the
        # other side decides alone (a sure false for `and`, a sure true for `or`).
        decides_b = np.logical_and(np.logical_not(eb), np.logical_not(b) if op == "and" else b)
        decides_a = np.logical_and(np.logical_not(ea), np.logical_not(a) if op == "and" else a)
        unsure = np.logical_or(np.logical_and(ea, ~decides_b), np.logical_and(eb, ~decides_a))
        return (np.logical_and(a, b) if op == "and" else np.logical_or(a, b)), unsure
    if op in COMPARISONS:
        if _is_truth(ea):
            same = np.equal(a, b)
            return (same if op == "==" else np.logical_not(same)), np.logical_or(ea, eb)
        with np.errstate(invalid="ignore"):
            result = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
            gap = np.abs(a - b)
            unsure = np.logical_and(gap <= ea + eb, np.asarray(ea + eb) > 0) | np.isnan(gap)
        return result, unsure
    with np.errstate(all="ignore"):
        if op in ("+", "-"):
            value = a + b if op == "+" else a - b
            return value, ea + eb + np.abs(value) * _U
        if op == "*":
            value = a * b
            return value, np.abs(a) * eb + np.abs(b) * ea + ea * eb + np.abs(value) * _U
        margin = np.abs(b) - eb
        bad = margin <= 0
        value = np.where(bad, np.nan, a / np.where(bad, 1.0, b))
        error = (ea + np.abs(value) * eb) / np.where(bad, 1.0, margin) + np.abs(value) * _U
        return value, np.where(bad, np.nan, error)


def _pick(name: str, a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    """min or max of two bounded values: where one clearly wins, its own error (a clamp to an exact
    constant is then exact); else the larger error (min and max move no more than their arguments)."""
    (x, ex), (y, ey) = a, b
    x_wins = (x + ex < y - ey) if name == "min" else (x - ex > y + ey)
    y_wins = (y + ey < x - ex) if name == "min" else (y - ey > x + ex)
    value = np.minimum(x, y) if name == "min" else np.maximum(x, y)
    return value, np.where(x_wins, ex, np.where(y_wins, ey, np.maximum(ex, ey)))


def _vec_call(node: Any, args: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    name = node.op
    values = [v for v, _ in args]
    errors = [e for _, e in args]
    if name == "abs":
        return np.abs(values[0]), errors[0]
    if name in ("min", "max"):
        value, error = args[0]
        for other in args[1:]:
            value, error = _pick(name, (value, error), other)
        return value, error
    if name == "clip":
        low = args[1] if len(args) > 1 else (0.0, 0.0)
        high = args[2] if len(args) > 2 else (1.0, 0.0)
        value, error = _pick("min", _pick("max", args[0], low), high)
        bad = np.asarray(low[0]) > np.asarray(high[0])
        return np.where(bad, np.nan, value), error
    if name == "ln":
        return _vec_ln(values[0], errors[0])
    digits = int(node.args[1].value)
    scale = 10.0**digits
    scaled = np.abs(values[0]) * scale
    whole = np.floor(scaled + 0.5)
    distance = np.abs(scaled - (np.floor(scaled) + 0.5))
    unsure = distance <= (errors[0] * scale + scaled * _U) * 2
    value = np.sign(values[0]) * whole / scale
    return np.where(unsure, np.nan, value), np.abs(value) * _U


def _vec_ln(x: Any, error: Any) -> tuple[Any, Any]:
    """ln over a column: undecided (NaN) where the value may not be above zero; the error is the input's,
    divided by the least the value can be, plus the float logarithm's own (a few ulps, bounded generously)."""
    with np.errstate(all="ignore"):
        margin = x - error
        bad = np.logical_not(np.asarray(margin) > 0)
        value = np.log(np.where(bad, 1.0, x))
        bound = error / np.where(bad, 1.0, margin) + (np.abs(value) + 1.0) * _U
        return np.where(bad, np.nan, value), np.where(bad, np.nan, bound)
