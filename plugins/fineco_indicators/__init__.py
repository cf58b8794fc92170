"""Indicator scorers of the provincial scheme, shipped as a plugin like any city's own."""

from __future__ import annotations

from collections.abc import Sequence

from fineco_rules import Scorer, hookimpl

from .satisfaction import FinancialSatisfaction

__all__ = ["FinancialSatisfaction", "fineco_scorers"]


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [FinancialSatisfaction()]
