"""The provincial indicator scorers, one plugin module per family, registered by entry points
exactly as a city's own plugin would be (see pyproject.toml)."""

from __future__ import annotations

from .credit import CreditEnvironment
from .intermediary import IntermediaryIntegrity
from .internal import FinancialInternal
from .legal import LegalEnvironment
from .policy_env import PolicyEnvironment
from .satisfaction import FinancialSatisfaction
from .service import ServiceEnvironment

__all__ = [
    "CreditEnvironment",
    "FinancialInternal",
    "FinancialSatisfaction",
    "IntermediaryIntegrity",
    "LegalEnvironment",
    "PolicyEnvironment",
    "ServiceEnvironment",
]
