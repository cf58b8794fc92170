"""A family of measures scored together: goalposts per measure, weighted into one indicator score."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from fineco_rules import Better, Label, ParamError, RowFunction, Scored, Scorer
from fineco_rules.scoring import CONTEXT, ONE, ZERO, Goalpost, Goalposts, as_decimal

__all__ = ["FamilyScorer", "Measure"]


@attrs.frozen
class Measure:
    """One measure of a family: the input it reads by default, its unit, goalposts and weight.

    ``denominator`` and ``per`` turn a count into a rate first (cases per 10,000 people).
    """

    key: str
    label: Label
    unit: str
    worst: Decimal
    best: Decimal
    weight: Decimal
    denominator: str | None = None
    per: Decimal = ONE

    @property
    def better(self) -> Better:
        return Better.HIGHER if self.best > self.worst else Better.LOWER


@attrs.frozen
class _Resolved:
    measure: Measure
    field: str
    denominator: str | None
    worst: Decimal
    best: Decimal
    weight: Decimal


_NUMBER = {"type": "number"}


class FamilyScorer(Scorer):
    """Scores a family of measures: each measure is put on its goalposts (worst 0, best 1,
    clipped), and the weighted sum of those is the share of the indicator's points earned.

    Params (all optional): ``inputs`` renames the field a measure reads, ``weights``
    re-weights measures (they must add up to 1; weight 0 drops a measure), ``goalposts``
    moves a measure's worst and best values.
    """

    measures: ClassVar[tuple[Measure, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        keys = [m.key for m in cls.measures]
        fields = {k: {"type": "string", "minLength": 1} for k in keys}
        for m in cls.measures:
            if m.denominator is not None:
                fields[m.denominator] = {"type": "string", "minLength": 1}
        cls.params_schema = {
            "type": "object",
            "properties": {
                "inputs": {"type": "object", "properties": fields, "additionalProperties": False},
                "weights": {
                    "type": "object",
                    "properties": {k: {"type": "number", "minimum": 0} for k in keys},
                    "additionalProperties": False,
                },
                "goalposts": {
                    "type": "object",
                    "properties": {
                        k: {
                            "type": "object",
                            "properties": {"worst": _NUMBER, "best": _NUMBER},
                            "required": ["worst", "best"],
                            "additionalProperties": False,
                        }
                        for k in keys
                    },
                    "additionalProperties": False,
                },
                **cls.extra_params(),
            },
            "additionalProperties": False,
        }

    @classmethod
    def extra_params(cls) -> dict[str, Any]:
        """Schema of params a subclass adds to ``inputs``, ``weights`` and ``goalposts``."""
        return {}

    def resolve(self, params: Mapping[str, Any]) -> list[_Resolved]:
        names = params.get("inputs", {})
        weights = params.get("weights", {})
        goalposts = params.get("goalposts", {})
        out = []
        for m in self.measures:
            weight = as_decimal(weights.get(m.key, m.weight))
            posts = goalposts.get(m.key, {})
            worst, best = as_decimal(posts.get("worst", m.worst)), as_decimal(posts.get("best", m.best))
            if worst == best:
                raise ParamError(f"goalposts of {m.key!r} are equal", ("goalposts", m.key), "give two different values")
            if weight:
                denominator = names.get(m.denominator, m.denominator) if m.denominator else None
                out.append(_Resolved(m, names.get(m.key, m.key), denominator, worst, best, weight))
        total = sum((r.weight for r in out), ZERO)
        if total != ONE:
            raise ParamError(f"measure weights add up to {total}, not 1", ("weights",), "make them add up to 1")
        return out

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        out: dict[str, Better] = {}
        for r in self.resolve(params):
            better = Better.HIGHER if r.best > r.worst else Better.LOWER
            out[r.field] = better
            if r.denominator is not None:
                out[r.denominator] = better.flipped()
        return out

    def compiled(self, params: Mapping[str, Any], max_score: Decimal) -> Goalposts | None:
        """The family as goalposts the engine compiles: each measure a clipped piece, weighted."""
        return Goalposts(
            tuple(
                Goalpost(((r.field, ONE),), r.worst, r.best, r.weight, r.denominator, r.measure.per)
                for r in self.resolve(params)
            )
        )

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        parts = self.resolve(params)

        def score(values: Mapping[str, Any]) -> Scored:
            total = ZERO
            details: dict[str, object] = {}
            for r in parts:
                value = values[r.field]
                if r.denominator is not None:
                    bottom = values[r.denominator]
                    if bottom == 0:
                        raise ValueError(f"{r.denominator!r} is 0, so {r.measure.key!r} has no rate")
                    value = CONTEXT.divide(value * r.measure.per, bottom)
                normalized = min(max(CONTEXT.divide(value - r.worst, r.best - r.worst), ZERO), ONE)
                total += r.weight * normalized
                facts: dict[str, object] = {"value": value, "normalized": normalized, "weight": r.weight}
                if r.denominator is not None:
                    facts |= {"per": r.measure.per, "denominator": r.denominator}
                details[r.measure.key] = facts
            return Scored(total * max_score, total, details)

        return score
