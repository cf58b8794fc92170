"""The province-wide commands of ``fineco``: summary, diff, sensitivity, report, and the gap that explain shows."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.analysis._sensitivity import factor_label, sensitivity
from fineco_rules.analysis._targets import (
    LastYear,
    Summary,
    TargetResult,
    city_label,
    read_last_year,
    shown_figure,
    summarize,
)
from fineco_rules.cli import _common as cli
from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._results import Evaluation
from fineco_rules.errors import Code, FinecoError, Location, Problem, Severity, pct, tr, trc
from fineco_rules.governance._names import CITIES, known_city, same_city
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._provenance import provenance_lines
from fineco_rules.report._report import make_report
from fineco_rules.scoring._host import PluginHost
from fineco_rules.scoring._scorer import Label

__all__ = ["COMMANDS", "add_commands"]


@attrs.frozen
class _Batch:
    compiled: CompiledPolicy
    records: list[RawRecord]
    evaluation: Evaluation
    problems: list[Problem]


def _batch(args: argparse.Namespace, host: PluginHost, policy_path: str) -> _Batch:
    compiled = compile_policy(load_policy(policy_path, as_of=args.as_of, host=host), host)
    records, problems = cli.records_with_tables(args.data, args.table, True, compiled.policy)
    records = _in_city(args, records)
    return _Batch(compiled, records, compiled.evaluate(records), problems)


def _city(args: argparse.Namespace) -> str | None:
    """``--city``, checked: a prefecture city of the province (an unknown code is a usage error, exit 2)."""
    city: str | None = getattr(args, "city", None)
    if city is None:
        return None
    try:
        return known_city(city)
    except FinecoError as exc:
        first = exc.problems[0]
        raise cli.UsageError(
            cli.tr("--city {city}: {problem}; {hint}", city=city, problem=first.message, hint=first.hint)
        ) from None


def _in_city(args: argparse.Namespace, records: list[RawRecord]) -> list[RawRecord]:
    """The records of ``--city``'s counties (the first four digits of the GB/T 2260 code), or all of them."""
    city = _city(args)
    if city is None:
        return records
    kept = [r for r in records if same_city(r.values.get("county", ""), city)]
    if not kept:
        raise cli.UsageError(
            cli.tr("--city {city}: no county of this city in the data (counties match on 4 digits)", city=city)
        )
    return kept


def _city_cut(args: argparse.Namespace) -> list[str] | None:
    """The cities a summary is computed for: ``--city`` alone, or ``--cities``."""
    city = _city(args)
    return [city] if city else _cities(args)


def _last_year(args: argparse.Namespace) -> LastYear | None:
    return read_last_year(args.last_year) if args.last_year else None


def _cities(args: argparse.Namespace) -> list[str] | None:
    return [c.strip() for c in args.cities.split(",") if c.strip()] if args.cities else None


def _emit(args: argparse.Namespace, text: str) -> None:
    cli.write_text(args.output, text)


def _notes(problems: Sequence[Problem]) -> None:
    cli.print_problems([p for p in problems if p.severity is Severity.NOTE])


def _hard(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is not Severity.NOTE and p.code is not Code.NO_RECORDS]


def _check_read(problems: Sequence[Problem]) -> None:
    """Stop on a file that could not be read: figures over part of the data would mislead."""
    hard = _hard(problems)
    if hard:
        raise FinecoError(hard)
    _notes(problems)


# -- explain ----------------------------------------------------------------------------------


# -- summary ------------------------------------------------------------------------------------


#: The summary's words (English as written here, Chinese from the catalogue).
_SUMMARY: Final = {
    "province": cli.tr("province"),
    "target": cli.tr("target"),
    "figure": cli.tr("figure"),
    "required": cli.tr("required"),
    "met": cli.tr("met"),
    "basis": cli.tr("counted"),
    "city": trc("summary", "city"),
    "code": cli.tr("code"),
    "good": trc("summary", "good"),
    "pass": trc("summary", "pass"),
    "fail": trc("summary", "fail"),
    "not_graded": cli.tr("not graded"),
    "title": cli.tr("{label} ({id} {version})"),
    "area": cli.tr("{area}: {counts}"),
    "place": cli.tr("{city} ({code})"),
    "counts": cli.tr("good {good}, pass {pass}, fail {fail}, not graded {not_graded} ({counties} counties)"),
    "yes": cli.tr("✓ met"),
    "no": cli.tr("✗ not met"),
    "unknown": cli.tr("? cannot be computed"),
    "progress": cli.tr("… progress"),
    "progress_verdict": cli.tr("verdict: the phase's targets are judged in its last year; this year shows progress"),
    "all": cli.tr("verdict: every target is met"),
    "some": cli.tr("verdict: some targets are not met"),
    "open": cli.tr("verdict: some targets cannot be computed"),
    "flags": cli.tr("To note:"),
    "flag": cli.tr("  {where}: {target} is {figure}, required {required}"),
    "legend": cli.tr("key: ✓ met, ✗ not met, ? cannot be computed (e.g. no last year's results), — no figure"),
}


def _words(lang: str) -> dict[str, str]:
    """The summary's words in ``lang``; templates with values are filled by the caller."""
    return {key: text.render(lang) for key, text in _SUMMARY.items()}


def _figure(target: TargetResult) -> str:
    if target.figure is None:
        return "—"
    if target.target.metric in ("counties_per_city", "input_mean"):
        return format(shown_figure(target.figure), "f")
    return f"{format((shown_figure(target.figure) * 100).quantize(Decimal('0.01')), 'f')} %"


def _required(target: TargetResult) -> str:
    value = target.target.value
    if target.target.metric in ("counties_per_city", "input_mean"):
        return f"{target.target.op} {value}"
    return f"{target.target.op} {format((value * 100).quantize(Decimal('0.01')), 'f')} %"


def _basis(target: TargetResult) -> str:
    if target.denominator is None:
        return str(len(target.counties))
    if target.target.metric == "input_mean":
        return f"n={target.denominator}"
    return f"{target.numerator}/{target.denominator}"


def _mark(target: TargetResult, w: dict[str, str]) -> str:
    """达到 / 未达到 / 无法计算, or 阶段进度 for a phase-end target before the phase's last year."""
    if target.status == "progress":
        return w["progress"]
    return w["yes"] if target.met else w["unknown"] if target.met is None else w["no"]


def summary_text(summary: Summary, lang: str, city: str | None = None, rules: Sequence[str] = ()) -> str:
    """The summary as plain text tables; with ``city``, headed with that city and its targets; ``rules`` (where
    each rule comes from) go before the verdict."""
    w = _words(lang)
    policy = summary.policy
    area = summary.city(city) if city else summary.province
    lines = [w["title"].format(label=policy.label.get(lang), id=policy.id, version=policy.version)]
    where = area.label.get(lang) if city else w["province"]
    lines.append(w["area"].format(area=where, counts=w["counts"].format(**area.counts)))
    rows = [
        [
            t.target.label.get(lang),
            _figure(t),
            _required(t),
            _mark(t, w),
            _basis(t),
        ]
        for t in area.targets
    ]
    text = "\n".join(lines) + "\n"
    if rows:
        text += cli.render_table([w["target"], w["figure"], w["required"], w["met"], w["basis"]], rows)
    ids = list(dict.fromkeys(t.target.id for area in summary.cities for t in area.targets))
    labels = {t.target.id: t.target.label.get(lang) for area in summary.cities for t in area.targets}
    levels = [w["good"], w["pass"], w["fail"], w["not_graded"]]
    head = [w["city"], w["code"], *levels, *(labels[i] for i in ids)]
    table = []
    for area in summary.cities:
        found = {t.target.id: t for t in area.targets}
        marks = []
        for i in ids:
            t = found.get(i)
            marks.append("" if t is None else f"{_figure(t)} {_mark(t, w).split()[0]}")
        c = area.counts
        table.append(
            [
                area.label.get(lang),
                area.area,
                str(c["good"]),
                str(c["pass"]),
                str(c["fail"]),
                str(c["not_graded"]),
                *marks,
            ]
        )
    text += "\n" + cli.render_table(head, table)
    text += w["legend"] + "\n"
    if summary.flags:
        text += "\n" + w["flags"] + "\n"
        for flag in summary.flags:
            text += (
                w["flag"].format(
                    where=w["province"]
                    if flag.area == summary.province.area
                    else w["place"].format(city=city_label(flag.area).get(lang), code=flag.area),
                    target=flag.target.label.get(lang),
                    figure=_figure(flag),
                    required=_required(flag),
                )
                + "\n"
            )
    verdict = w["all"] if summary.met else w["open"] if summary.met is None else w["some"]
    progress = [t for area in (summary.province, *summary.cities) for t in area.targets if t.status == "progress"]
    if summary.met is None and progress:
        verdict = w["progress_verdict"]
    if rules:
        text += "\n" + "".join(f"{line}\n" for line in rules)
    return text + "\n" + verdict + "\n"


def _cmd_summary(args: argparse.Namespace, host: PluginHost) -> int:
    if args.year is not None and args.as_of is None:  # the version in force at the year's end
        args.as_of = datetime.date(args.year, 12, 31)
    batch = _batch(args, host, args.policy)
    _check_read(batch.problems)
    summary = summarize(batch.evaluation, _last_year(args), cities=_city_cut(args), year=args.year)
    if args.format == "json":
        _emit(args, dumps(summary.to_dict()) + "\n")
    else:
        rules = provenance_lines(batch.evaluation.policy, args.lang)
        _emit(args, summary_text(summary, args.lang, _city(args), rules))
    return cli.EXIT_OK


# -- diff -----------------------------------------------------------------------------------------


def _cmd_diff(args: argparse.Namespace, host: PluginHost) -> int:
    from fineco_rules.analysis._diff import change_zh, diff_policies, reason_zh

    old = compile_policy(load_policy(args.old, as_of=args.as_of, host=host), host)
    new = compile_policy(load_policy(args.new, as_of=args.as_of, host=host), host)
    records, problems = cli.records_with_tables(args.data, args.table, True, new.policy)
    _check_read(problems)
    city = _city(args)
    diff = diff_policies(old, new, _in_city(args, records))
    if args.format == "json":
        _emit(args, dumps(diff.to_dict()) + "\n")
        return cli.EXIT_OK
    lang = args.lang
    zh = lang == "zh"
    out = [f"{diff.old.id} {diff.old.version} → {diff.new.id} {diff.new.version}"]
    if city:
        out.append(tr("city {code} ({name})", code=city, name=CITIES[city]).render(lang))
    out.append(tr("What changed:").render(lang))
    if not diff.changes:
        out.append(tr("  (nothing)").render(lang))
    for change in diff.changes:
        if zh:
            out.append(change_zh(change, diff))
            continue
        where = change.new_origin or change.old_origin
        old_value, new_value = _show(change.old), _show(change.new)
        out.append(f"  {change.kind:8} {change.where}: {old_value} → {new_value}  [{where}]")
    moved = diff.counties
    out.append(
        tr("Counties whose grade changes: {moved} of {compared}", moved=len(moved), compared=diff.compared).render(lang)
    )
    for county in moved:
        grade = "—" if county.old_grade is None else county.old_grade.label.get(lang)
        now = "—" if county.new_grade is None else county.new_grade.label.get(lang)
        scores = f"{_show(county.old_score)} → {_show(county.new_score)}"
        line = tr(
            "  {county} {name}: {grade} → {now} ({scores})",
            county=county.county,
            name=county.name or "",
            grade=grade,
            now=now,
            scores=scores,
        )
        out.append(line.render(lang))
        for reason in county.reasons:
            out.append(f"    · {reason_zh(reason, diff) if zh else _reason(reason)}")
    _emit(args, "\n".join(out) + "\n")
    return cli.EXIT_OK


def _target_figure(value: Decimal | None, target: Any, lang: str) -> str:
    """A target's figure in the sensitivity table: a share as a percentage in Chinese (57.69%)."""
    if value is None:
        return "—"
    if lang == "zh" and target is not None and target.metric not in ("counties_per_city", "input_mean"):
        return f"{format((shown_figure(value) * 100).quantize(Decimal('0.01')), 'f')}%"
    return _show(shown_figure(value))


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "zh") and hasattr(value, "en"):
        return f"{value.zh} / {value.en}"
    return str(value)


def _reason(reason: Any) -> str:
    """Why a county's grade moved, in English by the policy's names (Chinese: :func:`reason_zh`)."""
    if reason.kind == "indicator":
        return f"indicator {reason.id}: {_show(reason.old)} → {_show(reason.new)}"
    if reason.kind == "graded":
        return f"graded: {_show(reason.old)} → {_show(reason.new)}"
    mark = {True: "✓", False: "✗", None: "?"}
    where = f"{reason.grade}.{reason.id}" if reason.grade else reason.id
    return f"{where}: {_show(reason.old)} {mark[reason.old_met]} → {_show(reason.new)} {mark[reason.new_met]}" + (
        f" ({_show(reason.old_threshold)} → {_show(reason.new_threshold)})"
        if reason.old_threshold != reason.new_threshold
        else ""
    )


# -- sensitivity ------------------------------------------------------------------------------


def _cmd_sensitivity(args: argparse.Namespace, host: PluginHost) -> int:
    policy = load_policy(args.policy, as_of=args.as_of, host=host)
    records, problems = cli.records_with_tables(args.data, args.table, True, policy)
    _check_read(problems)
    records = _in_city(args, records)
    result = sensitivity(
        policy,
        records,
        runs=args.runs,
        seed=args.seed,
        weights=args.weights,
        thresholds=args.thresholds,
        last_year=_last_year(args),
        host=host,
    )
    if args.format == "json":
        _emit(args, dumps(result.to_dict()) + "\n")
        return cli.EXIT_OK
    lang = args.lang
    head = [text.render(lang) for text in _SENSITIVITY_HEAD]
    rows = []
    for c in sorted(result.counties, key=lambda c: (-c.changed, c.county)):
        rows.append(
            [
                c.county,
                c.name or "",
                "—" if c.grade is None else c.grade.label.get(args.lang),
                f"{format((c.changed * 100).quantize(Decimal('0.1')), 'f')} %",
                f"{_show(c.score_low)}–{_show(c.score_high)}",
                factor_label(c.driver, policy, args.lang) if c.driver else "",
            ]
        )
    city = _city(args)
    where = "" if city is None else tr("city {code}, ", code=_place(city))
    title = tr(
        "{id} {version}: {where}{runs} runs, seed {seed}, weights ±{weights}, thresholds ±{thresholds}; "
        "the most fragile counties first",
        id=policy.id,
        version=policy.version,
        where=where,
        runs=result.runs,
        seed=result.seed,
        weights=pct(args.weights),
        thresholds=pct(args.thresholds),
    )
    text = title.render(lang) + "\n" + cli.render_table(head, rows)
    if result.targets:
        head = [text.render(lang) for text in _TARGET_HEAD]
        table = [
            [
                _target_name(policy, t.id, lang),
                *(_target_figure(v, policy.targets.get(t.id), lang) for v in (t.nominal, t.low, t.high)),
                f"{format((t.met * 100).quantize(Decimal('0.1')), 'f')} %",
            ]
            for t in result.targets
        ]
        text += "\n" + cli.render_table(head, table)
    _emit(args, text)
    return cli.EXIT_OK


#: The sensitivity tables' headers.
_SENSITIVITY_HEAD: Final = (
    trc("sensitivity", "county"),
    trc("sensitivity", "name"),
    tr("grade"),
    trc("sensitivity", "changed"),
    tr("score range"),
    tr("moved most by"),
)
_TARGET_HEAD: Final = (tr("target"), tr("nominal"), trc("sensitivity", "low"), trc("sensitivity", "high"), tr("met in"))


def _target_name(policy: Any, target: str, lang: str) -> str:
    """A target in the sensitivity table: by its label in Chinese, by its id in English (as before)."""
    if lang == "zh" and target in policy.targets:
        return str(policy.targets[target].label.zh)
    return target


def _place(code: str) -> Label:
    """A prefecture city as a value of a message: ``苏州市（320500）`` in Chinese, its code in English."""
    return Label(_SUMMARY["place"].render("zh").format(city=CITIES[code], code=code), code)


# -- report ---------------------------------------------------------------------------------------

_FORMATS: Final = (".html", ".xlsx", ".csv", ".json")


def _cmd_report(args: argparse.Namespace, host: PluginHost) -> int:
    bad = [o for o in args.output if Path(o).suffix.lower() not in _FORMATS]
    if bad:
        raise cli.UsageError(
            cli.tr(
                "cannot tell the format of {name!r}: end the name with {suffixes}",
                name=bad[0],
                suffixes=cli.join(_FORMATS),
            )
        )
    if args.official and not (args.registry and args.trust):
        raise cli.UsageError(cli.tr("--official needs --registry DIR and --trust PUBLIC_KEY"))
    city = _city(args)
    _refuse_results(args.data)
    done = cli.graded(args, host, True)
    _check_read(done.problems)
    policy = done.evaluation.policy
    report = make_report(
        done.compiled,
        done.records,
        last_year=_last_year(args),
        evaluation=done.evaluation,
        cities=_city_cut(args),
        city=city,
        year=args.as_of.year if args.as_of else policy.effective_from.year,
    )
    for name in args.output:
        path = Path(name)
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            _write_bytes(path, report.xlsx(args.lang))
        else:
            text = {".html": report.html, ".csv": report.csv}.get(suffix, lambda lang: report.json())(args.lang)
            if suffix == ".csv" and args.lang == "zh":
                text = "\ufeff" + text  # Excel on Chinese Windows reads a CSV without a BOM as GBK
            write_atomic(path, text)
        if not args.quiet:
            print(cli.tr("wrote {path}", path=path), file=sys.stderr)
    return cli.EXIT_OK


def _write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def _refuse_results(paths: Sequence[str]) -> None:
    """Refuse the JSON that ``fineco evaluate`` writes: a report grades the data itself (officially with --official)."""
    for path in paths:
        if not path.lower().endswith(".json"):
            continue
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue  # the reader says what is wrong with it
        if isinstance(data, dict) and "records" not in data and "results" in data:
            raise FinecoError(
                Problem(
                    cli.tr("this is the output of `fineco evaluate` (graded results), not records to grade"),
                    Location(path),
                    cli.tr(
                        "a report grades the data itself: give the data file that was graded (CSV, XLSX, or JSON "
                        "with a 'records' key), with --official --city CODE --registry DIR --trust KEY for the "
                        "official city report; give last year's results with --last-year"
                    ),
                    Code.RESULTS_NOT_DATA,
                )
            )


# -- wiring ----------------------------------------------------------------------------------------


def _spread(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(
            str(cli.tr("expected a number such as 0.2, found {text!r}", text=text))
        ) from None
    if not value.is_finite() or not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            str(cli.tr("a spread is between 0 and 1 (0.2 means ±20 %), found {text}", text=text))
        )
    return value


def add_commands(sub: Any) -> None:
    """Add summary, diff, sensitivity and report to the ``fineco`` parser."""

    def common(p: argparse.ArgumentParser, *, last: bool = True) -> None:
        p.add_argument("data", nargs="+", metavar="DATA", help="CSV, JSON, YAML or XLSX record files")
        cli.table_arg(p)
        if last:
            p.add_argument(
                "--last-year", metavar="RESULTS_JSON", help="last year's results, written by `evaluate --format json`"
            )
        p.add_argument("--lang", choices=["zh", "en"])

    def output(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=["table", "json"], default="table")
        p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")

    def city(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--city",
            metavar="CODE",
            help="only this prefecture city's counties (first 4 digits of the code), headed with the city",
        )

    p = sub.add_parser("summary", help="the policy's targets over the results, province-wide and per city")
    cli.policy_args(p)
    common(p)
    p.add_argument("--cities", metavar="CODES", help="the prefecture cities that exist, comma-separated")
    city(p)
    p.add_argument(
        "--year",
        type=int,
        metavar="YEAR",
        help="the assessment year: a phase-end target shows progress before its phase's last year "
        "(default --as-of: that year's 31 December)",
    )
    output(p)

    p = sub.add_parser("diff", help="what changed between two policy versions, and whose grade it changes")
    p.add_argument("old", metavar="OLD", help="the policy in force")
    p.add_argument("new", metavar="NEW", help="the policy to compare with it")
    p.add_argument("--as-of", type=cli.date, metavar="DATE", help="pick versions in effect on this date (folders)")
    common(p, last=False)
    city(p)
    output(p)

    p = sub.add_parser("sensitivity", help="how often each grade changes when weights (and thresholds) vary")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("--as-of", type=cli.date, metavar="DATE")
    common(p)
    p.add_argument("--runs", type=int, default=256, help="perturbed policies to grade with (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws; the same seed gives the same report")
    p.add_argument(
        "--weights",
        type=_spread,
        default=Decimal("0.2"),
        metavar="SPREAD",
        help="relative spread of weights (default 0.2: ±20 %%)",
    )
    p.add_argument(
        "--thresholds",
        type=_spread,
        default=Decimal(0),
        metavar="SPREAD",
        help="relative spread of grade lines and gates (default 0: fixed)",
    )
    city(p)
    output(p)

    p = sub.add_parser("report", help="write the HTML, XLSX, CSV or JSON report (format from each file's suffix)")
    cli.policy_args(p)
    cli.plugin_arg(p)
    common(p)
    p.add_argument("--cities", metavar="CODES", help="the prefecture cities that exist, comma-separated")
    city(p)
    p.add_argument(
        "--official",
        action="store_true",
        help="grade officially, as `evaluate --official` does (needs --city, --registry and --trust); the report "
        "is marked official with the filing id",
    )
    p.add_argument("--registry", metavar="DIR", help="the filing registry (with --official)")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="the province's public key (with --official)")
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a checkpoint of the registry's log kept elsewhere; the log must hold it (with --official)",
    )
    p.add_argument(
        "-o", "--output", action="append", required=True, metavar="FILE", help="report.html, .xlsx, .csv or .json"
    )
    p.add_argument("-q", "--quiet", action="store_true")


COMMANDS: Final = {
    "summary": _cmd_summary,
    "diff": _cmd_diff,
    "sensitivity": _cmd_sensitivity,
    "report": _cmd_report,
}
