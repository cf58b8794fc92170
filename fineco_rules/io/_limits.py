"""Limits on the work one input may cause, each with a default and an environment variable to raise it.

A limit is read when it is checked, so a test or a batch job can set the variable for one run.
docs/robustness.md lists every limit, its default and why.
"""

from __future__ import annotations

import os
from typing import Final

from fineco_rules.errors import Msg, UsageError, tr

__all__ = [
    "MAX_EXTENDS",
    "MAX_EXTENDS_ENV",
    "MAX_XLSX_BYTES",
    "MAX_XLSX_BYTES_ENV",
    "MAX_XLSX_CELLS",
    "MAX_XLSX_CELLS_ENV",
    "MAX_YAML_NODES_ENV",
    "MAX_YAML_TEXT",
    "MAX_YAML_TEXT_ENV",
    "how_to_raise",
    "limit",
    "quoted",
]

#: Characters of text (keys and values) a YAML document may hold once its aliases are expanded.
MAX_YAML_TEXT: Final = 16 * 1024 * 1024
MAX_YAML_TEXT_ENV: Final = "FINECO_MAX_YAML_TEXT"
#: Raises ``fineco_rules.io._yaml.MAX_NODES`` (values after alias expansion).
MAX_YAML_NODES_ENV: Final = "FINECO_MAX_YAML_NODES"
#: Bytes an XLSX workbook may unpack to (the sum of its zip members' sizes), checked before it is opened.
MAX_XLSX_BYTES: Final = 512 * 1024 * 1024
MAX_XLSX_BYTES_ENV: Final = "FINECO_MAX_XLSX_BYTES"
#: Cells (empty ones included) read from a workbook's first sheet.
MAX_XLSX_CELLS: Final = 10_000_000
MAX_XLSX_CELLS_ENV: Final = "FINECO_MAX_XLSX_CELLS"
#: Policies in one `extends` chain (the file itself, its parent, its parent's parent ...).
MAX_EXTENDS: Final = 16
MAX_EXTENDS_ENV: Final = "FINECO_MAX_EXTENDS"


def limit(env: str, default: int) -> int:
    """The limit set in the environment variable ``env``, or ``default``; ``UsageError`` if it is not a count."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(
            tr(
                "{env}={raw!r} is not a positive whole number: set it to a count above 0, "
                "or unset it for the default {default:,}",
                env=env,
                raw=raw,
                default=default,
            )
        )
    return value


class _Quoted:
    """A library's own words (csv, pyarrow, json): as they are in English, in code quotes in Chinese."""

    __slots__ = ("text",)

    def __init__(self, text: object) -> None:
        self.text = str(text)

    def render(self, lang: str) -> str:
        return self.text if lang == "en" else f"`{self.text}`"

    def __str__(self) -> str:
        return self.text


def quoted(text: object) -> _Quoted:
    """A placeholder value for a library's message, which has no Chinese of its own."""
    return _Quoted(text)


def how_to_raise(env: str, value: int) -> Msg:
    """The end of a hint: how to allow more when the input is genuinely that large."""
    return tr("if it really needs more, set the environment variable {env} above {value:,}", env=env, value=value)
