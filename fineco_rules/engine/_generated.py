"""A policy's grading plan as one generated, readable Python function over a record.

:func:`generate` walks a :class:`~fineco_rules.engine._plan.GradingPlan` and writes the source of one
function, ``grade(record)``, that checks a record's inputs inline, scores every indicator, sums the total
and the groups in integer units of the policy's precision, and climbs the grade ladder. It returns
``total × 4 + grade code`` (the total in units of the precision, the grade code its rank), or ``None``
when it cannot decide the record exactly; the caller then grades that record with the interpreter.
Beside it, ``grade_all(records)`` runs the same body in one loop over a batch (:attr:`Generated.batch`).

**Exact.** Inputs that arrive as floats are read as the decimal of their shortest repr, as the
interpreter reads them (:func:`fineco_rules.io._numbers.as_decimal`). Compared with a constant of at most
15 significant digits (:func:`~fineco_rules.io._numbers.float_exact`), a float gives the decimal answer,
so inputs are compared with band edges, goalposts, gates and vetoes in floats. A goalpost score is
computed in floats as ``v = (x − worst) × k + ½ + e`` in units of the precision (``k`` = maximum ×
10**precision ÷ span, ``e`` the allowance below); a float ratio ``numerator ÷ denominator × per`` first.
Each of these few operations errs by at most half an ulp, so ``|v − v*| ≤ 10u·(|x| + |worst|)·|k|`` with
``u = 2**-53`` (≈ 1.1e-15·(|x| + |worst|)·|k|; the reading of each input as a float counts once, the
ratio's two operations and the goalpost's three once each); the generated code allows about ninety
times that (``e``, from ``1e-13``). The whole part of ``v`` is the score, unless ``v`` lies less than
``2e`` above a whole number (``v − e`` within ``e`` of it: the score within float error of a rounding
half); only then does it call the scorer's own exact decimal function for that indicator. Weighted sums
are integers (scores in units × weights in units) rounded half-up by integer division, so totals,
groups, gates on scores and the ladder are exact.

**Safe.** The source is generated from the plan's data only: every constant is written with ``repr`` of
an ``int``, ``float`` or ``str`` (field names appear only as string literals, never as identifiers, and in
comments only through ``repr``, which cannot end a line), variables are named by position (``x0``,
``s0``), and the text is compiled with ``compile()`` into a namespace that holds only the few helpers
named below. No user text is ever evaluated; see docs/security.md.

**Plugins, imputation, adjustments, tables.** A scorer's :class:`~fineco_rules.scoring.Goalposts`
(:meth:`Scorer.compiled`) are written out the same way, as ``v = ½ + Σ K·clip(t, 0, 1)``. An imputed input
that is missing makes ``grade`` answer :data:`NEEDS_FILL`; :meth:`Generated.refill` computes the batch's
fills and grades those records again. Bonuses and deductions (flat, or per unit of an integer input) are
summed in integer units. A record with rows in an optional ``table`` input goes to the interpreter.

**What it does not do.** A plan feature it does not support leaves the policy on the interpreter, and
:attr:`Generated.why_not` says which (geometric means, cohort scorers, imputation by a group other than the
city, per-unit adjustments of a non-integer input, nested groups, a constant with more than 15 significant
digits, ...).
"""

from __future__ import annotations

import keyword
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import attrs

from fineco_rules.engine._plan import AdjustmentStep, GradingPlan, IndicatorStep, Part, decimals, units
from fineco_rules.io._numbers import CONTEXT, ZERO, as_decimal, float_exact
from fineco_rules.policy._model import Condition, InputSpec, Missing, Policy
from fineco_rules.scoring._builtin import goalpost_score, ratio_of
from fineco_rules.scoring._host import BUILTIN_NAME
from fineco_rules.scoring._scorer import Goalpost, Goalposts

__all__ = ["Compact", "Generated", "generate"]

#: ``total × 4 + grade code`` of one record: the total in units of the precision, the grade's rank.
Compact = int
#: What ``grade(record)`` returns for a valid record whose imputed input is missing: call it again with the fill.
NEEDS_FILL: Final = -1

#: Float error allowance of a goalpost score, relative to ``(|x| + |worst|)·|k|``: ≈ 90 × the proven 10u.
TOLERANCE: Final = 1e-13
#: Integers beyond this lose digits as floats; such inputs go to the interpreter.
_FLOAT_INT: Final = 2**53
_OPS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})
_NUMERIC: Final = frozenset({"number", "ratio", "integer"})
#: A ``return`` line of the generated body: its indentation and its value (a comment after it dropped).
_RETURN: Final = re.compile(r"( *)return ([^#]*?)(?:  # .*)?")


@attrs.frozen
class Generated:
    """The generated grading function of a policy, or why the policy stays on the interpreter."""

    source: str | None
    function: Callable[..., Compact | None] | None
    why_not: str | None
    #: The inputs the policy imputes, each with its rule: ``grade`` answers :data:`NEEDS_FILL` for a record
    #: missing one; :meth:`refill` computes the batch's fills and grades those records again.
    imputed: tuple[tuple[str, Missing], ...] = ()
    #: ``grade_all(records)``: ``[grade(r) for r in records]`` as one loop, without a call per record.
    batch: Callable[[Sequence[Mapping[str, object]]], list[Compact | None]] | None = None

    def refill(
        self, records: Sequence[Mapping[str, object]], packed: list[Compact | None]
    ) -> list[Compact | None] | None:
        """``packed`` with every :data:`NEEDS_FILL` graded again with the batch's imputation fills (the mean
        or median, by city or over all, of the values the other valid records have), as the interpreter fills
        them; None when the batch needs the interpreter as a whole: a record the code did not decide (None)
        may be one the fills come from or one that needs a fill, or a record has no fill."""
        grade = self.function
        needs = NEEDS_FILL in packed
        if None in packed and (
            needs
            or any(
                one is None and any(record.get(field) is None for field, _ in self.imputed)
                for record, one in zip(records, packed, strict=True)
            )
        ):
            return None
        if not needs:
            return packed
        if grade is None:  # pragma: no cover - only generated code answers NEEDS_FILL
            return None
        fills = self._fills(records)
        out: list[Compact | None] = []
        for record, one in zip(records, packed, strict=True):
            if one == NEEDS_FILL:
                given = {}
                for field, rule in self.imputed:
                    if record.get(field) is None:
                        fill = fills[field].get(_key(record, rule))
                        if fill is None:
                            return None
                        given[field] = fill
                one = grade(record, given)
                if one is None or one == NEEDS_FILL:
                    return None
            out.append(one)
        return out

    def _fills(self, records: Sequence[Mapping[str, object]]) -> dict[str, dict[str | None, Decimal]]:
        """Each imputed input's fill per group, over the records that have it (all valid: the code decided them)."""
        fills: dict[str, dict[str | None, Decimal]] = {}
        for field, rule in self.imputed:
            pools: dict[str | None, list[Decimal]] = {}
            for record in records:
                value = record.get(field)
                if value is not None:
                    pools.setdefault(_key(record, rule), []).append(as_decimal(value))
            fills[field] = {key: _fill(rule, values) for key, values in pools.items()}
        return fills


def _key(record: Mapping[str, object], rule: Missing) -> str | None:
    """The record's imputation group as the interpreter keys it: its city (the ``city`` column, else the
    county code's first four digits and ``00``), or None for a fill over every record."""
    if rule.impute != "group_mean":
        return None
    given = record.get("city")
    if given is not None:
        return str(given).strip()
    county = record.get("county")
    return county[:4] + "00" if isinstance(county, str) and len(county) == 6 else None


def _fill(rule: Missing, values: list[Decimal]) -> Decimal:
    """The fill of one pool, computed as the interpreter computes it."""
    if rule.impute == "median":
        return Decimal(statistics.median(values))
    return CONTEXT.divide(sum(values, ZERO), Decimal(len(values)))


class _Unsupported(Exception):
    """The plan has something the generator does not write; the message says what."""


def _const(value: Decimal) -> float:
    if not float_exact(value):
        raise _Unsupported(f"the constant {value} has more than 15 significant digits")
    return float(value)


def _ident(name: str) -> str:
    """``name`` if it is a safe identifier of our own making (defence in depth: we only make ``x3``, ``s1``)."""
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise _Unsupported(f"{name!r} is not an identifier")  # pragma: no cover - names are ours
    return name


def generate(policy: Policy, plan: GradingPlan, *, scores: bool = False) -> Generated:
    """The generated grading function of ``plan``, or why not (``Generated.why_not``).

    With ``scores`` (for the CSV summaries of :mod:`fineco_rules.engine._summaries`, and tests) a decided
    record's answer is ``(total × 4 + grade code, (score, ...))``, each indicator's score in units of the
    precision, in the plan's order.
    """
    try:
        writer = _Writer(policy, plan, scores=scores)
        source = writer.write()
    except _Unsupported as exc:
        return Generated(None, None, str(exc))
    builtins = {
        "int": int,
        "float": float,
        "type": type,
        "KeyError": KeyError,
        "TypeError": TypeError,
        "ZeroDivisionError": ZeroDivisionError,
    }
    namespace: dict[str, Any] = {"__builtins__": builtins, "_number": _number, "_trunc": float.__trunc__}
    namespace.update(writer.helpers)
    try:
        both = source if writer.batch is None else f"{source}\n\n{writer.batch}"
        code = compile(both, f"<fineco-rules generated grader of {policy.id!r} {policy.version!r}>", "exec")
    except SyntaxError as exc:  # pragma: no cover - a bug of the generator; the interpreter is always right
        return Generated(source, None, f"the generated code does not compile ({exc.msg}, line {exc.lineno})")
    exec(code, namespace)  # our own generated text, see the module docstring
    return Generated(source, namespace["grade"], None, tuple(writer.imputed.items()), namespace.get("grade_all"))


def _allowance(e: float) -> float:
    """The float error allowance ``e`` of a rounded score, at least ``1e-15``: ``½ + e`` is written as a float
    constant, whose own rounding (at most ``2**-54``) must stay far inside the allowance."""
    return max(e, 1e-15)


def _number(value: object) -> float:
    """An int input as the float of the same value; anything else is not a number the generated code reads."""
    if type(value) is int and -_FLOAT_INT < value < _FLOAT_INT:
        return float(value)
    raise TypeError(f"{type(value).__name__} is read by the interpreter")


class _Here:
    """The county a scorer is working on, where :mod:`fineco_rules.engine._watchdog` looks for it."""

    __slots__ = ("county", "values")

    def __init__(self, county: object, values: dict[str, object]) -> None:
        self.county, self.values = county, values


def _exact_score(
    plan: GradingPlan, step: IndicatorStep
) -> Callable[[Mapping[str, object], Mapping[str, Decimal] | None], int | None]:
    """The scorer's exact decimal score of one record, with the record's imputation fills, in units of the
    precision (None: let the interpreter say)."""
    scale = plan.precision
    optional = step.indicator.optional
    quick = _goalposts_exact(plan, step)
    if quick is not None:
        return quick

    def exact(record: Mapping[str, object], fills: Mapping[str, Decimal] | None) -> int | None:
        values: dict[str, object] = {}
        for field in step.fields:
            value = record.get(field)
            if value is None and fills is not None:
                value = fills.get(field)
            if value is None:
                if field not in optional:
                    return None
                values[field] = None
                continue
            if isinstance(value, (list, tuple, dict)):  # pragma: no cover - tables go to the interpreter
                return None
            values[field] = value if isinstance(value, bool) else as_decimal(value)
        here = _Here(record.get("county"), values)  # names the county should a time limit stop the scorer
        try:
            scored = plan.checked_score(step, step.function(MappingProxyType(here.values)))
        except Exception:  # a scorer's failure or a bad score (_BadScore): the interpreter reports it
            return None
        return units(plan.round(scored.score), scale)

    return exact


def _goalposts_exact(
    plan: GradingPlan, step: IndicatorStep
) -> Callable[[Mapping[str, object], Mapping[str, Decimal] | None], int | None] | None:
    """The exact score of a built-in ``linear`` or ``ratio`` goalposts indicator in units, by the scorer's own
    decimal arithmetic (:func:`~fineco_rules.scoring._builtin.goalpost_score`, ``ratio_of``) without the
    explanation it also builds (a fifth of the time); None for any other indicator, or one whose inputs may
    be missing or imputed. The generated code calls it only after checking the inputs (numbers, not 0)."""
    params, scorer = step.indicator.params, step.indicator.scorer
    if not step.plugin.startswith(f"{BUILTIN_NAME} (") or scorer not in ("linear", "ratio") or "bands" in params:
        return None
    if step.indicator.optional or step.indicator.missing.rule == "impute":
        return None
    normalize, top, scale, round_ = goalpost_score(params), step.max_score, plan.precision, plan.round
    if scorer == "linear":
        field = params["input"]

        def linear(record: Mapping[str, object], fills: Mapping[str, Decimal] | None) -> int | None:
            try:
                return units(round_(normalize(as_decimal(record[field])) * top), scale)
            except (ArithmeticError, LookupError, TypeError, ValueError):  # the interpreter says why
                return None

        return linear
    numerator, denominator, divide = params["numerator"], params["denominator"], ratio_of(params)

    def ratio(record: Mapping[str, object], fills: Mapping[str, Decimal] | None) -> int | None:
        try:
            value = divide(as_decimal(record[numerator]), as_decimal(record[denominator]))
            return units(round_(normalize(value) * top), scale)
        except (ArithmeticError, LookupError, TypeError, ValueError):  # a denominator of 0, say: the interpreter
            return None

    return ratio


class _Writer:
    """Writes the source of ``grade(record)`` for one plan; raises :class:`_Unsupported` for what it cannot."""

    def __init__(self, policy: Policy, plan: GradingPlan, *, scores: bool = False) -> None:
        self.policy, self.plan = policy, plan
        self.with_scores = scores
        self.lines: list[str] = []
        self.helpers: dict[str, Any] = {}
        self.inputs: dict[str, str] = {}  # field -> variable
        self.scores: dict[str, str] = {}  # indicator -> variable
        self.scale = plan.precision
        self.imputed: dict[str, Missing] = {}  # input -> its indicators' imputation rule
        #: The source of ``grade_all(records)``, the same body looped over a batch (None with ``scores``).
        self.batch: str | None = None

    def write(self) -> str:
        self._check_plan()
        out = self.lines
        if self.imputed:
            out.append("    need = False  # an imputed input is missing: grade again with the batch's fill")
        for i, spec in enumerate(self.policy.inputs.values()):
            self._input(_ident(f"x{i}"), spec)
        if self.imputed:
            out.append("    if need:")
            out.append(f"        return {NEEDS_FILL}")
        for i, step in enumerate(self.plan.indicators):
            self._indicator(i, step)
        total = "base" if self.plan.adjustments else "total"
        out.append(f"    {total} = {self._sum(self.plan.total.parts)}")
        for j, group in enumerate(self.plan.groups):
            if self._mentions("group", str(group.name)):
                var = _ident(f"g{j}")
                out.append(f"    {var} = {self._sum(group.parts)}  # group {group.name!r}")
                self.scores[f"group:{group.name}"] = var
        if self.plan.adjustments:
            self._adjustments()
        pad = "    "
        if self.plan.vetoes:
            vetoes = " or ".join(self._condition(cond) for _, _, cond in self.plan.vetoes)
            out.append(f"    if {vetoes}:  # vetoes")
            out.append(f"        return {self._answer('total * 4')}")
        for level in self.plan.levels:  # each level only from the one below it
            tests = [self._at_least("total", level.min_total)]
            tests += [self._condition(cond) for _, cond in level.gates]
            out.append(f"{pad}if {' and '.join(tests)}:  # {level.grade.value!r}")
            pad += "    "
        for code in range(len(self.plan.levels), -1, -1):  # the highest level reached, in one int with the total
            out.append(f"{pad}return {self._answer(f'total * 4 + {code}' if code else 'total * 4')}")
            pad = pad[:-4]
        # Helpers bound as defaults: read as locals, the fastest lookup.
        defaults = ", ".join(f"{_ident(name)}={_ident(name)}" for name in ("_number", "_trunc", *self.helpers))
        head = [
            f"def grade(r, f=None, {defaults}):  # {self.policy.id!r} {self.policy.version!r}",
            "    try:",
        ]
        tail = [
            "    except (KeyError, TypeError, ZeroDivisionError):  # a missing or odd value: the interpreter says why",
            "        return None",
        ]
        self.batch = None if self.with_scores else self._batch(out, defaults)
        return "\n".join([*head, *("    " + line for line in out), *tail]) + "\n"

    def _batch(self, body: list[str], defaults: str) -> str:
        """``grade_all(records)``: the same body in one loop over the records, each ``return x`` written as
        ``add(x)`` and ``continue`` (a call per record costs more than grading a simple record)."""
        out = [
            f"def grade_all(records, f=None, {defaults}):  # the same, over a batch",
            "    graded = []",
            "    add = graded.append",
            "    for r in records:",
            "        try:",
        ]
        for line in body:
            found = _RETURN.fullmatch(line)
            if found is None:
                if line.lstrip().startswith("return"):  # pragma: no cover - every return of ours matches
                    raise _Unsupported("a return the batch loop cannot write")
                out.append("        " + line)
            else:  # every return of the body is of an int expression of ours, or None
                pad, value = found.group(1), found.group(2)
                out += [f"        {pad}add({value})", f"        {pad}continue"]
        out += [
            "        except (KeyError, TypeError, ZeroDivisionError):",
            "            add(None)",
            "    return graded",
        ]
        return "\n".join(out) + "\n"

    def _answer(self, packed: str) -> str:
        if not self.with_scores:
            return packed
        return f"({packed}, ({''.join(f'{self.scores[s.name]}, ' for s in self.plan.indicators)}))"

    def _check_plan(self) -> None:
        plan = self.plan
        if plan.method not in ("weighted_mean", "points"):
            raise _Unsupported(f"the {plan.method} method is computed by the interpreter")
        if any(step.cohort for step in plan.indicators):
            raise _Unsupported("cohort scorers need the whole batch")
        if plan.tree or plan.availability is not None:
            raise _Unsupported("nested groups, re-weighting and availability screening are graded by the interpreter")
        if [level.grade.rank for level in plan.levels] != list(range(1, len(plan.levels) + 1)):
            raise _Unsupported("the grade ladder is not pass then good")
        if not self.policy.unit.is_county:
            raise _Unsupported("records keyed by another unit than the county are checked by the interpreter")
        self._check_inputs()
        named = {s.name for s in plan.indicators}
        for weighted in (plan.total, *plan.groups):
            if any(part.indicator not in named for part in weighted.parts):
                raise _Unsupported("weighted sums of groups (nested groups) are computed by the interpreter")
        for step in plan.indicators:  # missing values go to the interpreter, so missing rules need nothing here
            if any(field not in self.policy.inputs for field in step.fields):
                raise _Unsupported(f"indicator {step.name!r} reads a field that is not a declared input")
        self._check_imputation()

    def _check_inputs(self) -> None:
        for spec in self.policy.inputs.values():
            if spec.type == "table" and spec.required:
                raise _Unsupported("a required table input is read by the interpreter")
            if spec.type not in (*_NUMERIC, "boolean", "table"):
                raise _Unsupported("non-scalar inputs are read by the interpreter")

    def _check_imputation(self) -> None:
        """Which inputs are imputed, and that the generated code fills them as the interpreter would."""
        rules: dict[str, set[Missing]] = {}
        for step in self.plan.indicators:
            for field in step.fields:
                rules.setdefault(field, set()).add(step.indicator.missing)
        for step in self.plan.indicators:
            rule = step.indicator.missing
            if rule.rule != "impute":
                continue
            if rule.impute == "group_mean" and rule.group != "city":
                raise _Unsupported("imputation by a group other than the city is done by the interpreter")
            for field in step.fields:
                spec = self.policy.inputs[field]
                if field in step.indicator.optional or spec.required or spec.type not in _NUMERIC:
                    continue  # never imputed: a required input's absence is a problem of the record
                if rules[field] != {rule} or self._in_conditions(field):
                    raise _Unsupported(f"the imputed input {field!r} is also read without that imputation")
                self.imputed[field] = rule

    def _in_conditions(self, field: str) -> bool:
        return any(c.kind == "input" and c.subject == field for c in self.plan.conditions) or any(
            a.input == field for a in self.plan.adjustments
        )

    def _mentions(self, kind: str, subject: str) -> bool:
        return any(c.kind == kind and c.subject == subject for c in self.plan.conditions)

    # -- inputs -----------------------------------------------------------------------------

    def _input(self, var: str, spec: InputSpec) -> None:
        """Read and check one input as the interpreter would accept it; anything else: None (or a TypeError,
        which the generated function turns into None)."""
        out = self.lines
        self.inputs[spec.name] = var
        body = "    "
        if spec.type == "table":  # rows of a lower level: the interpreter re-rates them
            out.append(f"    if r.get({spec.name!r}) is not None:  # table rows: the interpreter")
            out.append("        return None")
            return
        if spec.name in self.imputed:
            out.append(f"    {var} = r.get({spec.name!r})")
            out.append(f"    if {var} is None:  # imputed")
            out.append("        if f is None:")
            out.append("            need = True")
            out.append(f"            {var} = 0.0")
            out.append("        else:")
            out.append(f"            {var} = float(f[{spec.name!r}])")
            out.append("    else:")
            body = "        "
        elif not spec.required and not self._used(spec.name):
            out.append(f"    {var} = r.get({spec.name!r})")
            out.append(f"    if {var} is not None:")
            body = "        "
        else:
            out.append(f"    {var} = r[{spec.name!r}]")
        if spec.type == "boolean":
            out.append(f"{body}if {var} is not True and {var} is not False:")
            out.append(f"{body}    return None")
            return
        if spec.type == "integer":
            out.append(f"{body}if type({var}) is not int:")
            out.append(f"{body}    return None")
        else:  # a float as it is; an int as the float of the same value; anything else raises TypeError
            out.append(f"{body}if type({var}) is not float:")
            out.append(f"{body}    {var} = _number({var})")
        low = f">= {_const(spec.min)!r}" if spec.min is not None else f"> {-float(_FLOAT_INT)!r}"
        high = f"<= {_const(spec.max)!r}" if spec.max is not None else f"< {float(_FLOAT_INT)!r}"
        # Two comparisons joined by ``and`` run faster than the chained form; NaN fails both.
        out.append(f"{body}if not ({var} {low} and {var} {high}):  # also NaN and infinities")
        out.append(f"{body}    return None")

    def _used(self, field: str) -> bool:
        return any(field in s.fields for s in self.plan.indicators) or self._in_conditions(field)

    # -- indicators -------------------------------------------------------------------------

    def _indicator(self, i: int, step: IndicatorStep) -> None:
        var = _ident(f"s{i}")
        self.scores[step.name] = var
        exact = _ident(f"_exact{i}")
        self.helpers[exact] = _exact_score(self.plan, step)
        if step.form is not None:
            try:
                return self._form(var, exact, step, step.form)
            except _Unsupported:
                pass
        if any(self.policy.inputs[field].type not in _NUMERIC for field in step.fields):
            return self._call(var, exact, step)
        params, scorer = step.indicator.params, step.indicator.scorer
        try:
            if scorer == "linear":
                return self._goalposts(var, exact, step, self.inputs[params["input"]], params, exact_input=True)
            if scorer == "bands" and params.get("closed", "left") in ("left", "right"):
                return self._bands(var, step, self.inputs[params["input"]], params)
            if scorer == "ratio" and "bands" not in params:
                top, bottom = self.inputs[params["numerator"]], self.inputs[params["denominator"]]
                per = _const(as_decimal(params.get("per", 1)))
                ratio = _ident(f"q{i}")
                scaled = top if per == 1.0 else f"{top} * {per!r}"
                self.lines.append(f"    {ratio} = {scaled} / {bottom}  # 0 raises: the scorer refuses it")
                return self._goalposts(var, exact, step, ratio, params, exact_input=False)
        except _Unsupported:
            pass
        return self._call(var, exact, step)

    def _form(self, var: str, exact: str, step: IndicatorStep, form: Goalposts) -> None:
        """A scorer's :class:`Goalposts` in floats: ``v = ½ + Σ K·clip(t, 0, 1)`` in units of the precision,
        with ``t = (x − worst) ÷ (best − worst)`` and ``K = weight × maximum × 10**precision``.

        Each piece errs by at most ``K·(reach + |worst|)·|1/span|·10u`` (reading x and worst, a rate's two
        operations, the subtraction and the product, each half an ulp) plus ``K·2u``, and the sum by ``u`` of
        its size per addition; the code allows ``TOLERANCE`` ≈ 90 × that. Within it of a rounding half, the
        scorer's exact function decides.
        """
        inputs = self.policy.inputs
        for field in form.fields:
            if field not in step.indicator.optional or inputs[field].type != "table":
                raise _Unsupported(f"{step.name!r}: the form's other field {field!r} is not an optional table")
        if not form.pieces or any(p.weight < 0 for p in form.pieces) or sum(p.weight for p in form.pieces) > 1:
            raise _Unsupported(f"{step.name!r}: the pieces' weights are not a share of the maximum")
        top = units(self.plan.round(step.max_score), self.scale)
        bound = float(len(form.pieces) + 1) * (top + 1)
        self.lines.append(f"    # {step.name!r}: {step.indicator.scorer!r} as {len(form.pieces)} goalposts, in floats")
        terms = []
        for j, piece in enumerate(form.pieces):
            x, reach = self._piece_input(step, piece)
            worst, best = _const(piece.worst), _const(piece.best)
            inverse = 1.0 / float(piece.best - piece.worst)
            k = float(piece.weight * step.max_score.scaleb(self.scale))
            if not math.isfinite(inverse) or k == 0:
                continue  # a piece of weight 0 adds nothing
            bound += k * ((max(reach, abs(worst), abs(best)) + abs(worst)) * abs(inverse) + 1)
            t = _ident(f"t{j}")
            self.lines.append(f"    {t} = ({x} - {worst!r}) * {inverse!r}")
            terms.append(f"({k!r} if {t} >= 1.0 else {k!r} * {t} if {t} > 0.0 else 0.0)")
        e = _allowance(bound * TOLERANCE)
        if e >= 1e-3:
            raise _Unsupported(f"{step.name!r}: the float error bound is too wide")
        self.lines.append(f"    v = {' + '.join([repr(0.5 + e), *terms])}")
        self._rounded("    ", var, exact, e)

    def _piece_input(self, step: IndicatorStep, piece: Goalpost) -> tuple[str, float]:
        """The float expression of a piece's ``x`` and a bound on ``|x|`` beyond the goalposts' (0: none)."""
        inputs = self.policy.inputs
        for field, _ in piece.terms:
            if field not in step.fields or inputs[field].type not in _NUMERIC:
                raise _Unsupported(f"{step.name!r}: the piece reads {field!r}, not a number it reads")
        if piece.denominator is not None:
            if len(piece.terms) != 1 or piece.terms[0][1] != 1 or piece.denominator not in step.fields:
                raise _Unsupported(f"{step.name!r}: a rate of more than one field")
            if inputs[piece.denominator].type not in _NUMERIC:
                raise _Unsupported(f"{step.name!r}: the denominator is not a number")
            top, bottom = self.inputs[piece.terms[0][0]], self.inputs[piece.denominator]
            per = _const(piece.per)
            return (f"{top} * {per!r} / {bottom}" if per != 1.0 else f"{top} / {bottom}"), 0.0
        if len(piece.terms) == 1 and piece.terms[0][1] == 1:
            return self.inputs[piece.terms[0][0]], 0.0
        # A weighted sum of inputs: cancellation would break the bound, so only non-negative terms of
        # inputs that cannot be negative; then |x| is at most the goalposts' reach where it is not clipped.
        for field, coefficient in piece.terms:
            low = inputs[field].min
            if coefficient < 0 or low is None or low < 0:
                raise _Unsupported(f"{step.name!r}: a weighted sum that may cancel")
        return " + ".join(f"{_const(c)!r} * {self.inputs[field]}" for field, c in piece.terms), 0.0

    def _call(self, var: str, exact: str, step: IndicatorStep) -> None:
        self.lines.append(f"    {var} = {exact}(r, f)  # {step.name!r}: {step.indicator.scorer!r}, exact decimals")
        self.lines.append(f"    if {var} is None:")
        self.lines.append("        return None")

    def _goalposts(
        self, var: str, exact: str, step: IndicatorStep, x: str, params: Mapping[str, Any], *, exact_input: bool
    ) -> None:
        worst, best = as_decimal(params["worst"]), as_decimal(params["best"])
        w, b = _const(worst), _const(best)
        top = units(self.plan.round(step.max_score), self.scale)
        k = float(step.max_score.scaleb(self.scale) / (best - worst))
        if not math.isfinite(k) or k == 0:
            raise _Unsupported("goalposts too close for floats")
        # Where the score is not clipped, |x| (or the ratio's |q|) is at most max(|worst|, |best|) + 2/|k|, so
        # one allowance e serves every record: far beyond the float error of v, far below a unit.
        reach = max(abs(w), abs(b)) + (0.0 if exact_input else 2 / abs(k))
        e = _allowance((reach + abs(w)) * abs(k) * TOLERANCE)
        half = repr(0.5 + e)
        out = self.lines
        out.append(f"    # {step.name!r}: {step.indicator.scorer!r} from {worst} (0) to {best} ({step.max_score})")
        if exact_input:  # x compares exactly with the goalposts
            low, high = ("<=", ">=") if w < b else (">=", "<=")
            out.append(f"    if {x} {low} {w!r}:")
            out.append(f"        {var} = 0")
            out.append(f"    elif {x} {high} {b!r}:")
            out.append(f"        {var} = {top}")
            out.append("    else:")
            pad = "        "
            out.append(f"{pad}v = ({x} - {w!r}) * {k!r} + {half}")
        else:  # a float ratio: clipped by its units, which err by far less than e
            pad = "    "
            out.append(f"{pad}v = ({x} - {w!r}) * {k!r} + {half}")
            out.append(f"{pad}if v < 1.0:  # below 1 − e without the allowance")
            out.append(f"{pad}    {var} = 0")
            out.append(f"{pad}elif v > {top + 2 * e!r}:")
            out.append(f"{pad}    {var} = {top}")
            out.append(f"{pad}else:")
            pad += "    "
        self._rounded(pad, var, exact, e)

    def _rounded(self, pad: str, var: str, exact: str, e: float) -> None:
        """``var`` = the whole part of ``v``, which carries ``+ e`` beside the ``+ ½``: the score rounded
        half-up, unless ``v`` lies within ``2e`` above a whole number, i.e. within ``e`` of it without the
        allowance, where float error could put it on either side: then the scorer's exact function decides.
        One comparison instead of two, and ``float.__trunc__`` instead of ``int()``: both run faster."""
        out = self.lines
        out.append(f"{pad}{var} = _trunc(v)")
        out.append(f"{pad}if v - {var} < {2 * e!r}:  # within float error of a rounding half")
        out.append(f"{pad}    {var} = {exact}(r, f)")
        out.append(f"{pad}    if {var} is None:")
        out.append(f"{pad}        return None")

    def _bands(self, var: str, step: IndicatorStep, x: str, params: Mapping[str, Any]) -> None:
        right = params.get("closed", "left") == "right"
        out = self.lines
        out.append(f"    # {step.name!r}: bands, closed on the {'right' if right else 'left'}")
        bands = params["bands"]
        below, inside = (">", "<=") if right else (">=", "<")
        chain = "if"
        if "min" in bands[0]:  # bands join up (the loader checks), so only the first min needs a test
            out.append(f"    if not {x} {below} {_const(as_decimal(bands[0]['min']))!r}:  # below every band")
            out.append(f"        {var} = 0")
            chain = "elif"
        for band in bands:
            points = units(self.plan.round(as_decimal(band["points"])), self.scale)
            if "max" in band:
                out.append(f"    {chain} {x} {inside} {_const(as_decimal(band['max']))!r}:")
            elif chain == "if":  # one band for every value
                out.append("    if True:")
            else:
                out.append("    else:")
            out.append(f"        {var} = {points}")
            chain = "elif"
        if "max" in bands[-1]:
            out.append("    else:  # above every band")
            out.append(f"        {var} = 0")

    # -- adjustments ------------------------------------------------------------------------

    def _adjustments(self) -> None:
        """Bonuses and deductions in integer units of ``10**-scale``, each at most its cap, each kind at most
        the policy's cap, the total never below zero, then rounded half-up to the precision (``total``)."""
        plan, out = self.plan, self.lines
        per_units = [a.per_unit for a in plan.adjustments if a.per_unit is not None]
        scale = max([plan.adjust_scale, *(decimals(p) for p in per_units)])
        out.append("    bonus = deduction = 0")
        for step in plan.adjustments:
            self._adjustment(step, scale)
        for kind, cap in (("bonus", plan.bonus_cap), ("deduction", plan.deduction_cap)):
            if cap is not None:
                out.append(f"    if {kind} > {units(cap, scale)}:  # the policy's cap on all {kind}es")
                out.append(f"        {kind} = {units(cap, scale)}")
        shift = 10 ** (scale - self.scale)
        out.append(f"    total = base * {shift} + bonus - deduction")
        out.append("    if total < 0:")
        out.append("        total = 0")
        if shift > 1:
            out.append(f"    total = (2 * total + {shift}) // {2 * shift}  # half-up to the precision")

    def _adjustment(self, step: AdjustmentStep, scale: int) -> None:
        out = self.lines
        kind = "bonus" if step.kind == "bonus" else "deduction"
        cap = None if step.cap is None else units(step.cap, scale)
        if step.when is not None:
            points = 0 if step.points is None else units(step.points, scale)
            points = points if cap is None else min(points, cap)
            out.append(f"    if {self._condition(step.when, total='base')}:  # {step.id!r}")
            out.append(f"        {kind} += {points}")
            return
        spec = self.policy.inputs.get(step.input or "")
        if spec is None or step.per_unit is None:
            return  # counts nothing, as in the interpreter
        if spec.type != "integer":
            raise _Unsupported(f"the per-unit adjustment {step.id!r} of a non-integer input is computed exactly")
        x = self.inputs[spec.name]
        out.append(f"    a = {units(step.per_unit, scale)} * {x}  # {step.id!r}: per unit")
        if cap is not None:
            out.append(f"    if a > {cap}:")
            out.append(f"        a = {cap}")
        out.append(f"    {kind} += a")

    # -- sums and conditions ----------------------------------------------------------------

    def _sum(self, parts: tuple[Part, ...]) -> str:
        """A weighted sum of indicator scores in units, rounded half-up to the precision, as integer text."""
        if not parts:
            return "0"
        if all(p.weight is None for p in parts):
            return " + ".join(self.scores[p.indicator] for p in parts)
        if any(p.units is None or p.units < 0 for p in parts):
            raise _Unsupported("negative or mixed weights are computed by the interpreter")
        scale = 10**self.plan.weight_scale
        terms = " + ".join(f"{p.units} * {self.scores[p.indicator]}" for p in parts)
        if scale % 2 == 0:  # half-up: ⌊(2s + d) / 2d⌋ is ⌊(s + d/2) / d⌋ when d is even
            return f"({terms} + {scale // 2}) // {scale}"
        return f"(2 * ({terms}) + {scale}) // {2 * scale}"

    def _at_least(self, subject: str, threshold: Decimal) -> str:
        return self._compare(subject, ">=", threshold)

    def _compare(self, var: str, op: str, threshold: Decimal) -> str:
        """``var`` (units of the precision) ``op`` ``threshold``, in integers."""
        extra = max(0, decimals(threshold) - self.scale)
        left = var if not extra else f"{var} * {10**extra}"
        return f"{left} {op} {units(threshold, self.scale + extra)}"

    def _condition(self, cond: Condition, total: str = "total") -> str:
        if cond.op not in _OPS:
            raise _Unsupported(f"the operator {cond.op!r}")
        if cond.kind == "input":
            spec = self.policy.inputs.get(cond.subject)
            if spec is None:
                raise _Unsupported(f"the condition {cond} reads no declared input")
            x = self.inputs[cond.subject]
            if isinstance(cond.value, bool):
                if spec.type != "boolean" or cond.op not in ("==", "!="):
                    raise _Unsupported(f"the condition {cond} compares a number with true/false")
                return f"{x} is {'not ' if cond.op == '!=' else ''}{cond.value!r}"
            if spec.type == "boolean":
                raise _Unsupported(f"the condition {cond} compares true/false with a number")
            return f"{x} {cond.op} {_const(cond.value)!r}"
        if isinstance(cond.value, bool):
            raise _Unsupported(f"the condition {cond} compares a score with true/false")
        if cond.kind == "indicator":
            return self._compare(self.scores[cond.subject], cond.op, cond.value)
        if cond.kind == "group":
            return self._compare(self.scores[f"group:{cond.subject}"], cond.op, cond.value)
        return self._compare(total, cond.op, cond.value)
