"""Suzhou's local assessment method (苏州市本地考核办法) as a fineco-rules plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fineco_rules import Better, Label, ParamError, RowFunction, Scored, Scorer, hookimpl
from fineco_rules.scoring import VectorFunction

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

    @staticmethod
    def _settings(params: Mapping[str, Any]) -> tuple[str, str, Decimal, list[tuple[Decimal, Decimal]]]:
        """The two fields, the households' weight and each share's goalposts (worst, best)."""
        weight = Decimal(str(params.get("households_weight", "0.5")))
        posts = []
        for key, default in (("households_goalposts", ("0.3", "0.8")), ("loans_goalposts", ("0.3", "0.9"))):
            spec = params.get(key, {"worst": default[0], "best": default[1]})
            worst, best = Decimal(str(spec["worst"])), Decimal(str(spec["best"]))
            if best <= worst:
                raise ParamError("best must be above worst", (key, "best"), "higher shares are better")
            posts.append((worst, best))
        return params["households"], params["loans"], weight, posts

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction | None:
        """The weighted geometric mean over NumPy columns, with a bound on its error (the columnar path).

        Each share's normalised value ``h`` errs by at most ``e = (|x| + |worst| + |span|)·4ε ÷ span`` (the
        decimal read as a float, the difference and the quotient; the clip adds nothing). ``h**w·l**(1-w)``
        then errs relatively by ``w·e_h/h + (1-w)·e_l/l``, the weights read as floats add ``(|ln h| + |ln l|)·4ε``,
        the powers and product ``16ε``; the row path's 28-digit decimals are far below. A value where that
        first-order bound exceeds 1e-6 gets an infinite error: the row path scores it. A share at or below its
        worst goalpost is 0 in floats exactly when it is in decimals, and the score is 0 on both paths.
        """
        households, loans, weight, posts = self._settings(params)
        w, top = float(weight), float(max_score)
        ranges = [(float(worst), float(best - worst)) for worst, best in posts]

        def score(columns: Mapping[str, Any]) -> tuple[Any, Any]:
            import numpy as np  # NumPy loads only on the columnar path

            eps = 2.0**-52
            normal, errors = [], []
            for field, (worst, span) in zip((households, loans), ranges, strict=True):
                x = columns[field]
                normal.append(np.clip((x - worst) / span, 0.0, 1.0))
                errors.append((np.abs(x) + abs(worst) + abs(span)) * 4 * eps / span)
            h, loan = normal
            zero = (h == 0) | (loan == 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                safe_h, safe_l = np.where(zero, 1.0, h), np.where(zero, 1.0, loan)
                index = np.where(zero, 0.0, safe_h**w * safe_l ** (1 - w))
                relative = w * errors[0] / safe_h + (1 - w) * errors[1] / safe_l
                relative += (np.abs(np.log(safe_h)) + np.abs(np.log(safe_l))) * 4 * eps + 16 * eps
            error = np.where(zero, 0.0, np.where(relative > 1e-6, np.inf, index * top * relative * 1.01))
            return index * top, error + 1e-20 * top

        return score

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        households, loans, weight, posts = self._settings(params)

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
