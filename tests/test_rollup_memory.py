"""What a roll-up holds while it reads: pyarrow's read-ahead, the cells turned into Python objects, the pool."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules import cli as _cli
from fineco_rules.io import _csv  # private unit under test (fineco_rules.io._csv)
from fineco_rules.scale import (
    _rollup,  # private unit under test (fineco_rules.scale._rollup)
    rollup,
)

pa = pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILE = ROOT / "policies" / "households" / "credit-household-2008.yaml"
SMALL_FILE = ROOT / "examples" / "households-small.csv"

sys.path.insert(0, str(ROOT / "examples"))
import make_households  # noqa: E402


@pytest.fixture(scope="module")
def compiled() -> fineco_rules.CompiledPolicy:
    return fineco_rules.compile_policy(fineco_rules.load_policy(POLICY_FILE))


def households(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        make_households.write(count, handle)
    return path


class _Stop(Exception):
    """Raised from the progress callback to end a roll-up after its first chunk."""


class TestReadAhead:
    """pyarrow reads the file in small blocks, so what it buffers ahead stays small however large the file."""

    def test_rollup_asks_for_small_blocks(
        self, compiled: fineco_rules.CompiledPolicy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The roll-up's Arrow reader parses BLOCK_BYTES (256 KiB) at a time, not pyarrow's 4 MiB."""
        asked: list[int] = []
        chunks = _csv.arrow_chunks

        def spy(*args: Any, block_bytes: int = 1 << 22) -> Iterator[_csv.Chunk]:
            asked.append(block_bytes)
            return chunks(*args, block_bytes=block_bytes)

        monkeypatch.setattr(_rollup, "_arrow_chunks", spy)
        rollup(compiled, SMALL_FILE, reader="arrow")
        assert asked == [_rollup.BLOCK_BYTES] * 2  # the first pass (left unread: no cohort) and the rating pass
        assert _rollup.BLOCK_BYTES == 1 << 18

    def test_buffer_is_bounded(self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path) -> None:
        """After the first chunk of a 16 MB file, pyarrow holds less than 12 MiB (at 4 MiB blocks: the whole file)."""
        path = households(tmp_path / "h.csv", 200_000)
        assert path.stat().st_size > 16 * 10**6
        held: list[int] = []

        def first(kind: str, done: int, total: int | None) -> None:
            held.append(pa.total_allocated_bytes())
            raise _Stop

        with pytest.raises(_Stop):
            rollup(compiled, path, chunk_rows=1000, reader="arrow", progress=first)
        assert len(held) == 1
        assert held[0] < 12 * 2**20

    @pytest.mark.parametrize("block", [300, 4096, 1 << 22])
    def test_output_is_the_same_for_any_block(
        self, compiled: fineco_rules.CompiledPolicy, monkeypatch: pytest.MonkeyPatch, block: int
    ) -> None:
        """The block size changes what is buffered, never the roll-up."""
        whole = rollup(compiled, SMALL_FILE, reader="csv", engine="row", chunk_rows=700).to_dict()
        monkeypatch.setattr(_rollup, "BLOCK_BYTES", block)
        assert rollup(compiled, SMALL_FILE, reader="arrow", chunk_rows=700).to_dict() == whole


class TestConvertedColumns:
    """On the columnar path a chunk becomes Python lists only when a row must be read one by one."""

    @pytest.fixture
    def converted(self, monkeypatch: pytest.MonkeyPatch) -> set[str]:
        names: set[str] = set()
        getitem = _csv.Columns.__getitem__

        def spy(self: _csv.Columns, name: str) -> list[object]:
            names.add(name)
            return getitem(self, name)

        monkeypatch.setattr(_csv.Columns, "__getitem__", spy)
        return names

    def test_clean_chunks_stay_in_arrow(self, compiled: fineco_rules.CompiledPolicy, converted: set[str]) -> None:
        """Rows that are all placed, with plain figures, are counted from Arrow and NumPy: no column is listed."""
        rollup(compiled, SMALL_FILE, reader="arrow", engine="columnar")
        assert converted == set()

    def _file(self, tmp_path: Path, loans: str) -> Path:
        rows = list(make_households.rows(50, 7, make_households.SHAPES["small"]))
        rows[3][10] = loans
        path = tmp_path / "h.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([make_households.FIELDS, *rows])
        return path

    def test_a_bad_row_is_the_only_one_read_in_python(
        self, compiled: fineco_rules.CompiledPolicy, converted: set[str], tmp_path: Path
    ) -> None:
        """An unreadable balance is reported from that row's cells alone: no column of the chunk is listed."""
        result = rollup(compiled, self._file(tmp_path, "n/a"), reader="arrow", engine="columnar")
        assert (result.bad_rows, [p.location.line for p in result.problems]) == (1, [5])
        assert converted == set()

    def test_a_number_not_in_plain_digits_takes_the_row_loop(
        self, compiled: fineco_rules.CompiledPolicy, converted: set[str], tmp_path: Path
    ) -> None:
        """A balance written 1e3 is summed as Decimal reads it, row by row; inputs still go to the engine in Arrow."""
        result = rollup(compiled, self._file(tmp_path, "1e3"), reader="arrow", engine="columnar")
        assert result.bad_rows == 0
        assert converted == {
            "household",
            "village",
            "township",
            "county",
            "loan_balance",
            "npl_balance",
            "on_time_repayment",
        }


class TestCommandPool:
    """``fineco rollup`` lets pyarrow allocate with the C library's malloc, which gives freed blocks back."""

    @pytest.fixture
    def restore_pool(self) -> Iterator[None]:
        before = pa.default_memory_pool()
        yield
        pa.set_memory_pool(before)

    @pytest.mark.usefixtures("restore_pool")
    def test_system_pool(self, tmp_path: Path) -> None:
        """After the command, pyarrow's default pool is the system one."""
        args: Sequence[str] = ["rollup", "--policy", str(POLICY_FILE), str(SMALL_FILE), "-q", "--format", "json"]
        assert _cli.main([*args, "-o", str(tmp_path / "out.json")]) == 0
        assert pa.default_memory_pool().backend_name == "system"


_FIGURE = st.one_of(
    st.from_regex(r"[0-9]{1,7}(\.[0-9]{1,5})?", fullmatch=True),
    st.sampled_from(["0", "0.000", "007", "1e3", "+5", ".5", "5.", "1_000", "-1", "n/a", "12345678901234567890.5"]),
)


def _counters_by_rows(compiled: fineco_rules.CompiledPolicy, path: Path, chunk_rows: int, engine: str) -> Any:
    counters = _rollup.Counters(compiled, str(path))
    counters.engine = engine
    for lines, columns, table in _csv.arrow_chunks(str(path), _csv.read_header(str(path)), chunk_rows, counters.bad):
        counters.add(lines, columns, table if engine == "columnar" else None)
    return counters


class TestCleanChunks:
    """Counting a clean chunk from Arrow and NumPy keeps exactly the counters the row loop keeps."""

    @settings(max_examples=25, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        count=st.integers(1, 60),
        chunk_rows=st.integers(1, 70),
        figures=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 2), _FIGURE), max_size=6),
        moved=st.lists(st.integers(0, 59), max_size=2),
        unplaced=st.lists(st.tuples(st.integers(0, 59), st.integers(1, 3)), max_size=2),
    )
    def test_same_counters_as_the_row_loop(
        self,
        compiled: fineco_rules.CompiledPolicy,
        tmp_path_factory: pytest.TempPathFactory,
        seed: int,
        count: int,
        chunk_rows: int,
        figures: list[tuple[int, int, str]],
        moved: list[int],
        unplaced: list[tuple[int, int]],
    ) -> None:
        """Any figures as written, villages met in two places, places missing: the same counts, Decimal sums
        (to the exponent), problems and roll-up as grading row by row."""
        rows = list(make_households.rows(count, seed, make_households.SHAPES["small"]))
        for i, column, text in figures:
            rows[i % count][(10, 11, 4)[column]] = text
        for i in moved:
            rows[i % count][2] = "999"  # the village now also lies in township 999
        for i, level in unplaced:
            rows[i % count][level] = ""  # no village, township or county
        path = tmp_path_factory.mktemp("clean") / "h.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([make_households.FIELDS, *rows])
        fast = _counters_by_rows(compiled, path, chunk_rows, "columnar")
        slow = _counters_by_rows(compiled, path, chunk_rows, "row")
        shown = {
            code: (str(v.loans), str(v.npl), {k: str(x) for k, x in v.sums.items()})
            for code, v in fast.villages.items()
        }
        assert fast.villages == slow.villages
        assert shown == {
            code: (str(v.loans), str(v.npl), {k: str(x) for k, x in v.sums.items()})
            for code, v in slow.villages.items()
        }
        assert (fast.rows, fast.bad_rows) == (slow.rows, slow.bad_rows)
        assert [p.to_dict() for p in fast.problems] == [p.to_dict() for p in slow.problems]
        assert fast.result("columnar").to_dict() == slow.result("columnar").to_dict()

    def test_a_code_with_a_trailing_control_space_is_the_same_village(
        self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """A village code written with a trailing \\x1f (space to str.strip) is the village the row loop finds."""
        rows = list(make_households.rows(4, 7, make_households.SHAPES["small"]))
        rows[1][1] = rows[0][1] + "\x1f"
        path = tmp_path / "h.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([make_households.FIELDS, *rows])
        fast = _counters_by_rows(compiled, path, 10, "columnar")
        assert fast.villages == _counters_by_rows(compiled, path, 10, "row").villages
        assert [(code, v.households) for code, v in fast.villages.items()] == [(rows[0][1], 4)]

    def test_a_known_village_moved_on_a_chunks_first_row(
        self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """A later chunk whose first row puts a known village elsewhere: that row is reported, the next one counted."""
        rows = list(make_households.rows(4, 0, make_households.SHAPES["small"]))
        rows[2][2] = "999"
        path = tmp_path / "h.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([make_households.FIELDS, *rows])
        fast = _counters_by_rows(compiled, path, 2, "columnar")
        assert fast.villages == _counters_by_rows(compiled, path, 2, "row").villages
        assert [(v.households, fast.bad_rows) for v in fast.villages.values()] == [(3, 1)]
        assert [p.location.line for p in fast.problems] == [4]
