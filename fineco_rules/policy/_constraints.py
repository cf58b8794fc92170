"""What a city may change: a child policy checked against the constraints its parent declares."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from fineco_rules.errors import Code, Location, Msg, Problem, join, tr
from fineco_rules.policy._model import Adjustment, Condition, Constraints, Origin, Policy
from fineco_rules.scoring._scorer import Better

__all__ = ["check_child"]


def _loc(origin: Origin, path: str) -> Location:
    return Location(origin.file, origin.line, origin.column, path)


def _direction(policy: Policy, cond: Condition) -> Better:
    if cond.kind == "input":
        return policy.inputs[cond.subject].better if cond.subject in policy.inputs else Better.NONE
    return Better.HIGHER  # scores, group scores and totals: higher is better


def _thresholds(policy: Policy) -> dict[str, tuple[Condition | None, Decimal | bool, Better, Origin]]:
    """Every threshold a constraint can name, by dotted path: its value, direction and origin."""
    out: dict[str, tuple[Condition | None, Decimal | bool, Better, Origin]] = {}
    for rule in policy.grades:
        base = f"grades.{rule.grade.value}"
        out[f"{base}.min_total"] = (None, rule.min_total, Better.HIGHER, rule.origin)
        for gid, gate in rule.gates.items():
            out[f"{base}.gates.{gid}"] = (gate, gate.value, _direction(policy, gate), gate.origin)
    for vid, veto in policy.vetoes.items():
        out[f"vetoes.{vid}"] = (veto.when, veto.when.value, _direction(policy, veto.when), veto.when.origin)
    return out


def _covered(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def _stricter(child: Decimal | bool, parent: Decimal | bool, better: Better) -> bool:
    if isinstance(child, bool) or isinstance(parent, bool) or better is Better.NONE:
        return child == parent
    return child <= parent if better is Better.LOWER else child >= parent


def check_child(child: Policy, parent: Policy) -> list[Problem]:
    """Every way ``child`` breaks the constraints that ``parent`` declares, with both places."""
    rules = parent.constraints
    if rules is None or child.id == parent.id:
        return []  # a province's own next version may change anything; only other ids are bound
    return [
        *_constraints_changed(child, parent),
        *_scale(child, parent),
        *_kept_names(child, parent, rules),
        *_kept_inputs(child, parent, rules),
        *_loosened(child, parent, rules),
        *_bounds(child, parent, rules),
        *(_adjustments(child, parent) if _covered("adjustments", rules.stricter_only) else ()),
    ]


def _scale(child: Policy, parent: Policy) -> Iterator[Problem]:
    """The total and the method are the scale every grade line, gate and bound of the parent is written on.

    They are fixed rather than scaled: with the total fixed, a group bound of 30-40 points and a pass line of
    60 mean the same share in every city, so re-weighting within the bounds cannot lift a county over a line
    that was set on another scale (a total of 125 with the pass line kept at 60 would pass 48 % counties).
    """
    mine, theirs = child.aggregation, parent.aggregation
    for key, value, wanted in (("method", mine.method, theirs.method), ("total", mine.total, theirs.total)):
        if value != wanted:
            yield Problem(
                tr(
                    "aggregation.{key} is {value}, but {id} {version} fixes it at {wanted}: its grade lines, "
                    "gates and bounds are written on that scale",
                    key=key,
                    value=value,
                    id=parent.id,
                    version=parent.version,
                    wanted=wanted,
                ),
                _loc(child.origin(("aggregation", key)), f"aggregation.{key}"),
                tr(
                    "keep `{key}: {wanted}`; re-weight within the bounds and raise grade lines instead",
                    key=key,
                    wanted=wanted,
                ),
                Code.SCALE_CHANGED,
                _loc(parent.origin(("aggregation", key)), f"aggregation.{key}"),
            )


def _no_weaker(mine: Decimal | None, theirs: Decimal | None) -> bool:
    """A deduction figure (None: unlimited) at least as heavy as the province's."""
    return mine is None if theirs is None else mine is None or mine >= theirs


def _adjustments(child: Policy, parent: Policy) -> Iterator[Problem]:
    """Deductions may only weigh more and bonuses only less; a city adds no bonus the province does not give."""
    for aid, theirs in parent.adjustments.items():
        mine = child.adjustments.get(aid)
        path = f"adjustments.{aid}"
        if mine is None or not _adjustment_no_laxer(mine, theirs):
            what = (
                tr("was removed")
                if mine is None
                else tr("is laxer than the province's ({rule})", rule=_adjustment_text(theirs))
            )
            yield Problem(
                tr("{path} {what}; the province only lets it be made stricter", path=path, what=what),
                _loc(child.origin(("adjustments", aid)) if mine else child.origin(("adjustments",)), path),
                tr("keep it; a deduction may only weigh more, a bonus only less"),
                Code.NOT_STRICTER,
                _loc(theirs.origin, path),
            )
    for aid, mine in child.adjustments.items():
        if aid not in parent.adjustments and mine.kind == "bonus":
            yield Problem(
                tr(
                    "adjustments.{aid} adds a bonus the province does not give; it lifts totals over its lines", aid=aid
                ),
                _loc(mine.origin, f"adjustments.{aid}"),
                tr("remove the bonus, or make it a deduction"),
                Code.NOT_STRICTER,
                _loc(parent.origin(("adjustments",)), "adjustments"),
            )
    caps = (
        ("deduction_cap", child.aggregation.deduction_cap, parent.aggregation.deduction_cap, True),
        ("bonus_cap", child.aggregation.bonus_cap, parent.aggregation.bonus_cap, False),
    )
    for key, mine_cap, their_cap, deduction in caps:
        ok = _no_weaker(mine_cap, their_cap) if deduction else _no_weaker(their_cap, mine_cap)
        if not ok:
            yield Problem(
                tr(
                    "aggregation.{key} is {value}, laxer than the province's {value2}",
                    key=key,
                    value=mine_cap or "unlimited",
                    value2=their_cap or "unlimited",
                ),
                _loc(child.origin(("aggregation", key)), f"aggregation.{key}"),
                tr("a deduction cap may only rise, a bonus cap only fall"),
                Code.NOT_STRICTER,
                _loc(parent.origin(("aggregation", key)), f"aggregation.{key}"),
            )


def _adjustment_no_laxer(mine: Adjustment, theirs: Adjustment) -> bool:
    def when(cond: Condition | None) -> tuple[object, ...]:
        return () if cond is None else (cond.kind, cond.subject, cond.op, cond.value)

    if (mine.kind, mine.input, when(mine.when)) != (theirs.kind, theirs.input, when(theirs.when)):
        return False
    figures = ((mine.points, theirs.points), (mine.per_unit, theirs.per_unit), (mine.cap, theirs.cap))
    if mine.kind == "deduction":
        return all(_no_weaker(m, t) for m, t in figures)
    return all(_no_weaker(t, m) for m, t in figures)


def _adjustment_text(adjustment: Adjustment) -> Msg:
    parts = [f"{k} {v}" for k, v in (("points", adjustment.points), ("per_unit", adjustment.per_unit)) if v]
    cap = tr("cap {cap}", cap=adjustment.cap) if adjustment.cap else tr("cap unlimited")
    return tr("{kind}, {parts}", kind=adjustment.kind, parts=join([*parts, cap]))


def _constraints_changed(child: Policy, parent: Policy) -> Iterator[Problem]:
    """Only the province that sets the constraints may change them."""
    owners = {owner for path, owner in child.owners.items() if path[:1] == ("constraints",)}
    if (child.id, child.version) in owners:
        yield Problem(
            tr(
                "{id} changes the constraints that {id2} {version} sets",
                id=child.id,
                id2=parent.id,
                version=parent.version,
            ),
            _loc(child.origin(("constraints",)), "constraints"),
            tr("remove `constraints:`; only the province changes them, in its own next version"),
            Code.CONSTRAINT_CHANGED,
            _loc(parent.origin(("constraints",)), "constraints"),
        )


def _kept_names(child: Policy, parent: Policy, rules: Constraints) -> Iterator[Problem]:
    """The indicators and vetoes the province requires are still there."""
    kept: tuple[tuple[str, tuple[str, ...], Mapping[str, object]], ...] = (
        ("indicator", rules.keep_indicators, child.indicators),
        ("veto", rules.keep_vetoes, child.vetoes),
    )
    for kind, names, present in kept:
        for name in names:
            if name not in present:
                yield Problem(
                    tr(
                        "{kind} {name!r} is required by {id} {version} and was removed",
                        kind=_KINDS[kind],
                        name=name,
                        id=parent.id,
                        version=parent.version,
                    ),
                    _loc(child.origin((f"{kind}s",)), f"{kind}s"),
                    tr("keep `{name}:` under {section}", name=name, section=f"{kind}s"),
                    f"required-{kind}",
                    _loc(parent.origin((f"{kind}s", name)), f"{kind}s.{name}"),
                )


def _kept_inputs(child: Policy, parent: Policy, rules: Constraints) -> Iterator[Problem]:
    """The inputs the province requires are still read by some indicator."""
    read = {field for ind in child.indicators.values() for field in ind.reads}
    for name in rules.keep_inputs:
        if name not in child.inputs or name not in read:
            yield Problem(
                tr("input {name!r} must be assessed (the province requires it), but no indicator reads it", name=name),
                _loc(child.origin(("indicators",)), "indicators"),
                tr("keep an indicator that reads {name!r}", name=name),
                Code.REQUIRED_INPUT,
                _loc(parent.origin(("inputs", name)), f"inputs.{name}"),
            )


def _loosened(child: Policy, parent: Policy, rules: Constraints) -> Iterator[Problem]:
    """Thresholds the province lets only be tightened: changed in subject or operator, loosened, or removed."""
    mine, theirs = _thresholds(child), _thresholds(parent)
    for path, (cond, value, better, origin) in theirs.items():
        found = mine.get(path)
        if found is None or not _covered(path, rules.stricter_only):
            continue  # a removed gate of a kept grade shows as removed below
        child_cond, child_value, _, child_origin = found
        if (
            cond is not None
            and child_cond is not None
            and (child_cond.op, child_cond.subject) != (cond.op, cond.subject)
        ):
            yield Problem(
                tr(
                    "{path} compares {child_cond} but the province's rule is {cond}",
                    path=path,
                    child_cond=child_cond,
                    cond=cond,
                ),
                _loc(child_origin, path),
                tr("keep the province's subject and operator; only tighten the value"),
                Code.NOT_STRICTER,
                _loc(origin, path),
            )
        elif not _stricter(child_value, value, better):
            way = {Better.LOWER: tr("lower"), Better.HIGHER: tr("higher")}.get(better, tr("equal"))
            yield Problem(
                tr(
                    "{path} is {value}, looser than the province's {value2}",
                    path=path,
                    value=_text(child_value),
                    value2=_text(value),
                ),
                _loc(child_origin, path),
                tr("it may only be made stricter ({way}, or equal)", way=way),
                Code.NOT_STRICTER,
                _loc(origin, path),
            )
    required = {f"vetoes.{name}" for name in rules.keep_vetoes}  # already reported as required
    for path, (_, _, _, origin) in theirs.items():
        if _covered(path, rules.stricter_only) and path not in mine and path not in required:
            yield Problem(
                tr("{path} was removed, but the province only lets it be made stricter", path=path),
                _loc(child.origin(tuple(path.split(".")[:-1])), path),
                tr("keep it (it may be tightened)"),
                Code.NOT_STRICTER,
                _loc(origin, path),
            )


_KINDS = {"input": tr("input"), "indicator": tr("indicator"), "veto": tr("veto")}


def _text(value: Decimal | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _bounds(child: Policy, parent: Policy, rules: Constraints) -> Iterator[Problem]:
    points = child.aggregation.method == "points"
    for name, (low, high) in rules.indicator_bounds.items():
        indicator = child.indicators.get(name)
        if indicator is None:
            continue
        share = indicator.points if points else indicator.weight
        origin = indicator.weight_origin or indicator.origin
        yield from _within(
            share,
            low,
            high,
            f"indicators.{name}",
            origin,
            parent.origin(("constraints", "bounds", "indicators", name)),
        )
    for name in rules.group_bounds:
        low, high = rules.group_bounds[name]
        if points:
            amount: Decimal | None = sum(
                (i.points or Decimal(0) for i in child.indicators.values() if i.group == name), Decimal(0)
            )
            origin = child.origin(("indicators",))
        else:
            group = child.aggregation.groups.get(name)
            amount = None if group is None else group.weight
            origin = child.origin(("aggregation", "groups", name))
        yield from _within(
            amount, low, high, f"groups.{name}", origin, parent.origin(("constraints", "bounds", "groups", name))
        )


def _within(
    amount: Decimal | None, low: Decimal | None, high: Decimal | None, what: str, origin: Origin, rule: Origin
) -> Iterator[Problem]:
    if amount is None:
        return
    if (low is not None and amount < low) or (high is not None and amount > high):
        span = tr("{low} to {high}", low="-∞" if low is None else low, high="+∞" if high is None else high)
        yield Problem(
            tr("{what} is {amount}, outside the range {span} the province allows", what=what, amount=amount, span=span),
            _loc(origin, what),
            tr("keep it within {span}", span=span),
            Code.OUT_OF_BOUNDS,
            _loc(rule, "constraints.bounds"),
        )
