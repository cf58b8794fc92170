"""Policy environment (政策环境): clean-up of burdensome policy documents, support for finance."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fineco_rules import Label, Scorer, hookimpl

from ._family import FamilyScorer, Measure

__all__ = ["PolicyEnvironment", "fineco_scorers"]

D = Decimal


class PolicyEnvironment(FamilyScorer):
    """The share of policy documents burdening the financial sector that were cleared (全面清理涉及金融行业
    的各类政策文件), and the government's support for finance (survey or review score)."""

    name = "policy_environment"
    version = "1.0"
    label = Label("政策环境", "policy environment")
    measures = (
        Measure(
            "policy_cleanup_rate",
            Label("政策文件清理率", "share of burdensome policy documents cleared"),
            "ratio",
            D("0.5"),
            D(1),
            D("0.6"),
        ),
        Measure(
            "finance_support_score",
            Label("支持金融发展评分", "government support for finance"),
            "points",
            D(50),
            D(95),
            D("0.4"),
        ),
    )


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [PolicyEnvironment()]
