"""Streaming CSV files in chunks: one reader for the columnar path and the roll-up.

The encoding is found the same way for every streamed file: UTF-8 (a BOM is dropped) unless the first
64 KiB hold a byte that is not UTF-8, then GB18030 (a superset of the GBK that Chinese Excel writes), as
:func:`fineco_rules.io._readers.read_records` reads a whole file. Rows come as columns of text cells
(trimmed, an empty cell missing) with the line each row was read from; rows with the wrong number of
cells are reported through a callback and skipped. :func:`csv_chunks` needs only the standard library;
:func:`arrow_chunks` uses pyarrow's streaming reader (the ``columnar`` extra) and also gives each chunk
as an Arrow table.
"""

from __future__ import annotations

import codecs
import csv
import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from fineco_rules.errors import Code, DataFileError, Location, Problem, tr
from fineco_rules.io._atomic import os_reason
from fineco_rules.io._limits import quoted

__all__ = [
    "SNIFF_BYTES",
    "Chunk",
    "Columns",
    "arrow_chunks",
    "arrow_encoding",
    "csv_chunks",
    "file_error",
    "has_arrow",
    "read_header",
    "sniff_encoding",
    "width_problem",
]

#: How much of a file decides its encoding.
SNIFF_BYTES: Final = 1 << 16
_SAVE_AS: Final = tr("save it as 'CSV UTF-8' (GBK, as Chinese Excel writes it, is read too)")


def sniff_encoding(file: str) -> str:
    """``"utf-8-sig"`` (a BOM), ``"utf-8"``, or ``"gb18030"`` when the first :data:`SNIFF_BYTES` hold a
    byte that is not UTF-8 (not just a character cut at the end of the sample)."""
    with open(file, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < SNIFF_BYTES or exc.start < len(head) - 4:
            return "gb18030"
    return "utf-8"


def arrow_encoding(file: str) -> str:
    """The encoding to give pyarrow's CSV reader (it drops a UTF-8 BOM itself)."""
    found = sniff_encoding(file)
    return "utf8" if found.startswith("utf-8") else found


def read_header(file: str) -> list[str]:
    """The header row's column names, trimmed; refused when absent, blank or repeated."""
    try:
        with open(file, encoding=sniff_encoding(file), newline="") as handle:
            first = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise file_error(
            tr("the household file does not exist"), file, tr("check the folder and file name"), Code.NOT_FOUND
        ) from None
    except IsADirectoryError:
        raise file_error(
            tr("the path is a folder, not a file"), file, tr("give a CSV file"), Code.IS_DIRECTORY
        ) from None
    except UnicodeDecodeError:
        raise file_error(tr("the file is neither UTF-8 nor GBK text"), file, _SAVE_AS, Code.NOT_UTF8) from None
    except OSError as exc:
        raise file_error(
            tr("cannot read the file: {value}", value=os_reason(exc)),
            file,
            tr("check that you may read it"),
            Code.UNREADABLE,
        ) from None
    if not first or not any(cell.strip() for cell in first):
        raise file_error(
            tr("the file holds no header row"), file, tr("write the column names on the first line"), Code.NO_RECORDS
        )
    names = [cell.strip() for cell in first]
    for number, name in enumerate(names, 1):
        if not name:
            raise file_error(
                tr("header column {number} has no name", number=number),
                file,
                tr("name every column"),
                Code.BLANK_COLUMN,
                1,
            )
        if names.index(name) != number - 1:
            raise file_error(
                tr("header column {number} repeats the name {name!r}", number=number, name=name),
                file,
                tr("give every column a different name"),
                Code.DUPLICATE_COLUMN,
                1,
            )
    return names


def file_error(message: str, file: str, hint: str, code: str, line: int | None = None) -> DataFileError:
    return DataFileError(Problem(message, Location(file, line), hint, code))


#: A chunk: the line of each row, the columns (field -> cells), and the same rows as an Arrow table or None.
Chunk = tuple[list[int], Mapping[str, list[object]], Any]


def csv_chunks(file: str, names: Sequence[str], chunk_rows: int, bad: Callable[[Problem], None]) -> Iterator[Chunk]:
    """Chunks read with the csv module (no pyarrow needed): exact line numbers, any quoting, slower."""
    with open(file, encoding=sniff_encoding(file), newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        lines: list[int] = []
        columns: dict[str, list[object]] = {n: [] for n in names}
        start = reader.line_num + 1
        try:
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(names):
                    bad(width_problem(file, line, len(names), len(cells)))
                    continue
                for name, cell in zip(names, cells, strict=True):
                    columns[name].append(cell.strip() or None)
                lines.append(line)
                if len(lines) == chunk_rows:
                    yield lines, columns, None
                    lines, columns = [], {n: [] for n in names}
        except csv.Error as exc:
            raise file_error(
                tr("not valid CSV: {exc}", exc=quoted(exc)),
                file,
                tr("check the quotes on this line"),
                Code.CSV_SYNTAX,
                reader.line_num,
            ) from None
        except UnicodeDecodeError:
            raise file_error(tr("the file is neither UTF-8 nor GBK text"), file, _SAVE_AS, Code.NOT_UTF8) from None
        if lines:
            yield lines, columns, None


def width_problem(file: str, line: int, expected: int, found: int) -> Problem:
    return Problem(
        tr("the row has {found} cells, the header {expected}; it was skipped", found=found, expected=expected),
        Location(file, line),
        tr("give every row one cell per header column (a comma inside a value needs quotes)"),
        Code.BAD_ROW,
    )


def arrow_chunks(
    file: str,
    names: Sequence[str],
    chunk_rows: int,
    bad: Callable[[Problem], None],
    block_bytes: int = 1 << 22,
) -> Iterator[Chunk]:
    """Chunks read with pyarrow's streaming CSV reader: every cell as text, line numbers exact.

    The reader parses ``block_bytes`` of the file at a time and reads ahead in the background, holding
    up to some 32 blocks (about 150 MiB at the default 4 MiB): a smaller block bounds that buffer.

    Blank lines are read as rows of nulls (then dropped) and rows with the wrong number of cells are
    reported and skipped, so each row's line is known; a quoted cell spanning lines is refused.
    """
    import pyarrow as pa  # late: optional (the columnar extra)
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    skipped: list[int] = []  # lines of rows with the wrong number of cells, reported as they are parsed

    def invalid(row: Any) -> str:
        line = row.number if row.number is not None else 0
        bad(width_problem(file, line, row.expected_columns, row.actual_columns))
        heapq.heappush(skipped, line)
        return "skip"

    try:
        reader = pacsv.open_csv(
            file,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=block_bytes, encoding=arrow_encoding(file)),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],  # only an empty cell is missing: "n/a" or "NULL" must be reported as written
            ),
        )
    except pa.ArrowInvalid as exc:
        raise file_error(
            tr("not valid CSV: {exc}", exc=quoted(exc)),
            file,
            tr("check that the file is UTF-8 (or GBK) CSV"),
            Code.CSV_SYNTAX,
        ) from None
    line = 1
    tables: list[Any] = []
    lines: list[int] = []
    try:
        for batch in reader:
            for _ in range(batch.num_rows):  # the line of each row, stepping over the skipped ones
                line += 1
                while skipped and skipped[0] <= line:
                    if heapq.heappop(skipped) == line:
                        line += 1
                lines.append(line)
            # Cells are trimmed and an empty one is missing, as the csv module path reads them.
            trimmed = [pc.utf8_trim_whitespace(column) for column in batch.columns]
            cells = [pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column) for column in trimmed]
            batch = pa.RecordBatch.from_arrays(cells, names=batch.schema.names)
            blank = None
            for column in cells:
                blank = pc.is_null(column) if blank is None else pc.and_(blank, pc.is_null(column))
            keep = pc.invert(blank) if blank is not None else None
            if keep is not None and not pc.all(keep).as_py():
                flags = keep.to_pylist()
                head, tail = lines[: len(lines) - batch.num_rows], lines[len(lines) - batch.num_rows :]
                lines = head + [n for n, k in zip(tail, flags, strict=True) if k]
                batch = batch.filter(keep)
            tables.append(pa.Table.from_batches([batch]))
            size = sum(table.num_rows for table in tables)
            while size >= chunk_rows:
                whole = pa.concat_tables(tables)
                part, rest = whole.slice(0, chunk_rows), whole.slice(chunk_rows)
                yield lines[:chunk_rows], Columns(part), part
                lines, tables, size = lines[chunk_rows:], [rest], rest.num_rows
    except pa.ArrowInvalid as exc:
        text = str(exc)
        hint = _SAVE_AS if "UTF8" in text else tr("check the quotes and cells near here")
        raise file_error(tr("not valid CSV: {text}", text=quoted(text)), file, hint, Code.CSV_SYNTAX) from None
    if lines:
        whole = pa.concat_tables(tables)
        yield lines, Columns(whole), whole


class Columns(Mapping[str, list[object]]):
    """An Arrow table's columns as Python lists, each converted the first time it is asked for."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.names = list(table.column_names)
        self.done: dict[str, list[object]] = {}

    def __getitem__(self, name: str) -> list[object]:
        if name not in self.done:
            if name not in self.names:
                raise KeyError(name)
            self.done[name] = self.table.column(name).to_pylist()
        return self.done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def has_arrow() -> bool:
    """Whether pyarrow's CSV reader can be imported (the ``columnar`` extra)."""
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True
