"""Reading county record files (CSV, JSON, YAML, XLSX) into raw values with their positions.

Owns decoding, format detection and file-level problems; knows nothing about policies.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gc
import io
import itertools
import json
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Final, overload

import attrs

from fineco_rules.errors import Code, DataFileError, Location, Problem, tr
from fineco_rules.io._atomic import os_reason
from fineco_rules.io._limits import (
    MAX_XLSX_BYTES,
    MAX_XLSX_BYTES_ENV,
    MAX_XLSX_CELLS,
    MAX_XLSX_CELLS_ENV,
    how_to_raise,
    limit,
    quoted,
)
from fineco_rules.io._yaml import MAX_NODES as MAX_YAML_NODES
from fineco_rules.io._yaml import DocPath, bad_byte, check_size, parse_yaml

__all__ = [
    "FORMATS",
    "MAX_CELL_CHARS",
    "MAX_RECORD_BYTES",
    "MAX_YAML_NODES",
    "CsvRecords",
    "RawRecord",
    "ReadResult",
    "attach_table",
    "read_batch",
    "read_records",
]

#: Format names by file suffix.
#: The largest CSV, JSON or XLSX record file read (YAML has its own, smaller limit): checked from the size on disk.
MAX_RECORD_BYTES: Final = 256 * 1024 * 1024
#: The longest cell of a record (characters): a number, a code or a name is far shorter. A longer cell refuses its
#: record only; the other records are read.
MAX_CELL_CHARS: Final = 65_536
# The csv module's own limit (131,072 characters, for the whole process) would refuse the whole file at the first
# long cell; ours is per record. It is only ever raised, never lowered, so other users of csv lose nothing.
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))

FORMATS: Final[Mapping[str, str]] = {".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".xlsx": "xlsx"}

_SUPPORTED = tr("use a .csv, .json, .yaml/.yml or .xlsx file, or pass format='csv'|'json'|'yaml'|'xlsx'")
_SHAPE_HINT = tr('give a list of records, e.g. [{"county": "320581", ...}], or an object {"records": [...]}')
_WS = re.compile(r"[ \t\n\r]*")
_KINDS: Final[Mapping[type, str]] = {
    dict: tr("an object"),
    list: tr("a list"),
    str: tr("text"),
    int: tr("a number"),
    Decimal: tr("a number"),
    bool: tr("true/false"),
    type(None): tr("null"),
}

Rows = tuple[list["RawRecord"], list[Problem]]


@attrs.frozen
class _CsvRow:
    """Where a CSV record was read, before its :class:`Location` is needed: most records never need it."""

    file: str
    line: int
    n: int

    def location(self) -> Location:
        return Location(self.file, self.line, path=tr("row {n}", n=self.n))


def _resolved(where: Location | _CsvRow) -> Location:
    return where.location() if type(where) is _CsvRow else where  # type: ignore[return-value]


@attrs.frozen(repr=False)
class RawRecord:
    """One county's raw values by column name (``None`` for an empty cell) and where it was read.

    A CSV reader gives its records the line and row number only; the :class:`Location` is made the first
    time it is read (a record without problems never reads it). Equal records have equal locations.
    """

    values: Mapping[str, object]
    _location: Location | _CsvRow = attrs.field(eq=_resolved)

    @property
    def location(self) -> Location:
        where = self._location
        if type(where) is _CsvRow:
            where = where.location()
            object.__setattr__(self, "_location", where)  # made once; the record stays frozen to its users
        return where  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"RawRecord(values={self.values!r}, location={self.location!r})"


@attrs.frozen
class ReadResult:
    """The records of one file, how it was decoded, and the non-fatal problems met on the way."""

    file: str
    format: str
    encoding: str | None
    records: tuple[RawRecord, ...]
    problems: tuple[Problem, ...]


class CsvRecords(Sequence[RawRecord]):
    """The records of a CSV file whose data rows are all plain (as wide as the header, no empty cell, nothing to
    strip), each made the first time it is read: a grader that reads :meth:`column` makes none of them.

    Every record has the fields :attr:`fields`; the records equal those :func:`read_records` gives.
    """

    __slots__ = ("_file", "_first", "_lines", "_made", "_n", "_rows", "fields")

    def __init__(
        self, first: list[RawRecord], file: str, fields: list[str], rows: list[list[str]], lines: Sequence[int], n: int
    ) -> None:
        #: Every record's fields, in the file's order.
        self.fields: tuple[str, ...] = tuple(fields)
        self._first, self._file, self._rows, self._lines, self._n = first, file, rows, lines, n
        self._made: list[RawRecord | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._first) + len(self._rows)

    @overload
    def __getitem__(self, index: int) -> RawRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[RawRecord]: ...

    def __getitem__(self, index: int | slice) -> RawRecord | list[RawRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        at = index + size if index < 0 else index
        if not 0 <= at < size:
            raise IndexError("record index out of range")
        k = at - len(self._first)
        if k < 0:
            return self._first[at]
        made = self._made[k]
        if made is None:
            where = _CsvRow(self._file, self._lines[k], self._n + k)
            made = self._made[k] = RawRecord(dict(zip(self.fields, self._rows[k], strict=True)), where)
        return made

    def __iter__(self) -> Iterator[RawRecord]:
        return map(self.__getitem__, range(len(self)))

    def column(self, field: str) -> list[object]:
        """Each record's cell of ``field`` (None where it has none), in order, without making the records."""
        first = [r.values.get(field) for r in self._first]
        if field not in self.fields:
            return first + [None] * len(self._rows)
        return first + list(map(operator.itemgetter(self.fields.index(field)), self._rows))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: for code that builds many objects and frees none (a whole file's
    records), which the collector would otherwise walk again and again for nothing. Restored on leaving."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def attach_table(
    records: Iterable[RawRecord], field: str, rows: Iterable[RawRecord]
) -> tuple[list[RawRecord], list[Problem]]:
    """Give each county record the rows (of a lower level) whose ``county`` is its code, as ``field``.

    A county with no rows gets no value (missing); rows whose county is not among the
    records are reported. Rows keep every column but ``county``.
    """
    grouped: dict[str, list[dict[str, object]]] = {}
    first: dict[str, Location] = {}
    for row in rows:
        code = str(row.values.get("county") or "").strip()
        grouped.setdefault(code, []).append({k: v for k, v in row.values.items() if k != "county"})
        first.setdefault(code, row.location)
    out = []
    for record in records:
        code = str(record.values.get("county") or "").strip()
        if code in grouped and field not in record.values:
            record = attrs.evolve(record, values={**record.values, field: grouped[code]})
        out.append(record)
    known = {str(r.values.get("county") or "").strip() for r in out}
    problems = [
        Problem(
            tr("rows for county {code!r} match no county record; they are ignored", code=code),
            attrs.evolve(first[code], field="county"),
            tr("check the county code, or add the county's record"),
            Code.UNMATCHED_ROWS,
        )
        for code in grouped
        if code not in known
    ]
    return out, problems


def read_records(
    path: str | os.PathLike[str], *, format: str | None = None, headers: Mapping[str, str] | None = None
) -> ReadResult:
    """Read a record file; the format comes from the suffix unless ``format`` is given.

    In a CSV or XLSX table, titles above the header row are skipped (with a note); ``headers`` maps other
    names of a column (a policy's labels, from ``fineco_rules.engine._records.header_names``) to the field
    read, which also picks the header row.

    Raises :class:`DataFileError` when the file cannot be read at all; row-level oddities
    (extra cells, items that are not records, no records at all) come back in ``problems``.
    """
    result = read_batch(path, format=format, headers=headers, lazy=False)
    return ReadResult(result.file, result.format, result.encoding, tuple(result.records), result.problems)


@attrs.frozen
class Batch:
    """What :func:`read_batch` read: :class:`ReadResult` whose records may be made as they are read."""

    file: str
    format: str
    encoding: str | None
    records: Sequence[RawRecord]
    problems: tuple[Problem, ...]


def read_batch(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    headers: Mapping[str, str] | None = None,
    lazy: bool = True,
) -> Batch:
    """:func:`read_records`, the records of a CSV file whose rows are all plain as :class:`CsvRecords` (made
    when read) with ``lazy``; a list otherwise."""
    file = str(path)
    fmt = _format(file, format)
    try:
        size = Path(file).stat().st_size
    except OSError:
        size = 0  # _read_bytes says what is wrong
    if fmt == "yaml":  # refused before reading: YAML is slow to parse, and nothing else is that slow
        check_size(file, size, DataFileError, "record files")
    elif size > MAX_RECORD_BYTES:
        raise _error(
            tr(
                "the file is {size:,} bytes, more than the {MAX_RECORD_BYTES:,} bytes allowed for a record file",
                size=size,
                MAX_RECORD_BYTES=MAX_RECORD_BYTES,
            ),
            Location(file),
            tr(
                "split the batch into several files (fineco evaluate takes several), or use fineco "
                "rollup for per-household files"
            ),
            Code.TOO_BIG,
        )
    raw = _read_bytes(file)
    records: Sequence[RawRecord] = []
    problems: list[Problem] = []
    encoding = None if fmt == "xlsx" else "utf-8"
    if raw.strip() and fmt == "xlsx":
        records, problems = _read_xlsx(file, raw, headers)
    elif raw.strip():
        text, encoding, problems = _decode(file, raw, allow_gbk=fmt == "csv")
        if fmt == "csv":
            with paused_gc():  # a record, its dict and its cells per row: nothing to collect
                records, more = _read_csv(file, text, headers, lazy=lazy)
        else:
            records, more = {"json": _read_json, "yaml": _read_yaml}[fmt](file, text)
        problems += more
    if not records:
        problems.append(
            Problem(
                tr("the file holds no records"),
                Location(file),
                tr("add one row (or list item) per county"),
                Code.NO_RECORDS,
            )
        )
    return Batch(file, fmt, encoding, records, tuple(problems))


def _error(message: str, where: Location, hint: str, code: str) -> DataFileError:
    return DataFileError(Problem(message, where, hint, code))


def _format(file: str, given: str | None) -> str:
    suffix = Path(file).suffix.lower()
    fmt = FORMATS.get(suffix) if given is None else given.lower()
    if fmt is None or fmt not in FORMATS.values():
        what = (
            tr("unknown record format {given!r}", given=given)
            if given is not None
            else tr("cannot tell the record format from the suffix {suffix!r}", suffix=suffix)
        )
        raise _error(what, Location(file), _SUPPORTED, Code.UNKNOWN_FORMAT)
    return fmt


def _read_bytes(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except FileNotFoundError:
        raise _error(
            tr("the record file does not exist"),
            Location(file),
            tr("check the folder and the file name, including its suffix"),
            Code.NOT_FOUND,
        ) from None
    except IsADirectoryError:
        raise _error(
            tr("the path is a folder, not a record file"),
            Location(file),
            tr("give the path of a file inside the folder"),
            Code.IS_DIRECTORY,
        ) from None
    except OSError as exc:
        raise _error(
            tr("cannot read the record file: {value}", value=os_reason(exc)),
            Location(file),
            tr("check that you may read it and that no other program has it locked"),
            Code.UNREADABLE,
        ) from None


def _decode(file: str, raw: bytes, *, allow_gbk: bool) -> tuple[str, str, list[Problem]]:
    encoding = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if encoding == "utf-8-sig" else 0)  # the codec counts from after the BOM
    else:
        return text, encoding, _garbled(file, text)
    line, column, guess = bad_byte(raw, bad)
    where = Location(file, line, column)
    if allow_gbk:
        try:
            text = raw.decode("gb18030")  # a superset of GBK, which Chinese Excel writes
        except UnicodeDecodeError:
            pass
        else:
            return (
                text,
                "gb18030",
                [
                    Problem(
                        tr(
                            "the file is not UTF-8 (byte 0x{raw:02x} at offset {bad}); it was read as GBK/GB18030",
                            raw=raw[bad],
                            bad=bad,
                        ),
                        where,
                        tr("check that names read correctly; save as 'CSV UTF-8' to avoid the guess"),
                        Code.DECODED_AS_GBK,
                    )
                ],
            )
    also = tr(" nor GBK") if allow_gbk else ""
    raise _error(
        tr(
            "the file is not UTF-8{also} text (bad byte 0x{raw:02x} at offset {bad}){guess}",
            also=also,
            raw=raw[bad],
            bad=bad,
            guess=guess,
        ),
        where,
        tr("save the file with UTF-8 encoding (in Excel: Save As, 'CSV UTF-8')"),
        Code.NOT_UTF8,
    )


def _garbled(file: str, text: str) -> list[Problem]:
    """A note when UTF-8 text looks like it went through a wrong encoding once (mojibake).

    Two signs: U+FFFD replacement characters (a converter met bytes it could not read), or
    text whose GBK bytes are valid UTF-8 (UTF-8 opened as GBK, then saved as UTF-8).
    """
    if text.isascii():
        return []
    offset = text.find("\ufffd")
    if offset >= 0:
        found = tr("a replacement character (U+FFFD), left where a converter could not read a byte")
    else:
        try:
            text.encode("gb18030").decode("utf-8")
        except UnicodeError:
            return []
        offset = next(i for i, ch in enumerate(text) if not ch.isascii())
        word = _word(text, offset)  # ASCII bytes mean the same in both encodings, so a run converts alone
        found = tr(
            "UTF-8 text once read as GBK: {word!r} is {meant!r} garbled",
            word=word,
            meant=word.encode("gb18030").decode("utf-8"),
        )
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return [
        Problem(
            tr("the text holds {found}; names may read wrong (codes and numbers are not affected)", found=found),
            Location(file, line, column),
            tr("open the original file and save it again as 'CSV UTF-8', without converting it in between"),
            Code.MOJIBAKE,
        )
    ]


def _word(text: str, offset: int) -> str:
    """The run of non-ASCII characters of ``text`` that starts at ``offset``."""
    end = offset
    while end < len(text) and not text[end].isascii():
        end += 1
    return text[offset:end]


def _letters(column: int) -> str:
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def _table(
    file: str,
    rows: Iterable[tuple[int, Sequence[object]]],
    where: Callable[[int, int], str],
    headers: Mapping[str, str] | None = None,
) -> Rows:
    """(line, cells) rows into records; the header is found among the first rows (:func:`header_index`).

    ``where(line, n)`` names the n-th data row (0 for the header) for ``Location.path``. ``headers`` maps
    other names of a column (e.g. a policy's labels) to its field name; such columns are read as the field.
    """
    stream = iter(rows)
    head: list[tuple[int, Sequence[object]]] = []
    for line, cells in stream:
        if not all(cell is None for cell in cells):
            head.append((line, cells))
            if len(head) >= HEADER_SCAN_ROWS:
                break
    if not head:
        return [], []
    header, problems, rest = _head(file, head, where, headers)
    table = _Body(file, header, where, problems)
    for line, cells in itertools.chain(rest, stream):
        table.row(line, cells)
    return table.records, problems


def _head(
    file: str,
    head: list[tuple[int, Sequence[object]]],
    where: Callable[[int, int], str],
    headers: Mapping[str, str] | None,
) -> tuple[list[str], list[Problem], list[tuple[int, Sequence[object]]]]:
    """The header among the first non-blank rows ``head``, the notes about it, and the data rows of ``head``."""
    pick = header_index([cells for _, cells in head], headers)
    line, cells = head[pick]
    header = _header(file, line, list(cells), where(line, 0))
    problems = [_titles_note(file, head[:pick], line)] if pick and not _all_labels(head[:pick], headers) else []
    rest = head[pick + 1 :]
    while rest and _all_labels(rest[:1], headers):  # label rows under a row of field names (a template)
        rest = rest[1:]
    header, renamed = _canonical(header, headers)
    if renamed:
        problems.append(_renamed_note(file, line, where(line, 0), renamed))
    return header, problems, rest


class _Body:
    """The data rows of a table made into records, one row at a time, with the problems of each row."""

    def __init__(self, file: str, header: list[str], where: Callable[[int, int], str], problems: list[Problem]) -> None:
        self.file, self.header, self.where, self.problems = file, header, where, problems
        self.records: list[RawRecord] = []
        self.n = 0  # data rows met so far (blank rows do not count)

    def row(self, line: int, cells: Sequence[object], csv_row: bool = False) -> None:
        """One row of cells (stripped; ``None`` for an empty cell); ``csv_row``: its location is made lazily."""
        if all(cell is None for cell in cells):
            return
        file, header = self.file, self.header
        self.n += 1
        n = self.n
        long = next((i for i, cell in enumerate(cells, 1) if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS), 0)
        if long:
            self.problems.append(_long_cell(file, line, long, self.where(line, n), header, cells))
            return
        extra = [i for i, cell in enumerate(cells[len(header) :], len(header) + 1) if cell is not None]
        if extra:
            self.problems.append(
                Problem(
                    tr(
                        "a value in column {extra} ({value}) lies beyond the {count} named columns; the extra "
                        "cells were ignored",
                        extra=extra[0],
                        value=_letters(extra[0]),
                        count=len(header),
                    ),
                    Location(file, line, extra[0], self.where(line, n)),
                    tr("name the column in the header row, or remove the stray cells"),
                    Code.EXTRA_CELLS,
                )
            )
        values = {name: cells[i] if i < len(cells) else None for i, name in enumerate(header)}
        where = _CsvRow(file, line, n) if csv_row else Location(file, line, path=self.where(line, n))
        self.records.append(RawRecord(values, where))

    def plain(
        self, lines: Sequence[int], rows: list[list[str]], start: int, *, long: bool, lazy: bool = False
    ) -> CsvRecords | None:
        """CSV rows ``start`` on, as the csv module gives them, of a file whose cells need no stripping.

        A row of exactly the header's width, no empty cell and (``long``: checked) no cell longer than
        :data:`MAX_CELL_CHARS` becomes its record directly; any other row goes through :meth:`row`. With ``lazy``,
        when every row is such a row, the records so far and the rows as :class:`CsvRecords`.
        """
        file, header, records = self.file, self.header, self.records
        width = len(header)
        n = self.n
        body = rows[start:]
        if not long and set(map(len, body)) == {width} and all(map(all, body)):  # every row plain: all at once
            if lazy:
                self.n = n + len(body)
                return CsvRecords(records, file, header, body, lines[start:], n + 1)
            # zip's strict check is the width check above; the records are those of the loop below, made in C.
            dicts = map(dict, map(zip, itertools.repeat(header), body))
            places = map(_CsvRow, itertools.repeat(file), lines[start:], range(n + 1, n + 1 + len(body)))
            records.extend(map(RawRecord, dicts, places))
            self.n = n + len(body)
            return None
        for i in range(start, len(rows)):
            cells = rows[i]
            if len(cells) == width and "" not in cells and not (long and max(map(len, cells)) > MAX_CELL_CHARS):
                n += 1
                records.append(RawRecord(dict(zip(header, cells, strict=True)), _CsvRow(file, lines[i], n)))
            else:
                self.n = n
                self.row(lines[i], [cell or None for cell in cells], csv_row=True)
                n = self.n
        self.n = n
        return None


#: How many non-blank rows from the top may hold titles before the header row.
HEADER_SCAN_ROWS: Final = 20
_NUMBERISH: Final = re.compile(r"[-+]?[0-9][0-9.,%]*")


def header_index(rows: Sequence[Sequence[object]], headers: Mapping[str, str] | None = None) -> int:
    """Which of the first non-blank ``rows`` is the header: titles above a table are skipped.

    With ``headers`` (column name → field name), the row naming most known columns wins, rows of
    field names before rows of labels; else the first row as wide as half the widest that holds text
    only (a title is narrow, a data row holds numbers). When nothing fits, the first row.
    """
    known = headers or {}
    best, score = 0, (0, 0)
    for i, cells in enumerate(rows):
        names = [str(cell).strip() for cell in cells if cell is not None]
        here = (sum(name in known for name in names), sum(known.get(name) == name for name in names))
        if here > score:
            best, score = i, here
    if score[0] >= 2:
        return best
    widest = max((sum(cell is not None for cell in cells) for cells in rows), default=0)
    for i, cells in enumerate(rows):
        filled = [cell for cell in cells if cell is not None]
        if len(filled) >= max(2, (widest + 1) // 2) and all(
            isinstance(cell, str) and not _NUMBERISH.fullmatch(cell) for cell in filled
        ):
            return i
    return 0


def _all_labels(rows: Sequence[tuple[int, Sequence[object]]], headers: Mapping[str, str] | None) -> bool:
    """Whether every non-empty cell of ``rows`` is another name of a column (a label row of a template)."""
    if not headers or not rows:
        return False
    names = [str(cell).strip() for _, cells in rows for cell in cells if cell is not None]
    return bool(names) and all(name in headers and headers[name] != name for name in names)


def _canonical(header: list[str], headers: Mapping[str, str] | None) -> tuple[list[str], list[tuple[str, str]]]:
    """``header`` with every other name of a field replaced by the field's name, and the pairs replaced."""
    if not headers:
        return header, []
    out, renamed = [], []
    for name in header:
        field = headers.get(name.strip(), name)
        if field != name and field not in header and field not in out:
            renamed.append((name, field))
            name = field
        out.append(name)
    return out, renamed


def _titles_note(file: str, above: Sequence[tuple[int, Sequence[object]]], line: int) -> Problem:
    first = next(str(cell) for cell in above[0][1] if cell is not None)
    count = len(above)
    return Problem(
        tr(
            "the header is on row {line}; the {count} row(s) above it ({first!r}) were taken as titles and skipped",
            line=line,
            count=count,
            first=first[:40],
        ),
        Location(file, line),
        tr("if the header is not on that row, delete the title rows above it"),
        Code.HEADER_ROW,
    )


def _renamed_note(file: str, line: int, path: str, renamed: Sequence[tuple[str, str]]) -> Problem:
    pairs = ", ".join(f"{name} → {field}" for name, field in renamed[:8])
    more = tr(" … ({count} columns)", count=len(renamed)) if len(renamed) > 8 else ""
    return Problem(
        tr("columns read by the policy's labels: {pairs}{more}", pairs=pairs, more=more),
        Location(file, line, path=path),
        tr("nothing to fix; the field names may be used as headers too"),
        Code.HEADER_LABELS,
    )


def _long_cell(file: str, line: int, column: int, path: str, header: list[str], cells: Sequence[object]) -> Problem:
    """The record refused for one cell longer than :data:`MAX_CELL_CHARS`, named by its line, column and key."""
    size = len(str(cells[column - 1]))
    name = f" {header[column - 1]!r}" if column <= len(header) else ""
    keys = [(h, str(cells[i])) for i, h in enumerate(header[: len(cells)]) if h == "county" and cells[i] is not None]
    who = f" (county {keys[0][1][:40]})" if keys else ""
    return Problem(
        tr(
            "cell {value}{line}{name} holds {size:,} characters, more than the {MAX_CELL_CHARS:,} "
            "allowed in one cell; this record{who} was not read, the others were",
            value=_letters(column),
            line=line,
            name=name,
            size=size,
            MAX_CELL_CHARS=MAX_CELL_CHARS,
            who=who,
        ),
        Location(file, line, column, path),
        tr("a cell holds one number, code or name: check the cell (a stray quote can swallow the rest of a file)"),
        Code.CELL_TOO_LARGE,
    )


def _header(file: str, line: int, cells: list[object], path: str) -> list[str]:
    while cells and cells[-1] is None:  # spreadsheets often carry empty trailing columns
        cells.pop()
    seen: dict[str, int] = {}
    for number, cell in enumerate(cells, 1):
        where = Location(file, line, number, path)
        if cell is None:
            raise _error(
                tr("header column {number} ({value}) has no name", number=number, value=_letters(number)),
                where,
                tr("name every column in the header row, or delete the empty column"),
                Code.BLANK_COLUMN,
            )
        if str(cell) in seen:
            raise _error(
                tr(
                    "header column {number} ({value}) repeats the name {value2!r} of column {seen}",
                    number=number,
                    value=_letters(number),
                    value2=str(cell),
                    seen=seen[str(cell)],
                ),
                where,
                tr("give every column a different name"),
                Code.DUPLICATE_COLUMN,
            )
        seen[str(cell)] = number
    return list(seen)


def _read_csv(
    file: str, text: str, headers: Mapping[str, str] | None = None, *, lazy: bool = False
) -> tuple[Sequence[RawRecord], list[Problem]]:
    """The records of a CSV text: read whole by the csv module, each record's location made only when read.

    Problems and their order are those of reading row by row: a CSV syntax error is raised where the
    reading would have met it (after a header error found before it, before anything found after it).
    """
    rows, lines, broken = _csv_rows(file, text)
    head: list[tuple[int, Sequence[object]]] = []
    used = 0
    for used, row in enumerate(rows, 1):  # used: how many rows the header scan read
        cells = [cell.strip() or None for cell in row]
        if not all(cell is None for cell in cells):
            head.append((lines[used - 1], cells))
            if len(head) >= HEADER_SCAN_ROWS:
                break
    if broken is not None and len(head) < HEADER_SCAN_ROWS:
        raise broken  # met while looking for the header
    if not head:
        return [], []
    header, problems, rest = _head(file, head, _csv_where, headers)
    table = _Body(file, header, _csv_where, problems)
    for line, above in rest:
        table.row(line, above, csv_row=True)
    if '"' not in text and not _SPACE.search(text):  # no cell has spaces to strip: rows go in as they are
        # Unquoted, no cell is longer than its line, nor a line than the text between two line feeds.
        long = len(text) > MAX_CELL_CHARS and max(map(len, text.split("\n"))) > MAX_CELL_CHARS
        batch = table.plain(lines, rows, used, long=long, lazy=lazy and broken is None)
        if batch is not None:
            return batch, problems
    else:
        for i in range(used, len(rows)):
            table.row(lines[i], [cell.strip() or None for cell in rows[i]], csv_row=True)
    if broken is not None:
        raise broken
    return table.records, problems


def _csv_rows(file: str, text: str) -> tuple[list[list[str]], Sequence[int], DataFileError | None]:
    """Every row the csv module reads from ``text``, each row's first line (a quoted cell may span several),
    and the syntax error that stopped the reading, if one did."""
    if '"' not in text:  # without quotes each line is one row: read all at once
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            pass  # read again row by row, to say where
        else:
            return rows, range(1, len(rows) + 1), None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        broken = _error(
            tr("not valid CSV: {exc}", exc=quoted(exc)),
            Location(file, reader.line_num),
            tr('check the quotes on this line; a quote inside a cell is written twice ("")'),
            Code.CSV_SYNTAX,
        )
        return rows, lines, broken
    return rows, lines, None


def _csv_where(line: int, n: int) -> str:
    """What a CSV row is called in its location: ``row n`` (``header`` for the header row)."""
    return tr("row {n}", n=n) if n else tr("header")


#: Whitespace a cell could start or end with, other than the line breaks between rows.
_SPACE: Final = re.compile(r"[^\S\r\n]")


def _read_xlsx(file: str, raw: bytes, headers: Mapping[str, str] | None = None) -> Rows:
    _check_unpacked_size(file, raw)
    try:
        cells, title, formulas, part = _sheet_cells(file, raw, data_only=False)
        if formulas:  # a formula's result is in the cell's saved value, if the writing program saved one
            cached = _sheet_cells(file, raw, data_only=True)[0]
            for row, column in formulas:
                saved = cached[row][column] if row < len(cached) and column < len(cached[row]) else None
                # No saved result: keep the formula text, which validation refuses with a hint, never a number.
                cells[row][column] = cells[row][column] if saved is None else saved
        merged = _merged_ranges(raw, part)
    except DataFileError:
        raise
    except Exception as exc:  # openpyxl fails in many ways (zip, XML, missing parts, no sheet)
        raise _error(
            tr("the file is not a valid .xlsx workbook ({kind}: {exc})", kind=type(exc).__name__, exc=quoted(exc)),
            Location(file),
            tr("open it in Excel and save it again as 'Excel Workbook (.xlsx)'"),
            Code.NOT_XLSX,
        ) from None
    records, problems = _table(file, enumerate(cells, 1), lambda line, n: f"{title}!{line}", headers)
    filled = [n for n, row in enumerate(cells, 1) if any(cell is not None for cell in row)][:HEADER_SCAN_ROWS]
    header = filled[header_index([cells[n - 1] for n in filled], headers)] if filled else 0
    spans = [m for m in merged if m[3] > header and m[:2] != m[2:]]  # merged cells among the data rows
    if spans:
        raise DataFileError(
            Problem(
                tr(
                    "cells {value}{r0}:{value2}{r1} are merged; only {value}{r0} holds a value, the other "
                    "rows or columns would read as empty",
                    value=_letters(c0),
                    r0=r0,
                    value2=_letters(c1),
                    r1=r1,
                ),
                Location(file, r0, c0, f"{title}!{_letters(c0)}{r0}:{_letters(c1)}{r1}"),
                tr("unmerge the cells (Home, Merge & Center) and fill in every county's own value"),
                Code.MERGED_CELLS,
            )
            for c0, r0, c1, r1 in spans
        )
    return records, problems


def _check_unpacked_size(file: str, raw: bytes) -> None:
    """Refuse a workbook that unpacks to more than the limit, from its zip directory, before openpyxl opens it.

    A zip member never yields more than the size its directory entry declares (Python's reader stops
    there), so the sum of the declared sizes bounds what opening the workbook can unpack.
    """
    import zipfile  # only workbooks need it

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip file: openpyxl's error says so, with the hint to save it again
    allowed = limit(MAX_XLSX_BYTES_ENV, MAX_XLSX_BYTES)
    if unpacked > allowed:
        raise _error(
            tr(
                "the workbook unpacks to {unpacked:,} bytes, more than the {allowed:,} bytes allowed",
                unpacked=unpacked,
                allowed=allowed,
            ),
            Location(file),
            tr(
                "save only the sheet of records in the workbook, or give the records as CSV; {value}",
                value=how_to_raise(MAX_XLSX_BYTES_ENV, allowed),
            ),
            Code.TOO_BIG,
        )


def _too_many_cells(file: str, allowed: int) -> DataFileError:
    return _error(
        tr(
            "the workbook's first sheet has more than {allowed:,} cells (empty cells within the used range count)",
            allowed=allowed,
        ),
        Location(file),
        tr(
            "delete the unused rows and columns (a stray value far to the right or below makes every "
            "row that wide), or give the records as CSV; {value}",
            value=how_to_raise(MAX_XLSX_CELLS_ENV, allowed),
        ),
        Code.TOO_BIG,
    )


def _sheet_cells(file: str, raw: bytes, *, data_only: bool) -> tuple[list[list[object]], str, list[Pos2], str | None]:
    """The first sheet's cells (rows from 0), title, formulas' places (without data_only) and part name."""
    import openpyxl  # type: ignore[import-untyped]  # late: it is slow to import and only xlsx needs it

    allowed, seen = limit(MAX_XLSX_CELLS_ENV, MAX_XLSX_CELLS), 0
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong size; read every cell present
        cells: list[list[object]] = []
        formulas: list[Pos2] = []
        for r, row in enumerate(sheet.iter_rows(min_row=1)):
            seen += len(row)
            if seen > allowed:
                raise _too_many_cells(file, allowed)
            values: list[object] = []
            for c, cell in enumerate(row):
                if getattr(cell, "data_type", None) == "f":
                    formulas.append((r, c))
                    values.append(str(getattr(cell.value, "text", cell.value)))  # an array formula keeps .text
                else:
                    values.append(_cell(cell.value))
            cells.append(values)
        part = getattr(sheet, "_worksheet_path", None)  # where the merged ranges are; openpyxl has no public name
        return cells, str(sheet.title), formulas, None if part is None else str(part).lstrip("/")
    finally:
        book.close()


Pos2 = tuple[int, int]
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?\"")
_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")


def _merged_ranges(raw: bytes, part: str | None) -> list[tuple[int, int, int, int]]:
    """The merged ranges (first column, first row, last column, last row) of the sheet in ``part``, from 1.

    openpyxl's fast read-only mode skips them, so they are read from the sheet's XML.
    """
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        if part is None:  # the lowest-numbered sheet, which is the first unless sheets were reordered
            sheets = sorted((int(found[1]), n) for n in archive.namelist() if (found := _SHEET.fullmatch(n)))
            if not sheets:
                return []
            part = sheets[0][1]
        xml = archive.read(part)
    out = []
    for m in _MERGE.finditer(xml):
        c0, r0 = _column(m[1]), int(m[2])
        c1, r1 = (_column(m[3]), int(m[4])) if m[3] else (c0, r0)
        out.append((c0, r0, c1, r1))
    return out


def _column(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _cell(value: object) -> object:
    if isinstance(value, bool | int | Decimal) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest repr is what Excel shows: 0.1, not 0.1000000000000000055
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip() or None


def _records(items: Iterable[tuple[object, Location]]) -> Rows:
    records: list[RawRecord] = []
    problems: list[Problem] = []
    for value, location in items:
        if isinstance(value, dict):
            records.append(RawRecord(value, location))
        else:
            problems.append(
                Problem(
                    tr(
                        "item {path} is {value}, not a record; it was skipped",
                        path=location.path,
                        value=_KINDS.get(type(value), tr("a value")),
                    ),
                    location,
                    tr("write each record as an object of field names and values"),
                    Code.NOT_A_RECORD,
                )
            )
    return records, problems


def _not_a_list(file: str, data: object, line: int, column: int) -> DataFileError:
    return _error(
        tr("expected a list of records, found {value}", value=_KINDS.get(type(data), "a value")),
        Location(file, line, column),
        _SHAPE_HINT,
        Code.BAD_SHAPE,
    )


def _read_json(file: str, text: str) -> Rows:
    try:
        # NaN and Infinity stay the text as written, so validation reports them as not a number.
        data = json.loads(text, parse_float=_json_number, parse_int=_json_int, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise _error(
            tr("not valid JSON: {msg}", msg=quoted(exc.msg)),
            Location(file, exc.lineno, exc.colno),
            tr("check the punctuation here: a missing or trailing comma, or single instead of double quotes"),
            Code.JSON_SYNTAX,
        ) from None
    except (ValueError, RecursionError) as exc:  # a number too long to convert, absurd nesting
        raise _error(
            tr("not valid JSON: {exc}", exc=quoted(exc)),
            Location(file),
            tr("write plain numbers and flat records"),
            Code.JSON_SYNTAX,
        ) from None
    start = _skip(text, 0)
    if isinstance(data, dict):
        if "records" not in data:
            raise _error(tr("the JSON object has no 'records' key"), Location(file, 1, 1), _SHAPE_HINT, Code.BAD_SHAPE)
        data, start = data["records"], [at for key, at in _members(text, start) if key == "records"][-1]
    if not isinstance(data, list):
        raise _not_a_list(file, data, text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start))
    items, line, last = [], 1, 0
    for i, (value, (_, offset)) in enumerate(zip(data, _members(text, start), strict=True)):
        line, last = line + text.count("\n", last, offset), offset  # counted on from the previous item
        items.append((value, Location(file, line, offset - text.rfind("\n", 0, offset), f"[{i}]")))
    return _records(items)


#: Longer integers are read as Decimals: Python refuses to turn text of more than 4,300 digits into an int.
_INT_DIGITS: Final = 4000


def _json_number(text: str) -> Decimal | str:
    """A JSON number with a fraction or exponent, exactly; text the Decimal type cannot hold stays text.

    ``1e400`` is read as ``Decimal("1E+400")`` (validation then says it is out of range, never infinity);
    an exponent past the Decimal type's own limit (``1e999999999999999999999``) stays the text as written,
    so validation reports it as not a number.
    """
    try:
        return Decimal(text)
    except ArithmeticError:
        return text


def _json_int(text: str) -> int | Decimal:
    """A JSON integer; one too long for ``int`` (5,000 digits) becomes a Decimal, refused by range, never a crash."""
    return int(text) if len(text) <= _INT_DIGITS else Decimal(text)


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]  # the pattern matches anywhere


def _members(text: str, pos: int) -> Iterator[tuple[object, int]]:
    """(key, offset of the value) of each member of the valid object or array at ``pos``.

    ``json`` keeps no positions, so the text is walked again to find where each value starts.
    """
    decoder = json.JSONDecoder(parse_float=_json_number, parse_int=_json_int, parse_constant=str)
    close = "}" if text[pos] == "{" else "]"
    pos = _skip(text, pos + 1)
    while text[pos] != close:
        key = None
        if close == "}":
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past the colon
        yield key, pos
        pos = _skip(text, decoder.raw_decode(text, pos)[1])
        if text[pos] == ",":
            pos = _skip(text, pos + 1)


def _read_yaml(file: str, text: str) -> Rows:
    doc = parse_yaml(file, text, error=DataFileError, subject="record files")
    data: object = doc.data
    at: DocPath = ()
    if data is None:
        return [], []
    if isinstance(data, dict):
        if "records" not in data:
            raise _error(tr("the YAML mapping has no 'records' key"), doc.location(()), _SHAPE_HINT, Code.BAD_SHAPE)
        data, at = data["records"], ("records",)
    if not isinstance(data, list):
        where = doc.location(at)
        raise _not_a_list(file, data, where.line or 1, where.column or 1)
    return _records((value, attrs.evolve(doc.location((*at, i)), path=f"[{i}]")) for i, value in enumerate(data))
