"""Deterministic county-like records for ``benchmarks/county-policy.yaml``.

Every value has at most four decimals, as real statistics do, and a share of the records sits exactly
where inexact engines go wrong:

- inputs exactly on a gate, band edge or goalpost (``npl_ratio`` 0.06, ``case_execution_rate`` 0.8, ...);
- a loan-to-deposit ratio whose indicator score lands exactly on a rounding half (2.675 → 2.68);
- totals that land exactly on 60.00 / 80.00, or on 59.995 / 79.995 before rounding (which round up and pass).

Records are generated in blocks of :data:`BLOCK` rows, each block from its own seed, so the first ``n``
records are the same whatever size is asked for and a large batch can be produced chunk by chunk.
County codes are six digits and unique within any :data:`UNIQUE` consecutive records (the engine refuses
a county twice in one batch), so batches larger than that are evaluated in chunks.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLOCK",
    "FIELDS",
    "NUMBER_FIELDS",
    "SEED",
    "UNIQUE",
    "columns",
    "iter_columns",
    "records",
    "records_from_columns",
    "write_csv",
]

#: The policy's nine inputs, in the order the CSV writes them.
FIELDS: Final = (
    "credit_township_share",
    "credit_household_share",
    "case_execution_rate",
    "loans",
    "deposits",
    "npl_ratio",
    "awareness_score",
    "satisfaction_score",
    "major_case",
)
NUMBER_FIELDS: Final = FIELDS[:-1]
SEED: Final = 20081231
BLOCK: Final = 100_000
#: County codes run from 100000 to 999999, so any 900,000 consecutive records have distinct codes.
UNIQUE: Final = 900_000

Columns = dict[str, npt.NDArray[np.generic]]


def _pick(
    rng: np.random.Generator, n: int, low: int, high: int, edges: tuple[int, ...], share: float
) -> npt.NDArray[np.int64]:
    """Integers in [low, high], a ``share`` of them taken from ``edges`` instead."""
    values = rng.integers(low, high, n, endpoint=True, dtype=np.int64)
    on_edge = rng.random(n) < share
    values[on_edge] = rng.choice(np.array(edges, dtype=np.int64), int(on_edge.sum()))
    return values


def _block(index: int, n: int, seed: int) -> dict[str, npt.NDArray[np.int64]]:
    """One block as integer units: value × 10,000 for numbers (exact), 0/1 for ``major_case``."""
    rng = np.random.default_rng([seed, index])
    u: dict[str, npt.NDArray[np.int64]] = {
        "credit_township_share": _pick(rng, n, 5000, 10000, (8499, 8500, 8501), 0.2),
        "credit_household_share": _pick(rng, n, 1000, 10000, (1999, 2000, 2001, 8999, 9000, 9001), 0.1),
        "case_execution_rate": _pick(rng, n, 4000, 10000, (5999, 6000, 6001, 7999, 8000, 8001, 8999, 9000, 9001), 0.2),
        "npl_ratio": _pick(rng, n, 0, 1200, (599, 600, 601), 0.2),
        "awareness_score": _pick(rng, n, 300000, 1000000, (599999, 600000, 600001), 0.2),
        "satisfaction_score": _pick(rng, n, 300000, 1000000, (399999, 400000, 949999, 950000), 0.1),
    }
    deposits = rng.integers(1_000_000, 50_000_000, n, endpoint=True, dtype=np.int64)  # 100 to 5,000
    share = rng.integers(2000, 9000, n, endpoint=True, dtype=np.int64)  # loan-to-deposit ratio × 10,000
    loans = deposits * share // 10000
    kind = rng.random(n)
    # Ratio exactly on its goalposts (2 %).
    edge = kind < 0.02
    deposits[edge] = 20_000_000
    loans[edge] = np.where(rng.random(int(edge.sum())) < 0.5, 6_000_000, 16_000_000)
    # A score exactly on a rounding half (2 %): loans / deposits = 0.3 + (2k+1) / 40,000, so the score is
    # k/100 + 0.005. Real data lands there rarely; 2 % of 100,000 records is ample to catch an engine out.
    half = (kind >= 0.02) & (kind < 0.04)
    m = rng.integers(1, 5, int(half.sum()), endpoint=True, dtype=np.int64)
    k = rng.integers(0, 9999, int(half.sum()), endpoint=True, dtype=np.int64)
    deposits[half] = 40_000_000 * m
    loans[half] = m * (12000 + 2 * k + 1) * 1000
    u["loans"], u["deposits"] = loans, deposits
    u["major_case"] = (rng.random(n) < 0.03).astype(np.int64)
    _exact_totals(rng, u, (kind >= 0.04) & (kind < 0.10))  # 6 %
    return u


def _exact_totals(rng: np.random.Generator, u: dict[str, npt.NDArray[np.int64]], rows: npt.NDArray[np.bool_]) -> None:
    """Make ``rows`` total exactly 60.00, 80.00, 59.995 or 79.995 before rounding, gates met."""
    n = int(rows.sum())
    # The total in tenths of a cent is 3·c1 + 2·c2 + 2·c3 + 3·c4 (weights 0.3, 0.2, 0.2, 0.3; scores in cents).
    target = rng.choice(np.array([59995, 60000, 79995, 80000], dtype=np.int64), n)
    household = rng.integers(5000, 9000, n, endpoint=True, dtype=np.int64)
    c1 = (20 * (household - 2000) + 7) // 14
    execution = rng.choice(np.array([7000, 8500], dtype=np.int64), n)
    c2 = np.where(execution < 8000, 6000, 8500)
    c4 = rng.integers(3000, 9000, n, endpoint=True, dtype=np.int64)
    rest = target - 3 * c1 - 2 * c2 - 3 * c4
    c4 = np.where(rest % 2 == 1, c4 + 1, c4)
    c3 = (target - 3 * c1 - 2 * c2 - 3 * c4) // 2
    ok = (c3 > 0) & (c3 < 10000)
    idx = np.flatnonzero(rows)[ok]
    u["credit_household_share"][idx] = household[ok]
    u["case_execution_rate"][idx] = execution[ok]
    u["satisfaction_score"][idx] = 400000 + 55 * c4[ok]
    # loans / deposits = 0.3 + c3 / 20,000 with deposits 2,000: loans = 600 + c3 / 10.
    u["deposits"][idx] = 20_000_000
    u["loans"][idx] = 6_000_000 + 1000 * c3[ok]
    u["npl_ratio"][idx] = rng.integers(0, 599, len(idx), endpoint=True, dtype=np.int64)
    u["awareness_score"][idx] = rng.integers(600000, 1000000, len(idx), endpoint=True, dtype=np.int64)
    u["major_case"][idx] = 0


def iter_columns(n: int, *, chunk: int = BLOCK, seed: int = SEED, start: int = 0) -> Iterator[Columns]:
    """Records ``start`` to ``start + n`` as column chunks of at most ``chunk`` rows (NumPy arrays).

    Numbers are float64 with at most four decimals, ``major_case`` bool, ``county`` the code as str.
    """
    position, end = start, start + n
    while position < end:
        size = min(chunk, end - position)
        yield _slice(position, size, seed)
        position += size


def _slice(start: int, size: int, seed: int) -> Columns:
    parts: list[dict[str, npt.NDArray[np.int64]]] = []
    offsets: list[tuple[int, int]] = []
    position = start
    while position < start + size:
        index, inner = divmod(position, BLOCK)
        take = min(BLOCK - inner, start + size - position)
        parts.append(_block(index, BLOCK, seed))
        offsets.append((inner, inner + take))
        position += take
    out: Columns = {}
    codes = 100000 + (np.arange(start, start + size, dtype=np.int64) % UNIQUE)
    out["county"] = codes.astype(str).astype(object)
    for name in FIELDS:
        joined = np.concatenate([p[name][a:b] for p, (a, b) in zip(parts, offsets, strict=True)])
        out[name] = joined.astype(bool) if name == "major_case" else joined / 10000.0
    return out


def columns(n: int, *, seed: int = SEED, start: int = 0) -> Columns:
    """Records ``start`` to ``start + n`` as one set of columns."""
    chunks = list(iter_columns(n, seed=seed, start=start))
    if len(chunks) == 1:
        return chunks[0]
    return {name: np.concatenate([c[name] for c in chunks]) for name in ("county", *FIELDS)}


def records_from_columns(cols: Mapping[str, npt.NDArray[np.generic]]) -> list[dict[str, object]]:
    """The same records as Python dicts (floats, bools and the county code as str)."""
    names = ("county", *FIELDS)
    lists = [cols[name].tolist() for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def records(n: int, *, seed: int = SEED, start: int = 0) -> list[dict[str, object]]:
    """Records ``start`` to ``start + n`` as a list of dicts."""
    return records_from_columns(columns(n, seed=seed, start=start))


def write_csv(path: Path, n: int, *, seed: int = SEED, chunk: int = BLOCK) -> Path:
    """Write ``n`` records as CSV (header ``county`` + the inputs), chunk by chunk; numbers as written."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("county", *FIELDS))
        for cols in iter_columns(n, chunk=chunk, seed=seed):
            county = cols["county"].tolist()
            numbers = [cols[name].tolist() for name in NUMBER_FIELDS]
            major = ["true" if v else "false" for v in cols["major_case"].tolist()]
            writer.writerows(zip(county, *numbers, major, strict=True))
    return path
