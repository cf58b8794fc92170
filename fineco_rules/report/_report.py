"""Reports people read: one offline HTML file with charts, an XLSX workbook, and CSV and JSON for machines.

Every output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from fineco_rules.analysis._explain import step_text
from fineco_rules.analysis._gap import Gap, Step, find_gaps
from fineco_rules.analysis._targets import (
    LastYear,
    PastResult,
    Summary,
    TargetResult,
    city_label,
    shown_figure,
    summarize,
)
from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import raw_from_mapping
from fineco_rules.engine._results import CountyResult, Evaluation, jsonable
from fineco_rules.errors import render, tr, trc
from fineco_rules.io._json import dumps
from fineco_rules.io._readers import RawRecord
from fineco_rules.io._sheet import csv_writer, safe_sheet
from fineco_rules.policy._model import Grade, Policy
from fineco_rules.scoring._host import PluginHost
from fineco_rules.scoring._scorer import Label

__all__ = ["CountyRow", "Report", "make_report"]

#: Stamped into the workbook so that it is the same file every time.
_FIXED_TIME: Final = dt.datetime(2000, 1, 1)
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
_COLORS: Final = {"good": "#2e7d32", "pass": "#1565c0", "fail": "#c62828", "not_graded": "#9e9e9e"}
#: Options per county in the reports' gap lists (the JSON keeps them all).
_OPTIONS_SHOWN: Final = 3

_TEXT: Final = {
    "title": tr("{policy}: assessment report"),
    "title_city": tr("{city}: assessment report {year}"),
    "city_targets": tr("Targets of {city}"),
    "subtitle": tr("Policy {id} version {version}; {n} counties{last}"),
    "last": tr("; last year's results: {id} version {version}, {n} counties"),
    "unofficial": tr("Unofficial: not checked against a certified filing"),
    "official": tr("Official: filing {filing}"),
    "targets": tr("Province-wide targets"),
    "target": tr("target"),
    "figure": tr("figure"),
    "required": tr("required"),
    "met": tr("met"),
    "basis": tr("counted"),
    "yes": trc("target status", "met"),
    "no": tr("not met"),
    "unknown": tr("cannot be computed"),
    "all_met": tr("every target is met"),
    "not_all_met": tr("some targets are not met"),
    "some_unknown": tr("some targets cannot be computed"),
    "flags": tr("To note"),
    "flag": tr("{city}: {target} is {figure}, required {required}"),
    "distribution": tr("Grades by prefecture city"),
    "scores": tr("County scores"),
    "cities": tr("Prefecture cities"),
    "county": tr("county"),
    "code": tr("code"),
    "grade": tr("grade"),
    "score": tr("score"),
    "last_grade": tr("last year"),
    "last_score": tr("last score"),
    "change": tr("change"),
    "gap": tr("to the next grade"),
    # the percent sign is a value: gettext would read "% o" as a conversion
    "profile": tr(
        "Indicator profile of each county (score as {percent} of the maximum)", percent=trc("share of the maximum", "%")
    ),
    "movement": tr("Year-over-year movement"),
    "no_last": tr("Last year's results were not given."),
    "up": tr("up"),
    "down": tr("down"),
    "same": tr("same"),
    "new": tr("no data last year"),
    "gone": tr("not assessed this year"),
    "moves": tr("{up} up, {down} down, {same} same, {new} new, {gone} not assessed this year"),
    "city_table": tr("Each city against the targets"),
    "legend": tr("✓ met, ✗ not met, ? cannot be computed (e.g. no last year's results), — no figure"),
    "lines": tr("vertical lines are grade lines: {lines}"),
    "own_line": tr("this method's {grade} line {value}"),
    "held": tr("Counties above a grade line but not given the grade"),
    "reason": tr("reason"),
    "veto_because": tr("veto: {what}"),
    "gate_because": tr("gate of {grade} not met: {what}"),
    "exact": tr("exact"),
    "searched": tr("searched"),
    "required_kind": trc("gap step", "required"),
    "option_kind": tr("any one"),
    "plan_kind": tr("together"),
    "score_change": tr("Change of the total score (counties assessed both years)"),
    "gaps": tr("Gap list"),
    "gap_head": tr("{name} ({county}): {grade} → {target}, score {score}, {points} short"),
    "blocked": tr("a veto applies: no change of the indicators lifts the grade"),
    "required_step": tr("required: {step}"),
    "enough": tr("these are enough"),
    "option": tr("or: {step}"),
    "plan_step": tr("together: {step}"),
    "internal": tr("{label}: internal figure, not shown"),
    "internal_cell": tr("internal figure, not shown"),
    "nothing": tr("neither one input nor all together is enough"),
    "note": tr("note: {note}"),
    "counts": tr("good {good}, pass {pass}, fail {fail}, not graded {not_graded}"),
    "not_graded": tr("not graded"),
    "veto": tr("veto"),
    "gate": tr("a gate fails"),
    "any": tr("any one of these is enough:"),
    "together": tr("no single input is enough; all of these together are:"),
    "province": tr("province"),
    "footer": tr(
        "Made by fineco-rules. A gap is the least change that lifts a county one grade with "
        "everything else unchanged; 'exact' is a linear solve, 'searched' a search over the input's "
        "range; the engine confirmed each."
    ),
    "sheet_summary": tr("Targets"),
    "sheet_cities": tr("Cities"),
    "sheet_counties": tr("Counties"),
    "sheet_gaps": tr("Gaps"),
    "kind": tr("kind"),
    "input": tr("input"),
    "current": tr("current"),
    "target_value": tr("target value"),
    "method": tr("method"),
    "area": tr("area"),
    "counties": tr("counties"),
}


#: The report CSV's fixed columns: before the indicator scores (8), then after them.
_CSV_HEAD_EN: Final = (
    "county",
    "name",
    "city",
    "grade",
    "score",
    "last_grade",
    "last_score",
    "movement",
    "gap_target",
    "gap_points",
    "gap",
)
_CSV_HEAD_ZH: Final = (
    "县代码",
    "县（市）",
    "省辖市代码",
    "评定",
    "总分",
    "上年评定",
    "上年总分",
    "年度变动",
    "距下一等级",
    "还差分数",
    "差距",
)


@functools.cache
def _text(lang: str) -> dict[str, str]:
    """The report's words in ``lang`` (from the catalogue; English as written here)."""
    which: Literal["zh", "en"] = "zh" if lang == "zh" else "en"
    return {key: text.get(which) if isinstance(text, Label) else render(text, which) for key, text in _TEXT.items()}


@attrs.frozen
class CountyRow:
    """One county in the report: this year's result, last year's, and its gap."""

    result: CountyResult
    last: PastResult | None
    movement: Literal["up", "down", "same", "new"]
    gap: Gap | None


@attrs.frozen(eq=False)
class Report:
    """Everything a report shows, computed once; :meth:`html`, :meth:`xlsx`, :meth:`csv` and :meth:`json` render it."""

    evaluation: Evaluation
    summary: Summary
    rows: tuple[CountyRow, ...]
    gone: tuple[PastResult, ...]
    #: The prefecture city a report is cut to (its counties only, headed with it and its targets), or None.
    city: str | None = None
    #: The year assessed, shown in a city report's heading.
    year: int | None = None

    @property
    def policy(self) -> Policy:
        return self.evaluation.policy

    # -- machines -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report's content as plain JSON types: the summary, and one entry per county."""
        indicators = list(self.policy.indicators)
        counties = []
        for row in self.rows:
            r = row.result
            # A nested policy's groups (sub-indices) are reported too; flat reports keep their shape.
            groups = {"groups": {g: jsonable(v) for g, v in r.groups.items()}} if self.nested_groups else {}
            counties.append(
                {
                    **groups,
                    "county": r.county,
                    "name": r.name,
                    "city": r.city,
                    "grade": jsonable(r.grade),
                    "score": jsonable(r.score),
                    "indicators": {
                        n: jsonable(r.indicators[n].score) if n in r.indicators else None for n in indicators
                    },
                    "last_year": None
                    if row.last is None
                    else {"grade": jsonable(row.last.grade), "score": jsonable(row.last.score)},
                    "movement": row.movement,
                    "gap": None if row.gap is None else _gap_dict(row.gap, self.policy),
                }
            )
        return {
            "summary": self.summary.to_dict(),
            "counties": counties,
            "gone": [p.county for p in self.gone],
        }

    @property
    def nested_groups(self) -> list[str]:
        """The groups of a nested policy, each reported with its value (empty for a flat policy)."""
        return list(self.policy.aggregation.groups) if self.policy.aggregation.nested else []

    def json(self) -> str:
        return dumps(self.to_dict()) + "\n"

    def csv(self, lang: str = "zh") -> str:
        """One row per county: grade, score, last year's, indicator scores, and the gap in words; in Chinese the
        headers are the policy's labels and grades are their Chinese names (English keeps the field names)."""
        indicators = list(self.policy.indicators)
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        if lang == "zh":
            groups = self.policy.aggregation.groups
            writer.writerow(
                [
                    *_CSV_HEAD_ZH[:8],
                    *(self.policy.indicators[n].label.zh for n in indicators),
                    *(groups[g].label.zh for g in self.nested_groups),
                    *_CSV_HEAD_ZH[8:],
                ]
            )
        else:
            writer.writerow(
                [
                    *_CSV_HEAD_EN[:8],
                    *indicators,
                    *self.nested_groups,
                    *_CSV_HEAD_EN[8:],
                ]
            )
        zh = lang == "zh"

        def grade(g: Grade | None) -> str:
            return _grade_label(g, "zh") if zh else _grade_value(g)

        for row in self.rows:
            r = row.result
            writer.writerow(
                [
                    r.county,
                    r.name or "",
                    r.city or "",
                    grade(r.grade),
                    _plain(r.score),
                    "" if row.last is None else grade(row.last.grade),
                    "" if row.last is None else _plain(row.last.score),
                    _text("zh")[row.movement] if zh else row.movement,
                    *(_plain(r.indicators[n].score) if n in r.indicators else "" for n in indicators),
                    *(_plain(r.groups.get(g)) for g in self.nested_groups),
                    "" if row.gap is None else grade(row.gap.target),
                    "" if row.gap is None else _plain(row.gap.points),
                    "" if row.gap is None else " | ".join(_gap_items(row.gap, lang, self.policy)),
                ]
            )
        return buffer.getvalue()

    # -- people ---------------------------------------------------------------------------

    def xlsx(self, lang: str = "zh") -> bytes:
        """The report's tables as a workbook: targets, cities, counties, gaps."""
        # Late: openpyxl and pygal are slow to import and only their outputs need them.
        from openpyxl import Workbook  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]
        from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

        t = _text(lang)
        book = Workbook()
        sheets = []
        summary = book.active
        assert summary is not None  # noqa: S101  # a new workbook always has its first sheet
        summary.title = t["sheet_summary"]
        sheets.append(summary)
        summary.append([t["area"], t["target"], t["figure"], t["required"], t["met"], t["basis"]])
        for area in (self.summary.province, *self.summary.cities):
            for target in area.targets:
                summary.append(
                    [
                        area.label.get(lang),
                        target.target.label.get(lang),
                        _cell_number(target.figure),
                        _required_cell(target, lang),
                        _met_word(target.met, t),
                        _basis(target),
                    ]
                )
                if lang == "zh" and target.target.metric not in ("counties_per_city", "input_mean"):
                    summary.cell(row=summary.max_row, column=3).number_format = _PERCENT_CELL
        cities = book.create_sheet(t["sheet_cities"])
        sheets.append(cities)
        cities.append([t["area"], t["code"], t["counties"], *(_grade_label(g, lang) for g in _LEVELS)])
        for area in (self.summary.province, *self.summary.cities):
            c = area.counts
            cities.append(
                [
                    area.label.get(lang),
                    _area_code(area.area, lang),
                    c["counties"],
                    c["good"],
                    c["pass"],
                    c["fail"],
                    c["not_graded"],
                ]
            )
        counties = book.create_sheet(t["sheet_counties"])
        sheets.append(counties)
        indicators = list(self.policy.indicators.values())
        counties.append(
            [
                t["code"],
                t["county"],
                t["area"],
                t["grade"],
                t["score"],
                t["last_grade"],
                t["last_score"],
                t["change"],
                *(i.label.get(lang) for i in indicators),
            ]
        )
        for row in self.rows:
            r = row.result
            counties.append(
                [
                    r.county,
                    r.name or "",
                    city_label(r.city or "").get(lang),
                    _grade_label(r.grade, lang),
                    _cell_number(r.score),
                    "" if row.last is None else _grade_label(row.last.grade, lang),
                    None if row.last is None else _cell_number(row.last.score),
                    t[row.movement],
                    *(_cell_number(r.indicators[i.name].score) if i.name in r.indicators else None for i in indicators),
                ]
            )
        gaps = book.create_sheet(t["sheet_gaps"])
        sheets.append(gaps)
        gaps.append(
            [
                t["code"],
                t["county"],
                t["grade"],
                t["gap"],
                t["score"],
                t["kind"],
                t["input"],
                t["current"],
                t["target_value"],
                t["method"],
            ]
        )
        self._gap_rows(gaps, t, lang)
        for sheet in sheets:
            safe_sheet(sheet)  # text, never a formula (CSV injection)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            sheet.freeze_panes = "A2"
        props = book.properties
        props.creator = "fineco-rules"
        props.title = self.policy.label.get(lang)
        props.created = props.modified = _FIXED_TIME
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(book, archive).save()
        return _fixed_zip(buffer.getvalue())

    def _gap_rows(self, gaps: Any, t: Mapping[str, str], lang: str) -> None:
        """The gap sheet's rows: one per step of each county's gap (a ratio's cells as percentages in Chinese)."""
        for row in self.rows:
            gap = row.gap
            if gap is None:
                continue
            head = [
                gap.county,
                gap.name or "",
                _grade_label(gap.grade, lang),
                _grade_label(gap.target, lang),
                _cell_number(gap.points),
            ]
            steps = (
                [("required", s) for s in gap.required]
                + [("option", s) for s in gap.options]
                + [("plan", s) for s in gap.plan]
            )
            if gap.blocked or not steps:
                gaps.append([*head, t["blocked"] if gap.blocked else t["enough"] if gap.enough else t["nothing"]])
            for kind, step in steps:
                hidden = _internal(step, self.policy)
                gaps.append(
                    [
                        *head,
                        t[f"{kind}_kind"],
                        step.label.get(lang),
                        t["internal_cell"] if hidden else _cell_value(step.current),
                        t["internal_cell"] if hidden else _cell_value(step.target),
                        "" if hidden else t["exact" if step.method == "exact" else "searched"],
                    ]
                )
                if lang == "zh" and step.ratio and not hidden:
                    for column in (8, 9):  # a ratio reads as a percentage, its value unchanged
                        gaps.cell(row=gaps.max_row, column=column).number_format = _PERCENT_CELL

    def html(self, lang: str = "zh") -> str:
        """One HTML file that works offline: styles and SVG charts inline, no script, no link out."""
        return _Html(self, lang).render()


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every member dated 1980-01-01, so that equal content is equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


_LEVELS: Final = (Grade.GOOD, Grade.PASS, Grade.FAIL, None)


def _required_cell(target: TargetResult, lang: str) -> str:
    """A target's requirement in the workbook: ``≥ 70%`` in Chinese for a share, ``>= 0.70`` in English."""
    value, op = target.target.value, target.target.op
    if lang != "zh":
        return f"{op} {_plain(value)}"
    sign = {">=": "≥", "<=": "≤"}.get(op, op)
    shares = target.target.metric not in ("counties_per_city", "input_mean")
    return f"{sign} {format(value.scaleb(2).normalize(), 'f')}%" if shares else f"{sign} {_plain(value)}"


def _area_code(area: str, lang: str) -> str:
    """An area's code; the province has none (its internal name is not shown in Chinese)."""
    return "" if lang == "zh" and not area.isdigit() else area


def _grade_value(grade: Grade | None) -> str:
    return "" if grade is None else grade.value


def _grade_label(grade: Grade | None, lang: str) -> str:
    return _text(lang)["not_graded"] if grade is None else grade.label.get(lang)


def _plain(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _cell_number(value: Decimal | None) -> Any:
    """A figure for a spreadsheet cell: a number with the digits shown."""
    return None if value is None else jsonable(shown_figure(value))


def _cell_value(value: object) -> Any:
    return _cell_number(value) if isinstance(value, Decimal) else value


def _met_word(met: bool | None, t: Mapping[str, str]) -> str:
    return t["unknown"] if met is None else t["yes"] if met else t["no"]


def _basis(target: TargetResult) -> str:
    if target.denominator is None:
        return str(len(target.counties))
    if target.target.metric in ("input_mean",):
        return f"{target.denominator}"
    return f"{_plain(target.numerator)}/{target.denominator}"


def _counted(target: TargetResult, policy: Policy) -> bool:
    """Whether the figure is a count or a mean of a non-ratio input, shown as it is rather than in percent."""
    if target.target.metric == "counties_per_city":
        return True
    spec = policy.inputs.get(target.target.input or "")
    return target.target.metric == "input_mean" and spec is not None and spec.type != "ratio"


def _figure_text(target: TargetResult, policy: Policy) -> str:
    if target.figure is None:
        return "—"
    shown = shown_figure(target.figure)
    return _plain(shown) if _counted(target, policy) else _percent(shown)


def _percent(value: Decimal) -> str:
    """A ratio as a percentage with two decimals (0.7 is 70.00 %)."""
    return f"{format((value * 100).quantize(Decimal('0.01')), 'f')} %"


def _threshold_text(target: TargetResult, policy: Policy) -> str:
    value = target.target.value
    shown = _plain(value) if _counted(target, policy) else f"{format((value * 100).normalize(), 'f')} %"
    return f"{target.target.op} {shown}"


def _two_places(value: float) -> str:
    """A score on the chart with its two decimals (82.80, not 82.8); "0" is what pygal leaves out as no bar."""
    return "0" if value == 0 else f"{value:.2f}"


def _check_name(check: Any, policy: Policy, lang: str) -> str:
    """What a check compares, in words: its own label, or the input's, indicator's or group's."""
    if check.label is not None:
        return str(check.label.get(lang))
    for table in (policy.inputs, policy.indicators, policy.aggregation.groups):
        if check.subject in table:
            return str(table[check.subject].label.get(lang))
    return str(check.subject)


def _threshold_text_of(target: Any, policy: Policy) -> str:
    """A target's requirement (op and value) as the tables show it."""
    counted = target.metric == "counties_per_city" or (
        target.metric == "input_mean"
        and (spec := policy.inputs.get(target.input or "")) is not None
        and spec.type != "ratio"
    )
    value = target.value
    shown = _plain(value) if counted else f"{format((value * 100).normalize(), 'f')} %"
    return f"{target.op} {shown}"


def _internal(step: Step, policy: Policy) -> bool:
    """Whether a gap step moves an input the policy marks internal (its value and target are never shown)."""
    spec = policy.inputs.get(step.input)
    return spec is not None and spec.internal


def _step(step: Step, lang: str, policy: Policy) -> str:
    """A gap step in words, its method in plain words (精确计算 / 试算得出); an internal input by its name only."""
    if _internal(step, policy):
        return _text(lang)["internal"].format(label=step.label.get(lang))
    return step_text(step, lang).replace("精确求解", "精确计算").replace("搜索所得", "试算得出")


def _gap_dict(gap: Gap, policy: Policy) -> dict[str, Any]:
    """The gap as JSON, each step of an internal input reduced to its name and ``"internal": true``."""
    out = gap.to_dict()
    for key in ("required", "options", "plan"):
        out[key] = [
            {"input": s.input, "label": jsonable(s.label), "internal": True} if _internal(s, policy) else s.to_dict()
            for s in getattr(gap, key)
        ]
    return out


def _gap_items(gap: Gap, lang: str, policy: Policy) -> list[str]:
    t = _text(lang)
    if gap.blocked:
        return [t["blocked"]]
    items = [t["required_step"].format(step=_step(s, lang, policy)) for s in gap.required]
    if gap.enough:
        items.append(t["enough"])
    items += [t["option"].format(step=_step(s, lang, policy)) for s in gap.options[:_OPTIONS_SHOWN]]
    items += [t["plan_step"].format(step=_step(s, lang, policy)) for s in gap.plan]
    if not gap.enough and not gap.options and not gap.plan:
        items.append(t["nothing"])
    return items


# -- HTML -------------------------------------------------------------------------------------

_CSS: Final = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0 auto;max-width:1100px;padding:24px;color:#212121;line-height:1.5}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #1565c0;padding-bottom:4px;margin-top:36px}
h3{font-size:17px;margin:24px 0 6px}.sub{color:#616161;margin:0}.status{margin:6px 0 0;color:#616161}
.scroll{overflow-x:auto;max-width:100%;margin:8px 0 16px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mark{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:13px;white-space:nowrap}
.good{background:#2e7d32}.pass{background:#1565c0}.fail{background:#c62828}.none{background:#9e9e9e}
.met{color:#2e7d32;font-weight:bold}.unmet{color:#c62828;font-weight:bold}.unknown{color:#757575}
.verdict{font-size:18px;margin:8px 0}.chart{margin:8px 0 16px;overflow-x:auto}.chart svg{width:100%;height:auto}
.grade-lines svg .major.guide.line{stroke:#c62828 !important;stroke-width:2px !important;
stroke-dasharray:6,3 !important;opacity:1 !important}
.lines{color:#616161;font-size:13px;margin:0}
.radars{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
.radars figure{margin:0;border:1px solid #eeeeee;padding:4px}.radars figcaption{font-weight:bold;text-align:center}
ul.gap{margin:2px 0 12px 0;padding-left:22px}ul.gap li{margin:1px 0}.gaphead{margin:10px 0 0;font-weight:bold}
footer{margin-top:40px;color:#757575;font-size:13px;border-top:1px solid #e0e0e0;padding-top:8px}
@media print{.chart,.radars figure{break-inside:avoid}}
@media (max-width:600px){body{padding:12px}h1{font-size:21px}.chart svg{min-width:var(--min,0px)}
.radars{grid-template-columns:1fr}}
"""
#: The smallest text a reader should meet, in CSS pixels, and the smallest font a chart is drawn with.
_READABLE: Final = 11
_SMALLEST_CHART_FONT: Final = 12
#: The number format of a ratio's cell in a Chinese workbook: 0.8349 shows as 83.49%.
_PERCENT_CELL: Final = "0.00%"
_FONTS: Final = '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif'


_TABLE_OPEN: Final = re.compile(r"<table\b")


def _scrolling(page: str) -> str:
    """Every table inside a box that scrolls sideways, so that a narrow screen never scrolls the page."""
    return _TABLE_OPEN.sub('<div class="scroll"><table', page).replace("</table>", "</table></div>")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Html:
    def __init__(self, report: Report, lang: str) -> None:
        self.report, self.lang = report, "zh" if lang == "zh" else "en"
        self.t = _text(self.lang)
        self.charts = 0

    def render(self) -> str:
        r, t, lang = self.report, self.t, self.lang
        policy = r.policy
        last = r.summary.last_year
        last_text = "" if last is None else t["last"].format(id=last.policy, version=last.version, n=len(last.results))
        status = t["official"].format(filing=r.evaluation.official) if r.evaluation.official else t["unofficial"]
        subtitle = t["subtitle"].format(id=policy.id, version=policy.version, n=len(r.rows), last=last_text)
        title = t["title"].format(policy=policy.label.get(lang))
        if r.city is not None:
            year = "" if r.year is None else str(r.year)
            title = t["title_city"].format(city=city_label(r.city).get(lang), year=year).replace("  ", " ")
            subtitle = (
                f"{policy.label.get(lang)}；{subtitle}" if lang == "zh" else f"{policy.label.get(lang)}; {subtitle}"
            )
        parts = [
            "<!DOCTYPE html>",
            f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<style>{_CSS}</style></head>",
            "<body>",
            f"<h1>{_esc(title)}</h1>",
            f'<p class="sub">{_esc(subtitle)}</p>',
            f'<p class="status">{_esc(status)}</p>',
            *self.targets(),
            *self.city_table(),
            *self.distribution(),
            *self.scores(),
            *self.cities(),
            *self.profiles(),
            *self.movement(),
            *self.gaps(),
            f"<footer>{_esc(t['footer'])}</footer>",
            "</body></html>",
        ]
        return _scrolling("\n".join(parts) + "\n")

    # sections

    def targets(self) -> list[str]:
        t, lang, summary = self.t, self.lang, self.report.summary
        area, met, heading = summary.province, summary.met, t["targets"]
        if self.report.city is not None:
            area = summary.city(self.report.city)
            met = _all_met(x.verdict for x in area.targets)
            heading = t["city_targets"].format(city=area.label.get(lang))
        verdict = t["all_met"] if met else t["some_unknown"] if met is None else t["not_all_met"]
        css = "met" if met else "unknown" if met is None else "unmet"
        c = area.counts
        out = [
            f'<h2 id="targets">{_esc(heading)}</h2>',
            f'<p class="verdict {css}">{_esc(verdict)}</p>',
            f"<p>{_esc(t['counts'].format(**c))}</p>",
            '<table id="summary-table"><thead><tr>'
            + "".join(f"<th>{_esc(t[k])}</th>" for k in ("target", "figure", "required", "met", "basis"))
            + "</tr></thead><tbody>",
        ]
        for target in area.targets:
            out.append(self.target_row(target, target.target.label.get(lang)))
        out.append("</tbody></table>")
        if summary.flags:
            out.append(f"<h3>{_esc(t['flags'])}</h3><ul>")
            for flag in summary.flags:
                out.append(
                    "<li>"
                    + _esc(
                        t["flag"].format(
                            city=t["province"]
                            if flag.area == summary.province.area
                            else city_label(flag.area).get(lang),
                            target=flag.target.label.get(lang),
                            figure=_figure_text(flag, self.report.policy),
                            required=_threshold_text(flag, self.report.policy),
                        )
                    )
                    + "</li>"
                )
            out.append("</ul>")
        return out

    def target_row(self, target: TargetResult, name: str) -> str:
        met = target.met
        css = "unknown" if met is None else "met" if met else "unmet"
        mark = "?" if met is None else "✓" if met else "✗"
        word = _met_word(met, self.t) if target.note is None or met is not None else self.note(target.note)
        return (
            f'<tr><td>{_esc(name)}</td><td class="num">{_esc(_figure_text(target, self.report.policy))}</td>'
            f'<td class="num">{_esc(_threshold_text(target, self.report.policy))}</td>'
            f'<td class="{css}">{mark} {_esc(word)}</td><td class="num">{_esc(_basis(target))}</td></tr>'
        )

    def city_table(self) -> list[str]:
        """Every city against each target, on the first screen (a province report only)."""
        t, lang, summary = self.t, self.lang, self.report.summary
        if self.report.city is not None or not summary.cities:
            return []
        ids = list(dict.fromkeys(x.target.id for area in summary.cities for x in area.targets))
        labels = {x.target.id: x.target for area in summary.cities for x in area.targets}
        levels = ("good", "pass", "fail", "not_graded")
        head = [t["area"], *(_grade_label(None if k == "not_graded" else Grade(k), lang) for k in levels)]
        head += [f"{labels[i].label.get(lang)}（{_threshold_text_of(labels[i], self.report.policy)}）" for i in ids]
        out = [
            f'<h3 id="city-table-head">{_esc(t["city_table"])}</h3>',
            '<table id="city-table"><thead><tr>'
            + "".join(f"<th>{_esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>",
        ]
        for area in summary.cities:
            found = {x.target.id: x for x in area.targets}
            cells = [f'<td><a href="#city-{_esc(area.area)}">{_esc(area.label.get(lang))}</a></td>']
            cells += [f'<td class="num">{area.counts[k]}</td>' for k in levels]
            for i in ids:
                x = found.get(i)
                if x is None:
                    cells.append("<td></td>")
                    continue
                css = "unknown" if x.met is None else "met" if x.met else "unmet"
                mark = "?" if x.met is None else "✓" if x.met else "✗"
                figure = _figure_text(x, self.report.policy)
                cells.append(f'<td class="num {css}">{_esc(figure)} {mark}</td>')
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        out.append(f'<p class="lines">{_esc(t["legend"])}</p>')
        return out

    def distribution(self) -> list[str]:
        pygal = _pygal()

        t, lang, cities = self.t, self.lang, self.report.summary.cities
        most = max((c.counts["counties"] for c in cities), default=0)
        step = max(1, -(-most // 8))
        chart = pygal.StackedBar(
            **self.config(height=380),
            x_label_rotation=0,
            legend_at_bottom=True,
            title=t["distribution"],
            y_labels=list(range(0, most + step + 1, step)),
            value_formatter=lambda v: f"{v:.0f}",
        )
        chart.x_labels = [c.label.get(lang) for c in cities]
        for key in ("good", "pass", "fail", "not_graded"):
            label = t["not_graded"] if key == "not_graded" else Grade(key).label.get(lang)
            chart.add(label, [c.counts[key] for c in cities])
        return [
            f'<h2 id="distribution">{_esc(t["distribution"])}</h2>',
            self.svg(chart, ["good", "pass", "fail", "not_graded"]),
        ]

    def scores(self) -> list[str]:
        pygal = _pygal()

        t, lang = self.t, self.lang
        rows = sorted(
            (row.result for row in self.report.rows if row.result.score is not None),
            key=lambda r: (-(r.score or Decimal(0)), r.county),
        )
        policy = self.report.policy
        lines = " / ".join(f"{rule.label.get(lang)} {_plain(rule.min_total)}" for rule in policy.grades)
        marks = sorted({Decimal(60), Decimal(80), *(rule.min_total for rule in policy.grades)})
        own = [
            t["own_line"].format(grade=rule.label.get(lang), value=_plain(rule.min_total))
            for rule in policy.grades
            if rule.min_total not in (Decimal(60), Decimal(80))
        ]
        shown = (
            "、".join([*(_plain(m) for m in marks if m in (60, 80)), *own])
            if lang == "zh"
            else ", ".join([*(_plain(m) for m in marks if m in (60, 80)), *own])
        )
        reasons = {r.county: why for r in rows if (why := self.held_back(r))}
        chart = pygal.HorizontalStackedBar(
            **self.config(height=max(240, 26 * len(rows) + 100)),
            legend_at_bottom=True,
            title=f"{t['scores']}（{lines}）" if lang == "zh" else f"{t['scores']} ({lines})",
            range=(0, 100),
            y_labels=sorted({0, 20, 40, 100, *(float(m) for m in marks)}),
            y_labels_major=[float(m) for m in marks],
            show_minor_y_labels=True,
            print_values=True,
            print_values_position="top",
            print_zeroes=False,
            formatter=_two_places,
            spacing=6,
        )
        chart.x_labels = [(r.name or r.county) + (" ⚠" if r.county in reasons else "") for r in reversed(rows)]
        for grade in (Grade.GOOD, Grade.PASS, Grade.FAIL):
            chart.add(
                grade.label.get(lang),
                [float(r.score) if r.grade == grade and r.score is not None else None for r in reversed(rows)],
            )
        out = [
            f'<h2 id="scores">{_esc(t["scores"])}</h2>',
            f'<p class="lines">{_esc(t["lines"].format(lines=shown))}</p>',
            self.svg(chart, ["good", "pass", "fail"], "grade-lines"),
        ]
        if reasons:
            by = {r.county: r for r in rows}
            out.append(f'<h3 id="held">⚠ {_esc(t["held"])}</h3>')
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{_esc(t[k])}</th>" for k in ("code", "county", "score", "grade", "reason"))
                + "</tr></thead><tbody>"
            )
            for county, why in reasons.items():
                r = by[county]
                out.append(
                    f"<tr><td>{_esc(county)}</td><td>{_esc(r.name or '')}</td>"
                    f'<td class="num">{_esc(_plain(r.score))}</td><td>{self.badge(r.grade)}</td>'
                    f"<td>{_esc('；'.join(why) if lang == 'zh' else '; '.join(why))}</td></tr>"
                )
            out.append("</tbody></table>")
        return out

    def held_back(self, result: CountyResult) -> list[str]:
        """Why a county whose total reaches a grade line is not given that grade: a veto, or the grade's gates."""
        t, lang, policy = self.t, self.lang, self.report.policy
        if result.score is None:
            return []
        out = [t["veto_because"].format(what=_check_name(c, policy, lang)) for c in result.vetoes if c.met]
        rank = -1 if result.grade is None else result.grade.rank
        for grade, checks in result.checks.items():
            if grade.rank <= rank:
                continue
            line = next((c for c in checks if c.kind == "min_total"), None)
            if line is None or line.met is not True:
                continue
            failed = [c for c in checks if c.kind == "gate" and c.met is False]
            out += [
                t["gate_because"].format(grade=grade.label.get(lang), what=_check_name(c, policy, lang)) for c in failed
            ]
        return out

    def cities(self) -> list[str]:
        t, lang = self.t, self.lang
        out = [f'<h2 id="cities">{_esc(t["cities"])}</h2>']
        by_city: dict[str, list[CountyRow]] = {}
        for row in self.report.rows:
            by_city.setdefault(row.result.city or row.result.county[:4] + "00", []).append(row)
        for area in self.report.summary.cities:
            rows = by_city.get(area.area, [])
            out.append(f'<h3 id="city-{_esc(area.area)}">{_esc(area.label.get(lang))}（{_esc(area.area)}）</h3>')
            out.append(f"<p>{_esc(t['counts'].format(**area.counts))}</p>")
            if area.targets:
                out.append(
                    "<table><thead><tr>"
                    + "".join(f"<th>{_esc(t[k])}</th>" for k in ("target", "figure", "required", "met", "basis"))
                    + "</tr></thead><tbody>"
                )
                out += [self.target_row(x, x.target.label.get(lang)) for x in area.targets]
                out.append("</tbody></table>")
            if not rows:
                continue
            heads = ("code", "county", "grade", "score", "last_grade", "last_score", "change", "gap")
            out.append("<table><thead><tr>" + "".join(f"<th>{_esc(t[k])}</th>" for k in heads) + "</tr></thead><tbody>")
            for row in rows:
                r = row.result
                gap = row.gap
                short = "" if gap is None else self.short(gap)
                out.append(
                    "<tr>"
                    f"<td>{_esc(r.county)}</td><td>{_esc(r.name or '')}</td><td>{self.badge(r.grade)}</td>"
                    f'<td class="num">{_esc(_plain(r.score))}</td>'
                    f"<td>{'' if row.last is None else self.badge(row.last.grade)}</td>"
                    f'<td class="num">{"" if row.last is None else _esc(_plain(row.last.score))}</td>'
                    f"<td>{_esc(t[row.movement])}</td><td>{_esc(short)}</td></tr>"
                )
            out.append("</tbody></table>")
        return out

    def profiles(self) -> list[str]:
        pygal = _pygal()

        t, lang, policy = self.t, self.lang, self.report.policy
        indicators = list(policy.indicators.values())
        out = [f'<h2 id="profiles">{_esc(t["profile"])}</h2>', '<div class="radars">']
        by_city: dict[str, list[CountyResult]] = {}
        for row in self.report.rows:
            if row.result.indicators:
                by_city.setdefault(row.result.city or row.result.county[:4] + "00", []).append(row.result)
        for area in self.report.summary.cities:
            results = by_city.get(area.area, [])
            if not results:
                continue
            chart = pygal.Radar(**self.config(width=360, height=380), legend_at_bottom=True, range=(0, 100), fill=False)
            chart.x_labels = [i.label.get(lang) for i in indicators]
            for result in results:
                values = []
                for ind in indicators:
                    found = result.indicators.get(ind.name)
                    score = None if found is None or found.score is None else found.score / ind.max_score * 100
                    values.append(None if score is None else round(float(score), 1))
                chart.add(result.name or result.county, values)
            out.append(
                f"<figure><figcaption>{_esc(area.label.get(lang))}</figcaption>{self.svg(chart, _PALETTE)}</figure>"
            )
        out.append("</div>")
        return out

    def movement(self) -> list[str]:
        pygal = _pygal()

        t = self.t
        out = [f'<h2 id="movement">{_esc(t["movement"])}</h2>']
        if self.report.summary.last_year is None:
            return [*out, f"<p>{_esc(t['no_last'])}</p>"]
        counts = {k: sum(1 for r in self.report.rows if r.movement == k) for k in ("up", "down", "same", "new")}
        out.append(f"<p>{_esc(t['moves'].format(**counts, gone=len(self.report.gone)))}</p>")
        both = [
            row
            for row in self.report.rows
            if row.last is not None and row.last.score is not None and row.result.score is not None
        ]
        if both:
            chart = pygal.Bar(
                **self.config(height=360), title=t["score_change"], x_label_rotation=45, show_legend=False
            )
            chart.x_labels = [row.result.name or row.result.county for row in both]
            chart.add(
                t["change"],
                [float((row.result.score or Decimal(0)) - (row.last.score or Decimal(0))) for row in both if row.last],
            )
            out.append(self.svg(chart, ["pass"]))
        moved = [row for row in self.report.rows if row.movement in ("up", "down")]
        if moved:
            heads = ("code", "county", "last_grade", "grade", "last_score", "score", "change")
            out.append("<table><thead><tr>" + "".join(f"<th>{_esc(t[k])}</th>" for k in heads) + "</tr></thead><tbody>")
            for row in moved:
                r, last = row.result, row.last
                assert last is not None  # noqa: S101  # moved up or down means there was a last year
                out.append(
                    f"<tr><td>{_esc(r.county)}</td><td>{_esc(r.name or '')}</td><td>{self.badge(last.grade)}</td>"
                    f'<td>{self.badge(r.grade)}</td><td class="num">{_esc(_plain(last.score))}</td>'
                    f'<td class="num">{_esc(_plain(r.score))}</td><td>{_esc(t[row.movement])}</td></tr>'
                )
            out.append("</tbody></table>")
        if self.report.gone:
            names = "、".join(f"{p.name or p.county}（{p.county}）" for p in self.report.gone)
            out.append(f"<p>{_esc(t['gone'])}：{_esc(names)}</p>")
        return out

    def gaps(self) -> list[str]:
        t, lang = self.t, self.lang
        out = [f'<h2 id="gaps">{_esc(t["gaps"])}</h2>']
        for row in self.report.rows:
            gap = row.gap
            if gap is None:
                continue
            head = t["gap_head"].format(
                name=gap.name or gap.county,
                county=gap.county,
                grade=gap.grade.label.get(lang),
                target=gap.target.label.get(lang),
                score=_plain(gap.score),
                points=_plain(gap.points),
            )
            out.append(f'<p class="gaphead">{_esc(head)}</p><ul class="gap">')
            out += self.gap_items(gap)
            out.append("</ul>")
        return out

    # helpers

    def gap_items(self, gap: Gap) -> list[str]:
        t, lang, policy = self.t, self.lang, self.report.policy
        if gap.blocked:
            return [f"<li>{_esc(t['blocked'])}</li>"]
        out = [f"<li>{_esc(t['required_step'].format(step=_step(s, lang, policy)))}</li>" for s in gap.required]
        if gap.enough:
            out.append(f"<li>{_esc(t['enough'])}</li>")
        for key, steps in (("any", gap.options[:_OPTIONS_SHOWN]), ("together", gap.plan)):
            if steps:
                inner = "".join(f"<li>{_esc(_step(s, lang, policy))}</li>" for s in steps)
                out.append(f"<li>{_esc(t[key])}<ul>{inner}</ul></li>")
        if not gap.enough and not gap.options and not gap.plan:
            out.append(f"<li>{_esc(t['nothing'])}</li>")
        return out

    def short(self, gap: Gap) -> str:
        """The gap in a table cell: the next grade and the points short, or the gate that holds it back."""
        target = gap.target.label.get(self.lang)
        if gap.blocked:
            return f"{target}：{self.t['veto']}" if self.lang == "zh" else f"{target}: {self.t['veto']}"
        if gap.points:
            return f"{target} −{_plain(gap.points)}"
        return f"{target}：{self.t['gate']}" if self.lang == "zh" else f"{target}: {self.t['gate']}"

    def note(self, text: str) -> str:
        return _NOTES.get(text, text) if self.lang == "zh" else text

    def badge(self, grade: Grade | None) -> str:
        css = "none" if grade is None else grade.value
        return f'<span class="badge {css}">{_esc(_grade_label(grade, self.lang))}</span>'

    def config(self, width: int = 1000, height: int = 400) -> dict[str, Any]:
        from pygal.style import Style  # type: ignore[import-untyped]

        style = Style(
            font_family=_FONTS,
            background="white",
            plot_background="white",
            foreground="#212121",
            foreground_strong="#212121",
            foreground_subtle="#9e9e9e",
            colors=tuple(_COLORS.values()),
            label_font_size=13,
            major_label_font_size=13,
            legend_font_size=13,
            title_font_size=16,
            value_font_size=_SMALLEST_CHART_FONT,
            value_label_font_size=_SMALLEST_CHART_FONT,
            opacity=".9",
            opacity_hover=".9",
            transition="0s",
        )
        return {
            "width": width,
            "height": height,
            "style": style,
            "js": [],
            "disable_xml_declaration": True,
            "truncate_label": -1,
            "truncate_legend": -1,
        }

    def svg(self, chart: Any, colors: Sequence[str], css: str = "") -> str:
        self.charts += 1
        chart.config.style.colors = tuple(_COLORS.get(c, c) for c in colors)
        chart.uuid = f"fineco-{self.charts}"  # a fixed id per chart, so the page is the same bytes every time
        text = str(chart.render(is_unicode=True))
        text = _GENERATED.sub("", text)  # the library dates its output
        text = _SCRIPT.sub("", text)  # tooltips need script; the report has none
        text = text.replace("<title>Pygal</title>", "")  # the library's name where a chart has no title
        # On a narrow screen a chart shrinks no further than keeps its smallest text at 11 px, and scrolls in its box.
        least = -(-int(chart.config.width) * _READABLE // _SMALLEST_CHART_FONT)
        return f'<div class="chart{" " + css if css else ""}" style="--min:{least}px">{text}</div>'


#: The notes of target figures that cannot be computed, in Chinese.
_NOTES: Final = {
    "no counties to count": "无可计数的县",
    "needs last year's results": "需要上年结果",
    "no values": "无数据",
}
_PALETTE: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def _pygal() -> Any:
    import pygal  # type: ignore[import-untyped]

    # pygal appends an old-style import hook for its map plugins (unused here) that raises ImportWarning on every
    # import that reaches it; under -W error that breaks any later probing import, so it is taken out again.
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]
    return pygal


_GENERATED: Final = re.compile(r"<!--Generated with pygal[^>]*-->")
_SCRIPT: Final = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


# -- building -----------------------------------------------------------------------------------


def make_report(
    policy: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord],
    *,
    last_year: LastYear | Evaluation | None = None,
    evaluation: Evaluation | None = None,
    cities: Iterable[str] | None = None,
    host: PluginHost | None = None,
    city: str | None = None,
    year: int | None = None,
) -> Report:
    """Grade ``records`` (or take their ``evaluation``), compute the targets and every gap, and keep it all.

    ``city`` cuts the report to that prefecture city's counties (the first four digits of their code): it is headed
    with the city, ``year`` and the city's targets instead of the province's.
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    raws = [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
    if city is not None:
        raws = [r for r in raws if str(r.values.get("county", "")).strip()[:4] == city[:4]]
        cities = [city]
        if evaluation is not None:
            kept = [r for r in evaluation.results if r.county[:4] == city[:4]]
            evaluation = attrs.evolve(evaluation, results=tuple(kept))
    if evaluation is None:
        evaluation = compiled.evaluate(raws)
    last = LastYear.from_evaluation(last_year) if isinstance(last_year, Evaluation) else last_year
    if last is not None and city is not None:
        last = attrs.evolve(last, results={k: v for k, v in last.results.items() if k[:4] == city[:4]})
    summary = summarize(evaluation, last, cities=cities)
    gaps = find_gaps(compiled, raws, evaluation=evaluation)
    rows = []
    for result in evaluation.results:
        past = last.results.get(result.county) if last is not None else None
        rows.append(CountyRow(result, past, _movement(result, past), gaps.get(result.county)))
    present = {r.county for r in evaluation.results}
    gone = tuple(p for code, p in sorted(last.results.items()) if code not in present) if last is not None else ()
    return Report(evaluation, summary, tuple(rows), gone, city, year)


def _all_met(verdicts: Iterable[bool | None]) -> bool | None:
    found = list(verdicts)
    return False if False in found else None if None in found else True


def _movement(result: CountyResult, past: PastResult | None) -> Literal["up", "down", "same", "new"]:
    if past is None:
        return "new"
    now = -1 if result.grade is None else result.grade.rank
    before = -1 if past.grade is None else past.grade.rank
    return "up" if now > before else "down" if now < before else "same"
