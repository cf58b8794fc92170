"""The ``fineco`` command line: the top parser, and one command group per module.

A command group's module (and what it imports) loads only when one of its commands runs: ``fineco --help``
and the top parser are built from :data:`COMMANDS` alone, so they import no command module.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, NoReturn

from fineco_rules._i18n import Lang, Msg, current_language, detect_language, tr, use_language

if TYPE_CHECKING:
    from fineco_rules.scoring._host import PluginHost

__all__ = ["main"]

#: The modules of the command groups, in the order their commands are listed; each adds its subcommands
#: (``add_commands``) and names their handlers (``COMMANDS``).
GROUPS: Final = ("_grading", "_governance", "_reports", "_check", "_rollup", "_province", "_template")

#: Every command: its group's module and its line in ``fineco --help`` (a test checks both against the modules).
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "validate": ("_grading", "check policy files and report every problem"),
    "evaluate": ("_grading", "grade the counties in data files"),
    "explain": ("_grading", "explain one county's grade in plain words"),
    "plugins": ("_grading", "list every scorer with its version and distribution"),
    "schema": ("_grading", "print the JSON Schema of policy files"),
    "filing": ("_governance", "file city policies with the province, certify, verify"),
    "results": ("_governance", "review, certify and publish a year's results"),
    "summary": ("_reports", "the policy's targets over the results, province-wide and per city"),
    "diff": ("_reports", "what changed between two policy versions, and whose grade it changes"),
    "sensitivity": ("_reports", "how often each grade changes when weights (and thresholds) vary"),
    "report": ("_reports", "write the HTML, XLSX, CSV or JSON report (format from each file's suffix)"),
    "check": ("_check", "check policies for rule consistency: decided where the declarations allow, else searched"),
    "test": ("_check", "run policy test files (*.cases.yaml) and report boundary coverage"),
    "rollup": ("_rollup", "rate a household file in chunks; roll up to credit villages, townships and counties"),
    "year": (
        "_province",
        "run the province's assessment year: each city's counties under its own method, targets, titles",
    ),
    "template": ("_template", "write the XLSX workbook an office fills in (数据采集表)"),
}
_Handler = Callable[[argparse.Namespace, "PluginHost"], int]


def __getattr__(name: str) -> Any:
    """``make_plugin_host``, imported when first asked for (it loads pluggy); tests may replace it here."""
    if name == "make_plugin_host":
        from fineco_rules.scoring._host import make_plugin_host

        return make_plugin_host
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _group(name: str) -> ModuleType:
    return importlib.import_module(f"fineco_rules.cli.{name}")


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


def _parser(groups: Sequence[str] = GROUPS) -> argparse.ArgumentParser:
    """The top parser, with the full subcommands of ``groups`` (all by default) and every other command by name."""
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
        if group in groups:
            _group(group).add_commands(sub)
        else:  # named and described only; its module loads when the command is given
            for command, (owner, help_) in COMMANDS.items():
                if owner == group:
                    sub.add_parser(command, help=help_, add_help=False)
    for command_parser in sub.choices.values():
        _add_lang(command_parser)
    return parser


def _add_lang(command: argparse.ArgumentParser) -> None:
    """``--lang`` on every command; a command that defines its own (with more to say in its help) keeps it."""
    with contextlib.suppress(argparse.ArgumentError):  # the command has its own --lang
        command.add_argument(
            "--lang",
            choices=["zh", "en"],
            help="language of messages and output: zh (中文) or en (default: FINECO_LANG, else the locale, else zh)",
        )


def _command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option of the top parser), if any."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word.startswith("--") and "=" not in word and "--block".startswith(word) and len(word) > 2:
            next(words, None)  # the plugin --block names
        elif not word.startswith("-"):
            return word
    return None


def _handler(command: str) -> _Handler:
    owner = COMMANDS.get(command)
    if owner is not None:
        handlers: dict[str, _Handler] = _group(owner[0]).COMMANDS
        if command in handlers:
            return handlers[command]
    from fineco_rules.cli._common import UsageError

    raise UsageError(tr("unknown command {command!r}", command=command))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 errors in inputs, 2 usage)."""
    words = sys.argv[1:] if argv is None else list(argv)
    command = _command(words)
    owner = COMMANDS.get(command or "")
    with use_language(_lang_asked(words) or detect_language()):  # argparse's own checks speak it too
        args = _parser((owner[0],) if owner else ()).parse_args(words)  # an unknown command: argparse says so
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
    from fineco_rules.cli import _common
    from fineco_rules.errors import FinecoError

    make_plugin_host = globals().get("make_plugin_host") or __getattr__("make_plugin_host")
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
