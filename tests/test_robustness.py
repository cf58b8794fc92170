"""Hostile inputs, part A: YAML, policies and records (the catalogue is docs/robustness.md).

Every case ends in a precise error (what, where, how to fix), a documented warning, or a correct
result; through the CLI, never a traceback and a non-zero exit for an error. Limits are shown to
trigger by design (sizes and counts), never by timing.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

import fineco_rules
from fineco_rules import DataFileError, FinecoError, PolicyError, Problem, load_policy, read_records
from fineco_rules.cli import main
from fineco_rules.io._limits import (  # private unit under test (fineco_rules.io._limits)
    MAX_EXTENDS,
    MAX_XLSX_BYTES,
    MAX_YAML_TEXT,
)
from fineco_rules.io._yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES  # private unit under test (fineco_rules.io._yaml)

from .conftest import ROOT, SMALL, WritePolicy

HEADER = "county,name,a,b,npl\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `fineco` in-process; an exception escaping it fails the test like a traceback would."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def problem_of(call: object, error: type[FinecoError] = PolicyError) -> Problem:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    return info.value.problem


def small_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policies" / "small.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SMALL, "utf-8")
    return path


def grade(tmp_path: Path, name: str, content: str | bytes) -> list[fineco_rules.CountyResult]:
    """Read a record file and grade it with the small policy."""
    data = tmp_path / name
    data.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    policy = load_policy(small_policy(tmp_path))
    return list(fineco_rules.evaluate(policy, read_records(data).records))


def errors(result: fineco_rules.CountyResult) -> list[tuple[str | None, str, str | None]]:
    return [(p.location.field, p.message, p.hint) for p in result.errors]


def bomb(levels: int = 9) -> str:
    """A "billion laughs": nine levels of nine aliases, 9**9 (387 million) values once expanded."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# -- YAML ---------------------------------------------------------------------------------


class TestYaml:
    def test_alias_bomb(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A billion-laughs policy or record file is refused from its computed size, never expanded."""
        assert MAX_NODES < 9**9
        policy = tmp_path / "bomb.yaml"
        policy.write_text(bomb(), "utf-8")
        problem = problem_of(lambda: load_policy(policy))
        assert (problem.code, problem.location.line, problem.location.column) == ("too-large", 1, 1)
        assert problem.message == f"the document expands to more than {MAX_NODES} values"
        assert problem.hint == "remove the repeated aliases (*name); policy files never need them"
        records = tmp_path / "bomb-records.yaml"
        records.write_text(bomb() + "records: [*a8, *a8]\n", "utf-8")
        assert problem_of(lambda: read_records(records), DataFileError).code == "too-large"
        code, _, err = cli(capsys, "validate", str(policy))
        assert code == 1 and f"{policy}:1:1: the document expands" in err

    def test_deep_nesting(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """20 000 nested brackets stop at the first level past MAX_DEPTH, with its line and column."""
        path = tmp_path / "deep.yaml"
        path.write_text("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "utf-8")
        problem = problem_of(lambda: load_policy(path))
        assert problem.code == "too-deep"
        # The mapping is level 1 and the first `[` (column 4) level 2: level MAX_DEPTH + 1 is at column MAX_DEPTH + 3.
        assert (problem.location.line, problem.location.column) == (1, MAX_DEPTH + 3)
        assert problem.message == f"the YAML is nested more than {MAX_DEPTH} levels deep"
        assert problem.hint is not None and "remove the extra brackets or indentation" in problem.hint
        block = tmp_path / "deep-records.yaml"
        block.write_text("".join("  " * i + f"k{i}:\n" for i in range(200)), "utf-8")
        found = problem_of(lambda: read_records(block), DataFileError)
        assert (found.code, found.location.line) == ("too-deep", MAX_DEPTH)
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and f"{path}:1:{MAX_DEPTH + 3}: the YAML is nested" in err

    def test_100_mb_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A 100 MB YAML file is refused from its size on disk: not one byte of it is read."""
        path = tmp_path / "big.yaml"
        with path.open("wb") as handle:
            chunk = b"k: v\n" * (1 << 20)
            for _ in range(20):
                handle.write(chunk)
        assert path.stat().st_size == 100 * 1024 * 1024 > MAX_BYTES

        def no_reading(self: Path) -> bytes:
            raise AssertionError(f"{self} was read")

        monkeypatch.setattr(Path, "read_bytes", no_reading)
        problem = problem_of(lambda: load_policy(path))
        assert problem.code == "too-big"
        assert (
            problem.message == "the file is 104,857,600 bytes, more than the 2,097,152 bytes allowed for policy files"
        )
        assert problem.location == fineco_rules.Location(str(path))
        records = problem_of(lambda: read_records(path), DataFileError)
        assert records.code == "too-big"
        assert records.hint == "give large batches of records as CSV, JSON or XLSX"

    def test_yaml_text_over_the_limit(self) -> None:
        """YAML text handed over in memory (cases, strategies) meets the same limit before parsing."""
        from fineco_rules.io._yaml import parse_yaml  # private unit under test (fineco_rules.io._yaml)

        with pytest.raises(PolicyError) as info:
            parse_yaml("<text>", "k: v\n" * (MAX_BYTES // 5 + 1))
        assert info.value.problem.code == "too-big"

    def test_duplicate_keys(self, tmp_path: Path, write_policy: WritePolicy) -> None:
        """A key written twice is an error at the second, naming the first; never silently the last."""
        path = write_policy(SMALL.replace("  npl: {type: ratio", "  a: {type: number}\n  npl: {type: ratio"))
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.column) == ("duplicate-key", 8, 3)
        assert problem.message == "duplicate key 'a' (first defined at line 6)"
        records = tmp_path / "r.yaml"
        records.write_text("- {county: '320581', a: 0.5, a: 0.6}\n", "utf-8")
        found = problem_of(lambda: read_records(records), DataFileError)
        assert (found.code, found.location.path) == ("duplicate-key", "[0].a")

    def test_tabs(self, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]) -> None:
        """A tab used for indentation is located and the hint says to indent with spaces."""
        path = write_policy(SMALL.replace("  a: {type", "\ta: {type"))
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.column) == ("yaml-syntax", 6, 1)
        assert problem.hint == "indent with spaces, never tabs"
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and f"{path}:6:1: not valid YAML" in err

    def test_gbk_policy(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A policy saved as GBK is refused at the line and column of the first bad byte, naming GBK."""
        path = tmp_path / "gbk.yaml"
        path.write_bytes(SMALL.encode("gbk"))
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.column) == ("not-utf8", 3, 13)
        assert problem.message == (
            "the file is not UTF-8 text (bad byte 0xb2 at offset 41); it looks like GBK/GB18030, "
            "the Chinese Windows encoding"
        )
        assert problem.hint == "save the policy as UTF-8 (in Notepad: Save As, Encoding UTF-8)"
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and f"{path}:3:13: the file is not UTF-8" in err

    @pytest.mark.parametrize(
        ("content", "code", "message"),
        [
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary", "the file is binary, not YAML text"),
            (bytes(range(1, 256)), "not-utf8", "the file is not UTF-8 text (bad byte 0x80 at offset 127)"),
        ],
        ids=["png", "no-nul-bytes"],
    )
    def test_binary_file(self, tmp_path: Path, content: bytes, code: str, message: str) -> None:
        """A binary file is refused as such, or at its first byte that is not text."""
        path = tmp_path / "image.yaml"
        path.write_bytes(content)
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.message) == (code, message)

    def test_python_tags(self, tmp_path: Path, write_policy: WritePolicy) -> None:
        """Tags that would build Python objects are refused at their place, and nothing runs."""
        marker = tmp_path / "ran"
        path = write_policy(SMALL + f"x: !!python/object/apply:os.system ['touch {marker}']\n")
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.column) == ("bad-tag", 30, 4)
        assert problem.message == "the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"
        assert problem.hint == "policy files hold plain values only; remove the `!` tag"
        records = tmp_path / "r.yaml"
        records.write_text(f"- !!python/object/new:os.system ['touch {marker}']\n", "utf-8")
        assert problem_of(lambda: read_records(records), DataFileError).code == "bad-tag"
        assert not marker.exists()

    @pytest.mark.parametrize("content", ["", "   \n# only a comment\n"], ids=["empty", "comment-only"])
    def test_empty_file(self, tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
        """An empty policy says so at line 1 and what a policy starts with."""
        path = tmp_path / "empty.yaml"
        path.write_text(content, "utf-8")
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line) == ("empty", 1)
        assert problem.hint == "a policy file holds one mapping starting with `id:`"
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and "the file holds no policy (it is empty)" in err

    def test_list_where_a_mapping_belongs(self, tmp_path: Path, write_policy: WritePolicy) -> None:
        """A list for the whole policy, or for `inputs`, is refused at its place."""
        whole = tmp_path / "list.yaml"
        whole.write_text("- id: x\n- version: 1\n", "utf-8")
        problem = problem_of(lambda: load_policy(whole))
        assert (problem.code, problem.location.line, problem.hint) == (
            "not-a-mapping",
            1,
            "start the file with `id: ...`",
        )
        inputs = write_policy(SMALL.replace("inputs:\n  a:", "inputs:\n  - a\nold_inputs:\n  a:"))
        with pytest.raises(PolicyError) as info:
            load_policy(inputs)
        first = info.value.problems[0]
        assert (first.location.line, first.location.path, first.message) == (
            6,
            "inputs",
            "expected a mapping (key: value lines), found a list",
        )


# -- Policies -----------------------------------------------------------------------------


def child(cid: str, parent: str, path: str | None = None) -> str:
    where = f", path: {path!r}" if path else ""
    return textwrap.dedent(f"""\
        id: {cid}
        version: "1"
        label: {{zh: 子, en: child}}
        effective_from: 2008-01-01
        extends: {{id: {parent}, version: "1"{where}}}
    """)


class TestPolicies:
    def test_extends_cycle(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Two policies extending each other name the whole circle at `extends`."""
        (tmp_path / "a.yaml").write_text(child("a", "b"), "utf-8")
        (tmp_path / "b.yaml").write_text(child("b", "a"), "utf-8")
        problem = problem_of(lambda: load_policy(tmp_path / "a.yaml"))
        assert (problem.code, problem.location.line, problem.location.column) == ("extends-cycle", 5, 10)
        assert problem.location.file == str(tmp_path / "a.yaml")  # where the circle closes
        assert problem.message == "`extends` goes round in a circle: a 1 -> b 1 -> a 1"
        code, _, err = cli(capsys, "validate", str(tmp_path / "a.yaml"))
        assert code == 1 and "goes round in a circle" in err

    def test_extends_itself(self, tmp_path: Path) -> None:
        """A policy that names itself under `extends` is told so, not that its parent is missing."""
        (tmp_path / "a.yaml").write_text(child("a", "a"), "utf-8")
        problem = problem_of(lambda: load_policy(tmp_path / "a.yaml"))
        assert (problem.code, problem.message, problem.location.line) == (
            "extends-cycle",
            "policy a 1 extends itself",
            5,
        )

    @pytest.mark.parametrize("path", ["/etc", "~/policies", "C:/policies/jiangsu"])
    def test_extends_absolute_path(self, tmp_path: Path, path: str) -> None:
        """An absolute `extends.path` is refused before anything is read there."""
        file = tmp_path / "policies" / "city.yaml"
        file.parent.mkdir()
        file.write_text(child("city", "test-policy", path), "utf-8")
        problem = problem_of(lambda: load_policy(file))
        assert (problem.code, problem.location.path, problem.location.line) == ("path-outside", "extends.path", 5)
        assert problem.message == f"`extends.path` {path!r} is an absolute path"
        assert problem.hint == "write the parent's place relative to this file, e.g. ../../jiangsu"

    def test_extends_outside_the_policy_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`..` may climb inside the `policies` folder but not out of it, unless FINECO_POLICY_ROOT allows it."""
        monkeypatch.delenv("FINECO_POLICY_ROOT", raising=False)
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "parent.yaml").write_text(SMALL, "utf-8")
        file = tmp_path / "policies" / "cities" / "city.yaml"
        file.parent.mkdir(parents=True)
        file.write_text(child("city", "test-policy", "../../elsewhere/parent.yaml"), "utf-8")
        problem = problem_of(lambda: load_policy(file))
        assert problem.code == "path-outside"
        assert problem.location.path == "extends.path"
        assert problem.message == (
            f"`extends.path` '../../elsewhere/parent.yaml' leads to {tmp_path.resolve()}/elsewhere/parent.yaml, "
            f"outside the policy folder {tmp_path.resolve()}/policies"
        )
        assert problem.hint is not None and "FINECO_POLICY_ROOT" in problem.hint
        code, _, err = cli(capsys, "validate", str(file))
        assert code == 1 and "outside the policy folder" in err
        monkeypatch.setenv("FINECO_POLICY_ROOT", str(tmp_path))
        assert load_policy(file).chain[1][:2] == ("test-policy", "1")

    def test_extends_link_out_of_the_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A symbolic link inside the policy folder to a parent outside it is refused too."""
        monkeypatch.delenv("FINECO_POLICY_ROOT", raising=False)
        (tmp_path / "outside.yaml").write_text(SMALL, "utf-8")
        folder = tmp_path / "policies"
        folder.mkdir()
        (folder / "parent.yaml").symlink_to(tmp_path / "outside.yaml")
        (folder / "city.yaml").write_text(child("city", "test-policy"), "utf-8")
        problem = problem_of(lambda: load_policy(folder / "city.yaml"))
        assert problem.code == "path-outside"
        assert "is a link to" in problem.message

    def test_shipped_city_layout_still_loads(self) -> None:
        """The shipped cities climb `../../jiangsu` inside `policies/`: allowed."""
        policy = load_policy(ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml")
        assert [c[0] for c in policy.chain] == [
            "suzhou-fineco-county",
            "jiangsu-fineco-county",
            "jiangsu-fineco-county",
        ]

    def test_unknown_scorer(self, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]) -> None:
        """A scorer nobody provides is located with a did-you-mean or the list of installed scorers."""
        path = write_policy(
            SMALL.replace("scorer: linear\n    params: {input: b", "scorer: lineer\n    params: {input: b")
        )
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.column) == ("unknown-scorer", 17, 13)
        assert problem.hint == "did you mean 'linear'?"
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and "no installed plugin provides the scorer 'lineer'" in err

    def test_scorer_version_not_installed(self, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]) -> None:
        """A `scorer_version` the installed scorer does not meet names the installed version and its source."""
        pinned = SMALL.replace(
            "scorer: linear\n    params: {input: b", "scorer: linear\n    scorer_version: '>=2'\n    params: {input: b"
        )
        path = write_policy(pinned)
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.path, problem.location.line) == (
            "scorer-version",
            "indicators.ib.scorer_version",
            18,
        )
        assert problem.message == (
            f"indicator 'ib' needs scorer 'linear' version >=2, but version 1.0 is installed "
            f"(from fineco-rules {fineco_rules.__version__})"
        )
        assert problem.hint is not None and problem.hint.startswith("install a version of fineco-rules")
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and "version 1.0 is installed" in err
        for ok in ("1.0", "1", "'>=1.0,<2'", "'!=0.9'"):
            assert load_policy(write_policy(pinned.replace("'>=2'", ok))).indicators["ib"].scorer == "linear"
        bad = problem_of(lambda: load_policy(write_policy(pinned.replace("'>=2'", "'~=1'"))))
        assert (bad.code, bad.hint) == ("scorer-version", "write a version such as 1.0, or clauses such as >=1.0,<2")

    @pytest.mark.parametrize(
        ("old", "new", "line", "message", "hint"),
        [
            (
                "value: 0.06",
                "value: 6%",
                26,
                "expected a number or true or false, found the text '6%'",
                None,
            ),
            ("min_total: 60", 'min_total: "60"', 24, "expected a number, found the text '60'", None),
        ],
        ids=["percent-text", "quoted-number"],
    )
    def test_threshold_of_wrong_type_or_unit(
        self, write_policy: WritePolicy, old: str, new: str, line: int, message: str, hint: str | None
    ) -> None:
        """A threshold of the wrong type is located when the policy loads."""
        problem = problem_of(lambda: load_policy(write_policy(SMALL.replace(old, new))))
        assert (problem.location.line, problem.message, problem.hint) == (line, message, hint)

    @pytest.mark.parametrize(
        ("old", "new", "found"),
        [
            (
                "value: 0.06",
                "value: 6",
                [
                    (
                        "range",
                        26,
                        44,
                        "grades.pass.gates.npl_ok compares npl < 6, but input 'npl' is declared to range over [0, 1]",
                        "move the threshold inside the range, or fix the declared range",
                    ),
                    (
                        "redundant",
                        26,
                        44,
                        "grades.pass.gates.npl_ok: `npl < 6` always holds: input 'npl' ranges over [0, 1]",
                        "remove the gate, or make it say what was meant",
                    ),
                ],
            ),
            (
                "min_total: 80",
                "min_total: 800",
                [
                    (
                        "unreachable",
                        29,
                        16,
                        "grade good can never be reached: its min_total 800 is above the most a county can total "
                        "(100.00)",
                        "loosen the conditions of this grade",
                    )
                ],
            ),
        ],
        ids=["ratio-as-percent", "points-scale"],
    )
    def test_threshold_in_the_wrong_unit(
        self,
        write_policy: WritePolicy,
        capsys: pytest.CaptureFixture[str],
        old: str,
        new: str,
        found: list[tuple[str, int, int, str, str]],
    ) -> None:
        """A threshold on the wrong scale (6 for 6 %, 800 of 100 points) loads; `fineco check` proves it wrong."""
        from fineco_rules.quality.testing import check_policy

        path = write_policy(SMALL.replace(old, new))
        report = check_policy(path, search=False)
        assert [(f.rule, f.location.line, f.location.column, f.message, f.hint) for f in report.findings] == found
        code, out, _ = cli(capsys, "check", "--no-search", str(path))  # findings are the output: stdout
        assert code == 1 and f"{path}:{found[0][1]}:{found[0][2]}" in out and "[proved]" in out

    @pytest.mark.parametrize(
        ("weight", "message", "hint"),
        [
            (
                ".nan",
                "expected a number, found the text '.nan'",
                "write a finite number: NaN and infinity are not numbers a policy can compare with",
            ),
            (
                ".inf",
                "expected a number, found the text '.inf'",
                "write a finite number: NaN and infinity are not numbers a policy can compare with",
            ),
            (
                "-0.5",
                "expected a number of at least 0, found the number -0.5",
                "weights, points and caps are never negative",
            ),
        ],
        ids=["nan", "inf", "negative"],
    )
    def test_bad_weight(self, write_policy: WritePolicy, weight: str, message: str, hint: str) -> None:
        """A NaN, infinite or negative weight is located at the weight with how to fix it."""
        path = write_policy(SMALL.replace("weight: 0.5\n  ib", f"weight: {weight}\n  ib"))
        problem = problem_of(lambda: load_policy(path))
        assert (problem.location.line, problem.location.path) == (14, "indicators.ia.weight")
        assert (problem.message, problem.hint) == (message, hint)

    def test_period_ends_before_it_starts(self, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]) -> None:
        """An effective period that ends before it starts is located at `effective_until`."""
        path = write_policy(
            SMALL.replace("effective_from: 2008-01-01", "effective_from: 2008-01-01\neffective_until: 2007-12-31")
        )
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.message) == (
            "bad-period",
            5,
            "the period ends (2007-12-31) before it starts (2008-01-01)",
        )
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and "effective_until must be on or after effective_from" in err

    def test_number_too_large_for_the_arithmetic(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A gate value of 1.0e+9999999999 is refused at load time with its line and the allowed range."""
        path = tmp_path / "big.yaml"
        path.write_text(SMALL.replace("value: 0.06}", "value: 1.0e+9999999999}"), "utf-8")
        problem = problem_of(lambda: load_policy(path))
        assert (problem.code, problem.location.line, problem.location.path) == (
            "number-out-of-range",
            26,
            "grades.pass.gates.npl_ok.value",
        )
        assert problem.message == "the number 1.0e+9999999999 is outside the range the arithmetic allows"
        assert problem.hint == "write a number of size at most 1E+100, and either 0 or at least 1E-100"
        code, _, err = cli(capsys, "validate", str(path))
        assert code == 1 and "number-out-of-range" not in err and "1E+100" in err


# -- Records ------------------------------------------------------------------------------


class TestRecords:
    @pytest.mark.parametrize(
        ("name", "content"),
        [
            (
                "r.csv",
                HEADER + "320581,常熟市,NaN,50,0.01\n320582,张家港市,0.5,inf,0.01\n320583,昆山市,0.5,-Infinity,0.01\n",
            ),
            (
                "r.json",
                '[{"county": "320581", "a": NaN, "b": 50, "npl": 0.01},\n'
                ' {"county": "320582", "a": 0.5, "b": Infinity, "npl": 0.01},\n'
                ' {"county": "320583", "a": 0.5, "b": -Infinity, "npl": 0.01}]',
            ),
            (
                "r.yaml",
                "- {county: '320581', a: .nan, b: 50, npl: 0.01}\n- {county: '320582', a: 0.5, b: .inf, npl: 0.01}\n"
                "- {county: '320583', a: 0.5, b: -.inf, npl: 0.01}\n",
            ),
        ],
        ids=["csv", "json", "yaml"],
    )
    def test_nan_and_infinity(self, tmp_path: Path, name: str, content: str) -> None:
        """NaN and ±infinity are not numbers: the county is not graded, the error names county and field."""
        results = grade(tmp_path, name, content)
        assert [(r.county, r.grade) for r in results] == [("320581", None), ("320582", None), ("320583", None)]
        assert [errors(r)[0][0] for r in results] == ["a", "b", "b"]
        assert all(errors(r)[0][1].startswith("expected a number, found ") for r in results)
        assert [r.errors[0].location.county for r in results] == ["320581", "320582", "320583"]

    @pytest.mark.parametrize(
        ("a", "b", "field", "message", "hint"),
        [
            ("0.5", '"1,234"', "b", "'1,234' is not a plain number: it has thousands separators", "write 1234"),
            ("0.5", '"1,234.5"', "b", "'1,234.5' is not a plain number: it has thousands separators", "write 1234.5"),
            (
                "０.８５",
                "50",
                "a",
                "'０.８５' is not a plain number: it is written with full-width or other non-ASCII digits",
                "write 0.85",
            ),
            (
                "８５％",
                "50",
                "a",
                "'８５％' is not a plain number: it is written with full-width or other non-ASCII digits, "
                "and it has a percent sign",
                "write 0.85; the input is a ratio, and 85 % is 0.85",
            ),
            (
                "0.5",
                '"12,5"',
                "b",
                "expected a number, found '12,5'",
                "write a plain number with a decimal point and no separators, e.g. 1234.5",
            ),
        ],
        # "85%" for a ratio is now read as 0.85 with a note (issue 17): see tests/test_offices.py.
        ids=["thousands", "thousands-decimals", "full-width", "full-width-percent", "decimal-comma"],
    )
    def test_numbers_as_typed_text(self, tmp_path: Path, a: str, b: str, field: str, message: str, hint: str) -> None:
        """Numbers typed with %, separators or full-width digits are refused with the exact plain number to write."""
        [result] = grade(tmp_path, "r.csv", f"{HEADER}320581,常熟市,{a},{b},0.01\n")
        assert result.grade is None
        assert errors(result) == [(field, message, hint)]
        assert (result.errors[0].location.line, result.errors[0].location.county) == (2, "320581")

    @pytest.mark.parametrize(
        ("unit", "hint"),
        [
            (None, "write 0.50 for a fraction, or 50 for percentage points, as the policy means"),
            ("%", "write 50; the unit is already %"),
        ],
        ids=["no-unit", "percent-unit"],
    )
    def test_percent_on_a_number_input(
        self, tmp_path: Path, write_policy: WritePolicy, unit: str | None, hint: str
    ) -> None:
        """On a `number` input, "50%" is refused too; the hint follows the declared unit."""
        declared = "unit: '%', " if unit else ""
        policy = load_policy(write_policy(SMALL.replace("b: {type: number,", f"b: {{type: number, {declared}")))
        data = tmp_path / "r.csv"
        data.write_text(f"{HEADER}320581,常熟市,0.5,50%,0.01\n", "utf-8")
        [result] = fineco_rules.evaluate(policy, read_records(data).records)
        assert errors(result) == [("b", "'50%' is not a plain number: it has a percent sign", hint)]

    def test_plain_numbers_still_exact(self, tmp_path: Path) -> None:
        """The plain forms suggested by those hints grade exactly (Decimal), as a control."""
        [result] = grade(tmp_path, "r.csv", f"{HEADER}320581,常熟市,0.85,12.5,0.01\n")
        assert result.errors == () and result.score == Decimal("48.75")

    @pytest.mark.parametrize(
        ("code", "hint"),
        [
            ("32058", "write the six-digit GB/T 2260 code, e.g. 320581"),
            ("3205811", "write the six-digit GB/T 2260 code, e.g. 320581"),
            ("32058a", "write the six-digit GB/T 2260 code, e.g. 320581"),
            ("３２０５８１", "write it with ASCII digits: 320581"),
        ],
        ids=["five-digits", "seven-digits", "letter", "full-width"],
    )
    def test_county_code_not_six_digits(self, tmp_path: Path, code: str, hint: str) -> None:
        """A county code that is not six ASCII digits is an error on that record only."""
        [bad, good] = grade(tmp_path, "r.csv", f"{HEADER}{code},x,0.5,50,0.01\n320582,张家港市,0.5,50,0.01\n")
        assert errors(bad) == [("county", f"county code {code!r} is not six digits", hint)]
        assert bad.grade is None and good.grade is not None

    def test_same_county_twice(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The second record of a county is an error naming the first; the first is graded."""
        data = tmp_path / "r.csv"
        data.write_text(f"{HEADER}320581,常熟市,0.5,50,0.01\n320581,常熟市,0.9,50,0.01\n", "utf-8")
        [first, second] = grade(tmp_path, "r.csv", data.read_text("utf-8"))
        assert first.grade is not None and second.grade is None
        assert errors(second) == [
            ("county", f"county 320581 appears twice (first at {data}:2, at row 1)", "keep one record per county")
        ]
        code, _, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(data), "-q")
        assert code == 1 and "appears twice" in err

    def test_gbk_read_as_utf8(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A GBK CSV is read as GB18030 with a note at the first non-UTF-8 byte; a GBK JSON is refused there."""
        text = f"{HEADER}320581,常熟市,0.5,50,0.01\n"
        [result] = grade(tmp_path, "r.csv", text.encode("gbk"))
        assert result.name == "常熟市" and result.grade is not None
        read = read_records(tmp_path / "r.csv")
        assert (read.encoding, [p.code for p in read.problems]) == ("gb18030", ["decoded-as-gbk"])
        assert (read.problems[0].location.line, read.problems[0].location.column) == (2, 8)
        code, _, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(tmp_path / "r.csv"), "-q")
        assert code == 0 and f"note: {tmp_path / 'r.csv'}:2:8: the file is not UTF-8 (byte 0xb3 at offset" in err
        json_file = tmp_path / "r.json"
        json_file.write_bytes('[{"county": "320581", "name": "常熟市"}]'.encode("gbk"))
        problem = problem_of(lambda: read_records(json_file), DataFileError)
        assert (problem.code, problem.location.line, problem.location.column) == ("not-utf8", 1, 32)
        assert "it looks like GBK/GB18030" in problem.message

    def test_utf8_read_as_gbk(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """UTF-8 once opened as GBK and saved again (mojibake) is graded right, with a note showing the real name."""
        garbled = "苏州".encode().decode("gb18030")
        assert garbled == "鑻忓窞"
        [result] = grade(tmp_path, "r.csv", f"{HEADER}320581,{garbled},0.5,50,0.01\n")
        assert result.grade is not None and result.score == Decimal("50.00")
        [note] = read_records(tmp_path / "r.csv").problems
        assert (note.code, note.location.line, note.location.column) == ("mojibake", 2, 8)
        assert "'鑻忓窞' is '苏州' garbled" in note.message
        lossy = "常熟市".encode().decode("gb18030", "replace")
        [lost] = read_records(self.write(tmp_path, "lossy.csv", f"{HEADER}320581,{lossy},0.5,50,0.01\n")).problems
        assert lost.code == "mojibake" and "replacement character (U+FFFD)" in lost.message
        code, _, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(tmp_path / "r.csv"), "-q")
        assert code == 0 and "note: " in err and "garbled" in err
        clean = read_records(self.write(tmp_path, "clean.csv", f"{HEADER}320581,常熟市,0.5,50,0.01\n"))
        assert clean.problems == ()

    @staticmethod
    def write(tmp_path: Path, name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, "utf-8")
        return path

    @staticmethod
    def workbook(rows: list[list[object]], merge: str | None = None) -> bytes:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "数据"
        for row in rows:
            sheet.append(row)
        if merge:
            sheet.merge_cells(merge)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def test_xlsx_merged_cells(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Merged cells among the data rows are refused with the range, never read as empty cells."""
        rows: list[list[object]] = [
            ["county", "name", "a", "b", "npl"],
            ["320581", "常熟市", 0.5, 50, 0.01],
            ["320582", "张家港市", None, 50, 0.01],
        ]
        path = tmp_path / "r.xlsx"
        path.write_bytes(self.workbook(rows, "C2:C3"))
        problem = problem_of(lambda: read_records(path), DataFileError)
        assert (problem.code, problem.location.line, problem.location.column, problem.location.path) == (
            "merged-cells",
            2,
            3,
            "数据!C2:C3",
        )
        assert (
            problem.message
            == "cells C2:C3 are merged; only C2 holds a value, the other rows or columns would read as empty"
        )
        assert problem.hint == "unmerge the cells (Home, Merge & Center) and fill in every county's own value"
        code, _, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(path), "-q")
        assert code == 1 and "are merged" in err

    def test_xlsx_formulas(self, tmp_path: Path) -> None:
        """A formula with a saved result is read as that number; one without is refused, never scored as text."""
        rows: list[list[object]] = [
            ["county", "name", "a", "b", "npl"],
            ["320581", "常熟市", 0.5, 50, 0.01],
            ["320582", "张家港市", "=C2*1", 50, 0.01],
            ["320583", "昆山市", "=1/0", 50, 0.01],
        ]
        raw = self.workbook(rows)
        [unsaved, _] = self.grade_xlsx(tmp_path, raw)[1:]
        assert unsaved.grade is None
        assert errors(unsaved) == [
            (
                "a",
                "the cell holds the formula =C2*1 but no saved result",
                "open the workbook in Excel or LibreOffice and save it, so formula results are stored, "
                "or replace the formulas by their values (Paste Special, Values)",
            )
        ]
        # As Excel saves them: each formula with its last result (<v>), an error as t="e".
        saved = self.patch(
            raw,
            [
                (b"<f>C2*1</f><v />", b"<f>C2*1</f><v>0.5</v>"),
                (b'<c r="C4"><f>1/0</f><v />', b'<c r="C4" t="e"><f>1/0</f><v>#DIV/0!</v>'),
            ],
        )
        first, computed, division = self.grade_xlsx(tmp_path, saved)
        assert computed.errors == () and computed.score == first.score == Decimal("50.00")
        assert errors(division) == [
            ("a", "the cell holds the spreadsheet error #DIV/0!", "fix the formula that gives this error")
        ]

    def grade_xlsx(self, tmp_path: Path, raw: bytes) -> list[fineco_rules.CountyResult]:
        return grade(tmp_path, "r.xlsx", raw)

    @staticmethod
    def patch(raw: bytes, replacements: list[tuple[bytes, bytes]]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    for old, new in replacements:
                        assert old in data
                        data = data.replace(old, new)
                target.writestr(item, data)
        return out.getvalue()

    @pytest.mark.parametrize("content", ["", HEADER], ids=["empty", "header-only"])
    def test_empty_and_header_only(self, tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
        """A file with no records is reported; `evaluate` exits 1 but still grades the other files."""
        path = self.write(tmp_path, "r.csv", content)
        read = read_records(path)
        assert read.records == ()
        assert [(p.code, p.message, p.hint) for p in read.problems] == [
            ("no-records", "the file holds no records", "add one row (or list item) per county")
        ]
        other = self.write(tmp_path, "other.csv", f"{HEADER}320581,常熟市,0.5,50,0.01\n")
        code, out, err = cli(
            capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(path), str(other), "-q", "--format", "csv"
        )
        assert code == 1
        assert f"error: {path}: the file holds no records" in err
        assert "320581" in out

    def test_one_huge_cell_refuses_only_its_record(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A 10 MB cell refuses its own record (line, column and the limit named); the 51 others are graded."""
        rows = [f"3201{i:02d},县{i},0.5,50,0.02" for i in range(1, 52)]
        rows.insert(4, "320199," + "y" * 10_000_000 + ",0.5,50,0.02")
        path = self.write(tmp_path, "huge.csv", HEADER + "\n".join(rows) + "\n")
        read = read_records(path)
        assert len(read.records) == 51 and "320199" not in {r.values["county"] for r in read.records}
        (problem,) = read.problems
        assert (problem.code, problem.location.line, problem.location.column) == ("cell-too-large", 6, 2)
        assert problem.message == (
            "cell B6 'name' holds 10,000,000 characters, more than the 65,536 allowed in one cell; "
            "this record (county 320199) was not read, the others were"
        )
        code, out, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(path), "--format", "csv")
        assert code == 1 and len(out.splitlines()) == 52 and "cell-too-large" not in err and "65,536" in err

    def test_record_file_over_the_size_limit(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A CSV, JSON or XLSX file over MAX_RECORD_BYTES is refused before it is read, with the limit named."""
        import fineco_rules.io._readers as readers

        monkeypatch.setattr(readers, "MAX_RECORD_BYTES", 100)
        path = self.write(tmp_path, "big.csv", HEADER + "320581,常熟市,0.5,50,0.01\n" * 10)
        problem = problem_of(lambda: read_records(path), DataFileError)
        assert (problem.code, problem.message) == (
            "too-big",
            f"the file is {path.stat().st_size:,} bytes, more than the 100 bytes allowed for a record file",
        )

    def test_evaluate_columns_given_raw_records(self, small_session: fineco_rules.CompiledPolicy) -> None:
        """evaluate_columns given RawRecords says what it found and what to do, without contradicting itself."""
        from fineco_rules.engine import evaluate_columns
        from fineco_rules.io import RawRecord

        records = [RawRecord({"county": "320581"}, fineco_rules.Location("<x>"))]
        with pytest.raises(TypeError) as info:
            evaluate_columns(small_session, records)
        assert str(info.value).startswith(
            "expected a mapping of columns, a pandas DataFrame, an Arrow table or a list of mappings, "
            "not a list holding a RawRecord ("
        )
        assert str(info.value).endswith("; give raw records to evaluate(), or pass [r.values for r in records]")


class TestBounds:
    """Bounded work: YAML text after aliases, XLSX size and cells, `extends` depth; each limit can be raised."""

    def test_yaml_text_after_aliases(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A record file whose aliases expand a long text past the limit is refused; the variable raises it."""
        text = "x" * 60_000
        items = ", ".join(f'{{county: "3205{i:02d}", name: *s}}' for i in range(1, 301))
        path = tmp_path / "r.yaml"
        path.write_text(f"s: &s {text}\nrecords: [{items}]\n", "utf-8")
        problem = problem_of(lambda: read_records(path), DataFileError)
        assert (problem.code, problem.location.line, problem.location.column) == ("too-large", 1, 1)
        assert problem.message == f"the document expands to more than {MAX_YAML_TEXT:,} characters of text"
        assert problem.hint == (
            "remove the repeated aliases (*name) of long text; "
            f"if it really needs more, set the environment variable FINECO_MAX_YAML_TEXT above {MAX_YAML_TEXT:,}"
        )
        monkeypatch.setenv("FINECO_MAX_YAML_TEXT", "20_000_000")
        assert len(read_records(path).records) == 300

    def test_yaml_node_limit_can_be_set(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """FINECO_MAX_YAML_NODES sets the values-after-aliases limit (here lowered, to show it is read)."""
        path = tmp_path / "r.yaml"
        path.write_text("records:\n" + "".join(f"- {{county: '3205{i:02d}'}}\n" for i in range(1, 11)), "utf-8")
        assert len(read_records(path).records) == 10
        monkeypatch.setenv("FINECO_MAX_YAML_NODES", "12")
        assert problem_of(lambda: read_records(path), DataFileError).message == (
            "the document expands to more than 12 values"
        )

    def test_a_limit_that_is_not_a_count(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A limit variable set to something other than a positive count is an error naming it, never ignored."""
        monkeypatch.setenv("FINECO_MAX_YAML_TEXT", "lots")
        code, _, err = cli(capsys, "validate", str(small_policy(tmp_path)))
        assert code == 1
        assert (
            "FINECO_MAX_YAML_TEXT='lots' is not a positive whole number: set it to a count above 0, "
            f"or unset it for the default {MAX_YAML_TEXT:,}" in err
        )

    def test_xlsx_unpacked_size(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A workbook whose zip members unpack past the limit is refused from the zip directory; openpyxl never runs."""
        path = tmp_path / "bomb.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * 1024 * 1024))
        assert path.stat().st_size < 10_000
        monkeypatch.setenv("FINECO_MAX_XLSX_BYTES", str(1024 * 1024))
        monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl was called"))
        problem = problem_of(lambda: read_records(path), DataFileError)
        assert problem.code == "too-big"
        assert problem.message == "the workbook unpacks to 2,097,152 bytes, more than the 1,048,576 bytes allowed"
        assert problem.hint is not None and problem.hint.endswith(
            "if it really needs more, set the environment variable FINECO_MAX_XLSX_BYTES above 1,048,576"
        )
        assert MAX_XLSX_BYTES == 512 * 1024 * 1024

    def test_xlsx_cell_count(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A sheet with more cells than the limit stops reading at the limit, naming it and the variable."""
        rows: list[list[object]] = [["county", "name", "a", "b", "npl"]]
        rows += [[f"3205{i:02d}", "县", 0.5, 50, 0.01] for i in range(1, 20)]
        path = tmp_path / "r.xlsx"
        path.write_bytes(TestRecords.workbook(rows))
        assert len(read_records(path).records) == 19
        monkeypatch.setenv("FINECO_MAX_XLSX_CELLS", "50")
        problem = problem_of(lambda: read_records(path), DataFileError)
        assert (problem.code, problem.location.file) == ("too-big", str(path))
        assert problem.message == (
            "the workbook's first sheet has more than 50 cells (empty cells within the used range count)"
        )
        assert "FINECO_MAX_XLSX_CELLS above 50" in (problem.hint or "")
        code, _, err = cli(capsys, "evaluate", "--policy", str(small_policy(tmp_path)), str(path), "-q")
        assert code == 1 and "more than 50 cells" in err

    def test_extends_chain_depth(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An `extends` chain past MAX_EXTENDS is refused before the next parent is read; the variable raises it."""
        links = MAX_EXTENDS + 1
        for i in range(links):
            (tmp_path / f"c{i}.yaml").write_text(child(f"c{i}", f"c{i + 1}"), "utf-8")
        root = SMALL.replace("id: test-policy", f"id: c{links}")
        (tmp_path / f"c{links}.yaml").write_text(root, "utf-8")
        problem = problem_of(lambda: load_policy(tmp_path / "c0.yaml"))
        assert (problem.code, problem.location.file) == ("extends-too-deep", str(tmp_path / f"c{MAX_EXTENDS - 1}.yaml"))
        assert (
            problem.message == f"the `extends` chain is longer than {MAX_EXTENDS} policies (c0 1 -> c1 1 -> c2 1 -> …)"
        )
        assert (problem.hint or "").endswith(f"FINECO_MAX_EXTENDS above {MAX_EXTENDS}")
        monkeypatch.setenv("FINECO_MAX_EXTENDS", str(links + 1))
        assert load_policy(tmp_path / "c0.yaml").id == "c0"


class TestRealCommand:
    def test_no_traceback_from_the_installed_command(self, tmp_path: Path) -> None:
        """The `fineco` process itself (not only main()) prints located errors and exits 1 on hostile files."""
        (tmp_path / "bomb.yaml").write_text(bomb(), "utf-8")
        (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", "utf-8")
        (tmp_path / "gbk.yaml").write_bytes(SMALL.encode("gbk"))
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fineco_rules",
                "validate",
                *(str(tmp_path / n) for n in ("bomb.yaml", "deep.yaml", "gbk.yaml")),
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            check=False,
        )
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert [line.split(": ")[1] for line in done.stderr.splitlines() if line.startswith("error: ")] == [
            f"{tmp_path / 'bomb.yaml'}:1:1",
            f"{tmp_path / 'deep.yaml'}:1:{MAX_DEPTH + 3}",
            f"{tmp_path / 'gbk.yaml'}:3:13",
        ]


def test_every_row_of_the_catalogue_names_a_test_here() -> None:
    """docs/robustness.md names only tests that exist in this file, and every test here is named there."""
    text = (ROOT / "docs" / "robustness.md").read_text("utf-8")
    named = set(re.findall(r"`tests/test_robustness\.py::(\w+)::(\w+)`", text))
    assert named
    for cls, test in named:
        assert callable(getattr(globals()[cls], test)), f"{cls}::{test} is not in tests/test_robustness.py"
    here = {
        (name, attr)
        for name, value in list(globals().items())
        if name.startswith("Test") and isinstance(value, type)
        for attr in vars(value)
        if attr.startswith("test_")
    }
    assert here - named == set(), "tests missing from docs/robustness.md"
