"""Plugins that misbehave (issue 13): each gives one clear error naming the plugin; the rest is graded; stdout is ours.

Raising or exiting on import, a hook returning something that is not a list, ``sys.exit`` in a scorer,
printing to standard output, details that are not JSON data, a ``Decimal`` subclass for a score.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fineco_rules
from fineco_rules import PluginError, Scored
from fineco_rules.cli import main

from .conftest import ROOT, WritePolicy
from .test_faults import RECORDS, Faulty, _policy

JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


class Lying(Decimal):
    """A Decimal that says it is 100 whatever it holds."""

    def __str__(self) -> str:
        return "100"


def only_error(result: fineco_rules.CountyResult) -> fineco_rules.Problem:
    (error,) = result.errors
    assert error.code == "scorer-failed" and error.location.path == "indicators.ia"
    assert "scorer faulty 6.6 from tests.test_faults.Plugin" in error.message
    assert result.grade is None and result.indicators["ib"].score is not None  # the rest of the county scored
    return error


class TestScorerCalls:
    """A scorer's misbehaviour is an error on the county it was scoring, naming the plugin."""

    def test_sys_exit_in_a_scorer(self, write_policy: WritePolicy) -> None:
        """`sys.exit(3)` inside a scorer fails that county only; the process and the batch go on."""

        def leave(values: Mapping[str, Any]) -> Scored:
            sys.exit(3)

        results = _policy(write_policy, Faulty(leave)).evaluate(RECORDS).results
        assert [only_error(r).message.endswith("failed: it called sys.exit(3)") for r in results] == [True, True]

    def test_details_that_are_not_json_data(self, write_policy: WritePolicy) -> None:
        """Details holding an object, NaN or a non-text key are refused by name."""
        bad: list[dict[Any, Any]] = [{"x": object()}, {"x": [float("nan")]}, {1: "a"}]
        for details in bad:
            faulty = Faulty(lambda values, d=details: Scored(Decimal(50), details=d))
            (result,) = _policy(write_policy, faulty).evaluate(RECORDS[:1]).results
            assert "returned details" in only_error(result).message

    def test_plain_details_pass(self, write_policy: WritePolicy) -> None:
        """Text, numbers, Decimals, booleans, None, lists and mappings of them are details as before."""
        details = {"a": "x", "b": [1, Decimal("0.5"), True, None], "c": {"d": 2.5}}
        faulty = Faulty(lambda values: Scored(Decimal(50), details=details))
        (result,) = _policy(write_policy, faulty).evaluate(RECORDS[:1]).results
        assert result.errors == () and result.indicators["ia"].score == Decimal(50)

    def test_a_decimal_subclass_score(self, write_policy: WritePolicy) -> None:
        """A score (or normalized value, or detail) of a Decimal subclass is refused: it could lie about its digits."""
        for scored in (
            Scored(Lying(50)),
            Scored(Decimal(50), normalized=Lying("0.5")),
            Scored(Decimal(50), details={"x": Lying(1)}),
        ):
            (result,) = _policy(write_policy, Faulty(lambda values, s=scored: s)).evaluate(RECORDS[:1]).results
            assert "Lying, a Decimal subclass" in only_error(result).message

    def test_printing_goes_to_stderr(self, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]) -> None:
        """What a scorer prints lands on standard error, never in our output."""

        def chatty(values: Mapping[str, Any]) -> Scored:
            print("debug: scoring", values["a"])
            return Scored(Decimal(50))

        (result,) = _policy(write_policy, Faulty(chatty)).evaluate(RECORDS[:1]).results
        out, err = capsys.readouterr()
        assert result.errors == () and out == "" and "debug: scoring 0.9" in err


HOOK_MODULE = """
from decimal import Decimal

from fineco_rules import Better, Label, Scored, Scorer, hookimpl

{top}


class Loud(Scorer):
    name = "loud"
    version = "1.0"
    label = Label("吵", "loud")
    params_schema = {{"type": "object"}}

    def reads(self, params):
        return {{"a": Better.HIGHER}}

    def build(self, params, max_score):
        def score(values):
            print("LOUD PLUGIN OUTPUT")
            return Scored(Decimal(1))
        return score


@hookimpl
def fineco_scorers():
    {hook}
"""


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Install, for one test, a `fineco_rules` entry-point plugin `bad` (module `bad_plugin`) with chosen code."""

    def put(top: str = "", hook: str = "return [Loud()]") -> None:
        site = tmp_path / "site"
        site.mkdir()
        (site / "bad_plugin.py").write_text(HOOK_MODULE.format(top=top, hook=hook), "utf-8")
        info = site / "bad_plugin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 0.1\n", "utf-8")
        (info / "entry_points.txt").write_text("[fineco_rules]\nbad = bad_plugin\n", "utf-8")
        monkeypatch.syspath_prepend(str(site))

    yield put
    sys.modules.pop("bad_plugin", None)


class TestLoading:
    """A plugin that cannot be loaded stops the host with one error naming it and how to block it."""

    @pytest.mark.parametrize(
        ("top", "said"),
        [
            ("raise ImportError('no module named numpyy')", "ImportError: no module named numpyy"),
            ("import sys; sys.exit(4)", "it called sys.exit(4)"),
        ],
    )
    def test_a_plugin_that_fails_on_import(self, install: Any, top: str, said: str) -> None:
        """Raising or exiting on import: `PluginError` naming the plugin, the others still load."""
        install(top=top)
        with pytest.raises(PluginError) as info:
            fineco_rules.make_plugin_host()
        assert info.value.problem.message == f"plugin 'bad' failed while loading: {said}"
        assert info.value.problem.hint == "report it to the plugin's authors, or block it (FINECO_BLOCK_PLUGINS=bad)"
        assert "loud" not in fineco_rules.make_plugin_host(block=["bad"]).scorers

    @pytest.mark.parametrize("hook", ["return {'loud': Loud()}", "return Loud()", "return 'loud'"])
    def test_a_hook_returning_something_else_than_a_list(self, install: Any, hook: str) -> None:
        """A hook returning a dict, a lone scorer or text is refused by name, not iterated."""
        install(hook=hook)
        with pytest.raises(PluginError) as info:
            fineco_rules.make_plugin_host()
        assert info.value.problem.message.startswith("plugin 'bad' failed while listing its scorers: RuntimeError(")
        assert "not a list of scorers" in info.value.problem.message

    def test_a_hook_that_exits(self, install: Any) -> None:
        """`sys.exit` in the hook is an error naming the plugin, not the end of the process."""
        install(hook="import sys; sys.exit(5)")
        with pytest.raises(PluginError) as info:
            fineco_rules.make_plugin_host()
        assert info.value.problem.message == "plugin 'bad' failed while listing its scorers: SystemExit(5)"

    def test_the_cli_says_which_plugin_without_a_traceback(
        self, install: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`fineco evaluate` with a plugin that fails on import exits non-zero naming it."""
        install(top="raise RuntimeError('broken on import')")
        code = main(["evaluate", "--policy", str(JIANGSU), str(DATA), "-q"])
        out, err = capsys.readouterr()
        assert code != 0 and out == "" and "Traceback" not in err
        assert "plugin 'bad' failed while loading: RuntimeError: broken on import" in err


class TestStdout:
    """Standard output carries only our output."""

    def test_json_output_stays_json(self, install: Any, write_policy: WritePolicy, capsys: Any) -> None:
        """A plugin scorer that prints: `fineco evaluate --format json` stdout still parses; the print is on stderr."""
        install(top="print('PRINTED ON IMPORT')")
        from .conftest import SMALL

        policy = write_policy(
            SMALL.replace("scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: loud\n    params: {}")
        )
        data = policy.parent / "r.csv"
        data.write_text("county,name,a,b,npl\n320581,常熟市,0.9,90,0.02\n", "utf-8")
        code = main(["evaluate", "--policy", str(policy), str(data), "--format", "json", "-q"])
        out, err = capsys.readouterr()
        assert code == 0
        assert json.loads(out)["results"][0]["county"] == "320581"
        assert "PRINTED ON IMPORT" in err and "LOUD PLUGIN OUTPUT" in err
