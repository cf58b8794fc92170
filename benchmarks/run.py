"""Time fineco-rules against hand-written references and peer engines, in one process run.

    python benchmarks/run.py [--quick] [--size N] [--sizes N ...] [--out benchmarks/results]

Writes ``results.json`` and ``results.md`` to ``--out``. See ``benchmarks/README.md`` for what each
figure means. Every engine's grades and totals are checked against the exact reference on every record.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import importlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import yaml

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fineco_rules
import fineco_rules.engine
from benchmarks import dask_speed, data, peers, provincial, reference

HERE: Final = Path(__file__).resolve().parent
POLICY: Final = HERE / "county-policy.yaml"
#: Engines see batches of at most this many records (county codes are unique within a batch).
CHUNK: Final = 500_000
_CODES: Final = {fineco_rules.Grade.FAIL: 0, fineco_rules.Grade.PASS: 1, fineco_rules.Grade.GOOD: 2}

Outcome = tuple[Sequence[int] | npt.NDArray[Any], Sequence[int | None] | npt.NDArray[Any]]


class Batch:
    """One data set in every shape an engine may want, built lazily and never timed."""

    def __init__(self, cols: data.Columns, csv_path: Path | None = None) -> None:
        self.columns = cols
        self.n = len(cols["county"])
        self._records: list[dict[str, object]] | None = None
        self._frame: Any = None
        self._arrow: Any = None
        self.csv_path = csv_path

    @property
    def records(self) -> list[dict[str, object]]:
        if self._records is None:
            self._records = data.records_from_columns(self.columns)
        return self._records

    @property
    def frame(self) -> Any:
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(self.columns)
        return self._frame

    @property
    def arrow(self) -> Any:
        if self._arrow is None:
            pa = importlib.import_module("pyarrow")
            self._arrow = pa.table({name: pa.array(values) for name, values in self.columns.items()})
        return self._arrow


class Engine:
    """Something to time: ``run(batch)`` is timed, ``outcome(result)`` turns its answer into grade codes and cents."""

    def __init__(
        self,
        name: str,
        family: str,
        path: str,
        takes: str,
        run: Callable[[Batch], Any],
        outcome: Callable[[Any], Outcome],
        *,
        scales: bool = False,
        note: str = "",
    ) -> None:
        self.name, self.family, self.path, self.takes = name, family, path, takes
        self.run, self.outcome, self.scales, self.note = run, outcome, scales, note


def _fineco_row_outcome(evaluation: fineco_rules.Evaluation) -> Outcome:
    # Evaluation.grades / .scores: without building the explanations the row path defers (issue 16).
    grades = [-1 if g is None else _CODES[g] for g in evaluation.grades]
    totals = [None if s is None else int(s.scaleb(2)) for s in evaluation.scores]
    return grades, totals


def _columnar_outcome(result: Any) -> Outcome:
    return result.grade_codes, result.total_units


def _chunks_outcome(results: Sequence[Any]) -> Outcome:
    return (
        np.concatenate([r.grade_codes for r in results]),
        np.concatenate([r.total_units for r in results]),
    )


def engines(compiled: fineco_rules.CompiledPolicy) -> list[Engine]:
    """Every engine in the order the report lists them."""
    out = [
        Engine(
            "reference Python",
            "reference",
            "row",
            "dicts",
            lambda b: reference.grade_python(b.records),
            lambda r: r,
            scales=True,
            note="hand-written, exact, no explanation",
        ),
        Engine(
            "reference Python, floats (naive)",
            "reference",
            "row",
            "dicts",
            lambda b: reference.grade_python_naive(b.records),
            lambda r: r,
            note="hand-written with floats and round(); not exact, not used in ratios",
        ),
        Engine(
            "reference NumPy (ready columns)",
            "reference",
            "columnar",
            "NumPy columns",
            lambda b: reference.grade_numpy(b.columns),
            lambda r: r,
            scales=True,
            note="hand-written, exact, no explanation",
        ),
        Engine(
            "reference NumPy (from dicts)",
            "reference",
            "columnar",
            "dicts",
            lambda b: reference.grade_numpy(reference.columns_from_records(b.records)),
            lambda r: r,
            note="the same, counting the conversion of dicts to columns",
        ),
        Engine(
            "fineco row path",
            "fineco",
            "row",
            "dicts",
            lambda b: compiled.evaluate(b.records),
            _fineco_row_outcome,
            scales=True,
            note="CompiledPolicy.evaluate: generated code, grades and totals; full explanation on demand",
        ),
    ]
    if hasattr(fineco_rules, "evaluate_columns"):
        evaluate_columns = fineco_rules.evaluate_columns

        def from_dicts(b: Batch) -> Any:
            cols: dict[str, Any] = dict(reference.columns_from_records(b.records))
            cols["county"] = [r["county"] for r in b.records]
            return evaluate_columns(compiled, cols)

        out += [
            Engine(
                "fineco columnar (NumPy columns)",
                "fineco",
                "columnar",
                "NumPy columns",
                lambda b: evaluate_columns(compiled, b.columns),
                _columnar_outcome,
                scales=True,
                note="evaluate_columns; explanations on demand",
            ),
            Engine(
                "fineco columnar (from dicts)",
                "fineco",
                "columnar",
                "dicts",
                from_dicts,
                _columnar_outcome,
                note="the same, counting the conversion of dicts to columns",
            ),
            Engine(
                "fineco columnar (pandas DataFrame)",
                "fineco",
                "columnar",
                "pandas DataFrame",
                lambda b: evaluate_columns(compiled, b.frame),
                _columnar_outcome,
            ),
            Engine(
                "fineco columnar (Arrow table)",
                "fineco",
                "columnar",
                "Arrow table",
                lambda b: evaluate_columns(compiled, b.arrow),
                _columnar_outcome,
            ),
        ]
        if hasattr(fineco_rules.engine, "read_csv_columns"):
            read_csv_columns = fineco_rules.engine.read_csv_columns

            def csv_fineco(b: Batch) -> list[Any]:
                assert b.csv_path is not None
                return [
                    evaluate_columns(compiled, table, source=str(b.csv_path), first_line=line)
                    for line, table in read_csv_columns(b.csv_path)
                ]

            out.append(
                Engine(
                    "fineco columnar (CSV streamed in chunks)",
                    "fineco",
                    "columnar",
                    "CSV file",
                    csv_fineco,
                    _chunks_outcome,
                    note="read_csv_columns (text cells, 65,536 rows a chunk) + evaluate_columns, parsing included",
                )
            )
    out.append(
        Engine(
            "reference NumPy (CSV via Arrow)",
            "reference",
            "columnar",
            "CSV file",
            _csv_reference,
            lambda r: r,
            note="pyarrow.csv streaming reader (float64 columns) + the NumPy reference, parsing included",
        )
    )
    for peer in peers.PEERS:
        run = peer.build()
        out.append(
            Engine(
                peer.name,
                "peer",
                "row",
                "dicts",
                lambda b, run=run: run(b.records),  # type: ignore[misc]
                lambda r, name=peer.name: peers.normalize(name, r),  # type: ignore[misc]
                scales=True,
            )
        )
    return out


def _csv_reference(b: Batch) -> Outcome:
    pa = importlib.import_module("pyarrow")
    csv = importlib.import_module("pyarrow.csv")
    assert b.csv_path is not None
    types = {name: pa.float64() for name in data.NUMBER_FIELDS} | {"county": pa.string(), "major_case": pa.bool_()}
    grades, totals = [], []
    with csv.open_csv(b.csv_path, convert_options=csv.ConvertOptions(column_types=types)) as reader:
        for batch in reader:
            cols = {name: batch.column(name).to_numpy(zero_copy_only=False) for name in data.FIELDS}
            g, t = reference.grade_numpy(cols)
            grades.append(g)
            totals.append(t)
    return np.concatenate(grades), np.concatenate(totals)


# -- measuring ------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int, long: float = 5.0) -> tuple[float, Any, int]:
    """Best wall time of up to ``repeat`` runs (a run longer than ``long`` seconds is not repeated)."""
    best, result, runs = float("inf"), None, 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        runs += 1
        best = min(best, elapsed)
        if elapsed > long:
            break
    return best, result, runs


def disagreements(outcome: Outcome, truth: Outcome) -> dict[str, int]:
    """Records whose grade, or whose total as written, differs from the exact reference."""
    grades = np.asarray(outcome[0], dtype=np.int64)
    want_grades = np.asarray(truth[0], dtype=np.int64)
    totals = np.array([-1 if t is None else t for t in outcome[1]], dtype=np.int64)
    want_totals = np.asarray(truth[1], dtype=np.int64)
    if len(grades) != len(want_grades):
        return {"grade": len(want_grades), "total": len(want_totals)}
    return {"grade": int((grades != want_grades).sum()), "total": int((totals != want_totals).sum())}


def _prepare(batch: Batch, takes: str) -> None:
    if takes == "dicts":
        _ = batch.records
    elif takes == "pandas DataFrame":
        _ = batch.frame
    elif takes == "Arrow table":
        _ = batch.arrow


def main_comparison(
    all_engines: Sequence[Engine], n: int, repeat: int, work: Path, log: Callable[[str], None], seed: int = 16
) -> dict[str, Any]:
    """Every engine on the same ``n`` records, **interleaved**: each of ``repeat`` rounds runs every engine once,
    in an order shuffled afresh each round, so load that comes and goes lands on all engines alike; every engine
    gets the same number of runs, and the best wall time and the best CPU time (``time.process_time``) are kept."""
    cols = data.columns(n)
    csv_path = data.write_csv(work / f"records-{n}.csv", n)
    batch = Batch(cols, csv_path)
    warm = Batch(data.columns(min(n, 500), start=n), data.write_csv(work / "warm.csv", min(n, 500)))
    truth = reference.grade_numpy(cols)
    for engine in all_engines:
        engine.run(warm)  # warm-up: imports, compiled plans, caches
        _prepare(batch, engine.takes)  # build every input shape before any clock starts
    wall = {e.name: float("inf") for e in all_engines}
    cpu = {e.name: float("inf") for e in all_engines}
    last: dict[str, Any] = {}
    order = list(all_engines)
    shuffle = random.Random(seed).shuffle
    for round_ in range(repeat):
        shuffle(order)
        log(f"  round {round_ + 1}/{repeat}: " + ", ".join(e.name for e in order))
        for engine in order:
            gc.collect()
            start_cpu, start = time.process_time(), time.perf_counter()
            result = engine.run(batch)
            elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
            wall[engine.name] = min(wall[engine.name], elapsed)
            cpu[engine.name] = min(cpu[engine.name], used)
            if round_ == repeat - 1:
                last[engine.name] = result
            del result
    rows: dict[str, Any] = {}
    for engine in all_engines:
        result = last.pop(engine.name)
        wrong = disagreements(engine.outcome(result), truth)
        rows[engine.name] = {
            "family": engine.family,
            "path": engine.path,
            "input": engine.takes,
            "records": n,
            "seconds": wall[engine.name],
            "cpu_seconds": cpu[engine.name],
            "runs": repeat,
            "records_per_second": n / wall[engine.name],
            "records_per_cpu_second": n / max(cpu[engine.name], 1e-9),
            "disagreements": wrong,
            "note": engine.note,
        }
        if engine.name.startswith("fineco columnar") and hasattr(result, "row_fallback"):
            rows[engine.name]["row_fallback"] = int(result.row_fallback.sum())
            rows[engine.name]["paths"] = dict(result.paths)
            if engine.takes == "NumPy columns":
                rows[engine.name]["explain_on_demand"] = _explain_sample(result, truth)
        log(
            f"  {engine.name:45} {n / wall[engine.name]:>12,.0f} records/s wall "
            f"{n / max(cpu[engine.name], 1e-9):>12,.0f} /s CPU   wrong: {wrong}"
        )
        del result
    return {"records": n, "order": "interleaved, shuffled each round", "engines": rows}


#: What a cold start is measured against: the interpreter alone, then ours.
COLD_COMMANDS: Final = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import fineco_rules": [sys.executable, "-c", "import fineco_rules"],
    "fineco --help": [sys.executable, "-m", "fineco_rules", "--help"],
}
#: Targets for cold start, in seconds of wall time, as the issue states them.
COLD_TARGETS: Final = {"import fineco_rules": 0.25, "fineco --help": 0.3}


def _child_environment() -> dict[str, str]:
    """The environment of a timed child process: bytecode read (and written), as an installed package runs.

    The shell may export ``PYTHONDONTWRITEBYTECODE``; with it every child would compile our modules from source.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _compile_bytecode() -> None:
    """Compile the package and its plugins to bytecode once, as pip does on install."""
    folders = [str(HERE.parent / "fineco_rules"), str(HERE.parent / "plugins")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *folders], env=_child_environment(), capture_output=True, check=True
    )


#: Sizes ``cli_output`` also times, to show how start-up amortises (the target is judged at the first size).
CLI_LARGER: Final = (100_000,)


def cli_output(
    n: int, repeat: int, work: Path, log: Callable[[str], None], seed: int = 16, larger: Sequence[int] = CLI_LARGER
) -> dict[str, Any]:
    """``fineco evaluate --format json`` (the compact default and ``--explain``) end to end on ``n`` records of a CSV
    file, each a fresh process with its bytecode compiled beforehand (as pip does on install), interleaved in
    shuffled order; best wall and child CPU time, in counties per second. The compact JSON and the CSV are also
    timed on each of ``larger`` records (not in a quick run: only when ``n`` is at least 20,000)."""
    _compile_bytecode()
    runs: dict[tuple[int, str], list[str]] = {}
    for size in [n, *(m for m in larger if n >= 20_000 and m > n)]:
        csv_path = data.write_csv(work / f"cli-{size}.csv", size)
        base = [sys.executable, "-m", "fineco_rules", "evaluate", "--policy", str(POLICY), str(csv_path), "-q"]
        runs[(size, "fineco evaluate --format json")] = [*base, "--format", "json", "-o", str(work / "full.json")]
        if size == n:  # the full explanation: the target size only (it is the slow shape by design)
            runs[(size, "fineco evaluate --format json --explain")] = [
                *base,
                "--format",
                "json",
                "--explain",
                "-o",
                str(work / "e.json"),
            ]
        runs[(size, "fineco evaluate --format csv")] = [*base, "--format", "csv", "-o", str(work / "out.csv")]
    environment = _child_environment()
    for command in runs.values():  # an untimed first run: caches warm, bytecode of anything else written
        subprocess.run(command, capture_output=True, check=False, env=environment)
    wall = dict.fromkeys(runs, float("inf"))
    cpu = dict.fromkeys(runs, float("inf"))
    order = list(runs)
    shuffle = random.Random(seed).shuffle
    for _ in range(repeat):
        shuffle(order)
        for key in order:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(runs[key], capture_output=True, check=False, env=environment)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{key[1]} failed: {done.stderr.decode()[-500:]}")
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            wall[key], cpu[key] = min(wall[key], elapsed), min(cpu[key], used)
    out: dict[str, Any] = {
        "records": n,
        "runs": repeat,
        "target_per_second": 50_000,
        "bytecode": "compiled beforehand, as pip does on install; PYTHONDONTWRITEBYTECODE unset in the children",
        "commands": {},
        "larger": {},
    }
    for (size, name), seconds in wall.items():
        entry = {
            "seconds": seconds,
            "cpu_seconds": cpu[(size, name)],
            "records_per_second": size / seconds,
            "records_per_cpu_second": size / max(cpu[(size, name)], 1e-9),
            "met": size / seconds >= 50_000,
        }
        if size == n:
            out["commands"][name] = entry
        else:
            out["larger"].setdefault(str(size), {"records": size, "commands": {}})["commands"][name] = entry
        log(
            f"  {name:42} {size:>8,} records {size / seconds:>10,.0f} counties/s wall "
            f"{entry['records_per_cpu_second']:>10,.0f} /s CPU"
        )
    return out


def cold_start(repeat: int, log: Callable[[str], None], seed: int = 16) -> dict[str, Any]:
    """Each command of :data:`COLD_COMMANDS` in a fresh process, its bytecode compiled beforehand (as pip does on
    install) and cached by a first, untimed run, interleaved in shuffled order for ``repeat`` rounds; best wall
    and child CPU time of each."""
    _compile_bytecode()
    environment = _child_environment()
    for command in COLD_COMMANDS.values():
        subprocess.run(command, capture_output=True, check=True, env=environment)  # anything else's bytecode
    wall = dict.fromkeys(COLD_COMMANDS, float("inf"))
    cpu = dict.fromkeys(COLD_COMMANDS, float("inf"))
    order = list(COLD_COMMANDS)
    shuffle = random.Random(seed).shuffle
    for _ in range(repeat):
        shuffle(order)
        for name in order:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(COLD_COMMANDS[name], capture_output=True, check=True, env=environment)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            wall[name], cpu[name] = min(wall[name], elapsed), min(cpu[name], used)
    base = wall["python -c pass"]
    out: dict[str, Any] = {
        "runs": repeat,
        "bytecode": "compiled beforehand, as pip does on install; PYTHONDONTWRITEBYTECODE unset in the children",
        "commands": {},
    }
    for name in COLD_COMMANDS:
        entry: dict[str, Any] = {"seconds": wall[name], "cpu_seconds": cpu[name], "over_python": wall[name] - base}
        if name in COLD_TARGETS:
            entry["target_seconds"] = COLD_TARGETS[name]
            entry["met"] = wall[name] <= COLD_TARGETS[name]
        out["commands"][name] = entry
        log(f"  {name:25} {wall[name]:.3f} s wall, {cpu[name]:.3f} s CPU, {wall[name] - base:+.3f} s over python")
    return out


def _explain_sample(result: Any, truth: Outcome, count: int = 100) -> dict[str, Any]:
    """Explain ``count`` records spread over the batch after a columnar evaluation; check each against the truth."""
    n = len(truth[0])
    picks = sorted({(i * 7919) % n for i in range(min(count, n))})
    start = time.perf_counter()
    explained = [result.explain(i) for i in picks]
    seconds = time.perf_counter() - start
    found = [
        (-1 if c.grade is None else _CODES[c.grade], None if c.score is None else int(c.score.scaleb(2)))
        for c in explained
    ]
    want = [(int(truth[0][i]), truth[1][i]) for i in picks]
    wrong = sum(1 for a, b in zip(found, want, strict=True) if a[0] != b[0] or a[1] is None or a[1] != int(b[1] or 0))
    return {"records": len(picks), "microseconds_per_record": 1e6 * seconds / len(picks), "disagreements": wrong}


def provincial_comparison(n: int, repeat: int, log: Callable[[str], None], seed: int = 16) -> dict[str, Any]:
    """The provincial 2008 policy: the row path against its hand-written equivalent (``provincial.py``), both
    over the same dicts, interleaved in shuffled order, best CPU and wall time; every record checked."""
    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(provincial.POLICY))
    records = provincial.records(n)
    warm = provincial.records(min(n, 200), start=n)
    runs: dict[str, Callable[[list[dict[str, object]]], Any]] = {
        "provincial hand-written Python": provincial.grade_python,
        "fineco row path (provincial 2008)": compiled.evaluate,
    }
    outcome: dict[str, Callable[[Any], Outcome]] = {
        "provincial hand-written Python": lambda r: r,
        "fineco row path (provincial 2008)": _fineco_row_outcome,
    }
    for run in runs.values():
        run(warm)
    wall = dict.fromkeys(runs, float("inf"))
    cpu = dict.fromkeys(runs, float("inf"))
    last: dict[str, Any] = {}
    order = list(runs)
    for round_ in range(repeat):
        random.Random(seed + round_).shuffle(order)
        for name in order:
            gc.collect()
            start_cpu, start = time.process_time(), time.perf_counter()
            last[name] = runs[name](records)
            wall[name] = min(wall[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    truth = outcome["provincial hand-written Python"](last["provincial hand-written Python"])
    engines_: dict[str, Any] = {}
    for name in runs:
        wrong = disagreements(outcome[name](last[name]), truth)
        engines_[name] = {
            "records": n,
            "seconds": wall[name],
            "cpu_seconds": cpu[name],
            "records_per_second": n / wall[name],
            "records_per_cpu_second": n / max(cpu[name], 1e-9),
            "disagreements": wrong,
        }
        log(
            f"  {name:45} {n / wall[name]:>12,.0f} records/s wall "
            f"{n / max(cpu[name], 1e-9):>12,.0f} /s CPU  wrong: {wrong}"
        )
    grades = truth[0]
    return {
        "records": n,
        "compiled_form": compiled.compiled_form,
        "grades": {code: list(grades).count(code) for code in (0, 1, 2)},
        "engines": engines_,
    }


def ratios(engines_: Mapping[str, Any]) -> dict[str, Any]:
    """Ours ÷ theirs in records per CPU second (wall-time ratio beside it), like for like: the row path against
    the per-record references and peers, the columnar path against the vectorised references only."""
    cpu_rate = {name: row["records_per_cpu_second"] for name, row in engines_.items()}
    wall_rate = {name: row["records_per_second"] for name, row in engines_.items()}
    out: dict[str, Any] = {}

    def put(key: str, ours: str, theirs: str, target: float | None = None) -> None:
        if ours in cpu_rate and theirs in cpu_rate:
            value = cpu_rate[ours] / cpu_rate[theirs]
            entry: dict[str, Any] = {
                "ours": ours,
                "theirs": theirs,
                "ratio": value,
                "wall_ratio": wall_rate[ours] / wall_rate[theirs],
            }
            if target is not None:
                entry["target"] = target
                entry["met"] = value >= target
            out[key] = entry

    put("row ÷ reference Python", "fineco row path", "reference Python", 0.5)
    put(
        "row ÷ hand-written Python, provincial 2008",
        "fineco row path (provincial 2008)",
        "provincial hand-written Python",
        0.25,
    )
    put(
        "columnar ÷ reference NumPy (ready columns)",
        "fineco columnar (NumPy columns)",
        "reference NumPy (ready columns)",
        1 / 3,
    )
    put("columnar ÷ reference NumPy (from dicts)", "fineco columnar (from dicts)", "reference NumPy (from dicts)", 0.8)
    put(
        "columnar CSV ÷ reference NumPy CSV",
        "fineco columnar (CSV streamed in chunks)",
        "reference NumPy (CSV via Arrow)",
        1 / 3,
    )
    for peer in peers.PEERS:
        put(f"row ÷ {peer.name}", "fineco row path", peer.name, 1.0)
    return out


def scaling(
    all_engines: Sequence[Engine],
    sizes: Sequence[int],
    budget: float,
    first_rates: Mapping[str, float],
    log: Callable[[str], None],
    peer_max: int,
) -> dict[str, Any]:
    """Each scaling engine at each size, in chunks of at most CHUNK records; skip what would exceed ``budget``,
    and peers above ``peer_max`` records."""
    chosen = [e for e in all_engines if e.scales]
    rate = dict(first_rates)
    out: dict[str, Any] = {
        "budget_seconds": budget,
        "peer_max": peer_max,
        "chunk": CHUNK,
        "sizes": list(sizes),
        "engines": {},
    }
    for engine in chosen:
        out["engines"][engine.name] = {}
    for size in sizes:
        running = []
        for engine in chosen:
            projected = size / rate[engine.name] if rate.get(engine.name) else 0.0
            if engine.family == "peer" and size > peer_max:
                out["engines"][engine.name][str(size)] = {
                    "skipped": f"peers are timed up to {peer_max:,} records (--peer-max), to keep the run short"
                }
            elif projected > budget:
                out["engines"][engine.name][str(size)] = {
                    "skipped": f"projected {projected:,.0f} s at {rate[engine.name]:,.0f} records/s exceeds the "
                    f"{budget:,.0f} s budget"
                }
            else:
                running.append(engine)
        seconds = dict.fromkeys((e.name for e in running), 0.0)
        wrong = {e.name: {"grade": 0, "total": 0} for e in running}
        for cols in data.iter_columns(size, chunk=CHUNK):
            batch = Batch(cols)
            truth = reference.grade_numpy(cols)
            if any(e.takes == "dicts" for e in running):
                _ = batch.records
            for engine in running:
                gc.collect()
                start = time.perf_counter()
                result = engine.run(batch)
                seconds[engine.name] += time.perf_counter() - start
                for key, count in disagreements(engine.outcome(result), truth).items():
                    wrong[engine.name][key] += count
                del result
            del batch
        for engine in running:
            rate[engine.name] = size / seconds[engine.name]
            out["engines"][engine.name][str(size)] = {
                "seconds": seconds[engine.name],
                "records_per_second": rate[engine.name],
                "microseconds_per_record": 1e6 * seconds[engine.name] / size,
                "disagreements": wrong[engine.name],
            }
            log(f"  {size:>10,} {engine.name:40} {rate[engine.name]:>14,.0f} records/s   wrong: {wrong[engine.name]}")
    return out


def widened_policy(times: int, work: Path) -> Path:
    """The benchmark policy with each indicator repeated ``times`` times at 1/times of its weight.

    The total is unchanged (each copy scores the same and the weights add up), so grades and totals
    equal the base policy's: the reference still checks every record.
    """
    spec = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    indicators: dict[str, Any] = {}
    for name, indicator in spec["indicators"].items():
        for k in range(times):
            copy_ = copy.deepcopy(indicator)
            copy_["weight"] = float(np.round(indicator["weight"] / times, 10))
            copy_["label"] = {"zh": f"{indicator['label']['zh']}{k + 1}", "en": f"{indicator['label']['en']} {k + 1}"}
            indicators[name if k == 0 else f"{name}_{k + 1}"] = copy_
    spec["indicators"] = indicators
    spec["id"] = f"bench-county-x{times}"
    path = work / f"county-policy-{4 * times}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def indicator_cost(n: int, repeat: int, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    cols = data.columns(n, start=10 * CHUNK)
    batch = Batch(cols)
    truth = reference.grade_numpy(cols)
    _ = batch.records
    out: dict[str, Any] = {"records": n, "policies": {}}
    for times in (1, 2, 4):
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(widened_policy(times, work)))
        count = 4 * times
        entry: dict[str, Any] = {}
        runs: list[tuple[str, Callable[[], Any], Callable[[Any], Outcome]]] = [
            ("fineco row path", lambda c=compiled: c.evaluate(batch.records), _fineco_row_outcome)  # type: ignore[misc]
        ]
        if hasattr(fineco_rules, "evaluate_columns"):
            runs.append(
                (
                    "fineco columnar (NumPy columns)",
                    lambda c=compiled: fineco_rules.evaluate_columns(c, cols),  # type: ignore[misc]
                    _columnar_outcome,
                )
            )
        for name, fn, outcome in runs:
            fn()  # warm-up
            seconds, result, _runs = timed(fn, repeat)
            entry[name] = {
                "seconds": seconds,
                "records_per_second": n / seconds,
                "microseconds_per_record": 1e6 * seconds / n,
                "disagreements": disagreements(outcome(result), truth),
            }
            log(f"  {count:>3} indicators {name:35} {n / seconds:>12,.0f} records/s")
        out["policies"][str(count)] = entry
    return out


_MEASURE: Final = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"returncode": done.returncode, "seconds": seconds, "peak_kib": peak, "stderr": done.stderr[-2000:]}))
"""
HOUSEHOLD_POLICY: Final = HERE.parent / "policies" / "households" / "credit-household-2008.yaml"
MAKE_HOUSEHOLDS: Final = HERE.parent / "examples" / "make_households.py"


def rollup_memory(rows: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Peak RSS of ``fineco rollup`` on household files of growing size, each run as the only child of a
    fresh Python process (so ``RUSAGE_CHILDREN`` is exactly that run's peak). Files are generated once by
    ``examples/make_households.py`` into a cache folder under the system's temporary directory."""
    fineco = shutil.which("fineco", path=str(Path(sys.executable).parent)) or shutil.which("fineco")
    if fineco is None:
        return {"skipped": "the fineco command is not installed"}
    if not HOUSEHOLD_POLICY.exists() or not MAKE_HOUSEHOLDS.exists():
        return {"skipped": f"{HOUSEHOLD_POLICY.name} or {MAKE_HOUSEHOLDS.name} is missing"}
    probe = subprocess.run([fineco, "rollup", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return {"skipped": "fineco has no rollup command (fineco rollup --help failed)"}
    cache = Path(tempfile.gettempdir()) / "fineco-bench"
    cache.mkdir(exist_ok=True)
    out: dict[str, Any] = {
        "command": "fineco rollup --policy policies/households/credit-household-2008.yaml FILE --format json -q",
        "chunk_rows": "default",
        "cache": str(cache),
        "sizes": {},
    }
    for size in sorted({s for s in (100_000, 1_000_000, rows) if s <= rows}):
        file = cache / f"households-{size}.csv"
        entry: dict[str, Any] = {}
        if not file.exists():
            start = time.perf_counter()
            part = file.with_suffix(".part")
            made = subprocess.run(
                [sys.executable, str(MAKE_HOUSEHOLDS), "--rows", str(size), "--out", str(part)],
                capture_output=True,
                text=True,
                check=False,
            )
            if made.returncode != 0:
                out["sizes"][str(size)] = {"skipped": f"generating the file failed: {made.stderr[-500:]}"}
                continue
            part.replace(file)
            entry["generated_seconds"] = time.perf_counter() - start
        result_file = cache / f"rollup-{size}.json"
        command = [fineco, "rollup", "--policy", str(HOUSEHOLD_POLICY), str(file), "--format", "json", "-q"]
        measured = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command, "-o", str(result_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        report = json.loads(measured.stdout) if measured.returncode == 0 and measured.stdout else None
        if report is None or report["returncode"] != 0:
            reason = (report or {}).get("stderr") or measured.stderr
            out["sizes"][str(size)] = {"skipped": f"fineco rollup failed: {str(reason)[-500:]}"}
            continue
        summary = json.loads(result_file.read_text(encoding="utf-8"))
        entry |= {
            "rows": summary.get("rows"),
            "bad_rows": summary.get("bad_rows"),
            "counties": len(summary.get("counties", [])),
            "file_mib": file.stat().st_size / 2**20,
            "seconds": report["seconds"],
            "rows_per_second": size / report["seconds"],
            "peak_rss_mib": report["peak_kib"] / 1024,
        }
        out["sizes"][str(size)] = entry
        log(
            f"  {size:>10,} households: {report['seconds']:,.1f} s, peak RSS {entry['peak_rss_mib']:,.0f} MiB, "
            f"{entry['counties']} counties"
        )
    sizes = out["sizes"]
    if rows > 1_000_000 and all("peak_rss_mib" in sizes.get(str(n), {}) for n in (1_000_000, rows)):
        # Issue 16: the peak at the largest file may be at most 1.2 times the peak at 1,000,000 households.
        ratio = sizes[str(rows)]["peak_rss_mib"] / sizes["1000000"]["peak_rss_mib"]
        out["peak_ratio"] = {"rows": rows, "ratio": ratio, "target": 1.2, "met": ratio <= 1.2}
    return out


def _dask(n: int, repeat: int, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Dask ``local:2`` against one process on ``n`` records (benchmarks/dask_speed.py), unless skipped."""
    if n <= 0:
        return {"skipped": "not asked for (--dask-size 0, or --quick)"}
    if importlib.util.find_spec("distributed") is None:
        return {"skipped": "dask.distributed is not installed"}
    log(f"Dask local:2 against one process on {n:,} records")
    return dask_speed.dask_comparison(n, repeat, work, log)


def machine() -> dict[str, Any]:
    names = ["fineco-rules", "numpy", "pandas", "pyarrow", "datalogic-py", "zen-engine", "rule-engine", "psutil"]
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# -- report ---------------------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M/s"
    if value >= 1e3:
        return f"{value / 1e3:,.1f} k/s"
    return f"{value:,.0f} /s"


def markdown(results: Mapping[str, Any]) -> str:
    lines = [
        *_md_comparison(results),
        *_md_provincial(results.get("provincial")),
        *_md_ratios(results["ratios"]),
        *_md_cold(results.get("cold_start")),
        *_md_cli(results.get("cli_output")),
        *_md_scaling(results.get("scaling")),
        *_md_indicators(results.get("indicators")),
        *_md_rollup(results.get("rollup")),
        *dask_speed._md_dask(results.get("dask")),  # noqa: SLF001 - the section's own renderer, beside its measure
    ]
    return "\n".join(lines) + "\n"


def _md_comparison(results: Mapping[str, Any]) -> list[str]:
    """The run and the machine, then the throughput of every engine on the main batch."""
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {results['date']} with `{results['command']}` ({results['mode']}), "
        f"{results['wall_seconds']:,.0f} s in all, peak RSS of the run {results['peak_rss_mib']:,.0f} MiB.",
        "",
        f"Machine: {m['platform']}, {m['processor']}, {m['cpus']} CPUs, {m['implementation']} {m['python']}. "
        "Load average (1, 5, 15 min) at the start "
        + ", ".join(f"{v:.1f}" for v in results["load_average_at_start"])
        + ", at the end "
        + ", ".join(f"{v:.1f}" for v in results["load_average_at_end"])
        + " (other processes share the machine: absolute figures vary, ratios less).",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        "",
        f"Main comparison: {results['repeat']} rounds after a warm-up; each round runs every engine once, in an "
        "order shuffled afresh, and each engine keeps its best wall time (`time.perf_counter`) and best CPU time "
        "(`time.process_time`); every engine gets the same number of runs. "
        "“Wrong” counts records whose grade, or whose total as written (in cents), differs from the exact reference.",
        "",
        f"## Throughput on {results['comparison']['records']:,} records",
        "",
        "| engine | path | input | records/s (wall) | records/CPU s | wrong grades | wrong totals | note |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, row in results["comparison"]["engines"].items():
        note = row["note"]
        if "row_fallback" in row:
            note = f"{note}; {row['row_fallback']:,} records on the row path".lstrip("; ")
        lines.append(
            f"| {name} | {row['path']} | {row['input']} | {_fmt_rate(row['records_per_second'])} | "
            f"{_fmt_rate(row.get('records_per_cpu_second', row['records_per_second']))} | "
            f"{row['disagreements']['grade']:,} | {row['disagreements']['total']:,} | {note} |"
        )
    for name, row in results["comparison"]["engines"].items():
        sample = row.get("explain_on_demand")
        if sample:
            lines += [
                "",
                f"Explanations on demand after `{name}`: {sample['records']} records explained "
                f"(`ColumnarEvaluation.explain`), {sample['microseconds_per_record']:,.0f} µs each, "
                f"{sample['disagreements']} disagreeing with the reference.",
            ]
    return lines


def _md_provincial(prov: Mapping[str, Any] | None) -> list[str]:
    if not prov:
        return []
    lines = [
        "",
        f"## The provincial 2008 policy ({prov['records']:,} records; interleaved, best of the same rounds)",
        "",
        f"`policies/jiangsu/jiangsu-2008.yaml` against `benchmarks/provincial.py`, written by hand. "
        f"fineco-rules runs it {prov['compiled_form']}. Grades of the hand-written run: {prov['grades']}.",
        "",
        "| engine | records/s (wall) | records/CPU s | wrong grades | wrong totals |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in prov["engines"].items():
        wrong = row["disagreements"]
        lines.append(
            f"| {name} | {_fmt_rate(row['records_per_second'])} | {_fmt_rate(row['records_per_cpu_second'])} "
            f"| {wrong['grade']:,} | {wrong['total']:,} |"
        )
    return lines


def _md_ratios(ratios: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Ratios (ours ÷ theirs in records per CPU second, same run; above 1 is faster)", ""]
    lines += ["| ratio | CPU | wall | target | met |", "| --- | ---: | ---: | ---: | --- |"]
    for key, entry in ratios.items():
        target = entry.get("target")
        lines.append(
            f"| {key} | {entry['ratio']:,.3f} | {entry.get('wall_ratio', entry['ratio']):,.3f} | "
            f"{'' if target is None else f'≥ {target:.3g}'} | "
            f"{'' if target is None else ('yes' if entry['met'] else '**no**')} |"
        )
    return lines


def _md_cold(cold: Mapping[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if cold:
        lines += [
            "",
            f"## Cold start (fresh processes, bytecode compiled beforehand as pip does on install, best of "
            f"{cold['runs']} interleaved rounds)",
            "",
            "| command | wall | CPU | over `python -c pass` | target | met |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for name, entry in cold["commands"].items():
            target = entry.get("target_seconds")
            lines.append(
                f"| `{name}` | {entry['seconds']:.3f} s | {entry['cpu_seconds']:.3f} s | "
                f"{entry['over_python']:+.3f} s | "
                f"{'' if target is None else f'≤ {target} s'} | "
                f"{'' if target is None else ('yes' if entry['met'] else '**no**')} |"
            )
    return lines


def _md_cli(cli: Mapping[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if cli:
        lines += [
            "",
            f"## `fineco evaluate` end to end ({cli['records']:,} records from CSV, fresh processes with bytecode "
            f"compiled beforehand as pip does on install, best of {cli['runs']} interleaved rounds; target ≥ "
            f"{cli['target_per_second']:,} counties/s for JSON, judged at {cli['records']:,} records)",
            "",
            "| command | records | wall | counties/s (wall) | counties/CPU s | met |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        sizes = [(cli["records"], cli["commands"], True)]
        sizes += [(entry["records"], entry["commands"], False) for entry in cli.get("larger", {}).values()]
        for records, commands, judged in sizes:
            for name, entry in commands.items():
                met = "" if "csv" in name or not judged else ("yes" if entry["met"] else "**no**")
                lines.append(
                    f"| `{name}` | {records:,} | {entry['seconds']:.2f} s | {_fmt_rate(entry['records_per_second'])} | "
                    f"{_fmt_rate(entry['records_per_cpu_second'])} | {met} |"
                )
        if cli.get("larger"):
            lines += [
                "",
                "Start-up (imports, the policy) is paid once per run: the larger batch shows how it amortises.",
            ]
    return lines


def _md_scaling(scale: Mapping[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if scale:
        sizes = scale["sizes"]
        lines += [
            "",
            f"## Scaling (records/s; batches of at most {scale['chunk']:,} records; "
            f"budget {scale['budget_seconds']:,.0f} s per engine and size)",
            "",
            "| engine | " + " | ".join(f"{s:,}" for s in sizes) + " |",
            "| --- | " + " | ".join("---:" for _ in sizes) + " |",
        ]
        skipped: list[str] = []
        for name, by_size in scale["engines"].items():
            cells = [_md_scaling_cell(name, s, by_size.get(str(s), {}), skipped) for s in sizes]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if skipped:
            lines += ["", "Skipped:", ""] + [f"- {s}" for s in skipped]
    return lines


def _md_scaling_cell(name: str, size: int, entry: Mapping[str, Any], skipped: list[str]) -> str:
    """One engine's rate at one size; a skipped size is noted in ``skipped``."""
    if "skipped" in entry:
        skipped.append(f"{name} at {size:,}: {entry['skipped']}")
        return "skipped"
    if not entry:
        return ""
    bad = entry["disagreements"]
    flag = "" if not (bad["grade"] or bad["total"]) else f" ({bad['grade']:,} wrong)"
    return _fmt_rate(entry["records_per_second"]) + flag


def _md_indicators(cost: Mapping[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if cost:
        lines += [
            "",
            f"## Cost of adding indicators ({cost['records']:,} records; each indicator repeated at a fraction of "
            "its weight)",
            "",
            "| indicators | engine | records/s | µs per record | wrong |",
            "| ---: | --- | ---: | ---: | ---: |",
        ]
        for count, entry in cost["policies"].items():
            for name, row in entry.items():
                bad = row["disagreements"]
                lines.append(
                    f"| {count} | {name} | {_fmt_rate(row['records_per_second'])} | "
                    f"{row['microseconds_per_record']:,.1f} | {bad['grade'] + bad['total']:,} |"
                )
    return lines


def _md_rollup(roll: Mapping[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if roll:
        lines += ["", "## Household roll-up memory", ""]
        if "skipped" in roll:
            lines.append(f"Not measured: {roll['skipped']}.")
        else:
            lines += [
                f"`{roll['command']}`, each run as the only child of a fresh process; peak RSS from "
                "`getrusage(RUSAGE_CHILDREN)`. Generating the files is not counted.",
                "",
                "| households | file | seconds | rows/s | counties | peak RSS |",
                "| ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for size, entry in roll["sizes"].items():
                if "skipped" in entry:
                    lines.append(f"| {int(size):,} | | | | | skipped: {entry['skipped']} |")
                    continue
                lines.append(
                    f"| {int(size):,} | {entry['file_mib']:,.0f} MiB | {entry['seconds']:,.1f} | "
                    f"{_fmt_rate(entry['rows_per_second'])} | {entry['counties']:,} | "
                    f"{entry['peak_rss_mib']:,.0f} MiB |"
                )
            if "peak_ratio" in roll:
                r = roll["peak_ratio"]
                lines += [
                    "",
                    f"Peak at {r['rows']:,} ÷ peak at 1,000,000: {r['ratio']:.2f} (target ≤ {r['target']}: "
                    f"{'met' if r['met'] else 'missed'}). docs/rollup.md gives figures measured by hand and what "
                    "the reader keeps in memory.",
                ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 records, one run, no scaling: a smoke test")
    parser.add_argument("--size", type=int, help="records in the main comparison (default 100,000; quick 200)")
    parser.add_argument("--sizes", type=int, nargs="*", help="scaling sizes (default 10k 100k 1M 10M; quick none)")
    parser.add_argument("--repeat", type=int, help="runs per measurement, best kept (default 3; quick 1)")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds one engine may take at one size")
    parser.add_argument("--peer-max", type=int, default=1_000_000, help="largest scaling size the peers are timed at")
    parser.add_argument("--indicators-size", type=int, help="records for the indicator cost (default 20,000)")
    parser.add_argument("--rollup-rows", type=int, default=10_000_000, help="household rows for the roll-up memory")
    parser.add_argument(
        "--dask-size", type=int, default=2_000_000, help="records for Dask local:2 against one process (0: skip)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for results.json and results.md")
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.size or (200 if quick else 100_000)
    sizes = args.sizes if args.sizes is not None else ([] if quick else [10_000, 100_000, 1_000_000, 10_000_000])
    repeat = args.repeat or (1 if quick else 3)
    indicators_n = args.indicators_size or (200 if quick else 20_000)

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(POLICY))
    all_engines = engines(compiled)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "mode": "quick" if quick else "full",
        "repeat": repeat,
        "timing": "main comparison: `repeat` interleaved rounds in shuffled order after one warm-up run, best wall "
        "and best CPU time of each engine; scaling and indicator cost: best of up to `repeat` runs",
        "machine": machine(),
        "load_average_at_start": list(os.getloadavg()),
    }
    with tempfile.TemporaryDirectory(prefix="fineco-bench-") as tmp:
        work = Path(tmp)
        log(f"throughput on {n:,} records")
        log("cold start (fresh processes, interleaved)")
        results["cold_start"] = cold_start(max(repeat, 5), log)
        results["comparison"] = main_comparison(all_engines, n, repeat, work, log)
        log(f"fineco evaluate end to end on {min(n, 20_000):,} records")
        results["cli_output"] = cli_output(min(n, 20_000), repeat, work, log)
        log(f"provincial 2008 policy on {min(n, 5_000):,} records")
        results["provincial"] = provincial_comparison(min(n, 5_000), repeat, log)
        results["ratios"] = ratios({**results["comparison"]["engines"], **results["provincial"]["engines"]})
        if sizes:
            log(f"scaling over {', '.join(f'{s:,}' for s in sizes)}")
            first = {name: row["records_per_second"] for name, row in results["comparison"]["engines"].items()}
            results["scaling"] = scaling(all_engines, sizes, args.budget, first, log, args.peer_max)
        log(f"cost of adding indicators on {indicators_n:,} records")
        results["indicators"] = indicator_cost(indicators_n, repeat, work, log)
        results["rollup"] = (
            {"skipped": "not measured in --quick mode"} if quick else rollup_memory(args.rollup_rows, log)
        )
        results["dask"] = _dask(0 if quick else args.dask_size, max(repeat, 3), work, log)
    results["load_average_at_end"] = list(os.getloadavg())
    results["wall_seconds"] = time.perf_counter() - started
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fineco_wrong = [
        name
        for name, row in results["comparison"]["engines"].items()
        if row["family"] != "peer" and "naive" not in name and any(row["disagreements"].values())
    ]
    fineco_wrong += [
        name for name, row in results["provincial"]["engines"].items() if any(row["disagreements"].values())
    ]
    results["all_exact_engines_agree"] = not fineco_wrong
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown(results), encoding="utf-8")
    log(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    if fineco_wrong:
        log("DISAGREEMENT with the exact reference: " + ", ".join(fineco_wrong))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
