"""The built-in scorers, one class each, on hand-computed cases; and aggregation methods."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fineco_rules import Better, Grade, ParamError, evaluate, load_policy, make_plugin_host

from .conftest import SMALL, WritePolicy

D = Decimal
HOST = make_plugin_host()


def scorer(name: str):  # type: ignore[no-untyped-def]
    return HOST.scorer(name).scorer


class TestLinear:
    @pytest.mark.parametrize(
        ("value", "score"),
        [("0.5", "0"), ("0.4", "0"), ("0.725", "50"), ("0.95", "100"), ("1", "100")],
        ids=["worst", "below-worst", "middle", "best", "above-best"],
    )
    def test_goalposts_clip(self, value, score):
        """Linear between worst (0) and best (max), clipped outside."""
        fn = scorer("linear").build({"input": "x", "worst": D("0.5"), "best": D("0.95")}, D(100))
        assert fn({"x": D(value)}).score == D(score)

    def test_lower_is_better(self):
        """With best below worst the direction is reversed, and reads() says so."""
        params = {"input": "npl", "worst": D("0.10"), "best": D("0.02")}
        fn = scorer("linear").build(params, D(10))
        assert fn({"npl": D("0.06")}).score == D(5)
        assert scorer("linear").reads(params) == {"npl": Better.LOWER}

    def test_equal_goalposts(self):
        """Equal goalposts are a parameter error."""
        with pytest.raises(ParamError) as info:
            scorer("linear").build({"input": "x", "worst": 1, "best": 1}, D(100))
        assert info.value.path == ("best",)


class TestBands:
    PARAMS = {
        "input": "npl",
        "bands": [
            {"min": 0, "max": D("0.02"), "points": 15},
            {"min": D("0.02"), "max": D("0.06"), "points": 9},
            {"min": D("0.06"), "points": 0},
        ],
    }

    @pytest.mark.parametrize(
        ("value", "points", "band"),
        [
            ("0", 15, "[0, 0.02)"),
            ("0.0199999", 15, "[0, 0.02)"),
            ("0.02", 9, "[0.02, 0.06)"),
            ("0.06", 0, "[0.06, +∞)"),
        ],
        ids=["zero", "just-below-edge", "on-edge", "on-6pct"],
    )
    def test_half_open_bands(self, value, points, band):
        """A value on an edge belongs to the band that starts there."""
        result = scorer("bands").build(self.PARAMS, D(15))({"npl": D(value)})
        assert (result.score, result.details["band"]) == (D(points), band)

    def test_closed_right(self):
        """closed: right makes bands (min, max]."""
        params = {
            **self.PARAMS,
            "closed": "right",
            "bands": [{"max": D("0.02"), "points": 15}, {"min": D("0.02"), "points": 0}],
        }
        fn = scorer("bands").build(params, D(15))
        assert fn({"npl": D("0.02")}).score == 15

    def test_direction_from_points(self):
        """Points falling with the value mean lower is better."""
        assert scorer("bands").reads(self.PARAMS) == {"npl": Better.LOWER}

    def test_points_above_maximum(self):
        """A band worth more than the indicator's maximum is a parameter error."""
        with pytest.raises(ParamError) as info:
            scorer("bands").build(self.PARAMS, D(10))
        assert info.value.path == ("bands", 0, "points")

    def test_outside_every_band(self):
        """A value no band covers scores 0 and the details say why."""
        params = {"input": "x", "bands": [{"min": 0, "max": 1, "points": 5}]}
        result = scorer("bands").build(params, D(5))({"x": D(2)})
        assert (result.score, result.details["note"]) == (0, "outside every band")


class TestThreshold:
    def test_first_matching_rule(self):
        """The first rule that holds gives its points; otherwise the fallback."""
        params = {
            "input": "x",
            "rules": [{"op": ">=", "value": D("0.85"), "points": 10}, {"op": ">=", "value": D("0.7"), "points": 6}],
            "otherwise": 1,
        }
        fn = scorer("threshold").build(params, D(10))
        assert [fn({"x": D(v)}).score for v in ("0.85", "0.7", "0.69")] == [10, 6, 1]

    def test_boolean(self):
        """A rule can test a boolean input."""
        params = {"input": "flag", "rules": [{"op": "==", "value": True, "points": 5}]}
        fn = scorer("threshold").build(params, D(5))
        assert (fn({"flag": True}).score, fn({"flag": False}).score) == (5, 0)


class TestRatio:
    def test_per_ten_thousand(self):
        """Cases per 10,000 people, then scored by bands."""
        params = {
            "numerator": "cases",
            "denominator": "people",
            "per": 10000,
            "bands": [{"max": D("0.05"), "points": 4}, {"min": D("0.05"), "points": 0}],
        }
        fn = scorer("ratio").build(params, D(4))
        result = fn({"cases": D(5), "people": D(1_000_000)})
        assert (result.details["value"], result.score) == (D("0.05"), 0)
        assert fn({"cases": D(4), "people": D(1_000_000)}).score == 4
        assert scorer("ratio").reads(params) == {"cases": Better.LOWER, "people": Better.HIGHER}

    def test_zero_denominator(self):
        """A zero denominator raises, so the engine reports it on that county."""
        fn = scorer("ratio").build({"numerator": "a", "denominator": "b", "worst": 0, "best": 1}, D(100))
        with pytest.raises(ValueError, match="denominator 'b' is 0"):
            fn({"a": D(1), "b": D(0)})


class TestCohort:
    VALUES = [D(10), D(20), D(20), D(50)]

    def run(self, name: str, better: str = "higher") -> list[Decimal]:
        fn = scorer(name).build({"input": "x", "better": better}, D(100))
        return [s.score for s in fn([{"x": v} for v in self.VALUES])]

    def test_minmax(self):
        """Min-max: worst 0, best 100, linear between."""
        assert self.run("minmax") == [0, 25, 25, 100]
        assert self.run("minmax", "lower") == [100, 75, 75, 0]

    def test_rank(self):
        """Rank: first 100, last 0, ties share the mean rank."""
        assert self.run("rank") == [0, 50, 50, 100]

    def test_percentile(self):
        """Percentile rank: (counties below + half the ties) / all."""
        assert self.run("percentile") == [D("12.5"), 50, 50, D("87.5")]

    def test_zscore(self):
        """z-score mapped so that the mean scores 50 and ±3σ the ends."""
        scores = self.run("zscore")
        assert scores[1] == scores[2]
        assert sum(scores) / 4 == 50  # symmetric around the mean
        assert all(0 <= s <= 100 for s in scores)

    def test_order_does_not_matter(self):
        """A county's cohort score does not depend on where it stands in the batch."""
        fn = scorer("rank").build({"input": "x"}, D(100))
        forward = fn([{"x": v} for v in self.VALUES])
        backward = fn([{"x": v} for v in reversed(self.VALUES)])
        assert [s.score for s in forward] == [s.score for s in reversed(backward)]

    def test_cohort_in_a_policy(self, write_policy: WritePolicy):
        """A cohort scorer in a policy scores each county against the batch."""
        text = SMALL.replace(
            "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: minmax\n    params: {input: a}"
        )
        policy = load_policy(write_policy(text))
        rows = [{"county": f"32058{i}", "a": a, "b": "60", "npl": "0.01"} for i, a in enumerate(["0.2", "0.4", "0.6"])]
        assert [r.indicators["ia"].score for r in evaluate(policy, rows)] == [0, 50, 100]


GROUPED = SMALL.replace("    weight: 0.5\n  ib:", "    weight: 1\n    group: g1\n  ib:").replace(
    "    weight: 0.5\naggregation: {method: weighted_mean}",
    "    weight: 1\n    group: g2\naggregation:\n  method: METHOD\n  groups:\n"
    "    g1: {label: {zh: 一, en: one}, weight: 0.25}\n    g2: {label: {zh: 二, en: two}, weight: 0.75}",
)


class TestAggregation:
    def test_nested_groups(self, write_policy: WritePolicy):
        """Indicators roll up into weighted groups, and groups into the total."""
        policy = load_policy(write_policy(GROUPED.replace("METHOD", "weighted_mean")))
        [result] = evaluate(policy, [{"county": "320581", "a": "0.4", "b": "80", "npl": "0.01"}])
        assert result.groups == {"g1": D("40.00"), "g2": D("80.00")}
        assert result.score == D("70.00")
        assert result.indicators["ib"].contribution == D("60.00")
        assert result.grade is Grade.PASS

    def test_geometric_mean(self, write_policy: WritePolicy):
        """The weighted geometric mean multiplies: 16^0.25 × 81^0.75 = 2 × 27 = 54."""
        policy = load_policy(write_policy(GROUPED.replace("METHOD", "geometric_mean")))
        [result] = evaluate(policy, [{"county": "320581", "a": "0.16", "b": "81", "npl": "0.01"}])
        assert result.score == D("54.00")

    def test_geometric_zero_is_zero(self, write_policy: WritePolicy):
        """One zero indicator makes a geometric total zero."""
        policy = load_policy(write_policy(GROUPED.replace("METHOD", "geometric_mean")))
        [result] = evaluate(policy, [{"county": "320581", "a": "0", "b": "81", "npl": "0.01"}])
        assert result.score == 0

    def test_group_weights_must_add_up(self, write_policy: WritePolicy):
        """Group weights that do not add up to 1 are a load error."""
        from fineco_rules import PolicyError

        with pytest.raises(PolicyError) as info:
            load_policy(write_policy(GROUPED.replace("METHOD", "weighted_mean").replace("weight: 0.75", "weight: 0.7")))
        assert info.value.problem.message == "group weights add up to 0.95, not 1"
