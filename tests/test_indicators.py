"""The provincial indicator plugins, on hand-computed cases with boundaries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fineco_indicators.credit import roll_up

from fineco_rules import Better, ParamError, load_policy, make_plugin_host
from fineco_rules.scoring import CONTEXT

D = Decimal
HOST = make_plugin_host()
#: The provincial roll-up criteria, as the shipped household policy declares them under `rollup:`.
HOUSEHOLD_POLICY = Path(__file__).resolve().parent.parent / "policies" / "households" / "credit-household-2008.yaml"
PROVINCIAL = load_policy(HOUSEHOLD_POLICY).rollup
assert PROVINCIAL is not None
#: The credit scorer's params as a policy with a `rollup:` section gives them.
UNIT_PARAMS = {"units": "credit_units", "rollup": PROVINCIAL.to_dict()}


def scorer(name: str):  # type: ignore[no-untyped-def]
    return HOST.scorer(name).scorer


class TestFamilyScorers:
    def test_internal_at_exactly_six_percent(self):
        """NPL 6 % sits halfway between the goalposts 10 % and 2 %: half of its 60 % weight."""
        fn = scorer("financial_internal").build({}, D(20))
        result = fn({"npl_ratio": D("0.06"), "legal_person_health_score": D("72.5")})
        assert result.details["npl_ratio"] == {"value": D("0.06"), "normalized": D("0.5"), "weight": D("0.6")}
        assert result.normalized == D("0.5")
        assert result.score == D(10)

    def test_rate_per_ten_thousand(self):
        """Financial crime is turned into cases per 10,000 people before its goalposts."""
        fn = scorer("legal_environment").build({}, D(100))
        values = {
            "case_execution_rate": D("0.95"),
            "claim_recovery_rate": D("0.9"),
            "debt_evasion_cases": D(0),
            "financial_crime_cases": D(25),
            "population": D(1_000_000),
        }
        result = fn(values)
        assert result.details["financial_crime_cases"]["value"] == D("0.25")
        assert result.details["financial_crime_cases"]["normalized"] == D("0.5")
        assert result.score == D(90)  # 100 − 0.2 × 50

    def test_reads_declares_directions(self):
        """Each family says which way each input improves the county."""
        reads = scorer("legal_environment").reads({})
        assert reads["debt_evasion_cases"] is Better.LOWER
        assert reads["population"] is Better.HIGHER
        assert reads["case_execution_rate"] is Better.HIGHER

    def test_weight_zero_drops_a_measure(self):
        """A measure weighted 0 is not read at all."""
        params = {"weights": {"npl_ratio": 1, "legal_person_health_score": 0}}
        assert set(scorer("financial_internal").reads(params)) == {"npl_ratio"}

    def test_weights_must_add_up(self):
        """Re-weighted measures that do not add up to 1 are a parameter error."""
        with pytest.raises(ParamError) as info:
            scorer("financial_internal").build({"weights": {"npl_ratio": D("0.5")}}, D(20))
        assert (info.value.path, info.value.problem.message) == (("weights",), "measure weights add up to 0.9, not 1")

    def test_goalposts_and_renamed_inputs(self):
        """A city can move goalposts and read its own field names."""
        params = {
            "inputs": {"npl_ratio": "npl"},
            "goalposts": {"npl_ratio": {"worst": D("0.08"), "best": D("0.02")}},
            "weights": {"npl_ratio": 1, "legal_person_health_score": 0},
        }
        fn = scorer("financial_internal").build(params, D(100))
        assert fn({"npl": D("0.05")}).score == D(50)

    def test_satisfaction_small_sample(self):
        """The satisfaction scorer flags a survey below its sample threshold."""
        fn = scorer("financial_satisfaction").build(
            {"awareness": "a", "satisfaction": "s", "sample_size": "n", "min_sample": 300}, D(10)
        )
        small, enough = fn({"a": D(70), "s": D(80), "n": D(299)}), fn({"a": D(70), "s": D(80), "n": D(300)})
        assert (small.details["small_sample"], enough.details["small_sample"]) == (True, False)
        assert small.score == D("7.5")


def unit(code: str, level: str, before: bool, households: str, npl: str, repay: str = "0.99", parent: str = "") -> dict:
    return {
        "unit": code,
        "name": f"u{code}",
        "level": level,
        "parent": parent,
        "rated_before": before,
        "credit_household_share": D(households),
        "on_time_repayment": D(repay),
        "npl_ratio": D(npl),
    }


UNITS = [
    # township 1: keeps its rating (2 of 3 villages hold theirs: 0.667 ≥ 0.60)
    unit("1", "township", True, "0.55", "0.03"),
    unit("11", "village", True, "0.70", "0.02", parent="1"),
    unit("12", "village", False, "0.60", "0.02", repay="0.95", parent="1"),  # newly rated, exactly on two criteria
    unit("13", "village", True, "0.50", "0.02", parent="1"),  # loses: households below 0.60
    # township 2: loses (its NPL is exactly 5 %, not below)
    unit("2", "township", True, "0.55", "0.05"),
    unit("21", "village", True, "0.70", "0.02", parent="2"),
    # township 3: newly rated
    unit("3", "township", False, "0.50", "0.01"),
    unit("31", "village", False, "0.65", "0.04", parent="3"),
]


class TestRollUp:
    def test_re_review(self):
        """Units are rated by the criteria: some keep, some lose, some are newly rated."""
        rolled = roll_up(UNITS, PROVINCIAL)
        assert (rolled.townships, rolled.villages) == (3, 5)
        assert rolled.township_share == CONTEXT.divide(D(2), D(3))
        assert rolled.village_share == D("0.8")
        assert rolled.units["township"] == {
            "kept": ["u1 (1)"],
            "lost": ["u2 (2)"],
            "newly_rated": ["u3 (3)"],
            "not_rated": [],
        }
        assert rolled.units["village"] == {
            "kept": ["u11 (11)", "u21 (21)"],
            "lost": ["u13 (13)"],
            "newly_rated": ["u12 (12)", "u31 (31)"],
            "not_rated": [],
        }

    def scored(self, township_share: str, village_share: str = "0.8000"):  # type: ignore[no-untyped-def]
        fn = scorer("credit_environment").build(UNIT_PARAMS, D(25))
        values = {
            "credit_township_share": D(township_share),
            "credit_village_share": D(village_share),
            "credit_community_share": D("0.6"),
            "credit_household_share": D("0.55"),
            "red_list_enterprises": D(75),
            "small_loan_coverage": D("0.6"),
            "credit_units": UNITS,
        }
        return fn(values)

    @pytest.mark.parametrize("reported", ["0.6667", "0.667", "0.67"], ids=["4dp", "3dp", "2dp"])
    def test_reported_figure_agrees(self, reported):
        """A county figure agrees when it is the roll-up rounded half-up to its own decimals."""
        result = self.scored(reported)
        assert result.details["roll_up"]["township"]["kept"] == ["u1 (1)"]

    def test_reported_figure_disagrees(self):
        """A county figure that the roll-up does not support is an error naming both numbers."""
        with pytest.raises(
            ValueError,
            match=r"reports credit_township_share = 0.6666, but re-rating its 3 townships "
            r"and 5 villages gives 0.666667",
        ):
            self.scored("0.6666")

    def test_without_units_the_county_figures_are_used(self):
        """The units table is optional: without it the family scores from the county figures."""
        fn = scorer("credit_environment").build(UNIT_PARAMS, D(25))
        assert scorer("credit_environment").optional({"units": "credit_units"}) == frozenset({"credit_units"})
        values = {
            "credit_township_share": D("0.95"),
            "credit_village_share": D("0.9"),
            "credit_community_share": D("0.9"),
            "credit_household_share": D("0.8"),
            "red_list_enterprises": D(150),
            "small_loan_coverage": D("0.9"),
            "credit_units": None,
        }
        assert fn(values).score == D(25)

    def test_bad_unit_row(self):
        """A unit row with text where a number belongs names the unit and field."""
        rows = [{**UNITS[0], "npl_ratio": "n/a"}]
        with pytest.raises(ValueError, match=r"unit 1: 'npl_ratio' is 'n/a', not a number"):
            roll_up(rows, PROVINCIAL)
