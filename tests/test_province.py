"""The shipped provincial policies: one per phase, evaluated on the shipped example data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import fineco_rules
import fineco_rules.io
from fineco_rules import Grade, evaluate, load_policy, read_records
from fineco_rules.cli import main
from fineco_rules.io import attach_table

from .conftest import ROOT
from .test_evaluate import BEST_ROW

FOLDER = ROOT / "policies" / "jiangsu"
EXAMPLES = ROOT / "examples"
PHASES = {2007: "2007", 2008: "2008", 2009: "2008", 2010: "2010"}


def records(year: int) -> list[fineco_rules.io.RawRecord]:
    found = list(read_records(EXAMPLES / f"jiangsu-{year}.csv").records)
    units = EXAMPLES / f"jiangsu-{year}-units.csv"
    if units.exists():
        found, unmatched = attach_table(found, "credit_units", read_records(units).records)
        assert unmatched == []
    return found


class TestPhases:
    @pytest.mark.parametrize(("year", "version"), PHASES.items(), ids=[str(y) for y in PHASES])
    def test_version_in_effect(self, year, version):
        """The folder gives the phase in effect at the end of each year."""
        assert load_policy(FOLDER, as_of=dt.date(year, 12, 31)).version == version

    @pytest.mark.parametrize("year", PHASES, ids=[str(y) for y in PHASES])
    def test_every_year_evaluates_cleanly(self, year):
        """Each year's example data is graded in full by the policy in effect, roll-up included."""
        policy = load_policy(FOLDER, as_of=dt.date(year, 12, 31))
        evaluation = evaluate(policy, records(year))
        assert evaluation.ok, [str(p) for r in evaluation.results for p in r.errors]
        expected = {2007: 18, 2008: 52, 2009: 51, 2010: 50}[year]
        assert len(evaluation.results) == expected

    def test_targets_per_phase(self):
        """Each phase carries its own targets; the child removes the parent's that no longer apply."""
        targets = {v: set(load_policy(FOLDER / f"jiangsu-{v}.yaml").targets) for v in ("2007", "2008", "2010")}
        assert targets["2007"] == {"pilots_at_least_one", "pilots_at_most_two"}
        assert targets["2008"] == {"pass_coverage", "good_from_last_pass"}
        assert targets["2010"] == {"pass_coverage", "good_rate", "credit_township_penetration", "npl_ratio"}
        assert load_policy(FOLDER / "jiangsu-2010.yaml").targets["pass_coverage"].value == Decimal("0.90")

    def test_labels_in_both_languages(self):
        """Every phase labels itself, its inputs and indicators in Chinese and English."""
        for version in ("2007", "2008", "2010"):
            policy = load_policy(FOLDER / f"jiangsu-{version}.yaml")
            labels = [policy.label, *(i.label for i in policy.inputs.values())]
            labels += [i.label for i in policy.indicators.values()]
            assert all(label.zh and label.en and label.zh != label.en for label in labels)

    def test_required_indicators_of_the_source(self, province):
        """Awareness and satisfaction (认知度、满意度) are assessed, as the source requires."""
        reads = province.indicators["satisfaction"].reads
        assert {"awareness_score", "satisfaction_score"} <= set(reads)


class TestBoundaries:
    def graded(self, province, **changes: str) -> fineco_rules.CountyResult:
        [result] = evaluate(province, [dict(BEST_ROW, **changes)])
        return result

    def test_npl_exactly_six_percent_passes(self, province):
        """NPL of exactly 6 % is 在6%以下 (以下 includes the figure): the gate is met, with margin 0."""
        result = self.graded(province, npl_ratio="0.06")
        assert result.grade is Grade.GOOD
        gate = next(c for c in result.checks[Grade.PASS] if c.id == "npl_below_6pct")
        assert (gate.met, gate.margin) == (True, Decimal("0.00"))

    def test_npl_just_above_six_percent_fails(self, province):
        """NPL of 6.00005 % is above 6 %: the county fails (no tolerance, no float error)."""
        assert self.graded(province, npl_ratio="0.0600005").grade is Grade.FAIL

    def test_npl_just_below_six_percent_passes(self, province):
        """NPL of 5.99995 % passes the gate (no tolerance, no float error)."""
        assert self.graded(province, npl_ratio="0.0599995").grade is Grade.GOOD

    def test_penetration_exactly_85_percent_is_good(self, province):
        """Credit township penetration of exactly 85 % meets the good gate."""
        result = self.graded(province, credit_township_share="0.85")
        assert result.grade is Grade.GOOD
        assert [c.met for c in result.checks[Grade.GOOD]] == [True, True]

    def test_penetration_just_below_85_percent_is_pass(self, province):
        """84.99 % misses the good gate, so a county with a good total is only pass."""
        result = self.graded(province, credit_township_share="0.8499")
        assert result.score is not None and result.score >= 80
        assert result.grade is Grade.PASS

    def test_satisfaction_exactly_60(self, province):
        """Satisfaction of exactly 60 meets its pass gate."""
        result = self.graded(province, satisfaction_score="60")
        assert next(c for c in result.checks[Grade.PASS] if c.id == "satisfaction_60").met is True


class TestRollUpInTheData:
    def test_county_figures_agree_with_units(self):
        """The two counties with township rows report shares that their roll-up supports."""
        policy = load_policy(FOLDER, as_of=dt.date(2008, 12, 31))
        results = evaluate(policy, records(2008)).by_county()
        for code in ("320581", "321322"):
            rolled = results[code].indicators["credit"].details["roll_up"]
            assert results[code].errors == ()
            assert rolled["township"]["lost"], "each county-year shows a township losing its rating"

    def test_disagreeing_county_figure_is_reported(self, tmp_path: Path):
        """A county figure the roll-up does not support is an error on that county alone."""
        policy = load_policy(FOLDER, as_of=dt.date(2008, 12, 31))
        rows = records(2008)
        changed = [
            fineco_rules.io.RawRecord({**r.values, "credit_township_share": "0.9"}, r.location)
            if r.values["county"] == "321322"
            else r
            for r in rows
        ]
        results = evaluate(policy, changed)
        bad = results.by_county()["321322"]
        assert bad.grade is None
        assert "reports credit_township_share = 0.9, but re-rating its 12 townships" in bad.errors[0].message
        assert sum(1 for r in results if r.graded) == 51


class TestExplainEachPhase:
    @pytest.mark.parametrize(
        ("year", "county"),
        [(2007, "320581"), (2008, "321322"), (2010, "320581")],
        ids=["pilot", "promotion", "deepening"],
    )
    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_reads_correctly(self, capsys, year, county, lang):
        """explain names the phase's policy, the grade, every indicator and the conditions, in the language asked."""
        args = [
            "explain",
            "--policy",
            str(FOLDER),
            "--as-of",
            f"{year}-12-31",
            str(EXAMPLES / f"jiangsu-{year}.csv"),
            "--county",
            county,
            "--lang",
            lang,
        ]
        units = EXAMPLES / f"jiangsu-{year}-units.csv"
        if units.exists():
            args += ["--table", f"credit_units={units}"]
        assert main(args) == 0
        out = capsys.readouterr().out
        policy = load_policy(FOLDER, as_of=dt.date(year, 12, 31))
        assert policy.label.get(lang) in out
        for indicator in policy.indicators.values():
            assert indicator.label.get(lang) in out
        if lang == "zh":
            assert "达标条件：" in out and "评定结果：" in out
        else:
            assert "Conditions for pass:" in out and "Grade: " in out
