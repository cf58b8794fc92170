"""Credit environment (信用环境): credit townships, villages, communities, households, enterprises,
small guaranteed loans; and the roll-up of township and village ratings with re-review (复查)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import attrs

from fineco_rules import Better, Label, ParamError, RowFunction, Scored, Scorer, hookimpl
from fineco_rules.scoring import Goalposts, rollup

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


@attrs.frozen
class RollUp:
    """The ratings of one county's townships and villages after re-review, as the credit details show them."""

    townships: int
    villages: int
    township_share: Decimal | None
    village_share: Decimal | None
    #: level (township, village) -> status (kept, lost, newly_rated, not_rated) -> "name (code)", by code
    units: Mapping[str, Mapping[str, Sequence[str]]]

    @classmethod
    def shown(cls, rolled: rollup.RollUp) -> RollUp:
        """The core's structured ratings written for people: each unit as "name (code)"."""
        shown = {level: rolled.by_status(level) for level in ("township", "village")}
        units: dict[str, dict[str, list[str]]] = {
            level: {status: [f"{r.name} ({r.code})" for r in found] for status, found in by.items()}
            for level, by in shown.items()
        }
        return cls(rolled.townships, rolled.villages, rolled.township_share, rolled.village_share, units)

    def details(self) -> dict[str, object]:
        return {
            "township_share": self.township_share,
            "village_share": self.village_share,
            **{level: {status: list(names) for status, names in found.items()} for level, found in self.units.items()},
        }


def roll_up(rows: Sequence[Mapping[str, object]], criteria: rollup.Criteria) -> RollUp:
    """Rate every village, then every township, by the policy's criteria (see :mod:`fineco_rules.scoring.rollup`)."""
    return RollUp.shown(rollup.roll_up(rows, criteria))


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
            # Given by the engine from the policy's `rollup:` section (the one place the criteria are written).
            "rollup": rollup.CRITERIA_SCHEMA,
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

    def compiled(self, params: Mapping[str, Any], max_score: Decimal) -> Goalposts | None:
        """The family's goalposts; a county with rows in its ``units`` table is scored by the row function."""
        form = super().compiled(params, max_score)
        if form is None or "units" not in params:
            return form
        return attrs.evolve(form, fields=(params["units"],))

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        family = super().build(params, max_score)
        if "units" not in params:
            return family
        table = params["units"]
        names = params.get("inputs", {})
        township_field = names.get("credit_township_share", "credit_township_share")
        village_field = names.get("credit_village_share", "credit_village_share")
        if "rollup" not in params:
            raise ParamError(
                "the units table is re-rated by the policy's village and township criteria, "
                "but the policy declares no `rollup:` section",
                ("units",),
                "add `rollup: {village: [...], township: [...]}` to the policy (docs/rollup.md)",
            )
        criteria = rollup.Criteria.from_mapping(params["rollup"])

        def score(values: Mapping[str, Any]) -> Scored:
            result: Scored = family(values)
            rows = values.get(table)
            if not rows:
                return result
            rolled = roll_up(rows, criteria)
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
