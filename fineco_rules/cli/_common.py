"""What every ``fineco`` command group shares: exit codes, argument types and groups, reading, printing."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import math
import os
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final, TextIO

import attrs

from fineco_rules._i18n import Msg, current_language, join, pct, tr
from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import FIRST_ROWS, header_names
from fineco_rules.engine._results import Evaluation
from fineco_rules.engine._summaries import evaluate_summaries
from fineco_rules.engine._watchdog import time_limit
from fineco_rules.errors import Code, FinecoError, Location, PluginError, Problem, UsageError
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.io._readers import RawRecord, attach_table, read_batch
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._model import Policy
from fineco_rules.scoring._host import PluginHost

if TYPE_CHECKING:
    from fineco_rules.governance._filing import CityKey

__all__ = [
    "EXIT_ERRORS",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROGRESS_FROM",
    "Graded",
    "UsageError",
    "date",
    "evaluation",
    "graded",
    "join",
    "pct",
    "plugin_arg",
    "plugin_modules",
    "policy_args",
    "print_problems",
    "print_progress",
    "read_all",
    "render_table",
    "seconds",
    "table_arg",
    "tr",
    "write_text",
]

EXIT_OK: Final = 0
EXIT_ERRORS: Final = 1
EXIT_USAGE: Final = 2
#: Batches this long report progress on stderr.
PROGRESS_FROM: Final = 5000


def date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            str(tr("expected a date written YYYY-MM-DD, found {text!r}", text=text))
        ) from None


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(str(tr("expected a positive number of seconds, found {text!r}", text=text)))
    return value


def _table(text: str) -> tuple[str, str]:
    field, sep, path = text.partition("=")
    if not sep or not field or not path:
        raise argparse.ArgumentTypeError(str(tr("expected FIELD=FILE, found {text!r}", text=text)))
    return field, path


def policy_args(p: argparse.ArgumentParser) -> None:
    """``--policy`` and ``--as-of``."""
    p.add_argument("--policy", required=True, metavar="POLICY", help="a policy file, or a folder of its versions")
    p.add_argument("--as-of", type=date, metavar="DATE", help="pick the version in effect on this date (YYYY-MM-DD)")


def plugin_arg(p: argparse.ArgumentParser) -> None:
    """``--plugin MODULE``, repeatable: a scorer module used in this process only, while writing a policy."""
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="also use the scorers of this module (a name importable from here, or a .py file) in this run only, "
        "while writing a policy; never with --official (repeatable)",
    )


def plugin_modules(args: argparse.Namespace) -> list[ModuleType]:
    """The modules of ``--plugin``, imported; refused with ``--official`` (an official run uses filed plugins only)."""
    names: list[str] = getattr(args, "plugin", None) or []
    if names and getattr(args, "official", False):
        raise UsageError(
            tr(
                "--plugin is for trying a scorer while writing a policy; an official run uses only the installed, "
                "filed plugins: install the plugin and file it"
            )
        )
    return [_import_plugin(name) for name in names]


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _import_plugin(name: str) -> ModuleType:
    try:
        if name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(name).stem, name)
            if spec is None or spec.loader is None:
                raise ImportError(f"no Python file at {name}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # a module beside the policy being written, as `python -m` finds it
        return importlib.import_module(name)
    except Exception as exc:  # any failure of the module's own code is reported, not raised
        raise PluginError(
            Problem(
                tr("cannot import the plugin module {name}: {error}", name=name, error=_failure(exc)),
                Location(name),
                tr("check the module name (run from the folder that holds it), or give the path of its .py file"),
                Code.PLUGIN_FAILED,
            ),
            plugin=name,
        ) from None


def table_arg(p: argparse.ArgumentParser) -> None:
    """``--table FIELD=FILE``, repeatable."""
    p.add_argument(
        "--table",
        action="append",
        default=[],
        type=_table,
        metavar="FIELD=FILE",
        help="attach the rows of FILE (e.g. townships) to each county as the table input FIELD",
    )


def print_problems(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    """Every problem, sorted by where it is; notes marked as notes; one line for a problem on many rows."""
    stream = stream or sys.stderr
    for problem in collapse_repeated(sorted(problems, key=lambda p: p.location.sort_key())):
        print(problem.labelled(current_language()), file=stream)


#: A problem of the same kind in one column of one file on more rows than this is printed once, counted.
REPEATED_FROM: Final = 4


def collapse_repeated(problems: Sequence[Problem]) -> list[Problem]:
    """``problems`` with each kind (code, file, field) met on :data:`REPEATED_FROM` rows or more as one problem.

    The one problem is the first, located there, with the count and the first rows; JSON output keeps them all.
    """
    groups: dict[tuple[str, str | None, str | None], list[Problem]] = {}
    for problem in problems:
        groups.setdefault((problem.code, problem.location.file, problem.location.field), []).append(problem)
    out: list[Problem] = []
    for problem in problems:
        group = groups[(problem.code, problem.location.file, problem.location.field)]
        if len(group) < REPEATED_FROM:
            out.append(problem)
        elif problem is group[0]:
            out.append(_repeated(group))
    return out


def _repeated(group: Sequence[Problem]) -> Problem:
    first = group[0]
    rows = [str(p.location.line or p.location.path or p.location.county) for p in group[:FIRST_ROWS]]
    message = tr(
        "{message} — the same kind of problem on {count} rows ({code}): {rows}{more}",
        message=first.message,
        count=len(group),
        code=str(first.code),
        rows=join(dict.fromkeys(rows)),
        more=" …" if len(group) > FIRST_ROWS else "",
    )
    return attrs.evolve(first, message=message)


def read_all(
    paths: Sequence[str], quiet: bool, headers: Mapping[str, str] | None = None
) -> tuple[list[RawRecord], list[Problem]]:
    """The records of every file, and every problem met reading them (a bad file does not stop the others).

    ``headers`` maps other names of a column (a policy's labels) to the field it is read as.
    """
    records: list[RawRecord] = []
    problems: list[Problem] = []
    for path in paths:
        some, more = _read_one(path, quiet, headers, lazy=False)
        records.extend(some)
        problems.extend(more)
    return records, problems


def _read_one(
    path: str, quiet: bool, headers: Mapping[str, str] | None, *, lazy: bool
) -> tuple[Sequence[RawRecord], list[Problem]]:
    """The records of one file (with ``lazy``, a CSV file's plain rows made into records only as they are read:
    :class:`fineco_rules.io._readers.CsvRecords`) and the problems met reading it."""
    try:
        result = read_batch(path, headers=headers, lazy=lazy)
    except FinecoError as exc:
        return [], list(exc.problems)
    if not quiet:
        encoding = f", {result.encoding}" if result.encoding else ""
        print(
            tr(
                "read {path}: {count} records ({format}{encoding})",
                path=path,
                count=len(result.records),
                format=result.format,
                encoding=encoding,
            ),
            file=sys.stderr,
        )
    return result.records, list(result.problems)


def records_with_tables(
    paths: Sequence[str], tables: Sequence[tuple[str, str]], quiet: bool, policy: Policy | None = None
) -> tuple[list[RawRecord], list[Problem]]:
    """The records of ``paths`` with the rows of each ``--table FIELD=FILE`` attached.

    With ``policy``, columns titled by its labels are read as its fields.
    """
    records, problems = read_all(paths, quiet, None if policy is None else header_names(policy))
    for field, path in tables:
        rows, row_problems = read_all([path], quiet)
        records, unmatched = attach_table(records, field, rows)
        problems += row_problems + unmatched
    return records, problems


@attrs.frozen
class Graded:
    """What :func:`graded` read and computed: the compiled policy, the records graded, the evaluation, the problems."""

    compiled: CompiledPolicy
    records: Sequence[RawRecord]
    evaluation: Evaluation
    problems: list[Problem]


def evaluation(
    args: argparse.Namespace, host: PluginHost, quiet: bool, *, summaries: bool = False
) -> tuple[Evaluation, list[Problem]]:
    """Load ``--policy``, read the data and grade it, officially when ``--official`` asks for it.

    With ``summaries``, each county's summary is made without its explanation wherever that gives the same
    grade, total and scores (:func:`fineco_rules.engine._summaries.evaluate_summaries`); the explanation is
    then built only if :attr:`Evaluation.results` is read.
    """
    done = graded(args, host, quiet, summaries=summaries)
    return done.evaluation, done.problems


def graded(args: argparse.Namespace, host: PluginHost, quiet: bool, *, summaries: bool = False) -> Graded:
    """:func:`evaluation`, keeping the compiled policy and the records (a report computes gaps from them)."""
    city = getattr(args, "city", None)
    if city:
        from fineco_rules.governance._names import known_city, same_city  # only --city loads governance

        try:
            known_city(city)
        except FinecoError as exc:
            first = exc.problems[0]
            raise UsageError(
                tr("--city {city}: {problem}; {hint}", city=city, problem=first.message, hint=first.hint)
            ) from None
    policy = load_policy(args.policy, as_of=args.as_of, host=host)
    official = None
    if getattr(args, "official", False):
        if not city:
            raise UsageError(tr("--official grades one city's counties under its own filing: give --city CODE"))
        from fineco_rules.governance._filing import Registry, anchors_for, load_public_key  # --official only

        trust = load_public_key(args.trust)
        anchors = anchors_for(args.registry, trust, getattr(args, "checkpoint", []))
        official = Registry(args.registry).official(policy, host, trust, anchors, city=city)
    records: Sequence[RawRecord]
    if summaries and len(args.data) == 1 and not args.table and not city and not getattr(args, "dask", None):
        # One file graded to summaries: its plain CSV rows need not become records (see _read_one).
        records, problems = _read_one(args.data[0], quiet, header_names(policy), lazy=True)
    else:
        records, problems = records_with_tables(args.data, args.table, quiet, policy)
    if city:
        records = [r for r in records if same_city(r.values.get("county", ""), city)]
        if not records:
            raise UsageError(
                tr("--city {city}: no county of this city in the data (counties match on 4 digits)", city=city)
            )
    compiled = compile_policy(policy, host)
    long = not quiet and len(records) >= PROGRESS_FROM
    with time_limit(getattr(args, "timeout", None)):
        if getattr(args, "dask", None):
            result = _on_dask(args.dask, compiled, records)
        elif (
            summaries and (fast := evaluate_summaries(compiled, records, print_progress if long else None)) is not None
        ):
            result = fast
        else:
            result = compiled.evaluate(records, progress=print_progress if long else None)
    return Graded(compiled, records, attrs.evolve(result, official=official), problems)


def _on_dask(address: str, compiled: CompiledPolicy, records: Sequence[RawRecord]) -> Evaluation:
    try:
        from fineco_rules.scale.distributed import dask_client, evaluate_on_dask
    except ImportError as exc:
        raise UsageError(str(exc)) from exc
    with dask_client(address) as client:
        return evaluate_on_dask(compiled, records, client=client)


def print_progress(stage: str, done: int, total: int | None) -> None:
    """A :data:`fineco_rules.engine.Progress` that writes ``stage: done/total`` (or ``stage: done``) on stderr."""
    name = _STAGES.get(stage, stage)
    print(f"{name}: {done}" if total is None else f"{name}: {done}/{total}", file=sys.stderr, flush=True)


#: The stages the engine and the roll-up report progress in, as the user reads them.
_STAGES: Final[Mapping[str, Msg]] = {
    "indicators": tr("indicators"),
    "counties": tr("counties"),
    "rows": tr("rows"),
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_table(head: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese (double-width) text."""
    widths = [max(_width(row[i]) for row in [head, *rows]) for i in range(len(head))]
    out = []
    for row in [head, ["-" * w for w in widths], *rows]:
        out.append("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out) + "\n"


def write_text(path: str | None, text: str) -> None:
    """``text`` to ``path`` atomically, or to standard output when no path is given."""
    if path:
        write_atomic(Path(path), text)
    else:
        sys.stdout.write(text)


def city_key_for(args: argparse.Namespace) -> CityKey | None:
    """The city key of ``evaluate --official --key``; its city must be ``--city``, when given."""
    if not getattr(args, "key", None):
        return None
    from fineco_rules.governance._filing import load_city_key  # --key only

    key = load_city_key(args.key)
    if args.city and args.city != key.city:
        raise UsageError(tr("--key is city {key}'s key but --city is {city}", key=key.city, city=args.city))
    return key


def attest_output(args: argparse.Namespace, host: PluginHost, evaluation: Evaluation) -> None:
    """After ``evaluate --official -o FILE``: write ``FILE.attestation.json`` (signed when ``--key`` is given)."""
    if not (evaluation.official and args.output):
        return
    from fineco_rules.governance._filing import Registry, attest, attestation_path  # --official only

    key = city_key_for(args)
    filed = Registry(args.registry).record("filing", evaluation.official)[1]
    inputs = [*args.data, *(path for _field, path in args.table)]
    statement = attest(args.output, evaluation.official, filed, inputs, key)
    write_atomic(attestation_path(args.output), dumps(statement) + "\n")
