"""Work at scale: rolling households up to villages, townships and counties, and grading on a Dask cluster.

:mod:`fineco_rules.scale.distributed` needs the ``dask`` extra and loads only when imported. May import
:mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.scale._rollup import CountyRollup, Rollup, rollup

__all__ = ["CountyRollup", "Rollup", "rollup"]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "CountyRollup": "fineco_rules.scale._rollup",
    "Rollup": "fineco_rules.scale._rollup",
    "rollup": "fineco_rules.scale._rollup",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
