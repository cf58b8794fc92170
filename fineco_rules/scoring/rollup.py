"""Rating villages and townships from their rows under a policy's roll-up criteria (信用村、信用乡镇评定).

The criteria are data: a policy declares them under its ``rollup:`` key (see docs/rollup.md) and
:class:`Criteria` holds them. :func:`roll_up` rates every village, then every township (whose
``credit_village_share`` is the share of its villages rated this time), keeps or withdraws earlier
ratings (复查), and returns one :class:`UnitRating` per unit with its code and status. Both
``fineco rollup`` (:mod:`fineco_rules.scale`) and the credit plugin's re-rating of a county's
``units`` table call it, so one set of criteria rates the same unit the same way everywhere.

Public for plugins. May import :mod:`fineco_rules.io`, :mod:`fineco_rules.scoring` and the errors only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from fineco_rules.errors import tr
from fineco_rules.io._numbers import CONTEXT, as_decimal
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._scorer import Label

__all__ = [
    "COUNTED",
    "CRITERIA_SCHEMA",
    "LEVELS",
    "STATUSES",
    "VILLAGE_SHARE",
    "Criteria",
    "Criterion",
    "RollUp",
    "UnitRating",
    "roll_up",
]

Level = Literal["village", "township"]
Status = Literal["kept", "lost", "newly_rated", "not_rated"]

#: The levels rated, from the smallest up.
LEVELS: Final[tuple[Level, ...]] = ("village", "township")
#: What happened to a unit's rating at this assessment: held before and still meets the criteria (kept), held
#: before and no longer meets them (lost, 摘牌), newly meets them, or neither held nor meets them.
STATUSES: Final[tuple[Status, ...]] = ("kept", "lost", "newly_rated", "not_rated")
#: The figures ``fineco rollup`` counts from a place's households and balances; a criterion on any other
#: field of a household policy averages that input over the place's graded households.
COUNTED: Final = ("credit_household_share", "npl_ratio")
#: The township figure the roll-up computes from the township's villages instead of reading it.
VILLAGE_SHARE: Final = "credit_village_share"

_CRITERION_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "field": {"type": "string", "minLength": 1},
        "op": {"enum": sorted(COMPARATORS)},
        "value": {"type": "number"},
        "label": {"type": "object"},
    },
    "required": ["field", "op", "value"],
    "additionalProperties": False,
}
#: JSON Schema of a ``rollup:`` section: ``{village: [criterion, ...], township: [criterion, ...]}``.
CRITERIA_SCHEMA: Final = {
    "type": "object",
    "properties": {level: {"type": "array", "minItems": 1, "items": _CRITERION_SCHEMA} for level in LEVELS},
    "required": list(LEVELS),
    "additionalProperties": False,
}


@attrs.frozen
class Criterion:
    """One thing a unit must meet: ``field op value``, e.g. ``npl_ratio <= 0.05``."""

    field: str
    op: str = attrs.field(validator=attrs.validators.in_(COMPARATORS))
    value: Decimal
    label: Label | None = None

    def holds(self, figure: Decimal) -> bool:
        return bool(COMPARATORS[self.op](figure, self.value))

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value}"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "op": self.op, "value": self.value}
        if self.label is not None:
            out["label"] = {"zh": self.label.zh, "en": self.label.en}
        return out


@attrs.frozen
class Criteria:
    """What a village and a township must meet to hold the credit-village and credit-township rating."""

    village: tuple[Criterion, ...]
    township: tuple[Criterion, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Criteria:
        """Criteria from a ``rollup:`` section already checked against :data:`CRITERIA_SCHEMA`."""

        def one(spec: Mapping[str, Any]) -> Criterion:
            label = Label.from_mapping(spec["label"], str(spec["field"])) if "label" in spec else None
            return Criterion(str(spec["field"]), str(spec["op"]), as_decimal(spec["value"]), label)

        return cls(tuple(one(s) for s in data["village"]), tuple(one(s) for s in data["township"]))

    def of(self, level: Level) -> tuple[Criterion, ...]:
        return self.village if level == "village" else self.township

    @property
    def read(self) -> frozenset[str]:
        """The fields a unit row must carry (a township's village share is computed, not read)."""
        return frozenset({c.field for c in (*self.village, *self.township)} - {VILLAGE_SHARE})

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        return {level: [c.to_dict() for c in self.of(level)] for level in LEVELS}


@attrs.frozen
class UnitRating:
    """One village's or township's rating at this assessment."""

    code: str
    name: str
    level: Level
    parent: str
    held_before: bool
    holds: bool

    @property
    def status(self) -> Status:
        if self.held_before:
            return "kept" if self.holds else "lost"
        return "newly_rated" if self.holds else "not_rated"


@attrs.frozen
class RollUp:
    """The ratings of one county's villages and townships, sorted by code, and the shares that hold them."""

    ratings: tuple[UnitRating, ...]
    townships: int
    villages: int
    township_share: Decimal | None
    village_share: Decimal | None

    def held(self, level: Level) -> tuple[str, ...]:
        """The codes of the units of ``level`` that hold the rating after this assessment."""
        return tuple(r.code for r in self.ratings if r.level == level and r.holds)

    def by_status(self, level: Level) -> dict[Status, tuple[UnitRating, ...]]:
        """Every status (all four, possibly empty) -> the units of ``level`` in it, by code."""
        return {s: tuple(r for r in self.ratings if r.level == level and r.status == s) for s in STATUSES}


def _number(row: Mapping[str, object], field: str, unit: str) -> Decimal:
    try:
        return as_decimal(row[field])
    except KeyError:
        raise ValueError(tr("unit {unit} has no {field!r}", unit=unit, field=field)) from None
    except (TypeError, ValueError):
        raise ValueError(
            tr("unit {unit}: {field!r} is {row!r}, not a number", unit=unit, field=field, row=row[field])
        ) from None


def _flag(row: Mapping[str, object], unit: str) -> bool:
    value = row.get("rated_before")
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "是"}:
        return True
    if text in {"false", "no", "0", "否", "", "none"}:
        return False
    raise ValueError(tr("unit {unit}: rated_before is {value!r}, not true or false", unit=unit, value=value))


def roll_up(rows: Sequence[Mapping[str, object]], criteria: Criteria) -> RollUp:
    """Rate every village, then every township (using its villages), keeping or losing earlier ratings.

    Each row is a unit: ``unit`` (its code), ``level`` (village or township), ``parent`` (a village's
    township), ``rated_before`` and the criteria's fields; ``name`` is optional. A bad row raises
    ``ValueError`` naming the unit and field.
    """
    units = sorted(rows, key=lambda r: str(r.get("unit", "")))
    strays = [r for r in units if str(r.get("level")) not in LEVELS]
    if strays:
        raise ValueError(
            tr(
                "unit {value}: level is {value2!r}, not township or village",
                value=strays[0].get("unit"),
                value2=strays[0].get("level"),
            )
        )
    ratings: list[UnitRating] = []

    def rate(row: Mapping[str, object], level: Level, extra: Mapping[str, Decimal]) -> bool:
        unit = str(row.get("unit"))
        rules = criteria.of(level)
        figures = {**{c.field: _number(row, c.field, unit) for c in rules if c.field not in extra}, **extra}
        holds = all(c.holds(figures[c.field]) for c in rules)
        name = str(row.get("name", unit))
        parent = str(row.get("parent", ""))
        ratings.append(UnitRating(unit, name, level, parent, _flag(row, unit), holds))
        return holds

    held_villages: dict[str, list[bool]] = {}
    villages = [r for r in units if str(r.get("level")) == "village"]
    townships = [r for r in units if str(r.get("level")) == "township"]
    for village in villages:
        held_villages.setdefault(str(village.get("parent", "")), []).append(rate(village, "village", {}))
    held_townships = 0
    for township in townships:
        mine = held_villages.get(str(township.get("unit")), [])
        extra = {VILLAGE_SHARE: CONTEXT.divide(Decimal(sum(mine)), Decimal(len(mine)))} if mine else {}
        held_townships += rate(township, "township", extra)
    held = sum(sum(v) for v in held_villages.values())
    return RollUp(
        ratings=tuple(sorted(ratings, key=lambda r: (LEVELS.index(r.level), r.code))),
        townships=len(townships),
        villages=len(villages),
        township_share=CONTEXT.divide(Decimal(held_townships), Decimal(len(townships))) if townships else None,
        village_share=CONTEXT.divide(Decimal(held), Decimal(len(villages))) if villages else None,
    )
