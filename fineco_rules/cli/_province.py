"""``fineco year``: the province's assessment year, each city under its own method, from a setup file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fineco_rules.cli import _common as cli
from fineco_rules.errors import Lang, Severity, tr
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.province import Titles, load_year, read_titles, run_year
from fineco_rules.province._report import render_publication, render_report
from fineco_rules.province._year import YearResult
from fineco_rules.scoring._host import PluginHost

__all__ = ["COMMANDS", "add_commands"]


def add_commands(sub: Any) -> None:
    """Add ``year`` to the ``fineco`` subcommands."""
    p = sub.add_parser(
        "year",
        help="run the province's assessment year: each city's counties under its own method, targets, titles",
        description="Run one or more years' setups (year.yaml) in order: grade each city's counties on the roster "
        "under the city's own method, judge the phase targets per city and province-wide, carry the titles over "
        "from last year and write the report, the summary, the register of titles and the publication list into "
        "OUTDIR/YEAR/. Several setups are run in order, each year's titles feeding the next. Exit 1 if a county "
        "is missing, a city's method fails to load or any input has an error.",
    )
    p.add_argument("setups", nargs="+", metavar="SETUP", help="a year's setup file (e.g. examples/province/2008.yaml)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write each year's files into")
    p.add_argument(
        "--last-year",
        metavar="FILE",
        help="last year's register of titles (the titles.json of last year's run); overrides the setup's",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print no per-year table")


def _write(folder: Path, result: YearResult, lang: Lang) -> None:
    """Write the year's files; the report and the publication list in the run's language (``--lang``)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "report.md", render_report(result, lang) + "\n")
    write_atomic(folder / "summary.json", dumps(result.to_dict()) + "\n")
    write_atomic(folder / "titles.json", dumps(result.titles.to_dict()) + "\n")
    write_atomic(folder / "publication.json", dumps(result.publication()) + "\n")
    write_atomic(folder / "publication.md", render_publication(result, lang) + "\n")
    for run in result.runs:
        write_atomic(folder / f"results-{run.city}.json", dumps(run.evaluation.to_dict()) + "\n")


def _table(result: YearResult) -> str:
    head = [tr("市 city").render(), tr("办法 method").render(), "应考核", "良好", "达标", "未达标", "未报送"]
    rows = []
    for run in result.runs:
        counts = result.summary.city(run.city).counts
        on_roster = sum(1 for c in result.expected.values() if c == run.city)
        method = (
            tr("{policy} {version} (baseline)", policy=run.method.id, version=run.method.version).render()
            if run.baseline
            else f"{run.method.id} {run.method.version}"
        )
        row = [run.label.zh, method, str(on_roster), str(counts.get("good", 0)), str(counts.get("pass", 0))]
        rows.append([*row, str(counts.get("fail", 0)), str(len(run.missing))])
    met = result.summary.met
    if met is None:
        line = tr("{year}: targets undecided", year=result.year)
    else:
        line = tr("{year}: targets met", year=result.year) if met else tr("{year}: targets not met", year=result.year)
    return line.render() + "\n" + cli.render_table(head, rows)


def _cmd_year(args: argparse.Namespace, host: PluginHost) -> int:
    last: Titles | None = read_titles(args.last_year) if args.last_year else None
    failed = False
    for path in args.setups:
        setup = load_year(path)
        result = run_year(setup, host=host, last_year=last)
        _write(Path(args.output) / str(setup.year), result, args.lang)
        cli.print_problems(result.problems)
        failed = failed or any(p.severity is Severity.ERROR for p in result.problems)
        if not args.quiet:
            sys.stdout.write(_table(result))
        last = result.titles
    return cli.EXIT_ERRORS if failed else cli.EXIT_OK


COMMANDS = {"year": _cmd_year}
