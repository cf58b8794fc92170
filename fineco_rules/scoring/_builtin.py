"""The built-in declarative scorers: goalposts, bands, thresholds, ratios, cohort methods."""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final

from fineco_rules.errors import tr
from fineco_rules.io._numbers import CONTEXT, ONE, ZERO, as_decimal, float_exact
from fineco_rules.scoring._formula import Expr, parse, to_decimal
from fineco_rules.scoring._outliers import OUTLIERS, check_outliers, treat
from fineco_rules.scoring._scorer import (
    NUMBERS,
    Better,
    CohortFunction,
    Label,
    ParamError,
    RowFunction,
    Scored,
    Scorer,
    Value,
    VectorFunction,
)
from fineco_rules.scoring.hookspecs import hookimpl

__all__ = ["COMPARATORS", "fineco_scorers", "goalpost_score", "parse_formula", "ratio_of"]

#: Comparison operators policies may write, shared with gates and vetoes.
COMPARATORS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_NUMBER: Final = {"type": "number"}
_FIELD: Final = {"type": "string", "minLength": 1, "description": "an input field declared under inputs"}
_BETTER: Final = {"enum": ["higher", "lower"], "description": "which values raise the score"}
_BAND: Final = {
    "type": "object",
    "properties": {
        "min": _NUMBER,
        "max": _NUMBER,
        "points": {"type": "number", "minimum": 0},
        "label": {"type": "string"},
    },
    "required": ["points"],
    "additionalProperties": False,
}
_BANDS: Final = {"type": "array", "items": _BAND, "minItems": 1}


def _clip(value: Decimal) -> Decimal:
    return ZERO if value < ZERO else ONE if value > ONE else value


def goalpost_score(params: Mapping[str, Any]) -> Callable[[Decimal], Decimal]:
    """The normalised value (0 to 1) of goalposts ``worst``/``best``, as the ``linear`` and ``ratio`` scorers
    compute it; the generated grading code calls it alone to decide a score within float error of a tie."""
    worst, best = as_decimal(params["worst"]), as_decimal(params["best"])
    if worst == best:
        raise ParamError(tr("`worst` and `best` are equal"), ("best",), tr("give two different goalposts"))
    span = best - worst
    return lambda value: _clip(CONTEXT.divide(value - worst, span))


def ratio_of(params: Mapping[str, Any]) -> Callable[[Decimal, Decimal], Decimal]:
    """``numerator × per ÷ denominator`` as the ``ratio`` scorer computes it (the denominator is not 0)."""
    per = as_decimal(params.get("per", 1))
    return lambda top, bottom: CONTEXT.divide(top * per, bottom)


def _goalposts(params: Mapping[str, Any], max_score: Decimal) -> Callable[[Decimal], Scored]:
    worst, best = as_decimal(params["worst"]), as_decimal(params["best"])
    normalize = goalpost_score(params)

    def score(value: Decimal) -> Scored:
        normalized = normalize(value)
        return Scored(normalized * max_score, normalized, {"value": value, "worst": worst, "best": best})

    return score


def _bands(params: Mapping[str, Any], max_score: Decimal) -> Callable[[Decimal], Scored]:
    bands = params["bands"]
    closed_right = params.get("closed", "left") == "right"
    table: list[tuple[Decimal | None, Decimal | None, Decimal, str]] = []
    for i, band in enumerate(bands):
        low, high, points = _band_edges(band, i, len(bands), max_score)
        if i > 0:
            _band_join(table[-1][1], low, i)
        text = _band_text(low, high, closed_right)
        table.append((low, high, points, str(band.get("label", text))))

    def inside(value: Decimal, low: Decimal | None, high: Decimal | None) -> bool:
        if closed_right:
            return (low is None or value > low) and (high is None or value <= high)
        return (low is None or value >= low) and (high is None or value < high)

    def score(value: Decimal) -> Scored:
        for low, high, points, label in table:
            if inside(value, low, high):
                return Scored(points, CONTEXT.divide(points, max_score), {"value": value, "band": label})
        return Scored(ZERO, ZERO, {"value": value, "band": None, "note": "outside every band"})

    return score


def _band_edges(
    band: Mapping[str, Any], i: int, count: int, max_score: Decimal
) -> tuple[Decimal | None, Decimal | None, Decimal]:
    """Band ``i``'s min, max and points: only the first may leave out min, only the last max."""
    low = as_decimal(band["min"]) if "min" in band else None
    high = as_decimal(band["max"]) if "max" in band else None
    points = as_decimal(band["points"])
    if low is None and i > 0:
        raise ParamError(tr("only the first band may leave out `min`"), ("bands", i), tr("add `min:`"))
    if high is None and i < count - 1:
        raise ParamError(tr("only the last band may leave out `max`"), ("bands", i), tr("add `max:`"))
    if low is not None and high is not None and low >= high:
        raise ParamError(tr("band min {low} is not below its max {high}", low=low, high=high), ("bands", i, "max"))
    if points > max_score:
        raise ParamError(
            tr(
                "band gives {points} points but the indicator's maximum is {max_score}",
                points=points,
                max_score=max_score,
            ),
            ("bands", i, "points"),
            tr("lower the points or raise the indicator's points"),
        )
    return low, high, points


def _band_join(prev_high: Decimal | None, low: Decimal | None, i: int) -> None:
    """Band ``i`` starts exactly where the band before it ends."""
    if prev_high is None or low is None:
        return  # cannot happen past _band_edges: only the first band lacks min, only the last max
    if low > prev_high:
        raise ParamError(
            tr("gap between bands: nothing scores values from {prev_high} to {low}", prev_high=prev_high, low=low),
            ("bands", i, "min"),
            tr("start this band at {prev_high}", prev_high=prev_high),
        )
    if low < prev_high:
        raise ParamError(
            tr("bands overlap: values from {low} to {prev_high} fall in two bands", low=low, prev_high=prev_high),
            ("bands", i, "min"),
            tr("start this band at {prev_high}", prev_high=prev_high),
        )


def _band_text(low: Decimal | None, high: Decimal | None, closed_right: bool) -> str:
    left = "(" if closed_right or low is None else "["
    right = "]" if closed_right and high is not None else ")"
    return f"{left}{'-∞' if low is None else low}, {'+∞' if high is None else high}{right}"


#: Relative error of a handful of float64 operations, with room to spare.
_EPS: Final = 1e-14


def _goalposts_vector(params: Mapping[str, Any], max_score: Decimal) -> Callable[[Any, Any], tuple[Any, Any]]:
    """Goalposts over an array ``x`` known to within ``x_error``: clipped linear scores and their error."""
    worst, best, top = float(params["worst"]), float(params["best"]), float(max_score)
    span = best - worst

    def score(x: Any, x_error: Any) -> tuple[Any, Any]:
        import numpy as np  # NumPy loads only on the columnar path (a cheap `import fineco_rules`)

        normalized = np.clip((x - worst) / span, 0.0, 1.0)
        error = (x_error + (np.abs(x) + abs(worst) + abs(span)) * _EPS) * top / abs(span)
        return normalized * top, error

    return score


def _bands_vector(params: Mapping[str, Any]) -> Callable[[Any, Any], tuple[Any, Any]] | None:
    """Bands over an array ``x`` known to within ``x_error`` (NaN where that straddles an edge)."""
    closed_right = params.get("closed", "left") == "right"
    table = []
    for band in params["bands"]:
        ends = [band.get("min"), band.get("max")]
        if not all(e is None or float_exact(as_decimal(e)) for e in ends):
            return None
        low, high = (None if e is None else float(as_decimal(e)) for e in ends)
        table.append((low, high, float(as_decimal(band["points"]))))
    edges = sorted({e for row in table for e in row[:2] if e is not None})

    def score(x: Any, x_error: Any) -> tuple[Any, Any]:
        import numpy as np  # NumPy loads only on the columnar path: building a plan does not load it

        out = np.zeros(x.shape, dtype=np.float64)
        placed = np.zeros(x.shape, dtype=bool)
        for low, high, points in table:
            inside = ~placed
            if low is not None:
                inside &= (x > low) if closed_right else (x >= low)
            if high is not None:
                inside &= (x <= high) if closed_right else (x < high)
            out[inside] = points
            placed |= inside
        if np.any(x_error) and edges:
            nearest = np.abs(x[:, None] - np.array(edges, dtype=np.float64)[None, :]).min(axis=1)
            out[nearest <= x_error] = np.nan
        return out, out * _EPS

    return score


def _band_direction(bands: Sequence[Mapping[str, Any]]) -> Better:
    points = [as_decimal(b["points"]) for b in bands]
    if all(a <= b for a, b in itertools.pairwise(points)):
        return Better.HIGHER
    if all(a >= b for a, b in itertools.pairwise(points)):
        return Better.LOWER
    return Better.NONE


def _number(values: Mapping[str, Value], field: str) -> Decimal:
    value = values[field]
    if not isinstance(value, Decimal):
        raise TypeError(f"input {field!r} must be a number, got {value!r}")
    return value


class Linear(Scorer):
    """Linear between two goalposts, clipped: ``worst`` scores 0, ``best`` the maximum."""

    name = "linear"
    version = "1.0"
    label = Label("线性目标值法", "linear goalposts")
    params_schema = {
        "type": "object",
        "properties": {"input": _FIELD, "worst": _NUMBER, "best": _NUMBER},
        "required": ["input", "worst", "best"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        up = as_decimal(params["best"]) >= as_decimal(params["worst"])
        return {params["input"]: Better.HIGHER if up else Better.LOWER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        field, score = params["input"], _goalposts(params, max_score)
        return lambda values: score(_number(values, field))

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction:
        field, score = params["input"], _goalposts_vector(params, max_score)
        return lambda columns: score(columns[field], 0.0)


class Bands(Scorer):
    """A table of ranges to points; ranges are ``[min, max)`` (``closed: right`` for ``(min, max]``)."""

    name = "bands"
    version = "1.0"
    label = Label("分档计分法", "scored bands")
    params_schema = {
        "type": "object",
        "properties": {"input": _FIELD, "bands": _BANDS, "closed": {"enum": ["left", "right"]}},
        "required": ["input", "bands"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {params["input"]: _band_direction(params["bands"])}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        field, score = params["input"], _bands(params, max_score)
        return lambda values: score(_number(values, field))

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction | None:
        field, score = params["input"], _bands_vector(params)
        if score is None:
            return None
        return lambda columns: score(columns[field], 0.0)


class Threshold(Scorer):
    """Points for the first rule whose condition holds, else ``otherwise``."""

    name = "threshold"
    version = "1.0"
    label = Label("达标计分法", "threshold points")
    params_schema = {
        "type": "object",
        "properties": {
            "input": _FIELD,
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "op": {"enum": sorted(COMPARATORS)},
                        "value": {"type": ["number", "boolean"]},
                        "points": {"type": "number", "minimum": 0},
                    },
                    "required": ["op", "value", "points"],
                    "additionalProperties": False,
                },
            },
            "otherwise": {"type": "number", "minimum": 0},
        },
        "required": ["input", "rules"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        rules = params["rules"]
        if len(rules) == 1 and rules[0]["op"] in {"<", "<=", ">", ">="}:
            up = rules[0]["op"].startswith(">")
            gives = as_decimal(rules[0]["points"]) >= as_decimal(params.get("otherwise", 0))
            return {params["input"]: Better.HIGHER if up == gives else Better.LOWER}
        return {params["input"]: Better.NONE}

    def input_types(self, params: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
        # true/false rules test a boolean input, numbers a numeric one; never a mix (Decimal(1) == True).
        kinds = {isinstance(rule["value"], bool) for rule in params["rules"]}
        if len(kinds) > 1:
            raise ParamError(tr("rules mix true/false and numbers"), ("rules",), tr("test one kind of input"))
        return {params["input"]: frozenset({"boolean"}) if kinds == {True} else NUMBERS}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        field = params["input"]
        otherwise = as_decimal(params.get("otherwise", 0))
        rules: list[tuple[Callable[[Any, Any], bool], str, Value, Decimal]] = []
        for i, rule in enumerate(params["rules"]):
            points = as_decimal(rule["points"])
            if points > max_score:
                raise ParamError(
                    tr(
                        "{points} points exceed the indicator's maximum {max_score}", points=points, max_score=max_score
                    ),
                    ("rules", i, "points"),
                )
            value = rule["value"] if isinstance(rule["value"], bool) else as_decimal(rule["value"])
            rules.append((COMPARATORS[rule["op"]], rule["op"], value, points))
        if otherwise > max_score:
            raise ParamError(
                tr(
                    "{otherwise} points exceed the indicator's maximum {max_score}",
                    otherwise=otherwise,
                    max_score=max_score,
                ),
                ("otherwise",),
            )

        def score(values: Mapping[str, Value]) -> Scored:
            value = values[field]
            for compare, op, limit, points in rules:
                if compare(value, limit):
                    return Scored(points, CONTEXT.divide(points, max_score), {"value": value, "rule": f"{op} {limit}"})
            return Scored(otherwise, CONTEXT.divide(otherwise, max_score), {"value": value, "rule": "otherwise"})

        return score

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction | None:
        field = params["input"]
        rules = []
        for rule in params["rules"]:
            value = rule["value"]
            if not isinstance(value, bool):
                if not float_exact(as_decimal(value)):
                    return None
                value = float(as_decimal(value))
            rules.append((COMPARATORS[rule["op"]], value, float(as_decimal(rule["points"]))))
        otherwise = float(as_decimal(params.get("otherwise", 0)))

        def score(columns: Mapping[str, Any]) -> tuple[Any, Any]:
            import numpy as np

            x = columns[field]
            out = np.full(x.shape, otherwise, dtype=np.float64)
            placed = np.zeros(x.shape, dtype=bool)
            for compare, limit, points in rules:
                hit = compare(x, limit) & ~placed
                out[hit] = points
                placed |= hit
            return out, out * _EPS

        return score


class Ratio(Scorer):
    """``numerator / denominator × per`` (per 10,000 people, say), then goalposts or bands."""

    name = "ratio"
    version = "1.0"
    label = Label("比率法", "ratio")
    params_schema = {
        "type": "object",
        "properties": {
            "numerator": _FIELD,
            "denominator": _FIELD,
            "per": {"type": "number", "exclusiveMinimum": 0},
            "worst": _NUMBER,
            "best": _NUMBER,
            "bands": _BANDS,
            "closed": {"enum": ["left", "right"]},
        },
        "required": ["numerator", "denominator"],
        "oneOf": [{"required": ["worst", "best"]}, {"required": ["bands"]}],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        if "bands" in params:
            better = _band_direction(params["bands"])
        else:
            up = as_decimal(params["best"]) >= as_decimal(params["worst"])
            better = Better.HIGHER if up else Better.LOWER
        return {params["numerator"]: better, params["denominator"]: better.flipped()}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        top, bottom = params["numerator"], params["denominator"]
        per = as_decimal(params.get("per", 1))
        inner = _bands(params, max_score) if "bands" in params else _goalposts(params, max_score)
        divide = ratio_of(params)

        def score(values: Mapping[str, Value]) -> Scored:
            denominator = _number(values, bottom)
            if denominator == 0:
                raise ValueError(tr("the denominator {bottom!r} is 0", bottom=bottom))
            ratio = divide(_number(values, top), denominator)
            result = inner(ratio)
            details = {"numerator": values[top], "denominator": denominator, "per": per, **result.details}
            return Scored(result.score, result.normalized, details)

        return score

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction | None:
        top, bottom = params["numerator"], params["denominator"]
        per = float(as_decimal(params.get("per", 1)))
        if "bands" in params:
            inner = _bands_vector(params)
            if inner is None:
                return None
        else:
            inner = _goalposts_vector(params, max_score)

        def score(columns: Mapping[str, Any]) -> tuple[Any, Any]:
            import numpy as np

            denominator = columns[bottom]
            zero = denominator == 0
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = columns[top] * per / np.where(zero, 1.0, denominator)
            scores, error = inner(ratio, np.abs(ratio) * _EPS)
            return np.where(zero, np.nan, scores), error  # a zero denominator is refused on the row path

        return score


#: ``formula`` with the direction of each input it reads: the schema shared by the formula scorer and
#: derived values.
_FORMULA: Final = {"type": "string", "minLength": 1, "maxLength": 2000, "description": "an expression (policy guide)"}
_DIRECTIONS: Final = {
    "type": "object",
    "description": "each input the formula reads, with the direction that raises the value (none: neither)",
    "additionalProperties": {"enum": ["higher", "lower", "none"]},
    "minProperties": 1,
}
_DERIVED: Final = {
    "type": "object",
    "description": "a value computed from inputs by a formula, normalised like an input",
    "properties": {"formula": _FORMULA, "better": _DIRECTIONS},
    "required": ["formula", "better"],
    "additionalProperties": False,
}


def parse_formula(params: Mapping[str, Any], at: tuple[str | int, ...] = ()) -> Expr:
    """The parsed ``formula`` of ``params``, every name declared under ``better`` and every one used."""
    directions = params["better"]
    try:
        expr = parse(params["formula"], directions)
    except ParamError as exc:
        raise ParamError(exc.problem.message, (*at, *exc.path), exc.hint) from None
    unused = [name for name in directions if name not in expr.names]
    if unused:
        raise ParamError(
            tr("`better` names {names}, which the formula does not read", names=", ".join(map(repr, unused))),
            (*at, "better", unused[0]),
            tr("remove it, or use it in the formula"),
        )
    return expr


def _formula_reads(params: Mapping[str, Any]) -> dict[str, Better]:
    return {name: Better(direction) for name, direction in params["better"].items()}


def _formula_types(params: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    expr = parse_formula(params)
    return {name: frozenset({"boolean"}) if kind == "boolean" else NUMBERS for name, kind in expr.names.items()}


class Formula(Scorer):
    """Points by a formula over the inputs, computed exactly and rounded once (see the policy guide)."""

    name = "formula"
    version = "1.0"
    label = Label("公式计分法", "formula")
    params_schema = {
        "type": "object",
        "properties": {"formula": _FORMULA, "better": _DIRECTIONS},
        "required": ["formula", "better"],
        "additionalProperties": False,
    }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        parse_formula(params)
        return _formula_reads(params)

    def input_types(self, params: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
        return _formula_types(params)

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction:
        expr = parse_formula(params)
        if _kind(expr.tree, expr) == "boolean":
            raise ParamError(
                tr("the formula gives true or false, not points"), ("formula",), tr("use if ... then ... else")
            )

        def score(values: Mapping[str, Value]) -> Scored:
            exact = expr.evaluate(values)
            points = to_decimal(exact)  # type: ignore[arg-type]
            if not ZERO <= points <= max_score:
                raise ValueError(
                    tr(
                        "the formula gives {points} points, outside [0, {max_score}]: {value}",
                        points=points,
                        max_score=max_score,
                        value=expr.substituted(values),
                    )
                )
            details = {"formula": expr.text, "substituted": expr.substituted(values), "value": points}
            return Scored(points, CONTEXT.divide(points, max_score), details)

        return score

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction:
        expr, top = parse_formula(params), float(max_score)

        def score(columns: Mapping[str, Any]) -> tuple[Any, Any]:
            import numpy as np  # NumPy loads only on the columnar path

            value, error = expr.vector(columns)
            value = np.broadcast_to(np.asarray(value, dtype=np.float64), _rows(columns)).copy()
            error = np.broadcast_to(np.asarray(error, dtype=np.float64), value.shape)
            # Near or beyond [0, top] the exact path decides (it refuses a score outside it).
            value[(value - error < 0) | (value + error > top)] = np.nan
            return value, error

        return score


def _treated(value: Decimal, new: Decimal, treatment: Mapping[str, object]) -> dict[str, object]:
    """What outlier treatment did, for one county's details: the batch facts, and its treated value."""
    if not treatment:
        return {}
    return {**treatment, "treated": new} if new != value or treatment.get("outliers") == "log" else dict(treatment)


def _rows(columns: Mapping[str, Any]) -> tuple[int, ...]:
    import numpy as np

    for column in columns.values():
        return tuple(np.shape(column))
    return ()


def _kind(node: Any, expr: Expr) -> str:
    """``boolean`` if the formula's value is a condition, else ``number``."""
    if node.kind in ("bool", "not") or (
        node.kind == "op" and node.op in {"<", "<=", ">", ">=", "==", "!=", "and", "or"}
    ):
        return "boolean"
    if node.kind == "name":
        return expr.names[str(node.value)]
    if node.kind == "if":
        return _kind(node.args[1], expr)
    return "number"


class _Cohort(Scorer):
    """A cohort method over an input (``input``) or over a value derived from inputs (``derive``)."""

    cohort = True
    version = "1.0"
    #: The method's named variants: the param, its choices, its default.
    variant: ClassVar[tuple[str, tuple[str, ...], str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        properties: dict[str, Any] = {"input": _FIELD, "derive": _DERIVED, "better": _BETTER, "outliers": OUTLIERS}
        if cls.variant is not None:
            key, choices, default = cls.variant
            properties[key] = {"enum": list(choices), "default": default}
        cls.params_schema = {
            "type": "object",
            "properties": properties,
            "oneOf": [{"required": ["input"]}, {"required": ["derive"]}],
            "additionalProperties": False,
        }

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        up = Better(params.get("better", "higher"))
        if "derive" in params:
            parse_formula(params["derive"], ("derive",))
            reads = _formula_reads(params["derive"])
            return reads if up is Better.HIGHER else {k: v.flipped() for k, v in reads.items()}
        return {params["input"]: up}

    def input_types(self, params: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
        if "derive" in params:
            return _formula_types(params["derive"])
        return super().input_types(params)

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> CohortFunction:
        up = params.get("better", "higher") == "higher"
        value_of = self.value_of(params)
        choice = params.get(self.variant[0], self.variant[2]) if self.variant else ""
        outliers = params.get("outliers")
        if outliers is not None:
            check_outliers(outliers)

        def score(rows: Sequence[Mapping[str, Value]]) -> Sequence[Scored]:
            values = [value_of(row) for row in rows]
            if not values:
                return []
            treated, treatment = values, {}
            if outliers is not None:
                done = treat(outliers, values)
                treated, treatment = list(done.values), dict(done.facts)
            oriented = treated if up else [-v for v in treated]
            return [
                Scored(normalized * max_score, normalized, {"value": value, **_treated(value, new, treatment), **facts})
                for value, new, (normalized, facts) in zip(
                    values, treated, self.normalize(oriented, choice), strict=True
                )
            ]

        return score

    def value_of(self, params: Mapping[str, Any]) -> Callable[[Mapping[str, Value]], Decimal]:
        if "derive" not in params:
            field = params["input"]
            return lambda row: _number(row, field)
        expr = parse_formula(params["derive"], ("derive",))
        if _kind(expr.tree, expr) == "boolean":
            raise ParamError(tr("the derived value is true or false, not a number"), ("derive", "formula"))
        return lambda row: to_decimal(expr.evaluate(row))  # type: ignore[arg-type]

    def normalize(self, values: Sequence[Decimal], variant: str) -> list[tuple[Decimal, dict[str, object]]]:
        raise NotImplementedError


class MinMax(_Cohort):
    """Min-max over the evaluated counties: the best scores the maximum, the worst 0."""

    name = "minmax"
    label = Label("极差标准化法", "min-max over the batch")

    def normalize(self, values: Sequence[Decimal], variant: str) -> list[tuple[Decimal, dict[str, object]]]:
        low, high = min(values), max(values)
        facts: dict[str, object] = {"batch_min": low, "batch_max": high}
        if low == high:
            return [(ONE, facts) for _ in values]
        return [(CONTEXT.divide(v - low, high - low), facts) for v in values]


class ZScore(_Cohort):
    """Standard score over the batch, mapped so that ``-3σ`` scores 0 and ``+3σ`` the maximum.

    ``sd: population`` (the default) divides the squared deviations by N, ``sd: sample`` by N − 1.
    """

    name = "zscore"
    label = Label("标准分数法", "z-score over the batch")
    variant = ("sd", ("population", "sample"), "population")

    def normalize(self, values: Sequence[Decimal], variant: str) -> list[tuple[Decimal, dict[str, object]]]:
        n = Decimal(len(values))
        mean = CONTEXT.divide(sum(values, ZERO), n)
        squares = sum(((v - mean) ** 2 for v in values), ZERO)
        divisor = n - 1 if variant == "sample" else n
        std = ZERO if divisor == 0 else CONTEXT.divide(squares, divisor).sqrt(CONTEXT)
        out: list[tuple[Decimal, dict[str, object]]] = []
        for v in values:
            z = ZERO if std == 0 else CONTEXT.divide(v - mean, std)
            facts: dict[str, object] = {"batch_mean": mean, "batch_std": std, "sd": variant, "z": z}
            out.append((_clip(CONTEXT.divide(z + 3, Decimal(6))), facts))
        return out


def _standing(values: Sequence[Decimal]) -> list[tuple[int, int]]:
    """For each value: how many values are strictly below it, and how many equal it (itself included)."""
    ordered = sorted(values)
    return [
        (bisect.bisect_left(ordered, v), bisect.bisect_right(ordered, v) - bisect.bisect_left(ordered, v))
        for v in values
    ]


class Rank(_Cohort):
    """Rank in the batch, first scoring the maximum and last 0; ``ties`` names how tied counties rank.

    ``mean`` (the default, "fractional"): the mean of the ranks they span; ``min`` ("1224"): the best of
    them; ``max`` ("1334"): the worst; ``dense`` ("1223"): one after the distinct values above, scaled
    over the distinct values.
    """

    name = "rank"
    label = Label("排序法", "rank in the batch")
    variant = ("ties", ("mean", "min", "max", "dense"), "mean")

    def normalize(self, values: Sequence[Decimal], variant: str) -> list[tuple[Decimal, dict[str, object]]]:
        n = len(values)
        distinct = sorted(set(values))
        out: list[tuple[Decimal, dict[str, object]]] = []
        for value, (below, ties) in zip(values, _standing(values), strict=True):
            above = n - below - ties
            of = n
            if variant == "mean":
                rank = Decimal(above) + CONTEXT.divide(Decimal(ties + 1), Decimal(2))
            elif variant == "min":
                rank = Decimal(above + 1)
            elif variant == "max":
                rank = Decimal(above + ties)
            else:
                of = len(distinct)
                rank = Decimal(of - bisect.bisect_left(distinct, value))
            normalized = ONE if of == 1 else CONTEXT.divide(Decimal(of) - rank, Decimal(of - 1))
            out.append((normalized, {"rank": rank, "of": of, "ties": variant}))
        return out


class Percentile(_Cohort):
    """Percentile rank, by ``kind`` (the names of scipy's ``percentileofscore``), of B counties below and E
    equal (itself included) among N: ``mean`` (the default) (B + E/2) / N; ``strict`` B / N; ``weak``
    (B + E) / N; ``rank`` (B + (E + 1)/2) / N."""

    name = "percentile"
    label = Label("百分位法", "percentile rank in the batch")
    variant = ("kind", ("mean", "strict", "weak", "rank"), "mean")

    def normalize(self, values: Sequence[Decimal], variant: str) -> list[tuple[Decimal, dict[str, object]]]:
        n = Decimal(len(values))
        out: list[tuple[Decimal, dict[str, object]]] = []
        half = Decimal("0.5")
        for below, ties in _standing(values):
            counted = {
                "mean": Decimal(ties) * half,
                "strict": ZERO,
                "weak": Decimal(ties),
                "rank": Decimal(ties + 1) * half,
            }[variant]
            normalized = CONTEXT.divide(Decimal(below) + counted, n)
            out.append((normalized, {"percentile": normalized * 100, "kind": variant}))
        return out


@hookimpl
def fineco_scorers() -> Sequence[Scorer]:
    return [Linear(), Bands(), Threshold(), Ratio(), Formula(), MinMax(), ZScore(), Rank(), Percentile()]
