"""The ``fineco`` command line."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, TextIO

import attrs

from . import _cli_check, _cli_reports, _cli_rollup
from ._atomic import write_atomic
from ._engine import CompiledPolicy, compile_policy
from ._errors import FinecoError, Problem
from ._explain import explain
from ._filing import Registry, generate_keys, load_private_key, load_public_key, read_json
from ._loader import load_policy
from ._plugins import PluginHost, make_plugin_host
from ._readers import RawRecord, attach_table, read_records
from ._results import Evaluation
from ._schema import policy_schema
from ._watchdog import time_limit

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_ERRORS: Final = 1
EXIT_USAGE: Final = 2
#: Batches this long report progress on stderr.
PROGRESS_FROM: Final = 5000


class _UsageError(Exception):
    pass


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date written YYYY-MM-DD, found {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, found {text!r}")
    return value


def _dask_address(text: str) -> str:
    """``local:N`` (N worker processes on this machine) or a scheduler address."""
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: write local:N with N at least 1, e.g. local:4")
    elif not text.strip():
        raise argparse.ArgumentTypeError("give a scheduler address (tcp://host:8786) or local:N")
    return text


def _table(text: str) -> tuple[str, str]:
    field, sep, path = text.partition("=")
    if not sep or not field or not path:
        raise argparse.ArgumentTypeError(f"expected FIELD=FILE, found {text!r}")
    return field, path


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="fineco",
        description="Grade counties against financial-ecology policy files (金融生态县考核).",
    )
    parser.add_argument("--version", action="version", version=f"fineco-rules {__version__}")
    parser.add_argument(
        "--block",
        action="append",
        default=[],
        metavar="PLUGIN",
        help="do not load this plugin (repeatable; also FINECO_BLOCK_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def policy_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--policy", required=True, metavar="POLICY", help="a policy file, or a folder of its versions")
        p.add_argument(
            "--as-of", type=_date, metavar="DATE", help="pick the version in effect on this date (YYYY-MM-DD)"
        )

    def who_args(p: argparse.ArgumentParser, *, key: bool) -> None:
        p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")
        p.add_argument("--by", required=True, metavar="NAME", help="who does this (recorded in the log)")
        p.add_argument("--why", default="", metavar="TEXT", help="why (recorded in the log)")
        if key:
            p.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="the province's private key")

    def table_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--table",
            action="append",
            default=[],
            type=_table,
            metavar="FIELD=FILE",
            help="attach the rows of FILE (e.g. townships) to each county as the table input FIELD",
        )

    p = sub.add_parser("validate", help="check policy files and report every problem")
    p.add_argument("policies", nargs="+", metavar="POLICY")
    p.add_argument("--as-of", type=_date, metavar="DATE")

    p = sub.add_parser("evaluate", help="grade the counties in data files")
    policy_args(p)
    p.add_argument("data", nargs="+", metavar="DATA", help="CSV, JSON, YAML or XLSX record files")
    table_arg(p)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of labels in the table")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.add_argument(
        "--timeout",
        type=_seconds,
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
        "--dask",
        type=_dask_address,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler address (tcp://host:8786), or local:N for N local worker processes",
    )

    p = sub.add_parser("explain", help="explain one county's grade in plain words")
    policy_args(p)
    p.add_argument("data", nargs="+", metavar="DATA")
    p.add_argument("--county", required=True, metavar="CODE", help="six-digit county code")
    table_arg(p)
    p.add_argument("--lang", choices=["zh", "en"], default="zh")
    p.add_argument("--no-gap", action="store_true", help="leave out the gap to the next grade")

    p = sub.add_parser("plugins", help="list every scorer with its version and distribution")
    p.add_argument("--format", choices=["table", "json"], default="table")

    sub.add_parser("schema", help="print the JSON Schema of policy files")

    filing = sub.add_parser("filing", help="file city policies with the province, certify, verify")
    fsub = filing.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = fsub.add_parser("keygen", help="make the province's Ed25519 key pair")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--name", default="province", help="file name stem (default: province)")
    p = fsub.add_parser("submit", help="file a policy with every file and plugin it depends on")
    p.add_argument("policy", metavar="POLICY")
    who_args(p, key=False)
    p = fsub.add_parser("certify", help="certify a filing, signed with the province's private key")
    p.add_argument("filing", metavar="FILING")
    who_args(p, key=True)
    p = fsub.add_parser("revoke", help="revoke a filing, signed with the province's private key")
    p.add_argument("filing", metavar="FILING")
    who_args(p, key=True)
    p = fsub.add_parser("status", help="list filings and result sets with their state")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="check certifications against this public key")
    p = fsub.add_parser("verify", help="check the log chain, every record and every signature")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="also check signatures against this public key")

    results = sub.add_parser("results", help="review, certify and publish a year's results")
    rsub = results.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = rsub.add_parser("submit", help="submit a results file written by `evaluate --format json`")
    p.add_argument("results", metavar="RESULTS_JSON")
    who_args(p, key=False)
    p = rsub.add_parser("review", help="the city's initial review (初审)")
    p.add_argument("subject", metavar="RESULTS")
    who_args(p, key=False)
    p = rsub.add_parser("certify", help="the province's certification (审核认定), signed")
    p.add_argument("subject", metavar="RESULTS")
    who_args(p, key=True)
    p = rsub.add_parser("publish", help="publish certified results (对外公布) and write the public export")
    p.add_argument("subject", metavar="RESULTS")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--by", required=True, metavar="NAME")
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY")
    p.add_argument("-o", "--output", metavar="FILE", help="write the public export here")
    _cli_reports.add_commands(sub, policy_args, table_arg)
    _cli_check.add_commands(sub)
    _cli_rollup.add_commands(sub, policy_args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 errors in inputs, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        host = make_plugin_host(block=args.block)
        handler = _COMMANDS[args.command]
        return handler(args, host)
    except _UsageError as exc:
        print(f"fineco: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FinecoError as exc:
        _print_problems(exc.problems)
        return EXIT_ERRORS
    except BrokenPipeError:  # `fineco evaluate ... | head` is fine
        return EXIT_OK


def _print_problems(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    for problem in sorted(problems, key=lambda p: p.location.sort_key()):
        print(
            f"error: {problem}"
            if problem.code not in {"unknown-column", "decoded-as-gbk", "mojibake"}
            else f"note: {problem}",
            file=stream,
        )


def _cmd_validate(args: argparse.Namespace, host: PluginHost) -> int:
    status = EXIT_OK
    for path in args.policies:
        try:
            policy = load_policy(path, as_of=args.as_of, host=host)
        except FinecoError as exc:
            _print_problems(exc.problems)
            print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
            status = EXIT_ERRORS
            continue
        chain = " <- ".join(f"{i} {v}" for i, v, _ in policy.chain)
        print(f"{path}: ok ({chain}; {len(policy.indicators)} indicators)")
    return status


def _read_all(paths: Sequence[str], quiet: bool) -> tuple[list[RawRecord], list[Problem]]:
    records: list[RawRecord] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            result = read_records(path)
        except FinecoError as exc:
            problems.extend(exc.problems)
            continue
        records.extend(result.records)
        problems.extend(result.problems)
        if not quiet:
            encoding = f", {result.encoding}" if result.encoding else ""
            print(f"read {path}: {len(result.records)} records ({result.format}{encoding})", file=sys.stderr)
    return records, problems


def _evaluation(args: argparse.Namespace, host: PluginHost, quiet: bool) -> tuple[Evaluation, list[Problem]]:
    policy = load_policy(args.policy, as_of=args.as_of, host=host)
    official = None
    if getattr(args, "official", False):
        official = Registry(args.registry).official(policy, host, load_public_key(args.trust))
    records, problems = _read_all(args.data, quiet)
    for field, path in args.table:
        rows, row_problems = _read_all([path], quiet)
        records, unmatched = attach_table(records, field, rows)
        problems += row_problems + unmatched
    if getattr(args, "city", None):
        records = [r for r in records if str(r.values.get("county", "")).strip()[:4] == args.city[:4]]
    compiled = compile_policy(policy, host)
    long = not quiet and len(records) >= PROGRESS_FROM
    with time_limit(getattr(args, "timeout", None)):
        if getattr(args, "dask", None):
            evaluation = _on_dask(args.dask, compiled, records)
        else:
            evaluation = compiled.evaluate(records, progress=_progress if long else None)
    return attrs.evolve(evaluation, official=official), problems


def _on_dask(address: str, compiled: CompiledPolicy, records: Sequence[RawRecord]) -> Evaluation:
    try:
        from .distributed import dask_client, evaluate_on_dask
    except ImportError as exc:
        raise _UsageError(str(exc)) from exc
    with dask_client(address) as client:
        return evaluate_on_dask(compiled, records, client=client)


def _progress(stage: str, done: int, total: int) -> None:
    print(f"{stage}: {done}/{total}", file=sys.stderr, flush=True)


def _cmd_evaluate(args: argparse.Namespace, host: PluginHost) -> int:
    if args.official and not (args.registry and args.trust):
        raise _UsageError("--official needs --registry DIR and --trust PUBLIC_KEY")
    evaluation, file_problems = _evaluation(args, host, args.quiet)
    text = {"json": _as_json, "csv": _as_csv, "table": _as_table}[args.format](evaluation, args.lang)
    if args.output:
        _write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    problems = [*file_problems, *evaluation.problems]
    problems += [p for r in evaluation.results for p in r.errors]
    _print_problems(problems)
    if not args.quiet:
        counts = {
            g: sum(1 for r in evaluation.results if r.grade is not None and r.grade.value == g)
            for g in ("good", "pass", "fail")
        }
        ungraded = sum(1 for r in evaluation.results if r.grade is None)
        print(
            f"{len(evaluation.results)} counties: {counts['good']} good, {counts['pass']} pass, "
            f"{counts['fail']} fail, {ungraded} not graded",
            file=sys.stderr,
        )
    # A file that gave no records is an error too (a wrong or failed export); the other files are still graded.
    hard = [p for p in file_problems if p.code not in {"unknown-column", "decoded-as-gbk", "mojibake"}]
    return EXIT_OK if evaluation.ok and not hard else EXIT_ERRORS


def _cmd_explain(args: argparse.Namespace, host: PluginHost) -> int:
    evaluation, file_problems = _evaluation(args, host, quiet=True)
    result = evaluation.by_county().get(args.county)
    if result is None:
        known = ", ".join(sorted(r.county for r in evaluation.results)[:10])
        _print_problems(file_problems)
        raise _UsageError(f"county {args.county} is not in the data (first codes: {known})")
    gap = _cli_reports.explain_gap(args, host, evaluation)
    sys.stdout.write(explain(result, evaluation.policy, args.lang, gap))
    return EXIT_OK if result.graded and not result.errors else EXIT_ERRORS


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
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
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
        sys.stdout.write(_render_table(["scorer", "version", "distribution", "plugin", "label"], table))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace, host: PluginHost) -> int:
    sys.stdout.write(json.dumps(policy_schema(), ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _cmd_filing(args: argparse.Namespace, host: PluginHost) -> int:
    if args.action == "keygen":
        private, public = generate_keys(args.out, args.name)
        print(f"private key: {private} (keep it secret; only the province certifies with it)")
        print(f"public key:  {public} (give it to anyone who verifies)")
        return EXIT_OK
    registry = Registry(args.registry)
    if args.action == "submit":
        policy = load_policy(args.policy, host=host)
        print(registry.submit_filing(policy, host, args.by, args.why))
    elif args.action in ("certify", "revoke"):
        key = load_private_key(args.key)
        if args.action == "certify":
            registry.certify("filing", args.filing, args.by, key, args.why)
        else:
            registry.revoke(args.filing, args.by, args.why, key)
        print(f"{args.filing}: {args.action} recorded")
    elif args.action == "status":
        trust = load_public_key(args.trust) if args.trust else None
        rows = [
            [
                s.kind,
                s.subject,
                s.state if trust or s.state != "certified" else "certified (unverified)",
                str(len(s.problems)),
            ]
            for s in registry.statuses(trust)
        ]
        sys.stdout.write(_render_table(["kind", "subject", "state", "problems"], rows))
    else:
        problems = registry.verify(load_public_key(args.trust) if args.trust else None)
        if problems:
            _print_problems(problems)
            return EXIT_ERRORS
        entries = len(registry.entries())
        checked = "signatures checked" if args.trust else "signatures not checked (give --trust)"
        print(f"{args.registry}: {entries} log entries, chain intact, records match; {checked}")
    return EXIT_OK


def _cmd_results(args: argparse.Namespace, host: PluginHost) -> int:
    registry = Registry(args.registry)
    if args.action == "submit":
        print(registry.submit_results(read_json(args.results), args.by, args.why))
    elif args.action == "review":
        registry.review(args.subject, args.by, args.why)
        print(f"{args.subject}: review recorded")
    elif args.action == "certify":
        registry.certify("results", args.subject, args.by, load_private_key(args.key), args.why)
        print(f"{args.subject}: certify recorded")
    else:
        export = registry.publish(args.subject, args.by, load_public_key(args.trust))
        text = json.dumps(export, ensure_ascii=False, indent=2) + "\n"
        if args.output:
            _write_atomic(Path(args.output), text)
        else:
            sys.stdout.write(text)
    return EXIT_OK


_COMMANDS: Final = {
    "filing": _cmd_filing,
    "results": _cmd_results,
    "validate": _cmd_validate,
    "evaluate": _cmd_evaluate,
    "explain": _cmd_explain,
    "plugins": _cmd_plugins,
    "schema": _cmd_schema,
    **_cli_reports.COMMANDS,
    **_cli_check.COMMANDS,
    **_cli_rollup.COMMANDS,
}


# -- output -----------------------------------------------------------------------------


def _as_json(evaluation: Evaluation, lang: str) -> str:
    return json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _as_csv(evaluation: Evaluation, lang: str) -> str:
    names = list(evaluation.policy.indicators)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["county", "name", "city", "grade", "score", "base_score", *names, "errors"])
    for r in evaluation.results:
        writer.writerow(
            [
                r.county,
                r.name or "",
                r.city or "",
                "" if r.grade is None else r.grade.value,
                _cell(r.score),
                _cell(r.base_score),
                *(_cell(r.indicators[n].score) if n in r.indicators else "" for n in names),
                "; ".join(p.message for p in r.errors),
            ]
        )
    return buffer.getvalue()


def _as_table(evaluation: Evaluation, lang: str) -> str:
    head = (
        ["县代码", "县名", "评定", "总分", "问题"] if lang == "zh" else ["county", "name", "grade", "score", "problems"]
    )
    rows = []
    for r in evaluation.results:
        grade = "—" if r.grade is None else r.grade.label.get(lang)
        rows.append([r.county, r.name or "", grade, _cell(r.score), "; ".join(p.message for p in r.errors)])
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
    return title + _render_table(head, rows)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _render_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in [head, *rows]) for i in range(len(head))]
    out = []
    for row in [head, ["-" * w for w in widths], *rows]:
        out.append("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: never a half-written file."""
    write_atomic(path, text)
