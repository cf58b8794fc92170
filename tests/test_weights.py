"""Weights written as fractions: kept exact, summed exactly, and graded as the rational reference grades."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.errors import PolicyError
from fineco_rules.policy._model import (  # private unit under test (fineco_rules.policy._model)
    exact_weight,
    weight_decimal,
)
from tests.conftest import WritePolicy

THIRDS = """\
id: thirds
version: "1"
label: {zh: 三分之一, en: thirds}
effective_from: 2024-01-01
inputs:
  a1: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲一, en: a1}}
  a2: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲二, en: a2}}
  b1: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙一, en: b1}}
  b2: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙二, en: b2}}
  b3: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙三, en: b3}}
indicators:
  a1: {label: {zh: 甲一, en: a1}, scorer: linear, params: {input: a1, worst: 0, best: 100}, group: a, weight: 1/6}
  a2: {label: {zh: 甲二, en: a2}, scorer: linear, params: {input: a2, worst: 0, best: 100}, group: a, weight: 5/6}
  b1: {label: {zh: 乙一, en: b1}, scorer: linear, params: {input: b1, worst: 0, best: 100}, group: b, weight: 1/3}
  b2: {label: {zh: 乙二, en: b2}, scorer: linear, params: {input: b2, worst: 0, best: 100}, group: b, weight: 1/3}
  b3: {label: {zh: 乙三, en: b3}, scorer: linear, params: {input: b3, worst: 0, best: 100}, group: b, weight: 1/3}
aggregation:
  method: weighted_mean
  groups:
    a: {label: {zh: 甲, en: a}, weight: 1/3}
    b: {label: {zh: 乙, en: b}, weight: 2/3}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""

WEIGHTS = {"a1": Fraction(1, 6), "a2": Fraction(5, 6), "b1": Fraction(1, 3), "b2": Fraction(1, 3), "b3": Fraction(1, 3)}
GROUPS = {"a": Fraction(1, 3), "b": Fraction(2, 3)}
NAMES = tuple(WEIGHTS)


def _half_up(value: Fraction) -> Decimal:
    shifted = value * 100 + Fraction(1, 2)
    return Decimal(shifted.numerator // shifted.denominator).scaleb(-2)


_CACHE: dict[str, fineco_rules.CompiledPolicy] = {}


def _compiled() -> fineco_rules.CompiledPolicy:
    if not _CACHE:
        path = Path(tempfile.mkdtemp()) / "policy.yaml"
        path.write_text(THIRDS, encoding="utf-8")
        _CACHE["p"] = fineco_rules.compile_policy(fineco_rules.load_policy(path))
    return _CACHE["p"]


class TestFractionWeights:
    """``weight: 1/3`` is a third, not 0.333…"""

    def test_three_thirds_make_one(self, write_policy: WritePolicy) -> None:
        """Three weights of 1/3 add up to exactly 1, so the policy loads; each keeps its exact value."""
        policy = fineco_rules.load_policy(write_policy(THIRDS))
        exact = [policy.indicators[n].weight_exact for n in ("b1", "b2", "b3")]
        assert exact == [Fraction(1, 3)] * 3
        assert sum(exact, Fraction(0)) == 1  # type: ignore[arg-type]
        assert policy.aggregation.groups["a"].weight_exact == Fraction(1, 3)

    def test_decimals_do_not_make_one(self, write_policy: WritePolicy) -> None:
        """The same weights written to four decimals do not add up to 1, and say so."""
        text = THIRDS.replace("group: b, weight: 1/3}", "group: b, weight: 0.3333}")
        with pytest.raises(PolicyError, match=r"group 'b' add up to 0.9999, not 1"):
            fineco_rules.load_policy(write_policy(text))

    @pytest.mark.parametrize(
        ("text", "message"),
        [("1/0", "the weight 1/0 divides by zero"), ("1/1001", "has a denominator above 1000")],
        ids=["zero", "denominator"],
    )
    def test_refused(self, write_policy: WritePolicy, text: str, message: str) -> None:
        """A fraction that divides by zero or has a huge denominator is refused where it is written."""
        with pytest.raises(PolicyError, match=message) as caught:
            fineco_rules.load_policy(write_policy(THIRDS.replace("weight: 1/6}", f"weight: {text}}}")))
        assert caught.value.problems[0].location.path == "indicators.a1.weight"

    def test_decimal_rounds_up(self) -> None:
        """The Decimal of a repeating fraction is rounded up to 20 digits; a finite one is exact."""
        assert weight_decimal(exact_weight("1/3")) == Decimal("0.33333333333333333334")
        assert weight_decimal(exact_weight("2/3")) == Decimal("0.66666666666666666667")
        assert weight_decimal(exact_weight("3/8")) == Decimal("0.375")

    @given(st.lists(st.tuples(*[st.decimals(min_value=0, max_value=100, places=2)] * 5), min_size=1, max_size=6))
    @example([(Decimal("0.03"), Decimal("0.03"), Decimal(0), Decimal(0), Decimal(0))])  # a group at 0.005, 0.025
    @example([(Decimal(0), Decimal("0.09"), Decimal(0), Decimal(0), Decimal("0.09"))])
    def test_matches_rational_reference(self, rows: list[tuple[Decimal, ...]]) -> None:
        """Group scores, totals and grades equal those of exact fractions rounded half-up, on both paths."""
        compiled = _compiled()
        records = [
            {"county": f"32{i:04d}", **{n: str(v) for n, v in zip(NAMES, row, strict=True)}}
            for i, row in enumerate(rows)
        ]
        results = fineco_rules.evaluate(compiled, records).results
        columns = {"county": np.array([r["county"] for r in records])}
        columns |= {n: np.array([float(r[n]) for r in records]) for n in NAMES}
        fast = fineco_rules.evaluate_columns(compiled, columns)
        for i, row in enumerate(rows):
            scores = {n: Fraction(v) for n, v in zip(NAMES, row, strict=True)}
            group_a = scores["a1"] * WEIGHTS["a1"] + scores["a2"] * WEIGHTS["a2"]
            group_b = sum((scores[n] * WEIGHTS[n] for n in ("b1", "b2", "b3")), Fraction(0))
            total = _half_up(group_a * GROUPS["a"] + group_b * GROUPS["b"])
            grade = "good" if total >= 80 else "pass" if total >= 60 else "fail"
            result = results[i]
            assert result.groups == {"a": _half_up(group_a), "b": _half_up(group_b)}
            assert result.score == total
            assert result.grade is not None and result.grade.value == grade
            assert fast.total(i) == total
