"""Issue 17, for the people in the offices: Excel-proof reading, the data-collection workbook, CSV for Excel."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

import fineco_rules
from fineco_rules.cli import main
from fineco_rules.engine._records import header_names
from fineco_rules.io._readers import read_records

from .conftest import ROOT

POLICY = ROOT / "policies" / "jiangsu" / "jiangsu-2010.yaml"
DATA = ROOT / "examples" / "jiangsu-2010.csv"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(scope="module")
def policy() -> fineco_rules.Policy:
    return fineco_rules.load_policy(POLICY)


def example_rows() -> list[list[str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def relabelled(policy: fineco_rules.Policy, lang: str) -> list[list[str]]:
    """The example rows with each input column titled by its label in ``lang``."""
    rows = example_rows()
    rows[0] = [policy.inputs[h].label.get(lang) if h in policy.inputs else h for h in rows[0]]
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), "utf-8")
    return path


class TestHeaderRow:
    """Titles above the header row are skipped, and a note says which row was the header."""

    def test_xlsx_title_row_above_header(self, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """An XLSX with a merged title row above the header grades every county, noting row 2."""
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["无锡市金融生态县考核数据（2010年）"])
        sheet.merge_cells("A1:F1")
        rows = example_rows()
        for row in rows:
            sheet.append(row)
        book.save(tmp_path / "wuxi.xlsx")
        read = read_records(tmp_path / "wuxi.xlsx", headers=header_names(policy))
        assert len(read.records) == len(rows) - 1
        assert [(p.code, p.location.line) for p in read.problems] == [("header-row", 2)]
        title = "'无锡市金融生态县考核数据（2010年）'"
        assert read.problems[0].message.startswith(f"表头在第 2 行，其上 1 行（{title}）按标题跳过")
        assert read.records[0].location.line == 3

    def test_csv_titles_without_policy(self, tmp_path: Path) -> None:
        """Without a policy the header is the first wide row of text; narrow title rows above it are skipped."""
        path = write_csv(tmp_path / "r.csv", [["考核数据"], ["制表：无锡市"], *example_rows()])
        read = read_records(path)
        assert read.records[0].values["county"] == "320124"
        assert [(p.code, p.location.line) for p in read.problems] == [("header-row", 3)]

    def test_first_row_header_has_no_note(self, policy: fineco_rules.Policy) -> None:
        """A file whose header is its first row reads as before, with no note."""
        read = read_records(DATA, headers=header_names(policy))
        assert read.problems == ()


class TestLabelHeaders:
    """Columns titled by the policy's Chinese or English input labels are read as its fields."""

    @pytest.mark.parametrize("lang", ["zh", "en"], ids=["chinese-labels", "english-labels"])
    def test_labels_grade_as_field_names(self, tmp_path: Path, policy: fineco_rules.Policy, lang: str) -> None:
        """A file titled by labels grades exactly like the same file titled by field names."""
        path = write_csv(tmp_path / "labels.csv", relabelled(policy, lang))
        read = read_records(path, headers=header_names(policy))
        plain = fineco_rules.evaluate(policy, read_records(DATA).records)
        labelled = fineco_rules.evaluate(policy, read.records)
        assert [(r.county, r.grade, r.score) for r in labelled] == [(r.county, r.grade, r.score) for r in plain]
        [note] = read.problems
        assert note.code == "header-labels"
        label = policy.inputs["credit_township_share"].label.get(lang)
        assert f"{label} → credit_township_share" in note.message

    def test_cli_says_which_mapping(self, tmp_path: Path, policy: fineco_rules.Policy, capsys) -> None:  # type: ignore[no-untyped-def]
        """`fineco evaluate` reads a file of Chinese labels with one note naming the mapping, not 1,383 lines."""
        path = write_csv(tmp_path / "labels.csv", relabelled(policy, "zh"))
        code, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q")
        assert code == 0
        assert err.count("\n") == 1
        assert "信用乡镇普及率 → credit_township_share" in err

    def test_shared_label_is_not_guessed(self) -> None:
        """A label two inputs share maps to neither (it would be a guess); field names always map to themselves."""
        from fineco_rules.policy._model import Label

        class Spec:
            def __init__(self, name: str) -> None:
                self.name = name
                self.label = Label("同名", "same")

        class Unit:
            fields: frozenset[str] = frozenset()

        class Fake:
            inputs = {"a": Spec("a"), "b": Spec("b")}
            unit = Unit()

        names = header_names(Fake())  # type: ignore[arg-type]
        assert "同名" not in names and "same" not in names
        assert (names["a"], names["县（市）代码"]) == ("a", "county")


class TestPercentText:
    """A percentage typed for a ratio input is read exactly, with one note per column."""

    def test_percent_read_exactly(self, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """'83.49%' is exactly 0.8349, and the county is graded as with 0.8349."""
        rows = example_rows()
        column = rows[0].index("credit_township_share")
        plain = rows[1][column]
        rows[1][column] = f"{Decimal(plain) * 100}%"
        path = write_csv(tmp_path / "p.csv", rows)
        read = read_records(path)
        evaluation = fineco_rules.evaluate(policy, read.records)
        expected = fineco_rules.evaluate(policy, read_records(DATA).records)
        assert evaluation.results[0].score == expected.results[0].score
        assert evaluation.results[0].grade is not None
        [note] = evaluation.problems
        assert note.code == "percent-read"
        assert note.location.line == 2 and note.location.field == "credit_township_share"
        assert f"如 {Decimal(plain) * 100}% 读作 {Decimal(plain)}" in note.message

    def test_percent_value_is_exact(self) -> None:
        """The value read from '83.49%' is Decimal('0.8349'), not a float."""
        from fineco_rules.engine._records import check_records

        small = fineco_rules.load_policy(POLICY)
        records, notes = check_records(small, [fineco_rules.io.RawRecord({"credit_township_share": "83.49%"}, loc())])
        assert records[0].values["credit_township_share"] == Decimal("0.8349")
        assert [n.code for n in notes] == ["percent-read"]

    def test_many_percentages_one_note(self, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """Percentages on every row give one note with the count and the first five rows."""
        rows = example_rows()
        column = rows[0].index("npl_ratio")
        for row in rows[1:]:
            row[column] = f"{Decimal(row[column]) * 100}%"
        evaluation = fineco_rules.evaluate(policy, read_records(write_csv(tmp_path / "p.csv", rows)).records)
        [note] = evaluation.problems
        assert f"有 {len(rows) - 1} 个百分数" in note.message
        assert note.message.endswith("rows 2, 3, 4, 5, 6 …")

    def test_percent_out_of_range_is_refused(self, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """'183%' is 1.83, outside a ratio's range: refused as any value outside it."""
        rows = example_rows()
        rows[1][rows[0].index("npl_ratio")] = "183%"
        evaluation = fineco_rules.evaluate(policy, read_records(write_csv(tmp_path / "p.csv", rows)).records)
        assert evaluation.results[0].grade is None
        assert evaluation.results[0].errors[0].message == "1.83 ratio is outside the allowed range [0, 1]"


class TestRepeatedProblems:
    """A problem repeated on many rows is printed once, with the count and the first rows."""

    def test_collapsed_on_stderr(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A column left empty on every row gives one error line naming the count and rows 2–6."""
        rows = example_rows()
        column = rows[0].index("population")
        for row in rows[1:]:
            row[column] = ""
        path = write_csv(tmp_path / "p.csv", rows)
        code, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q")
        assert code == 1
        lines = [line for line in err.splitlines() if "population" in line]
        assert len(lines) == 1
        assert f"同类问题共 {len(rows) - 1} 行 / the same kind of problem on {len(rows) - 1} rows" in lines[0]
        assert "(missing-input): 2, 3, 4, 5, 6 …" in lines[0]

    def test_few_are_printed_each(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """Three rows with the problem are still printed one by one."""
        rows = example_rows()
        column = rows[0].index("population")
        for row in rows[1:4]:
            row[column] = ""
        path = write_csv(tmp_path / "p.csv", rows)
        _, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q")
        assert len([line for line in err.splitlines() if "population" in line]) == 3


def loc() -> fineco_rules.Location:
    return fineco_rules.Location("x.csv", 2, path="row 1")
