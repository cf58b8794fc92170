"""The columnar path decides rounding ties, goalposts and band edges in integers, and reads keys cheaply."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.engine import _columnar  # private unit under test: its record-by-record fallback is patched

POLICY = """\
id: exact-ties
version: "1"
label: {zh: 精确, en: exact}
effective_from: 2008-01-01
precision: 2
inputs:
  a: {type: number, better: higher, label: {zh: 甲, en: a}}
  loans: {type: number, better: higher, label: {zh: 贷款, en: loans}}
  deposits: {type: number, better: lower, label: {zh: 存款, en: deposits}}
  b: {type: number, better: higher, label: {zh: 乙, en: b}}
indicators:
  lin:
    label: {zh: 线性, en: linear}
    scorer: linear
    params: {input: a, worst: {worst}, best: {best}}
    weight: 0.3
  rat:
    label: {zh: 比率, en: ratio}
    scorer: ratio
    params: {numerator: loans, denominator: deposits, worst: 0.3, best: 0.8, per: {per}}
    weight: 0.3
  band:
    label: {zh: 分档, en: bands}
    scorer: bands
    params:
      input: b
      closed: {closed}
      bands: [{max: 0.6, points: 20}, {min: 0.6, max: 0.8, points: 62.5}, {min: 0.8, points: 100}]
    weight: 0.4
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
  good: {label: {zh: 良好, en: good}, min_total: 80}
"""


def _compile(tmp_path: Path, worst: str = "0.2", best: str = "0.9", per: str = "1", closed: str = "left") -> Any:
    text = POLICY.replace("{worst}", worst).replace("{best}", best).replace("{per}", per).replace("{closed}", closed)
    path = tmp_path / f"p-{worst}-{best}-{per}-{closed}.yaml"
    path.write_text(text, encoding="utf-8")
    return fineco_rules.compile_policy(fineco_rules.load_policy(path))


def _no_decimals(*_: object, **__: object) -> Any:
    raise AssertionError("a score was re-scored record by record in decimals")


def _same(compiled: Any, columns: dict[str, Any]) -> Any:
    n = len(columns["county"])
    records = [
        {k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in columns.items()} for i in range(n)
    ]
    row = compiled.evaluate(records)
    got = fineco_rules.evaluate_columns(compiled, columns)
    assert got.grades() == [r.grade for r in row.results]
    assert got.totals() == [r.score if r.graded else None for r in row.results]
    for i in range(n):
        for name in ("lin", "rat", "band"):
            if row.results[i].graded:
                assert got.explain(i).indicators[name].score == row.results[i].indicators[name].score
    return got


class TestTiesInIntegers:
    def test_linear_and_ratio_ties_are_decided_without_decimals(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Scores exactly on x.xx5 (linear and ratio) round half-up in int64, never re-scored in decimals."""
        compiled = _compile(tmp_path)
        k = np.arange(1, 400)
        columns = {
            "county": [str(320000 + i) for i in range(k.size)],
            "a": (0.2 + 0.7 * (2 * k + 1) / 20000).round(6),  # (a - 0.2) / 0.7 × 100 = k/100 + 0.005
            "loans": (12000 + 2 * k + 1) / 10,  # / 4000 = 0.3 + (2k + 1)/40000: ratio scores on a half
            "deposits": np.full(k.size, 4000.0),
            "b": np.full(k.size, 0.7),
        }
        monkeypatch.setattr(_columnar, "_row_scores", _no_decimals)
        got = fineco_rules.evaluate_columns(compiled, columns)
        monkeypatch.undo()
        assert not got.row_fallback.any()
        _same(compiled, columns)
        assert got.explain(0).indicators["lin"].score == Decimal("0.02")  # 0.015 rounds up
        assert got.explain(0).indicators["rat"].score == Decimal("0.02")

    @settings(max_examples=60, deadline=None)
    @given(
        worst=st.sampled_from(["0.2", "-3", "40", "0.125", "1"]),
        span=st.sampled_from(["0.7", "55", "0.3", "7", "0.001"]),
        units=st.lists(st.integers(-2_000_000, 2_000_000), min_size=1, max_size=30),
        per=st.sampled_from(["1", "100", "0.5"]),
        scale=st.integers(0, 6),
    )
    def test_goalposts_equal_the_row_path_on_any_decimal(
        self, tmp_path_factory: pytest.TempPathFactory, worst: str, span: str, units: list[int], per: str, scale: int
    ) -> None:
        """Any decimals of up to 7 places, near or on the goalposts and ties: grades, totals and scores equal."""
        best = str(Decimal(worst) + Decimal(span))
        compiled = _compile(tmp_path_factory.mktemp("g"), worst, best, per)
        values = [float(Decimal(u).scaleb(-scale)) for u in units]
        columns = {
            "county": np.array([320101 + i for i in range(len(units))], dtype=np.int64),
            "a": np.array(values),
            "loans": np.abs(np.array(values)) + 1,
            "deposits": np.array([float(3 + i % 7) for i in range(len(units))]),
            "b": np.array([0.6, 0.8, 0.59999, 0.80001][:1] * len(units)),
        }
        _same(compiled, columns)


class TestBandEdges:
    @pytest.mark.parametrize("closed", ["left", "right"])
    def test_values_on_band_edges_score_as_the_row_path(self, tmp_path: Path, closed: str) -> None:
        """Values on, just below and just above each band edge fall in the band the row path picks."""
        compiled = _compile(tmp_path, closed=closed)
        b = np.array([0.6, 0.8, 0.5999999, 0.6000001, 0.7999999, 0.8000001, -5.0, 7.0, 0.0])
        columns = {
            "county": np.array([str(320101 + i) for i in range(b.size)], dtype="U6"),
            "a": np.full(b.size, 0.5),
            "loans": np.full(b.size, 50.0),
            "deposits": np.full(b.size, 100.0),
            "b": b,
        }
        got = _same(compiled, columns)
        scores = [got.explain(i).indicators["band"].score for i in range(2)]
        assert scores == ([Decimal("62.50"), Decimal("100")] if closed == "left" else [Decimal("20"), Decimal("62.5")])


class TestKeys:
    @pytest.mark.parametrize(
        "keys",
        [
            np.array([320101, 320102, 320101, 99999, 1000000]),
            np.array(["320101", "320102", "320101", "032010", "3201 2"], dtype="U6"),
            ["320101", "320102", "320101", " 320103", "3201,2"],
            ["320101", "320102", "320101", None, "３２０１０４"],
            np.array(["320102", "320101", "320102", "320103", "320104"], dtype=object),
        ],
    )
    def test_keys_of_every_shape_read_as_the_row_path(self, tmp_path: Path, keys: Any) -> None:
        """Integer, U6, str and object keys: malformed and repeated ones are refused exactly as the row path does."""
        compiled = _compile(tmp_path)
        columns = {
            "county": keys,
            "a": np.full(5, 0.5),
            "loans": np.full(5, 50.0),
            "deposits": np.full(5, 100.0),
            "b": np.full(5, 0.7),
        }
        got = _same(compiled, columns)
        row = compiled.evaluate(
            [
                {"county": k.item() if isinstance(k, np.generic) else k}
                | {f: float(columns[f][i]) for f in ("a", "loans", "deposits", "b")}
                for i, k in enumerate(keys)
            ]
        )
        assert got.keys == [r.county for r in row.results]
        assert got.problems == tuple(p for r in row.results for p in r.errors)


class TestArrowText:
    def test_long_or_exponent_text_is_read_exactly(self, tmp_path: Path) -> None:
        """Sixteen digits or an exponent in an Arrow text cell are read as the row path reads them."""
        import pyarrow as pa

        compiled = _compile(tmp_path)
        a = ["0.5", "1234567890123456", "1e-400", "0.7000000000000001", " 0.25 "]
        table = pa.table(
            {
                "county": [str(320101 + i) for i in range(5)],
                "a": a,
                "loans": ["50"] * 5,
                "deposits": ["100"] * 5,
                "b": ["0.7"] * 5,
            }
        )
        got = fineco_rules.evaluate_columns(compiled, table)
        records = [
            {"county": str(320101 + i), "a": v, "loans": "50", "deposits": "100", "b": "0.7"} for i, v in enumerate(a)
        ]
        row = compiled.evaluate(records)
        assert got.grades() == [r.grade for r in row.results]
        assert got.totals() == [r.score if r.graded else None for r in row.results]
        assert got.row_fallback.tolist() == [False, True, True, True, False]


_PLAIN_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


class TestArrowCellsAtOnce:
    @settings(max_examples=300, deadline=None)
    @given(cells=st.lists(st.one_of(st.none(), st.text(alphabet="0123456789.+- e", max_size=18)), max_size=30))
    def test_plain_cells_are_exactly_the_plain_numbers_of_at_most_15_bytes(self, cells: list[str | None]) -> None:
        """The byte-level check takes a cell exactly when it is a plain decimal of at most 15 characters."""
        import pyarrow as pa

        column = pa.array(["pad", *cells], type=pa.string()).slice(1)  # a slice: the offsets do not start at 0
        got = vars(_columnar)["_plain_cells"](column).tolist()
        assert got == [c is not None and len(c) <= 15 and _PLAIN_TEXT.fullmatch(c) is not None for c in cells]

    @settings(max_examples=300, deadline=None)
    @given(
        digits=st.integers(min_value=0, max_value=10**14 - 1),
        point=st.integers(min_value=0, max_value=14),
        sign=st.sampled_from(["", "-", "+"]),
    )
    def test_arrow_reads_a_plain_number_as_pythons_float(self, digits: int, point: int, sign: str) -> None:
        """A plain decimal of at most 15 characters becomes the float that float() gives (the row path's value)."""
        import pyarrow as pa

        text = str(digits).rjust(point + 1, "0")
        text = sign + (text[: len(text) - point] + "." + text[len(text) - point :] if point else text)
        text = text[:15]
        column = pa.array([text, "x"], type=pa.string())
        got = vars(_columnar)["_arrow_text"](column)
        plain = _PLAIN_TEXT.fullmatch(text) is not None
        assert (got[0] == float(text)) if plain else isinstance(got[0], str)
        assert got[1] == "x"

    def test_boolean_text_and_fixed_width_keys_are_read_at_once(self, tmp_path: Path) -> None:
        """Arrow text of a boolean input becomes truths (each spelling read once), county codes fixed-width text."""
        import pyarrow as pa

        truths = vars(_columnar)["_arrow_truths"]
        assert truths(pa.array([" Yes", "否", "0", "TRUE"])).tolist() == [True, False, False, True]
        assert truths(pa.array(["yes", "maybe"])) is None
        assert truths(pa.array(["yes", None])) is None
        keys = vars(_columnar)["_same_width"](pa.array(["320101", "320102"]).slice(1))
        assert keys.dtype == np.dtype("U6") and keys.tolist() == ["320102"]
        assert vars(_columnar)["_same_width"](pa.array(["320101", "32010"])) is None
