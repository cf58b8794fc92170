"""Tests for reading record files: CSV, JSON, YAML and XLSX into raw values with positions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

from fineco_rules.errors import DataFileError, Location
from fineco_rules.io import RawRecord, ReadResult, read_records


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def codes(result: ReadResult) -> list[str]:
    return [p.code for p in result.problems]


class TestCsv:
    def test_utf8_values_and_locations(self, tmp_path: Path) -> None:
        """A plain UTF-8 CSV gives stripped string cells, line numbers and row paths."""
        path = write(tmp_path, "r.csv", "county,name,npl\n320581, 常熟市 ,0.012\n110101,东城区,0.02\n")
        result = read_records(path)
        assert result.format == "csv"
        assert result.encoding == "utf-8"
        assert result.problems == ()
        assert result.records == (
            RawRecord({"county": "320581", "name": "常熟市", "npl": "0.012"}, Location(str(path), 2, path="row 1")),
            RawRecord({"county": "110101", "name": "东城区", "npl": "0.02"}, Location(str(path), 3, path="row 2")),
        )

    def test_utf8_bom(self, tmp_path: Path) -> None:
        """A BOM is dropped from the first column name and reported as utf-8-sig."""
        path = write(tmp_path, "r.csv", "\ufeffcounty,name\n320581,常熟市\n".encode())
        result = read_records(path)
        assert result.encoding == "utf-8-sig"
        assert result.records[0].values == {"county": "320581", "name": "常熟市"}

    def test_gbk_with_chinese_names(self, tmp_path: Path) -> None:
        """A GBK file (Chinese Excel) is read as GB18030 with a warning at the first non-UTF-8 line."""
        path = write(tmp_path, "r.csv", "county,name\n320581,常熟市\n110101,东城区\n".encode("gbk"))
        result = read_records(path)
        assert result.encoding == "gb18030"
        assert [r.values["name"] for r in result.records] == ["常熟市", "东城区"]
        assert codes(result) == ["decoded-as-gbk"]
        assert result.problems[0].location == Location(str(path), 2, 8)
        assert "UTF-8" in (result.problems[0].hint or "")

    def test_undecodable_bytes(self, tmp_path: Path) -> None:
        """Bytes that are neither UTF-8 nor GBK raise with the offset and line of the first bad byte."""
        path = write(tmp_path, "r.csv", b"county,name\n320581,\xff\xff\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        problem = err.value.problem
        assert problem.code == "not-utf8"
        assert "offset 19" in problem.message
        assert problem.location == Location(str(path), 2, 8)
        assert problem.hint == "save the file with UTF-8 encoding (in Excel: Save As, 'CSV UTF-8')"

    def test_quoted_multiline_cell_line_numbers(self, tmp_path: Path) -> None:
        """A row's line is where it starts, counting lines inside quoted cells."""
        path = write(tmp_path, "r.csv", 'county,note\n1,"two\nlines"\n2,"three\nmore\nlines"\n3,x\n')
        result = read_records(path)
        assert [r.location.line for r in result.records] == [2, 4, 7]
        assert result.records[1].values["note"] == "three\nmore\nlines"

    def test_empty_and_missing_cells_are_none(self, tmp_path: Path) -> None:
        """Empty or blank cells, and cells missing from a short row, are None."""
        path = write(tmp_path, "r.csv", "county,a,b\n1,,  \n2\n")
        result = read_records(path)
        assert [r.values for r in result.records] == [
            {"county": "1", "a": None, "b": None},
            {"county": "2", "a": None, "b": None},
        ]
        assert result.problems == ()

    def test_blank_rows_skipped(self, tmp_path: Path) -> None:
        """Blank rows are skipped; row paths count data rows, lines count physical lines."""
        path = write(tmp_path, "r.csv", "county\n\n1\n , \n2\n")
        result = read_records(path)
        assert [(r.values["county"], r.location.line, r.location.path) for r in result.records] == [
            ("1", 3, "row 1"),
            ("2", 5, "row 2"),
        ]

    def test_duplicate_header(self, tmp_path: Path) -> None:
        """A repeated column name raises at line 1 with its column number."""
        path = write(tmp_path, "r.csv", "county,npl,npl\n1,2,3\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        problem = err.value.problem
        assert problem.code == "duplicate-column"
        assert problem.location == Location(str(path), 1, 3, "header")
        assert problem.message == "header column 3 (C) repeats the name 'npl' of column 2"
        assert problem.hint == "give every column a different name"

    def test_blank_header_column(self, tmp_path: Path) -> None:
        """An unnamed column between named ones raises with its column number."""
        path = write(tmp_path, "r.csv", "county,,npl\n1,2,3\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "blank-column"
        assert err.value.problem.location.column == 2
        assert err.value.problem.location.line == 1

    def test_trailing_empty_header_columns_ignored(self, tmp_path: Path) -> None:
        """Empty trailing header cells (a spreadsheet artefact) are dropped, as are empty extra cells."""
        path = write(tmp_path, "r.csv", "county,npl,,\n1,2,,\n")
        result = read_records(path)
        assert result.records[0].values == {"county": "1", "npl": "2"}
        assert result.problems == ()

    def test_extra_cells_keep_the_record(self, tmp_path: Path) -> None:
        """A row longer than the header keeps its known columns and adds an extra-cells problem."""
        path = write(tmp_path, "r.csv", "county,npl\n1,2\n3,4,5,6\n")
        result = read_records(path)
        assert [r.values for r in result.records] == [{"county": "1", "npl": "2"}, {"county": "3", "npl": "4"}]
        assert codes(result) == ["extra-cells"]
        assert result.problems[0].location == Location(str(path), 3, 3, "row 2")


class TestJson:
    def test_list_of_objects_with_exact_values(self, tmp_path: Path) -> None:
        """Numbers are Decimal as written, ints stay int, and other JSON values pass through."""
        path = write(
            tmp_path,
            "r.json",
            '[{"county": "320581", "npl": 0.1, "n": 3, "ok": true, "x": null, "deep": {"a": [1.5]}}]',
        )
        result = read_records(path)
        assert result.format == "json"
        assert result.encoding == "utf-8"
        values = result.records[0].values
        assert values == {
            "county": "320581",
            "npl": Decimal("0.1"),
            "n": 3,
            "ok": True,
            "x": None,
            "deep": {"a": [Decimal("1.5")]},
        }
        assert type(values["npl"]) is Decimal
        assert type(values["n"]) is int

    def test_records_key_form_with_locations(self, tmp_path: Path) -> None:
        """{"records": [...]} is accepted; each record is located by its start line, column and index."""
        text = '{\n  "source": "x",\n  "records": [\n    {"county": "1"},\n    {"county": "2"}\n  ]\n}\n'
        path = write(tmp_path, "r.json", text)
        result = read_records(path)
        assert [r.location for r in result.records] == [
            Location(str(path), 4, 5, "[0]"),
            Location(str(path), 5, 5, "[1]"),
        ]
        assert [r.values["county"] for r in result.records] == ["1", "2"]

    def test_nan_kept_as_text(self, tmp_path: Path) -> None:
        """NaN and Infinity stay as their text, so validation reports them as not a number."""
        path = write(tmp_path, "r.json", '[{"a": NaN, "b": -Infinity}]')
        assert read_records(path).records[0].values == {"a": "NaN", "b": "-Infinity"}

    def test_item_that_is_not_an_object(self, tmp_path: Path) -> None:
        """A list item that is not an object is skipped with a not-a-record problem."""
        path = write(tmp_path, "r.json", '[{"county": "1"},\n 5,\n {"county": "2"}]')
        result = read_records(path)
        assert [r.location.path for r in result.records] == ["[0]", "[2]"]
        assert codes(result) == ["not-a-record"]
        assert result.problems[0].location == Location(str(path), 2, 2, "[1]")
        assert result.problems[0].message == "item [1] is a number, not a record; it was skipped"

    def test_invalid_json_line_and_column(self, tmp_path: Path) -> None:
        """A syntax error raises with the line and column json reports."""
        path = write(tmp_path, "r.json", '[\n  {"county": "1"},\n  {"county" "2"}\n]')
        with pytest.raises(DataFileError) as err:
            read_records(path)
        problem = err.value.problem
        assert problem.code == "json-syntax"
        assert (problem.location.line, problem.location.column) == (3, 13)
        assert problem.hint is not None

    def test_object_without_records_key(self, tmp_path: Path) -> None:
        """A top-level object needs a 'records' key."""
        path = write(tmp_path, "r.json", '{"county": "1"}')
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "bad-shape"
        assert err.value.problem.message == "the JSON object has no 'records' key"

    def test_records_not_a_list(self, tmp_path: Path) -> None:
        """'records' must hold a list; the error points at its value."""
        path = write(tmp_path, "r.json", '{\n "records": {"county": "1"}}')
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.location == Location(str(path), 2, 13)
        assert err.value.problem.message == "expected a list of records, found an object"

    def test_bom_accepted(self, tmp_path: Path) -> None:
        """A UTF-8 BOM before the JSON text is allowed."""
        path = write(tmp_path, "r.json", '\ufeff[{"county": "1"}]'.encode())
        result = read_records(path)
        assert result.encoding == "utf-8-sig"
        assert result.records[0].values == {"county": "1"}

    def test_not_utf8(self, tmp_path: Path) -> None:
        """JSON must be UTF-8; GBK is not guessed."""
        path = write(tmp_path, "r.json", '[{"name": "常熟市"}]'.encode("gbk"))
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "not-utf8"
        assert "offset 11" in err.value.problem.message


class TestYaml:
    def test_exact_scalars(self, tmp_path: Path) -> None:
        """Floats are Decimal of the source text; ints, bools, nulls, dates and infinities as specified."""
        text = (
            "- county: '320581'\n  npl: 0.0599995\n  n: 1_000\n  hex: 0x1f\n  ok: yes\n"
            "  none: ~\n  when: 2024-01-31\n  inf: .inf\n  big: 1.0e+3\n"
        )
        result = read_records(write(tmp_path, "r.yaml", text))
        assert result.format == "yaml"
        assert result.records[0].values == {
            "county": "320581",
            "npl": Decimal("0.0599995"),
            "n": 1000,
            "hex": 31,
            "ok": True,
            "none": None,
            "when": "2024-01-31",
            "inf": ".inf",
            "big": Decimal("1.0e+3"),
        }
        assert str(result.records[0].values["npl"]) == "0.0599995"

    def test_records_key_form_with_locations(self, tmp_path: Path) -> None:
        """records: [...] is accepted; each record is located at its node's line and column."""
        path = write(tmp_path, "r.yml", "source: x\nrecords:\n  - county: '1'\n  -   county: '2'\n")
        result = read_records(path)
        assert [r.location for r in result.records] == [
            Location(str(path), 3, 5, "[0]"),
            Location(str(path), 4, 7, "[1]"),
        ]

    def test_python_tag_rejected(self, tmp_path: Path) -> None:
        """A python tag is refused at its node, and nothing is constructed."""
        path = write(tmp_path, "r.yaml", "- county: '1'\n  x: !!python/object/apply:os.system ['echo hi']\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        problem = err.value.problem
        assert problem.code == "bad-tag"
        assert problem.location == Location(str(path), 2, 6, "[0].x")
        assert problem.hint == "record files hold plain values only; remove the `!` tag"

    def test_duplicate_key(self, tmp_path: Path) -> None:
        """A key repeated in one record raises at the second key."""
        path = write(tmp_path, "r.yaml", "- county: '1'\n  npl: 0.1\n  npl: 0.2\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "duplicate-key"
        assert err.value.problem.location == Location(str(path), 3, 3, "[0].npl")

    def test_alias_bomb_rejected(self, tmp_path: Path) -> None:
        """A billion-laughs document is refused from its computed size, without expanding it."""
        lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        lines.append(f"records: [{', '.join(['*a8'] * 9)}]")
        path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "too-large"
        assert err.value.problem.hint is not None

    def test_self_referencing_alias(self, tmp_path: Path) -> None:
        """An alias inside its own anchor is refused rather than recursing forever."""
        path = write(tmp_path, "r.yaml", "records: &a [*a]\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "too-large"

    def test_syntax_error_line_and_column(self, tmp_path: Path) -> None:
        """A YAML syntax error raises with the line and column of the problem mark."""
        path = write(tmp_path, "r.yaml", "- county: '1'\n  npl: 0.1\n\tname: x\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "yaml-syntax"
        assert (err.value.problem.location.line, err.value.problem.location.column) == (3, 1)
        assert "'\\t'" in err.value.problem.message

    def test_item_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        """A list item that is not a mapping is skipped with a not-a-record problem."""
        path = write(tmp_path, "r.yaml", "- county: '1'\n- just text\n")
        result = read_records(path)
        assert len(result.records) == 1
        assert codes(result) == ["not-a-record"]
        assert result.problems[0].location == Location(str(path), 2, 3, "[1]")

    def test_scalar_document(self, tmp_path: Path) -> None:
        """A document that is neither a list nor a mapping raises bad-shape."""
        with pytest.raises(DataFileError) as err:
            read_records(write(tmp_path, "r.yaml", "hello\n"))
        assert err.value.problem.code == "bad-shape"


def xlsx(tmp_path: Path, rows: list[tuple[int, list[object]]], title: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row, cells in rows:
        for column, value in enumerate(cells, 1):
            sheet.cell(row=row, column=column, value=value)
    path = tmp_path / "r.xlsx"
    book.save(path)
    return path


class TestXlsx:
    def test_values_and_row_numbers(self, tmp_path: Path) -> None:
        """Floats become Decimal of their repr; ints, bools, dates and strings as specified; Excel row numbers."""
        path = xlsx(
            tmp_path,
            [
                (1, ["county", "npl", "n", "ok", "when", "name"]),
                (2, [320581, 0.1, 7, True, dt.datetime(2024, 1, 31), "  常熟市 "]),
                (5, [110101, 0.0599995, None, False, dt.date(2024, 2, 1), "   "]),
            ],
            title="数据",
        )
        result = read_records(path)
        assert result.format == "xlsx"
        assert result.encoding is None
        assert result.problems == ()
        assert result.records == (
            RawRecord(
                {
                    "county": 320581,
                    "npl": Decimal("0.1"),
                    "n": 7,
                    "ok": True,
                    "when": "2024-01-31T00:00:00",
                    "name": "常熟市",
                },
                Location(str(path), 2, path="数据!2"),
            ),
            RawRecord(
                {
                    "county": 110101,
                    "npl": Decimal("0.0599995"),
                    "n": None,
                    "ok": False,
                    "when": "2024-02-01T00:00:00",
                    "name": None,
                },
                Location(str(path), 5, path="数据!5"),
            ),
        )

    def test_header_after_blank_rows(self, tmp_path: Path) -> None:
        """The header is the first row with a value; extra cells are reported with their row."""
        path = xlsx(tmp_path, [(3, ["county", "npl"]), (4, ["1", 2, "stray"])])
        result = read_records(path)
        assert result.records[0].values == {"county": "1", "npl": 2}
        assert result.records[0].location.line == 4
        assert codes(result) == ["extra-cells"]
        assert result.problems[0].location == Location(str(path), 4, 3, "Sheet1!4")

    def test_duplicate_header(self, tmp_path: Path) -> None:
        """A repeated column name raises at the header row with its column number."""
        path = xlsx(tmp_path, [(2, ["county", "npl", "county"]), (3, [1, 2, 3])])
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "duplicate-column"
        assert err.value.problem.location == Location(str(path), 2, 3, "Sheet1!2")

    def test_not_a_workbook(self, tmp_path: Path) -> None:
        """Bytes that are not an xlsx workbook raise not-xlsx with a hint."""
        path = write(tmp_path, "r.xlsx", b"county,npl\n1,2\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "not-xlsx"
        assert err.value.problem.message.startswith("the file is not a valid .xlsx workbook")
        assert err.value.problem.hint == "open it in Excel and save it again as 'Excel Workbook (.xlsx)'"

    def test_header_only(self, tmp_path: Path) -> None:
        """A sheet with only a header gives no records and a no-records problem."""
        result = read_records(xlsx(tmp_path, [(1, ["county", "npl"])]))
        assert result.records == ()
        assert codes(result) == ["no-records"]


class TestErrors:
    @pytest.mark.parametrize("name", ["r.csv", "r.json", "r.yaml", "r.xlsx"])
    def test_empty_file(self, tmp_path: Path, name: str) -> None:
        """An empty file gives zero records and a no-records problem, not an exception."""
        result = read_records(write(tmp_path, name, b""))
        assert result.records == ()
        assert codes(result) == ["no-records"]
        assert result.problems[0].hint is not None

    def test_header_only_csv(self, tmp_path: Path) -> None:
        """A CSV with only a header gives zero records and a no-records problem."""
        result = read_records(write(tmp_path, "r.csv", "county,npl\n"))
        assert result.records == ()
        assert codes(result) == ["no-records"]

    def test_empty_json_list(self, tmp_path: Path) -> None:
        """An empty JSON list gives zero records and a no-records problem."""
        assert codes(read_records(write(tmp_path, "r.json", "[]"))) == ["no-records"]

    def test_unknown_suffix(self, tmp_path: Path) -> None:
        """An unknown suffix raises with a hint listing the supported formats."""
        path = write(tmp_path, "r.txt", "county\n1\n")
        with pytest.raises(DataFileError) as err:
            read_records(path)
        problem = err.value.problem
        assert problem.code == "unknown-format"
        assert problem.message == "cannot tell the record format from the suffix '.txt'"
        assert problem.hint == "use a .csv, .json, .yaml/.yml or .xlsx file, or pass format='csv'|'json'|'yaml'|'xlsx'"

    def test_format_argument_overrides_suffix(self, tmp_path: Path) -> None:
        """format= reads a file whatever its suffix."""
        result = read_records(write(tmp_path, "r.txt", "county\n1\n"), format="csv")
        assert result.records[0].values == {"county": "1"}

    def test_unknown_format_argument(self, tmp_path: Path) -> None:
        """An unsupported format= raises unknown-format."""
        with pytest.raises(DataFileError) as err:
            read_records(write(tmp_path, "r.csv", "county\n1\n"), format="xls")
        assert err.value.problem.code == "unknown-format"

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file raises not-found naming the path."""
        path = tmp_path / "nope.csv"
        with pytest.raises(DataFileError) as err:
            read_records(path)
        assert err.value.problem.code == "not-found"
        assert err.value.problem.location == Location(str(path))
        assert err.value.problem.hint == "check the folder and the file name, including its suffix"
        assert isinstance(err.value, OSError)

    def test_directory(self, tmp_path: Path) -> None:
        """A folder raises is-directory."""
        folder = tmp_path / "data.csv"
        folder.mkdir()
        with pytest.raises(DataFileError) as err:
            read_records(folder)
        assert err.value.problem.code == "is-directory"
