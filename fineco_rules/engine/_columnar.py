"""Grading a batch as columns: NumPy over exact integers, with the row path wherever exactness needs it.

Scores are computed in float64 by the scorers' vectorised forms, then rounded half-up to the
policy's precision as integers (units of ``10**-precision``). A record whose score lies within the
float error of a rounding tie, whose value cannot be read exactly in float64, which is missing or
invalid, or which a scorer cannot decide, is graded on the row path (:class:`CompiledPolicy`), in
exact decimals. Totals, gates and vetoes are exact integer arithmetic. So grades and totals are
those of the row path on every record, and any record's full explanation is the row path's.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, final

import attrs
import numpy as np
import numpy.typing as npt

from fineco_rules.engine._engine import Cohort, CompiledPolicy, compile_policy, read_only
from fineco_rules.engine._plan import (
    AdjustmentStep,
    Child,
    GradingPlan,
    IndicatorStep,
    Part,
    columnar_refusal,
    decimals,
    units,
)
from fineco_rules.engine._records import _FALSE, _TRUE, check_records
from fineco_rules.engine._results import CountyResult, Evaluation
from fineco_rules.errors import Code, DataFileError, Location, Problem, tr
from fineco_rules.io._csv import SNIFF_BYTES, arrow_encoding
from fineco_rules.io._numbers import CONTEXT, as_decimal, float_exact, quantizer
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Condition, Grade, InputSpec, Policy
from fineco_rules.scoring._builtin import COMPARATORS
from fineco_rules.scoring._host import BUILTIN_NAME, PluginHost

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
        self._plan = compiled.plan
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
        return len(self.grade_codes)

    @property
    def keys(self) -> list[str]:
        """Each record's key (its county code, or its unit's key), in input order, as the row path reads it."""
        return [_key_text(v) for v in self._keys]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Batch notes, then the errors of every record that has them, in input order."""
        found = list(self._notes)
        for i in sorted(self._rows):
            found.extend(self._rows[i].errors)
        return tuple(found)

    def grade(self, i: int) -> Grade | None:
        return self._plan.grade(int(self.grade_codes[i]))

    def total(self, i: int) -> Decimal | None:
        if self.grade_codes[i] < 0:
            return self._rows[i].score if i in self._rows else None
        return Decimal(int(self.total_units[i])).scaleb(-self.policy.precision)

    def grades(self) -> list[Grade | None]:
        return [self._plan.grade(int(c)) for c in self.grade_codes]

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


def _columns_of(
    data: object, numeric: frozenset[str], boolean: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], int]:
    """Field name → array or list, for a mapping of columns, a DataFrame or an Arrow table.

    Arrow text columns of the ``numeric`` inputs are parsed as numbers where that is exact, of the
    ``boolean`` ones as truths where every cell is one.
    """
    if hasattr(data, "column_names") and hasattr(data, "column"):  # pyarrow Table / RecordBatch
        columns = {
            name: _arrow_column(data.column(name), name in numeric, name in boolean) for name in data.column_names
        }
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


def _arrow_column(column: Any, numeric: bool, boolean: bool = False) -> Any:
    """An Arrow column as NumPy: numbers as float64 (nulls as NaN), text of a boolean input as truths when
    every cell reads as one, ASCII text of one width (county codes) as fixed-width text, anything else as
    Python objects."""
    import pyarrow as pa

    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if pa.types.is_boolean(column.type) and column.null_count == 0:
        return column.to_numpy(zero_copy_only=False)
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if isinstance(column, pa.ChunkedArray) and text:
        column = column.combine_chunks()
    if numeric and text:
        return _arrow_text(column)
    truths = _arrow_truths(column) if boolean and text else None
    if truths is not None:
        return truths
    same = _same_width(column) if text else None
    if same is not None:
        return same
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _arrow_truths(column: Any) -> BoolArray | None:
    """A text column of a boolean input as truths, each distinct text read once as the row path reads it
    (``str(cell).strip().lower()`` in its words for true and false); None when a cell is missing or no truth."""
    if column.null_count:
        return None
    encoded = column.dictionary_encode()
    words = encoded.dictionary.to_pylist()
    read = [str(w).strip().lower() for w in words]
    if not all(w in _TRUE or w in _FALSE for w in read):
        return None
    table = np.array([w in _TRUE for w in read], dtype=bool)
    found: BoolArray = table[encoded.indices.to_numpy(zero_copy_only=False)]
    return found


def _same_width(column: Any) -> Any:
    """ASCII text whose cells all have one width of 1 to 32 bytes (county codes) as NumPy ``U`` text, read
    from the bytes at once; None for any other column."""
    n = len(column)
    if n == 0 or column.null_count:
        return None
    _, offsets_buffer, data_buffer = column.buffers()
    wide = np.int64 if column.type.id == _large_string_id() else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=wide)[column.offset : column.offset + n + 1].astype(np.int64)
    width = int(offsets[1] - offsets[0])
    if not 0 < width <= 32 or int(offsets[-1] - offsets[0]) != width * n or data_buffer is None:
        return None
    if not bool((np.diff(offsets) == width).all()):
        return None
    raw = np.frombuffer(data_buffer, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    if bool((raw >= 128).any()):
        return None
    return raw.view(f"S{width}").astype(f"U{width}")


def _arrow_text(column: Any) -> Any:
    """Text cells: plain numbers of at most 15 characters become floats; the rest stay text for the row path.

    The check is over the column's UTF-8 bytes at once (:func:`_plain_cells`); the plain cells are then
    parsed by Arrow, which rounds a decimal to the nearest float64 as Python's ``float()`` does, and a plain
    decimal of at most 15 digits is that float exactly. Any other cell (spaces, an exponent, more digits)
    is read as before, one by one, by :func:`_read_number`.
    """
    import pyarrow as pa

    plain = _plain_cells(column)
    if bool(plain.all()):
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    values = column.filter(pa.array(plain)).cast(pa.float64()).to_numpy(zero_copy_only=False)
    out = np.empty(len(column), dtype=object)
    out[plain] = values
    rest = np.flatnonzero(~plain)
    out[rest] = column.take(pa.array(rest)).to_pylist()
    return out


#: Each byte's weight in one running count of three classes: anything but a digit, the point or a sign counts
#: 1, the point 2**21, a sign 2**42. A cell's difference of running counts holds its three counts (each
#: below 2**21 for any cell of up to 15 bytes; int64 wrap-around cancels in the difference).
_POINT: Final = 1 << 21
_SIGN: Final = 1 << 42
_BYTE_WEIGHT: Final = np.ones(256, dtype=np.int64)
_BYTE_WEIGHT[ord("0") : ord("9") + 1] = 0
_BYTE_WEIGHT[ord(".")] = _POINT
_BYTE_WEIGHT[[ord("+"), ord("-")]] = _SIGN


def _plain_cells(column: Any) -> BoolArray:
    """Which cells of an Arrow string array are ``[+-]?`` then digits with at most one point (at least one
    digit), at most 15 bytes long, without spaces: the plain numbers that float64 holds exactly."""
    n = len(column)
    if n == 0:
        return np.zeros(0, dtype=bool)
    _, offsets_buffer, data_buffer = column.buffers()
    wide = np.int64 if column.type.id == _large_string_id() else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=wide)[column.offset : column.offset + n + 1].astype(np.int64)
    base = int(offsets[0])
    if data_buffer is None or int(offsets[-1]) == base:
        return np.zeros(n, dtype=bool)
    raw = np.frombuffer(data_buffer, dtype=np.uint8)[base : int(offsets[-1])]
    offsets -= base
    running = np.zeros(raw.size + 1, dtype=np.int64)
    with np.errstate(over="ignore"):
        np.cumsum(_BYTE_WEIGHT[raw], out=running[1:])
        counts = running[offsets[1:]] - running[offsets[:-1]]
    size = np.diff(offsets)
    others, points, signs = counts & (_POINT - 1), (counts >> 21) & (_POINT - 1), counts >> 42
    leading = raw[np.minimum(offsets[:-1], raw.size - 1)]
    plain: BoolArray = (size > 0) & (size <= 15) & (others == 0) & (points <= 1) & (signs <= 1)
    plain &= (signs == 0) | (leading == ord("+")) | (leading == ord("-"))  # a sign only in front
    plain &= size - points - signs >= 1  # at least one digit
    if column.null_count:
        plain &= ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return plain


def _large_string_id() -> int:
    import pyarrow as pa

    large: int = pa.large_string().id
    return large


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


def _keys(column: Any, county: bool) -> tuple[IntArray, BoolArray]:
    """For each record the index of its key's first record, and which keys the columnar path can take
    (present, well-formed, seen first). Keys are read as the row path reads them: ``str(cell).strip()``."""
    n = len(column)
    if county and n:
        words = _joined_words(column)
        if words is not None:  # well-formed codes, one uint64 each: in increasing order, no code twice
            if n < 2 or bool((words[1:] > words[:-1]).all()):
                return np.arange(n), np.ones(n, dtype=bool)
            codes, good = _swar_digits(words.byteswap())
            return _first_codes(codes, good)
        found = _county_codes(column)
        if found is not None:
            good, codes = found
            return _first_codes(codes, good)
        return _county_keys_slowly(column)
    text = _key_texts(column)
    _, first_of, inverse = np.unique(text, return_index=True, return_inverse=True)
    first = first_of[inverse.reshape(-1)].astype(np.int64)
    return first, (first == np.arange(n)) & (np.strings.str_len(text) > 0)


#: County codes as six digits: the place value of each.
_PLACES: Final = 10 ** np.arange(5, -1, -1, dtype=np.int64)


def _county_codes(column: Any) -> tuple[BoolArray, IntArray] | None:
    """Six-digit county codes as integers with the mask of well-formed ones, without a copy of text per
    record: integers are taken as they are, ``U6`` text through a view (``str`` cells: :func:`_joined_words`).
    None when the column needs the careful reading."""
    n = len(column)
    if isinstance(column, np.ndarray) and column.dtype.kind in "iu":
        codes = column.astype(np.int64, copy=False)
        good = (codes >= 100_000) & (codes <= 999_999)
        return good, np.where(good, codes, 0)
    if isinstance(column, np.ndarray) and column.dtype.kind == "U" and column.dtype.itemsize == 24:
        points = column.view(np.uint32).reshape(n, 6)  # no trailing whitespace can hide in six characters
        return _six_digits(points)
    return None


#: A key word read big-endian: the separators ",," then six ASCII digits; the high nibble of every byte, and the
#: bits a digit byte above 9 sets once 6 is added to it.
_WORD_NIBBLES: Final = np.uint64(0xFFFF_F0F0F0F0F0F0)
_WORD_FORM: Final = np.uint64(0x2C2C_303030303030)
_WORD_SIX: Final = np.uint64(0x0000_060606060606)
_WORD_OVER: Final = np.uint64(0x0000_404040404040)
#: The least well-formed word: ",,100000" (a county code does not start with 0).
_WORD_LEAST: Final = np.uint64(0x2C2C_313030303030)


def _joined_words(column: Any) -> Any:
    """A column of six-digit county codes as ``str`` (a list or an object array) as one uint64 per key, read
    big-endian so that words order as the codes do; None unless every cell is a ``str`` of six ASCII digits
    not starting with 0 (then the careful reading decides). One join, one encode and three reductions."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "O":
        cells: Any = column
    elif isinstance(column, list):
        cells = column
    else:
        return None
    n = len(cells)
    try:
        # Every cell a str, else the careful reading; an array's cells listed first (join iterates a list faster).
        joined = ",,".join(cells.tolist() if isinstance(cells, np.ndarray) else cells)
    except TypeError:
        return None
    if len(joined) != 8 * n - 2 or not joined.isascii():
        return None
    # ",," then six characters, n times: one uint64 each, swapped so that the first character is the highest.
    words = np.frombuffer((",," + joined).encode("ascii"), dtype="<u8").byteswap()
    if int(np.bitwise_or.reduce((words & _WORD_NIBBLES) ^ _WORD_FORM)):  # ",," and 0x30-0x3F bytes only
        return None
    if int(np.bitwise_or.reduce((words + _WORD_SIX) & _WORD_OVER)):  # a byte 0x3A-0x3F: not a digit
        return None
    if words.min() < _WORD_LEAST:
        return None
    return words


def _swar_digits(words: Any) -> tuple[IntArray, BoolArray]:
    """Eight bytes holding two separators then six ASCII characters: which are six digits making a code
    that does not start with 0, and the code (SWAR: all eight bytes at once)."""
    u = np.uint64
    digits = (words & u(0xFFFFFFFFFFFF0000)) | u(0x3030)  # the separators read as "00"
    nibbles = u(0xF0F0F0F0F0F0F0F0)
    good = ((digits & nibbles) == u(0x3030303030303030)) & (
        ((digits + u(0x0606060606060606)) & nibbles) == u(0x3030303030303030)
    )
    value = digits & u(0x0F0F0F0F0F0F0F0F)
    value = (value * u(10) + (value >> u(8))) & u(0x00FF00FF00FF00FF)
    value = (value * u(100) + (value >> u(16))) & u(0x0000FFFF0000FFFF)
    value = (value * u(10000) + (value >> u(32))) & u(0xFFFFFFFF)
    codes = value.astype(np.int64)
    good &= codes >= 100_000
    return np.where(good, codes, 0), good


def _six_digits(points: Any) -> tuple[BoolArray, IntArray]:
    """Rows of six code points: which are a county code (ASCII digits, not starting with 0) and its value."""
    codes = np.zeros(len(points), dtype=np.int64)
    good = points[:, 0] != 48
    for j in range(6):
        digit = points[:, j].astype(np.int64) - 48
        good &= (digit >= 0) & (digit <= 9)
        codes = codes * 10 + digit
    return good, np.where(good, codes, 0)


def _first_codes(codes: IntArray, good: BoolArray) -> tuple[IntArray, BoolArray]:
    """For each record the index of the first record with its code, and which records come first."""
    n = codes.size
    order = np.arange(n)
    if bool(good.all()) and (n < 2 or bool((codes[1:] > codes[:-1]).all())):
        return order, good  # increasing: no code twice
    seen = np.zeros(1_000_000, dtype=np.uint8)
    seen[codes[good]] = 1
    if int(seen.sum()) == int(good.sum()):  # no code twice
        return order, good
    table = np.full(1_000_000, -1, dtype=np.int64)
    table[codes[::-1]] = order[::-1]
    first = np.where(good, table[codes], order)
    return first, good & (first == order)


def _county_keys_slowly(column: Any) -> tuple[IntArray, BoolArray]:
    """County keys of any shape (None, numbers, spaces, long text), read cell by cell as the row path does.

    A malformed key never meets the duplicate check on the row path, so only well-formed ones are compared."""
    text = _key_texts(column)
    n = text.size
    narrow = np.where(np.strings.str_len(text) == 6, text, "").astype("U6")
    good, codes = _six_digits(narrow.view(np.uint32).reshape(n, 6))
    return _first_codes(codes, good & (np.strings.str_len(narrow) == 6))


def _key_texts(column: Any) -> Any:
    """Each key as the row path reads it: ``str(cell).strip()``, ``""`` for a missing one."""
    return np.array([_key_text(v) for v in column], dtype=str) if len(column) else np.zeros(0, dtype="U1")


def _key_text(value: object) -> str:
    cell = _cell(value)
    return "" if cell is None else str(cell).strip()


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


@final
class _Kernel:
    """What the columnar path needs of one compiled policy, decided once and kept beside it (never a batch's
    data): the inputs read as numbers or truths and their limits, why the whole policy goes to the row path,
    each indicator's vectorised and exact integer forms, and the grade levels' thresholds in units."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        pol, plan = compiled.policy, compiled.plan
        p = plan.precision
        self.numeric = frozenset(name for name, spec in pol.inputs.items() if spec.type not in {"boolean", "table"})
        self.boolean = frozenset(name for name, spec in pol.inputs.items() if spec.type == "boolean")
        self.limits = {name: _limits(pol.inputs[name]) for name in self.numeric}
        self.paths = {step.name: "columnar" if step.vector is not None else "row" for step in plan.indicators}
        self.why_row = _why_row(compiled)
        ready = self.why_row is None
        self.may_miss = _may_be_missing(compiled) if ready else frozenset()
        self.forms = {step.name: _builtin_form(compiled, step) for step in plan.indicators} if ready else {}
        self.exact = {step.name: _goalpost_form(step, p) for step in plan.indicators} if ready else {}
        self.vetoes = tuple(when for _, _, when in plan.vetoes)
        #: Per level: ``total × scale >= limit`` (both in whole units) and its gates.
        self.levels = tuple(
            (_units_limit(">=", level.min_total, p), tuple(g for _, g in level.gates)) for level in plan.levels
        )
        self.climbs = [level.grade.rank for level in plan.levels] == list(range(1, len(plan.levels) + 1))
        self.ladder = plan.ladder


_KERNELS: Final[weakref.WeakKeyDictionary[CompiledPolicy, _Kernel]] = weakref.WeakKeyDictionary()


def _kernel(compiled: CompiledPolicy) -> _Kernel:
    """The compiled policy's kernel, built on its first batch."""
    found = _KERNELS.get(compiled)
    if found is None:
        found = _KERNELS[compiled] = _Kernel(compiled)
    return found


def _units_limit(op: str, value: Decimal, precision: int) -> tuple[str, int, int]:
    """``figures × 10**-precision <op> value`` as ``figures × scale <op> limit``, both sides whole numbers."""
    extra = max(0, decimals(value) - precision)
    return op, 10**extra, units(value, precision + extra)


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
    kernel = _kernel(compiled)
    data, n = _columns_of(columns, kernel.numeric, kernel.boolean)
    key_field = pol.unit.key

    def raws(indices: Iterable[int]) -> list[RawRecord]:
        out = []
        for i in indices:
            values = {name: _cell(column[i]) for name, column in data.items()}
            if first_line is None:
                where = Location(source, path=f"[{i}]")
            else:
                where = Location(source, first_line + i, path=tr("row {n}", n=first_line - 1 + i))
            out.append(RawRecord(values, where))
        return out

    keys = data.get(key_field, [None] * n)
    first, good_key = _keys(keys, pol.unit.is_county)
    paths = dict(kernel.paths)
    why_row = kernel.why_row
    if why_row is not None or n == 0:
        if cohort is None and plan.needs_cohort and n:
            cohort = compiled.fit(raws(range(n)))
        notes = tuple(check_records(pol, raws(range(n)))[1]) if n else ()
        paths = dict.fromkeys(paths, "row")
        everyone = list(range(n))
        rows = _row_results(compiled, raws, everyone, first, cohort)
        return _assemble(compiled, raws, keys, first, np.ones(n, dtype=bool), None, rows, notes, paths, cohort, why_row)

    inputs, fast, gone, complete = _readable(compiled, kernel, data, good_key)
    slow = np.flatnonzero(~fast)
    # Batch notes (unknown columns, repeated keys, percentages read as ratios) come from the first record, the
    # records not read here and their keys' first records: those that can give one.
    notes = tuple(check_records(pol, raws(sorted({0, *slow.tolist(), *first[slow].tolist()})))[1])
    if cohort is None and _needs_fit(plan, complete):
        cohort = compiled.fit(raws(range(n)))
    return _grade_columns(compiled, kernel, raws, data, keys, first, inputs, fast, notes, paths, cohort, gone)


def _readable(
    compiled: CompiledPolicy, kernel: _Kernel, data: Mapping[str, Any], good_key: BoolArray
) -> tuple[dict[str, Any], BoolArray, dict[str, BoolArray], frozenset[str]]:
    """The input columns read as numbers or truths; which records the columnar path can take (a valid key,
    seen once, every input present and exact, or missing where only indicators that are left out and
    re-weighted read it, no table rows, and not screened out); per indicator where it is left out; and
    the inputs whose every cell was read.

    A ``table`` input is never read here: a record with rows in it goes to the row path, and an optional
    one may be absent altogether."""
    pol, plan = compiled.policy, compiled.plan
    fast = good_key.copy()
    inputs: dict[str, Any] = {}
    absent: dict[str, BoolArray] = {}
    complete: set[str] = set()
    for name, spec in pol.inputs.items():
        column = data.get(name)
        if spec.type == "table":
            if column is not None:
                fast &= _missing_cells(column)  # rows of a lower level: the row path reads them
            elif spec.required:
                fast[:] = False
            continue
        if column is None:
            fast[:] = False
            break
        if spec.type != "boolean":
            inputs[name], ok = _bounded(column, kernel.limits[name], spec.type == "integer")
        elif isinstance(column, np.ndarray) and column.dtype.kind == "b":
            inputs[name], ok = column, None  # truths as they are
        else:
            inputs[name], ok = _booleans(column)
        if ok is None or bool(ok.all()):
            complete.add(name)
            continue
        if name in kernel.may_miss:
            absent[name] = _missing_cells(column) & ~ok
            ok |= absent[name]
        fast &= ok
    gone = _left_out(plan, absent, fast.size)
    if plan.availability is not None:  # screened-out units: the row path reports them with their problem
        share, count = plan.availability, len(plan.indicators)
        present = count - sum((g.astype(np.int64) for g in gone.values()), np.zeros(fast.size, dtype=np.int64))
        fast &= present * share.denominator >= share.numerator * count
    return inputs, fast, gone, frozenset(complete)


def _needs_fit(plan: GradingPlan, complete: frozenset[str]) -> bool:
    """Whether the batch must be fitted first: a cohort scorer, or an indicator that imputes with a cell
    of its inputs that is not read (missing, or left to the row path). With every such cell present the
    fills are never used, so the row path grades any record alike without them."""
    for step in plan.indicators:
        if step.cohort:
            return True
        if step.indicator.missing.rule == "impute":
            needed = (f for f in step.fields if f not in step.indicator.optional)
            if any(f not in complete for f in needed):
                return True
    return False


def _limits(spec: InputSpec) -> tuple[float, float]:
    """The least and the most a numeric input's cell may be in float64 (the largest finite floats when the
    input has no bound: infinities are never read)."""
    most = float(np.finfo(np.float64).max)
    return (-most if spec.min is None else float(spec.min)), (most if spec.max is None else float(spec.max))


def _whole(x: FloatArray) -> bool:
    """Whether every value is a whole number."""
    return bool((np.floor(x) == x).all())


def _bounded(column: Any, limits: tuple[float, float], integer: bool) -> tuple[FloatArray, BoolArray | None]:
    """A numeric input column, with the mask of cells read exactly and within the input's ``limits``; None for
    the mask when every cell is (a float column checked by its least and its most: NaN makes both NaN)."""
    low, high = limits
    if isinstance(column, np.ndarray) and column.dtype.kind == "f" and column.size:
        x = column.astype(np.float64, copy=False)
        if np.minimum.reduce(x) >= low and np.maximum.reduce(x) <= high and (not integer or _whole(x)):
            return x, None
    x, ok = _numbers(column)
    with np.errstate(invalid="ignore"):
        ok &= (x >= low) & (x <= high)
        if integer:
            ok &= np.floor(x) == x
    return x, ok


def _why_row(compiled: CompiledPolicy) -> str | None:
    """Why the columnar path leaves the whole policy to the row path (None: it grades it). Group trees,
    geometric means, re-weighting and availability screening run here (:func:`_tree_totals`)."""
    plan = compiled.plan
    if plan.why_not_columnar is None:
        return None
    if plan.method != "geometric_mean" and not plan.tree and plan.availability is None:
        return plan.why_not_columnar
    for node in _nodes(plan) or ():
        if node.method != "points" and any(c.weight is None or c.weight <= 0 for c in node.children):
            return f"a part of {node.name or 'the total'} has no positive weight"
    return columnar_refusal(
        compiled.policy,  # the checks left, but for sums of integer weights, which the nodes do not use
        attrs.evolve(plan, method="weighted_sum", tree=(), availability=None, why_not_columnar=None, weight_scale=0),
    )


def _may_be_missing(compiled: CompiledPolicy) -> frozenset[str]:
    """Inputs whose missing cell the columnar path takes: optional ones that only indicators with
    ``missing: reweight`` read (as a required field), and no condition compares."""
    plan = compiled.plan
    if not plan.tree:
        return frozenset()
    compared = {c.subject for c in plan.conditions if c.kind == "input"}
    compared |= {step.input for step in plan.adjustments if step.input is not None}
    found = set()
    for name, spec in compiled.policy.inputs.items():
        if spec.required or name in compared or spec.type == "table":
            continue
        readers = [s for s in plan.indicators if name in s.fields]
        if all(s.indicator.missing.rule == "reweight" and name not in s.indicator.optional for s in readers):
            found.add(name)
    return frozenset(found)


def _missing_cells(column: Any) -> BoolArray:
    """Where a column's cell is missing as the row path reads it: None, NaN, or blank text."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        return np.isnan(column)
    if isinstance(column, np.ndarray) and column.dtype.kind in "iub":
        return np.zeros(len(column), dtype=bool)
    return np.fromiter(
        ((c := _cell(v)) is None or (isinstance(c, str) and not c.strip()) for v in column),
        dtype=bool,
        count=len(column),
    )


def _left_out(plan: GradingPlan, absent: Mapping[str, BoolArray], n: int) -> dict[str, BoolArray]:
    """Per indicator, the records where it is left out (a field it needs is missing, ``missing: reweight``)."""
    gone = {}
    for step in plan.indicators:
        mask = np.zeros(n, dtype=bool)
        for field in step.fields:
            if field in absent and field not in step.indicator.optional:
                mask |= absent[field]
        gone[step.name] = mask
    return gone


def _grade_columns(
    compiled: CompiledPolicy,
    kernel: _Kernel,
    raws: Callable[[Sequence[int]], list[RawRecord]],
    data: Mapping[str, Any],
    keys: Any,
    first: IntArray,
    inputs: Mapping[str, Any],
    fast: BoolArray,
    notes: tuple[Problem, ...],
    paths: Mapping[str, str],
    cohort: Cohort | None,
    gone: Mapping[str, BoolArray],
) -> ColumnarEvaluation:
    plan = compiled.plan
    p = plan.precision
    everyone = bool(fast.all())
    index = np.arange(fast.size) if everyone else np.flatnonzero(fast)
    cols = (
        inputs if everyone else {name: column[index] for name, column in inputs.items()}
    )  # no copies when all are fast
    ok = np.ones(index.size, dtype=bool)
    scores: dict[str, IntArray] = {}
    out: dict[str, BoolArray] = {}
    for comp in plan.indicators:
        left = gone[comp.name] if everyone else gone[comp.name][index]
        out[comp.name] = left
        units, unsure = _score(compiled, kernel, comp, cols, data, index, keys, cohort, left)
        scores[comp.name] = units
        ok[unsure] = False
    nodes = _nodes(plan)
    if nodes is None:
        groups = {str(g.name): _combine(scores, g.parts, plan.weight_scale) for g in plan.groups}
        base = _combine(scores, plan.total.parts, plan.weight_scale)
    else:
        base, groups, decided = _tree_totals(plan, nodes, scores, out, ok)
        ok &= decided
    total, counted = _adjusted(plan, cols, scores, groups, base)
    if counted is not None:
        ok &= counted
    codes = _grade_codes(kernel, _ColumnSubjects(cols, scores, groups, total, p), index.size)
    fallback = ~fast
    if everyone and bool(ok.all()):
        return ColumnarEvaluation(compiled, raws, keys, first, codes, total, fallback, {}, notes, paths, cohort, None)
    fallback[index[~ok]] = True
    wanted = np.flatnonzero(fallback).tolist()
    rows = _row_results(compiled, raws, wanted, first, cohort)
    graded = (index[ok], codes[ok], total[ok])
    return _assemble(compiled, raws, keys, first, fallback, graded, rows, notes, paths, cohort, None)


def _grade_codes(kernel: _Kernel, subjects: _ColumnSubjects, size: int) -> npt.NDArray[np.int8]:
    """Each record's grade code (0 fail, 1 pass, 2 good) from its total, gates and vetoes, as int8."""
    vetoed: BoolArray | None = None
    for when in kernel.vetoes:
        holds = subjects.holds(when)
        vetoed = holds if vetoed is None else vetoed | holds
    met = []
    for (op, scale, limit), gates in kernel.levels:
        figures = subjects.total if scale == 1 else subjects.total * scale
        level = np.asarray(COMPARATORS[op](figures, limit), dtype=bool)
        for gate in gates:
            level &= subjects.holds(gate)
        met.append(level)
    if not kernel.climbs:  # levels that do not climb one rank at a time: the plan's own ladder
        none = np.zeros(size, dtype=bool) if vetoed is None else vetoed
        ladder = np.asarray(kernel.ladder(met, none), dtype=np.int8)
        return np.broadcast_to(ladder, (size,)).copy()
    # Each level from the one below it: the code is how many levels are met in a row, 0 when vetoed.
    codes = np.zeros(size, dtype=np.int8)
    reached = None if vetoed is None else ~vetoed
    for holds in met:
        reached = holds if reached is None else reached & holds
        codes += reached.view(np.int8)
    return codes


def _score(
    compiled: CompiledPolicy,
    kernel: _Kernel,
    comp: IndicatorStep,
    cols: Mapping[str, Any],
    data: Mapping[str, Any],
    index: npt.NDArray[np.intp],
    keys: Any,
    cohort: Cohort | None,
    left: BoolArray,
) -> tuple[IntArray, npt.NDArray[np.intp]]:
    """One indicator's scores in units over the ``index`` records, and the positions where they are not certain;
    0 (and certain) where the indicator is ``left`` out."""
    p = compiled.policy.precision
    vector = comp.vector
    own = kernel.forms.get(comp.name)
    if own is not None:  # a built-in scorer compiled here: integer units, floats with a scalar bound
        with np.errstate(all="ignore"):
            units, doubt = own(cols)
    elif vector is not None:
        with np.errstate(all="ignore"):
            raw, error = vector({f: cols[f] for f in comp.fields if f in cols})  # tables: none on this path
            units, sure = _round_units(np.asarray(raw, dtype=np.float64), error, p)
        doubt = np.flatnonzero(~sure)
    else:
        units = np.zeros(index.size, dtype=np.int64)
        sure = left.copy()
        scored = np.flatnonzero(~left)
        units[scored], sure[scored] = _row_scores(compiled, comp, data, index[scored], keys, cohort)
        return units, np.flatnonzero(~sure)
    some_left = bool(left.any())
    if some_left and doubt.size:
        doubt = doubt[~left[doubt]]
    if doubt.size:  # near a rounding tie or undecided: exactly, in integers where the scorer allows
        doubt = _decide_exactly(kernel.exact.get(comp.name), cols, doubt, units)
    if doubt.size:  # what is left: this indicator alone, in exact decimals
        units[doubt], sure_now = _row_scores(compiled, comp, data, index[doubt], keys, cohort)
        doubt = doubt[~sure_now]
    if some_left:  # left out and re-weighted: no score
        units[left] = 0
    return units, doubt


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


#: A built-in scorer's vectorised form here: scores in integer units, and the positions not certain.
OwnForm = Callable[[Mapping[str, Any]], tuple[IntArray, npt.NDArray[np.intp]]]


def _builtin_form(compiled: CompiledPolicy, step: IndicatorStep) -> OwnForm | None:
    """A built-in ``bands`` scorer as a table of integer units, or ``linear``/``ratio`` goalposts in float64
    with one error bound for the batch; None for any other scorer (its own vectorised form runs)."""
    if not step.plugin.startswith(f"{BUILTIN_NAME} (") or step.vector is None or step.cohort:
        return None
    params = step.indicator.params
    plan = compiled.plan
    if step.indicator.scorer == "bands":
        return _bands_form(step, plan)
    if step.indicator.scorer not in {"linear", "ratio"} or "bands" in params:
        return None
    worst, best = as_decimal(params["worst"]), as_decimal(params["best"])
    per = as_decimal(params.get("per", 1))
    top = step.max_score.scaleb(plan.precision)
    if not all(float_exact(v) for v in (worst, best, per, top)) or worst == best or top != int(top):
        return None
    w, span, lift = float(worst), float(best) - float(worst), float(top)
    reach = max(abs(float(worst)), abs(float(best))) / abs(span)
    # Inside the goalposts |x| <= reach × |span|; outside, the clip is exact in floats as in decimals.
    slack = 1e-9 + lift * 4e-14 * (reach + 1)
    edge = 0.5 - slack  # a fraction this far from a whole number or farther may be a half
    if scorer_is_ratio := step.indicator.scorer == "ratio":
        top_field, bottom_field, per_f = params["numerator"], params["denominator"], float(per)
    field = str(params.get("input", ""))

    def form(cols: Mapping[str, Any]) -> tuple[IntArray, npt.NDArray[np.intp]]:
        undefined = False  # read inputs are finite: a score is NaN only where a denominator is 0
        if scorer_is_ratio:
            bottom = cols[bottom_field]
            if undefined := not bool(bottom.all()):  # a zero denominator: NaN, never certain (the row path says why)
                bottom = np.where(bottom == 0, np.nan, bottom)
            x = cols[top_field] * per_f if per_f != 1.0 else cols[top_field]
            scaled = x / bottom
            scaled -= w
        else:
            scaled = cols[field] - w
        scaled /= span
        np.clip(scaled, 0.0, 1.0, out=scaled)  # NaN stays NaN
        scaled *= lift
        rounded = np.rint(scaled)
        scaled -= rounded
        np.abs(scaled, out=scaled)
        doubt = np.flatnonzero(~(scaled < edge) if undefined else scaled >= edge)  # NaN: in doubt
        found = rounded.astype(np.int64)
        found[doubt] = 0
        return found, doubt

    return form


def _bands_form(step: IndicatorStep, plan: GradingPlan) -> OwnForm | None:
    """Built-in bands as a lookup: the interval between edges found by a binary search, its units from the
    scorer's own function at a point inside it (edges of at most 15 digits compare exactly in float64)."""
    params = step.indicator.params
    ends = {as_decimal(band[k]) for band in params["bands"] for k in ("min", "max") if k in band}
    if not all(float_exact(e) for e in ends):
        return None
    edges = sorted(ends)
    probes = (
        [edges[0] - 1, *((a + b) / 2 for a, b in itertools.pairwise(edges)), edges[-1] + 1] if edges else [Decimal(0)]
    )
    field = params["input"]
    try:
        table = np.array(
            [
                units(plan.round(plan.checked_score(step, step.function(read_only({field: v}))).score), plan.precision)
                for v in probes
            ],
            dtype=np.int64,
        )
    except Exception:  # the scorer refuses a point: leave it to its own vectorised form
        return None
    floats = np.array([float(e) for e in edges], dtype=np.float64)
    left = params.get("closed", "left") != "right"

    edges_ = floats.tolist()
    certain = np.zeros(0, dtype=np.intp)

    narrow = len(edges_) < 255  # the count fits a byte: each comparison's truths added as bytes, no cast

    def form(cols: Mapping[str, Any]) -> tuple[IntArray, npt.NDArray[np.intp]]:
        x = cols[field]
        where = np.zeros(x.shape, dtype=np.uint8 if narrow else np.intp)  # edges below x (or at x, closed left)
        for edge in edges_:
            above = (x >= edge) if left else (x > edge)
            where += above.view(np.uint8) if narrow else above
        found: IntArray = table.take(where)  # take: no fancy-index machinery for byte indices
        return found, certain

    return form


def _decide_exactly(
    form: ExactForm | None, cols: Mapping[str, Any], doubt: npt.NDArray[np.intp], units: IntArray
) -> npt.NDArray[np.intp]:
    """Decide the ``doubt`` scores in exact integer arithmetic where the scorer has such a ``form``; return the rest."""
    if form is None:
        return doubt
    found, decided = form(cols, doubt)
    units[doubt[decided]] = found[decided]
    left: npt.NDArray[np.intp] = doubt[~decided]
    return left


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
    columns = [(f, data.get(f)) for f in comp.fields]
    for j, i in enumerate(index.tolist()):
        try:
            if known is not None:
                result = known.get(_key_text(keys[i]))
            else:
                values = {f: None if column is None else _exact(compiled, f, _cell(column[i])) for f, column in columns}
                result = comp.function(read_only(values))
            scored = plan.checked_score(comp, result)
        except Exception:  # the row path reports it (a _BadScore too), with the plugin's name
            continue
        found[j] = units(plan.round(scored.score), plan.precision)
        sure[j] = True
    return found, sure


def _exact(compiled: CompiledPolicy, field: str, value: object) -> object:
    kind = compiled.policy.inputs[field].type
    if value is None or kind == "table":  # no rows (a record with rows is graded on the row path)
        return value
    if kind == "boolean":
        return _booleans([value])[0][0].item()
    return as_decimal(value)


def _combine(scores: Mapping[str, IntArray], parts: Sequence[Part], scale: int) -> IntArray:
    """Scores in units and their integer weights into one rounded figure (None weight: add points)."""
    first = next(iter(scores.values()))
    if not parts or all(part.units is None for part in parts):
        total = np.zeros(first.shape, dtype=np.int64)
        for part in parts:
            total += scores[part.indicator]
        return total
    total = scores[parts[0].indicator] * int(parts[0].units or 0)  # a fresh array, added to in place
    for part in parts[1:]:
        total += scores[part.indicator] * int(part.units or 0)
    if scale == 0:
        return total
    step = 10**scale
    total += step // 2
    total //= step
    return total


def _adjusted(
    plan: GradingPlan,
    cols: Mapping[str, Any],
    scores: Mapping[str, IntArray],
    groups: Mapping[str, IntArray],
    base: IntArray,
) -> tuple[IntArray, BoolArray | None]:
    """Bonuses and deductions, capped, on the base total: exact integers at the finest scale used (the
    adjustments' points and caps, and the per-unit amounts); and where they are (False: a per-unit amount
    too large for int64, left to the row path; None: no adjustments, every record)."""
    if not plan.adjustments:
        return base, None
    counted_ok = np.ones(base.shape, dtype=bool)
    p = plan.precision
    q = max([plan.adjust_scale, *(decimals(s.per_unit) for s in plan.adjustments if s.per_unit is not None)])
    lift = 10 ** (q - plan.adjust_scale)
    subjects = _ColumnSubjects(cols, scores, groups, base, p)
    counted = []
    for step in plan.adjustments:
        if step.when is not None:
            points = (step.units or 0) * lift
            counted.append((step, np.where(subjects.holds(step.when), points, 0).astype(np.int64)))
        elif step.per_unit is not None and step.input is not None and step.input in cols:
            amount, fits = _per_unit(step, cols[step.input], q)
            counted.append((step, amount))
            counted_ok &= fits
        # else: a per-unit adjustment of no input counts nothing, as on the row path
    scale = 10 ** (q - p)
    zero = np.zeros(base.shape, dtype=np.int64)
    total: IntArray = plan.adjusted(
        base * scale, counted, zero=zero, cap=lambda cap: zero + units(cap, q), minimum=np.minimum, maximum=np.maximum
    )
    rounded: IntArray = (total + scale // 2) // scale
    return rounded, counted_ok


#: Largest per-unit amount, in units, added up in int64 (room for many of them and the total).
_AMOUNT_ROOM: Final = float(2**56)


def _per_unit(step: AdjustmentStep, x: FloatArray, scale: int) -> tuple[IntArray, BoolArray]:
    """A per-unit adjustment of an integer input in units of ``10**-scale``: ``per_unit × x``, at most the
    cap; and where it fits in int64 (the inputs here are whole numbers below 2**53)."""
    per = units(step.per_unit or Decimal(0), scale)
    fits: BoolArray = np.abs(x) * abs(per) < _AMOUNT_ROOM
    amount: IntArray = np.where(fits, x, 0).astype(np.int64) * per
    if step.cap is not None:
        amount = np.minimum(amount, units(step.cap, scale))
    return amount, fits


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


# -- groups of groups, geometric means, re-weighting -------------------------------------------------

#: The unit roundoff of float64.
_U: Final = 2.0**-53


@attrs.frozen
class _Node:
    """A group (``name``) or the total (None) combining ``children`` by ``method``; ``share``: weights are
    divided by the sum of the weights of the parts not left out (the group tree), else taken as they are
    (the flat geometric mean)."""

    name: str | None
    method: str
    children: tuple[Child, ...]
    share: bool
    #: The flat geometric mean's weights as the row path takes them (None: 1).
    exponents: tuple[Decimal | None, ...] = ()


def _nodes(plan: GradingPlan) -> tuple[_Node, ...] | None:
    """The plan's groups and total as nodes, parts first; None for a flat arithmetic plan (plain integer sums)."""
    if plan.tree:
        return tuple(_Node(step.name, step.method, step.children, True) for step in plan.tree)
    if plan.method != "geometric_mean":
        return None

    def flat(name: str | None, parts: Sequence[Part]) -> _Node:
        children = tuple(
            Child("indicator", part.indicator, Fraction(1 if part.weight is None else part.weight), Fraction(0))
            for part in parts
        )
        return _Node(name, "geometric_mean", children, False, tuple(part.weight for part in parts))

    return (*(flat(group.name, group.parts) for group in plan.groups), flat(None, plan.total.parts))


def _compared_groups(plan: GradingPlan) -> frozenset[str]:
    """The groups a gate, veto or adjustment compares."""
    return frozenset(c.subject for c in plan.conditions if c.kind == "group")


def _tree_totals(
    plan: GradingPlan,
    nodes: Sequence[_Node],
    scores: Mapping[str, IntArray],
    out: Mapping[str, BoolArray],
    ok: BoolArray,
) -> tuple[IntArray, dict[str, IntArray], BoolArray]:
    """The total before adjustments and the compared groups, in units, along the nodes; and which records
    have them (False: the row path grades the record: a total or compared group left out).

    Each value is computed in float64 with a bound ``r`` on its relative error, which covers the exact
    fractions and the row path's 40-digit geometric means alike (every value is >= 0). A rounding whose
    interval ``[v(1-r), v(1+r)]`` holds a half is decided record by record by the row path's own function
    (:meth:`GradingPlan.combine_tree`, or the flat geometric mean's decimal product).
    """
    p = plan.precision
    lift = float(10**p)
    values: dict[str, tuple[FloatArray, FloatArray, BoolArray]] = {
        name: (units_ / lift, np.full(units_.shape, _U), out[name]) for name, units_ in scores.items()
    }
    wanted = _compared_groups(plan)
    n = ok.size
    doubt = np.zeros(n, dtype=bool)
    lost = np.zeros(n, dtype=bool)  # the total, or a compared group, left out: the row path says why
    result: dict[str, IntArray] = {}
    base = np.zeros(n, dtype=np.int64)
    for node in nodes:
        value, error, left = _node_value(node, [values[c.name] for c in node.children])
        if node.name is not None:
            values[node.name] = (value, error, left)
        if node.name is None or node.name in wanted:
            found, sure = _round_interval(value, error, p)
            doubt |= ~sure & ~left
            lost |= left
            if node.name is None:
                base = found
            else:
                result[node.name] = found
    decided = ~lost
    for j in np.flatnonzero(doubt & ok & decided).tolist():
        exact = _tree_exactly(plan, nodes, scores, out, j, wanted)
        if exact is None:  # pragma: no cover - left-out totals and groups are caught above
            decided[j] = False
            continue
        base[j] = exact[0]
        for name, figure in exact[1].items():
            result[name][j] = figure
    return base, result, decided


def _node_value(
    node: _Node, parts: Sequence[tuple[FloatArray, FloatArray, BoolArray]]
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """One node's value in float64, its relative error bound, and where it is left out (every part is)."""
    count = len(parts)
    shape = parts[0][0].shape
    left = np.ones(shape, dtype=bool)
    worst = np.zeros(shape)  # the largest relative error among the parts kept
    for _, error, gone in parts:
        left &= gone
        worst = np.maximum(worst, np.where(gone, 0.0, error))
    with np.errstate(all="ignore"):
        if node.method == "geometric_mean":
            value, error = _geometric(node, parts, worst)
        else:
            total = np.zeros(shape)
            weights = np.zeros(shape)
            for child, (v, _, gone) in zip(node.children, parts, strict=True):
                w = float(child.max_score if node.method == "points" else child.weight or 0)
                kept = ~gone
                if node.method == "points":
                    total += np.where(kept, v, 0.0)
                else:
                    total += np.where(kept, w * v, 0.0)
                weights += np.where(kept, w, 0.0)
            if node.method == "points":  # the sum, scaled by the most the group could reach over the most kept
                most = float(sum((c.max_score for c in node.children), Fraction(0)))
                value = total * most / weights
            else:
                value = total / weights
            # Each weight and product rounded once, sums of n terms >= 0, one quotient (and one product): the
            # parts' errors carry over; 4(n + 4) units of roundoff cover the rest with room for second order.
            error = worst * (1 + 1e-6) + 4 * (count + 4) * _U
    value = np.where(left, 0.0, value)
    return value, np.where(left, 0.0, error), left


def _geometric(
    node: _Node, parts: Sequence[tuple[FloatArray, FloatArray, BoolArray]], worst: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The weighted geometric mean as ``exp(sum a_i ln v_i)`` and its relative error bound.

    With ``|ln v_i - ln v*_i| <= r_i (1 + r_i)``, the weights' share ``a_i`` within ``(n + 2) u`` of itself,
    ``log`` and ``exp`` within a few units of roundoff (numpy's are within 1 ulp; 4 are allowed) and the sum
    of ``n`` terms, the exponent is off by at most ``r + (8n + 32) u (M + 1)`` with ``M = max |ln v_i|``; the
    row path's 40-digit powers and products add less than ``1e-30``. A part that is exactly 0 makes the
    mean exactly 0 on both paths.
    """
    count = len(parts)
    shape = parts[0][0].shape
    weights = np.zeros(shape)
    zero = np.zeros(shape, dtype=bool)
    for child, (v, _, gone) in zip(node.children, parts, strict=True):
        weights += np.where(gone, 0.0, float(child.weight or 0))
        zero |= ~gone & (v == 0)
    if not node.share:
        weights = np.ones(shape)
    exponent = np.zeros(shape)
    reach = np.zeros(shape)
    shares = np.zeros(shape)  # the sum of the powers (1 where weights are shared out; the flat mean's own)
    for child, (v, _, gone) in zip(node.children, parts, strict=True):
        use = ~gone & (v > 0)
        logs = np.log(np.where(use, v, 1.0))
        power = float(child.weight or 0) / weights
        exponent += np.where(use, power * logs, 0.0)
        shares += np.where(gone, 0.0, power)
        reach = np.maximum(reach, np.abs(logs))
    value = np.where(zero, 0.0, np.exp(exponent))
    carried = worst * np.maximum(shares, 1.0) * (1 + 1e-6)
    bound = (carried + (8 * count + 32) * _U * (reach + 1)) * 1.01 + 8 * _U + 1e-30
    return value, np.where(zero, 0.0, bound)


def _round_interval(value: FloatArray, error: FloatArray, precision: int) -> tuple[IntArray, BoolArray]:
    """Half-up units of every number within ``error`` (relative) of ``value`` where they all agree."""
    scaled = value * float(10**precision)
    slack = scaled * (error + 8 * _U) + 1e-9
    low = np.floor(scaled - slack + 0.5)
    sure = np.isfinite(scaled) & (low == np.floor(scaled + slack + 0.5)) & (error < 1e-6)
    return np.where(sure, low, 0).astype(np.int64), sure


def _tree_exactly(
    plan: GradingPlan,
    nodes: Sequence[_Node],
    scores: Mapping[str, IntArray],
    out: Mapping[str, BoolArray],
    j: int,
    wanted: Collection[str],
) -> tuple[int, dict[str, int]] | None:
    """Record ``j``'s total before adjustments and compared groups in units, by the row path's own function."""
    p = plan.precision
    figures = {name: Decimal(int(units_[j])).scaleb(-p) for name, units_ in scores.items()}
    if plan.tree:
        left_out = {name for name, mask in out.items() if mask[j]}
        groups, base = plan.combine_tree(figures, left_out)
    else:
        groups = {str(node.name): _flat_geometric(plan, node, figures) for node in nodes if node.name is not None}
        base = _flat_geometric(plan, nodes[-1], figures)
    if base is None or any(groups[name] is None for name in wanted):
        return None
    return units(base, p), {name: units(groups[name] or Decimal(0), p) for name in wanted}


def _flat_geometric(plan: GradingPlan, node: _Node, figures: Mapping[str, Decimal]) -> Decimal:
    """The row path's flat geometric mean: the product of each score to the power of its weight, rounded."""
    product = Decimal(1)
    for child, weight in zip(node.children, node.exponents, strict=True):
        product = CONTEXT.multiply(product, CONTEXT.power(figures[child.name], weight if weight is not None else 1))
    return plan.round(product)


# -- deciding doubtful scores exactly, in 64-bit integers ---------------------------------------------

#: 10**k for k = 0 .. 18, as int64.
_POW10: Final = np.array([10**k for k in range(19)], dtype=np.int64)
#: Magnitudes an int64 step may reach (with room for a sum of two).
_ROOM: Final = float(2**61)
#: The row path's decimal contexts: CONTEXT (quotients) keeps 40 digits, the default context (differences
#: and products) 28.
_QUOTIENT_DIGITS: Final = 40
_DEFAULT_DIGITS: Final = 28

ExactForm = Callable[[Mapping[str, FloatArray], npt.NDArray[np.intp]], tuple[IntArray, BoolArray]]


def _as_decimals(x: FloatArray) -> tuple[IntArray, IntArray, BoolArray]:
    """Each float as ``m × 10**-d``, the decimal the row path reads (``Decimal(repr(x))``), and where found.

    ``d`` is the fewest decimals (0 to 15) whose ``m`` rounds back to ``x``, with ``|m| < 10**15``. Two
    decimals of at most 15 significant digits never round to the same float, and ``repr`` gives the
    shortest decimal that rounds back, so it has at most 15 digits too and is this one.
    """
    m = np.zeros(x.size)
    d = np.zeros(x.size, dtype=np.int64)
    found = np.zeros(x.size, dtype=bool)
    with np.errstate(all="ignore"):
        for k in range(16):
            scale = float(10**k)
            candidate = x * scale
            np.rint(candidate, out=candidate)
            hit = candidate / scale == x
            hit = np.greater(hit, found, out=hit)  # rounds back first at this scale
            m = np.where(hit, candidate, m)
            d[hit] = k
            found |= hit
            if found.all():
                break
    # Where a value first rounds back with |m| >= 10**15, no larger scale gives a smaller m: not found.
    found &= np.abs(m) < 1e15
    return np.where(found, m, 0.0).astype(np.int64), np.where(found, d, 0), found


def _parts(value: Decimal) -> tuple[int, int]:
    """``value`` as ``(mantissa, decimals)``: ``value == mantissa × 10**-decimals``, decimals >= 0."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - only finite numbers reach here
        raise ValueError(f"{value} is not finite")
    mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent > 0:
        return mantissa * 10**exponent, 0
    return mantissa, -exponent


def _strip_2_5(den: IntArray) -> tuple[IntArray, IntArray]:
    """``den`` (positive) without its factors 2 and 5, and the larger of the two counts (the decimals a
    quotient by it needs).

    The factors 2 are the lowest set bit (``den & -den``); what is left is a power of 5 up to ``5**18`` when it
    divides ``5**18`` (one remainder), and only the other values are divided by their greatest common divisor
    with ``5**27`` (Euclid's steps, slow)."""
    twos = den & -den
    odd = den // twos
    count_2 = np.frexp(twos.astype(np.float64))[1].astype(np.int64) - 1
    fives = np.where(_FIVE_18 % odd == 0, odd, 1)
    hard = np.flatnonzero(fives != odd)
    if hard.size:
        fives[hard] = np.gcd(odd[hard], _FIVE_27)
    count_5 = np.rint(np.log(fives.astype(np.float64)) / np.log(5.0)).astype(np.int64)
    return odd // fives, np.maximum(count_2, count_5)


_FIVE_18: Final = np.int64(5**18)
_FIVE_27: Final = np.int64(5**27)


def _int_digits(x: FloatArray) -> IntArray:
    """An upper bound on the digits before the point of ``|x|`` (1 for values below 1)."""
    with np.errstate(divide="ignore"):
        found = np.floor(np.log10(np.maximum(np.abs(x), 1.0))).astype(np.int64) + 2
    return found


def _goalpost_form(step: IndicatorStep, precision: int) -> ExactForm | None:
    """The exact integer form of a built-in ``linear`` or ``ratio`` goalposts scorer, or None.

    The score in units, ``U = (x - worst) / (best - worst) × max × 10**p``, is computed as a fraction
    ``N / D`` of int64s and rounded half-up, ``(2N + D) // 2D``. The row path computes it in decimals
    that keep 40 (quotients) or 28 (differences, products) digits; its rounding error ``err`` is
    bounded here once, and a fraction that is not a tie lies at least ``1 / 2D`` from one, so wherever
    ``2D × err < 1`` both paths round the same way. On a tie, the row path lands exactly on it when the
    decimals it divides are exact (always for ``linear``; for ``ratio`` when the ratio has a terminating
    decimal of at most 28 digits, checked per record). Anything else is left to the scorer's own function.
    """
    if not step.plugin.startswith(f"{BUILTIN_NAME} (") or step.vector is None:
        return None
    params = step.indicator.params
    scorer = step.indicator.scorer
    if scorer not in {"linear", "ratio"} or "bands" in params:
        return None
    worst, best, top = as_decimal(params["worst"]), as_decimal(params["best"]), step.max_score
    per = as_decimal(params.get("per", 1)) if scorer == "ratio" else Decimal(1)
    if not all(float_exact(v) for v in (worst, best, top, per)) or worst == best or top <= 0:
        return None
    kc = max(_parts(worst)[1], _parts(best)[1])
    w, s = int(worst.scaleb(kc)), int((best - worst).scaleb(kc))
    tn, kt = _parts(top)
    if kt > precision:  # a maximum with more decimals than the scores: left to the scorer
        return None
    pn, kp = _parts(per)
    if len(str(abs(pn))) > 13 or abs(w) >= 2**50 or abs(s) >= 2**50:  # numerator x per must be exact in 28 digits
        return None
    a = max(1, top.adjusted() + 1)  # digits of the maximum before the point
    # The row path's error in U, as a fraction; and the largest D that keeps 2D × err below 1.
    lift = 10 ** (a + precision)
    err = Fraction(lift, 2 * 10**_DEFAULT_DIGITS) + Fraction(lift, 2 * 10**_QUOTIENT_DIGITS)
    if scorer == "ratio":  # the ratio's own quotient (40 digits) and its difference from worst (28 digits)
        reach = Fraction(max(abs(worst), abs(best))) / abs(Fraction(best - worst))
        err += lift * (reach / (2 * 10 ** (_QUOTIENT_DIGITS - 1)) + Fraction(1, 2 * 10 ** (_DEFAULT_DIGITS - 1)))
    largest = int(1 / (2 * err))
    top_units = units(top.quantize(quantizer(precision), rounding=ROUND_HALF_UP), precision)
    if a + precision + 2 > _DEFAULT_DIGITS:
        return None

    span_digits = int(_int_digits(np.array([float(abs(best - worst))]))[0])
    per_f = float(per)

    def decide(cols: Mapping[str, FloatArray], rows: npt.NDArray[np.intp]) -> tuple[IntArray, BoolArray]:
        size = rows.size
        with np.errstate(all="ignore"):
            if scorer == "linear":
                m, d, ok = _as_decimals(cols[params["input"]][rows])
                big_e = np.maximum(d, kc)
                first, second = m, np.full(size, w, dtype=np.int64)
                up1, up2 = big_e - d, big_e - kc
                den_q = np.full(size, s, dtype=np.int64)  # q = A / (s × 10**(E - kc))
                e = precision - kt - up2  # U = A × tn × 10**e / den_q
            else:
                tops, bottoms = cols[params["numerator"]][rows], cols[params["denominator"]][rows]
                m, d, read = _as_decimals(np.concatenate((tops, bottoms)))  # both columns in one table
                ml, md, dl, dd = m[:size], m[size:], d[:size], d[size:]
                ok = read[:size] & read[size:] & (md != 0)
                h = dl + kp - dd
                big_h = np.maximum(h, kc)
                ok &= (np.abs(ml.astype(np.float64)) * abs(pn) < _ROOM) & (
                    np.abs(md.astype(np.float64)) * abs(w) < _ROOM
                )
                ml, md = np.where(ok, ml, 0), np.where(ok, md, 1)
                first, second = ml * pn, md * w  # A = ml·per·10**(H-h) - w·md·10**(H-kc)
                up1, up2 = big_h - h, big_h - kc
                den_q = md * s  # q = A × 10**kc / (md × s × 10**H)
                e = precision - kt + kc - big_h  # U = A × tn × 10**e / den_q
            # Every product below in float first: a record whose numbers could overflow int64 is not decided here.
            up1c, up2c, ec, minus_ec = _upto18(up1), _upto18(up2), _upto18(e), _upto18(-e)
            f_first = np.abs(first.astype(np.float64)) * _POW10F.take(up1c)
            f_second = np.abs(second.astype(np.float64)) * _POW10F.take(up2c)
            f_n = (f_first + f_second) * abs(tn) * np.where(e > 18, np.inf, _POW10F.take(ec))
            f_d = np.abs(den_q.astype(np.float64)) * np.where(e < -18, np.inf, _POW10F.take(minus_ec))
            ok &= (up1 <= 18) & (up2 <= 18) & (np.abs(e) <= 18) & (f_first < _ROOM) & (f_second < _ROOM)
            ok &= (f_n * 2 + f_d < _ROOM) & (f_d * (abs(top_units) + 2) < _ROOM) & (den_q != 0)
            # Where not ok: every factor 0 or 1, so nothing overflows and no quotient is by 0 (its result is unused).
            numerator_a = np.where(ok, first, 0) * _POW10.take(up1c) - np.where(ok, second, 0) * _POW10.take(up2c)
            n = numerator_a * np.where(den_q < 0, -tn, tn) * _POW10.take(ec)
            den = np.abs(np.where(ok, den_q, 1)) * _POW10.take(np.where(ok, minus_ec, 0))
            found: IntArray = ((2 * n + den) // (2 * den)).astype(np.int64, copy=False)
            # Clipped at 0 and at the maximum, exactly: q <= 0 when N <= 0, q >= 1 when U >= max × 10**p.
            found[n <= 0] = 0
            full = n >= top_units * den
            found[full] = top_units
            inside = (n > 0) & ~full
            halves, rest = np.divmod(2 * n, den)
            tie = inside & (rest == 0) & ((halves & 1) == 1)
            ok &= ~inside | tie | (den <= largest)
            if scorer == "ratio" and bool(tie.any()):
                ok &= ~tie | _ratio_exact(first, md, h, tops * per_f / bottoms, kc, span_digits)
        return found, ok

    return decide


#: 10**k for k = 0 .. 18, as float64 (each exact).
_POW10F: Final = np.array([float(10**k) for k in range(19)])


def _upto18(k: IntArray) -> IntArray:
    """``k`` clipped to 0 .. 18: an index into the tables of powers of ten."""
    clipped: IntArray = np.minimum(np.maximum(k, 0), 18)
    return clipped


def _ratio_exact(
    top: IntArray, bottom: IntArray, shift: IntArray, ratio: FloatArray, kc: int, span_digits: int
) -> BoolArray:
    """Where the row path's ratio ``top / bottom × 10**-shift`` and its difference from the worst goalpost
    are exact decimals (at most 28 digits), so a score on a tie is computed exactly there too."""
    g = np.gcd(top, bottom)
    rest, decimals_needed = _strip_2_5(np.abs(bottom // np.where(g == 0, 1, g)))
    places = np.maximum(decimals_needed + shift, 0)
    digits = _int_digits(ratio) + places
    difference = span_digits + 1 + np.maximum(places, kc)  # span_digits: _int_digits of |best - worst|
    exact: BoolArray = (rest == 1) & (digits <= _DEFAULT_DIGITS) & (difference <= _DEFAULT_DIGITS)
    return exact


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
