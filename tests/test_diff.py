"""`diff`: what changed between two policy versions, with locations, and whose grade it changes and why."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from fineco_rules import Grade, load_policy, read_records
from fineco_rules.analysis import diff_policies
from fineco_rules.cli import main

from .conftest import ROOT

JIANGSU = ROOT / "policies" / "jiangsu"
SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


@pytest.fixture(scope="module")
def suzhou_diff():
    records = read_records(DATA).records
    return diff_policies(load_policy(JIANGSU / "jiangsu-2008.yaml"), load_policy(SUZHOU), records)


class TestPolicyChanges:
    def test_city_method_against_the_province(self, suzhou_diff):
        """Suzhou's method: fewer credit points, a new indicator, stricter lines and NPL gate, each where it is set."""
        found = [(c.kind, c.where, c.old, c.new) for c in suzhou_diff.changes if c.where != "label"]
        assert found[:4] == [
            ("changed", "indicators.credit.points", Decimal(25), Decimal(22)),
            ("changed", "grades.pass.min_total", Decimal(60), Decimal(65)),
            ("changed", "grades.pass.gates.npl_below_6pct", "npl_ratio <= 0.06", "npl_ratio <= 0.05"),
            ("changed", "grades.good.min_total", Decimal(80), Decimal(85)),
        ]
        added = found[4]
        assert (added[0], added[1], added[3]["scorer"]) == (
            "added",
            "indicators.inclusive_finance",
            "suzhou_inclusive_finance",
        )

    def test_locations(self, suzhou_diff):
        """A change names the line that set the old value (inherited from 2007) and the line that sets the new."""
        change = next(c for c in suzhou_diff.changes if c.where == "grades.pass.min_total")
        assert change.old_origin is not None and change.new_origin is not None
        assert (change.old_origin.file.endswith("jiangsu-2007.yaml"), change.old_origin.version) == (True, "2007")
        assert (change.new_origin.file.endswith("suzhou-2008.yaml"), change.new_origin.line) == (True, 28)

    def test_phases_change_only_targets(self):
        """From the promotion to the deepening phase only the label, period and targets change."""
        diff = diff_policies(
            load_policy(JIANGSU / "jiangsu-2008.yaml"),
            load_policy(JIANGSU / "jiangsu-2010.yaml"),
            read_records(DATA).records,
        )
        assert [(c.kind, c.where) for c in diff.changes] == [
            ("changed", "label"),
            ("changed", "effective_from"),
            ("changed", "effective_until"),
            ("changed", "targets.pass_coverage"),
            ("removed", "targets.good_from_last_pass"),
            ("added", "targets.good_rate"),
            ("added", "targets.credit_township_penetration"),
            ("added", "targets.npl_ratio"),
        ]
        assert diff.counties == ()
        assert diff.compared == 52


class TestCountyChanges:
    def test_counties_that_change_grade(self, suzhou_diff):
        """On the 2008 data Suzhou's method moves 13 counties (兴化市 at NPL 6.00 % among them), each down."""
        assert len(suzhou_diff.counties) == 13
        assert all(
            c.new_grade is not None and c.old_grade is not None and c.new_grade < c.old_grade
            for c in suzhou_diff.counties
        )

    def test_reasons(self, suzhou_diff):
        """溧水县 passes no more because NPL 0.0543 is above Suzhou's 5 %; the indicator moves follow."""
        change = next(c for c in suzhou_diff.counties if c.county == "320124")
        assert (change.old_grade, change.new_grade) == (Grade.PASS, Grade.FAIL)
        first = change.reasons[0]
        assert (first.kind, first.grade, first.id, first.old_met, first.new_met) == (
            "check",
            "pass",
            "npl_below_6pct",
            True,
            False,
        )
        assert (first.old_threshold, first.new_threshold) == (Decimal("0.06"), Decimal("0.05"))
        assert [r.id for r in change.reasons[1:]] == ["inclusive_finance", "credit"]


class TestCommand:
    def test_json(self, capsys: pytest.CaptureFixture[str]):
        """`fineco diff OLD NEW DATA --format json` gives the changes and the counties."""
        code = main(["diff", str(JIANGSU / "jiangsu-2008.yaml"), str(SUZHOU), str(DATA), "--format", "json"])
        data = json.loads(capsys.readouterr().out)
        assert code == 0
        assert list(data) == ["old", "new", "changes", "compared", "counties"]
        assert (data["compared"], len(data["counties"])) == (52, 13)
        assert data["changes"][1]["new_origin"]["line"] == 16

    def test_table(self, capsys: pytest.CaptureFixture[str]):
        """The table form lists the changes and then each county with its reasons."""
        assert main(["diff", str(JIANGSU / "jiangsu-2008.yaml"), str(SUZHOU), str(DATA), "--lang", "en"]) == 0
        out = capsys.readouterr().out
        assert "  changed  grades.pass.min_total: 60 → 65  [" in out
        assert "Counties whose grade changes: 13 of 52" in out
        assert "    · pass.npl_below_6pct: 0.0543 ✓ → 0.0543 ✗ (0.06 → 0.05)" in out
