"""Work at scale: rolling households up to villages, townships and counties, and grading on a Dask cluster.

:mod:`fineco_rules.scale.distributed` needs the ``dask`` extra and loads only when imported. May import
:mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from fineco_rules.scale._rollup import CountyRollup, Rollup, rollup

__all__ = ["CountyRollup", "Rollup", "rollup"]
