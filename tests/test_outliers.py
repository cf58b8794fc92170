"""Outlier treatment of cohort scorers: the skewness and kurtosis rule, log, caps; fitted once, partitions agree."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.errors import PolicyError
from fineco_rules.scoring._outliers import outlying, treat  # private unit under test (fineco_rules.scoring._outliers)
from tests.conftest import WritePolicy


def _d(text: str) -> list[Decimal]:
    return [Decimal(t) for t in text.split()]


def _reference_outlying(values: list[Fraction]) -> bool:
    """|g1| > 2 and g2 > 3.5 with population moments, computed independently in floats far from the edge."""
    n = len(values)
    mean = sum(values) / n
    m2 = sum((v - mean) ** 2 for v in values) / n
    if m2 == 0:
        return False
    m3 = sum((v - mean) ** 3 for v in values) / n
    m4 = sum((v - mean) ** 4 for v in values) / n
    return abs(float(m3) / float(m2) ** 1.5) > 2 and float(m4) / float(m2) ** 2 - 3 > 3.5


class TestRule:
    """Winsorise while |skewness| > 2 and kurtosis > 3.5, up to max_points values, else log."""

    def test_one_point(self) -> None:
        """1…9 and 1000: the 1000 is pulled in to 9, after which the batch is no longer outlying."""
        done = treat({"method": "winsorise"}, _d("1 2 3 4 5 6 7 8 9 1000"))
        assert done.values == tuple(_d("1 2 3 4 5 6 7 8 9 9"))
        assert (done.facts["outliers"], done.facts["winsorised"]) == ("winsorised", 1)

    def test_ties_move_together(self) -> None:
        """Equal extreme values are winsorised together, so equal inputs keep equal scores."""
        done = treat({"method": "winsorise"}, [Decimal(1)] * 18 + _d("50 100"))
        assert done.values[-2:] == (Decimal(1), Decimal(1))
        assert done.facts["winsorised"] == 3

    def test_log_fallback(self) -> None:
        """When more than max_points values would move, the original values are log-transformed instead."""
        values = [Decimal(1)] * 18 + _d("50 100")
        done = treat({"method": "winsorise", "max_points": 1}, values)
        assert done.facts["outliers"] == "log"
        assert done.values[0] == 0
        assert done.values[-1] == Decimal(100).ln(fineco_rules.scoring.CONTEXT)

    def test_no_outliers(self) -> None:
        """A batch that is not outlying is left as it is."""
        done = treat({"method": "winsorise"}, _d("1 2 3 4 5"))
        assert done.values == tuple(_d("1 2 3 4 5"))
        assert done.facts["outliers"] == "none"

    def test_caps(self) -> None:
        """Fixed caps clamp the values."""
        assert treat({"method": "caps", "min": 2, "max": 4}, _d("1 3 9")).values == tuple(_d("2 3 4"))

    @given(st.lists(st.integers(-1000, 1000), min_size=3, max_size=25))
    def test_exact_decision(self, ints: list[int]) -> None:
        """The exact test agrees with the textbook formulas wherever floats are clear of the thresholds."""
        values = [Fraction(i) for i in ints]
        assert outlying(values) == _reference_outlying(values) or _near_edge(values)

    @given(st.lists(st.integers(0, 10_000), min_size=3, max_size=25))
    def test_order_kept(self, ints: list[int]) -> None:
        """Treatment never reorders counties: a higher value never ends up below a lower one."""
        values = [Decimal(i) for i in ints]
        done = treat({"method": "winsorise"}, values)
        for a, b, ta, tb in zip(values, values[1:], done.values, done.values[1:], strict=False):
            assert (a <= b) <= (ta <= tb)
        if done.facts["outliers"] in ("winsorised", "none"):
            assert not outlying([Fraction(v) for v in done.values])


def _near_edge(values: list[Fraction]) -> bool:
    n = len(values)
    mean = sum(values) / n
    m2 = sum((v - mean) ** 2 for v in values) / n
    if m2 == 0:
        return False
    m3 = sum((v - mean) ** 3 for v in values) / n
    m4 = sum((v - mean) ** 4 for v in values) / n
    return abs(abs(float(m3) / float(m2) ** 1.5) - 2) < 1e-9 or abs(float(m4) / float(m2) ** 2 - 6.5) < 1e-9


POLICY = """\
id: outliers
version: "1"
label: {zh: 离群值, en: outliers}
effective_from: 2024-01-01
inputs:
  loans: {type: number, min: 0, better: higher, label: {zh: 贷款, en: loans}}
indicators:
  loans:
    label: {zh: 贷款, en: loans}
    scorer: minmax
    params: {input: loans, outliers: {method: winsorise}}
    weight: 1
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 50}
"""


class TestInPolicy:
    """Declared per indicator, fitted on the batch, recorded in the result, carried by the cohort."""

    @pytest.fixture
    def compiled(self) -> fineco_rules.CompiledPolicy:
        path = Path(tempfile.mkdtemp()) / "policy.yaml"
        path.write_text(POLICY, encoding="utf-8")
        return fineco_rules.compile_policy(fineco_rules.load_policy(path))

    def test_recorded(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """The outlying county scores as the next one, and its result says it was winsorised."""
        records = [
            {"county": f"3201{i:02d}", "loans": v}
            for i, v in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "1000"])
        ]
        results = fineco_rules.evaluate(compiled, records).results
        top = results[-1].indicators["loans"]
        assert top.score == results[-2].indicators["loans"].score == Decimal("100.00")
        assert (top.details["outliers"], top.details["winsorised"], top.details["treated"]) == ("winsorised", 1, 9)

    def test_partitions_agree(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """Two halves graded with the population's cohort score exactly as the whole batch."""
        records = [
            {"county": f"3201{i:02d}", "loans": v}
            for i, v in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "1000"])
        ]
        whole = [r.score for r in fineco_rules.evaluate(compiled, records).results]
        cohort = compiled.fit(records)
        halves = [compiled.evaluate(part, cohort=cohort).results for part in (records[:5], records[5:])]
        assert [r.score for half in halves for r in half] == whole

    def test_caps_need_a_bound(self, write_policy: WritePolicy) -> None:
        """Caps without min or max are refused when the policy loads."""
        with pytest.raises(PolicyError, match="caps need `min`, `max` or both"):
            fineco_rules.load_policy(write_policy(POLICY.replace("method: winsorise", "method: caps")))
