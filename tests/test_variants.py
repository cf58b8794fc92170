"""Named variants of the cohort scorers, and cohort scorers over derived values."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.errors import PolicyError
from fineco_rules.scoring._formula import to_decimal  # private unit under test (fineco_rules.scoring._formula)
from tests.conftest import WritePolicy


def _scores(scorer: str, params: dict[str, Any], values: list[str]) -> list[Decimal]:
    host = fineco_rules.make_plugin_host()
    function = host.scorers[scorer].scorer.build(params, Decimal(100))
    return [s.score for s in function([{"v": Decimal(v)} for v in values])]


def _normalized(scorer: str, params: dict[str, Any], values: list[str]) -> list[Decimal]:
    host = fineco_rules.make_plugin_host()
    function = host.scorers[scorer].scorer.build(params, Decimal(100))
    return [s.normalized or Decimal(0) for s in function([{"v": Decimal(v)} for v in values])]


class TestRankTies:
    """``ties`` names how tied counties rank; ``mean`` stays the default."""

    VALUES = ["9", "5", "5", "1"]  # ranks 1, 2–3, 2–3, 4

    @pytest.mark.parametrize(
        ("ties", "expected"),
        [
            (None, ["1", "0.5", "0.5", "0"]),  # ranks 1 2.5 2.5 4 over N = 4
            ("mean", ["1", "0.5", "0.5", "0"]),
            ("min", ["1", "2/3", "2/3", "0"]),  # 1 2 2 4
            ("max", ["1", "1/3", "1/3", "0"]),  # 1 3 3 4
            ("dense", ["1", "0.5", "0.5", "0"]),  # 1 2 2 3 over 3 distinct
        ],
        ids=["default", "mean", "min", "max", "dense"],
    )
    def test_ties(self, ties: str | None, expected: list[str]) -> None:
        """Each tie rule ranks 9, 5, 5, 1 as documented."""
        params: dict[str, Any] = {"input": "v"} if ties is None else {"input": "v", "ties": ties}
        got = _normalized("rank", params, self.VALUES)
        assert got == [to_decimal(Fraction(e)) for e in expected]


class TestZScoreSd:
    """``sd: sample`` divides by N − 1; the population standard deviation stays the default."""

    def test_population_default(self) -> None:
        """2, 4, 4, 4, 5, 5, 7, 9 has population sd 2: 9 is z = 2, normalised 5/6."""
        got = _normalized("zscore", {"input": "v"}, ["2", "4", "4", "4", "5", "5", "7", "9"])
        assert got[-1] == to_decimal(Fraction(5, 6))

    def test_sample(self) -> None:
        """The same values with the sample sd √(32/7): z of 9 is 4/√(32/7), so z² = 7/2."""
        host = fineco_rules.make_plugin_host()
        function = host.scorers["zscore"].scorer.build({"input": "v", "sd": "sample"}, Decimal(100))
        out = function([{"v": Decimal(v)} for v in ["2", "4", "4", "4", "5", "5", "7", "9"]])
        assert out[-1].details["sd"] == "sample"
        assert abs(Fraction(out[-1].details["z"]) ** 2 - Fraction(7, 2)) < Fraction(1, 10**35)


class TestPercentileKind:
    """``kind`` names the percentile definition (scipy's names); ``mean`` stays the default."""

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            (None, "0.5"),  # (1 + 2/2) / 4
            ("mean", "0.5"),
            ("strict", "0.25"),  # 1 / 4
            ("weak", "0.75"),  # (1 + 2) / 4
            ("rank", "0.625"),  # (1 + 3/2) / 4
        ],
        ids=["default", "mean", "strict", "weak", "rank"],
    )
    def test_kind(self, kind: str | None, expected: str) -> None:
        """For 5 among 1, 5, 5, 9 (one below, two equal): each definition as documented."""
        params: dict[str, Any] = {"input": "v"} if kind is None else {"input": "v", "kind": kind}
        assert _normalized("percentile", params, ["1", "5", "5", "9"])[1] == Decimal(expected)

    def test_unknown_kind(self, write_policy: WritePolicy) -> None:
        """A kind that is not one of the four is refused when the policy loads."""
        text = DERIVED.replace("scorer: minmax", "scorer: percentile").replace(
            "better: {gdp: higher, people: lower}}", "better: {gdp: higher, people: lower}}\n      kind: median"
        )
        with pytest.raises(PolicyError, match="median"):
            fineco_rules.load_policy(write_policy(text))


DERIVED = """\
id: derived-policy
version: "1"
label: {zh: 派生值, en: derived values}
effective_from: 2024-01-01
inputs:
  gdp: {type: number, min: 0, better: higher, label: {zh: 生产总值, en: GDP}}
  people: {type: number, min: 1, better: lower, label: {zh: 人口, en: population}}
indicators:
  wealth:
    label: {zh: 人均生产总值, en: GDP per person}
    scorer: minmax
    params:
      derive: {formula: "gdp / people", better: {gdp: higher, people: lower}}
    weight: 1
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 50}
"""

_rows = st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 50)), min_size=2, max_size=8, unique_by=lambda r: r)


class TestDerived:
    """A cohort scorer normalises a value derived by a formula (per capita), exactly."""

    def test_reads_the_formula_inputs(self, write_policy: WritePolicy) -> None:
        """The indicator reads the formula's inputs with their declared directions."""
        policy = fineco_rules.load_policy(write_policy(DERIVED))
        reads = policy.indicators["wealth"].reads
        assert {k: v.value for k, v in reads.items()} == {"gdp": "higher", "people": "lower"}

    @given(_rows)
    def test_matches_rational_reference(self, rows: list[tuple[int, int]]) -> None:
        """Min-max over GDP per person equals the rational reference, rounded half-up once."""
        compiled = _compiled()
        records = [{"county": f"32{i:04d}", "gdp": str(g), "people": str(p)} for i, (g, p) in enumerate(rows)]
        results = fineco_rules.evaluate(compiled, records).results
        per = [Fraction(g, p) for g, p in rows]
        low, high = min(per), max(per)
        for result, value in zip(results, per, strict=True):
            exact = Fraction(1) if low == high else (value - low) / (high - low)
            expected = _half_up(exact * 100)
            assert result.indicators["wealth"].score == expected

    def test_bad_formula_is_located(self, write_policy: WritePolicy) -> None:
        """A typo inside the derived formula names the column and the closest declared name."""
        with pytest.raises(PolicyError) as caught:
            fineco_rules.load_policy(write_policy(DERIVED.replace('"gdp / people"', '"gdp / peple"')))
        problem = caught.value.problems[0]
        assert problem.message.startswith("unknown name 'peple' at column 7 of the formula")
        assert problem.hint == "did you mean 'people'?"
        assert problem.location.path == "indicators.wealth.params.derive.formula"


def _half_up(value: Fraction) -> Decimal:
    shifted = value * 100 + Fraction(1, 2)
    return Decimal(shifted.numerator // shifted.denominator).scaleb(-2)


_CACHE: dict[str, fineco_rules.CompiledPolicy] = {}


def _compiled() -> fineco_rules.CompiledPolicy:
    if not _CACHE:
        import tempfile
        from pathlib import Path

        path = Path(tempfile.mkdtemp()) / "policy.yaml"
        path.write_text(DERIVED, encoding="utf-8")
        _CACHE["p"] = fineco_rules.compile_policy(fineco_rules.load_policy(path))
    return _CACHE["p"]
