"""Reading results: plain-words explanations, the gap to the next grade, targets, policy diffs and sensitivity.

May import :mod:`fineco_rules.engine` and every layer below it; nothing from reports, governance, quality,
scale or the CLI.
"""

from __future__ import annotations

from fineco_rules.analysis._diff import CountyChange, PolicyChange, PolicyDiff, diff_policies
from fineco_rules.analysis._explain import explain
from fineco_rules.analysis._gap import Gap, Step, find_gaps
from fineco_rules.analysis._sensitivity import Sensitivity, SensitivityError, sensitivity
from fineco_rules.analysis._targets import (
    AreaSummary,
    LastYear,
    PastResult,
    Summary,
    TargetResult,
    read_last_year,
    summarize,
)

__all__ = [
    "AreaSummary",
    "CountyChange",
    "Gap",
    "LastYear",
    "PastResult",
    "PolicyChange",
    "PolicyDiff",
    "Sensitivity",
    "SensitivityError",
    "Step",
    "Summary",
    "TargetResult",
    "diff_policies",
    "explain",
    "find_gaps",
    "read_last_year",
    "sensitivity",
    "summarize",
]
