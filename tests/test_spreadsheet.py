"""Spreadsheet safety (issue 13): no CSV or XLSX we write holds text a spreadsheet would run as a formula."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from fineco_rules import load_policy, read_records
from fineco_rules.cli import main
from fineco_rules.io._sheet import csv_writer, safe_cell, safe_row  # private unit under test (fineco_rules.io._sheet)
from fineco_rules.report import make_report

from .conftest import ROOT

JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"
HOSTILE = ["=1+2", "@SUM(A1)", "+cmd|'/c calc'!A0", "-2+3", "\tx=1", "\r=1", "＝1+2"]
#: The names that survive reading (the readers strip a leading tab or carriage return).
NAMES = [h for h in HOSTILE if h == h.strip()]


def hostile_data(tmp_path: Path) -> Path:
    """The 2008 example with the first counties' names replaced by formulas."""
    rows = list(csv.reader(io.StringIO(DATA.read_text("utf-8"))))
    for row, name in zip(rows[1:], NAMES, strict=False):
        row[1] = name
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


class TestSafeCell:
    """The one helper every CSV and XLSX writer uses."""

    @pytest.mark.parametrize("text", HOSTILE)
    def test_formula_like_text_gets_a_quote(self, text):
        """Text that begins with = + - @ tab CR (or a full-width form) is written with a leading quote."""
        assert safe_cell(text) == "'" + text

    @pytest.mark.parametrize("value", [Decimal("-1.5"), -3, -0.25, "-12.5", "+7", "-1E+3", "1e-3", "", None, "苏州"])
    def test_numbers_and_plain_text_are_unchanged(self, value):
        """Numbers (a negative number too, as a value or as text) and ordinary text are left alone."""
        assert safe_cell(value) == value

    def test_a_lone_minus_is_text(self):
        """`-` on its own is not a number, so it is neutralised."""
        assert safe_row(["-", "-1", "--1"]) == ["'-", "-1", "'--1"]

    def test_the_csv_writer_neutralises(self):
        """`csv_writer` writes each row through `safe_row`."""
        out = io.StringIO()
        csv_writer(out).writerow(["=1+2", Decimal("-2.50"), "ok"])
        assert out.getvalue() == "'=1+2,-2.50,ok\n"


class TestWriters:
    """Every CSV and XLSX the package writes goes through the helper."""

    def test_evaluate_csv(self, tmp_path, capsys):
        """`fineco evaluate --format csv` writes hostile county names as text; scores stay numbers."""
        code = main(["evaluate", "--policy", str(JIANGSU), str(hostile_data(tmp_path)), "--format", "csv", "-q"])
        out, _ = capsys.readouterr()
        assert code in (0, 1)
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["name"] for r in rows[: len(NAMES)]] == ["'" + h for h in NAMES]
        assert all(r["score"] == "" or Decimal(r["score"]) >= 0 for r in rows)

    def test_report_csv_and_workbook(self, tmp_path):
        """The report's CSV and every sheet of its workbook hold no formula and no unquoted hostile text."""
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        report = make_report(load_policy(JIANGSU), read_records(hostile_data(tmp_path)).records)
        rows = list(csv.DictReader(io.StringIO(report.csv("en"))))
        assert sorted(r["name"] for r in rows if r["name"].lstrip("'") in NAMES) == sorted("'" + h for h in NAMES)
        book = load_workbook(io.BytesIO(report.xlsx()))
        cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
        assert [c for c in cells if c.data_type == "f"] == []
        names = {c.value for c in cells if isinstance(c.value, str) and c.value.lstrip("'") in NAMES}
        assert names == {"'" + h for h in NAMES}
        assert any(isinstance(c.value, float | int) for c in book["各县"]["E"][1:])

    def test_no_other_module_makes_a_csv_writer(self):
        """Only fineco_rules/io/_sheet.py calls `csv.writer` or `csv.DictWriter`."""
        makers = []
        for path in sorted((ROOT / "fineco_rules").rglob("*.py")) + sorted((ROOT / "plugins").rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                named = isinstance(node, ast.Attribute) and node.attr in {"writer", "DictWriter"}
                if named and isinstance(node.value, ast.Name) and node.value.id == "csv":  # type: ignore[attr-defined]
                    makers.append(path.relative_to(ROOT).as_posix())
        assert makers == ["fineco_rules/io/_sheet.py"]
