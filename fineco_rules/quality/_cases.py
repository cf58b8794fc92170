"""Policy test files (``*.cases.yaml``): cases that a policy must grade as expected, and the boundary
coverage they reach (whether some case lies on each side of every threshold and band edge)."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import META_FIELDS, check_records
from fineco_rules.engine._results import CountyResult
from fineco_rules.errors import CasesError, Code, DataFileError, Location, Msg, Problem, join, tr
from fineco_rules.io._numbers import ZERO, as_decimal
from fineco_rules.io._readers import RawRecord, read_records
from fineco_rules.io._yaml import DocPath, Document, parse_yaml, path_text
from fineco_rules.policy._anatomy import ROW_SCORERS, at, sites
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._model import Condition, Grade, Indicator, Policy
from fineco_rules.policy._schema import validate_against
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._host import PluginHost, make_plugin_host

if TYPE_CHECKING:
    import jsonschema

__all__ = [
    "SUFFIXES",
    "Boundary",
    "Case",
    "CaseOutcome",
    "CaseReport",
    "CaseSuite",
    "CasesError",
    "Coverage",
    "Mismatch",
    "find_cases",
    "load_cases",
    "render_cases",
    "run_cases",
]

#: The file names that hold cases; the policy loader skips them in a folder of versions.
SUFFIXES: Final = (".cases.yaml", ".cases.yml")
_GRADES: Final = {grade.value: grade for grade in Grade}


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("fineco_rules").joinpath("policy/schema/cases.schema.json").read_text("utf-8"))
    import jsonschema  # loaded with the first cases file (a cheap `fineco --help`)

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def cases_schema() -> dict[str, Any]:
    """The JSON Schema of policy test files (a fresh copy)."""
    result: dict[str, Any] = json.loads(
        resources.files("fineco_rules").joinpath("policy/schema/cases.schema.json").read_text("utf-8")
    )
    return result


# -- the file --------------------------------------------------------------------------------


@attrs.frozen
class Case:
    """One case: the record to grade, where it came from, and what is expected of it."""

    id: str
    label: str | None
    record: RawRecord
    location: Location  # the case in the cases file
    #: Expected grade: fail, pass, good, not_graded; ``None`` when the case does not say.
    grade: str | None
    score: tuple[Decimal, Decimal] | None  # (value, tolerance)
    indicators: Mapping[str, tuple[Decimal, Decimal]]
    #: Where each expectation is written: "grade", "score", "indicators.<name>".
    places: Mapping[str, Location]
    #: The inputs `with:` changed in the record or row.
    changes: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class Mismatch:
    """An expectation a case did not meet, with the case's place and the policy rule that decided."""

    what: str
    message: str
    case: Location
    policy: Location | None = None


@attrs.frozen
class CaseOutcome:
    case: Case
    result: CountyResult
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


@attrs.frozen
class Boundary:
    """A threshold or band edge, and the two sides a case can fall on."""

    name: str  # dotted path: grades.pass.gates.npl_ok, indicators.ia.params.bands[1].min, …
    text: str  # npl_ratio < 0.06
    location: Location
    sides: tuple[str, str]
    kind: Literal["check", "veto", "when", "cap", "total_cap", "band", "rule"]
    key: tuple[Any, ...]

    def side(self, result: CountyResult, values: Mapping[str, object]) -> tuple[int, bool] | None:
        """Which side (0 or 1) the result falls on, and whether it sits exactly on the edge; ``None``: neither."""
        kind, key = self.kind, self.key
        if kind == "check":
            grade, check_kind, cid = key
            found = next((c for c in result.checks.get(grade, ()) if (c.kind, c.id) == (check_kind, cid)), None)
        elif kind == "veto":
            found = next((c for c in result.vetoes if c.id == key[0]), None)
        if kind in ("check", "veto"):
            if found is None or found.met is None:
                return None
            return (0 if found.met else 1), _on(found.value, found.threshold)
        if kind == "when":
            cond: Condition = key[0]
            value = _subject(cond, result, values)
            if value is None:
                return None
            return (0 if COMPARATORS[cond.op](value, cond.value) else 1), _on(value, cond.value)
        if kind in ("cap", "total_cap"):
            if result.score is None:
                return None
            if kind == "cap":
                amount = next((a.uncapped for a in result.adjustments if a.id == key[0]), ZERO)
            else:
                amount = sum((a.points for a in result.adjustments if a.kind == key[0]), ZERO)
            return (1 if amount >= key[1] else 0), amount == key[1]
        indicator = result.indicators.get(key[0])
        value = indicator.details.get("value") if indicator is not None else None
        if not isinstance(value, Decimal | bool):
            return None
        if kind == "band":
            edge, closed_right = key[1], key[2]
            below = value <= edge if closed_right else value < edge
            return (0 if below else 1), value == edge
        op, limit = key[1], key[2]
        return (0 if COMPARATORS[op](value, limit) else 1), _on(value, limit)


def _on(value: object, threshold: object) -> bool:
    """Exactly on a numeric threshold (a true/false condition has no edge to be on)."""
    return isinstance(threshold, Decimal) and value == threshold


def _subject(cond: Condition, result: CountyResult, values: Mapping[str, object]) -> object:
    if cond.kind == "input":
        return values.get(cond.subject)
    if cond.kind == "indicator":
        found = result.indicators.get(cond.subject)
        return None if found is None else found.score
    if cond.kind == "group":
        return result.groups.get(cond.subject)
    return result.base_score  # an adjustment's `total` is the total before adjustments


@attrs.frozen
class Coverage:
    boundary: Boundary
    hits: tuple[int, int]  # cases on each side
    on_edge: int  # cases exactly on the threshold

    @property
    def complete(self) -> bool:
        return all(self.hits)

    def text(self) -> str:
        b = self.boundary
        if self.complete:
            state = tr("both sides")
        elif any(self.hits):
            state = tr("only {side}", side=b.sides[0] if self.hits[0] else b.sides[1])
        else:
            state = tr("never reached")
        edge = tr(", {count} on the edge", count=self.on_edge) if self.on_edge else ""
        return str(
            tr(
                "{where}: `{rule}` — {state} ({first} {side1}, {second} {side2}{edge})",
                where=b.location,
                rule=b.text,
                state=state,
                first=self.hits[0],
                side1=b.sides[0],
                second=self.hits[1],
                side2=b.sides[1],
                edge=edge,
            )
        )


_MET: Final = (tr("met"), tr("not met"))
_CAPPED: Final = (tr("under the cap"), tr("at or over the cap"))


def boundaries(policy: Policy) -> tuple[list[Boundary], list[str]]:
    """Every declared threshold and band edge of ``policy``; and the indicators whose scorers hide theirs."""
    found = [*_grade_lines(policy), *_condition_edges(policy), *_caps(policy)]
    opaque: list[str] = []
    for indicator in policy.indicators.values():
        if indicator.scorer in ("bands", "ratio") and "bands" in indicator.params:
            found += _band_edges(policy, indicator)
        elif indicator.scorer == "threshold":
            found += _rule_edges(policy, indicator)
        elif indicator.scorer not in ROW_SCORERS:
            opaque.append(indicator.name)
    return found, opaque


def _grade_lines(policy: Policy) -> Iterator[Boundary]:
    for rule in policy.grades:
        base = f"grades.{rule.grade.value}"
        yield Boundary(
            f"{base}.min_total",
            f"total >= {rule.min_total}",
            at(rule.origin, f"{base}.min_total"),
            _MET,
            "check",
            (rule.grade, "min_total", "min_total"),
        )


def _condition_edges(policy: Policy) -> Iterator[Boundary]:
    """The gates, the vetoes and the `when` of each adjustment."""
    for site in sites(policy):
        cond = site.condition
        if site.role == "gate":
            key: tuple[Any, ...] = (site.grade, "gate", site.path[-1])
            yield Boundary(site.name, str(cond), site.location, _MET, "check", key)
        elif site.role == "veto":
            yield Boundary(site.name, str(cond), site.location, _MET, "veto", (site.path[1],))
        else:
            yield Boundary(f"{site.name}.when", str(cond), site.location, _MET, "when", (cond,))


def _caps(policy: Policy) -> Iterator[Boundary]:
    """Each adjustment's own cap, then the caps on all bonuses and all deductions."""
    for aid, adj in policy.adjustments.items():
        if adj.cap is not None:
            path: DocPath = ("adjustments", aid, "cap")
            yield Boundary(
                path_text(path),
                f"{aid} capped at {adj.cap}",
                at(policy.origin(path), path),
                _CAPPED,
                "cap",
                (aid, adj.cap),
            )
    agg = policy.aggregation
    for kind, cap in (("bonus", agg.bonus_cap), ("deduction", agg.deduction_cap)):
        if cap is not None:
            path = ("aggregation", f"{kind}_cap")
            yield Boundary(
                path_text(path),
                f"{kind}s capped at {cap}",
                at(policy.origin(path), path),
                _CAPPED,
                "total_cap",
                (kind, cap),
            )


def _band_edges(policy: Policy, indicator: Indicator) -> Iterator[Boundary]:
    params = indicator.params
    closed_right = params.get("closed", "left") == "right"
    sides = (tr("at or below"), tr("above")) if closed_right else (tr("below"), tr("at or above"))
    subject = params.get("input") or f"{params['numerator']}/{params['denominator']}"
    for i, band in enumerate(params["bands"]):
        for edge in ("min", "max"):
            # An inner edge is both one band's max and the next one's min: count it once, as the min.
            if edge not in band or (edge == "max" and i < len(params["bands"]) - 1):
                continue
            value = as_decimal(band[edge])
            path: DocPath = ("indicators", indicator.name, "params", "bands", i, edge)
            yield Boundary(
                path_text(path),
                f"{subject} band edge {value}",
                at(policy.origin(path), path),
                sides,
                "band",
                (indicator.name, value, closed_right),
            )


def _rule_edges(policy: Policy, indicator: Indicator) -> Iterator[Boundary]:
    params = indicator.params
    for i, rule_spec in enumerate(params["rules"]):
        limit = rule_spec["value"] if isinstance(rule_spec["value"], bool) else as_decimal(rule_spec["value"])
        path: DocPath = ("indicators", indicator.name, "params", "rules", i)
        yield Boundary(
            path_text(path),
            f"{params['input']} {rule_spec['op']} {_plain(limit)}",
            at(policy.origin((*path, "value")), path),
            _MET,
            "rule",
            (indicator.name, rule_spec["op"], limit),
        )


# -- loading --------------------------------------------------------------------------------


def find_cases(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The cases files among ``paths``: files as given, folders searched recursively."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
        else:
            out.append(path)
    return out


def default_policy(cases_file: Path) -> Path:
    """``x.cases.yaml`` tests ``x.yaml`` in the same folder."""
    name = cases_file.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return cases_file.with_name(name[: -len(suffix)] + ".yaml")
    return cases_file.with_suffix(".policy.yaml")


@attrs.frozen(eq=False)
class CaseSuite:
    """A loaded cases file: its policy, compiled, and its cases. Run them with :meth:`run` or :meth:`report`."""

    file: str
    policy: Policy
    compiled: CompiledPolicy
    cases: tuple[Case, ...]

    def run(self, case: Case) -> CaseOutcome:
        """Grade one case on its own (a batch of one) and compare it with what is expected."""
        [result] = self.compiled.evaluate([case.record]).results
        return CaseOutcome(case, result, tuple(_mismatches(self.policy, case, result)))

    def report(self, outcomes: Sequence[CaseOutcome] | None = None) -> CaseReport:
        outcomes = [self.run(c) for c in self.cases] if outcomes is None else list(outcomes)
        found, opaque = boundaries(self.policy)
        typed, _ = check_records(self.policy, [o.case.record for o in outcomes])
        coverage = []
        for boundary in sorted(found, key=lambda b: b.location.sort_key()):
            hits, on_edge = [0, 0], 0
            for outcome, record in zip(outcomes, typed, strict=True):
                side = boundary.side(outcome.result, record.values)
                if side is not None:
                    hits[side[0]] += 1
                    on_edge += side[1]
            coverage.append(Coverage(boundary, (hits[0], hits[1]), on_edge))
        return CaseReport(self.file, self.policy, tuple(outcomes), tuple(coverage), tuple(opaque))


@attrs.frozen(eq=False)
class CaseReport:
    """The outcome of every case of one file, and the boundary coverage they reach."""

    file: str
    policy: Policy
    outcomes: tuple[CaseOutcome, ...]
    coverage: tuple[Coverage, ...]
    #: Indicators scored by plugins: their thresholds are not declared, so not counted.
    opaque: tuple[str, ...]

    @property
    def failed(self) -> tuple[CaseOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    @property
    def gaps(self) -> tuple[Coverage, ...]:
        return tuple(c for c in self.coverage if not c.complete)

    @property
    def ok(self) -> bool:
        return not self.failed


class _Reader:
    """Turns a cases document into a suite, collecting every problem with its place."""

    def __init__(self, doc: Document, host: PluginHost) -> None:
        self.doc, self.host = doc, host
        self.base = Path(doc.file).parent
        self.problems: list[Problem] = []
        self.tables: dict[Path, dict[str, RawRecord] | None] = {}

    def fail(
        self, path: DocPath, message: str, hint: str | None = None, code: str = Code.BAD_CASE, key: bool = False
    ) -> None:
        self.problems.append(Problem(message, self.doc.location(path, key=key), hint, code))

    def suite(self) -> CaseSuite:
        problems = validate_against(_validator(), self.doc, ())
        if problems:
            raise CasesError(problems)
        data: dict[str, Any] = self.doc.data  # type: ignore[assignment]  # the schema says it is a mapping
        target = self.base / data["policy"] if "policy" in data else default_policy(Path(self.doc.file))
        as_of = dt.date.fromisoformat(data["as_of"]) if "as_of" in data else None
        if not target.exists():
            self.fail(
                ("policy",) if "policy" in data else (),
                tr("the policy {target} does not exist", target=target),
                tr("name it with `policy:` (relative to this file)"),
                Code.NOT_FOUND,
            )
            raise CasesError(self.problems)
        policy = load_policy(target, as_of=as_of, host=self.host)
        tolerance = as_decimal(data.get("tolerance", 0))
        cases = []
        seen: dict[str, int] = {}
        for i, spec in enumerate(data["cases"]):
            path: DocPath = ("cases", i)
            if spec["id"] in seen:
                self.fail(
                    (*path, "id"),
                    tr("case id {id!r} is used twice (first at cases[{first}])", id=spec["id"], first=seen[spec["id"]]),
                    tr("give each case its own id"),
                    Code.DUPLICATE_CASE,
                )
            seen.setdefault(spec["id"], i)
            case = self.case(policy, path, spec, data.get("data"), tolerance)
            if case is not None:
                cases.append(case)
        if self.problems:
            raise CasesError(self.problems)
        return CaseSuite(self.doc.file, policy, compile_policy(policy, self.host), tuple(cases))

    def rows(self, path: DocPath, file: str, key: str = "county") -> dict[str, RawRecord] | None:
        """The records of ``file`` by their key (the policy's unit key: a county code by default)."""
        target = self.base / file
        if target not in self.tables:
            try:
                read = read_records(target)
            except DataFileError as exc:
                message = tr("cannot read {file}: {problem}", file=file, problem=exc.problem.message)
                self.fail(path, message, exc.problem.hint, Code.BAD_DATA)
                self.tables[target] = None
            else:
                self.tables[target] = {str(r.values.get(key, "")).strip(): r for r in read.records}
        return self.tables[target]

    def case(
        self, policy: Policy, path: DocPath, spec: Mapping[str, Any], data: str | None, tolerance: Decimal
    ) -> Case | None:
        if "row" in spec:
            row = spec["row"]
            file = row.get("file", data) if isinstance(row, dict) else data
            county = str(row["county"] if isinstance(row, dict) else row).strip()
            if file is None:
                self.fail(
                    (*path, "row"),
                    tr("the row names no file"),
                    tr("add `data:` at the top, or write {form}", form="{file, county}"),
                )
                return None
            table = self.rows((*path, "row"), file, policy.unit.key)
            if table is None:
                return None
            found = table.get(county)
            if found is None:
                # Codes are read digit by digit: the nearest are those sharing the longest prefix (the same city).
                close = sorted(table, key=lambda code: (-_shared(code, county), code))[:3]
                self.fail(
                    (*path, "row"),
                    tr("county {county} is not in {file}", county=county, file=file),
                    tr("did you mean {names}?", names=join(close)) if close else tr("check the county code"),
                    Code.UNKNOWN_ROW,
                )
                return None
            values = dict(found.values)
            where = found.location
        else:
            values = dict(spec["record"])
            where = self.doc.location((*path, "record"))
        known = set(policy.inputs) | META_FIELDS | policy.unit.fields
        for key in ("record", "with"):
            for name in spec.get(key, {}):
                if name not in known:
                    close = difflib.get_close_matches(str(name), sorted(known), n=1)
                    self.fail(
                        (*path, key, name),
                        tr(
                            "{name!r} is not an input of {policy} {version}",
                            name=name,
                            policy=policy.id,
                            version=policy.version,
                        ),
                        tr("did you mean {name!r}?", name=close[0]) if close else None,
                        Code.UNKNOWN_INPUT,
                        key=True,
                    )
        values |= spec.get("with", {})
        expect = spec["expect"]
        places = {"grade": self.doc.location((*path, "expect", "grade"))}
        places["score"] = self.doc.location((*path, "expect", "score"))
        indicators = {}
        for name, value in expect.get("indicators", {}).items():
            where_expected: DocPath = (*path, "expect", "indicators", name)
            places[f"indicators.{name}"] = self.doc.location(where_expected)
            if name not in policy.indicators:
                close = difflib.get_close_matches(name, list(policy.indicators), n=1)
                self.fail(
                    where_expected,
                    tr(
                        "{name!r} is not an indicator of {policy} {version}",
                        name=name,
                        policy=policy.id,
                        version=policy.version,
                    ),
                    tr("did you mean {name!r}?", name=close[0]) if close else None,
                    Code.UNKNOWN_INDICATOR,
                    key=True,
                )
            indicators[name] = _expected(value, tolerance)
        return Case(
            id=spec["id"],
            label=spec.get("label"),
            record=RawRecord(values, where),
            location=self.doc.location(path),
            grade=expect.get("grade"),
            score=_expected(expect["score"], tolerance) if "score" in expect else None,
            indicators=indicators,
            places=places,
            changes=dict(spec.get("with", {})),
        )


def _shared(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _expected(value: Any, tolerance: Decimal) -> tuple[Decimal, Decimal]:
    if isinstance(value, dict):
        return as_decimal(value["value"]), as_decimal(value.get("tolerance", tolerance))
    return as_decimal(value), tolerance


def load_cases(path: str | os.PathLike[str], *, host: PluginHost | None = None) -> CaseSuite:
    """Read a cases file, load the policy it tests and the rows it refers to.

    Raises :class:`CasesError` listing every problem of the file, or the policy's
    :class:`fineco_rules.PolicyError`, or a :class:`fineco_rules.DataFileError`.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesError(
            Problem(
                tr("cannot read the cases file: {error}", error=str(exc)),
                Location(str(path)),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None
    doc = parse_yaml(str(path), text, error=CasesError, subject="cases files")
    if not isinstance(doc.data, dict):
        raise CasesError(
            Problem("a cases file is a mapping with `cases:`", Location(str(path), 1, 1), None, Code.NOT_A_MAPPING)
        )
    return _Reader(doc, host if host is not None else make_plugin_host()).suite()


def run_cases(path: str | os.PathLike[str], *, host: PluginHost | None = None) -> CaseReport:
    """Run every case of a cases file; the report has each outcome and the boundary coverage."""
    return load_cases(path, host=host).report()


# -- judging a case ---------------------------------------------------------------------------


def _grade_text(result: CountyResult) -> str:
    return "not_graded" if result.grade is None else result.grade.value


def _mismatches(policy: Policy, case: Case, result: CountyResult) -> Iterable[Mismatch]:
    if case.grade is not None and case.grade != _grade_text(result):
        found = _grade_text(result)
        why, where = _why(policy, case.grade, result)
        yield Mismatch(
            "grade",
            tr(
                "expected grade {expected}, got {found}{total}{why}",
                expected=case.grade,
                found=found,
                total=tr(" (total {total})", total=result.score) if result.score is not None else "",
                why=why,
            ),
            case.places["grade"],
            where,
        )
    if case.score is not None:
        value, tolerance = case.score
        if result.score is None or abs(result.score - value) > tolerance:
            within = f" ± {tolerance}" if tolerance else ""
            yield Mismatch(
                "score",
                tr(
                    "expected a total of {value}{within}, got {total} (before adjustments {base})",
                    value=value,
                    within=within,
                    total=result.score,
                    base=result.base_score,
                ),
                case.places["score"],
                at(policy.origin(("aggregation",)), "aggregation"),
            )
    for name, (value, tolerance) in case.indicators.items():
        got = result.indicators.get(name)
        score = None if got is None else got.score
        if score is None or abs(score - value) > tolerance:
            within = f" ± {tolerance}" if tolerance else ""
            error = tr(" ({error})", error=got.error.message) if got is not None and got.error is not None else ""
            yield Mismatch(
                f"indicators.{name}",
                tr(
                    "expected indicator {name!r} to score {value}{within}, got {score}{error}",
                    name=name,
                    value=value,
                    within=within,
                    score=score,
                    error=error,
                ),
                case.places[f"indicators.{name}"],
                at(policy.indicators[name].origin, ("indicators", name)),
            )


def _why(policy: Policy, expected: str, result: CountyResult) -> tuple[str | Msg, Location | None]:
    """The condition that decided the grade, against the expectation, and where the policy writes it."""
    if result.grade is None:
        first = result.errors[0] if result.errors else None
        return (tr(": {problem}", problem=first.message), first.location) if first is not None else ("", None)
    for veto in result.vetoes:
        if veto.met:
            rule = f"{veto.subject} {veto.op} {_plain(veto.threshold)}"
            return tr(": vetoed by {veto} ({rule})", veto=veto.id, rule=rule), at(veto.origin, f"vetoes.{veto.id}")
    want = _GRADES.get(expected)
    if want is None:
        return "", None
    if want > result.grade:
        # The first condition of the expected grade (or one below it) that the county missed.
        for grade, checks in result.checks.items():
            if grade > want:
                continue
            for check in checks:
                if check.met is False:
                    name = "min_total" if check.kind == "min_total" else f"gates.{check.id}"
                    return (
                        tr(
                            ": {grade} needs {rule}, found {value}",
                            grade=grade.label,
                            rule=f"{check.subject} {check.op} {_plain(check.threshold)}",
                            value=_plain(check.value),
                        ),
                        at(check.origin, f"grades.{grade.value}.{name}"),
                    )
        return "", None
    # Graded higher than expected: the closest call among the conditions it met for the grade it got.
    above = [c for g, checks in result.checks.items() if want < g <= result.grade for c in checks]
    closest = min((c for c in above if c.margin is not None), key=lambda c: c.margin or ZERO, default=None)
    if closest is None:
        return "", None
    grade = next(g for g, checks in result.checks.items() if closest in checks)
    name = "min_total" if closest.kind == "min_total" else f"gates.{closest.id}"
    return (
        tr(
            ": it meets every condition of {grade}, closest {rule} with {value}",
            grade=result.grade.label,
            rule=f"{closest.subject} {closest.op} {_plain(closest.threshold)}",
            value=_plain(closest.value),
        ),
        at(closest.origin, f"grades.{grade.value}.{name}"),
    )


def _plain(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- output ---------------------------------------------------------------------------------


def render_outcome(outcome: CaseOutcome) -> list[str]:
    case = outcome.case
    label = f" ({case.label})" if case.label else ""
    lines = [str(tr("FAIL {where}: case {case!r}{label}", where=case.location, case=case.id, label=label))]
    record = case.record.location
    changed = "".join(f", {k} = {_plain(v)}" for k, v in case.changes.items())
    county = str(case.record.values.get("county", "")).strip()
    lines.append(
        str(tr("    record: {where} (county {county}{changed})", where=record, county=county, changed=changed))
    )
    for mismatch in outcome.mismatches:
        lines.append(f"    {mismatch.case}: {mismatch.message}")
        if mismatch.policy is not None:
            lines.append(str(tr("        policy: {where}", where=mismatch.policy)))
    return lines


def render_cases(report: CaseReport, *, verbose: bool = False) -> str:
    """The report as ``fineco test`` prints it."""
    lines: list[str] = []
    for outcome in report.outcomes:
        if not outcome.passed:
            lines += render_outcome(outcome)
        elif verbose:
            lines.append(str(tr("ok   {where}: case {case!r}", where=outcome.case.location, case=outcome.case.id)))
    policy = report.policy
    passed = len(report.outcomes) - len(report.failed)
    lines.append(
        str(
            tr(
                "{file}: {count} cases, {passed} passed, {failed} failed ({policy} {version}, {path})",
                file=report.file,
                count=len(report.outcomes),
                passed=passed,
                failed=len(report.failed),
                policy=policy.id,
                version=policy.version,
                path=policy.file,
            )
        )
    )
    complete = len(report.coverage) - len(report.gaps)
    line = tr(
        "  boundary coverage: {complete} of {count} boundaries exercised on both sides",
        complete=complete,
        count=len(report.coverage),
    )
    lines.append(str(line) + (str(tr("; not covered:")) if report.gaps else ""))
    for coverage in report.coverage if verbose else report.gaps:
        lines.append(f"    {coverage.text()}")
    if report.opaque:
        lines.append(
            str(
                tr(
                    "  not counted: the thresholds inside plugin scorers ({scorers}); "
                    "cases on both sides of them are up to you",
                    scorers=join(
                        policy.indicators[name].label if name in policy.indicators else name for name in report.opaque
                    ),
                )
            )
        )
    return "\n".join(lines) + "\n"
