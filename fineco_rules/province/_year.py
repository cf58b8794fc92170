"""One assessment year of the province: each city's counties graded under the city's own method, combined,
judged against the phase targets, and the register of titles carried over from last year."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.analysis._targets import Summary, city_label, summarize
from fineco_rules.engine._engine import compile_policy
from fineco_rules.engine._results import Check, CountyResult, Evaluation, jsonable
from fineco_rules.errors import Code, DataFileError, FinecoError, Location, Msg, Problem, join, tr
from fineco_rules.governance._filing import Registry, anchors_for, load_public_key
from fineco_rules.io._numbers import as_decimal
from fineco_rules.io._readers import RawRecord, attach_table, read_records
from fineco_rules.io._yaml import DocPath, Document, parse_yaml, path_text
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._model import Grade, Policy
from fineco_rules.province._roster import Roster, read_roster
from fineco_rules.province._titles import Title, Titles, change_of, read_titles, titles_from_register
from fineco_rules.scoring._host import PluginHost, make_plugin_host
from fineco_rules.scoring._scorer import Label, Value

__all__ = ["CityMethod", "CityRun", "YearResult", "YearSetup", "load_year", "run_year"]

#: The check a good county fails when its method needs last year's pass as well (``from_pass: last_year``).
FROM_LAST_PASS: Final = "from_last_pass"
#: Said as a yes/no condition of good: "上年度已达标：否" explains why a county above the good line is rated pass.
_FROM_LAST_PASS_LABEL: Final = Label(
    "上年度已达标（良好须从上年度达标单位中产生，未达标的本年度按达标认定）",
    "passed last year (good comes only from last year's passing counties; the others are rated pass)",
)


@attrs.frozen
class CityMethod:
    """What one prefecture city hands in for the year: its assessment method and its counties' data."""

    city: str
    method: Path
    data: tuple[Path, ...]
    tables: tuple[tuple[str, Path], ...] = ()


@attrs.frozen
class OfficialSetup:
    """Grade officially: the filing registry, the province's public key and the checkpoints to hold it to."""

    registry: Path
    trust: Path
    checkpoints: tuple[Path, ...] = ()


@attrs.frozen
class YearSetup:
    """A year's setup: the roster, the provincial method (its targets), last year's register, each city's filing."""

    year: int
    roster: Path
    province: Path
    cities: Mapping[str, CityMethod]
    pilots_only: bool = False
    last_year: Path | None = None
    official: OfficialSetup | None = None
    file: str | None = None


class _SetupReader:
    """Reads a setup document, collecting every problem with its line and column."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.base = Path(doc.file).parent
        self.problems: list[Problem] = []

    def fail(self, path: DocPath, message: Msg, hint: Msg | None = None) -> None:
        self.problems.append(Problem(message, self.doc.location(path), hint, Code.BAD_SETUP))

    def path(self, node: object, where: DocPath) -> Path:
        if not isinstance(node, str) or not node:
            self.fail(where, tr("{key} must be a file or folder path", key=path_text(where)))
            return self.base
        found = self.base / node
        if not found.exists():
            self.fail(
                where, tr("{path} does not exist (relative to {base})", path=node, base=self.base), tr("check the path")
            )
        return found

    def paths(self, node: object, where: DocPath) -> tuple[Path, ...]:
        items = node if isinstance(node, list) else [node]
        return tuple(self.path(item, (*where, i) if isinstance(node, list) else where) for i, item in enumerate(items))

    def city(self, code: object, spec: object) -> CityMethod | None:
        where: DocPath = ("cities", str(code))
        if not (isinstance(code, str) and code.isdigit() and len(code) == 6):
            self.fail(
                where, tr("city {code!r} is not a six-digit code in quotes", code=code), tr('write it as "320500"')
            )
            return None
        if not isinstance(spec, Mapping) or "method" not in spec or "data" not in spec:
            self.fail(
                where,
                tr("city {code} needs `method` and `data`", code=code),
                tr("give the city's filed method and its data"),
            )
            return None
        extra = sorted(set(spec) - {"method", "data", "tables"})
        if extra:
            self.fail(
                (*where, extra[0]),
                tr("unknown key {key!r}", key=extra[0]),
                tr("a city gives method, data and tables"),
            )
        tables = spec.get("tables") or {}
        if not isinstance(tables, Mapping):
            self.fail((*where, "tables"), tr("tables must map a field to a file"))
            tables = {}
        return CityMethod(
            code,
            self.path(spec["method"], (*where, "method")),
            self.paths(spec["data"], (*where, "data")),
            tuple((str(f), self.path(p, (*where, "tables", str(f)))) for f, p in tables.items()),
        )

    def official(self, spec: object) -> OfficialSetup | None:
        if spec is None:
            return None
        if not isinstance(spec, Mapping) or "registry" not in spec or "trust" not in spec:
            self.fail(
                ("official",),
                tr("official needs `registry` and `trust`"),
                tr("or leave it out to grade unofficially"),
            )
            return None
        checkpoints = spec.get("checkpoints") or []
        return OfficialSetup(
            self.path(spec["registry"], ("official", "registry")),
            self.path(spec["trust"], ("official", "trust")),
            self.paths(checkpoints, ("official", "checkpoints")) if checkpoints else (),
        )


_SETUP_KEYS: Final = frozenset({"year", "roster", "province", "cities", "pilots_only", "last_year", "official"})


def load_year(path: str | os.PathLike[str]) -> YearSetup:
    """Read a year's setup file (``year.yaml``); paths in it are relative to the file."""
    file = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise DataFileError(
            Problem(
                tr("cannot read {path}: {reason}", path=file, reason=exc.strerror or exc),
                Location(file),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None
    doc = parse_yaml(file, text, error=DataFileError, subject="setup files")
    reader = _SetupReader(doc)
    data = doc.data if isinstance(doc.data, Mapping) else {}
    for key in sorted(set(data) - _SETUP_KEYS):
        reader.fail(
            (key,), tr("unknown key {key!r}", key=key), tr("a setup gives {keys}", keys=join(sorted(_SETUP_KEYS)))
        )
    for key in ("year", "roster", "province", "cities"):
        if key not in data:
            reader.fail((), tr("the setup lacks `{key}`", key=key))
    year = data.get("year")
    if "year" in data and not (isinstance(year, int) and 2000 <= year <= 2100):
        reader.fail(("year",), tr("year {year!r} is not a year like 2008", year=year))
    given = data.get("cities")
    cities: Mapping[Any, Any] = given if isinstance(given, Mapping) else {}
    methods = {str(code): reader.city(code, spec) for code, spec in cities.items()}
    roster = reader.path(data.get("roster"), ("roster",))
    province = reader.path(data.get("province"), ("province",))
    last = reader.path(data["last_year"], ("last_year",)) if data.get("last_year") else None
    official = reader.official(data.get("official"))
    if reader.problems:
        raise DataFileError(reader.problems)
    return YearSetup(
        int(str(year)),
        roster,
        province,
        {code: m for code, m in sorted(methods.items()) if m is not None},
        bool(data.get("pilots_only", False)),
        last,
        official,
        file,
    )


@attrs.frozen(eq=False)
class CityRun:
    """One city's counties graded under its method: who was missing, who was not the city's to submit."""

    city: str
    method: Policy
    evaluation: Evaluation
    missing: tuple[str, ...]
    strangers: tuple[str, ...]
    baseline: bool
    demoted: tuple[str, ...] = ()

    @property
    def label(self) -> Label:
        return city_label(self.city)


@attrs.frozen(eq=False)
class YearResult:
    """The province's year: each city's run, the summary against the targets, the register and the publication."""

    year: int
    province: Policy
    roster: Roster
    expected: Mapping[str, str]
    runs: tuple[CityRun, ...]
    summary: Summary
    titles: Titles
    problems: tuple[Problem, ...]
    official: bool

    def publication(self) -> dict[str, Any]:
        """对外公布: the counties named 达标/良好, by city, with the year and the method; no internal figures."""
        method_of = {r.county: run.method for run in self.runs for r in run.evaluation.results}
        cities = []
        for code in sorted({t.city for t in self.titles.entries.values()}):
            named = [t for c, t in sorted(self.titles.entries.items()) if t.city == code and t.title is not None]
            cities.append(
                {
                    "city": code,
                    "label": jsonable(city_label(code)),
                    "counties": [
                        {
                            "county": t.county,
                            "name": t.name,
                            "title": t.title.value if t.title else None,
                            "method": _method_ref(method_of[t.county]),
                        }
                        for t in named
                    ],
                }
            )
        return {"year": self.year, "official": self.official, "cities": cities}

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "official": self.official,
            "province": _method_ref(self.province),
            "cities": [
                {
                    "city": run.city,
                    "label": jsonable(run.label),
                    "method": _method_ref(run.method),
                    "baseline": run.baseline,
                    "official": run.evaluation.official,
                    "missing": list(run.missing),
                    "not_on_roster": list(run.strangers),
                    "demoted_from_good": list(run.demoted),
                }
                for run in self.runs
            ],
            "summary": self.summary.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
        }


def _method_ref(policy: Policy) -> dict[str, Any]:
    return {"id": policy.id, "version": policy.version, "label": jsonable(policy.label)}


def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _county(record: RawRecord) -> str:
    return str(record.values.get("county", "") or "").strip()


def _read_city(method: CityMethod) -> tuple[list[RawRecord], list[Problem]]:
    records: list[RawRecord] = []
    problems: list[Problem] = []
    for path in method.data:
        read = read_records(path)
        records.extend(read.records)
        problems.extend(read.problems)
    for field, path in method.tables:
        rows = read_records(path)
        records, unmatched = attach_table(records, field, rows.records)
        problems += list(rows.problems) + unmatched
    return records, problems


def _apply_from_pass(evaluation: Evaluation, last: Titles | None) -> tuple[Evaluation, tuple[str, ...]]:
    """Under ``from_pass: last_year`` a county is good only if it held a title last year too; else it passes."""
    rule = next((g for g in evaluation.policy.grades if g.grade == Grade.GOOD), None)
    if rule is None or rule.from_pass != "last_year":
        return evaluation, ()
    if last is None:
        raise DataFileError(
            Problem(
                tr(
                    "{policy} {version} gives good only to last year's passing counties "
                    "(from_pass: last_year), but no register of last year's titles was given",
                    policy=evaluation.policy.id,
                    version=evaluation.policy.version,
                ),
                Location(evaluation.policy.file, path="grades.good.from_pass"),
                tr("give `last_year:` in the setup (the titles.json of last year's run)"),
                Code.BAD_SETUP,
            )
        )
    out: list[CountyResult] = []
    demoted: list[str] = []
    for r in evaluation.results:
        if r.grade == Grade.GOOD and not last.holds(r.county):
            check = Check(
                FROM_LAST_PASS, "gate", _FROM_LAST_PASS_LABEL, "last_year", "==", False, True, None, False, rule.origin
            )
            checks = {**r.checks, Grade.GOOD: (*r.checks.get(Grade.GOOD, ()), check)}
            out.append(attrs.evolve(r, grade=Grade.PASS, checks=checks))
            demoted.append(r.county)
        else:
            out.append(r)
    return attrs.evolve(evaluation, results=tuple(out)), tuple(demoted)


def _official(setup: YearSetup, policy: Policy, host: PluginHost, city: str) -> str | None:
    """The certified filing of ``city`` that ``policy`` matches; another city's filing is refused (wrong-city)."""
    given = setup.official
    if given is None:
        return None
    trust = load_public_key(given.trust)
    anchors = anchors_for(given.registry, trust, list(given.checkpoints))
    return Registry(given.registry).official(policy, host, trust, anchors, city=city)


def _registered_titles(setup: YearSetup) -> Titles | None:
    """Last year's titles from the registry's register (revoked ones lost), when grading officially."""
    given = setup.official
    if given is None:
        return None
    rows = Registry(given.registry).titles(load_public_key(given.trust), year=setup.year - 1)
    return titles_from_register(rows, setup.year - 1, str(given.registry)) if rows else None


def _grade_city(
    setup: YearSetup,
    method: CityMethod,
    mine: Sequence[str],
    last: Titles | None,
    host: PluginHost,
    province_id: str,
) -> tuple[CityRun, list[Problem], list[RawRecord]]:
    policy = load_policy(method.method, as_of=_year_end(setup.year), host=host)
    official = _official(setup, policy, host, method.city)
    records, problems = _read_city(method)
    ours = [r for r in records if _county(r) in mine]
    strangers = tuple(sorted({_county(r) for r in records if _county(r) not in mine}))
    for county in strangers:
        problems.append(
            Problem(
                tr(
                    "{city} submitted county {county}, which is not on its roster for {year}; it is not graded",
                    city=city_label(method.city),
                    county=county,
                    year=setup.year,
                ),
                Location(str(method.data[0])),
                tr("each city grades only its own counties on the roster"),
                Code.NOT_ON_ROSTER,
            )
        )
    evaluation = attrs.evolve(compile_policy(policy, host).evaluate(ours), official=official)
    evaluation, demoted = _apply_from_pass(evaluation, last)
    submitted = {_county(r) for r in ours}
    missing = tuple(c for c in mine if c not in submitted)
    baseline = policy.id == province_id
    return CityRun(method.city, policy, evaluation, missing, strangers, baseline, demoted), problems, ours


def _parts(policy: Policy, records: Sequence[RawRecord]) -> dict[str, dict[str, Value]]:
    """Each county's figures that a ratio of totals adds up (read from its record, not graded)."""
    fields = {f for t in policy.targets.values() if t.metric == "ratio_of_totals" for f in (t.input, t.per) if f}
    out: dict[str, dict[str, Value]] = {}
    for record in records:
        for field in fields:
            raw = record.values.get(field)
            try:
                value = None if raw is None or raw == "" else as_decimal(str(raw))
            except (TypeError, ValueError):
                value = None
            if value is not None:
                out.setdefault(_county(record), {})[field] = value
    return out


def _missing_problems(runs: Sequence[CityRun], expected: Mapping[str, str], roster: Roster, year: int) -> list[Problem]:
    problems = []
    for run in runs:
        for county in run.missing:
            problems.append(
                Problem(
                    tr(
                        "{name} ({county}) is on {city}'s roster for {year} but not in "
                        "its data; it counts in the pass coverage as not passing",
                        name=roster.name(county) or county,
                        county=county,
                        city=run.label,
                        year=year,
                    ),
                    Location(roster.file),
                    tr("the city submits every county on its roster"),
                    Code.NOT_SUBMITTED,
                )
            )
    return problems


def _register(
    year: int, runs: Sequence[CityRun], expected: Mapping[str, str], roster: Roster, last: Titles | None
) -> Titles:
    results = {r.county: (r, run.method) for run in runs for r in run.evaluation.results}
    entries: dict[str, Title] = {}
    for county, city in expected.items():
        found = results.get(county)
        before = last.entries.get(county) if last is not None else None
        grade = found[0].grade if found else None
        change = change_of(before.grade if before else None, grade) if found else "missing"
        entries[county] = Title(
            county,
            roster.name(county),
            city,
            grade,
            found[0].score if found else None,
            f"{found[1].id} {found[1].version}" if found else None,
            change,
        )
    return Titles(year, entries)


def run_year(
    setup: YearSetup,
    *,
    host: PluginHost | None = None,
    last_year: Titles | None = None,
) -> YearResult:
    """Grade each city's counties under its own method, combine them and judge the province's targets.

    ``last_year`` is last year's register of titles (default: the setup's ``last_year`` file);
    it feeds ``good_from_last_pass`` and ``from_pass: last_year`` and the title changes. With the
    setup's ``official`` registry each city's method must match a certified filing.
    """
    host = host or make_plugin_host()
    roster = read_roster(setup.roster)
    expected = roster.for_year(setup.year, pilots_only=setup.pilots_only)
    province = load_policy(setup.province, as_of=_year_end(setup.year), host=host)
    if last_year is not None:
        last: Titles | None = last_year
    elif setup.last_year:
        last = read_titles(setup.last_year)
    else:
        last = _registered_titles(setup)
    runs: list[CityRun] = []
    problems: list[Problem] = []
    records: list[RawRecord] = []
    for city in sorted(set(expected.values()) | set(setup.cities)):
        mine = [c for c, at in expected.items() if at == city]
        method = setup.cities.get(city)
        if method is None:
            if mine:
                problems.append(
                    Problem(
                        tr(
                            "{city} handed in nothing for {year}; its {count} counties count as missing",
                            city=city_label(city),
                            year=setup.year,
                            count=len(mine),
                        ),
                        Location(setup.file, path=f"cities.{city}"),
                        tr("add the city's method and data to the setup"),
                        Code.NOT_SUBMITTED,
                    )
                )
            continue
        try:
            run, found, ours = _grade_city(setup, method, mine, last, host, province.id)
        except FinecoError as exc:
            problems.extend(exc.problems)
            continue
        runs.append(run)
        problems.extend(found)
        records.extend(ours)
    problems.extend(_missing_problems(runs, expected, roster, setup.year))
    summary = summarize(
        [run.evaluation for run in runs],
        last.last_year() if last is not None else None,
        targets=province,
        roster=expected,
        year=setup.year,
        parts=_parts(province, records),
        cities={e.city for e in roster.entries.values()},
    )
    titles = _register(setup.year, runs, expected, roster, last)
    official = setup.official is not None and all(run.evaluation.official for run in runs)
    return YearResult(setup.year, province, roster, expected, tuple(runs), summary, titles, tuple(problems), official)
