"""Cut the 2022 HDI columns out of UNDP's HDR 2023/2024 composite-indices time series.

Usage: python examples/indices/make_hdi.py HDR23-24_Composite_indices_complete_time_series.csv

The source file (UNDP, Human Development Report 2023/2024, "Composite indices complete time series",
https://hdr.undp.org/data-center/documentation-and-downloads, licence CC BY 3.0 IGO) is not kept in this
repository; this script copies, for every country row (not the ZZ* aggregates), the key, the name and the
2022 columns le, eys, mys, gnipc, hdi and hdi_rank exactly as written there, and nothing else. Two names
reach some copies of the file mis-encoded (a Latin-1 file read as GBK); they are repaired byte for byte.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = ("le", "eys", "mys", "gnipc", "hdi")
OUT = Path(__file__).with_name("hdr-2023-24-hdi-2022.csv")


def _name(text: str) -> str:
    if text.isascii():
        return text
    try:
        return text.encode("gbk").decode("latin-1")
    except UnicodeError:
        return text


def main(source: str) -> None:
    with open(source, encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if not row["iso3"].startswith("ZZ")]
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["iso3", "name", *COLUMNS, "hdi_rank"])
        for row in rows:
            out.writerow(
                [row["iso3"], _name(row["country"]), *(row[f"{c}_2022"] for c in COLUMNS), row["hdi_rank_2022"]]
            )


if __name__ == "__main__":
    main(sys.argv[1])
