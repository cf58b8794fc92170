"""The scorer contract, the hook specification, the plugin host and the built-in scorers.

A scorer turns a county's inputs into a score; every scorer, the built-in ones included, reaches the engine
through the ``fineco_scorers`` hook of a :class:`PluginHost`. Plugins take the exact-number helpers
(:data:`CONTEXT`, :data:`ONE`, :data:`ZERO`, :func:`as_decimal`) and the :data:`COMPARATORS` from here, and
rate villages and townships with :mod:`fineco_rules.scoring.rollup`. May import :mod:`fineco_rules.io` and
:mod:`fineco_rules.errors`; never a plugin package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.io._numbers import CONTEXT, ONE, ZERO, as_decimal
    from fineco_rules.scoring._builtin import COMPARATORS
    from fineco_rules.scoring._host import BLOCK_ENV, ENTRY_POINT_GROUP, PluginHost, ScorerEntry, make_plugin_host
    from fineco_rules.scoring._scorer import (
        Better,
        CohortFunction,
        Goalpost,
        Goalposts,
        Label,
        ParamError,
        RowFunction,
        Scored,
        Scorer,
        Value,
        VectorFunction,
    )
    from fineco_rules.scoring.hookspecs import hookimpl, hookspec

__all__ = [
    "BLOCK_ENV",
    "COMPARATORS",
    "CONTEXT",
    "ENTRY_POINT_GROUP",
    "ONE",
    "ZERO",
    "Better",
    "CohortFunction",
    "Goalpost",
    "Goalposts",
    "Label",
    "ParamError",
    "PluginHost",
    "RowFunction",
    "Scored",
    "Scorer",
    "ScorerEntry",
    "Value",
    "VectorFunction",
    "as_decimal",
    "hookimpl",
    "hookspec",
    "make_plugin_host",
]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "BLOCK_ENV": "fineco_rules.scoring._host",
    "Better": "fineco_rules.scoring._scorer",
    "COMPARATORS": "fineco_rules.scoring._builtin",
    "CONTEXT": "fineco_rules.io._numbers",
    "CohortFunction": "fineco_rules.scoring._scorer",
    "ENTRY_POINT_GROUP": "fineco_rules.scoring._host",
    "Goalpost": "fineco_rules.scoring._scorer",
    "Goalposts": "fineco_rules.scoring._scorer",
    "Label": "fineco_rules.scoring._scorer",
    "ONE": "fineco_rules.io._numbers",
    "ParamError": "fineco_rules.scoring._scorer",
    "PluginHost": "fineco_rules.scoring._host",
    "RowFunction": "fineco_rules.scoring._scorer",
    "Scored": "fineco_rules.scoring._scorer",
    "Scorer": "fineco_rules.scoring._scorer",
    "ScorerEntry": "fineco_rules.scoring._host",
    "Value": "fineco_rules.scoring._scorer",
    "VectorFunction": "fineco_rules.scoring._scorer",
    "ZERO": "fineco_rules.io._numbers",
    "as_decimal": "fineco_rules.io._numbers",
    "hookimpl": "fineco_rules.scoring.hookspecs",
    "hookspec": "fineco_rules.scoring.hookspecs",
    "make_plugin_host": "fineco_rules.scoring._host",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
