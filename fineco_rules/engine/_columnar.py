"""Grading a batch as columns: NumPy over exact integers, with the row path wherever exactness needs it.

Scores are computed in float64 by the scorers' vectorised forms, then rounded half-up to the
policy's precision as integers (units of ``10**-precision``). A record whose score lies within the
float error of a rounding tie, whose value cannot be read exactly in float64, which is missing or
invalid, or which a scorer cannot decide, is graded on the row path (:class:`CompiledPolicy`), in
exact decimals. Totals, gates and vetoes are exact integer arithmetic. So grades and totals are
those of the row path on every record, and any record's full explanation is the row path's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, final

import attrs
import numpy as np
import numpy.typing as npt

from fineco_rules.engine._engine import Cohort, CompiledPolicy, compile_policy, read_only
from fineco_rules.engine._plan import GradingPlan, IndicatorStep, Part, decimals, grade_of, units
from fineco_rules.engine._records import _FALSE, _TRUE, check_records
from fineco_rules.engine._results import CountyResult, Evaluation
from fineco_rules.errors import Code, DataFileError, Location, Problem
from fineco_rules.io._csv import SNIFF_BYTES, arrow_encoding
from fineco_rules.io._numbers import as_decimal, float_exact
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Condition, Grade, Policy
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._host import PluginHost

__all__ = ["ColumnarEvaluation", "evaluate_columns", "read_csv_columns"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_PLAIN: Final = re.compile(r"^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$")
_SAFE_INT: Final = 2**53


@final
class ColumnarEvaluation:
    """Grades and totals of a batch given as columns; full explanations on demand.

    ``grade_codes`` (int8: -1 not graded, 0 fail, 1 pass, 2 good) and ``total_units`` (int64:
    the total × 10**precision, 0 where not graded) are in input order. ``paths`` says, per
    indicator, whether its scorer ran vectorised (``"columnar"``) or per record (``"row"``);
    ``row_fallback`` marks the records graded entirely on the row path, ``why_row`` says why
    the whole batch went there when it did.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        raws: Callable[[Sequence[int]], list[RawRecord]],
        keys: Any,
        first: IntArray,
        grade_codes: npt.NDArray[np.int8],
        total_units: IntArray,
        row_fallback: BoolArray,
        rows: Mapping[int, CountyResult],
        notes: tuple[Problem, ...],
        paths: Mapping[str, str],
        cohort: Cohort | None,
        why_row: str | None,
    ) -> None:
        self.compiled = compiled
        self.policy: Policy = compiled.policy
        self._keys = keys
        self._first = first
        self.grade_codes = grade_codes
        self.total_units = total_units
        self.row_fallback = row_fallback
        self.paths = paths
        self.cohort = cohort
        self.why_row = why_row
        self._raws = raws
        self._rows = dict(rows)
        self._notes = notes

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """Each record's key (its county code, or its unit's key), in input order."""
        return list(self._keys.tolist())

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Batch notes, then the errors of every record that has them, in input order."""
        found = list(self._notes)
        for i in sorted(self._rows):
            found.extend(self._rows[i].errors)
        return tuple(found)

    def grade(self, i: int) -> Grade | None:
        return grade_of(int(self.grade_codes[i]))

    def total(self, i: int) -> Decimal | None:
        if self.grade_codes[i] < 0:
            return self._rows[i].score if i in self._rows else None
        return Decimal(int(self.total_units[i])).scaleb(-self.policy.precision)

    def grades(self) -> list[Grade | None]:
        return [grade_of(int(c)) for c in self.grade_codes]

    def totals(self) -> list[Decimal | None]:
        return [self.total(i) for i in range(len(self))]

    def explain(self, i: int) -> CountyResult:
        """Record ``i``'s full result, with every number that explains it (from the row path)."""
        if i in self._rows:
            return self._rows[i]
        return _row_results(self.compiled, self._raws, [i], self._first, self.cohort)[i]

    def to_evaluation(self) -> Evaluation:
        """Every record's full result, as :meth:`CompiledPolicy.evaluate` gives it."""
        return self.compiled.evaluate(self._raws(range(len(self))), cohort=self.cohort)


def _row_results(
    compiled: CompiledPolicy,
    raws: Callable[[Sequence[int]], list[RawRecord]],
    wanted: Sequence[int],
    first: IntArray,
    cohort: Cohort | None,
) -> dict[int, CountyResult]:
    """Row-path results of the ``wanted`` records, with each duplicate's first occurrence for context."""
    if not wanted:
        return {}
    chosen = sorted({*wanted, *(int(first[i]) for i in wanted)})
    evaluation = compiled.evaluate(raws(chosen), cohort=cohort)
    by_index = dict(zip(chosen, evaluation.results, strict=True))
    return {i: by_index[i] for i in wanted}


# -- reading columns --------------------------------------------------------------------------


def _columns_of(data: object, numeric: frozenset[str]) -> tuple[dict[str, Any], int]:
    """Field name → array or list, for a mapping of columns, a DataFrame or an Arrow table.

    Arrow text columns of the ``numeric`` inputs are parsed as numbers where that is exact.
    """
    if hasattr(data, "column_names") and hasattr(data, "column"):  # pyarrow Table / RecordBatch
        columns = {name: _arrow_column(data.column(name), name in numeric) for name in data.column_names}
    elif hasattr(data, "columns") and hasattr(data, "__getitem__") and hasattr(data, "to_numpy"):  # DataFrame
        columns = {str(name): data[name].to_numpy() for name in data.columns}
    elif isinstance(data, Mapping):
        columns = {str(k): v if isinstance(v, np.ndarray) else list(v) for k, v in data.items()}
    elif isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):  # records: transpose
        names = list(dict.fromkeys(k for r in data for k in r))
        columns = {str(k): [r.get(k) for r in data] for k in names}
    else:
        found = type(data).__name__
        if isinstance(data, Sequence) and not isinstance(data, str):
            odd = next(r for r in data if not isinstance(r, Mapping))
            found = f"a {found} holding a {type(odd).__name__} ({odd!r:.60})"
        raise TypeError(
            "expected a mapping of columns, a pandas DataFrame, an Arrow table or a list of mappings, "
            f"not {found}; give raw records to evaluate(), or pass [r.values for r in records]"
        )
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        raise ValueError(f"columns differ in length: {sorted(sizes)}")
    return columns, sizes.pop() if sizes else 0


def _arrow_column(column: Any, numeric: bool) -> Any:
    """An Arrow column as NumPy: numbers as float64 (nulls as NaN), anything else as Python objects."""
    import pyarrow as pa

    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if pa.types.is_boolean(column.type) and column.null_count == 0:
        return column.to_numpy(zero_copy_only=False)
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if numeric and text:
        return _arrow_text(column)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _arrow_text(column: Any) -> Any:
    """Text cells: plain numbers of at most 15 digits become floats; the rest stay text for the row path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    plain = pc.and_(pc.match_substring_regex(column, _PLAIN.pattern), pc.less_equal(pc.utf8_length(column), 16))
    plain = pc.fill_null(plain, False)
    numbers = pc.cast(pc.if_else(plain, pc.utf8_trim_whitespace(column), None), pa.float64())
    values = numbers.to_numpy(zero_copy_only=False)
    mask = np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool)
    if bool(mask.all()):
        return values
    out = np.array(column.to_pylist(), dtype=object)
    out[mask] = values[mask]
    return out


def _read_number(value: object) -> float:
    """One cell as the float64 of the decimal it writes, or NaN when that is not exact or not a number."""
    kind = type(value)
    if kind is float or kind is np.float64:
        return value  # type: ignore[return-value]
    if kind is int or kind is np.int64:
        return float(value) if -_SAFE_INT < value < _SAFE_INT else np.nan  # type: ignore[operator, arg-type]
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if _PLAIN.match(text) and float_exact(Decimal(text.strip())):
            return float(text)
        return np.nan
    if kind is Decimal:
        return float(value) if float_exact(value) else np.nan  # type: ignore[arg-type]
    return np.nan


def _numbers(column: Any) -> tuple[FloatArray, BoolArray]:
    """A numeric input column as float64, with the mask of cells the columnar path can take."""
    array = column if isinstance(column, np.ndarray) else None
    if array is not None and array.dtype.kind == "f":
        x = array.astype(np.float64, copy=False)
        return x, np.isfinite(x)
    if array is not None and array.dtype.kind in "iu":
        x = array.astype(np.float64)
        return x, np.abs(x) < _SAFE_INT
    x = np.fromiter((_read_number(v) for v in column), dtype=np.float64, count=len(column))
    return x, np.isfinite(x)


def _booleans(column: Any) -> tuple[BoolArray, BoolArray]:
    """A boolean input column, with the mask of cells read as the row path reads them."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "b":
        return column, np.ones(len(column), dtype=bool)
    cells = column if isinstance(column, np.ndarray) else np.array(column, dtype=object)
    if not len(cells):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    text = np.strings.lower(np.strings.strip(cells.astype(str)))  # as the row path: str(value).strip().lower()
    text[_nones(cells)] = ""
    values = np.isin(text, sorted(_TRUE))
    return values, values | np.isin(text, sorted(_FALSE))


def _keys(column: Any, county: bool) -> tuple[Any, IntArray, BoolArray]:
    """Record keys as a NumPy text array; for each record the index of its key's first record; and which
    keys the columnar path can take (present, well-formed, seen first)."""
    n = len(column)
    cells = column if isinstance(column, np.ndarray) else np.array(column, dtype=object)
    # County codes are short: cut text at 8 characters, and leave any longer key to the row path.
    width = "U8" if county else str
    if cells.dtype.kind == "O" and n:
        text = cells.astype(width)
        text[_nones(cells)] = ""
    else:
        text = cells.astype(width) if n else np.zeros(0, dtype="U1")
    if county and n:
        # Six ASCII digits, not starting with 0: a code is then a number below a million, and the
        # first record of each code is found with one table instead of a sort.
        def six_digits(text: Any) -> tuple[BoolArray, IntArray]:
            points = text.astype("U6").view(np.uint32).reshape(len(text), 6)
            good = (np.strings.str_len(text) == 6) & np.all((points >= 48) & (points <= 57), axis=1)
            good &= points[:, 0] != 48
            return good, ((points - 48).astype(np.int64) * (10 ** np.arange(5, -1, -1))).sum(axis=1)

        good, codes = six_digits(text)
        if not good.all():  # only a key that is not six digits as given may change when stripped
            other = np.flatnonzero(~good)
            text[other] = np.strings.strip(text[other])
            good[other], codes[other] = six_digits(text[other])
            longer = np.strings.str_len(np.where(_nones(cells[other]), "", cells[other]).astype("U9")) > 8
            good[other[longer]] = False  # cut at 8 characters: the row path judges the whole text
        codes = np.where(good, codes, 0)
        table = np.full(1_000_000, -1, dtype=np.int64)
        table[codes[::-1]] = np.arange(n - 1, -1, -1)
        first = np.where(good, table[codes], np.arange(n))
        if not good.all():  # malformed keys are compared as text, for the row path's context
            bad = np.flatnonzero(~good)
            _, first_of, inverse = np.unique(text[bad], return_index=True, return_inverse=True)
            first[bad] = bad[first_of[inverse.reshape(-1)]]
        return text, first, good & (first == np.arange(n))
    text = np.strings.strip(text)
    _, first_of, inverse = np.unique(text, return_index=True, return_inverse=True)
    first = first_of[inverse.reshape(-1)].astype(np.int64)
    return text, first, (first == np.arange(n)) & (np.strings.str_len(text) > 0)


def _nones(cells: Any) -> BoolArray:
    """Where an object array holds None."""
    none: Any = None
    found: BoolArray = np.equal(cells, none)
    return found


def _cell(value: object) -> object:
    """A column cell as the row path receives it: NaN is a missing value, NumPy scalars are Python's."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


# -- evaluating --------------------------------------------------------------------------------


def evaluate_columns(
    policy: Policy | CompiledPolicy,
    columns: object,
    *,
    cohort: Cohort | None = None,
    host: PluginHost | None = None,
    source: str = "<records>",
    first_line: int | None = None,
) -> ColumnarEvaluation:
    """Grade a batch given as columns: a mapping of field → sequence or NumPy array, a pandas
    DataFrame, or an Arrow table. Grades and totals equal :func:`evaluate` on the same records.

    A NaN in a float column is a missing value (as pandas writes one). Record ``i`` is located as
    ``source`` ``[i]``, or at line ``first_line + i`` when given (a chunk of a CSV file). With
    ``cohort`` (from :meth:`CompiledPolicy.fit`), imputation and cohort scorers use that population.
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    plan = compiled.plan
    pol = compiled.policy
    numeric = frozenset(name for name, spec in pol.inputs.items() if spec.type not in {"boolean", "table"})
    data, n = _columns_of(columns, numeric)
    key_field = pol.unit.key

    def raws(indices: Iterable[int]) -> list[RawRecord]:
        out = []
        for i in indices:
            values = {name: _cell(column[i]) for name, column in data.items()}
            if first_line is None:
                where = Location(source, path=f"[{i}]")
            else:
                where = Location(source, first_line + i, path=f"row {first_line - 1 + i}")
            out.append(RawRecord(values, where))
        return out

    keys, first, good_key = _keys(data.get(key_field, [None] * n), pol.unit.is_county)
    notes = tuple(p for p in check_records(pol, raws([0]))[1]) if n else ()
    if cohort is None and plan.needs_cohort and n:
        cohort = compiled.fit(raws(range(n)))
    paths = {step.name: "columnar" if step.vector is not None else "row" for step in plan.indicators}

    if plan.why_not_columnar is not None or n == 0:
        paths = dict.fromkeys(paths, "row")
        everyone = list(range(n))
        rows = _row_results(compiled, raws, everyone, first, cohort)
        return _assemble(
            compiled, raws, keys, first, np.ones(n, dtype=bool), None, rows, notes, paths, cohort, plan.why_not_columnar
        )

    # Which records the columnar path can take: a valid key, seen once, every input present and exact.
    fast = good_key.copy()
    inputs: dict[str, Any] = {}
    for name, spec in pol.inputs.items():
        column = data.get(name)
        if column is None:
            fast[:] = False
            break
        if spec.type == "boolean":
            inputs[name], ok = _booleans(column)
        else:
            inputs[name], ok = _numbers(column)
            x = inputs[name]
            with np.errstate(invalid="ignore"):
                if spec.min is not None:
                    ok &= x >= float(spec.min)
                if spec.max is not None:
                    ok &= x <= float(spec.max)
                if spec.type == "integer":
                    ok &= np.floor(x) == x
        fast &= ok
    return _grade_columns(compiled, plan, raws, data, keys, first, inputs, fast, notes, paths, cohort)


def _grade_columns(
    compiled: CompiledPolicy,
    plan: GradingPlan,
    raws: Callable[[Sequence[int]], list[RawRecord]],
    data: Mapping[str, Any],
    keys: Any,
    first: IntArray,
    inputs: Mapping[str, Any],
    fast: BoolArray,
    notes: tuple[Problem, ...],
    paths: Mapping[str, str],
    cohort: Cohort | None,
) -> ColumnarEvaluation:
    pol = compiled.policy
    p = pol.precision
    index = np.flatnonzero(fast)
    cols = {name: column[index] for name, column in inputs.items()}
    ok = np.ones(index.size, dtype=bool)
    scores: dict[str, IntArray] = {}
    for comp in plan.indicators:
        name = comp.name
        vector = comp.vector
        if vector is not None:
            with np.errstate(all="ignore"):
                raw, error = vector({f: cols[f] for f in comp.fields})
                units, sure = _round_units(np.asarray(raw, dtype=np.float64), error, p)
            doubt = np.flatnonzero(~sure)
            if doubt.size:  # near a rounding tie or undecided: this indicator alone, in exact decimals
                units[doubt], sure[doubt] = _row_scores(compiled, comp, data, index[doubt], keys, cohort)
        else:
            units, sure = _row_scores(compiled, comp, data, index, keys, cohort)
        scores[name] = units
        ok &= sure
    groups = {str(g.name): _combine(scores, g.parts, plan.weight_scale) for g in plan.groups}
    base = _combine(scores, plan.total.parts, plan.weight_scale)
    total = _adjusted(plan, cols, scores, groups, base)
    subjects = _ColumnSubjects(cols, scores, groups, total, p)
    met = []
    for level in plan.levels:
        holds = _compare_units(total, ">=", level.min_total, p)
        for _, gate in level.gates:
            holds = holds & subjects.holds(gate)
        met.append(holds)
    vetoed = np.zeros(index.size, dtype=bool)
    for _, _, when in plan.vetoes:
        vetoed = vetoed | subjects.holds(when)
    codes = np.broadcast_to(np.asarray(plan.ladder(met, vetoed), dtype=np.int8), (index.size,)).copy()
    fallback = ~fast
    fallback[index[~ok]] = True
    wanted = np.flatnonzero(fallback).tolist()
    rows = _row_results(compiled, raws, wanted, first, cohort)
    graded = (index[ok], codes[ok], total[ok])
    return _assemble(compiled, raws, keys, first, fallback, graded, rows, notes, paths, cohort, None)


def _assemble(
    compiled: CompiledPolicy,
    raws: Callable[[Sequence[int]], list[RawRecord]],
    keys: Any,
    first: IntArray,
    fallback: BoolArray,
    graded: tuple[Any, Any, Any] | None,
    rows: Mapping[int, CountyResult],
    notes: tuple[Problem, ...],
    paths: Mapping[str, str],
    cohort: Cohort | None,
    why_row: str | None,
) -> ColumnarEvaluation:
    n = len(keys)
    codes = np.full(n, -1, dtype=np.int8)
    totals = np.zeros(n, dtype=np.int64)
    if graded is not None:
        where, graded_codes, graded_totals = graded
        codes[where] = graded_codes
        totals[where] = graded_totals
    p = compiled.policy.precision
    for i, result in rows.items():
        if result.grade is not None and result.score is not None:
            codes[i] = result.grade.rank
            totals[i] = units(result.score, p)
    return ColumnarEvaluation(compiled, raws, keys, first, codes, totals, fallback, rows, notes, paths, cohort, why_row)


def _round_units(raw: FloatArray, error: Any, precision: int) -> tuple[IntArray, BoolArray]:
    """Half-up rounding of float scores to integer units, and where that is certain."""
    scaled = raw * float(10**precision)
    floor = np.floor(scaled)
    fraction = scaled - floor
    slack = 1e-9 + np.abs(scaled) * 1e-14 + np.asarray(error) * float(10**precision) * 4
    sure = np.isfinite(scaled) & (np.abs(fraction - 0.5) > slack)
    units = np.where(sure, floor + (fraction > 0.5), 0).astype(np.int64)
    return units, sure


def _row_scores(
    compiled: CompiledPolicy,
    comp: IndicatorStep,
    data: Mapping[str, Any],
    index: npt.NDArray[np.intp],
    keys: Any,
    cohort: Cohort | None,
) -> tuple[IntArray, BoolArray]:
    """An indicator scored record by record in exact decimals, by its scorer's row function."""
    plan = compiled.plan
    found = np.zeros(index.size, dtype=np.int64)
    sure = np.zeros(index.size, dtype=bool)
    known = cohort.scores.get(comp.name, {}) if cohort is not None and comp.cohort else None
    columns = [(f, data[f]) for f in comp.fields]
    for j, i in enumerate(index.tolist()):
        try:
            if known is not None:
                result = known.get(str(keys[i]))
            else:
                values = {f: _exact(compiled, f, _cell(column[i])) for f, column in columns}
                result = comp.function(read_only(values))
            scored = plan.checked_score(comp, result)
        except Exception:  # the row path reports it (a _BadScore too), with the plugin's name
            continue
        found[j] = units(plan.round(scored.score), plan.precision)
        sure[j] = True
    return found, sure


def _exact(compiled: CompiledPolicy, field: str, value: object) -> object:
    if compiled.policy.inputs[field].type == "boolean":
        return _booleans([value])[0][0].item()
    return as_decimal(value)


def _combine(scores: Mapping[str, IntArray], parts: Sequence[Part], scale: int) -> IntArray:
    """Scores in units and their integer weights into one rounded figure (None weight: add points)."""
    first = next(iter(scores.values()))
    total = np.zeros(first.shape, dtype=np.int64)
    if all(part.units is None for part in parts):
        for part in parts:
            total += scores[part.indicator]
        return total
    for part in parts:
        total += scores[part.indicator] * int(part.units or 0)
    if scale == 0:
        return total
    step = 10**scale
    rounded: IntArray = (total + step // 2) // step
    return rounded


def _adjusted(
    plan: GradingPlan,
    cols: Mapping[str, Any],
    scores: Mapping[str, IntArray],
    groups: Mapping[str, IntArray],
    base: IntArray,
) -> IntArray:
    """Bonuses and deductions, capped, on the base total: exact integers at the finest scale used."""
    if not plan.adjustments:
        return base
    p, q = plan.precision, plan.adjust_scale
    subjects = _ColumnSubjects(cols, scores, groups, base, p)
    counted = []
    for step in plan.adjustments:
        if step.when is None or step.units is None:  # pragma: no cover - the plan sends these to the row path
            raise ValueError(f"adjustment {step.id} is not a flat one")
        counted.append((step, np.where(subjects.holds(step.when), step.units, 0).astype(np.int64)))
    scale = 10 ** (q - p)
    zero = np.zeros(base.shape, dtype=np.int64)
    total: IntArray = plan.adjusted(
        base * scale, counted, zero=zero, cap=lambda cap: zero + units(cap, q), minimum=np.minimum, maximum=np.maximum
    )
    rounded: IntArray = (total + scale // 2) // scale
    return rounded


@attrs.frozen
class _ColumnSubjects:
    inputs: Mapping[str, Any]
    indicators: Mapping[str, IntArray]
    groups: Mapping[str, IntArray]
    total: IntArray
    precision: int

    def holds(self, cond: Condition) -> BoolArray:
        compare = COMPARATORS[cond.op]
        if cond.kind == "input":
            limit: Any = cond.value if isinstance(cond.value, bool) else float(cond.value)
            return np.asarray(compare(self.inputs[cond.subject], limit), dtype=bool)
        figures = (
            self.indicators[cond.subject]
            if cond.kind == "indicator"
            else self.groups[cond.subject]
            if cond.kind == "group"
            else self.total
        )
        if not isinstance(cond.value, Decimal):
            raise TypeError(f"a score condition compares with a number, found {cond.value!r}")  # the loader ensures it
        return _compare_units(figures, cond.op, cond.value, self.precision)


def _compare_units(figures: IntArray, op: str, value: Decimal, precision: int) -> BoolArray:
    """``figures × 10**-precision <op> value``, exactly: both sides scaled to whole numbers."""
    extra = max(0, decimals(value) - precision)
    return np.asarray(COMPARATORS[op](figures * 10**extra, units(value, precision + extra)), dtype=bool)


# -- CSV in chunks -----------------------------------------------------------------------------


def read_csv_columns(path: str | Path, *, chunk_rows: int = 65_536) -> Iterator[tuple[int, Any]]:
    """Stream a CSV file as Arrow record batches of text columns, with each chunk's first line number.

    Every cell stays text, so numbers keep every digit they are written with; UTF-8 (with or
    without a BOM) and GBK are read. Needs ``pyarrow`` (``pip install 'fineco-rules[columnar]'``).
    """
    try:
        import pyarrow as pa
        from pyarrow import csv
    except ImportError:  # pragma: no cover - the columnar extra is not installed
        raise DataFileError(
            Problem(
                "reading a CSV file in chunks needs pyarrow",
                Location(str(path)),
                "pip install 'fineco-rules[columnar]'",
                Code.MISSING_DEPENDENCY,
            )
        ) from None
    file = Path(path)
    with file.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = arrow_encoding(str(file))  # as the roll-up and the readers: UTF-8 (BOM or not), else GB18030
    text = head.decode("utf-8-sig" if encoding == "utf8" else encoding, errors="replace")
    names = text.splitlines()[0].split(",") if text else []
    options = csv.ConvertOptions(
        column_types={name.strip(): pa.string() for name in names},
        strings_can_be_null=True,
        null_values=[""],
    )
    reader = csv.open_csv(
        file,
        read_options=csv.ReadOptions(encoding=encoding, block_size=1 << 22),
        convert_options=options,
    )
    line = 2
    buffered: list[Any] = []
    size = 0
    for batch in reader:
        buffered.append(batch)
        size += batch.num_rows
        while size >= chunk_rows:
            table = pa.Table.from_batches(buffered)
            yield line, table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            buffered, size, line = rest.to_batches(), rest.num_rows, line + chunk_rows
    if size:
        yield line, pa.Table.from_batches(buffered)
