"""Gap to the next grade: suggestions that really lift the grade, found exactly or by search, and said which."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

import fineco_rules
import fineco_rules.analysis
import fineco_rules.io
from fineco_rules import Grade, load_policy
from fineco_rules.analysis import explain, find_gaps
from fineco_rules.analysis._explain import (  # private unit under test (fineco_rules.analysis._explain)
    gap_lines,
    step_text,
)
from fineco_rules.cli import main

from .conftest import ROOT, SMALL, WritePolicy

JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"

BANDS = SMALL.replace(
    "    scorer: linear\n    params: {input: b, worst: 0, best: 100}",
    "    scorer: bands\n"
    "    params: {input: b, bands: [{max: 50, points: 0}, {min: 50, max: 90, points: 50}, {min: 90, points: 100}]}",
)


@pytest.fixture(scope="module")
def province() -> tuple[
    fineco_rules.CompiledPolicy, list[fineco_rules.io.RawRecord], dict[str, fineco_rules.analysis.Gap]
]:
    compiled = fineco_rules.compile_policy(load_policy(JIANGSU))
    records = list(fineco_rules.read_records(DATA).records)
    return compiled, records, find_gaps(compiled, records)


def grade_with(
    compiled: fineco_rules.CompiledPolicy,
    records: list[fineco_rules.io.RawRecord],
    county: str,
    changes: dict[str, object],
) -> fineco_rules.CountyResult:
    """Re-grade the whole batch with one county's inputs changed."""
    changed = [
        attrs.evolve(
            r, values={**r.values, **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in changes.items()}}
        )
        if r.values["county"] == county
        else r
        for r in records
    ]
    return compiled.evaluate(changed).by_county()[county]


def one_step_less(step: fineco_rules.analysis.Step) -> Decimal:
    assert isinstance(step.target, Decimal) and isinstance(step.change, Decimal)
    unit = Decimal(1).scaleb(step.target.as_tuple().exponent)  # type: ignore[arg-type]
    return step.target - unit if step.change > 0 else step.target + unit


class TestSuggestionsLift:
    def test_every_county_below_good_has_a_gap(self, province):
        """Each graded county that is not good has a gap to the next grade, and no good county has one."""
        compiled, records, gaps = province
        evaluation = compiled.evaluate(records)
        below = {r.county for r in evaluation.results if r.grade is not None and r.grade < Grade.GOOD}
        assert set(gaps) == below
        assert all(g.target.rank == g.grade.rank + 1 for g in gaps.values())

    def test_each_option_lifts_and_is_the_least(self, province):
        """Applying the required changes and any one option lifts the county; one grid step less does not."""
        compiled, records, gaps = province
        checked = 0
        for code, gap in gaps.items():
            required = {s.input: s.target for s in gap.required}
            for option in gap.options:
                assert (
                    grade_with(compiled, records, code, {**required, option.input: option.target}).grade == gap.target
                )
                less = grade_with(compiled, records, code, {**required, option.input: one_step_less(option)})
                assert less.grade is not None and less.grade < gap.target
                checked += 1
        assert checked == 95

    def test_npl_on_the_line_needs_no_change(self, province):
        """兴化市 at NPL 0.0600 is 在6%以下 and passes: its gap is to good, and NPL is not among the required."""
        compiled, records, gaps = province
        gap = gaps["321281"]
        assert (gap.grade, gap.target) == (Grade.PASS, Grade.GOOD)
        assert [(s.input, s.current, s.target, s.method) for s in gap.required] == [
            ("credit_township_share", Decimal("0.821"), Decimal("0.85"), "exact")
        ]
        assert grade_with(compiled, records, "321281", {}).grade == Grade.PASS

    def test_plan_lifts(self, province):
        """When no single input is enough, moving the plan's inputs together lifts the county."""
        compiled, records, gaps = province
        planned = {c: g for c, g in gaps.items() if g.plan}
        assert len(planned) == 30  # 兴化市 among them since NPL 6.00 % passes (在6%以下)
        for code, gap in planned.items():
            changes = {s.input: s.target for s in gap.required} | {s.input: s.target for s in gap.plan}
            assert grade_with(compiled, records, code, changes).grade == gap.target
            assert all(s.method == "searched" for s in gap.plan)

    def test_vetoed_county_is_blocked(self, province):
        """扬中市 has a major illegal fundraising case: the gap names the veto and suggests nothing."""
        _, _, gaps = province
        gap = gaps["321182"]
        assert [c.id for c in gap.blocked] == ["illegal_fundraising"]
        assert (gap.required, gap.options, gap.plan) == ((), (), ())


class TestExactOrSearched:
    def test_linear_policy_is_solved_exactly(self, small: fineco_rules.Policy):
        """A total linear in b (50a + b/2) is solved in closed form: b from 50 to 60 lifts 55 to 60."""
        gaps = find_gaps(small, [{"county": "320101", "a": "0.6", "b": "50", "npl": "0.01"}])
        option = {s.input: s for s in gaps["320101"].options}["b"]
        assert (option.target, option.change, option.method) == (Decimal("60"), Decimal("10"), "exact")

    def test_bands_are_searched(self, write_policy: WritePolicy):
        """A banded scorer is not linear: the least b that lifts the grade is found by search (90)."""
        gaps = find_gaps(load_policy(write_policy(BANDS)), [{"county": "320101", "a": "0.5", "b": "60", "npl": "0.01"}])
        option = {s.input: s for s in gaps["320101"].options}["b"]
        assert (option.target, option.method) == (Decimal("90"), "searched")

    def test_strict_gate_uses_the_data_grid(self, small: fineco_rules.Policy):
        """A failing `npl < 0.06` needs 0.059 when the data are written to three decimals."""
        gaps = find_gaps(small, [{"county": "320101", "a": "1", "b": "100", "npl": "0.075"}])
        assert [(s.input, s.target, s.op) for s in gaps["320101"].required] == [("npl", Decimal("0.059"), "<=")]
        assert gaps["320101"].enough is True


class TestWords:
    def test_ratio_step_in_percent(self, small: fineco_rules.Policy):
        """A ratio reads as a percentage, with the change in percentage points and the method."""
        gaps = find_gaps(small, [{"county": "320101", "a": "0.6", "b": "50", "npl": "0.01"}])
        option = {s.input: s for s in gaps["320101"].options}["a"]
        assert step_text(option, "en") == "a from 60.00 % to at least 70.00 % (+10 percentage points; exact)"
        assert step_text(option, "zh") == "甲 从 60.00 % 提高到至少 70.00 %（+10 个百分点；精确计算）"

    def test_gap_lines(self, small: fineco_rules.Policy):
        """The gap section starts with the points short and lists the options."""
        gap = find_gaps(small, [{"county": "320101", "a": "0.6", "b": "50", "npl": "0.01"}])["320101"]
        lines = gap_lines(gap, "en")
        assert lines[:2] == [
            "Gap to pass: total score 55.00, the pass line is 60, 5.00 short",
            "  any one of these is enough:",
        ]

    def test_explain_shows_the_gap(self, capsys: pytest.CaptureFixture[str]):
        """`fineco explain` ends with the gap; its earlier lines are unchanged; --no-gap leaves it out."""
        base = ["explain", "--policy", str(JIANGSU), str(DATA), "--county", "320125", "--lang", "en"]
        assert main(base) == 0
        with_gap = capsys.readouterr().out
        assert main([*base, "--no-gap"]) == 0
        without = capsys.readouterr().out
        assert with_gap.startswith(without)
        assert with_gap[len(without) :].splitlines()[:2] == [
            "Gap to good: total score 78.41, the good line is 80, 1.59 short",
            "  any one of these is enough:",
        ]


MINMAX_BY_COUNTRY = """\
id: mm
version: "1"
label: {zh: 测试, en: test}
effective_from: 2008-01-01
unit: {key: country, label: {zh: 国家, en: country}}
inputs:
  a: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  npl: {type: ratio, better: lower, label: {zh: 不良贷款率, en: NPL ratio}}
indicators:
  ia: {label: {zh: 甲指标, en: indicator a}, scorer: minmax, params: {input: a}, weight: 1}
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60, gates: {npl_ok: {input: npl, op: "<", value: 0.06}}}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""


class TestOtherUnits:
    def test_cohort_scorer_with_text_keys(self, write_policy: WritePolicy, tmp_path, capsys):
        """`fineco explain` with a minmax policy keyed by country names shows the gap instead of a KeyError."""
        data = tmp_path / "c.csv"
        data.write_text("country,a,npl\nSpain,50,0.02\nFrance,90,0.02\nItaly,10,0.02\n", encoding="utf-8")
        args = ["explain", "--policy", str(write_policy(MINMAX_BY_COUNTRY)), str(data), "--county", "Spain"]
        assert main([*args, "--lang", "en"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[-2:] == ["  any one of these is enough:", "  · a from 50 to at least 58 (+8; exact)"]

    def test_households_gap_has_no_missing_key_note(self):
        """With the shipped households policy, the gap is solved rather than noted as a missing key."""
        policy = load_policy(ROOT / "policies" / "households" / "credit-household-2008.yaml")
        records = list(fineco_rules.read_records(ROOT / "examples" / "households-small.csv").records)[:20]
        gap = find_gaps(policy, records, counties=["3201010010010001"])["3201010010010001"]
        assert gap.note is None
        assert [s.input for s in gap.required] == ["on_time_repayment"]
        assert gap.options


class TestVetoAndNames:
    def test_vetoed_gap_says_the_veto_decides(self, province):
        """A vetoed county's gap says the veto decides, not "0 short"."""
        _, _, gaps = province
        assert gap_lines(gaps["321182"], "en") == [
            "Gap to pass: vetoed (veto for a major illegal fundraising case); the veto decides the grade, "
            "no change of the indicators lifts it"
        ]
        (line,) = gap_lines(gaps["321182"], "zh")
        assert "已被一票否决" in line and "还差" not in line

    def test_nameless_county_is_headed_by_its_code(self, small: fineco_rules.Policy):
        """A county with no name is headed by its code once, not "350038 (350038)"."""
        result = fineco_rules.evaluate(small, [{"county": "350038", "a": "0.5", "b": "50", "npl": "0.01"}]).results[0]
        assert explain(result, small, "en").splitlines()[0] == "350038: financial ecology county assessment"
        assert explain(result, small, "zh").splitlines()[0] == "350038 金融生态县评定"


class TestGrid:
    def test_one_long_value_does_not_lengthen_other_gaps(self, small: fineco_rules.Policy):
        """A 20-digit value in one record leaves another county's gap on its own grid."""
        records = [
            {"county": "320101", "a": "0.6", "b": "50", "npl": "0.075"},
            {"county": "320102", "a": "0.6", "b": "50", "npl": "0.01000000000000000001"},
        ]
        gap = find_gaps(small, records)["320101"]
        assert [(s.input, s.target) for s in gap.required] == [("npl", Decimal("0.059"))]

    def test_long_own_value_is_held_to_the_policy_precision(self, small: fineco_rules.Policy):
        """A county's own long value refines its grid no further than the policy's precision (in percent)."""
        gap = find_gaps(small, [{"county": "320101", "a": "0.6", "b": "50", "npl": "0.07000000000000000001"}])["320101"]
        assert [(s.input, s.target) for s in gap.required] == [("npl", Decimal("0.0599"))]


class TestExactShown:
    def test_long_input_shown_exactly(self, small: fineco_rules.Policy):
        """NPL 0.0599999999999999999 is shown with every digit, not as ≈0.06 < 0.06."""
        records = [{"county": "320101", "a": "0.9", "b": "90", "npl": "0.0599999999999999999"}]
        result = fineco_rules.evaluate(small, records).results[0]
        text = explain(result, small, "en")
        assert "0.0599999999999999999 < 0.06" in text
        assert "≈" not in text
