"""Chinese output of explain, summary, diff and sensitivity reads Chinese: labels, not internal names; ratios as
percentages; the scheme's own words (issue 17)."""

from __future__ import annotations

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, english_words

JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
WUXI = ROOT / "policies" / "cities" / "wuxi" / "wuxi-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main([*argv, "--lang", "zh"])
    out = capsys.readouterr().out
    assert code == 0
    return out


def _body(text: str) -> str:
    """The output without the rule sources, which quote the policy's own names and assumptions."""
    return text.split("规则来源")[0]


class TestExplain:
    def test_no_english(self, capsys):
        """An explanation in Chinese has no English word besides the user's own names."""
        out = run(capsys, "explain", "--policy", str(JIANGSU), str(DATA), "--county", "320281")
        assert english_words(_body(out), "jiangsu fineco county policies yaml") == []

    def test_inputs_by_label_and_yes_no(self, capsys):
        """The satisfaction scorer's details name the inputs by label and say 否, not false."""
        out = run(capsys, "explain", "--policy", str(JIANGSU), str(DATA), "--county", "320281")
        assert (
            "    计算：社会对金融的认知度 82.1，金融服务满意度 74.4，问卷样本量 862，样本偏少 否，最低样本量 300\n"
            in out
        )

    def test_grade_without_internal_value(self, capsys):
        """The grade is its Chinese label alone."""
        out = run(capsys, "explain", "--policy", str(JIANGSU), str(DATA), "--county", "320281")
        assert "评定结果：良好\n" in out and "（good）" not in out

    def test_ratio_gate_in_percent(self, capsys):
        """A ratio gate compares percentages with ≤, and its margin is in percentage points."""
        out = run(capsys, "explain", "--policy", str(JIANGSU), str(DATA), "--county", "320281")
        assert "  ✓ 不良贷款率（五级分类）在6%以下（含6%）：2.66% ≤ 6%（差额 3.34 个百分点；来源 " in out
        assert "    · 信用乡镇普及率：值 92.84%；标准化值 0.952；权重 0.3\n" in out

    def test_plain_words_for_gap_method(self, capsys):
        """The gap says 精确计算 / 试算得出, not 精确求解 / 搜索所得."""
        out = run(capsys, "explain", "--policy", str(JIANGSU), str(DATA), "--county", "321322")
        assert "信用乡镇普及率 从 83.33 % 提高到至少 85.00 %（+1.67 个百分点；精确计算）" in out
        assert "精确求解" not in out and "搜索所得" not in out


class TestSummary:
    def test_counts_and_verdict(self, capsys):
        """The summary counts 县（市） and gives the verdict in the scheme's words."""
        out = run(capsys, "summary", "--policy", str(JIANGSU), str(DATA))
        assert "全省：良好 7个，达标 23个，未达标 22个，未评定 0个（共52个县（市））\n" in out
        assert out.endswith("结论：部分目标未达到\n")
        assert "“— ?”表示" in out
        assert english_words(_body(out), "jiangsu fineco county") == []


class TestDiff:
    def test_labels_not_paths(self, capsys):
        """A diff names gates, grade lines and scores by their labels, with ≥ and percentages."""
        out = run(capsys, "diff", str(JIANGSU), str(WUXI), str(DATA))
        assert "  修改  达标的分数线：60 → 62（" in out
        assert (
            "  修改  达标门槛：金融服务满意度62分以上（含62分，无锡从严）：金融服务满意度 ≥ 60 → 金融服务满意度 ≥ 62（"
            in out
        )
        assert (
            "  320621 海安县：达标 → 未达标（总分 60.46 → 60.46）\n    · 达标分数线：60.46 ✓ → 60.46 ✗（60 → 62）\n"
            in out
        )
        assert "grades." not in out
        assert english_words(out, "jiangsu wuxi fineco county policies cities yaml") == []

    def test_targets_in_words(self, capsys):
        """Added targets read as label, sign, percentage and scope."""
        out = run(capsys, "diff", str(ROOT / "policies" / "jiangsu" / "jiangsu-2007.yaml"), str(JIANGSU), str(DATA))
        assert "  新增  达标面：— → ≥ 70%（全省）（" in out
        assert english_words(out, "jiangsu fineco county policies yaml") == []


class TestSensitivity:
    def test_factor_by_label_and_targets_in_percent(self, capsys):
        """The factor that moves a county most is named by label; target figures are percentages."""
        out = run(capsys, "sensitivity", str(JIANGSU), str(DATA), "--runs", "8")
        assert "indicator:" not in out
        assert "的权重" in out
        assert "\n达标面  " in out and "57.69%" in out
        assert english_words(out, "jiangsu fineco county") == []
