"""``benchmarks/county-policy.yaml`` written in three existing Python-usable rules engines.

Each peer is written the way its documentation suggests, compiled once, and fed the same Python dicts
as fineco-rules' row path, through the fastest dict-in path its Python binding offers:

- **datalogic-py** (JsonLogic, in Rust): one compiled rule returning ``[total, grade]``, evaluated
  through a ``Session`` (its documented hot loop). JsonLogic has
  no variables, so the total's expression appears three times (output, ``>= 60``, ``>= 80``). Numbers are
  binary floats; rounding is ``floor(x · 100 + 0.5) / 100``, as JsonLogic has no ``round``.
- **zen-engine** (GoRules JDM, in Rust): a decision graph ``input → expression node → output``; the
  expression node computes each score, the total and the grade, each key reading the earlier ones
  (``$.total``). Timed through ``ZenEngine.evaluate_batch``, its fastest path from Python. Numbers are
  decimals (rust_decimal) and ``round(x, 2)`` rounds half away from zero.
- **rule-engine** (pure Python): one rule returning ``[total, grade]``, the total inlined as for
  JsonLogic. Its floats are ``decimal.Decimal``; rounding is ``(x · 100 + 0.5) // 1 / 100``.

:func:`run` returns each engine's raw answers; :func:`normalize` turns them into grade codes and cents,
outside the timed region. The constants are the policy's, restated by hand (as a peer's user would).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

__all__ = ["PEERS", "Peer", "normalize", "versions"]

_GRADES: Final = {"fail": 0, "pass": 1, "good": 2}


# -- datalogic-py (JsonLogic) -----------------------------------------------------------------------


def _jl_round2(expr: object) -> object:
    return {"/": [{"floor": [{"+": [{"*": [expr, 100]}, 0.5]}]}, 100]}


def _jl_goalposts(value: object, worst: float, best: float) -> object:
    return {
        "if": [
            {"<=": [value, worst]},
            0,
            {">=": [value, best]},
            100,
            _jl_round2({"*": [{"/": [{"-": [value, worst]}, best - worst]}, 100]}),
        ]
    }


def _var(name: str) -> dict[str, str]:
    return {"var": name}


def _jsonlogic_rule() -> object:
    credit = _jl_goalposts(_var("credit_household_share"), 0.2, 0.9)
    rate = _var("case_execution_rate")
    legal = {"if": [{"<": [rate, 0.6]}, 20, {"<": [rate, 0.8]}, 60, {"<": [rate, 0.9]}, 85, 100]}
    deepening = _jl_goalposts({"/": [_var("loans"), _var("deposits")]}, 0.3, 0.8)
    satisfaction = _jl_goalposts(_var("satisfaction_score"), 40, 95)
    total = _jl_round2(
        {"+": [{"*": [credit, 0.3]}, {"*": [legal, 0.2]}, {"*": [deepening, 0.2]}, {"*": [satisfaction, 0.3]}]}
    )
    grade = {
        "if": [
            {"==": [_var("major_case"), True]},
            "fail",
            {
                "and": [
                    {">=": [total, 60]},
                    {"<": [_var("npl_ratio"), 0.06]},
                    {">=": [_var("awareness_score"), 60]},
                ]
            },
            {"if": [{"and": [{">=": [total, 80]}, {">=": [_var("credit_township_share"), 0.85]}]}, "good", "pass"]},
            "fail",
        ]
    }
    return [total, grade]


def _datalogic() -> Callable[[Sequence[Mapping[str, Any]]], list[Any]]:
    import datalogic_py

    engine = datalogic_py.Engine()
    rule = engine.compile(_jsonlogic_rule())
    evaluate = engine.session().evaluate  # the documented hot loop: one arena reused across calls

    def run(records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [evaluate(rule, r) for r in records]

    return run


# -- zen-engine (GoRules JDM) -----------------------------------------------------------------------


def _zen_goalposts(value: str, worst: str, best: str) -> str:
    scaled = f"round(({value} - {worst}) / ({best} - {worst}) * 100, 2)"
    return f"{value} <= {worst} ? 0 : ({value} >= {best} ? 100 : {scaled})"


def _zen_graph() -> dict[str, Any]:
    expressions = [
        ("credit", _zen_goalposts("credit_household_share", "0.2", "0.9")),
        (
            "legal",
            "case_execution_rate < 0.6 ? 20 : (case_execution_rate < 0.8 ? 60 : "
            "(case_execution_rate < 0.9 ? 85 : 100))",
        ),
        ("ldr", "loans / deposits"),
        ("deepening", _zen_goalposts("$.ldr", "0.3", "0.8")),
        ("satisfaction", _zen_goalposts("satisfaction_score", "40", "95")),
        ("total", "round($.credit * 0.3 + $.legal * 0.2 + $.deepening * 0.2 + $.satisfaction * 0.3, 2)"),
        (
            "grade",
            "major_case == true ? 'fail' : ($.total >= 60 and npl_ratio < 0.06 and awareness_score >= 60 ? "
            "($.total >= 80 and credit_township_share >= 0.85 ? 'good' : 'pass') : 'fail')",
        ),
    ]
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}},
            {
                "id": "policy",
                "type": "expressionNode",
                "name": "bench-county",
                "position": {"x": 200, "y": 0},
                "content": {
                    "expressions": [
                        {"id": str(i), "key": key, "value": value} for i, (key, value) in enumerate(expressions)
                    ]
                },
            },
            {"id": "response", "type": "outputNode", "name": "response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "policy", "type": "edge"},
            {"id": "e2", "sourceId": "policy", "targetId": "response", "type": "edge"},
        ],
    }


def _zen() -> Callable[[Sequence[Mapping[str, Any]]], list[Any]]:
    import zen

    # evaluate_batch is zen's fastest Python path (about 20x ZenDecision.evaluate per record here); it may
    # spread the batch over several threads, where the other engines use one.
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"policy": _zen_graph()}}})

    def run(records: Sequence[Mapping[str, Any]]) -> list[Any]:
        answers = engine.evaluate_batch([{"key": "policy", "context": r} for r in records])
        return [a["data"]["result"] if a.get("success") else {} for a in answers]

    return run


# -- rule-engine ----------------------------------------------------------------------------------


def _re_round2(expr: str) -> str:
    return f"((({expr}) * 100 + 0.5) // 1 / 100)"


def _re_goalposts(value: str, worst: str, best: str) -> str:
    scaled = _re_round2(f"({value} - {worst}) / ({best} - {worst}) * 100")
    return f"({value} <= {worst} ? 0 : ({value} >= {best} ? 100 : {scaled}))"


def _rule_engine_text() -> str:
    credit = _re_goalposts("credit_household_share", "0.2", "0.9")
    rate = "case_execution_rate"
    legal = f"({rate} < 0.6 ? 20 : ({rate} < 0.8 ? 60 : ({rate} < 0.9 ? 85 : 100)))"
    deepening = _re_goalposts("(loans / deposits)", "0.3", "0.8")
    satisfaction = _re_goalposts("satisfaction_score", "40", "95")
    total = _re_round2(f"{credit} * 0.3 + {legal} * 0.2 + {deepening} * 0.2 + {satisfaction} * 0.3")
    grade = (
        f"(major_case ? 'fail' : ({total} >= 60 and npl_ratio < 0.06 and awareness_score >= 60 ? "
        f"({total} >= 80 and credit_township_share >= 0.85 ? 'good' : 'pass') : 'fail'))"
    )
    return f"[{total}, {grade}]"


def _rule_engine() -> Callable[[Sequence[Mapping[str, Any]]], list[Any]]:
    import rule_engine

    rule = rule_engine.Rule(_rule_engine_text())
    evaluate = rule.evaluate

    def run(records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [evaluate(r) for r in records]

    return run


# -- common ---------------------------------------------------------------------------------------


class Peer:
    """A peer engine: ``build()`` compiles the policy once and returns the function to time."""

    def __init__(
        self, name: str, distribution: str, build: Callable[[], Callable[[Sequence[Mapping[str, Any]]], list[Any]]]
    ) -> None:
        self.name = name
        self.distribution = distribution
        self.build = build


PEERS: Final = (
    Peer("datalogic-py", "datalogic-py", _datalogic),
    Peer("zen-engine", "zen-engine", _zen),
    Peer("rule-engine", "rule-engine", _rule_engine),
)


def _cents(total: object) -> int | None:
    """A peer's total as cents if it is a whole number of cents as written, else None (a wrong total)."""
    if isinstance(total, bool) or not isinstance(total, int | float | Decimal):
        return None
    value = Decimal(repr(total)) if isinstance(total, float) else Decimal(total)
    cents = value * 100
    return int(cents) if cents == cents.to_integral_value() else None


def normalize(name: str, raw: Sequence[Any]) -> tuple[list[int], list[int | None]]:
    """A peer's raw answers as grade codes (-1: no grade) and totals in cents (None: not whole cents)."""
    grades: list[int] = []
    totals: list[int | None] = []
    for answer in raw:
        if name == "zen-engine":
            total, grade = answer.get("total"), answer.get("grade")
        else:
            total, grade = answer
        grades.append(_GRADES.get(grade, -1) if isinstance(grade, str) else -1)
        totals.append(_cents(total))
    return grades, totals


def versions() -> dict[str, str]:
    """Installed versions of the peers' distributions."""
    from importlib import metadata

    out: dict[str, str] = {}
    for peer in PEERS:
        try:
            out[peer.distribution] = metadata.version(peer.distribution)
        except metadata.PackageNotFoundError:
            out[peer.distribution] = "not installed"
    return out
