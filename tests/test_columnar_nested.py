"""The columnar path grades groups of groups, geometric means, re-weighting and screening like the row path."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.engine import _columnar  # private unit under test: its record-by-record fallback is patched

FLAT_GEOMETRIC = """\
id: flat-geo
version: "1"
label: {zh: 几何, en: geometric}
effective_from: 2024-01-01
inputs:
  a: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
indicators:
  ia: {label: {zh: 甲, en: a}, scorer: linear, params: {input: a, worst: 0, best: 100}, weight: 0.5}
  ib: {label: {zh: 乙, en: b}, scorer: linear, params: {input: b, worst: 0, best: 100}, weight: 0.5}
aggregation: {method: geometric_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 36}
"""

PAIR = """\
id: pair
version: "1"
label: {zh: 一对, en: pair}
effective_from: 2024-01-01
inputs:
  a: {type: number, required: false, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, required: false, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
indicators:
  ia: {label: {zh: 甲, en: a}, scorer: linear, params: {input: a, worst: 0, best: 100}, group: g, weight: 1/2,
       missing: reweight}
  ib: {label: {zh: 乙, en: b}, scorer: linear, params: {input: b, worst: 0, best: 100}, group: g, weight: 1/2,
       missing: reweight}
aggregation:
  method: weighted_mean
  availability: 1/2
  groups:
    g: {label: {zh: 组, en: g}, weight: 1, method: {method}}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 36, gates: {g_high: {group: g, op: ">=", value: 36}}}
"""


def _compile(tmp_path: Path, text: str, name: str = "p") -> fineco_rules.CompiledPolicy:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return fineco_rules.compile_policy(fineco_rules.load_policy(path))


def _records(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``columns`` as the row path reads them: NaN in a column is a missing value."""
    n = len(columns["county"])
    rows = [{k: v[i].item() if isinstance(v[i], np.generic) else v[i] for k, v in columns.items()} for i in range(n)]
    return [{k: None if isinstance(v, float) and v != v else v for k, v in r.items()} for r in rows]


def _same(compiled: fineco_rules.CompiledPolicy, columns: dict[str, list[Any]]) -> _columnar.ColumnarEvaluation:
    """The columnar grades, totals and problems equal the row path's on every record."""
    row = compiled.evaluate(_records(columns))
    got = fineco_rules.evaluate_columns(compiled, columns)
    assert got.why_row is None
    assert got.grades() == [r.grade for r in row.results]
    assert got.totals() == [r.score for r in row.results]  # a record held by an unknown gate keeps its total
    assert got.problems == (*row.problems, *(e for r in row.results for e in r.errors))
    return got


def _refuse(*_: object, **__: object) -> Any:
    raise AssertionError("a total was decided record by record")


class TestGeometric:
    def test_a_flat_geometric_policy_runs_on_the_columnar_path(self, tmp_path: Path) -> None:
        """A geometric-mean policy is no longer sent to the row path as a whole; results agree."""
        compiled = _compile(tmp_path, FLAT_GEOMETRIC)
        got = _same(compiled, {"county": ["320101", "320102", "320103"], "a": [16, 0, 50], "b": [81, 90, 50.5]})
        assert got.totals() == [Decimal("36.00"), Decimal("0.00"), Decimal("50.25")]
        assert not got.row_fallback.any()

    def test_a_mean_far_from_a_tie_needs_no_decimals(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """sqrt(16 × 81) = 36 is decided in floats with its error bound, without the row path's function."""
        monkeypatch.setattr(_columnar, "_tree_exactly", _refuse)
        compiled = _compile(tmp_path, PAIR.replace("{method}", "geometric_mean"))
        got = _same(compiled, {"county": ["320101"], "a": [16], "b": [81]})
        assert got.totals() == [Decimal("36.00")]
        assert got.grades() == [fineco_rules.Grade.PASS]


class TestTies:
    def test_an_arithmetic_mean_on_a_half_is_decided_exactly(self, tmp_path: Path) -> None:
        """(10.01 + 10.02) / 2 = 10.015 lies on a half: the row path's function rounds it up, as evaluate does."""
        compiled = _compile(tmp_path, PAIR.replace("{method}", "weighted_mean"))
        calls: list[int] = []
        exactly = vars(_columnar)["_tree_exactly"]

        def counted(*args: Any) -> Any:
            calls.append(args[4])
            return exactly(*args)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_columnar, "_tree_exactly", counted)
            got = _same(compiled, {"county": ["320101", "320102"], "a": [10.01, 40], "b": [10.02, 40]})
        assert got.totals() == [Decimal("10.02"), Decimal("40.00")]
        assert calls == [0]
        assert not got.row_fallback.any()


class TestReweightAndScreening:
    def test_a_missing_value_is_left_out_on_the_columnar_path(self, tmp_path: Path) -> None:
        """A missing input of a `missing: reweight` indicator re-weights its group without the row path."""
        compiled = _compile(tmp_path, PAIR.replace("{method}", "weighted_mean"))
        got = _same(compiled, {"county": ["320101", "320102"], "a": [None, 50], "b": [60, float("nan")]})
        assert got.totals() == [Decimal("60.00"), Decimal("50.00")]
        assert not got.row_fallback.any()

    def test_a_screened_unit_is_reported_with_the_row_paths_problem(self, tmp_path: Path) -> None:
        """Below the availability share the unit goes to the row path, which reports it screened out."""
        compiled = _compile(tmp_path, PAIR.replace("{method}", "weighted_mean").replace("1/2\n  groups", "1\n  groups"))
        got = _same(compiled, {"county": ["320101", "320102"], "a": [None, 50], "b": [60, 70]})
        assert got.row_fallback.tolist() == [True, False]
        assert [p.code for p in got.problems] == ["screened-out"]
        assert got.grades() == [None, fineco_rules.Grade.PASS]


# -- against evaluate, on random trees ------------------------------------------------------------------------


@st.composite
def _policies(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A policy with a random group tree (a method per level), indicators that may be left out, maybe screening
    and a gate on a group; and its input names."""
    points = draw(st.booleans())
    count = draw(st.integers(1, 4))
    parents: list[int | None] = [None]
    parents += [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, count)]
    sizes = [draw(st.integers(1, 3)) for _ in range(count)]
    parts: dict[int | None, list[str]] = {}
    for i, parent in enumerate(parents):
        parts.setdefault(parent, []).append(f"g{i}")
    for i, size in enumerate(sizes):
        parts.setdefault(i, []).extend(f"i{i}_{j}" for j in range(size))
    weight: dict[str, str] = {}
    for names in parts.values():
        raw = [draw(st.integers(1, 7)) for _ in names]
        for name, k in zip(names, raw, strict=True):
            share = Fraction(k, sum(raw))
            weight[name] = f'"{share}"' if share.denominator > 1 else str(share)
    lines = ["id: tree", 'version: "1"', "label: {zh: 树, en: tree}", "effective_from: 2024-01-01", "inputs:"]
    fields = [f"x{i}_{j}" for i, size in enumerate(sizes) for j in range(size)]
    spec = "{type: number, required: false, min: 0, max: 100, better: higher, label: {zh: x}}"
    lines += [f"  {field}: {spec}" for field in fields]
    lines.append("indicators:")
    total = 0
    for i, size in enumerate(sizes):
        for j in range(size):
            top = draw(st.sampled_from([10, 25, 100]))
            total += top
            lines += [
                f"  i{i}_{j}:",
                "    label: {zh: i}",
                "    scorer: linear",
                f"    params: {{input: x{i}_{j}, worst: 0, best: 100}}",
                f"    group: g{i}",
                f"    points: {top}" if points else f"    weight: {weight[f'i{i}_{j}']}",
            ]
            if i + j == 0 or draw(st.integers(0, 3)) > 0:  # the first always: the policy has a group tree
                lines.append("    missing: reweight")
    lines += _aggregation(draw, points, total, parents, weight)
    gate = draw(st.sampled_from(["", "g0"]))
    lines += ["grades:", "  pass:", "    label: {zh: 达标}", f"    min_total: {draw(st.sampled_from([0, 30, 50]))}"]
    if gate:
        lines.append(f'    gates: {{g0_ok: {{group: {gate}, op: ">=", value: 40}}}}')
    lines.append("  good: {label: {zh: 良好}, min_total: 60}")
    return "\n".join(lines) + "\n", fields


def _aggregation(
    draw: st.DrawFn, points: bool, total: int, parents: list[int | None], weight: dict[str, str]
) -> list[str]:
    """The aggregation section: the method, maybe screening, and each group with its parent, weight and method."""
    lines = ["aggregation:", f"  method: {'points' if points else 'weighted_mean'}"]
    if points:
        lines.append(f"  total: {total}")
    share = draw(st.sampled_from([None, "1/3", "1/2", "2/3"]))
    if share is not None:
        lines.append(f'  availability: "{share}"')
    lines.append("  groups:")
    for i, parent in enumerate(parents):
        extra = "" if parent is None else f", group: g{parent}"
        if not points:
            extra += f", weight: {weight[f'g{i}']}"
            if draw(st.booleans()):
                extra += ", method: geometric_mean"
        lines.append(f"    g{i}: {{label: {{zh: g}}{extra}}}")
    return lines


_cell = st.one_of(
    st.none(),
    st.integers(0, 100),
    st.integers(0, 10_000).map(lambda k: Decimal(k).scaleb(-2)),
    st.integers(0, 100_000).map(lambda k: str(Decimal(k).scaleb(-3))),
    st.sampled_from([16, 81, 25, 36, 49, 64, "  ", float("nan")]),
)


class TestAgainstEvaluate:
    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing example is printed as found
    )
    @given(policy=_policies(), data=st.data(), kind=st.sampled_from(["lists", "numpy"]))
    def test_every_record_equals_the_row_path(
        self, policy: tuple[str, list[str]], data: st.DataObject, kind: str, tmp_path: Path
    ) -> None:
        """Random trees of weighted, geometric and points levels with left-out parts and screening: grades,
        totals and problems equal evaluate's, and any record's explanation is the row path's."""
        text, fields = policy
        compiled = _compile(tmp_path, text, "tree")
        n = data.draw(st.integers(1, 12))
        columns: dict[str, Any] = {"county": [str(320101 + i) for i in range(n)]}
        for field in fields:
            cells = data.draw(st.lists(_cell, min_size=n, max_size=n))
            numbers = [c for c in cells if isinstance(c, int | float | Decimal)]
            if kind == "numpy" and len(numbers) == sum(c is not None for c in cells):
                columns[field] = np.array([np.nan if c is None else float(c) for c in cells])  # type: ignore[arg-type]
            else:
                columns[field] = cells
        row = compiled.evaluate(_records(columns))
        got = fineco_rules.evaluate_columns(compiled, columns)
        assert got.why_row is None
        assert got.grades() == [r.grade for r in row.results]
        assert got.totals() == [r.score for r in row.results]  # a record held by an unknown gate keeps its total
        assert got.problems == (*row.problems, *(e for r in row.results for e in r.errors))
        i = data.draw(st.integers(0, n - 1))
        assert got.explain(i).to_dict() == row.results[i].to_dict()
