"""Write a SYNTHETIC household file for ``policies/households/credit-household-2008.yaml`` and ``fineco rollup``.

One row per rural household (合成数据，非真实统计): its id, the codes of its village, township and county, the
inputs of the credit household rating, and the loan and non-performing balances the village roll-up needs.
Every figure is drawn from a fixed seed, so the same ``--rows`` always gives the same bytes; the file is written
row by row, so memory stays flat however many rows are asked for (10,000,000 takes a few minutes).

    python examples/make_households.py --rows 10000000 --out /tmp/households-10m.csv
    python examples/make_households.py --rows 5000 --shape small   # examples/households-small.csv

Codes follow the shape of the statistical division codes, not real places: a county is ``32CCNN`` (C the
prefecture city 01–13), a township the county's code and three digits, a village the township's and three more,
and a household the village's code and four digits. A village has 40–400 households, a township 8–20 villages,
a county 10–25 townships (``--shape small``: 5–30, 4–10 and 3–8). Each village has a hidden "quality" that
makes its households likelier to repay, so some villages hold the credit-village rating and some do not.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

SEED: Final = 20080101
#: (townships per county, villages per township, households per village), each a range: ``province`` is
#: the default shape; ``small`` (the shipped example) has small places, so 5,000 rows span several counties.
SHAPES: Final = {"province": ((10, 25), (8, 20), (40, 400)), "small": ((3, 8), (4, 10), (5, 30))}
Shape = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
HERE: Final = Path(__file__).resolve().parent
FIELDS: Final = (
    "household",
    "village",
    "township",
    "county",
    "on_time_repayment",
    "arrears_days",
    "loan_default",
    "income_stability",
    "negative_records",
    "dishonest_debtor",
    "loan_balance",
    "npl_balance",
)


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _household(rng: random.Random, household: str, codes: tuple[str, str, str], quality: float) -> list[str]:
    """One household's row; ``quality`` in [0, 1] shifts every input towards a good credit record."""
    village, township, county = codes
    repaid = _clip(rng.gauss(0.90 + 0.09 * quality, 0.05), 0.5, 1.0)
    arrears = 0 if rng.random() < 0.55 + 0.4 * quality else rng.choice((5, 12, 25, 40, 60, 95, 150))
    default = rng.random() < 0.004 + 0.06 * (1 - quality)
    stability = _clip(rng.gauss(0.55 + 0.3 * quality, 0.15), 0.05, 1.0)
    negative = 0 if rng.random() < 0.7 + 0.25 * quality else rng.choice((1, 1, 2, 3))
    dishonest = rng.random() < 0.002 + 0.01 * (1 - quality)
    loan = 0 if rng.random() < 0.3 else int(rng.lognormvariate(10.5, 0.8))
    npl = loan if default else (loan * rng.choice((1, 2, 5)) // 10 if arrears >= 90 else 0)
    return [
        household,
        village,
        township,
        county,
        f"{repaid:.2f}",
        str(arrears),
        "true" if default else "false",
        f"{stability:.2f}",
        str(negative),
        "true" if dishonest else "false",
        str(loan),
        str(npl),
    ]


def rows(count: int, seed: int = SEED, shape: Shape = SHAPES["province"]) -> Iterator[list[str]]:
    """``count`` household rows, county by county, township by township, village by village."""
    rng = random.Random(seed)
    townships, villages, households = shape
    made = 0
    county_number = 0
    while made < count:
        city, county_number = county_number % 13 + 1, county_number + 1
        county = f"32{city:02d}{(county_number - 1) // 13 + 1:02d}"
        for t in range(1, rng.randint(*townships) + 1):
            township = f"{county}{t:03d}"
            standing = rng.random()  # villages of one township are alike: some townships do well
            for v in range(1, rng.randint(*villages) + 1):
                village = f"{township}{v:03d}"
                quality = 0.7 * standing + 0.3 * rng.random()
                for h in range(1, rng.randint(*households) + 1):
                    if made == count:
                        return
                    made += 1
                    yield _household(rng, f"{village}{h:04d}", (village, township, county), quality)


def write(count: int, out: TextIO, seed: int = SEED, shape: Shape = SHAPES["province"]) -> int:
    """Write the header and ``count`` rows to ``out``; return the number of rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    written = 0
    for row in rows(count, seed, shape):
        writer.writerow(row)
        written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic household CSV for fineco rollup.")
    parser.add_argument("--rows", type=int, default=5000, help="households to write (default 5000)")
    parser.add_argument(
        "--out", type=Path, default=HERE / "households-small.csv", help="the CSV to write (default: the example)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="province",
        help="place sizes: province (40-400 households a village) or small (5-30; the shipped example)",
    )
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be 0 or more")
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        written = write(args.rows, handle, args.seed, SHAPES[args.shape])
    print(f"wrote {written} households to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
