"""Intermediary integrity (中介诚信): honest intermediaries, bad behaviour reported, credit guarantees."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fineco_rules import Label, Scorer, hookimpl

from ._family import FamilyScorer, Measure

__all__ = ["IntermediaryIntegrity", "fineco_scorers"]

D = Decimal


class IntermediaryIntegrity(FamilyScorer):
    """The share of intermediaries rated honest (诚信中介), intermediaries reported for bad behaviour,
    credit-guarantee institutions, and the share of loans they guarantee."""

    name = "intermediary_integrity"
    version = "1.0"
    label = Label("中介诚信", "intermediary integrity")
    measures = (
        Measure(
            "honest_intermediary_share",
            Label("诚信中介占比", "share of intermediaries rated honest"),
            "ratio",
            D("0.4"),
            D("0.9"),
            D("0.4"),
        ),
        Measure(
            "intermediaries_reported",
            Label("被通报中介机构数", "intermediaries reported for bad behaviour"),
            "intermediaries",
            D(10),
            D(0),
            D("0.2"),
        ),
        Measure(
            "guarantee_institutions",
            Label("信用担保机构数", "credit-guarantee institutions"),
            "institutions",
            D(0),
            D(10),
            D("0.15"),
        ),
        Measure(
            "guaranteed_loan_share",
            Label("担保贷款占比", "share of loans guaranteed"),
            "ratio",
            D("0.05"),
            D("0.3"),
            D("0.25"),
        ),
    )


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [IntermediaryIntegrity()]
