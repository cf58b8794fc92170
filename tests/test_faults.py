"""Faults: scorer plugins that raise, hang, return NaN, mutate their inputs or clash; files cut off mid-write.

Each case ends in a precise error, a documented warning, or a correct result; never a traceback or a hang.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fineco_rules
from fineco_rules import Better, Label, PluginError, Scored, Scorer, hookimpl
from fineco_rules import cli as _cli
from fineco_rules.cli import _main  # where the CLI builds its plugin host: the timeout test swaps it
from fineco_rules.engine import EvaluationTimeout, time_limit
from fineco_rules.governance import Registry
from fineco_rules.io import WriteError, _atomic, append_atomic, write_atomic  # private unit under test

from .conftest import SMALL, WritePolicy

ROOT = Path(__file__).resolve().parent.parent
RECORDS = [
    {"county": "320581", "name": "常熟市", "a": "0.9", "b": "90", "npl": "0.02"},
    {"county": "320582", "name": "张家港市", "a": "0.5", "b": "70", "npl": "0.03"},
]
Behaviour = Callable[[Mapping[str, Any]], Any]


class Faulty(Scorer):
    """A row scorer of ``a`` whose behaviour the test chooses."""

    version = "6.6"
    label = Label("故障", "faulty")
    params_schema: Mapping[str, Any] = {"type": "object"}

    def __init__(self, behaviour: Behaviour, name: str = "faulty") -> None:
        self.name = name
        self.behaviour = behaviour

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {"a": Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        return self.behaviour


class FaultyCohort(Faulty):
    """The same, as a cohort scorer: it gets every county's values at once."""

    cohort = True


class Plugin:
    def __init__(self, *scorers: Scorer) -> None:
        self.scorers = scorers

    @hookimpl
    def fineco_scorers(self) -> Sequence[Scorer]:
        return self.scorers


class Other(Plugin):
    """A second plugin class, to clash with the first."""


def _policy(write_policy: WritePolicy, *scorers: Scorer) -> fineco_rules.CompiledPolicy:
    host = fineco_rules.make_plugin_host(plugins=[Plugin(*scorers)])
    text = SMALL.replace(
        "scorer: linear\n    params: {input: a, worst: 0, best: 1}", f"scorer: {scorers[0].name}\n    params: {{}}"
    )
    return fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(text), host=host), host)


def _honest(values: Mapping[str, Any]) -> Scored:
    return Scored(values["a"] * 100)


# -- plugins ---------------------------------------------------------------------------------


class TestPluginFaults:
    def test_a_raising_scorer_is_reported_on_each_county_and_the_batch_goes_on(self, write_policy: WritePolicy) -> None:
        def boom(values: Mapping[str, Any]) -> Scored:
            raise ZeroDivisionError("division by zero in the plugin")

        evaluation = _policy(write_policy, Faulty(boom)).evaluate(RECORDS)
        assert [r.grade for r in evaluation.results] == [None, None]
        for result in evaluation.results:
            (error,) = result.errors
            assert error.code == "scorer-failed"
            assert "scorer faulty 6.6 from tests.test_faults.Plugin" in error.message
            assert "division by zero in the plugin" in error.message
            assert error.location.county == result.county and error.location.path == "indicators.ia"
            assert error.hint is not None and "plugin's authors" in error.hint
            assert result.indicators["ib"].score is not None  # the other indicator still scored

    def test_a_scorer_refusing_data_with_valueerror_points_at_the_data(self, write_policy: WritePolicy) -> None:
        def refuse(values: Mapping[str, Any]) -> Scored:
            raise ValueError("the roll-up disagrees with the parts")

        (error, *_) = _policy(write_policy, Faulty(refuse)).evaluate(RECORDS[:1]).results[0].errors
        assert error.code == "scorer-rejected" and "check this county's inputs" in (error.hint or "")

    @pytest.mark.parametrize("bad", ["NaN", "sNaN", "Infinity", "-Infinity", "-1", "100.0001"])
    def test_a_score_outside_the_range_or_nan_is_refused(self, write_policy: WritePolicy, bad: str) -> None:
        evaluation = _policy(write_policy, Faulty(lambda values: Scored(Decimal(bad)))).evaluate(RECORDS[:1])
        (result,) = evaluation.results
        assert result.grade is None and result.indicators["ia"].score is None
        (error,) = result.errors
        assert error.code == "scorer-failed"
        assert "is outside [0, 100]" in error.message and "faulty 6.6" in error.message

    @pytest.mark.parametrize("bad", [float("nan"), 50.0, None, "50", Decimal(50)])
    def test_a_score_that_is_not_a_scored_decimal_is_refused(self, write_policy: WritePolicy, bad: object) -> None:
        returned = bad if isinstance(bad, Decimal) else Scored(bad)  # type: ignore[arg-type]
        (result,) = _policy(write_policy, Faulty(lambda values: returned)).evaluate(RECORDS[:1]).results
        (error,) = result.errors
        assert error.code == "scorer-failed" and "not a Scored with a Decimal score" in error.message

    def test_a_cohort_scorer_returning_nan_is_refused_on_every_county(self, write_policy: WritePolicy) -> None:
        def nan_rows(rows: Sequence[Mapping[str, Any]]) -> list[Scored]:
            return [Scored(Decimal("NaN")) for _ in rows]

        evaluation = _policy(write_policy, FaultyCohort(nan_rows)).evaluate(RECORDS)
        assert all(r.grade is None and r.errors[0].code == "scorer-failed" for r in evaluation.results)

    @pytest.mark.parametrize("cohort", [False, True], ids=["row", "cohort"])
    def test_a_scorer_that_mutates_its_input_does_not_change_the_result(
        self, write_policy: WritePolicy, cohort: bool
    ) -> None:
        """Either the mutation is refused (a precise error naming the plugin) or it has no effect at all."""

        def vandal(values: Any) -> Any:
            rows = values if cohort else [values]
            scores = [_honest(row) for row in rows]
            for row in rows:
                row["a"] = Decimal(0)
                row["npl"] = Decimal(1)
            return scores if cohort else scores[0]

        clean = _policy(write_policy, (FaultyCohort if cohort else Faulty)(_honest_rows if cohort else _honest))
        dirty = _policy(write_policy, (FaultyCohort if cohort else Faulty)(vandal))
        expected = clean.evaluate(RECORDS).to_dict()
        expected_scores = {r.county: r.indicators["ib"].score for r in clean.evaluate(RECORDS).results}
        got = dirty.evaluate(RECORDS)
        refused = [e for r in got.results for e in r.errors]
        if refused:  # the engine hands scorers read-only views: the mutation is a contract breach
            assert len(refused) == len(RECORDS)
            assert all(e.code == "scorer-failed" and "faulty 6.6" in e.message for e in refused)
            assert all(e.location.path == "indicators.ia" for e in refused)
            for result, before in zip(got.results, RECORDS, strict=True):
                assert result.indicators["ia"].inputs == {"a": Decimal(before["a"])}
                assert result.indicators["ib"].score == expected_scores[result.county]
        else:
            assert got.to_dict() == expected

    def test_two_plugins_providing_one_scorer_name_are_an_error_naming_both(self) -> None:
        with pytest.raises(PluginError) as caught:
            fineco_rules.make_plugin_host(plugins=[Plugin(Faulty(_honest)), Other(Faulty(_honest))])
        (problem,) = caught.value.problems
        assert problem.code == "duplicate-scorer"
        assert "'tests.test_faults.Plugin'" in problem.message and "'tests.test_faults.Other'" in problem.message
        assert "FINECO_BLOCK_PLUGINS" in (problem.hint or "")

    def test_one_plugin_providing_a_name_twice_is_an_error(self) -> None:
        with pytest.raises(PluginError, match="scorer 'faulty' is provided by both"):
            fineco_rules.make_plugin_host(plugins=[Plugin(Faulty(_honest), Faulty(_honest))])

    def test_a_plugin_clashing_with_a_builtin_is_an_error(self) -> None:
        with pytest.raises(
            PluginError,
            match=r"scorer 'linear' is provided by both 'tests\.test_faults\.Plugin' and 'fineco_rules\.generic'",
        ):
            fineco_rules.make_plugin_host(plugins=[Plugin(Faulty(_honest, name="linear"))])

    def test_the_same_plugin_object_registered_twice_is_an_error(self) -> None:
        plugin = Plugin(Faulty(_honest))
        with pytest.raises(PluginError) as caught:
            fineco_rules.make_plugin_host(plugins=[plugin, plugin])
        assert caught.value.problem.code == "duplicate-plugin"
        assert "plugin tests.test_faults.Plugin is registered twice" in caught.value.problem.message

    def test_an_installed_plugin_passed_again_is_an_error(self) -> None:
        from fineco_rules.scoring import _builtin as _generic  # private unit under test

        with pytest.raises(PluginError, match=r"loaded already as 'fineco_rules\.generic'"):
            fineco_rules.make_plugin_host(plugins=[_generic])


def _honest_rows(rows: Sequence[Mapping[str, Any]]) -> list[Scored]:
    return [_honest(row) for row in rows]


# -- hangs -----------------------------------------------------------------------------------


def _sleep_forever(values: Mapping[str, Any]) -> Scored:
    while True:
        time.sleep(60)


class TestTimeLimit:
    def test_a_hung_scorer_is_stopped_with_an_error_naming_it(self, write_policy: WritePolicy) -> None:
        compiled = _policy(write_policy, Faulty(_sleep_forever, name="sleepy"))
        with pytest.raises(EvaluationTimeout) as caught, time_limit(0.5):
            compiled.evaluate(RECORDS)
        error = caught.value
        assert isinstance(error, PluginError) and isinstance(error, fineco_rules.FinecoError)
        assert (error.indicator, error.scorer, error.county) == ("ia", "sleepy", "320581")
        assert error.plugin is not None and "tests.test_faults.Plugin" in error.plugin
        assert "after the 0.5 s time limit" in str(error) and "_sleep_forever" in str(error)
        assert error.problem.code == "timeout" and "--timeout" in (error.problem.hint or "")

    def test_a_scorer_swallowing_the_interruption_is_interrupted_again(self, write_policy: WritePolicy) -> None:
        def stubborn(values: Mapping[str, Any]) -> Scored:
            with contextlib.suppress(BaseException):
                _sleep_forever(values)
            return _sleep_forever(values)  # the second interruption is not caught

        with pytest.raises(EvaluationTimeout), time_limit(0.2):
            _policy(write_policy, Faulty(stubborn)).evaluate(RECORDS[:1])

    def test_an_alarm_during_garbage_collection_is_not_lost(self, write_policy: WritePolicy) -> None:
        """A limit that runs out inside another library's GC callback stops the scorer just after the collection,
        and nothing is lost as an unraisable exception (pytest turns one into an error here)."""

        slowed: list[bool] = []

        def slow_callback(phase: str, info: object) -> None:
            if phase == "start" and not slowed:  # the first collection outlasts the limit
                slowed.append(True)
                time.sleep(0.3)

        def collecting(values: Mapping[str, Any]) -> Scored:
            gc.collect()  # the limit runs out while the slow callback sleeps
            return _sleep_forever(values)

        gc.callbacks.append(slow_callback)
        try:
            with pytest.raises(EvaluationTimeout), time_limit(0.1):
                _policy(write_policy, Faulty(collecting)).evaluate(RECORDS[:1])
        finally:
            gc.callbacks.remove(slow_callback)

    def test_off_the_main_thread_a_busy_scorer_is_stopped_too(self, write_policy: WritePolicy) -> None:
        def busy(values: Mapping[str, Any]) -> Scored:
            while True:
                time.sleep(0.01)

        compiled = _policy(write_policy, Faulty(busy, name="busy"))
        caught: list[BaseException] = []

        def work() -> None:
            try:
                with time_limit(0.5):
                    compiled.evaluate(RECORDS)
            except BaseException as exc:
                caught.append(exc)

        worker = threading.Thread(target=work)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive()
        (error,) = caught
        assert isinstance(error, EvaluationTimeout) and error.scorer == "busy"

    def test_a_stop_off_the_main_thread_leaves_the_interpreter_as_it_was(self) -> None:
        """CPython keeps an interpreter-wide flag for thread interruptions; clearing one the wrong way left it set,
        and every later Hypothesis run crawled (seen as a hang of the suite). The fix is checked in a fresh process,
        bounded by a generous timeout: a hang, not a speed, is what fails."""
        script = textwrap.dedent(
            """
            import threading, time
            from hypothesis import given, settings, strategies as st
            from fineco_rules.engine import EvaluationTimeout, time_limit

            caught = []

            def work():
                try:
                    with time_limit(0.2):
                        while True:
                            time.sleep(0.01)
                except EvaluationTimeout as exc:
                    caught.append(exc)

            worker = threading.Thread(target=work)
            worker.start()
            worker.join()
            assert len(caught) == 1

            @settings(max_examples=200, database=None)
            @given(st.lists(st.integers()))
            def shrinks(xs):
                assert sum(xs) < 100

            try:
                shrinks()
            except AssertionError:
                print("shrunk")
            """
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "shrunk"

    def test_within_the_limit_nothing_changes(self, write_policy: WritePolicy) -> None:
        compiled = _policy(write_policy, Faulty(_honest))
        with time_limit(60):
            inside = compiled.evaluate(RECORDS).to_dict()
        assert inside == compiled.evaluate(RECORDS).to_dict()
        with time_limit(None):
            assert compiled.evaluate(RECORDS).to_dict() == inside

    def test_an_inner_limit_gives_the_outer_one_back(self, write_policy: WritePolicy) -> None:
        compiled = _policy(write_policy, Faulty(_sleep_forever, name="sleepy"))

        def nested() -> None:
            with time_limit(0.5):
                with time_limit(30):
                    compiled.evaluate([])
                compiled.evaluate(RECORDS)

        with pytest.raises(EvaluationTimeout) as caught:
            nested()
        assert caught.value.seconds == 0.5 and caught.value.scorer == "sleepy"

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
    def test_a_limit_must_be_a_positive_number(self, bad: float) -> None:
        with pytest.raises(ValueError, match="positive number of seconds"), time_limit(bad):
            pass

    def test_cli_timeout_stops_a_hung_plugin(
        self, write_policy: WritePolicy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
    ) -> None:
        sleepy = Plugin(Faulty(_sleep_forever, name="sleepy"))
        real = fineco_rules.make_plugin_host
        monkeypatch.setattr(_main, "make_plugin_host", lambda **kw: real(plugins=[sleepy], **kw))
        policy = write_policy(
            SMALL.replace("scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: sleepy\n    params: {}")
        )
        data = tmp_path / "records.json"
        data.write_text(json.dumps(RECORDS), encoding="utf-8")
        out = tmp_path / "out.json"
        status = _cli.main(["evaluate", "--policy", str(policy), str(data), "--timeout", "0.5", "-o", str(out), "-q"])
        assert status == _cli.EXIT_ERRORS
        err = capsys.readouterr().err
        assert "error: " in err and "scorer sleepy" in err and "0.5 s time limit" in err and "Traceback" not in err
        assert not out.exists()

    @pytest.mark.parametrize("bad", ["0", "-2", "soon", "nan"])
    def test_cli_timeout_must_be_positive(self, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as caught:
            _cli.main(["evaluate", "--policy", "p.yaml", "d.csv", "--timeout", bad])
        assert caught.value.code == 2 and "positive number of seconds" in capsys.readouterr().err


# -- files written -------------------------------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class TestAtomicWrites:
    def test_a_write_replaces_the_file_whole(self, tmp_path: Path) -> None:
        target = tmp_path / "out.json"
        write_atomic(target, "old\n")
        write_atomic(target, "新的\n")
        assert target.read_text("utf-8") == "新的\n" and _leftovers(tmp_path) == []

    def test_an_existing_file_keeps_its_permissions(self, tmp_path: Path) -> None:
        target = tmp_path / "out.csv"
        target.write_text("old")
        target.chmod(0o640)
        write_atomic(target, b"new")
        assert target.stat().st_mode & 0o777 == 0o640
        write_atomic(tmp_path / "key", b"secret", mode=0o600)
        assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600

    @pytest.mark.parametrize(
        ("code", "hint"),
        [
            (errno.ENOSPC, "the disk is full"),
            (errno.EACCES, "permissions"),
            (errno.EROFS, "read-only file system"),
            (errno.EIO, "input/output error"),
        ],
    )
    def test_a_failing_write_leaves_the_old_file_and_no_temporary(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, hint: str
    ) -> None:
        target = tmp_path / "results.json"
        target.write_text("the old results\n", encoding="utf-8")
        real_write = os.write
        calls = []

        def failing(fd: int, data: Any) -> int:
            calls.append(fd)
            if len(calls) == 1:  # half the data goes out, then the disk refuses
                return real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(_atomic.os, "write", failing)
        with pytest.raises(WriteError) as caught:
            write_atomic(target, "the new results, long enough to be cut in half\n" * 100)
        monkeypatch.undo()
        problem = caught.value.problem
        assert problem.location.file == str(target) and problem.code == "write-failed"
        assert f"cannot write {target}: writing failed" in problem.message
        assert errno.errorcode[code] in problem.message
        assert hint in (problem.hint or "") and "was left as it was" in (problem.hint or "")
        assert isinstance(caught.value, OSError) and isinstance(caught.value, fineco_rules.FinecoError)
        assert target.read_text("utf-8") == "the old results\n"
        assert _leftovers(tmp_path) == []

    def test_an_interruption_mid_write_leaves_the_old_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        target = tmp_path / "report.html"
        target.write_text("<p>old</p>", encoding="utf-8")

        def interrupted(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(_atomic.os, "fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_atomic(target, "<p>new</p>")
        assert target.read_text("utf-8") == "<p>old</p>" and _leftovers(tmp_path) == []

    def test_a_failing_rename_leaves_the_old_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        target = tmp_path / "export.json"
        target.write_text("old", encoding="utf-8")

        def refuse(src: Any, dst: Any) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(_atomic.os, "replace", refuse)
        with pytest.raises(WriteError, match="replacing the old file failed: Permission denied"):
            write_atomic(target, "new")
        assert target.read_text("utf-8") == "old" and _leftovers(tmp_path) == []

    def test_a_missing_folder_says_so(self, tmp_path: Path) -> None:
        with pytest.raises(WriteError) as caught:
            write_atomic(tmp_path / "no" / "such" / "out.json", "x")
        assert "the folder does not exist" in (caught.value.problem.hint or "")

    def test_a_read_only_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        if os.geteuid() == 0:
            pytest.skip("root may write anywhere")
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        try:
            with pytest.raises(WriteError, match="creating a temporary file in its folder failed"):
                write_atomic(folder / "out.json", "x")
        finally:
            folder.chmod(0o700)

    def test_an_exclusive_write_never_replaces_a_file(self, tmp_path: Path) -> None:
        key = tmp_path / "province.key"
        write_atomic(key, b"first", mode=0o600, exclusive=True)
        with pytest.raises(WriteError, match=r"creating the file failed: File exists \(EEXIST\)"):
            write_atomic(key, b"second", mode=0o600, exclusive=True)
        assert key.read_bytes() == b"first" and _leftovers(tmp_path) == []

    def test_append_keeps_the_old_lines(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        log = tmp_path / "log.jsonl"
        append_atomic(log, "1\n")
        append_atomic(log, "2\n")
        monkeypatch.setattr(_atomic.os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
        with pytest.raises(WriteError, match="ENOSPC"):
            append_atomic(log, "3\n")
        assert log.read_text() == "1\n2\n" and _leftovers(tmp_path) == []


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "write", full)


class TestFilesTheCliWrites:
    def _evaluate(self, out: Path, *extra: str) -> int:
        return _cli.main(
            [
                "evaluate",
                "--policy",
                str(ROOT / "policies" / "jiangsu"),
                "--as-of",
                "2008-12-31",
                str(ROOT / "examples" / "jiangsu-2008.csv"),
                "--format",
                "json",
                "-o",
                str(out),
                "-q",
                *extra,
            ]
        )

    def test_evaluate_output_on_a_full_disk(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "results.json"
        assert self._evaluate(out) == _cli.EXIT_OK
        before = out.read_bytes()
        _full_disk(monkeypatch)
        assert self._evaluate(out) == _cli.EXIT_ERRORS
        err = capsys.readouterr().err
        assert f"error: {out}: cannot write {out}: writing failed: No space left on device (ENOSPC)" in err
        assert "Traceback" not in err
        assert out.read_bytes() == before and _leftovers(tmp_path) == []

    def test_report_on_a_full_disk(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The HTML report is written; the disk fills up on the XLSX one, whose old file stays whole."""
        lines = (ROOT / "examples" / "jiangsu-2008.csv").read_text("utf-8").splitlines(keepends=True)
        data = tmp_path / "three.csv"
        data.write_text("".join(lines[:4]), encoding="utf-8")
        html, xlsx = tmp_path / "report.html", tmp_path / "report.xlsx"
        html.write_bytes(b"old html")
        xlsx.write_bytes(b"old xlsx")
        real_write = os.write

        def full_for_zip(fd: int, data: Any) -> int:
            if bytes(data[:2]) == b"PK":  # an XLSX file is a zip archive
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(_atomic.os, "write", full_for_zip)
        policy = str(ROOT / "policies" / "jiangsu")
        argv = ["report", "--policy", policy, "--as-of", "2008-12-31", str(data), "-o", str(html), "-o", str(xlsx)]
        assert _cli.main([*argv, "-q"]) == _cli.EXIT_ERRORS
        err = capsys.readouterr().err
        assert f"cannot write {xlsx}: writing failed: No space left on device (ENOSPC)" in err
        assert "Traceback" not in err
        assert html.read_bytes().startswith(b"<!") and xlsx.read_bytes() == b"old xlsx"
        assert _leftovers(tmp_path) == []

    def test_the_registry_log_survives_a_full_disk(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        host = fineco_rules.make_plugin_host()
        registry = Registry(tmp_path / "registry", signed_steps=False)
        policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml", host=host)
        registry.submit_filing(policy, host, "张三")
        log_before = registry.log_path.read_bytes()
        other = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2010.yaml", host=host)
        _full_disk(monkeypatch)
        with pytest.raises(WriteError, match="ENOSPC"):
            registry.submit_filing(other, host, "张三")
        monkeypatch.undo()
        assert registry.log_path.read_bytes() == log_before
        assert registry.verify(None) == []
        assert list((tmp_path / "registry").rglob("*.tmp")) == []

    def test_a_full_disk_while_logging_leaves_no_unlogged_record(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The record is written, then the log append fails: the record is taken back, so it can be filed again."""
        host = fineco_rules.make_plugin_host()
        registry = Registry(tmp_path / "registry", signed_steps=False)
        policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml", host=host)
        real_write = os.write

        def full_for_log(fd: int, data: Any) -> int:
            if b'"prev": ' in bytes(data):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(_atomic.os, "write", full_for_log)
        with pytest.raises(WriteError, match=r"log\.jsonl: writing failed"):
            registry.submit_filing(policy, host, "张三")
        monkeypatch.undo()
        assert list((tmp_path / "registry" / "filings").iterdir()) == []
        assert not registry.log_path.exists()
        subject = registry.submit_filing(policy, host, "张三")
        assert [e["subject"] for e in registry.entries()] == [subject] and registry.verify(None) == []
