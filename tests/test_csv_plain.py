"""CSV files without quotes are read whole, each row at its line: the records and their places are as before."""

from __future__ import annotations

from pathlib import Path

from fineco_rules.errors import Location
from fineco_rules.io._readers import read_records  # private unit under test: the record reader


class TestPlainCsvLines:
    """A file without quotes is read at once; every record keeps its own line and row number."""

    def test_every_row_plain(self, tmp_path: Path) -> None:
        """Rows of full width without empty cells become records named by their line and row."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\n320581,1\n320582,2\n", encoding="utf-8")
        records = read_records(path).records
        assert [r.values for r in records] == [{"county": "320581", "a": "1"}, {"county": "320582", "a": "2"}]
        assert [r.location for r in records] == [
            Location(str(path), 2, path="row 1"),
            Location(str(path), 3, path="row 2"),
        ]

    def test_blank_line_between_rows(self, tmp_path: Path) -> None:
        """A blank line counts as a line but not as a row: the record after it is on line 4, row 2."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\r\n320581,1\r\n\r\n320582,\r\n", encoding="utf-8")
        records = read_records(path).records
        assert [r.values for r in records] == [{"county": "320581", "a": "1"}, {"county": "320582", "a": None}]
        assert [(r.location.line, r.location.path) for r in records] == [(2, "row 1"), (4, "row 2")]

    def test_long_cell_without_quotes(self, tmp_path: Path) -> None:
        """A cell longer than the limit in a file without quotes refuses its record only, named by line and column."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\n320581,1\n320582," + "9" * 70_000 + "\n320583,3\n", encoding="utf-8")
        result = read_records(path)
        assert [r.values["county"] for r in result.records] == ["320581", "320583"]
        assert [r.location.line for r in result.records] == [2, 4]
        assert [(p.code, p.location.line, p.location.column) for p in result.problems] == [("cell-too-large", 3, 2)]
