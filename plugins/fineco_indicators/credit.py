"""Credit environment (信用环境): credit townships, villages, communities, households, enterprises,
small guaranteed loans; and the roll-up of township and village ratings with re-review (复查)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import attrs

from fineco_rules import Better, Label, ParamError, Scored, Scorer, hookimpl
from fineco_rules.io._numbers import CONTEXT, as_decimal
from fineco_rules.scoring._builtin import COMPARATORS

from ._family import FamilyScorer, Measure

__all__ = ["CREDIT_MEASURES", "CreditEnvironment", "RollUp", "fineco_scorers", "roll_up"]

D = Decimal

CREDIT_MEASURES: Final = (
    Measure(
        "credit_township_share",
        Label("信用乡镇普及率", "credit township penetration"),
        "ratio",
        D("0.5"),
        D("0.95"),
        D("0.3"),
    ),
    Measure(
        "credit_village_share", Label("信用村占比", "share of credit villages"), "ratio", D("0.4"), D("0.9"), D("0.15")
    ),
    Measure(
        "credit_community_share",
        Label("信用社区占比", "share of credit communities"),
        "ratio",
        D("0.3"),
        D("0.9"),
        D("0.1"),
    ),
    Measure(
        "credit_household_share",
        Label("信用户占比", "share of credit households"),
        "ratio",
        D("0.3"),
        D("0.8"),
        D("0.15"),
    ),
    Measure(
        "red_list_enterprises",
        Label("诚信企业红名单企业数", "enterprises on the red list"),
        "enterprises",
        D(0),
        D(150),
        D("0.1"),
    ),
    Measure(
        "small_loan_coverage",
        Label("下岗失业人员小额担保贷款覆盖面", "small guaranteed loans for laid-off workers"),
        "ratio",
        D("0.3"),
        D("0.9"),
        D("0.2"),
    ),
)

#: The province's default criteria for holding a credit rating, by level (field, operator, threshold).
VILLAGE_CRITERIA: Final = (
    ("credit_household_share", ">=", D("0.60")),
    ("on_time_repayment", ">=", D("0.95")),
    ("npl_ratio", "<", D("0.05")),
)
TOWNSHIP_CRITERIA: Final = (
    ("credit_household_share", ">=", D("0.50")),
    ("npl_ratio", "<", D("0.05")),
    ("credit_village_share", ">=", D("0.60")),
)

_CRITERIA_SCHEMA: Final = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"field": {"type": "string"}, "op": {"enum": sorted(COMPARATORS)}, "value": {"type": "number"}},
        "required": ["field", "op", "value"],
        "additionalProperties": False,
    },
}


@attrs.frozen
class RollUp:
    """The ratings of one county's townships and villages after re-review."""

    townships: int
    villages: int
    township_share: Decimal | None
    village_share: Decimal | None
    #: level (township, village) -> status (kept, lost, newly_rated, not_rated) -> "name (code)", by code
    units: Mapping[str, Mapping[str, Sequence[str]]]

    def details(self) -> dict[str, object]:
        return {
            "township_share": self.township_share,
            "village_share": self.village_share,
            **{level: {status: list(names) for status, names in found.items()} for level, found in self.units.items()},
        }


def _criteria(
    spec: Sequence[Mapping[str, Any]] | None, default: tuple[tuple[str, str, Decimal], ...]
) -> list[tuple[str, str, Decimal]]:
    if spec is None:
        return list(default)
    return [(c["field"], c["op"], as_decimal(c["value"])) for c in spec]


def _number(row: Mapping[str, object], field: str, unit: str) -> Decimal:
    try:
        return as_decimal(row[field])
    except KeyError:
        raise ValueError(f"unit {unit} has no {field!r}") from None
    except (TypeError, ValueError):
        raise ValueError(f"unit {unit}: {field!r} is {row[field]!r}, not a number") from None


def _flag(row: Mapping[str, object], unit: str) -> bool:
    value = row.get("rated_before")
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "是"}:
        return True
    if text in {"false", "no", "0", "否", "", "none"}:
        return False
    raise ValueError(f"unit {unit}: rated_before is {value!r}, not true or false")


def roll_up(
    rows: Sequence[Mapping[str, object]],
    village_criteria: Sequence[tuple[str, str, Decimal]] = VILLAGE_CRITERIA,
    township_criteria: Sequence[tuple[str, str, Decimal]] = TOWNSHIP_CRITERIA,
) -> RollUp:
    """Rate every village, then every township (using its villages), keeping or losing earlier ratings."""
    units = sorted(rows, key=lambda r: str(r.get("unit", "")))
    villages = [r for r in units if str(r.get("level")) == "village"]
    townships = [r for r in units if str(r.get("level")) == "township"]
    strays = [r for r in units if str(r.get("level")) not in {"village", "township"}]
    if strays:
        raise ValueError(f"unit {strays[0].get('unit')}: level is {strays[0].get('level')!r}, not township or village")
    status: dict[str, dict[str, list[str]]] = {
        level: {"kept": [], "lost": [], "newly_rated": [], "not_rated": []} for level in ("township", "village")
    }

    def rate(
        row: Mapping[str, object], criteria: Sequence[tuple[str, str, Decimal]], extra: dict[str, Decimal]
    ) -> bool:
        unit = str(row.get("unit"))
        figures = {**{f: _number(row, f, unit) for f, _, _ in criteria if f not in extra}, **extra}
        holds = all(COMPARATORS[op](figures[f], limit) for f, op, limit in criteria)
        before = _flag(row, unit)
        key = ("kept" if holds else "lost") if before else ("newly_rated" if holds else "not_rated")
        status[str(row.get("level"))][key].append(f"{row.get('name', unit)} ({unit})")
        return holds

    held_villages: dict[str, list[bool]] = {}
    for village in villages:
        held = rate(village, village_criteria, {})
        held_villages.setdefault(str(village.get("parent", "")), []).append(held)
    held_townships = 0
    for township in townships:
        mine = held_villages.get(str(township.get("unit")), [])
        extra = {"credit_village_share": CONTEXT.divide(D(sum(mine)), D(len(mine)))} if mine else {}
        held_townships += rate(township, township_criteria, extra)
    return RollUp(
        townships=len(townships),
        villages=len(villages),
        township_share=CONTEXT.divide(D(held_townships), D(len(townships))) if townships else None,
        village_share=(
            CONTEXT.divide(D(sum(sum(v) for v in held_villages.values())), D(len(villages))) if villages else None
        ),
        units=status,
    )


def _shown(share: Decimal) -> Decimal:
    return share.quantize(D("0.000001"), rounding=ROUND_HALF_UP)


def _agrees(reported: Decimal, exact: Decimal) -> bool:
    """A reported figure agrees when it is the exact share rounded half-up to the decimals it is written with."""
    exponent = reported.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return reported == exact.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


class CreditEnvironment(FamilyScorer):
    """Credit environment from its county figures; given the county's township and village rows
    (the optional ``units`` table), it re-rates them and checks that the county's reported
    credit township and village shares agree with the roll-up."""

    name = "credit_environment"
    version = "1.0"
    label = Label("信用环境", "credit environment")
    measures = CREDIT_MEASURES

    @classmethod
    def extra_params(cls) -> dict[str, Any]:
        return {
            "units": {"type": "string", "minLength": 1, "description": "table input with township and village rows"},
            "village_criteria": _CRITERIA_SCHEMA,
            "township_criteria": _CRITERIA_SCHEMA,
        }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        out = dict(super().reads(params))
        if "units" in params:
            out[params["units"]] = Better.NONE
        return out

    def input_types(self, params: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
        types = dict(super().input_types(params))
        if "units" in params:
            types[params["units"]] = frozenset({"table"})
        return types

    def optional(self, params: Mapping[str, Any]) -> frozenset[str]:
        return frozenset({params["units"]}) if "units" in params else frozenset()

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        family = super().build(params, max_score)
        if "units" not in params:
            return family
        table = params["units"]
        names = params.get("inputs", {})
        township_field = names.get("credit_township_share", "credit_township_share")
        village_field = names.get("credit_village_share", "credit_village_share")
        village_criteria = _criteria(params.get("village_criteria"), VILLAGE_CRITERIA)
        township_criteria = _criteria(params.get("township_criteria"), TOWNSHIP_CRITERIA)
        if not village_criteria or not township_criteria:
            raise ParamError("criteria cannot be empty", ("township_criteria",))

        def score(values: Mapping[str, Any]) -> Scored:
            result: Scored = family(values)
            rows = values.get(table)
            if not rows:
                return result
            rolled = roll_up(rows, village_criteria, township_criteria)
            for field, exact in ((township_field, rolled.township_share), (village_field, rolled.village_share)):
                reported = values.get(field)
                if exact is not None and isinstance(reported, Decimal) and not _agrees(reported, exact):
                    raise ValueError(
                        f"the county reports {field} = {reported}, but re-rating its "
                        f"{rolled.townships} townships and {rolled.villages} villages gives {_shown(exact)}"
                    )
            return Scored(result.score, result.normalized, {**result.details, "roll_up": rolled.details()})

        return score


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [CreditEnvironment()]
