"""Policy impact: what changed between two policy versions, and which counties change grade on given data and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import raw_from_mapping
from fineco_rules.engine._results import CountyResult, Evaluation, jsonable
from fineco_rules.io._readers import RawRecord
from fineco_rules.io._yaml import DocPath
from fineco_rules.policy._model import Grade, Origin, Policy
from fineco_rules.scoring._host import PluginHost

__all__ = ["CountyChange", "PolicyChange", "PolicyDiff", "Reason", "diff_policies"]


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
