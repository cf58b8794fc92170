"""`fineco check`: the gallery of broken policies is flagged, the shipped policies pass."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import fineco_rules
from fineco_rules import Better, Label, Scored, Scorer, hookimpl
from fineco_rules.cli import main
from fineco_rules.policy._anatomy import (  # private unit under test (fineco_rules.policy._anatomy)
    Region,
    Span,
    condition_region,
)
from fineco_rules.quality.testing import RULES, check_policy

from .conftest import ROOT, SMALL, WritePolicy
from .gallery import plugin as gallery_plugin

GALLERY = sorted((ROOT / "tests" / "gallery").glob("*.yaml"))
SHIPPED = sorted([*(ROOT / "policies" / "jiangsu").glob("*.yaml"), *(ROOT / "policies" / "cities").glob("*/*.yaml")])
SHIPPED = [p for p in SHIPPED if not p.name.endswith(".cases.yaml")]
#: Examples per search: 15 under the default (ci) Hypothesis profile, 500 under HYPOTHESIS_PROFILE=thorough.
EXAMPLES = settings.default.max_examples // 4


#: Rules some gallery files break as a consequence of their one mistake (each file's comment says why).
CONSEQUENCES = {"band-end-gap": {"monotone"}, "plugin-deterministic": {"monotone", "order"}}


def broken_rule(path: Path) -> str:
    """The rule a gallery file breaks, from its first line: ``# rule: <name>``."""
    first = path.read_text("utf-8").splitlines()[0]
    assert first.startswith("# rule: "), f"{path.name} does not start with `# rule: <name>`"
    return first.removeprefix("# rule: ").strip()


@pytest.fixture(scope="module")
def gallery_host() -> fineco_rules.PluginHost:
    """The installed plugins plus the gallery's contract-breaking scorers."""
    return fineco_rules.make_plugin_host(plugins=[gallery_plugin])


class TestGallery:
    """Each deliberately broken policy is flagged for the rule it breaks."""

    @pytest.mark.parametrize("path", GALLERY, ids=[p.stem for p in GALLERY])
    def test_flagged_for_its_rule(self, path: Path, gallery_host: fineco_rules.PluginHost):
        """`fineco check` reports the rule named in the file's first line (and only its stated consequences)."""
        report = check_policy(path, host=gallery_host, max_examples=EXAMPLES)
        rule = broken_rule(path)
        assert rule in report.rules
        assert report.rules - {rule} == CONSEQUENCES.get(path.stem, set())
        assert not report.ok
        assert all(f.location.file == str(path) for f in report.findings if f.rule == rule)

    def test_every_rule_has_a_broken_policy(self):
        """The gallery holds a policy for every rule but `loads` (any policy that does not load shows it)."""
        assert {broken_rule(p) for p in GALLERY} == set(RULES) - {"loads"}

    def test_static_rules_are_proved(self, gallery_host: fineco_rules.PluginHost):
        """A rule decided from the declarations is reported proved, with no counterexample record."""
        report = check_policy(ROOT / "tests/gallery/redundant-gate.yaml", host=gallery_host, search=False)
        [finding] = report.findings
        assert (finding.rule, finding.proved, finding.counterexample) == ("redundant", True, ())
        assert report.searched == ()


class TestShippedPolicies:
    """Every shipped policy passes every rule."""

    @pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
    def test_passes(self, path: Path):
        """No finding, static or searched."""
        report = check_policy(path, max_examples=EXAMPLES)
        assert [str(f) for f in report.findings] == []
        assert report.searched == (
            "monotone",
            "direction",
            "unreachable",
            "score-range",
            "scorer-error",
            "deterministic",
            "order",
        )


class TestStaticFindings:
    """Findings name the culprit's line, the rule, and what is wrong, exactly."""

    def check(self, name: str) -> list[tuple[str, int | None, int | None, str]]:
        report = check_policy(ROOT / "tests" / "gallery" / name, search=False)
        return [(f.rule, f.location.line, f.location.column, f.message) for f in report.findings]

    def test_band_end_gap(self):
        """The top of a ratio's range falls outside bands closed on the left, located at the last band."""
        assert (
            "bands",
            20,
            11,
            "the value 1 of 'a' lies outside every band of indicator 'ia' and scores 0, "
            "but 'a' is declared to range over [0, 1]",
        ) in self.check("band-end-gap.yaml")

    def test_threshold_outside_range(self):
        """A band edge beyond the input's declared maximum is located at that edge."""
        assert self.check("threshold-outside-range.yaml") == [
            (
                "range",
                18,
                26,
                "indicator 'satisfaction' uses 120 for 'survey' (bands[2].max), "
                "but 'survey' is declared to range over [0, 100]",
            )
        ]

    def test_unreachable_good(self):
        """A good line above the most a county can total is unreachable, at good's min_total."""
        assert self.check("unreachable-good.yaml") == [
            (
                "unreachable",
                18,
                48,
                "grade good can never be reached: its min_total 110 is above the most a county can total (100.00)",
            )
        ]

    def test_unreachable_through_a_veto(self):
        """A gate every county meeting it is vetoed by makes pass unreachable, and good with it."""
        assert self.check("unreachable-veto.yaml") == [
            (
                "unreachable",
                26,
                46,
                "grade pass can never be reached: every county meeting grades.pass.gates.npl_gate (`npl > 0.10`) "
                "is vetoed by vetoes.npl_crisis (`npl > 0.09`)",
            ),
            (
                "unreachable",
                27,
                48,
                "grade good can never be reached: pass cannot be reached, and good is only reached through it",
            ),
        ]

    def test_not_nested(self):
        """Good's gate looser than pass's is not nested, with a value that shows it."""
        assert self.check("not-nested.yaml") == [
            (
                "nested",
                28,
                46,
                "grades.good.gates.npl_good: `npl < 0.06` is not as strict as grades.pass.gates.npl_ok "
                "(`npl < 0.05`): a county with npl = 0.05 meets good's gate but not pass's",
            )
        ]

    def test_gate_on_the_wrong_side(self):
        """A gate that keeps the worse side of an input is non-monotone, proved with two values."""
        assert self.check("monotone-gate.yaml") == [
            (
                "monotone",
                23,
                43,
                "grades.pass.gates.a_gate: a = 1 is better than 0 (better: higher) but fails the gate `a <= 0.9` "
                "that 0 meets: improving it can lower the grade",
            )
        ]

    def test_bands_that_fall(self):
        """Bands whose points fall in the better direction are non-monotone at the band that gives less."""
        findings = self.check("monotone-bands.yaml")
        assert (
            "monotone",
            18,
            11,
            "indicator 'ia': a = 0.8 is better than 0.5 (better: higher) but scores 60, less than the 100 "
            "that 0.5 scores",
        ) in findings
        assert [rule for rule, *_ in findings] == ["monotone"]

    def test_direction_against_the_declaration(self):
        """Swapped goalposts contradict the declared direction, located where the input is named."""
        assert self.check("direction-linear.yaml") == [
            (
                "direction",
                20,
                21,
                "scorer 'linear' of indicator 'quality' scores 'npl' higher the higher it is, "
                "but 'npl' is declared better lower",
            )
        ]

    def test_a_policy_that_does_not_load(self):
        """Load problems are findings (weights that do not add up are the `weights` rule), not exceptions."""
        report = check_policy(ROOT / "tests/gallery/weights-sum.yaml")
        assert [(f.rule, f.message, f.proved) for f in report.findings] == [
            ("weights", "indicator weights add up to 1.1, not 1", True)
        ]
        assert (report.policy, report.searched) == (None, ())

    def test_small_policy_is_clean(self, small):
        """The small test policy breaks no rule."""
        assert check_policy(small, max_examples=EXAMPLES).findings == ()


class Hump(Scorer):
    """Says a higher value scores more, but scores most at 0.5 (defined here for the searched checks)."""

    name = "hump"
    version = "0.1"
    label = Label("驼峰", "hump")
    params_schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {params["input"]: Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        field = params["input"]
        return lambda values: Scored((1 - abs(2 * values[field] - 1)) * max_score)


class HumpPlugin:
    @hookimpl
    def fineco_scorers(self) -> Sequence[Scorer]:
        return [Hump()]


class TestSearchedFindings:
    """Searched findings carry the smallest county record found, and say they are not proofs."""

    @pytest.fixture
    def humped(self, write_policy: WritePolicy) -> fineco_rules.Policy:
        text = SMALL.replace(
            "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: hump\n    params: {input: a}"
        )
        return fineco_rules.load_policy(write_policy(text), host=fineco_rules.make_plugin_host(plugins=[HumpPlugin()]))

    def test_counterexample_is_a_county_record(self, humped: fineco_rules.Policy):
        """The non-monotone scorer is found with a valid record of the policy's inputs, not proved."""
        host = fineco_rules.make_plugin_host(plugins=[HumpPlugin()])
        [finding] = [f for f in check_policy(humped, host=host, max_examples=EXAMPLES).findings if f.rule == "monotone"]
        [record] = finding.counterexample
        assert finding.proved is False
        assert set(record) == {"county", "a", "b", "npl"}
        assert fineco_rules.evaluate(humped, [record], host=host).ok
        assert finding.message.startswith("raising 'a' from ")
        assert "(better: higher), all else equal, lowers indicator 'ia' from " in finding.message
        assert (finding.location.line, finding.location.path) == (11, "indicators.ia")

    def test_reproducible(self, humped: fineco_rules.Policy):
        """The same policy and seed give the same findings, record for record."""
        host = fineco_rules.make_plugin_host(plugins=[HumpPlugin()])
        first = check_policy(humped, host=host, max_examples=5)
        second = check_policy(humped, host=host, max_examples=5)
        assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]

    def test_order_of_a_cohort_scorer(self, gallery_host: fineco_rules.PluginHost):
        """An order-dependent cohort scorer is shown with the whole batch that reveals it."""
        report = check_policy(ROOT / "tests/gallery/plugin-order.yaml", host=gallery_host, max_examples=EXAMPLES)
        [finding] = report.findings
        assert finding.rule == "order"
        assert len(finding.counterexample) >= 2
        assert "reordering the batch changes county" in finding.message


class TestRegions:
    """The interval arithmetic the static rules decide with."""

    def test_subset_and_complement(self):
        """`npl < 0.05` lies within `npl < 0.06`; the complement of a closed span is two open ones."""
        assert condition_region("<", Decimal("0.05")) <= condition_region("<", Decimal("0.06"))
        assert not condition_region("<", Decimal("0.06")) <= condition_region("<", Decimal("0.05"))
        assert Region.of(Span(Decimal(0), True, Decimal(1), True)).complement() == Region.of(
            Span(None, False, Decimal(0), False), Span(Decimal(1), False, None, False)
        )

    def test_equal_edges_meet_only_when_both_are_closed(self):
        """[0, 1) and [1, 2] do not meet; [0, 1] and [1, 2] meet at 1."""
        half_open = Region.of(Span(Decimal(0), True, Decimal(1), False))
        closed = Region.of(Span(Decimal(0), True, Decimal(1), True))
        upper = Region.of(Span(Decimal(1), True, Decimal(2), True))
        assert (half_open & upper).empty
        assert (closed & upper).spans == (Span(Decimal(1), True, Decimal(1), True),)

    def test_booleans(self):
        """`== true` and `!= false` are the same set of values."""
        assert condition_region("==", True) == condition_region("!=", False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    """`fineco check` prints each finding with its place and exits 1 when it finds any."""

    def test_shipped_policy_exits_0(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """A clean policy prints `ok` and which rules were proved and which searched."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "check", "policies/jiangsu", "--as-of", "2008-06-30", "--max-examples", "5")
        assert code == 0
        assert out.splitlines() == [
            "policies/jiangsu/jiangsu-2008.yaml (jiangsu-fineco-county 2008): ok",
            "  proved:   loads, bands, range, weights, points, unused, redundant, unreachable, nested, direction, "
            "monotone",
            "  searched: monotone, direction, unreachable, score-range, scorer-error, deterministic, order "
            "(5 examples per search; searched, not proved)",
        ]

    def test_folder_checks_every_version(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """A folder without --as-of checks each version in it."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "check", "policies/jiangsu", "--no-search")
        assert code == 0
        assert [line for line in out.splitlines() if line.endswith(": ok")] == [
            "policies/jiangsu/jiangsu-2007.yaml (jiangsu-fineco-county 2007): ok",
            "policies/jiangsu/jiangsu-2008.yaml (jiangsu-fineco-county 2008): ok",
            "policies/jiangsu/jiangsu-2010.yaml (jiangsu-fineco-county 2010): ok",
        ]

    def test_gallery_policy_exits_1(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """A broken policy prints the finding, its hint and place, and exits 1."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "check", "tests/gallery/redundant-gate.yaml", "--no-search")
        assert code == 1
        assert out.splitlines()[:3] == [
            "tests/gallery/redundant-gate.yaml:22:52, at grades.pass.gates.npl_below_6pct: redundant: "
            "grades.pass.gates.npl_below_6pct: `npl < 0.06` is implied by grades.pass.gates.npl_below_5pct "
            "(`npl < 0.05`): every county that meets one meets both [proved]",
            "    see tests/gallery/redundant-gate.yaml:23:52, at grades.pass.gates.npl_below_5pct",
            "    hint: remove the looser gate",
        ]
        assert out.splitlines()[-1] == "  searched: nothing"

    def test_counterexample_is_printed(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """A searched finding prints the county record that shows it and says it was searched, not proved."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "check", "tests/gallery/scorer-error.yaml", "--max-examples", "20")
        assert code == 1
        lines = out.splitlines()
        assert lines[0].startswith("tests/gallery/scorer-error.yaml:13:5, at indicators.crime: scorer-error: ")
        assert lines[0].endswith("the denominator 'population' is 0 [searched, not proved]")
        assert lines[1] == '    counterexample: {county: "320101", cases: 0, population: 0}'

    def test_json(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """--format json gives each report with its findings as data."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "check", "tests/gallery/unused-input.yaml", "--no-search", "--format", "json")
        [report] = json.loads(out)
        assert code == 1
        assert (report["ok"], report["examples"], report["searched"]) == (False, 0, [])
        [finding] = report["findings"]
        assert {k: finding[k] for k in ("rule", "line", "column", "path", "proved", "code")} == {
            "rule": "unused",
            "line": 9,
            "column": 6,
            "path": "inputs.c",
            "proved": True,
            "code": "check-unused",
        }

    def test_thorough(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """--thorough searches THOROUGH examples per rule."""
        monkeypatch.setattr("fineco_rules.cli._check.THOROUGH", 7)
        code, out, _ = run(capsys, "check", str(ROOT / "tests/gallery/unused-input.yaml"), "--thorough")
        assert code == 1
        assert out.splitlines()[-1].endswith("(7 examples per search; searched, not proved)")

    def test_max_examples_must_be_positive(self, capsys):
        """--max-examples 0 is a usage error."""
        code, _, err = run(capsys, "check", "policies/jiangsu/jiangsu-2008.yaml", "--max-examples", "0")
        assert code == 2
        assert err == "fineco: error: --max-examples must be at least 1\n"
