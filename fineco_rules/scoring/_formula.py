"""The formula language: a small, safe, exact expression language for indicators and derived values.

Parsed once, when a policy loads, by a hand-written tokenizer and a Pratt parser (never ``eval``, no
attribute access, no calls but seven fixed functions, bounded length, size and depth); evaluated in exact
rationals; also evaluated over NumPy columns with a proven error bound, and over intervals to prove a
declared direction. The grammar is written out in docs/policy-guide.md.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any, Final, TypeAlias

import attrs

from fineco_rules.errors import ParamError, join, tr

__all__ = [
    "COMPARISONS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "Expr",
    "Interval",
    "Node",
    "parse",
    "to_decimal",
]

#: Limits on a formula: characters, nodes of its tree, and nesting depth.
MAX_LENGTH: Final = 2000
MAX_NODES: Final = 400
MAX_DEPTH: Final = 40
#: Decimals ``round(x, n)`` may ask for.
MAX_ROUND: Final = 12
#: Digits of a rational result that is not a finite decimal (far beyond any stated rounding).
DIGITS: Final = 40

#: The functions a formula may call, with how many arguments each takes (min, max; None: any number).
FUNCTIONS: Final[Mapping[str, tuple[int, int | None]]] = {
    "abs": (1, 1),
    "clip": (1, 3),
    "ln": (1, 1),
    "max": (2, None),
    "min": (2, None),
    "round": (2, 2),
}
#: Significant digits of ``ln(x)``: Decimal's natural logarithm, correctly rounded to this many digits.
LN_DIGITS: Final = DIGITS
_LN_CONTEXT: Final = Context(prec=LN_DIGITS)
_KEYWORDS: Final = frozenset({"if", "then", "else", "and", "or", "not", "true", "false"})
COMPARISONS: Final = ("<", "<=", ">", ">=", "==", "!=")
#: Symbols authors copy from a printed method, and the operator each means.
_SYMBOLS: Final = {"×": "*", "÷": "/", "−": "-", "≤": "<=", "≥": ">=", "≠": "!="}
_TOKEN: Final = re.compile(
    r"(?P<space>\s+)|(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|[-+*/(),<>×÷−≤≥≠])"
)

Number: TypeAlias = Fraction
Result: TypeAlias = Fraction | bool


@attrs.frozen
class Node:
    """One node of a parsed formula: ``kind`` is num, bool, name, neg, not, op (``op`` holds the operator),
    call (``op`` holds the function), or if; ``col`` is its 1-based column in the formula."""

    kind: str
    col: int
    op: str = ""
    args: tuple[Node, ...] = ()
    value: Fraction | bool | str | None = None


def _fail(text: str, col: int, message: str, hint: str | None = None) -> ParamError:
    caret = " " * (col - 1) + "^"
    return ParamError(
        tr(
            "{message} at column {col} of the formula\n    {text}\n    {caret}",
            message=message,
            col=col,
            text=text,
            caret=caret,
        ),
        ("formula",),
        hint,
    )


@attrs.frozen
class _Token:
    kind: str  # number, name, op, end
    text: str
    col: int


def _tokens(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ParamError(
            tr("the formula is {count} characters long; at most {MAX_LENGTH}", count=len(text), MAX_LENGTH=MAX_LENGTH),
            ("formula",),
        )
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None:
            raise _fail(text, pos + 1, tr("unexpected character {text!r}", text=text[pos]), _char_hint(text[pos]))
        kind = found.lastgroup or "space"
        if kind != "space":
            word = found.group()
            out.append(_Token(kind, _SYMBOLS.get(word, word), pos + 1))
        pos = found.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


def _char_hint(char: str) -> str:
    if char == ".":
        return tr("there is no attribute access; name an input declared under inputs")
    if char in "[]{}":
        return tr("group with ( and ) only")
    if char in "=!":
        return tr("compare with == or !=")
    if char == "^":
        return tr("there is no power operator; multiply")
    return tr("use + - * / ( ) , < <= > >= == != and names and numbers")


#: Binding powers of the infix operators (higher binds tighter).
_INFIX: Final = {"or": 10, "and": 20, **dict.fromkeys(COMPARISONS, 40), "+": 50, "-": 50, "*": 60, "/": 60}
_PREFIX_NOT: Final = 30
_PREFIX_SIGN: Final = 70


class _Parser:
    """A Pratt parser over the tokens of one formula."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.nodes = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str, why: str) -> _Token:
        token = self.take()
        if token.text != text or token.kind == "number":
            found = tr("the end") if token.kind == "end" else repr(token.text)
            raise _fail(
                self.text, token.col, tr("expected {text!r} {why}, found {found}", text=text, why=why, found=found)
            )
        return token

    def node(self, kind: str, col: int, depth: int, **kw: Any) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(
                self.text,
                col,
                tr("the formula has more than {MAX_NODES} parts", MAX_NODES=MAX_NODES),
                tr("split it into indicators"),
            )
        if depth > MAX_DEPTH:
            raise _fail(
                self.text,
                col,
                tr("the formula nests deeper than {MAX_DEPTH} levels", MAX_DEPTH=MAX_DEPTH),
                tr("write it flatter"),
            )
        return Node(kind, col, **kw)

    def parse(self) -> Node:
        tree = self.expression(0, 0)
        token = self.peek()
        if token.kind != "end":
            raise _fail(
                self.text, token.col, tr("unexpected {text!r} after a complete formula", text=token.text), _after(token)
            )
        return tree

    def expression(self, power: int, depth: int) -> Node:
        left = self.prefix(depth)
        while True:
            token = self.peek()
            bind = _INFIX.get(token.text) if token.kind in ("op", "name") else None
            if bind is None or bind <= power:
                return left
            self.take()
            if token.text in COMPARISONS and left.kind == "op" and left.op in COMPARISONS:
                raise _fail(self.text, token.col, tr("comparisons do not chain"), tr("join them with `and`"))
            right = self.expression(bind, depth + 1)
            left = self.node("op", token.col, depth, op=token.text, args=(left, right))

    def prefix(self, depth: int) -> Node:
        token = self.take()
        if token.kind == "number":
            return self.node("num", token.col, depth, op=token.text, value=Fraction(token.text))
        if token.kind == "name":
            return self.word(token, depth)
        if token.text in ("-", "+"):
            inner = self.expression(_PREFIX_SIGN, depth + 1)
            return inner if token.text == "+" else self.node("neg", token.col, depth, args=(inner,))
        if token.text == "(":
            inner = self.expression(0, depth + 1)
            self.expect(")", tr("to close the ( at column {col}", col=token.col))
            return inner
        found = tr("the end of the formula") if token.kind == "end" else repr(token.text)
        raise _fail(self.text, token.col, tr("expected a number, a name or ( but found {found}", found=found))

    def word(self, token: _Token, depth: int) -> Node:
        word = token.text
        if word in ("true", "false"):
            return self.node("bool", token.col, depth, value=word == "true")
        if word == "not":
            return self.node("not", token.col, depth, args=(self.expression(_PREFIX_NOT, depth + 1),))
        if word == "if":
            test = self.expression(0, depth + 1)
            self.expect("then", tr("after the condition of the `if` at column {col}", col=token.col))
            yes = self.expression(0, depth + 1)
            self.expect("else", tr("for the `if` at column {col} (every if has an else)", col=token.col))
            no = self.expression(0, depth + 1)
            return self.node("if", token.col, depth, args=(test, yes, no))
        if word in _KEYWORDS:
            raise _fail(self.text, token.col, tr("{word!r} cannot start a value", word=word))
        if self.peek().text == "(":
            return self.call(token, depth)
        return self.node("name", token.col, depth, value=word)

    def call(self, token: _Token, depth: int) -> Node:
        name = token.text
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = (
                tr("did you mean {name!r}?", name=close[0])
                if close
                else tr("the functions are {names}", names=join(sorted(FUNCTIONS)))
            )
            raise _fail(self.text, token.col, tr("unknown function {name!r}", name=name), hint)
        self.take()
        args = [self.expression(0, depth + 1)]
        while self.peek().text == ",":
            self.take()
            args.append(self.expression(0, depth + 1))
        self.expect(")", tr("to close the call of {name} at column {col}", name=name, col=token.col))
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            raise _fail(
                self.text,
                token.col,
                tr("{name} takes {wanted} arguments, not {count}", name=name, wanted=wanted, count=len(args)),
            )
        if name == "round":
            digits = args[1]
            ok = digits.kind == "num" and isinstance(digits.value, Fraction) and digits.value.denominator == 1
            if not ok or not 0 <= int(digits.value or 0) <= MAX_ROUND:
                raise _fail(
                    self.text,
                    digits.col,
                    tr("round(x, n) needs n written as a whole number 0 to {MAX_ROUND}", MAX_ROUND=MAX_ROUND),
                )
        return self.node("call", token.col, depth, op=name, args=tuple(args))


def _after(token: _Token) -> str | None:
    if token.text == ")":
        return tr("remove the extra )")
    if token.kind == "name" and token.text in ("then", "else"):
        return tr("`{word}` belongs to an `if`", word=token.text)
    return tr("join the parts with an operator")


# -- types ---------------------------------------------------------------------------------------


def _types(text: str, root: Node) -> dict[str, str]:
    """Each name's type (``number`` or ``boolean``), checking that every part gets the type it needs."""
    found: dict[str, tuple[str, int]] = {}

    def check(node: Node, want: str | None) -> str:
        got = _type_of(node, check, found, text)
        if want is not None and got != want:
            raise _fail(
                text, node.col, tr("expected a {want} here, found a {got}", want=want, got=got), _type_hint(want)
            )
        return got

    check(root, None)
    return {name: kind for name, (kind, _) in found.items()}


def _type_hint(want: str) -> str:
    if want == "boolean":
        return tr("compare it, e.g. `x > 0`")
    return tr("use `if ... then ... else ...` to turn a condition into a number")


def _type_of(node: Node, check: Callable[[Node, str | None], str], found: dict[str, tuple[str, int]], text: str) -> str:
    kind = node.kind
    if kind == "num":
        return "number"
    if kind == "bool":
        return "boolean"
    if kind == "name":
        return found.setdefault(str(node.value), ("number", node.col))[0]
    if kind in ("neg", "call"):
        for arg in node.args:
            check(arg, "number")
        return "number"
    if kind == "not":
        _name_as(node.args[0], "boolean", found, text)
        check(node.args[0], "boolean")
        return "boolean"
    if kind == "if":
        _name_as(node.args[0], "boolean", found, text)
        check(node.args[0], "boolean")
        yes = check(node.args[1], None)
        check(node.args[2], yes)
        return yes
    return _type_of_op(node, check, found, text)


def _type_of_op(
    node: Node, check: Callable[[Node, str | None], str], found: dict[str, tuple[str, int]], text: str
) -> str:
    op = node.op
    if op in ("and", "or"):
        for arg in node.args:
            _name_as(arg, "boolean", found, text)
            check(arg, "boolean")
        return "boolean"
    if op in ("==", "!="):
        left, right = node.args
        if left.kind == "bool" or right.kind == "bool" or _is_test(left) or _is_test(right):
            _name_as(left, "boolean", found, text)
            _name_as(right, "boolean", found, text)
            check(left, "boolean")
            check(right, "boolean")
            return "boolean"
    for arg in node.args:
        check(arg, "number")
    return "boolean" if op in COMPARISONS else "number"


def _is_test(node: Node) -> bool:
    return node.kind in ("not", "bool") or (node.kind == "op" and node.op in {*COMPARISONS, "and", "or"})


def _name_as(node: Node, kind: str, found: dict[str, tuple[str, int]], text: str) -> None:
    if node.kind != "name":
        return
    name = str(node.value)
    have = found.setdefault(name, (kind, node.col))
    if have[0] != kind:
        raise _fail(
            text,
            node.col,
            tr(
                "{name!r} is used as a {kind} here but as a {have} at column {have2}",
                name=name,
                kind=kind,
                have=have[0],
                have2=have[1],
            ),
        )


# -- the parsed formula --------------------------------------------------------------------------


@attrs.frozen
class Expr:
    """A parsed, type-checked formula: its text, tree, and the inputs it reads with their types."""

    text: str
    tree: Node
    #: Each input the formula reads, with ``number`` or ``boolean``, in order of first use.
    names: Mapping[str, str]

    def evaluate(self, values: Mapping[str, object]) -> Result:
        """The exact value for ``values`` (Decimals and bools); ``ValueError`` on a division by zero."""
        return _eval(self.tree, values)

    def substituted(self, values: Mapping[str, object]) -> str:
        """The formula with each input replaced by its value, for explanations."""
        return _show(self.tree, values, 0)

    def vector(self, columns: Mapping[str, Any]) -> tuple[Any, Any]:
        """Over NumPy columns: float64 values and an absolute error bound for each (NaN: undecided)."""
        from fineco_rules.scoring._formula_columns import vector  # NumPy loads only on the columnar path

        return vector(self.tree, columns)

    def interval(self, box: Mapping[str, Interval]) -> Interval:
        """Bounds on the value over ``box`` (each input's interval; missing inputs are unbounded)."""
        return _mono(self.tree, box, "")[0]

    def direction(self, name: str, box: Mapping[str, Interval]) -> int | None:
        """+1 if the value provably never falls as ``name`` rises over ``box``, -1 if it never rises,
        0 if it does not depend on ``name``; None when interval arithmetic cannot prove either."""
        return _mono(self.tree, box, name)[1]


def parse(text: str, known: Iterable[str] | None = None) -> Expr:
    """Parse and type-check ``text``; with ``known``, every name must be one of them (did-you-mean if not).

    Raises :class:`ParamError` (path ``("formula",)``) whose message gives the column and shows it.
    """
    if not isinstance(text, str) or not text.strip():
        raise ParamError(tr("the formula is empty"), ("formula",), tr("write an expression such as `a / b`"))
    tree = _Parser(text).parse()
    names = _types(text, tree)
    if known is not None:
        allowed = list(known)
        for node in _walk(tree):
            if node.kind == "name" and node.value not in allowed:
                close = difflib.get_close_matches(str(node.value), allowed, n=1)
                hint = (
                    tr("did you mean {name!r}?", name=close[0]) if close else tr("declare its direction under `better`")
                )
                raise _fail(text, node.col, tr("unknown name {value!r}", value=node.value), hint)
    return Expr(text, tree, names)


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for arg in node.args:
        yield from _walk(arg)


# -- exact evaluation ----------------------------------------------------------------------------


def _exact(value: object, name: str) -> Result:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return Fraction(value)
    raise TypeError(f"input {name!r} must be a number or true/false, got {value!r}")


def _num(node: Node, values: Mapping[str, object]) -> Fraction:
    out = _eval(node, values)
    if isinstance(out, bool):  # pragma: no cover - the type check rules this out
        raise TypeError("a condition where a number belongs")
    return out


def _test(node: Node, values: Mapping[str, object]) -> bool:
    return bool(_eval(node, values))


def _eval(node: Node, values: Mapping[str, object]) -> Result:
    kind = node.kind
    if kind in ("num", "bool"):
        return node.value if isinstance(node.value, Fraction | bool) else Fraction(0)
    if kind == "name":
        return _exact(values[str(node.value)], str(node.value))
    if kind == "neg":
        return -_num(node.args[0], values)
    if kind == "not":
        return not _test(node.args[0], values)
    if kind == "if":
        return _eval(node.args[1] if _test(node.args[0], values) else node.args[2], values)
    if kind == "call":
        return _call(node, [_num(a, values) for a in node.args])
    op = node.op
    if op == "and":
        return _test(node.args[0], values) and _test(node.args[1], values)
    if op == "or":
        return _test(node.args[0], values) or _test(node.args[1], values)
    left, right = _eval(node.args[0], values), _eval(node.args[1], values)
    result: Result = _binary(op, left, right)
    return result


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right == 0:
            raise ValueError(tr("the formula divides by zero"))
        return left / right
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "==": left == right,
        "!=": left != right,
    }[op]


def _call(node: Node, args: list[Fraction]) -> Fraction:
    name = node.op
    if name == "abs":
        return abs(args[0])
    if name == "min":
        return min(args)
    if name == "max":
        return max(args)
    if name == "clip":
        low = args[1] if len(args) > 1 else Fraction(0)
        high = args[2] if len(args) > 2 else Fraction(1)
        if low > high:
            raise ValueError(tr("clip's lower bound {low} is above its upper bound {high}", low=low, high=high))
        return min(max(args[0], low), high)
    if name == "ln":
        return ln(args[0])
    return round_half_up(args[0], int(args[1]))


def ln(value: Fraction) -> Fraction:
    """The natural logarithm of ``value`` to :data:`LN_DIGITS` significant digits (Decimal's ``ln``, correctly
    rounded); ``ValueError`` unless ``value`` is above zero."""
    if value <= 0:
        raise ValueError(tr("ln of {value}: the logarithm needs a number above zero", value=to_decimal(value)))
    return Fraction(to_decimal(value).ln(_LN_CONTEXT))


def _ln_bound(value: Fraction, sign: int) -> Fraction:
    """``ln(value)`` moved outward (``sign`` -1 down, +1 up) by more than its rounding error."""
    result = ln(value)
    return result + sign * (abs(result) + 1) * Fraction(1, 10 ** (LN_DIGITS - 2))


def round_half_up(value: Fraction, digits: int) -> Fraction:
    """``value`` to ``digits`` decimals, halves away from zero (as assessment methods round)."""
    scale = 10**digits
    scaled = abs(value) * scale
    whole = math.floor(scaled + Fraction(1, 2))
    return Fraction(whole if value >= 0 else -whole, scale)


def to_decimal(value: Fraction) -> Decimal:
    """The Decimal of ``value``: exact when it is a finite decimal, else to :data:`DIGITS` significant digits."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator == 1:
        scale = max(twos, fives)
        return Decimal(f"{value.numerator * 10**scale // value.denominator}E-{scale}")  # exact, any length
    size = abs(value)
    if size >= 1:
        decimals = DIGITS - len(str(size.numerator // size.denominator))
    else:  # as many decimals again as there are zeros after the point
        decimals = DIGITS + len(str(size.denominator // size.numerator)) - 1
    return to_decimal(round_half_up(value, max(decimals, 0)))


# -- explanation ---------------------------------------------------------------------------------

_SHOW: Final = {"*": "×", "/": "÷", "-": "−", "<=": "≤", ">=": "≥", "!=": "≠"}


def _show(node: Node, values: Mapping[str, object], outer: int) -> str:
    kind = node.kind
    if kind == "num":
        return node.op or _number_text(node.value)  # type: ignore[arg-type]
    if kind == "bool":
        return "true" if node.value else "false"
    if kind == "name":
        value = values.get(str(node.value))
        return (
            "(missing)" if value is None else ("true" if value is True else "false" if value is False else str(value))
        )
    if kind == "neg":
        return "−" + _show(node.args[0], values, _PREFIX_SIGN)
    if kind == "not":
        return "not " + _show(node.args[0], values, _PREFIX_NOT)
    if kind == "if":
        test, yes, no = (_show(a, values, 0) for a in node.args)
        text = f"if {test} then {yes} else {no}"
        return f"({text})" if outer else text
    if kind == "call":
        return f"{node.op}({', '.join(_show(a, values, 0) for a in node.args)})"
    bind = _INFIX[node.op]
    left = _show(node.args[0], values, bind - 1)
    right = _show(node.args[1], values, bind)
    text = f"{left} {_SHOW.get(node.op, node.op)} {right}"
    return f"({text})" if bind <= outer else text


def _number_text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return str(to_decimal(value))


# -- intervals and directions --------------------------------------------------------------------

#: A closed interval of rationals; None is unbounded on that side.
Interval: TypeAlias = tuple[Fraction | None, Fraction | None]
_ANY: Final[Interval] = (None, None)


def _combine(*signs: int | None) -> int | None:
    out = 0
    for sign in signs:
        if sign is None:
            return None
        if sign and out and sign != out:
            return None
        out = out or sign
    return out


def _nonneg(iv: Interval) -> bool:
    return iv[0] is not None and iv[0] >= 0


def _nonpos(iv: Interval) -> bool:
    return iv[1] is not None and iv[1] <= 0


def _add(a: Interval, b: Interval, sign: int = 1) -> Interval:
    lo_b, hi_b = b if sign > 0 else (None if b[1] is None else -b[1], None if b[0] is None else -b[0])
    lo = None if a[0] is None or lo_b is None else a[0] + lo_b
    hi = None if a[1] is None or hi_b is None else a[1] + hi_b
    return lo, hi


def _mul(a: Interval, b: Interval) -> Interval:
    if None in a or None in b:
        if _nonneg(a) and _nonneg(b):
            return a[0] * b[0], None  # type: ignore[operator]
        return _ANY
    products = [x * y for x in a for y in b]  # type: ignore[operator]
    return min(products), max(products)


def _recip(b: Interval) -> Interval | None:
    lo, hi = b
    if lo is not None and lo > 0:
        return (0 if hi is None else 1 / hi), 1 / lo  # type: ignore[return-value]
    if hi is not None and hi < 0:
        return 1 / hi, (0 if lo is None else 1 / lo)  # type: ignore[return-value]
    return None


def _flip(sign: int | None) -> int | None:
    return None if sign is None else -sign


def _mono(node: Node, box: Mapping[str, Interval], target: str) -> tuple[Interval, int | None]:  # noqa: C901
    """The node's interval over ``box`` and its direction in ``target`` (see :meth:`Expr.direction`)."""
    kind = node.kind
    if kind == "num":
        return (node.value, node.value), 0  # type: ignore[return-value]
    if kind == "bool":
        return _ANY, 0
    if kind == "name":
        name = str(node.value)
        return box.get(name, _ANY), (1 if name == target else 0)
    parts = [_mono(a, box, target) for a in node.args]
    ivs = [iv for iv, _ in parts]
    signs = [s for _, s in parts]
    if kind == "neg":
        lo, hi = ivs[0]
        return ((None if hi is None else -hi), (None if lo is None else -lo)), _flip(signs[0])
    if kind == "not":
        return _ANY, _flip(signs[0])
    if kind == "if":
        return _hull(ivs[1], ivs[2]), (_combine(signs[1], signs[2]) if signs[0] == 0 else None)
    if kind == "call":
        return _mono_call(node.op, ivs, signs)
    op = node.op
    if op in ("and", "or"):
        return _ANY, _combine(*signs)
    if op in COMPARISONS:
        if op in ("==", "!="):
            return _ANY, (0 if signs == [0, 0] else None)
        up = _combine(signs[0], _flip(signs[1]))
        return _ANY, (up if op in (">", ">=") else _flip(up))
    if op in ("+", "-"):
        sign = 1 if op == "+" else -1
        return _add(ivs[0], ivs[1], sign), _combine(signs[0], signs[1] if sign > 0 else _flip(signs[1]))
    if op == "*":
        return _mul(ivs[0], ivs[1]), _product_sign(ivs[0], signs[0], ivs[1], signs[1])
    recip = _recip(ivs[1])
    if recip is None:
        return _ANY, None
    inverse_sign = _flip(signs[1]) if signs[1] != 0 else 0
    return _mul(ivs[0], recip), _product_sign(ivs[0], signs[0], recip, inverse_sign)


def _hull(a: Interval, b: Interval) -> Interval:
    lo = None if a[0] is None or b[0] is None else min(a[0], b[0])
    hi = None if a[1] is None or b[1] is None else max(a[1], b[1])
    return lo, hi


def _product_sign(a: Interval, sa: int | None, b: Interval, sb: int | None) -> int | None:
    """The direction of ``a × b`` from each factor's interval and direction."""

    def scaled(sign: int | None, other: Interval) -> int | None:
        if sign == 0:
            return 0
        if _nonneg(other):
            return sign
        if _nonpos(other):
            return _flip(sign)
        return None

    return _combine(scaled(sa, b), scaled(sb, a))


def _mono_call(name: str, ivs: list[Interval], signs: list[int | None]) -> tuple[Interval, int | None]:
    if name == "abs":
        lo, hi = ivs[0]
        if _nonneg(ivs[0]):
            return ivs[0], signs[0]
        if _nonpos(ivs[0]):
            return ((None if hi is None else -hi), (None if lo is None else -lo)), _flip(signs[0])
        top = None if lo is None or hi is None else max(-lo, hi)
        return (Fraction(0), top), (0 if signs[0] == 0 else None)
    if name == "round":
        lo, hi = ivs[0]
        return ((None if lo is None else lo - 1), (None if hi is None else hi + 1)), signs[0]
    if name == "ln":  # increasing where it is defined (above zero); no value below zero
        lo, hi = ivs[0]
        floor = _ln_bound(lo, -1) if lo is not None and lo > 0 else None
        ceiling = _ln_bound(hi, 1) if hi is not None and hi > 0 else None
        return (floor, ceiling), signs[0]
    if name == "clip":
        low = ivs[1] if len(ivs) > 1 else (Fraction(0), Fraction(0))
        high = ivs[2] if len(ivs) > 2 else (Fraction(1), Fraction(1))
        lo = low[0] if ivs[0][0] is None else (None if low[0] is None else max(ivs[0][0], low[0]))
        hi = high[1] if ivs[0][1] is None else (None if high[1] is None else min(ivs[0][1], high[1]))
        return (lo, hi), _combine(*signs)
    pick = min if name == "min" else max
    lows = [iv[0] for iv in ivs if iv[0] is not None]
    highs = [iv[1] for iv in ivs if iv[1] is not None]
    # min is bounded below only if every argument is, and above by any bounded one; max the other way.
    all_low, all_high = len(lows) == len(ivs), len(highs) == len(ivs)
    lo = pick(lows) if lows and (all_low or name == "max") else None
    hi = pick(highs) if highs and (all_high or name == "min") else None
    return (lo, hi), _combine(*signs)
