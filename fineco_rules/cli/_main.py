"""The ``fineco`` command line: the top parser, and one command group per module."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Final, NoReturn

from fineco_rules._i18n import Lang, Msg, current_language, detect_language, tr, use_language
from fineco_rules.cli import _check, _common, _governance, _grading, _province, _reports, _rollup, _template
from fineco_rules.errors import FinecoError
from fineco_rules.scoring._host import PluginHost, make_plugin_host

__all__ = ["main"]

#: Each command group adds its subcommands (``add_commands``) and names their handlers (``COMMANDS``).
GROUPS: Final[tuple[ModuleType, ...]] = (_grading, _governance, _reports, _check, _rollup, _province, _template)
_Handler = Callable[[argparse.Namespace, PluginHost], int]


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("fineco-rules")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (the metadata scan is not free)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        parser.exit(message=f"fineco-rules {_version()}\n")


#: argparse's own complaints (its English templates), as messages of the catalogue.
_ARGPARSE: Final[tuple[tuple[re.Pattern[str], Callable[..., Msg]], ...]] = (
    (
        re.compile(r"the following arguments are required: (?P<names>.*)"),
        lambda names: tr("the following arguments are required: {names}", names=names),
    ),
    (
        re.compile(r"argument (?P<name>\S+): invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)"),
        lambda name, value, choices: tr(
            "argument {name}: invalid choice: {value} (choose from {choices})", name=name, value=value, choices=choices
        ),
    ),
    (
        re.compile(r"argument (?P<name>\S+): expected one argument"),
        lambda name: tr("argument {name}: expected one argument", name=name),
    ),
    (
        re.compile(r"argument (?P<name>\S+): invalid (?P<kind>\w+) value: (?P<value>.*)"),
        lambda name, kind, value: tr("argument {name}: invalid value {value}", name=name, value=value),
    ),
    (
        re.compile(r"argument (?P<name>\S+): (?P<message>.*)"),
        lambda name, message: tr("argument {name}: {message}", name=name, message=message),
    ),
    (
        re.compile(r"unrecognized arguments: (?P<names>.*)"),
        lambda names: tr("unrecognized arguments: {names}", names=names),
    ),
)


class _Parser(argparse.ArgumentParser):
    """argparse, with its complaints and the word "usage" in the language of the run."""

    def format_usage(self) -> str:
        return super().format_usage().replace("usage: ", tr("usage: ").render(current_language()), 1)

    def error(self, message: str) -> NoReturn:
        for pattern, make in _ARGPARSE:
            found = pattern.fullmatch(message)
            if found:
                message = make(**found.groupdict()).render(current_language())
                break
        self.print_usage(sys.stderr)
        text = tr("{prog}: error: {message}", prog=self.prog, message=message).render(current_language())
        self.exit(2, text + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fineco",
        description="Grade counties against financial-ecology policy files (金融生态县考核).",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    parser.add_argument(
        "--block",
        action="append",
        default=[],
        metavar="PLUGIN",
        help="do not load this plugin (repeatable; also FINECO_BLOCK_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(sub)
    for command in sub.choices.values():
        _add_lang(command)
    return parser


def _add_lang(command: argparse.ArgumentParser) -> None:
    """``--lang`` on every command; a command that defines its own (with more to say in its help) keeps it."""
    with contextlib.suppress(argparse.ArgumentError):  # the command has its own --lang
        command.add_argument(
            "--lang",
            choices=["zh", "en"],
            help="language of messages and output: zh (中文) or en (default: FINECO_LANG, else the locale, else zh)",
        )


def _handler(command: str) -> _Handler:
    for group in GROUPS:
        handlers: dict[str, _Handler] = group.COMMANDS
        if command in handlers:
            return handlers[command]
    raise _common.UsageError(tr("unknown command {command!r}", command=command))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 errors in inputs, 2 usage)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    with use_language(_lang_asked(argv) or detect_language()):  # argparse's own checks speak it too
        args = _parser().parse_args(argv)
    args.lang_given = args.lang is not None
    args.lang = args.lang or detect_language()
    with use_language(args.lang):
        return _run(args)


def _lang_asked(argv: Sequence[str]) -> Lang | None:
    """The ``--lang`` of a command line, before it is parsed (so that errors of parsing use it)."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg.removeprefix("--lang=")
        if (arg == "--lang" or arg.startswith("--lang=")) and value in ("zh", "en"):
            return "zh" if value == "zh" else "en"
    return None


def _run(args: argparse.Namespace) -> int:
    try:
        modules = _common.plugin_modules(args)  # --plugin: scorers for this run only, never an official one
        host = make_plugin_host(block=args.block, plugins=modules) if modules else make_plugin_host(block=args.block)
        return _handler(args.command)(args, host)
    except _common.UsageError as exc:
        print(tr("fineco: error: {error}", error=exc.problem.message).render(args.lang), file=sys.stderr)
        return _common.EXIT_USAGE
    except FinecoError as exc:
        _common.print_problems(exc.problems)
        return _common.EXIT_ERRORS
    except BrokenPipeError:  # `fineco evaluate ... | head` is fine
        return _common.EXIT_OK
