"""CSV files without quotes are read whole, each row at its line; plain rows are graded from their columns."""

from __future__ import annotations

from pathlib import Path

import fineco_rules
from fineco_rules.engine._engine import compile_policy  # the compiled policy the private grader takes
from fineco_rules.engine._summaries import evaluate_summaries  # private unit under test: grading from columns
from fineco_rules.errors import Location
from fineco_rules.io._readers import CsvRecords, read_batch, read_records  # private units under test: the reader

POLICY = Path(__file__).resolve().parents[1] / "benchmarks" / "county-policy.yaml"


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


def _rows(count: int, first: int = 320581) -> str:
    """``count`` plain rows of a county code and one number: more than the header scan reads."""
    return "".join(f"{first + i},{i}\n" for i in range(count))


class TestCsvRecords:
    """`read_batch` hands a CSV file's plain rows on as records made when read, equal to `read_records`' own."""

    def test_same_records_as_read_records(self, tmp_path: Path) -> None:
        """Each lazily made record (index, negative index, slice, iteration) equals the eager one."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\n" + _rows(30), encoding="utf-8")
        batch = read_batch(path)
        eager = read_records(path).records
        assert isinstance(batch.records, CsvRecords)
        assert len(batch.records) == 30
        assert batch.records[0] == eager[0]
        assert batch.records[-1] == eager[29]
        assert batch.records[25].location == Location(str(path), 27, path="row 26")
        assert batch.records[1:] == list(eager[1:])
        assert tuple(batch.records) == eager
        assert batch.records[1] is batch.records[1]

    def test_columns_without_records(self, tmp_path: Path) -> None:
        """`column` gives each record's cell of a field (None for a field the file lacks) and makes no record."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\n" + _rows(30), encoding="utf-8")
        records = read_batch(path).records
        assert isinstance(records, CsvRecords)
        assert records.column("a") == [str(i) for i in range(30)]
        assert records.column("b") == [None] * 30
        assert records.fields == ("county", "a")

    def test_rows_with_empty_cells_are_a_list(self, tmp_path: Path) -> None:
        """A file with an empty cell is read as before, into a list of records."""
        path = tmp_path / "d.csv"
        path.write_text("county,a\n" + _rows(30) + "320999,\n", encoding="utf-8")
        batch = read_batch(path)
        assert not isinstance(batch.records, CsvRecords)
        assert tuple(batch.records) == read_records(path).records

    def test_summaries_of_csv_records_equal_the_interpreter(self, tmp_path: Path) -> None:
        """Graded from the columns of a file with odd cells, each county's summary is the interpreter's."""
        path = tmp_path / "d.csv"
        head = "county,credit_township_share,credit_household_share,case_execution_rate,loans,deposits,npl_ratio,"
        path.write_text(
            head + "awareness_score,satisfaction_score,major_case\n"
            "320581,0.9,0.55,0.8,80,100,0.05,70,67.5,false\n"
            "320582,50%,0.21,0.61,30,100,0.07,55,41,true\n"
            "320583,0.9,abc,0.61,30,0,0.07,55,41,maybe\n"
            "320584,0.9,0.3,0.61,1e2,100,0.07,55,101,否\n"
            + "".join(f"3206{i:02},0.9,0.55,0.8,80,100,0.05,70,67.5,false\n" for i in range(20))
            + "320781,0.9,0.55,0.8,80,100,0.05,70,67.5,maybe\n"
            "320782,0.9,0.55,0.8,80,100,0.05,70,101,false\n"
            "320783,0.9,0.55,0.8,80,0,0.05,70,67.5,false\n"
            "320784,0.9,0.55,x,80,100,0.05,70,67.5,false\n",
            encoding="utf-8",
        )
        compiled = compile_policy(fineco_rules.load_policy(POLICY))
        records = read_batch(path).records
        assert isinstance(records, CsvRecords)
        fast = evaluate_summaries(compiled, records)
        assert fast is not None
        slow = compiled.evaluate(list(read_records(path).records))
        assert fast.summaries() == slow.summaries()
        assert fast.problems == slow.problems
