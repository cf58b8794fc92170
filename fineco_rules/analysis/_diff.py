"""Policy impact: what changed between two policy versions, and which counties change grade on given data and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import raw_from_mapping
from fineco_rules.engine._results import CountyResult, Evaluation, jsonable
from fineco_rules.errors import join, tr
from fineco_rules.io._readers import RawRecord
from fineco_rules.io._yaml import DocPath
from fineco_rules.policy._model import Condition, Grade, Origin, Policy, Target
from fineco_rules.scoring._host import PluginHost

__all__ = ["CountyChange", "PolicyChange", "PolicyDiff", "Reason", "change_zh", "diff_policies", "path_zh", "reason_zh"]


@attrs.frozen
class PolicyChange:
    """One value that differs: ``added``, ``removed`` or ``changed``, at a path inside the policy."""

    kind: str
    path: tuple[str, ...]
    old: Any
    new: Any
    old_origin: Origin | None
    new_origin: Origin | None

    @property
    def where(self) -> str:
        return ".".join(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.where,
            "old": jsonable(self.old),
            "new": jsonable(self.new),
            "old_origin": None if self.old_origin is None else self.old_origin.to_dict(),
            "new_origin": None if self.new_origin is None else self.new_origin.to_dict(),
        }


@attrs.frozen
class Reason:
    """Why a grade moved: a check (min_total, gate, veto) that flipped, or an indicator score that changed."""

    kind: Literal["check", "veto", "indicator", "graded"]
    id: str
    grade: str | None
    old: Any
    new: Any
    old_met: bool | None = None
    new_met: bool | None = None
    old_threshold: Any = None
    new_threshold: Any = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(attrs.asdict(self, recurse=False))  # type: ignore[no-any-return]


@attrs.frozen
class CountyChange:
    """A county whose grade differs under the new policy, with the reasons."""

    county: str
    name: str | None
    old_grade: Grade | None
    new_grade: Grade | None
    old_score: Decimal | None
    new_score: Decimal | None
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "name": self.name,
            "old_grade": jsonable(self.old_grade),
            "new_grade": jsonable(self.new_grade),
            "old_score": jsonable(self.old_score),
            "new_score": jsonable(self.new_score),
            "reasons": [r.to_dict() for r in self.reasons],
        }


@attrs.frozen(eq=False)
class PolicyDiff:
    """Two policies compared, and (given data) the counties whose grade changes."""

    old: Policy
    new: Policy
    changes: tuple[PolicyChange, ...]
    counties: tuple[CountyChange, ...] = ()
    compared: int = 0

    def to_dict(self) -> dict[str, Any]:
        def name(p: Policy) -> dict[str, Any]:
            return {"id": p.id, "version": p.version, "file": p.file}

        return {
            "old": name(self.old),
            "new": name(self.new),
            "changes": [c.to_dict() for c in self.changes],
            "compared": self.compared,
            "counties": [c.to_dict() for c in self.counties],
        }


# -- what the policies say ---------------------------------------------------------------------


def _facts(policy: Policy) -> dict[DocPath, Any]:
    """Every value that decides a grade or a target, by its path in the policy document."""
    out: dict[DocPath, Any] = {
        ("label",): policy.label,
        ("effective_from",): policy.effective_from,
        ("effective_until",): policy.effective_until,
        ("precision",): policy.precision,
        ("aggregation", "method"): policy.aggregation.method,
        ("aggregation", "total"): policy.aggregation.total,
        ("aggregation", "bonus_cap"): policy.aggregation.bonus_cap,
        ("aggregation", "deduction_cap"): policy.aggregation.deduction_cap,
    }
    for name, spec in policy.inputs.items():
        for key in ("type", "min", "max", "better", "required", "internal"):
            value = getattr(spec, key)
            out[("inputs", name, key)] = value.value if key == "better" else value
    for name, group in policy.aggregation.groups.items():
        out[("aggregation", "groups", name, "weight")] = group.weight
    for name, ind in policy.indicators.items():
        out[("indicators", name, "scorer")] = ind.scorer
        out[("indicators", name, "params")] = ind.params
        out[("indicators", name, "group")] = ind.group
        out[("indicators", name, "weight")] = ind.weight
        out[("indicators", name, "points")] = ind.points
        out[("indicators", name, "missing")] = attrs.asdict(ind.missing)
    for rule in policy.grades:
        out[("grades", rule.grade.value, "min_total")] = rule.min_total
        for gid, gate in rule.gates.items():
            out[("grades", rule.grade.value, "gates", gid)] = str(gate)
    for vid, veto in policy.vetoes.items():
        out[("vetoes", vid, "when")] = str(veto.when)
    for aid, adj in policy.adjustments.items():
        for key in ("kind", "points", "input", "per_unit", "cap"):
            out[("adjustments", aid, key)] = getattr(adj, key)
        out[("adjustments", aid, "when")] = None if adj.when is None else str(adj.when)
    for tid, target in policy.targets.items():
        metric = f"{target.metric}({target.input})" if target.input else target.metric
        out[("targets", tid)] = f"{metric} {target.op} {target.value} [{target.scope}]"
    return out


def _owner(path: DocPath) -> DocPath:
    """The path whose appearance or disappearance an added or removed fact belongs to."""
    depth = {"inputs": 2, "indicators": 2, "vetoes": 2, "adjustments": 2, "targets": 2}.get(str(path[0]), 0)
    if path[0] == "grades" and len(path) > 3:
        depth = 4
    if path[0] == "aggregation" and path[1:2] == ("groups",):
        depth = 3
    return path[:depth] if depth else path


def _origin(policy: Policy, path: DocPath) -> Origin:
    """The origin of ``path``, or of its closest written parent (a key the file leaves out has no line)."""
    probe = path
    while len(probe) > 1:
        try:
            return policy.origin(probe)
        except (KeyError, IndexError, TypeError):
            probe = probe[:-1]
    return policy.origin(probe)


def compare_policies(old: Policy, new: Policy) -> tuple[PolicyChange, ...]:
    """Every difference between ``old`` and ``new``; a whole added or removed part is one change."""
    before, after = _facts(old), _facts(new)
    changes: list[PolicyChange] = []
    reported: set[DocPath] = set()
    for path in [*before, *(p for p in after if p not in before)]:
        a, b = before.get(path), after.get(path)
        owner = _owner(path)
        gone, come = owner in _parts(before) and owner not in _parts(after), owner not in _parts(before)
        if gone or come:
            if owner not in reported:
                reported.add(owner)
                kind = "removed" if gone else "added"
                changes.append(
                    PolicyChange(
                        kind,
                        tuple(map(str, owner)),
                        None if come else _part(before, owner),
                        None if gone else _part(after, owner),
                        _origin(old, owner) if gone else None,
                        _origin(new, owner) if come else None,
                    )
                )
            continue
        if a != b:
            changes.append(
                PolicyChange(
                    "changed",
                    tuple(map(str, path)),
                    a,
                    b,
                    _origin(old, path) if a is not None else None,
                    _origin(new, path) if b is not None else None,
                )
            )
    return tuple(changes)


def _parts(facts: Mapping[DocPath, Any]) -> set[DocPath]:
    return {_owner(p) for p in facts}


def _part(facts: Mapping[DocPath, Any], owner: DocPath) -> Any:
    found = {".".join(map(str, p[len(owner) :])): v for p, v in facts.items() if _owner(p) == owner and v is not None}
    return found[""] if list(found) == [""] else found


# -- what it does to the counties ---------------------------------------------------------------


def _reasons(old: CountyResult, new: CountyResult) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if (old.grade is None) != (new.grade is None):
        why_old = "; ".join(p.message for p in old.errors) or None
        why_new = "; ".join(p.message for p in new.errors) or None
        reasons.append(Reason("graded", "graded", None, why_old, why_new, old.grade is not None, new.grade is not None))
    levels = list(dict.fromkeys([*old.checks, *new.checks]))
    for level in levels:
        was = {c.id: c for c in old.checks.get(level, ())}
        now = {c.id: c for c in new.checks.get(level, ())}
        for cid in dict.fromkeys([*was, *now]):
            a, b = was.get(cid), now.get(cid)
            if (a.met if a else None) != (b.met if b else None):
                reasons.append(
                    Reason(
                        "check",
                        cid,
                        level.value,
                        a.value if a else None,
                        b.value if b else None,
                        a.met if a else None,
                        b.met if b else None,
                        a.threshold if a else None,
                        b.threshold if b else None,
                    )
                )
    was_v = {c.id: c for c in old.vetoes}
    now_v = {c.id: c for c in new.vetoes}
    for vid in dict.fromkeys([*was_v, *now_v]):
        a, b = was_v.get(vid), now_v.get(vid)
        if (a.met if a else None) != (b.met if b else None):
            reasons.append(
                Reason(
                    "veto",
                    vid,
                    None,
                    a.value if a else None,
                    b.value if b else None,
                    a.met if a else None,
                    b.met if b else None,
                )
            )
    moved = []
    for name in dict.fromkeys([*old.indicators, *new.indicators]):
        a_score = old.indicators[name].score if name in old.indicators else None
        b_score = new.indicators[name].score if name in new.indicators else None
        if a_score != b_score:
            delta = (b_score or Decimal(0)) - (a_score or Decimal(0))
            moved.append((-abs(delta), name, Reason("indicator", name, None, a_score, b_score)))
    reasons += [r for _, _, r in sorted(moved, key=lambda m: (m[0], m[1]))]
    return tuple(reasons)


def diff_policies(
    old: Policy | CompiledPolicy,
    new: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord] | None = None,
    *,
    host: PluginHost | None = None,
) -> PolicyDiff:
    """What changed from ``old`` to ``new`` and, on ``records``, which counties change grade and why."""
    old_c = old if isinstance(old, CompiledPolicy) else compile_policy(old, host)
    new_c = new if isinstance(new, CompiledPolicy) else compile_policy(new, host)
    changes = compare_policies(old_c.policy, new_c.policy)
    if records is None:
        return PolicyDiff(old_c.policy, new_c.policy, changes)
    raws = [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
    before: Evaluation = old_c.evaluate(raws)
    after = new_c.evaluate(raws).by_county()
    moved = []
    for a in before.results:
        b = after.get(a.county)
        if b is None or a.grade == b.grade:
            continue
        moved.append(CountyChange(a.county, a.name, a.grade, b.grade, a.score, b.score, _reasons(a, b)))
    return PolicyDiff(old_c.policy, new_c.policy, changes, tuple(moved), len(before.results))


# -- in words ---------------------------------------------------------------------------------------

#: The parts of a policy in Chinese, where a change names a fact rather than a labelled item.
_PARTS_ZH: dict[str, str] = {
    "label": "政策名称",
    "effective_from": "生效日期",
    "effective_until": "失效日期",
    "precision": "计分精度",
    "aggregation": "汇总方法",
    "method": "汇总方式",
    "total": "总分",
    "bonus_cap": "加分上限",
    "deduction_cap": "扣分合计上限",
    "groups": "分组",
    "weight": "权重",
    "points": "分值",
    "scorer": "计分方法",
    "params": "计分参数",
    "group": "所属分组",
    "missing": "缺失处理",
    "min_total": "分数线",
    "gates": "门槛",
    "when": "条件",
    "per_unit": "每件分值",
    "cap": "上限",
    "kind": "类型",
    "input": "输入",
    "type": "类型",
    "min": "最小值",
    "max": "最大值",
    "better": "方向",
    "required": "必填",
    "internal": "内部输入",
}
_KINDS_ZH: dict[str, str] = {"changed": "修改", "added": "新增", "removed": "删除"}
_OPS_ZH: dict[str, str] = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}
_SCOPES_ZH: dict[str, str] = {"province": "全省", "city": "各市"}
_MARK: dict[bool | None, str] = {True: "✓", False: "✗", None: "?"}


def _label_of(policy: Policy, table: str, key: str) -> str | None:
    """The Chinese label of an item of ``policy`` by the table it lives in, if it has one."""
    if table == "grades":
        rule = next((r for r in policy.grades if r.grade.value == key), None)
        return None if rule is None else rule.grade.label.zh
    items: Mapping[str, Any] = {
        "inputs": policy.inputs,
        "indicators": policy.indicators,
        "vetoes": policy.vetoes,
        "adjustments": policy.adjustments,
        "targets": policy.targets,
        "groups": policy.aggregation.groups,
    }.get(table, {})
    item = items.get(key)
    return None if item is None else str(item.label.zh)


def _gate_ratio(policies: Iterable[Policy], grade: str, gate: str) -> bool:
    """Whether a gate compares a ratio input (its figures shown as percentages)."""
    for policy in policies:
        for rule in policy.grades:
            found = rule.gates.get(gate) if rule.grade.value == grade else None
            if found is not None:
                spec = policy.inputs.get(found.subject)
                return spec is not None and spec.type == "ratio"
    return False


def _gate_label(policies: Iterable[Policy], grade: str, gate: str) -> str | None:
    for policy in policies:
        for rule in policy.grades:
            found = rule.gates.get(gate) if rule.grade.value == grade else None
            if found is not None:
                return found.label.zh if found.label else None
    return None


def path_zh(path: tuple[str, ...], policies: Iterable[Policy]) -> str:
    """A policy path in Chinese: labelled items by their label (``grades.pass.gates.npl_below_6pct`` →
    达标门槛：不良贷款率（五级分类）在6%以下（含6%）), other parts by their name in Chinese."""
    policies = tuple(policies)
    words: list[str] = []
    rest = list(path)
    while rest:
        part = rest.pop(0)
        if part in ("inputs", "indicators", "vetoes", "adjustments", "targets", "grades") and rest:
            key = rest.pop(0)
            if part == "grades" and rest[:1] == ["gates"] and len(rest) > 1:
                gate = _gate_label(policies, key, rest[1])
                grade = next((g for g in (_label_of(p, part, key) for p in policies) if g), key)
                words.append(f"{grade}门槛：{gate or rest[1]}")
                rest = rest[2:]
                continue
            words.append(next((g for g in (_label_of(p, part, key) for p in policies) if g), key))
        elif part == "groups" and rest and path[0] == "aggregation":
            key = rest.pop(0)
            words.append(next((g for g in (_label_of(p, part, key) for p in policies) if g), key))
        elif part != "aggregation" or not rest:
            words.append(_PARTS_ZH.get(part, part))
    return "的".join(words)


def _condition_zh(condition: Condition, policy: Policy) -> str:
    spec = policy.inputs.get(condition.subject)
    what = spec.label.zh if spec is not None else condition.subject
    value = condition.value
    if isinstance(value, bool):
        return f"{what}为{'是' if value else '否'}" if condition.op == "==" else f"{what}不为{'是' if value else '否'}"
    shown = _percent(value) if spec is not None and spec.type == "ratio" else format(value, "f")
    return f"{what} {_OPS_ZH.get(condition.op, condition.op)} {shown}"


def _percent(value: Decimal) -> str:
    return format(value.scaleb(2).normalize(), "f") + "%"


def _target_zh(target: Target) -> str:
    shown = (
        format(target.value, "f") if target.metric in ("counties_per_city", "input_mean") else _percent(target.value)
    )
    return f"{_OPS_ZH.get(target.op, target.op)} {shown}（{_SCOPES_ZH.get(target.scope, target.scope)}）"


def _value_zh(value: Any, path: tuple[str, ...], policy: Policy | None) -> str:
    """A value of a change in Chinese: conditions and targets read from the policy, labels in Chinese."""
    if value is None:
        return "—"
    if policy is not None and path[0] == "targets" and path[1] in policy.targets:
        return _target_zh(policy.targets[path[1]])
    if policy is not None and path[0] == "grades" and len(path) == 4:
        rule = next((r for r in policy.grades if r.grade.value == path[1]), None)
        if rule is not None and path[3] in rule.gates:
            return _condition_zh(rule.gates[path[3]], policy)
    if policy is not None and path[0] == "vetoes" and path[1] in policy.vetoes:
        return _condition_zh(policy.vetoes[path[1]].when, policy)
    if policy is not None and path[0] == "indicators" and len(path) == 2 and isinstance(value, dict):
        return _indicator_zh(path[1], value, policy)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + "，".join(f"{_PARTS_ZH.get(k, k)}：{_value_zh(v, path, None)}" for k, v in value.items()) + "}"
    if hasattr(value, "zh") and hasattr(value, "en"):
        return str(value.zh)
    return str(value)


def _indicator_zh(name: str, value: Mapping[str, Any], policy: Policy) -> str:
    """An added or removed indicator as a reader names it: its label, scorer, points or weight, and group."""
    indicator = policy.indicators.get(name)
    parts: list[object] = [tr("indicator “{label}”", label=indicator.label if indicator is not None else name)]
    parts.append(tr("scorer {scorer}", scorer=value.get("scorer", "—")))
    if value.get("points") is not None:
        parts.append(tr("{points} points", points=_value_zh(value["points"], ("",), None)))
    if value.get("weight") is not None:
        parts.append(tr("weight {weight}", weight=_value_zh(value["weight"], ("",), None)))
    group = value.get("group")
    if group is not None:
        found = policy.aggregation.groups.get(group)
        parts.append(tr("in group “{group}”", group=found.label if found is not None else group))
    return join(parts, en=", ", zh="，").render("zh")


def change_zh(change: PolicyChange, diff: PolicyDiff) -> str:
    """One change of a policy in Chinese: what (by its label), before → after, and where it is written."""
    where = change.new_origin or change.old_origin
    path = tuple(change.path)
    before = _value_zh(change.old, path, diff.old)
    after = _value_zh(change.new, path, diff.new)
    what = path_zh(path, (diff.new, diff.old))
    return f"  {_KINDS_ZH.get(change.kind, change.kind)}  {what}：{before} → {after}（{where}）"


def reason_zh(reason: Reason, diff: PolicyDiff) -> str:
    """Why a county's grade moved, in Chinese, naming each indicator and condition by its label."""
    policies = (diff.new, diff.old)
    if reason.kind == "indicator":
        what = next((g for g in (_label_of(p, "indicators", reason.id) for p in policies) if g), reason.id)
        return f"指标“{what}”得分：{_value_zh(reason.old, ('',), None)} → {_value_zh(reason.new, ('',), None)}"
    if reason.kind == "graded":
        return f"评定：{_value_zh(reason.old, ('',), None)} → {_value_zh(reason.new, ('',), None)}"
    if reason.kind == "veto":
        what = next((g for g in (_label_of(p, "vetoes", reason.id) for p in policies) if g), reason.id)
    elif reason.id == "min_total" and reason.grade:
        grade = next((g for g in (_label_of(p, "grades", reason.grade) for p in policies) if g), reason.grade)
        what = f"{grade}分数线"
    else:
        level = reason.grade or ""
        grade = next((g for g in (_label_of(p, "grades", level) for p in policies) if g), level)
        what = f"{grade}门槛：{_gate_label(policies, reason.grade or '', reason.id) or reason.id}"
    ratio = reason.kind == "check" and _gate_ratio(policies, reason.grade or "", reason.id)

    def shown(value: Any) -> str:
        return _percent(value) if ratio and isinstance(value, Decimal) else _value_zh(value, ("",), None)

    text = f"{what}：{shown(reason.old)} {_MARK[reason.old_met]} → {shown(reason.new)} {_MARK[reason.new_met]}"
    if reason.old_threshold != reason.new_threshold:
        text += f"（{shown(reason.old_threshold)} → {shown(reason.new_threshold)}）"
    return text
