"""The provincial report of a year (Markdown) and the publication list, in the language of the run.

Every word goes through the catalogue (:func:`~fineco_rules.errors.tr`); labels from the policies and the
roster are shown in the same language (``label.get(lang)``). Chinese is the default of the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from fineco_rules.analysis._targets import AreaSummary, TargetResult, city_label, shown_figure
from fineco_rules.errors import Lang, Msg, join, tr, trc
from fineco_rules.policy._model import Policy
from fineco_rules.policy._provenance import provenance, provenance_lines
from fineco_rules.province._year import YearResult

__all__ = ["render_publication", "render_report"]

_STATUS: Final = {
    "met": trc("year report: target", "met"),
    "not_met": trc("year report: target", "not met"),
    "progress": tr("progress (judged at the phase's end)"),
    "unknown": trc("year report: target", "cannot be computed"),
}
_CHANGE: Final = {
    "new": trc("year report: title change", "new"),
    "kept": trc("year report: title change", "kept"),
    "raised": trc("year report: title change", "raised"),
    "lowered": trc("year report: title change", "lowered"),
    "lost": trc("year report: title change", "lost"),
    "missing": trc("year report: title change", "not submitted"),
}
_TITLE: Final = {"good": trc("year report: title", "good"), "pass": trc("year report: title", "pass")}
_VERDICT: Final = {
    True: trc("year report", "every target is met"),
    False: trc("year report", "some targets are not met"),
    None: tr("some targets cannot be decided yet"),
}
#: The comparison of a target line, as a Chinese reader writes it (≥ 70%); English keeps the policy's operator.
_OP_ZH: Final = {">=": "≥", "<=": "≤", "==": "="}
_COLON: Final = {"zh": "：", "en": ": "}


def _pct(value: Decimal | None, lang: Lang) -> str:
    """A share as a percentage to one decimal (the exact figure is in summary.json)."""
    if value is None:
        return "—"
    shown = (value * 100).quantize(Decimal("0.1"))
    return f"{shown}%" if lang == "zh" else f"{shown} %"


def _row(cells: Sequence[object], lang: Lang) -> str:
    return "| " + " | ".join(c.render(lang) if isinstance(c, Msg) else str(c) for c in cells) + " |"


def _head(cells: Sequence[Msg], lang: Lang) -> list[str]:
    return [_row(cells, lang), "| " + " | ".join("---" for _ in cells) + " |"]


def _target_line(t: TargetResult, lang: Lang) -> str:
    op = _OP_ZH.get(t.target.op, t.target.op) if lang == "zh" else t.target.op
    unit = "%" if lang == "zh" else " %"
    threshold = f"{op} {shown_figure(t.target.value * 100)}{unit}"
    parts = f"{t.numerator}/{t.denominator}" if t.target.metric != "ratio_of_totals" else "Σ/Σ"
    figure = f"{_pct(t.figure, lang)}（{parts}）" if lang == "zh" else f"{_pct(t.figure, lang)} ({parts})"
    return _row([t.target.label.get(lang), figure, threshold, _STATUS[t.status]], lang)


def _area_lines(area: AreaSummary, scopes: frozenset[str], lang: Lang) -> list[str]:
    rows = [t for t in area.targets if t.target.scope in scopes]
    if not rows:
        return []
    head = [
        trc("year report", "target"),
        trc("year report", "figure"),
        trc("year report", "required"),
        trc("year report", "verdict"),
    ]
    return [f"#### {area.label.get(lang)}", "", *_head(head, lang), *(_target_line(t, lang) for t in rows), ""]


def _method(policy: Policy, lang: Lang, *, bold: bool = True) -> str:
    label = f"**{policy.label.get(lang)}**" if bold else policy.label.get(lang)
    return f"{label} ({policy.id} {policy.version})"


def _assumption_lines(methods: Sequence[Policy], lang: Lang) -> list[str]:
    out = [
        "## " + tr("Which rules are the source's and which are assumptions").render(lang),
        "",
        tr(
            "The target figures are the source's (the 2007 Implementation Opinion); every number a method uses "
            "that the source does not give is an assumption of that method, listed below as the method declares it."
        ).render(lang),
        "",
    ]
    for policy in methods:
        out.append(f"- {_method(policy, lang)}")
        if not policy.assumptions:
            out.append("  - " + tr("declares no assumptions").render(lang))
        for key, label in policy.assumptions.items():
            out.append(f"  - `{key}`{_COLON[lang]}{label.get(lang)}")
    return [*out, ""]


def _provenance_lines(province: Policy, methods: Sequence[Policy], lang: Lang) -> list[str]:
    """Which rules come from the source (with the clause) and which are assumptions: the provincial file's in
    full, then each city method's own rules (those resting on an assumption the province lacks)."""
    out = ["## " + tr("Where the rules come from").render(lang), "", f"### {_method(province, lang, bold=False)}"]
    out += ["", *(line.replace("  · ", "- ", 1) for line in provenance_lines(province, lang))]
    own = [m for m in methods if m.id != province.id]
    if own:
        out += ["", "### " + tr("Each city method's own rules").render(lang), ""]
    for method in own:
        rules = [r for r in provenance(method) if r.basis and r.basis.assumption not in (None, *province.assumptions)]
        out.append(f"- {_method(method, lang)}")
        out += [f"  - {r.text(lang)}" for r in rules] or ["  - " + tr("no rule of its own").render(lang)]
    return [*out, ""]


def _city_lines(result: YearResult, lang: Lang) -> list[str]:
    head = [
        trc("year report", "city"),
        trc("year report", "method"),
        trc("year report", "on the roster"),
        trc("year report", "graded"),
        trc("year report", "missing"),
        trc("year report: title", "good"),
        trc("year report: title", "pass"),
        trc("year report: title", "fail"),
        trc("year report", "pass coverage"),
    ]
    lines = _head(head, lang)
    for run in result.runs:
        counts = result.summary.city(run.city).counts
        on_roster = sum(1 for c in result.expected.values() if c == run.city)
        passing = counts.get("good", 0) + counts.get("pass", 0)
        coverage = _pct(Decimal(passing) / on_roster, lang) if on_roster else "—"
        method = run.method.label.get(lang) + (
            tr(" (provincial baseline, example)").render(lang) if run.baseline else ""
        )
        cells = [run.label.get(lang), method, on_roster, counts["counties"], len(run.missing)]
        lines.append(
            _row([*cells, counts.get("good", 0), counts.get("pass", 0), counts.get("fail", 0), coverage], lang)
        )
    demoted = [(run.label, c) for run in result.runs for c in run.demoted]
    if demoted:
        names = [tr("{county} ({city})", county=result.roster.name(c) or c, city=city) for city, c in demoted]
        lines += [
            "",
            tr(
                "Good needs last year's pass as well; these counties are rated pass: {counties}", counties=join(names)
            ).render(lang),
        ]
    return lines


def _title_lines(result: YearResult, lang: Lang) -> list[str]:
    head = [
        trc("year report", "county"),
        trc("year report", "city"),
        trc("year report", "title"),
        trc("year report", "change"),
    ]
    lines = _head(head, lang)
    changes = [t for t in result.titles.entries.values() if t.change in _CHANGE]
    for t in sorted(changes, key=lambda t: (t.city, t.county)):
        title = _TITLE.get(t.title.value if t.title else "", "—")
        name = f"{t.name or t.county} ({t.county})"
        lines.append(_row([name, city_label(t.city).get(lang), title, _CHANGE[t.change]], lang))
    return lines


def render_report(result: YearResult, lang: Lang = "zh") -> str:
    """The provincial report in ``lang``: each city's method and grades, the targets where judged, the titles."""
    s = result.summary
    grading = (
        tr("official (checked against a certified filing)")
        if result.official
        else tr("unofficial (not checked against a certified filing)")
    )
    province = result.province
    lines = [
        "# " + tr("Jiangsu financial ecology county assessment: report {year}", year=result.year).render(lang),
        "",
        "- " + tr("Provincial method: {method}", method=_method(province, lang, bold=False)).render(lang),
        "- " + tr("Grading: {grading}", grading=grading).render(lang),
        "- " + tr("Counties on the roster: {n}", n=len(result.expected)).render(lang),
        "",
        "## " + trc("year report", "Cities").render(lang),
        "",
        *_city_lines(result, lang),
        "",
        "## " + trc("year report", "Targets").render(lang),
        "",
        "### " + trc("year report", "Province-wide").render(lang),
        "",
        *_area_lines(s.province, frozenset({"province", "both"}), lang),
    ]
    city_lines = [line for area in s.cities for line in _area_lines(area, frozenset({"city", "both"}), lang)]
    if city_lines:
        lines += ["### " + trc("year report", "Per city").render(lang), "", *city_lines]
    lines += [
        tr("Overall: **{verdict}**", verdict=_VERDICT[s.met]).render(lang),
        "",
        "## " + tr("Titles (dynamic management)").render(lang),
        "",
        *_title_lines(result, lang),
    ]
    methods = list({id(r.method): r.method for r in result.runs}.values())
    lines += ["", *_provenance_lines(province, methods, lang), *_assumption_lines([province, *methods], lang)]
    if result.problems:
        lines += [
            "## " + trc("year report", "Problems").render(lang),
            "",
            *(f"- {p.render(lang)}" for p in result.problems),
            "",
        ]
    return "\n".join(lines)


def render_publication(result: YearResult, lang: Lang = "zh") -> str:
    """对外公布: the counties named 达标/良好 by city, with the method each was graded under (Markdown)."""
    data = result.publication()
    lines = ["# " + tr("Financial ecology counties of Jiangsu {year} (example)", year=result.year).render(lang), ""]
    for city in data["cities"]:
        named = city["counties"]
        if not named:
            continue
        lines.append(f"## {city['label'][lang]}")
        for county in named:
            line = tr(
                "{county}: {title} ({method})",
                county=county["name"],
                title=_TITLE["good" if county["title"] == "good" else "pass"],
                method=county["method"]["label"][lang],
            )
            lines.append(f"- {line.render(lang)}")
        lines.append("")
    return "\n".join(lines)
