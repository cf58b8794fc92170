"""The grading commands of ``fineco``: ``validate``, ``evaluate``, ``explain``, ``plugins`` and ``schema``."""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from fineco_rules.cli import _common as common
from fineco_rules.engine._engine import compile_policy
from fineco_rules.engine._results import CountyResult, CountySummary, Evaluation
from fineco_rules.errors import FinecoError, Severity, render
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps, dumps_columns, dumps_each
from fineco_rules.io._readers import paused_gc
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._schema import policy_schema
from fineco_rules.scoring._host import PluginHost

if TYPE_CHECKING:
    from fineco_rules.analysis._gap import Gap

__all__ = ["COMMANDS", "add_commands"]


def _dask_address(text: str) -> str:
    """``local:N`` (N worker processes on this machine) or a scheduler address."""
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: write local:N with N at least 1, e.g. local:4")
    elif not text.strip():
        raise argparse.ArgumentTypeError("give a scheduler address (tcp://host:8786) or local:N")
    return text


def add_commands(sub: Any) -> None:
    """Add validate, evaluate, explain, plugins and schema to the ``fineco`` subcommands."""
    p = sub.add_parser("validate", help="check policy files and report every problem")
    p.add_argument("policies", nargs="+", metavar="POLICY")
    p.add_argument("--as-of", type=common.date, metavar="DATE")
    common.plugin_arg(p)

    p = sub.add_parser("evaluate", help="grade the counties in data files")
    common.policy_args(p)
    common.plugin_arg(p)
    p.add_argument("data", nargs="+", metavar="DATA", help="CSV, JSON, YAML or XLSX record files")
    common.table_arg(p)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument(
        "--explain",
        action="store_true",
        help="JSON: every number behind each grade (inputs, normalised values, weights, checks); by default only "
        "each county's grade, total, indicator scores and errors",
    )
    p.add_argument("--compact", action="store_true", help="the default JSON shape (kept for old scripts)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        help="language of labels in the table (default zh); with --format csv, a CSV for Excel: a UTF-8 BOM and "
        "headers and grades in this language (without --lang: field names, no BOM)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.add_argument(
        "--timeout",
        type=common.seconds,
        metavar="SECONDS",
        help="stop with an error naming the scorer if grading takes longer than this (a hung plugin)",
    )
    p.add_argument("--city", metavar="CODE", help="grade only the counties of this prefecture city (e.g. 320500)")
    p.add_argument(
        "--official",
        action="store_true",
        help="refuse unless the policy and its plugins match a filing certified by --trust in --registry",
    )
    p.add_argument("--registry", metavar="DIR", help="the filing registry (with --official)")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="the province's public key (with --official)")
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a checkpoint of the registry's log kept elsewhere; the log must hold it (with --official)",
    )
    p.add_argument(
        "--key",
        metavar="CITY_KEY",
        help="sign the attestation written beside -o FILE with the city's key (with --official); unsigned, "
        "`results submit` refuses it",
    )
    p.add_argument(
        "--dask",
        type=_dask_address,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler address (tcp://host:8786), or local:N for N local worker processes",
    )

    p = sub.add_parser("explain", help="explain one county's grade in plain words")
    common.policy_args(p)
    common.plugin_arg(p)
    p.add_argument("data", nargs="+", metavar="DATA")
    p.add_argument("--county", required=True, metavar="CODE", help="six-digit county code")
    common.table_arg(p)
    p.add_argument("--lang", choices=["zh", "en"])
    p.add_argument("--no-gap", action="store_true", help="leave out the gap to the next grade")

    p = sub.add_parser("plugins", help="list every scorer with its version and distribution")
    p.add_argument("--format", choices=["table", "json"], default="table")

    sub.add_parser("schema", help="print the JSON Schema of policy files")


def _cmd_validate(args: argparse.Namespace, host: PluginHost) -> int:
    status = common.EXIT_OK
    for path in args.policies:
        try:
            policy = load_policy(path, as_of=args.as_of, host=host)
        except FinecoError as exc:
            common.print_problems(exc.problems)
            print(common.tr("{path}: {count} problem(s)", path=path, count=len(exc.problems)), file=sys.stderr)
            status = common.EXIT_ERRORS
            continue
        chain = " <- ".join(f"{i} {v}" for i, v, _ in policy.chain)
        print(
            common.tr("{path}: ok ({chain}; {count} indicators)", path=path, chain=chain, count=len(policy.indicators))
        )
    return status


def _cmd_evaluate(args: argparse.Namespace, host: PluginHost) -> int:
    if args.official and not (args.registry and args.trust):
        raise common.UsageError(common.tr("--official needs --registry DIR and --trust PUBLIC_KEY"))
    if args.key and not (args.official and args.output):
        raise common.UsageError(
            common.tr("--key signs the attestation of an official run's output: give --official and -o FILE")
        )
    common.city_key_for(args)  # a wrong or unregistered key is refused before any grading
    if args.explain or args.dask:
        return _evaluate(args, host)
    # Summaries make a few objects per county, none of them garbage, and free them all when _evaluate returns
    # (before collecting resumes): a collection in between would walk them all for nothing.
    with paused_gc():
        return _evaluate(args, host)


def _evaluate(args: argparse.Namespace, host: PluginHost) -> int:
    """``evaluate`` once its arguments are checked: grade, write, report."""
    evaluation, file_problems = common.evaluation(args, host, args.quiet, summaries=not args.explain)
    pieces = {"json": _as_json, "csv": _as_csv, "table": _as_table}[args.format](
        evaluation, args.lang if args.lang_given or args.format != "csv" else None, args.explain
    )
    if args.output:
        write_atomic(args.output, pieces)
    else:
        for piece in pieces:
            sys.stdout.write(piece)
    common.attest_output(args, host, evaluation)
    summaries = evaluation.summaries()
    problems = [*file_problems, *evaluation.problems]
    problems += [p for r in summaries for p in r.errors]
    common.print_problems(problems)
    if not args.quiet:
        counts = Counter(None if g is None else g.value for g in evaluation.grades)
        scored = sum(1 for r in summaries if r.score is not None and not r.errors)
        print(_tally(evaluation, counts, scored), file=sys.stderr)
    # A file that gave no records is an error too (a wrong or failed export); the other files are still graded.
    hard = [p for p in file_problems if p.severity is not Severity.NOTE]
    return common.EXIT_OK if evaluation.ok and not hard else common.EXIT_ERRORS


def _cmd_explain(args: argparse.Namespace, host: PluginHost) -> int:
    evaluation, file_problems = common.evaluation(args, host, quiet=True)
    result = evaluation.by_county().get(args.county)
    if result is None:
        known = common.join(sorted(r.county for r in evaluation.results)[:10])
        common.print_problems(file_problems)
        unit = evaluation.policy.unit
        raise common.UsageError(
            common.tr(
                "{unit} {county} is not in the data (first codes: {known})",
                unit=unit.label if not unit.is_county else common.tr("county"),
                county=args.county,
                known=known,
            )
        )
    from fineco_rules.analysis._explain import explain  # only `fineco explain` loads the analysis

    gap = _explain_gap(args, host, evaluation)
    sys.stdout.write(explain(result, evaluation.policy, args.lang, gap))
    return common.EXIT_OK if result.graded and not result.errors else common.EXIT_ERRORS


def _cmd_plugins(args: argparse.Namespace, host: PluginHost) -> int:
    rows = [
        {
            "scorer": e.name,
            "version": e.version,
            "cohort": e.scorer.cohort,
            "plugin": e.plugin,
            "distribution": e.distribution,
            "distribution_version": e.distribution_version,
            "label": {"zh": e.scorer.label.zh, "en": e.scorer.label.en},
        }
        for e in host.scorers.values()
    ]
    if args.format == "json":
        sys.stdout.write(dumps(rows) + "\n")
    else:
        table = [
            [
                e.name,
                e.version,
                f"{e.distribution} {e.distribution_version}",
                e.plugin,
                f"{e.scorer.label.zh} / {e.scorer.label.en}",
            ]
            for e in host.scorers.values()
        ]
        sys.stdout.write(common.render_table(["scorer", "version", "distribution", "plugin", "label"], table))
    return common.EXIT_OK


def _cmd_schema(args: argparse.Namespace, host: PluginHost) -> int:
    sys.stdout.write(dumps(policy_schema()) + "\n")
    return common.EXIT_OK


def _explain_gap(args: argparse.Namespace, host: PluginHost, evaluation: Evaluation) -> Gap | None:
    """The gap of ``args.county`` to its next grade."""
    if args.no_gap:
        return None
    from fineco_rules.analysis._gap import find_gaps  # only `fineco explain` loads the analysis

    records, _ = common.records_with_tables(args.data, args.table, True, evaluation.policy)
    compiled = compile_policy(evaluation.policy, host)
    return find_gaps(compiled, records, evaluation=evaluation, counties=[args.county]).get(args.county)


COMMANDS: Final = {
    "validate": _cmd_validate,
    "evaluate": _cmd_evaluate,
    "explain": _cmd_explain,
    "plugins": _cmd_plugins,
    "schema": _cmd_schema,
}


# -- output -----------------------------------------------------------------------------


def _as_json(evaluation: Evaluation, lang: str | None, explain: bool = True) -> Iterator[str]:
    """The evaluation as JSON, written as it is made: each county in its compact shape (:class:`CountySummary`), or
    with ``explain`` in full (the same bytes as ``dumps(evaluation.to_dict())``)."""
    head = dumps(evaluation.header())
    yield head[: -len("\n}")] + ',\n  "results": ['
    if explain:
        # JSON strings never hold a raw newline, so indenting after each newline indents whole lines only.
        rows: Iterator[str] = (dumps(r.to_dict()).replace("\n", "\n    ") for r in evaluation.results)
    else:
        rows = _compact(evaluation.summaries())
    written = False
    for chunk in _batched(rows, ",\n    "):
        yield ("\n    " if not written else ",\n    ") + chunk
        written = True
    yield ("\n  ]" if written else "]") + ',\n  "problems": '
    yield dumps([p.to_dict() for p in evaluation.problems]).replace("\n", "\n  ") + "\n}\n"


def _compact(summaries: tuple[CountySummary, ...]) -> Iterator[str]:
    """Each county's compact shape (:meth:`CountySummary.to_dict`) as ``dumps_each`` writes it; a batch without
    errors a column at a time (``dumps_columns``, the same bytes)."""
    if summaries and not any(s.errors for s in summaries) and tuple(summaries[0].to_dict()) == _COMPACT_KEYS:
        with paused_gc():  # tuples per county and field, none of them garbage: collecting would find nothing
            written = _compact_columns(summaries)
        if written is not None:
            return iter(written)
    return dumps_each((s.to_dict() for s in summaries), depth=2)


def _compact_columns(summaries: tuple[CountySummary, ...]) -> list[str] | None:
    """The compact shape of counties without errors, made a column at a time (None: a column of other values)."""
    counties, names, cities, grades, scores, _, indicators, _ = zip(*summaries, strict=True)
    texts = {g: None if g is None else g.value for g in set(grades)}
    columns: tuple[Sequence[object], ...] = (
        counties,
        names,
        cities,
        list(map(texts.__getitem__, grades)),
        scores,
        indicators if set(map(type, indicators)) == {dict} else [dict(i) for i in indicators],
        [[]] * len(summaries),  # to_dict writes no errors as []
    )
    return dumps_columns(_COMPACT_KEYS, columns, depth=2)


_COMPACT_KEYS: Final = ("county", "name", "city", "grade", "score", "indicators", "errors")


def _batched(rows: Iterator[str], sep: str, size: int = 1000) -> Iterator[str]:
    """``rows`` joined by ``sep``, ``size`` at a time: few large writes instead of one per county."""
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield sep.join(batch)
            batch = []
    if batch:
        yield sep.join(batch)


def _tally(evaluation: Evaluation, counts: Counter[str | None], scored: int) -> str:
    """The last line of ``evaluate``: how many units, and how many of each grade (or, for an index, scored)."""
    unit = evaluation.policy.unit
    total = len(evaluation.grades)
    if not evaluation.policy.grades:  # an index: scores, no grades
        return str(
            common.tr(
                "{count} × {unit} ({key}): {scored} scored, {unscored} not scored (an index without grades)",
                count=total,
                unit=unit.label if not unit.is_county else common.tr("county"),
                key=unit.key,
                scored=scored,
                unscored=total - scored,
            )
        )
    values = {"good": counts["good"], "passed": counts["pass"], "fail": counts["fail"], "ungraded": counts[None]}
    if unit.is_county:
        return str(
            common.tr(
                "{count} counties: {good} good, {passed} pass, {fail} fail, {ungraded} not graded",
                count=total,
                **values,
            )
        )
    return str(
        common.tr(
            "{count} × {unit} ({key}): {good} good, {passed} pass, {fail} fail, {ungraded} not graded",
            count=total,
            unit=unit.label,
            key=unit.key,
            **values,
        )
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


#: The CSV headings for Excel (``--lang``), before the indicators' labels and after them.
_CSV_HEAD: Final = {
    "zh": (["县（市）代码", "县（市）名称", "所属市代码", "评定结果", "总分", "调整前得分"], "问题"),
    "en": (["county code", "county name", "city code", "grade", "score", "score before adjustments"], "problems"),
}


def _as_csv(evaluation: Evaluation, lang: str | None, explain: bool = False) -> Iterator[str]:
    """One CSV row per county, written as it is made: field names and grade values; with ``lang`` (for Excel)
    a UTF-8 BOM and headings and grades in ``lang``."""
    names = list(evaluation.policy.indicators)
    # Nested groups (sub-indices) get a column each, after the indicators; flat policies keep their columns.
    groups = evaluation.policy.aggregation.groups
    nested = list(groups) if evaluation.policy.aggregation.nested else []
    from fineco_rules.io._sheet import csv_writer  # only the CSV format needs it

    buffer = io.StringIO()
    writer = csv_writer(buffer)
    unit = evaluation.policy.unit
    if lang is None:
        writer.writerow([unit.key, "name", "city", "grade", "score", "base_score", *names, *nested, "errors"])
    else:
        buffer.write("\ufeff")  # Excel on Chinese Windows reads a CSV without it as GBK
        first, last = _CSV_HEAD[lang]
        if not unit.is_county:  # the unit's own word heads its key column
            first = [unit.label.get(lang), "名称" if lang == "zh" else "name", *first[2:]]
        labels = [evaluation.policy.indicators[n].label.get(lang) for n in names]
        writer.writerow([*first, *labels, *(groups[g].label.get(lang) for g in nested), last])
    # A sub-index's score is in the full result only (policies with nested groups never skip building it).
    rows: tuple[CountyResult | CountySummary, ...] = evaluation.results if nested else evaluation.summaries()
    for count, r in enumerate(rows, 1):
        scores = {n: i.score for n, i in r.indicators.items()} if isinstance(r, CountyResult) else r.indicators
        writer.writerow(
            [
                r.county,
                r.name or "",
                r.city or "",
                "" if r.grade is None else r.grade.value if lang is None else r.grade.label.get(lang),
                _cell(r.score),
                _cell(r.base_score),
                *(_cell(scores[n]) if n in scores else "" for n in names),
                *(_cell(r.groups.get(g)) for g in nested if isinstance(r, CountyResult)),
                "; ".join(p.message if lang is None else render(p.message, lang) for p in r.errors),
            ]
        )
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _as_table(evaluation: Evaluation, lang: str | None, explain: bool = False) -> Iterator[str]:
    lang = lang or "zh"
    head = (
        ["县代码", "县名", "评定", "总分", "问题"] if lang == "zh" else ["county", "name", "grade", "score", "problems"]
    )
    unit = evaluation.policy.unit
    if not unit.is_county:  # the unit's own word heads its key column
        head[:2] = [unit.label.get(lang), "名称" if lang == "zh" else "name"]
    rows = []
    for r in evaluation.summaries():
        grade = "—" if r.grade is None else r.grade.label.get(lang)
        rows.append(
            [r.county, r.name or "", grade, _cell(r.score), "; ".join(render(p.message, lang) for p in r.errors)]
        )
    status = (
        f"official: filing {evaluation.official}"
        if evaluation.official
        else "正式：否（未核对备案）"
        if lang == "zh"
        else "unofficial: not checked against a certified filing"
    )
    if evaluation.official and lang == "zh":
        status = f"正式：备案 {evaluation.official}"
    title = f"{evaluation.policy.label.get(lang)} ({evaluation.policy.id} {evaluation.policy.version}) — {status}\n"
    yield title + common.render_table(head, rows)
