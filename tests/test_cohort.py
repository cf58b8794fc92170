"""A fitted cohort: parts of a population graded exactly as the whole batch."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fineco_rules
import fineco_rules.io
from tests.conftest import WritePolicy

COHORT_POLICY = """\
id: cohort-policy
version: "1"
label: {zh: 群组政策, en: cohort policy}
effective_from: 2008-01-01
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 乙, en: b}}
  c: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 丙, en: c}}
indicators:
  rank_a:
    label: {zh: 甲排名, en: rank of a}
    scorer: rank
    params: {input: a}
    weight: 0.4
  minmax_b:
    label: {zh: 乙极差, en: min-max of b}
    scorer: minmax
    params: {input: b}
    missing: {impute: mean}
    weight: 0.3
  linear_c:
    label: {zh: 丙, en: c}
    scorer: linear
    params: {input: c, worst: 0, best: 100}
    missing: {impute: group_mean, group: city}
    weight: 0.3
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 40}
  good: {label: {zh: 良好, en: good}, min_total: 70}
"""

_values = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
_records = st.lists(
    st.tuples(
        st.decimals(min_value=0, max_value=1, places=3, allow_nan=False),
        _values,
        _values,
        st.sampled_from(["320100", "320500"]),
    ),
    min_size=1,
    max_size=12,
).map(
    lambda rows: [
        {"county": f"{320101 + i}", "city": city, "a": a, "b": b, "c": c} for i, (a, b, c, city) in enumerate(rows)
    ]
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> fineco_rules.CompiledPolicy:
    path: Path = tmp_path_factory.mktemp("cohort") / "policy.yaml"
    path.write_text(COHORT_POLICY, encoding="utf-8")
    return fineco_rules.compile_policy(fineco_rules.load_policy(path))


@given(records=_records, cut=st.integers(min_value=0, max_value=12))
def test_parts_graded_with_the_fitted_cohort_equal_the_whole_batch(
    compiled: fineco_rules.CompiledPolicy, records: list[dict[str, object]], cut: int
) -> None:
    whole = compiled.evaluate(records)
    cohort = compiled.fit(records)
    # Each part's records keep their place in the whole batch, as a distributed run gives them.
    raws = [
        fineco_rules.io.RawRecord(dict(r), fineco_rules.Location("<records>", path=f"[{i}]"))
        for i, r in enumerate(records)
    ]
    parts = [compiled.evaluate(raws[:cut], cohort=cohort), compiled.evaluate(raws[cut:], cohort=cohort)]
    assert [r.to_dict() for part in parts for r in part.results] == [r.to_dict() for r in whole.results]


def test_a_cohort_is_picklable_and_says_its_size(write_policy: WritePolicy) -> None:
    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(COHORT_POLICY)))
    records = [{"county": "320101", "a": "0.5", "b": 10, "c": 5}, {"county": "320102", "a": "0.7", "c": 9}]
    cohort = compiled.fit(records)
    assert cohort.size == 2
    assert pickle.loads(pickle.dumps(cohort)) == cohort
    assert cohort.fills[("minmax_b", "b")][None] == Decimal(10)


def test_a_record_outside_the_fitted_population_is_reported_not_guessed(write_policy: WritePolicy) -> None:
    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(COHORT_POLICY)))
    cohort = compiled.fit([{"county": "320101", "a": "0.5", "b": 10, "c": 5}])
    (result,) = compiled.evaluate([{"county": "320199", "a": "0.5", "b": 10, "c": 5}], cohort=cohort).results
    assert result.grade is None
    error = result.indicators["rank_a"].error
    assert error is not None
    assert error.code == "not-in-cohort"
    assert "320199" in error.message
    assert "fit" in (error.hint or "")
