"""Hypothesis strategies over a policy: valid and invalid county records, improvements, whole policies;
and policies as text (dumping a loaded policy, loading one from a mapping)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import yaml
from hypothesis import strategies as st

from fineco_rules.errors import Code, PolicyError, Problem
from fineco_rules.io._numbers import ZERO
from fineco_rules.io._yaml import parse_yaml
from fineco_rules.policy._anatomy import thresholds
from fineco_rules.policy._model import InputSpec, Policy
from fineco_rules.policy._schema import schema_problems
from fineco_rules.scoring._host import PluginHost, make_plugin_host
from fineco_rules.scoring._scorer import Better

__all__ = [
    "batches",
    "county_codes",
    "dump_policy",
    "improvements",
    "input_bounds",
    "input_values",
    "invalid_records",
    "policies",
    "policy_from_mapping",
    "policy_from_text",
    "policy_text",
    "records",
]

#: How far past its thresholds an input with no declared bound is drawn.
SPAN: Final = Decimal(10_000)
#: Prefecture cities whose county codes records are drawn from (Nanjing, Suzhou, Suqian): real prefixes, so
#: ``group_mean`` imputation by city sees counties that share a city.
CITIES: Final = ("3201", "3205", "3213")
_PLACES: Final = {"ratio": 4, "number": 2, "integer": 0}
_NUMERIC: Final = frozenset(_PLACES)


def county_codes() -> st.SearchStrategy[str]:
    """Six-digit county codes (GB/T 2260 shape) in a few real prefecture cities."""
    return st.builds(lambda city, n: f"{city}{n:02d}", st.sampled_from(CITIES), st.integers(1, 99))


def _places(spec: InputSpec, numbers: Iterable[Decimal]) -> int:
    written = [spec.min, spec.max, *numbers]
    digits = [-int(n.as_tuple().exponent) for n in written if n is not None and int(n.as_tuple().exponent) < 0]
    return min(6, max([_PLACES[spec.type], *digits]))


def input_bounds(spec: InputSpec, numbers: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The declared range, or one reaching :data:`SPAN` past every threshold where none is declared."""
    known = [*numbers, *(b for b in (spec.min, spec.max) if b is not None)]
    low = spec.min if spec.min is not None else min([*known, ZERO]) - SPAN
    high = spec.max if spec.max is not None else max([*known, low, ZERO]) + SPAN
    return low, high


def _edges(spec: InputSpec, numbers: Sequence[Decimal], places: int, low: Decimal, high: Decimal) -> list[Decimal]:
    step = Decimal(1).scaleb(-places)
    found = {n + d for n in numbers for d in (-step, ZERO, step)}
    # Zero too: the denominator no one expected, the count of nothing.
    found |= {b for b in (spec.min, spec.max, ZERO) if b is not None}
    if spec.type == "integer":
        found = {Decimal(f(n)) for n in found for f in (math.floor, math.ceil)}
    return sorted(n for n in found if low <= n <= high)


def input_values(spec: InputSpec, numbers: Iterable[Decimal] = (), *, edges: bool = True) -> st.SearchStrategy[Any]:
    """Values of one declared input: its type and range, and (``edges``) values on and beside ``numbers``."""
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "table":
        return st.just([])
    known = sorted(set(numbers))
    places = _places(spec, known)
    low, high = input_bounds(spec, known)
    # Whole numbers of the smallest unit, scaled: exact, and much cheaper to draw than st.decimals.
    scale = 0 if spec.type == "integer" else places
    general = st.integers(math.ceil(low.scaleb(scale)), math.floor(high.scaleb(scale))).map(
        lambda n: Decimal(n).scaleb(-scale)
    )
    near = _edges(spec, known, places, low, high) if edges else []
    return st.one_of(st.sampled_from(near), general) if near else general


def records(
    policy: Policy,
    *,
    edges: bool = True,
    optional: bool = True,
    county: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """County records valid for ``policy``: each declared input of its type, within its declared range.

    With ``edges`` (the default) values on and one step beside every threshold the policy compares an
    input with, its declared bounds and zero are drawn often; with ``optional`` inputs that are not
    required are sometimes left out. A table input is left out unless it is required (then it has no rows).
    """
    numbers = thresholds(policy)
    # The key is the policy's unit key (a county code by default; county codes are valid keys of any unit).
    fixed: dict[str, st.SearchStrategy[Any]] = {policy.unit.key: county if county is not None else county_codes()}
    maybe: dict[str, st.SearchStrategy[Any]] = {}
    for name, spec in policy.inputs.items():
        if spec.type == "table" and not spec.required:
            continue
        values = input_values(spec, numbers.get(name, ()), edges=edges)
        (fixed if spec.required or not optional else maybe)[name] = values
    return st.fixed_dictionaries(fixed, optional=maybe)


def batches(
    policy: Policy, *, min_size: int = 1, max_size: int = 6, **options: Any
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of valid records with distinct county codes (``options`` as for :func:`records`)."""
    return st.lists(
        records(policy, **options), min_size=min_size, max_size=max_size, unique_by=lambda r: r[policy.unit.key]
    )


def _breakages(policy: Policy) -> list[tuple[str, str]]:
    found = [("no-county", ""), ("bad-county", "")] if policy.unit.is_county else [("no-county", "")]
    for name, spec in policy.inputs.items():
        if spec.required and spec.type != "table":
            found.append(("missing", name))
        if spec.type in _NUMERIC:
            found.append(("text", name))
            found += [("below", name)] if spec.min is not None else []
            found += [("above", name)] if spec.max is not None else []
        if spec.type == "integer":
            found.append(("fraction", name))
        if spec.type == "boolean":
            found.append(("text", name))
    return found


def invalid_records(policy: Policy) -> st.SearchStrategy[dict[str, Any]]:
    """Records that ``policy`` must refuse to grade: one thing broken in an otherwise valid record.

    The break is one of: no county code, a malformed code, a required input left out, text where a
    number or true/false belongs, a value outside the declared range, a fraction for a whole number.
    """
    base = records(policy, optional=False)
    kinds = _breakages(policy)

    @st.composite
    def broken(draw: st.DrawFn) -> dict[str, Any]:
        record = dict(draw(base))
        kind, name = draw(st.sampled_from(kinds))
        spec = policy.inputs.get(name)
        if kind == "no-county":
            del record[policy.unit.key]
        elif kind == "bad-county":
            record["county"] = draw(st.sampled_from(["32058", "0320581", "3205811", "abcdef"]))
        elif kind == "missing":
            del record[name]
        elif kind == "text":
            record[name] = draw(st.sampled_from(["n/a", "maybe", "-"]))
        elif kind == "fraction":
            assert spec is not None  # noqa: S101  # _breakages offers it only for a declared integer input
            record[name] = (spec.min or ZERO) + Decimal("0.5")
        else:  # below or above the declared range
            assert spec is not None  # noqa: S101  # _breakages offers it only for an input with that bound
            bound = spec.min if kind == "below" else spec.max
            assert bound is not None  # noqa: S101  # as above
            record[name] = bound - 1 if kind == "below" else bound + 1
        return record

    return broken()


def _improvable(spec: InputSpec) -> bool:
    if spec.better is Better.NONE or spec.type not in _NUMERIC | {"boolean"}:
        return False
    return spec.type == "boolean" or spec.min is None or spec.max is None or spec.min < spec.max


def improvements(
    policy: Policy, *, field: str | None = None, edges: bool = True
) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs ``(worse, better)`` of valid records that differ in one input, moved in its declared better direction.

    ``field`` fixes the input; by default any input that declares ``better: higher`` or ``lower`` is drawn.
    """
    names = [n for n, spec in policy.inputs.items() if _improvable(spec) and field in (None, n)]
    if not names:
        want = f"input {field!r}" if field else "any input"
        raise ValueError(f"{want} of {policy.id} {policy.version} cannot improve: none declares a better direction")
    numbers = thresholds(policy)
    base = records(policy, edges=edges)
    values = {n: input_values(policy.inputs[n], numbers.get(n, ()), edges=edges) for n in names}

    @st.composite
    def pair(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
        name = draw(st.sampled_from(names))
        record = draw(base)
        first = draw(values[name])
        second = draw(values[name].filter(lambda v: v != first))
        low, high = sorted((first, second))
        up = policy.inputs[name].better is Better.HIGHER
        worse, better = (low, high) if up else (high, low)
        return {**record, name: worse}, {**record, name: better}

    return pair()


# -- whole policies ----------------------------------------------------------------------------

ROW_SCORERS: Final = ("linear", "bands", "threshold", "ratio", "formula")
COHORT_SCORERS: Final = ("minmax", "zscore", "rank", "percentile")


def _label(name: str) -> dict[str, str]:
    return {"zh": name, "en": name}


_INPUT_KINDS: Final = (
    ("ratio", None, None),
    ("number", 0, 100),
    ("integer", 0, 50),
)


@st.composite
def _shares(draw: st.DrawFn, n: int) -> list[int]:
    """``n`` positive whole numbers that add up to 100."""
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=n - 1, max_size=n - 1, unique=True)))
    edges = [0, *cuts, 100]
    return [b - a for a, b in itertools.pairwise(edges)]


@st.composite
def _inside(draw: st.DrawFn, low: Decimal, high: Decimal, integer: bool, count: int) -> list[Decimal]:
    """``count`` distinct values strictly between ``low`` and ``high``, sorted."""
    if integer:
        pool: st.SearchStrategy[Decimal] = st.integers(int(low) + 1, int(high) - 1).map(Decimal)
    else:
        pool = st.decimals(min_value=low, max_value=high, places=2).filter(lambda v: low < v < high)
    return sorted(draw(st.lists(pool, min_size=count, max_size=count, unique=True)))


@st.composite
def _within(draw: st.DrawFn, low: Decimal, high: Decimal, integer: bool, count: int) -> list[Decimal]:
    """``count`` distinct values from ``low`` to ``high`` (both included), sorted."""
    pool: st.SearchStrategy[Decimal]
    if integer:
        pool = st.integers(int(low), int(high)).map(Decimal)
    else:
        pool = st.decimals(min_value=low, max_value=high, places=2)
    return sorted(draw(st.lists(pool, min_size=count, max_size=count, unique=True)))


def _draw_bands(draw: st.DrawFn, low: Decimal, high: Decimal, integer: bool, up: bool, top: Decimal) -> list[Any]:
    """One to three bands that cut [low, high] and whose points rise in the better direction up to ``top``."""
    count = draw(st.integers(1, 3))
    cuts = draw(_inside(low, high, integer, count - 1))
    points = sorted(draw(st.lists(st.integers(0, int(top)), min_size=count - 1, max_size=count - 1)))
    points = [*points, int(top)] if up else [int(top), *reversed(points)]
    edges: list[Decimal | None] = [None, *cuts, None]
    bands = []
    for k in range(count):
        band: dict[str, Any] = {"points": points[k]}
        if edges[k] is not None:
            band["min"] = edges[k]
        if edges[k + 1] is not None:
            band["max"] = edges[k + 1]
        bands.append(band)
    return bands


@st.composite
def _policy(draw: st.DrawFn, scorers: tuple[str, ...], max_indicators: int) -> dict[str, Any]:
    n = draw(st.integers(1, max_indicators))
    method = draw(st.sampled_from(("weighted_mean", "geometric_mean", "points")))
    shares = draw(_shares(n))
    inputs: dict[str, Any] = {}
    indicators: dict[str, Any] = {}
    first_input: tuple[str, Decimal, Decimal, bool, bool] | None = None
    for i, share in enumerate(shares):
        scorer = draw(st.sampled_from(scorers))
        up = draw(st.booleans())
        better = "higher" if up else "lower"
        name = f"x{i}"
        top = Decimal(share) if method == "points" else Decimal(100)
        kind, low_bound, high_bound = draw(st.sampled_from(_INPUT_KINDS))
        low, high = Decimal(low_bound or 0), Decimal(1 if kind == "ratio" else high_bound or 0)
        spec: dict[str, Any] = {"type": kind, "better": better, "label": _label(name)}
        if kind != "ratio":
            spec |= {"min": low_bound, "max": high_bound}
        integer = kind == "integer"
        params: dict[str, Any]
        if scorer == "ratio":
            spec = {"type": "number", "min": 1, "max": 1000, "better": better, "label": _label(name)}
            inputs[f"d{i}"] = {**spec, "better": "lower" if up else "higher", "label": _label(f"d{i}")}
            params = {"numerator": name, "denominator": f"d{i}", "worst": 0 if up else 10, "best": 10 if up else 0}
        elif scorer in COHORT_SCORERS:
            params = {"input": name, "better": better}
        elif scorer == "formula":  # goalposts written as a formula, over the input's declared range
            rise = f"({name} - {low})" if up else f"({high} - {name})"
            params = {"formula": f"{top} * clip({rise} / ({high} - {low}))", "better": {name: better}}
        elif scorer == "linear":
            bottom, top_value = draw(_within(low, high, integer, 2))
            worst, best = (bottom, top_value) if up else (top_value, bottom)
            params = {"input": name, "worst": worst, "best": best}
        elif scorer == "bands":
            params = {"input": name, "bands": _draw_bands(draw, low, high, integer, up, top)}
        else:
            (cut,) = draw(_inside(low, high, integer, 1))
            below = draw(st.integers(0, int(top)))
            params = {
                "input": name,
                "rules": [{"op": ">=" if up else "<=", "value": cut, "points": int(top)}],
                "otherwise": below,
            }
        inputs[name] = spec
        if first_input is None and scorer != "ratio":
            first_input = (name, low, high, integer, up)
        indicator: dict[str, Any] = {"label": _label(f"i{i}"), "scorer": scorer, "params": params}
        indicator["points" if method == "points" else "weight"] = (
            share if method == "points" else Decimal(share).scaleb(-2)
        )
        indicators[f"i{i}"] = indicator
    pass_line = draw(st.integers(0, 70))
    grades: dict[str, Any] = {
        "pass": {"label": _label("pass"), "min_total": pass_line},
        "good": {"label": _label("good"), "min_total": draw(st.integers(pass_line + 1, 80))},
    }
    if first_input is not None and draw(st.booleans()):
        name, low, high, integer, up = first_input
        (cut,) = draw(_inside(low, high, integer, 1))
        grades["pass"]["gates"] = {"gate": {"input": name, "op": ">=" if up else "<=", "value": cut}}
    data: dict[str, Any] = {
        "id": "generated-policy",
        "version": "1",
        "label": _label("generated policy"),
        "effective_from": "2008-01-01",
        "precision": draw(st.sampled_from((0, 2, 4))),
        "inputs": inputs,
        "indicators": indicators,
        "aggregation": {"method": method, **({"total": 100} if method == "points" else {})},
        "grades": grades,
    }
    if draw(st.booleans()):
        inputs["flag"] = {"type": "boolean", "better": "lower", "label": _label("flag")}
        data["vetoes"] = {"flagged": {"when": {"input": "flag", "op": "==", "value": True}}}
    if draw(st.booleans()):
        inputs["cases"] = {"type": "integer", "min": 0, "max": 20, "better": "lower", "label": _label("cases")}
        data["adjustments"] = {
            "cases": {"label": _label("cases"), "kind": "deduction", "input": "cases", "per_unit": 1, "cap": 5}
        }
    return data


def policies(
    *, scorers: Sequence[str] = ROW_SCORERS + COHORT_SCORERS, max_indicators: int = 4
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid policies as mappings (load them with :func:`policy_from_mapping`), built from the built-in scorers.

    Every generated policy is consistent: weights or points add up, each scorer rewards its input's
    declared direction, bands cover every value and give their best band full points, gates lie inside
    their input's range, good's line is above pass's. ``fineco check`` is expected to find nothing.
    """
    return _policy(tuple(scorers), max_indicators)


# -- policies as text --------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """YAML with exact numbers: a Decimal is written with the digits it has."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    if "." not in text:
        return dumper.represent_int(int(value))
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


_Dumper.add_representer(Decimal, _decimal)


def policy_text(data: Mapping[str, Any]) -> str:
    """A policy mapping as YAML text, numbers exact and keys in their order."""
    return yaml.dump(dict(data), Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False)


def dump_policy(policy: Policy) -> str:
    """``policy`` as one standalone YAML file: the merged result of its ``extends`` chain."""
    assert isinstance(policy.document.data, dict)  # noqa: S101  # a loaded policy passed the schema
    return policy_text({k: v for k, v in policy.document.data.items() if k != "extends"})


def policy_from_mapping(data: Mapping[str, Any], *, host: PluginHost | None = None, file: str = "<policy>") -> Policy:
    """Load a policy written as a Python mapping (as :func:`policies` draws them), checked as a file is.

    Raises :class:`fineco_rules.PolicyError` with every problem, located in the YAML text of ``data``.
    """
    return policy_from_text(policy_text(data), host=host, file=file)


def policy_from_text(text: str, *, host: PluginHost | None = None, file: str = "<policy>") -> Policy:
    """Load a standalone policy from YAML text (one that does not ``extends`` another)."""
    doc = parse_yaml(file, text)
    if isinstance(doc.data, dict) and "extends" in doc.data:
        raise PolicyError(
            Problem(
                "a policy given as text cannot extend another",
                doc.location(("extends",)),
                "write it to a file and use load_policy, or flatten it with dump_policy",
                Code.NOT_ALLOWED,
            )
        )
    problems = schema_problems(doc)
    if problems:
        raise PolicyError(problems)
    assert isinstance(doc.data, dict)  # noqa: S101  # schema_problems found nothing just above
    owners = dict.fromkeys(doc.values, (str(doc.data["id"]), str(doc.data["version"])))
    policy = Policy.from_document(doc, owners, host if host is not None else make_plugin_host())
    return attrs.evolve(policy, chain=((policy.id, policy.version, file),))
