"""Records read from files graded on the compiled path, as summaries: what ``fineco evaluate`` writes.

:func:`evaluate_summaries` grades raw records (text cells, as a CSV file gives them) the way
:meth:`CompiledPolicy.evaluate` grades them, without building an explanation for any county:

- a cell is taken as it is only when the row path provably reads the same number: a plain decimal
  (``-12.5``, no sign ``+``, spaces, exponent, separator or percent sign) of at most 15 digits, whose
  float64 is read back as that very decimal (:func:`fineco_rules.io._numbers.float_exact`); a boolean
  cell written as the row path accepts it; or a number or boolean a JSON or YAML file gave;
- the grade, the total and the indicator scores come from the policy's generated function
  (:mod:`fineco_rules.engine._generated`, made with its scores), which scores in floats where the float
  error cannot reach a rounding tie and by the scorer's exact decimal function everywhere else; no NumPy;
- every other record (a missing, odd or out-of-range cell, a scorer that refuses the record) is graded by
  the interpreter from its raw record, so its errors name its file, line and column as before.

Records are independent only when nothing about the batch links them, so the whole batch goes to the
interpreter (``None``) when the policy has no generated function (cohort scorers, imputation, nested
groups ...), when a column is not an input or a known field (the interpreter notes it once, at its first
record), or when a county code is missing, malformed or given twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from operator import itemgetter
from typing import Any, Final, NamedTuple

from fineco_rules.engine._engine import CompiledPolicy
from fineco_rules.engine._records import _CODE, _FALSE, _TRUE, META_FIELDS
from fineco_rules.engine._results import CountySummary, Deferred, Evaluation
from fineco_rules.io._numbers import as_decimal, float_exact
from fineco_rules.io._readers import CsvRecords, RawRecord, paused_gc
from fineco_rules.policy._model import InputSpec

__all__ = ["evaluate_summaries"]

#: A plain decimal, as every column of a well-made export is written.
_PLAIN: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: What is left of a column of plain decimals when digits, points and minus signs are deleted: nothing.
_NUMBER_CHARACTERS: Final = str.maketrans(dict.fromkeys("0123456789.-"))
_WHOLE: Final = re.compile(r"-?[0-9]+")
_SAFE_INT: Final = 2**53
#: What a cell the row path would not read as a plain value becomes: its record goes to the interpreter.
_SLOW: Final = object()
_Progress = Callable[[str, int, "int | None"], None]


def evaluate_summaries(
    compiled: CompiledPolicy, raws: Sequence[RawRecord], progress: _Progress | None = None
) -> Evaluation | None:
    """``raws`` graded as :meth:`CompiledPolicy.evaluate` grades them, each county's :class:`CountySummary` made
    without its explanation; ``None`` when the batch must go to the interpreter as a whole (see the module)."""
    if compiled.generated.function is None or not compiled.policy.unit.is_county:
        return None
    with paused_gc():  # a batch makes a few objects per county and frees none: collecting finds nothing
        batch = _Batch.read(compiled, raws)
        if batch is None:
            return None
        # The generated function that answers each decided record's indicator scores beside its grade and
        # total (made once per compiled policy): the scores then need neither NumPy nor a second pass.
        scored = compiled.generated_scores.function
        if scored is None:  # pragma: no cover - the same plan generates with its scores as without
            return None
        return _evaluate(compiled, scored, raws, batch, progress)


class _Batch(NamedTuple):
    """The cells of a batch whose records are independent (see the module), a list per field."""

    cells: dict[str, list[Any]]
    #: Each county code, stripped.
    codes: list[str]
    #: Whether some record has a ``city`` column.
    has_city: bool

    @classmethod
    def read(cls, compiled: CompiledPolicy, raws: Sequence[RawRecord]) -> _Batch | None:
        """The batch's cells, or None unless each record can be graded on its own: known columns only, and
        every county code text, well formed and given once."""
        policy = compiled.policy
        allowed = frozenset(policy.inputs) | META_FIELDS | policy.unit.fields
        fields = ("county", "name", "city", *policy.inputs)
        cells: dict[str, list[Any]]
        if isinstance(raws, CsvRecords):  # every record has the file's fields: the cells without the records
            shapes = {frozenset(raws.fields)}
            if not shapes.pop() <= allowed:
                return None
            cells = {f: raws.column(f) for f in fields}
            has_city = "city" in raws.fields
        else:
            values = [r.values for r in raws]
            shapes = set(map(frozenset, values))
            if not all(keys <= allowed for keys in shapes):
                return None
            cells = _cells(values, shapes, fields)
            has_city = any("city" in keys for keys in shapes)
        given = cells["county"]
        if not set(map(type, given)) <= {str}:
            return None
        codes = list(map(str.strip, given))
        if len(set(codes)) != len(codes) or not all(map(_CODE.match, codes)):
            return None
        return cls(cells, codes, has_city)


def _evaluate(
    compiled: CompiledPolicy,
    grade: Callable[..., Any],
    raws: Sequence[RawRecord],
    batch: _Batch,
    progress: _Progress | None,
) -> Evaluation:
    n = len(raws)
    cells, codes = batch.cells, batch.codes
    columns = [_column(spec, cells[name]) for name, spec in compiled.policy.inputs.items()]
    keys = ("county", *compiled.policy.inputs)
    # A record with a cell set aside holds _SLOW there, which the generated function refuses (None); a
    # decided record is answered (total × 4 + grade code, (each indicator's score in units, ...)).
    answers: list[Any] = list(map(grade, map(dict, map(zip, repeat(keys), zip(codes, *columns, strict=True)))))
    plan = compiled.plan
    order = [step.name for step in plan.indicators]
    slow = [i for i, a in enumerate(answers) if type(a) is not tuple]
    if progress is not None:
        for done in range(1, len(order) + 1):
            progress("indicators", done, len(order))
    interpreted = compiled.evaluate([raws[i] for i in slow])  # raw records: the interpreter
    placeholder = (0, (0,) * len(order))  # replaced by the interpreter's summaries below
    for i in slow:
        answers[i] = placeholder
    packed, scores = zip(*answers, strict=True) if answers else ((), ())
    number = _Numbers(-plan.precision)  # scores repeat: each figure is made once
    totals: list[Decimal | None] = list(map(number.__getitem__, [p >> 2 for p in packed]))
    grades = list(map(plan.grade_table.__getitem__, [p & 3 for p in packed]))
    per_indicator = [map(number.__getitem__, column) for column in zip(*scores, strict=True)]
    indicators = (
        list(map(dict, map(zip, repeat(order), zip(*per_indicator, strict=True)))) if order else [{} for _ in range(n)]
    )
    cities = (
        [_city(given, code) for given, code in zip(cells["city"], codes, strict=True)]
        if batch.has_city
        else [c[:4] + "00" for c in codes]
    )
    given = cells["name"]
    names_given = given if set(map(type, given)) <= _TEXT_OR_NONE else [None if v is None else str(v) for v in given]
    # No adjustments on this path: the total is the base score.
    rows = zip(codes, names_given, cities, grades, totals, totals, indicators, repeat((), n), strict=True)
    summaries = list(map(CountySummary._make, rows))
    for i, found in zip(slow, interpreted.summaries(), strict=True):
        summaries[i] = found
        grades[i], totals[i] = found.grade, found.score
    if progress is not None:
        for done in range(1000, n + 1, 1000):
            progress("counties", done, n)
    clean = not slow or all(s.graded and not s.errors for s in summaries)

    def explain() -> tuple[Any, ...]:
        return compiled.evaluate(list(raws)).results

    deferred = Deferred(tuple(grades), tuple(totals), clean, explain, tuple(summaries))
    return Evaluation(compiled.policy, deferred, interpreted.problems)


_TEXT_OR_NONE: Final = frozenset({str, type(None)})


def _cells(
    values: Sequence[Mapping[str, object]], shapes: set[frozenset[str]], fields: Sequence[str]
) -> dict[str, list[Any]]:
    """Each field's cell of each record (None where a record has no such cell), one list per field;
    ``shapes`` holds each record's set of fields."""
    if len(shapes) == 1:
        present = [f for f in fields if f in values[0]]
        if len(present) > 1:  # one C-level pass gives every record's cells at once
            columns = dict(zip(present, zip(*map(itemgetter(*present), values), strict=True), strict=True))
            return {f: list(columns[f]) if f in columns else [None] * len(values) for f in fields}
    return {f: [v.get(f) for v in values] for f in fields}


class _Numbers(dict[int, Decimal]):
    """Units of the precision as Decimals, each made once."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def __missing__(self, units: int) -> Decimal:
        made = self[units] = Decimal(units).scaleb(self.scale)
        return made


def _column(spec: InputSpec, cells: list[object]) -> list[object]:
    """Each cell as the generated function reads it (a float, an int or a bool), or :data:`_SLOW`."""
    if (
        spec.type in ("number", "ratio")
        and cells
        and set(map(type, cells)) == {str}
        and max(map(len, cells)) <= 15  # type: ignore[arg-type]
        and not "".join(cells).translate(_NUMBER_CHARACTERS)  # type: ignore[arg-type]
    ):
        # Digits, points and minus signs only, at most 15 of them: where float() reads such a text, Decimal()
        # reads the same number (their grammars agree on these characters), and the float64 of a decimal
        # of at most 15 digits is read back as that decimal.
        try:
            return list(map(float, cells))  # type: ignore[arg-type]
        except ValueError:  # "1-2", "..": one cell at a time
            pass
    if spec.type == "boolean":
        try:  # the usual words, as written: one lookup each
            return list(map(_BOOLEAN_WORDS.__getitem__, cells))  # type: ignore[arg-type]
        except (KeyError, TypeError):
            pass
    return [_cell(spec, c) for c in cells]


#: Boolean cells as most files write them, read as the row path reads them (stripped, in lower case).
_BOOLEAN_WORDS: Final = {
    **dict.fromkeys(_TRUE, True),
    **dict.fromkeys(_FALSE, False),
    **{word.upper(): True for word in _TRUE},
    **{word.upper(): False for word in _FALSE},
    **{word.title(): True for word in _TRUE},
    **{word.title(): False for word in _FALSE},
}


def _cell(spec: InputSpec, cell: object) -> object:
    """One cell as the generated function reads it, or :data:`_SLOW` unless the row path provably reads it
    as the same value."""
    kind = type(cell)
    if spec.type == "boolean":
        if kind is bool:
            return cell
        if kind is str:
            word = str(cell).strip().lower()
            return True if word in _TRUE else False if word in _FALSE else _SLOW
        return _SLOW
    if spec.type not in ("number", "ratio", "integer"):
        return _SLOW
    if kind is str:
        text: str = cell  # type: ignore[assignment]
        if spec.type == "integer":
            return int(text) if _WHOLE.fullmatch(text) and len(text) <= 15 else _SLOW
        return float(text) if _PLAIN.fullmatch(text) and float_exact(Decimal(text)) else _SLOW
    if kind is int:
        return cell if -_SAFE_INT < cell < _SAFE_INT else _SLOW  # type: ignore[operator]
    if kind is float and spec.type != "integer":
        return cell if float_exact(as_decimal(cell)) else _SLOW
    return _SLOW


def _city(given: object, county: str) -> str | None:
    """As the row path: the ``city`` cell, else the county code's first four digits and ``00``."""
    if given is not None:
        return str(given).strip()
    return county[:4] + "00"
