"""Scorers that break their contract on purpose, for the gallery policies that need them."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fineco_rules import Better, Label, Scored, Scorer, hookimpl

_PARAMS = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
    "additionalProperties": False,
}


class _Row(Scorer):
    version = "0.1"
    params_schema = _PARAMS

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {params["input"]: Better.HIGHER}


class Overflow(_Row):
    """Scores 120 % of its maximum at the top of the range."""

    name = "gallery_overflow"
    label = Label("溢出", "overflow")

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        field = params["input"]
        return lambda values: Scored(values[field] * max_score * Decimal("1.2"))


class Dice(_Row):
    """A different score every time."""

    name = "gallery_dice"
    label = Label("骰子", "dice")

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        return lambda values: Scored(Decimal(random.randint(0, int(max_score))))


class Peak(_Row):
    """Says higher is better, but scores best in the middle of the range."""

    name = "gallery_peak"
    label = Label("峰值", "peak")

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        field = params["input"]
        return lambda values: Scored((1 - abs(2 * values[field] - 1)) * max_score)


class FirstComeFirstServed(_Row):
    """A cohort scorer that gives the first county of the batch full points and the rest half."""

    name = "gallery_first"
    label = Label("先到先得", "first come, first served")
    cohort = True

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        def score(rows: Sequence[Mapping[str, Any]]) -> list[Scored]:
            return [Scored(max_score if i == 0 else max_score / 2) for i in range(len(rows))]

        return score


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [Overflow(), Dice(), Peak(), FirstComeFirstServed()]
