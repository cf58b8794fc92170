"""`fineco evaluate` output: streamed, byte for byte what the whole-document writer writes, and a compact shape."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import fineco_rules
from fineco_rules.cli import main
from fineco_rules.errors import Code, Location, Problem
from fineco_rules.io import write_atomic
from fineco_rules.io._json import dumps  # private unit under test (fineco_rules.io._json)

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
DATA = str(ROOT / "examples" / "jiangsu-2008.csv")


def _evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["evaluate", "--policy", POLICY, DATA, "-q", *args]) == 0
    return capsys.readouterr().out


class TestStreamedJSON:
    """The streamed JSON is the same text as the evaluation written whole."""

    def test_stdout_equals_whole_document(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`--format json` on standard output is exactly `dumps(evaluation.to_dict())` plus a newline."""
        out = _evaluate(capsys, "--format", "json", "--explain")
        policy = fineco_rules.load_policy(POLICY)
        records = fineco_rules.read_records(DATA).records
        assert out == dumps(fineco_rules.evaluate(policy, records).to_dict()) + "\n"

    def test_file_equals_stdout(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """`-o FILE` writes the same bytes as standard output gets."""
        out = _evaluate(capsys, "--format", "json")
        _evaluate(capsys, "--format", "json", "-o", str(tmp_path / "r.json"))
        assert (tmp_path / "r.json").read_text("utf-8") == out

    def test_batch_problems_and_no_results(self) -> None:
        """With batch problems, and with no results at all, the pieces still join to the whole document."""
        from fineco_rules.cli._grading import _as_json  # the writer under test

        policy = fineco_rules.load_policy(POLICY)
        note = Problem("a note", Location("x.csv", line=3), "nothing to do", Code.DUPLICATE_COUNTY)
        for evaluation in (
            attrs.evolve(fineco_rules.evaluate(policy, fineco_rules.read_records(DATA).records), problems=(note,)),
            fineco_rules.evaluate(policy, []),
            attrs.evolve(fineco_rules.evaluate(policy, []), problems=(note, note)),
        ):
            assert "".join(_as_json(evaluation, "zh")) == dumps(evaluation.to_dict()) + "\n"


class TestCompactJSON:
    """`--compact` keeps each county's grade, total, indicator scores and errors, nothing else."""

    def test_compact_shape(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Each county has exactly the compact keys, and its figures equal the full output's."""
        full = json.loads(_evaluate(capsys, "--format", "json", "--explain"), parse_float=Decimal)
        compact = json.loads(_evaluate(capsys, "--format", "json", "--compact"), parse_float=Decimal)
        assert compact["policy"] == full["policy"]
        assert len(compact["results"]) == len(full["results"]) == 52
        for small, big in zip(compact["results"], full["results"], strict=True):
            assert set(small) == {"county", "name", "city", "grade", "score", "indicators", "errors"}
            assert {k: small[k] for k in ("county", "grade", "score")} == {
                k: big[k] for k in ("county", "grade", "score")
            }
            assert small["indicators"] == {n: ind["score"] for n, ind in big["indicators"].items()}

    def test_compact_is_smaller(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The compact output is less than a fifth of the full one."""
        full = _evaluate(capsys, "--format", "json", "--explain")
        compact = _evaluate(capsys, "--format", "json", "--compact")
        assert len(compact) * 5 < len(full)


class TestStreamedWrite:
    """`write_atomic` takes text in pieces."""

    def test_pieces_join(self, tmp_path: Path) -> None:
        """An iterable of text pieces is written as their UTF-8 concatenation."""
        pieces = [f"第{i}行\n" for i in range(30_000)]
        write_atomic(tmp_path / "out.txt", iter(pieces))
        assert (tmp_path / "out.txt").read_text("utf-8") == "".join(pieces)

    def test_failure_midway_leaves_nothing(self, tmp_path: Path) -> None:
        """A piece that fails midway leaves no file and no temporary file behind."""

        def pieces():
            yield "x" * 100_000
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            write_atomic(tmp_path / "out.txt", pieces())
        assert list(tmp_path.iterdir()) == []
