"""Grading: county records, the compiled policy that both the row and the columnar path execute, and results.

May import :mod:`fineco_rules.policy`, :mod:`fineco_rules.scoring`, :mod:`fineco_rules.io` and
:mod:`fineco_rules.errors`; nothing that analyses, reports or governs results.
"""

from __future__ import annotations

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
