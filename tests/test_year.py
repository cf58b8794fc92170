"""The province's year (issue 14): the roster, targets over several city methods, good from last year's pass,
the setup file, and the shipped example years run end to end by `fineco year`."""

from __future__ import annotations

import json
import shlex
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import fineco_rules
from fineco_rules import DataFileError, load_policy
from fineco_rules.analysis import summarize
from fineco_rules.cli import main
from fineco_rules.province import Titles, YearResult, load_year, read_roster, read_titles, run_year
from fineco_rules.province._report import render_report  # the year's report in English; no public name renders it

from .conftest import ROOT, SMALL, WritePolicy

PROVINCE = ROOT / "examples" / "province"
SETUPS = [PROVINCE / f"{year}.yaml" for year in (2007, 2008, 2009, 2010)]

TARGETS = """
targets:
  coverage: {label: {zh: 达标面, en: pass coverage}, metric: pass_coverage, op: ">=", value: 0.7, scope: both}
  phase: {label: {zh: 阶段达标面, en: phase coverage}, metric: pass_coverage, op: ">=", value: 0.7, judged: phase_end}
  npl: {label: {zh: 不良率, en: NPL}, metric: ratio_of_totals, input: bad, per: loans, op: "<=", value: 0.06}
"""
PARTS = """
  bad: {type: number, min: 0, required: false, label: {zh: 不良贷款余额, en: NPL balance}}
  loans: {type: number, min: 0, required: false, label: {zh: 贷款余额, en: loan balance}}
"""
#: Totals are 50a + b/2: 100 (good), 60 (pass), 20 (fail).
RECORDS = [
    {"county": "320101", "city": "320100", "a": "1", "b": "100", "npl": "0.01"},
    {"county": "320102", "city": "320100", "a": "0.6", "b": "60", "npl": "0.02"},
    {"county": "320201", "city": "320200", "a": "0.2", "b": "20", "npl": "0.04"},
]


def policy_text(**changes: str) -> str:
    text = SMALL.replace("inputs:\n", "inputs:\n" + PARTS.lstrip("\n")) + "effective_until: 2009-12-31\n" + TARGETS
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def by_id(results: tuple[fineco_rules.analysis.TargetResult, ...]) -> dict[str, fineco_rules.analysis.TargetResult]:
    return {t.target.id: t for t in results}


@pytest.fixture
def policy(write_policy: WritePolicy) -> fineco_rules.Policy:
    return load_policy(write_policy(policy_text()))


class TestRoster:
    def test_each_year_has_its_counties(self):
        """The shipped roster gives the 18 pilots in 2007 and every county-level unit after, less the abolished."""
        roster = read_roster(PROVINCE / "roster.csv")
        sizes = {year: len(roster.for_year(year, pilots_only=year == 2007)) for year in (2007, 2008, 2009, 2010)}
        assert sizes == {2007: 18, 2008: 52, 2009: 51, 2010: 50}
        assert "320683" in roster.for_year(2008) and "320683" not in roster.for_year(2009)  # 通州市
        assert roster.for_year(2008)["320581"] == "320500"

    def test_pilots_are_one_or_two_per_city(self):
        """The 2007 pilot list names 1–2 counties in each of the 13 cities."""
        cities = list(read_roster(PROVINCE / "roster.csv").for_year(2007, pilots_only=True).values())
        assert sorted({cities.count(c) for c in set(cities)}) == [1, 2]
        assert len(set(cities)) == 13

    def test_bad_row_is_refused_with_its_line(self, tmp_path: Path):
        """A county code that is not six digits is a bad-roster error at its line."""
        path = tmp_path / "roster.csv"
        path.write_text("county,name,city,pilot,from,until\n320124,溧水县,320100,true,,\n3201,x,320100,false,,\n")
        with pytest.raises(DataFileError) as info:
            read_roster(path)
        assert (info.value.problem.code, info.value.problem.location.line) == ("bad-roster", 3)


class TestSummaryOverMethods:
    def test_two_methods_combine(self, policy: fineco_rules.Policy, write_policy: WritePolicy):
        """Two cities graded under two methods give one summary: counts add up and both methods are named."""
        other = load_policy(write_policy(policy_text(**{"id: test-policy": "id: other-city"}), name="other.yaml"))
        first = fineco_rules.evaluate(policy, RECORDS[:2])
        second = fineco_rules.evaluate(other, RECORDS[2:])
        summary = summarize([first, second], targets=policy)
        assert summary.province.counts == {"counties": 3, "good": 1, "pass": 1, "fail": 1, "not_graded": 0}
        assert [p.id for p in summary.methods] == ["test-policy", "other-city"]
        assert by_id(summary.province.targets)["coverage"].numerator == Decimal(2)

    def test_missing_county_counts_in_the_denominator(self, policy: fineco_rules.Policy):
        """A roster county no city submitted is listed as missing and counts as not passing: 2 of 4, not 2 of 3."""
        roster = {"320101": "320100", "320102": "320100", "320201": "320200", "320202": "320200"}
        summary = summarize(fineco_rules.evaluate(policy, RECORDS), roster=roster)
        coverage = by_id(summary.province.targets)["coverage"]
        assert (coverage.numerator, coverage.denominator) == (Decimal(2), 4)
        assert summary.province.missing == ("320202",)
        assert summary.city("320200").counts["missing"] == 1
        assert coverage.left_out == (("320202", "missing from the submission (counted, not passing)"),)

    def test_phase_end_target_is_progress_before_the_last_year(self, policy: fineco_rules.Policy):
        """A phase-end target missed in 2008 shows progress and does not fail the summary; in 2009 it fails."""
        records = [*RECORDS, {"county": "320202", "city": "320200", "a": "0", "b": "0", "npl": "0.01"}]
        evaluation = fineco_rules.evaluate(policy, records)
        early = by_id(summarize(evaluation, year=2008).province.targets)["phase"]
        late = by_id(summarize(evaluation, year=2009).province.targets)["phase"]
        assert (early.status, early.met, early.verdict) == ("progress", False, None)
        assert (late.status, late.verdict) == ("not_met", False)

    def test_both_scope_is_judged_in_each_city(self, policy: fineco_rules.Policy):
        """A `scope: both` target is flagged in a city that misses it even when the province meets it."""
        summary = summarize(fineco_rules.evaluate(policy, RECORDS))
        assert by_id(summary.province.targets)["coverage"].met is False  # 2 of 3 < 0.7
        flagged = {(f.target.id, f.area) for f in summary.flags}
        assert ("coverage", "320200") in flagged and ("coverage", "320100") not in flagged

    def test_ratio_of_totals_is_not_a_mean_of_ratios(self, policy: fineco_rules.Policy):
        """NPL province-wide is Σ NPL / Σ loans (a big county weighs more): 7/100 fails though the mean passes."""
        parts = {
            "320101": {"bad": Decimal(7), "loans": Decimal(90)},  # 7.8 %
            "320102": {"bad": Decimal(0), "loans": Decimal(5)},  # 0 %
            "320201": {"bad": Decimal(0), "loans": Decimal(5)},  # 0 %
        }
        npl = by_id(summarize(fineco_rules.evaluate(policy, RECORDS), parts=parts).province.targets)["npl"]
        assert (npl.figure, npl.numerator, npl.met) == (Decimal("0.07"), Decimal(7), False)

    def test_per_without_ratio_of_totals_is_refused(self, write_policy: WritePolicy):
        """`per` belongs to ratio_of_totals only; elsewhere it is refused at load."""
        old = 'metric: pass_coverage, op: ">=", value: 0.7, scope'
        text = policy_text(**{old: old.replace("op:", "per: a, op:")})
        with pytest.raises(fineco_rules.PolicyError) as info:
            load_policy(write_policy(text))
        assert info.value.problem.code == "not-allowed"


def readme_command() -> list[str]:
    """The README's one `fineco year` command, its glob expanded as a shell would (sorted)."""
    lines = [line for line in (ROOT / "README.md").read_text("utf-8").splitlines() if line.startswith("fineco year")]
    assert len(lines) == 1
    words = shlex.split(lines[0])[1:]
    out: list[str] = []
    for word in words:
        out += sorted(str(p) for p in ROOT.glob(word)) if "?" in word or "*" in word else [word]
    return out


@pytest.fixture(scope="module")
def example_years(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's command: the shipped example years 2007–2010 run end to end."""
    out = tmp_path_factory.mktemp("year")
    command = readme_command()
    assert command[1:5] == list(map(str, SETUPS))
    command[command.index("-o") + 1] = str(out)
    assert main([*command, "-q", "--lang", "zh"]) == 0  # the report is read in Chinese (TestRulesShown)
    return out


def titles(out: Path, year: int) -> dict[str, dict[str, object]]:
    data = json.loads((out / str(year) / "titles.json").read_text("utf-8"))
    return {t["county"]: t for t in data["titles"]}


class TestExampleYears:
    def test_every_year_writes_its_files(self, example_years: Path):
        """Each year has its report, summary, register, publication and one results file per city."""
        for year in (2007, 2008, 2009, 2010):
            names = {p.name for p in (example_years / str(year)).iterdir()}
            assert {"report.md", "summary.json", "titles.json", "publication.json", "publication.md"} <= names
            assert len([n for n in names if n.startswith("results-")]) == 13

    def test_each_city_under_its_own_method(self, example_years: Path):
        """In 2008 Suzhou and Suqian grade under their own methods, and so does every other city (no baseline)."""
        data = json.loads((example_years / "2008" / "summary.json").read_text("utf-8"))
        methods = {c["city"]: (c["method"]["id"], c["baseline"]) for c in data["cities"]}
        assert methods["320500"] == ("suzhou-fineco-county", False)
        assert methods["321300"] == ("suqian-fineco-county", False)
        assert methods["320100"] == ("nanjing-fineco-county", False)

    @pytest.mark.parametrize("year", [2007, 2008, 2009, 2010])
    def test_no_city_grades_under_the_baseline(self, example_years: Path, year: int):
        """Every example year grades all thirteen cities under their own method of that year's phase."""
        data = json.loads((example_years / str(year) / "summary.json").read_text("utf-8"))
        phase = {2007: "2007", 2008: "2008", 2009: "2008", 2010: "2010"}[year]
        cities = data["cities"]
        assert len(cities) == 13
        assert [c["city"] for c in cities if c["baseline"]] == []
        assert {c["method"]["version"] for c in cities} == {phase}
        assert len({c["method"]["id"] for c in cities}) == 13

    def test_2008_targets_are_progress(self, example_years: Path):
        """The promotion phase's targets are progress in 2008 and judged in 2009."""
        early = json.loads((example_years / "2008" / "summary.json").read_text("utf-8"))["summary"]
        late = json.loads((example_years / "2009" / "summary.json").read_text("utf-8"))["summary"]
        assert {t["status"] for t in early["province"]["targets"]} == {"progress"}
        assert {t["id"]: t["status"] for t in late["province"]["targets"]}["pass_coverage"] in ("met", "not_met")
        assert early["met"] is None

    def test_good_needs_last_years_pass_in_suzhou(self, example_years: Path):
        """Suzhou's from_pass: last_year rates 吴江市 (not a 2007 pilot) pass in 2008 though it scores good."""
        data = json.loads((example_years / "2008" / "summary.json").read_text("utf-8"))
        suzhou = next(c for c in data["cities"] if c["city"] == "320500")
        assert suzhou["demoted_from_good"] == ["320584"]
        assert titles(example_years, 2008)["320584"]["grade"] == "pass"
        assert titles(example_years, 2008)["320581"]["grade"] == "good"  # 常熟市, a 2007 pilot rated pass or good

    def test_publication_names_only_titles(self, example_years: Path):
        """The publication lists only counties with a title, with the method, and no figures."""
        data = json.loads((example_years / "2010" / "publication.json").read_text("utf-8"))
        named = [c for city in data["cities"] for c in city["counties"]]
        assert {c["title"] for c in named} == {"pass", "good"}
        assert set(named[0]) == {"county", "name", "title", "method"}

    def test_titles_carry_over(self, example_years: Path):
        """A 2008 title holder is kept, raised, lowered or lost in 2009; a newcomer is new."""
        before, after = titles(example_years, 2008), titles(example_years, 2009)
        for county, line in after.items():
            had = before[county]["title"] is not None
            assert line["change"] in (("kept", "raised", "lowered", "lost") if had else ("new", "none"))


class TestSetup:
    def copy(self, tmp_path: Path) -> Path:
        shutil.copytree(PROVINCE, tmp_path / "examples" / "province")
        shutil.copytree(ROOT / "policies", tmp_path / "policies")
        return tmp_path / "examples" / "province"

    def test_unknown_key_is_refused_at_its_line(self, tmp_path: Path):
        """A misspelt key in a setup is a bad-setup error at its line."""
        folder = self.copy(tmp_path)
        path = folder / "2010.yaml"
        path.write_text(path.read_text("utf-8").replace("roster:", "rooster: x\nroster:"), "utf-8")
        with pytest.raises(DataFileError) as info:
            load_year(path)
        assert (info.value.problem.code, info.value.problem.location.line) == ("bad-setup", 4)

    def test_missing_county_is_reported_not_dropped(self, tmp_path: Path):
        """A county left out of its city's data is reported missing and counts in the denominator."""
        folder = self.copy(tmp_path)
        data = folder / "2010" / "320100.csv"
        lines = data.read_text("utf-8").splitlines(keepends=True)
        data.write_text("".join(lines[:2]), "utf-8")  # 高淳县 (320125) left out
        result = run_year(load_year(folder / "2010.yaml"), last_year=Titles(2009, {}))
        nanjing = next(r for r in result.runs if r.city == "320100")
        assert nanjing.missing == ("320125",)
        assert [p.code for p in result.problems] == ["not-submitted"]
        coverage = {t.target.id: t for t in result.summary.province.targets}["pass_coverage"]
        assert coverage.denominator == 50
        assert result.titles.entries["320125"].change == "missing"

    def test_other_citys_county_is_not_graded(self, tmp_path: Path):
        """A city that submits another city's county: that county is not graded under its method and is named."""
        folder = self.copy(tmp_path)
        nanjing, wuxi = folder / "2010" / "320100.csv", folder / "2010" / "320200.csv"
        stranger = wuxi.read_text("utf-8").splitlines(keepends=True)[1]
        nanjing.write_text(nanjing.read_text("utf-8") + stranger, "utf-8")
        result = run_year(load_year(folder / "2010.yaml"), last_year=Titles(2009, {}))
        run = next(r for r in result.runs if r.city == "320100")
        assert run.strangers == (stranger.split(",")[0],)
        assert [r.county for r in run.evaluation.results] == ["320124", "320125"]
        assert "not-on-roster" in [p.code for p in result.problems]

    def test_city_without_its_method_is_labelled_baseline(self, tmp_path: Path):
        """A setup that gives a city the provincial file grades it under the baseline, marked as such."""
        folder = self.copy(tmp_path)
        path = folder / "2007.yaml"
        text = path.read_text("utf-8").replace("../../policies/cities/nanjing", "../../policies/jiangsu")
        path.write_text(text, "utf-8")
        marked = {r.city: r.baseline for r in run_year(load_year(path)).runs}
        assert [c for c, baseline in marked.items() if baseline] == ["320100"]
        assert main(["year", str(path), "-o", str(tmp_path / "out"), "-q", "--lang", "zh"]) == 0
        report = (tmp_path / "out" / "2007" / "report.md").read_text("utf-8")
        marked_lines = [line for line in report.splitlines() if "（省基准办法，示例）" in line]
        assert len(marked_lines) == 1
        assert "南京" in marked_lines[0]

    def test_from_pass_without_last_year_is_an_error(self, tmp_path: Path):
        """Suzhou's method needs last year's register; without it the city is reported, not graded silently."""
        result = run_year(load_year(PROVINCE / "2008.yaml"))
        assert "bad-setup" in [p.code for p in result.problems]
        assert "320500" not in [r.city for r in result.runs]


@pytest.fixture(scope="module")
def year_2008(example_years: Path) -> YearResult:
    """The example year 2008, with 2007's register."""
    return run_year(load_year(PROVINCE / "2008.yaml"), last_year=read_titles(example_years / "2007" / "titles.json"))


@pytest.fixture(scope="module")
def wujiang(year_2008: YearResult) -> tuple[fineco_rules.CountyResult, fineco_rules.Policy]:
    """吴江市 in 2008 under Suzhou's method, with 2007's register (it was not a pilot)."""
    run = next(r for r in year_2008.runs if r.city == "320500")
    return next(r for r in run.evaluation.results if r.county == "320584"), run.method


class TestDemotionExplained:
    def test_chinese_explanation_says_why_pass(self, wujiang: tuple[fineco_rules.CountyResult, fineco_rules.Policy]):
        """吴江市 scores above the good line but was not rated pass last year: the reason is said in Chinese."""
        result, method = wujiang
        text = fineco_rules.explain(result, method)
        assert result.grade == fineco_rules.Grade.PASS
        assert "  ✗ 上年度已达标（良好须从上年度达标单位中产生，未达标的本年度按达标认定）：否（来源 " in text
        assert "未达到良好，原因：上年度已达标（良好须从上年度达标单位中产生，未达标的本年度按达标认定）：否\n" in text
        assert "false 不满足" not in text

    def test_english_explanation_says_no(self, wujiang: tuple[fineco_rules.CountyResult, fineco_rules.Policy]):
        """In English the condition is a plain no, not a comparison of two truth values."""
        result, method = wujiang
        text = fineco_rules.explain(result, method, lang="en")
        assert "Not good, because: passed last year (good comes only from last year's passing counties; " in text
        assert "is not == true" not in text


class TestRulesShown:
    def test_year_report_shows_source_and_assumptions(self, example_years: Path, year_2008: YearResult):
        """The provincial report says, in the run's language, which rules are the source's (with the clause) and
        which are assumptions, and each city method's own rules."""
        report = (example_years / "2008" / "report.md").read_text("utf-8")
        assert "规则来源（原文条款或本办法的假设）：" in report
        english = render_report(year_2008, "en")
        assert "Where the rules come from (a clause of the source, or an assumption of this method):" in english
        assert (
            "- 达标面 (targets.pass_coverage)：原文 二（二）1 “全省金融生态县达标面达到70%以上”；"
            "假设 `targets_computed`：" in report
        )
        assert "- 重大非法集资案件一票否决 (vetoes.illegal_fundraising)：假设 `veto`：" in report
        nanjing = report.index("- **南京市金融生态县考核办法示例（2008—2009年）** (nanjing-fineco-county 2008)")
        assert report.index(
            "  - 达标 (grades.pass)：原文 三（五） “评选标准分为达标和良好两个层次”；假设 `nanjing`：", nanjing
        )

    def test_summary_shows_source_and_assumptions(self, capsys: pytest.CaptureFixture[str]):
        """`fineco summary --lang zh` ends with where each rule comes from, in Chinese."""
        assert main(
            [
                "summary",
                "--lang",
                "zh",
                "--policy",
                str(ROOT / "policies" / "jiangsu"),
                "--year",
                "2010",
                str(ROOT / "examples" / "jiangsu-2010.csv"),
            ]
        ) in (0, 1)
        out = capsys.readouterr().out
        assert "\n规则来源（原文条款或本办法的假设）：\n" in out
        assert "  · 信用乡镇普及率 (targets.credit_township_penetration)：原文 一 “信用乡镇普及率达到85%以上”；" in out


class TestSummaryYear:
    def test_phase_end_targets_are_progress_in_2008(self, capsys: pytest.CaptureFixture[str]):
        """`fineco summary --year 2008` shows the promotion phase's targets as progress, as the year run does."""
        data = ROOT / "examples" / "jiangsu-2008.csv"
        policy = str(ROOT / "policies" / "jiangsu")
        assert main(["summary", "--lang", "zh", "--policy", policy, "--year", "2008", str(data)]) == 0
        out = capsys.readouterr().out
        assert "达标面                        57.69 %  >= 70.00 %  … 阶段进度  30/52\n" in out
        assert "结论：阶段目标在阶段末年度判定，本年度显示进度\n" in out

    def test_json_has_progress_status(self, capsys: pytest.CaptureFixture[str]):
        """In JSON the 2008 targets carry status `progress` and the summary is not yet judged."""
        data = ROOT / "examples" / "jiangsu-2008.csv"
        args = ["summary", "--policy", str(ROOT / "policies" / "jiangsu"), "--year", "2008", str(data)]
        assert main([*args, "--format", "json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert [(t["id"], t["status"]) for t in summary["province"]["targets"]] == [
            ("pass_coverage", "progress"),
            ("good_from_last_pass", "progress"),
        ]
        assert summary["met"] is None

    def test_without_year_2008_is_judged(self, capsys: pytest.CaptureFixture[str]):
        """Without --year the figure is judged as before (not met), so the flag changes the verdict only."""
        data = ROOT / "examples" / "jiangsu-2008.csv"
        args = ["summary", "--lang", "zh", "--policy", str(ROOT / "policies" / "jiangsu"), "--as-of", "2008-12-31"]
        main([*args, str(data)])
        assert "达标面                        57.69 %  >= 70.00 %  ✗ 未达到    30/52\n" in capsys.readouterr().out


class TestProvinceGuide:
    def commands(self) -> list[list[str]]:
        text = (ROOT / "docs" / "province.md").read_text("utf-8")
        return [shlex.split(line)[1:] for line in text.splitlines() if line.startswith("fineco year")]

    def test_pilot_then_promotion_commands_run(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """The guide's 2007 and 2008 commands run as written (output folder moved), 2008 reading 2007's titles."""
        monkeypatch.chdir(ROOT)
        first, second = self.commands()[:2]
        out = str(tmp_path / "out" / "province")
        swap = {"out/province": out, "out/province/2007/titles.json": f"{out}/2007/titles.json"}
        for command in (first, second):
            assert main([swap.get(word, word) for word in command] + ["-q"]) == 0
        assert (tmp_path / "out" / "province" / "2008" / "publication.md").exists()

    def test_whole_example_is_the_readme_command(self):
        """The guide's one command for the whole example runs the same setups as the README's."""
        whole = self.commands()[2]
        assert whole[1:5] == [str(p.relative_to(ROOT)) for p in SETUPS]
        assert readme_command()[1:5] == [str(p) for p in SETUPS]
