"""Readable accounts of a grade, in Chinese or English."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from fineco_rules._i18n import Renderable
from fineco_rules.analysis._gap import EXACT, NO_SINGLE_INPUT, NOTHING_ENOUGH, Gap, Step
from fineco_rules.engine._results import Check, CountyResult, IndicatorResult
from fineco_rules.errors import Lang, Msg, join, render, tr, trc
from fineco_rules.policy._model import Policy
from fineco_rules.policy._provenance import provenance_lines

__all__ = ["explain", "gap_lines"]

_WORDS = {
    "title": tr("{name} ({county}): financial ecology county assessment"),
    "title_code": tr("{county}: financial ecology county assessment"),
    "policy": tr("Policy: {label} ({id} version {version})"),
    "grade": tr("Grade: {grade}"),
    "not_graded": tr("Grade: not graded"),
    "index_only": tr("Grade: none (an index without grades: the score is the result)"),
    "score": tr("Total score: {score} (base {base}{adj})"),
    "indicators": tr("Indicators:"),
    "indicator": tr("  {label}: score {score}/{max}, {weight}contribution {contribution}"),
    "inputs": tr("    inputs: {inputs}"),
    "details": tr("    computed: {details}"),
    "treatment": tr("    missing data: {treatment}"),
    "groups": tr("Group scores:"),
    "checks": tr("Conditions for {grade}:"),
    "vetoes": tr("Veto items:"),
    "check_ok": tr("  ✓ {what}: {value} {op} {threshold} (margin {margin}; set in {origin})"),
    "check_no": tr("  ✗ {what}: {value} is not {op} {threshold} (margin {margin}; set in {origin})"),
    "veto_hit": tr("  ✗ {what}: {value} {op} {threshold}, the veto applies (set in {origin})"),
    "veto_ok": tr("  ✓ {what}: does not apply ({value}; set in {origin})"),
    "unknown": tr("  ? {what}: data missing"),
    "errors": tr("Problems:"),
    "weight": tr("weight {weight}, "),
    "total": tr("total score"),
    "adjust": tr(", adjustments {sign}{points}"),
    "why_fail": tr("Not {grade}, because: {reasons}"),
    "why_item": tr("{what} ({value} is not {op} {threshold})"),
    "yes_no_ok": tr("  ✓ {what}: yes (set in {origin})"),
    "yes_no_no": tr("  ✗ {what}: no (set in {origin})"),
    "why_yes_no": tr("{what}: no"),
    "adjustments": tr("Bonus and deduction items:"),
    "adjustment": tr("  {label}: {sign}{points}{capped}"),
    "capped": tr(" (capped; {raw} before the cap)"),
    "veto_reason": tr("Vetoed: {reasons}"),
}


@functools.cache
def _words(lang: str) -> dict[str, str]:
    """The explanation's words in ``lang`` (from the catalogue; English as written here)."""
    return {key: render(text, "zh" if lang == "zh" else "en") for key, text in _WORDS.items()}


#: Punctuation between a name and its value, and between items of a line (full-width in Chinese).
_COLON: Final = trc("punctuation", ": ")
_COMMA: Final = trc("punctuation", ", ")


def _lang(lang: str) -> Lang:
    return "zh" if lang == "zh" else "en"


def _join(items: Iterable[object]) -> Renderable:
    """Items joined with ``; `` in English and ``；`` in Chinese."""
    return join(items, en="; ", zh="；")


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -8:  # a computed quotient: show it short
            return "≈" + format(value.quantize(Decimal("0.000001")).normalize(), "f")
        return format(value, "f")
    return str(value)


#: A truth value as the reader says it (是/否 in Chinese).
_TRUE: Final = trc("truth value", "true")
_FALSE: Final = trc("truth value", "false")


def _exact(value: object, lang: str = "en", ratio: bool = False) -> str:
    """A figure as given or compared, every digit shown: a value that differs from its threshold only far
    down must not read as equal to it. In Chinese a ratio reads as a percentage (0.0600 as 6.00%) and a
    truth value as 是/否."""
    if isinstance(value, bool):
        return (_TRUE if value else _FALSE).render("zh" if lang == "zh" else "en")
    if lang == "zh" and ratio and isinstance(value, Decimal):
        return _fmt(value.scaleb(2)) + "%"
    return format(value, "f") if isinstance(value, Decimal) else _fmt(value)


def _margin(value: object, lang: str, ratio: bool) -> str:
    """A check's margin; for a ratio in Chinese, in percentage points."""
    if lang == "zh" and ratio and isinstance(value, Decimal):
        return _fmt(value.scaleb(2)) + _gap_words(lang)["pp"]
    return _exact(value, lang)


#: Comparisons as a Chinese reader writes them.
_OPS_ZH: Final = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}


def _op(op: str, lang: str) -> str:
    return _OPS_ZH.get(op, op) if lang == "zh" else op


def _ratio(name: str, policy: Policy) -> bool:
    """Whether ``name`` is an input holding a ratio (shown as a percentage in Chinese)."""
    spec = policy.inputs.get(name)
    return spec is not None and spec.type == "ratio"


#: Words scorers use in their details, for readers of either language.
_TERMS: Final[dict[str, Msg]] = {
    "value": trc("scorer detail", "value"),
    "normalized": trc("scorer detail", "normalized"),
    "weight": trc("scorer detail", "weight"),
    "roll_up": trc("scorer detail", "roll-up of township and village ratings"),
    "township": trc("scorer detail", "townships"),
    "village": trc("scorer detail", "villages"),
    "township_share": trc("scorer detail", "share of townships rated"),
    "village_share": trc("scorer detail", "share of villages rated"),
    "kept": trc("scorer detail", "kept at re-review"),
    "lost": trc("scorer detail", "lost at re-review"),
    "newly_rated": trc("scorer detail", "newly rated"),
    "not_rated": trc("scorer detail", "not rated"),
    "small_sample": trc("scorer detail", "small sample"),
    "min_sample": trc("scorer detail", "minimum sample"),
    "band": trc("scorer detail", "band"),
    "per": trc("scorer detail", "per"),
    "denominator": trc("scorer detail", "denominator"),
    "formula": trc("scorer detail", "formula"),
    "substituted": trc("scorer detail", "with the values"),
    "numerator": trc("scorer detail", "numerator"),
    "worst": trc("scorer detail", "worst"),
    "best": trc("scorer detail", "best"),
    "rule": trc("scorer detail", "rule"),
    "otherwise": trc("scorer detail", "otherwise"),
    "note": trc("scorer detail", "note"),
}


#: Longer lists in details are cut to this many names (the JSON output keeps them all).
_LIST_SHOWN = 6


def _term(key: str, policy: Policy, lang: str, params: Mapping[str, object] | None = None) -> str:
    """A detail's name: an input's label, the label of the input a scorer parameter names (``awareness`` →
    社会对金融的认知度), or the word for it."""
    if key in policy.inputs:
        return policy.inputs[key].label.get(lang)
    named = (params or {}).get(key)
    if isinstance(named, str) and named in policy.inputs:
        return policy.inputs[named].label.get(lang)
    if key in _TERMS:
        return _TERMS[key].render("zh" if lang == "zh" else "en")
    return f"`{key}`" if lang == "zh" else key.replace("_", " ")  # a plugin's own name, marked as a name


def _detail(value: object, policy: Policy, lang: str) -> str:
    """A detail's value: an input named by it shown by its label, a rule's comparison in the reader's signs."""
    if lang == "zh" and isinstance(value, str):
        if value in policy.inputs:
            return policy.inputs[value].label.get(lang)
        if value in _TERMS:
            return _TERMS[value].render("zh")
        op, _, rest = value.partition(" ")
        if op in _OPS_ZH or op in ("<", ">"):
            return f"{_op(op, lang)} {rest}"
    return _exact(value, lang) if isinstance(value, bool) else _fmt(value)


def _nested(value: object, policy: Policy, lang: str, ratio: bool = False) -> str:
    """A scorer's structured detail in one line: mappings as `key value; …`, lists joined; the ``value`` of
    a ratio input as a percentage in Chinese."""
    if isinstance(value, dict):
        return _join(
            f"{_term(k, policy, lang)} {_nested(v, policy, lang, ratio and k == 'value')}"
            if not isinstance(v, dict)
            else f"{_term(k, policy, lang)} ({_nested(v, policy, lang, _ratio(k, policy))})"
            for k, v in value.items()
        ).render(_lang(lang))
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:_LIST_SHOWN]) if value else "—"
        if len(value) > _LIST_SHOWN:
            more = len(value) - _LIST_SHOWN
            shown += tr(" and {more} more", more=more).render(_lang(lang))
        return shown
    if ratio:
        return _exact(value, lang, ratio=True)
    return _detail(value, policy, lang)


def _rows(rows: tuple[object, ...], lang: str) -> str:
    return tr("{n} rows", n=len(rows)).render(_lang(lang))


def _what(check: Check, policy: Policy, lang: str) -> str:
    if check.label is not None:
        return check.label.get(lang)
    if check.kind == "min_total":
        return _words(lang)["total"]
    for table in (policy.inputs, policy.indicators, policy.aggregation.groups):
        if check.subject in table:
            return table[check.subject].label.get(lang)
    return check.subject


def explain(result: CountyResult, policy: Policy, lang: str = "zh", gap: Gap | None = None) -> str:
    """A plain-language account of how ``result`` came about, with its ``gap`` to the next grade if given."""
    w = _words(lang)
    lines = _heading(result, policy, lang)
    for ind in result.indicators.values():
        lines += _indicator(ind, policy, lang)
    lines += _adjustments(result, lang)
    if result.groups:
        lines.append(w["groups"])
        lines += _group_lines(result, policy, lang)
    lines += _vetoes(result, policy, lang)
    for grade, checks in result.checks.items():
        lines.append(w["checks"].format(grade=grade.label.get(lang)))
        lines += [_check(check, policy, lang) for check in checks]
    if result.grade is not None:
        lines.extend(_why(result, policy, lang))
    lines.extend(provenance_lines(policy, lang))
    if gap is not None:
        lines.extend(gap_lines(gap, lang))
    if result.errors:
        lines.append(w["errors"])
        lines.extend(f"  {p}" for p in result.errors)
    return "\n".join(lines) + "\n"


#: How a group combines its parts, in words (shown for nested groups).
_METHODS: Final = {
    "weighted_mean": tr("weighted mean"),
    "geometric_mean": tr("geometric mean"),
    "points": tr("points added"),
}


def _group_lines(result: CountyResult, policy: Policy, lang: str) -> list[str]:
    """The groups' values; nested groups top-down, each indented under its parent with its method."""
    groups = policy.aggregation.groups
    colon = _COLON.render(_lang(lang))
    if not policy.aggregation.nested:
        return [f"  {groups[n].label.get(lang)}{colon}{_fmt(s)}" for n, s in result.groups.items()]
    words = _methods(lang)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for name, group in groups.items():
            if group.parent == parent:
                how = words.get(group.method or policy.aggregation.method, "")
                how = tr(" ({how})", how=how).render(_lang(lang))
                lines.append(f"{'  ' * depth}{group.label.get(lang)}{colon}{_fmt(result.groups.get(name))}{how}")
                walk(name, depth + 1)

    walk(None, 1)
    return lines


def _unit_title(result: CountyResult, policy: Policy, lang: str) -> str:
    """The heading's format for a unit that is not a county: who, then the policy and the unit's word."""
    unit, label = policy.unit.label.get(lang), policy.label.get(lang)
    if result.name:
        title = tr(
            "{name} ({county}): {label} ({unit})", name=result.name, county=result.county, label=label, unit=unit
        )
    else:
        title = tr("{county}: {label} ({unit})", county=result.county, label=label, unit=unit)
    return title.render(_lang(lang))


def _heading(result: CountyResult, policy: Policy, lang: str) -> list[str]:
    """Who (the name, or the code alone when there is none), under which policy, with what grade and total."""
    w = _words(lang)
    title = w["title"] if result.name else w["title_code"]
    title = title.format(name=result.name, county=result.county)
    if not policy.unit.is_county:  # the word for the unit comes from the policy, not "county"
        title = _unit_title(result, policy, lang)
    lines = [
        title,
        w["policy"].format(label=policy.label.get(lang), id=policy.id, version=policy.version),
    ]
    if result.grade is None and not policy.grades and result.graded:
        lines.append(w["index_only"])
    elif result.grade is None:
        lines.append(w["not_graded"])
    else:
        grade_label = result.grade.label.get(lang)
        lines.append(w["grade"].format(grade=grade_label))
    if result.score is not None:
        delta = (result.score - result.base_score) if result.base_score is not None else Decimal(0)
        delta_text = w["adjust"].format(sign="+" if delta >= 0 else "−", points=_fmt(abs(delta))) if delta else ""
        lines.append(w["score"].format(score=_fmt(result.score), base=_fmt(result.base_score), adj=delta_text))
    if result.indicators:
        lines.append(w["indicators"])
    return lines


def _indicator(ind: IndicatorResult, policy: Policy, lang: str) -> list[str]:
    """One indicator: its score, its inputs as given, what the scorer computed, how missing data was treated."""
    w = _words(lang)
    weight = w["weight"].format(weight=_fmt(ind.weight)) if policy.aggregation.method != "points" else ""
    lines = [
        w["indicator"].format(
            label=ind.label.get(lang),
            score=_fmt(ind.score),
            max=_fmt(ind.max_score),
            weight=weight,
            contribution=_fmt(ind.contribution),
        )
    ]
    comma = _COMMA.render(_lang(lang))
    inputs = comma.join(
        f"{policy.inputs[k].label.get(lang)} = "
        f"{_rows(v, lang) if isinstance(v, tuple) else _exact(v, lang, _ratio(k, policy))}"
        for k, v in ind.inputs.items()
    )
    lines.append(w["inputs"].format(inputs=inputs))
    params = policy.indicators[ind.name].params if ind.name in policy.indicators else {}
    flat = [(k, v) for k, v in ind.details.items() if not isinstance(v, dict | list)]
    if flat:
        lines.append(w["details"].format(details=comma.join(_flat(k, v, params, policy, lang) for k, v in flat)))
    colon = _COLON.render(_lang(lang))
    for key, value in ind.details.items():
        if isinstance(value, dict | list):
            ratio = _ratio(key, policy)
            lines.append(f"    · {_term(key, policy, lang, params)}{colon}{_nested(value, policy, lang, ratio)}")
    if ind.treatment:
        lines.append(w["treatment"].format(treatment=ind.treatment))
    return lines


def _flat(key: str, value: object, params: Mapping[str, object], policy: Policy, lang: str) -> str:
    """One plain detail: its name (the label of the input it is about, where it is one) and its value."""
    named = params.get("input") if key in ("value", "worst", "best") else params.get(key)
    ratio = isinstance(named, str) and _ratio(named, policy)
    shown = _exact(value, lang, ratio=True) if ratio and isinstance(value, Decimal) else _detail(value, policy, lang)
    return f"{_term(key, policy, lang, params)} {shown}"


def _adjustments(result: CountyResult, lang: str) -> list[str]:
    w = _words(lang)
    if not result.adjustments:
        return []
    lines = [w["adjustments"]]
    for adj in result.adjustments:
        capped = w["capped"].format(raw=_fmt(adj.uncapped)) if adj.uncapped != adj.points else ""
        sign = "+" if adj.kind == "bonus" else "−"
        lines.append(
            w["adjustment"].format(label=adj.label.get(lang), sign=sign, points=_fmt(adj.points), capped=capped)
        )
    return lines


def _vetoes(result: CountyResult, policy: Policy, lang: str) -> list[str]:
    w = _words(lang)
    if not result.vetoes:
        return []
    lines = [w["vetoes"]]
    for check in result.vetoes:
        key = "unknown" if check.met is None else "veto_hit" if check.met else "veto_ok"
        ratio = _ratio(check.subject, policy)
        lines.append(
            w[key].format(
                what=_what(check, policy, lang),
                value=_exact(check.value, lang, ratio),
                op=_op(check.op, lang),
                threshold=_exact(check.threshold, lang, ratio),
                origin=check.origin,
            )
        )
    return lines


def _check(check: Check, policy: Policy, lang: str) -> str:
    """One condition of a grade: met, failed or unknown, with the figures exactly as compared."""
    w = _words(lang)
    if check.met is not None and _yes_no(check):
        return w["yes_no_ok" if check.met else "yes_no_no"].format(what=_what(check, policy, lang), origin=check.origin)
    key = "unknown" if check.met is None else "check_ok" if check.met else "check_no"
    ratio = _ratio(check.subject, policy) and check.kind != "min_total"
    return w[key].format(
        what=_what(check, policy, lang),
        value=_exact(check.value, lang, ratio),
        op=_op(check.op, lang),
        threshold=_exact(check.threshold, lang, ratio),
        margin=_margin(check.margin, lang, ratio),
        origin=check.origin,
    )


def _yes_no(check: Check) -> bool:
    """A condition that is a plain yes or no (``input == true``, or 良好须上年度已达标): said as 是/否, not as a
    comparison of two truth values."""
    return check.op == "==" and check.threshold is True and isinstance(check.value, bool)


def _why_item(check: Check, policy: Policy, lang: str) -> str:
    w = _words(lang)
    what = _what(check, policy, lang)
    if _yes_no(check):
        return w["why_yes_no"].format(what=what)
    ratio = _ratio(check.subject, policy) and check.kind != "min_total"
    return w["why_item"].format(
        what=what,
        value=_exact(check.value, lang, ratio),
        op=_op(check.op, lang),
        threshold=_exact(check.threshold, lang, ratio),
    )


def _why(result: CountyResult, policy: Policy, lang: str) -> list[str]:
    w = _words(lang)
    out = []
    hits = [c for c in result.vetoes if c.met]
    if hits:
        reasons = _join(_what(c, policy, lang) for c in hits).render(_lang(lang))
        out.append(w["veto_reason"].format(reasons=reasons))
    if result.grade is None:  # an ungraded county has no next grade to explain
        return out
    for grade, checks in result.checks.items():
        if grade.rank == result.grade.rank + 1:
            failed = [c for c in checks if c.met is False]
            if failed:
                reasons = _join(_why_item(c, policy, lang) for c in failed).render(_lang(lang))
                out.append(w["why_fail"].format(grade=grade.label.get(lang), reasons=reasons))
    return out


_GAP_WORDS = {
    "title": tr("Gap to {grade}: total score {score}, the {grade} line is {line}, {points} short"),
    "title_met": tr("Gap to {grade}: total score {score} reaches the {grade} line of {line}; these are missing"),
    "blocked": tr("Gap to {grade}: vetoed ({what}); the veto decides the grade, no change of the indicators lifts it"),
    "required": tr("  required by a gate of {grade}: {step}"),
    "enough": tr("  these are enough for {grade}"),
    "options": tr("  then any one of these is enough:"),
    "options_alone": tr("  any one of these is enough:"),
    "plan": tr("  no single input is enough; all of these together are:"),
    "none": tr("  no single input is enough for {grade}, nor all of them together"),
    "note": tr("  note: {note}"),
    "more": tr("  · and {n} more"),
    "up": tr("{label} from {current} to at least {target}"),
    "down": tr("{label} from {current} to at most {target}"),
    "set": tr("{label} from {current} to {target}"),
    "change": tr(" ({sign}{change}{unit}; {method})"),
    "pp": tr(" percentage points"),
    "exact": tr("exact"),
    "searched": tr("searched"),
}
#: Options listed in a text explanation; the JSON and the reports keep them all.
_OPTIONS_SHOWN = 5


def _value(value: object, ratio: bool) -> str:
    if ratio and isinstance(value, Decimal):
        percent = (value * 100).normalize()
        exponent = percent.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -2:  # at least two decimals: 85.00 %, as ratios are written
            percent = percent.quantize(Decimal("0.01"))
        return f"{format(percent, 'f')} %"
    return _fmt(value)


@functools.cache
def _gap_words(lang: str) -> dict[str, str]:
    return {key: render(text, "zh" if lang == "zh" else "en") for key, text in _GAP_WORDS.items()}


@functools.cache
def _methods(lang: str) -> dict[str, str]:
    return {key: render(text, "zh" if lang == "zh" else "en") for key, text in _METHODS.items()}


def step_text(step: Step, lang: str) -> str:
    """One change in words: ``NPL ratio from 3.26 % to at most 2.2 % (−1.06 percentage points; exact)``."""
    w = _gap_words(lang)
    key = "up" if step.op == ">=" else "down" if step.op == "<=" else "set"
    text = w[key].format(
        label=step.label.get(lang), current=_value(step.current, step.ratio), target=_value(step.target, step.ratio)
    )
    if step.change is not None:
        change = abs(step.change) * 100 if step.ratio else abs(step.change)
        text += w["change"].format(
            sign="+" if step.change > 0 else "−",
            change=format(change.normalize(), "f"),
            unit=w["pp"] if step.ratio else "",
            method=w["exact" if step.method == EXACT else "searched"],
        )
    return text


def gap_lines(gap: Gap, lang: str = "zh") -> list[str]:
    """The gap to the next grade, as lines of an explanation."""
    w = _gap_words(lang)
    grade = gap.target.label.get(lang)
    if gap.blocked:
        what = _join(c.label.get(lang) if c.label else c.id for c in gap.blocked).render(_lang(lang))
        return [w["blocked"].format(grade=grade, what=what)]
    title = w["title"] if gap.points is None or gap.points > 0 else w["title_met"]
    lines = [title.format(grade=grade, score=_fmt(gap.score), line=_fmt(gap.line), points=_fmt(gap.points))]
    lines += [w["required"].format(step=step_text(s, lang), grade=grade) for s in gap.required]
    if gap.enough:
        lines.append(w["enough"].format(grade=grade))
    elif gap.options:
        lines.append(w["options" if gap.required else "options_alone"])
        lines += [f"  · {step_text(s, lang)}" for s in gap.options[:_OPTIONS_SHOWN]]
        if len(gap.options) > _OPTIONS_SHOWN:
            lines.append(w["more"].format(n=len(gap.options) - _OPTIONS_SHOWN))
    elif gap.plan:
        lines.append(w["plan"])
        lines += [f"  · {step_text(s, lang)}" for s in gap.plan]
    elif gap.note in (None, NOTHING_ENOUGH):
        lines.append(w["none"].format(grade=grade))
    if gap.note not in (None, NOTHING_ENOUGH, NO_SINGLE_INPUT):
        lines.append(w["note"].format(note=render(gap.note, _lang(lang))))
    return lines
