"""Grading: county records, the compiled policy that both the row and the columnar path execute, and results.

May import :mod:`fineco_rules.policy`, :mod:`fineco_rules.scoring`, :mod:`fineco_rules.io` and
:mod:`fineco_rules.errors`; nothing that analyses, reports or governs results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.engine._columnar import ColumnarEvaluation, evaluate_columns, read_csv_columns
    from fineco_rules.engine._engine import Cohort, CompiledPolicy, Progress, compile_policy, evaluate
    from fineco_rules.engine._records import CountyRecord
    from fineco_rules.engine._results import AdjustmentResult, Check, CountyResult, Evaluation, IndicatorResult
    from fineco_rules.engine._watchdog import EvaluationTimeout, time_limit

__all__ = [
    "AdjustmentResult",
    "Check",
    "Cohort",
    "ColumnarEvaluation",
    "CompiledPolicy",
    "CountyRecord",
    "CountyResult",
    "Evaluation",
    "EvaluationTimeout",
    "IndicatorResult",
    "Progress",
    "compile_policy",
    "evaluate",
    "evaluate_columns",
    "read_csv_columns",
    "time_limit",
]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "AdjustmentResult": "fineco_rules.engine._results",
    "Check": "fineco_rules.engine._results",
    "Cohort": "fineco_rules.engine._engine",
    "ColumnarEvaluation": "fineco_rules.engine._columnar",
    "CompiledPolicy": "fineco_rules.engine._engine",
    "CountyRecord": "fineco_rules.engine._records",
    "CountyResult": "fineco_rules.engine._results",
    "Evaluation": "fineco_rules.engine._results",
    "EvaluationTimeout": "fineco_rules.engine._watchdog",
    "IndicatorResult": "fineco_rules.engine._results",
    "Progress": "fineco_rules.engine._engine",
    "compile_policy": "fineco_rules.engine._engine",
    "evaluate": "fineco_rules.engine._engine",
    "evaluate_columns": "fineco_rules.engine._columnar",
    "read_csv_columns": "fineco_rules.engine._columnar",
    "time_limit": "fineco_rules.engine._watchdog",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
