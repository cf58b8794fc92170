"""How much the grades hang on the policy's weights and thresholds: seeded perturbation runs, first-order indices."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from fineco_rules.analysis._targets import LastYear, shown_figure, summarize
from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import raw_from_mapping
from fineco_rules.engine._results import CountyResult, jsonable
from fineco_rules.errors import Code, Problem, SensitivityError, tr
from fineco_rules.io._numbers import CONTEXT, ONE, ZERO
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Grade, Policy
from fineco_rules.scoring._host import PluginHost

__all__ = [
    "CountySensitivity",
    "Factor",
    "Sensitivity",
    "SensitivityError",
    "TargetRange",
    "factor_label",
    "sensitivity",
]

#: Draws are whole millionths: exact decimals, the same on every machine for one seed.
_DRAW: Final = 10**6
#: Perturbed points and weights are kept to this many decimals.
_PLACES: Final = Decimal("0.0001")


@attrs.frozen
class Factor:
    """One choice that is perturbed: its nominal value and the bounds it is drawn from (uniformly)."""

    id: str  # "indicator:credit", "group:legal", "grade:pass", "gate:pass:npl_below_6pct"
    kind: Literal["weight", "threshold"]
    nominal: Decimal
    low: Decimal
    high: Decimal

    def to_dict(self) -> dict[str, Any]:
        return jsonable(attrs.asdict(self, recurse=False))  # type: ignore[no-any-return]


@attrs.frozen
class CountySensitivity:
    """One county over all runs: how often its grade differs from the nominal one, and what moves it most.

    ``indices`` are first-order indices of the county's grade (fail 0, pass 1, good 2) for each
    factor; they are empty when the grade never changes. ``driver`` is the factor with the
    largest index.
    """

    county: str
    name: str | None
    grade: Grade | None
    changed: Decimal
    grades: Mapping[str, int]
    score_low: Decimal | None
    score_high: Decimal | None
    indices: Mapping[str, Decimal]
    driver: str | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(attrs.asdict(self, recurse=False))  # type: ignore[no-any-return]


@attrs.frozen
class TargetRange:
    """A province-wide target figure over all runs: its nominal value, lowest and highest, and how often it is met."""

    id: str
    nominal: Decimal | None
    low: Decimal | None
    high: Decimal | None
    met: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "nominal": _figure(self.nominal),
            "low": _figure(self.low),
            "high": _figure(self.high),
            "met": _figure(self.met),
        }


def _figure(value: Decimal | None) -> Any:
    return None if value is None else jsonable(shown_figure(value))


@attrs.frozen(eq=False)
class Sensitivity:
    policy: Policy
    runs: int
    seed: int
    factors: tuple[Factor, ...]
    counties: tuple[CountySensitivity, ...]
    targets: tuple[TargetRange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {"id": self.policy.id, "version": self.policy.version},
            "runs": self.runs,
            "seed": self.seed,
            "method": "first-order indices from one sample (equal-count bins, bias-corrected)",
            "factors": [f.to_dict() for f in self.factors],
            "counties": [c.to_dict() for c in self.counties],
            "targets": [t.to_dict() for t in self.targets],
        }


def _factors(policy: Policy, weights: Decimal, thresholds: Decimal) -> list[Factor]:
    def around(fid: str, kind: Literal["weight", "threshold"], value: Decimal, spread: Decimal) -> Factor:
        low, high = value * (ONE - spread), value * (ONE + spread)
        return Factor(fid, kind, value, min(low, high), max(low, high))

    found = []
    if weights:
        for name, ind in policy.indicators.items():
            nominal = ind.points if policy.aggregation.method == "points" else ind.weight
            if nominal is not None and nominal > 0:
                found.append(around(f"indicator:{name}", "weight", nominal, weights))
        if policy.aggregation.method != "points":
            for name, group in policy.aggregation.groups.items():
                if group.weight is not None and group.weight > 0:
                    found.append(around(f"group:{name}", "weight", group.weight, weights))
    if thresholds:
        for rule in policy.grades:
            found.append(around(f"grade:{rule.grade.value}", "threshold", rule.min_total, thresholds))
            for gid, gate in rule.gates.items():
                if isinstance(gate.value, Decimal) and gate.value:
                    found.append(around(f"gate:{rule.grade.value}:{gid}", "threshold", gate.value, thresholds))
    return found


def _perturbed(policy: Policy, values: Mapping[str, Decimal]) -> Policy:
    """The policy with each factor set; points (weights) are scaled back to the old total (to 1 in each group)."""
    agg = policy.aggregation
    indicators = dict(policy.indicators)
    points = agg.method == "points"
    scaled = {
        n: values.get(f"indicator:{n}", (i.points if points else i.weight) or ZERO) for n, i in indicators.items()
    }
    members: dict[str | None, list[str]] = {}
    for name, ind in indicators.items():
        members.setdefault(None if points else ind.group, []).append(name)
    for group, names in members.items():
        want = agg.total if points else ONE
        have = sum((scaled[n] for n in names), ZERO)
        if points:
            want = sum(((indicators[n].points or ZERO) for n in names), ZERO)
        elif group is None:
            want = sum(((indicators[n].weight or ZERO) for n in names), ZERO)
        for n in names:
            value = CONTEXT.divide(scaled[n] * want, have).quantize(_PLACES) if have else scaled[n]
            ind = indicators[n]
            indicators[n] = attrs.evolve(ind, points=value) if points else attrs.evolve(ind, weight=value)
    groups = dict(agg.groups)
    if not points and groups:
        raw = {n: values.get(f"group:{n}", g.weight or ZERO) for n, g in groups.items()}
        total = sum(raw.values(), ZERO)
        groups = {n: attrs.evolve(g, weight=CONTEXT.divide(raw[n], total).quantize(_PLACES)) for n, g in groups.items()}
    grades = tuple(
        attrs.evolve(
            rule,
            min_total=values.get(f"grade:{rule.grade.value}", rule.min_total),
            gates={
                gid: attrs.evolve(gate, value=values.get(f"gate:{rule.grade.value}:{gid}", gate.value))
                for gid, gate in rule.gates.items()
            },
        )
        for rule in policy.grades
    )
    return attrs.evolve(policy, indicators=indicators, aggregation=attrs.evolve(agg, groups=groups), grades=grades)


def _first_order(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Var(E[Y | X]) / Var(Y) estimated from one sample: the variance of the means of equal-count bins of X, less
    what the bins would show by chance ((bins - 1) / n of the variance), clipped to [0, 1]."""
    n = len(ys)
    mean = math.fsum(ys) / n
    total = math.fsum((y - mean) ** 2 for y in ys) / n
    if total == 0:
        return 0.0
    bins = max(2, math.isqrt(n) // 2)
    order = sorted(range(n), key=lambda i: (xs[i], i))
    between = 0.0
    for b in range(bins):
        members = order[b * n // bins : (b + 1) * n // bins]
        if members:
            part = math.fsum(ys[i] for i in members) / len(members)
            between += len(members) * (part - mean) ** 2
    index = between / n / total - (bins - 1) / n
    return min(max(index, 0.0), 1.0)


def sensitivity(
    policy: Policy,
    records: Iterable[Mapping[str, object] | RawRecord],
    *,
    runs: int = 256,
    seed: int = 0,
    weights: Decimal | str | float = Decimal("0.2"),
    thresholds: Decimal | str | float = ZERO,
    last_year: LastYear | None = None,
    host: PluginHost | None = None,
) -> Sensitivity:
    """Perturb the policy ``runs`` times and grade ``records`` each time.

    Each indicator's points (or weight, and each group's weight) is drawn uniformly within
    ``± weights`` of its value (relative; the points are then scaled back to the old total),
    and with ``thresholds`` each grade's ``min_total`` and numeric gate value within ``±
    thresholds`` of its own. The draws come from ``seed`` alone, so a run is reproducible.
    Every perturbed policy is compiled once and grades the whole batch.
    """
    spread_w, spread_t = Decimal(str(weights)), Decimal(str(thresholds))
    _check_spreads(runs, spread_w, spread_t)
    base = compile_policy(policy, host)
    raws = [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
    nominal = base.evaluate(raws)
    factors = _factors(policy, spread_w, spread_t)
    sample = _Sample.draw(policy, base, raws, factors, runs, seed, last_year)
    counties = [sample.county(result, factors) for result in nominal.results]
    nominal_targets = {t.target.id: t.figure for t in summarize(nominal, last_year).province.targets}
    targets = [sample.target(tid, value) for tid, value in nominal_targets.items()]
    return Sensitivity(policy, runs, seed, tuple(factors), tuple(counties), tuple(targets))


def _check_spreads(runs: int, spread_w: Decimal, spread_t: Decimal) -> None:
    if runs < 2 or spread_w < 0 or spread_t < 0 or spread_w >= 1 or spread_t >= 1:
        raise SensitivityError(
            Problem(
                tr(
                    "runs {runs}, weights {weights}, thresholds {thresholds}",
                    runs=runs,
                    weights=spread_w,
                    thresholds=spread_t,
                ),
                hint=tr("give at least 2 runs and spreads between 0 and 1 (0.2 means ±{percent})", percent="20 %"),
                code=Code.BAD_SENSITIVITY,
            )
        )


@attrs.frozen
class _Sample:
    """What each perturbed run drew and gave: the factor values, each county's grade and score, each target."""

    runs: int
    draws: list[dict[str, Decimal]]
    outcomes: list[dict[str, tuple[Grade | None, Decimal | None]]]
    figures: list[dict[str, tuple[Decimal | None, bool | None]]]

    @classmethod
    def draw(
        cls,
        policy: Policy,
        base: CompiledPolicy,
        raws: list[RawRecord],
        factors: list[Factor],
        runs: int,
        seed: int,
        last_year: LastYear | None,
    ) -> _Sample:
        rng = random.Random(seed)
        sample = cls(runs, [], [], [])
        for _ in range(runs):
            values = {f.id: f.low + (f.high - f.low) * Decimal(rng.randrange(_DRAW + 1)) / _DRAW for f in factors}
            compiled = CompiledPolicy(_perturbed(policy, values), base.host)
            evaluation = compiled.evaluate(raws)
            sample.draws.append(values)
            sample.outcomes.append({r.county: (r.grade, r.score) for r in evaluation.results})
            summary = summarize(evaluation, last_year)
            sample.figures.append({t.target.id: (t.figure, t.met) for t in summary.province.targets})
        return sample

    def county(self, result: CountyResult, factors: list[Factor]) -> CountySensitivity:
        """How often the county's grade moved, the range of its score, and which factor moved it most."""
        seen = [o[result.county] for o in self.outcomes]
        grades = {g.value: sum(1 for grade, _ in seen if grade == g) for g in (Grade.FAIL, Grade.PASS, Grade.GOOD)}
        grades["not_graded"] = sum(1 for grade, _ in seen if grade is None)
        changed = sum(1 for grade, _ in seen if grade != result.grade)
        scores = [s for _, s in seen if s is not None]
        indices: dict[str, Decimal] = {}
        if changed:
            ys = [float(g.rank) if g is not None else -1.0 for g, _ in seen]
            for f in factors:
                xs = [float(d[f.id]) for d in self.draws]
                indices[f.id] = Decimal(repr(round(_first_order(xs, ys), 4)))
        driver = max(indices, key=lambda k: (indices[k], k)) if indices and max(indices.values()) > 0 else None
        return CountySensitivity(
            result.county,
            result.name,
            result.grade,
            CONTEXT.divide(Decimal(changed), Decimal(self.runs)),
            grades,
            min(scores, default=None),
            max(scores, default=None),
            indices,
            driver,
        )

    def target(self, tid: str, value: Decimal | None) -> TargetRange:
        """The range a province target's figure took over the runs, and how often it was met."""
        found = [v for f in self.figures if (v := f[tid][0]) is not None]
        met = sum(1 for f in self.figures if f[tid][1])
        return TargetRange(
            tid, value, min(found, default=None), max(found, default=None), CONTEXT.divide(Decimal(met), self.runs)
        )


#: What a factor varies, in Chinese, around the label of the item it varies.
_FACTOR_ZH: Final = {
    "indicator": tr("weight of {label}"),
    "group": tr("weight of {label}"),
    "grade": tr("{label} grade line"),
    "gate": tr("{label} gate"),
}


def factor_label(factor: str, policy: Policy, lang: str) -> str:
    """A perturbed factor by the labels of the policy: ``indicator:credit`` is 信用环境建设的权重 in Chinese
    (English keeps the factor's id, as before)."""
    if lang != "zh":
        return factor
    kind, _, rest = factor.partition(":")
    label: str | None = None
    if kind == "indicator" and rest in policy.indicators:
        label = policy.indicators[rest].label.zh
    elif kind == "group" and rest in policy.aggregation.groups:
        label = policy.aggregation.groups[rest].label.zh
    elif kind in ("grade", "gate"):
        grade, _, gate = rest.partition(":")
        rule = next((r for r in policy.grades if r.grade.value == grade), None)
        if rule is not None:
            found = rule.gates.get(gate) if gate else None
            label = rule.grade.label.zh if found is None else found.label.zh if found.label else gate
    if label is None:
        return factor
    return _FACTOR_ZH[kind].render("zh").format(label=label)
