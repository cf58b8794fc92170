"""Which rules of a policy come from the source, with the clause, and which are assumptions of the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import attrs

from fineco_rules.errors import Lang, Msg, join, tr
from fineco_rules.policy._model import Basis, Policy
from fineco_rules.scoring._scorer import Label

__all__ = ["RuleProvenance", "provenance", "provenance_lines"]

Kind = Literal["source", "source+assumption", "assumption", "undeclared"]

_HEADING = tr("Where the rules come from (a clause of the source, or an assumption of this method):")
_UNDECLARED = tr("no basis given")


@attrs.frozen
class RuleProvenance:
    """One rule of a policy: where it sits, its label, its ``basis:`` marker and the assumption it names."""

    path: str
    label: Label
    basis: Basis | None
    assumption: Label | None

    @property
    def kind(self) -> Kind:
        """``source`` (the source gives it), ``assumption`` (the file chose it), ``source+assumption`` (the
        source gives the rule, the file chose how to apply it), or ``undeclared``."""
        if self.basis is None:
            return "undeclared"
        if self.basis.source is None:
            return "assumption"
        return "source" if self.basis.assumption is None else "source+assumption"

    def text(self, lang: str = "zh") -> str:
        """One line: the rule's label, then the clause it reads and the assumption it rests on."""
        language: Lang = "zh" if lang == "zh" else "en"
        parts: list[Msg] = []
        basis = self.basis
        if basis is None:
            parts.append(_UNDECLARED)
        else:
            if basis.source is not None:
                quote = f" “{basis.quote}”" if basis.quote else ""
                parts.append(tr("source {clause}{quote}", clause=basis.source, quote=quote))
            if basis.assumption is not None:
                said = self.assumption.get(lang) if self.assumption is not None else basis.assumption
                parts.append(tr("assumption `{name}`: {said}", name=basis.assumption, said=said))
        line = tr(
            "{label} ({path}): {parts}", label=self.label.get(lang), path=self.path, parts=join(parts, en="; ", zh="；")
        )
        return line.render(language)


def _label(policy: Policy, path: tuple[str, ...]) -> Label:
    parts = [str(p) for p in path]
    if parts[0] == "indicators":
        return policy.indicators[parts[1]].label
    if parts[0] == "grades":
        rule = next(r for r in policy.grades if r.grade.value == parts[1])
        if len(parts) == 2:
            return rule.label
        gate = rule.gates[parts[3]]
        return gate.label or Label(str(gate), str(gate))
    if parts[0] == "vetoes":
        return policy.vetoes[parts[1]].label
    if parts[0] == "adjustments":
        return policy.adjustments[parts[1]].label
    if parts[0] == "targets":
        return policy.targets[parts[1]].label
    if parts[0] == "rollup" and len(parts) == 3:
        number = int(parts[2]) + 1
        if parts[1] == "village":
            criterion = tr("credit village criterion {number}", number=number)
        else:
            criterion = tr("credit township criterion {number}", number=number)
        return Label(criterion.render("zh"), criterion.render("en"))
    return Label(".".join(parts), ".".join(parts))


def _rules(policy: Policy) -> Iterator[tuple[str, ...]]:
    for name in policy.indicators:
        yield ("indicators", name)
    for rule in policy.grades:
        yield ("grades", rule.grade.value)
        for gid in rule.gates:
            yield ("grades", rule.grade.value, "gates", gid)
    yield from (("vetoes", v) for v in policy.vetoes)
    yield from (("adjustments", a) for a in policy.adjustments)
    yield from (("targets", t) for t in policy.targets)
    yield from (tuple(b.path.split(".")) for b in policy.bases.values() if b.path.startswith("rollup."))


def provenance(policy: Policy) -> tuple[RuleProvenance, ...]:
    """Every rule of ``policy`` (indicators, grade lines, gates, vetoes, adjustments, targets, and roll-up
    criteria that carry a marker) with where it comes from, in the order of the policy."""
    out = []
    for path in _rules(policy):
        dotted = ".".join(path)
        basis = policy.bases.get(dotted)
        named = policy.assumptions.get(basis.assumption) if basis and basis.assumption else None
        out.append(RuleProvenance(dotted, _label(policy, path), basis, named))
    return tuple(out)


def provenance_lines(policy: Policy, lang: str = "zh") -> list[str]:
    """The rules' sources as lines for a report or an explanation; none when the policy marks no rule."""
    if not policy.bases:
        return []
    return [_HEADING.render("zh" if lang == "zh" else "en"), *(f"  · {rule.text(lang)}" for rule in provenance(policy))]
