"""`fineco evaluate` at the speed of the engine: summaries without explanations, the compact JSON by default."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.cli import main
from fineco_rules.engine._engine import compile_policy  # the compiled policy the private grader takes
from fineco_rules.engine._summaries import evaluate_summaries  # private unit under test
from fineco_rules.errors import JSONWriteError, Location
from fineco_rules.io._json import dumps, dumps_each  # private unit under test: the one JSON writer
from fineco_rules.io._readers import RawRecord  # raw records as a file gives them, for the private grader

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "benchmarks" / "county-policy.yaml"
JIANGSU = str(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
JIANGSU_DATA = str(ROOT / "examples" / "jiangsu-2008.csv")

#: Cells a person or a program writes, plain and odd: edges, ties, long decimals, percentages, blanks, words.
NUMBER_CELLS = st.one_of(
    st.decimals(min_value=0, max_value=1, places=4).map(str),
    st.sampled_from(["0.6", "0.8", "0.9", "0.2", "0.06", "0.059", "0.80", "0.8000", "1", "0", "00.5", ".5", "5."]),
    st.sampled_from(["", " 0.5", "0.5 ", "+0.5", "-0.1", "1e-1", "50%", "0,5", "abc", "1-2", "..", "-", "nan"]),
    st.sampled_from(["0.123456789012345", "0.1234567890123456789", "1.5", "-0"]),
)
AMOUNTS = st.one_of(
    st.decimals(min_value=0, max_value=10_000, places=2).map(str),
    st.sampled_from(["0", "2.675", "100", "1,000", "12345678901234567", ""]),
)
SCORES = st.one_of(st.decimals(min_value=0, max_value=100, places=4).map(str), st.sampled_from(["40", "95", "101"]))
BOOLEANS = st.sampled_from(["true", "false", "True", " yes", "否", "1", "0", "maybe", ""])


@st.composite
def batches(draw: st.DrawFn) -> list[RawRecord]:
    """CSV-like raw records of the benchmark policy, keyed by distinct well-formed county codes."""
    size = draw(st.integers(1, 12))
    codes = draw(st.lists(st.integers(100000, 999999), min_size=size, max_size=size, unique=True))
    records = []
    for line, code in enumerate(codes, 2):
        values: dict[str, object] = {
            "county": str(code),
            "credit_township_share": draw(NUMBER_CELLS),
            "credit_household_share": draw(NUMBER_CELLS),
            "case_execution_rate": draw(NUMBER_CELLS),
            "loans": draw(AMOUNTS),
            "deposits": draw(AMOUNTS),
            "npl_ratio": draw(NUMBER_CELLS),
            "awareness_score": draw(SCORES),
            "satisfaction_score": draw(SCORES),
            "major_case": draw(BOOLEANS),
        }
        records.append(RawRecord({k: None if v == "" else v for k, v in values.items()}, Location("d.csv", line)))
    return records


@pytest.fixture(scope="module")
def compiled() -> fineco_rules.CompiledPolicy:
    return compile_policy(fineco_rules.load_policy(POLICY))


class TestSummariesEqualTheInterpreter:
    """Summaries made on the compiled path equal the interpreter's, record by record, errors and notes too."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(raws=batches())
    def test_any_cells(self, compiled: fineco_rules.CompiledPolicy, raws: list[RawRecord]) -> None:
        """Plain, odd and bad cells alike: the same summaries and batch problems as the interpreter."""
        fast = evaluate_summaries(compiled, raws)
        assert fast is not None
        slow = compiled.evaluate(raws)
        assert fast.summaries() == slow.summaries()
        assert fast.problems == slow.problems
        assert fast.grades == slow.grades
        assert fast.scores == slow.scores
        assert fast.ok == slow.ok

    def test_explanation_on_demand(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """`results` of a summarised evaluation are the interpreter's full results, located in the file."""
        raws = [RawRecord({"county": "320581", "major_case": "false", **_plain()}, Location("d.csv", 2))]
        fast = evaluate_summaries(compiled, raws)
        assert fast is not None
        assert fast.results == compiled.evaluate(raws).results
        assert fast.results[0].location == Location("d.csv", 2)

    @pytest.mark.parametrize(
        ("change", "why"),
        [
            ({"extra": "1"}, "a column that is not an input is noted once, at its first record"),
            ({"county": "320581"}, "a county given twice"),
            ({"county": "32058"}, "a county code that is not six digits"),
        ],
    )
    def test_batch_links_go_to_the_interpreter(
        self, compiled: fineco_rules.CompiledPolicy, change: dict[str, str], why: str
    ) -> None:
        """What links records in a batch leaves the whole batch to the interpreter (None)."""
        first = RawRecord({"county": "320581", "major_case": "false", **_plain()}, Location("d.csv", 2))
        second = RawRecord({"county": "320582", "major_case": "false", **_plain(), **change}, Location("d.csv", 3))
        assert evaluate_summaries(compiled, [first, second]) is None, why


def _plain() -> dict[str, str]:
    return {
        "credit_township_share": "0.85",
        "credit_household_share": "0.55",
        "case_execution_rate": "0.8",
        "loans": "80",
        "deposits": "100",
        "npl_ratio": "0.05",
        "awareness_score": "70",
        "satisfaction_score": "67.5",
    }


class TestDumpsEach:
    """`dumps_each` writes each value as `dumps` does, indented as an item."""

    @pytest.mark.parametrize("depth", [0, 2])
    @pytest.mark.parametrize(
        "value",
        [
            {"a": Decimal("1.50"), "b": None, "c": {"x": Decimal("1E-7"), "y": Decimal("1E+3")}, "d": [], "e": {}},
            {"s": '中"文\n', "t": True, "f": False, "i": 12, "big": 10**5000},
            {"nested": [{"a": 1}], "k": 1},
            {},
            [1, 2],
        ],
    )
    def test_same_text_as_dumps(self, value: object, depth: int) -> None:
        """The same text as `dumps(value)`, each line after the first indented by `depth` levels."""
        assert list(dumps_each([value], depth=depth)) == [dumps(value).replace("\n", "\n" + "  " * depth)]

    def test_refuses_what_dumps_refuses(self) -> None:
        """NaN is refused, naming where it sits, as `dumps` does."""
        with pytest.raises(JSONWriteError, match=r"\$\.a"):
            list(dumps_each([{"a": Decimal("NaN")}]))


def _evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code = main(["evaluate", "--policy", JIANGSU, JIANGSU_DATA, "-q", *args])
    assert code in (0, 1)
    return json.loads(capsys.readouterr().out, parse_float=Decimal)  # type: ignore[no-any-return]


class TestJSONShapes:
    """`--format json` writes the compact shape; `--explain` the full one; `--compact` is the default's alias."""

    def test_compact_by_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Each county has exactly county, name, city, grade, score, indicators (scores) and errors."""
        doc = _evaluate(capsys, "--format", "json")
        first = doc["results"][0]  # type: ignore[index]
        assert set(first) == {"county", "name", "city", "grade", "score", "indicators", "errors"}
        assert all(isinstance(v, Decimal | int) for v in first["indicators"].values())

    def test_explain_gives_the_full_shape(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`--explain` adds base score, groups, adjustments, vetoes, checks and each indicator's details."""
        doc = _evaluate(capsys, "--format", "json", "--explain")
        first = doc["results"][0]  # type: ignore[index]
        assert {"base_score", "groups", "adjustments", "vetoes", "checks", "missing"} <= set(first)
        assert {"score", "weight", "contribution", "inputs", "details"} <= set(next(iter(first["indicators"].values())))

    def test_compact_flag_is_the_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`--compact` writes the same document as no flag."""
        assert _evaluate(capsys, "--format", "json", "--compact") == _evaluate(capsys, "--format", "json")

    def test_compact_equals_the_full_figures(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The compact figures are those of the full output, county by county."""
        small = _evaluate(capsys, "--format", "json")["results"]
        big = _evaluate(capsys, "--format", "json", "--explain")["results"]
        assert [(s["county"], s["grade"], s["score"]) for s in small] == [  # type: ignore[union-attr, index]
            (b["county"], b["grade"], b["score"])
            for b in big  # type: ignore[union-attr, index]
        ]
        assert [s["indicators"] for s in small] == [  # type: ignore[union-attr, index]
            {n: i["score"] for n, i in b["indicators"].items()}
            for b in big  # type: ignore[union-attr, index]
        ]


class TestCSVOnTheCompiledPath:
    """A CSV of the benchmark policy is graded on the compiled path, with the same output as the interpreter."""

    def test_same_csv_as_the_interpreter(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """The CSV format of a summarised run equals the rows written from the interpreter's full results."""
        data = tmp_path / "d.csv"
        rows = [f"{320500 + i},0.85,0.{40 + i},0.8,80,100,0.05,70,6{i}.5,false" for i in range(1, 9)]
        header = "county,credit_township_share,credit_household_share,case_execution_rate,loans,deposits,npl_ratio,"
        data.write_text(header + "awareness_score,satisfaction_score,major_case\n" + "\n".join(rows) + "\n", "utf-8")
        assert main(["evaluate", "--policy", str(POLICY), str(data), "--format", "csv", "-q"]) == 0
        fast = capsys.readouterr().out
        assert main(["evaluate", "--policy", str(POLICY), str(data), "--format", "csv", "-q", "--explain"]) == 0
        assert fast == capsys.readouterr().out


class TestOneEntryPointScan:
    """The API without `host=` scans the installed plugins once per process, not once per call."""

    @pytest.fixture
    def scans(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """Each entry-point scan, counted, with no default host built yet."""
        import pluggy

        from fineco_rules.scoring import _host  # private unit under test: the default host

        monkeypatch.setattr(_host, "_DEFAULT", {})
        seen: list[str] = []
        real = pluggy.PluginManager.load_setuptools_entrypoints

        def counted(self: pluggy.PluginManager, group: str, name: str | None = None) -> int:
            seen.append(group)
            return real(self, group, name)

        monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", counted)
        return seen

    def test_load_and_evaluate_scan_once(self, scans: list[str]) -> None:
        """`load_policy` then `evaluate` (twice), neither given a host: one scan."""
        policy = fineco_rules.load_policy(POLICY)
        records = [{"county": "320581", "major_case": False, **_plain()}]
        fineco_rules.evaluate(policy, records)
        fineco_rules.evaluate(fineco_rules.load_policy(POLICY), records)
        assert scans == ["fineco_rules"]

    def test_a_changed_block_list_scans_again(self, scans: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
        """Setting FINECO_BLOCK_PLUGINS builds the default host again, with the plugin blocked."""
        fineco_rules.load_policy(POLICY)
        monkeypatch.setenv("FINECO_BLOCK_PLUGINS", "nobody")
        fineco_rules.load_policy(POLICY)
        assert scans == ["fineco_rules", "fineco_rules"]

    def test_make_plugin_host_always_scans(self, scans: list[str]) -> None:
        """An explicit `make_plugin_host()` is a fresh scan each time."""
        fineco_rules.make_plugin_host()
        fineco_rules.make_plugin_host()
        assert scans == ["fineco_rules", "fineco_rules"]


class TestCheapHelp:
    """`fineco --help` is built from the command table alone; the table matches the command modules."""

    def test_table_matches_the_modules(self) -> None:
        """Each command's group and help line in `_main.COMMANDS` are those its module registers."""
        import argparse

        from fineco_rules.cli import _main  # private unit under test: the command table

        found = {}
        for group in _main.GROUPS:
            module = __import__(f"fineco_rules.cli.{group}", fromlist=["COMMANDS"])
            parser = argparse.ArgumentParser()
            sub = parser.add_subparsers()
            module.add_commands(sub)
            found.update({a.dest: (group, a.help) for a in sub._choices_actions})  # noqa: SLF001  # argparse's own list
        assert found == _main.COMMANDS

    def test_help_loads_no_command_module(self) -> None:
        """`fineco --help` imports none of the command modules nor the plugin host."""
        import subprocess
        import sys

        probe = (
            "import contextlib, io, sys\n"
            "from fineco_rules.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith(('fineco_rules.cli.', 'fineco_rules.scoring'))))\n"
        )
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
        assert done.stdout.strip() == "['fineco_rules.cli._main']"
