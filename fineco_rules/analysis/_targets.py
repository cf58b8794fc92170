"""A policy's targets over a whole result set, per prefecture city and province-wide, with last year's results."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.engine._results import CountyResult, Evaluation, jsonable
from fineco_rules.errors import Code, DataFileError, Location, Msg, PolicyError, Problem, tr
from fineco_rules.io._numbers import CONTEXT, ZERO, as_decimal
from fineco_rules.policy._model import TARGET_METRICS, Grade, Policy, Target
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._scorer import Label, Value

__all__ = [
    "CITY_NAMES",
    "AreaSummary",
    "LastYear",
    "PastResult",
    "Summary",
    "TargetResult",
    "input_value",
    "read_last_year",
    "shown_figure",
    "summarize",
]

#: Jiangsu's 13 prefecture cities (GB/T 2260). For Jiangsu data a city with no county in the
#: result set still exists, so a pilot year that skips one is flagged.
CITY_NAMES: Final = {
    "320100": Label("南京市", "Nanjing"),
    "320200": Label("无锡市", "Wuxi"),
    "320300": Label("徐州市", "Xuzhou"),
    "320400": Label("常州市", "Changzhou"),
    "320500": Label("苏州市", "Suzhou"),
    "320600": Label("南通市", "Nantong"),
    "320700": Label("连云港市", "Lianyungang"),
    "320800": Label("淮安市", "Huai'an"),
    "320900": Label("盐城市", "Yancheng"),
    "321000": Label("扬州市", "Yangzhou"),
    "321100": Label("镇江市", "Zhenjiang"),
    "321200": Label("泰州市", "Taizhou"),
    "321300": Label("宿迁市", "Suqian"),
}
PROVINCE: Final = "province"
_PROVINCE_LABEL: Final = Label("全省", "province")
#: Figures are shown (and written to JSON) to this many decimals; comparisons use the exact fraction.
FIGURE_PLACES: Final = Decimal("0.000001")


def city_label(code: str) -> Label:
    return CITY_NAMES.get(code, Label(code, code))


# -- last year's results ------------------------------------------------------------------


@attrs.frozen
class PastResult:
    """One county's grade in an earlier result set."""

    county: str
    name: str | None
    city: str | None
    grade: Grade | None
    score: Decimal | None


@attrs.frozen
class LastYear:
    """Last year's results: each county's grade, and the policy that gave it."""

    policy: str
    version: str
    results: Mapping[str, PastResult]
    file: str | None = None

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation) -> LastYear:
        rows = {
            r.county: PastResult(r.county, r.name, r.city, r.grade, r.score) for r in evaluation.results if r.county
        }
        return cls(evaluation.policy.id, evaluation.policy.version, rows)

    @classmethod
    def from_mapping(cls, data: object, file: str | None = None) -> LastYear:
        """From what ``fineco evaluate --format json`` (or ``results publish``) wrote."""

        def bad(message: Msg, path: str) -> DataFileError:
            return DataFileError(
                Problem(
                    message,
                    Location(file, path=path),
                    tr("give the file `fineco evaluate --format json` wrote for last year"),
                    Code.BAD_RESULTS,
                )
            )

        if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
            raise bad(tr("expected an object with a `results` list"), "$")
        given = data.get("policy")
        policy: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        rows: dict[str, PastResult] = {}
        for i, row in enumerate(data["results"]):
            where = f"$.results[{i}]"
            if not isinstance(row, Mapping) or not isinstance(row.get("county"), str):
                raise bad(tr("expected a result with a `county` code"), where)
            grade_text = row.get("grade")
            try:
                grade = None if grade_text is None else Grade(grade_text)
            except ValueError:
                raise bad(tr("grade {grade!r} is not fail, pass or good", grade=grade_text), f"{where}.grade") from None
            score = row.get("score")
            try:
                number = None if score is None else as_decimal(score)
            except (TypeError, ValueError):
                raise bad(tr("score {score!r} is not a number", score=score), f"{where}.score") from None
            if row["county"] in rows:
                raise bad(tr("county {county} appears twice", county=row["county"]), f"{where}.county")
            name, city = row.get("name"), row.get("city")
            rows[row["county"]] = PastResult(
                row["county"],
                None if name is None else str(name),
                None if city is None else str(city),
                grade,
                number,
            )
        return cls(str(policy.get("id", "?")), str(policy.get("version", "?")), rows, file)

    def passing(self) -> tuple[str, ...]:
        """Counties rated pass or good (good comes only from passing counties), by code."""
        return tuple(sorted(c for c, r in self.results.items() if r.grade is not None and r.grade >= Grade.PASS))


def read_last_year(path: str | os.PathLike[str]) -> LastYear:
    """Read a results file written by ``fineco evaluate --format json``."""
    file = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise DataFileError(
            Problem(
                tr("cannot read {file}: {error}", file=file, error=exc.strerror or exc),
                Location(file),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(
            Problem(
                tr("not JSON: {error}", error=exc.msg),
                Location(file, exc.lineno, exc.colno),
                tr("give the file `fineco evaluate --format json` wrote"),
                Code.NOT_JSON,
            )
        ) from None
    return LastYear.from_mapping(data, file)


# -- target figures -------------------------------------------------------------------------


@attrs.frozen
class TargetResult:
    """One target in one area: its figure, whether it is met, and the counties behind it.

    ``figure`` is ``numerator / denominator`` (a count for ``counties_per_city``); ``met`` is
    ``None`` when the figure cannot be computed (``note`` says why). ``counties`` are the ones
    counted (the numerator's, or the ones averaged), ``population`` the denominator's, and
    ``left_out`` the counties set aside, each with the reason.
    """

    target: Target
    area: str
    figure: Decimal | None
    numerator: Decimal | None
    denominator: int | None
    met: bool | None
    counties: tuple[str, ...] = ()
    population: tuple[str, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    #: A ``judged: phase_end`` target before the phase's last year: the figure shows progress, not a verdict.
    progress: bool = False

    @property
    def status(self) -> str:
        """``met``, ``not_met``, ``progress`` (judged at the phase's end, not yet) or ``unknown``."""
        if self.progress:
            return "progress"
        return {True: "met", False: "not_met", None: "unknown"}[self.met]

    @property
    def verdict(self) -> bool | None:
        """What the target counts for in ``Summary.met``: ``met``, except that progress counts for nothing."""
        return None if self.progress else self.met

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "id": t.id,
            "label": jsonable(t.label),
            "metric": t.metric,
            "input": t.input,
            "scope": t.scope,
            "op": t.op,
            "threshold": jsonable(t.value),
            "figure": None if self.figure is None else jsonable(shown_figure(self.figure)),
            "numerator": jsonable(self.numerator),
            "denominator": self.denominator,
            "met": self.met,
            "counties": list(self.counties),
            "population": list(self.population),
            "left_out": [{"county": c, "reason": why} for c, why in self.left_out],
            "note": self.note,
            # Only what a target of the province's year adds, so a plain summary keeps its documented shape.
            **({"per": t.per} if t.per else {}),
            **({"judged": t.judged, "status": self.status} if t.judged != "every_year" else {}),
        }


def shown_figure(value: Decimal) -> Decimal:
    """``value`` to at most six decimals, without trailing zeros (a whole number as an integer)."""
    shown = value.quantize(FIGURE_PLACES)
    return shown.to_integral_value() if shown == shown.to_integral_value() else shown.normalize()


def _compare(op: str, numerator: Decimal, denominator: int, threshold: Decimal) -> bool:
    """``numerator / denominator op threshold``, decided exactly by cross-multiplying."""
    return bool(COMPARATORS[op](numerator, threshold * denominator))


def input_value(result: CountyResult, policy: Policy, field: str) -> Value | None:
    """The county's own value of an input as grading saw it: read by an indicator (not imputed), or compared by a
    gate or veto; ``None`` when the results do not hold it."""
    for ind in result.indicators.values():
        if field in ind.inputs and field not in ind.missing and ind.inputs[field] is not None:
            return ind.inputs[field]
    conditions = [(gid, rule.grade, gate) for rule in policy.grades for gid, gate in rule.gates.items()]
    for gid, grade, cond in conditions:
        if cond.kind == "input" and cond.subject == field:
            for check in result.checks.get(grade, ()):
                if check.id == gid and check.value is not None:
                    return check.value
    for veto in policy.vetoes.values():
        if veto.when.kind == "input" and veto.when.subject == field:
            for check in result.vetoes:
                if check.id == veto.id and check.value is not None:
                    return check.value
    return None


_Metric = Callable[["_Area", Target], TargetResult]


@attrs.frozen
class _Area:
    """The results of one area (a city, or the province) and what a metric needs beside them."""

    code: str
    policy_of: Mapping[str, Policy]
    results: tuple[CountyResult, ...]
    last_year: LastYear | None
    #: For good_from_last_pass: this year's result of each county, and which area each county is in.
    everyone: Mapping[str, CountyResult]
    in_area: Callable[[str, str | None], bool]
    #: Counties on the roster of this area that no submission holds: they count in the denominator, never pass.
    missing: tuple[str, ...] = ()
    #: Each county's figures beside its graded inputs (the parts of a ratio of totals), by field.
    parts: Mapping[str, Mapping[str, Value]] = attrs.field(factory=dict)


def _share(
    area: _Area, target: Target, counted: Sequence[str], population: Sequence[str], **extra: Any
) -> TargetResult:
    n = len(population)
    numerator = Decimal(len(counted))
    if not n:
        return TargetResult(target, area.code, None, numerator, 0, None, note=tr("no counties to count"), **extra)
    figure = CONTEXT.divide(numerator, Decimal(n))
    met = _compare(target.op, numerator, n, target.value)
    return TargetResult(target, area.code, figure, numerator, n, met, tuple(counted), tuple(population), **extra)


def _graded_share(level: Grade) -> _Metric:
    def metric(area: _Area, target: Target) -> TargetResult:
        population = [r.county for r in area.results] + list(area.missing)
        counted = [r.county for r in area.results if r.grade is not None and r.grade >= level]
        left_out = tuple((c, tr("missing from the submission (counted, not passing)")) for c in area.missing)
        return _share(area, target, counted, population, left_out=left_out)

    return metric


def _good_from_last_pass(area: _Area, target: Target) -> TargetResult:
    if area.last_year is None:
        return TargetResult(target, area.code, None, None, None, None, note=tr("needs last year's results"))
    population: list[str] = []
    left_out: list[tuple[str, str]] = []
    for county in area.last_year.passing():
        now = area.everyone.get(county)
        if now is None:
            if area.in_area(county, area.last_year.results[county].city):
                left_out.append((county, tr("not in this year's results")))
            continue
        if area.in_area(county, now.city):
            population.append(county)
    counted = [c for c in population if area.everyone[c].grade == Grade.GOOD]
    return _share(area, target, counted, population, left_out=tuple(left_out))


def _values(area: _Area, field: str) -> tuple[list[tuple[str, Value]], list[tuple[str, str]]]:
    found: list[tuple[str, Value]] = []
    left_out: list[tuple[str, str]] = []
    for r in area.results:
        value = input_value(r, area.policy_of[r.county], field)
        if value is None:
            value = area.parts.get(r.county, {}).get(field)
        if value is None:
            left_out.append((r.county, tr("no value of {field}", field=field)))
        else:
            found.append((r.county, value))
    return found, left_out


def _target_input(target: Target) -> str:
    """The input a target's metric is computed from; a loaded policy always names it, a hand-built one may not."""
    if target.input is None:
        raise PolicyError(
            Problem(
                tr(
                    "target {target!r}: metric {metric} needs the `input` it is computed from",
                    target=target.id,
                    metric=target.metric,
                ),
                hint=tr("give the target an input"),
                code=Code.MISSING_KEY,
            )
        )
    return target.input


def _input_mean(area: _Area, target: Target) -> TargetResult:
    found, left_out = _values(area, _target_input(target))
    numbers = [(c, v) for c, v in found if isinstance(v, Decimal)]
    if not numbers:
        return TargetResult(target, area.code, None, None, 0, None, left_out=tuple(left_out), note=tr("no values"))
    total = sum((v for _, v in numbers), ZERO)
    n = len(numbers)
    counties = tuple(c for c, _ in numbers)
    return TargetResult(
        target,
        area.code,
        CONTEXT.divide(total, Decimal(n)),
        total,
        n,
        _compare(target.op, total, n, target.value),
        counties,
        counties,
        tuple(left_out),
    )


def _input_share(area: _Area, target: Target) -> TargetResult:
    found, left_out = _values(area, _target_input(target))
    population = [c for c, _ in found]
    counted = [c for c, v in found if v is True]
    return _share(area, target, counted, population, left_out=tuple(left_out))


def _ratio_of_totals(area: _Area, target: Target) -> TargetResult:
    """Total of ``input`` over total of ``per``, over the counties that give both (a province-wide ratio of totals,
    not a mean of county ratios)."""
    tops, left_top = _values(area, _target_input(target))
    bottoms, left_bottom = _values(area, target.per or "")
    top = {c: v for c, v in tops if isinstance(v, Decimal)}
    bottom = {c: v for c, v in bottoms if isinstance(v, Decimal)}
    counties = tuple(c for c in top if c in bottom)
    missing = tuple((c, tr("missing from the submission")) for c in area.missing)
    left_out = tuple(dict([*left_top, *left_bottom]).items()) + missing
    numerator = sum((top[c] for c in counties), ZERO)
    denominator = sum((bottom[c] for c in counties), ZERO)
    if not counties or not denominator:
        return TargetResult(
            target, area.code, None, numerator, 0, None, counties, counties, left_out, note=tr("no values")
        )
    met = bool(COMPARATORS[target.op](numerator, target.value * denominator))
    figure = CONTEXT.divide(numerator, denominator)
    return TargetResult(target, area.code, figure, numerator, len(counties), met, counties, counties, left_out)


def _counties_per_city(area: _Area, target: Target) -> TargetResult:
    counties = tuple(r.county for r in area.results)
    count = Decimal(len(counties))
    met = bool(COMPARATORS[target.op](count, target.value))
    return TargetResult(target, area.code, count, count, None, met, counties, counties)


_METRICS: Final[Mapping[str, _Metric]] = {
    "counties_per_city": _counties_per_city,
    "good_from_last_pass": _good_from_last_pass,
    "good_rate": _graded_share(Grade.GOOD),
    "input_mean": _input_mean,
    "input_share": _input_share,
    "pass_coverage": _graded_share(Grade.PASS),
    "ratio_of_totals": _ratio_of_totals,
}
assert tuple(sorted(_METRICS)) == TARGET_METRICS  # noqa: S101  # two lists of this library, written side by side


# -- the summary ------------------------------------------------------------------------------


@attrs.frozen
class AreaSummary:
    """One area's grade counts and target figures."""

    area: str
    label: Label
    counts: Mapping[str, int]
    targets: tuple[TargetResult, ...]
    #: Counties on the roster of this area that no submission holds.
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "label": jsonable(self.label),
            "counts": dict(self.counts),
            "targets": [t.to_dict() for t in self.targets],
            **({"missing": list(self.missing)} if self.missing else {}),
        }


@attrs.frozen(eq=False)
class Summary:
    """The province against its targets: province-wide, per prefecture city, and what is flagged.

    ``met`` is True when every target is met where it is judged (province-scope targets
    province-wide, city-scope ones in every city, ``both`` in both); False when one is not; None
    when one cannot be computed and none fails. A ``judged: phase_end`` target before its
    phase's last year shows progress and counts for nothing. ``flags`` are the targets missed
    where they are judged. ``policy`` gives the targets; ``methods`` are the policies the
    counties were graded under (one per city in a province's year).
    """

    policy: Policy
    province: AreaSummary
    cities: tuple[AreaSummary, ...]
    last_year: LastYear | None
    flags: tuple[TargetResult, ...]
    met: bool | None
    methods: tuple[Policy, ...] = ()
    year: int | None = None

    def city(self, code: str) -> AreaSummary:
        for area in self.cities:
            if area.area == code:
                return area
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        last = self.last_year
        return {
            "policy": {"id": self.policy.id, "version": self.policy.version, "label": jsonable(self.policy.label)},
            "last_year": None
            if last is None
            else {
                "policy": {"id": last.policy, "version": last.version},
                "counties": len(last.results),
                "passing": len(last.passing()),
            },
            "met": self.met,
            "province": self.province.to_dict(),
            "cities": [c.to_dict() for c in self.cities],
            "flags": [
                {
                    "target": f.target.id,
                    "area": f.area,
                    "figure": jsonable(f.figure),
                    "op": f.target.op,
                    "threshold": jsonable(f.target.value),
                }
                for f in self.flags
            ],
            **self._year_keys(),
        }

    def _year_keys(self) -> dict[str, Any]:
        """The year and the methods, for a summary of a province's year (several methods, or a year given)."""
        if self.year is None and len(self.methods) <= 1:
            return {}
        methods = [{"id": p.id, "version": p.version, "label": jsonable(p.label)} for p in self.methods]
        return {"year": self.year, "methods": methods}


def _counts(results: Iterable[CountyResult], missing: int = 0) -> dict[str, int]:
    rows = list(results)
    out = {"counties": len(rows)}
    for grade in (Grade.GOOD, Grade.PASS, Grade.FAIL):
        out[grade.value] = sum(1 for r in rows if r.grade == grade)
    out["not_graded"] = sum(1 for r in rows if r.grade is None)
    if missing:
        out["missing"] = missing
    return out


def _all(values: Iterable[bool | None]) -> bool | None:
    found = list(values)
    if False in found:
        return False
    return None if None in found else True


#: Where each scope is judged: province-wide, and in each prefecture city.
_PROVINCE_SCOPES: Final = frozenset({"province", "both"})
_CITY_SCOPES: Final = frozenset({"city", "both"})


def summarize(
    evaluation: Evaluation | Sequence[Evaluation],
    last_year: LastYear | Evaluation | None = None,
    *,
    cities: Iterable[str] | None = None,
    targets: Policy | None = None,
    roster: Mapping[str, str] | None = None,
    year: int | None = None,
    parts: Mapping[str, Mapping[str, Value]] | None = None,
) -> Summary:
    """Compute every target, province-wide and for each prefecture city, over one or several evaluations.

    ``evaluation`` may be several evaluations under different policies (each city's method);
    ``targets`` is the policy whose targets are judged (default: the first evaluation's).
    ``last_year`` (a :class:`LastYear` or last year's evaluation) is needed for
    ``good_from_last_pass``. ``roster`` (county code → city code) fixes who must be assessed: a
    roster county no evaluation holds counts in the denominator of 达标面 and 优良率 and is
    listed as missing. ``year`` lets a ``judged: phase_end`` target show progress before its
    phase's last year. ``parts`` are each county's figures beside its graded inputs (the parts of
    a ``ratio_of_totals``). ``cities`` are the prefecture cities that exist (default: the
    roster's, or those in either result set plus Jiangsu's 13 when every county code is
    Jiangsu's): a city with no county counts 0 for ``counties_per_city``.
    """
    evaluations = (evaluation,) if isinstance(evaluation, Evaluation) else tuple(evaluation)
    if not evaluations and targets is None:
        raise ValueError("summarize needs an evaluation or the targets policy")
    policy = targets if targets is not None else evaluations[0].policy
    last = LastYear.from_evaluation(last_year) if isinstance(last_year, Evaluation) else last_year
    results = tuple(r for e in evaluations for r in e.results)
    policy_of = {r.county: e.policy for e in evaluations for r in e.results}
    everyone = {r.county: r for r in results}
    missing = tuple(sorted(c for c in (roster or {}) if c not in everyone))
    if cities is not None:
        codes = set(cities)
    elif roster is not None:
        codes = set(roster.values())
    else:
        codes = _cities(results, last)
    by_city: dict[str, list[CountyResult]] = {code: [] for code in codes}
    for r in results:
        by_city.setdefault(_city_of(r.county, r.city), []).append(r)
    missing_in: dict[str, list[str]] = {}
    for county in missing:
        missing_in.setdefault((roster or {})[county], []).append(county)
        by_city.setdefault((roster or {})[county], [])
    context = _Context(policy, last, everyone, policy_of, parts or {}, year)
    city_areas = tuple(
        context.area(code, by_city[code], tuple(missing_in.get(code, ())), {"province", "city", "both"})
        for code in sorted(by_city)
    )
    province = context.area(PROVINCE, results, missing, {"province", "both"})
    judged = [
        *(t for t in province.targets if t.target.scope in _PROVINCE_SCOPES),
        *(t for a in city_areas for t in a.targets if t.target.scope in _CITY_SCOPES),
    ]
    flags = tuple(t for t in judged if t.verdict is False)
    met = _all(t.verdict for t in judged)
    methods = tuple({id(e.policy): e.policy for e in evaluations}.values())
    return Summary(policy, province, city_areas, last, flags, met, methods, year)


@attrs.frozen
class _Context:
    """What every area of one summary shares."""

    policy: Policy
    last: LastYear | None
    everyone: Mapping[str, CountyResult]
    policy_of: Mapping[str, Policy]
    parts: Mapping[str, Mapping[str, Value]]
    year: int | None

    def area(self, code: str, rows: Sequence[CountyResult], missing: tuple[str, ...], scopes: set[str]) -> AreaSummary:
        def inside(county: str, city: str | None) -> bool:
            return code == PROVINCE or _city_of(county, city) == code

        area = _Area(code, self.policy_of, tuple(rows), self.last, self.everyone, inside, missing, self.parts)
        found = tuple(self._judge(area, t) for t in self.policy.targets.values() if t.scope in scopes)
        label = _PROVINCE_LABEL if code == PROVINCE else city_label(code)
        return AreaSummary(code, label, _counts(rows, len(missing)), found, missing)

    def _judge(self, area: _Area, target: Target) -> TargetResult:
        result = _METRICS[target.metric](area, target)
        end = self.policy.effective_until
        if target.judged == "phase_end" and self.year is not None and end is not None and self.year < end.year:
            return attrs.evolve(result, progress=True)
        return result


def _city_of(county: str, city: str | None) -> str:
    return city if city else county[:4] + "00"


def _cities(results: Sequence[CountyResult], last: LastYear | None) -> set[str]:
    past = list(last.results.values()) if last is not None else []
    codes = {_city_of(r.county, r.city) for r in results} | {_city_of(r.county, r.city) for r in past}
    counties = [r.county for r in results] + [r.county for r in past]
    if counties and all(c.startswith("32") for c in counties):
        codes |= set(CITY_NAMES)
    return codes
