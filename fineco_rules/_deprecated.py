"""Names that moved out of the top-level package, and the warning that points at their new home.

Every deprecation lives here, so one place says what goes away and when; ``tests/test_api.py`` checks each.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Final

__all__ = ["MOVED", "REMOVED_IN", "moved"]

#: The release in which the old top-level names stop working.
REMOVED_IN: Final = "0.3.0"

#: Top-level names of 0.1 that now live in a public subpackage: name -> subpackage.
MOVED: Final = {
    "AreaSummary": "fineco_rules.analysis",
    "Cohort": "fineco_rules.engine",
    "ColumnarEvaluation": "fineco_rules.engine",
    "CountyChange": "fineco_rules.analysis",
    "CountyRollup": "fineco_rules.scale",
    "EvaluationTimeout": "fineco_rules.engine",
    "Gap": "fineco_rules.analysis",
    "LastYear": "fineco_rules.analysis",
    "Origin": "fineco_rules.policy",
    "PastResult": "fineco_rules.analysis",
    "PolicyChange": "fineco_rules.analysis",
    "PolicyDiff": "fineco_rules.analysis",
    "Progress": "fineco_rules.engine",
    "RawRecord": "fineco_rules.io",
    "ReadResult": "fineco_rules.io",
    "Report": "fineco_rules.report",
    "Rollup": "fineco_rules.scale",
    "ScorerEntry": "fineco_rules.scoring",
    "Sensitivity": "fineco_rules.analysis",
    "SensitivityError": "fineco_rules.analysis",
    "Step": "fineco_rules.analysis",
    "Summary": "fineco_rules.analysis",
    "TargetResult": "fineco_rules.analysis",
    "Unit": "fineco_rules.policy",
    "attach_table": "fineco_rules.io",
    "diff_policies": "fineco_rules.analysis",
    "find_gaps": "fineco_rules.analysis",
    "make_report": "fineco_rules.report",
    "policy_schema": "fineco_rules.policy",
    "read_csv_columns": "fineco_rules.engine",
    "read_last_year": "fineco_rules.analysis",
    "rollup": "fineco_rules.scale",
    "sensitivity": "fineco_rules.analysis",
    "summarize": "fineco_rules.analysis",
    "time_limit": "fineco_rules.engine",
}


def moved(name: str) -> object:
    """The object a moved top-level ``name`` now stands for, with a ``DeprecationWarning`` naming its home."""
    home = MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'fineco_rules' has no attribute {name!r}")
    warnings.warn(
        f"fineco_rules.{name} has moved to {home}.{name}; import it from there "
        f"(the old name is removed in {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(home), name)
