"""`fineco check --lang zh`: every finding, hint and summary line reads as Chinese; --lang en is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import SMALL, english_words

#: SMALL with an unused input, a looser gate implied by a stricter one, a gate that always holds
#: and good's line below pass's: five findings of four rules.
FLAWED = (
    SMALL.replace(
        "  npl: {type: ratio, better: lower, label: {zh: 不良贷款率, en: NPL ratio}}\n",
        "  npl: {type: ratio, better: lower, label: {zh: 不良贷款率, en: NPL ratio}}\n"
        "  spare: {type: number, better: higher, label: {zh: 备用, en: spare}}\n",
    )
    .replace(
        '      npl_ok: {input: npl, op: "<", value: 0.06}\n',
        '      npl_ok: {input: npl, op: "<", value: 0.06}\n'
        '      npl_loose: {input: npl, op: "<", value: 0.5}\n'
        '      npl_never: {input: npl, op: "<=", value: 2}\n',
    )
    .replace("    min_total: 80", "    min_total: 55")
)


@pytest.fixture
def flawed(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(FLAWED, "utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], path: Path, lang: str) -> str:
    assert main(["check", "--lang", lang, "--max-examples", "10", str(path)]) == 1
    return capsys.readouterr().out


def test_findings_in_chinese(capsys, flawed: Path):
    """Rule names, findings, hints, `see` lines and the summary are Chinese."""
    out = check(capsys, flawed, "zh")
    assert english_words(out, flawed) == []
    assert (
        "：未用项：输入项“spare”已声明但没有被使用：没有指标、达标门槛、一票否决、加减分或目标用到它［已证明］\n" in out
    )
    assert "    修改建议：请删除它，或为它计分\n" in out
    assert (
        "：等级层次：良好的分数线 55 低于达标的分数线 60：总分在两者之间的县（市）够良好线却不够达标线［已证明］\n"
        in out
    )
    assert f"{flawed} (test-policy 1): 共 5 个问题\n" in out
    assert (
        "  已证明：能否加载、分档、阈值范围、权重、分值、未用项、多余条件、等级可达、等级层次、计分方向、单调性\n"
        in out
    )


def test_findings_in_english(capsys, flawed: Path):
    """--lang en keeps the rule ids and the English findings."""
    out = check(capsys, flawed, "en")
    assert "unused: input 'spare' is declared but nothing reads it" in out
    assert f"{flawed} (test-policy 1): 5 problems\n" in out
    assert (
        "  proved:   loads, bands, range, weights, points, unused, redundant, unreachable, nested, direction, "
        "monotone\n" in out
    )


def test_policy_that_passes(capsys):
    """A policy without findings says 通过 in Chinese."""
    from .conftest import ROOT

    policy = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
    assert main(["check", "--lang", "zh", "--max-examples", "5", str(policy)]) == 0
    out = capsys.readouterr().out
    assert f"{policy} (jiangsu-fineco-county 2008): 通过\n" in out
