"""The command line in Chinese: data errors, the summary lines, argparse's complaints and `fineco test`
read as Chinese with `--lang zh`, and as before with `--lang en`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, english_words

POLICY = ROOT / "policies" / "jiangsu"
POLICY_2008 = POLICY / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def bad_data(tmp_path: Path) -> Path:
    """The 2008 example with the usual mistakes of a filled-in sheet, and a column the policy does not know."""
    rows = list(csv.reader(DATA.read_text("utf-8").splitlines()))
    head = rows[0]
    rows[1][head.index("npl_ratio")] = "1.7"
    rows[2][head.index("credit_township_share")] = "８５％"
    rows[3][head.index("npl_ratio")] = ""
    rows[4][head.index("county")] = "32011"
    rows[5][head.index("npl_ratio")] = "=A1+B2"
    rows[6][head.index("npl_ratio")] = "4,5"
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*head, "extra_col"])
        writer.writerows([*row, "1"] for row in rows[1:])
    return path


class TestEvaluateInChinese:
    def test_data_errors_read_as_chinese(self, capsys, bad_data: Path):
        """Every data problem, the reading note and the tally are Chinese; only names and codes are not."""
        code, out, err = run(
            capsys, "evaluate", "--lang", "zh", "--policy", str(POLICY), "--as-of", "2008-12-31", str(bad_data)
        )
        assert code == 1
        assert english_words(out + err, POLICY_2008, bad_data, "ratio", "utf", "csv") == []
        assert "错误：" in err and "error:" not in err
        assert "县（市）代码“32011”不是六位数字（请写六位行政区划代码（GB/T 2260），如 320581）" in err
        assert "单元格中是公式 =A1+B2，但没有保存计算结果" in err
        assert (
            "“８５％”不是普通的数：使用了全角或其他非半角数字，且带有百分号（请写成 0.85；该项为比率，85 % 即 0.85）"
            in err
        )
        assert "第 1 条记录" in err
        assert err.rstrip().endswith("个，未评定 6 个")
        assert "共 52 个县（市）：良好" in err

    def test_english_unchanged(self, capsys, bad_data: Path):
        """With --lang en the same run reads as it always did."""
        _, _, err = run(
            capsys, "evaluate", "--lang", "en", "--policy", str(POLICY), "--as-of", "2008-12-31", str(bad_data)
        )
        assert "county code '32011' is not six digits (write the six-digit GB/T 2260 code, e.g. 320581)" in err
        assert (
            "'８５％' is not a plain number: it is written with full-width or other non-ASCII digits, and it has "
            "a percent sign (write 0.85; the input is a ratio, and 85 % is 0.85)"
        ) in err
        assert "52 counties: " in err and "6 not graded" in err


class TestCommandsInChinese:
    def test_validate_ok_line(self, capsys):
        """`fineco validate --lang zh` says 通过 with the chain and the number of indicators."""
        code, out, _ = run(capsys, "validate", "--lang", "zh", str(POLICY_2008))
        assert code == 0
        assert out == (f"{POLICY_2008}：通过（jiangsu-fineco-county 2008 <- jiangsu-fineco-county 2007；7 项指标）\n")

    def test_argparse_complaints(self, capsys):
        """A missing argument or a wrong choice is explained in Chinese, with 用法 for usage."""
        with pytest.raises(SystemExit) as stop:
            main(["evaluate", "--lang", "zh"])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("用法：fineco evaluate")
        assert "fineco evaluate：错误：缺少必需的参数：--policy, DATA" in err
        with pytest.raises(SystemExit):
            main(["evaluate", "--lang=zh", "--policy", "p", "--format", "xml", "d"])
        assert "参数 --format：不能取 'xml'（可选：'table', 'json', 'csv'）" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            main(["evaluate", "--lang", "zh", "--policy", "p", "--as-of", "2008/12/31", "d"])
        assert "日期应写成 YYYY-MM-DD（如 2008-12-31），实际为“2008/12/31”" in capsys.readouterr().err

    def test_usage_errors(self, capsys):
        """The command line's own refusals are Chinese too."""
        code, _, err = run(capsys, "evaluate", "--lang", "zh", "--official", "--policy", str(POLICY), str(DATA))
        assert code == 2
        assert err == "fineco：错误：--official 需要同时给出 --registry 备案登记簿目录 和 --trust 省级公钥\n"
        code, _, err = run(
            capsys,
            "explain",
            "--lang",
            "zh",
            "--policy",
            str(POLICY),
            "--as-of",
            "2008-12-31",
            str(DATA),
            "--county",
            "999999",
        )
        assert code == 2
        assert err.startswith("fineco：错误：数据中没有县（市） 999999（前几个代码：320124、320125、")

    def test_cases_report(self, capsys, tmp_path: Path):
        """`fineco test --lang zh` reports a failing case and the coverage in Chinese."""
        cases = (ROOT / "policies" / "jiangsu" / "jiangsu-2008.cases.yaml").read_text("utf-8")
        broken = tmp_path / "jiangsu-2008.cases.yaml"
        broken.write_text(
            cases.replace("policy: jiangsu-2008.yaml", f"policy: {POLICY_2008}")
            .replace("data: ../../examples/jiangsu-2008.csv", f"data: {DATA}")
            .replace("grade: good", "grade: fail", 1),
            "utf-8",
        )
        code, out, err = run(capsys, "test", "--lang", "zh", str(broken))
        assert code == 1
        assert english_words(out + err, broken, POLICY_2008, DATA) == []
        assert "未通过 " in out and "预期评定结果为 fail，实际为 good（总分 " in out
        assert "  临界值覆盖：" in out
