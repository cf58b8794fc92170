"""The policy model and how it is read: schema, loader, versions and ``extends``, provincial constraints, anatomy.

A :class:`Policy` is a frozen value built from YAML that the schema has checked; every value remembers the file
and version that set it. May import :mod:`fineco_rules.scoring`, :mod:`fineco_rules.io` and
:mod:`fineco_rules.errors`.
"""

from __future__ import annotations

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
