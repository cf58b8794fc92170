"""`sensitivity`: seeded perturbation of weights and thresholds, first-order indices, target ranges."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

import fineco_rules
import fineco_rules.io
from fineco_rules import load_policy, read_records
from fineco_rules.analysis import SensitivityError, sensitivity
from fineco_rules.analysis._sensitivity import (
    _first_order,  # private unit under test (fineco_rules.analysis._sensitivity)
)
from fineco_rules.cli import main

from .conftest import ROOT

POLICY = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


@pytest.fixture(scope="module")
def records() -> tuple[fineco_rules.io.RawRecord, ...]:
    return read_records(DATA).records


class TestReproducible:
    def test_same_seed_same_result(self, records):
        """Two runs with one seed give the same figures."""
        policy = load_policy(POLICY)
        first = sensitivity(policy, records, runs=16, seed=3).to_dict()
        assert sensitivity(policy, records, runs=16, seed=3).to_dict() == first
        assert sensitivity(policy, records, runs=16, seed=4).to_dict() != first

    def test_compiles_each_perturbed_policy_once(self, records, monkeypatch: pytest.MonkeyPatch):
        """Each run compiles its policy once and grades the whole batch with it (plus the nominal policy)."""
        built = []
        original = fineco_rules.CompiledPolicy.__init__

        def counting(self, *args, **kwargs):
            built.append(1)
            original(self, *args, **kwargs)

        monkeypatch.setattr(fineco_rules.CompiledPolicy, "__init__", counting)
        sensitivity(load_policy(POLICY), records, runs=5, seed=0)
        assert len(built) == 6


class TestFactors:
    def test_weights_only_by_default(self, records):
        """By default each indicator's points vary by ±20 %; no threshold does."""
        result = sensitivity(load_policy(POLICY), records, runs=4, seed=0)
        assert [(f.id, f.low, f.high) for f in result.factors][:2] == [
            ("indicator:credit", Decimal("20.0"), Decimal("30.0")),
            ("indicator:intermediary", Decimal("8.0"), Decimal("12.0")),
        ]
        assert {f.kind for f in result.factors} == {"weight"}

    def test_thresholds_on_request(self, records):
        """With thresholds, each grade line and numeric gate varies too."""
        result = sensitivity(load_policy(POLICY), records, runs=4, seed=0, weights=0, thresholds="0.05")
        assert [f.id for f in result.factors] == [
            "grade:pass",
            "gate:pass:npl_below_6pct",
            "gate:pass:satisfaction_60",
            "grade:good",
            "gate:good:credit_township_85pct",
        ]

    def test_no_spread_changes_nothing(self, records):
        """With nothing perturbed, no grade changes and the target range is a point."""
        result = sensitivity(load_policy(POLICY), records, runs=3, seed=0, weights=0)
        assert all(c.changed == 0 and c.driver is None for c in result.counties)
        coverage = result.targets[0]
        assert (coverage.id, coverage.low, coverage.high) == ("pass_coverage", coverage.nominal, coverage.nominal)

    @pytest.mark.parametrize(
        ("runs", "weights"), [(1, "0.2"), (10, "1.5"), (10, "-0.1")], ids=["one-run", "too-wide", "negative"]
    )
    def test_bad_parameters(self, records, runs: int, weights: str):
        """Fewer than two runs or a spread outside [0, 1) is refused."""
        with pytest.raises(SensitivityError) as info:
            sensitivity(load_policy(POLICY), records, runs=runs, weights=weights)
        assert info.value.problem.code == "bad-sensitivity"


class TestIndices:
    def test_estimator(self):
        """The first-order index is about 1 for the factor that decides y and about 0 for noise."""
        rng = random.Random(1)
        xs = [rng.random() for _ in range(400)]
        noise = [rng.random() for _ in range(400)]
        ys = [1.0 if x > 0.5 else 0.0 for x in xs]
        assert _first_order(xs, ys) > 0.9
        assert _first_order(noise, ys) < 0.05

    def test_the_grade_line_drives_a_county_near_it(self, records):
        """溧阳市 (79.90, 0.10 short of good) hangs on the good line more than on any weight."""
        result = sensitivity(load_policy(POLICY), records, runs=128, seed=1, thresholds="0.05")
        county = next(c for c in result.counties if c.county == "320481")
        assert county.driver == "grade:good"
        assert Decimal("0.2") < county.changed < Decimal("0.8")


class TestCommand:
    def test_json(self, capsys: pytest.CaptureFixture[str]):
        """`fineco sensitivity POLICY DATA --format json` has the documented keys."""
        assert main(["sensitivity", str(POLICY), str(DATA), "--runs", "8", "--seed", "2", "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert list(data) == ["policy", "runs", "seed", "method", "factors", "counties", "targets"]
        assert (data["runs"], data["seed"], len(data["counties"])) == (8, 2, 52)
        assert list(data["counties"][0]) == [
            "county",
            "name",
            "grade",
            "changed",
            "grades",
            "score_low",
            "score_high",
            "indices",
            "driver",
        ]

    def test_bad_spread_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]):
        """A spread that is not a number between 0 and 1 is refused by the parser."""
        with pytest.raises(SystemExit) as info:
            main(["sensitivity", str(POLICY), str(DATA), "--weights", "2"])
        assert info.value.code == 2
        assert "a spread is between 0 and 1" in capsys.readouterr().err
