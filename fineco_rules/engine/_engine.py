"""Compiling a policy once, then grading batches of county records with it."""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from fineco_rules.engine._generated import Generated, generate
from fineco_rules.engine._plan import (
    LEFT_OUT,
    AdjustmentStep,
    GradingPlan,
    IndicatorStep,
    _BadScore,
    build_plan,
)
from fineco_rules.engine._records import META_FIELDS, CountyRecord, check_records, raw_from_mapping
from fineco_rules.engine._results import (
    AdjustmentResult,
    Check,
    CheckKind,
    CountyResult,
    Deferred,
    Evaluation,
    IndicatorResult,
)
from fineco_rules.errors import Code, Location, Problem, RecordError, join, tr
from fineco_rules.io._numbers import CONTEXT, ZERO
from fineco_rules.io._readers import RawRecord, paused_gc
from fineco_rules.policy._model import Condition, Grade, Policy
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._host import PluginHost, default_plugin_host
from fineco_rules.scoring._scorer import Scored, Value

__all__ = ["Cohort", "CompiledPolicy", "Progress", "compile_policy", "evaluate"]

#: County codes the interpreter accepts as they are (no spaces to strip, ASCII digits), run together.
#: A record's county code, the total of a packed answer, its grade code.
_COUNTY: Final = operator.itemgetter("county")
#: How many answers of the generated code (grade and total) a compiled policy keeps for later batches: every
#: total up to 327.67 at two decimals.
_ANSWERS_KEPT: Final = 1 << 17

#: ``progress(stage, done, total)``: told how far a long run has got: ``done`` of ``total`` items of
#: ``stage`` (``total`` None when it is not known in advance, as when a file is streamed). The one
#: signature of every progress callback in the library (evaluation, roll-up, CLI).
Progress = Callable[[str, int, int | None], None]


@attrs.frozen
class Cohort:
    """What a batch's scores depend on beyond each record: computed once over the whole population.

    ``fills`` are the imputation values per (indicator, field) and group; ``scores`` the results of
    cohort scorers (min-max, rank, ...) per indicator and record key; ``failures`` the error a cohort
    scorer raised on the population, per indicator. Evaluate partitions of the population with the same
    cohort and every record scores exactly as it would in one batch. Picklable, to ship to workers.
    """

    fills: Mapping[tuple[str, str], Mapping[str | None, Decimal]]
    scores: Mapping[str, Mapping[str, Scored]]
    failures: Mapping[str, BaseException] = attrs.field(factory=dict)
    #: How many records the cohort was fitted on.
    size: int = 0


def _margin(op: str, value: Decimal, threshold: Decimal) -> Decimal | None:
    if op in (">", ">="):
        return value - threshold
    if op in ("<", "<="):
        return threshold - value
    return None


@final
class CompiledPolicy:
    """A policy bound to its scorers. Compile once, evaluate many batches."""

    def __init__(self, policy: Policy, host: PluginHost) -> None:
        self.policy = policy
        self.host = host
        #: Everything grading needs, decided once; both the row and the columnar path execute it.
        self.plan: GradingPlan = build_plan(policy, host)
        self._generated: Generated | None = None
        self._generated_scores: Generated | None = None
        #: The columns a record may have and still be graded by generated code.
        self._columns = frozenset(policy.inputs) | META_FIELDS | policy.unit.fields
        #: How many columns a record with every input and its county code has.
        self._width = len(policy.inputs) + 1
        #: Each answer of the generated code (``total × 4 + grade code``) as a grade and a Decimal total, in two
        #: lists indexed by the answer, grown as higher answers come (up to _ANSWERS_KEPT).
        self._answers: tuple[list[Grade | None], list[Decimal]] = ([], [])

    def round(self, value: Decimal) -> Decimal:
        """Half-up to the policy's precision, as assessment methods round."""
        return self.plan.round(value)

    def fit(self, records: Iterable[Mapping[str, object] | RawRecord]) -> Cohort:
        """The batch-wide context of ``records``: imputation fills and cohort scores over all of them.

        Pass it to :meth:`evaluate` (``cohort=``) to grade any part of the population exactly as the
        whole would be graded, e.g. partitions on several workers.
        """
        checked, _ = check_records(self.policy, self._raws(records))
        good = [r for r in checked if not r.problems and self._screened(r) is None]
        fills = self._imputations(good)
        scores: dict[str, dict[str, Scored]] = {}
        failures: dict[str, BaseException] = {}
        for comp in self.plan.indicators:
            if not comp.cohort:
                continue
            ready = self._ready(comp, good, fills, {r.county: {} for r in good})
            try:
                scored = self._cohort_scores(comp, [values for _, values, _, _ in ready])
            except Exception as exc:  # reported on every record the scorer touches
                failures[comp.indicator.name] = exc
                continue
            scores[comp.indicator.name] = {
                record.county: result for (record, _, _, _), result in zip(ready, scored, strict=True)
            }
        return Cohort(fills, scores, failures, len(good))

    def evaluate(
        self,
        records: Iterable[Mapping[str, object] | RawRecord],
        *,
        progress: Progress | None = None,
        cohort: Cohort | None = None,
    ) -> Evaluation:
        """Grade every county in ``records``; ``progress(stage, done, total)`` is told how far it got.

        With ``cohort`` (from :meth:`fit`), imputation and cohort scorers use that population instead
        of this batch.

        When the policy has generated code (:attr:`compiled_form`) and the records are plain dicts, each
        county is graded by it and the full explanation is built only when :attr:`Evaluation.results` is
        first read; :attr:`Evaluation.grades` and :attr:`Evaluation.scores` never build it.
        """
        if progress is None and cohort is None and self.generated.function is not None:
            records = records if isinstance(records, list) else list(records)
            fast = self._generated_evaluation(records)
            if fast is not None:
                return fast
        return self._interpret(self._raws(records), progress, cohort)

    @property
    def generated(self) -> Generated:
        """The policy's generated grading code (:mod:`fineco_rules.engine._generated`), made on first use."""
        if self._generated is None:
            self._generated = generate(self.policy, self.plan)
        return self._generated

    @property
    def generated_scores(self) -> Generated:
        """The generated code answering each indicator's score too (``generate(..., scores=True)``), made on first
        use: the CSV summaries of :mod:`fineco_rules.engine._summaries` grade with it."""
        if self._generated_scores is None:
            self._generated_scores = generate(self.policy, self.plan, scores=True)
        return self._generated_scores

    @property
    def compiled_form(self) -> str:
        """``"generated"`` when evaluating dicts runs generated code, else ``"interpreted: <why>"``."""
        why = self.generated.why_not
        return "generated" if why is None else f"interpreted: {why}"

    def _generated_evaluation(self, records: list[Any]) -> Evaluation | None:
        """``records`` graded by the generated code, explanations deferred; None when the batch needs the
        interpreter as a whole (anything but dicts, an unknown column, a county code that is not six ASCII
        digits or comes twice, a text cell the interpreter may read and note)."""
        generated = self.generated
        if generated.batch is None or set(map(type, records)) - {dict}:
            return None
        if set(map(len, records)) != {self._width} and not all(r.keys() <= self._columns for r in records):
            return None
        try:  # every record has its county code, as text of six ASCII digits not starting with 0, once
            counties = list(map(_COUNTY, records))
        except KeyError:
            return None
        if not _valid_counties(counties) or len(set(counties)) != len(counties):
            return None
        with paused_gc():  # an int per county, none of them garbage: collecting would find nothing
            packed: list[Any] = generated.batch(records)  # total × 4 + grade code; None: not decided
        if generated.imputed:  # imputation: the batch's fills first, then those records again
            refilled = generated.refill(records, packed)
            if refilled is None:
                return None
            packed = refilled
        odd = self._undecided(records, packed) if None in packed else {}
        if odd is None:
            return None
        with paused_gc():  # the same for the grades and totals
            grades, scores = self._unpacked(packed)
        if odd:
            grades, scores = list(grades), list(scores)  # type: ignore[assignment]
            for i, (grade, score, _) in odd.items():
                grades[i], scores[i] = grade, score  # type: ignore[index]
        # The records themselves are kept, not copies: a copy of each cost a fifth of grading the batch and
        # doubled what an evaluation holds. The explanation reads them when asked, and refuses (fails closed)
        # if a record was changed since so that its grade or total is no longer the one given.
        kept, given = list(records), (tuple(grades), tuple(scores))

        def explain() -> tuple[CountyResult, ...]:
            results = self._interpret([raw_from_mapping(r, i) for i, r in enumerate(kept)]).results
            _same_as_graded(results, *given)
            return results

        clean = all(one[2] for one in odd.values())
        return Evaluation(self.policy, Deferred(*given, clean, explain), ())

    def _undecided(
        self, records: list[Any], packed: list[Any]
    ) -> dict[int, tuple[Grade | None, Decimal | None, bool]] | None:
        """The records the generated code did not decide, graded by the interpreter one by one (each
        ``packed`` entry set to 0); None when one needs the interpreter's view of the whole batch."""
        odd = {}
        for i, one in enumerate(packed):
            if one is None:
                decided = self._one(records[i], i)
                if decided is None:
                    return None
                odd[i] = decided
                packed[i] = 0
        return odd

    def _unpacked(self, packed: list[int]) -> tuple[tuple[Grade | None, ...], tuple[Decimal | None, ...]]:
        """Each record's grade and total from ``total × 4 + grade code``, looked up in two lists indexed by the
        answer and kept for later batches (a policy's answers are few: 4 × 10,001 at two decimals); an
        answer past :data:`_ANSWERS_KEPT` is looked up in dicts made for this batch only."""
        grades, scores = self._answers
        if packed and min(packed) >= 0:  # always, but a negative index would read from the end
            try:
                return tuple(map(grades.__getitem__, packed)), tuple(map(scores.__getitem__, packed))
            except IndexError:  # an answer not met before
                top = max(packed)
            if top < _ANSWERS_KEPT:
                self._grow(top)
                return tuple(map(grades.__getitem__, packed)), tuple(map(scores.__getitem__, packed))
        scale, table = -self.plan.precision, self.plan.grade_table
        one_of = {one: (table[one & 3], Decimal(one >> 2).scaleb(scale)) for one in set(packed)}
        return tuple(one_of[one][0] for one in packed), tuple(one_of[one][1] for one in packed)

    def _grow(self, top: int) -> None:
        """Extend the answer lists to hold every answer up to ``top``."""
        grades, scores = self._answers
        scale, table = -self.plan.precision, self.plan.grade_table
        codes = [table[code] for code in range(4)]
        for total in range(len(scores) >> 2, (top >> 2) + 1):
            grades += codes
            scores += [Decimal(total).scaleb(scale)] * 4

    def _one(self, record: dict[str, object], index: int) -> tuple[Grade | None, Decimal | None, bool] | None:
        """One record graded by the interpreter: its grade, total and whether it is clean; None when it
        needs a note about the whole batch (a text cell may be a percentage, a column may be unknown)."""
        if any(isinstance(v, str) for v in record.values()):
            return None
        found = self._interpret([raw_from_mapping(record, index)])
        if found.problems:
            return None
        result = found.results[0]
        return result.grade, result.score, result.graded and not result.errors

    def _interpret(
        self, raws: list[RawRecord], progress: Progress | None = None, cohort: Cohort | None = None
    ) -> Evaluation:
        """The interpreter: every record checked, scored and explained in full."""
        checked, notes = check_records(self.policy, raws)
        screened = {id(r): problem for r in checked if not r.problems and (problem := self._screened(r)) is not None}
        good = [r for r in checked if not r.problems and id(r) not in screened]
        fills = cohort.fills if cohort is not None else self._imputations(good)
        scores: dict[str, dict[str, IndicatorResult]] = {r.county: {} for r in good}
        for done, comp in enumerate(self.plan.indicators, 1):
            self._score_indicator(comp, good, fills, scores, cohort)
            if progress is not None:
                progress("indicators", done, len(self.plan.indicators))
        results = []
        for done, record in enumerate(checked, 1):
            if progress is not None and done % 1000 == 0:
                progress("counties", done, len(checked))
            if record.problems:
                missing = tuple(
                    p.location.field for p in record.problems if p.code == Code.MISSING_INPUT and p.location.field
                )
                results.append(self._unscored(record, record.problems, missing))
            elif id(record) in screened:
                results.append(self._unscored(record, [screened[id(record)]], ()))
            else:
                results.append(self._grade(record, scores[record.county]))
        return Evaluation(self.policy, tuple(results), tuple(notes))

    def _screened(self, record: CountyRecord) -> Problem | None:
        """Why ``record`` is left out for too few indicators with data (None: it is assessed)."""
        share = self.plan.availability
        if share is None:
            return None
        steps = self.plan.indicators
        present = [
            s.name
            for s in steps
            if all(record.values.get(f) is not None for f in s.fields if f not in s.indicator.optional)
        ]
        if len(steps) and Fraction(len(present), len(steps)) >= share:
            return None
        return Problem(
            tr(
                "screened out: data for {present} of {count} indicators, "
                "fewer than the {share} the policy asks (aggregation.availability)",
                present=len(present),
                count=len(steps),
                share=share,
            ),
            attrs.evolve(record.location, county=record.county),
            tr("supply more of the inputs; the unit is reported but not assessed nor compared"),
            Code.SCREENED_OUT,
        )

    @staticmethod
    def _raws(records: Iterable[Mapping[str, object] | RawRecord]) -> list[RawRecord]:
        return [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]

    # -- indicators ---------------------------------------------------------------------

    def _imputations(self, records: Sequence[CountyRecord]) -> dict[tuple[str, str], dict[str | None, Decimal]]:
        """For each (indicator, field) that imputes, the fill value per group (None: all)."""
        fills: dict[tuple[str, str], dict[str | None, Decimal]] = {}
        for comp in self.plan.indicators:
            rule = comp.indicator.missing
            if rule.rule != "impute":
                continue
            for field in comp.fields:
                pools: dict[str | None, list[Decimal]] = {}
                for record in records:
                    value = record.values.get(field)
                    if isinstance(value, Decimal):
                        key = _group_key(record, rule.group) if rule.impute == "group_mean" else None
                        pools.setdefault(key, []).append(value)
                fills[(comp.indicator.name, field)] = {
                    key: (
                        CONTEXT.divide(sum(vals, ZERO), Decimal(len(vals)))
                        if rule.impute != "median"
                        else Decimal(statistics.median(vals))
                    )
                    for key, vals in pools.items()
                }
        return fills

    def _ready(
        self,
        comp: IndicatorStep,
        records: Sequence[CountyRecord],
        fills: Mapping[tuple[str, str], Mapping[str | None, Decimal]],
        out: dict[str, dict[str, IndicatorResult]],
    ) -> list[tuple[CountyRecord, dict[str, Any], tuple[str, ...], str | None]]:
        """The records this indicator can score, after its missing rule; the others go to ``out``."""
        ind = comp.indicator
        ready: list[tuple[CountyRecord, dict[str, Any], tuple[str, ...], str | None]] = []
        for record in records:
            values = {f: record.values.get(f) for f in comp.fields}
            missing = tuple(f for f, v in values.items() if v is None and f not in ind.optional)
            treatment = None
            if missing:
                rule = ind.missing
                if rule.rule == "reweight":
                    out[record.county][ind.name] = self._result(
                        comp, values, None, missing, f"{LEFT_OUT}: the rest of its group re-weighted"
                    )
                    continue
                if rule.rule == "zero":
                    out[record.county][ind.name] = self._result(
                        comp, values, Scored(ZERO, ZERO, {}), missing, "missing input scored zero"
                    )
                    continue
                if rule.rule == "impute":
                    key = _group_key(record, rule.group) if rule.impute == "group_mean" else None
                    notes = []
                    for field in missing:
                        fill = fills.get((ind.name, field), {}).get(key)
                        if fill is None:
                            break
                        values[field] = fill
                        notes.append(f"{field} imputed as {rule.impute} {self.round(fill)}")
                    else:
                        treatment = "; ".join(notes)
                if any(values[f] is None for f in missing):
                    out[record.county][ind.name] = self._result(comp, values, None, missing, "not graded")
                    continue
            ready.append((record, values, missing, treatment))
        return ready

    @staticmethod
    def _cohort_scores(comp: IndicatorStep, rows: list[dict[str, Any]]) -> list[Any]:
        scored = list(comp.function([read_only(row) for row in rows]))
        if len(scored) != len(rows):
            raise ValueError(f"returned {len(scored)} scores for {len(rows)} counties")
        return scored

    def _score_indicator(
        self,
        comp: IndicatorStep,
        records: Sequence[CountyRecord],
        fills: Mapping[tuple[str, str], Mapping[str | None, Decimal]],
        out: dict[str, dict[str, IndicatorResult]],
        cohort: Cohort | None = None,
    ) -> None:
        ind = comp.indicator
        ready = self._ready(comp, records, fills, out)
        if comp.cohort and cohort is not None:
            failure = cohort.failures.get(ind.name)
            known = cohort.scores.get(ind.name, {})
            for record, values, missing, treatment in ready:
                if failure is not None:
                    out[record.county][ind.name] = self._failed(comp, values, missing, failure)
                elif record.county not in known:
                    error = Problem(
                        tr(
                            "{key} is not in the population the cohort was fitted on, so {scorer} cannot place it",
                            key=record.county,
                            scorer=ind.scorer,
                        ),
                        Location(path=f"indicators.{ind.name}"),
                        tr("fit the cohort (CompiledPolicy.fit) on every record you evaluate"),
                        Code.NOT_IN_COHORT,
                    )
                    unscored = self._result(comp, values, None, missing, None)
                    out[record.county][ind.name] = attrs.evolve(unscored, error=error)
                else:
                    out[record.county][ind.name] = self._checked(comp, values, known[record.county], missing, treatment)
            return
        if comp.cohort:
            try:
                scored = self._cohort_scores(comp, [v for _, v, _, _ in ready])
            except Exception as exc:  # a plugin's failure is reported on every county it touched
                for record, values, missing, _ in ready:
                    out[record.county][ind.name] = self._failed(comp, values, missing, exc)
                return
            for (record, values, missing, treatment), result in zip(ready, scored, strict=True):
                out[record.county][ind.name] = self._checked(comp, values, result, missing, treatment)
            return
        function = comp.function
        for record, values, missing, treatment in ready:
            try:
                result = function(read_only(values))
            except Exception as exc:  # one county's failure must not sink the batch
                out[record.county][ind.name] = self._failed(comp, values, missing, exc)
                continue
            out[record.county][ind.name] = self._checked(comp, values, result, missing, treatment)

    def _checked(
        self,
        comp: IndicatorStep,
        values: Mapping[str, Value | None],
        result: object,
        missing: tuple[str, ...],
        treatment: str | None,
    ) -> IndicatorResult:
        try:
            scored = self.plan.checked_score(comp, result)
        except _BadScore as exc:
            return self._failed(comp, values, missing, exc)
        return self._result(comp, values, scored, missing, treatment)

    def _failed(
        self,
        comp: IndicatorStep,
        values: Mapping[str, Value | None],
        missing: tuple[str, ...],
        exc: BaseException,
    ) -> IndicatorResult:
        # A ValueError the scorer raises is it refusing this county's data (a roll-up that disagrees, a
        # zero denominator): the office fixes the data. Anything else, a bad score (_BadScore) included, is
        # a bug for the plugin's authors.
        rejected = isinstance(exc, ValueError) and not isinstance(exc, _BadScore)
        facts = {
            "scorer": comp.indicator.scorer,
            "version": comp.version,
            "plugin": comp.plugin,
            "error": exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc),
        }
        error = Problem(
            (
                tr("scorer {scorer} {version} from {plugin} rejected the inputs: {error}", **facts)
                if rejected
                else tr("scorer {scorer} {version} from {plugin} failed: {error}", **facts)
            ),
            Location(path=f"indicators.{comp.indicator.name}"),
            tr("check this county's inputs")
            if rejected
            else tr("report this to the plugin's authors, naming the version"),
            Code.SCORER_REJECTED if rejected else Code.SCORER_FAILED,
        )
        return attrs.evolve(self._result(comp, values, None, missing, None), error=error)

    def _result(
        self,
        comp: IndicatorStep,
        values: Mapping[str, Value | None],
        scored: Scored | None,
        missing: tuple[str, ...],
        treatment: str | None,
    ) -> IndicatorResult:
        ind = comp.indicator
        score = None if scored is None else self.round(scored.score)
        contribution = None
        if score is not None:
            if self.plan.method == "geometric_mean":
                contribution = self.round(CONTEXT.power(score, comp.weight))
            else:
                contribution = self.round(score * comp.weight)
        return IndicatorResult(
            name=ind.name,
            label=ind.label,
            group=ind.group,
            scorer=ind.scorer,
            scorer_version=comp.version,
            inputs=dict(values),
            normalized=None if scored is None or scored.normalized is None else scored.normalized,
            score=score,
            max_score=ind.max_score,
            weight=ind.points if self.plan.method == "points" else ind.weight,
            contribution=contribution,
            details=dict(scored.details) if scored else {},
            missing=missing,
            treatment=treatment,
        )

    # -- grading --------------------------------------------------------------------------

    def _unscored(
        self,
        record: CountyRecord,
        errors: Sequence[Problem],
        missing: tuple[str, ...],
        indicators: Mapping[str, IndicatorResult] | None = None,
        groups: Mapping[str, Decimal | None] | None = None,
        base: Decimal | None = None,
    ) -> CountyResult:
        """A county that could not be graded, with whatever could be computed and why not."""
        return CountyResult(
            county=record.county,
            name=record.name,
            city=record.city,
            grade=None,
            score=None,
            base_score=base,
            indicators=indicators or {},
            groups=groups or {},
            adjustments=(),
            vetoes=(),
            checks={},
            errors=tuple(errors),
            missing=missing,
            location=record.location,
        )

    def _grade(self, record: CountyRecord, indicators: dict[str, IndicatorResult]) -> CountyResult:
        plan = self.plan
        ordered = {c.indicator.name: indicators[c.indicator.name] for c in self.plan.indicators}
        errors = [
            attrs.evolve(
                r.error, location=attrs.evolve(record.location, county=record.county, path=r.error.location.path)
            )
            for r in ordered.values()
            if r.error is not None
        ]
        left_out = {n for n, r in ordered.items() if r.score is None and r.error is None and _is_left_out(r)}
        missing = tuple(
            dict.fromkeys(f for n, r in ordered.items() if r.score is None and n not in left_out for f in r.missing)
        )
        groups, base = self._groups(ordered, left_out)
        located = attrs.evolve(record.location, county=record.county)
        if errors or missing or base is None:
            problems = list(errors)
            if not errors and not missing:
                problems.append(
                    Problem(
                        tr("not graded: every indicator was left out for missing data"),
                        located,
                        tr("supply the inputs of at least one indicator"),
                        Code.NOT_GRADED,
                    )
                )
            if missing:
                problems.append(
                    Problem(
                        tr("not graded: missing {names}", names=join(missing)),
                        located,
                        tr("supply the missing inputs, or let the policy impute them (indicator `missing:`)"),
                        Code.NOT_GRADED,
                    )
                )
            return self._unscored(record, problems, missing, ordered, groups, base)
        adjustments, total = self._adjust(record, ordered, groups, base)
        subjects = _Subjects(record.values, ordered, groups, total)
        vetoes = tuple(self._check(vid, "veto", label, when, subjects) for vid, label, when in plan.vetoes)
        unknown = [c for c in vetoes if c.met is None]
        checks: dict[Grade, tuple[Check, ...]] = {}
        met: list[bool] = []
        for level in plan.levels:
            found = [
                Check(
                    "min_total",
                    "min_total",
                    None,
                    "total",
                    ">=",
                    total,
                    level.min_total,
                    total - level.min_total,
                    total >= level.min_total,
                    level.origin,
                )
            ]
            found += [self._check(gid, "gate", gate.label, gate, subjects) for gid, gate in level.gates]
            checks[level.grade] = tuple(found)
            unknown += [c for c in found if c.met is None]
            met.append(all(c.met for c in found))
        grade = None if unknown else plan.grade(int(plan.ladder(met, any(v.met for v in vetoes))))
        problems = []
        if unknown:
            fields = tuple(dict.fromkeys(c.subject for c in unknown))
            problems.append(
                Problem(
                    tr("not graded: missing {names}", names=join(fields)),
                    located,
                    tr("supply the inputs that the gates and vetoes compare"),
                    Code.NOT_GRADED,
                )
            )
            missing = fields
        return CountyResult(
            county=record.county,
            name=record.name,
            city=record.city,
            grade=grade,
            score=total,
            base_score=base,
            indicators=ordered,
            groups=groups,
            adjustments=adjustments,
            vetoes=vetoes,
            checks=checks,
            errors=tuple(problems),
            missing=missing,
            location=record.location,
        )

    def _groups(
        self, ordered: Mapping[str, IndicatorResult], left_out: set[str]
    ) -> tuple[dict[str, Decimal | None], Decimal | None]:
        """The groups' values and the total before adjustments: along the group tree, or flat."""
        if self.plan.tree:
            return self.plan.combine_tree({n: r.score for n, r in ordered.items()}, left_out)
        groups: dict[str, Decimal | None] = {
            str(group.name): self._combine([(ordered[part.indicator].score, part.weight) for part in group.parts])
            for group in self.plan.groups
        }
        return groups, self._combine([(ordered[part.indicator].score, part.weight) for part in self.plan.total.parts])

    def _combine(self, parts: Sequence[tuple[Decimal | None, Decimal | None]]) -> Decimal | None:
        """Scores and their weights into one rounded figure (``None`` weight: add points)."""
        if any(score is None for score, _ in parts):
            return None
        if self.plan.method == "geometric_mean":
            product = Decimal(1)
            for score, weight in parts:
                product = CONTEXT.multiply(product, CONTEXT.power(score or ZERO, weight if weight is not None else 1))
            return self.round(product)
        return self.round(sum(((s or ZERO) * (w if w is not None else 1) for s, w in parts), ZERO))

    def _adjust(
        self,
        record: CountyRecord,
        indicators: Mapping[str, IndicatorResult],
        groups: Mapping[str, Decimal | None],
        base: Decimal,
    ) -> tuple[tuple[AdjustmentResult, ...], Decimal]:
        found: list[AdjustmentResult] = []
        counted: list[tuple[AdjustmentStep, Decimal]] = []
        subjects = _Subjects(record.values, indicators, groups, base)
        for step in self.plan.adjustments:
            if step.when is not None:
                value = subjects.get(step.when)
                holds = value is not None and COMPARATORS[step.when.op](value, step.when.value)
                raw = step.points if holds and step.points is not None else ZERO
            else:
                amount = record.values.get(step.input or "")
                raw = step.per_unit * amount if step.per_unit is not None and isinstance(amount, Decimal) else ZERO
            points = step.limit(raw)
            if points:
                found.append(AdjustmentResult(step.id, step.label, step.kind, points, raw, step.origin))
            counted.append((step, points))
        total = self.plan.adjusted(base, counted, zero=ZERO, cap=_same, minimum=min, maximum=max)
        return tuple(found), self.round(total)

    def _check(self, cid: str, kind: CheckKind, label: Any, cond: Condition, subjects: _Subjects) -> Check:
        value = subjects.get(cond)
        if value is None:
            return Check(cid, kind, label, cond.subject, cond.op, None, cond.value, None, None, cond.origin)
        met = COMPARATORS[cond.op](value, cond.value)
        margin = (
            _margin(cond.op, value, cond.value)
            if isinstance(value, Decimal) and isinstance(cond.value, Decimal)
            else None
        )
        return Check(cid, kind, label, cond.subject, cond.op, value, cond.value, margin, met, cond.origin)


@attrs.frozen
class _Subjects:
    inputs: Mapping[str, Value | None]
    indicators: Mapping[str, IndicatorResult]
    groups: Mapping[str, Decimal | None]
    total: Decimal

    def get(self, cond: Condition) -> Value | None:
        if cond.kind == "input":
            return self.inputs.get(cond.subject)
        if cond.kind == "indicator":
            return self.indicators[cond.subject].score
        if cond.kind == "group":
            return self.groups.get(cond.subject)
        return self.total


def _same_as_graded(
    results: Sequence[CountyResult], grades: Sequence[Grade | None], scores: Sequence[Decimal | None]
) -> None:
    """Raise :class:`RecordError` when a county's explanation does not give the grade and total it was graded
    with: its record was changed between :meth:`CompiledPolicy.evaluate` and reading the explanation."""
    for result, grade, score in zip(results, grades, scores, strict=True):
        if result.grade is not grade or result.score != score:
            raise RecordError(
                Problem(
                    tr(
                        "the record was changed after it was graded: it was graded {before} ({score}) "
                        "and now gives {after} ({now})",
                        before=_grade_word(grade),
                        score=score,
                        after=_grade_word(result.grade),
                        now=result.score,
                    ),
                    Location(county=result.county),
                    tr(
                        "evaluate the records again, or pass copies if they will change: an evaluation "
                        "keeps the records it was given and explains them when asked"
                    ),
                    Code.RECORDS_CHANGED,
                )
            )


def _grade_word(grade: Grade | None) -> object:
    return tr("not graded") if grade is None else grade.label


def _valid_counties(counties: Sequence[object]) -> bool:
    """Whether every county code is text of six ASCII digits not starting with 0, as the interpreter reads it."""
    try:
        if set(map(len, counties)) - {6}:  # type: ignore[arg-type]
            return False
        joined = "".join(counties)  # type: ignore[arg-type]
    except TypeError:  # a code that is not text
        return False
    return joined.isascii() and joined.isdigit() and "0" not in joined[::6]


def _is_left_out(result: IndicatorResult) -> bool:
    return result.treatment is not None and result.treatment.startswith(LEFT_OUT)


def _same(value: Decimal) -> Decimal:
    return value


def read_only(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a scorer is given: a view it cannot change, table rows included, so what it was given is
    what the result reports and what the next indicator reads."""
    if any(isinstance(v, tuple) for v in values.values()):
        values = {k: tuple(map(MappingProxyType, v)) if isinstance(v, tuple) else v for k, v in values.items()}
    return MappingProxyType(values)


def _group_key(record: CountyRecord, field: str | None) -> str | None:
    if field == "city":
        return record.city
    value = record.values.get(field or "")
    return None if value is None else str(value)


def compile_policy(policy: Policy, host: PluginHost | None = None) -> CompiledPolicy:
    """Bind ``policy`` to its scorers once, for evaluating many batches."""
    return CompiledPolicy(policy, host if host is not None else default_plugin_host())


def evaluate(
    policy: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord],
    *,
    host: PluginHost | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Grade every county in ``records`` (mappings or raw records read from files).

    ``progress``, if given, is called as ``progress(stage, done, total)`` while a long
    batch is graded (stage ``"indicators"``, then ``"counties"`` every 1,000).
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    return compiled.evaluate(records, progress=progress)
