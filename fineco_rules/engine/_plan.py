"""The grading plan: everything grading needs, decided once when a policy compiles.

A :class:`GradingPlan` lists the indicators in order with their scorer functions, maximum scores and
weights (as exact decimals, and as integer units for the columnar path), the groups and the total as
weighted sums, the adjustments with their caps, the vetoes and the grade ladder. Both the row path
(:class:`fineco_rules.engine._engine.CompiledPolicy`, exact decimals) and the columnar path
(:mod:`fineco_rules.engine._columnar`, integer units in NumPy) execute it, and the decisions that
are the same on both are written here once: whether a scorer's answer is a score (:meth:`GradingPlan.
checked_score`), which adjustment points count and how they are capped (:meth:`AdjustmentStep.limit`,
:meth:`GradingPlan.adjusted`), and the grade ladder with its vetoes (:meth:`GradingPlan.ladder`).

The plan is plain frozen data so that a code generator can walk it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Final, TypeVar

import attrs

from fineco_rules.errors import Location, PluginError
from fineco_rules.io._numbers import CONTEXT, ZERO, float_exact, quantizer
from fineco_rules.policy._model import Adjustment, Condition, Grade, Indicator, Origin, Policy, weight_decimal
from fineco_rules.scoring._host import PluginHost, ScorerEntry, guarded
from fineco_rules.scoring._scorer import Goalposts, Label, Scored, VectorFunction

__all__ = [
    "AdjustmentStep",
    "Child",
    "GradingPlan",
    "GroupStep",
    "IndicatorStep",
    "Level",
    "Part",
    "WeightedSum",
    "build_plan",
    "columnar_refusal",
    "grade_of",
]

#: Largest magnitude a weighted sum of units may reach in int64.
INT_ROOM: Final = 2**62

#: Grade codes are the grades' ranks (:attr:`Grade.rank`): -1 not graded, 0 fail, 1 pass, 2 good.
_BY_CODE: Final = {grade.rank: grade for grade in Grade}

N = TypeVar("N")  # a number of one path: Decimal (row) or an int64 array of units (columnar)
B = TypeVar("B")  # a truth of one path: bool (row) or a bool array (columnar)


def grade_of(code: int) -> Grade | None:
    """The grade of a grade code (its rank), or None for -1 (not graded)."""
    return _BY_CODE.get(code)


class _BadScore(TypeError):
    """A scorer answered something that is not a score: not a :class:`Scored` with a finite
    ``Decimal`` score in ``[0, max_score]``. Always the plugin's bug (``scorer-failed``), never bad data."""


def decimals(value: Decimal) -> int:
    """How many decimals ``value`` needs (0 for a whole number)."""
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # pragma: no cover - only finite numbers reach here
        raise ValueError(f"{value} is not a finite number")
    return max(0, -exponent)


def units(value: Decimal, scale: int) -> int:
    """``value × 10**scale``, which must be a whole number."""
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimals")
    return int(scaled)


@attrs.frozen
class IndicatorStep:
    """One indicator with everything decided: its scorer's functions, fields, maximum and weights."""

    indicator: Indicator
    name: str
    function: Callable[..., Any]
    #: The scorer's vectorised form (None: row path only, or a cohort scorer).
    vector: VectorFunction | None
    cohort: bool
    fields: tuple[str, ...]
    max_score: Decimal
    #: Effective weight in the total (points method: 1), for the indicator's contribution.
    weight: Decimal
    version: str
    plugin: str
    #: The scorer's score as goalposts the generated code computes in floats (None: it calls ``function``).
    form: Goalposts | None = None


@attrs.frozen
class Part:
    """One indicator in a weighted sum: its weight (None: points that add up) and that weight in units."""

    indicator: str
    weight: Decimal | None
    units: int | None


@attrs.frozen
class WeightedSum:
    """A group (``name``) or the total (``name`` None) as its indicators' weighted sum."""

    name: str | None
    parts: tuple[Part, ...]


@attrs.frozen
class Child:
    """One part of a group in the group tree: an indicator or a group, its exact weight (None under the
    points method) and the most it can reach (for re-weighting points)."""

    kind: str  # indicator | group
    name: str
    weight: Fraction | None
    max_score: Fraction


@attrs.frozen
class GroupStep:
    """A group (``name``) or the total (``name`` None) as its parts combined by ``method``
    (weighted_mean, geometric_mean or points). The plan lists them parts first, the total last."""

    name: str | None
    method: str
    children: tuple[Child, ...]


#: A part left out of its group (missing, with ``missing: reweight``): the others are re-weighted.
LEFT_OUT: Final = "left out"


@attrs.frozen
class AdjustmentStep:
    """A bonus or deduction: ``points`` when ``when`` holds, or ``per_unit`` × ``input``; at most ``cap``."""

    adjustment: Adjustment
    id: str
    label: Label
    kind: str  # bonus | deduction
    when: Condition | None
    points: Decimal | None
    input: str | None
    per_unit: Decimal | None
    cap: Decimal | None
    origin: Origin
    #: The points a flat adjustment adds when it holds, capped, in units of the plan's adjust scale.
    units: int | None

    def limit(self, raw: Decimal) -> Decimal:
        """The points that count of ``raw``: at most the cap."""
        return _capped(raw, self.cap)


@attrs.frozen
class Level:
    """One rung of the grade ladder: reached from the rung below when the total and every gate hold."""

    grade: Grade
    label: Label
    min_total: Decimal
    gates: tuple[tuple[str, Condition], ...]
    origin: Origin


@attrs.frozen
class GradingPlan:
    """Everything grading needs, decided when the policy compiles; see the module docstring."""

    method: str  # weighted_sum | points | geometric_mean
    precision: int
    quantum: Decimal
    indicators: tuple[IndicatorStep, ...]
    groups: tuple[WeightedSum, ...]
    total: WeightedSum
    adjustments: tuple[AdjustmentStep, ...]
    bonus_cap: Decimal | None
    deduction_cap: Decimal | None
    vetoes: tuple[tuple[str, Label, Condition], ...]
    levels: tuple[Level, ...]
    #: Weights are whole numbers once scaled by ``10**weight_scale``.
    weight_scale: int
    #: Adjustment points and caps are whole numbers once scaled by ``10**adjust_scale`` (>= precision).
    adjust_scale: int
    #: Cohort scorers or imputation: a batch is fitted (:meth:`CompiledPolicy.fit`) first.
    needs_cohort: bool
    #: Why the columnar path cannot run this policy at all (None: it can).
    why_not_columnar: str | None
    #: The group tree, parts before wholes, the total last: set when groups nest, a group has its own
    #: method or an indicator may be left out and re-weighted (empty: the flat ``groups``/``total``).
    tree: tuple[GroupStep, ...] = ()
    #: Least share of indicators a unit needs data for to be graded at all (None: no screening).
    availability: Fraction | None = None

    def combine_tree(
        self, scores: Mapping[str, Decimal | None], left_out: Collection[str]
    ) -> tuple[dict[str, Decimal | None], Decimal | None]:
        """Each group's value (rounded) and the total before adjustments (rounded once), along the tree.

        Values stay exact (fractions) from the indicators' rounded scores up to the total; only what is
        reported is rounded. A part in ``left_out`` is dropped and the rest of its group re-weighted; a
        group whose every part is left out is itself left out; any other missing part leaves the group
        (and everything above it) without a value.
        """
        values: dict[str, Fraction | str | None] = {
            name: (LEFT_OUT if name in left_out else None if score is None else Fraction(score))
            for name, score in scores.items()
        }
        groups: dict[str, Decimal | None] = {}
        total: Fraction | str | None = None
        for step in self.tree:
            value = _combine_exact(step, [(child, values[child.name]) for child in step.children])
            if step.name is None:
                total = value
            else:
                values[step.name] = value
                groups[step.name] = self.round(_decimal(value)) if isinstance(value, Fraction) else None
        return groups, self.round(_decimal(total)) if isinstance(total, Fraction) else None

    def round(self, value: Decimal) -> Decimal:
        """Half-up to the policy's precision, as assessment methods round."""
        return value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def checked_score(self, step: IndicatorStep, result: object) -> Scored:
        """``result`` if it is a score of ``step`` (a :class:`Scored` with a finite Decimal in [0, max]);
        else :class:`_BadScore`, the same on both paths."""
        if not isinstance(result, Scored) or not isinstance(result.score, Decimal):
            found = type(result.score if isinstance(result, Scored) else result).__name__
            raise _BadScore(f"returned {found}, not a Scored with a Decimal score")
        if not result.score.is_finite() or not ZERO <= result.score <= step.max_score:
            raise _BadScore(f"score {result.score} is outside [0, {step.max_score}]")
        return result

    def adjusted(
        self,
        base: N,
        points: Sequence[tuple[AdjustmentStep, N]],
        *,
        zero: N,
        cap: Callable[[Decimal], N],
        minimum: Callable[[N, N], N],
        maximum: Callable[[N, N], N],
    ) -> N:
        """The total before rounding: ``base`` plus the bonuses less the deductions, each kind at most
        its cap (``cap`` turns a cap into the path's number), never below zero."""
        totals = {"bonus": zero, "deduction": zero}
        for step, amount in points:
            totals[step.kind] = totals[step.kind] + amount  # type: ignore[operator]
        bonus, deduction = totals["bonus"], totals["deduction"]
        if self.bonus_cap is not None:
            bonus = minimum(bonus, cap(self.bonus_cap))
        if self.deduction_cap is not None:
            deduction = minimum(deduction, cap(self.deduction_cap))
        return maximum(zero, base + bonus - deduction)  # type: ignore[operator]

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every condition the plan compares: the vetoes, the grades' gates, then the adjustments' ``when``."""
        found = [when for _, _, when in self.vetoes] + [gate for level in self.levels for _, gate in level.gates]
        return (*found, *(step.when for step in self.adjustments if step.when is not None))

    @property
    def grade_table(self) -> tuple[Grade | None, ...]:
        """The grade of each code 0..3 (:meth:`ladder`'s answers); all None for an index without grades."""
        return tuple(self.grade(code) for code in range(4))

    def grade(self, code: int) -> Grade | None:
        """The grade of a code (-1: not graded); None for every code when the policy has no grade levels."""
        return grade_of(code) if self.levels else None

    def ladder(self, met: Sequence[B], vetoed: B) -> Any:
        """The grade code(s) reached: each level only from the one below it (good only from pass) when
        everything it asks is ``met``; a veto makes it fail. Works on bools and on NumPy bool arrays."""
        code: Any = Grade.FAIL.rank
        for level, ok in zip(self.levels, met, strict=True):
            code = code + ((code == level.grade.rank - 1) & ok)
        return code - code * vetoed


def _decimal(value: Fraction) -> Decimal:
    """``value`` as a Decimal: exact when it is a finite decimal of at most 40 digits, else to 40 digits."""
    return CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def _combine_exact(step: GroupStep, parts: Sequence[tuple[Child, Fraction | str | None]]) -> Fraction | str | None:
    """One group's exact value from its parts' values, re-weighting over the parts not left out."""
    if any(value is None for _, value in parts):
        return None
    kept = [(child, value) for child, value in parts if isinstance(value, Fraction)]
    if not kept:
        return LEFT_OUT
    if step.method == "points":
        most = sum((child.max_score for child, _ in parts), Fraction(0))
        reached = sum((child.max_score for child, _ in kept), Fraction(0))
        return sum((value for _, value in kept), Fraction(0)) * most / reached
    weights = sum((child.weight or Fraction(0) for child, _ in kept), Fraction(0))
    if step.method == "geometric_mean":
        product = Decimal(1)
        for child, value in kept:
            exponent = _decimal((child.weight or Fraction(0)) / weights)
            product = CONTEXT.multiply(product, CONTEXT.power(_decimal(value), exponent))
        return Fraction(product)
    return sum(((child.weight or Fraction(0)) * value for child, value in kept), Fraction(0)) / weights


def _group_tree(policy: Policy) -> tuple[GroupStep, ...]:
    """The policy's groups as a tree of steps, parts before wholes, the total last."""
    agg = policy.aggregation
    points = agg.method == "points"
    children: dict[str | None, list[Child]] = {}
    for ind in policy.indicators.values():
        weight = None if points else ind.weight_exact or Fraction(ind.weight or 0)
        children.setdefault(ind.group, []).append(Child("indicator", ind.name, weight, Fraction(ind.max_score)))
    order: list[str] = []

    def visit(name: str) -> Fraction:
        for group in agg.groups.values():
            if group.parent == name:
                weight = None if points else group.weight_exact or Fraction(group.weight or 0)
                children.setdefault(name, []).append(Child("group", group.name, weight, visit(group.name)))
        order.append(name)
        return sum((c.max_score for c in children.get(name, [])), Fraction(0))

    for group in agg.groups.values():
        if group.parent is None:
            weight = None if points else group.weight_exact or Fraction(group.weight or 0)
            children.setdefault(None, []).append(Child("group", group.name, weight, visit(group.name)))
    steps = [GroupStep(name, agg.groups[name].method or agg.method, tuple(children.get(name, ()))) for name in order]
    return (*steps, GroupStep(None, agg.method, tuple(children.get(None, ()))))


def _path_weight(policy: Policy, indicator: Indicator) -> Decimal:
    """An indicator's nominal weight in the total: its weight times every enclosing group's."""
    weight = indicator.weight_exact or Fraction(indicator.weight or 0)
    group = policy.aggregation.groups.get(indicator.group) if indicator.group else None
    while group is not None:
        weight *= group.weight_exact or Fraction(group.weight or 0)
        group = policy.aggregation.groups.get(group.parent) if group.parent else None
    return weight_decimal(weight)


def _capped(points: Decimal, cap: Decimal | None) -> Decimal:
    return min(points, cap) if cap is not None else points


def _scorer(policy: Policy, host: PluginHost, indicator: Indicator) -> ScorerEntry:
    """``host``'s scorer for ``indicator``; when it has none, the policy was loaded with another host: say so."""
    try:
        return host.scorer(indicator.scorer)
    except PluginError as exc:
        problem = exc.problems[0]
        hint = (
            f"该政策加载时所用的插件宿主提供此评分方法，评定时请传入同一个 host= / the policy loaded, so the host it "
            f"was loaded with provides it: pass the same host= to compile_policy() or evaluate() ({problem.hint})"
        )
        where = policy.origin(("indicators", indicator.name, "scorer"))
        raise PluginError(
            attrs.evolve(
                problem,
                hint=hint,
                location=Location(where.file, where.line, where.column, f"indicators.{indicator.name}.scorer"),
            ),
            plugin=exc.plugin,
        ) from None


def _form(entry: ScorerEntry, indicator: Indicator) -> Goalposts | None:
    """The scorer's compiled form (:meth:`Scorer.compiled`); None when it has none, or gives something else or
    fails: its row function, which the interpreter calls and guards, then scores every record."""
    try:
        form = entry.scorer.compiled(indicator.params, indicator.max_score)
    except Exception:  # a plugin's bug in an optional form must not stop the policy compiling
        return None
    return form if isinstance(form, Goalposts) else None


def build_plan(policy: Policy, host: PluginHost) -> GradingPlan:
    """Decide everything grading ``policy`` needs, binding each indicator to its scorer from ``host``."""
    agg = policy.aggregation
    points = agg.method == "points"
    steps = []
    for indicator in policy.indicators.values():
        entry = _scorer(policy, host, indicator)
        if points:
            weight = Decimal(1)
        else:
            if indicator.weight is None:  # pragma: no cover - the loader requires weights
                raise ValueError(f"indicator {indicator.name} has no weight")
            group = agg.groups.get(indicator.group) if indicator.group else None
            outer = group.weight if group is not None and group.weight is not None else Decimal(1)
            weight = _path_weight(policy, indicator) if agg.nested else indicator.weight * outer
        cohort = entry.scorer.cohort
        steps.append(
            IndicatorStep(
                indicator=indicator,
                name=indicator.name,
                function=guarded(entry.scorer.build(indicator.params, indicator.max_score)),
                vector=None if cohort else entry.scorer.vectorized(indicator.params, indicator.max_score),
                cohort=cohort,
                fields=tuple(indicator.reads),
                max_score=indicator.max_score,
                weight=weight,
                version=entry.version,
                plugin=f"{entry.plugin} ({entry.distribution} {entry.distribution_version})",
                form=None if cohort else _form(entry, indicator),
            )
        )
    group_weights = {
        group: [(s.name, None if points else s.indicator.weight) for s in steps if s.indicator.group == group]
        for group in agg.groups
    }
    total_weights = [(s.name, None if points else s.weight) for s in steps]
    every = [w for ws in (*group_weights.values(), total_weights) for _, w in ws if w is not None]
    weight_scale = max((decimals(w) for w in every), default=0)

    def weighted(name: str | None, parts: list[tuple[str, Decimal | None]]) -> WeightedSum:
        return WeightedSum(name, tuple(Part(n, w, None if w is None else units(w, weight_scale)) for n, w in parts))

    numbers = [a.points for a in policy.adjustments.values() if a.points is not None]
    numbers += [a.cap for a in policy.adjustments.values() if a.cap is not None]
    numbers += [c for c in (agg.bonus_cap, agg.deduction_cap) if c is not None]
    adjust_scale = max([policy.precision, *(decimals(n) for n in numbers)])
    adjustments = tuple(
        AdjustmentStep(
            adjustment=a,
            id=a.id,
            label=a.label,
            kind=a.kind,
            when=a.when,
            points=a.points,
            input=a.input,
            per_unit=a.per_unit,
            cap=a.cap,
            origin=a.origin,
            units=None if a.points is None else units(_capped(a.points, a.cap), adjust_scale),
        )
        for a in policy.adjustments.values()
    )
    plan = GradingPlan(
        method=agg.method,
        precision=policy.precision,
        quantum=quantizer(policy.precision),
        indicators=tuple(steps),
        groups=tuple(weighted(g, ps) for g, ps in group_weights.items()),
        total=weighted(None, total_weights),
        adjustments=adjustments,
        bonus_cap=agg.bonus_cap,
        deduction_cap=agg.deduction_cap,
        vetoes=tuple((vid, v.label, v.when) for vid, v in policy.vetoes.items()),
        levels=tuple(Level(r.grade, r.label, r.min_total, tuple(r.gates.items()), r.origin) for r in policy.grades),
        weight_scale=weight_scale,
        adjust_scale=adjust_scale,
        needs_cohort=any(s.cohort or s.indicator.missing.rule == "impute" for s in steps),
        why_not_columnar=None,
        tree=_group_tree(policy) if agg.nested or any(i.missing.rule == "reweight" for i in steps_of(policy)) else (),
        availability=agg.availability,
    )
    return attrs.evolve(plan, why_not_columnar=columnar_refusal(policy, plan))


def steps_of(policy: Policy) -> tuple[Indicator, ...]:
    """The policy's indicators in order."""
    return tuple(policy.indicators.values())


def columnar_refusal(policy: Policy, plan: GradingPlan) -> str | None:
    """Why the columnar path cannot grade ``policy`` exactly in 64-bit integers (None: it can)."""
    if plan.method == "geometric_mean":
        return "the geometric mean is computed in exact decimals only"
    if plan.tree:
        return "nested groups, a group's own method and re-weighting are graded along the group tree in exact fractions"
    if plan.availability is not None:
        return "availability screening is done on the row path"
    per_unit = _why_not_per_unit(policy, plan)
    if per_unit is not None:
        return per_unit
    for cond in plan.conditions:
        if isinstance(cond.value, Decimal) and not float_exact(cond.value):
            return f"the condition {cond} has more than 15 significant digits"
        if cond.kind == "input" and isinstance(cond.value, bool) != (policy.inputs[cond.subject].type == "boolean"):
            return f"the condition {cond} compares a number with true/false"
    for spec in policy.inputs.values():
        if any(b is not None and not float_exact(b) for b in (spec.min, spec.max)):
            return f"the bounds of input {spec.name} have more than 15 significant digits"
    most = sum((s.max_score for s in plan.indicators), Decimal(0)).scaleb(plan.precision + plan.weight_scale)
    if most * 10 >= INT_ROOM:
        return "the weights have too many decimals for exact 64-bit sums"
    return None


def _why_not_per_unit(policy: Policy, plan: GradingPlan) -> str | None:
    """Why the columnar path cannot add the per-unit adjustments in 64-bit integers (None: it can): it
    counts whole inputs only, in units of the finest decimals of the points, caps and amounts per unit."""
    for step in plan.adjustments:
        spec = policy.inputs.get(step.input or "")
        if step.when is None and step.per_unit is not None and spec is not None and spec.type != "integer":
            return f"the per-unit adjustment {step.id} counts a number that is not whole, in exact decimals only"
    per_units = [decimals(step.per_unit) for step in plan.adjustments if step.per_unit is not None]
    finest = max([plan.adjust_scale, *per_units])
    most = sum((s.max_score for s in plan.indicators), Decimal(0)).scaleb(finest)
    if most * 10 >= INT_ROOM:
        return "the adjustments have too many decimals for exact 64-bit sums"
    return None
