"""Legal environment (法制环境): protection of financial creditor rights and financial crime."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fineco_rules import Label, Scorer, hookimpl

from ._family import FamilyScorer, Measure

__all__ = ["LegalEnvironment", "fineco_scorers"]

D = Decimal


class LegalEnvironment(FamilyScorer):
    """Execution of won financial cases, recovery of financial claims, debt evasion in enterprise
    restructuring (cases), financial crime cases per 10,000 people, and (weight 0 unless a policy gives it
    one) the share of financial crime cases cleared."""

    name = "legal_environment"
    version = "1.1"
    label = Label("法制环境", "legal environment")
    measures = (
        Measure(
            "case_execution_rate",
            Label("金融胜诉案件执结率", "execution rate of won financial cases"),
            "ratio",
            D("0.5"),
            D("0.95"),
            D("0.35"),
        ),
        Measure(
            "claim_recovery_rate",
            Label("金融债权清收率", "recovery rate of financial claims"),
            "ratio",
            D("0.4"),
            D("0.9"),
            D("0.3"),
        ),
        Measure(
            "debt_evasion_cases",
            Label("企业改制逃废金融债务案件", "debt evasion cases in restructuring"),
            "cases",
            D(5),
            D(0),
            D("0.15"),
        ),
        Measure(
            "financial_crime_cases",
            Label("每万人金融犯罪案件", "financial crime cases per 10,000 people"),
            "cases per 10,000 people",
            D("0.5"),
            D(0),
            D("0.2"),
            denominator="population",
            per=D(10000),
        ),
        # The source asks counties to 打击金融犯罪 (公安部门为主负责): a policy that follows it scores the share of
        # financial crime cases cleared, which more action raises, instead of how few cases were filed, which
        # under-reporting would raise. Weight 0 by default, so policies written for 1.0 score as before; the
        # shipped provincial policy weighs this measure and drops the cases per head.
        Measure(
            "financial_crime_clearance_rate",
            Label("金融犯罪案件破案率", "share of financial crime cases cleared"),
            "ratio",
            D("0.5"),
            D(1),
            D(0),
        ),
    )


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [LegalEnvironment()]
