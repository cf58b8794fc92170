"""The shipped provincial policy on the columnar path (issue 16): vectorised, and equal to ``evaluate`` on every
record (grades, totals, indicator scores, problems), with ties, thresholds, missing and bad cells, imputation,
per-unit deductions and records with and without ``table`` rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.engine import ColumnarEvaluation, CompiledPolicy
from tests.test_generated_provincial import EDGES, _units  # the same goalposts, gates and table rows

ROOT = Path(__file__).resolve().parent.parent
PROVINCIAL = fineco_rules.compile_policy(fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COUNTS: Mapping[str, tuple[int, int]] = {
    "red_list_enterprises": (0, 300),
    "guarantee_institutions": (0, 20),
    "intermediaries_not_reported": (0, 12),
    "debt_evasion_cases": (0, 12),
    "survey_sample_size": (0, 1200),
}
#: Cells the columnar path does not read as they are: the row path grades (or refuses) their records.
BAD = (None, "", "  ", "abc", "85%", "0.5", True, float("nan"), float("inf"), -1.0, 2.5, 2**60, Decimal("0.5"))


def _number(name: str) -> st.SearchStrategy[object]:
    spec = PROVINCIAL.policy.inputs[name]
    if name in COUNTS:
        low, high = COUNTS[name]
        return st.integers(low, high)
    top = 100 if spec.max == 100 else 1
    places = st.sampled_from((2, 3, 4))
    drawn = places.flatmap(lambda d: st.integers(0, top * 10**d).map(lambda k: k / 10**d))
    return st.one_of(st.sampled_from(EDGES.get(name, (0.0,))), drawn, drawn)


@st.composite
def records(draw: st.DrawFn, *, county: str, odd: bool) -> dict[str, Any]:
    """A record of the provincial policy near its goalposts and thresholds; with ``odd``, sometimes a bad or
    missing cell, a missing product-innovation score (imputed) or ``credit_units`` rows."""
    record: dict[str, Any] = {"county": county}
    for name, spec in PROVINCIAL.policy.inputs.items():
        if spec.type == "boolean":
            record[name] = draw(st.booleans().map(lambda b: b and draw(st.integers(0, 9)) == 0))
        elif spec.type != "table":
            record[name] = draw(_number(name))
    if odd:
        if draw(st.integers(0, 3)) == 0:
            record["product_innovation_score"] = None
        if draw(st.integers(0, 7)) == 0:
            record[draw(st.sampled_from(sorted(record.keys() - {"county"})))] = draw(st.sampled_from(BAD))
        if draw(st.integers(0, 5)) == 0:
            record["credit_units"] = _units(draw(st.sampled_from(("0.55", "0.45"))))
    return record


@st.composite
def batches(draw: st.DrawFn, *, odd: bool = True) -> list[dict[str, Any]]:
    """Up to ten records in two cities (3201, 3202), county codes unique."""
    codes = draw(st.lists(st.sampled_from([f"320{c}{n:02d}" for c in (1, 2) for n in range(1, 9)]), unique=True))
    return [draw(records(county=code, odd=odd)) for code in codes[:10]]


def _columns(batch: Sequence[Mapping[str, Any]], *, table: bool) -> dict[str, list[Any]]:
    """The batch as columns; the ``credit_units`` column only with ``table`` (absent: no record has rows)."""
    names = [n for n in dict.fromkeys(k for r in batch for k in r) if table or n != "credit_units"]
    return {n: [r.get(n) for r in batch] for n in names}


def _same(compiled: CompiledPolicy, batch: list[dict[str, Any]], columns: object) -> ColumnarEvaluation:
    """Grades, totals, every record's full result and the problems equal ``evaluate``'s (NaN in a column is a
    missing value)."""
    row = compiled.evaluate([{k: None if isinstance(v, float) and v != v else v for k, v in r.items()} for r in batch])
    got = fineco_rules.evaluate_columns(compiled, columns)
    assert got.why_row is None
    assert got.grades() == [r.grade for r in row.results]
    assert got.totals() == [r.score for r in row.results]
    assert [got.explain(i) for i in range(len(batch))] == list(row.results)
    assert got.problems == (*row.problems, *(e for r in row.results for e in r.errors))
    return got


class TestTheProvincialPolicyRunsVectorised:
    """Tables, per-unit deductions and imputation no longer send the policy to the row path."""

    def test_why_not_columnar_is_none(self) -> None:
        """The plan states no reason to leave the columnar path."""
        assert PROVINCIAL.plan.why_not_columnar is None

    def test_the_example_data_is_graded_vectorised(self) -> None:
        """examples/jiangsu-2008.csv: every indicator columnar, no record on the row path, equal to evaluate."""
        read = fineco_rules.read_records(ROOT / "examples" / "jiangsu-2008.csv")
        batch = [dict(r.values) for r in read.records]
        got = _same(PROVINCIAL, batch, _columns(batch, table=False))
        assert set(got.paths.values()) == {"columnar"}
        assert int(got.row_fallback.sum()) == 0
        assert got.cohort is None  # no imputed cell is missing: no fit

    def test_benchmark_records_are_graded_vectorised(self) -> None:
        """benchmarks/provincial.py's records as float and integer NumPy columns: no record on the row path."""
        import sys

        sys.path.insert(0, str(ROOT / "benchmarks"))
        try:
            import provincial
        finally:
            sys.path.remove(str(ROOT / "benchmarks"))
        batch = provincial.records(2000)
        columns = {k: np.array([r[k] for r in batch]) for k in batch[0]}
        got = _same(PROVINCIAL, batch, columns)
        assert int(got.row_fallback.sum()) == 0
        want_grades, want_totals = provincial.grade_python(batch)
        assert got.grade_codes.tolist() == want_grades
        assert got.total_units.tolist() == want_totals


class TestEqualToEvaluate:
    """Any batch grades as ``evaluate`` grades it."""

    @SETTINGS
    @given(batches(odd=False))
    def test_clean_batches_near_ties_and_thresholds(self, batch: list[dict[str, Any]]) -> None:
        """Every input present and valid, values on goalposts, gates and cents' halves: all graded vectorised."""
        got = _same(PROVINCIAL, batch, _columns(batch, table=False))
        assert not got.row_fallback.any()

    @SETTINGS
    @given(batches())
    def test_odd_batches_with_table_rows(self, batch: list[dict[str, Any]]) -> None:
        """Bad and missing cells, imputation and table rows, given with a ``credit_units`` column."""
        _same(PROVINCIAL, batch, _columns(batch, table=True))

    @SETTINGS
    @given(batches())
    def test_odd_batches_without_a_table_column(self, batch: list[dict[str, Any]]) -> None:
        """The optional table column left out altogether: graded as records without rows."""
        rowless = [{k: v for k, v in r.items() if k != "credit_units"} for r in batch]
        _same(PROVINCIAL, rowless, _columns(rowless, table=False))


class TestTableRows:
    """Only the records with rows of a lower level go to the row path."""

    def test_only_records_with_rows_fall_back(self) -> None:
        """Of three records, the one with ``credit_units`` rows is graded on the row path, the others vectorised."""
        base = _clean("320101")
        batch = [base, {**base, "county": "320102", "credit_units": _units("0.45")}, {**base, "county": "320103"}]
        got = _same(PROVINCIAL, batch, _columns(batch, table=True))
        assert got.row_fallback.tolist() == [False, True, False]


class TestPerUnitDeductions:
    """Per-unit deductions of whole inputs are exact integer units, capped, on the columnar path."""

    @pytest.mark.parametrize(("cases", "unreported"), [(0, 0), (1, 1), (5, 6), (6, 7), (9, 1), (40, 40)])
    def test_deductions_and_their_caps(self, cases: int, unreported: int) -> None:
        """1 a case up to 5, 0.5 an unreported intermediary up to 3, 8 in all: as evaluate."""
        batch = [{**_clean("320101"), "debt_evasion_cases": cases, "intermediaries_not_reported": unreported}]
        got = _same(PROVINCIAL, batch, _columns(batch, table=False))
        assert not got.row_fallback.any()

    def test_a_count_too_large_for_int64_units_goes_to_the_row_path(self) -> None:
        """2**52 cases: the amount does not fit 64-bit units; the record is graded on the row path, equal."""
        batch = [_clean("320101"), {**_clean("320102"), "debt_evasion_cases": 2**52}]
        got = _same(PROVINCIAL, batch, {k: np.array([r[k] for r in batch]) for k in batch[0]})
        assert got.row_fallback.tolist() == [False, True]

    def test_a_per_unit_of_a_number_that_is_not_whole_stays_on_the_row_path(self, tmp_path: Path) -> None:
        """A per-unit adjustment of a ``number`` input is counted in decimals: the policy says why."""
        path = tmp_path / "p.yaml"
        path.write_text(PER_NUMBER, encoding="utf-8")
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(path))
        got = fineco_rules.evaluate_columns(compiled, {"county": ["320101"], "a": [50.0], "d": [1.5]})
        assert got.why_row == "the per-unit adjustment cut counts a number that is not whole, in exact decimals only"
        assert got.totals() == [Decimal("49.25")]


PER_NUMBER = """\
id: per-number
version: "1"
label: {zh: 按量扣分, en: per unit}
effective_from: 2024-01-01
inputs:
  a: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  d: {type: number, min: 0, better: lower, label: {zh: 扣, en: d}}
indicators:
  ia: {label: {zh: 甲, en: a}, scorer: linear, params: {input: a, worst: 0, best: 100}, weight: 1}
aggregation: {method: weighted_mean}
adjustments:
  cut: {label: {zh: 扣分, en: cut}, kind: deduction, input: d, per_unit: 0.5, cap: 3}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 36}
"""


class TestImputation:
    """The batch is fitted only when an imputed cell is missing; then imputed records equal evaluate's."""

    def test_no_missing_cell_no_fit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With every product-innovation score present, ``fit`` is not called."""
        calls: list[int] = []
        fit = CompiledPolicy.fit

        def counted(self: CompiledPolicy, records: Any) -> Any:
            calls.append(1)
            return fit(self, records)

        monkeypatch.setattr(CompiledPolicy, "fit", counted)
        batch = [_clean("320101"), _clean("320102")]
        got = fineco_rules.evaluate_columns(PROVINCIAL, _columns(batch, table=False))
        assert (calls, got.cohort, got.row_fallback.tolist()) == ([], None, [False, False])

    def test_a_missing_score_is_imputed_by_the_citys_mean(self) -> None:
        """A missing product-innovation score: the batch is fitted and the record graded with the city's mean."""
        batch = [
            {**_clean("320101"), "product_innovation_score": 61.0},
            {**_clean("320102"), "product_innovation_score": 88.5},
            {**_clean("320103"), "product_innovation_score": None},
            {**_clean("320201"), "product_innovation_score": 40.0},
        ]
        got = _same(PROVINCIAL, batch, _columns(batch, table=False))
        assert got.cohort is not None
        assert got.row_fallback.tolist() == [False, False, True, False]
        service = got.explain(2).indicators["service"]
        assert service.treatment == "product_innovation_score imputed as group_mean 74.75"


def _clean(county: str) -> dict[str, Any]:
    """A record with every input present and valid, passing."""
    return {
        "county": county,
        "credit_township_share": 0.9,
        "credit_village_share": 0.8,
        "credit_community_share": 0.7,
        "credit_household_share": 0.7,
        "red_list_enterprises": 90,
        "small_loan_coverage": 0.8,
        "honest_intermediary_share": 0.8,
        "intermediaries_not_reported": 0,
        "guarantee_institutions": 8,
        "guaranteed_loan_share": 0.2,
        "case_execution_rate": 0.8,
        "claim_recovery_rate": 0.8,
        "debt_evasion_cases": 0,
        "financial_crime_clearance_rate": 0.9,
        "npl_ratio": 0.03,
        "legal_person_health_score": 80.0,
        "policy_cleanup_rate": 0.9,
        "finance_support_score": 80.0,
        "awareness_score": 75.0,
        "satisfaction_score": 72.0,
        "survey_sample_size": 500,
        "bank_enterprise_score": 80.0,
        "product_innovation_score": 75.0,
        "illegal_fundraising_major_case": False,
    }


SUZHOU = fineco_rules.compile_policy(
    fineco_rules.load_policy(ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml")
)
#: The Suzhou scorer's goalposts and values near them, drawn often.
SHARES = (0.0, 0.3, 0.3001, 0.31, 0.8, 0.7999, 0.9, 0.8999, 1.0)


def _share() -> st.SearchStrategy[float]:
    places = st.sampled_from((2, 4, 6, 15))
    drawn = places.flatmap(lambda d: st.integers(0, 10**d).map(lambda k: k / 10**d))
    return st.one_of(st.sampled_from(SHARES), drawn)


class TestSuzhouScorerVectorised:
    """Suzhou's geometric-mean scorer has a vectorised form: the city's policy runs vectorised too."""

    def test_every_indicator_is_columnar(self) -> None:
        """suzhou-2008: the plugin's indicator runs vectorised beside the family scorers."""
        got = fineco_rules.evaluate_columns(SUZHOU, _columns([_clean("320501")], table=False))
        assert got.paths["inclusive_finance"] == "columnar"
        assert set(got.paths.values()) == {"columnar"}

    @SETTINGS
    @given(st.lists(st.tuples(_share(), _share()), min_size=1, max_size=40))
    def test_the_float_score_lies_within_its_error_of_the_exact_one(self, pairs: list[tuple[float, float]]) -> None:
        """For any shares, |vectorised score − the row function's exact score| ≤ the stated error."""
        step = next(s for s in SUZHOU.plan.indicators if s.name == "inclusive_finance")
        households, loans = step.fields
        assert step.vector is not None
        scores, error = step.vector(
            {households: np.array([h for h, _ in pairs]), loans: np.array([v for _, v in pairs])}
        )
        for (h, v), got, bound in zip(
            pairs, scores.tolist(), np.broadcast_to(error, scores.shape).tolist(), strict=True
        ):
            exact = step.function({households: Decimal(repr(h)), loans: Decimal(repr(v))}).score
            assert abs(Decimal(got) - exact) <= Decimal(bound)

    @SETTINGS
    @given(batches(odd=False), st.lists(st.tuples(_share(), _share()), min_size=10, max_size=10))
    def test_the_city_policy_equals_evaluate(
        self, batch: list[dict[str, Any]], pairs: list[tuple[float, float]]
    ) -> None:
        """suzhou-2008 on columns, its scorer's shares near the goalposts: equal to evaluate on every record."""
        for record, (h, v) in zip(batch, pairs, strict=False):
            record["credit_household_share"], record["small_loan_coverage"] = h, v
        _same(SUZHOU, batch, _columns(batch, table=False))
