"""Frozen results: a grade per county, and every number that explains it."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal, NamedTuple

import attrs

from fineco_rules.errors import Location, Problem, Severity
from fineco_rules.io._numbers import to_number
from fineco_rules.policy._model import Grade, Origin, Policy
from fineco_rules.scoring._scorer import Label, Value

__all__ = [
    "AdjustmentResult",
    "Check",
    "CountyResult",
    "CountySummary",
    "Deferred",
    "Evaluation",
    "IndicatorResult",
    "jsonable",
]


def jsonable(value: Any) -> Any:
    """Plain JSON types: Decimals as numbers of the same digits, dates as ISO 8601 text, enums by value."""
    if isinstance(value, Decimal):
        return to_number(value)
    if isinstance(value, Grade):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Label):
        return {"zh": value.zh, "en": value.en}
    if isinstance(value, Origin | Problem):
        return value.to_dict()
    if isinstance(value, datetime.date | enum.Enum):
        return value.isoformat() if isinstance(value, datetime.date) else value.value
    return value


@attrs.frozen
class IndicatorResult:
    """One indicator of one county: inputs, normalised value, score, weight, contribution."""

    name: str
    label: Label
    group: str | None
    scorer: str
    scorer_version: str
    inputs: Mapping[str, Value | None]
    normalized: Decimal | None
    score: Decimal | None
    max_score: Decimal
    weight: Decimal | None
    contribution: Decimal | None
    details: Mapping[str, object] = attrs.field(factory=dict)
    missing: tuple[str, ...] = ()
    treatment: str | None = None
    error: Problem | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": self.score,
            "weight": self.weight,
            "contribution": self.contribution,
            "normalized": self.normalized,
            "max_score": self.max_score,
            "group": self.group,
            "scorer": f"{self.scorer} {self.scorer_version}",
            "inputs": dict(self.inputs),
            "details": dict(self.details),
        }
        if self.missing:
            out["missing"] = list(self.missing)
        if self.treatment:
            out["treatment"] = self.treatment
        if self.error is not None:
            out["error"] = self.error
        return jsonable(out)  # type: ignore[no-any-return]


#: What a check compares: the minimum total of a grade, one of its gates, or a veto.
CheckKind = Literal["min_total", "gate", "veto"]


@attrs.frozen
class Check:
    """A comparison made while grading: a minimum total, a gate, or a veto."""

    id: str
    kind: CheckKind
    label: Label | None
    subject: str
    op: str
    value: Value | None
    threshold: Decimal | bool
    margin: Decimal | None
    met: bool | None
    origin: Origin

    def to_dict(self) -> dict[str, Any]:
        return jsonable(  # type: ignore[no-any-return]
            {
                "id": self.id,
                "kind": self.kind,
                "subject": self.subject,
                "op": self.op,
                "value": self.value,
                "threshold": self.threshold,
                "margin": self.margin,
                "met": self.met,
                "origin": self.origin,
            }
        )


@attrs.frozen
class AdjustmentResult:
    id: str
    label: Label
    kind: str
    points: Decimal
    uncapped: Decimal
    origin: Origin

    def to_dict(self) -> dict[str, Any]:
        return jsonable(  # type: ignore[no-any-return]
            {"id": self.id, "kind": self.kind, "points": self.points, "uncapped": self.uncapped}
        )


@attrs.frozen
class CountyResult:
    """The grade of one county, or why it was not graded, and how it came about."""

    county: str
    name: str | None
    city: str | None
    grade: Grade | None
    score: Decimal | None
    base_score: Decimal | None
    indicators: Mapping[str, IndicatorResult]
    groups: Mapping[str, Decimal | None]
    adjustments: tuple[AdjustmentResult, ...]
    vetoes: tuple[Check, ...]
    checks: Mapping[Grade, tuple[Check, ...]]
    errors: tuple[Problem, ...]
    missing: tuple[str, ...]
    location: Location

    @property
    def graded(self) -> bool:
        """Graded, or (under an index without grades, whose results have no checks) scored."""
        return self.grade is not None or (self.score is not None and not self.checks)

    def summary(self) -> CountySummary:
        """The grade, the total and each indicator's score, with the errors: what ``fineco evaluate`` writes."""
        return CountySummary(
            self.county,
            self.name,
            self.city,
            self.grade,
            self.score,
            self.base_score,
            {name: ind.score for name, ind in self.indicators.items()},
            self.errors,
        )

    def to_dict(self, *, explain: bool = True) -> dict[str, Any]:
        """Plain data; ``explain=False`` keeps only the grade, the total and each indicator's score (the compact
        shape that ``fineco evaluate`` writes by default, :meth:`CountySummary.to_dict`), with the errors, if any."""
        if not explain:
            return self.summary().to_dict()
        return {
            "county": self.county,
            "name": self.name,
            "city": self.city,
            "grade": None if self.grade is None else self.grade.value,
            "score": jsonable(self.score),
            "base_score": jsonable(self.base_score),
            "groups": jsonable(self.groups),
            "indicators": {name: ind.to_dict() for name, ind in self.indicators.items()},
            "adjustments": [a.to_dict() for a in self.adjustments],
            "vetoes": [v.to_dict() for v in self.vetoes],
            "checks": {grade.value: [c.to_dict() for c in checks] for grade, checks in self.checks.items()},
            "missing": list(self.missing),
            "errors": [e.to_dict() for e in self.errors],
        }


class CountySummary(NamedTuple):
    """One county's grade, total and indicator scores, with its errors, and no explanation.

    What ``fineco evaluate`` writes by default; :meth:`CountyResult.summary` gives the same for a full result.
    ``base_score`` (the total before adjustments) is for the CSV format, not in :meth:`to_dict`. A named
    tuple, not an attrs class: a batch makes one per county, and a tuple is made ten times faster.
    """

    county: str
    name: str | None
    city: str | None
    grade: Grade | None
    score: Decimal | None
    base_score: Decimal | None
    indicators: Mapping[str, Decimal | None]
    errors: tuple[Problem, ...] = ()

    @property
    def graded(self) -> bool:
        return self.grade is not None

    def to_dict(self) -> dict[str, Any]:
        """The compact shape: county, name, city, grade, score, each indicator's score, errors."""
        county, name, city, grade, score, _, indicators, errors = self
        return {
            "county": county,
            "name": name,
            "city": city,
            "grade": None if grade is None else _GRADE_TEXT[grade],
            "score": score,
            "indicators": dict(indicators),
            "errors": [e.to_dict() for e in errors] if errors else [],
        }


#: Each grade's value, looked up without the enum's property.
_GRADE_TEXT: Final = {grade: grade.value for grade in Grade}


@attrs.frozen(eq=False)
class Deferred:
    """Results graded by generated code: each county's grade and total now, the full explanation on demand.

    ``explain()`` grades the same records again with the interpreter and returns every
    :class:`CountyResult`; it runs once, the first time :attr:`Evaluation.results` is read. Pickled, it
    becomes its results (the explanation is built then).
    """

    grades: tuple[Grade | None, ...]
    scores: tuple[Decimal | None, ...]
    #: Whether every county was graded without errors.
    clean: bool
    explain: Callable[[], tuple[CountyResult, ...]]
    #: Each county's :class:`CountySummary` without the explanation, when the grader made them (None: from
    #: :attr:`explain`).
    summaries: tuple[CountySummary, ...] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (self.explain(),))


@attrs.frozen(eq=False)
class Evaluation:
    """Every county's result, in input order, plus problems that concern the whole batch.

    ``results`` may be given as a :class:`Deferred`: then :attr:`grades`, :attr:`scores` and :attr:`ok`
    are answered without building any explanation, and :attr:`results` builds them the first time it is read.
    """

    policy: Policy
    _results: tuple[CountyResult, ...] | Deferred = attrs.field(alias="results")
    problems: tuple[Problem, ...] = ()
    #: The certified filing this evaluation was checked against, or None for an unofficial one.
    official: str | None = None

    @property
    def results(self) -> tuple[CountyResult, ...]:
        """Every county's full result, in input order (built now if it was deferred)."""
        if isinstance(self._results, Deferred):
            object.__setattr__(self, "_results", self._results.explain())
        return self._results  # type: ignore[return-value]

    @property
    def grades(self) -> tuple[Grade | None, ...]:
        """Each county's grade (None: not graded), in input order, without building explanations."""
        if isinstance(self._results, Deferred):
            return self._results.grades
        return tuple(r.grade for r in self._results)

    @property
    def scores(self) -> tuple[Decimal | None, ...]:
        """Each county's total (None: not graded), in input order, without building explanations."""
        if isinstance(self._results, Deferred):
            return self._results.scores
        return tuple(r.score for r in self._results)

    @property
    def ok(self) -> bool:
        """True when every county was graded and no record or file had errors."""
        clean = (
            self._results.clean
            if isinstance(self._results, Deferred)
            else all(r.graded and not r.errors for r in self._results)
        )
        return clean and not any(p.severity is not Severity.NOTE for p in self.problems)

    def summaries(self) -> tuple[CountySummary, ...]:
        """Each county's grade, total, indicator scores and errors, in input order; built without any
        explanation when the grader made them (:class:`Deferred`), else from :attr:`results`."""
        if isinstance(self._results, Deferred) and self._results.summaries is not None:
            return self._results.summaries
        return tuple(r.summary() for r in self.results)

    def by_county(self) -> dict[str, CountyResult]:
        return {r.county: r for r in self.results}

    def __iter__(self) -> Any:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self._results.grades if isinstance(self._results, Deferred) else self._results)

    def header(self) -> dict[str, Any]:
        """What :meth:`to_dict` says before the results: the policy and whether the run was official."""
        internal = [name for name, spec in self.policy.inputs.items() if spec.internal]
        return {
            "policy": {"id": self.policy.id, "version": self.policy.version, "internal": internal},
            "official": {"filing": self.official} if self.official else False,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.header(),
            "results": [r.to_dict() for r in self.results],
            "problems": [p.to_dict() for p in self.problems],
        }
