"""Rating a large file of households (or other units below a county) in chunks, and rolling the ratings up.

The file is streamed: ``chunk_rows`` rows at a time are read, rated with the policy and folded into one
small counter per village (households, credit households, graded, errors, and the sums the village
criteria need). Only the counters outlive a chunk, so memory is O(chunk rows + villages), never
O(households). At the end every village, then every township, is rated by the policy's ``rollup:``
criteria (:func:`fineco_rules.scoring.rollup.roll_up`, the code the credit plugin re-rates a county's
units with), and each county gets its credit household, credit village and credit township shares.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.engine._engine import Cohort, CompiledPolicy, Progress, compile_policy
from fineco_rules.engine._records import META_FIELDS, check_records
from fineco_rules.engine._results import jsonable
from fineco_rules.errors import Code, Lang, Location, PolicyError, Problem, join, tr
from fineco_rules.io._csv import Chunk
from fineco_rules.io._csv import arrow_chunks as _arrow_chunks
from fineco_rules.io._csv import csv_chunks as _csv_chunks
from fineco_rules.io._csv import file_error as _file_error
from fineco_rules.io._csv import has_arrow as _has_arrow
from fineco_rules.io._csv import read_header as _header
from fineco_rules.io._numbers import CONTEXT, ZERO
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import PARENT_LEVELS, Grade, Policy
from fineco_rules.scoring._host import PluginHost
from fineco_rules.scoring.rollup import COUNTED, VILLAGE_SHARE, Criteria, roll_up

__all__ = [
    "BLOCK_BYTES",
    "DEFAULT_CHUNK_ROWS",
    "REPORT_FIRST",
    "Counters",
    "CountyRollup",
    "Rollup",
    "rollup",
    "shown_share",
]

#: Rows rated at a time unless told otherwise.
DEFAULT_CHUNK_ROWS: Final = 50_000
#: Bytes of the file pyarrow parses at a time. Its reader keeps reading ahead up to some 32 blocks, so
#: this bounds that buffer (8 MiB here; 150 MiB at pyarrow's 4 MiB, the whole file when it is smaller).
BLOCK_BYTES: Final = 1 << 18
#: How many bad rows are reported in full; the rest are counted.
REPORT_FIRST: Final = 20
#: Columns the roll-up reads beside the policy's inputs: the loan balance and the non-performing part of it.
LOAN_BALANCE: Final = "loan_balance"
NPL_BALANCE: Final = "npl_balance"
#: Criteria fields the roll-up computes itself rather than averaging a household column.
_COMPUTED: Final = frozenset({*COUNTED, VILLAGE_SHARE})
#: Grade codes, as :class:`fineco_rules.ColumnarEvaluation` writes them.
_CODES: Final = {grade: grade.rank for grade in Grade}
#: Shares are shown to six decimals, half-up, as the credit plugin shows them.
_SHARE: Final = Decimal("0.000001")


def _criteria(policy: Policy) -> Criteria:
    """The policy's ``rollup:`` criteria, or a located error saying how to declare them."""
    if policy.rollup is not None:
        return policy.rollup
    data = policy.document.data
    raise PolicyError(
        [
            Problem(
                tr("the policy declares no village and township criteria, so its units cannot be rolled up"),
                policy.document.location(("unit",))
                if isinstance(data, dict) and "unit" in data
                else Location(policy.file),
                tr(
                    "add `rollup: {village: [{field, op, value}, ...], township: [...]}` to the policy "
                    "(the provincial defaults are in policies/households/credit-household-2008.yaml; docs/rollup.md)"
                ),
                Code.NO_ROLLUP_CRITERIA,
            )
        ]
    )


def _share(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    return None if not whole else CONTEXT.divide(Decimal(part), Decimal(whole))


def shown_share(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_SHARE, rounding=ROUND_HALF_UP)


@attrs.frozen
class _Village:
    """One village's counters, as :attr:`Counters.villages` shows them (they are kept as columns, not so)."""

    township: str
    county: str
    first: str  # where the village was first met (file:line), for conflicting rows
    households: int = 0
    graded: int = 0
    credit: int = 0
    good: int = 0
    errors: int = 0
    loans: Decimal = ZERO
    npl: Decimal = ZERO
    #: Sums over graded households of the columns the criteria average (e.g. on_time_repayment).
    sums: dict[str, Decimal] = attrs.field(factory=dict)


@attrs.frozen
class CountyRollup:
    """One county's roll-up: its households' ratings, and its villages and townships rated by the criteria."""

    county: str
    households: int
    graded: int
    credit_households: int
    good_households: int
    errors: int
    villages: int
    credit_villages: int
    townships: int
    credit_townships: int
    #: Credit households over all households with a valid row (ungraded ones count against it).
    credit_household_share: Decimal | None
    credit_village_share: Decimal | None
    #: The credit township penetration (信用乡镇普及率).
    credit_township_share: Decimal | None
    #: Township code -> whether it holds the credit-township rating; village code -> the same.
    township_ratings: Mapping[str, bool] = attrs.field(factory=dict)
    village_ratings: Mapping[str, bool] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "county": self.county,
            "households": self.households,
            "graded": self.graded,
            "credit_households": self.credit_households,
            "good_households": self.good_households,
            "errors": self.errors,
            "credit_household_share": shown_share(self.credit_household_share),
            "villages": self.villages,
            "credit_villages": self.credit_villages,
            "credit_village_share": shown_share(self.credit_village_share),
            "townships": self.townships,
            "credit_townships": self.credit_townships,
            "credit_township_share": shown_share(self.credit_township_share),
            "township_ratings": dict(self.township_ratings),
            "village_ratings": dict(self.village_ratings),
        }
        return jsonable(out)  # type: ignore[no-any-return]


@attrs.frozen
class Rollup:
    """The roll-up of one household file: per county figures, and the bad rows (the first few in full)."""

    policy: Policy
    file: str
    rows: int
    bad_rows: int
    counties: tuple[CountyRollup, ...]
    #: The first :data:`REPORT_FIRST` bad rows' problems, and file-level notes (unknown columns).
    problems: tuple[Problem, ...]
    #: ``"row"`` or ``"columnar"``: which engine path rated the households.
    path: str = "row"

    @property
    def ok(self) -> bool:
        return self.bad_rows == 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types with stable keys; the same for every chunk size and engine path."""
        return {
            "policy": {"id": self.policy.id, "version": self.policy.version, "file": self.policy.file},
            "file": self.file,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "problems": [p.to_dict() for p in self.problems],
            "counties": [c.to_dict() for c in self.counties],
        }


#: The grade code of "good" (:data:`_CODES`): its rank, as every grade code is.
_GOOD: Final = Grade.GOOD.rank
#: Counters of a household, in the order a village keeps them.
_COUNTS: Final = ("households", "graded", "credit", "good", "errors")
#: Sums within a chunk: exact up to 80 significant digits (balances and averaged columns).
_WIDE: Final = Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
#: Fixed-point sums stay in int64 below this; beyond it, or at a finer exponent, a column holds Decimals.
_INT_LIMIT: Final = 2**62
_FINEST: Final = -18
#: Appended to every code kept in a NumPy string array, which would drop a trailing NUL character.
_END: Final = "\x01"


class _Chunk:
    """One chunk's villages: where each is, and its households' counters and sums, before they join the table."""

    def __init__(self, places: dict[str, tuple[str, str, int]], figures: int) -> None:
        #: Village code -> (township, county, line first met): the table's for known villages, else this chunk's.
        self.places = places
        self.known = frozenset(places)
        self.slots: dict[str, int] = {}
        self.counts: list[list[int]] = []
        self.sums: list[list[Decimal]] = []
        self.figures = figures

    def slot(self, code: str) -> int:
        found = self.slots.get(code)
        if found is None:
            found = self.slots[code] = len(self.counts)
            self.counts.append([0] * len(_COUNTS))
            self.sums.append([ZERO] * self.figures)
        return found

    def count(self, slot: int, code: int) -> None:
        """Count a household of grade code ``code`` (-1 not graded, 0 fail, 1 pass, 2 good)."""
        counts = self.counts[slot]
        counts[0] += 1
        if code < 0:
            counts[4] += 1
            return
        counts[1] += 1
        counts[2] += code >= 1
        counts[3] += code == _GOOD

    def sum(self, slot: int, values: Sequence[Decimal]) -> None:
        sums = self.sums[slot]
        for k, value in enumerate(values):
            sums[k] = _WIDE.add(sums[k], value)


class _Table:
    """Every village's counters as columns sorted by village code: a few NumPy arrays, no Python object per
    village, so what outlives the chunks is a few hundred bytes a village and never fragments the heap."""

    def __init__(self, figures: int) -> None:
        import numpy as np  # late: `fineco --help` does not load NumPy

        self._np = np
        self._codes = np.zeros(0, dtype="U1")
        self._townships = np.zeros(0, dtype="U1")
        self._counties = np.zeros(0, dtype="U1")
        self._first = np.zeros(0, dtype=np.int64)
        self._counts = np.zeros((0, len(_COUNTS)), dtype=np.int64)
        #: Per figure (loans, NPL, each averaged column): int64 units of 10**exponent, or Decimals (dtype object).
        self._sums: list[Any] = [np.zeros(0, dtype=np.int64) for _ in range(figures)]
        self._exponents = [0] * figures

    def __len__(self) -> int:
        return len(self._codes)

    def cells(self) -> int:
        return len(self) * (4 + len(_COUNTS) + len(self._sums))

    def _strings(self, texts: Sequence[str]) -> Any:
        return self._np.array([text + _END for text in texts] or [_END])[: len(texts)]

    def code(self, i: int) -> str:
        return str(self._codes[i])[:-1]

    def codes(self) -> list[str]:
        return [text[:-1] for text in self._codes.tolist()]

    def township(self, i: int) -> str:
        return str(self._townships[i])[:-1]

    def county(self, i: int) -> str:
        return str(self._counties[i])[:-1]

    def first(self, i: int) -> int:
        return int(self._first[i])

    def counts(self, i: int) -> list[int]:
        return [int(n) for n in self._counts[i].tolist()]

    def sums(self, i: int) -> list[Decimal]:
        return self.total_sums([i])

    def places(self, codes: set[str]) -> dict[str, tuple[str, str, int]]:
        """Township, county and first line of those of ``codes`` the table knows."""
        if not codes or not len(self):
            return {}
        wanted = sorted(codes)
        found = self._find(self._strings(wanted))
        return {
            code: (self.township(i), self.county(i), self.first(i))
            for code, i in zip(wanted, found.tolist(), strict=True)
            if i >= 0
        }

    def _find(self, strings: Any) -> Any:
        """The row of each code in ``strings``, -1 where the table has none."""
        np = self._np
        at = np.searchsorted(self._codes, strings)
        clipped = np.minimum(at, len(self) - 1)
        return np.where(self._codes[clipped] == strings, clipped, -1)

    def merge(self, chunk: _Chunk) -> None:
        """Add a chunk's villages: new ones are inserted in code order, then every counter and sum is added."""
        np = self._np
        if not chunk.slots:
            return
        new = [code for code in chunk.slots if code not in chunk.known]
        if new:
            strings = self._strings(new)
            order = np.argsort(strings, kind="stable")  # NumPy's string order, which searchsorted follows
            strings, new = strings[order], [new[i] for i in order.tolist()]
            at = np.searchsorted(self._codes, strings)
            places = [chunk.places[code] for code in new]
            self._codes = _insert(np, self._codes, at, strings)
            self._townships = _insert(np, self._townships, at, self._strings([p[0] for p in places]))
            self._counties = _insert(np, self._counties, at, self._strings([p[1] for p in places]))
            self._first = np.insert(self._first, at, [p[2] for p in places])
            self._counts = np.insert(self._counts, at, 0, axis=0)
            for k, column in enumerate(self._sums):
                self._sums[k] = np.insert(column, at, ZERO if column.dtype == object else 0)
        rows = self._find(self._strings(list(chunk.slots)))
        self._counts[rows] += np.array(chunk.counts, dtype=np.int64)
        for k in range(len(self._sums)):
            self._add(k, rows, [sums[k] for sums in chunk.sums])

    def _add(self, k: int, rows: Any, values: list[Decimal]) -> None:
        """Add ``values`` to figure ``k`` of ``rows``: in int64 units while they fit exactly, else as Decimals."""
        np = self._np
        column = self._sums[k]
        if column.dtype != object:
            exponent = min(self._exponents[k], *(int(v.as_tuple().exponent) for v in values))
            units = [_units(v, exponent) for v in values]
            scale = 10 ** (self._exponents[k] - exponent)
            largest = (int(column.max()) if len(column) else 0) * scale
            if exponent >= _FINEST and largest + max(units) < _INT_LIMIT:
                if scale != 1:
                    column = column * scale
                    self._exponents[k] = exponent
                column[rows] += np.array(units, dtype=np.int64)
                self._sums[k] = column
                return
            column = np.array([_decimal(int(n), self._exponents[k]) for n in column.tolist()] or [ZERO], dtype=object)
            column = column[: len(self)]
        column[rows] = [_WIDE.add(a, b) for a, b in zip(column[rows].tolist(), values, strict=True)]
        self._sums[k] = column

    def total(self, rows: Sequence[int]) -> list[int]:
        """Households, graded, credit, good and errors over ``rows``."""
        return [int(n) for n in self._counts[list(rows)].sum(axis=0).tolist()]

    def total_sums(self, rows: Sequence[int]) -> list[Decimal]:
        """Each figure's exact sum over ``rows``."""
        out = []
        for column, exponent in zip(self._sums, self._exponents, strict=True):
            cells = column[list(rows)].tolist()
            if column.dtype == object:
                total = ZERO
                for cell in cells:
                    total = _WIDE.add(total, cell)
                out.append(total)
            else:
                out.append(_decimal(sum(cells), exponent))
        return out

    def by_county(self) -> Iterator[tuple[str, list[tuple[str, list[int]]]]]:
        """Each county (in code order) with its townships (in code order) and their villages' rows (in code order)."""
        np = self._np
        for county in sorted(self._counties_of(np.unique(self._counties))):
            rows = np.flatnonzero(self._counties == county + _END).tolist()
            townships: dict[str, list[int]] = {}
            for i in sorted(rows, key=lambda i: (self.township(i), self.code(i))):
                townships.setdefault(self.township(i), []).append(i)
            yield county, list(townships.items())

    @staticmethod
    def _counties_of(strings: Any) -> list[str]:
        return [text[:-1] for text in strings.tolist()]


def _insert(np: Any, array: Any, at: Any, values: Any) -> Any:
    """``np.insert`` into a string array, widened first so that no longer value is cut short."""
    wider = np.promote_types(array.dtype, values.dtype)
    return np.insert(array.astype(wider, copy=False), at, values)


def _units(value: Decimal, exponent: int) -> int:
    """``value`` in units of 10**``exponent`` (not above its own exponent): exact."""
    sign, digits, own = value.as_tuple()
    units: int = int("".join(map(str, digits)) or "0") * 10 ** (int(own) - exponent)
    return -units if sign else units


def _decimal(units: int, exponent: int) -> Decimal:
    return Decimal(f"{units}E{exponent}")


class Counters:
    """The per-village counters a roll-up keeps between chunks, and the bad rows reported so far.

    Its size is O(villages + :data:`REPORT_FIRST`): adding more households of known villages never
    grows it (:meth:`cells` counts what it holds).
    """

    def __init__(self, compiled: CompiledPolicy, file: str, cohort: Cohort | None = None) -> None:
        unit = compiled.policy.unit
        missing = [level for level in PARENT_LEVELS if level not in unit.parents]
        if missing:
            raise PolicyError(
                [
                    Problem(
                        tr(
                            "the policy's unit ({unit}) names no {levels} field, so its records cannot be rolled up",
                            unit=unit.key,
                            levels=_Or([_LEVELS[m] for m in missing]),
                        ),
                        compiled.policy.document.location(("unit",))
                        if isinstance(compiled.policy.document.data, dict) and "unit" in compiled.policy.document.data
                        else Location(compiled.policy.file),
                        tr("add `unit: {key: ..., parents: {village: ..., township: ..., county: ...}}` to the policy"),
                        Code.NO_PARENTS,
                    )
                ]
            )
        self.compiled, self.file, self.cohort = compiled, file, cohort
        #: ``"columnar"`` (:func:`fineco_rules.evaluate_columns`) or ``"row"`` (:meth:`CompiledPolicy.evaluate`).
        self.engine = "row"
        self.unit = unit
        village, township, county = (unit.parents[level] for level in PARENT_LEVELS)
        self.parents = (village, township, county)
        self.criteria = _criteria(compiled.policy)
        self.means = tuple(sorted(self.criteria.read - _COMPUTED))
        self.fields = tuple(dict.fromkeys((unit.key, *compiled.policy.inputs, "name", "city")))
        #: Every village's counters, one column per figure (no Python object per village).
        self.table = _Table(2 + len(self.means))
        self.rows = 0
        self.bad_rows = 0
        #: The problems of the bad rows that come first in the file (at most REPORT_FIRST), by line.
        self.problems: list[Problem] = []

    def cells(self) -> int:
        """How many values the counters hold: grows with villages and reported problems, not households."""
        return self.table.cells() + len(self.problems)

    @property
    def villages(self) -> dict[str, _Village]:
        """Each village's counters by code, in code order, read out of :attr:`table` (a copy, for tests)."""
        figures = (LOAN_BALANCE, NPL_BALANCE, *self.means)
        out = {}
        for code, i in sorted((code, i) for i, code in enumerate(self.table.codes())):
            sums = self.table.sums(i)
            households, graded, credit, good, errors = self.table.counts(i)
            out[code] = _Village(
                self.table.township(i),
                self.table.county(i),
                f"{self.file}:{self.table.first(i)}",
                households,
                graded,
                credit,
                good,
                errors,
                sums[0],
                sums[1],
                dict(zip(figures[2:], sums[2:], strict=True)),
            )
        return out

    def bad(self, problem: Problem) -> None:
        """Count a bad row; keep its problem if it is among the first in the file."""
        self.bad_rows += 1
        self._keep(problem)

    def wanted(self, line: int) -> bool:
        """Whether a problem on ``line`` would be among the first REPORT_FIRST kept (so is worth explaining)."""
        return len(self.problems) < REPORT_FIRST or line < (self.problems[-1].location.line or 0)

    def _keep(self, problem: Problem) -> None:
        """Keep the REPORT_FIRST problems that come first in the file, whatever order they are met in
        (the reader reports a malformed row when it parses its block, before earlier rows are rated)."""
        if len(self.problems) == REPORT_FIRST and not self.wanted(problem.location.line or 0):
            return
        self.problems.append(problem)
        self.problems.sort(key=lambda p: p.location.line or 0)  # stable: a row's problems keep their order
        del self.problems[REPORT_FIRST:]

    def add(self, lines: Sequence[int], columns: Mapping[str, Sequence[object]], table: Any = None) -> None:
        """Rate one chunk, given as columns (with the line each row was read from), and fold it in.

        With :attr:`engine` ``"columnar"`` the households are graded by :func:`fineco_rules.evaluate_columns`
        (from ``table``, the same chunk as an Arrow table, when given), else by :meth:`CompiledPolicy.evaluate`.
        The chunk is summed per village first; only those sums reach :attr:`table`.
        """
        if table is None or self.engine != "columnar" or not self._add_arrow(lines, columns, table):
            self._add_rows(lines, columns, table)

    def _add_rows(self, lines: Sequence[int], columns: Mapping[str, Sequence[object]], table: Any) -> None:
        """Place, check and grade the chunk row by row, reporting each bad row where it is."""
        base = self.rows
        self.rows += len(lines)
        keys = columns.get(self.unit.key) or [None] * len(lines)
        parents = [columns[field] for field in self.parents]
        figures = [columns[field] for field in (LOAN_BALANCE, NPL_BALANCE, *self.means)]
        chunk = _Chunk(self.table.places({_text(code) for code in parents[0]} - {""}), 2 + len(self.means))
        ready: list[int] = []
        kept: list[tuple[int, tuple[Decimal, ...]]] = []
        for i, line in enumerate(lines):
            slot = self._village(chunk, tuple(_text(column[i]) for column in parents), line, base + i + 1, keys[i])
            if slot is None:
                continue
            found = self._figures([column[i] for column in figures], line, base + i + 1, keys[i])
            if found is None:
                chunk.count(slot, -1)
                continue
            ready.append(i)
            kept.append((slot, found))
        if ready:
            codes = self._grade(lines, columns, table, ready, base)
            for (slot, found), code in zip(kept, codes, strict=True):
                chunk.count(slot, code)
                if code >= 0:
                    chunk.sum(slot, found)
        self.table.merge(chunk)

    def _add_arrow(self, lines: Sequence[int], columns: Mapping[str, Sequence[object]], table: Any) -> bool:
        """Fold in a chunk from its Arrow columns with NumPy: the counters, problems and sums of the row loop
        (:meth:`_add_rows`), with a Python object only for a row that is reported. ``False`` (nothing done)
        when a figure is a number that is not plain digits (``1e3``, ``+5``), or sums could pass int64."""
        import numpy as np

        figures = (LOAN_BALANCE, NPL_BALANCE, *self.means)
        read = _read_chunk(table, self.parents, figures)
        if read is None:
            return False
        cells = _rows_of(table, (self.unit.key, *self.parents, *figures), np.flatnonzero(~read.plain))
        if any(self._figures(row[4:], 0, 0, None, _ignore) is not None for row in cells.values()):
            return False
        chunk = _Chunk(self.table.places(set(read.villages)), len(figures))
        for k, code in enumerate(read.villages):
            chunk.places.setdefault(code, (read.townships[k], read.counties[k], lines[read.first[k]]))
            chunk.slot(code)
        base = self.rows
        self.rows += len(lines)
        clean = read.at_home(chunk, table, self.parents) & read.plain
        odd = np.flatnonzero(~clean)
        cells |= _rows_of(table, (self.unit.key, *self.parents, *figures), odd[~np.isin(odd, list(cells))])
        for i in odd.tolist():  # in row order, as the row loop reports them
            row = cells[i]
            slot = self._village(chunk, tuple(_text(c) for c in row[1:4]), lines[i], base + i + 1, row[0])
            if slot is not None and self._figures(row[4:], lines[i], base + i + 1, row[0]) is None:
                chunk.count(slot, -1)
        ready = np.flatnonzero(clean)
        grades = np.full(len(lines), -1, dtype=np.int64)
        if len(ready):
            rows: Sequence[int] = range(len(lines)) if len(ready) == len(lines) else ready.tolist()
            grades[ready] = self._grade(lines, columns, table, rows, base)
        chunk.counts = (
            np.array(chunk.counts, dtype=np.int64).reshape(-1, len(_COUNTS)) + read.counts(clean, grades)
        ).tolist()
        graded = clean & (grades >= 0)
        chunk.sums = [list(sums) for sums in zip(*(read.sums(k, graded) for k in range(len(figures))), strict=True)]
        self.table.merge(chunk)
        return True

    def _grade(
        self, lines: Sequence[int], columns: Mapping[str, Sequence[object]], table: Any, ready: Sequence[int], base: int
    ) -> Sequence[int]:
        """Grade codes (-1 not graded, 0 fail, 1 pass, 2 good) of the ``ready`` rows; bad ones are reported."""
        present = set(columns)  # the names only: `f in columns` would convert an Arrow column to a list
        fields = [f for f in self.fields if f in present]

        def raw(i: int) -> RawRecord:
            where = Location(self.file, lines[i], path=tr("row {row}", row=base + i + 1))
            return RawRecord({f: columns[f][i] for f in fields}, where)

        if self.engine != "columnar":
            return self._grade_rows([raw(i) for i in ready])
        from fineco_rules.engine._columnar import evaluate_columns

        if table is not None:
            data: Any = table.select(fields)
            if len(ready) != table.num_rows:
                data = data.take(ready)
        else:
            data = {f: [columns[f][i] for i in ready] for f in fields}
        codes = [int(c) for c in evaluate_columns(self.compiled, data, cohort=self.cohort).grade_codes]
        self._explain_ungraded(codes, lines, columns, ready, raw)
        return codes

    def _explain_ungraded(
        self,
        codes: Sequence[int],
        lines: Sequence[int],
        columns: Mapping[str, Sequence[object]],
        ready: Sequence[int],
        raw: Callable[[int], RawRecord],
    ) -> None:
        """Count the rows the columnar path could not grade, and report the first ones on the row path.

        Each is explained from the cells as written, beside the first row with the same key (a duplicate
        is only a duplicate next to it): the messages are the row engine's.
        """
        keys: Sequence[object] = ()  # listed only when a row must be explained
        first: dict[str, int] | None = None
        for j, code in enumerate(codes):
            if code >= 0:
                continue
            self.bad_rows += 1
            if not self.wanted(lines[ready[j]]):
                continue
            if first is None:
                keys = columns.get(self.unit.key) or [None] * len(lines)
                first = {}
                for n, i in enumerate(ready):
                    first.setdefault(_text(keys[i]), n)
            chosen = sorted({first.get(_text(keys[ready[j]]), j), j})
            result = self.compiled.evaluate([raw(ready[n]) for n in chosen], cohort=self.cohort).results[-1]
            for problem in result.errors:
                self._keep(problem)

    def _grade_rows(self, raws: list[RawRecord]) -> list[int]:
        """Grade codes of ``raws`` on the row path; the ungraded ones are counted and reported."""
        results = self.compiled.evaluate(raws, cohort=self.cohort).results
        out = []
        for result in results:
            if result.grade is None:
                self.bad_rows += 1
                for problem in result.errors:
                    self._keep(problem)
                out.append(-1)
            else:
                out.append(_CODES[result.grade])
        return out

    def _where(self, line: int, row: int, key: object, field: str) -> Location:
        return Location(self.file, line, path=tr("row {row}", row=row), county=_text(key) or None, field=field)

    def _village(self, chunk: _Chunk, codes: tuple[str, ...], line: int, row: int, key: object) -> int | None:
        """The chunk's slot of the row's village, or ``None`` (reported) when the row cannot be placed."""
        for level, field, code in zip(PARENT_LEVELS, self.parents, codes, strict=True):
            if not code:
                self.bad(
                    Problem(
                        tr(
                            "the {level} code is missing, so the {unit} cannot be counted",
                            level=_LEVELS[level],
                            unit=_named(self.unit.label),
                        ),
                        self._where(line, row, key, field),
                        tr(
                            "give the code of the {level} the {unit} belongs to in column {field!r}",
                            level=_LEVELS[level],
                            unit=_named(self.unit.label),
                            field=field,
                        ),
                        Code.MISSING_PARENT,
                    )
                )
                return None
        village_code, township, county = codes
        place = chunk.places.get(village_code)
        if place is None:
            place = chunk.places[village_code] = (township, county, line)
        elif place[0] != township or place[1] != county:
            self.bad(
                Problem(
                    tr(
                        "village {village} is in township {was_township}, county {was_county} "
                        "(first at {first}), but this row puts it in township {township}, county {county}",
                        village=village_code,
                        was_township=place[0],
                        was_county=place[1],
                        first=f"{self.file}:{place[2]}",
                        township=township,
                        county=county,
                    ),
                    self._where(line, row, key, self.parents[1]),
                    tr("give every household of a village the same township and county codes"),
                    Code.CONFLICTING_PARENT,
                )
            )
            return None
        return chunk.slot(village_code)

    def _figures(
        self, raws: Sequence[object], line: int, row: int, key: object, bad: Callable[[Problem], None] | None = None
    ) -> tuple[Decimal, ...] | None:
        """The loan and NPL balances and the averaged columns of a row, or ``None`` (reported to ``bad``, by
        default :meth:`bad`) if one is bad."""
        bad = bad or self.bad
        values: list[Decimal] = []
        for field, raw in zip((LOAN_BALANCE, NPL_BALANCE, *self.means), raws, strict=True):
            text = _text(raw)
            reason = None
            if not text:
                reason = tr("it is missing")
            else:
                try:
                    value = Decimal(text)
                except ArithmeticError:
                    value = None
                if value is None or not value.is_finite():
                    reason = tr("{text!r} is not a number", text=text)
                elif value < 0:
                    reason = tr("{text!r} is negative", text=text)
            if reason is not None or value is None:
                bad(
                    Problem(
                        tr("the roll-up needs {field!r}, but {reason}", field=field, reason=reason),
                        self._where(line, row, key, field),
                        tr("write a plain number of 0 or more (yuan for balances), e.g. 12000"),
                        Code.BAD_ROLLUP_VALUE,
                    )
                )
                return None
            values.append(value)
        if values[1] > values[0]:
            bad(
                Problem(
                    tr(
                        "the non-performing balance {npl} exceeds the loan balance {loans}",
                        npl=values[1],
                        loans=values[0],
                    ),
                    self._where(line, row, key, NPL_BALANCE),
                    tr("the non-performing part of the loans cannot be more than the loans"),
                    Code.BAD_ROLLUP_VALUE,
                )
            )
            return None
        return tuple(values)

    def result(self, path: str = "row", notes: Sequence[Problem] = ()) -> Rollup:
        """Rate villages and townships by the policy's criteria and sum up each county, one county at a time."""
        counties = [self._county(county, members) for county, members in self.table.by_county()]
        return Rollup(
            self.compiled.policy,
            self.file,
            self.rows,
            self.bad_rows,
            tuple(counties),
            (*notes, *self.problems),
            path,
        )

    def _county(self, county: str, townships: Sequence[tuple[str, Sequence[int]]]) -> CountyRollup:
        """One county's roll-up from its villages' rows of :attr:`table`, grouped by township."""
        rows: list[dict[str, object]] = []
        codes: dict[str, list[str]] = {}
        for township, villages in townships:
            codes[township] = [self.table.code(i) for i in villages]
            for code, i in zip(codes[township], villages, strict=True):
                rows.append(self._unit_row(code, "village", township, [i]))
            rows.append(self._unit_row(township, "township", county, villages))
        rolled = roll_up(rows, self.criteria)
        held = {level: set(rolled.held(level)) for level in ("township", "village")}
        every = [i for _, villages in townships for i in villages]
        households, graded, credit, good, errors = self.table.total(every)
        return CountyRollup(
            county=county,
            households=households,
            graded=graded,
            credit_households=credit,
            good_households=good,
            errors=errors,
            villages=rolled.villages,
            credit_villages=len(held["village"]),
            townships=rolled.townships,
            credit_townships=len(held["township"]),
            credit_household_share=_share(credit, households),
            credit_village_share=rolled.village_share,
            credit_township_share=rolled.township_share,
            township_ratings={t: t in held["township"] for t in codes},
            village_ratings={v: v in held["village"] for t in codes for v in codes[t]},
        )

    def _unit_row(self, code: str, level: str, parent: str, villages: Sequence[int]) -> dict[str, object]:
        """A village or township as a row of :func:`fineco_rules.scoring.rollup.roll_up`, from its counters."""
        households, graded, credit, _, _ = self.table.total(villages)
        loans, npl, *means = self.table.total_sums(villages)
        row: dict[str, object] = {
            "unit": code,
            "name": code,
            "level": level,
            "parent": parent,
            "rated_before": False,
            # Ungraded households count against the share; a place with no households has none.
            "credit_household_share": _share(credit, households) or ZERO,
            # No loans outstanding: no non-performing loans.
            "npl_ratio": _share(npl, loans) or ZERO,
        }
        for field, total in zip(self.means, means, strict=True):
            # The mean over graded households; none graded: 0 (the share already fails).
            row[field] = _share(total, graded) or ZERO
        return row


#: A plain figure: digits, then a point and digits or nothing (anything else is read row by row, as Decimal reads it).
_PLAIN: Final = r"^[0-9]+(\.[0-9]+)?$"
#: Digits an int64 holds with room to spare (sums over a chunk are checked to stay below 10**18).
_DIGITS: Final = 18


@attrs.frozen
class _Read:
    """A chunk read from its Arrow columns as NumPy arrays, no Python object per row: where each row goes,
    and its figures when they are plain digits."""

    #: The villages of rows with all three places, in the order first met, each one's township and county
    #: on that first row, and that row.
    villages: list[str]
    townships: list[str]
    counties: list[str]
    first: list[int]
    #: Per row: the position of its village in :attr:`villages`, -1 where a place is missing.
    ids: Any
    #: Per row: whether its township and county are those of its village's first row.
    same: Any
    #: Per row: whether every figure is plain digits, the NPL not above the loans.
    plain: Any
    #: Per figure: each row's value in units of 10**-scale, and its decimal places as written (0 if not plain).
    units: list[Any]
    decimals: list[Any]
    scale: int

    def at_home(self, chunk: _Chunk, table: Any, parents: Sequence[str]) -> Any:
        """Per row: whether it has all three places and they are its village's (the table's, if known)."""
        import numpy as np

        placed = self.ids >= 0
        if not self.villages:
            return placed
        moved = np.array(
            [
                chunk.places[code][:2] != (township, county)
                for code, township, county in zip(self.villages, self.townships, self.counties, strict=True)
            ],
            dtype=bool,
        )[np.maximum(self.ids, 0)]
        home = placed & self.same & ~moved
        # A village the table places elsewhere than its first row here: each of its rows against the table's.
        for i, (code, township, county) in _rows_of(table, parents, np.flatnonzero(placed & moved)).items():
            home[i] = chunk.places[str(code)][:2] == (township, county)
        return home

    def counts(self, rows: Any, grades: Any) -> Any:
        """Households, graded, credit, good and errors per village over ``rows`` graded ``grades``."""
        import numpy as np

        many = len(self.villages)
        ids, codes = self.ids[rows], grades[rows]
        return np.stack(
            [
                np.bincount(ids, minlength=many),
                np.bincount(ids[codes >= 0], minlength=many),
                np.bincount(ids[codes >= 1], minlength=many),
                np.bincount(ids[codes == _GOOD], minlength=many),
                np.bincount(ids[codes < 0], minlength=many),
            ],
            axis=1,
        ).reshape(many, len(_COUNTS))

    def sums(self, k: int, rows: Any) -> list[Decimal]:
        """Figure ``k`` summed per village over ``rows``: the Decimal the row loop's exact sum is, to its
        exponent (the finest of its values, none above 0)."""
        import numpy as np

        ids, many = self.ids[rows], len(self.villages)
        total = np.zeros(many, dtype=np.int64)
        np.add.at(total, ids, self.units[k][rows])
        finest = np.zeros(many, dtype=np.int64)
        np.maximum.at(finest, ids, self.decimals[k][rows])
        return [
            _decimal(units // 10 ** (self.scale - places), -places)
            for units, places in zip(total.tolist(), finest.tolist(), strict=True)
        ]


def _read_chunk(table: Any, parents: Sequence[str], figures: Sequence[str]) -> _Read | None:
    """The chunk as :class:`_Read`, or ``None`` when its plain figures could pass int64 summed over a chunk.

    The reader trimmed every cell of all that str.strip removes, and an empty cell is missing: a code is
    as the row loop reads it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.num_rows
    village, township, county = (_whole(table.column(field)) for field in parents)
    missing = pc.or_(pc.or_(pc.is_null(village), pc.is_null(township)), pc.is_null(county))
    if pc.any(missing).as_py():
        placed = np.flatnonzero(~missing.to_numpy(zero_copy_only=False))
        encoded = pc.dictionary_encode(village.take(pa.array(placed)))
    else:
        placed = np.arange(rows)
        encoded = pc.dictionary_encode(village)
    ids = np.full(rows, -1, dtype=np.int64)
    ids[placed] = encoded.indices.to_numpy(zero_copy_only=False)
    first = placed[np.unique(ids[placed], return_index=True)[1]]  # the dictionary is in order of first appearance
    heads = first[np.maximum(ids, 0)] if len(first) else np.zeros(rows, dtype=np.int64)
    same = np.ones(rows, dtype=bool)
    for column in (township, county):
        codes = pc.fill_null(pc.dictionary_encode(column).indices, -1).to_numpy(zero_copy_only=False)
        same &= codes == codes[heads]
    read = [_plain(table.column(field)) for field in figures]
    scale = max(int(decimals.max(initial=0)) for _, _, decimals, _ in read)
    if (
        max(int((length - decimals).max(initial=0)) for _, length, decimals, _ in read) + scale + len(str(rows))
        > _DIGITS
    ):
        return None
    units = [
        pc.cast(pc.replace_substring(cells, ".", ""), pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
        * 10 ** (scale - decimals)
        for cells, _, decimals, _ in read
    ]
    plain = np.logical_and.reduce([ok for _, _, _, ok in read]) & (units[1] <= units[0])
    return _Read(
        encoded.dictionary.to_pylist(),
        township.take(pa.array(first)).to_pylist(),
        county.take(pa.array(first)).to_pylist(),
        first.tolist(),
        ids,
        same,
        plain,
        units,
        [decimals for _, _, decimals, _ in read],
        scale,
    )


def _whole(column: Any) -> Any:
    """A column as one Arrow array."""
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _plain(column: Any) -> tuple[Any, Any, Any, Any]:
    """Per cell of a figure column: the text with a cell that is not plain digits (or missing) as "0", its
    digits' count and decimal places, and whether it was plain."""
    import numpy as np
    import pyarrow.compute as pc

    cells = _whole(column)
    ok = pc.fill_null(pc.match_substring_regex(cells, _PLAIN), False)
    if not pc.all(ok).as_py():
        cells = pc.if_else(ok, cells, "0")
    length = pc.binary_length(cells).to_numpy(zero_copy_only=False).astype(np.int64)
    point = pc.find_substring(cells, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    decimals = np.where(point < 0, 0, length - point - 1)
    return cells, length - (point >= 0), decimals, ok.to_numpy(zero_copy_only=False)


def _rows_of(table: Any, names: Sequence[str], rows: Any) -> dict[int, list[object]]:
    """Rows ``rows`` of ``table`` as Python lists of the cells of ``names`` (``None`` for a column it lacks)."""
    import pyarrow as pa

    if not len(rows):
        return {}
    part = table.take(pa.array(rows))
    cells = [part.column(n).to_pylist() if n in part.column_names else [None] * len(rows) for n in names]
    return {i: [column[j] for column in cells] for j, i in enumerate(rows.tolist())}


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


# -- the first pass -----------------------------------------------------------------------


def _needs_cohort(compiled: CompiledPolicy) -> tuple[bool, bool]:
    """(whether any indicator needs batch-wide context, whether that context can be summed chunk by chunk)."""
    needs, streamable = False, True
    for indicator in compiled.policy.indicators.values():
        cohort = compiled.host.scorer(indicator.scorer).scorer.cohort
        rule = indicator.missing
        if cohort or rule.rule == "impute":
            needs = True
        if cohort or (rule.rule == "impute" and rule.impute == "median"):
            streamable = False
    return needs, streamable


def _streamed_fills(compiled: CompiledPolicy, chunks: Iterator[Chunk], file: str) -> Cohort:
    """The engine's imputation fills (mean, group mean) summed chunk by chunk: O(groups), not O(rows)."""
    policy = compiled.policy
    wanted = [
        (name, field, ind.missing)
        for name, ind in policy.indicators.items()
        if ind.missing.rule == "impute"
        for field in ind.reads
    ]
    pools: dict[tuple[str, str], dict[str | None, tuple[Decimal, int]]] = {(n, f): {} for n, f, _ in wanted}
    size = 0
    for lines, columns, _ in chunks:
        checked, _ = check_records(policy, _raws(lines, columns, file))
        for record in checked:
            if record.problems:
                continue
            size += 1
            for name, field, rule in wanted:
                value = record.values.get(field)
                if not isinstance(value, Decimal):
                    continue
                if rule.impute == "group_mean":
                    group = rule.group or ""
                    found = record.city if group == "city" else record.values.get(group)
                    key = None if found is None else str(found)
                else:
                    key = None
                total, count = pools[(name, field)].get(key, (ZERO, 0))
                pools[(name, field)][key] = (CONTEXT.add(total, value), count + 1)
    fills = {
        target: {key: CONTEXT.divide(total, Decimal(count)) for key, (total, count) in pool.items()}
        for target, pool in pools.items()
    }
    return Cohort(fills, {}, {}, size)


def _raws(lines: Sequence[int], columns: Mapping[str, Sequence[object]], file: str) -> list[RawRecord]:
    names = list(columns)
    cells = [columns[name] for name in names]
    return [
        RawRecord({name: column[i] for name, column in zip(names, cells, strict=True)}, Location(file, line))
        for i, line in enumerate(lines)
    ]


# -- the whole run ------------------------------------------------------------------------


def rollup(
    policy: Policy | CompiledPolicy,
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    host: PluginHost | None = None,
    reader: str | None = None,
    engine: str | None = None,
    progress: Progress | None = None,
) -> Rollup:
    """Rate every household (unit) of the CSV file at ``path`` with ``policy``, ``chunk_rows`` at a time,
    and roll the ratings up to villages, townships and counties by the policy's ``rollup:`` criteria.

    Memory is O(``chunk_rows`` + villages) for a policy without cohort scorers or median imputation; one
    that has them is fitted (:meth:`CompiledPolicy.fit`) on the whole file first, which holds every row.
    ``reader`` is ``"arrow"`` (pyarrow's streaming reader, the default when installed) or ``"csv"``;
    ``engine`` is ``"columnar"`` (:func:`fineco_rules.evaluate_columns`, the default with pyarrow) or
    ``"row"`` (:meth:`CompiledPolicy.evaluate`). Neither changes the result.
    ``progress("rows", done, None)`` is told the rows read after each chunk. Bad rows are reported in
    :attr:`Rollup.problems` (the first :data:`REPORT_FIRST`) and counted in :attr:`Rollup.bad_rows`.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    file = str(path)
    if Path(file).suffix.lower() not in {".csv", ".txt"}:
        raise _file_error(
            tr("the roll-up streams CSV files; {suffix} is not one", suffix=Path(file).suffix or tr("no suffix")),
            file,
            tr("save the household table as CSV (UTF-8)"),
            Code.UNKNOWN_FORMAT,
        )
    names = _header(file)
    counters = Counters(compiled, file)
    notes = _header_notes(compiled, counters, file, names)
    use, counters.engine = _paths(reader, engine)
    chunks = _arrow_blocks if use == "arrow" else _csv_chunks
    counters.cohort = _fitted_cohort(compiled, chunks(file, names, chunk_rows, _ignore), file)
    for lines, columns, table in chunks(file, names, chunk_rows, counters.bad):
        counters.add(lines, columns, table)
        if progress is not None:
            progress("rows", counters.rows, None)
    return counters.result(counters.engine, notes)


def _arrow_blocks(file: str, names: Sequence[str], chunk_rows: int, bad: Callable[[Problem], None]) -> Iterator[Chunk]:
    """:func:`fineco_rules.io._csv.arrow_chunks` in blocks of :data:`BLOCK_BYTES`, so that what pyarrow reads
    ahead stays a few MiB however large the file."""
    return _arrow_chunks(file, names, chunk_rows, bad, block_bytes=BLOCK_BYTES)


def _header_notes(compiled: CompiledPolicy, counters: Counters, file: str, names: Sequence[str]) -> list[Problem]:
    """Refuse a header without a column the roll-up needs; a note for each column it ignores."""
    unit = compiled.policy.unit
    needed = [unit.key, *counters.parents, LOAN_BALANCE, NPL_BALANCE, *counters.means]
    absent = [n for n in dict.fromkeys(needed) if n not in names]
    if absent:
        raise _file_error(
            tr("the header has no column {columns}, which the roll-up needs", columns=join(repr(n) for n in absent)),
            file,
            tr("add the column(s); the file has: {columns}", columns=join(names)),
            Code.MISSING_COLUMN,
            1,
        )
    known = set(compiled.policy.inputs) | unit.fields | META_FIELDS | {LOAN_BALANCE, NPL_BALANCE}
    return [
        Problem(
            tr(
                "column {name!r} is not an input of {policy} {version} nor a roll-up column; it is ignored",
                name=name,
                policy=compiled.policy.id,
                version=compiled.policy.version,
            ),
            Location(file, 1, names.index(name) + 1, field=name),
            None,
            Code.UNKNOWN_COLUMN,
        )
        for name in names
        if name not in known
    ]


def _paths(reader: str | None, engine: str | None) -> tuple[str, str]:
    """The reader and the engine to use: those asked for, else the Arrow ones when pyarrow is installed."""
    use = reader or ("arrow" if _has_arrow() else "csv")
    if use not in {"arrow", "csv"}:
        raise ValueError(f"reader must be 'arrow' or 'csv', not {use!r}")
    chosen = engine or ("columnar" if _has_arrow() else "row")
    if chosen not in {"columnar", "row"}:
        raise ValueError(f"engine must be 'columnar' or 'row', not {chosen!r}")
    return use, chosen


def _ignore(problem: Problem) -> None:
    """Drop a bad row's problem: the first pass meets the same bad rows the second reports."""


def _fitted_cohort(compiled: CompiledPolicy, chunks: Iterator[Chunk], file: str) -> Cohort | None:
    """The cohort fitted on a first pass over ``chunks``, if the policy needs one (else ``None``, unread)."""
    needs, streamable = _needs_cohort(compiled)
    if needs and streamable:
        return _streamed_fills(compiled, chunks, file)
    if needs:
        return compiled.fit([raw for lines, columns, _ in chunks for raw in _raws(lines, columns, file)])
    return None


class _Words:
    """A word in Chinese and English, shown in the language of the message around it."""

    __slots__ = ("en", "zh")

    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en

    def render(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def __str__(self) -> str:
        return self.en


def _named(label: object) -> _Words:
    """A policy's zh/en label as words of a message."""
    return _Words(str(getattr(label, "zh", label)), str(getattr(label, "en", label)))


class _Or:
    """Words listed with `` or `` in English and 或 in Chinese."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[_Words]) -> None:
        self.items = tuple(items)

    def render(self, lang: Lang) -> str:
        return ("或" if lang == "zh" else " or ").join(item.render(lang) for item in self.items)

    def __str__(self) -> str:
        return self.render("en")


#: The levels a household rolls up to, in words.
_LEVELS: Final = {
    "village": _Words("村", "village"),
    "township": _Words("乡镇", "township"),
    "county": _Words("县（市）", "county"),
}
