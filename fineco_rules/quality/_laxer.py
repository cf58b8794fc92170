""" "No laxer than the province" decided from the declarations: a city's method never grades a county higher.

The proof holds when the city keeps every provincial indicator as it is (scorer, parameters, points, group and
missing rule), adds none that scores, keeps the scale, weighs deductions no lighter and bonuses no heavier, and
makes every grade line, gate and veto at least as strict. Then for every record the city's total is at most the
province's and each of its grade conditions implies the province's. Anything else is searched for
(:mod:`fineco_rules.quality._check`), and a pass there is "searched, not proved".
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import attrs

from fineco_rules.policy._anatomy import condition_region
from fineco_rules.policy._model import Adjustment, Condition, Indicator, Policy

__all__ = ["LaxerProof", "prove_no_laxer"]


@attrs.frozen
class LaxerProof:
    """Whether ``child`` was proved no laxer than ``parent`` statically, and if not, why not."""

    child: Policy
    parent: Policy
    gaps: tuple[str, ...]

    @property
    def proved(self) -> bool:
        return not self.gaps


def prove_no_laxer(child: Policy, parent: Policy) -> LaxerProof:
    """Try to prove that, for every record, ``child`` grades no higher than ``parent``."""
    gaps = [*_scale(child, parent), *_indicators(child, parent), *_adjustments(child, parent)]
    gaps += [*_grades(child, parent), *_vetoes(child, parent)]
    return LaxerProof(child, parent, tuple(gaps))


def _scale(child: Policy, parent: Policy) -> Iterator[str]:
    mine, theirs = child.aggregation, parent.aggregation
    if (mine.method, mine.total) != (theirs.method, theirs.total):
        yield f"the scale differs ({mine.method} of {mine.total} against {theirs.method} of {theirs.total})"


def _same_indicator(mine: Indicator, theirs: Indicator) -> bool:
    def key(i: Indicator) -> tuple[object, ...]:
        return (i.scorer, dict(i.params), i.points, i.weight, i.group, i.missing)

    return key(mine) == key(theirs)


def _indicators(child: Policy, parent: Policy) -> Iterator[str]:
    for name, theirs in parent.indicators.items():
        mine = child.indicators.get(name)
        if mine is None or not _same_indicator(mine, theirs):
            yield f"indicator {name!r} is not the province's (scorer, parameters, points, group or missing rule)"
    for name, mine in child.indicators.items():
        if name not in parent.indicators and (mine.points is None or mine.points > 0):
            yield f"indicator {name!r} is the city's own and can add points"


def _figure(value: Decimal | None) -> Decimal:
    return Decimal("Infinity") if value is None else value


def _adjustments(child: Policy, parent: Policy) -> Iterator[str]:
    def heavier(mine: Adjustment, theirs: Adjustment) -> bool:
        when_same = (mine.when is None) == (theirs.when is None) and (
            mine.when is None or theirs.when is None or _cond_key(mine.when) == _cond_key(theirs.when)
        )
        figures = zip((mine.points, mine.per_unit, mine.cap), (theirs.points, theirs.per_unit, theirs.cap), strict=True)
        sign = 1 if mine.kind == "deduction" else -1
        return (
            when_same
            and (mine.kind, mine.input) == (theirs.kind, theirs.input)
            and all(sign * (_figure(m) - _figure(t)) >= 0 for m, t in figures if m != t)
        )

    for aid, theirs in parent.adjustments.items():
        mine = child.adjustments.get(aid)
        if mine is None or not heavier(mine, theirs):
            yield f"adjustment {aid!r} is removed or laxer"
    if any(a.kind == "bonus" for aid, a in child.adjustments.items() if aid not in parent.adjustments):
        yield "the city adds a bonus"
    mine_agg, their_agg = child.aggregation, parent.aggregation
    if _figure(mine_agg.deduction_cap) < _figure(their_agg.deduction_cap):
        yield "the deduction cap is lower"
    if _figure(mine_agg.bonus_cap) > _figure(their_agg.bonus_cap):
        yield "the bonus cap is higher"


def _cond_key(cond: Condition) -> tuple[object, ...]:
    return (cond.kind, cond.subject, cond.op, cond.value)


def _implies(mine: Condition, theirs: Condition) -> bool:
    """Whether ``mine`` holding implies ``theirs`` holds, the city's total being at most the province's."""
    if (mine.kind, mine.subject) != (theirs.kind, theirs.subject):
        return False
    inside = condition_region(mine.op, mine.value) <= condition_region(theirs.op, theirs.value)
    # A lower city total meets a `>=`/`>` line only if the province's higher total does too.
    return inside and (mine.kind != "total" or mine.op in (">", ">="))


def _grades(child: Policy, parent: Policy) -> Iterator[str]:
    mine = {rule.grade: rule for rule in child.grades}
    for theirs in parent.grades:
        rule = mine.get(theirs.grade)
        level = theirs.grade.value
        if rule is None:
            yield f"grade {level} has no rule of its own in the city's method"
            continue
        if rule.min_total < theirs.min_total:
            yield f"the {level} line {rule.min_total} is below the province's {theirs.min_total}"
        for gid, gate in theirs.gates.items():
            if not any(_implies(own, gate) for own in rule.gates.values()):
                yield f"no gate of {level} implies the province's {gid} ({gate})"


def _vetoes(child: Policy, parent: Policy) -> Iterator[str]:
    for vid, theirs in parent.vetoes.items():
        fires = condition_region(theirs.when.op, theirs.when.value)
        covered = any(
            (v.when.kind, v.when.subject) == (theirs.when.kind, theirs.when.subject)
            and theirs.when.kind != "total"
            and fires <= condition_region(v.when.op, v.when.value)
            for v in child.vetoes.values()
        )
        if not covered:
            yield f"no veto of the city fires whenever the province's {vid} does"
