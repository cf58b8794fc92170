"""Issue 17, "Chinese first": a newcomer who follows docs/policy-guide.md with ``--lang zh`` meets no English.

Each test writes the guide's own example policy (or data) with one typical mistake, runs the command a
newcomer would, and checks that every problem line is Chinese (``english_words`` allows only codes, paths
and the names the user wrote) and reads as it should. The lines ``fineco`` prints about the run itself
(``ok (...)``, ``N problem(s)``, ``read ...``) belong to the command line and are left out here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, english_words

GUIDE = (ROOT / "docs" / "policy-guide.md").read_text("utf-8")
POLICY = re.search(r"```yaml policy\n(.*?)```", GUIDE, re.S)[1]  # type: ignore[index]
RECORDS = re.search(r"```csv records\n(.*?)```", GUIDE, re.S)[1]  # type: ignore[index]


def problem_lines(text: str) -> str:
    """The problems a command printed (``错误：``/``提示：`` lines and their indented continuations)."""
    kept, inside = [], False
    for line in text.splitlines():
        if line.startswith(("错误：", "提示：")):
            inside = True
        elif not line.startswith(" "):
            inside = False
        if inside:
            kept.append(line)
    return "\n".join(kept)


def validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = main(["validate", "--lang", "zh", str(path)])
    captured = capsys.readouterr()
    return code, problem_lines(captured.out + captured.err)


def written(tmp_path: Path, text: str, name: str = "example-city-2008.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def mistake(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new, 1)


class TestValidateInChinese:
    """`fineco validate --lang zh` on the guide's policy and on the mistakes a newcomer makes."""

    def test_good_policy(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The guide's example validates with no problem printed."""
        code, problems = validate(capsys, written(tmp_path, POLICY))
        assert (code, problems) == (0, "")

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("min_total: 80", "min_totl: 80", "未知的键“min_totl”（是不是“min_total”？）"),
            ("min_total: 80", "min_totl: 80", "缺少键“min_total”（请在此处加上 `min_total:`）"),
            ("effective_from: 2008-01-01\n", "", "缺少键“effective_from”（请在此处加上 `effective_from:`）"),
            ("min_total: 80", "min_total: eighty", "此处应为数字，实际是文本“eighty”"),
            (
                "better: higher\n    label: {zh: 信用乡镇普及率",
                "better: highr\n    label: {zh: 信用乡镇普及率",
                "此处只能是 `higher`、`lower`、`none` 之一，实际是文本“highr”（是不是“higher”？）",
            ),
            (
                "precision: 2",
                "precision: [2",
                "YAML 格式错误：此处应为 `',' or ']'`，实际是 `':'`（请检查此处的缩进和标点）",
            ),
            ("  pass:\n", "\tpass:\n", "YAML 格式错误：出现了制表符（请用空格缩进，不要用制表符）"),
            ("min_total: 80", "min_total：80", "（第 150 行：把全角冒号“：”改为半角“:”）"),
            ('op: ">="\n        value: 0.85', "op: >=\n        value: 0.85", '（运算符须加引号：op: ">="）'),
            (
                "points: 40\n",
                "points: 45\n",
                "各指标分值之和为 105，与规定的总分 100 不符（各指标分值：信用乡镇普及率 45 + 不良贷款率 30 + "
                "金融认知度与满意度 20 + 金融产品创新 10 = 105；请使分值之和等于总分，或修改总分）",
            ),
            (
                "scorer: linear\n    params: {input: credit",
                "scorer: linaer\n    params: {input: credit",
                "没有已安装的插件提供评分方法“linaer”（是不是“linear”？）",
            ),
            (
                "scorer: linear\n    params: {input: product_innovation_score, worst: 50, best: 95}",
                "scorer: formula\n    params: {formula: 'clip(innovation_scor / 100)', "
                "better: {product_innovation_score: higher}}",
                "未知的名称“innovation_scor”（公式第 6 列）",
            ),
        ],
        ids=[
            "typo-key",
            "typo-key-missing",
            "missing-key",
            "wrong-type",
            "not-allowed",
            "bad-yaml",
            "tab",
            "full-width-colon",
            "unquoted-operator",
            "points",
            "unknown-scorer",
            "bad-formula",
        ],
    )
    def test_mistake(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
    ) -> None:
        """Each mistake is reported in Chinese only, with where and how to fix it."""
        path = written(tmp_path, mistake(old, new))
        code, problems = validate(capsys, path)
        assert code == 1
        assert expected in problems
        assert english_words(problems, path, "effective_from") == []

    def test_every_schema_problem_in_one_run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A typo'd key and a wrong type in one file are both reported by one run, in Chinese."""
        text = mistake("min_total: 80", "min_totl: 80").replace("min_total: 60", "min_total: sixty", 1)
        path = written(tmp_path, text)
        _, problems = validate(capsys, path)
        assert "未知的键“min_totl”" in problems and "此处应为数字，实际是文本“sixty”" in problems
        assert english_words(problems, path) == []


class TestCityLooserThanProvince:
    """A city policy below the province's pass line is refused in Chinese, naming the province's file tidily."""

    def test_looser_pass_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The refusal names both values and points at jiangsu/…, not wuxi/../../jiangsu/…."""
        root = tmp_path / "policies"
        shutil.copytree(ROOT / "policies" / "jiangsu", root / "jiangsu")
        city = root / "cities" / "wuxi"
        city.mkdir(parents=True)
        text = (ROOT / "policies" / "cities" / "wuxi" / "wuxi-2008.yaml").read_text("utf-8")
        path = written(city, text.replace("min_total: 62", "min_total: 55", 1), "wuxi-2008.yaml")
        code, problems = validate(capsys, path)
        assert code == 1
        assert "grades.pass.min_total 为 55，比省里的 60 宽松［参见 " in problems
        assert f"［参见 {root / 'jiangsu' / 'jiangsu-2007.yaml'}:" in problems
        assert "（只能从严（更高或相等））" in problems
        assert ".." not in problems
        assert english_words(problems, path) == []


class TestDataInChinese:
    """`fineco evaluate` and `fineco explain` with ``--lang zh`` on the guide's data file, mistyped."""

    @pytest.fixture
    def policy(self, tmp_path: Path) -> Path:
        return written(tmp_path, POLICY)

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        main([*args[:1], "--lang", "zh", *args[1:]])
        captured = capsys.readouterr()
        return problem_lines(captured.out + captured.err)

    def test_percent_cells(self, tmp_path: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A percent cell is read as a ratio with a Chinese note naming the input by its label."""
        data = tmp_path / "records.csv"
        data.write_text(RECORDS.replace("321081,仪征市,321000,0.9100", "321081,仪征市,321000,91%"), "utf-8")
        problems = self.run(capsys, "evaluate", "--policy", str(policy), str(data))
        assert (
            "信用乡镇普及率（credit_township_share）有 1 个百分数已换算为小数读入，如 91% 读作 0.91；第 2 行"
            "（无需修改；比率也可直接写小数，如 0.85）" in problems
        )
        assert english_words(problems, policy, data) == []

    def test_missing_column(self, tmp_path: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing column is one Chinese error for all its rows, asking for the input by its label."""
        rows = [line.split(",") for line in RECORDS.splitlines()]
        drop = rows[0].index("npl_ratio")
        data = tmp_path / "records.csv"
        data.write_text("\n".join(",".join(c for i, c in enumerate(r) if i != drop) for r in rows) + "\n", "utf-8")
        problems = self.run(capsys, "evaluate", "--policy", str(policy), str(data))
        assert (
            "缺少必填项“npl_ratio”——同类问题共 4 行（missing-input）：第 2、3、4、5 行"
            "（请补充：不良贷款率（五级分类））" in problems
        )
        assert english_words(problems, policy, data) == []
        explained = self.run(capsys, "explain", "--policy", str(policy), "--county", "321084", str(data))
        assert english_words(explained, policy, data) == []

    def test_gbk_file(self, tmp_path: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A file saved by Chinese Excel (GBK) is read, with a Chinese note saying so."""
        data = tmp_path / "records.csv"
        data.write_bytes(RECORDS.encode("gbk"))
        problems = self.run(capsys, "evaluate", "--policy", str(policy), str(data))
        assert "已按 GBK/GB18030 读取（请核对名称是否读对；另存为“CSV UTF-8”可免去猜测）" in problems
        assert english_words(problems, policy, RECORDS) == []

    def test_bad_cells(self, tmp_path: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Thousands separators and a text where a number belongs are Chinese errors with the number to write."""
        data = tmp_path / "records.csv"
        data.write_text(
            RECORDS.replace(",120,0,false", ',"1,200",0,false').replace(",90,0,true", ",many,0,true"), "utf-8"
        )
        problems = self.run(capsys, "evaluate", "--policy", str(policy), str(data))
        assert "“1,200”不是普通的数：带有千位分隔符（请写成 1200）" in problems
        assert english_words(problems, policy, data) == []


class TestEnglishUnchanged:
    """The same mistakes still read in English with ``--lang en``."""

    def test_english(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The catalogue changes the Chinese only: the English message and hint are as before."""
        path = written(tmp_path, mistake("min_total: 80", "min_totl: 80"))
        main(["validate", "--lang", "en", str(path)])
        err = capsys.readouterr().err
        assert "unknown key 'min_totl' (did you mean 'min_total'?)" in err
        assert "missing key 'min_total' (add `min_total:` here)" in err
