"""Rule consistency (``fineco check``): what is decided from a policy's declarative form, and what is
searched for with Hypothesis (monotonicity, scorer contracts, determinism, batch order, reachable grades)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Final, TypeVar

import attrs
import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import strategies as st

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._results import Check, CountyResult, Evaluation, jsonable
from fineco_rules.errors import Code, Location, Msg, PolicyError, Problem, join, tr, trc
from fineco_rules.io._numbers import ZERO, as_decimal, quantizer
from fineco_rules.io._yaml import DocPath, path_text
from fineco_rules.policy._anatomy import (
    ROW_SCORERS,
    Piece,
    Region,
    Site,
    at,
    condition_region,
    direction_of,
    domain_of,
    effective_weight,
    input_domain,
    is_integer,
    max_reach,
    max_total,
    monotone_breach,
    pieces_of,
    sites,
    thresholds,
)
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._model import Condition, Grade, GradeRule, Indicator, Policy
from fineco_rules.quality._laxer import prove_no_laxer
from fineco_rules.quality._strategies import batches, input_bounds, input_values
from fineco_rules.scoring._builtin import parse_formula
from fineco_rules.scoring._formula import Expr, Interval
from fineco_rules.scoring._host import PluginHost, make_plugin_host
from fineco_rules.scoring._scorer import Better

__all__ = [
    "RULES",
    "SEARCHED",
    "STATIC",
    "CheckReport",
    "Finding",
    "check_policy",
    "comparable",
    "compare_improvement",
    "render_record",
    "render_report",
    "result_difference",
]

#: Every rule ``fineco check`` knows, with what it asks of a policy.
RULES: Final[Mapping[str, str]] = {
    "loads": "the policy loads: schema, names, types and scorer parameters",
    "bands": "bands neither overlap nor leave a value of the input's declared range unscored",
    "range": "every threshold lies within the range of what it compares",
    "weights": "weights add up to 1",
    "points": "points add up to the total, and every indicator can reach its points",
    "unused": "every input is read, and every indicator counts",
    "redundant": "no gate is implied by another, by min_total or by a veto, and every veto can fire",
    "unreachable": "every grade can be reached",
    "nested": "grade levels are nested: good's conditions are at least as strict as pass's",
    "direction": "scorers reward each input in its declared better direction",
    "monotone": "improving one input in its declared better direction never lowers a score, the total or the grade",
    "score-range": "scores stay between 0 and the indicator's maximum",
    "scorer-error": "scorers grade every valid record without failing",
    "deterministic": "grading the same records twice gives the same results",
    "order": "results do not depend on the order of the counties in a batch",
    "laxer": "a city's method grades no county higher than the provincial method it extends, on every record",
}
#: Each rule's short name as an official reads it (the rule's id in English).
_RULE_NAMES: Final[Mapping[str, Msg]] = {
    "loads": trc("check rule", "loads"),
    "bands": trc("check rule", "bands"),
    "range": trc("check rule", "range"),
    "weights": trc("check rule", "weights"),
    "points": trc("check rule", "points"),
    "unused": trc("check rule", "unused"),
    "redundant": trc("check rule", "redundant"),
    "unreachable": trc("check rule", "unreachable"),
    "nested": trc("check rule", "nested"),
    "direction": trc("check rule", "direction"),
    "monotone": trc("check rule", "monotone"),
    "score-range": trc("check rule", "score-range"),
    "scorer-error": trc("check rule", "scorer-error"),
    "deterministic": trc("check rule", "deterministic"),
    "order": trc("check rule", "order"),
    "laxer": trc("check rule", "laxer"),
}
#: What a condition does, in a finding about it.
_ROLES: Final[Mapping[str, Msg]] = {
    "bonus": trc("condition role", "bonus"),
    "deduction": trc("condition role", "deduction"),
}


def rule_name(rule: str) -> str:
    """``rule``'s name in the current language: its id in English, a short Chinese name in Chinese."""
    return str(_RULE_NAMES.get(rule, rule))


#: Rules decided from the declarative form (a finding is proved).
STATIC: Final = (
    "loads",
    "bands",
    "range",
    "weights",
    "points",
    "unused",
    "redundant",
    "unreachable",
    "nested",
    "direction",
    "monotone",
)
#: Rules searched for with Hypothesis (a pass is "searched, not proved").
SEARCHED: Final = ("monotone", "direction", "unreachable", "score-range", "scorer-error", "deterministic", "order")

# Loader problems that are one of the consistency rules rather than a plain mistake.
_LOAD_RULES: Final = {
    Code.BAD_WEIGHTS: "weights",
    Code.BAD_POINTS: "points",
    Code.BAD_RANGE: "range",
    Code.EMPTY_GROUP: "unused",
}
_BAND_MESSAGES: Final = ("gap between bands", "bands overlap")
_OUT_OF_RANGE: Final = ("is outside [0,", "not a Scored")
#: The engine's codes for a scorer that failed (a bug) or refused a county's inputs (a ValueError).
_SCORER_ERRORS: Final = frozenset({Code.SCORER_FAILED, Code.SCORER_REJECTED})
_COHORT_BATCH: Final = 9  # worst counties beside the best one: a z-score then reaches +3σ
_Reason = tuple[str, Location, Location | None]  # why a grade is unreachable, where, and where else to look

T = TypeVar("T")


@attrs.frozen
class Finding:
    """One way a policy breaks a rule: where the culprit is, and the counterexample if one was searched for."""

    rule: str
    message: str
    location: Location
    #: True when decided from the declarations; False when found by a search (the record shows it).
    proved: bool = True
    #: The county records that show it (a batch for a cohort or order finding), smallest found.
    counterexample: tuple[Mapping[str, object], ...] = ()
    see: Location | None = None
    hint: str | None = None

    @property
    def how(self) -> str:
        return str(tr("proved") if self.proved else tr("searched, not proved"))

    def __str__(self) -> str:
        return str(
            tr(
                "{where}: {rule}: {message} [{how}]",
                where=self.location,
                rule=rule_name(self.rule),
                message=self.message,
                how=self.how,
            )
        )

    def to_problem(self) -> Problem:
        return Problem(f"{self.rule}: {self.message}", self.location, self.hint, f"check-{self.rule}", self.see)

    def describe(self) -> str:
        """The finding, then each county record that shows it."""
        lines = [
            str(self),
            *(str(tr("    counterexample: {record}", record=render_record(r))) for r in self.counterexample),
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = self.to_problem().to_dict()
        out |= {"rule": self.rule, "message": self.message, "proved": self.proved}
        if self.counterexample:
            out["counterexample"] = [jsonable(dict(r)) for r in self.counterexample]
        return out


@attrs.frozen
class CheckReport:
    """What ``fineco check`` found in one policy, and which rules it decided or searched."""

    file: str
    policy: str | None  # "id version"; None when the policy did not load
    findings: tuple[Finding, ...]
    proved: tuple[str, ...]
    searched: tuple[str, ...]
    examples: int  # examples per search; 0 when nothing was searched
    #: How each formula's declared directions were checked ("… proved by interval arithmetic", "… searched,
    #: not proved"), one line per input of each formula.
    notes: tuple[str, ...] = ()
    #: For a method extending another id's (a city's): "proved", "searched" or "not checked"; else None.
    laxer: str | None = None
    #: The policy it was compared with ("id version"), and why a static proof did not hold.
    parent: str | None = None
    laxer_gaps: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def rules(self) -> frozenset[str]:
        """The rules broken."""
        return frozenset(f.rule for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "policy": self.policy,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "proved": list(self.proved),
            "searched": list(self.searched),
            "examples": self.examples,
            "notes": list(self.notes),
        } | (
            {}
            if self.laxer is None
            else {"laxer": {"against": self.parent, "how": self.laxer, "not_proved_because": list(self.laxer_gaps)}}
        )


def check_policy(
    policy: Policy | str | os.PathLike[str],
    *,
    as_of: dt.date | None = None,
    host: PluginHost | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    search: bool = True,
) -> CheckReport:
    """Check ``policy`` (loaded, or a file or folder to load) against every rule in :data:`RULES`.

    Static rules are decided from the declarations. With ``search`` the rest are searched for with
    Hypothesis, ``max_examples`` examples per search, reproducibly (``seed`` picks another sequence).
    A policy that does not load is reported, not raised: its problems are findings.
    Do not call this from inside a Hypothesis test: it runs its own.
    """
    host = host if host is not None else make_plugin_host()
    if not isinstance(policy, Policy):
        try:
            policy = load_policy(policy, as_of=as_of, host=host)
        except PolicyError as exc:
            problems = tuple(_load_finding(p) for p in exc.problems)
            return CheckReport(str(policy), None, problems, ("loads",), (), 0)
    static = _Static(policy)
    findings = list(static.run())
    searched: tuple[str, ...] = ()
    formulas = list(formula_directions(policy))
    notes = [f"{f.what}: proved by interval arithmetic" for f in formulas if f.proved]
    if search and max_examples > 0:
        searcher = _Searcher(policy, compile_policy(policy, host), host, max_examples, seed)
        findings += searcher.run(static.tainted, static.unreachable)
        searched = SEARCHED
        for formula in formulas:
            if not formula.proved:
                breach = searcher.formula(formula)
                findings += [breach] if breach is not None else []
                notes.append(f"{formula.what}: {'broken' if breach else 'searched, not proved'}")
    else:
        notes += [f"{f.what}: not proved, not searched" for f in formulas if not f.proved]
    laxer = _no_laxer(policy, host, max_examples if search else 0, seed)
    findings += laxer[3]
    ordered = sorted(findings, key=lambda f: (f.location.sort_key(), f.rule, f.message))
    return CheckReport(
        policy.file,
        f"{policy.id} {policy.version}",
        tuple(ordered),
        STATIC,
        searched,
        max_examples if searched or laxer[0] == "searched" else 0,
        tuple(notes),
        laxer[0],
        laxer[1],
        laxer[2],
    )


@attrs.frozen
class FormulaDirection:
    """One input of one formula with its declared direction, and whether intervals prove it."""

    indicator: Indicator
    expr: Expr
    #: Where the formula is written: the params, or the ``derive`` inside them.
    path: DocPath
    field: str
    better: Better
    proved: bool

    @property
    def what(self) -> str:
        return f"indicator {self.indicator.name!r}: {self.field!r} (better: {self.better.value}) in `{self.expr.text}`"


def formula_directions(policy: Policy) -> Iterator[FormulaDirection]:
    """Every declared direction of every formula (the formula scorer's, or a cohort scorer's ``derive``)."""
    box: dict[str, Interval] = {
        name: (
            None if spec.min is None else Fraction(spec.min),
            None if spec.max is None else Fraction(spec.max),
        )
        for name, spec in policy.inputs.items()
    }
    for indicator in policy.indicators.values():
        params = indicator.params
        at: DocPath = ("indicators", indicator.name, "params")
        if indicator.scorer != "formula":
            if not isinstance(params.get("derive"), Mapping):
                continue
            params, at = params["derive"], (*at, "derive")
        try:
            expr = parse_formula(params)
        except PolicyError:  # pragma: no cover - the loader has parsed it already
            continue
        for field, word in params["better"].items():
            better = Better(word)
            if better is Better.NONE:
                continue
            sign = expr.direction(field, box)
            proved = sign == 0 or sign == (1 if better is Better.HIGHER else -1)
            yield FormulaDirection(indicator, expr, at, field, better, proved)


def _no_laxer(
    policy: Policy, host: PluginHost, max_examples: int, seed: int | None
) -> tuple[str | None, str | None, tuple[str, ...], list[Finding]]:
    """The ``laxer`` rule for a method extending another id's: proved statically, else searched."""
    if len(policy.chain) < 2 or policy.chain[1][0] == policy.id:
        return None, None, (), []
    try:
        parent = load_policy(policy.chain[1][2], host=host)
    except PolicyError:
        return None, None, (), []  # the parent's own problems are reported when it is checked
    name = f"{parent.id} {parent.version}"
    proof = prove_no_laxer(policy, parent)
    if proof.proved:
        return "proved", name, (), []
    if max_examples <= 0:
        return "not checked", name, proof.gaps, []
    searcher = _Searcher(policy, compile_policy(policy, host), host, max_examples, seed)
    found = searcher.laxer(parent, compile_policy(parent, host))
    return ("searched", name, proof.gaps, []) if found is None else ("broken", name, proof.gaps, [found])


def _load_finding(problem: Problem) -> Finding:
    rule = _LOAD_RULES.get(problem.code, "loads")
    if problem.code == Code.BAD_PARAMS and problem.message.startswith(_BAND_MESSAGES):
        rule = "bands"
    return Finding(rule, problem.message, problem.location, True, (), problem.see, problem.hint)


def _exact_text(value: object) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return _text(value)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _path_to(params: object, value: str) -> DocPath:
    """Where in ``params`` the text ``value`` is written (the first place), or ``()``."""
    items = params.items() if isinstance(params, dict) else enumerate(params) if isinstance(params, list) else ()
    for key, child in items:
        if child == value:
            return (key,)
        found = _path_to(child, value)
        if found:
            return (key, *found)
    return ()


# -- decided from the declarations ---------------------------------------------------------------


class _Static:
    """The static rules, each a method adding findings; also remembers what the searches may skip."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.reach = {name: max_reach(policy, i) for name, i in policy.indicators.items()}
        self.sites = sites(policy)
        self.findings: list[Finding] = []
        #: Inputs with a proved direction or monotonicity finding: searching them again adds nothing.
        self.tainted: set[str] = set()
        self.unreachable: set[Grade] = set()

    def run(self) -> list[Finding]:
        for rule in (
            self.bands,
            self.ranges,
            self.points,
            self.unused,
            self.directions,
            self.monotone,
            self.redundant,
            self.nested,
            self.unreachable_grades,
        ):
            rule()
        return self.findings

    def add(
        self, rule: str, message: str, where: Location, hint: str | None = None, see: Location | None = None
    ) -> None:
        self.findings.append(Finding(rule, message, where, True, (), see, hint))

    def loc(self, path: DocPath) -> Location:
        return at(self.policy.origin(path), path)

    def domain(self, cond: Condition) -> Region:
        return domain_of(self.policy, cond, self.reach)

    def holds(self, cond: Condition) -> Region:
        return condition_region(cond.op, cond.value) & self.domain(cond)

    def subject(self, cond: Condition) -> Msg:
        if cond.kind == "input":
            return tr("input {name!r}", name=cond.subject)
        if cond.kind == "total":
            return tr("the total")
        if cond.kind == "indicator":
            return tr("indicator {name!r}", name=cond.subject)
        return tr("{kind} {name!r}", kind=cond.kind, name=cond.subject)

    def row_indicators(self, *scorers: str) -> Iterator[tuple[Indicator, str, Region]]:
        for indicator in self.policy.indicators.values():
            if indicator.scorer in scorers:
                field = indicator.params["input"]
                spec = self.policy.inputs.get(field)
                if spec is not None:
                    yield indicator, field, input_domain(spec)

    def bands(self) -> None:
        for indicator, field, domain in self.row_indicators("bands"):
            pieces = pieces_of(indicator, domain) or []
            scored = [p for p in pieces if p.path[-1] != "bands"]
            gaps = [span for p in pieces if p.path[-1] == "bands" for span in p.region.spans]
            for span in gaps:
                # Located at the band next to the gap: the first one for a gap below them, else the last.
                below = bool(scored) and span.point() < scored[0].region.spans[0].point()
                index = 0 if below or not scored else len(indicator.params["bands"]) - 1
                one = span.low == span.high
                facts = {"field": field, "indicator": indicator.name, "domain": domain.text()}
                self.add(
                    "bands",
                    tr(
                        "the value {value} of {field!r} lies outside every band of indicator {indicator!r} and "
                        "scores 0, but {field!r} is declared to range over {domain}",
                        value=span.low,
                        **facts,
                    )
                    if one
                    else tr(
                        "the values {values} of {field!r} lie outside every band of indicator {indicator!r} and "
                        "score 0, but {field!r} is declared to range over {domain}",
                        values=span.text(),
                        **facts,
                    ),
                    self.loc(("indicators", indicator.name, "params", "bands", index)),
                    tr(
                        "extend the first or last band (leave out the first band's min or the last band's max), "
                        "or narrow the input's range"
                    ),
                    self.loc(("inputs", field)),
                )

    def ranges(self) -> None:
        for site in self.sites:
            cond = site.condition
            if isinstance(cond.value, bool):
                continue
            domain = self.domain(cond)
            if (condition_region("==", cond.value) & domain).empty:
                facts = {"site": site.name, "cond": str(cond), "subject": self.subject(cond), "domain": domain.text()}
                self.add(
                    "range",
                    tr("{site} compares {cond}, but {subject} is declared to range over {domain}", **facts)
                    if cond.kind == "input"
                    else tr("{site} compares {cond}, but {subject} can only range over {domain}", **facts),
                    site.location,
                    tr("move the threshold inside the range, or fix the declared range"),
                    self.loc(("inputs", cond.subject)) if cond.kind == "input" else None,
                )
        for indicator, field, domain in self.row_indicators(*ROW_SCORERS):
            base: DocPath = ("indicators", indicator.name, "params")
            params = indicator.params
            found: list[tuple[DocPath, Decimal]] = []
            if indicator.scorer == "linear":
                found.append(((*base, "best"), as_decimal(params["best"])))
            elif indicator.scorer == "bands":
                found += [
                    ((*base, "bands", i, key), as_decimal(band[key]))
                    for i, band in enumerate(params["bands"])
                    for key in ("min", "max")
                    if key in band
                ]
            else:
                found += [
                    ((*base, "rules", i, "value"), as_decimal(rule["value"]))
                    for i, rule in enumerate(params["rules"])
                    if not isinstance(rule["value"], bool)
                ]
            for path, value in found:
                if (condition_region("==", value) & domain).empty:
                    self.add(
                        "range",
                        tr(
                            "indicator {indicator!r} uses {value} for {field!r} ({where}), "
                            "but {field!r} is declared to range over {domain}",
                            indicator=indicator.name,
                            value=value,
                            field=field,
                            where=path_text(path[3:]),
                            domain=domain.text(),
                        ),
                        self.loc(path),
                        tr("move it inside the range, or fix the declared range"),
                        self.loc(("inputs", field)),
                    )

    def points(self) -> None:
        for indicator, field, _ in self.row_indicators("bands", "threshold"):
            reach = self.reach[indicator.name]
            if reach < indicator.max_score:
                self.add(
                    "points",
                    tr(
                        "indicator {indicator!r} can score at most {reach} of its maximum {most} "
                        "on the declared range of {field!r}, so no county can reach the full total",
                        indicator=indicator.name,
                        reach=reach,
                        most=indicator.max_score,
                        field=field,
                    ),
                    self.loc(("indicators", indicator.name, "params")),
                    tr("give the best band or rule the indicator's full points"),
                )

    def unused(self) -> None:
        policy = self.policy
        used = {field for i in policy.indicators.values() for field in i.reads}
        used |= {i.missing.group for i in policy.indicators.values() if i.missing.group}
        used |= {s.condition.subject for s in self.sites if s.condition.kind == "input"}
        used |= {a.input for a in policy.adjustments.values() if a.input}
        used |= {t.input for t in policy.targets.values() if t.input}
        used |= {t.per for t in policy.targets.values() if t.per}
        for name in policy.inputs:
            if name not in used:
                self.add(
                    "unused",
                    tr(
                        "input {name!r} is declared but nothing reads it: no indicator, gate, veto, adjustment or "
                        "target",
                        name=name,
                    ),
                    self.loc(("inputs", name)),
                    tr("remove it, or score it"),
                )
        watched = {s.condition.subject for s in self.sites if s.condition.kind == "indicator"}
        watched_groups = {s.condition.subject for s in self.sites if s.condition.kind == "group"}
        for indicator in policy.indicators.values():
            if effective_weight(policy, indicator) == 0 and not (
                indicator.name in watched or indicator.group in watched_groups
            ):
                self.add(
                    "unused",
                    tr(
                        "indicator {name!r} has weight 0 in the total, and no gate, veto or adjustment looks at it",
                        name=indicator.name,
                    ),
                    self.loc(("indicators", indicator.name, "weight")),
                    tr("give it a weight, or remove it"),
                )

    def directions(self) -> None:
        policy = self.policy
        for indicator in policy.indicators.values():
            if indicator.scorer in ("bands", "threshold"):
                continue  # their pieces are checked exactly under `monotone`
            bands = indicator.params.get("bands") if indicator.scorer == "ratio" else None
            if bands and len({as_decimal(b["points"]) for b in bands}) == 1:
                continue  # a constant scores every value alike; its declared direction means nothing
            for field, reads in indicator.reads.items():
                spec = policy.inputs.get(field)
                if spec is None or Better.NONE in (reads, spec.better) or reads is spec.better:
                    continue
                self.tainted.add(field)
                self.add(
                    "direction",
                    f"scorer {indicator.scorer!r} of indicator {indicator.name!r} scores {field!r} higher the "
                    f"{'higher' if reads is Better.HIGHER else 'lower'} it is, but {field!r} is declared better "
                    f"{spec.better.value}",
                    self.loc(("indicators", indicator.name, "params", *_path_to(indicator.params, field))),
                    "fix the scorer's parameters (e.g. swap worst and best), or the input's `better`",
                    self.loc(("inputs", field)),
                )

    def monotone(self) -> None:
        policy = self.policy
        for site in self.sites:
            cond = site.condition
            better = direction_of(policy, cond)
            if better is Better.NONE:
                continue
            domain = self.domain(cond)
            holds = condition_region(cond.op, cond.value) & domain
            adjustment = policy.adjustments.get(str(site.path[1])) if site.role in ("bonus", "deduction") else None
            points = (adjustment.points or ZERO) if adjustment is not None else ZERO
            one = Decimal(1)
            met, unmet = {
                "gate": (one, ZERO),
                "veto": (ZERO, one),
                "bonus": (points, ZERO),
                "deduction": (-points, ZERO),
            }[site.role]
            pieces = [Piece(holds, met, site.path), Piece(domain - holds, unmet, site.path)]
            breach = monotone_breach([p for p in pieces if not p.region.empty], better, is_integer(policy, cond))
            if breach is None:
                continue
            worse, _, improved, _ = breach
            name = cond.subject if cond.kind != "total" else "total"
            facts = {"cond": str(cond), "worse": _text(worse), "points": points}
            effect = {
                "gate": tr("fails the gate `{cond}` that {worse} meets: improving it can lower the grade", **facts),
                "veto": tr("is vetoed by `{cond}` and {worse} is not: improving it can fail the county", **facts),
                "bonus": tr("earns no bonus where {worse} earns {points}", **facts),
                "deduction": tr("loses {points} points where {worse} loses none", **facts),
            }[site.role]
            if cond.kind == "input":
                self.tainted.add(cond.subject)
            self.add(
                "monotone",
                tr(
                    "{site}: {name} = {improved} is better than {worse} (better: {better}) but {effect}",
                    site=site.name,
                    name=name,
                    improved=_text(improved),
                    worse=_text(worse),
                    better=better.value,
                    effect=effect,
                ),
                site.location,
                tr("compare in the better direction (a gate keeps the better side, a veto the worse)"),
            )
        for indicator, field, domain in self.row_indicators("bands", "threshold"):
            better = policy.inputs[field].better
            breach = monotone_breach(pieces_of(indicator, domain) or [], better, policy.inputs[field].type == "integer")
            if breach is None:
                continue
            worse, more, improved, less = breach
            self.tainted.add(field)
            outside = tr(" (outside every band)") if less.path[-1] == "bands" else ""
            self.add(
                "monotone",
                tr(
                    "indicator {indicator!r}: {field} = {improved} is better than {worse} (better: {better}) but "
                    "scores {less}{outside}, less than the {more} that {worse} scores",
                    indicator=indicator.name,
                    field=field,
                    improved=_text(improved),
                    worse=_text(worse),
                    better=better.value,
                    less=less.value,
                    outside=outside,
                    more=more.value,
                ),
                self.loc(less.path),
                tr("order the points so that they rise in the input's better direction"),
                self.loc(more.path),
            )
        for aid, adj in policy.adjustments.items():
            spec = None if adj.input is None else policy.inputs.get(adj.input)
            if adj.input is None or spec is None or not adj.per_unit:
                continue
            wrong = Better.LOWER if adj.kind == "bonus" else Better.HIGHER
            if spec.better is wrong:
                self.tainted.add(adj.input)
                self.add(
                    "monotone",
                    f"adjustments.{aid}: a {adj.kind} of {adj.per_unit} per unit of {adj.input!r}, which is "
                    f"better {spec.better.value}: improving it {'loses a bonus' if adj.kind == 'bonus' else 'costs'}"
                    " points",
                    at(adj.origin, f"adjustments.{aid}"),
                    "make it a " + ("deduction" if adj.kind == "bonus" else "bonus"),
                )

    def _pairs(self, rule: GradeRule) -> Iterator[tuple[Site, Site]]:
        mine = [s for s in self.sites if s.role == "gate" and s.grade is rule.grade]
        for a, b in itertools.combinations(mine, 2):
            if (a.condition.kind, a.condition.subject) == (b.condition.kind, b.condition.subject):
                yield a, b

    def _trivial(self, site: Site) -> bool:
        holds = self.holds(site.condition)
        return holds.empty or self.domain(site.condition) <= holds

    def redundant(self) -> None:
        for site in self.sites:
            self._idle_condition(site)
        for rule in self.policy.grades:
            self._implied_gates(rule)
        self._gates_a_veto_covers()

    def _idle_condition(self, site: Site) -> None:
        """A gate that always holds, or a veto, bonus or deduction that never applies."""
        cond = site.condition
        domain, holds = self.domain(cond), self.holds(cond)
        if site.role == "gate" and domain <= holds:
            self.add(
                "redundant",
                tr(
                    "{site}: `{cond}` always holds: {subject} ranges over {domain}",
                    site=site.name,
                    cond=str(cond),
                    subject=self.subject(cond),
                    domain=domain.text(),
                ),
                site.location,
                tr("remove the gate, or make it say what was meant"),
            )
        elif site.role != "gate" and holds.empty:
            facts = {"site": site.name, "subject": self.subject(cond), "domain": domain.text(), "cond": str(cond)}
            self.add(
                "redundant",
                tr("{site}: the veto can never fire: no value of {subject} in {domain} has `{cond}`", **facts)
                if site.role == "veto"
                else tr(
                    "{site}: the {role} never applies: no value of {subject} in {domain} has `{cond}`",
                    role=_ROLES.get(site.role, site.role),
                    **facts,
                ),
                site.location,
                tr("fix the condition, or remove it"),
            )

    def _implied_gates(self, rule: GradeRule) -> None:
        """A grade's gate implied by another of its gates, or by its own min_total."""
        for a, b in self._pairs(rule):
            if self._trivial(a) or self._trivial(b):
                continue
            ha, hb = self.holds(a.condition), self.holds(b.condition)
            loose, strict = (b, a) if ha <= hb else (a, b) if hb <= ha else (None, None)
            if loose is not None and strict is not None:
                self.add(
                    "redundant",
                    tr(
                        "{loose}: `{loose_cond}` is implied by {strict} (`{strict_cond}`): "
                        "every county that meets one meets both",
                        loose=loose.name,
                        loose_cond=str(loose.condition),
                        strict=strict.name,
                        strict_cond=str(strict.condition),
                    ),
                    loose.location,
                    tr("remove the looser gate"),
                    strict.location,
                )
        floor = Region.of(*condition_region(">=", rule.min_total).spans)
        for site in (s for s in self.sites if s.grade is rule.grade and s.condition.kind == "total"):
            holds, domain = self.holds(site.condition), self.domain(site.condition)
            if not self._trivial(site) and (floor & domain) <= holds:
                self.add(
                    "redundant",
                    tr(
                        "{site}: `{cond}` is implied by the grade's min_total {line}",
                        site=site.name,
                        cond=str(site.condition),
                        line=rule.min_total,
                    ),
                    site.location,
                    tr("remove the gate, or raise min_total instead"),
                    at(rule.origin, f"grades.{rule.grade.value}.min_total"),
                )

    def _gates_a_veto_covers(self) -> None:
        """A gate that adds nothing because a veto on the same subject already fails every county missing it."""
        vetoes = [s for s in self.sites if s.role == "veto"]
        for gate in (s for s in self.sites if s.role == "gate" and not self._trivial(s)):
            for veto in vetoes:
                if not _same_subject(gate, veto) or self._trivial(veto):
                    continue
                spared = self.domain(gate.condition) - self.holds(veto.condition)
                if spared <= self.holds(gate.condition):
                    self.add(
                        "redundant",
                        tr(
                            "{gate}: `{gate_cond}` adds nothing: the veto {veto} (`{veto_cond}`) "
                            "already fails every county that misses it",
                            gate=gate.name,
                            gate_cond=str(gate.condition),
                            veto=veto.name,
                            veto_cond=str(veto.condition),
                        ),
                        gate.location,
                        tr("remove the gate, or the veto"),
                        veto.location,
                    )

    def nested(self) -> None:
        grades = {rule.grade: rule for rule in self.policy.grades}
        low, high = grades.get(Grade.PASS), grades.get(Grade.GOOD)
        if low is None or high is None:
            return
        if high.min_total < low.min_total:
            self.add(
                "nested",
                tr(
                    "good's min_total {high} is below pass's {low}: a county totalling in between "
                    "meets good's line but not pass's",
                    high=high.min_total,
                    low=low.min_total,
                ),
                at(high.origin, "grades.good.min_total"),
                tr("set good's line at or above pass's"),
                at(low.origin, "grades.pass.min_total"),
            )
        for good in (s for s in self.sites if s.grade is Grade.GOOD):
            for pass_ in (s for s in self.sites if s.grade is Grade.PASS):
                if (good.condition.kind, good.condition.subject) != (pass_.condition.kind, pass_.condition.subject):
                    continue
                g, p = self.holds(good.condition), self.holds(pass_.condition)
                if self._trivial(good) or self._trivial(pass_) or (g & p).empty:
                    continue  # disjoint gates make good unreachable, reported there
                if p <= g and g <= p:
                    self.add(
                        "redundant",
                        tr(
                            "{good}: `{cond}` repeats {passing}: good is only reached by counties that pass",
                            good=good.name,
                            cond=str(good.condition),
                            passing=pass_.name,
                        ),
                        good.location,
                        tr("remove it from good"),
                        pass_.location,
                    )
                    continue
                if g <= p:
                    continue  # good's gate is the stricter: nested as it should be
                example = (g - p).spans[0].point(is_integer(self.policy, good.condition)) if (g - p).spans else None
                self.add(
                    "nested",
                    tr(
                        "{good}: `{good_cond}` is not as strict as {passing} (`{pass_cond}`): "
                        "a county with {subject} = {example} meets good's gate but not pass's",
                        good=good.name,
                        good_cond=str(good.condition),
                        passing=pass_.name,
                        pass_cond=str(pass_.condition),
                        subject=good.condition.subject,
                        example=_text(example),
                    ),
                    good.location,
                    tr("make good's gate at least as strict as pass's"),
                    pass_.location,
                )

    def unreachable_grades(self) -> None:
        policy = self.policy
        total = max_total(policy, self.reach)
        most = None if total is None else total.quantize(quantizer(policy.precision), rounding=ROUND_HALF_UP)
        below: GradeRule | None = None
        for rule in policy.grades:
            where = at(rule.origin, f"grades.{rule.grade.value}.min_total")
            mine = [s for s in self.sites if s.grade is rule.grade]
            reasons = [
                *self._above_most(rule, most, where),
                *self._gates_never_hold(mine),
                *self._gates_contradict(rule, mine),
                *self._gates_below_line(rule, mine, where),
                *self._vetoes_block(rule, mine),
            ]
            if not reasons and below is not None and below.grade in self.unreachable:
                message: str = tr(
                    "{below} cannot be reached, and {grade} is only reached through it",
                    below=below.grade.label,
                    grade=rule.grade.label,
                )
                reasons.append((message, where, None))
            for message, location, see in reasons:
                self.add(
                    "unreachable",
                    tr("grade {grade} can never be reached: {reason}", grade=rule.grade.label, reason=message),
                    location,
                    tr("loosen the conditions of this grade"),
                    see,
                )
            if reasons:
                self.unreachable.add(rule.grade)
            below = rule

    # Each reason a grade cannot be reached: the message, where it is, and where the other party to it is.

    @staticmethod
    def _above_most(rule: GradeRule, most: Decimal | None, where: Location) -> Iterator[_Reason]:
        if most is not None and rule.min_total > most:
            yield f"its min_total {rule.min_total} is above the most a county can total ({most})", where, None

    def _gates_never_hold(self, mine: list[Site]) -> Iterator[_Reason]:
        for site in mine:
            if self.holds(site.condition).empty:
                domain = self.domain(site.condition).text()
                yield f"its gate `{site.condition}` never holds on {domain}", site.location, None

    def _gates_contradict(self, rule: GradeRule, mine: list[Site]) -> Iterator[_Reason]:
        """A gate of this grade that no county can meet together with a gate of it or of a grade below."""
        chain = [s for s in self.sites if s.grade is not None and s.grade <= rule.grade]
        for a, b in itertools.combinations(chain, 2):
            if not _same_subject(a, b) or b not in mine or self._trivial(a) or self._trivial(b):
                continue
            if (self.holds(a.condition) & self.holds(b.condition)).empty:
                yield f"{b.name} (`{b.condition}`) contradicts {a.name} (`{a.condition}`)", b.location, a.location

    def _gates_below_line(self, rule: GradeRule, mine: list[Site], where: Location) -> Iterator[_Reason]:
        floor = Region.of(*condition_region(">=", rule.min_total).spans)
        for site in (s for s in mine if s.condition.kind == "total"):
            holds = self.holds(site.condition)
            if not holds.empty and (holds & floor).empty:
                yield f"its gate `{site.condition}` contradicts its min_total {rule.min_total}", site.location, where

    def _vetoes_block(self, rule: GradeRule, mine: list[Site]) -> Iterator[_Reason]:
        """A veto that fails every county (which blocks pass), or every county meeting one of this grade's gates."""
        for veto in (s for s in self.sites if s.role == "veto"):
            vetoed = self.holds(veto.condition)
            if rule.grade is Grade.PASS and self.domain(veto.condition) <= vetoed:
                yield f"the veto {veto.name} (`{veto.condition}`) fails every county", veto.location, None
            for site in mine:
                holds = self.holds(site.condition)
                if _same_subject(site, veto) and not holds.empty and holds <= vetoed:
                    yield (
                        f"every county meeting {site.name} (`{site.condition}`) is vetoed by {veto.name} "
                        f"(`{veto.condition}`)",
                        site.location,
                        veto.location,
                    )


def _same_subject(a: Site, b: Site) -> bool:
    """Whether two conditions look at the same thing (the same input, indicator, group or the total)."""
    return (a.condition.kind, a.condition.subject) == (b.condition.kind, b.condition.subject)


# -- searched with Hypothesis --------------------------------------------------------------------


class _Found(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def comparable(result: CountyResult, *, origins: bool = True) -> dict[str, Any]:
    """A result as data, errors without their place in the batch (which moves when the batch is reordered).

    Without ``origins`` the file positions of the conditions are left out too (a reloaded policy has others).
    """
    data = result.to_dict()
    data["errors"] = [(e.code, e.message) for e in result.errors]
    for indicator in data["indicators"].values():
        if "error" in indicator:
            indicator["error"] = indicator["error"].get("message")
    if not origins:
        for check in [*data["vetoes"], *(c for checks in data["checks"].values() for c in checks)]:
            check.pop("origin", None)
    return data


def _indicator_at(policy: Policy, name: str) -> Location:
    return at(policy.indicators[name].origin, ("indicators", name))


def _input_at(policy: Policy, name: str) -> Location:
    return at(policy.origin(("inputs", name)), ("inputs", name))


def compare_improvement(
    policy: Policy,
    name: str,
    direction: Better,
    declared: bool,
    change: tuple[Any, Any],
    old: CountyResult,
    new: CountyResult,
    before: Sequence[Mapping[str, object]],
    cohort: bool = False,
) -> Finding | None:
    """What got worse when ``name`` improved from ``change[0]`` to ``change[1]`` (``old`` to ``new``), if anything.

    ``declared`` says the input declares the direction (then scores, the total and the grade must not
    fall); otherwise only the scores of indicators whose scorer claims that direction are held to it.
    """
    worse, better = change
    verb = "changing" if isinstance(worse, bool) else "raising" if direction is Better.HIGHER else "lowering"
    move = f"{verb} {name!r} from {_text(worse)} to {_text(better)}"
    shown = tuple(before) if cohort else (before[0],)
    for key, was in old.indicators.items():
        now = new.indicators[key]
        if was.score is None or now.score is None or now.score >= was.score:
            continue
        indicator = policy.indicators[key]
        reads = indicator.reads.get(name, Better.NONE)
        if declared:
            rule, why = "monotone", f"(better: {direction.value})"
        elif reads is direction:
            rule, why = "direction", f"(scorer {indicator.scorer!r} says {direction.value} values score more)"
        else:
            continue
        return Finding(
            rule,
            f"{move} {why}, all else equal, lowers indicator {key!r} from {was.score} to {now.score}",
            _indicator_at(policy, key),
            False,
            shown,
            _input_at(policy, name),
            "fix the scorer, or the input's declared direction",
        )
    if not declared:
        return None
    why = f"(better: {direction.value})"
    if old.score is not None and new.score is not None and new.score < old.score:
        where = _adjustment_culprit(policy, old, new)
        return Finding(
            "monotone",
            f"{move} {why}, all else equal, lowers the total from {old.score} to {new.score}",
            where,
            False,
            shown,
            _input_at(policy, name),
        )
    if old.grade is not None and new.grade is not None and new.grade < old.grade:
        lost = _lost_check(old, new)
        what = "" if lost is None else f": {lost[0]} (`{lost[1].subject} {lost[1].op} {_text(lost[1].threshold)}`)"
        what += " no longer holds" if lost is not None and lost[1].kind != "veto" else " fires" if lost else ""
        where = at(lost[1].origin, lost[0]) if lost else at(policy.origin(("grades",)), "grades")
        return Finding(
            "monotone",
            f"{move} {why}, all else equal, lowers the grade from {old.grade.value} to {new.grade.value}{what}",
            where,
            False,
            shown,
            _input_at(policy, name),
        )
    return None


def _adjustment_culprit(policy: Policy, old: CountyResult, new: CountyResult) -> Location:
    before = {a.id: a.points for a in old.adjustments}
    after = {a.id: a.points for a in new.adjustments}
    for aid, adj in policy.adjustments.items():
        was, now = before.get(aid, ZERO), after.get(aid, ZERO)
        if (now < was) if adj.kind == "bonus" else (now > was):
            return at(adj.origin, f"adjustments.{aid}")
    return at(policy.origin(("aggregation",)), "aggregation")


def _lost_check(old: CountyResult, new: CountyResult) -> tuple[str, Check] | None:
    for veto_old, veto_new in zip(old.vetoes, new.vetoes, strict=True):
        if veto_new.met and not veto_old.met:
            return f"the veto vetoes.{veto_new.id}", veto_new
    for grade, checks in new.checks.items():
        for was, now in zip(old.checks.get(grade, ()), checks, strict=False):
            if was.met and now.met is False:
                name = "min_total" if now.kind == "min_total" else f"gates.{now.id}"
                return f"grades.{grade.value}.{name}", now
    return None


def result_difference(
    policy: Policy, first: Evaluation, second: Evaluation, *, origins: bool = True
) -> tuple[str, Location, str] | None:
    """The first county whose results differ: its code, the culprit's location, and what differed."""
    theirs = {r.county: r for r in second.results}
    for mine in first.results:
        other = theirs[mine.county]
        left, right = comparable(mine, origins=origins), comparable(other, origins=origins)
        if left == right:
            continue
        for key, indicator in mine.indicators.items():
            there = other.indicators.get(key)
            if there is None or indicator.to_dict() != there.to_dict():
                was = indicator.score if indicator.error is None else "an error"
                now = None if there is None else there.score if there.error is None else "an error"
                return mine.county, _indicator_at(policy, key), f"indicator {key!r} scored {was}, then {now}"
        where = at(policy.origin(("aggregation",)), "aggregation")
        if mine.score != other.score:
            return mine.county, where, f"the total was {mine.score}, then {other.score}"
        keys = sorted(k for k in left if left[k] != right.get(k))
        return mine.county, where, f"the results differ in {', '.join(keys)}"
    return None


_TILT_STEPS: Final = 400  # records on the walk from worst to best that the ``laxer`` rule tries first


def _share(policy: Policy, indicator: Indicator) -> Decimal:
    """What the indicator counts for in the total: its points, or its effective weight."""
    if policy.aggregation.method == "points":
        return indicator.points or ZERO
    return effective_weight(policy, indicator)


def _graded_higher(
    policy: Policy, parent: Policy, record: Mapping[str, Any], mine: CountyResult, theirs: CountyResult
) -> Finding | None:
    """A ``laxer`` finding when the city's grade of ``record`` is above the province's."""
    if mine.grade is None or theirs.grade is None or not mine.grade > theirs.grade:
        return None
    rule = next(r for r in policy.grades if r.grade is mine.grade)
    level = mine.grade.value
    return Finding(
        "laxer",
        f"the city grades this county {level} (total {mine.score}) where {parent.id} {parent.version} "
        f"grades it {theirs.grade.value} (total {theirs.score})",
        at(rule.origin, ("grades", level))
        if rule.origin.file == policy.file
        else Location(policy.file, path=f"grades.{level}"),
        False,
        (dict(record),),
        at(parent.origin(("grades", level)), ("grades", level)),
        "raise the grade line by the points the city moved, or keep the province's points",
    )


class _Searcher:
    """The searched rules; each search stops at its first counterexample and shrinks it."""

    def __init__(
        self, policy: Policy, compiled: CompiledPolicy, host: PluginHost, max_examples: int, seed: int | None
    ) -> None:
        self.policy, self.compiled, self.host = policy, compiled, host
        self.examples, self.seed = max_examples, seed
        self.cohort = any(host.scorer(i.scorer).scorer.cohort for i in policy.indicators.values())
        self.numbers = {k: sorted(v) for k, v in thresholds(policy).items()}
        self.settings = hypothesis.settings(
            max_examples=max_examples,
            derandomize=seed is None,
            database=None,
            deadline=None,
            verbosity=Verbosity.quiet,
            phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            print_blob=False,
        )

    def run(self, tainted: set[str], unreachable: set[Grade]) -> list[Finding]:
        found: list[Finding] = []
        directed = {
            name: self.direction(name)
            for name, spec in self.policy.inputs.items()
            if name not in tainted and spec.type != "table" and not (spec.min is not None and spec.min == spec.max)
        }
        directed = {name: d for name, d in directed.items() if d is not Better.NONE}
        # One search tries every input on each record; a finding retires its input and the search goes on.
        while directed:
            finding, name = self.monotone(directed)
            if finding is None:
                break
            found.append(finding)
            del directed[name]
        first = self.contract(("score-range", "scorer-error"))
        if first is not None:
            found.append(first)
            other = self.contract(tuple({"score-range", "scorer-error"} - {first.rule}))
            found += [other] if other is not None else []
        for extra in (self.deterministic(), self.order()):
            found += [extra] if extra is not None else []
        for rule in self.policy.grades:
            if rule.grade not in unreachable:
                missed = self.reachable(rule)
                found += [missed] if missed is not None else []
        return found

    def search(self, strategy: st.SearchStrategy[T], judge: Callable[[T], Finding | None]) -> Finding | None:
        seen: list[Finding] = []

        def test(example: T) -> None:
            finding = judge(example)
            if finding is not None:
                seen.append(finding)
                raise _Found(finding)

        runner = given(strategy)(self.settings(test))
        if self.seed is not None:
            runner = hypothesis.seed(self.seed)(runner)
        try:
            runner()
        except _Found as exc:
            return exc.finding
        except Exception:
            # A judge that is not deterministic (a random scorer) makes Hypothesis report a flaky failure.
            if seen:
                return seen[-1]
            raise
        return None

    def direction(self, name: str) -> Better:
        """The declared direction; else the one every scorer reading the input agrees on."""
        declared = self.policy.inputs[name].better
        if declared is not Better.NONE:
            return declared
        said = {i.reads[name] for i in self.policy.indicators.values() if name in i.reads} - {Better.NONE}
        return said.pop() if len(said) == 1 else Better.NONE

    def batch(self, *, optional: bool, max_size: int = 1) -> st.SearchStrategy[list[dict[str, Any]]]:
        size = max_size if self.cohort else 1
        return batches(self.policy, min_size=1, max_size=max(size, 1), optional=optional)

    # -- monotonicity --

    def monotone(self, directed: Mapping[str, Better]) -> tuple[Finding | None, str]:
        """Search records and, for each input, another value of it; the better of the two must not grade lower."""
        names = list(directed)
        values = {n: input_values(self.policy.inputs[n], self.numbers.get(n, ())) for n in names}

        @st.composite
        def example(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            batch = draw(self.batch(optional=False, max_size=3))
            return batch, {n: draw(values[n]) for n in names}

        culprit: list[str] = []

        def judge(drawn: tuple[list[dict[str, Any]], dict[str, Any]]) -> Finding | None:
            batch, others = drawn
            base = self.compiled.evaluate(batch).results[0]
            for name in names:
                here, there = batch[0][name], others[name]
                if here == there:
                    continue
                moved = [{**batch[0], name: there}, *batch[1:]]
                other = self.compiled.evaluate(moved).results[0]
                up = directed[name] is Better.HIGHER
                better_there = (there > here) == up if not isinstance(here, bool) else there is up
                old, new, before = (base, other, batch) if better_there else (other, base, moved)
                change = (here, there) if better_there else (there, here)
                declared = self.policy.inputs[name].better is not Better.NONE
                finding = compare_improvement(
                    self.policy, name, directed[name], declared, change, old, new, before, self.cohort
                )
                if finding is not None:
                    culprit[:] = [name]
                    return finding
            return None

        found = self.search(example(), judge)
        return found, (culprit[0] if culprit else "")

    def formula(self, formula: FormulaDirection) -> Finding | None:
        """Search the formula alone for two values of one input where the better one gives less."""
        fields = list(formula.expr.names)
        inputs = self.policy.inputs
        values = {n: input_values(inputs[n], self.numbers.get(n, ())) for n in fields}
        strategy = st.tuples(st.fixed_dictionaries(values), values[formula.field])
        up = formula.better is Better.HIGHER

        def judge(drawn: tuple[dict[str, Any], Any]) -> Finding | None:
            record, there = drawn
            here = record[formula.field]
            if here == there:
                return None
            moved = {**record, formula.field: there}
            better_there = (there > here) == up if not isinstance(here, bool) else there is up
            worse, better = (record, moved) if better_there else (moved, record)
            try:
                low, high = formula.expr.evaluate(worse), formula.expr.evaluate(better)
            except ValueError:
                return None  # a division by zero is the scorer contract's to report
            if not high < low:
                return None
            return Finding(
                "monotone",
                f"indicator {formula.indicator.name!r}: {formula.field} = {_text(better[formula.field])} is better "
                f"than {_text(worse[formula.field])} (better: {formula.better.value}) but the formula gives "
                f"{formula.expr.substituted(better)} = {_exact_text(high)}, less than "
                f"{formula.expr.substituted(worse)} = {_exact_text(low)}",
                at(self.policy.origin((*formula.path, "formula")), (*formula.path, "formula")),
                False,
                (worse, better),
                hint="fix the formula, or declare the input's direction as it is (`none` if neither)",
            )

        return self.search(strategy, judge)

    # -- contracts, determinism, order --

    def contract(self, rules: tuple[str, ...]) -> Finding | None:
        """Search for a valid record that makes a scorer fail (``scorer-error``) or score out of range."""

        def judge(batch: list[dict[str, Any]]) -> Finding | None:
            evaluation = self.compiled.evaluate(batch)
            for result, record in zip(evaluation.results, batch, strict=True):
                for key, indicator in result.indicators.items():
                    error = indicator.error
                    if error is None or error.code not in _SCORER_ERRORS:
                        continue
                    rule = "score-range" if any(m in error.message for m in _OUT_OF_RANGE) else "scorer-error"
                    if rule not in rules:
                        continue
                    return Finding(
                        rule,
                        f"indicator {key!r}, on a valid record: {error.message}",
                        _indicator_at(self.policy, key),
                        False,
                        tuple(batch) if self.cohort else (record,),
                        None,
                        "fix the scorer, or narrow the declared range of its inputs",
                    )
            return None

        return self.search(self.batch(optional=True, max_size=4), judge)

    def deterministic(self) -> Finding | None:
        def judge(batch: list[dict[str, Any]]) -> Finding | None:
            first = self.compiled.evaluate(batch)
            for how, again in (
                ("grading the same records twice", self.compiled.evaluate(batch)),
                ("a freshly compiled policy", compile_policy(self.policy, self.host).evaluate(batch)),
            ):
                found = result_difference(self.policy, first, again)
                if found is not None:
                    county, where, what = found
                    return Finding(
                        "deterministic",
                        f"{how} gives different results for county {county}: {what}",
                        where,
                        False,
                        tuple(batch),
                        None,
                        "a scorer must not depend on randomness, time or state left by earlier calls",
                    )
            return None

        return self.search(self.batch(optional=True, max_size=4), judge)

    def order(self) -> Finding | None:
        @st.composite
        def shuffled(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
            batch = draw(batches(self.policy, min_size=2, max_size=4, optional=True))
            return batch, draw(st.permutations(range(len(batch))))

        def judge(example: tuple[list[dict[str, Any]], list[int]]) -> Finding | None:
            batch, order = example
            moved = [batch[i] for i in order]
            found = result_difference(self.policy, self.compiled.evaluate(batch), self.compiled.evaluate(moved))
            if found is None:
                return None
            county, where, what = found
            return Finding(
                "order",
                f"reordering the batch changes county {county}'s result: {what} (order {list(order)})",
                where,
                False,
                tuple(batch),
                None,
                "a cohort scorer may use the whole batch, but not the order it comes in",
            )

        return self.search(shuffled(), judge)

    # -- reachable grades --

    def laxer(self, parent: Policy, theirs: CompiledPolicy) -> Finding | None:
        """Records the city grades higher than the province: first along the line that favours the indicators
        the city gave more points, then a search steering towards a higher city total than the province's."""
        found = self.tilted(parent, theirs)
        if found is not None:
            return found

        def judge(batch: list[dict[str, Any]]) -> Finding | None:
            mine, other = self.compiled.evaluate(batch).results, theirs.evaluate(batch).results
            for record, a, b in zip(batch, mine, other, strict=True):
                if a.score is not None and b.score is not None:
                    hypothesis.target(float(a.score - b.score), label="city total above the province's")
                higher = _graded_higher(self.policy, parent, record, a, b)
                if higher is not None:
                    return higher
            return None

        return self.search(self.batch(optional=True, max_size=3), judge)

    def tilted(self, parent: Policy, theirs: CompiledPolicy) -> Finding | None:
        """Walk from worst to best on the inputs of indicators that gained points, those of indicators that lost
        points kept at their worst and every gated input kept meeting its gates."""
        gained: set[str] = set()
        lost: set[str] = set()
        for name, indicator in self.policy.indicators.items():
            other = parent.indicators.get(name)
            mine = _share(self.policy, indicator)
            before = ZERO if other is None else _share(parent, other)
            (gained if mine > before else lost if mine < before else set()).update(indicator.reads)
        best, worst = self.extreme("320101", best=True), self.extreme("320101", best=False)
        gated = {s.condition.subject for s in sites(self.policy) if s.condition.kind == "input"}
        top, bottom = dict(best), dict(best)
        for name in self.policy.inputs:
            if name not in best:
                continue
            if name in gated:
                if name in lost - gained:
                    top[name] = bottom[name] = self.worst_meeting_gates(name, best[name])
                continue
            bottom[name] = worst[name]
            if name in lost - gained:
                top[name] = worst[name]
        for step in range(_TILT_STEPS + 1):
            record = self.between(top, bottom, Decimal(step) / _TILT_STEPS)
            a, b = self.compiled.evaluate([record]).results[0], theirs.evaluate([record]).results[0]
            higher = _graded_higher(self.policy, parent, record, a, b)
            if higher is not None:
                return higher
        return None

    def extreme(self, county: str, best: bool) -> dict[str, Any]:
        """A record with every input at its best (or worst) declared value; undirected inputs meet the gates."""
        record: dict[str, Any] = {self.policy.unit.key: county}
        for name, spec in self.policy.inputs.items():
            if spec.type == "table":
                if spec.required:
                    record[name] = []
                continue
            direction = self.direction(name)
            if spec.type == "boolean":
                candidates: list[Any] = [False, True]
                if direction is not Better.NONE:
                    record[name] = (direction is Better.HIGHER) == best
                    continue
            else:
                low, high = input_bounds(spec, self.numbers.get(name, []))
                if direction is not Better.NONE:
                    record[name] = high if (direction is Better.HIGHER) == best else low
                    continue
                candidates = [low, *self.numbers.get(name, []), high]
            scores = [self.agreeable(name, v) for v in candidates]
            record[name] = candidates[scores.index(max(scores))]
        return record

    def worst_meeting_gates(self, name: str, best: Any) -> Any:
        """The worst value of a numeric input that meets as many gates on it as its best value does."""
        spec = self.policy.inputs[name]
        direction = self.direction(name)
        if spec.type == "boolean" or direction is Better.NONE:
            return best
        low, high = input_bounds(spec, self.numbers.get(name, []))
        candidates = [low, *self.numbers.get(name, []), high]
        wanted = self.agreeable(name, best)
        meeting = [v for v in candidates if self.agreeable(name, v) >= wanted]
        return min(meeting) if direction is Better.HIGHER else max(meeting)

    def agreeable(self, name: str, value: Decimal | bool) -> int:
        """How many gates on ``name`` the value meets, less the vetoes it fires."""
        score = 0
        for site in self.sites_on(name):
            holds = condition_region(site.condition.op, site.condition.value).contains(value)
            score += (1 if holds else 0) if site.role == "gate" else (-1 if holds else 0)
        return score

    def sites_on(self, name: str) -> list[Site]:
        return [s for s in sites(self.policy) if s.condition.kind == "input" and s.condition.subject == name]

    def between(self, best: Mapping[str, Any], worst: Mapping[str, Any], share: Decimal) -> dict[str, Any]:
        """The record ``share`` of the way from ``worst`` to ``best`` (numbers only; the rest as in ``best``)."""
        record = dict(best)
        for name, spec in self.policy.inputs.items():
            if spec.type in ("ratio", "number", "integer") and name in best:
                value = worst[name] + (best[name] - worst[name]) * share
                record[name] = value.to_integral_value() if spec.type == "integer" else value
        return record

    def reachable(self, rule: GradeRule) -> Finding | None:
        best = self.extreme("320101", best=True)
        others = [self.extreme(f"3201{n + 2:02d}", best=False) for n in range(_COHORT_BATCH if self.cohort else 0)]
        worst = self.extreme("320101", best=False)
        # A scorer that peaks inside the range (or fails at its end) is met on the way from worst to best:
        # all inputs together, then each input alone with the others at their best.
        shares = [Decimal(n).scaleb(-1) for n in range(10, -1, -1)]
        together = (self.between(best, worst, share) for share in shares)
        alone = (
            {**best, name: self.between(best, worst, share)[name]}
            for name in best
            if name in self.policy.inputs
            for share in shares[1:]
        )
        for candidate in itertools.chain(together, alone):
            result = self.compiled.evaluate([candidate, *others]).results[0]
            if result.grade is not None and result.grade >= rule.grade:
                return None
        result = self.compiled.evaluate([best, *others]).results[0]
        reached = Finding("unreachable", "reached", Location())

        def judge(candidates: list[dict[str, Any]]) -> Finding | None:
            found = self.compiled.evaluate(candidates).results[0]
            if found.score is not None:
                hypothesis.target(float(found.score))
            return reached if found.grade is not None and found.grade >= rule.grade else None

        if self.search(self.batch(optional=False, max_size=6), judge) is not None:
            return None
        return Finding(
            "unreachable",
            f"no county reached {rule.grade.value}: not one with every input at its best "
            f"(total {result.score}), nor any of {self.examples} searched records",
            at(rule.origin, f"grades.{rule.grade.value}.min_total"),
            False,
            (best,),
            None,
            "lower min_total, or loosen the gates of this grade",
        )


# -- output ---------------------------------------------------------------------------------------


def render_record(record: Mapping[str, object]) -> str:
    """A county record on one line, in YAML flow style, numbers exactly as held."""
    parts = []
    for key, value in record.items():
        if isinstance(value, str):
            shown = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif isinstance(value, list | tuple):
            shown = f"[{len(value)} rows]" if value else "[]"
        else:
            shown = str(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def render_report(report: CheckReport) -> str:
    """The report as ``fineco check`` prints it."""
    lines = []
    for finding in report.findings:
        lines.append(str(finding))
        for i, record in enumerate(finding.counterexample):
            label = tr("counterexample:") if len(finding.counterexample) == 1 else tr("counterexample [{i}]:", i=i)
            lines.append(f"    {label} {render_record(record)}")
        if finding.see is not None:
            lines.append(str(tr("    see {where}", where=finding.see)))
        if finding.hint:
            lines.append(str(tr("    hint: {hint}", hint=finding.hint)))
    name = f" ({report.policy})" if report.policy else ""
    count = len(report.findings)
    verdict = tr("ok") if report.ok else tr("1 problem") if count == 1 else tr("{count} problems", count=count)
    lines.append(f"{report.file}{name}: {verdict}")
    lines.append(str(tr("  proved:   {rules}", rules=join(rule_name(r) for r in report.proved))))
    if report.searched:
        searched = join(rule_name(r) for r in report.searched)
        lines.append(
            str(
                tr(
                    "  searched: {rules} ({examples} examples per search; searched, not proved)",
                    rules=searched,
                    examples=report.examples,
                )
            )
        )
    else:
        lines.append(
            str(
                tr("  searched: nothing")
                if report.policy is not None
                else tr("  searched: nothing (the policy did not load)")
            )
        )
    lines += [str(tr("  formula:  {note}", note=note)) for note in report.notes]
    if report.laxer is not None:
        how = {
            "searched": tr("searched, not proved ({examples} examples)", examples=report.examples),
            "broken": tr("no: a county record above shows it"),
        }.get(report.laxer, report.laxer)
        lines.append(str(tr("  no laxer than {parent}: {how}", parent=report.parent, how=how)))
        lines += [str(tr("    not proved because {gap}", gap=gap)) for gap in report.laxer_gaps]
    return "\n".join(lines) + "\n"
