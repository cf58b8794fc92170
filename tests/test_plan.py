"""The grading plan that the row and the columnar path both execute, the one Progress signature, and
one classification of a scorer's bad number on both paths.

The plan is an engine-internal unit (``fineco_rules.engine._plan``); these tests import it to pin what
issue 16's code generator will walk.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import fineco_rules
from fineco_rules import Better, Label, Scored, Scorer, hookimpl
from fineco_rules.engine import evaluate_columns
from fineco_rules.engine._plan import GradingPlan, _BadScore, grade_of  # the plan is an engine-private unit
from fineco_rules.policy import Grade
from fineco_rules.scale import rollup

from .conftest import SMALL, WritePolicy

ROOT = Path(__file__).resolve().parent.parent
RECORDS = [
    {"county": "320581", "name": "常熟市", "a": "0.9", "b": "90", "npl": "0.02"},
    {"county": "320582", "name": "张家港市", "a": "0.5", "b": "70", "npl": "0.03"},
]


class _Returns(Scorer):
    """A row scorer of ``a`` that returns what the test chooses."""

    name = "returns"
    version = "1.0"
    label = Label("返回", "returns")
    params_schema: Mapping[str, Any] = {"type": "object"}

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {"a": Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        answer = self.answer
        return lambda values: answer(values) if callable(answer) else answer


class _Plugin:
    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    @hookimpl
    def fineco_scorers(self) -> Sequence[Scorer]:
        return [self.scorer]


def _compiled(write_policy: WritePolicy, scorer: Scorer) -> fineco_rules.CompiledPolicy:
    host = fineco_rules.make_plugin_host(plugins=[_Plugin(scorer)])
    text = SMALL.replace("scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: returns\n    params: {}")
    return fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(text), host=host), host)


class TestGradingPlan:
    def test_the_plan_is_decided_at_compile_time_and_frozen(self, small: fineco_rules.Policy) -> None:
        """compile_policy builds one frozen GradingPlan with the indicators in the policy's order."""
        plan = fineco_rules.compile_policy(small).plan
        assert isinstance(plan, GradingPlan)
        assert [step.name for step in plan.indicators] == ["ia", "ib"]
        assert [step.max_score for step in plan.indicators] == [Decimal(100), Decimal(100)]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            plan.precision = 5  # type: ignore[misc]

    def test_weights_are_kept_as_decimals_and_as_integer_units(self, small: fineco_rules.Policy) -> None:
        """The total's parts carry each weight exactly and as units of 10**-weight_scale."""
        plan = fineco_rules.compile_policy(small).plan
        assert plan.weight_scale == 1
        assert [(p.indicator, p.weight, p.units) for p in plan.total.parts] == [
            ("ia", Decimal("0.5"), 5),
            ("ib", Decimal("0.5"), 5),
        ]

    def test_the_ladder_and_its_gate_are_plan_levels(self, small: fineco_rules.Policy) -> None:
        """Levels are pass then good, with the pass gate; no vetoes or adjustments in this policy."""
        plan = fineco_rules.compile_policy(small).plan
        assert [(level.grade, level.min_total) for level in plan.levels] == [
            (Grade.PASS, Decimal(60)),
            (Grade.GOOD, Decimal(80)),
        ]
        assert [gid for gid, _ in plan.levels[0].gates] == ["npl_ok"]
        assert plan.vetoes == () and plan.adjustments == ()
        assert plan.why_not_columnar is None

    def test_the_columnar_path_reads_no_private_names_of_the_row_path(self) -> None:
        """ruff's SLF001 (private member access) finds nothing in the row path, the columnar path or the plan."""
        files = [f"fineco_rules/engine/{name}.py" for name in ("_engine", "_columnar", "_plan")]
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--select", "SLF001", *files],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout


class TestLadder:
    @pytest.mark.parametrize(
        ("met", "vetoed", "code"),
        [
            ((False, False), False, 0),
            ((True, False), False, 1),
            ((True, True), False, 2),
            ((False, True), False, 0),  # good is reached only from pass
            ((True, True), True, 0),  # a veto makes it fail
        ],
    )
    def test_the_ladder_gives_the_same_codes_on_bools_and_arrays(
        self, small: fineco_rules.Policy, met: tuple[bool, bool], vetoed: bool, code: int
    ) -> None:
        """The one ladder decides row (bools) and columnar (bool arrays) grades alike."""
        plan = fineco_rules.compile_policy(small).plan
        assert int(plan.ladder(list(met), vetoed)) == code
        arrays = [np.array([m, m]) for m in met]
        assert plan.ladder(arrays, np.array([vetoed, vetoed])).tolist() == [code, code]

    def test_grade_codes_are_the_grades_ranks(self) -> None:
        """Grade code n is the grade of rank n; -1 is not graded."""
        assert [grade_of(code) for code in (-1, 0, 1, 2)] == [None, Grade.FAIL, Grade.PASS, Grade.GOOD]
        assert [grade.rank for grade in (Grade.FAIL, Grade.PASS, Grade.GOOD)] == [0, 1, 2]


class TestBadScore:
    @pytest.mark.parametrize(
        "answer",
        [Scored(Decimal("NaN")), Scored(Decimal(-1)), Scored(Decimal("100.01")), Scored(50.0), Decimal(50), None],  # type: ignore[arg-type]
        ids=["nan", "negative", "above-max", "float", "bare-decimal", "none"],
    )
    def test_a_bad_number_is_a_bad_score_and_scorer_failed_on_both_paths(
        self, write_policy: WritePolicy, answer: object
    ) -> None:
        """Non-Decimal, NaN and out-of-range scores are one _BadScore (a TypeError), code scorer-failed."""
        compiled = _compiled(write_policy, _Returns(answer))
        with pytest.raises(_BadScore) as raised:
            compiled.plan.checked_score(compiled.plan.indicators[0], answer)
        assert isinstance(raised.value, TypeError) and not isinstance(raised.value, ValueError)
        (row, _) = compiled.evaluate(RECORDS).results
        assert row.grade is None and [e.code for e in row.errors] == ["scorer-failed"]
        columns = evaluate_columns(compiled, RECORDS)
        assert columns.grade_codes.tolist() == [-1, -1]
        assert [e.code for e in columns.explain(0).errors] == ["scorer-failed"]

    def test_a_scorer_raising_valueerror_is_still_rejected_data(self, write_policy: WritePolicy) -> None:
        """Raising ValueError (refusing the county's data) stays scorer-rejected, unlike a bad score."""

        def refuse(values: Mapping[str, Any]) -> Scored:
            raise ValueError("bad roll-up")

        compiled = _compiled(write_policy, _Returns(refuse))
        (row, _) = compiled.evaluate(RECORDS).results
        assert [e.code for e in row.errors] == ["scorer-rejected"]
        assert [e.code for e in evaluate_columns(compiled, RECORDS).explain(0).errors] == ["scorer-rejected"]


class TestProgress:
    def test_evaluate_reports_stage_done_and_total(self, small: fineco_rules.Policy) -> None:
        """evaluate calls progress(stage, done, total) once per indicator."""
        seen: list[tuple[str, int, int | None]] = []
        fineco_rules.evaluate(small, RECORDS, progress=lambda *args: seen.append(args))
        assert seen == [("indicators", 1, 2), ("indicators", 2, 2)]

    def test_the_rollup_reports_with_the_same_signature(self) -> None:
        """rollup calls progress("rows", rows_read, None): the same three arguments, total unknown."""
        policy = fineco_rules.load_policy(ROOT / "policies/households/credit-household-2008.yaml")
        seen: list[tuple[str, int, int | None]] = []
        result = rollup(
            policy, ROOT / "examples/households-small.csv", chunk_rows=2000, progress=lambda *a: seen.append(a)
        )
        assert seen and all(stage == "rows" and total is None for stage, _, total in seen)
        assert [done for _, done, _ in seen][-1] == result.rows


class TestCsvStreamer:
    @pytest.mark.parametrize("reader", ["csv", "arrow"])
    def test_the_rollup_reads_a_gbk_file_as_the_readers_do(self, tmp_path: Path, reader: str) -> None:
        """A household file saved as GBK (Chinese Excel) rolls up exactly as the same file in UTF-8."""
        policy = fineco_rules.load_policy(ROOT / "policies/households/credit-household-2008.yaml")
        lines = (ROOT / "examples/households-small.csv").read_text(encoding="utf-8").splitlines()[:400]
        text = "\n".join([lines[0] + ",name", *(f"{line},张家村{i}号" for i, line in enumerate(lines[1:]))]) + "\n"
        utf8, gbk = tmp_path / "utf8.csv", tmp_path / "gbk.csv"
        utf8.write_bytes(text.encode("utf-8"))
        gbk.write_bytes(text.encode("gbk"))
        expected = rollup(policy, utf8, chunk_rows=100, reader=reader).to_dict()["counties"]
        found = rollup(policy, gbk, chunk_rows=100, reader=reader)
        assert found.to_dict()["counties"] == expected
        assert found.rows == 399 and found.bad_rows == 0

    @pytest.mark.parametrize(
        ("data", "encoding"),
        [
            ("county,name\n320581,常熟市\n".encode(), "utf-8"),
            (b"\xef\xbb\xbf" + "county,name\n320581,常熟市\n".encode(), "utf-8-sig"),
            ("county,name\n320581,常熟市\n".encode("gbk"), "gb18030"),
            ("county,name\n320581,常".encode("gbk"), "gb18030"),  # a short file ending in a GBK character
        ],
        ids=["utf8", "bom", "gbk", "gbk-at-end"],
    )
    def test_one_encoding_rule_for_every_streamed_file(self, tmp_path: Path, data: bytes, encoding: str) -> None:
        """UTF-8 (BOM or not), else GB18030, decided from the first 64 KiB."""
        from fineco_rules.io._csv import sniff_encoding  # private unit under test (fineco_rules.io._csv)

        path = tmp_path / "r.csv"
        path.write_bytes(data)
        assert sniff_encoding(str(path)) == encoding
