"""Service environment (服务环境): bank–enterprise relations and financial product innovation."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fineco_rules import Label, Scorer, hookimpl

from ._family import FamilyScorer, Measure

__all__ = ["ServiceEnvironment", "fineco_scorers"]

D = Decimal


class ServiceEnvironment(FamilyScorer):
    """Bank–enterprise relations (改善银企关系) and financial product innovation (创新金融产品), each a
    0–100 review or survey score."""

    name = "service_environment"
    version = "1.0"
    label = Label("服务环境", "service environment")
    measures = (
        Measure(
            "bank_enterprise_score", Label("银企关系", "bank–enterprise relations"), "points", D(50), D(95), D("0.5")
        ),
        Measure(
            "product_innovation_score",
            Label("金融产品创新", "financial product innovation"),
            "points",
            D(50),
            D(95),
            D("0.5"),
        ),
    )


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [ServiceEnvironment()]
