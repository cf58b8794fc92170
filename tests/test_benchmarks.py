"""The benchmark harness runs, every exact engine agrees with the reference, and the results are written.

Speed is never asserted here: it is measured in ``benchmarks/`` and reported as ratios.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import fineco_rules
from benchmarks import data, peers, provincial, reference

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "benchmarks" / "county-policy.yaml"


def test_data_is_deterministic_and_chunk_independent() -> None:
    whole = data.columns(250)
    parts = list(data.iter_columns(250, chunk=100))
    assert [len(p["county"]) for p in parts] == [100, 100, 50]
    for name in ("county", *data.FIELDS):
        joined = np.concatenate([p[name] for p in parts])
        assert np.array_equal(joined, whole[name]), name
    again = data.records(250)
    assert again == data.records_from_columns(whole)
    # At most four decimals, as written in the CSV.
    for name in data.NUMBER_FIELDS:
        assert all(int(Decimal(repr(v)).as_tuple().exponent) >= -4 for v in whole[name].tolist()), name


def test_data_hits_the_edges_that_catch_inexact_engines() -> None:
    cols = data.columns(5000)
    grades, totals = reference.grade_numpy(cols)
    assert (cols["npl_ratio"] == 0.06).any() and (cols["case_execution_rate"] == 0.8).any()
    assert (totals == 6000).any() and (totals == 8000).any()
    assert set(np.unique(grades).tolist()) == {0, 1, 2}
    # Some scores lie exactly on a rounding half, which floats round the wrong way.
    _, naive_totals = reference.grade_python_naive(data.records_from_columns(cols))
    assert np.count_nonzero(np.asarray(naive_totals) != totals) > 0


def test_references_equal_the_engine_on_every_record() -> None:
    cols = data.columns(400, start=1234)
    records = data.records_from_columns(cols)
    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(POLICY))
    codes = {fineco_rules.Grade.FAIL: 0, fineco_rules.Grade.PASS: 1, fineco_rules.Grade.GOOD: 2}
    results = compiled.evaluate(records).results
    want = (
        [codes[r.grade] for r in results if r.grade is not None],
        [int(r.score.scaleb(2)) for r in results if r.score is not None],
    )
    assert len(want[0]) == len(records)
    assert reference.grade_python(records) == want
    grades, totals = reference.grade_numpy(cols)
    assert grades.tolist() == want[0] and totals.tolist() == want[1]
    assert reference.grade_numpy(reference.columns_from_records(records))[1].tolist() == want[1]


def test_harness_quick_run_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert (out / "results.md").read_text(encoding="utf-8").startswith("# Benchmark results")
    assert results["all_exact_engines_agree"] is True
    engines = results["comparison"]["engines"]
    assert {"reference Python", "reference NumPy (ready columns)", "fineco row path"} <= set(engines)
    assert {p.name for p in peers.PEERS} <= set(engines)
    if hasattr(fineco_rules, "evaluate_columns"):
        assert "fineco columnar (NumPy columns)" in engines
    for name, row in engines.items():
        assert row["records"] == 200 and row["records_per_second"] > 0, name
        if row["family"] != "peer" and "naive" not in name:
            assert row["disagreements"] == {"grade": 0, "total": 0}, name
    assert "row ÷ reference Python" in results["ratios"]
    for count in ("4", "8", "16"):
        for name, row in results["indicators"]["policies"][count].items():
            assert row["disagreements"] == {"grade": 0, "total": 0}, (count, name)


@pytest.mark.parametrize("peer", peers.PEERS, ids=lambda p: p.name)
def test_peers_grade_almost_every_record_like_the_reference(peer: peers.Peer) -> None:
    records = data.records(300)
    grades, totals = reference.grade_python(records)
    peer_grades, peer_totals = peers.normalize(peer.name, peer.build()(records))
    assert len(peer_grades) == len(records)
    # Peers using floats may differ on a few records at exact ties; a wrong transcription differs on many.
    assert sum(a != b for a, b in zip(peer_grades, grades, strict=True)) <= 3
    assert sum(a != b for a, b in zip(peer_totals, totals, strict=True)) <= 15


class TestProvincial:
    """``benchmarks/provincial.py``: the provincial 2008 policy by hand grades as fineco-rules does."""

    def test_hand_written_equals_the_engine_on_every_record(self) -> None:
        """Every grade and total (in cents) of 1,500 records equals the engine's, all three grades occur."""
        records = provincial.records(1500)
        evaluation = fineco_rules.compile_policy(fineco_rules.load_policy(provincial.POLICY)).evaluate(records)
        codes = [-1 if g is None else g.rank for g in evaluation.grades]
        cents = [None if s is None else int(s.scaleb(2)) for s in evaluation.scores]
        assert provincial.grade_python(records) == (codes, cents)
        assert set(codes) == {0, 1, 2}

    def test_the_quick_run_measures_it(self, tmp_path: Path) -> None:
        """The harness reports the provincial ratio against its target of 0.25."""
        out = tmp_path / "results"
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
            capture_output=True,
            timeout=120,
            check=True,
            cwd=ROOT,
        )
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert results["ratios"]["row ÷ hand-written Python, provincial 2008"]["target"] == 0.25
        rows = results["provincial"]["engines"].values()
        assert [row["disagreements"] for row in rows] == [{"grade": 0, "total": 0}] * 2
