"""The ``fineco`` command: one module per command group, each registering its own subcommands.

The top layer: may import every other subpackage; nothing imports it.
"""

from __future__ import annotations

from fineco_rules.cli._common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from fineco_rules.cli._main import main

__all__ = ["EXIT_ERRORS", "EXIT_OK", "EXIT_USAGE", "main"]
