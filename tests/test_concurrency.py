"""Concurrency: one compiled policy on many threads; many processes changing one filing registry."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import fineco_rules
from fineco_rules.governance import FilingError, Registry, generate_keys, load_private_key, load_public_key

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
PROCESSES = 4
PER_PROCESS = 6


def _json(evaluation: fineco_rules.Evaluation) -> str:
    return json.dumps(evaluation.to_dict(), ensure_ascii=False, sort_keys=True)


def test_one_compiled_policy_on_eight_threads_gives_the_single_thread_results() -> None:
    policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu", as_of=dt.date(2008, 12, 31))
    compiled = fineco_rules.compile_policy(policy)
    records = fineco_rules.read_records(ROOT / "examples" / "jiangsu-2008.csv").records
    expected = _json(compiled.evaluate(records))
    start = threading.Barrier(THREADS)

    def run(_: int) -> list[str]:
        start.wait()  # every thread starts grading at once
        return [_json(compiled.evaluate(records)) for _ in range(3)]

    with ThreadPoolExecutor(THREADS) as pool:
        outputs = [text for texts in pool.map(run, range(THREADS)) for text in texts]
    assert len(outputs) == THREADS * 3
    assert all(text == expected for text in outputs)
    assert '"grade": "good"' in expected and '"grade": "fail"' in expected  # a real mix of outcomes


# -- the registry, raced by processes ------------------------------------------------------------


def _results(worker: int, n: int) -> dict[str, Any]:
    return {
        "policy": {"id": "race", "version": "1"},
        "official": {"filing": "race-1-000000000000"},
        "results": [{"county": f"32{worker:02d}{n:02d}", "grade": "pass", "score": str(60 + n)}],
    }


def _submit_review_certify(root: str, key_path: str, worker: int, start: Any, out: Any) -> None:
    """One process: submit, review and certify PER_PROCESS result sets, as fast as it can."""
    registry = Registry(root, signed_steps=False)
    key = load_private_key(key_path)
    start.wait()
    subjects = []
    for n in range(PER_PROCESS):
        subject = registry.submit_results(_results(worker, n), f"city-{worker}", f"set {n}")
        registry.review(subject, f"reviewer-{worker}", "ok")
        registry.certify("results", subject, "province", key, "ok")
        subjects.append(subject)
    out.put((worker, subjects))


def _file_and_certify_one_policy(root: str, key_path: str, worker: int, start: Any, out: Any) -> None:
    """One process: file the same policy and certify it; only one of the racers may succeed at each."""
    registry = Registry(root, signed_steps=False)
    host = fineco_rules.make_plugin_host()
    policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml", host=host)
    start.wait()
    outcome: list[str] = []
    try:
        subject = registry.submit_filing(policy, host, f"city-{worker}")
        outcome.append("filed")
    except FilingError as exc:
        outcome.append(exc.problem.code)
        subject = str(exc.problem.message.rsplit(" ", 1)[-1])
    try:
        registry.certify("filing", subject, "province", load_private_key(key_path))
        outcome.append("certified")
    except FilingError as exc:
        outcome.append(exc.problem.code)
    out.put((worker, outcome))


def _read_while_written(root: str, start: Any, stop: Any, out: Any) -> None:
    """A reader that never takes the lock: it must never see half an entry."""
    registry = Registry(root, signed_steps=False)
    start.wait()
    reads, broken = 0, []
    while not stop.is_set():
        try:
            registry.entries()
            reads += 1
        except FilingError as exc:
            broken.append(str(exc))
    out.put(("reader", reads, broken))


def _race(target: Any, args: list[tuple[Any, ...]], reader_root: str | None = None) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(args) + (reader_root is not None))
    stop = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, out)) for a in args]
    if reader_root is not None:
        procs.append(ctx.Process(target=_read_while_written, args=(reader_root, start, stop, out)))
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in args]
    stop.set()
    if reader_root is not None:
        results.append(out.get(timeout=120))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, Any]:
    private, public = generate_keys(tmp_path / "keys")
    return str(private), load_public_key(public)


def test_processes_racing_on_the_registry_keep_the_chain_and_every_change_once(
    tmp_path: Path, keys: tuple[str, Any]
) -> None:
    root = str(tmp_path / "registry")
    key_path, trust = keys
    found = _race(_submit_review_certify, [(root, key_path, w) for w in range(PROCESSES)], reader_root=root)
    reader = next(r for r in found if r[0] == "reader")
    assert reader[2] == [], "a reader saw a half-written log"
    subjects = {s for r in found if r[0] != "reader" for s in r[1]}
    assert len(subjects) == PROCESSES * PER_PROCESS

    registry = Registry(root, signed_steps=False)
    assert registry.verify(trust) == []
    entries = registry.entries()
    assert [e["seq"] for e in entries] == list(range(1, 3 * PROCESSES * PER_PROCESS + 1))
    changes = Counter((e["subject"], e["action"]) for e in entries)
    assert set(changes) == {(s, a) for s in subjects for a in ("submit", "review", "certify")}
    assert set(changes.values()) == {1}
    assert {s.state for s in registry.statuses(trust)} == {"certified"}


def test_processes_filing_one_policy_at_once_file_and_certify_it_once(tmp_path: Path, keys: tuple[str, Any]) -> None:
    root = str(tmp_path / "registry")
    key_path, trust = keys
    found = _race(_file_and_certify_one_policy, [(root, key_path, w) for w in range(PROCESSES)])
    outcomes = Counter(tuple(o) for _, o in found)
    assert sum(n for o, n in outcomes.items() if o[0] == "filed") == 1
    assert sum(n for o, n in outcomes.items() if o[1] == "certified") == 1
    assert set(outcomes) <= {
        ("filed", "certified"),
        ("filed", "wrong-state"),
        ("already-filed", "certified"),
        ("already-filed", "wrong-state"),
    }
    registry = Registry(root, signed_steps=False)
    assert registry.verify(trust) == []
    assert [e["action"] for e in registry.entries()] == ["submit", "certify"]
