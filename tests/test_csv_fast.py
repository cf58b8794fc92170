"""Tests for the fast CSV read: records of plain rows made directly, their locations made only when read."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from fineco_rules.errors import Code, Location
from fineco_rules.io import RawRecord, read_records
from fineco_rules.io._json import dumps, dumps_columns, dumps_each  # private unit under test: the one JSON writer
from fineco_rules.io._readers import MAX_CELL_CHARS  # the private limit the reader applies


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8", newline="")
    return path


class TestPlainRows:
    def test_plain_rows_equal_eager_records(self, tmp_path: Path) -> None:
        """Rows of a file with nothing to strip equal records built with their full Location."""
        result = read_records(write(tmp_path, "county,npl\n320581,0.012\n\n110101,0.02\n"))
        assert result.records == (
            RawRecord({"county": "320581", "npl": "0.012"}, Location(str(tmp_path / "r.csv"), 2, path="row 1")),
            RawRecord({"county": "110101", "npl": "0.02"}, Location(str(tmp_path / "r.csv"), 4, path="row 2")),
        )

    def test_empty_and_short_rows_in_a_plain_file(self, tmp_path: Path) -> None:
        """In a file without spaces or quotes, an empty cell is None and a short row fills with None."""
        result = read_records(write(tmp_path, "county,npl,name\n320581,,x\n110101\n"))
        assert [r.values for r in result.records] == [
            {"county": "320581", "npl": None, "name": "x"},
            {"county": "110101", "npl": None, "name": None},
        ]

    def test_long_cell_in_a_plain_file(self, tmp_path: Path) -> None:
        """A too-long cell refuses its record with its line and column, in a file of plain rows."""
        text = "county,npl\n320581,1\n320582," + "9" * (MAX_CELL_CHARS + 1) + "\n320583,2\n"
        result = read_records(write(tmp_path, text))
        assert [r.values["county"] for r in result.records] == ["320581", "320583"]
        assert [(p.code, p.location.line, p.location.column) for p in result.problems] == [(Code.CELL_TOO_LARGE, 3, 2)]


class TestLazyLocation:
    def test_location_made_on_read(self, tmp_path: Path) -> None:
        """A CSV record's location names file, line and row path when it is read."""
        record = read_records(write(tmp_path, "county\n320581\n")).records[0]
        assert record.location == Location(str(tmp_path / "r.csv"), 2, path="row 1")
        assert str(record.location.path) == "row 1"

    def test_repr_shows_the_location(self, tmp_path: Path) -> None:
        """The repr of a CSV record shows its Location, as an eager record's does."""
        record = read_records(write(tmp_path, "county\n320581\n")).records[0]
        eager = RawRecord({"county": "320581"}, Location(str(tmp_path / "r.csv"), 2, path="row 1"))
        assert repr(record) == repr(eager)

    def test_evolve_keeps_the_location(self, tmp_path: Path) -> None:
        """attrs.evolve with new values keeps where the record was read."""
        record = read_records(write(tmp_path, "county\n320581\n")).records[0]
        moved = attrs.evolve(record, values={"county": "320582"})
        assert moved.location == Location(str(tmp_path / "r.csv"), 2, path="row 1")

    def test_pickle_round_trip(self, tmp_path: Path) -> None:
        """A CSV record pickles (for Dask) to an equal record."""
        record = read_records(write(tmp_path, "county\n320581\n")).records[0]
        assert pickle.loads(pickle.dumps(record)) == record


class TestCompactJson:
    @pytest.mark.parametrize(
        "scores",
        [
            {"a": Decimal("1.50"), "b": Decimal("-0.00")},
            {"a": Decimal("1E+2"), "b": Decimal("0.0000001")},
            {"a": Decimal("1.5"), "b": None},
            {"a%s": Decimal("2"), "b": Decimal("3")},
        ],
    )
    def test_scores_written_as_dumps_writes_them(self, scores: dict[str, Decimal | None]) -> None:
        """A dict of scores inside a row is written with the bytes dumps gives it, exponents and None included."""
        row = {"county": "320581", "score": Decimal("85.50"), "indicators": scores, "errors": []}
        assert list(dumps_each([row], depth=2)) == [dumps(row).replace("\n", "\n    ")]

    def test_same_keys_at_two_depths(self) -> None:
        """Equal keys at two depths are indented for their own depth."""
        row = {"a": Decimal(1), "b": {"a": Decimal(1), "b": Decimal(2)}}
        inner = {"a": Decimal(1), "b": Decimal(2)}
        assert list(dumps_each([inner, row])) == [dumps(inner), dumps(row)]


class TestColumns:
    KEYS = ("county", "name", "grade", "score", "indicators", "errors")

    def rows(self) -> list[tuple[object, ...]]:
        return [
            ("320581", "常熟市", "pass", Decimal("85.50"), {"a": Decimal("1.00"), "b": None}, []),
            ("320582", None, None, None, {"a": Decimal("-0.5"), "b": Decimal("0.000001")}, []),
            ('32"0583', "a\\b%s", "good", Decimal("100"), {"a": Decimal("0"), "b": Decimal("12.25")}, []),
        ]

    def test_same_bytes_as_dumps_each(self) -> None:
        """Records written a column at a time are the bytes dumps_each writes for each record."""
        rows = self.rows()
        columns = list(zip(*rows, strict=True))
        expected = list(dumps_each((dict(zip(self.KEYS, row, strict=True)) for row in rows), depth=2))
        assert dumps_columns(self.KEYS, columns, depth=2) == expected

    @pytest.mark.parametrize(
        ("column", "value"),
        [(3, Decimal("1E+2")), (3, Decimal("NaN")), (3, 1.5), (4, {"a": Decimal(1)}), (5, [{"x": 1}]), (1, 7)],
    )
    def test_other_columns_are_refused(self, column: int, value: object) -> None:
        """An exponent, NaN, a float, dicts of other keys, a non-empty list or a number among text gives None."""
        rows = [list(row) for row in self.rows()]
        rows[1][column] = value
        assert dumps_columns(self.KEYS, list(zip(*rows, strict=True)), depth=2) is None
