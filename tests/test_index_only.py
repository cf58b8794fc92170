"""A policy without grades is an index: every path gives scores and no grade, and output says so."""

from __future__ import annotations

from pathlib import Path

import pytest

import fineco_rules
from fineco_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "indices" / "hdi-2023-24.yaml"
DATA = ROOT / "examples" / "indices" / "hdr-2023-24-hdi-2022.csv"


@pytest.fixture(scope="module")
def policy() -> fineco_rules.Policy:
    return fineco_rules.load_policy(POLICY)


@pytest.fixture(scope="module")
def records() -> list[fineco_rules.io.RawRecord]:
    return list(fineco_rules.read_records(DATA).records)


class TestNoGrade:
    def test_row_path(self, policy, records):
        """evaluate: no country gets a grade; those with data are scored and count as graded."""
        evaluation = fineco_rules.evaluate(policy, records)
        assert {r.grade for r in evaluation.results} == {None}
        scored = [r for r in evaluation.results if r.graded]
        assert len(scored) == 193 and all(r.score is not None and not r.errors for r in scored)
        assert {r.county for r in evaluation.results if not r.graded} == {"PRK", "MCO"}

    def test_generated_path(self, policy, records):
        """CompiledPolicy.evaluate on dicts (generated code) gives the same: scores, no grades."""
        compiled = fineco_rules.compile_policy(policy)
        plain = [dict(r.values) for r in records if r.values.get("iso3") not in ("PRK", "MCO")]
        evaluation = compiled.evaluate(plain)
        assert set(evaluation.grades) == {None}
        assert evaluation.ok
        assert list(evaluation.scores) == [r.score for r in evaluation.results]

    def test_columnar_path(self, policy, records):
        """evaluate_columns agrees: no grades, the same totals."""
        plain = [dict(r.values) for r in records if r.values.get("iso3") not in ("PRK", "MCO")]
        columns = fineco_rules.evaluate_columns(fineco_rules.compile_policy(policy), plain)
        row = fineco_rules.evaluate(policy, plain)
        assert set(columns.grades()) == {None}
        assert columns.totals() == [r.score for r in row.results]

    def test_json_grade_is_null(self, policy, records):
        """The JSON shape has grade null for every country."""
        evaluation = fineco_rules.evaluate(policy, records[:3])
        assert [r.to_dict()["grade"] for r in evaluation.results] == [None, None, None]


class TestOutput:
    def test_tally_and_table(self, capsys):
        """`fineco evaluate` heads the key column with the unit's word and ends with the scored count."""
        assert main(["evaluate", "--lang", "en", "--policy", str(POLICY), str(DATA)]) == 1
        out, err = capsys.readouterr()
        assert out.splitlines()[1].split()[:3] == ["country", "name", "grade"]
        assert "AFG      Afghanistan                          —      46.174232" in out
        assert err.rstrip().endswith("195 × country (iso3): 193 scored, 2 not scored (an index without grades)")
        assert "at row 91, country PRK, field 'eys': required input 'eys' is missing" in err

    def test_chinese(self, capsys):
        """The same in Chinese: 国家 for the unit, 已计分 in the tally."""
        main(["evaluate", "--lang", "zh", "--policy", str(POLICY), str(DATA)])
        out, err = capsys.readouterr()
        assert out.splitlines()[1].split()[:3] == ["国家", "名称", "评定"]
        assert err.rstrip().endswith("共 195 个国家（iso3）：193 个已计分，2 个未计分（指数，不评定等级）")
        assert "第 91 条记录，国家 PRK，字段“eys”：缺少必填项“eys”" in err


def test_explain_says_index(capsys):
    """`fineco explain` on an index says there is no grade by design, not that the unit was not graded."""
    assert main(["explain", "--lang", "en", "--policy", str(POLICY), str(DATA), "--county", "NOR"]) == 0
    out = capsys.readouterr().out
    assert "Grade: none (an index without grades: the score is the result)\nTotal score: 96.590871" in out
    assert main(["explain", "--lang", "zh", "--policy", str(POLICY), str(DATA), "--county", "NOR"]) == 0
    assert "评定结果：无（指数，不评定等级，以得分为结果）" in capsys.readouterr().out
