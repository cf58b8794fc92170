"""The formula language and the formula scorer: parsed once, exact, located errors, vectorised with a bound."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.errors import ParamError, PolicyError
from fineco_rules.quality.testing import check_policy
from fineco_rules.scoring._formula import (  # private unit under test (fineco_rules.scoring._formula)
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    parse,
    round_half_up,
    to_decimal,
)
from tests.conftest import WritePolicy

# -- an independent reference: expression trees built here, rendered to text, evaluated in Fractions --------

NAMES = ("x", "y", "z")
Tree = tuple[Any, ...]


def _half_up(value: Fraction, digits: int) -> Fraction:
    scale = Fraction(10) ** digits
    shifted = abs(value) * scale + Fraction(1, 2)
    whole = shifted.numerator // shifted.denominator
    return (whole if value >= 0 else -whole) / scale


def reference(tree: Tree, env: dict[str, Fraction]) -> Fraction | bool:  # noqa: C901 - one branch per kind
    """Evaluate a test tree with Python's Fraction semantics, never through the parser."""
    kind = tree[0]
    if kind == "num":
        return Fraction(tree[1])
    if kind == "name":
        return env[tree[1]]
    if kind == "neg":
        return -reference(tree[1], env)  # type: ignore[operator]
    if kind == "bin":
        a, b = reference(tree[2], env), reference(tree[3], env)
        if tree[1] == "/":
            if b == 0:
                raise ZeroDivisionError
            return a / b  # type: ignore[operator]
        return {"+": a + b, "-": a - b, "*": a * b}[tree[1]]  # type: ignore[operator]
    if kind == "fn":
        args = [reference(t, env) for t in tree[2]]
        fn = tree[1]
        if fn == "clip":
            return min(max(args[0], Fraction(0)), Fraction(1))  # type: ignore[type-var]
        if fn == "abs":
            return abs(args[0])  # type: ignore[arg-type]
        if fn == "round":
            return _half_up(args[0], tree[3])  # type: ignore[arg-type]
        return (min if fn == "min" else max)(args)  # type: ignore[type-var]
    if kind == "cmp":
        a, b = reference(tree[2], env), reference(tree[3], env)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[tree[1]]  # type: ignore[operator]
    if kind == "bool":
        a, b = reference(tree[2], env), reference(tree[3], env)
        return (a and b) if tree[1] == "and" else (a or b)
    if kind == "not":
        return not reference(tree[1], env)
    # if
    return reference(tree[2], env) if reference(tree[1], env) else reference(tree[3], env)


def render(tree: Tree) -> str:
    """Fully parenthesised text of a test tree."""
    kind = tree[0]
    if kind in ("num", "name"):
        return str(tree[1])
    if kind == "neg":
        return f"(-{render(tree[1])})"
    if kind in ("bin", "cmp", "bool"):
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    if kind == "fn":
        args = ", ".join(render(t) for t in tree[2])
        return f"{tree[1]}({args}, {tree[3]})" if tree[1] == "round" else f"{tree[1]}({args})"
    if kind == "not":
        return f"(not {render(tree[1])})"
    return f"(if {render(tree[1])} then {render(tree[2])} else {render(tree[3])})"


_constants = st.sampled_from(["0", "1", "2", "3", "0.5", "0.25", "0.6", "0.4", "10", "0.125", "7"]).map(
    lambda t: ("num", t)
)
_leaves = st.one_of(_constants, st.sampled_from(NAMES).map(lambda n: ("name", n)))


def _numbers(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    conditions = st.tuples(st.just("cmp"), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), children, children)
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("fn"), st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=3)),
        st.tuples(st.just("fn"), st.sampled_from(["clip", "abs"]), st.lists(children, min_size=1, max_size=1)),
        st.tuples(st.just("fn"), st.just("round"), st.lists(children, min_size=1, max_size=1), st.integers(0, 3)),
        st.tuples(st.just("if"), conditions, children, children),
        st.tuples(
            st.just("if"),
            st.tuples(st.just("bool"), st.sampled_from(["and", "or"]), conditions, conditions),
            children,
            children,
        ),
        st.tuples(st.just("if"), st.tuples(st.just("not"), conditions), children, children),
    )


trees = st.recursive(_leaves, _numbers, max_leaves=12)
_value = st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False, allow_infinity=False)
envs = st.fixed_dictionaries(dict.fromkeys(NAMES, _value))


class TestExactEvaluation:
    """The formula's value equals the Fraction reference, whatever the expression."""

    @given(trees, envs)
    def test_matches_reference(self, tree: Tree, env: dict[str, Decimal]) -> None:
        """Every generated formula evaluates exactly as the independent rational evaluator."""
        text = render(tree)
        expr = parse(text)
        exact_env = {k: Fraction(v) for k, v in env.items()}
        try:
            expected = reference(tree, exact_env)
        except ZeroDivisionError:
            with pytest.raises(ValueError, match="divides by zero"):
                expr.evaluate(env)
            return
        assert expr.evaluate(env) == expected

    def test_thirds_stay_exact(self) -> None:
        """1/3 + 1/3 + 1/3 is exactly 1, not 0.999…"""
        assert parse("1/3 + 1/3 + 1/3").evaluate({}) == 1

    def test_round_is_half_up(self) -> None:
        """round(x, 2) rounds halves away from zero, as assessment methods do."""
        expr = parse("round(x, 2)")
        assert expr.evaluate({"x": Decimal("2.345")}) == Fraction("2.35")
        assert expr.evaluate({"x": Decimal("-2.345")}) == Fraction("-2.35")
        assert round_half_up(Fraction(1, 8), 2) == Fraction("0.13")

    def test_booleans(self) -> None:
        """Boolean inputs take and/or/not and if-then-else; their type is inferred from use."""
        expr = parse("if listed and not (x < 0) then x else 0")
        assert dict(expr.names) == {"listed": "boolean", "x": "number"}
        assert expr.evaluate({"listed": True, "x": Decimal(3)}) == 3
        assert expr.evaluate({"listed": False, "x": Decimal(3)}) == 0

    def test_to_decimal(self) -> None:
        """A finite decimal converts exactly; a repeating one to 40 significant digits, half-up."""
        assert to_decimal(Fraction(1, 8)) == Decimal("0.125")
        assert to_decimal(Fraction(14, 3)) == Decimal("4.666666666666666666666666666666666666667")
        assert to_decimal(Fraction(-1, 30)) == Decimal("-0.03333333333333333333333333333333333333333")


class TestParseErrors:
    """Bad formulas are refused when the policy loads, with the column and a hint."""

    @pytest.mark.parametrize(
        ("text", "message", "hint"),
        [
            ("honset + 1", "unknown name 'honset' at column 1 of the formula", "did you mean 'honest'?"),
            ("honest.real", "unexpected character '.' at column 7 of the formula", "there is no attribute access"),
            ("sqrt(honest)", "unknown function 'sqrt' at column 1 of the formula", "the functions are abs, clip"),
            ("cilp(honest)", "unknown function 'cilp' at column 1 of the formula", "did you mean 'clip'?"),
            ("honest ^ 2", "unexpected character '^' at column 8 of the formula", "there is no power operator"),
            ("0 < honest < 1", "comparisons do not chain at column 12 of the formula", "join them with `and`"),
            ("if honest > 0 then 1", "expected 'else' for the `if` at column 1", None),
            ("(honest + 1", "expected ')' to close the ( at column 1, found the end at column 12", None),
            ("honest and 1", "expected a boolean here, found a number at column 1", "compare it"),
            ("min(honest)", "min takes 2 or more arguments, not 1 at column 1", None),
            ("round(honest, honest)", "round(x, n) needs n written as a whole number 0 to 12 at column 15", None),
            ("__import__(honest)", "unknown function '__import__' at column 1", None),
            ("honest honest", "unexpected 'honest' after a complete formula at column 8", None),
        ],
        ids=[
            "name",
            "attribute",
            "function",
            "function-typo",
            "power",
            "chain",
            "if",
            "paren",
            "type",
            "arity",
            "round",
            "dunder",
            "juxtaposed",
        ],
    )
    def test_located(self, text: str, message: str, hint: str | None) -> None:
        """The error names what is wrong, the column inside the formula, and how to fix it."""
        with pytest.raises(ParamError) as caught:
            parse(text, ["honest", "guarantee"])
        assert caught.value.problem.message.startswith(message)
        assert caught.value.path == ("formula",)
        if hint is not None:
            assert caught.value.hint is not None and caught.value.hint.startswith(hint)

    def test_caret(self) -> None:
        """The message shows the formula with a caret under the column."""
        with pytest.raises(ParamError) as caught:
            parse("a + b ? c", ["a", "b", "c"])
        assert caught.value.problem.message.splitlines()[1:] == ["    a + b ? c", "          ^"]

    def test_size_limits(self) -> None:
        """Length, node count and depth are bounded."""
        with pytest.raises(ParamError, match=f"at most {MAX_LENGTH}"):
            parse("1" + " + 1" * MAX_LENGTH)
        with pytest.raises(ParamError, match=f"more than {MAX_NODES} parts"):
            parse(" + ".join(["x"] * (MAX_NODES // 2 + 1)))
        with pytest.raises(ParamError, match=f"deeper than {MAX_DEPTH} levels"):
            parse("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))

    def test_mixed_use(self) -> None:
        """A name used as a number and as a condition is refused, naming both places."""
        with pytest.raises(ParamError, match="'a' is used as a boolean here but as a number at column 1"):
            parse("a + 1 > 0 and a")


class TestVectorised:
    """The float form is within its stated error of the exact value, or NaN (the exact path decides)."""

    @given(trees, st.lists(envs, min_size=1, max_size=5))
    def test_bound_holds(self, tree: Tree, rows: list[dict[str, Decimal]]) -> None:
        """Wherever the float form answers, the exact value lies within its error bound."""
        expr = parse(render(tree))
        columns = {n: np.array([float(r[n]) for r in rows]) for n in NAMES}
        values, errors = expr.vector(columns)
        values = np.broadcast_to(values, (len(rows),))
        errors = np.broadcast_to(errors, (len(rows),))
        for i, row in enumerate(rows):
            try:
                exact = expr.evaluate(row)
            except ValueError:
                assert np.isnan(values[i])
                continue
            if not np.isnan(values[i]):
                assert abs(Fraction(float(values[i])) - exact) <= Fraction(float(errors[i]))

    def test_clamped_is_exact(self) -> None:
        """A part clearly clipped to an exact constant carries no error of its own, only later roundings."""
        expr = parse("10 * clip((x - 0.6) / 0.4) + 5 * clip(y / 0.3)")
        values, errors = expr.vector({"x": np.array([0.5, 0.2]), "y": np.array([0.5, 0.9])})
        assert values.tolist() == [5.0, 5.0]
        assert np.asarray(errors).tolist() == [10.0 * 2.0**-50] * 2  # the last product and sum, each 5 × 2⁻⁵⁰


class TestDirection:
    """Interval arithmetic proves a declared direction, or says it cannot."""

    UNIT = (Fraction(0), Fraction(1))

    @pytest.mark.parametrize(
        ("text", "name", "sign"),
        [
            ("10 * clip((x - 0.6) / 0.4) + 5 * clip(y / 0.3)", "x", 1),
            ("x / y", "y", -1),
            ("x * y", "x", 1),
            ("max(x, 1 - y)", "y", -1),
            ("round(x, 1) - y", "x", 1),
            ("if y > 0.5 then x else 2 * x", "x", 1),
            ("x - x * x", "x", None),
            ("abs(x - 0.5)", "x", None),
            ("y", "x", 0),
        ],
        ids=["issue-example", "denominator", "product", "max", "round", "if", "parabola", "abs", "absent"],
    )
    def test_proofs(self, text: str, name: str, sign: int | None) -> None:
        """Each formula's direction in one input over the unit box, as interval arithmetic decides it."""
        box = {"x": self.UNIT, "y": (Fraction(1, 10), Fraction(1))}
        assert parse(text).direction(name, box) == sign

    @given(trees, envs, st.sampled_from(NAMES), st.decimals(min_value=0, max_value=50, places=2))
    def test_sound(self, tree: Tree, env: dict[str, Decimal], name: str, step: Decimal) -> None:
        """A proved direction is never broken: raising the input never moves the value the other way."""
        expr = parse(render(tree))
        sign = expr.direction(name, {})
        if sign is None or expr.names.get(name) != "number":
            return
        higher = {**env, name: env[name] + step}
        try:
            low, high = expr.evaluate(env), expr.evaluate(higher)
        except ValueError:
            return
        if isinstance(low, bool):
            return
        assert (high - low) * sign >= 0  # type: ignore[operator]


# -- the scorer, through a policy ---------------------------------------------------------------------

FORMULA_POLICY = """\
id: formula-policy
version: "1"
label: {zh: 公式政策, en: formula policy}
effective_from: 2024-01-01
inputs:
  honest: {type: ratio, better: higher, label: {zh: 诚信率, en: honesty}}
  guarantee: {type: ratio, better: higher, label: {zh: 担保率, en: guarantee}}
  other: {type: number, min: 0, max: 85, better: higher, label: {zh: 其他, en: other}}
indicators:
  credit:
    label: {zh: 信用, en: credit}
    scorer: formula
    params:
      formula: "10 × clip((honest − 0.60) / 0.40) + 5 × clip(guarantee / 0.30)"
      better: {honest: higher, guarantee: higher}
    points: 15
  rest:
    label: {zh: 其他, en: rest}
    scorer: linear
    params: {input: other, worst: 0, best: 85}
    points: 85
aggregation: {method: points, total: 100}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""


def _round2(value: Fraction) -> Decimal:
    return to_decimal(_half_up(value, 2)).quantize(Decimal("0.01"))


def _credit(honest: Fraction, guarantee: Fraction) -> Fraction:
    def clip(v: Fraction) -> Fraction:
        return min(max(v, Fraction(0)), Fraction(1))

    return 10 * clip((honest - Fraction("0.6")) / Fraction("0.4")) + 5 * clip(guarantee / Fraction("0.3"))


_ratio = st.decimals(min_value=0, max_value=1, places=3, allow_nan=False)


class TestFormulaScorer:
    """A sum of terms is one indicator, rounded once, on the row and the columnar path."""

    @pytest.fixture
    def policy(self, write_policy: WritePolicy) -> fineco_rules.Policy:
        return fineco_rules.load_policy(write_policy(FORMULA_POLICY))

    def test_rounded_once(self, policy: fineco_rules.Policy) -> None:
        """The score is the whole formula's exact value rounded once: 14/3 → 4.67 (two parts: 3.00 + 1.67)."""
        compiled = fineco_rules.compile_policy(policy)
        record = {"county": "320101", "honest": "0.72", "guarantee": "0.1", "other": "0"}
        result = fineco_rules.evaluate(compiled, [record]).results[0]
        assert result.indicators["credit"].score == Decimal("4.67")

    @given(
        st.lists(st.tuples(_ratio, _ratio, st.decimals(min_value=0, max_value=85, places=2)), min_size=1, max_size=8)
    )
    def test_matches_rational_reference(self, rows: list[tuple[Decimal, Decimal, Decimal]]) -> None:
        """Scores, totals and grades on both paths equal the rational reference."""
        compiled = _compiled_formula_policy()
        records = [
            {"county": f"32{i:04d}", "honest": str(h), "guarantee": str(g), "other": str(o)}
            for i, (h, g, o) in enumerate(rows)
        ]
        row = fineco_rules.evaluate(compiled, records)
        columns = {
            "county": np.array([r["county"] for r in records]),
            **{k: np.array([float(r[k]) for r in records]) for k in ("honest", "guarantee", "other")},
        }
        fast = fineco_rules.evaluate_columns(compiled, columns)
        for i, (h, g, o) in enumerate(rows):
            credit = _round2(_credit(Fraction(h), Fraction(g)))
            total = credit + _round2(Fraction(o))
            grade = "good" if total >= 80 else "pass" if total >= 60 else "fail"
            result = row.results[i]
            assert result.indicators["credit"].score == credit
            assert result.score == total
            assert result.grade is not None and result.grade.value == grade
            assert fast.total(i) == total
            assert fast.grades()[i] == result.grade

    def test_explain_substitutes(self, policy: fineco_rules.Policy) -> None:
        """explain shows the formula with the county's values put in."""
        compiled = fineco_rules.compile_policy(policy)
        record = {"county": "320101", "honest": "0.72", "guarantee": "0.1", "other": "0"}
        text = fineco_rules.explain(fineco_rules.evaluate(compiled, [record]).results[0], policy, "en")
        assert "10 × clip((0.72 − 0.60) ÷ 0.40) + 5 × clip(0.1 ÷ 0.30)" in text

    def test_error_located_in_the_policy(self, write_policy: WritePolicy) -> None:
        """A typo in the formula is reported at the formula's line in the file, with the column inside it."""
        path = write_policy(FORMULA_POLICY.replace("clip(guarantee", "clip(guarante"))
        with pytest.raises(PolicyError) as caught:
            fineco_rules.load_policy(path)
        problem = caught.value.problems[0]
        assert (problem.location.file, problem.location.line) == (str(path), 14)
        assert problem.message.startswith("unknown name 'guarante' at column 46 of the formula")
        assert problem.hint == "did you mean 'guarantee'?"

    def test_better_must_be_used(self, write_policy: WritePolicy) -> None:
        """A direction declared for an input the formula does not read is refused."""
        path = write_policy(FORMULA_POLICY.replace("guarantee: higher}", "guarantee: higher, other: higher}"))
        with pytest.raises(PolicyError, match="`better` names 'other', which the formula does not read"):
            fineco_rules.load_policy(path)

    def test_above_the_maximum(self, policy: fineco_rules.Policy) -> None:
        """A formula that gives more than the indicator's points is refused for that county, not clipped."""
        text = FORMULA_POLICY.replace("5 × clip(guarantee / 0.30)", "5 × guarantee / 0.30")
        path = Path(policy.file)
        path.write_text(text, encoding="utf-8")
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(path))
        record = {"county": "320101", "honest": "1", "guarantee": "0.9", "other": "0"}
        result = fineco_rules.evaluate(compiled, [record]).results[0]
        assert result.grade is None
        assert "the formula gives 25 points, outside [0, 15]" in result.errors[0].message


_COMPILED: dict[str, fineco_rules.CompiledPolicy] = {}


def _compiled_formula_policy() -> fineco_rules.CompiledPolicy:
    if "p" not in _COMPILED:
        import tempfile

        folder = Path(tempfile.mkdtemp())
        (folder / "policy.yaml").write_text(FORMULA_POLICY, encoding="utf-8")
        _COMPILED["p"] = fineco_rules.compile_policy(fineco_rules.load_policy(folder / "policy.yaml"))
    return _COMPILED["p"]


class TestCheck:
    """``fineco check`` proves a formula's declared directions, or searches them."""

    def test_proved(self, write_policy: WritePolicy) -> None:
        """The issue's formula is proved increasing in both inputs by interval arithmetic."""
        report = check_policy(write_policy(FORMULA_POLICY), max_examples=20)
        assert report.ok
        assert [n.rsplit(": ", 1)[1] for n in report.notes] == ["proved by interval arithmetic"] * 2

    def test_searched_not_proved(self, write_policy: WritePolicy) -> None:
        """A direction intervals cannot prove (but that holds) is searched and said to be not proved."""
        text = FORMULA_POLICY.replace(
            "10 × clip((honest − 0.60) / 0.40) + 5 × clip(guarantee / 0.30)",
            "if honest > 0.5 then 5 + 10 * honest else 10 * honest",
        ).replace("better: {honest: higher, guarantee: higher}", "better: {honest: higher}")
        report = check_policy(write_policy(text), max_examples=30)
        assert report.notes == (
            "indicator 'credit': 'honest' (better: higher) in `if honest > 0.5 then 5 + 10 * honest else "
            "10 * honest`: searched, not proved",
        )

    def test_breach_found(self, write_policy: WritePolicy) -> None:
        """A formula that falls where it is declared to rise is caught with a counterexample."""
        text = FORMULA_POLICY.replace(
            "10 × clip((honest − 0.60) / 0.40) + 5 × clip(guarantee / 0.30)",
            "15 * honest * (1 - honest) * 4 * clip(guarantee + 1)",
        )
        report = check_policy(write_policy(text), max_examples=60)
        breaches = [f for f in report.findings if f.rule == "monotone" and "the formula gives" in f.message]
        assert len(breaches) == 1
        assert breaches[0].location.path == "indicators.credit.params.formula"
        assert breaches[0].proved is False
        assert any(n.endswith(": broken") for n in report.notes)
