"""Fuzzing the policy loader and the record readers: only fineco-rules' own errors may escape.

Inputs are random bytes and mutations of the shipped policies (``policies/``) and example data
(``examples/*.csv``, also rendered as JSON and YAML). Each example must end in a result or a
:class:`fineco_rules.FinecoError`; any other exception is a bug. Bounds per example: a Hypothesis
``deadline`` (time) and an address-space limit (memory, ``RLIMIT_AS``, Linux) that turns a blow-up
into a ``MemoryError``, which fails the test like any other foreign exception.

Short in CI (``FINECO_FUZZ_EXAMPLES``, default 40 per target); a long run::

    FINECO_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_fuzz.py -p no:cacheprovider

``FINECO_FUZZ_DEADLINE_MS`` (default 20000) and ``FINECO_FUZZ_MEMORY_MB`` (default 1024) set the bounds.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"

EXAMPLES_PER_TARGET = int(os.environ.get("FINECO_FUZZ_EXAMPLES", "40"))
DEADLINE_MS = int(os.environ.get("FINECO_FUZZ_DEADLINE_MS", "20000"))
MEMORY_MB = int(os.environ.get("FINECO_FUZZ_MEMORY_MB", "1024"))

FUZZ = settings(
    max_examples=EXAMPLES_PER_TARGET,
    deadline=dt.timedelta(milliseconds=DEADLINE_MS),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES_PER_TARGET <= 100,  # CI: the same examples every run; long runs explore
    database=None,
)

HOST = fineco_rules.make_plugin_host()
POLICY_FILES = sorted(p.relative_to(POLICIES) for p in POLICIES.rglob("*.yaml") if not p.name.endswith(".cases.yaml"))
DATA_FILES = sorted(EXAMPLES.glob("*.csv"))
COMPILED = fineco_rules.compile_policy(
    fineco_rules.load_policy(POLICIES / "jiangsu", as_of=dt.date(2008, 12, 31), host=HOST), HOST
)

# Scalars that have broken parsers before: YAML 1.1 surprises, numbers at the edges, odd text.
NASTY = [
    "",
    "~",
    "null",
    "yes",
    "no",
    "on",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "inf",
    "1e999999",
    "-1e-999999",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    "2008-02-30",
    "2008-12-31",
    "99999999999999999999999999999999999999",
    "-0",
    "0.0000000000000000000000001",
    "１２３",
    "'unterminated",
    '"unterminated',
    "[1, 2",
    "{a: 1",
    "{}",
    "[]",
    "&anchor value",
    "*anchor",
    "*undefined",
    "!!python/object:os.system",
    "!!binary aGVsbG8=",
    "!custom 1",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "<<: *anchor",
    "\t",
    "\x00",
    "\ufeff",
    "\u202e",
    "县",
    "a" * 300,
    "%YAML 1.2",
    "---",
    "...",
    "? complex key",
    "|",
    ">-",
    "#",
]


@contextlib.contextmanager
def memory_bound(megabytes: int = MEMORY_MB) -> Iterator[None]:
    """Cap this process's address space at its current size plus ``megabytes`` while the block runs."""
    try:
        import resource

        import psutil
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = psutil.Process().memory_info().vms + megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def only_our_errors(run: Callable[[], object]) -> None:
    """Run ``run`` within the memory bound; a FinecoError is a fine outcome, anything else fails."""
    error: fineco_rules.FinecoError | None = None
    try:
        with memory_bound():
            run()
    except fineco_rules.FinecoError as exc:
        error = exc
    if error is not None:
        assert error.problems, "a FinecoError without problems"
        assert all(p.message for p in error.problems), f"a problem without a message: {error.problems!r}"


# -- mutations ---------------------------------------------------------------------------------


Edit = tuple[Any, ...]

#: Line-, scalar- and byte-level edits. Positions are drawn as plain integers and taken modulo the
#: text's current size when applied, so a failing example prints as a short list of edits.
EDIT = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6)),
    st.tuples(st.just("swap"), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("scalar"), st.integers(0, 10**6), st.sampled_from(NASTY)),
    st.tuples(
        st.just("cell"), st.integers(0, 10**6), st.integers(0, 100), st.sampled_from(NASTY) | st.text(max_size=12)
    ),
    st.tuples(
        st.just("insert"), st.integers(0, 10**6), st.integers(0, 10**4), st.sampled_from(NASTY) | st.text(max_size=8)
    ),
    st.tuples(st.just("truncate"), st.integers(0, 10**7)),
    st.tuples(st.just("indent"), st.integers(0, 10**6), st.sampled_from(["\t", " ", "   ", ""])),
    st.tuples(st.just("random_line"), st.integers(0, 10**6), st.text(max_size=40)),
)
EDITS = st.lists(EDIT, min_size=1, max_size=4)


def apply_edits(text: str, edits: list[Edit], cell_sep: str = ",") -> str:
    """``text`` after ``edits`` (see :data:`EDIT`)."""
    for op, *args in edits:
        lines = text.splitlines(keepends=True) or [""]
        i = args[0] % len(lines)
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = args[1] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "scalar" and ": " in lines[i]:
            head, _, _ = lines[i].partition(": ")
            lines[i] = f"{head}: {args[1]}\n"
        elif op == "cell" and cell_sep in lines[i]:
            cells = lines[i].rstrip("\n").split(cell_sep)
            cells[args[1] % len(cells)] = args[2]
            lines[i] = cell_sep.join(cells) + "\n"
        elif op == "insert":
            at = args[1] % (len(lines[i]) + 1)
            lines[i] = lines[i][:at] + args[2] + lines[i][at:]
        elif op == "truncate":
            joined = "".join(lines)
            lines = [joined[: args[0] % (len(joined) + 1)]]
        elif op == "indent":
            lines[i] = args[1] + lines[i].lstrip(" ")
        elif op == "random_line":
            lines.insert(i, args[1] + "\n")
        text = "".join(lines)
    return text


@contextlib.contextmanager
def policy_tree() -> Iterator[Path]:
    """A fresh copy of ``policies/`` in a temporary folder (parents are found relative to the child)."""
    with tempfile.TemporaryDirectory(prefix="fineco-fuzz-") as folder:
        root = Path(folder) / "policies"
        shutil.copytree(POLICIES, root, ignore=shutil.ignore_patterns("*.cases.yaml"))
        yield root


def _load_and_grade(path: Path, **kwargs: Any) -> None:
    policy = fineco_rules.load_policy(path, host=HOST, **kwargs)
    compiled = fineco_rules.compile_policy(policy, HOST)
    evaluation = compiled.evaluate(fineco_rules.read_records(EXAMPLES / "jiangsu-2008.csv").records)
    assert len(evaluation.results) == 52
    json.dumps(evaluation.to_dict(), ensure_ascii=False)


# -- the policy loader ---------------------------------------------------------------------------


@FUZZ
@given(raw=st.binary(max_size=2048))
def test_policy_loader_random_bytes(raw: bytes) -> None:
    """Any bytes as a policy file: a PolicyError (or another FinecoError), never a traceback."""
    with tempfile.TemporaryDirectory(prefix="fineco-fuzz-") as folder:
        path = Path(folder) / "policy.yaml"
        path.write_bytes(raw)
        only_our_errors(lambda: _load_and_grade(path))


@FUZZ
@given(name=st.sampled_from(POLICY_FILES), edits=EDITS, as_folder=st.booleans())
def test_policy_loader_mutated_policies(name: Path, edits: list[Edit], as_folder: bool) -> None:
    """Shipped policies with lines deleted, duplicated, swapped, scalars changed, tabs, tags, aliases, truncated."""
    with policy_tree() as root:
        path = root / name
        path.write_text(apply_edits(path.read_text("utf-8"), edits), encoding="utf-8")
        if as_folder:
            only_our_errors(lambda: _load_and_grade(path.parent, as_of=dt.date(2008, 12, 31)))
        else:
            only_our_errors(lambda: _load_and_grade(path))


# -- the record readers ----------------------------------------------------------------------------


def _grade(path: Path) -> None:
    result = fineco_rules.read_records(path)
    evaluation = COMPILED.evaluate(result.records)
    assert len(evaluation.results) == len(result.records)
    json.dumps(evaluation.to_dict(), ensure_ascii=False)


@FUZZ
@given(
    source=st.sampled_from(DATA_FILES),
    edits=EDITS,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]),
)
def test_csv_reader_mutated_examples(source: Path, edits: list[Edit], encoding: str) -> None:
    """Example CSV files with rows and cells mutated, in several encodings, read and graded."""
    data = apply_edits(source.read_text("utf-8"), edits)
    with tempfile.TemporaryDirectory(prefix="fineco-fuzz-") as folder:
        path = Path(folder) / "records.csv"
        path.write_bytes(data.encode(encoding, errors="replace"))
        only_our_errors(lambda: _grade(path))


def _rows(path: Path) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


RETYPE = st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 100), st.booleans(), ODD_VALUES), max_size=6)


def structured(source: Path, keep: int, retype: list[tuple[int, int, bool, Any]], fmt: str, wrapped: bool) -> str:
    """An example file as JSON or YAML: the first ``keep`` rows, values retyped or keys dropped."""
    rows = _rows(source)
    rows = rows[: keep % (len(rows) + 1)]
    for row_at, key_at, drop, value in retype:
        if not rows:
            break
        row = rows[row_at % len(rows)]
        if not row:
            continue
        key = sorted(row)[key_at % len(row)]
        if drop:
            del row[key]
        else:
            row[key] = value
    shape: Any = {"records": rows} if wrapped else rows
    return json.dumps(shape, ensure_ascii=False) if fmt == "json" else yaml.safe_dump(shape, allow_unicode=True)


@FUZZ
@given(
    source=st.sampled_from(DATA_FILES),
    keep=st.integers(0, 200),
    retype=RETYPE,
    fmt=st.sampled_from(["json", "yaml"]),
    wrapped=st.booleans(),
    edits=st.none() | EDITS,
)
def test_json_yaml_readers_mutated_examples(
    source: Path, keep: int, retype: list[tuple[int, int, bool, Any]], fmt: str, wrapped: bool, edits: list[Edit] | None
) -> None:
    """The example data as JSON or YAML, retyped and mutated, read and graded."""
    text = structured(source, keep, retype, fmt, wrapped)
    if edits:
        text = apply_edits(text, edits)
    with tempfile.TemporaryDirectory(prefix="fineco-fuzz-") as folder:
        path = Path(folder) / f"records.{fmt}"
        path.write_text(text, encoding="utf-8")
        only_our_errors(lambda: _grade(path))


@FUZZ
@given(raw=st.binary(max_size=2048), suffix=st.sampled_from([".csv", ".json", ".yaml", ".xlsx"]))
def test_readers_random_bytes(raw: bytes, suffix: str) -> None:
    """Any bytes under any record-file suffix."""
    with tempfile.TemporaryDirectory(prefix="fineco-fuzz-") as folder:
        path = Path(folder) / f"records{suffix}"
        path.write_bytes(raw)
        only_our_errors(lambda: _grade(path))


def test_memory_bound_catches_a_blow_up() -> None:
    """The memory bound is real: allocating past it raises MemoryError, which is not one of our errors."""
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS is enforced on Linux")
    with pytest.raises(MemoryError), memory_bound(64):
        bytearray(256 * 2**20)
    bytearray(256 * 2**20)  # and the bound is lifted afterwards


def test_only_our_errors_rejects_foreign_exceptions() -> None:
    """The oracle itself: a FinecoError passes, a KeyError does not."""
    only_our_errors(lambda: fineco_rules.load_policy(ROOT / "no-such-policy.yaml", host=HOST))

    def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        only_our_errors(broken)


def test_values_decimal_stays_exact() -> None:
    """A sanity anchor for the fuzzed graders: the unmutated examples grade every county."""
    evaluation = COMPILED.evaluate(fineco_rules.read_records(EXAMPLES / "jiangsu-2008.csv").records)
    assert all(isinstance(r.score, Decimal) for r in evaluation.results if r.graded)
