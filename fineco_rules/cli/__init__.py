"""The ``fineco`` command: one module per command group, each registering its own subcommands.

The top layer: may import every other subpackage; nothing imports it. Importing it loads no command
module (``fineco --help`` stays cheap); the exit codes load from ``_common`` when first asked for.
"""

from __future__ import annotations

from typing import Any

from fineco_rules.cli._main import main

__all__ = ["EXIT_ERRORS", "EXIT_OK", "EXIT_USAGE", "main"]


def __getattr__(name: str) -> Any:
    if name in ("EXIT_ERRORS", "EXIT_OK", "EXIT_USAGE"):
        from fineco_rules.cli import _common

        return getattr(_common, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
