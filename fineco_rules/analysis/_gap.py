"""Gap to the next grade: the least changes of a county's inputs that lift it, confirmed by the engine.

Solved in closed form where the total is linear in the input (``exact``), by a search over its range otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import Any, Final

import attrs

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import CountyRecord, check_records, raw_from_mapping
from fineco_rules.engine._results import Check, CountyResult, Evaluation, jsonable
from fineco_rules.errors import join, tr
from fineco_rules.io._numbers import CONTEXT, ZERO
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Grade, GradeRule, InputSpec, Policy
from fineco_rules.scoring._host import PluginHost
from fineco_rules.scoring._scorer import Better, Label, Value

__all__ = ["Gap", "Step", "find_gaps"]

EXACT: Final = "exact"
NO_SINGLE_INPUT: Final = tr("no single input is enough")
NOTHING_ENOUGH: Final = tr("no single input is enough, nor all of them together")
SEARCHED: Final = "searched"
#: Precision of the policy copy whose totals the closed-form solve reads (the policy's own rounding hides slopes).
_FINE: Final = 12
#: Two totals of that copy closer than this lie on one line.
_LINE_TOLERANCE: Final = Decimal("1e-9")
#: Probes per round of the search; a round narrows the range this many times.
_FAN: Final = 16
#: The useful room of an input is found to within this fraction of its range (one round of the search).
_ROOM_STEPS: Final = 16
#: Linear pieces the closed-form solve walks through before it gives up and searches.
_PIECES: Final = 4


@attrs.frozen
class Step:
    """One change of one input: from ``current`` to ``target`` (or beyond, in the direction of ``op``).

    ``method`` is ``exact`` (a closed-form solve: the gate's own threshold, or a total linear in
    the input between the two values) or ``searched`` (a search over the input's allowed range);
    either way the engine confirmed the value, and one grid step less does not do.
    """

    input: str
    label: Label
    current: Value
    target: Value
    op: str
    change: Decimal | None
    method: str
    reason: str
    ratio: bool = False

    def to_dict(self) -> dict[str, Any]:
        return jsonable(  # type: ignore[no-any-return]
            {
                "input": self.input,
                "label": self.label,
                "current": self.current,
                "target": self.target,
                "op": self.op,
                "change": self.change,
                "method": self.method,
                "reason": self.reason,
            }
        )


@attrs.frozen
class Gap:
    """What lifts one county to the next grade.

    Every change in ``required`` must be made (a gate of the next grade fails on that input);
    if ``enough``, they lift the county by themselves. Otherwise each of ``options``, made on
    top of them, is enough alone; options are ordered by how much of the input's room they
    use. When no single input is enough, ``plan`` moves the fewest inputs (by what each can add)
    together, each by one common share of its room, the least share that does. ``blocked``
    holds the vetoes that apply: no change of inputs is suggested then.
    """

    county: str
    name: str | None
    city: str | None
    grade: Grade
    target: Grade
    score: Decimal
    line: Decimal
    points: Decimal
    blocked: tuple[Check, ...] = ()
    required: tuple[Step, ...] = ()
    enough: bool = False
    options: tuple[Step, ...] = ()
    plan: tuple[Step, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "name": self.name,
            "city": self.city,
            "grade": self.grade.value,
            "target": self.target.value,
            "score": jsonable(self.score),
            "line": jsonable(self.line),
            "points": jsonable(self.points),
            "blocked": [c.id for c in self.blocked],
            "required": [s.to_dict() for s in self.required],
            "enough": self.enough,
            "options": [s.to_dict() for s in self.options],
            "plan": [s.to_dict() for s in self.plan],
            "note": self.note,
        }


# -- the problem of one county and one input ------------------------------------------------


@attrs.frozen
class _Pair:
    """Find the least k in 1..limit with the grade reached at ``start + direction * k * step``."""

    county: str
    field: str
    start: Decimal
    direction: int
    step: Decimal
    limit: int
    line: Decimal

    def value(self, k: int) -> Decimal:
        return self.start + self.direction * k * self.step

    def row(self, base: Mapping[str, Any], k: int) -> dict[str, Any]:
        return {**base, self.field: self.value(k)}


@attrs.frozen
class _Plan:
    """Move several inputs together, each by the same share ``k / _SHARES`` of its room: find the least k."""

    county: str
    pairs: tuple[_Pair, ...]
    limit: int = 1000

    def moved(self, pair: _Pair, k: int) -> int:
        return pair.limit * k // self.limit

    def row(self, base: Mapping[str, Any], k: int) -> dict[str, Any]:
        return {**base, **{p.field: p.value(self.moved(p, k)) for p in self.pairs}}


#: A probe: which engine ("fine" reads the total, "grade" the grade) and how many steps.
_Probe = tuple[str, int]
_Solver = Generator[list[_Probe], list[CountyResult], tuple[int, str] | None]
_Job = tuple[_Solver, "_Pair | _Plan", Mapping[str, Any]]


def _solve(pair: _Pair, target: Grade, slack: Decimal) -> _Solver:
    """Closed form on the fine total while it is linear in the input, then confirm on the grid; else search."""
    if pair.limit < 1:
        return None
    t0, t1 = (r.score for r in (yield [("fine", 0), ("fine", 1)]))
    if t0 is not None and t1 is not None and t1 > t0 and t0 < pair.line:
        k_from, t_from, slope = 0, t0, t1 - t0
        for _ in range(_PIECES):
            need = CONTEXT.divide(pair.line - t_from, slope).to_integral_value(rounding=ROUND_CEILING)
            k = k_from + max(int(need), 1)
            if k > pair.limit:
                break
            at, after = (r.score for r in (yield [("fine", k), ("fine", k + 1)]))
            if at is None or after is None:
                break
            if abs(at - (t_from + slope * (k - k_from))) > _LINE_TOLERANCE:
                if at > t_from + slope * (k - k_from):
                    break  # the slope rose on the way: the crossing lies earlier, between pieces
                k_from, t_from, slope = k, at, after - at  # a kink flattened the line: solve on from here
                if slope <= 0:
                    break
                continue
            # Linear up to k: the policy's rounding moves the crossing by at most `slack` points.
            reach = int((CONTEXT.divide(slack, slope)).to_integral_value(rounding=ROUND_CEILING)) + 1
            low, high = max(k - reach - 1, 0), min(k + reach + 1, pair.limit)
            low_ok, high_ok = (_reached(r, target) for r in (yield [("grade", low), ("grade", high)]))
            if (low_ok and low > 0) or not high_ok:
                break
            found = yield from _search(low, high, target)
            return found, EXACT
    (ok,) = (_reached(r, target) for r in (yield [("grade", pair.limit)]))
    if not ok:
        return None
    found = yield from _search(0, pair.limit, target)
    return found, SEARCHED


def _solve_plan(plan: _Plan, target: Grade) -> _Solver:
    (ok,) = (_reached(r, target) for r in (yield [("grade", plan.limit)]))
    if not ok:
        return None
    found = yield from _search(0, plan.limit, target)
    return found, SEARCHED


def _search(
    low: int,
    high: int,
    target: Grade,
    engine: str = "grade",
    done: Callable[[CountyResult], bool] | None = None,
    within: int = 1,
) -> Generator[list[_Probe], list[CountyResult], int]:
    """The least k in (low, high] at which ``done`` holds (default: ``target`` is reached), where low fails and high
    holds; ``done`` must not fail again once it holds. Stops once the range is ``within`` steps wide."""
    test = done if done is not None else (lambda r: _reached(r, target))
    while high - low > max(within, 1):
        span = high - low
        ks = sorted({low + max(1, span * i // (_FAN + 1)) for i in range(1, _FAN + 1)} - {high})
        if not ks:
            break
        results = yield [(engine, k) for k in ks]
        for k, result in zip(ks, results, strict=True):
            if test(result):
                high = k
                break
            low = k
    return high


def _saturation(pair: _Pair) -> _Solver:
    """The least k from which the input adds nothing more to the total (its goalpost): the useful room."""
    if pair.limit < 1:
        return None
    start, end = yield [("fine", 0), ("fine", pair.limit)]
    if start.score is None or end.score is None or end.score <= start.score:
        return None
    top = end.score
    # Near enough is enough here: the room orders options and paces plans; it answers no question itself.
    within = pair.limit // _ROOM_STEPS
    found = yield from _search(
        0, pair.limit, Grade.GOOD, "fine", lambda r: r.score is not None and r.score >= top, within
    )
    return found, SEARCHED


def _reached(result: CountyResult, target: Grade) -> bool:
    return result.grade is not None and result.grade >= target


# -- driving many solvers at once --------------------------------------------------------------


class _Driver:
    """Runs every solver, batching their probes into few engine calls (compile once, evaluate many)."""

    def __init__(
        self, compiled: CompiledPolicy, fine: CompiledPolicy, context: Sequence[Mapping[str, Any]] | None, key: str
    ):
        self.compiled, self.fine, self.context, self.key = compiled, fine, context, key

    def run(self, jobs: Sequence[_Job]) -> list[tuple[int, str] | None]:
        answers: list[tuple[int, str] | None] = [None] * len(jobs)
        pending: dict[int, list[_Probe]] = {}
        for i, (solver, _, _) in enumerate(jobs):
            try:
                pending[i] = next(solver)
            except StopIteration as stop:
                answers[i] = stop.value
        while pending:
            replies = self._evaluate({i: (jobs[i][1], jobs[i][2], probes) for i, probes in pending.items()})
            after: dict[int, list[_Probe]] = {}
            for i, results in replies.items():
                try:
                    after[i] = jobs[i][0].send(results)
                except StopIteration as stop:
                    answers[i] = stop.value
            pending = after
        return answers

    def _evaluate(
        self, asks: Mapping[int, tuple[_Pair | _Plan, Mapping[str, Any], list[_Probe]]]
    ) -> dict[int, list[CountyResult]]:
        out: dict[int, list[CountyResult | None]] = {i: [None] * len(probes) for i, (_, _, probes) in asks.items()}
        for engine, compiled in (("fine", self.fine), ("grade", self.compiled)):
            rows = [
                (i, at, job.row(base, k))
                for i, (job, base, probes) in asks.items()
                for at, (kind, k) in enumerate(probes)
                if kind == engine
            ]
            for (i, at, _), result in zip(rows, self._grade(compiled, [row for _, _, row in rows]), strict=True):
                out[i][at] = result
        return {i: [r for r in results if r is not None] for i, results in out.items()}

    def grade(self, rows: Sequence[Mapping[str, Any]]) -> list[CountyResult]:
        """Grade each row with the policy itself."""
        return self._grade(self.compiled, rows)

    def fine_totals(self, rows: Sequence[Mapping[str, Any]]) -> list[Decimal | None]:
        """The total of each row, barely rounded."""
        return [r.score for r in self._grade(self.fine, rows)]

    def _grade(self, compiled: CompiledPolicy, rows: Sequence[Mapping[str, Any]]) -> list[CountyResult]:
        if not rows:
            return []
        if self.context is None:
            # Each variant gets a code of its own so that the batch has no duplicates; imputed values are
            # already filled in, so the variants' values never reach another county's result.
            numbered = [{**row, self.key: str(100000 + n)} for n, row in enumerate(rows)]
            return list(compiled.evaluate(raw_from_mapping(r, n) for n, r in enumerate(numbered)).results)
        # A cohort scorer grades a county against the others: each variant is graded inside the real batch.
        found = []
        for row in rows:
            batch = [row if other.get(self.key) == row[self.key] else other for other in self.context]
            result = compiled.evaluate(raw_from_mapping(r, n) for n, r in enumerate(batch)).by_county()
            found.append(result[row[self.key]])
        return found


# -- gaps ---------------------------------------------------------------------------------------


def _decimals(value: Value | None) -> int:
    if not isinstance(value, Decimal):
        return 0
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _thresholds(policy: Policy) -> dict[str, list[Value]]:
    """The values each input is compared with in a gate, veto or adjustment condition."""
    out: dict[str, list[Value]] = {}
    conditions = [g for rule in policy.grades for g in rule.gates.values()] + [v.when for v in policy.vetoes.values()]
    conditions += [a.when for a in policy.adjustments.values() if a.when is not None]
    for cond in conditions:
        if cond.kind == "input":
            out.setdefault(cond.subject, []).append(cond.value)
    return out


def _grid(policy: Policy, thresholds: Mapping[str, list[Value]], record: CountyRecord) -> dict[str, Decimal]:
    """The step of each numeric input of one county: 1 for integers; else the finer of its thresholds' places and
    its own value's places, the latter no finer than the policy's precision (in percent for a ratio).

    Only the county's own value counts: one long value elsewhere in the batch does not make every gap read long.
    """
    out = {}
    for name, spec in policy.inputs.items():
        if spec.type == "integer":
            out[name] = Decimal(1)
        elif spec.type in ("ratio", "number"):
            stated = policy.precision + (2 if spec.type == "ratio" else 0)
            own = min(_decimals(record.values.get(name)), stated)
            places = max([own] + [_decimals(v) for v in thresholds.get(name, [])])
            out[name] = Decimal(1).scaleb(-places)
    return out


def _limit(spec: InputSpec, start: Decimal, direction: int, step: Decimal, largest: Decimal) -> int:
    """How many steps the input may move: to its declared bound, or (unbounded) to twice the largest value seen."""
    if direction > 0:
        top = spec.max if spec.max is not None else max(2 * largest, 2 * start, start + 100 * step)
        room = top - start
    else:
        bottom = spec.min if spec.min is not None else min(ZERO, start - 100 * step)
        room = start - bottom
    return max(math.floor(room / step), 0)


def _next(policy: Policy, grade: Grade) -> GradeRule | None:
    return next((rule for rule in policy.grades if rule.grade.rank == grade.rank + 1), None)


def _required(
    policy: Policy,
    rule: GradeRule,
    result: CountyResult,
    values: Mapping[str, Value | None],
    grid: Mapping[str, Decimal],
) -> tuple[list[Step], str | None]:
    """The input gates of the next grade that fail, each as the least change that meets it."""
    steps, note = [], None
    for check in result.checks.get(rule.grade, ()):
        gate = rule.gates.get(check.id)
        if check.kind != "gate" or check.met is not False or gate is None or gate.kind != "input":
            continue
        spec = policy.inputs[gate.subject]
        current = values.get(gate.subject)
        if current is None:
            continue
        if isinstance(gate.value, bool):
            wanted: Value = gate.value if gate.op == "==" else not gate.value
            steps.append(Step(gate.subject, spec.label, current, wanted, "==", None, EXACT, f"gate:{check.id}"))
            continue
        if not isinstance(current, Decimal):
            continue
        step = grid.get(gate.subject, Decimal(1))
        target = {
            ">=": gate.value,
            ">": gate.value + step,
            "<=": gate.value,
            "<": gate.value - step,
            "==": gate.value,
            "!=": gate.value + step,
        }[gate.op]
        if (spec.min is not None and target < spec.min) or (spec.max is not None and target > spec.max):
            note = tr(
                "{input} cannot meet {op} {value} within its allowed range",
                input=gate.subject,
                op=gate.op,
                value=gate.value,
            )
        op = ">=" if target > current else "<=" if target < current else "=="
        steps.append(
            Step(
                gate.subject, spec.label, current, target, op, target - current, EXACT, f"gate:{check.id}", _ratio(spec)
            )
        )
    return steps, note


def _ratio(spec: InputSpec) -> bool:
    return spec.type == "ratio"


def find_gaps(
    policy: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord],
    *,
    evaluation: Evaluation | None = None,
    counties: Iterable[str] | None = None,
    host: PluginHost | None = None,
) -> dict[str, Gap]:
    """For each graded county below the top grade, the changes that lift it to the next one.

    ``records`` are the batch that was (or is to be) evaluated; pass its ``evaluation`` to
    avoid grading it again. ``counties`` limits the work to these codes. Each suggested
    change is confirmed by re-grading the changed county with the same compiled policy.
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    raws = [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
    batch = _Batch.of(compiled, raws, compiled.evaluate(raws) if evaluation is None else evaluation)
    wanted = None if counties is None else set(counties)
    gaps: dict[str, Gap] = {}
    bases: dict[str, dict[str, Any]] = {}
    for result in batch.evaluation.results:
        if wanted is None or result.county in wanted:
            batch.start(result, gaps, bases)
    batch.confirm_required(gaps, bases)
    useful = batch.find_options(gaps, bases)
    batch.find_plans(gaps, bases, useful)
    return gaps


@attrs.frozen
class _Batch:
    """What every county's gap shares: the policy, the checked records, the engines that re-grade variants."""

    policy: Policy
    evaluation: Evaluation
    by_code: Mapping[str, CountyRecord]
    thresholds: Mapping[str, list[Value]]
    largest: Mapping[str, Decimal]
    cohort: bool
    driver: _Driver
    #: Rounding each indicator and the total moves a total by at most half a unit of the last place each time.
    slack: Decimal

    @classmethod
    def of(cls, compiled: CompiledPolicy, raws: Sequence[RawRecord], evaluation: Evaluation) -> _Batch:
        plain = compiled.policy
        checked, _ = check_records(plain, raws)
        by_code: dict[str, CountyRecord] = {}
        for record in checked:
            by_code.setdefault(record.county, record)
        largest = {
            name: max((v for r in checked if isinstance(v := r.values.get(name), Decimal)), default=ZERO)
            for name in plain.inputs
        }
        cohort = any(compiled.host.scorer(ind.scorer).scorer.cohort for ind in plain.indicators.values())
        key = plain.unit.key
        context = [_row(key, r, dict(r.values)) for r in checked] if cohort else None
        fine = CompiledPolicy(attrs.evolve(plain, precision=max(plain.precision, _FINE)), compiled.host)
        slack = Decimal(len(plain.indicators) + 2) * Decimal(1).scaleb(-plain.precision) / 2
        driver = _Driver(compiled, fine, context, key)
        return cls(plain, evaluation, by_code, _thresholds(plain), largest, cohort, driver, slack)

    def start(self, result: CountyResult, gaps: dict[str, Gap], bases: dict[str, dict[str, Any]]) -> None:
        """The county's gap as far as the gates of the next grade decide it, and the row its variants start from."""
        mine = self.by_code.get(result.county)
        if result.grade is None or result.score is None or mine is None:
            return
        rule = _next(self.policy, result.grade)
        if rule is None:
            return
        points = max(rule.min_total - result.score, ZERO)
        gap = Gap(
            result.county, result.name, result.city, result.grade, rule.grade, result.score, rule.min_total, points
        )
        hits = tuple(c for c in result.vetoes if c.met)
        if hits:
            gaps[result.county] = attrs.evolve(gap, blocked=hits)
            return
        values = dict(mine.values)
        if not self.cohort:
            values |= _imputed(result)
        grid = _grid(self.policy, self.thresholds, mine)
        required, note = _required(self.policy, rule, result, values, grid)
        for change in required:
            values[change.input] = change.target
        # A changed figure no longer agrees with the lower-level rows it was rolled up from (townships, villages):
        # the variants leave optional tables out, and a change then reads "rate enough units to reach this share".
        for name, spec in self.policy.inputs.items():
            if spec.type == "table" and not spec.required:
                values.pop(name, None)
        gaps[result.county] = attrs.evolve(gap, required=tuple(required), note=note)
        bases[result.county] = _row(self.policy.unit.key, mine, values)

    def confirm_required(self, gaps: dict[str, Gap], bases: Mapping[str, Mapping[str, Any]]) -> None:
        """Grade each county with its required changes made: enough alone, or why it is then not graded."""
        graded = dict(zip(bases, self.driver.grade(list(bases.values())), strict=True))
        for code, result in graded.items():
            gap = gaps[code]
            if result.grade is None and gap.note is None:
                why = join((p.message for p in result.errors), en="; ", zh="；") if result.errors else tr("not graded")
                gap = attrs.evolve(gap, note=tr("with the required changes the county is not graded: {why}", why=why))
            enough = _reached(result, gap.target)
            gaps[code] = attrs.evolve(gap, enough=enough) if enough or gap.note else gap

    def find_options(self, gaps: dict[str, Gap], bases: Mapping[str, Mapping[str, Any]]) -> dict[str, list[_Pair]]:
        """Each single input that lifts a county on top of its required changes, least room used first.

        Returns each county's inputs that can raise its total, with their useful room, for :meth:`find_plans`.
        """
        jobs: list[_Job] = []
        for code, base in bases.items():
            if not gaps[code].enough and not gaps[code].note:
                for one in self._pairs(code, base, gaps[code]):
                    jobs.append((_solve(one, gaps[code].target, self.slack), one, base))
                    jobs.append((_saturation(one), one, base))
        answers = self.driver.run(jobs)
        found: dict[str, list[tuple[Fraction, Step]]] = {}
        useful: dict[str, list[_Pair]] = {}
        for (_, job, _), answer, room in zip(jobs[::2], answers[::2], answers[1::2], strict=True):
            if not isinstance(job, _Pair):  # every second job is a saturation probe of the same pair
                continue
            if room is None:
                continue  # the input cannot raise this county's total at all
            useful.setdefault(job.county, []).append(attrs.evolve(job, limit=room[0]))
            if answer is not None:
                k, method = answer
                effort = Fraction(k, room[0]) if k <= room[0] else Fraction(1)
                step = _step(self.policy, self.by_code[job.county], job, k, method, "score")
                found.setdefault(job.county, []).append((effort, step))
        for code, steps in found.items():
            steps.sort(key=lambda s: (s[0], s[1].input))
            gaps[code] = attrs.evolve(gaps[code], options=tuple(step for _, step in steps))
        return useful

    def _pairs(self, code: str, base: Mapping[str, Any], gap: Gap) -> list[_Pair]:
        """The inputs of one county that a change could help, each as a search problem on its grid."""
        grid = _grid(self.policy, self.thresholds, self.by_code[code])
        imputed = _imputed_fields(self.evaluation.by_county()[code])
        out = []
        for name, spec in self.policy.inputs.items():
            start = base.get(name)
            if spec.internal or spec.better == Better.NONE or name not in grid or not isinstance(start, Decimal):
                continue
            if name in imputed:
                continue
            direction = 1 if spec.better == Better.HIGHER else -1
            unit = grid[name]
            limit = _limit(spec, start, direction, unit, self.largest[name])
            out.append(_Pair(code, name, start, direction, unit, limit, gap.line))
        return out

    def find_plans(
        self, gaps: dict[str, Gap], bases: Mapping[str, Mapping[str, Any]], useful: Mapping[str, list[_Pair]]
    ) -> None:
        """For counties no single input lifts, the fewest inputs moved together that do, or a note that none do."""
        stuck = [c for c in bases if not gaps[c].enough and not gaps[c].options and gaps[c].note is None]
        for code, (plan, k) in _plans(self.driver, {c: useful.get(c, []) for c in stuck}, bases, gaps).items():
            moves = [_step(self.policy, self.by_code[code], p, plan.moved(p, k), SEARCHED, "plan") for p in plan.pairs]
            gaps[code] = attrs.evolve(gaps[code], plan=tuple(m for m in moves if m.change), note=NO_SINGLE_INPUT)
        for code in stuck:
            if not gaps[code].plan:
                gaps[code] = attrs.evolve(gaps[code], note=NOTHING_ENOUGH)


def _plans(
    driver: _Driver,
    candidates: Mapping[str, list[_Pair]],
    bases: Mapping[str, Mapping[str, Any]],
    gaps: Mapping[str, Gap],
) -> dict[str, tuple[_Plan, int]]:
    """For counties no single input lifts: the fewest inputs, by gain, that moved by one equal share of their room do.

    Each input's gain is what moving it all the way adds to the (fine) total; the inputs are tried
    in order of gain, and the least common share is searched.
    """
    gains: dict[str, list[tuple[Decimal, _Pair]]] = {}
    rows = [(code, pair) for code, found in candidates.items() for pair in found if pair.limit > 0]
    totals = driver.fine_totals([bases[code] for code, _ in rows] + [p.row(bases[c], p.limit) for c, p in rows])
    for n, (code, pair) in enumerate(rows):
        before, after = totals[n], totals[len(rows) + n]
        if before is not None and after is not None and after > before:
            gains.setdefault(code, []).append((after - before, pair))
    trials: list[tuple[str, _Plan]] = []
    for code, found in gains.items():
        found.sort(key=lambda g: (-g[0], g[1].field))
        trials += [(code, _Plan(code, tuple(p for _, p in found[:m]))) for m in range(1, len(found) + 1)]
    reached = driver.grade([plan.row(bases[code], plan.limit) for code, plan in trials])
    chosen: dict[str, _Plan] = {}
    for (code, plan), result in zip(trials, reached, strict=True):
        if code not in chosen and _reached(result, gaps[code].target):
            chosen[code] = plan
    answers = driver.run([(_solve_plan(plan, gaps[code].target), plan, bases[code]) for code, plan in chosen.items()])
    return {code: (plan, answer[0]) for (code, plan), answer in zip(chosen.items(), answers, strict=True) if answer}


def _step(policy: Policy, record: CountyRecord, pair: _Pair, k: int, method: str, reason: str) -> Step:
    spec = policy.inputs[pair.field]
    current = record.values[pair.field]
    if not isinstance(current, Decimal):
        raise TypeError(f"{pair.field}: a gap step needs a number, found {current!r}")  # only numeric inputs pair
    target = pair.value(k)
    op = ">=" if pair.direction > 0 else "<="
    return Step(pair.field, spec.label, current, target, op, target - current, method, reason, _ratio(spec))


def _imputed_fields(result: CountyResult) -> set[str]:
    return {f for ind in result.indicators.values() if ind.treatment for f in ind.missing}


def _imputed(result: CountyResult) -> dict[str, Value]:
    """The values the engine imputed for this county, so that a variant graded alone is graded the same."""
    out: dict[str, Value] = {}
    for ind in result.indicators.values():
        if ind.treatment:
            for field in ind.missing:
                value = ind.inputs.get(field)
                if value is not None:
                    out.setdefault(field, value)
    return out


def _row(key: str, record: CountyRecord, values: Mapping[str, Value | None]) -> dict[str, Any]:
    row: dict[str, Any] = {key: record.county, "name": record.name, "city": record.city}
    row.update({k: v for k, v in values.items() if v is not None})
    return row
