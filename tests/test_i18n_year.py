"""`fineco year` writes its report and publication list in the run's language, not both side by side (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, english_words

PROVINCE = ROOT / "examples" / "province"
SETUPS = [PROVINCE / "2007.yaml", PROVINCE / "2008.yaml"]
#: The files `fineco year` reads for 2007 and 2008: the setups, the roster and every policy they name.
READS = (
    *SETUPS,
    PROVINCE / "roster.csv",
    *sorted((ROOT / "policies" / "jiangsu").glob("*.yaml")),
    *sorted((ROOT / "policies" / "cities").glob("*/*.yaml")),
)


def run_years(out: Path, *extra: str) -> None:
    assert main(["year", *map(str, SETUPS), "-o", str(out), *extra]) == 0


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example years 2007 and 2008 run once with ``--lang zh`` and once with ``--lang en``."""
    out = {lang: tmp_path_factory.mktemp(f"year-{lang}") for lang in ("zh", "en")}
    for lang, folder in out.items():
        run_years(folder, "-q", "--lang", lang)
    return out


def lines(written: dict[str, Path], lang: str, year: int, name: str) -> list[str]:
    return (written[lang] / str(year) / name).read_text("utf-8").splitlines()


class TestChineseReport:
    @pytest.mark.parametrize("year", [2007, 2008])
    @pytest.mark.parametrize("name", ["report.md", "publication.md"])
    def test_no_english_words(self, written: dict[str, Path], year: int, name: str):
        """The Chinese report and publication list have no English word but the names the inputs wrote."""
        text = (written["zh"] / str(year) / name).read_text("utf-8")
        assert english_words(text, *READS) == []

    def test_head_and_cities(self, written: dict[str, Path]):
        """The heading, the grading and the cities' table are in Chinese, shares as percentages without a space."""
        report = lines(written, "zh", 2008, "report.md")
        assert report[:5] == [
            "# 江苏省金融生态县考核2008年度报告",
            "",
            "- 省考核办法：江苏省金融生态县考核办法示例（推广阶段） (jiangsu-fineco-county 2008)",
            "- 评定方式：非正式（未核验备案）",
            "- 应考核县（市）：52个",
        ]
        assert "| 省辖市 | 考核办法 | 应考核 | 报送 | 未报送 | 良好 | 达标 | 未达标 | 达标面 |" in report
        assert "| 南京市 | 南京市金融生态县考核办法示例（2008—2009年） | 2 | 2 | 0 | 0 | 2 | 0 | 100.0% |" in report
        assert "良好须从上年度达标单位中产生，以下县（市）本年度按达标认定：吴江市（苏州市）" in report

    def test_targets_and_verdict(self, written: dict[str, Path]):
        """Targets read 达标面 ≥ 70%; the verdict uses the province's words."""
        report = lines(written, "zh", 2008, "report.md")
        assert "| 目标 | 数值 | 要求 | 判定 |" in report
        assert "| 达标面 | 51.9%（27/52） | ≥ 70% | 阶段进度（于阶段末判定） |" in report
        assert "总体判定：**部分目标尚不能判定**" in report
        assert "总体判定：**各项目标均已达到**" in lines(written, "zh", 2007, "report.md")

    def test_titles(self, written: dict[str, Path]):
        """Title changes name the city and the change in Chinese (升为良好, 摘牌)."""
        report = lines(written, "zh", 2008, "report.md")
        assert "## 称号变动（动态管理）" in report
        assert "| 县（市） | 省辖市 | 称号 | 变动 |" in report
        assert "| 江阴市 (320281) | 无锡市 | 良好 | 升为良好 |" in report
        assert "| 扬中市 (321182) | 镇江市 | — | 摘牌 |" in report

    def test_rules_and_assumptions(self, written: dict[str, Path]):
        """The sources and assumptions are listed in Chinese only, with a full-width colon after each key."""
        report = lines(written, "zh", 2008, "report.md")
        assert "## 规则出处" in report
        assert "## 规则来源与假设" in report
        assert (
            "  - `nanjing`：南京示例：保留省里全部指标和分值；达标线62分、良好线82分、"
            "不良贷款率门槛5.5%（在5.5%以下，含本数）均为示例假设，只比省办法更严。"
        ) in report
        assert "Where the rules come from (a clause of the source, or an assumption of this method):" not in report

    def test_publication(self, written: dict[str, Path]):
        """The publication list is headed and written in Chinese."""
        publication = lines(written, "zh", 2008, "publication.md")
        assert publication[:3] == ["# 2008年度江苏省金融生态县名单（示例）", "", "## 南京市"]
        assert "- 江阴市：良好（无锡市金融生态县考核办法示例（2008—2009年））" in publication


class TestEnglishReport:
    def test_no_chinese_headings(self, written: dict[str, Path]):
        """The English report's own words are English: no line of it is bilingual."""
        report = lines(written, "en", 2008, "report.md")
        assert report[:5] == [
            "# Jiangsu financial ecology county assessment: report 2008",
            "",
            "- Provincial method: Example: Jiangsu financial ecology county assessment (promotion phase) "
            "(jiangsu-fineco-county 2008)",
            "- Grading: unofficial (not checked against a certified filing)",
            "- Counties on the roster: 52",
        ]
        assert "| city | method | on the roster | graded | missing | good | pass | fail | pass coverage |" in report
        assert "## 规则出处" not in report

    def test_targets_titles_and_verdict(self, written: dict[str, Path]):
        """Targets, title changes and the verdict are in English, shares as before (51.9 %)."""
        report = lines(written, "en", 2008, "report.md")
        assert "| pass coverage | 51.9 % (27/52) | >= 70 % | progress (judged at the phase's end) |" in report
        assert "Overall: **some targets cannot be decided yet**" in report
        assert "Overall: **every target is met**" in lines(written, "en", 2007, "report.md")
        assert "| 江阴市 (320281) | Wuxi | good | raised |" in report
        assert "| 扬中市 (321182) | Zhenjiang | — | lost |" in report
        assert "Good needs last year's pass as well; these counties are rated pass: 吴江市 (Suzhou)" in report

    def test_publication(self, written: dict[str, Path]):
        """The publication list names the city and the method in English."""
        publication = lines(written, "en", 2008, "publication.md")
        assert publication[:3] == ["# Financial ecology counties of Jiangsu 2008 (example)", "", "## Nanjing"]
        assert "- 江阴市: good (Example: Wuxi financial ecology county assessment (2008–2009))" in publication


class TestLanguageChoice:
    def test_c_locale_writes_chinese(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """Without --lang or FINECO_LANG, the C locale gives the Chinese report and table."""
        monkeypatch.delenv("FINECO_LANG")
        monkeypatch.setenv("LANG", "C")
        assert main(["year", str(SETUPS[0]), "-o", str(tmp_path), "-q"]) == 0
        report = (tmp_path / "2007" / "report.md").read_text("utf-8")
        assert report.startswith("# 江苏省金融生态县考核2007年度报告\n")

    def test_table_follows_lang(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
        """The per-year table printed by `fineco year --lang zh` has Chinese headers and city names only."""
        assert main(["year", str(SETUPS[0]), "-o", str(tmp_path), "--lang", "zh"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[1].split() == ["省辖市", "考核办法", "应考核", "良好", "达标", "未达标", "未报送"]
        assert english_words(out, *READS) == []
