"""Suzhou's local assessment method (苏州市本地考核办法) as a fineco-rules plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fineco_rules import Better, Label, ParamError, RowFunction, Scored, Scorer, hookimpl

__all__ = ["InclusiveFinance", "fineco_scorers"]

_SHARE = {"type": "string", "minLength": 1, "description": "a ratio input (0–1)"}
_POSTS = {
    "type": "object",
    "properties": {"worst": {"type": "number"}, "best": {"type": "number"}},
    "required": ["worst", "best"],
    "additionalProperties": False,
}


class InclusiveFinance(Scorer):
    """农户与下岗失业人员金融服务覆盖面 (the reach of financial services to rural households and laid-off
    workers; not "普惠金融", wording of 2013 and later): the weighted geometric mean of the goalpost-normalised
    share of credit households and coverage of small guaranteed loans. Both must improve together: one at its
    worst scores 0."""

    name = "suzhou_inclusive_finance"
    version = "1.0"
    label = Label(
        "农户与下岗失业人员金融服务覆盖面（苏州本地办法）",
        "reach of financial services to rural households and laid-off workers (Suzhou's local method)",
    )
    params_schema = {
        "type": "object",
        "properties": {
            "households": _SHARE,
            "loans": _SHARE,
            "households_weight": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "households_goalposts": _POSTS,
            "loans_goalposts": _POSTS,
        },
        "required": ["households", "loans"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {params["households"]: Better.HIGHER, params["loans"]: Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        households, loans = params["households"], params["loans"]
        weight = Decimal(str(params.get("households_weight", "0.5")))
        posts = []
        for key, default in (("households_goalposts", ("0.3", "0.8")), ("loans_goalposts", ("0.3", "0.9"))):
            spec = params.get(key, {"worst": default[0], "best": default[1]})
            worst, best = Decimal(str(spec["worst"])), Decimal(str(spec["best"]))
            if best <= worst:
                raise ParamError("best must be above worst", (key, "best"), "higher shares are better")
            posts.append((worst, best))

        def normal(value: Decimal, worst: Decimal, best: Decimal) -> Decimal:
            return min(max((value - worst) / (best - worst), Decimal(0)), Decimal(1))

        def score(values: Mapping[str, Any]) -> Scored:
            h = normal(values[households], *posts[0])
            loan = normal(values[loans], *posts[1])
            index = Decimal(0) if h == 0 or loan == 0 else h**weight * loan ** (1 - weight)
            details = {"households": h, "loans": loan, "households_weight": weight}
            return Scored(index * max_score, index, details)

        return score


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [InclusiveFinance()]
