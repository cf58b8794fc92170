"""Where each rule comes from: `basis:` markers, the assumptions they name, and what `explain` shows."""

from __future__ import annotations

from pathlib import Path

import pytest

import fineco_rules
from fineco_rules import PolicyError, evaluate, load_policy, read_records
from fineco_rules.policy import provenance, provenance_lines
from fineco_rules.scoring import Better

from .conftest import ROOT, WritePolicy

SHIPPED = sorted(p for p in (ROOT / "policies").rglob("*.yaml") if ".cases." not in p.name)
SOURCE = (ROOT / "docs" / "source.md").read_text("utf-8")
JIANGSU_2008 = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"


class TestShippedPolicies:
    """Every rule of a shipped policy says whether the source gives it, and the source's words are its own."""

    @pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
    def test_every_rule_has_a_basis(self, path: Path):
        """No indicator, grade line, gate, veto, adjustment or target is without a `basis:`."""
        rules = provenance(load_policy(path))
        assert rules
        assert [r.path for r in rules if r.kind == "undeclared"] == []

    @pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
    def test_quotes_are_the_source_verbatim(self, path: Path):
        """Each `quote` is found word for word in the source (docs/source.md)."""
        quotes = {r.basis.quote for r in provenance(load_policy(path)) if r.basis and r.basis.quote}
        assert [q for q in sorted(quotes) if q not in SOURCE] == []

    def test_what_the_source_does_not_give_is_an_assumption(self):
        """The veto and the grade lines rest on assumptions; last year's 60 % comes from the source alone."""
        kinds = {r.path: r.kind for r in provenance(load_policy(JIANGSU_2008))}
        assert kinds["vetoes.illegal_fundraising"] == "assumption"
        assert kinds["grades.pass"] == "source+assumption"
        assert kinds["grades.pass.gates.npl_below_6pct"] == "source+assumption"
        assert kinds["adjustments.debt_evasion"] == "source+assumption"
        assert kinds["targets.good_from_last_pass"] == "source"
        household = {
            r.path: r.kind
            for r in provenance(load_policy(ROOT / "policies" / "households" / "credit-household-2008.yaml"))
        }
        assert household["rollup.village.0"] == "assumption"

    def test_a_city_names_its_own_assumption(self):
        """Suzhou's stricter NPL gate keeps the source's clause and names Suzhou's assumption."""
        [gate] = [r for r in provenance(load_policy(SUZHOU)) if r.path == "grades.pass.gates.npl_below_6pct"]
        assert gate.basis is not None
        assert (gate.basis.source, gate.basis.quote, gate.basis.assumption) == (
            "一",
            "县域金融机构不良贷款率（五级分类）在6%以下",
            "suzhou",
        )
        assert gate.basis.origin.file.endswith("suzhou-2008.yaml")


class TestExplain:
    """`fineco explain` ends with where each rule comes from."""

    def test_chinese_lines(self):
        """The NPL gate cites clause 一 with the source's words, and the assumption it applies it by."""
        policy = load_policy(JIANGSU_2008)
        [result] = evaluate(policy, list(read_records(ROOT / "examples" / "jiangsu-2008.csv").records)[:1])
        text = fineco_rules.explain(result, policy, "zh")
        assert "规则来源（原文条款或本办法的假设）：\n" in text
        assert (
            "  · 不良贷款率（五级分类）在6%以下（含6%） (grades.pass.gates.npl_below_6pct)：原文 一 "
            "“县域金融机构不良贷款率（五级分类）在6%以下”；假设 `grade_lines`：达标线60分、良好线80分为假设"
        ) in text
        assert "  · 重大非法集资案件一票否决 (vetoes.illegal_fundraising)：假设 `veto`：原文未规定一票否决" in text

    def test_english_lines(self):
        """The same in English."""
        lines = provenance_lines(load_policy(JIANGSU_2008), "en")
        assert lines[0] == "Where the rules come from (a clause of the source, or an assumption of this method):"
        assert any(
            line.startswith("  · share of last year's passing counties that reach good (targets.good_from_last_pass): ")
            and line.endswith("source 二（二）1 “上年度达标单位中的60%以上达到良好”")
            for line in lines
        )

    def test_policy_without_markers_adds_nothing(self, write_policy: WritePolicy):
        """A policy that marks no rule gets no section (its explanation is as before)."""
        assert provenance_lines(load_policy(write_policy())) == []


class TestMarkers:
    """A `basis:` must name a declared assumption."""

    def test_unknown_assumption(self, tmp_path: Path):
        """Naming an assumption that `assumptions` does not declare is refused where it is named."""
        text = (JIANGSU_2008.parent / "jiangsu-2007.yaml").read_text("utf-8")
        text = text.replace("basis: {assumption: veto}", "basis: {assumption: vetoes}")
        path = tmp_path / "jiangsu-2007.yaml"
        path.write_text(text, "utf-8")
        with pytest.raises(PolicyError) as info:
            load_policy(path)
        [problem] = info.value.problems
        assert (problem.code, problem.location.path) == (
            "unknown-assumption",
            "vetoes.illegal_fundraising.basis.assumption",
        )
        assert problem.message == "the basis names the assumption 'vetoes', which `assumptions` does not declare"
        assert problem.hint == "did you mean 'veto'?"

    def test_source_or_assumption_required(self, write_policy: WritePolicy):
        """An empty `basis:` is refused by the schema."""
        path = write_policy()
        text = path.read_text("utf-8").replace("    scorer: linear\n", "    basis: {quote: x}\n    scorer: linear\n", 1)
        path.write_text(text, "utf-8")
        with pytest.raises(PolicyError):
            load_policy(path)


class TestIndicatorsFollowTheSource:
    """The legal environment rewards cases cleared; only bad behaviour not reported costs points."""

    def test_crime_is_scored_by_cases_cleared(self):
        """The legal indicator reads the clearance rate, higher better, and no count of cases."""
        policy = load_policy(JIANGSU_2008)
        reads = policy.indicators["legal"].reads
        assert reads.get("financial_crime_clearance_rate") is Better.HIGHER
        assert "financial_crime_cases" not in reads and "financial_crime_cases" not in policy.inputs

    def test_only_unreported_bad_behaviour_is_deducted(self):
        """The deduction counts intermediaries not reported (未通报), internal; the old count is gone."""
        policy = load_policy(JIANGSU_2008)
        assert policy.adjustments["bad_intermediaries"].input == "intermediaries_not_reported"
        assert policy.inputs["intermediaries_not_reported"].internal is True
        assert "intermediaries_reported" not in policy.inputs

    def test_more_cleared_scores_more(self):
        """Raising a county's clearance rate raises its legal score."""
        policy = load_policy(JIANGSU_2008)
        [row] = list(read_records(ROOT / "examples" / "jiangsu-2008.csv").records)[:1]
        low = dict(row.values, financial_crime_clearance_rate="0.6")
        high = dict(row.values, financial_crime_clearance_rate="0.9")
        [a, b] = evaluate(policy, [low, {**high, "county": "320125"}])
        assert b.indicators["legal"].score > a.indicators["legal"].score


def test_example_data_has_the_new_columns():
    """The example years carry the clearance rate and the unreported intermediaries, not the old columns."""
    header = (ROOT / "examples" / "jiangsu-2008.csv").read_text("utf-8").splitlines()[0].split(",")
    assert "financial_crime_clearance_rate" in header and "intermediaries_not_reported" in header
    assert "financial_crime_cases" not in header and "intermediaries_reported" not in header
