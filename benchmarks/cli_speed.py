"""End-to-end speed of the ``fineco`` command: ``evaluate --format json`` on the benchmark policy, and cold start.

    python benchmarks/cli_speed.py evaluate [N]     # N records (default 100,000): records/s, best of 3 runs
    python benchmarks/cli_speed.py profile [N]      # the same run in this process under cProfile: top 25
    python benchmarks/cli_speed.py stages [N]       # CPU time of each stage in this process: load, read, grade, write
    python benchmarks/cli_speed.py cold             # `fineco --help` and `python -c pass`, best of 5 each

Wall times of fresh processes, as a user meets them, their bytecode compiled beforehand as pip does on install
(a benchmark, never a timed test).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.data import write_csv  # noqa: E402

POLICY = HERE / "county-policy.yaml"


def _best(command: list[str], runs: int) -> float:
    """The best wall time of ``runs`` runs (see :func:`_cpu` for the CPU time)."""
    return min(_timed(command) for _ in range(runs))[0]


def _cpu(command: list[str], runs: int) -> float:
    """The best CPU time (user + system) of ``runs`` runs: steadier than wall time on a busy machine."""
    return min(_timed(command)[1] for _ in range(runs))


def _environment() -> dict[str, str]:
    """A child's environment: bytecode read and written, as an installed package runs (the shell may say not to)."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _compile() -> None:
    """Compile the package and its plugins to bytecode once, as pip does on install."""
    folders = [str(HERE.parent / "fineco_rules"), str(HERE.parent / "plugins")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], env=_environment(), check=True)


def _timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environment())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _arguments(data: Path, out: Path) -> list[str]:
    return ["evaluate", "--policy", str(POLICY), str(data), "--format", "json", "-q", "-o", str(out)]


def evaluate(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = write_csv(Path(tmp) / "data.csv", n)
        out = Path(tmp) / "out.json"
        command = [sys.executable, "-m", "fineco_rules", *_arguments(data, out)]
        _compile()
        times = [_timed(command) for _ in range(3)]
        seconds, cpu = min(t[0] for t in times), min(t[1] for t in times)
        size = out.stat().st_size
    print(f"CPU time {cpu:.2f} s: {n / cpu:,.0f} records/s of CPU")
    print(
        f"evaluate --format json, {n:,} records: {seconds:.2f} s, {n / seconds:,.0f} records/s, {size / n:.0f} B each"
    )


def profile(n: int) -> None:
    from fineco_rules.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        data = write_csv(Path(tmp) / "data.csv", n)
        profiler = cProfile.Profile()
        profiler.enable()
        main(_arguments(data, Path(tmp) / "out.json"))
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def stages(n: int) -> None:
    """CPU seconds of each stage of ``evaluate --format json`` in this process, as the command runs them."""
    from fineco_rules.cli._common import _read_one  # what `evaluate` reads one file with
    from fineco_rules.cli._grading import _as_json
    from fineco_rules.engine._engine import compile_policy
    from fineco_rules.engine._records import header_names
    from fineco_rules.engine._summaries import evaluate_summaries
    from fineco_rules.policy._loader import load_policy
    from fineco_rules.scoring._host import make_plugin_host

    with tempfile.TemporaryDirectory() as tmp:
        data = write_csv(Path(tmp) / "data.csv", n)
        clock = time.process_time
        start = clock()
        host = make_plugin_host()
        policy = load_policy(POLICY, host=host)
        compiled = compile_policy(policy, host)
        loaded = clock()
        records, _ = _read_one(str(data), True, header_names(policy), lazy=True)
        read = clock()
        evaluation = evaluate_summaries(compiled, records)
        graded = clock()
        if evaluation is None:
            raise SystemExit("the batch went to the interpreter")
        size = sum(len(piece) for piece in _as_json(evaluation, None, explain=False))
        written = clock()
    for label, seconds in (
        ("load and compile the policy", loaded - start),
        ("read the CSV", read - loaded),
        ("grade (summaries)", graded - read),
        ("write the JSON text", written - graded),
    ):
        print(f"{label}: {seconds:.3f} s CPU ({seconds / n * 1e6:.1f} µs a record)")
    print(f"{n:,} records, {size / n:.0f} characters of JSON each")


def cold() -> None:
    _compile()
    for label, command in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("import fineco_rules", [sys.executable, "-c", "import fineco_rules"]),
        ("fineco --help", [sys.executable, "-m", "fineco_rules", "--help"]),
    ):
        times = [_timed(command) for _ in range(5)]
        print(f"{label}: wall {min(t[0] for t in times):.3f} s, CPU {min(t[1] for t in times):.3f} s (best of 5)")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "evaluate"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    {
        "evaluate": lambda: evaluate(size),
        "profile": lambda: profile(size),
        "stages": lambda: stages(size),
        "cold": cold,
    }[what]()
