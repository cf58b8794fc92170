"""What a policy compares, read off its declarative form: conditions and where they sit, the
domain of every subject, regions of values, and the built-in scorers as piecewise functions."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal

import attrs

from fineco_rules.errors import Location
from fineco_rules.io._numbers import CONTEXT, ZERO, as_decimal
from fineco_rules.io._yaml import DocPath, path_text
from fineco_rules.policy._model import Condition, Grade, Indicator, InputSpec, Origin, Policy
from fineco_rules.scoring._scorer import Better

__all__ = [
    "Piece",
    "Region",
    "Site",
    "Span",
    "at",
    "condition_region",
    "direction_of",
    "domain_of",
    "input_domain",
    "max_reach",
    "max_total",
    "monotone_breach",
    "pieces_of",
    "sites",
    "thresholds",
]

#: Scorers whose params this module understands; a plugin's scorer is a black box to it.
ROW_SCORERS: Final = frozenset({"linear", "bands", "threshold"})


def at(origin: Origin, path: DocPath | str) -> Location:
    """A problem location for a value set at ``origin``, named by its path in the policy."""
    return Location(origin.file, origin.line, origin.column, path if isinstance(path, str) else path_text(path))


# -- regions of values --------------------------------------------------------------------


@attrs.frozen
class Span:
    """An interval of numbers; ``None`` ends are unbounded, ``*_in`` says whether an end belongs to it."""

    low: Decimal | None = None
    low_in: bool = False
    high: Decimal | None = None
    high_in: bool = False

    @property
    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_in and self.high_in))

    def meet(self, other: Span) -> Span:
        low, low_in = self.low, self.low_in
        if other.low is not None and (low is None or other.low > low):
            low, low_in = other.low, other.low_in
        elif other.low is not None and other.low == low:
            low_in = low_in and other.low_in
        high, high_in = self.high, self.high_in
        if other.high is not None and (high is None or other.high < high):
            high, high_in = other.high, other.high_in
        elif other.high is not None and other.high == high:
            high_in = high_in and other.high_in
        return Span(low, low_in, high, high_in)

    def contains(self, value: Decimal) -> bool:
        above = self.low is None or value > self.low or (self.low_in and value == self.low)
        below = self.high is None or value < self.high or (self.high_in and value == self.high)
        return above and below

    def point(self, integer: bool = False) -> Decimal:
        """A member to show in a counterexample: a closed end where there is one, a round number otherwise."""
        low, high = self.low, self.high
        candidates: list[Decimal] = []
        if low is not None and self.low_in:
            candidates.append(low)
        if high is not None and self.high_in:
            candidates.append(high)
        if low is not None and high is not None:
            candidates.append(CONTEXT.divide(low + high, Decimal(2)))
        elif low is not None:
            candidates.append(low + 1)
        elif high is not None:
            candidates.append(high - 1)
        else:
            candidates.append(ZERO)
        if integer:
            whole = [Decimal(math.ceil(low))] if low is not None else []
            whole += [Decimal(math.floor(high))] if high is not None else []
            for value in [c for c in candidates if c == c.to_integral_value()] + whole:
                if self.contains(value):
                    return value
        return next(c for c in candidates if self.contains(c))

    def text(self) -> str:
        left = "(" if self.low is None or not self.low_in else "["
        right = ")" if self.high is None or not self.high_in else "]"
        return f"{left}{'-∞' if self.low is None else self.low}, {'+∞' if self.high is None else self.high}{right}"


def _sort_key(span: Span) -> tuple[bool, Decimal, bool]:
    return (span.low is not None, span.low if span.low is not None else ZERO, not span.low_in)


@attrs.frozen
class Region:
    """A set of values of one subject: disjoint spans of numbers, or a set of booleans."""

    spans: tuple[Span, ...] = ()
    bools: frozenset[bool] | None = None

    @classmethod
    def of(cls, *spans: Span) -> Region:
        return cls(tuple(sorted((s for s in spans if not s.empty), key=_sort_key)))

    @property
    def empty(self) -> bool:
        return not self.bools if self.bools is not None else not self.spans

    def __and__(self, other: Region) -> Region:
        if self.bools is not None or other.bools is not None:
            return Region(bools=(self.bools or frozenset()) & (other.bools or frozenset()))
        return Region.of(*(a.meet(b) for a in self.spans for b in other.spans))

    def complement(self) -> Region:
        if self.bools is not None:
            return Region(bools=frozenset({True, False}) - self.bools)
        gaps: list[Span] = []
        low: Decimal | None = None
        low_in = False
        first = True
        for span in self.spans:
            if not (first and span.low is None):
                gaps.append(Span(low, low_in, span.low, not span.low_in))
            first = False
            if span.high is None:
                return Region.of(*gaps)
            low, low_in = span.high, not span.high_in
        gaps.append(Span(low, low_in, None, False))
        return Region.of(*gaps)

    def __sub__(self, other: Region) -> Region:
        return self & other.complement()

    def __le__(self, other: Region) -> bool:
        return (self - other).empty

    def contains(self, value: Decimal | bool) -> bool:
        if self.bools is not None:
            return value in self.bools
        return not isinstance(value, bool) and any(s.contains(value) for s in self.spans)

    def text(self) -> str:
        if self.bools is not None:
            return " or ".join(str(b).lower() for b in sorted(self.bools)) or "nothing"
        return " ∪ ".join(s.text() for s in self.spans) or "nothing"


BOTH: Final = Region(bools=frozenset({True, False}))


def condition_region(op: str, value: Decimal | bool) -> Region:
    """The values for which ``subject <op> value`` holds."""
    if isinstance(value, bool):
        return Region(bools=frozenset({value} if op == "==" else {not value}))
    spans = {
        "<": (Span(None, False, value, False),),
        "<=": (Span(None, False, value, True),),
        ">": (Span(value, False, None, False),),
        ">=": (Span(value, True, None, False),),
        "==": (Span(value, True, value, True),),
        "!=": (Span(None, False, value, False), Span(value, False, None, False)),
    }[op]
    return Region.of(*spans)


# -- where conditions sit -------------------------------------------------------------------


@attrs.frozen
class Site:
    """A condition of the policy: a gate of a grade, a veto, or the ``when`` of an adjustment."""

    path: DocPath
    role: Literal["gate", "veto", "bonus", "deduction"]
    condition: Condition
    grade: Grade | None = None

    @property
    def name(self) -> str:
        """The dotted path that names it, e.g. ``grades.pass.gates.npl_ok``."""
        return path_text(self.path[:-1] if self.path[-1] == "when" else self.path)

    @property
    def location(self) -> Location:
        return at(self.condition.origin, self.name)


def sites(policy: Policy) -> list[Site]:
    """Every condition of ``policy``, in the order of the file's sections."""
    found = [
        Site(("grades", rule.grade.value, "gates", gid), "gate", gate, rule.grade)
        for rule in policy.grades
        for gid, gate in rule.gates.items()
    ]
    found += [Site(("vetoes", vid, "when"), "veto", veto.when) for vid, veto in policy.vetoes.items()]
    found += [
        Site(("adjustments", aid, "when"), adj.kind, adj.when)
        for aid, adj in policy.adjustments.items()
        if adj.when is not None
    ]
    return found


# -- domains ------------------------------------------------------------------------------


def input_domain(spec: InputSpec) -> Region:
    """The values ``spec`` declares possible (a ratio's default range is 0 to 1)."""
    if spec.type == "boolean":
        return BOTH
    return Region.of(Span(spec.min, spec.min is not None, spec.max, spec.max is not None))


def _upto(high: Decimal | None) -> Region:
    return Region.of(Span(ZERO, True, high, high is not None))


def domain_of(policy: Policy, cond: Condition, reach: Mapping[str, Decimal]) -> Region:
    """The values the subject of ``cond`` can take: an input's range, 0 to a score's reachable maximum."""
    if cond.kind == "input":
        spec = policy.inputs.get(cond.subject)
        return input_domain(spec) if spec is not None else Region.of(Span())
    if cond.kind == "indicator":
        return _upto(reach.get(cond.subject))
    if cond.kind == "group":
        return _upto(group_max(policy, cond.subject, reach))
    return _upto(max_total(policy, reach))


def direction_of(policy: Policy, cond: Condition) -> Better:
    """Which way the subject of ``cond`` is better: an input's declared direction; scores are better higher."""
    if cond.kind == "input":
        spec = policy.inputs.get(cond.subject)
        return spec.better if spec is not None else Better.NONE
    return Better.HIGHER


def is_integer(policy: Policy, cond: Condition) -> bool:
    spec = policy.inputs.get(cond.subject) if cond.kind == "input" else None
    return spec is not None and spec.type == "integer"


# -- built-in scorers as piecewise functions ----------------------------------------------------


@attrs.frozen
class Piece:
    """Where a piecewise function takes one value; ``path`` is where the policy writes that piece."""

    region: Region
    value: Decimal
    path: DocPath


def _band_span(band: Mapping[str, object], closed_right: bool) -> Span:
    low = as_decimal(band["min"]) if "min" in band else None
    high = as_decimal(band["max"]) if "max" in band else None
    if closed_right:
        return Span(low, False, high, high is not None)
    return Span(low, low is not None, high, False)


def pieces_of(indicator: Indicator, domain: Region) -> list[Piece] | None:
    """A ``bands`` or ``threshold`` indicator as the points it gives on each region of its input's domain.

    Values that no band or rule covers score 0 (``otherwise`` for threshold); ``None`` for other scorers.
    """
    params = indicator.params
    base: DocPath = ("indicators", indicator.name, "params")
    if indicator.scorer == "bands":
        closed_right = params.get("closed", "left") == "right"
        found = [
            Piece(Region.of(_band_span(band, closed_right)) & domain, as_decimal(band["points"]), (*base, "bands", i))
            for i, band in enumerate(params["bands"])
        ]
        covered = Region.of(*(s for p in found for s in p.region.spans))
        found.append(Piece(domain - covered, ZERO, (*base, "bands")))
        return [p for p in found if not p.region.empty]
    if indicator.scorer == "threshold":
        rest = domain
        found = []
        for i, rule in enumerate(params["rules"]):
            value = rule["value"] if isinstance(rule["value"], bool) else as_decimal(rule["value"])
            if isinstance(value, bool) != (domain.bools is not None):
                return None  # a mistyped rule is the loader's to report
            region = condition_region(rule["op"], value) & rest
            found.append(Piece(region, as_decimal(rule["points"]), (*base, "rules", i)))
            rest = rest - region
        found.append(Piece(rest, as_decimal(params.get("otherwise", 0)), (*base, "otherwise")))
        return [p for p in found if not p.region.empty]
    return None


def monotone_breach(
    pieces: Sequence[Piece], better: Better, integer: bool = False
) -> tuple[Decimal | bool, Piece, Decimal | bool, Piece] | None:
    """A worse value and a better value where the better one gets less, or ``None`` if there is none.

    Returns ``(worse, its piece, better, its piece)``. Pieces are disjoint, so a span of one
    piece lies wholly above or below a span of another: comparing one member of each decides.
    """
    if better is Better.NONE:
        return None
    for high_piece in pieces:
        for low_piece in pieces:
            if low_piece.value >= high_piece.value:
                continue
            # low_piece gives less than high_piece: it must not lie on the better side of it.
            if high_piece.region.bools is not None:
                assert low_piece.region.bools is not None  # noqa: S101  # pieces of one subject share its type
                for gets_less in low_piece.region.bools:
                    for gets_more in high_piece.region.bools:
                        if gets_less != gets_more and gets_less is (better is Better.HIGHER):
                            return gets_more, high_piece, gets_less, low_piece
                continue
            for hs in high_piece.region.spans:
                for ls in low_piece.region.spans:
                    x, y = hs.point(integer), ls.point(integer)
                    if (y > x) if better is Better.HIGHER else (y < x):
                        return x, high_piece, y, low_piece
    return None


def thresholds(policy: Policy) -> dict[str, set[Decimal]]:
    """For each input, every number the policy compares it with: conditions, band edges, rules, goalposts."""
    found: dict[str, set[Decimal]] = {}
    for site in sites(policy):
        cond = site.condition
        if cond.kind == "input" and not isinstance(cond.value, bool):
            found.setdefault(cond.subject, set()).add(cond.value)
    for indicator in policy.indicators.values():
        for field, value in _scorer_numbers(indicator):
            found.setdefault(field, set()).add(value)
    return found


def _scorer_numbers(indicator: Indicator) -> Iterator[tuple[str, Decimal]]:
    params = indicator.params
    if indicator.scorer not in ROW_SCORERS:
        return
    field = params["input"]
    if indicator.scorer == "linear":
        yield field, as_decimal(params["worst"])
        yield field, as_decimal(params["best"])
    elif indicator.scorer == "bands":
        for band in params["bands"]:
            for key in ("min", "max"):
                if key in band:
                    yield field, as_decimal(band[key])
    else:
        for rule in params["rules"]:
            if not isinstance(rule["value"], bool):
                yield field, as_decimal(rule["value"])


# -- reachable maxima ---------------------------------------------------------------------------


def _highest(domain: Region) -> Decimal | None:
    """The top of a numeric domain; ``None`` when it is unbounded."""
    return domain.spans[-1].high if domain.spans else None


def _lowest(domain: Region) -> Decimal | None:
    return domain.spans[0].low if domain.spans else None


def max_reach(policy: Policy, indicator: Indicator) -> Decimal:
    """The most ``indicator`` can score on its input's declared domain.

    Exact for ``linear``, ``bands`` and ``threshold``; any other scorer is taken at its word (its maximum).
    """
    top = indicator.max_score
    if indicator.scorer not in ROW_SCORERS:
        return top
    spec = policy.inputs.get(indicator.params["input"])
    if spec is None:
        return top
    domain = input_domain(spec)
    if indicator.scorer == "linear":
        worst, best = as_decimal(indicator.params["worst"]), as_decimal(indicator.params["best"])
        end = _highest(domain) if best > worst else _lowest(domain)
        if end is None or worst == best:
            return top
        share = min(max(CONTEXT.divide(end - worst, best - worst), ZERO), Decimal(1))
        return share * top
    pieces = pieces_of(indicator, domain)
    return max((p.value for p in pieces), default=ZERO) if pieces is not None else top


def effective_weight(policy: Policy, indicator: Indicator) -> Decimal:
    """The weight of ``indicator`` in the total, as the engine applies it (points method: 1)."""
    agg = policy.aggregation
    if agg.method == "points":
        return Decimal(1)
    group = agg.groups.get(indicator.group) if indicator.group else None
    outer = group.weight if group is not None and group.weight is not None else Decimal(1)
    return (indicator.weight or ZERO) * outer


def _combine(policy: Policy, parts: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    if policy.aggregation.method == "geometric_mean":
        product = Decimal(1)
        for score, weight in parts:
            product = CONTEXT.multiply(product, CONTEXT.power(score, weight))
        return product
    return sum((score * weight for score, weight in parts), ZERO)


def group_max(policy: Policy, group: str, reach: Mapping[str, Decimal]) -> Decimal:
    """The most a group can score."""
    points = policy.aggregation.method == "points"
    members = [i for i in policy.indicators.values() if i.group == group]
    return _combine(policy, [(reach[i.name], Decimal(1) if points else (i.weight or ZERO)) for i in members])


def max_total(policy: Policy, reach: Mapping[str, Decimal]) -> Decimal | None:
    """An upper bound of the total a county can reach, bonuses included; ``None`` when unbounded."""
    base = _combine(policy, [(reach[i.name], effective_weight(policy, i)) for i in policy.indicators.values()])
    bonus: Decimal | None = ZERO
    least_deduction = ZERO
    for adj in policy.adjustments.values():
        most, least = _adjustment_span(policy, adj.when, adj.points, adj.input, adj.per_unit, reach)
        if adj.cap is not None:
            most = adj.cap if most is None else min(most, adj.cap)
            least = min(least, adj.cap)
        if adj.kind == "bonus":
            bonus = None if bonus is None or most is None else bonus + most
        else:
            least_deduction += least
    agg = policy.aggregation
    if agg.bonus_cap is not None:
        bonus = agg.bonus_cap if bonus is None else min(bonus, agg.bonus_cap)
    if agg.deduction_cap is not None:
        least_deduction = min(least_deduction, agg.deduction_cap)
    if bonus is None:
        return None
    return max(ZERO, base + bonus - least_deduction)


def _adjustment_span(
    policy: Policy,
    when: Condition | None,
    points: Decimal | None,
    field: str | None,
    per_unit: Decimal | None,
    reach: Mapping[str, Decimal],
) -> tuple[Decimal | None, Decimal]:
    """The most and the least points an adjustment can give (``None``: no upper bound)."""
    if when is not None:
        # The subject's domain for a total here would recurse; the base total is bounded by 0 and anything.
        domain = domain_of(policy, when, reach) if when.kind != "total" else Region.of(Span(ZERO, True))
        holds = condition_region(when.op, when.value) & domain
        amount = points or ZERO
        return (amount if not holds.empty else ZERO), (amount if domain <= holds else ZERO)
    spec = policy.inputs.get(field or "")
    if spec is None or per_unit is None:
        return ZERO, ZERO
    domain = input_domain(spec)
    high, low = _highest(domain), _lowest(domain)
    most = None if high is None else max(ZERO, per_unit * high)
    least = max(ZERO, per_unit * low) if low is not None else ZERO
    return most, least
