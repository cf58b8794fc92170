"""The columnar path's shortcuts for ready columns (keys read in one join, float columns checked by their least and
most, grade levels climbed in bytes, ties decided in integers) grade every record as the row path does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from benchmarks import data
from fineco_rules.engine import _columnar  # private units under test: the key reader and the kernel cache

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "benchmarks" / "county-policy.yaml"


@pytest.fixture(scope="module")
def compiled() -> fineco_rules.CompiledPolicy:
    return fineco_rules.compile_policy(fineco_rules.load_policy(POLICY))


def _records(columns: dict[str, Any]) -> list[dict[str, object]]:
    """The same records as dicts, as the row path receives them (a NaN is a missing value)."""
    n = len(columns["county"])
    out = []
    for i in range(n):
        record: dict[str, object] = {}
        for name, column in columns.items():
            cell = column[i]
            cell = cell.item() if isinstance(cell, np.generic) else cell
            record[name] = None if isinstance(cell, float) and cell != cell else cell
        out.append(record)
    return out


def _same(compiled: fineco_rules.CompiledPolicy, columns: dict[str, Any]) -> _columnar.ColumnarEvaluation:
    """evaluate_columns equals evaluate on every record: grade, total and the records' problems."""
    got = fineco_rules.evaluate_columns(compiled, columns)
    row = compiled.evaluate(_records(columns))
    assert got.grades() == [r.grade for r in row.results]
    assert got.totals() == [r.score if r.graded else None for r in row.results]
    assert [p.code for p in got.problems] == [p.code for p in row.problems] + [
        p.code for r in row.results for p in r.errors
    ]
    return got


#: Keys that are not a county code as the row path reads it, or that it reads after stripping: each must leave
#: the one-join reading (and be judged cell by cell).
_ODD_KEYS = [
    "012345",  # starts with 0
    "32010a",
    "32010:",  # the byte after "9"
    "32010/",  # the byte before "0"
    "3201 1",
    " 32010",
    "320101 ",
    "3201011",
    "32010",
    "３２０１０１",  # full-width digits
    "",
    None,
    320101,
    "32,,01",
]


class TestKeysInOneJoin:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        codes=st.lists(st.integers(100000, 999999), min_size=1, max_size=30),
        odd=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(_ODD_KEYS)), max_size=3),
        shape=st.sampled_from(["list", "object"]),
    )
    def test_keys_in_any_order_with_repeats_and_odd_cells_grade_as_the_row_path(
        self, compiled: fineco_rules.CompiledPolicy, codes: list[int], odd: list[tuple[int, object]], shape: str
    ) -> None:
        """Six-digit str codes, unsorted and repeated, with malformed cells among them: grades, totals and problems
        equal evaluate()."""
        n = len(codes)
        columns: dict[str, Any] = dict(data.columns(n))
        keys: list[object] = [str(c) for c in codes]
        for where, cell in odd:
            keys[where % n] = cell
        columns["county"] = keys if shape == "list" else np.array(keys, dtype=object)
        got = _same(compiled, columns)
        seen: set[str] = set()
        for i, key in enumerate(keys):
            text = "" if key is None else str(key).strip()  # as the row path reads a key
            well_formed = len(text) == 6 and text.isascii() and text.isdigit() and text[0] != "0"
            assert bool(got.row_fallback[i]) == (not well_formed or text in seen)
            seen.add(text)

    def test_one_join_reads_only_six_ascii_digits_not_starting_with_0(self) -> None:
        """The joined reading takes well-formed str codes (any order) and refuses every other cell."""
        joined_words = vars(_columnar)["_joined_words"]
        words = joined_words(["320102", "320101", "999999", "100000"])
        assert [w.to_bytes(8, "big").decode() for w in words.tolist()] == [
            ",,320102",
            ",,320101",
            ",,999999",
            ",,100000",
        ]
        assert words[0] > words[1] < words[2] > words[3]  # words order as the codes do
        for cell in _ODD_KEYS:
            assert joined_words(["320101", cell]) is None, cell

    def test_increasing_codes_are_all_first(self) -> None:
        """Increasing str codes: every record is its key's first; a repeat later points back to the first."""
        keys = vars(_columnar)["_keys"]
        first, good = keys(np.array(["320101", "320102", "320103"], dtype=object), True)
        assert first.tolist() == [0, 1, 2]
        assert good.tolist() == [True, True, True]
        first, good = keys(["320102", "320101", "320102"], True)
        assert first.tolist() == [0, 1, 0]
        assert good.tolist() == [True, True, False]


class TestFloatColumnsCheckedWhole:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        size=st.integers(1, 40),
        bad=st.lists(
            st.tuples(
                st.integers(0, 39),
                st.sampled_from(["loans", "deposits", "awareness_score", "npl_ratio", "satisfaction_score"]),
                st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0001, 100.0001, 1e308, -1.0, 0.0]),
            ),
            max_size=4,
        ),
    )
    def test_missing_infinite_and_out_of_bounds_cells_grade_as_the_row_path(
        self, compiled: fineco_rules.CompiledPolicy, size: int, bad: list[tuple[int, str, float]]
    ) -> None:
        """NaN, infinities and values outside an input's bounds in float columns: the record goes to the row path,
        every other record is graded here; grades and totals equal evaluate()."""
        columns: dict[str, Any] = {k: v.copy() for k, v in data.columns(size, start=7000).items()}
        for where, name, value in bad:
            columns[name][where % size] = value
        got = _same(compiled, columns)
        touched = {where % size for where, _, _ in bad}
        assert not got.row_fallback[[i for i in range(size) if i not in touched]].any()


def _no_decimals(*_: object, **__: object) -> Any:
    raise AssertionError("a score was re-scored record by record in decimals")


#: Records whose totals land on 60.00 / 80.00 or on 59.995 / 79.995 before rounding, whose deepening score sits on
#: a rounding half, and whose gates sit on their thresholds: the benchmark's own edge cases, 2,000 of them.
_EDGES = st.integers(0, 98_000)


class TestGradesOnThresholdsAndHalves:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(start=_EDGES, size=st.integers(1, 2000), major=st.lists(st.integers(0, 1999), max_size=5))
    def test_totals_on_thresholds_and_scores_on_halves_grade_as_the_row_path(
        self, compiled: fineco_rules.CompiledPolicy, start: int, size: int, major: list[int]
    ) -> None:
        """Totals on 60/80 (and a half below), ratio scores on x.xx5, gates on 0.06 / 60 / 0.85, vetoes: every
        record graded here (none sent to the row path) with evaluate()'s grade and total."""
        columns: dict[str, Any] = {k: v.copy() for k, v in data.columns(size, start=start).items()}
        for where in major:
            columns["major_case"][where % size] = True
        got = _same(compiled, columns)
        assert not got.row_fallback.any()

    def test_a_ratio_score_on_a_half_rounds_up_in_integers(
        self, compiled: fineco_rules.CompiledPolicy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Loans 600.25 and 600.05 of deposits 2,000 score exactly 0.025 and 0.005 (half-up: 0.03 and 0.01), decided
        without re-scoring in decimals; 1,000 of 2,000 scores 40 exactly."""
        columns: dict[str, Any] = dict(data.columns(3, start=11))
        columns["loans"] = np.array([600.25, 600.05, 1000.0])
        columns["deposits"] = np.array([2000.0, 2000.0, 2000.0])
        monkeypatch.setattr(_columnar, "_row_scores", _no_decimals)
        got = fineco_rules.evaluate_columns(compiled, columns)
        monkeypatch.undo()
        _same(compiled, columns)
        assert [got.explain(i).indicators["deepening"].score for i in range(3)] == [
            Decimal("0.03"),
            Decimal("0.01"),
            Decimal("40.00"),
        ]
        assert not got.row_fallback.any()


class TestKernelOncePerPolicy:
    def test_the_kernel_is_built_once_and_dropped_with_its_policy(self) -> None:
        """A compiled policy's kernel is built on its first batch, reused after, and not kept once the policy goes."""
        import gc

        policy = fineco_rules.compile_policy(fineco_rules.load_policy(POLICY))
        kernels = vars(_columnar)["_KERNELS"]
        fineco_rules.evaluate_columns(policy, data.columns(5))
        kernel = kernels[policy]
        fineco_rules.evaluate_columns(policy, data.columns(5, start=5))
        assert kernels[policy] is kernel
        before = len(kernels)
        del policy, kernel
        gc.collect()
        assert len(kernels) == before - 1
