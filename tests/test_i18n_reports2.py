"""explain (with its rule sources), summary, diff, sensitivity and the data template speak Chinese from the
catalogue; the same commands in English print exactly what they printed before (issue 17)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from fineco_rules.cli import main
from fineco_rules.engine._records import META_LABELS  # the template's fixed columns; no public name holds them

from .conftest import ROOT, english_words

JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
JIANGSU_BASE = ROOT / "policies" / "jiangsu" / "jiangsu-2007.yaml"  # jiangsu-2008 extends it
SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
WUXI = ROOT / "policies" / "cities" / "wuxi" / "wuxi-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"
#: What the commands printed in English before their words moved to the catalogue (paths as <ROOT>).
BEFORE = Path(__file__).with_name("english_before")

COMMANDS = {
    "explain-jiangsu-320281": ["explain", "--policy", str(JIANGSU), str(DATA), "--county", "320281"],
    "explain-jiangsu-321322": ["explain", "--policy", str(JIANGSU), str(DATA), "--county", "321322"],
    "explain-suzhou-320581": ["explain", "--policy", str(SUZHOU), str(DATA), "--county", "320581"],
    "summary-jiangsu": ["summary", "--policy", str(JIANGSU), str(DATA)],
    "summary-jiangsu-320500": ["summary", "--policy", str(JIANGSU), str(DATA), "--city", "320500"],
    "diff-jiangsu-suzhou-320500": ["diff", str(JIANGSU), str(SUZHOU), str(DATA), "--city", "320500"],
    "diff-jiangsu-wuxi": ["diff", str(JIANGSU), str(WUXI), str(DATA)],
    "sensitivity-jiangsu": ["sensitivity", str(JIANGSU), str(DATA), "--runs", "16"],
    "sensitivity-jiangsu-320500": [
        *("sensitivity", str(JIANGSU), str(DATA), "--runs", "16", "--city", "320500", "--thresholds", "0.1"),
    ],
}
#: The files each command reads: words in them are the user's own (ids, scorer names, the policy's texts).
READS = {
    "explain-jiangsu-320281": (JIANGSU, JIANGSU_BASE),
    "explain-jiangsu-321322": (JIANGSU, JIANGSU_BASE),
    "explain-suzhou-320581": (SUZHOU, JIANGSU, JIANGSU_BASE),
    "summary-jiangsu": (JIANGSU, JIANGSU_BASE),
    "summary-jiangsu-320500": (JIANGSU, JIANGSU_BASE),
    "diff-jiangsu-suzhou-320500": (SUZHOU,),
    "diff-jiangsu-wuxi": (WUXI,),
    "sensitivity-jiangsu": (),
    "sensitivity-jiangsu-320500": (),
}


def run(capsys: pytest.CaptureFixture[str], name: str, lang: str) -> str:
    code = main([*COMMANDS[name], "--lang", lang])
    out = capsys.readouterr().out
    assert code == 0
    return out


class TestNoEnglishInChinese:
    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_whole_output(self, capsys, name):
        """The whole Chinese output, the rule sources included, has no English word but the user's own."""
        out = run(capsys, name, "zh")
        assert english_words(out, *READS[name]) == []


class TestRuleSources:
    def test_heading_and_line(self, capsys):
        """The rule sources come from the catalogue: heading, 原文 and 假设, and the rule's path in the policy."""
        out = run(capsys, "explain-jiangsu-320281", "zh")
        assert "\n规则来源（原文条款或本办法的假设）：\n" in out
        assert (
            "  · 中介诚信 (indicators.intermediary)：原文 二（二）2（2）、3（1） "
            "“加快多元化、多形式、多层次、多渠道的信用担保体系建设”；假设 `points`：原文未给出分值；" in out
        )
        assert "Where the rules come from" not in out and "assumption" not in out

    def test_separator_of_reasons(self, capsys):
        """Two reasons for missing the next grade are separated by a full-width semicolon."""
        out = run(capsys, "explain-jiangsu-321322", "zh")
        assert (
            "未达到良好，原因：总分（63.34 不满足 ≥ 80）；信用乡镇普及率达到85%以上（含85%）（83.33% 不满足 ≥ 85%）\n"
            in out
        )


class TestPluginDetail:
    def test_unknown_detail_marked_as_name(self, capsys):
        """A plugin's detail the catalogue has no word for is shown as a name in backticks."""
        out = run(capsys, "explain-suzhou-320581", "zh")
        assert "    计算：信用户占比 84.5%，下岗失业人员小额担保贷款覆盖面 100%，`households_weight` 0.5\n" in out


class TestSummaryWords:
    def test_city_table_head(self, capsys):
        """The table of cities is headed 省辖市、代码 and the four grades in Chinese."""
        out = run(capsys, "summary-jiangsu", "zh")
        assert "\n省辖市    代码    良好  达标  未达标  未评定  达标面  " in out

    def test_city_heading(self, capsys):
        """A city's summary counts its own counties under its name."""
        out = run(capsys, "summary-jiangsu-320500", "zh")
        assert "\n苏州市：良好 3个，达标 2个，未达标 0个，未评定 0个（共5个县（市））\n" in out


class TestDiffAddedIndicator:
    def test_readable(self, capsys):
        """An added indicator reads as its label, scorer, points and the label of its group, not a raw mapping."""
        out = run(capsys, "diff-jiangsu-suzhou-320500", "zh")
        assert (
            "  新增  农户与下岗失业人员金融服务覆盖面（苏州本地办法）：— → "
            "指标“农户与下岗失业人员金融服务覆盖面（苏州本地办法）”，计分方法 suzhou_inclusive_finance，"
            "分值 3，计入“信用环境”（" in out
        )
        assert "{" not in out and "not_graded" not in out

    def test_city_and_count(self, capsys):
        """The city heads the diff by name, and the count of moved counties is said in Chinese."""
        out = run(capsys, "diff-jiangsu-suzhou-320500", "zh")
        assert out.startswith("jiangsu-fineco-county 2008 → suzhou-fineco-county 2008\n苏州市（320500）\n政策变化：\n")
        assert out.endswith("评定变化的县（市）：共5个中有0个\n")


class TestSensitivityWords:
    def test_title_and_heads(self, capsys):
        """The title names the city, the spreads are percentages; both tables have Chinese heads."""
        out = run(capsys, "sensitivity-jiangsu-320500", "zh")
        assert out.startswith(
            "jiangsu-fineco-county 2008：苏州市（320500），扰动 16 次，随机种子 0，权重 ±20%，分数线 ±10%；"
            "最易变动的县在前\n县代码  县名      评定  改变比例  总分范围     影响最大\n"
        )
        assert "\n目标                          名义值   最低     最高     达到比例\n" in out


class TestEnglishUnchanged:
    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_same_as_before(self, capsys, name):
        """The English output is byte for byte what the command printed before the catalogue."""
        out = run(capsys, name, "en")
        expected = (BEFORE / f"{name}.txt").read_text("utf-8")
        assert out.replace(str(ROOT), "<ROOT>") == expected


def _workbook_text(path: Path) -> str:
    """Every text of a workbook: sheet names, cells, and the data validations' prompts and errors."""
    book = openpyxl.load_workbook(path)
    texts: list[str] = []
    for sheet in book.worksheets:
        texts.append(sheet.title)
        texts += [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        for rule in sheet.data_validations.dataValidation:
            texts += [str(t) for t in (rule.promptTitle, rule.prompt, rule.errorTitle, rule.error) if t]
    return "\n".join(texts)


class TestTemplate:
    def test_chinese_workbook(self, tmp_path: Path, capsys):
        """The Chinese template's sheets have no English besides the policy's own words, the second header row
        (English by design) and the hidden row of field names."""
        path = tmp_path / "template.xlsx"
        argv = ["template", "--policy", str(JIANGSU), "--city", "320500", "--lang", "zh", "-o", str(path)]
        assert main(argv) == 0
        capsys.readouterr()
        text = _workbook_text(path)
        by_design = " ".join([*META_LABELS, *(labels[1] for labels in META_LABELS.values())])
        assert english_words(text, JIANGSU, JIANGSU_BASE, by_design) == []
        assert "字段名\n指标名称\n英文名称\n" in text
        assert "6. 填好后保存为 Excel 工作簿（.xlsx），用 `fineco evaluate --policy <考核办法> <本文件>` 评定。" in text

    def test_english_first_row(self, tmp_path: Path, capsys):
        """With --lang en the first header row is the English labels, the second the Chinese, as before."""
        path = tmp_path / "template.xlsx"
        argv = ["template", "--policy", str(JIANGSU), "--city", "320500", "--lang", "en", "-o", str(path)]
        assert main(argv) == 0
        capsys.readouterr()
        sheet = openpyxl.load_workbook(path)["数据"]
        first = [c.value for c in sheet[1]]
        assert first[:6] == [
            "county code",
            "county name",
            "city code",
            "year of data",
            "credit township penetration",
            "share of credit villages",
        ]
        assert first[-1] == "remarks" and sheet["A2"].value == "县（市）代码"

    def test_unknown_city(self, tmp_path: Path, capsys):
        """A city not in the roster is refused in the reader's language: Chinese with --lang zh."""
        code = main(
            ["template", "--policy", str(JIANGSU), "--city", "329900", "--lang", "zh", "-o", str(tmp_path / "x.xlsx")]
        )
        err = capsys.readouterr().err
        assert code == 2
        assert "城市代码 329900 不在江苏省的名录中（已知：320100、320200、" in err
        assert english_words(err) == []
