"""The policy model and how it is read: schema, loader, versions and ``extends``, provincial constraints, anatomy.

A :class:`Policy` is a frozen value built from YAML that the schema has checked; every value remembers the file
and version that set it. May import :mod:`fineco_rules.scoring`, :mod:`fineco_rules.io` and
:mod:`fineco_rules.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.policy._loader import load_policy, policy_files
    from fineco_rules.policy._model import (
        Adjustment,
        Aggregation,
        Basis,
        Condition,
        Constraints,
        Grade,
        GradeRule,
        Group,
        Indicator,
        InputSpec,
        Missing,
        Origin,
        Policy,
        Target,
        Unit,
        Veto,
    )
    from fineco_rules.policy._provenance import RuleProvenance, provenance, provenance_lines
    from fineco_rules.policy._schema import policy_schema

__all__ = [
    "Adjustment",
    "Aggregation",
    "Basis",
    "Condition",
    "Constraints",
    "Grade",
    "GradeRule",
    "Group",
    "Indicator",
    "InputSpec",
    "Missing",
    "Origin",
    "Policy",
    "RuleProvenance",
    "Target",
    "Unit",
    "Veto",
    "load_policy",
    "policy_files",
    "policy_schema",
    "provenance",
    "provenance_lines",
]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "Adjustment": "fineco_rules.policy._model",
    "Aggregation": "fineco_rules.policy._model",
    "Basis": "fineco_rules.policy._model",
    "Condition": "fineco_rules.policy._model",
    "Constraints": "fineco_rules.policy._model",
    "Grade": "fineco_rules.policy._model",
    "GradeRule": "fineco_rules.policy._model",
    "Group": "fineco_rules.policy._model",
    "Indicator": "fineco_rules.policy._model",
    "InputSpec": "fineco_rules.policy._model",
    "Missing": "fineco_rules.policy._model",
    "Origin": "fineco_rules.policy._model",
    "Policy": "fineco_rules.policy._model",
    "Target": "fineco_rules.policy._model",
    "Unit": "fineco_rules.policy._model",
    "Veto": "fineco_rules.policy._model",
    "load_policy": "fineco_rules.policy._loader",
    "policy_files": "fineco_rules.policy._loader",
    "policy_schema": "fineco_rules.policy._schema",
    "RuleProvenance": "fineco_rules.policy._provenance",
    "provenance": "fineco_rules.policy._provenance",
    "provenance_lines": "fineco_rules.policy._provenance",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
