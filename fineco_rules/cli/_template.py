"""The ``fineco template`` command: the data-collection workbook an office fills in."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from fineco_rules.cli import _common as common
from fineco_rules.policy._loader import load_policy
from fineco_rules.report._template import county_roster, write_template
from fineco_rules.scoring._host import PluginHost

__all__ = ["COMMANDS", "add_commands"]


def add_commands(sub: Any) -> None:
    """Add ``template`` to the ``fineco`` subcommands."""
    p = sub.add_parser("template", help="write the XLSX workbook an office fills in (数据采集表)")
    common.policy_args(p)
    p.add_argument("--city", metavar="CODE", help="one row per county of this prefecture city (e.g. 320200)")
    p.add_argument("--year", type=int, metavar="YEAR", help="the year of the data (default: the policy's year)")
    p.add_argument("--lang", choices=["zh", "en"], help="language of the first header row")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the .xlsx file to write")


def _cmd_template(args: argparse.Namespace, host: PluginHost) -> int:
    if not args.output.lower().endswith(".xlsx"):
        raise common.UsageError(common.tr("-o {output}: the workbook must be a .xlsx file", output=args.output))
    policy = load_policy(args.policy, as_of=args.as_of, host=host)
    year = args.year or (args.as_of.year if args.as_of else policy.effective_from.year)
    roster = county_roster(year, args.city)
    path = write_template(policy, args.output, city=args.city, year=year, lang=args.lang, roster=roster)
    print(
        common.tr(
            "{path}: {count} counties, {policy} {version}",
            path=path,
            count=len(roster),
            policy=policy.id,
            version=policy.version,
        ),
        file=sys.stderr,
    )
    return common.EXIT_OK


COMMANDS: Final = {"template": _cmd_template}
