"""The provincial report of a year, in Chinese with English beside it (Markdown), and the publication list."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from fineco_rules.analysis._targets import AreaSummary, TargetResult, shown_figure
from fineco_rules.policy._model import Policy
from fineco_rules.policy._provenance import provenance, provenance_lines
from fineco_rules.province._year import YearResult

__all__ = ["render_publication", "render_report"]

_STATUS: Final = {
    "met": "达到 met",
    "not_met": "未达到 not met",
    "progress": "阶段进度 progress (judged at the phase's end)",
    "unknown": "无法计算 cannot be computed",
}
_CHANGE: Final = {
    "new": "新获 new",
    "kept": "保持 kept",
    "raised": "升为良好 raised",
    "lowered": "降为达标 lowered",
    "lost": "摘牌 lost",
    "missing": "未报送 not submitted",
}


def _pct(value: Decimal | None) -> str:
    """A share as a percentage to one decimal (the exact figure is in summary.json)."""
    return "—" if value is None else f"{(value * 100).quantize(Decimal('0.1'))} %"


def _target_line(t: TargetResult) -> str:
    threshold = f"{t.target.op} {shown_figure(t.target.value * 100)} %"
    parts = f"{t.numerator}/{t.denominator}" if t.target.metric != "ratio_of_totals" else "Σ/Σ"
    return (
        f"| {t.target.label.zh} {t.target.label.en} | {_pct(t.figure)} ({parts}) | {threshold} | {_STATUS[t.status]} |"
    )


def _area_lines(area: AreaSummary, scopes: frozenset[str]) -> list[str]:
    rows = [t for t in area.targets if t.target.scope in scopes]
    if not rows:
        return []
    return [
        f"#### {area.label.zh} {area.label.en}",
        "",
        "| 目标 target | 数值 figure | 要求 line | 判定 verdict |",
        "| --- | --- | --- | --- |",
        *(_target_line(t) for t in rows),
        "",
    ]


def _assumption_lines(methods: Sequence[Policy]) -> list[str]:
    out = [
        "## 规则来源与假设 · Which rules are the source's and which are assumptions",
        "",
        "目标的数值（达标面70%/90%、上年度达标单位60%达到良好、优良率80%、信用乡镇普及率85%、不良贷款率6%）出自"
        "《江苏省金融生态县建设实施意见》；各考核办法中省文件未给出的数值均为该办法的假设，列于下表。",
        "The target figures are the source's (the 2007 Implementation Opinion); every number a method uses that the "
        "source does not give is an assumption of that method, listed below as the method declares it.",
        "",
    ]
    for policy in methods:
        out.append(f"- **{policy.label.zh}** ({policy.id} {policy.version})")
        if not policy.assumptions:
            out.append("  - 未声明假设 · declares no assumptions")
        for key, label in policy.assumptions.items():
            out.append(f"  - `{key}`: {label.zh} · {label.en}")
    return [*out, ""]


def _provenance_lines(province: Policy, methods: Sequence[Policy]) -> list[str]:
    """Which rules come from the source (with the clause) and which are assumptions: the provincial file's in
    full, Chinese first, then each city method's own rules (those resting on an assumption the province lacks)."""
    out = ["## 规则出处 · Where the rules come from", "", f"### {province.label.zh} ({province.id} {province.version})"]
    for lang in ("zh", "en"):
        out += ["", *(line.replace("  · ", "- ", 1) for line in provenance_lines(province, lang))]
    own = [m for m in methods if m.id != province.id]
    if own:
        out += ["", "### 各市办法自定的规则 · Each city method's own rules", ""]
    for method in own:
        rules = [r for r in provenance(method) if r.basis and r.basis.assumption not in (None, *province.assumptions)]
        out.append(f"- **{method.label.zh}** ({method.id} {method.version})")
        out += [f"  - {r.text('zh')}" for r in rules] or ["  - 未改动省办法的规则 · no rule of its own"]
    return [*out, ""]


def render_report(result: YearResult) -> str:
    """The provincial report: each city's method and grades, the targets where they are judged, the titles."""
    s = result.summary
    official = "正式（已核验备案）official" if result.official else "非正式（未核验备案）unofficial"
    lines = [
        f"# 江苏省金融生态县考核 {result.year}年度报告 · Provincial report {result.year}",
        "",
        f"- 省考核办法 provincial method: {result.province.label.zh} ({result.province.id} {result.province.version})",
        f"- 评定方式 grading: {official}",
        f"- 应考核县（市）roster: {len(result.expected)}",
        "",
        "## 各市考核情况 · Cities",
        "",
        "| 市 city | 考核办法 method | 应考核 roster | 报送 graded | 未报送 missing | 良好 good | 达标 pass "
        "| 未达标 fail | 达标面 pass coverage |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in result.runs:
        area = s.city(run.city)
        counts = area.counts
        on_roster = sum(1 for c in result.expected.values() if c == run.city)
        passing = counts.get("good", 0) + counts.get("pass", 0)
        coverage = _pct(Decimal(passing) / on_roster) if on_roster else "—"
        method = f"{run.method.label.zh}" + ("（省基准办法，示例）" if run.baseline else "")
        lines.append(
            f"| {run.label.zh} | {method} | {on_roster} | {counts['counties']} | {len(run.missing)} | "
            f"{counts.get('good', 0)} | {counts.get('pass', 0)} | {counts.get('fail', 0)} | {coverage} |"
        )
    demoted = [(run.label.zh, c) for run in result.runs for c in run.demoted]
    if demoted:
        lines += [
            "",
            "良好须上年度已达标（from_pass: last_year），以下县（市）本年度按达标认定 · good needs last year's pass as "
            "well; these counties are rated pass: "
            + "、".join(f"{result.roster.name(c) or c}（{city}）" for city, c in demoted),
        ]
    lines += ["", "## 目标 · Targets", "", "### 全省 · Province-wide", ""]
    lines += _area_lines(s.province, frozenset({"province", "both"}))
    city_lines = [line for area in s.cities for line in _area_lines(area, frozenset({"city", "both"}))]
    if city_lines:
        lines += ["### 各市 · Per city", "", *city_lines]
    verdict = {True: "全部达到 all met", False: "未全部达到 not all met", None: "部分无法判定 some undecided"}[s.met]
    lines += [f"总体判定 overall: **{verdict}**", "", "## 称号变动 · Titles (dynamic management)", ""]
    changes = [t for t in result.titles.entries.values() if t.change in _CHANGE]
    lines += ["| 县（市）county | 市 city | 称号 title | 变动 change |", "| --- | --- | --- | --- |"]
    for t in sorted(changes, key=lambda t: (t.city, t.county)):
        title = {"good": "良好", "pass": "达标"}.get(t.title.value if t.title else "", "—")
        lines.append(f"| {t.name or t.county} ({t.county}) | {t.city} | {title} | {_CHANGE[t.change]} |")
    methods = list({id(r.method): r.method for r in result.runs}.values())
    lines += ["", *_provenance_lines(result.province, methods), *_assumption_lines([result.province, *methods])]
    if result.problems:
        lines += ["## 问题 · Problems", "", *(f"- {p}" for p in result.problems), ""]
    return "\n".join(lines)


def render_publication(result: YearResult) -> str:
    """对外公布: the counties named 达标/良好 by city, with the method each was graded under (Markdown)."""
    data = result.publication()
    lines = [f"# {result.year}年度江苏省金融生态县名单（示例）· Financial ecology counties {result.year} (example)", ""]
    for city in data["cities"]:
        named = city["counties"]
        if not named:
            continue
        lines.append(f"## {city['label']['zh']}")
        for county in named:
            title = "良好" if county["title"] == "good" else "达标"
            lines.append(f"- {county['name']}：{title}（{county['method']['label']['zh']}）")
        lines.append("")
    return "\n".join(lines)
