"""Targets over a result set: each metric's definition, last year's results, the summary and its JSON form."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import fineco_rules
import fineco_rules.analysis
from fineco_rules import DataFileError, PolicyError, load_policy
from fineco_rules.analysis import LastYear, read_last_year, summarize
from fineco_rules.cli import main

from .conftest import ROOT, SMALL, WritePolicy

JIANGSU = ROOT / "policies" / "jiangsu"
EXAMPLES = ROOT / "examples"

TARGETS = """
targets:
  coverage: {label: {zh: 达标面, en: pass coverage}, metric: pass_coverage, op: ">=", value: 0.5}
  good: {label: {zh: 优良率, en: good rate}, metric: good_rate, op: ">=", value: 0.3}
  upgrade: {label: {zh: 上年达标升良好, en: good from last pass}, metric: good_from_last_pass, op: ">=", value: 0.5}
  npl: {label: {zh: 不良率, en: NPL}, metric: input_mean, input: npl, op: "<", value: 0.03}
  per_city: {label: {zh: 每市县数, en: per city}, metric: counties_per_city, op: "<=", value: 2, scope: city}
"""

#: Totals are 50a + b/2: 100 (good), 60 (pass), 20 (fail); 999901 has no b and is not graded.
RECORDS = [
    {"county": "320101", "city": "320100", "a": "1", "b": "100", "npl": "0.01"},
    {"county": "320102", "city": "320100", "a": "0.6", "b": "60", "npl": "0.02"},
    {"county": "320201", "city": "320200", "a": "0.2", "b": "20", "npl": "0.04"},
    {"county": "320202", "city": "320200", "a": "0.5"},
]


@pytest.fixture
def policy(write_policy: WritePolicy) -> fineco_rules.Policy:
    return load_policy(write_policy(SMALL + TARGETS))


def last_year(*rows: tuple[str, str | None]) -> LastYear:
    return LastYear.from_mapping(
        {"policy": {"id": "p", "version": "0"}, "results": [{"county": c, "grade": g} for c, g in rows]}
    )


def by_id(results: tuple[fineco_rules.analysis.TargetResult, ...]) -> dict[str, fineco_rules.analysis.TargetResult]:
    return {t.target.id: t for t in results}


class TestMetricValidation:
    def test_unknown_metric_is_refused_with_a_suggestion(self, write_policy: WritePolicy):
        """A misspelt metric fails at load time, at its line, with the closest known metric."""
        text = SMALL + "targets:\n  t: {label: {zh: 甲, en: a}, metric: pass_coverag, op: '>=', value: 0.7}\n"
        with pytest.raises(PolicyError) as info:
            load_policy(write_policy(text))
        problem = info.value.problem
        assert problem.code == "unknown-name"
        assert problem.message == "unknown target metric 'pass_coverag'"
        assert problem.hint == "did you mean 'pass_coverage'?"
        assert problem.location.line == text.count("\n")

    @pytest.mark.parametrize(
        ("target", "code", "message"),
        [
            ("{metric: input_mean, op: '<', value: 1}", "missing-key", "metric 'input_mean' needs the `input`"),
            ("{metric: good_rate, input: a, op: '>=', value: 1}", "not-allowed", "metric 'good_rate' takes no input"),
            ("{metric: input_mean, input: zz, op: '<', value: 1}", "unknown-name", "unknown input 'zz'"),
            ("{metric: input_share, input: a, op: '>=', value: 1}", "wrong-type", "input_share needs a boolean"),
            ("{metric: counties_per_city, op: '>=', value: 1}", "bad-scope", "counties_per_city is counted"),
        ],
        ids=["mean-without-input", "rate-with-input", "unknown-input", "share-of-a-number", "per-city-province"],
    )
    def test_malformed_target_is_refused(self, write_policy: WritePolicy, target: str, code: str, message: str):
        """A target whose metric and input do not fit together fails at load time with its own code."""
        text = SMALL + "targets:\n  t: " + target.replace("{", "{label: {zh: 甲, en: a}, ", 1) + "\n"
        with pytest.raises(PolicyError) as info:
            load_policy(write_policy(text))
        assert info.value.problem.code == code
        assert info.value.problem.message.startswith(message)

    def test_every_shipped_policy_loads(self):
        """The shipped policies use only known metrics."""
        metrics = {
            t.metric
            for v in ("2007", "2008", "2010")
            for t in load_policy(JIANGSU / f"jiangsu-{v}.yaml").targets.values()
        }
        # Issue 14: the province-wide penetration and NPL are ratios of totals, no longer means of county ratios.
        assert metrics == {"counties_per_city", "good_from_last_pass", "good_rate", "pass_coverage", "ratio_of_totals"}


class TestPassCoverageAndGoodRate:
    def test_ungraded_county_counts_in_the_denominator(self, policy: fineco_rules.Policy):
        """Pass coverage is (pass or good) / every county in the set, graded or not: 2 of 4."""
        found = by_id(summarize(fineco_rules.evaluate(policy, RECORDS)).province.targets)
        assert (found["coverage"].numerator, found["coverage"].denominator) == (Decimal(2), 4)
        assert found["coverage"].figure == Decimal("0.5")
        assert found["coverage"].met is True
        assert found["coverage"].counties == ("320101", "320102")
        assert found["coverage"].population == ("320101", "320102", "320201", "320202")

    def test_good_rate(self, policy: fineco_rules.Policy):
        """The good rate is good / every county: 1 of 4 is below 0.3."""
        found = by_id(summarize(fineco_rules.evaluate(policy, RECORDS)).province.targets)
        assert (found["good"].numerator, found["good"].denominator, found["good"].met) == (Decimal(1), 4, False)

    def test_per_city(self, policy: fineco_rules.Policy):
        """Province-scope targets are also computed for each prefecture city."""
        summary = summarize(fineco_rules.evaluate(policy, RECORDS))
        assert by_id(summary.city("320100").targets)["coverage"].figure == Decimal(1)
        assert by_id(summary.city("320200").targets)["coverage"].figure == Decimal(0)
        assert summary.city("320200").counts == {"counties": 2, "good": 0, "pass": 0, "fail": 1, "not_graded": 1}


class TestGoodFromLastPass:
    def test_missing_county_is_left_out(self, policy: fineco_rules.Policy):
        """Of last year's passing counties, one missing this year is left out with the reason; 1 of 2 reach good."""
        last = last_year(("320101", "pass"), ("320102", "good"), ("320199", "pass"), ("320201", "fail"))
        found = by_id(summarize(fineco_rules.evaluate(policy, RECORDS), last).province.targets)["upgrade"]
        assert found.population == ("320101", "320102")
        assert found.counties == ("320101",)
        assert found.left_out == (("320199", "not in this year's results"),)
        assert (found.figure, found.met) == (Decimal("0.5"), True)

    def test_ungraded_this_year_counts_as_not_good(self, policy: fineco_rules.Policy):
        """A county that passed last year and is not graded now stays in the denominator."""
        last = last_year(("320101", "pass"), ("320202", "pass"))
        found = by_id(summarize(fineco_rules.evaluate(policy, RECORDS), last).province.targets)["upgrade"]
        assert (found.numerator, found.denominator) == (Decimal(1), 2)

    def test_without_last_year_it_cannot_be_computed(self, policy: fineco_rules.Policy):
        """With no last year's results the figure is None, met is None, and the note says why."""
        summary = summarize(fineco_rules.evaluate(policy, RECORDS))
        found = by_id(summary.province.targets)["upgrade"]
        assert (found.figure, found.met, found.note) == (None, None, "needs last year's results")
        assert summary.met is False  # good_rate fails, which decides before the unknown


class TestInputMean:
    def test_mean_of_counties_with_a_value(self, policy: fineco_rules.Policy):
        """The mean is exact over the counties that have the value; the rest are left out."""
        found = by_id(summarize(fineco_rules.evaluate(policy, RECORDS)).province.targets)["npl"]
        assert (found.numerator, found.denominator) == (Decimal("0.07"), 3)
        assert found.left_out == (("320202", "no value of npl"),)
        assert found.met is True  # 0.07 / 3 < 0.03, decided as 0.07 < 0.03 × 3

    def test_boundary_is_exact(self, write_policy: WritePolicy):
        """A mean exactly on a strict threshold does not meet it: 0.06 is not < 0.06."""
        text = (
            SMALL + "targets:\n  npl: {label: {zh: 甲, en: a}, metric: input_mean, input: npl, op: '<', value: 0.06}\n"
        )
        records = [
            {"county": "320101", "a": "1", "b": "1", "npl": "0.05"},
            {"county": "320102", "a": "1", "b": "1", "npl": "0.07"},
        ]
        found = summarize(fineco_rules.evaluate(load_policy(write_policy(text)), records)).province.targets[0]
        assert (found.figure, found.met) == (Decimal("0.06"), False)


class TestHandBuiltTarget:
    def test_input_metric_without_its_input_is_refused(self, policy: fineco_rules.Policy):
        """A target built in code for input_mean without an input is a PolicyError, not a stripped assert."""
        targets = {t: attrs.evolve(v, input=None) if t == "npl" else v for t, v in policy.targets.items()}
        evaluation = fineco_rules.evaluate(attrs.evolve(policy, targets=targets), RECORDS)
        with pytest.raises(PolicyError) as info:
            summarize(evaluation)
        [problem] = info.value.problems
        assert (problem.code, problem.message) == (
            "missing-key",
            "target 'npl': metric input_mean needs the `input` it is computed from",
        )


class TestCountiesPerCity:
    def test_pilot_rule_on_the_shipped_pilot_year(self):
        """Every prefecture city has one or two pilot counties in 2007: nothing is flagged."""
        policy = load_policy(JIANGSU / "jiangsu-2007.yaml")
        summary = summarize(
            fineco_rules.evaluate(policy, fineco_rules.read_records(EXAMPLES / "jiangsu-2007.csv").records)
        )
        assert summary.flags == ()
        assert summary.met is True
        assert [a.counts["counties"] for a in summary.cities] == [1, 2, 2, 1, 2, 2, 1, 1, 2, 1, 1, 1, 1]

    def test_too_many_and_none_are_flagged(self):
        """Three pilots in Suzhou break "at most two"; Jiangsu cities with none break "at least one"."""
        policy = load_policy(JIANGSU / "jiangsu-2007.yaml")
        records = [
            r for r in fineco_rules.read_records(EXAMPLES / "jiangsu-2008.csv").records if r.values["city"] == "320500"
        ][:3]
        summary = summarize(fineco_rules.evaluate(policy, records))
        flagged = sorted((f.area, f.target.id, f.figure) for f in summary.flags)
        assert ("320500", "pilots_at_most_two", Decimal(3)) in flagged
        assert ("320100", "pilots_at_least_one", Decimal(0)) in flagged
        assert len(flagged) == 13
        assert summary.met is False

    def test_cities_can_be_given(self, policy: fineco_rules.Policy):
        """With `cities` given, only those cities are listed."""
        summary = summarize(fineco_rules.evaluate(policy, RECORDS), cities=["320100", "320200", "320300"])
        assert [a.area for a in summary.cities] == ["320100", "320200", "320300"]
        assert by_id(summary.city("320300").targets)["per_city"].figure == Decimal(0)


class TestReadLastYear:
    def test_reads_what_evaluate_writes(self, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        """A results file written by `fineco evaluate --format json` gives each county's grade."""
        out = tmp_path / "2007.json"
        args = ["evaluate", "--policy", str(JIANGSU), "--as-of", "2007-12-31", str(EXAMPLES / "jiangsu-2007.csv")]
        assert main([*args, "--format", "json", "-o", str(out), "-q"]) == 0
        last = read_last_year(out)
        assert (last.policy, last.version, len(last.results), len(last.passing())) == (
            "jiangsu-fineco-county",
            "2007",
            18,
            10,
        )

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ("[]", "$"),
            ('{"results": [{"grade": "pass"}]}', "$.results[0]"),
            ('{"results": [{"county": "320101", "grade": "ok"}]}', "$.results[0].grade"),
        ],
        ids=["not-an-object", "no-county", "bad-grade"],
    )
    def test_bad_file(self, tmp_path: Path, text: str, path: str):
        """A file that is not a results file fails with the place inside it."""
        bad = tmp_path / "bad.json"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(DataFileError) as info:
            read_last_year(bad)
        assert (info.value.problem.code, info.value.problem.location.path) == ("bad-results", path)

    def test_not_json(self, tmp_path: Path):
        """A file that is not JSON fails with its line and column."""
        bad = tmp_path / "bad.json"
        bad.write_text("{\n  oops", encoding="utf-8")
        with pytest.raises(DataFileError) as info:
            read_last_year(bad)
        assert (info.value.problem.code, info.value.problem.location.line) == ("not-json", 2)


class TestSummaryJson:
    def test_shape(self, policy: fineco_rules.Policy):
        """The JSON form has the documented keys, in order, and plain numbers."""
        data = summarize(fineco_rules.evaluate(policy, RECORDS), last_year(("320101", "pass"))).to_dict()
        assert list(data) == ["policy", "last_year", "met", "province", "cities", "flags"]
        assert data["last_year"] == {"policy": {"id": "p", "version": "0"}, "counties": 1, "passing": 1}
        assert list(data["province"]) == ["area", "label", "counts", "targets"]
        coverage = data["province"]["targets"][0]
        assert coverage == {
            "id": "coverage",
            "label": {"zh": "达标面", "en": "pass coverage"},
            "metric": "pass_coverage",
            "input": None,
            "scope": "province",
            "op": ">=",
            "threshold": 0.5,
            "figure": 0.5,
            "numerator": 2,
            "denominator": 4,
            "met": True,
            "counties": ["320101", "320102"],
            "population": ["320101", "320102", "320201", "320202"],
            "left_out": [],
            "note": None,
        }

    def test_cli_on_the_2008_example(self, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        """`fineco summary --format json` on 2008 with 2007's results: both promotion targets are missed."""
        last = tmp_path / "2007.json"
        base = ["--policy", str(JIANGSU)]
        assert (
            main(
                [
                    "evaluate",
                    *base,
                    "--as-of",
                    "2007-12-31",
                    str(EXAMPLES / "jiangsu-2007.csv"),
                    "--format",
                    "json",
                    "-o",
                    str(last),
                    "-q",
                ]
            )
            == 0
        )
        code = main(
            [
                "summary",
                *base,
                "--as-of",
                "2008-12-31",
                str(EXAMPLES / "jiangsu-2008.csv"),
                "--last-year",
                str(last),
                "--format",
                "json",
            ]
        )
        data = json.loads(capsys.readouterr().out)
        assert code == 0
        figures = {t["id"]: (t["numerator"], t["denominator"], t["met"]) for t in data["province"]["targets"]}
        assert figures == {"pass_coverage": (30, 52, False), "good_from_last_pass": (4, 10, False)}
        assert data["met"] is False

    def test_cli_table(self, capsys: pytest.CaptureFixture[str]):
        """The table form ends with the verdict."""
        code = main(
            [
                "summary",
                "--policy",
                str(JIANGSU),
                "--as-of",
                "2007-12-31",
                str(EXAMPLES / "jiangsu-2007.csv"),
                "--lang",
                "en",
            ]
        )
        assert code == 0
        assert capsys.readouterr().out.endswith("verdict: every target is met\n")
