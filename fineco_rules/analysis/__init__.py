"""Reading results: plain-words explanations, the gap to the next grade, targets, policy diffs and sensitivity.

May import :mod:`fineco_rules.engine` and every layer below it; nothing from reports, governance, quality,
scale or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
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

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "AreaSummary": "fineco_rules.analysis._targets",
    "CountyChange": "fineco_rules.analysis._diff",
    "Gap": "fineco_rules.analysis._gap",
    "LastYear": "fineco_rules.analysis._targets",
    "PastResult": "fineco_rules.analysis._targets",
    "PolicyChange": "fineco_rules.analysis._diff",
    "PolicyDiff": "fineco_rules.analysis._diff",
    "Sensitivity": "fineco_rules.analysis._sensitivity",
    "SensitivityError": "fineco_rules.analysis._sensitivity",
    "Step": "fineco_rules.analysis._gap",
    "Summary": "fineco_rules.analysis._targets",
    "TargetResult": "fineco_rules.analysis._targets",
    "diff_policies": "fineco_rules.analysis._diff",
    "explain": "fineco_rules.analysis._explain",
    "find_gaps": "fineco_rules.analysis._gap",
    "read_last_year": "fineco_rules.analysis._targets",
    "sensitivity": "fineco_rules.analysis._sensitivity",
    "summarize": "fineco_rules.analysis._targets",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
