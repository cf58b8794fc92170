"""A published composite index rebuilt from its own paper: UNDP's Human Development Index, HDR 2023/2024.

The data (examples/indices/hdr-2023-24-hdi-2022.csv) are UNDP's own 2022 inputs and published HDI values,
cut by examples/indices/make_hdi.py from the report's composite-indices time series (CC BY 3.0 IGO);
the policy is policies/indices/hdi-2023-24.yaml; docs/policy-guide.md section 23 walks through both.
"""

from __future__ import annotations

import csv
import functools
import textwrap
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.scoring._formula import parse  # private unit under test (fineco_rules.scoring._formula)
from tests.test_composite import _policy_text, _trees

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "indices" / "hdi-2023-24.yaml"
DATA = ROOT / "examples" / "indices" / "hdr-2023-24-hdi-2022.csv"
#: The HDI is published to three decimals of the 0–1 index; the policy scores 0–100.
PUBLISHED = Decimal("0.001")


def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _evaluation() -> fineco_rules.Evaluation:
    policy = fineco_rules.load_policy(POLICY)
    return fineco_rules.evaluate(policy, fineco_rules.read_records(DATA).records)


def _as_published(score: Decimal) -> Decimal:
    return (score / 100).quantize(PUBLISHED, rounding=ROUND_HALF_UP)


class TestHumanDevelopmentIndex:
    def test_every_published_value_is_rebuilt_exactly(self) -> None:
        """Every one of the 193 countries with a published HDI gets exactly that value, to three decimals."""
        published = {row["iso3"]: Decimal(row["hdi"]) for row in _rows() if row["hdi"]}
        results = {r.county: r for r in _evaluation().results}
        mismatches = [
            f"{iso3}: published {value}, rebuilt "
            f"{None if results[iso3].score is None else _as_published(results[iso3].score)}"
            for iso3, value in published.items()
            if results[iso3].score is None or _as_published(results[iso3].score) != value
        ]
        assert len(published) == 193
        assert mismatches == []

    def test_countries_without_a_published_value_are_not_scored_and_say_why(self) -> None:
        """The two countries UNDP publishes no HDI for lack inputs, and are reported with the missing fields."""
        unpublished = {row["iso3"] for row in _rows() if not row["hdi"]}
        results = {r.county: r for r in _evaluation().results}
        assert unpublished == {"PRK", "MCO"}
        assert {c: results[c].missing for c in sorted(unpublished)} == {
            "MCO": ("mys", "gnipc"),
            "PRK": ("eys", "mys", "gnipc"),
        }
        assert all(results[c].score is None for c in unpublished)

    def test_rounding_the_six_decimal_total_again_is_the_same_as_rounding_once(self) -> None:
        """Every rebuilt value lies more than 1e-6 (index units) from a three-decimal half, far beyond the
        5e-9 that rounding to the policy's 6 decimals on 0–100 can move it: rounding twice equals rounding once."""
        scores = [r.score for r in _evaluation().results if r.score is not None]
        margins = [abs((s / 100).scaleb(3) % 1 - Decimal("0.5")).scaleb(-3) for s in scores]  # in index units
        assert min(margins) > Decimal("1E-6")

    def test_the_income_index_uses_the_natural_logarithm(self) -> None:
        """Afghanistan's income index is 100 × (ln 1335.205733 − ln 100) / (ln 75000 − ln 100) to 6 decimals."""
        result = next(r for r in _evaluation().results if r.county == "AFG")
        ctx = Context(prec=60)
        exact = (
            100
            * (ctx.ln(Decimal("1335.205733")) - ctx.ln(Decimal(100)))
            / (ctx.ln(Decimal(75000)) - ctx.ln(Decimal(100)))
        )
        assert result.indicators["gni"].score == exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        assert result.indicators["gni"].score == Decimal("39.148668")

    def test_an_index_only_policy_has_no_grade_rules(self) -> None:
        """The HDI policy declares no grades and loads; its totals are the index."""
        policy = fineco_rules.load_policy(POLICY)
        assert policy.grades == ()


# -- geometric levels against an independent evaluator ------------------------------------------------

_DIGITS = Context(prec=80)


def _geometric(parts: list[tuple[Fraction, Decimal]]) -> Decimal:
    """The weighted geometric mean of ``parts`` (weight, value) at 80 digits, by exp(Σ w·ln v / Σ w)."""
    if any(v == 0 for _, v in parts):
        return Decimal(0)
    weights = sum((w for w, _ in parts), Fraction(0))
    total = functools.reduce(  # summed at 80 digits too (sum() would round to the default 28)
        _DIGITS.add,
        (
            _DIGITS.multiply(_DIGITS.divide(Decimal(w.numerator), Decimal(w.denominator * 1)), _DIGITS.ln(v))
            for w, v in parts
        ),
        Decimal(0),
    )
    return _DIGITS.exp(_DIGITS.divide(total, _DIGITS.divide(Decimal(weights.numerator), Decimal(weights.denominator))))


def _independent(
    policy: fineco_rules.Policy, scores: dict[str, Decimal | None]
) -> tuple[dict[str, Decimal | None], Decimal | None]:
    """Each group's value and the total, top-down by recursion: a weighted_mean level in fractions, a
    geometric_mean level at 80 digits; left-out parts dropped and the rest re-weighted."""
    agg = policy.aggregation
    out: dict[str, Decimal | None] = {}

    def value(name: str | None) -> Decimal | None:
        parts: list[tuple[Fraction, Decimal | None]] = []
        for ind in policy.indicators.values():
            if ind.group == name:
                parts.append((ind.weight_exact or Fraction(0), scores[ind.name]))
        for g, grp in agg.groups.items():
            if grp.parent == name:
                parts.append((grp.weight_exact or Fraction(0), value(g)))
        kept = [(w, v) for w, v in parts if v is not None]
        method = agg.method if name is None else agg.groups[name].method or agg.method
        result: Decimal | None = None
        if kept and method == "geometric_mean":
            result = _geometric(kept)
        elif kept:
            mean = sum((w * Fraction(v) for w, v in kept), Fraction(0)) / sum(w for w, _ in kept)
            result = _DIGITS.divide(Decimal(mean.numerator), Decimal(mean.denominator))
        if name is not None:
            out[name] = result
        return result

    total = value(None)
    return out, total


def _decidable(value: Decimal | None) -> bool:
    """Whether ``value`` lies more than 1e-60 from a half of the last place (0.005), where 80 digits decide."""
    if value is None:
        return True
    fraction = _DIGITS.remainder(_DIGITS.multiply(value, Decimal(100)), Decimal(1))
    return abs(_DIGITS.subtract(fraction, Decimal("0.5"))) > Decimal("1e-58")


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class TestGeometricLevels:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(tree=_trees(), arithmetic=st.lists(st.booleans(), min_size=5, max_size=5))
    def test_geometric_levels_equal_an_independent_evaluation(
        self,
        tree: tuple[list[int | None], list[list[int | None]], list[list[int]]],
        arithmetic: list[bool],
        tmp_path: Path,
    ) -> None:
        """Nested groups under a geometric policy, some levels arithmetic, agree with exp(Σ w ln v) at 80 digits."""
        parents, values, sizes = tree
        text = _policy_text(parents, values, sizes, points=False).replace(
            "method: weighted_mean", "method: geometric_mean"
        )
        for i in range(len(parents)):
            if arithmetic[i]:
                text = text.replace(
                    f"    g{i}: {{label: {{zh: g, en: g}}",
                    f"    g{i}: {{label: {{zh: g, en: g}}, method: weighted_mean",
                    1,
                )
        path = tmp_path / "tree.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        policy = fineco_rules.load_policy(path)
        record: dict[str, object] = {"county": "320101"}
        for i, vals in enumerate(values):
            for j, v in enumerate(vals):
                if v is not None:
                    record[f"x{i}_{j}"] = Decimal(v).scaleb(-2)
        r = fineco_rules.evaluate(policy, [record]).results[0]
        groups, total = _independent(policy, {n: i.score for n, i in r.indicators.items()})
        # exp(ln v) at 80 digits can land a hair either side of a half the exact value sits on (one part, equal
        # parts): such values are beyond what this evaluator decides, so they are not compared.
        assume(all(_decidable(v) for v in (*groups.values(), total)))
        assert r.groups == {g: _round(v) for g, v in groups.items()}
        assert r.base_score == _round(total)


class TestLn:
    def test_ln_is_decimals_natural_logarithm_to_forty_digits(self) -> None:
        """ln(x) is Decimal's ln of x at 40 significant digits."""
        value = parse("ln(x)").evaluate({"x": Decimal(2)})
        assert value == Fraction(Context(prec=40).ln(Decimal(2)))

    def test_ln_of_zero_is_an_error_not_a_number(self) -> None:
        """ln of a value that is not above zero raises ValueError saying so."""
        with pytest.raises(ValueError, match="above zero"):
            parse("ln(x)").evaluate({"x": Decimal(0)})

    def test_ln_is_proved_increasing_and_bounded_outward(self) -> None:
        """Interval arithmetic proves ln rising and its bounds contain ln at the ends."""
        expr = parse("ln(x) - ln(100)")
        box = {"x": (Fraction(100), Fraction(75000))}
        low, high = expr.interval(box)
        assert expr.direction("x", box) == 1
        assert low is not None and high is not None
        assert low <= 0 < high
        assert high >= Fraction(Context(prec=60).ln(Decimal(750)))

    def test_ln_over_columns_agrees_and_is_undecided_at_zero(self) -> None:
        """The columnar ln agrees with the exact one within its bound, and is NaN where x may be zero."""
        expr = parse("ln(x)")
        values, errors = expr.vector({"x": np.array([1335.205733, 0.0])})
        exact = float(expr.evaluate({"x": Decimal("1335.205733")}))
        assert abs(values[0] - exact) <= errors[0]
        assert np.isnan(values[1])
