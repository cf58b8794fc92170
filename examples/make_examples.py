"""Write the example county records ``examples/jiangsu-2007.csv`` … ``jiangsu-2010.csv``.

County names and GB/T 2260 codes are real; every metric is SYNTHETIC (合成数据，非真实统计),
drawn from a fixed seed so that the files are byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Final, NamedTuple

SEED: Final = 20070723
YEARS: Final = (2007, 2008, 2009, 2010)
HERE: Final = Path(__file__).resolve().parent

FIELDS: Final = (
    "county",
    "name",
    "city",
    "year",
    "credit_township_share",
    "credit_village_share",
    "credit_household_share",
    "small_loan_coverage",
    "red_list_enterprises",
    "case_execution_rate",
    "claim_recovery_rate",
    "debt_evasion_cases",
    "financial_crime_cases",
    "population",
    "awareness_score",
    "satisfaction_score",
    "survey_sample_size",
    "honest_intermediary_share",
    "intermediaries_reported",
    "guarantee_institutions",
    "guaranteed_loan_share",
    "npl_ratio",
    "legal_person_health_score",
    "policy_cleanup_rate",
    "finance_support_score",
    "bank_enterprise_score",
    "product_innovation_score",
    "illegal_fundraising_major_case",
    "note",
)


class County(NamedTuple):
    code: str
    name: str
    city: str
    size: int  # rough scale in persons; the written population is synthetic around it


# Prefecture city -> (name, region). Region sets the latent baseline: south strong, north weaker.
CITIES: Final = {
    "320100": ("南京市", "south"),
    "320200": ("无锡市", "south"),
    "320300": ("徐州市", "north"),
    "320400": ("常州市", "south"),
    "320500": ("苏州市", "south"),
    "320600": ("南通市", "central"),
    "320700": ("连云港市", "north"),
    "320800": ("淮安市", "north"),
    "320900": ("盐城市", "north"),
    "321000": ("扬州市", "central"),
    "321100": ("镇江市", "south"),
    "321200": ("泰州市", "central"),
    "321300": ("宿迁市", "north"),
}
# Tuned so that the illustrative pass line (credit townships >= 0.70, NPL < 0.06, satisfaction
# >= 60) is met by about 70 % of counties in 2008 and 90 % in 2010, the scheme's own targets.
REGION_BASE: Final = {"south": 0.76, "central": 0.68, "north": 0.56}
#: Spread of the persistent county quality around its region's base.
LATENT_SD: Final = 0.10
#: Yearly gain in quality, and the extra yearly fall in NPL from bad-loan disposal.
GROWTH: Final = 0.04
NPL_TREND: Final = 0.001

COUNTIES: Final = tuple(
    County(code, name, code[:4] + "00", size)
    for code, name, size in (
        ("320124", "溧水县", 410_000),
        ("320125", "高淳县", 430_000),
        ("320281", "江阴市", 1_200_000),
        ("320282", "宜兴市", 1_070_000),
        ("320321", "丰县", 1_150_000),
        ("320322", "沛县", 1_200_000),
        ("320323", "铜山县", 1_270_000),
        ("320324", "睢宁县", 1_380_000),
        ("320381", "新沂市", 1_000_000),
        ("320382", "邳州市", 1_700_000),
        ("320481", "溧阳市", 780_000),
        ("320482", "金坛市", 550_000),
        ("320581", "常熟市", 1_050_000),
        ("320582", "张家港市", 890_000),
        ("320583", "昆山市", 680_000),
        ("320584", "吴江市", 780_000),
        ("320585", "太仓市", 460_000),
        ("320621", "海安县", 950_000),
        ("320623", "如东县", 1_070_000),
        ("320681", "启东市", 1_120_000),
        ("320682", "如皋市", 1_450_000),
        ("320683", "通州市", 1_270_000),
        ("320684", "海门市", 1_000_000),
        ("320721", "赣榆县", 1_100_000),
        ("320722", "东海县", 1_150_000),
        ("320723", "灌云县", 1_000_000),
        ("320724", "灌南县", 780_000),
        ("320826", "涟水县", 1_100_000),
        ("320829", "洪泽县", 380_000),
        ("320830", "盱眙县", 780_000),
        ("320831", "金湖县", 360_000),
        ("320921", "响水县", 600_000),
        ("320922", "滨海县", 1_200_000),
        ("320923", "阜宁县", 1_100_000),
        ("320924", "射阳县", 1_000_000),
        ("320925", "建湖县", 800_000),
        ("320981", "东台市", 1_150_000),
        ("320982", "大丰市", 720_000),
        ("321023", "宝应县", 920_000),
        ("321081", "仪征市", 600_000),
        ("321084", "高邮市", 830_000),
        ("321088", "江都市", 1_070_000),
        ("321181", "丹阳市", 800_000),
        ("321182", "扬中市", 310_000),
        ("321183", "句容市", 600_000),
        ("321281", "兴化市", 1_570_000),
        ("321282", "靖江市", 680_000),
        ("321283", "泰兴市", 1_200_000),
        ("321284", "姜堰市", 920_000),
        ("321322", "沭阳县", 1_800_000),
        ("321323", "泗阳县", 1_000_000),
        ("321324", "泗洪县", 1_000_000),
    )
)

#: 2007 pilot counties: two for Suzhou, Wuxi, Nantong, Yancheng and Xuzhou, one elsewhere.
PILOTS: Final = frozenset(
    {
        "320124",  # 南京 溧水县
        "320281",
        "320282",  # 无锡 江阴市 宜兴市
        "320381",
        "320382",  # 徐州 新沂市 邳州市
        "320481",  # 常州 溧阳市
        "320581",
        "320582",  # 苏州 常熟市 张家港市
        "320621",
        "320682",  # 南通 海安县 如皋市
        "320722",  # 连云港 东海县
        "320830",  # 淮安 盱眙县
        "320981",
        "320982",  # 盐城 东台市 大丰市
        "321088",  # 扬州 江都市
        "321182",  # 镇江 扬中市
        "321284",  # 泰州 姜堰市
        "321322",  # 宿迁 沭阳县
    }
)

#: Last year each county appears; 通州市 became a district in 2009, 铜山县 in 2010.
LAST_YEAR: Final = {"320683": 2008, "320323": 2009}

#: Counties whose satisfaction survey used a small sample (below 300).
SMALL_SURVEYS: Final = frozenset({"321182", "320831"})


def _rng(*parts: object) -> random.Random:
    """A generator of its own for each county, year or topic, so the draws never shift one another."""
    return random.Random(":".join(str(part) for part in (SEED, *parts)))


def _clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, x))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's Poisson draw; the means here are small."""
    limit, k, p = math.exp(-max(mean, 0.0)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _soft_cap(x: float, knee: float = 0.85) -> float:
    """Leave ``x`` alone below ``knee``, then bend it towards 1 so few ratios pile up at 1.0000."""
    if x <= knee:
        return x
    room = 1.0 - knee
    return knee + room * (1.0 - math.exp(-(x - knee) / room))


def _ratio(x: float) -> str:
    return f"{_clamp(_soft_cap(x)):.4f}"


def _npl(x: float, knee: float = 0.025, room: float = 0.01) -> str:
    """NPL ratio, bent upwards below ``knee`` so that none falls under ``knee - room``."""
    if x < knee:
        x = knee - room * (1.0 - math.exp(-(knee - x) / room))
    return _ratio(x)


def _score(x: float) -> str:
    return f"{_clamp(x, 0.0, 100.0):.1f}"


def _latent(county: County) -> float:
    """The county's persistent quality, roughly 0.2 (weak) to 0.95 (strong)."""
    return REGION_BASE[CITIES[county.city][1]] + _rng("latent", county.code).gauss(0.0, LATENT_SD)


def _row(county: County, year: int) -> dict[str, str]:
    yearly = _rng(county.code, year)
    # Same seed every year, and the same sequence of draws, so the k-th offset is the county's own.
    fixed = _rng("offsets", county.code)
    t = year - 2007
    q = _latent(county) + GROWTH * t + yearly.gauss(0.0, 0.012)

    def level(base: float, slope: float, spread: float, jitter: float) -> float:
        """``base + slope·q``, a persistent county offset of sd ``spread``, yearly noise of sd ``jitter``."""
        return base + slope * q + fixed.gauss(0.0, spread) + yearly.gauss(0.0, jitter)

    population = round(county.size * fixed.uniform(0.94, 1.06) * (1.004**t) / 100) * 100
    township = level(0.16, 0.95, 0.035, 0.012)
    if county.code in SMALL_SURVEYS:
        sample = yearly.randint(180, 290)
    else:
        sample = round(_clamp(level(420 + population / 1_000_000 * 520, 0.0, 90.0, 40.0), 400, 1500))
    return {
        "county": county.code,
        "name": county.name,
        "city": county.city,
        "year": str(year),
        "credit_township_share": _ratio(township),
        "credit_village_share": _ratio(township + level(-0.06, 0.0, 0.03, 0.01)),
        "credit_household_share": _ratio(level(0.16, 0.65, 0.04, 0.015)),
        "small_loan_coverage": _ratio(level(0.46, 0.48, 0.04, 0.015)),
        "red_list_enterprises": str(max(0, round(population / 10_000 * level(0.5, 1.5, 0.15, 0.05)))),
        "case_execution_rate": _ratio(level(0.48, 0.45, 0.03, 0.012)),
        "claim_recovery_rate": _ratio(level(0.32, 0.55, 0.04, 0.015)),
        "debt_evasion_cases": str(_poisson(yearly, 4.0 * max(0.05, 1.05 - q))),
        "financial_crime_cases": str(_poisson(yearly, population / 100_000 * max(0.1, 1.5 - q))),
        "population": str(population),
        "awareness_score": _score(level(44.0, 40.0, 3.0, 1.2)),
        "satisfaction_score": _score(level(41.0, 38.0, 2.5, 1.0)),
        "survey_sample_size": str(sample),
        "honest_intermediary_share": _ratio(level(0.40, 0.52, 0.04, 0.015)),
        "intermediaries_reported": str(_poisson(yearly, 3.0 * max(0.05, 1.05 - q))),
        "guarantee_institutions": str(max(1, round(level(1 + population / 120_000, 6.0, 1.5, 0.5)))),
        "guaranteed_loan_share": _ratio(level(0.03, 0.24, 0.02, 0.008)),
        "npl_ratio": _npl(level(0.118, -0.095, 0.005, 0.0015) - NPL_TREND * t),
        "legal_person_health_score": _score(level(50.0, 40.0, 3.0, 1.2)),
        "policy_cleanup_rate": _ratio(level(0.56, 0.42, 0.03, 0.012)),
        "finance_support_score": _score(level(48.0, 42.0, 3.0, 1.2)),
        "bank_enterprise_score": _score(level(48.0, 40.0, 3.0, 1.2)),
        "product_innovation_score": _score(level(42.0, 44.0, 3.5, 1.5)),
        "illegal_fundraising_major_case": "false",
        "note": "synthetic",
    }


def meets_pass_line(row: dict[str, str]) -> bool:
    """The illustrative pass line: credit townships ≥ 0.70, NPL < 0.06, satisfaction ≥ 60."""
    return (
        float(row["credit_township_share"]) >= 0.70
        and float(row["npl_ratio"]) < 0.06
        and float(row["satisfaction_score"]) >= 60.0
    )


def _pin(
    rows: list[dict[str, str]], field: str, value: str, eligible: Callable[[dict[str, str]], bool], taken: set[str]
) -> None:
    """Put ``value`` exactly on the boundary for the eligible county already closest to it."""
    candidates = [row for row in rows if row["county"] not in taken and eligible(row)]
    best = min(candidates, key=lambda row: (abs(float(row[field]) - float(value)), row["county"]))
    best[field] = value
    taken.add(best["county"])


def _others_pass(field: str) -> Callable[[dict[str, str]], bool]:
    """Rows that would pass whatever ``field`` is, so the pinned boundary value decides."""
    good = {"credit_township_share": "1.0000", "npl_ratio": "0.0000", "satisfaction_score": "100.0"}
    return lambda row: meets_pass_line({**row, field: good[field]})


def build(year: int) -> list[dict[str, str]]:
    """The rows of one year, in code order, with that year's boundary examples pinned."""
    rows = [
        _row(county, year)
        for county in COUNTIES
        if year <= LAST_YEAR.get(county.code, YEARS[-1]) and (year != 2007 or county.code in PILOTS)
    ]
    # One major illegal-fundraising case a year, more likely in a weaker county.
    rng = _rng("fundraising", year)
    weights = [(100.0 - float(row["legal_person_health_score"])) ** 3 for row in rows]
    rng.choices(rows, weights=weights)[0]["illegal_fundraising_major_case"] = "true"
    taken: set[str] = set()
    if year == 2008:
        _pin(rows, "npl_ratio", "0.0600", _others_pass("npl_ratio"), taken)
        _pin(rows, "credit_township_share", "0.8500", lambda row: True, taken)
    elif year == 2009:
        _pin(rows, "satisfaction_score", "60.0", _others_pass("satisfaction_score"), taken)
    elif year == 2010:
        _pin(rows, "credit_township_share", "0.7000", _others_pass("credit_township_share"), taken)
        _pin(rows, "credit_township_share", "1.0000", lambda row: True, taken)
    return rows


def write(year: int, directory: Path = HERE) -> Path:
    path = directory / f"jiangsu-{year}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(build(year))
    return path


def main() -> None:
    for year in YEARS:
        print(write(year))


if __name__ == "__main__":
    main()
