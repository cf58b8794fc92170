"""The policy model: frozen value classes built from a located YAML mapping."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import functools
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal, Inexact, localcontext
from fractions import Fraction
from typing import Any, Final, Literal

import attrs

from fineco_rules.errors import Code, Msg, PolicyError, Problem, join, tr
from fineco_rules.io._limits import quoted
from fineco_rules.io._numbers import ZERO, as_decimal
from fineco_rules.io._yaml import DocPath, Document
from fineco_rules.policy._schema import validate_against
from fineco_rules.scoring._host import PluginHost, ScorerEntry, unknown_scorer
from fineco_rules.scoring._scorer import NUMBERS, Better, Label, ParamError, Scorer
from fineco_rules.scoring.rollup import COUNTED, LEVELS, VILLAGE_SHARE, Criteria

__all__ = [
    "TARGET_METRICS",
    "Adjustment",
    "Aggregation",
    "Basis",
    "Condition",
    "Constraints",
    "Grade",
    "GradeRule",
    "Group",
    "Indicator",
    "InputSpec",
    "Missing",
    "Origin",
    "Policy",
    "Target",
    "Unit",
    "Veto",
]

#: What a missing input does to an indicator (the ``missing:`` key): the YAML word is the value.
MissingRule = Literal["not_graded", "zero", "impute", "reweight"]
#: The plain-word rules, by their YAML word (``impute`` is a mapping, not a word).
MISSING_RULES: Final[Mapping[str, MissingRule]] = {"not_graded": "not_graded", "zero": "zero", "reweight": "reweight"}
#: How a group (or the total) combines its parts.
GROUP_METHODS: Final = ("weighted_mean", "geometric_mean", "points")
#: What a condition compares (the key it gives).
SubjectKind = Literal["input", "indicator", "group", "total"]
SUBJECT_KINDS: Final[tuple[SubjectKind, ...]] = ("input", "indicator", "group", "total")


@functools.total_ordering
class Grade(enum.Enum):
    """The grade levels, ordered fail < pass < good."""

    FAIL = "fail"
    PASS = "pass"
    GOOD = "good"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def label(self) -> Label:
        return _GRADE_LABELS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Grade):
            return NotImplemented
        return self.rank < other.rank


_RANKS: Final = {Grade.FAIL: 0, Grade.PASS: 1, Grade.GOOD: 2}
_GRADE_LABELS: Final = {
    Grade.FAIL: Label("未达标", "fail"),
    Grade.PASS: Label("达标", "pass"),
    Grade.GOOD: Label("良好", "good"),
}


@attrs.frozen
class Origin:
    """Where a value was set: the file and position, and the policy version that set it."""

    file: str
    line: int | None
    column: int | None
    policy: str
    version: str

    def __str__(self) -> str:
        pos = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{pos} ({self.policy} {self.version})"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "policy": self.policy, "version": self.version}


@attrs.frozen
class InputSpec:
    """A declared county record field."""

    name: str
    type: str
    label: Label
    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    better: Better = Better.NONE
    required: bool = True
    internal: bool = False


#: The levels a unit's ``parents`` may name, from the smallest up.
PARENT_LEVELS: Final = ("village", "township", "county")
_COUNTY: Final = Label("县（市）", "county")


@attrs.frozen
class Unit:
    """What one record is: a county by its six-digit code (the default), or e.g. a household by its id.

    ``parents`` maps a level (village, township, county) to the record field that names the unit's
    village, township or county, for roll-ups (:mod:`fineco_rules.scale._rollup`).
    """

    key: str = "county"
    label: Label = _COUNTY
    parents: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def is_county(self) -> bool:
        """Whether records are counties keyed by their six-digit code."""
        return self.key == "county"

    @property
    def fields(self) -> frozenset[str]:
        """The record fields that describe the unit rather than feed indicators: its key and parents."""
        return frozenset({self.key, *self.parents.values()})


@attrs.frozen
class Missing:
    """What a missing input of an indicator means."""

    rule: MissingRule = "not_graded"
    impute: Literal["mean", "median", "group_mean"] | None = None
    group: str | None = None


@attrs.frozen
class Indicator:
    name: str
    label: Label
    scorer: str
    params: Mapping[str, Any]
    group: str | None
    weight: Decimal | None
    points: Decimal | None
    missing: Missing
    reads: Mapping[str, Better]
    optional: frozenset[str]
    origin: Origin
    weight_origin: Origin | None = None
    #: The weight exactly as written (``1/3`` stays a third); ``weight`` is its Decimal (see :func:`weight_decimal`).
    weight_exact: Fraction | None = None

    @property
    def max_score(self) -> Decimal:
        return self.points if self.points is not None else Decimal(100)


@attrs.frozen
class Group:
    name: str
    label: Label
    weight: Decimal | None
    origin: Origin | None = None
    #: The weight exactly as written; ``weight`` is its Decimal (see :func:`weight_decimal`).
    weight_exact: Fraction | None = None
    #: The group this one is part of (None: a part of the total).
    parent: str | None = None
    #: How this group combines its parts (None: the policy's method).
    method: str | None = None


@attrs.frozen
class Aggregation:
    method: str
    total: Decimal
    groups: Mapping[str, Group]
    bonus_cap: Decimal | None = None
    deduction_cap: Decimal | None = None
    #: Least share of indicators a unit needs data for to be assessed at all (None: no screening).
    availability: Fraction | None = None

    @property
    def nested(self) -> bool:
        """Groups of groups, or a group combining its parts its own way: graded along the group tree."""
        return any(g.parent is not None or (g.method or self.method) != self.method for g in self.groups.values())


@attrs.frozen
class Condition:
    """``<subject> <op> <value>``; the subject is an input, indicator, group or the total."""

    kind: SubjectKind
    subject: str
    op: str
    value: Decimal | bool
    label: Label | None
    origin: Origin

    def __str__(self) -> str:
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        return f"{self.subject} {self.op} {value}"


@attrs.frozen
class GradeRule:
    grade: Grade
    label: Label
    min_total: Decimal
    gates: Mapping[str, Condition]
    origin: Origin
    #: For good: whether good needs this year's pass only (``same_year``) or last year's as well (``last_year``),
    #: applied by :func:`fineco_rules.province.run_year` from last year's register.
    from_pass: Literal["same_year", "last_year"] = "same_year"


@attrs.frozen
class Veto:
    id: str
    label: Label
    when: Condition


@attrs.frozen
class Adjustment:
    id: str
    label: Label
    kind: Literal["bonus", "deduction"]
    when: Condition | None
    points: Decimal | None
    input: str | None
    per_unit: Decimal | None
    cap: Decimal | None
    origin: Origin


#: Target metrics (defined in docs/reports.md, computed by ``fineco_rules.analysis._targets``).
TARGET_METRICS: Final = (
    "counties_per_city",
    "good_from_last_pass",
    "good_rate",
    "input_mean",
    "input_share",
    "pass_coverage",
    "ratio_of_totals",
)
#: The input types a metric that reads an input accepts.
_TARGET_INPUTS: Final = {
    "input_mean": NUMBERS,
    "input_share": frozenset({"boolean"}),
    "ratio_of_totals": NUMBERS,
}


@attrs.frozen
class Target:
    id: str
    label: Label
    metric: str
    op: str
    value: Decimal
    input: str | None = None
    scope: str = "province"
    #: ``ratio_of_totals``: the input whose total is the denominator.
    per: str | None = None
    #: ``phase_end``: judged only in the last year of the policy's phase (``effective_until``); before, progress.
    judged: Literal["every_year", "phase_end"] = "every_year"


@attrs.frozen
class Basis:
    """Where a rule comes from: a clause of the source (``source``, with the words in ``quote``), and/or the
    name of the policy's ``assumptions`` entry for what the source does not give."""

    path: str
    source: str | None
    quote: str | None
    assumption: str | None
    origin: Origin

    @property
    def from_source(self) -> bool:
        """Whether the rule cites the source (it may still rest on an assumption for its figures)."""
        return self.source is not None


#: Where rules sit in a policy document, for their ``basis:`` markers (an index stands for a list item).
BASIS_PLACES: Final = (
    ("indicators", "*"),
    ("grades", "*"),
    ("grades", "*", "gates", "*"),
    ("vetoes", "*"),
    ("adjustments", "*"),
    ("targets", "*"),
    ("rollup", "*", "*"),
)


@attrs.frozen
class Constraints:
    """What a policy extending this one under another id (a city's) may change."""

    keep_indicators: tuple[str, ...] = ()
    keep_inputs: tuple[str, ...] = ()
    keep_vetoes: tuple[str, ...] = ()
    stricter_only: tuple[str, ...] = ()
    indicator_bounds: Mapping[str, tuple[Decimal | None, Decimal | None]] = attrs.field(factory=dict)
    group_bounds: Mapping[str, tuple[Decimal | None, Decimal | None]] = attrs.field(factory=dict)


@attrs.frozen(eq=False)
class Policy:
    """A loaded, merged and checked policy. Build it with :func:`fineco_rules.load_policy`."""

    id: str
    version: str
    label: Label
    description: Label | None
    effective_from: dt.date
    effective_until: dt.date | None
    precision: int
    inputs: Mapping[str, InputSpec]
    indicators: Mapping[str, Indicator]
    aggregation: Aggregation
    grades: tuple[GradeRule, ...]
    vetoes: Mapping[str, Veto]
    adjustments: Mapping[str, Adjustment]
    targets: Mapping[str, Target]
    assumptions: Mapping[str, Label]
    constraints: Constraints | None
    file: str
    chain: tuple[tuple[str, str, str], ...]
    document: Document = attrs.field(repr=False)
    owners: Mapping[DocPath, tuple[str, str]] = attrs.field(repr=False)
    #: What one record is (default: a county); see :class:`Unit`.
    unit: Unit = attrs.field(factory=Unit)
    #: The village and township criteria of the ``rollup:`` key, or None when the policy declares none.
    rollup: Criteria | None = None
    #: Each rule's ``basis:`` marker by dotted path (``grades.pass.gates.npl_below_6pct``); rules without one
    #: are absent.
    bases: Mapping[str, Basis] = attrs.field(factory=dict)

    def in_effect(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def origin(self, path: DocPath) -> Origin:
        """Which file, line and policy version set the value at ``path``."""
        return _origin(self.document, self.owners, path)

    @classmethod
    def from_document(cls, doc: Document, owners: Mapping[DocPath, tuple[str, str]], host: PluginHost) -> Policy:
        """Build and check a policy from a merged, schema-valid document."""
        return _Reader(doc, owners, host).policy()


def _nodes(data: object, place: tuple[str, ...], path: DocPath = ()) -> list[tuple[DocPath, object]]:
    """The nodes of ``data`` at ``place``, where ``*`` stands for every key (or list index) at that level."""
    if not place:
        return [(path, data)]
    head, rest = place[0], place[1:]
    if head != "*":
        child = data.get(head) if isinstance(data, Mapping) else None
        return [] if child is None else _nodes(child, rest, (*path, head))
    items: list[tuple[Any, object]] = (
        list(data.items()) if isinstance(data, Mapping) else list(enumerate(data)) if isinstance(data, list) else []
    )
    return [found for key, child in items for found in _nodes(child, rest, (*path, key))]


def _origin(doc: Document, owners: Mapping[DocPath, tuple[str, str]], path: DocPath) -> Origin:
    loc = doc.location(path)
    probe = path
    while probe not in owners and probe:
        probe = probe[:-1]
    policy, version = owners.get(probe, ("?", "?"))
    return Origin(loc.file or doc.file, loc.line, loc.column, policy, version)


_FRACTION: Final = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*")
#: The largest denominator a weight written as a fraction may have (in lowest terms).
MAX_DENOMINATOR: Final = 1000
#: Significant digits of the Decimal of a weight that is not a finite decimal.
WEIGHT_DIGITS: Final = 20


def exact_weight(value: object) -> Fraction:
    """A weight as written: a number, or text such as ``"1/3"``; ``ValueError`` for a zero denominator or
    one above :data:`MAX_DENOMINATOR`."""
    if isinstance(value, str):
        found = _FRACTION.fullmatch(value)
        if found is None:
            raise ValueError(tr("{value!r} is neither a number nor a fraction such as 1/3", value=value))
        top, bottom = Fraction(found[1]), Fraction(found[2])
        if bottom == 0:
            raise ValueError(tr("the weight {weight} divides by zero", weight=value.strip()))
        exact = top / bottom
        if exact.denominator > MAX_DENOMINATOR:
            raise ValueError(
                tr(
                    "the weight {weight} has a denominator above {most} in lowest terms",
                    weight=value.strip(),
                    most=MAX_DENOMINATOR,
                )
            )
        return exact
    return Fraction(as_decimal(value))


def weight_decimal(exact: Fraction) -> Decimal:
    """The Decimal the engine multiplies by: exact for a finite decimal, else rounded *up* to
    :data:`WEIGHT_DIGITS` significant digits. Rounding up keeps every weighted sum at or just above its
    exact value, by far less than the distance to the next rounding step, so half-up rounding of the
    sum gives what the exact fraction gives (ties included)."""
    with localcontext() as ctx:
        ctx.rounding = ROUND_CEILING
        ctx.prec = WEIGHT_DIGITS
        rounded = Decimal(exact.numerator) / Decimal(exact.denominator)
        if ctx.flags[Inexact]:
            return rounded
    # A finite decimal: its digits exactly (a fraction in lowest terms over 2**a 5**b).
    scale = 0
    while (exact * 10**scale).denominator != 1:
        scale += 1
    return Decimal(f"{exact.numerator * 10**scale // exact.denominator}E-{scale}")


def _as_weight(value: object) -> Decimal:
    """A number as written (its digits kept), or a fraction's :func:`weight_decimal`."""
    return weight_decimal(exact_weight(value)) if isinstance(value, str) else as_decimal(value)


class _Reader:
    """Turns a document into a Policy, collecting every semantic problem with its place."""

    def __init__(self, doc: Document, owners: Mapping[DocPath, tuple[str, str]], host: PluginHost) -> None:
        self.doc, self.owners, self.host = doc, owners, host
        if not isinstance(doc.data, dict):  # the loader gives only schema-valid documents, whose top is a mapping
            raise TypeError(f"a policy document is a mapping, not {type(doc.data).__name__}")
        self.data: dict[str, Any] = doc.data
        self.problems: list[Problem] = []
        # Filled in order by policy(): later parts are checked against earlier ones.
        self.inputs: dict[str, InputSpec] = {}
        self.aggregation = Aggregation("points", Decimal(100), {})
        self.indicators: dict[str, Indicator] = {}

    def fail(
        self, path: DocPath, message: str, hint: str | None = None, code: str = Code.INVALID, *, key: bool = False
    ) -> None:
        self.problems.append(Problem(message, self.doc.location(path, key=key), hint, code))

    def origin(self, path: DocPath) -> Origin:
        return _origin(self.doc, self.owners, path)

    def owns(self, path: DocPath) -> bool:
        """Whether the file being loaded (not a parent) set the value at ``path``."""
        return self.owners.get(path) == (str(self.data["id"]), str(self.data["version"]))

    def policy(self) -> Policy:
        d = self.data
        start = self.date(("effective_from",))
        until = self.date(("effective_until",)) if "effective_until" in d else None
        if start and until and until < start:
            self.fail(
                ("effective_until",),
                tr("the period ends ({until}) before it starts ({start})", until=until, start=start),
                tr("effective_until must be on or after effective_from"),
                Code.BAD_PERIOD,
            )
        self.inputs = inputs = {name: self.input(name, spec) for name, spec in d["inputs"].items()}
        self.aggregation = aggregation = self.read_aggregation()
        rollup = self.rollup(d["rollup"]) if "rollup" in d else None
        indicators = self.indicators
        for name, spec in d["indicators"].items():
            indicator = self.indicator(name, self.given_rollup(spec))
            if indicator is not None:
                indicators[name] = indicator
        if len(indicators) == len(d["indicators"]):  # a broken indicator already has its own error
            self.check_weights()
        grades = tuple(
            self.grade(Grade(level), d["grades"][level]) for level in ("pass", "good") if level in d.get("grades", {})
        )
        vetoes = {
            vid: Veto(
                vid,
                self.label(("vetoes", vid), vid),
                self.condition(("vetoes", vid, "when")),
            )
            for vid, spec in d.get("vetoes", {}).items()
        }
        adjustments = {aid: self.adjustment(aid, spec) for aid, spec in d.get("adjustments", {}).items()}
        targets = {tid: self.target(tid, spec) for tid, spec in d.get("targets", {}).items()}
        constraints = self.constraints(d["constraints"]) if "constraints" in d else None
        unit = self.unit(d["unit"]) if "unit" in d else Unit()
        bases = self.read_bases()
        if self.problems:
            raise PolicyError(self.problems)
        if not isinstance(start, dt.date):  # a missing or bad date is a problem, raised just above
            raise TypeError(f"effective_from read as {start!r}, with no problem reported")
        return Policy(
            id=d["id"],
            version=str(d["version"]),
            label=self.label((), d["id"]),
            description=Label.from_mapping(d["description"], "") if "description" in d else None,
            effective_from=start,
            effective_until=until,
            precision=d.get("precision", 2),
            inputs=inputs,
            indicators=indicators,
            aggregation=aggregation,
            grades=grades,
            vetoes=vetoes,
            adjustments=adjustments,
            targets=targets,
            assumptions={k: Label.from_mapping(v, k) for k, v in d.get("assumptions", {}).items()},
            constraints=constraints,
            file=self.doc.file,
            chain=(),
            document=self.doc,
            owners=self.owners,
            unit=unit,
            rollup=rollup,
            bases=bases,
        )

    def read_bases(self) -> dict[str, Basis]:
        """Every rule's ``basis:`` marker; an ``assumption`` must name an entry of ``assumptions``."""
        declared = self.data.get("assumptions", {})
        out: dict[str, Basis] = {}
        for place in BASIS_PLACES:
            for path, node in _nodes(self.data, place):
                if not isinstance(node, Mapping) or not isinstance(node.get("basis"), Mapping):
                    continue
                spec = node["basis"]
                name = spec.get("assumption")
                if name is not None and name not in declared:
                    self.fail(
                        (*path, "basis", "assumption"),
                        tr("the basis names the assumption {name!r}, which `assumptions` does not declare", name=name),
                        _did_you_mean(str(name), list(declared)) or tr("declare it under `assumptions`"),
                        Code.UNKNOWN_ASSUMPTION,
                    )
                dotted = ".".join(str(part) for part in path)
                origin = self.origin((*path, "basis"))
                out[dotted] = Basis(dotted, spec.get("source"), spec.get("quote"), name, origin)
        return out

    def rollup(self, spec: Mapping[str, Any]) -> Criteria:
        """The ``rollup:`` criteria (schema-checked already): a township's village share is computed, so no
        village may be rated by it; a household policy's criteria read counted figures or numeric inputs."""
        parents = "parents" in self.data.get("unit", {})
        for level in LEVELS:
            for i, criterion in enumerate(spec[level]):
                field = str(criterion["field"])
                where = ("rollup", level, i, "field")
                if field == VILLAGE_SHARE and level == "village":
                    self.fail(
                        where,
                        tr(
                            "a village cannot be rated by {VILLAGE_SHARE!r}: it is the share of a township's villages",
                            VILLAGE_SHARE=VILLAGE_SHARE,
                        ),
                        tr("use {VILLAGE_SHARE!r} under `rollup.township` only", VILLAGE_SHARE=VILLAGE_SHARE),
                        Code.BAD_ROLLUP,
                    )
                elif parents and field not in {*COUNTED, VILLAGE_SHARE} and self.inputs.get(field) is None:
                    self.fail(
                        where,
                        tr(
                            "the {level} criterion reads {field!r}, which is neither a counted figure ({names}) nor "
                            "an input of this policy",
                            level=level,
                            field=field,
                            names=join(COUNTED),
                        ),
                        _did_you_mean(field, [*COUNTED, *self.inputs]) or tr("declare it under inputs"),
                        Code.UNKNOWN_INPUT,
                    )
                elif parents and field in self.inputs and self.inputs[field].type not in NUMBERS:
                    self.fail(
                        where,
                        tr(
                            "the {level} criterion averages {field!r}, which is declared as {type}",
                            level=level,
                            field=field,
                            type=self.inputs[field].type,
                        ),
                        tr("rate by a number, ratio or integer input"),
                        Code.WRONG_TYPE,
                    )
        return Criteria.from_mapping(spec)

    def given_rollup(self, spec: Mapping[str, Any]) -> Mapping[str, Any]:
        """An indicator's spec, its params given the policy's ``rollup:`` section under ``rollup`` when its
        scorer's params_schema asks for that key and the indicator does not set it."""
        entry = self.host.scorers.get(spec.get("scorer", ""))
        params = spec.get("params")
        wanted = entry is not None and "rollup" in entry.scorer.params_schema.get("properties", {})
        if not wanted or "rollup" not in self.data or not isinstance(params, Mapping) or "rollup" in params:
            return spec
        return {**spec, "params": {**params, "rollup": self.data["rollup"]}}

    def unit(self, spec: Mapping[str, Any]) -> Unit:
        key = str(spec["key"])
        parents = {level: str(spec["parents"][level]) for level in PARENT_LEVELS if level in spec.get("parents", {})}
        if key in self.inputs:
            self.fail(
                ("unit", "key"),
                tr("the unit key {key!r} is also declared as an input", key=key),
                tr("name the identifying field differently from every input"),
                Code.BAD_UNIT,
            )
        for level, field in parents.items():
            if field == key or field in self.inputs:
                what = tr("the unit key") if field == key else tr("an input")
                self.fail(
                    ("unit", "parents", level),
                    tr("the {level} field {field!r} is {what}", level=level, field=field, what=what),
                    tr("name the field that holds the code of the unit's {level}", level=level),
                    Code.BAD_UNIT,
                )
        if len(set(parents.values())) < len(parents):
            self.fail(
                ("unit", "parents"),
                tr("two levels name the same field"),
                tr("give each level its own field"),
                Code.BAD_UNIT,
            )
        fallback = "县（市）" if key == "county" else key
        label = Label.from_mapping(spec.get("label"), fallback)
        if "label" not in spec and key == "county":
            label = Unit().label
        return Unit(key, label, parents)

    def constraints(self, spec: Mapping[str, Any]) -> Constraints:
        def bounds(kind: str) -> dict[str, tuple[Decimal | None, Decimal | None]]:
            found = spec.get("bounds", {}).get(kind, {})
            return {
                name: (
                    _as_weight(b["min"]) if "min" in b else None,
                    _as_weight(b["max"]) if "max" in b else None,
                )
                for name, b in found.items()
            }

        lists: tuple[tuple[str, Mapping[str, object]], ...] = (
            ("keep_indicators", self.indicators),
            ("keep_inputs", self.inputs),
            ("keep_vetoes", self.data.get("vetoes", {})),
        )
        # Names are checked in the file that writes the constraints; a child that drops one hears it from
        # check_child, with both places.
        mine = self.owns(("constraints",))
        for kind, table in lists if mine else ():
            for i, name in enumerate(spec.get(kind, [])):
                if name not in table:
                    self.fail(
                        ("constraints", kind, i),
                        tr("{name!r} is not in this policy", name=name),
                        _did_you_mean(name, table),
                        Code.UNKNOWN_NAME,
                    )
        for kind, table in (("indicators", self.indicators), ("groups", self.aggregation.groups)) if mine else ():
            for name in spec.get("bounds", {}).get(kind, {}):
                if name not in table:
                    self.fail(
                        ("constraints", "bounds", kind, name),
                        tr("unknown {kind} {name!r}", kind=_kind(kind[:-1]), name=name),
                        _did_you_mean(name, table),
                        Code.UNKNOWN_NAME,
                        key=True,
                    )
        return Constraints(
            keep_indicators=tuple(spec.get("keep_indicators", ())),
            keep_inputs=tuple(spec.get("keep_inputs", ())),
            keep_vetoes=tuple(spec.get("keep_vetoes", ())),
            stricter_only=tuple(spec.get("stricter_only", ())),
            indicator_bounds=bounds("indicators"),
            group_bounds=bounds("groups"),
        )

    def label(self, path: DocPath, fallback: str) -> Label:
        node: Any = self.data
        for part in path:
            node = node[part]
        return Label.from_mapping(node.get("label") if isinstance(node, dict) else None, fallback)

    def date(self, path: DocPath) -> dt.date | None:
        text = self.data[str(path[0])]
        try:
            return dt.date.fromisoformat(str(text))
        except ValueError:
            self.fail(path, tr("expected a date written YYYY-MM-DD, found {text!r}", text=text), None, Code.BAD_DATE)
            return None

    def input(self, name: str, spec: Mapping[str, Any]) -> InputSpec:
        kind = spec["type"]
        low = spec.get("min", 0 if kind == "ratio" else None)
        high = spec.get("max", 1 if kind == "ratio" else None)
        if kind in ("boolean", "table") and ("min" in spec or "max" in spec):
            self.fail(
                ("inputs", name),
                tr("a {kind} input has no min or max", kind=kind),
                tr("remove min/max"),
                Code.BAD_RANGE,
            )
        if low is not None and high is not None and as_decimal(low) > as_decimal(high):
            self.fail(
                ("inputs", name, "max"),
                tr("max {high} is below min {low}", high=high, low=low),
                tr("swap them"),
                Code.BAD_RANGE,
            )
        return InputSpec(
            name=name,
            type=kind,
            label=self.label(("inputs", name), name),
            unit=spec.get("unit"),
            min=None if low is None else as_decimal(low),
            max=None if high is None else as_decimal(high),
            better=Better(spec.get("better", "none")),
            required=spec.get("required", True),
            internal=spec.get("internal", False),
        )

    def read_aggregation(self) -> Aggregation:
        spec = self.data["aggregation"]
        method = spec["method"]
        path: DocPath = ("aggregation",)
        if method == "points" and "total" not in spec:
            self.fail(path, tr("the points method needs `total`"), tr("add `total: 100`"), Code.MISSING_KEY)
        if method != "points" and "total" in spec:
            self.fail(
                (*path, "total"),
                tr("`total` belongs to the points method, not {method}", method=method),
                tr("weighted totals run from 0 to 100; remove `total`"),
                Code.NOT_ALLOWED,
                key=True,
            )
        groups = {}
        for name, group in spec.get("groups", {}).items():
            gpath: DocPath = (*path, "groups", name)
            if method == "points" and "weight" in group:
                self.fail(
                    (*gpath, "weight"),
                    tr("groups have no weight under the points method"),
                    tr("give each indicator its points; a group's points are their sum"),
                    Code.NOT_ALLOWED,
                    key=True,
                )
            if method != "points" and "weight" not in group:
                self.fail(gpath, tr("group {name!r} needs a weight", name=name), tr("add `weight:`"), Code.MISSING_KEY)
            exact = self.weight((*gpath, "weight"), group["weight"]) if "weight" in group else None
            weight = None if exact is None else _as_weight(group["weight"])
            groups[name] = Group(
                name,
                self.label(gpath, name),
                weight,
                self.origin((*gpath, "weight")) if weight is not None else None,
                exact,
                group.get("group"),
                self.group_method(method, group, gpath),
            )
        self.check_nesting(groups, path)
        if method != "points" and groups:
            top = [g.weight_exact for g in groups.values() if g.parent is None]
            nested = any(g.parent is not None for g in groups.values())
            self.sum_to_one(
                top, (*path, "groups"), tr("weights of the top-level groups") if nested else tr("group weights")
            )
        availability = self.weight((*path, "availability"), spec["availability"]) if "availability" in spec else None
        if availability is not None and not 0 < availability <= 1:
            self.fail(
                (*path, "availability"),
                tr("availability {spec} is not a share in (0, 1]", spec=spec["availability"]),
                tr("write the least share of indicators with data, e.g. 2/3"),
                Code.BAD_RANGE,
            )
        return Aggregation(
            method=method,
            total=as_decimal(spec.get("total", 100)),
            groups=groups,
            bonus_cap=as_decimal(spec["bonus_cap"]) if "bonus_cap" in spec else None,
            deduction_cap=as_decimal(spec["deduction_cap"]) if "deduction_cap" in spec else None,
            availability=availability,
        )

    def group_method(self, method: str, group: Mapping[str, Any], path: DocPath) -> str | None:
        """A group's own method: weighted or geometric under a weighted policy; points only under points."""
        own = group.get("method")
        if own is not None and (own == "points") != (method == "points"):
            self.fail(
                (*path, "method"),
                tr("a group cannot use {own} under the {method} method", own=own, method=method),
                tr("points groups belong to points policies; weighted_mean and geometric_mean to weighted ones"),
                Code.BAD_GROUPS,
            )
        return own if isinstance(own, str) else None

    def check_nesting(self, groups: Mapping[str, Group], path: DocPath) -> None:
        """Every group's parent is declared, and no group is (through others) part of itself."""
        for name, group in groups.items():
            if group.parent is not None and group.parent not in groups:
                self.fail(
                    (*path, "groups", name, "group"),
                    tr("unknown group {parent!r}", parent=group.parent),
                    _did_you_mean(group.parent, groups),
                    Code.UNKNOWN_NAME,
                )
                continue
            seen = [name]
            parent = group.parent
            while parent is not None and parent in groups and parent not in seen:
                seen.append(parent)
                parent = groups[parent].parent
            if parent is not None and parent in seen:
                self.fail(
                    (*path, "groups", name, "group"),
                    tr("group {name!r} is part of itself: {names}", name=name, names=" → ".join([*seen, parent])),
                    tr("make the groups a tree: each group's `group:` names one above it"),
                    Code.BAD_GROUPS,
                )

    def sum_to_one(self, weights: list[Fraction | None], path: DocPath, what: str) -> None:
        """Weights add up to exactly 1, as fractions (three weights of 1/3 do)."""
        total = sum((w for w in weights if w is not None), Fraction(0))
        if total != 1 and all(w is not None for w in weights):
            shown = weight_decimal(total) if total == Fraction(weight_decimal(total)) else total
            self.fail(
                path,
                tr("{what} add up to {shown}, not 1", what=what, shown=shown),
                tr("adjust them so they add up to exactly 1"),
                Code.BAD_WEIGHTS,
            )

    def weight(self, path: DocPath, value: object) -> Fraction | None:
        """A weight as written (number or fraction), or None after reporting why it cannot be one."""
        try:
            return exact_weight(value)
        except ValueError as exc:
            self.fail(path, _said(exc), tr("write a number, or a fraction such as 1/3"), Code.BAD_WEIGHTS)
            return None

    def indicator(self, name: str, spec: Mapping[str, Any]) -> Indicator | None:
        path: DocPath = ("indicators", name)
        self.indicator_size(name, spec, path)
        group = self.indicator_group(name, spec, path)
        missing = self.missing(path, spec.get("missing", "not_graded"))
        points = as_decimal(spec["points"]) if "points" in spec else None
        entry = self.pinned_scorer(name, spec, path)
        if entry is None:
            return None
        params = spec["params"]
        shape = self.scorer_shape(entry, params, path)
        if shape is None:
            return None
        reads, types, optional = shape
        if self.reads_declared(entry.scorer, params, reads, types, path):
            self.try_build(entry, params, points if points is not None else Decimal(100), path)
        if missing.rule == "impute" and missing.impute == "group_mean" and not missing.group:
            self.fail(
                (*path, "missing"),
                tr("group_mean needs the field to group by"),
                tr("add `group: city`"),
                Code.MISSING_KEY,
            )
        exact = self.weight((*path, "weight"), spec["weight"]) if "weight" in spec else None
        return Indicator(
            name=name,
            label=self.label(path, name),
            scorer=entry.scorer.name,
            params=params,
            group=group,
            weight=None if exact is None else _as_weight(spec["weight"]),
            weight_exact=exact,
            points=points,
            missing=missing,
            reads=dict(reads),
            optional=optional,
            origin=self.origin(path),
            weight_origin=self.origin((*path, "weight" if "weight" in spec else "points")),
        )

    def indicator_size(self, name: str, spec: Mapping[str, Any], path: DocPath) -> None:
        """An indicator's size is `points` under the points method and `weight` under the others."""
        method = self.aggregation.method
        wanted, unwanted = ("points", "weight") if method == "points" else ("weight", "points")
        if wanted not in spec:
            needs = tr("needs `points` under the points method") if method == "points" else tr("needs a `weight`")
            self.fail(
                path,
                tr("indicator {name!r} {needs}", name=name, needs=needs),
                tr("add `{wanted}:`", wanted=wanted),
                Code.MISSING_KEY,
            )
        if unwanted in spec:
            message = (
                tr("`weight` is for weighted methods; this policy adds points")
                if method == "points"
                else tr("`points` is for the points method; this policy uses {method}", method=method)
            )
            self.fail(
                (*path, unwanted), message, tr("use `{wanted}:` instead", wanted=wanted), Code.NOT_ALLOWED, key=True
            )

    def indicator_group(self, name: str, spec: Mapping[str, Any], path: DocPath) -> str | None:
        """The indicator's group, which must be declared, and given whenever the policy has groups."""
        groups = self.aggregation.groups
        group: str | None = spec.get("group")
        if groups and group is None:
            self.fail(
                path,
                tr("indicator {name!r} needs a `group`", name=name),
                tr("one of {names}", names=join(groups)),
                Code.MISSING_KEY,
            )
        elif group is not None and group not in groups:
            self.fail(
                (*path, "group"),
                tr("unknown group {group!r}", group=group),
                _did_you_mean(group, groups),
                Code.UNKNOWN_NAME,
            )
        return group

    def pinned_scorer(self, name: str, spec: Mapping[str, Any], path: DocPath) -> ScorerEntry | None:
        """The installed scorer the indicator names, if it is installed at the version `scorer_version` pins."""
        entry = self.host.scorers.get(spec["scorer"])
        if entry is None:
            message, hint, code = unknown_scorer(spec["scorer"], self.host.scorers)
            self.fail((*path, "scorer"), message, hint, code)
            return None
        scorer = entry.scorer
        try:
            pinned = "scorer_version" not in spec or version_matches(entry.version, str(spec["scorer_version"]))
        except ValueError as exc:
            self.fail(
                (*path, "scorer_version"),
                tr(
                    "cannot check scorer {name!r} version {version} against {spec}: {exc}",
                    name=scorer.name,
                    version=entry.version,
                    spec=spec["scorer_version"],
                    exc=_said(exc),
                ),
                tr("write a version such as 1.0, or clauses such as >=1.0,<2"),
                Code.SCORER_VERSION,
            )
            return None
        if not pinned:
            self.fail(
                (*path, "scorer_version"),
                tr(
                    "indicator {name!r} needs scorer {name2!r} version {spec}, but version {version} is "
                    "installed (from {distribution} {distribution_version})",
                    name=name,
                    name2=scorer.name,
                    spec=spec["scorer_version"],
                    version=entry.version,
                    distribution=entry.distribution,
                    distribution_version=entry.distribution_version,
                ),
                tr(
                    "install a version of {distribution} whose {name!r} scorer matches, or change "
                    "`scorer_version` after checking the scores it gives",
                    distribution=entry.distribution,
                    name=scorer.name,
                ),
                Code.SCORER_VERSION,
            )
            return None
        return entry

    def scorer_shape(
        self, entry: ScorerEntry, params: Any, path: DocPath
    ) -> tuple[Mapping[str, Better], Mapping[str, frozenset[str]], frozenset[str]] | None:
        """What the scorer reads with these params, their allowed types and the optional ones; None if the
        params break the scorer's schema or the scorer refuses them."""
        import jsonschema  # loaded with the first policy, not on import (a cheap `fineco --help`)

        scorer = entry.scorer
        validator_cls = jsonschema.validators.validator_for(scorer.params_schema)
        found = validate_against(validator_cls(scorer.params_schema), self.doc, (*path, "params"))
        if found:
            self.problems.extend(found)
            return None
        try:
            return scorer.reads(params), scorer.input_types(params), scorer.optional(params)
        except ParamError as exc:
            self.fail((*path, "params", *exc.path), exc.problem.message, exc.hint, Code.BAD_PARAMS)
        except Exception as exc:  # a plugin's bug must name the plugin, never surface as a traceback
            self.fail(
                (*path, "scorer"),
                _plugin_failed(entry, exc),
                tr("report this to the plugin's authors"),
                Code.PLUGIN_FAILED,
            )
        return None

    def reads_declared(
        self,
        scorer: Scorer,
        params: Any,
        reads: Mapping[str, Better],
        types: Mapping[str, frozenset[str]],
        path: DocPath,
    ) -> bool:
        """Whether every field the scorer reads is a declared input of a type it accepts."""
        ok = True
        for field in reads:
            where = (*path, "params", *_find(params, field))
            spec_in = self.inputs.get(field)
            allowed = types.get(field, NUMBERS)
            if spec_in is None:
                self.fail(
                    where,
                    tr(
                        "scorer {name!r} reads {field!r}, which is not declared under inputs",
                        name=scorer.name,
                        field=field,
                    ),
                    _did_you_mean(field, self.inputs) or tr("declare it under inputs"),
                    Code.UNKNOWN_INPUT,
                )
                ok = False
            elif spec_in.type not in allowed:
                self.fail(
                    where,
                    tr(
                        "scorer {name!r} needs {names} for {field!r}, which is declared as {type}",
                        name=scorer.name,
                        names=" or ".join(sorted(allowed)),
                        field=field,
                        type=spec_in.type,
                    ),
                    None,
                    Code.WRONG_TYPE,
                )
                ok = False
        return ok

    def try_build(self, entry: ScorerEntry, params: Any, max_score: Decimal, path: DocPath) -> None:
        """Build the scorer once at load time, so bad params fail here and not on the first record."""
        try:
            entry.scorer.build(params, max_score)
        except ParamError as exc:
            self.fail((*path, "params", *exc.path), exc.problem.message, exc.hint, Code.BAD_PARAMS)
        except Exception as exc:  # as above: name the plugin
            self.fail(
                (*path, "scorer"),
                _plugin_failed(entry, exc),
                tr("report this to the plugin's authors"),
                Code.PLUGIN_FAILED,
            )

    def missing(self, path: DocPath, spec: Any) -> Missing:
        if isinstance(spec, str):
            return Missing(MISSING_RULES[spec])
        return Missing("impute", spec["impute"], spec.get("group"))

    def check_weights(self) -> None:
        indicators, aggregation = self.indicators, self.aggregation
        if aggregation.method == "points":
            points = [i.points for i in indicators.values()]
            total = sum((p for p in points if p is not None), ZERO)
            if None not in points and indicators and total != aggregation.total:
                # Point at the points this file changed, if it changed any: that is where the sum broke.
                own = [("indicators", n, "points") for n in indicators if self.owns(("indicators", n, "points"))]
                at = own[0] if own and not self.owns(("aggregation", "total")) else ("aggregation", "total")
                self.problems.append(
                    Problem(
                        tr(
                            "indicator points add up to {total}, not the stated total {total2}",
                            total=total,
                            total2=aggregation.total,
                        ),
                        self.doc.location(at),
                        tr(
                            "the points of each indicator: {names} = {total}; make the points add up to the total, "
                            "or change the total",
                            names=_PointsList([(n, i.label.zh, i.points) for n, i in indicators.items()]),
                            total=total,
                        ),
                        Code.BAD_POINTS,
                        self.doc.location(("aggregation", "total")) if at != ("aggregation", "total") else None,
                    )
                )
            return
        by_group: dict[str | None, list[Fraction | None]] = {}
        for indicator in indicators.values():
            by_group.setdefault(indicator.group, []).append(indicator.weight_exact)
        parents = {sub.parent for sub in aggregation.groups.values()}
        for sub in aggregation.groups.values():
            if sub.parent is not None:
                by_group.setdefault(sub.parent, []).append(sub.weight_exact)
        for group, weights in by_group.items():
            what = tr("weights of the indicators in group {group!r}", group=group) if group else tr("indicator weights")
            if group in parents:
                what = tr("weights of the parts (indicators and groups) of group {group!r}", group=group)
            path: DocPath = ("aggregation", "groups", group) if group else ("indicators",)
            self.sum_to_one(weights, path, what)
        for name in aggregation.groups:
            if name not in by_group:
                self.fail(
                    ("aggregation", "groups", name),
                    tr("group {name!r} has no indicators", name=name),
                    tr("remove it or put indicators or groups in it"),
                    Code.EMPTY_GROUP,
                    key=True,
                )

    def condition(self, path: DocPath) -> Condition:
        node: Any = self.data
        for part in path:
            node = node[part]
        subjects = [k for k in SUBJECT_KINDS if k in node]
        value = node["value"]
        origin = self.origin((*path, "value"))
        label = Label.from_mapping(node["label"], "") if "label" in node else None
        if len(subjects) != 1:
            self.fail(
                path,
                tr(
                    "a condition compares exactly one of input, indicator, group or total; found {value}",
                    value=", ".join(subjects) or "none",
                ),
                tr("keep one of them"),
                Code.BAD_CONDITION,
            )
            return Condition("total", "total", node["op"], ZERO, label, origin)
        kind = subjects[0]
        subject = "total" if kind == "total" else str(node[kind])
        inputs = self.inputs
        tables: dict[str, Mapping[str, object]] = {
            "input": inputs,
            "indicator": self.indicators,
            "group": self.aggregation.groups,
        }
        known = tables.get(kind, {"total": None})
        if subject not in known:
            self.fail(
                (*path, kind),
                tr("unknown {kind} {subject!r}", kind=_kind(kind), subject=subject),
                _did_you_mean(subject, known),
                Code.UNKNOWN_NAME,
            )
        is_bool = kind == "input" and subject in inputs and inputs[subject].type == "boolean"
        if isinstance(value, bool) != is_bool:
            want = tr("true or false") if is_bool else tr("a number")
            self.fail(
                (*path, "value"),
                tr("{subject!r} is compared with {value!r}; expected {want}", subject=subject, value=value, want=want),
                None,
                Code.WRONG_TYPE,
            )
        if isinstance(value, bool) and node["op"] not in {"==", "!="}:
            self.fail(
                (*path, "op"),
                tr("true/false can only be compared with == or !=, not {node}", node=node["op"]),
                None,
                Code.BAD_CONDITION,
            )
        parsed: Decimal | bool = value if isinstance(value, bool) else as_decimal(value)
        return Condition(kind, subject, node["op"], parsed, label, origin)

    def grade(self, grade: Grade, spec: Mapping[str, Any]) -> GradeRule:
        path: DocPath = ("grades", grade.value)
        gates = {gid: self.condition((*path, "gates", gid)) for gid in spec.get("gates", {})}
        return GradeRule(
            grade,
            self.label(path, grade.value),
            as_decimal(spec["min_total"]),
            gates,
            self.origin((*path, "min_total")),
            spec.get("from_pass", "same_year"),
        )

    def target(self, tid: str, spec: Mapping[str, Any]) -> Target:
        path: DocPath = ("targets", tid)
        metric, scope = spec["metric"], spec.get("scope", "province")
        field: str | None = spec.get("input")
        wants = _TARGET_INPUTS.get(metric)
        if metric not in TARGET_METRICS:
            hint = _did_you_mean(metric, list(TARGET_METRICS)) or tr("one of {names}", names=join(TARGET_METRICS))
            self.fail((*path, "metric"), tr("unknown target metric {metric!r}", metric=metric), hint, Code.UNKNOWN_NAME)
        elif wants is None and field is not None:
            self.fail(
                (*path, "input"),
                tr("metric {metric!r} takes no input", metric=metric),
                tr("remove `input`"),
                Code.NOT_ALLOWED,
                key=True,
            )
        elif wants is not None and field is None:
            self.fail(
                path,
                tr("metric {metric!r} needs the `input` it is computed from", metric=metric),
                tr("add `input:`"),
                Code.MISSING_KEY,
            )
        elif wants is not None and field is not None:
            if metric == "ratio_of_totals" and field not in self.inputs:
                pass  # a ratio of totals adds up record columns that need not be graded inputs
            elif field not in self.inputs:
                self.fail(
                    (*path, "input"),
                    tr("unknown input {field!r}", field=field),
                    _did_you_mean(field, self.inputs),
                    Code.UNKNOWN_NAME,
                )
            elif self.inputs[field].type not in wants:
                kind = " or ".join(sorted(wants))
                self.fail(
                    (*path, "input"),
                    tr("{metric} needs a {kind} input; {field!r} is not one", metric=metric, kind=kind, field=field),
                    None,
                    Code.WRONG_TYPE,
                )
        if metric == "counties_per_city" and scope != "city":
            self.fail(
                path,
                tr("counties_per_city is counted in each prefecture city"),
                tr("add `scope: city`"),
                Code.BAD_SCOPE,
            )
        per: str | None = spec.get("per")
        if (metric == "ratio_of_totals") != (per is not None):
            hint = tr("add `per:` (the input whose total divides)") if per is None else tr("remove `per`")
            where = (*path, "per") if per else path
            self.fail(where, tr("metric {metric!r} and `per` go together", metric=metric), hint, Code.NOT_ALLOWED)
        elif per is not None and per in self.inputs and self.inputs[per].type not in NUMBERS:
            self.fail(
                (*path, "per"),
                tr("ratio_of_totals needs a number input; {per!r} is not one", per=per),
                None,
                Code.WRONG_TYPE,
            )
        judged = spec.get("judged", "every_year")
        return Target(
            tid, self.label(path, tid), metric, spec["op"], as_decimal(spec["value"]), field, scope, per, judged
        )

    def adjustment(self, aid: str, spec: Mapping[str, Any]) -> Adjustment:
        path: DocPath = ("adjustments", aid)
        inputs = self.inputs
        when = self.condition((*path, "when")) if "when" in spec else None
        fixed = "when" in spec and "points" in spec and "input" not in spec and "per_unit" not in spec
        scaled = "input" in spec and "per_unit" in spec and "when" not in spec and "points" not in spec
        if not (fixed or scaled):
            self.fail(
                path,
                tr(
                    "an adjustment gives either `points` when a condition holds (`when`), or `per_unit` "
                    "points for each unit of an `input`"
                ),
                tr("use when+points or input+per_unit"),
                Code.BAD_ADJUSTMENT,
            )
        field = spec.get("input")
        if field is not None and field not in inputs:
            self.fail(
                (*path, "input"),
                tr("unknown input {field!r}", field=field),
                _did_you_mean(field, inputs),
                Code.UNKNOWN_NAME,
            )
        elif field is not None and inputs[field].type not in NUMBERS:
            self.fail((*path, "input"), tr("{field!r} is not a number", field=field), None, Code.WRONG_TYPE)
        return Adjustment(
            id=aid,
            label=self.label(path, aid),
            kind=spec["kind"],
            when=when,
            points=as_decimal(spec["points"]) if "points" in spec else None,
            input=field,
            per_unit=as_decimal(spec["per_unit"]) if "per_unit" in spec else None,
            cap=as_decimal(spec["cap"]) if "cap" in spec else None,
            origin=self.origin(path),
        )


_VERSION_CLAUSE: Final = re.compile(r"\s*(==|!=|>=|<=|>|<)?\s*([0-9]+(?:\.[0-9]+)*)\s*")


def _version_key(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 1.0 == 1
        parts.pop()
    return tuple(parts)


def version_matches(version: str, wanted: str) -> bool:
    """Whether a scorer ``version`` (dotted numbers) meets ``wanted``: ``1.0``, or clauses like ``>=1.0,<2``.

    A bare version means exactly that version; clauses separated by commas must all hold.
    ``ValueError`` if ``wanted`` (or ``version``) is not written that way.
    """
    installed = re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", version.strip())
    if installed is None:
        raise ValueError(tr("the installed version {version!r} is not dotted numbers", version=version))
    have = _version_key(installed[0])
    for clause in wanted.split(","):
        found = _VERSION_CLAUSE.fullmatch(clause)
        if found is None:
            raise ValueError(tr("{clause!r} is not a version clause such as 1.0 or >=1.0", clause=clause.strip()))
        op, want = found[1] or "==", _version_key(found[2])
        ok = {
            "==": have == want,
            "!=": have != want,
            ">=": have >= want,
            "<=": have <= want,
            ">": have > want,
            "<": have < want,
        }[op]
        if not ok:
            return False
    return True


def _plugin_failed(entry: ScorerEntry, exc: Exception) -> Msg:
    return tr(
        "scorer {name} {version} from {plugin} ({distribution} {distribution_version}) failed on these params: {exc}",
        name=entry.name,
        version=entry.version,
        plugin=entry.plugin,
        distribution=entry.distribution,
        distribution_version=entry.distribution_version,
        exc=quoted(repr(exc)),
    )


class _PointsList:
    """Each indicator's points, ``credit 24 + npl 30`` (by label in Chinese), for the hint on a wrong sum."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[str, str, Decimal | None]]) -> None:
        self.items = items

    def render(self, lang: str) -> str:
        return " + ".join(f"{zh if lang == 'zh' else name} {points}" for name, zh, points in self.items)

    def __str__(self) -> str:
        return self.render("en")


_KINDS = {"input": tr("input"), "indicator": tr("indicator"), "group": tr("group"), "total": tr("total")}


def _kind(kind: str) -> str:
    """What a condition or bound refers to (input, indicator, group), in the language shown."""
    return _KINDS.get(kind, kind)


def _said(exc: Exception) -> str:
    """An exception's message: the Msg it was raised with (so it renders in Chinese), else its text."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Msg) else str(exc)


def _find(params: object, value: str) -> DocPath:
    """Where in ``params`` the text ``value`` is written (the first place), or ``()``."""
    if params == value:
        return ()
    items = params.items() if isinstance(params, dict) else enumerate(params) if isinstance(params, list) else ()
    for key, child in items:
        found = _find(child, value)
        if found or child == value:
            return (key, *found)
    return ()


def _did_you_mean(name: str, known: Mapping[str, object] | list[str]) -> Msg | None:
    close = difflib.get_close_matches(name, list(known), n=1)
    return tr("did you mean {name!r}?", name=close[0]) if close else None
