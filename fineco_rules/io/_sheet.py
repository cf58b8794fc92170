"""Cells of every CSV and XLSX file we write, made safe to open in a spreadsheet.

A cell of text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by Excel, WPS and LibreOffice as a formula (CSV injection: a county name ``=HYPERLINK(...)`` in
a data file would run when the report is opened). As OWASP advises, such text is written with a
leading ``'``, which spreadsheets show as text. The full-width forms (``＝ ＋ － ＠``) are
treated the same, since Chinese input methods type them. Numbers stay numbers: an ``int``,
``float`` or ``Decimal`` cell is left alone, and so is text that is exactly a plain number
(``-12.5``, ``1e-3``), so a negative score is still a number in the sheet.

Every writer of CSV goes through :func:`csv_writer` and every worksheet through :func:`safe_sheet`
before it is saved (a test checks that no other module makes a ``csv.writer``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Final, Protocol

__all__ = ["FORMULA_STARTS", "csv_writer", "safe_cell", "safe_row", "safe_sheet"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS: Final = frozenset("=+-@\t\r＝＋－＠")
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` for a spreadsheet cell: text that would be read as a formula gets a leading ``'``."""
    if not isinstance(value, str) or not value or value[0] not in FORMULA_STARTS:
        return value
    if _NUMBER.fullmatch(value):
        return value  # a number written as text, e.g. "-12.5": a number, not a formula
    return "'" + value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row with every cell made safe (:func:`safe_cell`); numbers and empty cells unchanged."""
    return [safe_cell(v) for v in values]


class _Writes(Protocol):
    def write(self, text: str, /) -> int: ...


class SafeWriter:
    """A ``csv.writer`` whose every row goes through :func:`safe_row`."""

    def __init__(self, out: _Writes) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(safe_row(row))


def csv_writer(out: _Writes) -> SafeWriter:
    """A CSV writer (``\\n`` line ends) that neutralises formula-like text cells."""
    return SafeWriter(out)


def safe_sheet(sheet: Any) -> None:
    """Make every text cell of an openpyxl worksheet safe, in place (openpyxl stores ``=...`` text as a formula)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = safe_cell(cell.value)
