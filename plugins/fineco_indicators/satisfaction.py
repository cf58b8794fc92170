"""Public awareness of finance and satisfaction with financial services (金融认知度与满意度)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fineco_rules import Better, Label, ParamError, RowFunction, Scored, Scorer, hookimpl
from fineco_rules.scoring import CONTEXT, ONE, ZERO, Goalpost, Goalposts, as_decimal

_FIELD = {"type": "string", "minLength": 1}


class FinancialSatisfaction(Scorer):
    """A weighted mean of two survey scores (0–100), flagged when the sample is too small.

    ``awareness_weight`` of the score comes from awareness, the rest from satisfaction.
    A survey with fewer than ``min_sample`` respondents still scores, but the result's
    details say ``small_sample: true`` so that reviewers see it.
    """

    name = "financial_satisfaction"
    version = "1.0"
    label = Label("金融认知度与满意度", "financial awareness and satisfaction")
    params_schema = {
        "type": "object",
        "properties": {
            "awareness": _FIELD,
            "satisfaction": _FIELD,
            "sample_size": _FIELD,
            "awareness_weight": {"type": "number", "minimum": 0, "maximum": 1},
            "min_sample": {"type": "integer", "minimum": 1},
        },
        "required": ["awareness", "satisfaction", "sample_size"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {
            params["awareness"]: Better.HIGHER,
            params["satisfaction"]: Better.HIGHER,
            params["sample_size"]: Better.NONE,
        }

    def compiled(self, params: Mapping[str, Any], max_score: Decimal) -> Goalposts | None:
        """The weighted mean on goalposts 0 and 100: one clipped piece of the two survey scores."""
        weight = as_decimal(params.get("awareness_weight", Decimal("0.5")))
        terms = ((params["awareness"], weight), (params["satisfaction"], 1 - weight))
        return Goalposts((Goalpost(terms, ZERO, Decimal(100), ONE),))

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        awareness, satisfaction, sample = params["awareness"], params["satisfaction"], params["sample_size"]
        weight = as_decimal(params.get("awareness_weight", Decimal("0.5")))
        min_sample = int(params.get("min_sample", 400))
        if len({awareness, satisfaction, sample}) != 3:
            raise ParamError("awareness, satisfaction and sample_size must be three different inputs")
        scale = CONTEXT.divide(max_score, Decimal(100))

        def score(values: Mapping[str, Any]) -> Scored:
            a, s, n = values[awareness], values[satisfaction], values[sample]
            mean = weight * a + (1 - weight) * s
            details = {
                "awareness": a,
                "satisfaction": s,
                "sample_size": n,
                "small_sample": n < min_sample,
                "min_sample": min_sample,
            }
            return Scored(min(max(mean, Decimal(0)), Decimal(100)) * scale, CONTEXT.divide(mean, Decimal(100)), details)

        return score


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [FinancialSatisfaction()]
