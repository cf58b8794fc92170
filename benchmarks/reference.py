"""``benchmarks/county-policy.yaml`` written by hand, without an engine and without explanations.

Three versions of the same policy:

- :func:`grade_python`: plain Python over dicts, exact: floats where they provably suffice, integer
  arithmetic where a score can land on a rounding half. Inputs have at most four decimals, so every value
  is an integer number of ten-thousandths, and scores are rounded half-up in cents as fineco-rules rounds
  the exact decimal value (``(2p + q) // 2q`` is ``p / q`` rounded half-up).
- :func:`grade_numpy`: all-integer arithmetic (ten-thousandths and cents) over NumPy columns.
- :func:`grade_python_naive`: what one writes with floats and ``round()``; it is *not* used for ratios,
  only to count how many records floats grade or total differently.

Every function returns grade codes (0 fail, 1 pass, 2 good) and totals in cents.
The policy, restated: four indicators scored 0-100 and rounded to cents; the total is
0.3·credit + 0.2·legal + 0.2·deepening + 0.3·satisfaction, rounded half-up to cents; a major case fails
the county; pass needs total ≥ 60, NPL ratio < 0.06 and awareness ≥ 60; good needs pass, total ≥ 80 and
credit township share ≥ 0.85.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["columns_from_records", "grade_numpy", "grade_python", "grade_python_naive"]

Codes = npt.NDArray[np.int8]
Cents = npt.NDArray[np.int64]


def grade_python(records: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[int]]:
    """Exact grades and totals (cents) of ``records``, one record at a time.

    Floats where they are provably enough, integers where they are not: a linear score in cents is
    ``(h − 2000)·10/7`` or ``(s − 400000)/55`` for inputs ``h``, ``s`` in ten-thousandths, which is never
    a half and never nearer one than 1/110 cent, far beyond float error, so ``int(v + 0.5)`` rounds it
    right. The loan-to-deposit score can land exactly on a half; when its float value is within 1e-6 of
    one, it is decided in integers.
    """
    grades: list[int] = []
    totals: list[int] = []
    add_grade, add_total = grades.append, totals.append
    for r in records:
        # credit: linear 0.2 → 0, 0.9 → 100.
        x = r["credit_household_share"]
        c1 = 0 if x <= 0.2 else 10000 if x >= 0.9 else int((x - 0.2) * 14285.714285714286 + 0.5)
        # legal: bands [.., 0.6) 20, [0.6, 0.8) 60, [0.8, 0.9) 85, [0.9, ..) 100 (floats order as written).
        x = r["case_execution_rate"]
        c2 = 2000 if x < 0.6 else 6000 if x < 0.8 else 8500 if x < 0.9 else 10000
        # deepening: loans / deposits, linear 0.3 → 0, 0.8 → 100: cents (L/D − 0.3)·20000, half-up.
        loans, deposits = r["loans"], r["deposits"]
        ratio = loans / deposits
        if ratio <= 0.3:
            c3 = 0
        elif ratio >= 0.8:
            c3 = 10000
        else:
            v = ratio * 20000 - 5999.5
            c3 = int(v)
            if v - c3 < 1e-6 or c3 + 1 - v < 1e-6:  # on or near a half: decide in ten-thousandths, exactly
                top, bottom = round(loans * 10000), round(deposits * 10000)
                c3 = (40000 * top - 11999 * bottom) // (2 * bottom)  # (2·(20000 L − 6000 D) + D) // 2D
        # satisfaction: linear 40 → 0, 95 → 100.
        x = r["satisfaction_score"]
        c4 = 0 if x <= 40 else 10000 if x >= 95 else int((x - 40) * 181.8181818181818 + 0.5)
        total = (3 * c1 + 2 * c2 + 2 * c3 + 3 * c4 + 5) // 10
        if r["major_case"] or total < 6000 or not r["npl_ratio"] < 0.06 or not r["awareness_score"] >= 60:
            add_grade(0)
        elif total >= 8000 and r["credit_township_share"] >= 0.85:
            add_grade(2)
        else:
            add_grade(1)
        add_total(total)
    return grades, totals


def _units(values: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int64]:
    units: npt.NDArray[np.int64] = np.rint(values * 10000.0).astype(np.int64)
    return units


def grade_numpy(columns: Mapping[str, npt.NDArray[Any]]) -> tuple[Codes, Cents]:
    """Exact grades and totals (cents) of a batch given as NumPy columns (float64, bool)."""
    h = _units(columns["credit_household_share"])
    c1 = np.clip((20 * h - 39993) // 14, 0, 10000)  # clipping the cents is clipping the score
    x = columns["case_execution_rate"]
    c2 = np.where(x < 0.6, 2000, np.where(x < 0.8, 6000, np.where(x < 0.9, 8500, 10000)))
    loans, deposits = _units(columns["loans"]), _units(columns["deposits"])
    c3 = np.clip((40000 * loans - 11999 * deposits) // (2 * deposits), 0, 10000)
    s = _units(columns["satisfaction_score"])
    c4 = np.clip((2 * s - 799945) // 110, 0, 10000)
    total = (3 * c1 + 2 * c2 + 2 * c3 + 3 * c4 + 5) // 10
    passed = (
        ~columns["major_case"].astype(bool)
        & (total >= 6000)
        & (columns["npl_ratio"] < 0.06)
        & (columns["awareness_score"] >= 60)
    )
    good = passed & (total >= 8000) & (columns["credit_township_share"] >= 0.85)
    grades = passed.astype(np.int8) + good.astype(np.int8)
    return grades, total


def columns_from_records(records: Sequence[Mapping[str, Any]]) -> dict[str, npt.NDArray[Any]]:
    """The conversion a NumPy user pays when the data arrives as dicts."""
    n = len(records)
    out: dict[str, npt.NDArray[Any]] = {}
    for name in (
        "credit_township_share",
        "credit_household_share",
        "case_execution_rate",
        "loans",
        "deposits",
        "npl_ratio",
        "awareness_score",
        "satisfaction_score",
    ):
        out[name] = np.fromiter((r[name] for r in records), dtype=np.float64, count=n)
    out["major_case"] = np.fromiter((r["major_case"] for r in records), dtype=np.bool_, count=n)
    return out


def grade_python_naive(records: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[int]]:
    """The policy in floats with ``round()``: what most hand-written code does. Not exact."""
    grades: list[int] = []
    totals: list[int] = []
    for r in records:
        credit = round(min(max((r["credit_household_share"] - 0.2) / 0.7, 0.0), 1.0) * 100, 2)
        x = r["case_execution_rate"]
        legal = 20.0 if x < 0.6 else 60.0 if x < 0.8 else 85.0 if x < 0.9 else 100.0
        deepening = round(min(max((r["loans"] / r["deposits"] - 0.3) / 0.5, 0.0), 1.0) * 100, 2)
        satisfaction = round(min(max((r["satisfaction_score"] - 40) / 55, 0.0), 1.0) * 100, 2)
        total = round(0.3 * credit + 0.2 * legal + 0.2 * deepening + 0.3 * satisfaction, 2)
        if r["major_case"] or total < 60 or not r["npl_ratio"] < 0.06 or not r["awareness_score"] >= 60:
            grades.append(0)
        elif total >= 80 and r["credit_township_share"] >= 0.85:
            grades.append(2)
        else:
            grades.append(1)
        totals.append(round(total * 100))  # the float as cents; off by one where round() went the wrong way
    return grades, totals
