"""Dask ``local:N`` against one process on the same CSV files: issue 16's target ``local:2`` ≥ 1.5 × one process.

    python benchmarks/dask_speed.py --size 2000000 [--repeat 5] [--workers 2] [--file-rows 500000]

What is timed, each round in an order shuffled afresh (best wall and best CPU time of each kept):

- **one process**, the way ``docs/api.md`` recommends for a big file: ``read_csv_columns`` (chunks of 65,536 rows)
  and ``evaluate_columns`` on each chunk, file after file; once as shipped (pyarrow's CSV reader on its own thread
  pool, which on this machine has as many threads as cores) and once with pyarrow pinned to one thread
  (``pyarrow.set_cpu_count(1)``), so the single process really is one core;
- **Dask**: ``grade_csv_on_dask`` on a ``LocalCluster`` of ``--workers`` worker processes of one thread each,
  one call per file.

The cluster is started **once, before the clock** (as a service keeps one running) and warmed up with two untimed
calls; the CSV files are written once, also untimed. County codes of ``benchmarks/data.py`` repeat every 900,000
records and one batch refuses a county twice, so the records are written as files of at most ``--file-rows``
records (each file from its own seed, every code once in it) and each file is one batch for both engines: the
grades and totals of every record are checked equal between them. The CPU time of Dask is the driver's
(``time.process_time``) plus the workers' (their ``time.process_time``, read before and after each call, outside
the clock). A benchmark, never a timed test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fineco_rules
from benchmarks import data

HERE: Final = Path(__file__).resolve().parent
POLICY: Final = HERE / "county-policy.yaml"
#: Issue 16: ``local:2`` at least 1.5 × one process at 2 M records.
TARGET: Final = 1.5
ONE: Final = "one process (pyarrow threads, as shipped)"
ONE_PINNED: Final = "one process (pyarrow pinned to 1 thread)"


def _files(n: int, file_rows: int, work: Path) -> list[tuple[Path, int]]:
    """``n`` records as CSV files of at most ``file_rows`` records, each from its own seed: (path, records)."""
    out, k, left = [], 0, n
    while left > 0:
        rows = min(file_rows, left)
        out.append((data.write_csv(work / f"dask-{n}-{k}.csv", rows, seed=data.SEED + k), rows))
        left -= rows
        k += 1
    return out


def _one_process(compiled: fineco_rules.CompiledPolicy, paths: Sequence[Path]) -> list[tuple[Any, Any]]:
    """Each file graded in one process, chunk by chunk: (grade codes, total units) per file."""
    read_csv_columns = fineco_rules.engine.read_csv_columns
    out = []
    for path in paths:
        parts = [
            fineco_rules.evaluate_columns(compiled, table, source=str(path), first_line=line)
            for line, table in read_csv_columns(path)
        ]
        out.append((np.concatenate([p.grade_codes for p in parts]), np.concatenate([p.total_units for p in parts])))
    return out


def _pinned(run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` with pyarrow's CPU thread pool at one thread (restored after)."""
    import pyarrow as pa

    def pinned() -> Any:
        before = pa.cpu_count()
        pa.set_cpu_count(1)
        try:
            return run()
        finally:
            pa.set_cpu_count(before)

    return pinned


def _worker_cpu() -> float:
    return time.process_time()


def _workers_cpu(client: Any) -> float:
    return float(sum(client.run(_worker_cpu).values()))


def dask_comparison(
    n: int,
    repeat: int,
    work: Path,
    log: Callable[[str], None],
    *,
    workers: int = 2,
    file_rows: int = 500_000,
    seed: int = 16,
) -> dict[str, Any]:
    """One process against ``grade_csv_on_dask`` on ``local:workers``, ``repeat`` interleaved rounds (see module)."""
    from fineco_rules.scale.distributed import dask_client, grade_csv_on_dask

    compiled = fineco_rules.compile_policy(fineco_rules.load_policy(POLICY))
    started = time.perf_counter()
    files = _files(n, min(file_rows, data.UNIQUE), work)
    paths = [path for path, _ in files]
    warm = data.write_csv(work / "dask-warm.csv", 2_000, seed=data.SEED + 99)
    log(
        f"  {len(files)} file(s) of {', '.join(f'{rows:,}' for _, rows in files)} records written in "
        f"{time.perf_counter() - started:.1f} s"
    )
    out: dict[str, Any] = {
        "records": n,
        "files": [rows for _, rows in files],
        "workers": workers,
        "threads_per_worker": 1,
        "rounds": repeat,
        "target": TARGET,
        "load_average_at_start": list(os.getloadavg()),
        "cluster": "started once before the clock (as a service keeps one), "
        "warmed up by two untimed calls (a small file, then the first file)",
    }
    with dask_client(f"local:{workers}") as client:
        started = time.perf_counter()
        grade_csv_on_dask(compiled, warm, client=client)
        grade_csv_on_dask(compiled, paths[0], client=client)
        _one_process(compiled, [warm, paths[0]])  # one process warmed up alike (imports, pyarrow's pool)
        out["warm_up_seconds"] = time.perf_counter() - started

        def on_dask() -> list[tuple[Any, Any]]:
            found = [grade_csv_on_dask(compiled, path, client=client) for path in paths]
            return [(g.grade_codes, g.total_units) for g in found]

        engines: dict[str, Callable[[], list[tuple[Any, Any]]]] = {
            ONE: lambda: _one_process(compiled, paths),
            ONE_PINNED: _pinned(lambda: _one_process(compiled, paths)),
            f"Dask local:{workers}": on_dask,
        }
        wall = dict.fromkeys(engines, float("inf"))
        cpu = dict.fromkeys(engines, float("inf"))
        walls: dict[str, list[float]] = {name: [] for name in engines}
        outcome: dict[str, list[tuple[Any, Any]]] = {}
        loads: list[float] = []
        order = list(engines)
        shuffle = random.Random(seed).shuffle
        for round_ in range(repeat):
            shuffle(order)
            for name in order:
                gc.collect()
                dask_run = name.startswith("Dask")
                workers_before = _workers_cpu(client) if dask_run else 0.0
                cpu_start = time.process_time()
                start = time.perf_counter()
                outcome[name] = engines[name]()
                elapsed = time.perf_counter() - start
                used = time.process_time() - cpu_start
                if dask_run:
                    used += _workers_cpu(client) - workers_before
                walls[name].append(elapsed)
                wall[name], cpu[name] = min(wall[name], elapsed), min(cpu[name], used)
            loads.append(os.getloadavg()[0])
            log(
                f"  round {round_ + 1}: "
                + ", ".join(f"{name} {walls[name][-1]:.2f} s" for name in engines)
                + f" (load {loads[-1]:.2f})"
            )
    truth = outcome[ONE]
    out["engines"] = {}
    for name in engines:
        wrong_grades = sum(int((g != tg).sum()) for (g, _), (tg, _) in zip(outcome[name], truth, strict=True))
        wrong_totals = sum(int((t != tt).sum()) for (_, t), (_, tt) in zip(outcome[name], truth, strict=True))
        out["engines"][name] = {
            "seconds": wall[name],
            "cpu_seconds": cpu[name],
            "all_seconds": walls[name],
            "records_per_second": n / wall[name],
            "disagreements": {"grade": wrong_grades, "total": wrong_totals},
        }
    dask_name = f"Dask local:{workers}"
    out["ratios"] = {
        one: {"ratio": wall[one] / wall[dask_name], "met": wall[one] / wall[dask_name] >= TARGET}
        for one in (ONE, ONE_PINNED)
    }
    out["paired"] = {  # the same round's ratio: both ran within seconds of each other, under the same load
        one: sorted(a / b for a, b in zip(walls[one], walls[dask_name], strict=True)) for one in (ONE, ONE_PINNED)
    }
    out["load_average_per_round"] = loads
    out["load_average_at_end"] = list(os.getloadavg())
    for one, entry in out["ratios"].items():
        log(f"  {dask_name} ÷ {one}: {entry['ratio']:.2f} × (target ≥ {TARGET}: {'met' if entry['met'] else 'missed'})")
    return out


def _md_dask(results: Mapping[str, Any] | None) -> list[str]:
    """The Dask section of ``results.md``: each engine's best times, the ratios, the load."""
    lines: list[str] = []
    if not results:
        return lines
    lines += ["", f"## Dask `local:{results.get('workers', 2)}` against one process", ""]
    if "skipped" in results:
        return [*lines, f"Not measured: {results['skipped']}."]
    files = results["files"]
    lines += [
        f"{results['records']:,} records as {len(files)} CSV file(s) of {', '.join(f'{f:,}' for f in files)} records "
        "(benchmarks/data.py repeats county codes every 900,000 records: each file is one batch for every engine). "
        f"{results['rounds']} rounds in shuffled order; best wall and best CPU time of each. The cluster "
        f"({results['workers']} worker processes × {results['threads_per_worker']} thread) is {results['cluster']}; "
        "writing the files is not timed. Dask's CPU time is the driver's plus the workers'. "
        "“Wrong” counts records whose grade code or total units differ from the first engine's.",
        "",
        "| engine | best wall s | best CPU s | records/s | all wall times (s) | wrong grades | wrong totals |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for name, row in results["engines"].items():
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {row['cpu_seconds']:.2f} | {row['records_per_second']:,.0f} | "
            f"{', '.join(f'{s:.2f}' for s in row['all_seconds'])} | {row['disagreements']['grade']:,} | "
            f"{row['disagreements']['total']:,} |"
        )
    lines.append("")
    for one, entry in results["ratios"].items():
        lines.append(
            f"- `local:{results['workers']}` ÷ {one}, best against best: {entry['ratio']:.2f} × "
            f"(target ≥ {results['target']}: {'met' if entry['met'] else 'missed'})."
        )
    for one, paired in results.get("paired", {}).items():
        lines.append(
            f"- The same ratio round by round ({one}), sorted: {', '.join(f'{r:.2f}' for r in paired)} "
            f"(median {statistics.median(paired):.2f})."
        )
    load = results["load_average_per_round"]
    lines.append(
        "- Load average (1 min) at the start "
        f"{results['load_average_at_start'][0]:.2f}, after each round {', '.join(f'{v:.2f}' for v in load)}, "
        f"at the end {results['load_average_at_end'][0]:.2f}."
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=2_000_000, help="records in all (default 2,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of one thread (default 2)")
    parser.add_argument("--file-rows", type=int, default=500_000, help="records per file, at most 900,000")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, flush=True)

    log(f"Dask local:{args.workers} against one process on {args.size:,} records")
    with tempfile.TemporaryDirectory(prefix="fineco-dask-") as tmp:
        results = dask_comparison(
            args.size, args.repeat, Path(tmp), log, workers=args.workers, file_rows=args.file_rows
        )
    print("\n".join(_md_dask(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    wrong = any(any(row["disagreements"].values()) for row in results["engines"].values())
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
