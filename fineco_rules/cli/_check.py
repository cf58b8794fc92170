"""The rule-consistency commands of ``fineco``: ``check`` (static and searched checks of a policy) and
``test`` (policy test files and their boundary coverage)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from fineco_rules.cli import _common as cli
from fineco_rules.errors import FinecoError
from fineco_rules.io._json import dumps
from fineco_rules.policy._loader import policy_files
from fineco_rules.quality._cases import find_cases, load_cases, render_cases
from fineco_rules.scoring._host import PluginHost

__all__ = ["COMMANDS", "THOROUGH", "add_commands"]

#: Examples per search with ``--thorough``.
THOROUGH: Final = 1000


def add_commands(sub: Any) -> None:
    """Add ``check`` and ``test`` to the ``fineco`` subcommands."""
    p = sub.add_parser(
        "check",
        help="check policies for rule consistency: decided where the declarations allow, else searched",
        description="Check each policy against every consistency rule; exit 1 if any is broken. Rules the "
        "declarations decide are proved; the rest are searched for with Hypothesis (searched, not proved).",
    )
    p.add_argument(
        "policies", nargs="+", metavar="POLICY", help="a policy file, or a folder of versions (each is checked)"
    )
    p.add_argument("--as-of", type=cli.date, metavar="DATE", help="with a folder: only the version in effect that day")
    p.add_argument("--max-examples", type=int, default=100, metavar="N", help="records tried per search (default: 100)")
    p.add_argument("--thorough", action="store_true", help=f"search {THOROUGH} records per rule")
    p.add_argument("--seed", type=int, metavar="N", help="search another reproducible sequence of records")
    p.add_argument("--no-search", action="store_true", help="only the rules decided from the declarations")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser(
        "test",
        help="run policy test files (*.cases.yaml) and report boundary coverage",
        description="Run every case of the cases files (folders are searched for *.cases.yaml); exit 1 if any "
        "case fails, or with --require-coverage if a threshold lacks a case on either side.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="a cases file, or a folder to search")
    p.add_argument("--require-coverage", action="store_true", help="fail when a boundary lacks a case on a side")
    p.add_argument("-v", "--verbose", action="store_true", help="list every case and every boundary")


def _cmd_check(args: argparse.Namespace, host: PluginHost) -> int:
    from fineco_rules.quality._check import (  # Hypothesis loads only for the command that searches
        check_policy,
        render_report,
    )

    if args.max_examples < 1:
        raise cli.UsageError(cli.tr("--max-examples must be at least 1"))
    examples = THOROUGH if args.thorough else args.max_examples
    targets: list[str] = []
    for path in args.policies:
        # A folder of versions without --as-of: check every version in it.
        folder = Path(path)
        found = policy_files(folder) if folder.is_dir() and args.as_of is None else []
        targets += [str(f) for f in found] or [path]
    reports = [
        check_policy(
            path, as_of=args.as_of, host=host, max_examples=examples, seed=args.seed, search=not args.no_search
        )
        for path in targets
    ]
    if args.format == "json":
        sys.stdout.write(dumps([r.to_dict() for r in reports]) + "\n")
    else:
        sys.stdout.write("\n".join(render_report(r) for r in reports))
    return cli.EXIT_OK if all(r.ok for r in reports) else cli.EXIT_ERRORS


def _cmd_test(args: argparse.Namespace, host: PluginHost) -> int:
    files = find_cases(args.paths)
    if not files:
        raise cli.UsageError(cli.tr("no cases files (*.cases.yaml) in {paths}", paths=cli.join(args.paths)))
    status = cli.EXIT_OK
    failed = gaps = 0
    for file in files:
        try:
            report = load_cases(file, host=host).report()
        except FinecoError as exc:
            cli.print_problems(exc.problems)
            print(
                cli.tr("{file}: could not run ({count} problem(s))", file=file, count=len(exc.problems)),
                file=sys.stderr,
            )
            status = cli.EXIT_ERRORS
            continue
        sys.stdout.write(render_cases(report, verbose=args.verbose))
        failed += len(report.failed)
        gaps += len(report.gaps)
        if report.failed or (args.require_coverage and report.gaps):
            status = cli.EXIT_ERRORS
    if len(files) > 1:
        print(
            cli.tr(
                "{count} files: {failed} failed cases, {gaps} boundaries not covered on both sides",
                count=len(files),
                failed=failed,
                gaps=gaps,
            )
        )
    return status


COMMANDS: Final = {"check": _cmd_check, "test": _cmd_test}
