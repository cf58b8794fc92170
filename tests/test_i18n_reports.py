"""Chinese output of explain, summary, diff and sensitivity reads Chinese: labels, not internal names; ratios as
percentages; the scheme's own words (issue 17)."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import openpyxl
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


LAST_POLICY = ROOT / "policies" / "jiangsu" / "jiangsu-2007.yaml"
LAST_DATA = ROOT / "examples" / "jiangsu-2007.csv"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 2008 report in Chinese as CSV, XLSX and HTML, with 2007's results as last year's."""
    where = tmp_path_factory.mktemp("zh-report")
    last = where / "last.json"
    assert (
        main(["evaluate", "--policy", str(LAST_POLICY), str(LAST_DATA), "--format", "json", "-o", str(last), "-q"]) == 0
    )
    files = {suffix: where / f"report.{suffix}" for suffix in ("csv", "xlsx", "html")}
    argv = ["report", "--policy", str(JIANGSU), str(DATA), "--last-year", str(last), "--lang", "zh", "-q"]
    assert main([*argv, *(x for f in files.values() for x in ("-o", str(f)))]) == 0
    return files


def _html_text(page: str) -> str:
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


class TestReport:
    def test_csv_headers_and_grades(self, outputs):
        """The CSV starts with a BOM, has Chinese headers from the labels and Chinese grades."""
        raw = outputs["csv"].read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][:9] == [
            "县代码",
            "县（市）",
            "省辖市代码",
            "评定",
            "总分",
            "上年评定",
            "上年总分",
            "年度变动",
            "信用环境建设",
        ]
        assert rows[0][-3:] == ["距下一等级", "还差分数", "差距"]
        assert rows[2][:8] == ["320125", "高淳县", "320100", "达标", "78.41", "", "", "无上年数据"]
        assert english_words(raw.decode("utf-8-sig"), DATA) == []

    def test_workbook_in_chinese(self, outputs):
        """The workbook's gap sheet says 必须 and 精确计算, requirements read ≥ 70%, ratios are percentage cells."""
        book = openpyxl.load_workbook(outputs["xlsx"])
        targets, gaps = book.worksheets[0], book.worksheets[3]
        assert [c.value for c in targets[2]] == ["全省", "达标面", 0.576923, "≥ 70%", "未达到", "30/52"]
        assert targets.cell(row=2, column=3).number_format == "0.00%"
        assert [c.value for c in gaps[2]] == [
            "320124",
            "溧水县",
            "达标",
            "良好",
            11.34,
            "必须",
            "信用乡镇普及率",
            0.8349,
            0.85,
            "精确计算",
        ]
        assert gaps.cell(row=2, column=8).number_format == "0.00%"
        cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert english_words(cells, DATA) == []

    def test_html_text_in_chinese(self, outputs):
        """The HTML page's text has no English word; a county without last year's data says 无上年数据."""
        text = _html_text(outputs["html"].read_text("utf-8"))
        assert "3 个升级，1 个降级，14 个持平，34 个无上年数据，0 个本年未参评" in text
        assert "新参评" not in text
        assert english_words(text, JIANGSU, LAST_POLICY, DATA) == []
