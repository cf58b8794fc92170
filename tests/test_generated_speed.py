"""The generated batch loop (issue 16): ``grade_all(records)`` answers as ``grade(r)`` for each record."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fineco_rules.engine import CompiledPolicy
from fineco_rules.engine._generated import generate  # private unit under test (fineco_rules.engine._generated)

from .test_generated import TIES, _policy_and_batch

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ODD = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.floats(), st.integers(-(2**60), 2**60))


class TestTheBatchLoop:
    """One loop over the batch instead of a call per record, with the same answers."""

    @SETTINGS
    @given(_policy_and_batch())
    def test_the_loop_answers_as_the_function(self, case: tuple[CompiledPolicy, list[dict[str, Any]]]) -> None:
        """On random policies and batches, grade_all gives grade(r) for every record, in order."""
        compiled, records = case
        generated = compiled.generated
        if generated.function is None:
            return
        assert generated.batch is not None
        assert generated.batch(records) == [generated.function(r) for r in records]

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(["county", "x", "loans", "deposits", "g"]), ODD))
    def test_an_odd_cell_is_not_decided_by_either(self, record: dict[str, Any]) -> None:
        """A missing, odd or out-of-range cell: the loop says None exactly where the function does."""
        generated = TIES.generated
        assert generated.batch is not None and generated.function is not None
        good = {"county": "320581", "x": 8, "loans": 1, "deposits": 1, "g": 1}
        batch = [good, {**good, **record}, good]
        assert generated.batch(batch) == [generated.function(r) for r in batch]

    def test_no_loop_when_scores_are_asked_for(self) -> None:
        """With scores (for tests) only grade(record) is made."""
        generated = generate(TIES.policy, TIES.plan, scores=True)
        assert generated.function is not None and generated.batch is None
