"""Properties of grading that must hold for every record, searched with Hypothesis."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from fineco_rules import Grade, evaluate

RATIO = st.decimals(min_value=0, max_value=1, places=4)
POINTS = st.decimals(min_value=0, max_value=100, places=2)
Q = Decimal("0.01")


def reference_grade(a: Decimal, b: Decimal, npl: Decimal) -> tuple[Decimal, Grade]:
    """The small policy computed by hand, in exact decimals."""
    ia = (a * 100).quantize(Q, ROUND_HALF_UP)
    ib = b.quantize(Q, ROUND_HALF_UP)
    total = (ia * Decimal("0.5") + ib * Decimal("0.5")).quantize(Q, ROUND_HALF_UP)
    if total < 60 or not npl < Decimal("0.06"):
        return total, Grade.FAIL
    return total, Grade.GOOD if total >= 80 else Grade.PASS


@given(a=RATIO, b=POINTS, npl=RATIO)
def test_matches_exact_reference(small_session, a, b, npl):
    """Every record grades exactly as the hand-written decimal reference does."""
    [result] = evaluate(small_session, [{"county": "320581", "a": a, "b": b, "npl": npl}])
    assert (result.score, result.grade) == reference_grade(a, b, npl)


@given(a=RATIO, b=POINTS, npl=RATIO, step=st.decimals(min_value=0, max_value=1, places=4))
def test_better_input_never_lowers_the_grade(small_session, a, b, npl, step):
    """Raising a higher-is-better input, all else equal, never lowers the score or grade."""
    better = min(a + step, Decimal(1))
    before, after = evaluate(
        small_session,
        [{"county": "320581", "a": a, "b": b, "npl": npl}, {"county": "320582", "a": better, "b": b, "npl": npl}],
    )
    assert after.score >= before.score
    assert after.grade >= before.grade


@given(a=RATIO, b=POINTS, npl=RATIO)
def test_good_implies_every_pass_condition(small_session, a, b, npl):
    """A good county meets every pass condition: good is reached only through pass."""
    [result] = evaluate(small_session, [{"county": "320581", "a": a, "b": b, "npl": npl}])
    if result.grade is Grade.GOOD:
        assert all(check.met for check in result.checks[Grade.PASS])


@given(rows=st.lists(st.tuples(RATIO, POINTS, RATIO), min_size=1, max_size=8), seed=st.randoms())
def test_batch_order_does_not_change_results(small_session, rows, seed):
    """Each county's result is the same whatever its place in the batch."""
    records = [{"county": str(320000 + i), "a": a, "b": b, "npl": n} for i, (a, b, n) in enumerate(rows)]
    shuffled = list(records)
    seed.shuffle(shuffled)
    first = {r.county: r.to_dict() for r in evaluate(small_session, records)}
    second = {r.county: r.to_dict() for r in evaluate(small_session, shuffled)}
    assert first == second
