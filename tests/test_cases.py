"""Policy test files (*.cases.yaml): `fineco test`, boundary coverage, and the pytest plugin."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from fineco_rules import PolicyError
from fineco_rules.cli import main
from fineco_rules.quality.testing import CasesError, load_cases, run_cases

from .conftest import ROOT, SMALL, WritePolicy

pytest_plugins = ["pytester"]

SHIPPED = sorted((ROOT / "policies").rglob("*.cases.yaml"))

#: The small policy with a banded indicator and a threshold rule, so that it has edges to cover.
BANDED = SMALL.replace(
    "    scorer: linear\n    params: {input: b, worst: 0, best: 100}",
    "    scorer: bands\n    params:\n      input: b\n      bands:\n"
    "        - {max: 50, points: 40}\n        - {min: 50, points: 100}",
)

CASES = """\
policy: policy.yaml
cases:
  - id: strong
    record: {county: "320581", a: 0.9, b: 80, npl: 0.03}
    expect: {grade: good, score: 85, indicators: {ia: 90}}
  - id: weak-npl
    record: {county: "320582", a: 0.9, b: 80, npl: 0.03}
    with: {npl: 0.06}
    expect: {grade: fail}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(CasesError) as info:
        load_cases(path)
    return [(p.location.line, p.code, p.message, p.hint) for p in info.value.problems]


class TestShippedCases:
    """The cases shipped beside the policies pass and cover every declared boundary."""

    @pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
    def test_pass_with_complete_coverage(self, path: Path):
        """Every case passes; every threshold, gate, veto and cap has a case on each side."""
        report = run_cases(path)
        assert [o.case.id for o in report.failed] == []
        assert [g.text() for g in report.gaps] == []
        # The county policies share their nine boundaries; the household rating has its own eleven; the HDI
        # (an index with no grades, vetoes or thresholds) has none.
        assert len(report.coverage) == {"households": 11, "indices": 0}.get(path.parent.name, 9)

    def test_every_shipped_policy_has_cases(self):
        """Each policy file under policies/ has a cases file beside it."""
        policies = [p for p in (ROOT / "policies").rglob("*.yaml") if not p.name.endswith(".cases.yaml")]
        assert sorted(p.with_suffix("").with_suffix(".cases.yaml") for p in policies) == SHIPPED


class TestRunning:
    """Each case is graded on its own and compared with what it expects."""

    def test_passing_cases(self, write_policy: WritePolicy, tmp_path: Path):
        """A row written out and one changed with `with:` grade as expected."""
        write_policy()
        report = run_cases(write(tmp_path, "policy.cases.yaml", CASES))
        assert [(o.case.id, o.passed, o.result.grade.value if o.result.grade else None) for o in report.outcomes] == [
            ("strong", True, "good"),
            ("weak-npl", True, "fail"),
        ]

    def test_failure_names_both_places(self, write_policy: WritePolicy, tmp_path: Path):
        """A wrong expectation is reported at the case's line and at the policy's rule that decided it."""
        policy = write_policy()
        path = write(tmp_path, "policy.cases.yaml", CASES.replace("expect: {grade: fail}", "expect: {grade: pass}"))
        [outcome] = run_cases(path).failed
        [mismatch] = outcome.mismatches
        assert mismatch.message == ("expected grade pass, got fail (total 85.00): pass needs npl < 0.06, found 0.06")
        assert (mismatch.case.file, mismatch.case.line) == (str(path), 9)
        assert mismatch.policy is not None
        assert (mismatch.policy.file, mismatch.policy.line, mismatch.policy.path) == (
            str(policy),
            26,
            "grades.pass.gates.npl_ok",
        )
        assert mismatch.policy.column == 44

    def test_score_within_tolerance(self, write_policy: WritePolicy, tmp_path: Path):
        """A score is compared within the case's tolerance, else the file's, else exactly."""
        write_policy()
        text = CASES.replace("score: 85,", "score: {value: 85.4, tolerance: 0.5},").replace(
            "expect: {grade: fail}", "expect: {score: 84.9}"
        )
        report = run_cases(write(tmp_path, "policy.cases.yaml", "tolerance: 0.05\n" + text))
        assert [(o.case.id, o.passed) for o in report.outcomes] == [("strong", True), ("weak-npl", False)]
        assert report.failed[0].mismatches[0].message == (
            "expected a total of 84.9 ± 0.05, got 85.00 (before adjustments 85.00)"
        )

    def test_row_of_a_data_file(self, tmp_path: Path):
        """A case may name a county's row in a data file (relative to the cases file), and change it."""
        (tmp_path / "p").mkdir()
        cases = write(
            tmp_path / "p",
            "jiangsu.cases.yaml",
            f"""\
            policy: {ROOT / "policies/jiangsu/jiangsu-2008.yaml"}
            data: {ROOT / "examples/jiangsu-2008.csv"}
            cases:
              - {{id: changshu, row: "320581", expect: {{grade: good, score: 85.08}}}}
              - {{id: changshu-npl, row: {{county: 320581}}, with: {{npl_ratio: 0.07}}, expect: {{grade: fail}}}}
            """,
        )
        report = run_cases(cases)
        assert [(o.case.id, o.passed) for o in report.outcomes] == [("changshu", True), ("changshu-npl", True)]
        assert report.outcomes[0].case.record.location.line == 14

    def test_default_policy_is_the_sibling(self, write_policy: WritePolicy, tmp_path: Path):
        """Without `policy:`, x.cases.yaml tests x.yaml beside it."""
        write_policy()
        suite = load_cases(write(tmp_path, "policy.cases.yaml", CASES.replace("policy: policy.yaml\n", "")))
        assert suite.policy.id == "test-policy"


class TestCaseFileErrors:
    """Mistakes in a cases file are collected and located, with a fix."""

    def test_unknown_input_and_indicator(self, write_policy: WritePolicy, tmp_path: Path):
        """A misspelt input in `with:` and indicator in `expect:` get did-you-means at their lines."""
        write_policy()
        text = CASES.replace("with: {npl: 0.06}", "with: {nlp: 0.06}").replace(
            "indicators: {ia: 90}", "indicators: {iaa: 90}"
        )
        assert problems_of(write(tmp_path, "policy.cases.yaml", text)) == [
            (5, "unknown-indicator", "'iaa' is not an indicator of test-policy 1", "did you mean 'ia'?"),
            (8, "unknown-input", "'nlp' is not an input of test-policy 1", "did you mean 'npl'?"),
        ]

    def test_unknown_row_and_duplicate_id(self, tmp_path: Path):
        """A county missing from the data file and an id used twice are both reported."""
        text = f"""\
        policy: {ROOT / "policies/jiangsu/jiangsu-2008.yaml"}
        data: {ROOT / "examples/jiangsu-2008.csv"}
        cases:
          - {{id: x, row: "320580", expect: {{grade: good}}}}
          - {{id: x, row: "320581", expect: {{grade: good}}}}
        """
        assert problems_of(write(tmp_path, "c.cases.yaml", text)) == [
            (
                4,
                "unknown-row",
                f"county 320580 is not in {ROOT / 'examples/jiangsu-2008.csv'}",
                "did you mean 320581, 320582, 320583?",
            ),
            (5, "duplicate-case", "case id 'x' is used twice (first at cases[0])", "give each case its own id"),
        ]

    def test_schema(self, write_policy: WritePolicy, tmp_path: Path):
        """A case with both a record and a row, or no expectation, breaks the schema where it is written."""
        write_policy()
        text = """\
        cases:
          - {id: a, record: {county: "320581"}, row: "320581", expect: {grade: good}}
          - {id: b, record: {county: "320581"}, expect: {}}
        """
        found = problems_of(write(tmp_path, "policy.cases.yaml", text))
        assert [(line, code) for line, code, _, _ in found] == [(2, "one-of"), (3, "minProperties")]

    def test_missing_policy(self, tmp_path: Path):
        """A cases file whose policy is not there says so and how to name it."""
        assert problems_of(write(tmp_path, "nothing.cases.yaml", CASES.replace("policy: policy.yaml\n", ""))) == [
            (
                1,
                "not-found",
                f"the policy {tmp_path / 'nothing.yaml'} does not exist",
                "name it with `policy:` (relative to this file)",
            )
        ]

    def test_broken_policy_raises_its_own_error(self, write_policy: WritePolicy, tmp_path: Path):
        """A policy that does not load raises PolicyError, located in the policy."""
        write_policy(SMALL.replace("weight: 0.5\n  ib", "weight: 0.6\n  ib"))
        with pytest.raises(PolicyError) as info:
            load_cases(write(tmp_path, "policy.cases.yaml", CASES))
        assert info.value.problem.code == "bad-weights"


class TestCoverage:
    """Boundary coverage: whether cases lie on both sides of every threshold and band edge."""

    def test_gaps_are_reported(self, write_policy: WritePolicy, tmp_path: Path):
        """Cases that all pass the NPL gate leave its other side uncovered; band edges are counted too."""
        write_policy(BANDED)
        text = CASES.replace("with: {npl: 0.06}\n    expect: {grade: fail}", "with: {b: 40}\n    expect: {grade: pass}")
        text = text.replace("expect: {grade: good, score: 85, indicators: {ia: 90}}", "expect: {grade: good}")
        report = run_cases(write(tmp_path, "policy.cases.yaml", text))
        assert report.ok
        assert [(c.boundary.name, c.hits, c.on_edge) for c in report.coverage] == [
            ("indicators.ib.params.bands[1].min", (1, 1), 0),
            ("grades.pass.min_total", (2, 0), 0),
            ("grades.pass.gates.npl_ok", (2, 0), 0),
            ("grades.good.min_total", (1, 1), 0),
        ]
        assert [c.boundary.name for c in report.gaps] == ["grades.pass.min_total", "grades.pass.gates.npl_ok"]
        assert report.gaps[1].text().endswith("`npl < 0.06` — only met (2 met, 0 not met)")

    def test_plugin_scorers_are_named_not_counted(self):
        """Indicators scored by plugins are listed as not counted, not silently left out."""
        report = run_cases(ROOT / "policies/jiangsu/jiangsu-2008.cases.yaml")
        assert report.opaque == ("credit", "intermediary", "legal", "internal", "satisfaction", "policy", "service")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    """`fineco test PATH`: every cases file under PATH, failures with both places, coverage."""

    def test_shipped(self, capsys, monkeypatch: pytest.MonkeyPatch):
        """The shipped cases pass: exit 0, and a line per file with its coverage."""
        monkeypatch.chdir(ROOT)
        code, out, _ = run(capsys, "test", "policies/jiangsu/jiangsu-2008.cases.yaml")
        assert code == 0
        assert out.splitlines()[:2] == [
            "policies/jiangsu/jiangsu-2008.cases.yaml: 14 cases, 14 passed, 0 failed "
            "(jiangsu-fineco-county 2008, policies/jiangsu/jiangsu-2008.yaml)",
            "  boundary coverage: 9 of 9 boundaries exercised on both sides",
        ]

    def test_failure_exits_1(self, capsys, write_policy: WritePolicy, tmp_path: Path):
        """A failing case prints FAIL with the case's place, the record's, and the policy rule's."""
        policy = write_policy()
        path = write(tmp_path, "policy.cases.yaml", CASES.replace("expect: {grade: fail}", "expect: {grade: pass}"))
        code, out, _ = run(capsys, "test", str(tmp_path))
        assert code == 1
        assert out.splitlines()[:4] == [
            f"FAIL {path}:6:5, at cases[1]: case 'weak-npl'",
            f"    record: {path}:7:13, at cases[1].record (county 320582, npl = 0.06)",
            f"    {path}:9:21, at cases[1].expect.grade: expected grade pass, got fail (total 85.00): "
            "pass needs npl < 0.06, found 0.06",
            f"        policy: {policy}:26:44, at grades.pass.gates.npl_ok",
        ]

    def test_require_coverage(self, capsys, write_policy: WritePolicy, tmp_path: Path):
        """Gaps are listed; with --require-coverage they make the run fail."""
        write_policy()
        write(
            tmp_path,
            "policy.cases.yaml",
            CASES.replace("with: {npl: 0.06}", "with: {npl: 0.05}").replace("{grade: fail}", "{grade: good}"),
        )
        assert run(capsys, "test", str(tmp_path))[0] == 0
        code, out, _ = run(capsys, "test", str(tmp_path), "--require-coverage")
        assert code == 1
        assert "boundary coverage: 0 of 3 boundaries exercised on both sides; not covered:" in out

    def test_no_cases(self, capsys, tmp_path: Path):
        """A folder without cases files is a usage error."""
        code, _, err = run(capsys, "test", str(tmp_path))
        assert (code, err) == (2, f"fineco: error: no cases files (*.cases.yaml) in {tmp_path}\n")


class TestPytestPlugin:
    """The plugin registered under `pytest11` collects cases files: `pytest policies/`."""

    @pytest.fixture
    def project(self, pytester: pytest.Pytester) -> pytest.Pytester:
        pytester.makefile(".yaml", policy=SMALL)
        pytester.makefile(".cases.yaml", policy=CASES)
        return pytester

    def test_one_test_per_case(self, project: pytest.Pytester):
        """Each case is a test named by its id, plus one for boundary coverage, which passes unless required."""
        result = project.runpytest("-v")
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines(
            [
                "policy.cases.yaml::strong PASSED*",
                "policy.cases.yaml::weak-npl PASSED*",
                "policy.cases.yaml::boundary-coverage PASSED*",
                "*fineco boundary coverage*",
                "*policy.cases.yaml: 1 of 3 boundaries exercised on both sides",
            ]
        )

    def test_failure_report(self, project: pytest.Pytester):
        """A failing case shows what was expected and the policy rule, not a traceback."""
        project.makefile(".cases.yaml", policy=CASES.replace("expect: {grade: fail}", "expect: {grade: pass}"))
        result = project.runpytest()
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*expected grade pass, got fail (total 85.00): pass needs npl < 0.06, found 0.06",
                "*policy: *policy.yaml:26:44*",
            ]
        )
        assert "Traceback" not in result.stdout.str()

    def test_require_coverage(self, project: pytest.Pytester):
        """--fineco-require-coverage fails a file whose cases leave a boundary uncovered."""
        result = project.runpytest("--fineco-require-coverage")
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(["*2 of 3 boundaries lack a case on one side:*"])

    def test_broken_cases_file(self, project: pytest.Pytester):
        """A broken cases file is a collection error listing its problems."""
        project.makefile(".cases.yaml", policy=CASES.replace("with: {npl: 0.06}", "with: {nlp: 0.06}"))
        result = project.runpytest()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "*error: *policy.cases.yaml:8:12, at cases*.with.nlp: "
                "'nlp' is not an input of test-policy 1 (did you mean 'npl'?)"
            ]
        )


class TestDecimalsStayExact:
    """Expected scores are read as written."""

    def test_expected_score_is_decimal(self, write_policy: WritePolicy, tmp_path: Path):
        """`score: 95` is the Decimal 95 with the file's tolerance, 0 by default."""
        write_policy()
        suite = load_cases(write(tmp_path, "policy.cases.yaml", CASES))
        assert suite.cases[0].score == (Decimal(85), Decimal(0))
        assert suite.cases[0].indicators == {"ia": (Decimal(90), Decimal(0))}
