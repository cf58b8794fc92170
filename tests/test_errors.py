"""One home for errors: every error class in fineco_rules.errors, every problem code registered with a severity."""

from __future__ import annotations

import ast
import importlib
import io
import re
from pathlib import Path

import pytest

from fineco_rules import errors
from fineco_rules.cli import main
from fineco_rules.errors import Code, FinecoError, Location, Problem, Severity
from fineco_rules.quality import testing

from .conftest import ROOT

SOURCES = sorted([*(ROOT / "fineco_rules").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
REGISTRY = {str(code): code for code in Code}

#: Each error class, the builtin it also is, and where it was importable from before it moved to errors.
CLASSES = [
    ("PolicyError", ValueError, "fineco_rules"),
    ("DataFileError", OSError, "fineco_rules"),
    ("RecordError", ValueError, "fineco_rules"),
    ("PluginError", RuntimeError, "fineco_rules"),
    ("ParamError", ValueError, "fineco_rules.scoring"),
    ("CasesError", ValueError, "fineco_rules.quality.testing"),
    ("SensitivityError", ValueError, "fineco_rules.analysis"),
    ("WriteError", OSError, "fineco_rules.io"),
    ("FilingError", PermissionError, "fineco_rules.governance"),
    ("UnsafeName", ValueError, "fineco_rules.governance._names"),
    ("JSONWriteError", ValueError, "fineco_rules.io._json"),
    ("EvaluationTimeout", RuntimeError, "fineco_rules.engine"),
    ("PropertyError", AssertionError, "fineco_rules.quality.testing"),
    ("UsageError", ValueError, "fineco_rules.cli._common"),
]


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _code_arg(call: ast.Call, index: int | None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "code":
            return keyword.value
    if index is not None and len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[index]
    return None


def _strings(node: ast.expr | None) -> list[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def _helpers(trees: dict[Path, ast.Module]) -> dict[str, int | None]:
    """``Problem`` and every function that passes its own ``code`` parameter on to ``Problem``."""
    found: dict[str, int | None] = {"Problem": 3}
    for tree in trees.values():
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            names = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
            passes = any(
                isinstance(c, ast.Call)
                and _call_name(c) == "Problem"
                and isinstance(arg := _code_arg(c, 3), ast.Name)
                and arg.id == "code"
                for c in ast.walk(fn)
            )
            if passes and "code" in names:
                found[fn.name] = names.index("code") - (1 if names[0] in ("self", "cls") else 0)
    return found


def _uses() -> tuple[list[tuple[str, int, str]], list[tuple[str, int, str]]]:
    """Every code the source names: (file, line, code) as a string literal, and as a ``Code.NAME`` constant."""
    trees = {path: ast.parse(path.read_text("utf-8"), str(path)) for path in SOURCES}
    helpers = _helpers(trees)
    literals: list[tuple[str, int, str]] = []
    constants: list[tuple[str, int, str]] = []
    for path, tree in trees.items():
        rel = str(path.relative_to(ROOT))
        if rel == "fineco_rules/_codes.py":
            continue
        for node in ast.walk(tree):
            found: list[ast.Constant] = []
            if isinstance(node, ast.Call) and _call_name(node) in helpers:
                found = _strings(_code_arg(node, helpers[_call_name(node) or ""]))
            elif isinstance(node, ast.Call) and any(k.arg == "code" for k in node.keywords):
                found = _strings(_code_arg(node, None))
            elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "code":
                found = [s for right in node.comparators for s in _strings(right)]
            elif (
                isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Code"
            ) and node.attr.isupper():
                constants.append((rel, node.lineno, node.attr))
            literals += [(rel, s.lineno, s.value) for s in found]
    return literals, constants


LITERALS, CONSTANTS = _uses()


class TestErrorClasses:
    """Every error class of the package is defined in fineco_rules.errors, and is also a builtin error."""

    @pytest.mark.parametrize(("name", "builtin", "old_home"), CLASSES, ids=[c[0] for c in CLASSES])
    def test_defined_in_errors_and_inherits_its_builtin(self, name: str, builtin: type, old_home: str) -> None:
        """The class lives in errors, derives from FinecoError and its builtin, and is exported."""
        cls = getattr(errors, name)
        assert cls.__module__ == "fineco_rules.errors"
        assert issubclass(cls, FinecoError)
        assert issubclass(cls, builtin)
        assert name in errors.__all__

    @pytest.mark.parametrize(("name", "builtin", "old_home"), CLASSES, ids=[c[0] for c in CLASSES])
    def test_still_importable_from_where_it_was(self, name: str, builtin: type, old_home: str) -> None:
        """Code that imported the class from its old module gets the very same class."""
        assert getattr(importlib.import_module(old_home), name) is getattr(errors, name)

    def test_no_error_class_defined_elsewhere(self) -> None:
        """No public module outside errors defines a class deriving from FinecoError."""
        elsewhere = [
            f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
            for path in SOURCES
            if path.name != "errors.py"
            for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.ClassDef)
            and any(ast.unparse(base).endswith(("Error", "FinecoError", "Timeout")) for base in node.bases)
            and not node.name.startswith("_")
        ]
        assert elsewhere == []

    def test_usage_error_reads_as_its_message(self) -> None:
        """A UsageError prints as the plain message the CLI shows after `fineco: error:`."""
        error = errors.UsageError("unknown command 'x'")
        assert (str(error), error.problem.code, error.problem.severity) == ("unknown command 'x'", "usage", "error")

    def test_property_error_shows_each_finding_and_counterexample(self) -> None:
        """A PropertyError reads as each finding followed by the county records that show it."""
        finding = testing.Finding("monotone", "score fell", Location("p.yaml", 3, 5), False, ({"a": 1},))
        error = errors.PropertyError(finding)
        assert str(error) == "p.yaml:3:5: monotone: score fell [searched, not proved]\n    counterexample: {a: 1}"
        assert (error.rule, error.problem.code) == ("monotone", Code.CHECK_MONOTONE)


class TestCodeRegistry:
    """Every problem code is data: a name, a severity and a meaning in Chinese and English."""

    @pytest.mark.parametrize("code", list(Code), ids=[str(c) for c in Code])
    def test_code_has_severity_and_both_descriptions(self, code: Code) -> None:
        """Each code is kebab-case (or a JSON Schema keyword), has a severity and a meaning in zh and en."""
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|[a-z]+[A-Z][a-zA-Z]*", str(code))
        assert code.severity in (Severity.ERROR, Severity.NOTE)
        assert code.zh and re.search(r"[\u4e00-\u9fff]", code.zh)
        assert code.en and code.en.isascii()
        assert (code.describe("zh"), code.describe("en")) == (code.zh, code.en)

    def test_notes_are_the_reading_notes(self) -> None:
        """Exactly the reading notes are notes; everything else is an error."""
        notes = {str(c) for c in Code if c.severity is Severity.NOTE}
        # header-row, header-labels and percent-read: the reading notes of issue 17 (Excel-proof reading).
        assert notes == {"unknown-column", "decoded-as-gbk", "mojibake", "header-row", "header-labels", "percent-read"}

    def test_code_is_its_plain_name(self) -> None:
        """A code equals its plain name and is written as it in a problem's dict."""
        problem = Problem("x", code=Code.UNKNOWN_KEY)
        assert problem.code == "unknown-key"
        assert problem.to_dict() == {"code": "unknown-key", "message": "x"}
        assert type(problem.to_dict()["code"]) is str

    def test_string_code_becomes_the_registered_code(self) -> None:
        """A problem given a registered name as text holds the Code and its severity."""
        problem = Problem("x", code="mojibake")
        assert (problem.code, problem.severity) == (Code.MOJIBAKE, Severity.NOTE)

    def test_default_code_is_invalid_error(self) -> None:
        """A problem without a code is `invalid`, an error."""
        assert (Problem("x").code, Problem("x").severity) == (Code.INVALID, Severity.ERROR)

    def test_unregistered_code_is_refused(self) -> None:
        """A problem cannot be made with a code nobody registered; the error says where to register it."""
        with pytest.raises(ValueError, match=r"unregistered problem code 'no-such-code': add it to Code"):
            Problem("x", code="no-such-code")


class TestEveryCodeUsedIsRegistered:
    """An AST scan of fineco_rules/ and plugins/: every code the source names is registered."""

    def test_scan_finds_the_sites(self) -> None:
        """The scan sees the code sites (a guard against a scan that silently finds nothing)."""
        assert len(CONSTANTS) > 150

    def test_every_literal_code_is_registered(self) -> None:
        """No site names a code, as text, that the registry does not know."""
        assert [use for use in LITERALS if use[2] not in REGISTRY] == []

    def test_sites_use_the_constants(self) -> None:
        """Every site names its code as a Code constant, not as text (run /work/tools/codes_rewrite.py)."""
        assert LITERALS == []

    def test_every_constant_is_registered(self) -> None:
        """Every Code.NAME in the source is a member of Code."""
        assert [use for use in CONSTANTS if use[2] not in Code.__members__] == []

    def test_check_rules_have_codes(self) -> None:
        """Each `fineco check` rule and property-test rule has its `check-RULE` code."""
        rules = set(testing.RULES)
        tree = ast.parse(Path(testing.__file__).read_text("utf-8"))
        rules |= {
            n.args[0].value
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and _call_name(n) == "_raise" and isinstance(n.args[0], ast.Constant)
        }
        assert {"invalid-record", "round-trip"} <= rules
        assert sorted(f"check-{rule}" for rule in rules if f"check-{rule}" not in REGISTRY) == []

    def test_constraint_codes_are_registered(self) -> None:
        """The `required-KIND` codes the constraints give are registered for each kind they check."""
        assert {Code("required-indicator"), Code("required-veto"), Code("required-input")} <= set(Code)


class TestDocumentedCodes:
    """docs/api.md's table of problem codes is the registry, row for row."""

    ROWS = re.findall(
        r"^\| `([^`]+)` \| (error|note) \| ([^|]+) \| ([^|]+) \|$",
        (ROOT / "docs" / "api.md").read_text("utf-8"),
        re.M,
    )

    def test_every_registered_code_is_documented(self) -> None:
        """Each registered code has a row with its severity and both meanings."""
        documented = {row[0]: (row[1], row[2].strip(), row[3].strip()) for row in self.ROWS}
        assert {str(c): (str(c.severity), c.zh, c.en) for c in Code} == documented

    def test_no_documented_code_is_unregistered(self) -> None:
        """Each documented code is registered, and none is documented twice."""
        names = [row[0] for row in self.ROWS]
        assert [n for n in names if n not in REGISTRY] == []
        assert len(names) == len(set(names))


class TestSeverityInTheCli:
    """The command line marks a problem `note:` or `error:` by its severity."""

    def test_print_problems_marks_notes_and_errors(self) -> None:
        """print_problems (a private unit: the one place the CLI writes problems) writes the severity first."""
        from fineco_rules.cli._common import print_problems  # private unit under test (fineco_rules.cli._common)

        stream = io.StringIO()
        print_problems([Problem("odd column", Location("a.csv", 1), code="unknown-column"), Problem("bad")], stream)
        assert stream.getvalue() == "error: <unknown location>: bad\nnote: a.csv:1: odd column\n"

    def test_a_note_alone_does_not_fail_the_run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A record file with a column the policy does not read grades with a note and exit 0."""
        data = tmp_path / "r.csv"
        lines = (ROOT / "examples/jiangsu-2008.csv").read_text("utf-8").splitlines()
        data.write_text("\n".join([lines[0] + ",extra", *(line + ",1" for line in lines[1:])]) + "\n", "utf-8")
        code = main(["evaluate", "--policy", str(ROOT / "policies/jiangsu/jiangsu-2008.yaml"), str(data), "-q"])
        err = capsys.readouterr().err
        assert code == 0
        assert "note: " in err and "extra" in err and "error: " not in err
