"""The shipped provincial policy on generated code (issue 16): the same grades, totals and indicator scores as
the interpreter, with the family scorers' compiled forms, imputation, deductions and ``table`` inputs.

The generated code and the interpreter are engine-internal (``fineco_rules.engine._generated``,
``CompiledPolicy._interpret``); these tests compare them record by record and batch by batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules import Better, Label, Scored, Scorer, hookimpl
from fineco_rules.engine import CompiledPolicy
from fineco_rules.engine._generated import generate  # private unit under test (fineco_rules.engine._generated)
from fineco_rules.engine._records import raw_from_mapping  # private unit under test (fineco_rules.engine._records)
from fineco_rules.engine._results import Deferred  # private unit under test (fineco_rules.engine._results)
from fineco_rules.policy import Grade
from fineco_rules.scoring import Goalpost, Goalposts

ROOT = Path(__file__).resolve().parent.parent
PROVINCIAL = fineco_rules.compile_policy(fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"))
WITH_SCORES = generate(PROVINCIAL.policy, PROVINCIAL.plan, scores=True)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Goalposts, gates and deduction caps of the policy: values drawn often.
EDGES: Mapping[str, tuple[float, ...]] = {
    "credit_township_share": (0.5, 0.85, 0.95, 0.8499, 0.8501, 0.0, 1.0),
    "credit_village_share": (0.4, 0.9),
    "credit_community_share": (0.3, 0.9),
    "credit_household_share": (0.3, 0.8),
    "small_loan_coverage": (0.3, 0.9),
    "honest_intermediary_share": (0.4, 0.9),
    "guaranteed_loan_share": (0.05, 0.3),
    "case_execution_rate": (0.5, 0.95),
    "claim_recovery_rate": (0.4, 0.9),
    "financial_crime_clearance_rate": (0.5, 1.0),
    "npl_ratio": (0.02, 0.06, 0.0599, 0.0601, 0.1),
    "policy_cleanup_rate": (0.5, 1.0),
    "satisfaction_score": (60.0, 59.99, 60.01, 0.0, 100.0),
    "legal_person_health_score": (50.0, 95.0, 50.045),
    "finance_support_score": (50.0, 95.0),
    "awareness_score": (0.125, 1.25, 0.0, 100.0),
    "bank_enterprise_score": (50.0, 95.0, 50.045),
    "product_innovation_score": (50.0, 95.0, 50.045, 72.5),
}
COUNTS = {
    "red_list_enterprises": (0, 300),
    "guarantee_institutions": (0, 20),
    "intermediaries_not_reported": (0, 9),
    "debt_evasion_cases": (0, 9),
    "survey_sample_size": (0, 1200),
}
#: Cells the generated code does not read: the interpreter grades (or refuses) them.
BAD = (None, "", "0.5", "85%", True, float("nan"), float("inf"), -1.0, 2.5, 2**60, Decimal("0.5"), [1])


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
def records(draw: st.DrawFn, *, county: str = "320101", cells: bool = False) -> dict[str, Any]:
    """A record of the provincial policy: every scalar input, near its goalposts and thresholds; with
    ``cells``, sometimes an odd cell, a missing product-innovation score, or a ``credit_units`` table."""
    record: dict[str, Any] = {"county": county}
    for name, spec in PROVINCIAL.policy.inputs.items():
        if spec.type == "boolean":
            record[name] = draw(st.booleans().map(lambda b: b and draw(st.integers(0, 9)) == 0))
        elif spec.type != "table":
            record[name] = draw(_number(name))
    if cells:
        if draw(st.integers(0, 3)) == 0:
            del record["product_innovation_score"]
        if draw(st.integers(0, 7)) == 0:
            record[draw(st.sampled_from(sorted(record.keys() - {"county"})))] = draw(st.sampled_from(BAD))
        if draw(st.integers(0, 7)) == 0:
            record["credit_units"] = _units(draw(st.sampled_from(("0.55", "0.45"))))
    return record


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to eight records in two cities (3201, 3202), county codes unique."""
    codes = draw(st.lists(st.sampled_from([f"320{c}{n:02d}" for c in (1, 2) for n in range(1, 7)]), unique=True))
    return [draw(records(county=code, cells=True)) for code in codes[:8]]


def _units(households: str) -> list[dict[str, object]]:
    """One township and one village with their ratings: kept with ``0.55``, lost with ``0.45``."""
    return [
        {"unit": "1", "name": "t1", "level": "township", "parent": "", "rated_before": True,
         "credit_household_share": households, "npl_ratio": "0.01", "credit_village_share": "1"},
        {"unit": "11", "name": "v1", "level": "village", "parent": "1", "rated_before": True,
         "credit_household_share": "0.7", "on_time_repayment": "0.99", "npl_ratio": "0.01"},
    ]  # fmt: skip


def _interpreted(compiled: CompiledPolicy, batch: Sequence[Mapping[str, Any]]) -> fineco_rules.Evaluation:
    return compiled._interpret([raw_from_mapping(r, i) for i, r in enumerate(batch)])  # noqa: SLF001


def _assert_same(compiled: CompiledPolicy, batch: list[dict[str, Any]]) -> fineco_rules.Evaluation:
    want = _interpreted(compiled, batch)
    got = compiled.evaluate(batch)
    assert got.grades == tuple(r.grade for r in want.results)
    assert [str(s) for s in got.scores] == [str(r.score) for r in want.results]
    assert got.ok == want.ok
    assert got.results == want.results
    assert got.problems == want.problems
    return got


def _generated(compiled: CompiledPolicy, evaluation: fineco_rules.Evaluation) -> bool:
    return isinstance(evaluation._results, Deferred)  # noqa: SLF001


class TestTheProvincialPolicyIsGenerated:
    """Family scorers, imputation, deductions and an optional table no longer keep it on the interpreter."""

    def test_compiled_form(self) -> None:
        """The policy evaluates dicts with generated code."""
        assert PROVINCIAL.compiled_form == "generated"

    def test_families_are_computed_in_floats(self) -> None:
        """Every family scorer is written out as goalposts; its exact function is called only near a tie."""
        source = PROVINCIAL.generated.source or ""
        assert source.count("goalposts, in floats") == 7
        assert source.count("_exact") == 7 + 7 * 2  # seven defaults, seven calls each after two mentions

    def test_a_full_batch_never_builds_an_explanation(self) -> None:
        """Grades and totals come from the generated code; the explanation waits until it is read."""
        batch = [{**r, "county": f"3201{i:02d}"} for i, r in enumerate(_examples(3), 1)]
        got = PROVINCIAL.evaluate(batch)
        assert _generated(PROVINCIAL, got)
        assert got.scores == tuple(r.score for r in _interpreted(PROVINCIAL, batch).results)


def _examples(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        record = {name: EDGES.get(name, (0.7,))[0] + 0.0 for name, spec in PROVINCIAL.policy.inputs.items()
                  if spec.type in ("ratio", "number")}  # fmt: skip
        record |= {name: low + i for name, (low, _) in COUNTS.items()}
        record |= {"illegal_fundraising_major_case": False, "credit_township_share": 0.9, "npl_ratio": 0.03}
        record["county"] = f"3201{i + 1:02d}"
        out.append(record)
    return out


class TestEveryIndicatorScore:
    """Each indicator's score, the total and the grade of the generated code equal the interpreter's."""

    @SETTINGS
    @given(record=records())
    def test_scores_of_one_record(self, record: dict[str, Any]) -> None:
        """Family scores on goalposts, rounding halves and thresholds: the generated units are the interpreter's."""
        answer = WITH_SCORES.function(record)  # type: ignore[misc]
        want = _interpreted(PROVINCIAL, [record]).results[0]
        assert answer is not None
        packed, scores = answer
        scale = PROVINCIAL.plan.precision
        assert [Decimal(s).scaleb(-scale) for s in scores] == [r.score for r in want.indicators.values()]
        assert (Decimal(packed >> 2).scaleb(-scale), packed & 3) == (want.score, want.grade.rank)  # type: ignore[union-attr]

    def test_a_family_on_a_half_cent_rounds_up(self) -> None:
        """Bank–enterprise 50.045 puts 0.005 on the service score (rounded to 0.01); awareness 0.125 and
        satisfaction 0 put the satisfaction score on 0.005 too (0.01)."""
        record = {**_examples(1)[0], "bank_enterprise_score": 50.045, "product_innovation_score": 50.0}
        record |= {"awareness_score": 0.125, "satisfaction_score": 0.0}
        _, scores = WITH_SCORES.function(record)  # type: ignore[misc]
        names = [s.name for s in PROVINCIAL.plan.indicators]
        assert (scores[names.index("service")], scores[names.index("satisfaction")]) == (1, 1)
        want = _interpreted(PROVINCIAL, [record]).results[0].indicators
        assert (want["service"].score, want["satisfaction"].score) == (Decimal("0.01"), Decimal("0.01"))


class TestBatches:
    """Batches with missing, odd and table cells: generated code and interpreter agree on everything."""

    @SETTINGS
    @given(batch=batches())
    def test_batches_grade_as_the_interpreter(self, batch: list[dict[str, Any]]) -> None:
        """Grades, totals to the digit, ok, problems and full explanations equal the interpreter's."""
        _assert_same(PROVINCIAL, batch)

    @SETTINGS
    @given(record=records(cells=True))
    def test_an_odd_cell_beside_good_records(self, record: dict[str, Any]) -> None:
        """One record with an odd cell, table or gap among clean ones changes no other record's grade."""
        clean = [{**r, "county": f"3201{i:02d}"} for i, r in enumerate(_examples(2), 2)]
        _assert_same(PROVINCIAL, [{**record, "county": "320101"}, *clean])


class TestImputation:
    """A missing product-innovation score is the city's mean, computed over the batch first."""

    def test_the_city_mean_fills_the_gap(self) -> None:
        """The fill is the mean of the other counties of the same city; the batch stays on generated code."""
        batch = [{**r, "county": f"3201{i:02d}"} for i, r in enumerate(_examples(3), 1)]
        batch[0]["product_innovation_score"], batch[1]["product_innovation_score"] = 60.0, 70.5
        del batch[2]["product_innovation_score"]
        got = _assert_same(PROVINCIAL, batch)
        assert got.results[2].indicators["service"].treatment == "product_innovation_score imputed as group_mean 65.25"
        batch[2]["product_innovation_score"] = 65.25
        assert PROVINCIAL.evaluate(batch).scores == got.scores

    def test_a_city_with_no_value_is_not_graded(self) -> None:
        """No other county of the city has the score: the interpreter says the indicator is not graded."""
        batch = [{**_examples(1)[0], "county": "320101"}, {**_examples(1)[0], "county": "320201"}]
        del batch[1]["product_innovation_score"]
        got = _assert_same(PROVINCIAL, batch)
        assert (got.grades[1], got.results[1].missing) == (None, ("product_innovation_score",))

    def test_the_city_column_groups(self) -> None:
        """A ``city`` column names the group, as the interpreter reads it."""
        batch = [{**r, "county": f"3201{i:02d}"} for i, r in enumerate(_examples(3), 1)]
        batch[0] |= {"city": "320200", "product_innovation_score": 90.0}
        batch[1]["product_innovation_score"] = 55.0
        del batch[2]["product_innovation_score"]
        got = _assert_same(PROVINCIAL, batch)
        assert got.results[2].indicators["service"].treatment == "product_innovation_score imputed as group_mean 55.00"


class TestDeductions:
    """Per-unit deductions, each capped, and the cap on all deductions, in integer units."""

    def test_caps(self) -> None:
        """Six debt evasion cases count 5, seven unreported intermediaries 3: 8 in all, the policy's cap."""
        base = {**_examples(1)[0], "county": "320101"}
        free = PROVINCIAL.evaluate([base]).scores[0]
        capped = PROVINCIAL.evaluate([base | {"debt_evasion_cases": 6, "intermediaries_not_reported": 7}])
        assert _generated(PROVINCIAL, capped)
        assert free is not None and capped.scores[0] == free - 8
        one = PROVINCIAL.evaluate([base | {"debt_evasion_cases": 0, "intermediaries_not_reported": 1}]).scores[0]
        assert one == free - Decimal("0.5")


class TestTables:
    """A county with township and village rows is re-rated by the interpreter; without rows it is generated."""

    def test_rows_that_agree(self) -> None:
        """Rows whose roll-up agrees with the reported shares: graded exactly as the interpreter grades them."""
        record = {**_examples(1)[0], "county": "320101", "credit_township_share": 1.0, "credit_village_share": 1.0}
        got = _assert_same(PROVINCIAL, [record | {"credit_units": _units("0.55")}])
        assert "roll_up" in got.results[0].indicators["credit"].details

    def test_rows_that_disagree(self) -> None:
        """Rows that re-rate the township away: the scorer rejects the county, as in the interpreter."""
        record = {**_examples(1)[0], "county": "320101", "credit_township_share": 1.0, "credit_village_share": 1.0}
        got = _assert_same(PROVINCIAL, [record | {"credit_units": _units("0.45")}])
        assert got.grades == (None,)


class _Shifted(Scorer):
    """A plugin scorer of ``a`` on goalposts 0 and 1, with a compiled form chosen by the test."""

    name = "shifted"
    version = "1"
    label = Label("测试", "test")
    params_schema: Mapping[str, Any] = {"type": "object"}

    def __init__(self, form: object) -> None:
        self.form = form

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {"a": Better.HIGHER}

    def compiled(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        if isinstance(self.form, Exception):
            raise self.form
        return self.form

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        return lambda values: Scored(min(max(values["a"], Decimal(0)), Decimal(1)) * max_score)


class _Plugin:
    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    @hookimpl
    def fineco_scorers(self) -> Sequence[Scorer]:
        return [self.scorer]


def _plugin_policy(write_policy: Any, scorer: Scorer) -> CompiledPolicy:
    from .conftest import SMALL

    host = fineco_rules.make_plugin_host(plugins=[_Plugin(scorer)])
    text = SMALL.replace("scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: shifted\n    params: {}")
    return fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(text), host=host), host)


class TestThePluginContract:
    """``Scorer.compiled``: a plugin's goalposts are generated; a form the engine cannot use is left alone."""

    RECORDS = (
        {"county": "320101", "a": 0.40005, "b": 50, "npl": 0.01},
        {"county": "320102", "a": 1.5, "b": 1, "npl": 0},
    )  # a > 1: out of range

    def test_a_plugins_goalposts_are_generated(self, write_policy: Any) -> None:
        """A city's scorer that offers goalposts runs as generated code and grades as the interpreter."""
        form = Goalposts((Goalpost((("a", Decimal(1)),), Decimal(0), Decimal(1), Decimal(1)),))
        compiled = _plugin_policy(write_policy, _Shifted(form))
        assert "goalposts, in floats" in (compiled.generated.source or "")
        got = _assert_same(compiled, list(self.RECORDS))
        assert got.results[0].indicators["ia"].score == Decimal("40.01")

    def test_a_form_that_raises_or_is_not_goalposts_is_ignored(self, write_policy: Any) -> None:
        """A compiled() that fails or answers something else: the scorer's row function scores every record."""
        for form in (RuntimeError("bug"), "goalposts"):
            compiled = _plugin_policy(write_policy, _Shifted(form))
            assert compiled.plan.indicators[0].form is None
            assert list(_assert_same(compiled, list(self.RECORDS)).grades) == [Grade.FAIL, None]

    def test_weights_beyond_the_maximum_are_left_to_the_row_function(self, write_policy: Any) -> None:
        """Goalposts whose weights add up to more than 1 could exceed the maximum: not generated."""
        piece = Goalpost((("a", Decimal(1)),), Decimal(0), Decimal(1), Decimal("0.6"))
        compiled = _plugin_policy(write_policy, _Shifted(Goalposts((piece, piece))))
        assert "goalposts, in floats" not in (compiled.generated.source or "")
        _assert_same(compiled, list(self.RECORDS))


FAMILY_POLICY = """
id: family
version: "1"
label: {zh: 家族, en: family}
effective_from: 2008-01-01
precision: 2
inputs:
  npl_ratio: {type: ratio, better: lower, label: {zh: 不良, en: npl}}
  legal_person_health_score: {type: number, min: 0, max: 100, better: higher, label: {zh: 法人, en: health}}
  a: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  s: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙, en: s}}
  n: {type: integer, min: 0, label: {zh: 样本, en: n}}
aggregation: {method: points, total: 30}
indicators:
  internal:
    label: {zh: 内生, en: internal}
    points: 20
    scorer: financial_internal
    params: {}
  satisfaction:
    label: {zh: 满意, en: satisfaction}
    points: 10
    scorer: financial_satisfaction
    params: {awareness: a, satisfaction: s, sample_size: n, awareness_weight: 0.4}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 15}
  good: {label: {zh: 良好, en: good}, min_total: 25}
"""


class TestTheVectorisedForm:
    """The default ``Scorer.vectorized`` is the compiled form over columns: close, with an honest bound."""

    @SETTINGS
    @given(record=records())
    def test_every_family_is_within_its_bound(self, record: dict[str, Any]) -> None:
        """For each provincial indicator, |vectorised − exact| is at most the error it reports."""
        import numpy as np

        for step in PROVINCIAL.plan.indicators:
            assert step.vector is not None
            numbers = [f for f in step.fields if PROVINCIAL.policy.inputs[f].type != "table"]
            columns = {f: np.array([float(record[f])]) for f in numbers}
            scores, error = step.vector(columns)
            values = {
                f: Decimal(repr(record[f])) if isinstance(record[f], float) else Decimal(record[f]) for f in numbers
            }
            exact = step.function({**dict.fromkeys(step.fields), **values}).score
            assert abs(Decimal(float(scores[0])) - exact) <= Decimal(float(np.broadcast_to(error, (1,))[0]))

    def test_a_zero_denominator_is_left_to_the_row_function(self) -> None:
        """A rate over 0 is NaN: the columnar path sends that record to the row function."""
        import numpy as np

        scorer = fineco_rules.make_plugin_host().scorer("legal_environment").scorer
        params = {"weights": {"case_execution_rate": 0.5, "claim_recovery_rate": 0.3, "financial_crime_cases": 0.2,
                              "debt_evasion_cases": 0}}  # fmt: skip
        vector = scorer.vectorized(params, Decimal(15))
        assert vector is not None
        columns = {"case_execution_rate": np.array([0.9, 0.9]), "claim_recovery_rate": np.array([0.9, 0.9]),
                   "financial_crime_cases": np.array([1.0, 1.0]), "population": np.array([0.0, 40000.0])}  # fmt: skip
        scores, _ = vector(columns)
        assert np.isnan(scores[0]) and scores[1] == pytest.approx(15 * (0.5 * 0.4 / 0.45 + 0.3 + 0.2 * 0.5))

    def test_a_family_policy_runs_on_the_columnar_path(self, write_policy: Any) -> None:
        """Family scorers without a table run vectorised and grade as the row path does."""
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(FAMILY_POLICY)))
        batch = [
            {"county": "320101", "npl_ratio": 0.05, "legal_person_health_score": 80.0, "a": 0.125, "s": 0.0, "n": 300},
            {"county": "320102", "npl_ratio": 0.02, "legal_person_health_score": 95.0, "a": 90.0, "s": 88.5, "n": 9},
        ]
        columns = {key: [r[key] for r in batch] for key in batch[0]}
        columnar = fineco_rules.evaluate_columns(compiled, columns)
        assert dict(columnar.paths) == {"internal": "columnar", "satisfaction": "columnar"}
        assert (columnar.grades(), [columnar.total(i) for i in range(2)]) == (
            list(compiled.evaluate(batch).grades),
            list(compiled.evaluate(batch).scores),
        )
