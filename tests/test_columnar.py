"""The columnar path: grades and totals equal to the row path on every record, explanations on demand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fineco_rules
import fineco_rules.engine

ROOT = Path(__file__).resolve().parent.parent

# Every feature the columnar path computes itself: goalposts whose scores land on rounding ties,
# bands and thresholds whose edges the data hits, a ratio, a boolean, a cohort scorer, imputation,
# weighted groups, bonuses and deductions with caps, vetoes and gates on inputs, indicators, groups, total.
WEIGHTED = """\
id: columnar-policy
version: "1"
label: {zh: 列式, en: columnar}
effective_from: 2008-01-01
precision: 2
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
  loans: {type: number, min: 0, better: higher, label: {zh: 贷款, en: loans}}
  deposits: {type: number, min: 0, better: lower, label: {zh: 存款, en: deposits}}
  n: {type: integer, min: 0, required: false, better: higher, label: {zh: 数, en: n}}
  flag: {type: boolean, better: lower, label: {zh: 案件, en: case}}
indicators:
  ia:
    label: {zh: 甲, en: a}
    group: g1
    scorer: linear
    params: {input: a, worst: 0.2, best: 0.9}
    weight: 0.375
  ib:
    label: {zh: 乙, en: b}
    group: g1
    scorer: bands
    params:
      input: b
      bands:
        - {max: 60, points: 20}
        - {min: 60, max: 80, points: 62.5}
        - {min: 80, points: 100}
    weight: 0.625
  ir:
    label: {zh: 比, en: ratio}
    group: g2
    scorer: ratio
    params:
      numerator: loans
      denominator: deposits
      bands: [{max: 0.5, points: 30}, {min: 0.5, max: 0.75, points: 70}, {min: 0.75, points: 100}]
    weight: 0.5
  irank:
    label: {zh: 排, en: rank}
    group: g2
    scorer: rank
    params: {input: n}
    missing: {impute: mean}
    weight: 0.5
aggregation:
  method: weighted_mean
  groups:
    g1: {label: {zh: 一, en: one}, weight: 0.6}
    g2: {label: {zh: 二, en: two}, weight: 0.4}
  bonus_cap: 3
adjustments:
  high_a:
    label: {zh: 加分, en: bonus}
    kind: bonus
    when: {input: a, op: ">=", value: 0.8}
    points: 2.5
  bad_ratio:
    label: {zh: 扣分, en: deduction}
    kind: deduction
    when: {indicator: ir, op: "<", value: 50}
    points: 1.25
vetoes:
  case:
    label: {zh: 案件, en: case}
    when: {input: flag, op: "==", value: true}
grades:
  pass:
    label: {zh: 达标, en: pass}
    min_total: 60
    gates:
      g1_ok: {group: g1, op: ">=", value: 50.5}
  good:
    label: {zh: 良好, en: good}
    min_total: 75.005
    gates:
      a_ok: {input: a, op: ">=", value: 0.85}
      total_ok: {total: true, op: "<", value: 99}
"""

POINTS = """\
id: columnar-points
version: "1"
label: {zh: 列式分值, en: columnar points}
effective_from: 2008-01-01
precision: 1
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
  flag: {type: boolean, better: lower, label: {zh: 案件, en: case}}
indicators:
  ia:
    label: {zh: 甲, en: a}
    scorer: linear
    params: {input: a, worst: 0, best: 1}
    points: 60
  ib:
    label: {zh: 乙, en: b}
    scorer: threshold
    params: {input: b, rules: [{op: ">=", value: 80, points: 30}, {op: ">=", value: 60, points: 15}]}
    points: 30
  iflag:
    label: {zh: 案, en: flag}
    scorer: threshold
    params: {input: flag, rules: [{op: "==", value: false, points: 10}]}
    points: 10
aggregation: {method: points, total: 100, deduction_cap: 4}
adjustments:
  low_b:
    label: {zh: 扣, en: low b}
    kind: deduction
    when: {input: b, op: "<", value: 40}
    points: 5
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""

# Values that hit edges and ties: 0.2 + 0.7 × k/2000 lands scores on x.xx5 exactly.
_ratios = st.one_of(
    st.sampled_from(["0.2", "0.9", "0.85", "0.8", "0.200035", "0.55", "0.341785", "1", "0", "0.5"]),
    st.decimals(min_value=0, max_value=1, places=5, allow_nan=False),
)
_cell = st.one_of(
    st.none(),
    st.just("85%"),
    st.just("1,234"),
    st.just(float("nan")),
    st.just("０.５"),
    st.just(True),
)


def _value(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly good numbers (as str, float or Decimal), sometimes missing or bad."""
    good = numbers.flatmap(lambda d: st.sampled_from([str(d), float(d), Decimal(str(d))]))
    return st.one_of(good, good, good, good, good, _cell)


_record = st.fixed_dictionaries(
    {
        "county": st.one_of(st.integers(320101, 320130).map(str), st.sampled_from(["", "32010", "abc"])),
        "a": _value(_ratios),
        "b": _value(
            st.sampled_from(["59.99", "60", "80", "79.995", "100", "0", "120"]) | st.decimals(0, 100, places=3)
        ),
        "loans": _value(st.sampled_from(["50", "75", "0", "1e3"]) | st.decimals(0, 1000, places=2)),
        "deposits": _value(st.sampled_from(["100", "0", "150"]) | st.decimals(0, 1000, places=2)),
        "n": _value(st.integers(0, 20)),
        "flag": st.one_of(st.booleans(), st.booleans(), st.sampled_from(["是", "否", "maybe", None])),
    }
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, fineco_rules.CompiledPolicy]:
    out = {}
    for name, text in {"weighted": WEIGHTED, "points": POINTS}.items():
        path = tmp_path_factory.mktemp(name) / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        out[name] = fineco_rules.compile_policy(fineco_rules.load_policy(path))
    return out


def _as_columns(records: list[dict[str, Any]], kind: str) -> object:
    fields = list(records[0]) if records else []
    if kind == "lists":
        return {f: [r[f] for r in records] for f in fields}
    if kind == "numpy":  # numbers as float64 where every cell is one, else objects
        out: dict[str, Any] = {}
        for f in fields:
            cells = [r[f] for r in records]
            if all(type(c) is float for c in cells):
                out[f] = np.array(cells, dtype=np.float64)
            elif all(type(c) is bool for c in cells):
                out[f] = np.array(cells, dtype=bool)
            else:
                out[f] = np.array(cells, dtype=object)
        return out
    import pandas as pd

    return pd.DataFrame({f: pd.Series([r[f] for r in records], dtype=object) for f in fields})


def _same(columnar: fineco_rules.engine.ColumnarEvaluation, row: fineco_rules.Evaluation) -> None:
    assert columnar.grades() == [r.grade for r in row.results]
    assert columnar.totals() == [r.score if r.graded else None for r in row.results]


@given(records=st.lists(_record, min_size=1, max_size=25), kind=st.sampled_from(["lists", "numpy", "pandas"]))
def test_columnar_grades_and_totals_equal_the_row_path(
    compiled: dict[str, fineco_rules.CompiledPolicy], records: list[dict[str, Any]], kind: str
) -> None:
    # The row path reads a NaN in a column as missing, as pandas writes one.
    row_records = [{k: None if isinstance(v, float) and v != v else v for k, v in r.items()} for r in records]
    for name, policy in compiled.items():
        mine = [
            {k: v for k, v in r.items() if name == "weighted" or k in {"county", "a", "b", "flag"}} for r in records
        ]
        theirs = [{k: v for k, v in r.items() if k in mine[0]} for r in row_records]
        columnar = fineco_rules.evaluate_columns(policy, _as_columns(mine, kind))
        row = policy.evaluate(theirs)
        _same(columnar, row)
        assert columnar.why_row is None
        assert columnar.paths["ia"] == "columnar"
        i = len(records) - 1
        assert columnar.explain(i).to_dict() == row.results[i].to_dict()


def test_scores_on_a_rounding_tie_are_decided_exactly(compiled: dict[str, fineco_rules.CompiledPolicy]) -> None:
    # (0.341785 - 0.2) / 0.7 × 100 = 20.255 and (0.200035 - 0.2) / 0.7 × 100 = 0.005 exactly: ties at
    # two decimals, which float64 lands a hair either side of. They are scored in decimals and round half-up.
    records = [
        {"county": "320101", "a": 0.200035, "b": 70, "loans": 80, "deposits": 100, "n": 3, "flag": False},
        {"county": "320102", "a": "0.341785", "b": 70, "loans": 80, "deposits": 100, "n": 3, "flag": False},
        {"county": "320103", "a": 0.5, "b": 70, "loans": 80, "deposits": 100, "n": 4, "flag": False},
    ]
    policy = compiled["weighted"]
    columnar = fineco_rules.evaluate_columns(policy, _as_columns(records, "numpy"))
    row = policy.evaluate(records)
    _same(columnar, row)
    assert [columnar.explain(i).indicators["ia"].score for i in range(3)] == [
        Decimal("0.01"),
        Decimal("20.26"),
        Decimal("42.86"),
    ]
    # Only the tied indicator was recomputed in decimals; the records stay on the columnar path.
    assert columnar.row_fallback.tolist() == [False, False, False]


def test_bad_records_are_reported_and_the_rest_graded(compiled: dict[str, fineco_rules.CompiledPolicy]) -> None:
    records = [
        {"county": "320101", "a": "n/a", "b": 70, "flag": False},
        {"county": "320102", "a": 0.9, "b": 80, "flag": False},
        {"county": "320102", "a": 0.9, "b": 80, "flag": False},
    ]
    columnar = fineco_rules.evaluate_columns(compiled["points"], _as_columns(records, "lists"))
    assert columnar.grades() == [None, fineco_rules.Grade.GOOD, None]
    codes = [p.code for p in columnar.problems]
    assert "bad-value" in codes
    assert "duplicate-county" in codes
    assert columnar.problems == compiled["points"].evaluate(records).results[0].errors + tuple(
        compiled["points"].evaluate(records).results[2].errors
    )


def test_the_provincial_policy_runs_vectorised_and_equals_the_row_path() -> None:
    policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
    read = fineco_rules.read_records(ROOT / "examples" / "jiangsu-2008.csv")
    compiled = fineco_rules.compile_policy(policy)
    fields = list(read.records[0].values)
    columns = {f: [r.values.get(f) for r in read.records] for f in fields}
    columnar = fineco_rules.evaluate_columns(compiled, columns)
    assert columnar.why_row is None  # issue 16: tables and per-unit deductions no longer send it to the row path
    assert set(columnar.paths.values()) == {"columnar"}
    row = compiled.evaluate([r.values for r in read.records])
    _same(columnar, row)
    assert columnar.to_evaluation().results == row.results


def test_arrow_tables_and_csv_chunks_grade_as_the_row_path(
    compiled: dict[str, fineco_rules.CompiledPolicy], tmp_path: Path
) -> None:
    import pyarrow as pa

    lines = ["county,a,b,flag"] + [
        f"{320101 + i},{(i * 37 % 1000) / 1000},{i * 7 % 101},{i % 9 == 0}" for i in range(50)
    ]
    lines[5] = "320105,0.5,,false"  # missing b: not graded, on the row path
    lines[7] = "320107,1234567890.1234567,50,false"  # more digits than float64 keeps: row path, exact
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = compiled["points"]
    row = policy.evaluate(fineco_rules.read_records(path).records)
    got_grades: list[fineco_rules.Grade | None] = []
    got_totals: list[Decimal | None] = []
    for first_line, table in fineco_rules.engine.read_csv_columns(path, chunk_rows=16):
        assert isinstance(table, pa.Table)
        part = fineco_rules.evaluate_columns(policy, table, source=str(path), first_line=first_line)
        got_grades += part.grades()
        got_totals += part.totals()
        for i in np.flatnonzero(part.row_fallback):
            assert part.explain(int(i)).location.line == first_line + i
    assert got_grades == [r.grade for r in row.results]
    assert got_totals == [r.score if r.graded else None for r in row.results]
