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
from fineco_rules.engine._records import header_names  # private unit under test (fineco_rules.engine._records)
from fineco_rules.io import read_records

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
        assert read.problems[0].message.render("zh").startswith(f"表头在第 2 行，其上 1 行（{title}）按标题跳过")
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
        from fineco_rules import Label

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
        assert f"如 {Decimal(plain) * 100}% 读作 {Decimal(plain)}" in note.render("zh")

    def test_percent_value_is_exact(self) -> None:
        """The value read from '83.49%' is Decimal('0.8349'), not a float."""
        from fineco_rules.engine._records import check_records  # private unit under test (fineco_rules.engine._records)

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
        assert f"有 {len(rows) - 1} 个百分数" in note.render("zh")
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
        column = rows[0].index("red_list_enterprises")
        for row in rows[1:]:
            row[column] = ""
        path = write_csv(tmp_path / "p.csv", rows)
        code, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q")
        assert code == 1
        lines = [line for line in err.splitlines() if "red_list_enterprises" in line]
        assert len(lines) == 1
        assert f"the same kind of problem on {len(rows) - 1} rows (missing-input): 2, 3, 4, 5, 6 …" in lines[0]
        code, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q", "--lang", "zh")
        lines = [line for line in err.splitlines() if "red_list_enterprises" in line]
        assert len(lines) == 1
        assert f"同类问题共 {len(rows) - 1} 行（missing-input）：第 2、3、4、5、6 … 行" in lines[0]

    def test_few_are_printed_each(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """Three rows with the problem are still printed one by one."""
        rows = example_rows()
        column = rows[0].index("red_list_enterprises")
        for row in rows[1:4]:
            row[column] = ""
        path = write_csv(tmp_path / "p.csv", rows)
        _, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(path), "-q")
        assert len([line for line in err.splitlines() if "red_list_enterprises" in line]) == 3


def loc() -> fineco_rules.Location:
    return fineco_rules.Location("x.csv", 2, path="row 1")


def fill(template: Path, out: Path) -> Path:
    """The template filled in from the example data, as an office would (values typed, booleans as 是/否)."""
    by_code = {row[0]: row for row in example_rows()[1:]}
    head = example_rows()[0]
    book = openpyxl.load_workbook(template)
    sheet = book["数据"]
    fields = [cell.value for cell in sheet[3]]
    for row in sheet.iter_rows(min_row=4):
        source = by_code[row[0].value]
        for cell, field in zip(row, fields, strict=True):
            if field in head and field not in {"county", "name", "city", "year", "note"}:
                text = source[head.index(field)]
                cell.value = {"true": "是", "false": "否"}.get(text) or (float(text) if "." in text else int(text))
    book.save(out)
    return out


@pytest.fixture(scope="module")
def wuxi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wuxi's workbook for the 2010 policy."""
    path = tmp_path_factory.mktemp("template") / "wuxi.xlsx"
    assert main(["template", "--policy", str(POLICY), "--city", "320200", "-o", str(path)]) == 0
    return path


class TestTemplate:
    """`fineco template` writes the workbook an office fills in; `fineco evaluate` reads it back unmapped."""

    def test_headers_and_rows(self, wuxi: Path, policy: fineco_rules.Policy) -> None:
        """Row 1 Chinese labels, row 2 English, row 3 the field names (hidden), then Wuxi's counties."""
        sheet = openpyxl.load_workbook(wuxi)["数据"]
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        inputs = [s for s in policy.inputs.values() if s.type != "table"]
        assert rows[0][:5] == ["县（市）代码", "县（市）名称", "所属市代码", "年份", "信用乡镇普及率"]
        assert rows[1][:5] == ["county code", "county name", "city code", "year of data", "credit township penetration"]
        assert rows[2] == ["county", "name", "city", "year", *(s.name for s in inputs), "note"]
        assert sheet.row_dimensions[3].hidden is True
        counties = [["320281", "江阴市", "320200", 2010], ["320282", "宜兴市", "320200", 2010]]
        assert [row[:4] for row in rows[3:]] == counties

    def test_data_validation(self, wuxi: Path) -> None:
        """Each input column validates its type and range over the county rows, with a Chinese prompt."""
        sheet = openpyxl.load_workbook(wuxi)["数据"]
        rules = {str(rule.sqref): rule for rule in sheet.data_validations.dataValidation}
        share = rules["E4:E5"]
        assert (share.type, share.operator, share.formula1, share.formula2) == ("decimal", "between", "0", "1")
        assert share.prompt == "比率（小数，如 0.85），取值范围 [0, 1]"
        fundraising = [r for r in rules.values() if r.type == "list"]
        assert [r.formula1 for r in fundraising] == ['"是,否"']
        count = next(r for r in rules.values() if r.promptTitle == "诚信企业红名单企业数")
        assert (count.type, count.formula1) == ("whole", "0")
        assert count.prompt == "整数，单位：enterprises，取值范围 [0, +∞]"

    def test_instructions_sheet(self, wuxi: Path) -> None:
        """Sheet 说明 names the city, year and policy and lists every input with unit and range."""
        sheet = openpyxl.load_workbook(wuxi)["说明"]
        column = [row[0] for row in sheet.iter_rows(values_only=True)]
        assert column[0] == "无锡市金融生态县考核数据采集表（2010年）"
        assert "共 2 个县（市），每行一个；县（市）代码、名称、所属市与年份已填好，请勿改动。" in column
        row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "npl_ratio")
        label = "县域金融机构不良贷款率（五级分类）"
        assert row == ("npl_ratio", label, row[2], "比率（小数，如 0.85）", None, "[0, 1]", "是")

    def test_read_back_needs_no_mapping(self, wuxi: Path, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """The filled workbook grades exactly as the same counties in the CSV, with no problem or note."""
        filled = fill(wuxi, tmp_path / "filled.xlsx")
        read = read_records(filled, headers=header_names(policy))
        assert read.problems == ()
        graded = fineco_rules.evaluate(policy, read.records)
        expected = {r.county: r for r in fineco_rules.evaluate(policy, read_records(DATA).records)}
        assert [(r.county, r.grade, r.score) for r in graded] == [
            (c, expected[c].grade, expected[c].score) for c in ("320281", "320282")
        ]

    def test_cli_evaluates_the_filled_workbook(self, wuxi: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """`fineco evaluate` on the filled workbook exits 0 with nothing on stderr but the summary."""
        filled = fill(wuxi, tmp_path / "filled.xlsx")
        code, _, err = cli(capsys, "evaluate", "--policy", str(POLICY), str(filled), "--format", "json")
        assert code == 0
        assert "error" not in err and "note" not in err

    def test_whole_province_and_english_first(self, tmp_path: Path) -> None:
        """Without --city every county of the year is a row; --lang en puts English labels on row 1."""
        path = tmp_path / "all.xlsx"
        assert main(["template", "--policy", str(POLICY), "--lang", "en", "-o", str(path)]) == 0
        sheet = openpyxl.load_workbook(path)["数据"]
        assert (sheet["A1"].value, sheet["A2"].value) == ("county code", "县（市）代码")
        assert sheet.max_row == 3 + 50  # 2010: 50 county-level units (通州 and 铜山 became districts)

    def test_unknown_city_is_a_usage_error(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A city code that is not a prefecture city of Jiangsu is refused, listing the known ones."""
        out = str(tmp_path / "x.xlsx")
        code, _, err = cli(capsys, "template", "--policy", str(POLICY), "--city", "329900", "-o", out)
        assert code == 2
        assert "city 329900 is not a prefecture city of Jiangsu (known: " in err


class TestCsvForExcel:
    """`evaluate --format csv --lang zh|en` writes a CSV Excel on Chinese Windows opens correctly."""

    def test_chinese_headers_and_bom(self, tmp_path: Path, policy: fineco_rules.Policy) -> None:
        """--lang zh: the file starts with a UTF-8 BOM, headings and grades are Chinese, indicators by label."""
        out = tmp_path / "r.csv"
        args = ["evaluate", "--policy", str(POLICY), str(DATA), "--format", "csv", "--lang", "zh", "-o", str(out), "-q"]
        assert main(args) == 0
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        labels = [i.label.zh for i in policy.indicators.values()]
        head = ["县（市）代码", "县（市）名称", "所属市代码", "评定结果", "总分", "调整前得分"]
        assert rows[0] == [*head, *labels, "问题"]
        assert {row[3] for row in rows[1:]} <= {"良好", "达标", "未达标", ""}
        assert rows[1][:3] == ["320124", "溧水县", "320100"]

    def test_english_headers(self, capsys: pytest.CaptureFixture[str], policy: fineco_rules.Policy) -> None:
        """--lang en: a BOM too (county names are Chinese), English headings and grades."""
        code, out, _ = cli(capsys, "evaluate", "--policy", str(POLICY), str(DATA), "--format", "csv", "--lang", "en")
        assert code == 0 and out.startswith("\ufeffcounty code,county name,city code,grade,score,")
        rows = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))
        assert rows[0][6] == next(iter(policy.indicators.values())).label.en
        assert {row[3] for row in rows[1:]} <= {"good", "pass", "fail", ""}

    def test_without_lang_unchanged(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --lang the CSV keeps field names and no BOM, for scripts."""
        _, out, _ = cli(capsys, "evaluate", "--policy", str(POLICY), str(DATA), "--format", "csv")
        assert out.startswith("county,name,city,grade,score,base_score,")


HALF = '''\
"""A scorer written beside the policy, tried with --plugin before it is packaged."""

from decimal import Decimal

from fineco_rules import Better, Label, Scored, Scorer, hookimpl


class Half(Scorer):
    name = "city_half"
    version = "0.1"
    label = Label("半分", "half")
    params_schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}

    def reads(self, params):
        return {params["input"]: Better.HIGHER}

    def build(self, params, max_score):
        field = params["input"]
        return lambda values: Scored(values[field] * max_score / 2)


@hookimpl
def fineco_scorers():
    return [Half()]
'''


def small_text() -> str:
    from .conftest import SMALL

    return SMALL


class TestLoadFromTextOrMapping:
    """`load_policy` takes the YAML text or the data of a policy as well as a path."""

    def test_text_and_mapping_load_as_the_file(self, tmp_path: Path) -> None:
        """The same policy from a file, its text and its mapping has the same indicators and grades."""
        import yaml

        path = tmp_path / "small.yaml"
        path.write_text(small_text(), "utf-8")
        from_file = fineco_rules.load_policy(path)
        from_text = fineco_rules.load_policy(text=small_text())
        from_mapping = fineco_rules.load_policy(mapping=yaml.safe_load(small_text()))
        records = [
            {"county": "320581", "a": "0.9", "b": "85", "npl": "0.02"},
            {"county": "320582", "a": "0.5", "b": "60"},
        ]
        graded = [
            [(r.grade, r.score, [str(e.message) for e in r.errors]) for r in fineco_rules.evaluate(p, records)]
            for p in (from_file, from_text, from_mapping)
        ]
        assert graded[0] == graded[1] == graded[2]
        assert graded[0][0][:2] == (fineco_rules.Grade.GOOD, Decimal("87.50"))
        assert (from_text.file, from_mapping.file) == ("<text>", "<mapping>")

    def test_text_errors_are_located(self) -> None:
        """A problem in text is located at <text>:line:column with its path."""
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(text=small_text().replace("min_total: 60", 'min_total: "60"'))
        where = info.value.problem.location
        assert (where.file, where.line, where.column, where.path) == ("<text>", 24, 16, "grades.pass.min_total")

    def test_decimals_in_a_mapping_are_exact(self) -> None:
        """A Decimal threshold in a mapping stays exactly that number."""
        import yaml

        data = yaml.safe_load(small_text())
        data["grades"]["pass"]["gates"]["npl_ok"]["value"] = Decimal("0.0600")
        policy = fineco_rules.load_policy(mapping=data)
        gate = next(g for g in policy.grades if g.grade.value == "pass").gates["npl_ok"]
        assert str(gate.value) == "0.0600"

    def test_extends_from_text_is_found_beside_source(self) -> None:
        """With source= naming where the text belongs, its parent is found as for that file."""
        text = (ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml").read_text("utf-8")
        policy = fineco_rules.load_policy(text=text, source=str(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"))
        assert [(i, v) for i, v, _ in policy.chain] == [
            ("jiangsu-fineco-county", "2008"),
            ("jiangsu-fineco-county", "2007"),
        ]

    def test_exactly_one_source(self, tmp_path: Path) -> None:
        """Giving none or two of path, text= and mapping= is a TypeError."""
        with pytest.raises(TypeError, match="exactly one of path, text= or mapping="):
            fineco_rules.load_policy()
        with pytest.raises(TypeError, match="exactly one of path, text= or mapping="):
            fineco_rules.load_policy(tmp_path / "x.yaml", text="id: x")

    def test_a_value_yaml_cannot_hold(self) -> None:
        """An object in the mapping is refused as a wrong type, naming the mapping."""
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(mapping={"id": object()})
        assert (info.value.problem.code, info.value.problem.location.file) == ("wrong-type", "<mapping>")


class TestSameHostHint:
    """A policy loaded with host= and graded without it says to pass the same host."""

    def test_hint_names_host(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The error keeps the 'no installed plugin' message and hints at host=, at the indicator's scorer line."""
        (tmp_path / "city_half.py").write_text(HALF, "utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        import city_half  # type: ignore[import-not-found]

        host = fineco_rules.make_plugin_host(plugins=[city_half])
        text = small_text().replace(
            "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: city_half\n    params: {input: a}"
        )
        policy = fineco_rules.load_policy(text=text, host=host)
        with pytest.raises(fineco_rules.PluginError) as info:
            fineco_rules.compile_policy(policy)
        problem = info.value.problem
        assert problem.message == "no installed plugin provides the scorer 'city_half'"
        assert problem.hint is not None
        assert "pass the same host= to compile_policy() or evaluate()" in problem.hint
        assert (problem.location.file, problem.location.line, problem.location.path) == (
            "<text>",
            12,
            "indicators.ia.scorer",
        )
        assert (
            len(
                fineco_rules.compile_policy(policy, host)
                .evaluate([{"county": "320581", "a": 1, "b": 50, "npl": 0}])
                .results
            )
            == 1
        )


class TestPluginFlag:
    """`--plugin MODULE` uses an unpackaged scorer in this run only, never in an official one."""

    @pytest.fixture
    def authoring(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
        (tmp_path / "city_half.py").write_text(HALF, "utf-8")
        policy = tmp_path / "city.yaml"
        text = small_text().replace(
            "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: city_half\n    params: {input: a}"
        )
        policy.write_text(text, "utf-8")
        data = write_csv(tmp_path / "d.csv", [["county", "a", "b", "npl"], ["320581", "1", "50", "0.01"]])
        monkeypatch.chdir(tmp_path)
        return policy, data

    def test_validate_and_evaluate_with_plugin(self, authoring: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
        """validate and evaluate find the scorer of a module in the current folder."""
        policy, data = authoring
        code, out, _ = cli(capsys, "validate", "--plugin", "city_half", str(policy))
        assert code == 0 and out.startswith(f"{policy}: ok")
        code, out, _ = cli(
            capsys,
            "evaluate",
            "--plugin",
            "city_half.py",
            "--policy",
            str(policy),
            str(data),
            "--format",
            "json",
            "--explain",
        )
        assert code == 0
        import json

        assert json.loads(out)["results"][0]["indicators"]["ia"]["score"] == 50  # half of 100

    def test_without_plugin_it_is_unknown(self, authoring: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
        """Without --plugin the same policy names the unknown scorer."""
        policy, _ = authoring
        code, _, err = cli(capsys, "validate", str(policy))
        assert code == 1 and "no installed plugin provides the scorer 'city_half'" in err

    def test_refused_with_official(self, authoring: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
        """--plugin with --official is a usage error: an official run uses filed plugins only."""
        policy, data = authoring
        code, _, err = cli(
            capsys,
            "evaluate",
            "--plugin",
            "city_half",
            "--official",
            "--registry",
            "r",
            "--trust",
            "k",
            "--policy",
            str(policy),
            str(data),
        )
        assert code == 2 and "--plugin is for trying a scorer while writing a policy" in err

    def test_a_module_that_cannot_import(self, authoring: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
        """A module name that does not import is an error naming it, exit 1."""
        policy, _ = authoring
        code, _, err = cli(capsys, "validate", "--plugin", "no_such_module_here", str(policy))
        assert code == 1 and "cannot import the plugin module no_such_module_here: ModuleNotFoundError" in err


class TestPolicyWritingHints:
    """Mistakes a Chinese input method makes in a policy get a hint that says the fix."""

    @pytest.mark.parametrize(
        ("old", "new", "line", "hint"),
        [
            (
                "label: {zh: 达标, en: pass}",
                "label: {zh: 达标，en: pass}",
                23,
                "把全角逗号“，”改为半角“,” / use a half-width comma ',' instead of the full-width '，'",
            ),
            (
                'npl_ok: {input: npl, op: "<", value: 0.06}',
                'npl_ok： {input: npl, op: "<", value: 0.06}',
                26,
                "把全角冒号“：”改为半角“:” / use a half-width colon ':' instead of the full-width '：'",
            ),
            (
                "    min_total: 60",
                "    min_total：60",
                25,
                "第 24 行：把全角冒号“：”改为半角“:” / line 24: use a half-width colon ':' "
                "instead of the full-width '：'",
            ),
        ],
        ids=["comma", "colon-before-flow", "colon-reported-on-next-line"],
    )
    def test_full_width_punctuation(self, old: str, new: str, line: int, hint: str) -> None:
        """A full-width colon or comma where YAML needs the half-width one is named, with its line."""
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(text=small_text().replace(old, new, 1))
        problem = info.value.problem
        both = f"{problem.hint.render('zh')} / {problem.hint}"  # the hint in Chinese, then in English
        assert (problem.code, problem.location.line, both) == ("yaml-syntax", line, hint)

    def test_full_width_colon_in_a_text_value(self) -> None:
        """`min_total：80` read as one text where a mapping belongs gets the half-width colon hint."""
        text = small_text().replace(
            "  good:\n    label: {zh: 良好, en: good}\n    min_total: 80\n", "  good:\n    min_total：80\n"
        )
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(text=text)
        problem = info.value.problem
        assert problem.message == "expected a mapping (key: value lines), found the text 'min_total：80'"
        both = f"{problem.hint.render('zh')} / {problem.hint}"
        assert both == "把全角冒号“：”改为半角“:” / use a half-width colon ':' instead of the full-width '：'"

    @pytest.mark.parametrize(
        ("new", "line"),
        [
            ("npl_ok: {input: npl, op: >=, value: 0.06}", 26),
            ("npl_ok: {input: npl, op: !=, value: 0.06}", 26),
            ("npl_ok:\n        input: npl\n        op: >=\n        value: 0.06", 28),
        ],
        ids=["flow-greater-equal", "flow-not-equal", "block-greater-equal"],
    )
    def test_unquoted_operator(self, new: str, line: int) -> None:
        """A bare >= or != says to quote the operator."""
        op = ">=" if ">=" in new else "!="
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(text=small_text().replace('npl_ok: {input: npl, op: "<", value: 0.06}', new))
        problem = info.value.problem
        assert (problem.code, problem.location.line) == ("yaml-syntax", line)
        assert f"{problem.hint.render('zh')} / {problem.hint}" == (
            f'运算符须加引号：op: "{op}" / quote the operator: op: "{op}" (in YAML a bare > starts a folded text '
            "and ! a tag)"
        )

    def test_other_syntax_errors_keep_the_plain_hint(self) -> None:
        """A syntax error with no full-width sign or bare operator keeps the general hint."""
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(
                text=small_text().replace("label: {zh: 达标, en: pass}", "label: {zh: 达标, en: pass")
            )
        assert info.value.problem.hint == "check the indentation and punctuation here"

    def test_points_list_each_indicator(self, tmp_path: Path) -> None:
        """ "Points add up to 99" lists each indicator's points and their sum in the hint; the message is kept."""
        text = (ROOT / "policies" / "jiangsu" / "jiangsu-2007.yaml").read_text("utf-8")
        with pytest.raises(fineco_rules.PolicyError) as info:
            fineco_rules.load_policy(text=text.replace("    points: 25\n", "    points: 24\n", 1))
        problem = info.value.problem
        assert problem.message == "indicator points add up to 99, not the stated total 100"
        assert problem.hint is not None
        assert problem.hint.startswith("the points of each indicator: credit 24 + ")  # was one bilingual text
        assert problem.hint.render("zh").startswith("各指标分值：信用环境建设 24 + ")
        assert problem.hint.endswith(" = 99; make the points add up to the total, or change the total")
