"""Financial internal environment (金融内生环境): asset quality and local legal-person institutions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fineco_rules import Label, Scorer, hookimpl

from ._family import FamilyScorer, Measure

__all__ = ["FinancialInternal", "fineco_scorers"]

D = Decimal


class FinancialInternal(FamilyScorer):
    """The NPL ratio of county financial institutions under the five-tier classification (the province's
    goal is below 6 %), and the governance and internal control of local legal-person institutions."""

    name = "financial_internal"
    version = "1.0"
    label = Label("金融内生环境", "financial internal environment")
    measures = (
        Measure(
            "npl_ratio",
            Label("不良贷款率（五级分类）", "NPL ratio (five-tier)"),
            "ratio",
            D("0.10"),
            D("0.02"),
            D("0.6"),
        ),
        Measure(
            "legal_person_health_score",
            Label("法人金融机构治理与内控", "health of local legal-person institutions"),
            "points",
            D(50),
            D(95),
            D("0.4"),
        ),
    )


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [FinancialInternal()]
