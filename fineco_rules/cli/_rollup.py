"""``fineco rollup``: rate a household file in chunks and roll it up to villages, townships and counties."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.cli import _common as cli
from fineco_rules.errors import Code, Msg, tr
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.io._sheet import csv_writer
from fineco_rules.policy._loader import load_policy
from fineco_rules.scale._rollup import DEFAULT_CHUNK_ROWS, Rollup, rollup, shown_share
from fineco_rules.scoring._host import PluginHost

__all__ = ["COMMANDS", "add_commands"]

#: The county figures of the table and CSV outputs, in order.
_FIELDS: Final = (
    "county",
    "households",
    "graded",
    "credit_households",
    "good_households",
    "errors",
    "credit_household_share",
    "villages",
    "credit_villages",
    "credit_village_share",
    "townships",
    "credit_townships",
    "credit_township_share",
)
_HEAD: Final = {
    "zh": [
        "县代码",
        "农户",
        "信用户",
        "信用户占比",
        "村",
        "信用村",
        "信用村占比",
        "乡镇",
        "信用乡镇",
        "信用乡镇普及率",
        "未评定",
    ],
    "en": [
        "county",
        "households",
        "credit",
        "share",
        "villages",
        "credit",
        "share",
        "townships",
        "credit",
        "penetration",
        "not graded",
    ],
}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of rows, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 row, found {value}")
    return value


def add_commands(sub: Any) -> None:
    """Add ``rollup`` to the ``fineco`` parser."""
    p = sub.add_parser(
        "rollup", help="rate a household file in chunks; roll up to credit villages, townships and counties"
    )
    cli.policy_args(p)
    p.add_argument("file", metavar="FILE", help="a UTF-8 CSV file, one row per household")
    p.add_argument(
        "--chunk-rows",
        type=_positive,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help=f"rows rated at a time; memory grows with it (default {DEFAULT_CHUNK_ROWS})",
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--lang", choices=["zh", "en"], help="language of the table's headings")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")


def _cmd_rollup(args: argparse.Namespace, host: PluginHost) -> int:
    policy = load_policy(args.policy, as_of=args.as_of, host=host)
    progress = None if args.quiet else cli.print_progress
    _system_pool()
    result = rollup(policy, args.file, chunk_rows=args.chunk_rows, host=host, progress=progress)
    text = {"json": _as_json, "csv": _as_csv, "table": _as_table}[args.format](result, args.lang)
    if args.output:
        write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    cli.print_problems(list(result.problems))
    shown = sum(1 for p in result.problems if p.code != Code.UNKNOWN_COLUMN)
    if result.bad_rows > shown:
        more = tr(
            "error: {count} more bad rows not shown ({total} in all)",
            count=result.bad_rows - shown,
            total=result.bad_rows,
        )
        print(more.render(), file=sys.stderr)
    if not args.quiet:
        print(_summary(result, args.chunk_rows).render(), file=sys.stderr)

    return cli.EXIT_OK if result.ok else cli.EXIT_ERRORS


def _system_pool() -> None:
    """Let pyarrow allocate with the C library's malloc for this command: its own pool (mimalloc or jemalloc)
    keeps some 20 MiB more resident for the roll-up's short-lived blocks."""
    try:
        import pyarrow as pa
    except ImportError:
        return
    pa.set_memory_pool(pa.system_memory_pool())


def _summary(result: Rollup, chunk: int) -> Msg:
    """The closing line on stderr: rows, bad rows, counties, engine path and chunk size."""
    rows, bad, counties = result.rows, result.bad_rows, len(result.counties)
    if result.path == "columnar":
        return tr(
            "{rows} rows, {bad} bad, {counties} counties (columnar engine, {chunk} rows a chunk)",
            rows=rows,
            bad=bad,
            counties=counties,
            chunk=chunk,
        )
    if result.path == "row":
        return tr(
            "{rows} rows, {bad} bad, {counties} counties (row engine, {chunk} rows a chunk)",
            rows=rows,
            bad=bad,
            counties=counties,
            chunk=chunk,
        )
    return tr(
        "{rows} rows, {bad} bad, {counties} counties ({engine} engine, {chunk} rows a chunk)",
        rows=rows,
        bad=bad,
        counties=counties,
        engine=result.path,
        chunk=chunk,
    )


def _as_json(result: Rollup, lang: str) -> str:
    return dumps(result.to_dict()) + "\n"


def _rows(result: Rollup) -> list[dict[str, Any]]:
    """The county figures with shares as exact decimals (six places, half-up), as text is written."""
    return [
        {k: shown_share(v) if k.endswith("_share") else v for k, v in attrs.asdict(county).items() if k in _FIELDS}
        for county in result.counties
    ]


def _as_csv(result: Rollup, lang: str) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(_FIELDS)
    for row in _rows(result):
        writer.writerow(["" if row[k] is None else row[k] for k in _FIELDS])
    return buffer.getvalue()


def _as_table(result: Rollup, lang: str) -> str:
    def share(value: Decimal | None) -> str:
        shown = shown_share(value)
        return "—" if shown is None else str(shown)

    rows = [
        [
            c.county,
            str(c.households),
            str(c.credit_households),
            share(c.credit_household_share),
            str(c.villages),
            str(c.credit_villages),
            share(c.credit_village_share),
            str(c.townships),
            str(c.credit_townships),
            share(c.credit_township_share),
            str(c.errors),
        ]
        for c in result.counties
    ]
    title = f"{result.policy.label.get(lang)} ({result.policy.id} {result.policy.version}) — {result.file}\n"
    return title + cli.render_table(_HEAD[lang], rows)


COMMANDS: Final[dict[str, Callable[[argparse.Namespace, PluginHost], int]]] = {"rollup": _cmd_rollup}
