"""Official city reports and --city on summary, diff, sensitivity and report (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fineco_rules import load_policy, make_plugin_host
from fineco_rules.cli import main
from fineco_rules.governance import Registry, generate_keys, load_private_key, load_public_key
from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
    CityKey,
    certify_city_key,
)

from .conftest import ROOT

JIANGSU = ROOT / "policies" / "jiangsu"
SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"
UNITS = ROOT / "examples" / "jiangsu-2008-units.csv"
BASE = ["--policy", str(JIANGSU), "--as-of", "2008-12-31", str(DATA), "--table", f"credit_units={UNITS}"]


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """These are the offices' reports: read in Chinese, the language of a Chinese locale."""
    monkeypatch.setenv("FINECO_LANG", "zh")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def certified(tmp_path: Path) -> tuple[Path, Path, str]:
    """Suzhou's 2008 method filed by the city and certified by the province: (registry, public key, filing id)."""
    private, public = generate_keys(tmp_path / "keys")
    city_private, city_public = generate_keys(tmp_path / "city-keys", "320500")
    cert = certify_city_key("320500", load_public_key(city_public), load_private_key(private), "省金融稳定办")
    host = make_plugin_host()
    registry = Registry(tmp_path / "registry")
    subject = registry.submit_filing(
        load_policy(SUZHOU, host=host),
        host,
        "苏州市金融稳定办",
        "备案",
        key=CityKey(load_private_key(city_private), cert),
    )
    registry.certify("filing", subject, "省金融稳定办", load_private_key(private), "审核通过")
    return tmp_path / "registry", public, subject


class TestOfficialCityReport:
    def test_official_report_names_the_filing(self, capsys, tmp_path, certified):  # type: ignore[no-untyped-def]
        """`report --official --city` grades as evaluate --official and heads the page with city, year and filing."""
        registry, public, filing = certified
        page = tmp_path / "r.html"
        args = ["report", "--official", "--city", "320500", "--registry", str(registry), "--trust", str(public)]
        code, _, err = run(
            capsys, *args, "--policy", str(SUZHOU), str(DATA), "--table", f"credit_units={UNITS}", "-o", str(page), "-q"
        )
        assert code == 0, err
        text = page.read_text(encoding="utf-8")
        assert "<h1>苏州市2008年度评定报告</h1>" in text
        assert f'<p class="status">正式结果：备案 {filing}</p>' in text
        assert "非正式结果" not in text
        assert '<h2 id="targets">苏州市目标</h2>' in text and "全省目标" not in text

    def test_official_needs_the_registry(self, capsys, tmp_path):  # type: ignore[no-untyped-def]
        """--official without --registry and --trust is a usage error."""
        code, _, err = run(
            capsys, "report", "--lang", "en", "--official", "--city", "320500", *BASE, "-o", str(tmp_path / "r.html")
        )
        assert code == 2 and "--official needs --registry DIR and --trust PUBLIC_KEY" in err

    def test_uncertified_policy_is_refused(self, capsys, tmp_path, certified):  # type: ignore[no-untyped-def]
        """The provincial example is not the certified filing: the official report is refused, nothing written."""
        registry, public, _ = certified
        page = tmp_path / "r.html"
        args = ["report", "--official", "--city", "320500", "--registry", str(registry), "--trust", str(public)]
        code, _, _ = run(capsys, *args, *BASE, "-o", str(page))
        assert code != 0 and not page.exists()

    def test_evaluate_output_is_refused_with_what_to_give(self, capsys, tmp_path):  # type: ignore[no-untyped-def]
        """The JSON evaluate writes is refused as results-not-data, saying what a report takes."""
        results = tmp_path / "results.json"
        assert run(capsys, "evaluate", *BASE, "--format", "json", "-o", str(results))[0] == 0
        code, _, err = run(
            capsys, "report", "--lang", "en", "--policy", str(JIANGSU), str(results), "-o", str(tmp_path / "r.html")
        )
        assert code == 1
        assert "this is the output of `fineco evaluate` (graded results), not records to grade" in err
        assert "--official --city CODE --registry DIR --trust KEY for the official city report" in err
        assert "no 'records' key" not in err


class TestCityCut:
    def test_report_of_one_city(self, capsys, tmp_path):  # type: ignore[no-untyped-def]
        """`report --city` keeps that city's counties and is headed with its name and targets."""
        out = tmp_path / "r.json"
        page = tmp_path / "r.html"
        assert run(capsys, "report", "--city", "320200", *BASE, "-o", str(out), "-o", str(page), "-q")[0] == 0
        data = json.loads(out.read_text(encoding="utf-8"))
        assert sorted(c["county"] for c in data["counties"]) == ["320281", "320282"]
        assert [c["area"] for c in data["summary"]["cities"]] == ["320200"]
        text = page.read_text(encoding="utf-8")
        assert "<h1>无锡市2008年度评定报告</h1>" in text and '<h2 id="targets">无锡市目标</h2>' in text
        assert "非正式结果" in text

    @pytest.mark.parametrize("command", ["summary", "report", "sensitivity", "diff"])
    def test_unknown_city_is_a_usage_error(self, capsys, tmp_path, command):  # type: ignore[no-untyped-def]
        """An unknown city code is refused with exit 2, naming the known ones."""
        args = {
            "summary": ["summary", *BASE],
            "report": ["report", *BASE, "-o", str(tmp_path / "r.html")],
            "sensitivity": ["sensitivity", str(JIANGSU), "--as-of", "2008-12-31", str(DATA), "--runs", "2"],
            "diff": ["diff", str(JIANGSU / "jiangsu-2008.yaml"), str(SUZHOU), str(DATA)],
        }[command]
        code, _, err = run(capsys, *args, "--city", "325000")
        assert code == 2
        assert "--city 325000" in err and "320500 苏州市" in err

    def test_summary_of_one_city(self, capsys):  # type: ignore[no-untyped-def]
        """`summary --city` is headed with the city and its counts, and explains its marks."""
        code, out, _ = run(capsys, "summary", *BASE, "--city", "320500")
        assert code == 0
        lines = out.splitlines()
        assert lines[1] == "苏州市：良好 3个，达标 2个，未达标 0个，未评定 0个（共5个县（市））"
        assert "说明：✓ 达到，✗ 未达到，? 无法计算（如缺上年结果），— 无数据" in out
        assert "全省:" not in out

    def test_diff_of_one_city(self, capsys):  # type: ignore[no-untyped-def]
        """`diff --city` compares only that city's counties and names it."""
        code, out, _ = run(
            capsys, "diff", str(JIANGSU / "jiangsu-2008.yaml"), str(SUZHOU), str(DATA), "--city", "320500"
        )
        assert code == 0
        assert out.splitlines()[1] == "苏州市（320500）"
        assert "评定变化的县（市）：共5个中有0个" in out

    def test_sensitivity_most_fragile_first(self, capsys):  # type: ignore[no-untyped-def]
        """`sensitivity` lists the counties with the largest share of changed grades first."""
        code, out, _ = run(
            capsys, "sensitivity", str(JIANGSU), "--as-of", "2008-12-31", str(DATA), "--runs", "16", "--city", "320500"
        )
        assert code == 0
        assert "苏州市（320500）" in out.splitlines()[0] and "最易变动的县在前" in out.splitlines()[0]
        shares = [float(line.split()[3]) for line in out.splitlines()[3:] if line.startswith("3205")]
        assert len(shares) == 5
        assert shares == sorted(shares, reverse=True)


class TestPercentages:
    def test_summary_flags_in_percent(self, capsys):  # type: ignore[no-untyped-def]
        """A flagged target's requirement is a percentage in the summary, as its figure is."""
        code, out, _ = run(capsys, "summary", *BASE)
        assert code == 0
        assert "  全省：达标面 为 57.69 %，要求 >= 70.00 %" in out
