"""Generated grading code (issue 16): the same grades, totals and explanations as the interpreter.

The generated code and the interpreter are engine-internal (``fineco_rules.engine._generated``,
``CompiledPolicy._interpret``); these tests compare them record by record on random policies from
``fineco_rules.testing``, on rounding ties and thresholds, and on bad cells.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules import RecordError, testing
from fineco_rules.engine import CompiledPolicy
from fineco_rules.engine._generated import generate  # private unit under test (fineco_rules.engine._generated)
from fineco_rules.engine._records import raw_from_mapping  # private unit under test (fineco_rules.engine._records)
from fineco_rules.engine._results import Deferred  # private unit under test (fineco_rules.engine._results)
from fineco_rules.policy import Grade

ROW = ("linear", "bands", "threshold", "ratio", "formula")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _as_users_write(record: dict[str, Any]) -> dict[str, Any]:
    """A drawn record as Python users hold it: floats for decimals, ints for whole numbers."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Decimal):
            value = (
                int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
            )
        out[key] = value
    return out


def _generatable(data: dict[str, Any]) -> dict[str, Any]:
    """A drawn policy without what the generator leaves to the interpreter (adjustments, geometric means)."""
    data = dict(data)
    data.pop("adjustments", None)
    if data["aggregation"]["method"] == "geometric_mean":
        data["aggregation"] = {"method": "weighted_mean"}
    return data


def _interpreted(compiled: CompiledPolicy, records: list[dict[str, Any]]) -> fineco_rules.Evaluation:
    return compiled._interpret([raw_from_mapping(r, i) for i, r in enumerate(records)])  # noqa: SLF001


def _assert_same(compiled: CompiledPolicy, records: list[dict[str, Any]]) -> fineco_rules.Evaluation:
    want = _interpreted(compiled, records)
    got = compiled.evaluate(records)
    assert got.grades == tuple(r.grade for r in want.results)
    assert got.scores == tuple(r.score for r in want.results)
    assert [str(s) for s in got.scores] == [str(r.score) for r in want.results]  # the same digits
    assert got.ok == want.ok
    assert len(got) == len(want.results)
    assert got.results == want.results
    assert got.problems == want.problems
    return got


@st.composite
def _policy_and_batch(draw: st.DrawFn) -> tuple[CompiledPolicy, list[dict[str, Any]]]:
    policy = testing.policy_from_mapping(_generatable(draw(testing.policies(scorers=ROW))))
    batch = draw(testing.batches(policy, max_size=8))
    return fineco_rules.compile_policy(policy), [_as_users_write(r) for r in batch]


class TestRandomPolicies:
    """Random policies from ``fineco_rules.testing``: generated code and interpreter agree on every record."""

    @SETTINGS
    @given(case=_policy_and_batch())
    def test_generated_code_grades_as_the_interpreter(self, case: tuple[CompiledPolicy, list[dict[str, Any]]]) -> None:
        """Grades, totals (to the digit), ok, problems and full explanations equal the interpreter's."""
        compiled, records = case
        assert compiled.compiled_form == "generated"
        _assert_same(compiled, records)

    @SETTINGS
    @given(data=st.data())
    def test_a_bad_cell_in_the_batch_changes_nothing(self, data: st.DataObject) -> None:
        """A batch with one record the policy must refuse still grades every record as the interpreter does."""
        policy = testing.policy_from_mapping(_generatable(data.draw(testing.policies(scorers=ROW))))
        compiled = fineco_rules.compile_policy(policy)
        good = [_as_users_write(r) for r in data.draw(testing.batches(policy, max_size=4))]
        bad = data.draw(testing.invalid_records(policy))
        bad["county"] = "329999"
        records = [r for r in good if r["county"] != "329999"] + [bad]
        _assert_same(compiled, records)

    @SETTINGS
    @given(data=st.data())
    def test_policies_the_generator_leaves_alone_still_grade(self, data: st.DataObject) -> None:
        """Geometric means leave the policy on the interpreter, which says so; adjustments are generated too."""
        drawn = data.draw(testing.policies(scorers=ROW))
        policy = testing.policy_from_mapping(drawn)
        compiled = fineco_rules.compile_policy(policy)
        if drawn["aggregation"]["method"] == "geometric_mean":
            assert compiled.compiled_form.startswith("interpreted: ")
        records = [_as_users_write(r) for r in data.draw(testing.batches(policy, max_size=4))]
        _assert_same(compiled, records)


LINEAR = """
id: ties
version: "1"
label: {zh: 平局, en: ties}
effective_from: 2008-01-01
precision: 2
inputs:
  x: {type: number, min: 0, max: 8, better: higher, label: {zh: x, en: x}}
  loans: {type: number, min: 0, better: higher, label: {zh: 贷款, en: loans}}
  deposits: {type: number, min: 0, better: lower, label: {zh: 存款, en: deposits}}
  g: {type: ratio, better: higher, label: {zh: g, en: g}}
indicators:
  a:
    label: {zh: a, en: a}
    scorer: linear
    params: {input: x, worst: 0, best: 8}
    weight: 0.5
  b:
    label: {zh: b, en: b}
    scorer: ratio
    params: {numerator: loans, denominator: deposits, worst: 0.3, best: 0.8}
    weight: 0.5
aggregation: {method: weighted_mean}
grades:
  pass:
    label: {zh: 达标, en: pass}
    min_total: 60
    gates:
      g: {input: g, op: ">=", value: 0.85}
  good:
    label: {zh: 良好, en: good}
    min_total: 80
    gates:
      a80: {indicator: a, op: ">", value: 80.005}
"""


def _ties_policy(write_policy: Any = None, text: str = LINEAR) -> CompiledPolicy:
    return fineco_rules.compile_policy(testing.policy_from_text(text))


TIES = _ties_policy()


class TestTiesAndThresholds:
    """Scores on a rounding half, totals and gates on their thresholds: decided exactly."""

    @settings(max_examples=150, deadline=None)
    @given(
        k=st.integers(0, 8000),
        loans=st.integers(1, 10**6),
        deposits=st.integers(1, 10**6),
        g=st.sampled_from((0.8499, 0.85, 0.8501, 1, 0)),
    )
    def test_halves_and_thresholds(self, k: int, loans: int, deposits: int, g: float) -> None:
        """x = k/1000 puts a's score (12.5·x) on a half of a cent every fourth k; loans/deposits often on one."""
        compiled = TIES
        record = {"county": "320581", "x": k / 1000, "loans": loans / 100, "deposits": deposits / 100, "g": g}
        _assert_same(compiled, [record])

    def test_a_score_on_a_half_rounds_up(self, write_policy: Any) -> None:
        """x 0.002 scores 0.025 → 0.03, the ratio 0.300125 0.025 → 0.03; (81.25 + 70) / 2 = 75.625 → 75.63."""
        compiled = _ties_policy(write_policy)
        records = [
            {"county": "320581", "x": 0.002, "loans": 0.300125, "deposits": 1, "g": 1},
            {"county": "320582", "x": 6.5, "loans": 1.3, "deposits": 2, "g": 0.85},
        ]
        got = _assert_same(compiled, records)
        assert [r.indicators["a"].score for r in got.results] == [Decimal("0.03"), Decimal("81.25")]
        assert [r.indicators["b"].score for r in got.results] == [Decimal("0.03"), Decimal("70.00")]
        assert got.scores == (Decimal("0.03"), Decimal("75.63"))
        assert got.grades == (Grade.FAIL, Grade.PASS)


class TestBadCells:
    """Cells the generated code does not read are graded (and reported) by the interpreter."""

    @pytest.mark.parametrize(
        "cell",
        [None, "", "0.5", "85%", True, float("nan"), float("inf"), -1.0, 9.5, 2**60, Decimal("0.5"), [1]],
    )
    def test_an_odd_cell_is_graded_as_the_interpreter_grades_it(self, write_policy: Any, cell: object) -> None:
        """Missing, text, percentages, booleans, NaN, infinities, out of range, huge ints, Decimals, lists."""
        compiled = _ties_policy(write_policy)
        records = [
            {"county": "320581", "x": cell, "loans": 1, "deposits": 2, "g": 0.9},
            {"county": "320582", "x": 4, "loans": 1, "deposits": 2, "g": 0.9},
        ]
        _assert_same(compiled, records)

    @pytest.mark.parametrize(
        "records",
        [
            [{"county": "320581", "x": 4, "loans": 1, "deposits": 2, "g": 0.9, "extra": 1}],
            [{"county": "3205810", "x": 4, "loans": 1, "deposits": 2, "g": 0.9}],
            [{"county": " 320581", "x": 4, "loans": 1, "deposits": 2, "g": 0.9}],
            [{"county": 320581, "x": 4, "loans": 1, "deposits": 2, "g": 0.9}],
            [{"county": "３２０５８１", "x": 4, "loans": 1, "deposits": 2, "g": 0.9}],
            [{"county": "320581", "x": 4, "loans": 1, "deposits": 0, "g": 0.9}],
            [{"county": "320581", "x": 4, "loans": 1, "deposits": 2, "g": 0.9}] * 2,
            [{"x": 4, "loans": 1, "deposits": 2, "g": 0.9}],
        ],
        ids=["unknown column", "seven digits", "a space", "an int code", "full-width", "zero", "twice", "no code"],
    )
    def test_batch_level_problems_are_the_interpreters(self, write_policy: Any, records: list[Any]) -> None:
        """Unknown columns, bad or repeated county codes, a zero denominator: the interpreter's answer."""
        _assert_same(_ties_policy(write_policy), records)


GROUP_BONUS = """\
id: group-bonus
version: "1"
label: {zh: 组别加分, en: group bonus}
effective_from: 2008-01-01
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: ratio, better: higher, label: {zh: 乙, en: b}}
indicators:
  ia: {label: {zh: 甲, en: a}, group: g1, scorer: linear, params: {input: a, worst: 0, best: 1}, weight: 1}
  ib: {label: {zh: 乙, en: b}, group: g2, scorer: linear, params: {input: b, worst: 0, best: 1}, weight: 1}
aggregation:
  method: weighted_mean
  groups:
    g1: {label: {zh: 一, en: one}, weight: 0.5}
    g2: {label: {zh: 二, en: two}, weight: 0.5}
adjustments:
  g1_bonus: {label: {zh: 加分, en: bonus}, kind: bonus, when: {group: g1, op: ">=", value: 80}, points: 2}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""


class TestConditionsOnGroups:
    def test_a_bonus_on_a_group_no_gate_names_is_generated_and_graded_as_the_interpreter(
        self, write_policy: Any
    ) -> None:
        """A bonus whose condition compares a group (no gate or veto does) gets that group's sum in the
        generated code; the generator used to fail with a KeyError on such a policy."""
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(GROUP_BONUS)))
        assert compiled.compiled_form == "generated"
        got = _assert_same(
            compiled, [{"county": "320101", "a": 0.9, "b": 0.5}, {"county": "320102", "a": 0.5, "b": 0.9}]
        )
        assert got.scores == (Decimal("72.00"), Decimal("70.00"))


class TestOnDemand:
    """Explanations are built only when asked for, from a copy of the records."""

    def test_grades_come_without_explanations(self, write_policy: Any) -> None:
        """evaluate() keeps grades and totals; results are built the first time they are read."""
        compiled = _ties_policy(write_policy)
        evaluation = compiled.evaluate([{"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}])
        assert isinstance(evaluation._results, Deferred)  # noqa: SLF001
        assert (evaluation.grades, evaluation.scores, evaluation.ok) == ((Grade.GOOD,), (Decimal("100.00"),), True)
        assert isinstance(evaluation._results, Deferred)  # noqa: SLF001
        assert evaluation.results[0].indicators["a"].score == Decimal("100.00")
        assert isinstance(evaluation._results, tuple)  # noqa: SLF001

    def test_a_record_changed_so_its_grade_differs_is_refused_when_explained(self, write_policy: Any) -> None:
        """The evaluation keeps the records, not copies: explaining one changed since grading, so that its grade
        or total differs, raises RecordError (records-changed) naming the county instead of explaining it."""
        compiled = _ties_policy(write_policy)
        record = {"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}
        evaluation = compiled.evaluate([record])
        assert evaluation.grades == (Grade.GOOD,)
        record["x"] = 0
        assert evaluation.grades == (Grade.GOOD,)  # the grades given stay as they were
        with pytest.raises(RecordError) as caught:
            _ = evaluation.results
        assert caught.value.problem.code == "records-changed"
        assert caught.value.problem.location.county == "320581"
        assert "graded good (100.00) and now gives fail (50.00)" in str(caught.value)

    def test_copies_passed_keep_the_explanation_of_the_records_as_graded(self, write_policy: Any) -> None:
        """Copies passed to evaluate are what is explained: changing the originals afterwards changes nothing."""
        compiled = _ties_policy(write_policy)
        record = {"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}
        evaluation = compiled.evaluate([dict(record)])
        record["x"] = 0
        assert evaluation.results[0].indicators["a"].inputs == {"x": Decimal(8)}

    def test_a_deferred_evaluation_pickles_as_its_results(self, write_policy: Any) -> None:
        """Pickled (to ship to a worker), a deferred evaluation carries its full results."""
        import pickle

        compiled = _ties_policy(write_policy)
        evaluation = compiled.evaluate([{"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}])
        back = pickle.loads(pickle.dumps(evaluation))
        assert (
            back.results
            == _interpreted(compiled, [{"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}]).results
        )


class TestSource:
    """The generated source is readable, built from the plan's data only, and says why when it is not made."""

    def test_the_source_names_fields_only_as_string_literals(self, write_policy: Any) -> None:
        """A field name is a quoted literal (repr), never an identifier; variables are x0, s0, ..."""
        compiled = _ties_policy(write_policy)
        source = compiled.generated.source
        assert source is not None and source.startswith("def grade(r, ")
        assert "r['x']" in source and "r['loans']" in source and "\n        x0 = r['x']\n" in source

    def test_a_hostile_name_stays_text(self) -> None:
        """Quotes and newlines in the policy's id and version end up inside repr() text, never as code."""
        hostile = attrs.evolve(TIES.policy, id="ties\n    import os  # '", version='"\n    raise SystemExit')
        generated = generate(hostile, TIES.plan)
        assert generated.source is not None and generated.function is not None
        assert "\n    import os" not in generated.source and "\n    raise" not in generated.source
        assert generated.source.splitlines()[0].endswith(
            """  # "ties\\n    import os  # '" '"\\n    raise SystemExit'"""
        )

    def test_why_not_is_given(self, write_policy: Any) -> None:
        """An unsupported plan feature names itself in compiled_form."""
        text = LINEAR.replace("aggregation: {method: weighted_mean}", "aggregation: {method: geometric_mean}")
        compiled = _ties_policy(text=text)
        assert compiled.compiled_form == "interpreted: the geometric_mean method is computed by the interpreter"
        assert generate(compiled.policy, compiled.plan).function is None


class TestTimeLimitOnGeneratedCode:
    """A plugin scorer the generated code calls is stopped by a time limit that names its county."""

    def test_a_hung_scorer_called_by_generated_code_is_named_with_its_county(self, write_policy: Any) -> None:
        """Records as floats take the generated path; the timeout still says indicator, scorer and county."""
        from fineco_rules.engine import EvaluationTimeout, time_limit

        from .test_faults import Faulty, _policy, _sleep_forever

        compiled = _policy(write_policy, Faulty(_sleep_forever, name="sleepy"))
        assert compiled.compiled_form == "generated"
        records = [{"county": "320581", "name": "常熟市", "a": 0.9, "b": 90, "npl": 0.02}]
        with pytest.raises(EvaluationTimeout) as caught, time_limit(0.5):
            compiled.evaluate(records)
        assert (caught.value.indicator, caught.value.scorer, caught.value.county) == ("ia", "sleepy", "320581")
