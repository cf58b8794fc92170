"""What a roll-up holds while it reads: pyarrow's read-ahead, the cells turned into Python objects, the pool."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

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
    """On the columnar path only the columns the roll-up reads row by row become Python lists."""

    def test_inputs_stay_in_arrow(self, compiled: fineco_rules.CompiledPolicy, monkeypatch: pytest.MonkeyPatch) -> None:
        """The policy's inputs go to the engine as Arrow columns; only key, places and summed figures are listed."""
        converted: set[str] = set()
        getitem = _csv.Columns.__getitem__

        def spy(self: _csv.Columns, name: str) -> list[object]:
            converted.add(name)
            return getitem(self, name)

        monkeypatch.setattr(_csv.Columns, "__getitem__", spy)
        rollup(compiled, SMALL_FILE, reader="arrow", engine="columnar")
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
