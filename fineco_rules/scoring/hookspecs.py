"""The plugin contract: every hook fineco-rules calls, in one module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pluggy

from fineco_rules.scoring._scorer import Scorer

__all__ = ["PROJECT", "hookimpl", "hookspec"]

#: The pluggy project name, and the entry-point group plugins are found in.
PROJECT: Final = "fineco_rules"

hookspec: Final = pluggy.HookspecMarker(PROJECT)
#: Decorate your plugin's hook functions with this.
hookimpl: Final = pluggy.HookimplMarker(PROJECT)


@hookspec
def fineco_scorers() -> Sequence[Scorer]:
    """Return the scorers this plugin provides.

    Called once when a plugin host is built, never per county. Every plugin's result is
    collected (this hook does not stop at the first non-None result); return an empty
    sequence, or ``None``, to provide none. Two scorers with the same ``name`` are an
    error that names both plugins.

    :return: :class:`fineco_rules.Scorer` instances.

    .. versionadded:: 0.1
    """
    raise NotImplementedError
