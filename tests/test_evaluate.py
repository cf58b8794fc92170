"""Evaluating records: exact thresholds, grades, missing data, bad records, plugins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

import fineco_rules
from fineco_rules import Better, Grade, Label, Scored, Scorer, evaluate, hookimpl, load_policy, make_plugin_host

from .conftest import SMALL, WritePolicy


def rec(county: str = "320581", **values: object) -> dict[str, object]:
    return {"county": county, "name": "常熟市", **{"a": "0.5", "b": "50", "npl": "0.05", **values}}


class TestExactThresholds:
    def test_weighted_total_exactly_on_the_pass_line(self, write_policy: WritePolicy):
        """A total that is exactly 60 in decimals passes (binary floats give 59.99999999999999)."""
        text = SMALL.replace("weight: 0.5\n  ib", "weight: 0.3\n  ib").replace(
            "    weight: 0.5\naggregation", "    weight: 0.7\naggregation"
        )
        policy = load_policy(write_policy(text))
        assert 0.3 * 11 + 0.7 * 81 == 59.99999999999999  # what plain Python would grade as fail
        [result] = evaluate(policy, [rec(a="0.11", b="81")])
        assert result.score == Decimal("60.00")
        assert result.grade is Grade.PASS

    @pytest.mark.parametrize(
        ("npl", "grade"),
        [("0.0599995", Grade.PASS), ("0.06", Grade.FAIL), ("0.0600001", Grade.FAIL), (0.0599995, Grade.PASS)],
        ids=["just-below-as-text", "exactly-6pct", "just-above", "just-below-as-float"],
    )
    def test_input_gate_compares_as_written(self, small, npl, grade):
        """NPL 5.99995 % is below 6 % and 6.00 % is not: no tolerance, no binary error."""
        [result] = evaluate(small, [rec(a="0.7", b="70", npl=npl)])
        assert result.grade is grade
        gate = result.checks[Grade.PASS][1]
        assert (gate.id, gate.value, gate.threshold) == ("npl_ok", Decimal(str(npl)), Decimal("0.06"))
        assert gate.margin == Decimal("0.06") - Decimal(str(npl))

    def test_sum_of_tenths_reaches_the_threshold(self, write_policy: WritePolicy):
        """0.1 + 0.2 meets a gate of >= 0.3 on an indicator score."""
        text = (
            SMALL.replace("weight: 0.5\n  ib", "weight: 0.001\n  ib")
            .replace("    weight: 0.5\naggregation", "    weight: 0.999\naggregation")
            .replace('npl_ok: {input: npl, op: "<", value: 0.06}', 'ia_ok: {indicator: ia, op: ">=", value: 30}')
        )
        policy = load_policy(write_policy(text))
        [result] = evaluate(policy, [rec(a=0.1 + 0.2, b="100")])  # the float 0.30000000000000004
        assert result.indicators["ia"].score == Decimal("30.00")
        assert result.grade is Grade.GOOD

    def test_scores_round_half_up(self, write_policy: WritePolicy):
        """0.125 rounds to 0.13 as people expect, not to 0.12 (banker's rounding)."""
        policy = load_policy(write_policy(SMALL))
        [result] = evaluate(policy, [rec(a="0.00125", b="0")])
        assert result.indicators["ia"].score == Decimal("0.13")
        assert result.indicators["ia"].contribution == Decimal("0.07")  # 0.13 * 0.5 = 0.065 -> 0.07
        assert result.score == Decimal("0.07")

    def test_total_is_compared_after_rounding(self, write_policy: WritePolicy):
        """59.995 rounds to 60.00 and passes; the explanation shows 60.00."""
        policy = load_policy(write_policy(SMALL))
        [result] = evaluate(policy, [rec(a="0.5999", b="60.0001")])
        assert result.indicators["ia"].score == Decimal("59.99")
        assert result.indicators["ib"].score == Decimal("60.00")
        assert result.score == Decimal("60.00")  # round(0.5 * 59.99 + 0.5 * 60.00) = round(59.995)
        assert result.grade is Grade.PASS


class TestGrades:
    def test_good_only_from_pass(self, small):
        """A county with a good total that fails a pass gate is fail, not good."""
        [result] = evaluate(small, [rec(a="1", b="100", npl="0.07")])
        assert result.score == Decimal("100.00")
        assert result.grade is Grade.FAIL
        assert [c.met for c in result.checks[Grade.GOOD]] == [True]

    def test_levels(self, small):
        """Totals below, between and above the lines give fail, pass and good."""
        results = evaluate(
            small, [rec("320581", a="0.5", b="50"), rec("320582", a="0.7", b="70"), rec("320583", a="0.9", b="80")]
        )
        assert [r.grade for r in results] == [Grade.FAIL, Grade.PASS, Grade.GOOD]
        assert [r.score for r in results] == [Decimal("50.00"), Decimal("70.00"), Decimal("85.00")]

    def test_veto_forces_fail(self, province):
        """A major illegal fundraising case fails a county whatever its score."""
        row = dict(BEST_ROW, illegal_fundraising_major_case="true")
        [result] = evaluate(province, [row])
        assert result.grade is Grade.FAIL
        assert result.score is not None and result.score > 80
        assert [(v.id, v.met) for v in result.vetoes] == [("illegal_fundraising", True)]

    def test_deduction_caps(self, province):
        """Per-unit deductions are capped one by one and in total."""
        row = dict(BEST_ROW, debt_evasion_cases="9", intermediaries_not_reported="7")
        [result] = evaluate(province, [row])
        got = {a.id: (a.points, a.uncapped) for a in result.adjustments}
        assert got == {"debt_evasion": (Decimal(5), Decimal(9)), "bad_intermediaries": (Decimal(3), Decimal("3.5"))}
        assert result.score == result.base_score - 8  # 5 + 3, exactly the overall cap of 8

    def test_bonus_items_and_overall_cap(self, write_policy: WritePolicy):
        """A fixed bonus when a condition holds and a per-unit bonus add up, within their caps."""
        text = (
            SMALL + "adjustments:\n"
            "  top_b: {label: {zh: 乙优, en: b top}, kind: bonus, when: {input: b, op: '>=', value: 90}, points: 2}\n"
            "  per_a: {label: {zh: 甲, en: per a}, kind: bonus, input: a, per_unit: 10, cap: 4}\n"
        ).replace("aggregation: {method: weighted_mean}", "aggregation: {method: weighted_mean, bonus_cap: 5}")
        policy = load_policy(write_policy(text))
        [result] = evaluate(policy, [rec(a="0.5", b="90")])
        assert [(a.id, a.points, a.uncapped) for a in result.adjustments] == [
            ("top_b", Decimal(2), Decimal(2)),
            ("per_a", Decimal(4), Decimal("5.0")),
        ]
        assert result.base_score == Decimal("70.00")
        assert result.score == Decimal("75.00")  # 2 + 4 = 6, capped at 5


BEST_ROW: dict[str, object] = {
    "county": "320581",
    "name": "常熟市",
    "credit_township_share": "0.95",
    "credit_village_share": "0.9",
    "credit_community_share": "0.9",
    "credit_household_share": "0.8",
    "small_loan_coverage": "0.9",
    "red_list_enterprises": "150",
    "case_execution_rate": "0.95",
    "claim_recovery_rate": "0.9",
    "debt_evasion_cases": "0",
    "financial_crime_clearance_rate": "1",
    "population": "1000000",
    "awareness_score": "100",
    "satisfaction_score": "100",
    "survey_sample_size": "800",
    "honest_intermediary_share": "0.9",
    "intermediaries_not_reported": "0",
    "guarantee_institutions": "10",
    "guaranteed_loan_share": "0.3",
    "npl_ratio": "0.01",
    "legal_person_health_score": "95",
    "policy_cleanup_rate": "1",
    "finance_support_score": "95",
    "bank_enterprise_score": "95",
    "product_innovation_score": "95",
    "illegal_fundraising_major_case": "false",
}


class TestProvince:
    def test_best_county_scores_full_marks(self, province):
        """Every indicator at its best goalpost gives 100 points."""
        [result] = evaluate(province, [BEST_ROW])
        assert result.base_score == Decimal("100.00")
        assert result.grade is Grade.GOOD
        assert sum(i.contribution for i in result.indicators.values()) == Decimal(100)
        assert result.groups == {"credit": 35, "legal": 15, "financial": 20, "policy": 10, "service": 20}

    def test_small_survey_is_flagged(self, province):
        """A survey below the sample threshold still scores but says so."""
        [result] = evaluate(province, [dict(BEST_ROW, survey_sample_size="120")])
        details = result.indicators["satisfaction"].details
        assert details["small_sample"] is True
        assert details["min_sample"] == 300


class TestMissing:
    def test_missing_required_input_is_not_graded(self, small):
        """A missing required input leaves the county ungraded, naming the field and row."""
        results = evaluate(small, [rec(b=None), rec("320582")])
        bad, good = results
        assert bad.grade is None
        assert [(e.code, e.location.field, e.location.path) for e in bad.errors] == [("missing-input", "b", "[0]")]
        assert good.grade is Grade.FAIL

    def optional(self, write_policy: WritePolicy, rule: str) -> fineco_rules.Policy:
        text = SMALL.replace("label: {zh: 乙, en: b}}", "required: false, label: {zh: 乙, en: b}}").replace(
            "params: {input: b, worst: 0, best: 100}", f"params: {{input: b, worst: 0, best: 100}}\n    missing: {rule}"
        )
        return load_policy(write_policy(text))

    def test_not_graded_by_default(self, write_policy: WritePolicy):
        """An optional input that is missing is never silently zero: the county is not graded."""
        policy = self.optional(write_policy, "not_graded")
        [result] = evaluate(policy, [rec(b=None)])
        assert result.grade is None
        assert result.missing == ("b",)
        assert result.errors[0].code == "not-graded"

    def test_zero(self, write_policy: WritePolicy):
        """`missing: zero` scores the indicator 0 and says so."""
        [result] = evaluate(self.optional(write_policy, "zero"), [rec(a="1", b=None)])
        assert result.indicators["ib"].score == 0
        assert result.indicators["ib"].treatment == "missing input scored zero"
        assert result.score == Decimal("50.00")

    @pytest.mark.parametrize(
        ("rule", "expected", "note"),
        [
            ("{impute: mean}", Decimal("40.00"), "b imputed as mean 40.00"),
            ("{impute: median}", Decimal("30.00"), "b imputed as median 30.00"),
            ("{impute: group_mean, group: city}", Decimal("20.00"), "b imputed as group_mean 20.00"),
        ],
        ids=["mean", "median", "group-mean"],
    )
    def test_impute(self, write_policy: WritePolicy, rule, expected, note):
        """Imputed values come from the batch (or the county's prefecture city) and are named."""
        policy = self.optional(write_policy, rule)
        rows = [rec("320581", b="20"), rec("320582", b=None), rec("320281", b="30"), rec("320282", b="70")]
        results = evaluate(policy, rows).by_county()
        assert results["320582"].indicators["ib"].score == expected
        assert results["320582"].indicators["ib"].treatment == note
        assert results["320582"].graded


class TestBadRecords:
    @pytest.mark.parametrize(
        ("values", "field", "code", "message"),
        [
            ({"a": "1.7"}, "a", "bad-value", "1.7 is outside the allowed range [0, 1]"),
            ({"b": "many"}, "b", "bad-value", "expected a number, found 'many'"),
            ({"b": "NaN"}, "b", "bad-value", "expected a number, found 'NaN'"),
            ({"b": float("inf")}, "b", "bad-value", "expected a number, found inf"),
            ({"county": None}, "county", "missing-county", "the county code is missing"),
            ({"county": "32058"}, "county", "bad-county", "county code '32058' is not six digits"),
        ],
        ids=["ratio-1.7", "text", "nan", "infinity", "no-county", "short-code"],
    )
    def test_one_bad_record_does_not_sink_the_batch(self, small, values, field, code, message):
        """The bad record is reported with row and field; the others are graded."""
        rows = [rec("320581"), {**rec("320582"), **values}, rec("320583")]
        results = evaluate(small, rows)
        assert [r.graded for r in results] == [True, False, True]
        [error] = results.results[1].errors
        assert (error.code, error.location.field, error.location.path, error.message) == (code, field, "[1]", message)
        assert error.hint

    def test_duplicate_county(self, small):
        """The same county twice: the second is an error."""
        results = evaluate(small, [rec("320581"), rec("320581")])
        assert [r.graded for r in results] == [True, False]
        assert results.results[1].errors[0].code == "duplicate-county"


def plugin_with(scorer: Scorer) -> object:
    class Plugin:
        @hookimpl
        def fineco_scorers(self) -> Sequence[Scorer]:
            return [scorer]

    return Plugin()


class Flaky(Scorer):
    """Raises for one county, returns garbage for another, scores the rest."""

    name = "flaky"
    version = "9.9"
    label = Label("不稳定", "flaky")
    params_schema: Mapping[str, Any] = {"type": "object"}

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {"a": Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        def score(values: Mapping[str, Any]) -> Any:
            if values["a"] == Decimal("0.1"):
                raise ZeroDivisionError("boom")
            if values["a"] == Decimal("0.2"):
                return Scored(Decimal(101))
            if values["a"] == Decimal("0.3"):
                return 42
            return Scored(values["a"] * 100)

        return score


class TestPlugins:
    def policy(self, write_policy: WritePolicy) -> tuple[fineco_rules.Policy, fineco_rules.PluginHost]:
        host = make_plugin_host(plugins=[plugin_with(Flaky())])
        text = SMALL.replace(
            "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: flaky\n    params: {}"
        )
        return load_policy(write_policy(text), host=host), host

    @pytest.mark.parametrize(
        ("a", "message"),
        [
            ("0.1", "failed: boom"),
            ("0.2", "failed: score 101 is outside [0, 100]"),
            ("0.3", "failed: returned int, not a Scored with a Decimal score"),
        ],
        ids=["raises", "out-of-range", "wrong-type"],
    )
    def test_misbehaving_scorer_is_reported_on_the_county(self, write_policy: WritePolicy, a, message):
        """A scorer that raises or breaks its contract fails that county, naming the plugin and version."""
        policy, host = self.policy(write_policy)
        results = evaluate(policy, [rec("320581", a=a), rec("320582", a="0.9")], host=host)
        bad, fine = results
        assert bad.grade is None
        [error] = bad.errors
        assert error.code == "scorer-failed"
        assert error.message.startswith(
            "scorer flaky 9.9 from tests.test_evaluate.plugin_with.<locals>.Plugin "
            "(tests.test_evaluate not installed) failed: "
        )
        assert error.message.endswith(message)
        assert (error.location.county, error.location.path) == ("320581", "indicators.ia")
        assert fine.score == Decimal("70.00")

    def test_duplicate_scorer_names(self):
        """Two plugins providing one scorer name is an error naming both."""
        with pytest.raises(fineco_rules.PluginError) as info:
            make_plugin_host(plugins=[plugin_with(Flaky()), plugin_with(Flaky())])
        assert info.value.problem.code == "duplicate-scorer"

    def test_block_list(self, monkeypatch: pytest.MonkeyPatch):
        """Plugins can be blocked by argument and by environment variable."""
        assert "financial_satisfaction" in make_plugin_host().scorers
        assert "financial_satisfaction" not in make_plugin_host(block=["fineco_satisfaction"]).scorers
        monkeypatch.setenv("FINECO_BLOCK_PLUGINS", "fineco_satisfaction, other")
        assert "financial_satisfaction" not in make_plugin_host().scorers

    def test_plugin_scorers_come_from_entry_points(self):
        """The indicator plugin is found through its entry point, with its distribution."""
        entry = make_plugin_host().scorer("financial_satisfaction")
        assert (entry.plugin, entry.distribution) == ("fineco_satisfaction", "fineco-rules")

    def test_unknown_scorer_lookup(self):
        """Asking the host for a scorer nobody provides suggests the closest name."""
        with pytest.raises(fineco_rules.PluginError) as info:
            make_plugin_host().scorer("bnads")
        assert info.value.problem.hint == "did you mean 'bands'?"


class TestDeterminism:
    def test_same_input_same_output(self, province):
        """Two evaluations of the same data give identical dictionaries."""
        rows = [dict(BEST_ROW, county=f"3205{i:02d}") for i in range(81, 86)]
        assert evaluate(province, rows).to_dict() == evaluate(province, list(rows)).to_dict()
