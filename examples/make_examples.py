"""Write the example county records ``examples/jiangsu-2007.csv`` … ``jiangsu-2010.csv``, and the
township and village ratings ``examples/jiangsu-2008-units.csv`` … ``jiangsu-2010-units.csv`` of
two counties (常熟市 and 沭阳县) whose credit-township and credit-village shares roll up from them.

County names, GB/T 2260 county codes and township names are real; village names, unit codes and
every metric are SYNTHETIC (合成数据，非真实统计), drawn from a fixed seed so that the files are
byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import decimal
import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
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
    "credit_community_share",
    "credit_household_share",
    "small_loan_coverage",
    "red_list_enterprises",
    "case_execution_rate",
    "claim_recovery_rate",
    "debt_evasion_cases",
    "financial_crime_clearance_rate",
    "awareness_score",
    "satisfaction_score",
    "survey_sample_size",
    "honest_intermediary_share",
    "intermediaries_not_reported",
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


_EXACT: Final = decimal.Context(prec=40, rounding=ROUND_HALF_UP)
#: The legal environment's measures as the shipped policies weigh them: (worst, best, weight) of the
#: execution rate and the recovery rate, and the weight of the clearance rate (goalposts 0.5 and 1).
_LEGAL: Final = ((Decimal("0.5"), Decimal("0.95"), Decimal("0.4")), (Decimal("0.4"), Decimal("0.9"), Decimal("0.35")))
_CLEARED_WEIGHT: Final = Decimal("0.25")
_LEGAL_POINTS: Final = (Decimal(15), Decimal(18))  # the province's points and the most a city example gives


def _legal_score(execution: str, recovery: str, cleared: Decimal, points: Decimal) -> Decimal:
    total = _CLEARED_WEIGHT * cleared
    for value, (worst, best, weight) in zip((execution, recovery), _LEGAL, strict=True):
        total += weight * min(max(_EXACT.divide(Decimal(value) - worst, best - worst), Decimal(0)), Decimal(1))
    return (total * points).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _clearance(cases: int, population: int, execution: str, recovery: str) -> str:
    """The share of financial crime cases cleared (金融犯罪案件破案率), from the county's draw of cases per head.

    The source asks counties to 打击金融犯罪, so the examples score the share of cases cleared, not how few
    were filed. The rate is 1 - cases per 10,000 people (at least 0.5): it puts a county where its draw of
    cases per head put it on the legal goalposts before, so the example years keep their totals, and the
    random draws and every other column stay as they were. It is written to four places, or to more where
    four would move the legal score by a rounding step.
    """
    exact = max(Decimal("0.5"), 1 - _EXACT.divide(Decimal(cases) * 10_000, Decimal(population)))
    wanted = [_legal_score(execution, recovery, 2 * exact - 1, points) for points in _LEGAL_POINTS]
    for places in range(4, 12):
        rate = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if [_legal_score(execution, recovery, 2 * rate - 1, points) for points in _LEGAL_POINTS] == wanted:
            return str(rate)
    return str(exact)


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

    # Credit communities came later than credit villages: lower at first, catching up faster. Own
    # generators, so adding the column left every other figure as it was.
    community = (
        -0.10
        + 0.95 * q
        + 0.025 * t
        + _rng("community", county.code).gauss(0.0, 0.04)
        + _rng("community", county.code, year).gauss(0.0, 0.015)
    )
    population = round(county.size * fixed.uniform(0.94, 1.06) * (1.004**t) / 100) * 100
    township = level(0.16, 0.95, 0.035, 0.012)
    if county.code in SMALL_SURVEYS:
        sample = yearly.randint(180, 290)
    else:
        sample = round(_clamp(level(420 + population / 1_000_000 * 520, 0.0, 90.0, 40.0), 400, 1500))
    row = {
        "county": county.code,
        "name": county.name,
        "city": county.city,
        "year": str(year),
        "credit_township_share": _ratio(township),
        "credit_village_share": _ratio(township + level(-0.06, 0.0, 0.03, 0.01)),
        "credit_community_share": _ratio(community),
        "credit_household_share": _ratio(level(0.16, 0.65, 0.04, 0.015)),
        "small_loan_coverage": _ratio(level(0.46, 0.48, 0.04, 0.015)),
        "red_list_enterprises": str(max(0, round(population / 10_000 * level(0.5, 1.5, 0.15, 0.05)))),
        "case_execution_rate": _ratio(level(0.48, 0.45, 0.03, 0.012)),
        "claim_recovery_rate": _ratio(level(0.32, 0.55, 0.04, 0.015)),
        "debt_evasion_cases": str(_poisson(yearly, 4.0 * max(0.05, 1.05 - q))),
        # The draw of cases stays where it was in the sequence; the rate is written below, from the row.
        "financial_crime_clearance_rate": str(_poisson(yearly, population / 100_000 * max(0.1, 1.5 - q))),
        "population": str(population),  # not written: no policy reads it since crime is scored as cases cleared
        "awareness_score": _score(level(44.0, 40.0, 3.0, 1.2)),
        "satisfaction_score": _score(level(41.0, 38.0, 2.5, 1.0)),
        "survey_sample_size": str(sample),
        "honest_intermediary_share": _ratio(level(0.40, 0.52, 0.04, 0.015)),
        # Intermediaries found with bad behaviour but not reported inside the financial institutions (未通报).
        "intermediaries_not_reported": str(_poisson(yearly, 3.0 * max(0.05, 1.05 - q))),
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
    cases = int(row["financial_crime_clearance_rate"])
    row["financial_crime_clearance_rate"] = _clearance(
        cases, population, row["case_execution_rate"], row["claim_recovery_rate"]
    )
    return row


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


# ---------------------------------------------------------------------------------------------
# Township and village ratings of two counties: the credit-township roll-up.
# ---------------------------------------------------------------------------------------------

#: Years with a units file. 2007 is simulated too, but only as the rating that 2008 re-reviews.
UNIT_YEARS: Final = (2008, 2009, 2010)
UNIT_SIM_YEARS: Final = (2007, *UNIT_YEARS)

UNIT_FIELDS: Final = (
    "county",
    "unit",
    "name",
    "level",
    "parent",
    "rated_before",
    "credit_household_share",
    "on_time_repayment",
    "npl_ratio",
)

# The province's default criteria, which the credit plugin applies. Always compared as Decimal on
# the 4-decimal strings that are written, never as floats.
VILLAGE_HOUSEHOLD_MIN: Final = Decimal("0.60")
VILLAGE_ON_TIME_MIN: Final = Decimal("0.95")
VILLAGE_NPL_BELOW: Final = Decimal("0.05")
TOWNSHIP_HOUSEHOLD_MIN: Final = Decimal("0.50")
TOWNSHIP_NPL_BELOW: Final = Decimal("0.05")
TOWNSHIP_RATED_VILLAGES_MIN: Final = Decimal("0.60")


def village_holds(household: str, on_time: str, npl: str) -> bool:
    """Credit village (信用村): credit households ≥ 0.60, on-time repayment ≥ 0.95, NPL < 0.05."""
    return (
        Decimal(household) >= VILLAGE_HOUSEHOLD_MIN
        and Decimal(on_time) >= VILLAGE_ON_TIME_MIN
        and Decimal(npl) < VILLAGE_NPL_BELOW
    )


def township_holds(household: str, npl: str, rated_villages: int, villages: int) -> bool:
    """Credit township (信用乡镇): own credit households ≥ 0.50, own NPL < 0.05, rated villages ≥ 60 %."""
    return (
        Decimal(household) >= TOWNSHIP_HOUSEHOLD_MIN
        and Decimal(npl) < TOWNSHIP_NPL_BELOW
        and Decimal(rated_villages) >= TOWNSHIP_RATED_VILLAGES_MIN * villages  # exact: k/n ≥ 0.60
    )


def share(part: int, whole: int) -> str:
    """``part / whole`` rounded half-up to 4 decimals, from the exact fraction."""
    exact = Fraction(part, whole)
    with localcontext() as context:
        context.prec = 60  # every fraction here that ends does so well within 60 digits: exact
        value = Decimal(exact.numerator) / Decimal(exact.denominator)
        return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


class Township(NamedTuple):
    name: str
    villages: int
    #: One letter per year of UNIT_SIM_YEARS (2007 … 2010), the rating outcome planned for that year:
    #: ``+`` holds; ``=`` holds with exactly 3 of its 5 villages rated (share 0.60, on the line);
    #: ``H`` holds with its own credit_household_share exactly 0.5000;
    #: ``v`` fails: under 60 % of its villages rated; ``h`` fails: own credit_household_share < 0.50;
    #: ``n`` fails: own npl_ratio ≥ 0.05; ``N`` fails: own npl_ratio exactly 0.0500.
    #: Each failing township fails on that one criterion alone.
    plan: str


class RollupCounty(NamedTuple):
    code: str
    townships: tuple[Township, ...]
    #: A village's typical figures in 2007, before the yearly gains below.
    household: float
    on_time: float
    npl: float


HOLDS: Final = frozenset("+=H")
#: Yearly gains of a unit's figures (NPL falls), like the county figures' improvement.
UNIT_GAINS: Final = (0.025, 0.004, -0.003)
#: Townships' own credit-household share runs below their villages' (town residents join later).
TOWNSHIP_HOUSEHOLD_SHIFT: Final = -0.03
#: Chance that a unit has a bad year, its NPL jumping; with the noise, what makes ratings lapse.
#: Higher in the villages of a township whose own NPL breaks the line that year.
UNIT_SHOCK: Final = 0.08
UNIT_SHOCK_TROUBLED: Final = 0.35

# Township names are real (as of 2008); each county's every year has a township that keeps its
# rating, one newly rated and one that loses it on re-review (复查).
ROLLUP: Final = (
    RollupCounty(
        "320581",  # 常熟市: strong, southern; 8 of 9 townships rated each year, one changing places
        (
            Township("虞山镇", 4, "++++"),
            Township("梅李镇", 5, "+++="),
            Township("海虞镇", 6, "++++"),
            Township("古里镇", 5, "+n++"),
            Township("沙家浜镇", 4, "++v+"),
            Township("支塘镇", 5, "+++N"),
            Township("董浜镇", 4, "++H+"),
            Township("辛庄镇", 6, "v+++"),
            Township("尚湖镇", 3, "++++"),
        ),
        household=0.66,
        on_time=0.966,
        npl=0.037,
    ),
    RollupCounty(
        "321322",  # 沭阳县: weaker, northern; 9 of 12 townships rated in 2007, 11 by 2010
        (
            Township("胡集镇", 5, "++++"),
            Township("钱集镇", 4, "+++N"),
            Township("韩山镇", 6, "+h++"),
            Township("华冲镇", 5, "n+++"),
            Township("庙头镇", 4, "++v+"),
            Township("悦来镇", 5, "+=++"),
            Township("高墟镇", 3, "++++"),
            Township("扎下镇", 6, "v+++"),
            Township("颜集镇", 4, "+H++"),
            Township("潼阳镇", 5, "hvv+"),
            Township("龙庙镇", 3, "++++"),
            Township("吴集镇", 6, "++++"),
        ),
        household=0.60,
        on_time=0.958,
        npl=0.049,
    ),
)

NUMERALS: Final = "一二三四五六七八九"


@dataclass
class Unit:
    """One township or village in one year; figures in ten-thousandths (basis points of a ratio)."""

    code: str
    name: str
    parent: str  # the township's code for a village, "" for a township
    household: int = 0
    on_time: int = 0
    npl: int = 0
    rated: bool = False

    def figures(self) -> tuple[str, str, str]:
        return _fmt(self.household), _fmt(self.on_time), _fmt(self.npl)

    def meets_village(self) -> bool:
        return village_holds(*self.figures())

    def village_margin(self) -> float:
        """How far the village is inside its criteria (negative: outside), in rough units of spread."""
        return min((self.household - 6000) / 600, (self.on_time - 9500) / 50, (499 - self.npl) / 50)


def _fmt(bp: int) -> str:
    return f"{bp // 10_000}.{bp % 10_000:04d}"


def _bp(x: float, low: int, high: int) -> int:
    return min(high, max(low, round(x * 10_000)))


def _draw(
    unit: Unit,
    base: RollupCounty,
    quality: float,
    t: int,
    rng: random.Random,
    shift: float = 0.0,
    shock: float = UNIT_SHOCK,
) -> None:
    """The unit's natural figures: county level, its own persistent quality, the year's gain and noise."""
    gain_h, gain_r, gain_n = UNIT_GAINS
    unit.household = _bp(base.household + shift + gain_h * t + 0.07 * quality + rng.gauss(0.0, 0.03), 500, 9800)
    unit.on_time = _bp(base.on_time + gain_r * t + 0.012 * quality + rng.gauss(0.0, 0.006), 8000, 9980)
    npl = base.npl + gain_n * t - 0.010 * quality + rng.gauss(0.0, 0.005)
    if rng.random() < shock:  # a bad year: a few large loans go bad at once
        npl += rng.uniform(0.01, 0.035)
    unit.npl = _bp(npl, 30, 3000)


def _settle_village(village: Unit, rated: bool, rng: random.Random) -> None:
    """Move the fewest figures needed so that the village's own figures give the planned rating."""
    village.rated = rated
    if rated:
        if village.household < 6000:
            village.household = 6000 + rng.randint(10, 300)
        if village.on_time < 9500:
            village.on_time = 9500 + rng.randint(5, 120)
        if village.npl >= 500:
            village.npl = 500 - rng.randint(10, 150)
    elif village.meets_village():
        # Push the criterion with the least room over its line.
        room = {
            "household": (village.household - 6000) / 600,
            "on_time": (village.on_time - 9500) / 50,
            "npl": (499 - village.npl) / 50,
        }
        worst = min(room, key=lambda name: (room[name], name))
        if worst == "household":
            village.household = 6000 - rng.randint(20, 500)
        elif worst == "on_time":
            village.on_time = 9500 - rng.randint(5, 250)
        else:
            village.npl = 500 + rng.randint(5, 250)


def _settle_township(township: Unit, letter: str, rng: random.Random) -> None:
    """Set the township's own figures for its planned letter; each failing letter fails one criterion."""
    township.rated = letter in HOLDS
    if letter == "h":
        if township.household >= 5000:
            township.household = 5000 - rng.randint(20, 600)
    elif letter == "H":
        township.household = 5000
    elif township.household < 5000:
        township.household = 5000 + rng.randint(20, 500)
    if letter == "n":
        if township.npl < 505:
            township.npl = 505 + rng.randint(0, 200)
    elif letter == "N":
        township.npl = 500
    elif township.npl >= 500:
        township.npl = 500 - rng.randint(10, 150)


def _villages_needed(villages: int) -> int:
    """The fewest rated villages that make up 60 % of ``villages``."""
    return next(k for k in range(villages + 1) if Decimal(k) >= TOWNSHIP_RATED_VILLAGES_MIN * villages)


def _pin_villages(units: Sequence[Unit]) -> None:
    """Put three villages of a county-year exactly on a criterion's line, keeping their rating."""
    villages = [unit for unit in units if unit.parent]
    rated = sorted((v for v in villages if v.rated), key=lambda v: (v.on_time, v.code))
    rated[0].on_time = 9500  # ≥ 0.95: holds
    rated = sorted((v for v in rated[1:]), key=lambda v: (v.household, v.code))
    rated[0].household = 6000  # ≥ 0.60: holds
    unrated = sorted((v for v in villages if not v.rated), key=lambda v: (-v.village_margin(), v.code))
    village = unrated[0]
    village.household = max(village.household, 6000 + 150)
    village.on_time = max(village.on_time, 9500 + 40)
    village.npl = 500  # not < 0.05: fails, on this criterion alone


@functools.cache
def simulate(county: str) -> dict[int, tuple[Unit, ...]]:
    """The county's townships and villages, each year of UNIT_SIM_YEARS, in unit-code order."""
    base = next(entry for entry in ROLLUP if entry.code == county)
    years: dict[int, tuple[Unit, ...]] = {}
    for year in UNIT_SIM_YEARS:
        t = year - UNIT_SIM_YEARS[0]
        units: list[Unit] = []
        for index, plan in enumerate(base.townships):
            letter = plan.plan[t]
            code = f"{county}{100 + index}"
            township_quality = _rng("unit", code).gauss(0.0, 1.0)
            villages = []
            for number in range(1, plan.villages + 1):
                village = Unit(f"{code}{number:03d}", f"{plan.name}{NUMERALS[number - 1]}村", code)
                quality = 0.6 * township_quality + 0.8 * _rng("unit", village.code).gauss(0.0, 1.0)
                shock = UNIT_SHOCK_TROUBLED if letter in "nN" else UNIT_SHOCK
                _draw(village, base, quality, t, _rng("unit", village.code, year), shock=shock)
                villages.append(village)
            # Rate the villages that meet the criteria, then move the fewest so that the count fits
            # the township's plan: enough for 60 %, or (``v``) too few.
            meeting = sum(village.meets_village() for village in villages)
            needed = _villages_needed(plan.villages)
            if letter == "v":
                count = min(meeting, needed - 1)
            elif letter == "=":
                count = needed
            else:
                count = max(meeting, needed)
            ranked = sorted(villages, key=lambda v: (-v.village_margin(), v.code))
            for rank, village in enumerate(ranked):
                _settle_village(village, rank < count, _rng("settle", village.code, year))
            township = Unit(code, plan.name, "")
            _draw(township, base, township_quality, t, _rng("unit", code, year), TOWNSHIP_HOUSEHOLD_SHIFT)
            _settle_township(township, letter, _rng("settle", code, year))
            units += [township, *villages]
        if year in UNIT_YEARS:
            _pin_villages(units)
        years[year] = tuple(units)
    return years


def unit_rows(year: int) -> list[dict[str, str]]:
    """The rows of one year's units file: each township followed by its villages."""
    rows = []
    for entry in ROLLUP:
        before = {unit.code: unit.rated for unit in simulate(entry.code)[year - 1]}
        for unit in simulate(entry.code)[year]:
            household, on_time, npl = unit.figures()
            rows.append(
                {
                    "county": entry.code,
                    "unit": unit.code,
                    "name": unit.name,
                    "level": "village" if unit.parent else "township",
                    "parent": unit.parent,
                    "rated_before": "true" if before[unit.code] else "false",
                    "credit_household_share": household,
                    "on_time_repayment": on_time,
                    "npl_ratio": npl,
                }
            )
    return rows


def rollup_shares(county: str, year: int) -> tuple[str, str]:
    """(credit_township_share, credit_village_share) of the county from its units' ratings."""
    units = simulate(county)[year]
    townships = [unit for unit in units if not unit.parent]
    villages = [unit for unit in units if unit.parent]
    return (
        share(sum(unit.rated for unit in townships), len(townships)),
        share(sum(unit.rated for unit in villages), len(villages)),
    )


def rate(rows: Sequence[dict[str, str]]) -> dict[str, bool]:
    """Apply the criteria to a units file's rows, as the credit plugin would: unit code -> holds."""
    rated = {
        row["unit"]: village_holds(row["credit_household_share"], row["on_time_repayment"], row["npl_ratio"])
        for row in rows
        if row["level"] == "village"
    }
    for row in rows:
        if row["level"] == "township":
            own = [rated[r["unit"]] for r in rows if r["parent"] == row["unit"]]
            rated[row["unit"]] = township_holds(row["credit_household_share"], row["npl_ratio"], sum(own), len(own))
    return rated


def tally(rows: Sequence[dict[str, str]], county: str, level: str) -> dict[str, int]:
    """Counts of a county's units of one level: all, holding, keeping, newly rated, losing."""
    rated = rate(rows)
    mine = [row for row in rows if row["county"] == county and row["level"] == level]
    now = [rated[row["unit"]] for row in mine]
    before = [row["rated_before"] == "true" for row in mine]
    return {
        "units": len(mine),
        "hold": sum(now),
        "keep": sum(b and n for b, n in zip(before, now, strict=True)),
        "new": sum(n and not b for b, n in zip(before, now, strict=True)),
        "lose": sum(b and not n for b, n in zip(before, now, strict=True)),
    }


def check(year: int, rows: Sequence[dict[str, str]], county_rows: Sequence[dict[str, str]]) -> None:
    """Re-derive every rating from the written strings and check what the README promises."""
    rated = rate(rows)
    units = {unit.code: unit for entry in ROLLUP for unit in simulate(entry.code)[year]}
    problems = [code for code, holds in rated.items() if holds != units[code].rated]
    if year - 1 in UNIT_YEARS:
        before = {row["unit"]: row["rated_before"] == "true" for row in rows}
        previous = rate(unit_rows(year - 1))
        problems += [f"{code} rated_before" for code in before if before[code] != previous[code]]
    for entry in ROLLUP:
        for level, least in (("township", 1), ("village", 2)):
            counts = tally(rows, entry.code, level)
            problems += [f"{entry.code} {level} {key}" for key in ("keep", "new", "lose") if counts[key] < least]
        county = next(row for row in county_rows if row["county"] == entry.code)
        expected = rollup_shares(entry.code, year)
        if (county["credit_township_share"], county["credit_village_share"]) != expected:
            problems.append(f"{entry.code} county shares")
    if problems:
        raise RuntimeError(f"units {year}: {', '.join(problems)}")


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
    # The roll-up counties' shares are their townships' and villages' ratings (in 2007, the ratings
    # that the 2008 file re-reviews); no boundary pin may move them.
    taken: set[str] = set()
    for row in rows:
        if any(entry.code == row["county"] for entry in ROLLUP):
            row["credit_township_share"], row["credit_village_share"] = rollup_shares(row["county"], year)
            taken.add(row["county"])
    if year == 2008:
        _pin(rows, "npl_ratio", "0.0600", _others_pass("npl_ratio"), taken)
        _pin(rows, "credit_township_share", "0.8500", lambda row: True, taken)
    elif year == 2009:
        _pin(rows, "satisfaction_score", "60.0", _others_pass("satisfaction_score"), taken)
    elif year == 2010:
        _pin(rows, "credit_township_share", "0.7000", _others_pass("credit_township_share"), taken)
        _pin(rows, "credit_township_share", "1.0000", lambda row: True, taken)
    return rows


def _write_csv(path: Path, fields: Sequence[str], rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        # extrasaction="ignore": a row keeps figures it was derived from (population) that no policy reads.
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write(year: int, directory: Path = HERE) -> Path:
    return _write_csv(directory / f"jiangsu-{year}.csv", FIELDS, build(year))


def write_units(year: int, directory: Path = HERE) -> Path:
    rows = unit_rows(year)
    check(year, rows, build(year))
    return _write_csv(directory / f"jiangsu-{year}-units.csv", UNIT_FIELDS, rows)


# -- the province's year (examples/province/): a roster, and each city's own submission --------------------------

PROVINCE_DIR: Final = HERE / "province"
ROSTER_FIELDS: Final = ("county", "name", "city", "pilot", "from", "until")
#: The parts behind two province-wide ratios of totals (信用乡镇普及率, 不良贷款率): counts and balances.
PART_FIELDS: Final = ("townships", "credit_townships", "loan_balance", "npl_balance")
#: Townships per county: the roll-up counties have their units files' townships; a county whose share is pinned
#: to a round figure gets 20, so the pinned share is an exact fraction. The rest are drawn, fixed over the years.
TOWNSHIPS: Final = {"320581": 9, "321322": 12, "320682": 20, "320924": 20}
#: Each city's own assessment method by year, where the example has one; every other city grades under the
#: provincial baseline method, labelled as such (示例). Add a city's method here and in its setup.
# Each city grades under its own filed method (示例) in every example year: the source never puts the
# provincial file in force for counties. A city's folder holds a method for each phase (2007, 2008–2009, 2010;
# policies/cities/make_city_methods.py writes them) and the year picks the one in force. A setup that lacks a
# city's method falls back to BASELINE, labelled as such in the setup and in `fineco year`'s output.
_CITY_FOLDERS: Final = {
    "320100": "nanjing",
    "320200": "wuxi",
    "320300": "xuzhou",
    "320400": "changzhou",
    "320500": "suzhou",
    "320600": "nantong",
    "320700": "lianyungang",
    "320800": "huaian",
    "320900": "yancheng",
    "321000": "yangzhou",
    "321100": "zhenjiang",
    "321200": "taizhou",
    "321300": "suqian",
}
CITY_METHODS: Final = {
    city: dict.fromkeys(YEARS, f"policies/cities/{folder}") for city, folder in _CITY_FOLDERS.items()
}
BASELINE: Final = "policies/jiangsu"


def roster_rows() -> list[dict[str, str]]:
    """Every county-level unit assessed, with the 2007 pilots and the last year each is assessed."""
    return [
        {
            "county": c.code,
            "name": c.name,
            "city": c.city,
            "pilot": "true" if c.code in PILOTS else "false",
            "from": "",
            "until": str(LAST_YEAR[c.code]) if c.code in LAST_YEAR else "",
        }
        for c in COUNTIES
    ]


def _townships(code: str) -> int:
    return TOWNSHIPS.get(code) or _rng("townships", code).randint(8, 24)


def with_parts(row: dict[str, str]) -> dict[str, str]:
    """A county row with the parts behind its ratios: its share of credit townships is the exact count over all
    townships (rounded half-up to 4 decimals), and its NPL balance is the ratio times the loan balance (万元)."""
    out = dict(row)
    townships = _townships(row["county"])
    share = Decimal(row["credit_township_share"])
    rated = int((share * townships).quantize(Decimal(1), ROUND_HALF_UP))
    out["credit_township_share"] = str((Decimal(rated) / townships).quantize(Decimal("0.0001"), ROUND_HALF_UP))
    loans = int(int(row["population"]) * _rng("loans", row["county"], row["year"]).uniform(0.8, 2.5) / 10)
    out["townships"], out["credit_townships"] = str(townships), str(rated)
    out["loan_balance"] = str(loans)
    out["npl_balance"] = str((Decimal(row["npl_ratio"]) * loans).normalize())
    if "E" in out["npl_balance"]:
        out["npl_balance"] = f"{Decimal(row['npl_ratio']) * loans:f}"
    return out


def _setup_text(year: int, cities: Sequence[str]) -> str:
    lines = [
        f"# 江苏省金融生态县考核 {year}年度安排（示例） · the province's {year} assessment year (EXAMPLE)",
        "# Written by examples/make_examples.py; every figure is synthetic (合成数据).",
        f"year: {year}",
        "roster: roster.csv",
        *(["pilots_only: true  # 试点阶段：各省辖市选择1-2个县（市）试点"] if year == 2007 else []),
        "province: ../../policies/jiangsu  # 省基准考核办法：其目标（达标面等）在全省和各市判定",
        "cities:",
    ]
    for city in cities:
        method = CITY_METHODS.get(city, {}).get(year)
        name = CITIES[city][0]
        baseline = f"{name}：示例中沿用省基准办法 (the provincial baseline, EXAMPLE)"
        note = f"{name}自己的考核办法（示例）" if method else baseline
        lines += [
            f'  "{city}":  # {note}',
            f"    method: ../../{method or BASELINE}",
            f"    data: {year}/{city}.csv",
        ]
        units = [u for u in unit_rows(year) if u["county"][:4] == city[:4]] if year in UNIT_YEARS else []
        if units:
            lines += ["    tables:", f"      credit_units: {year}/{city}-units.csv"]
    return "\n".join(lines) + "\n"


def write_province(directory: Path = PROVINCE_DIR) -> list[Path]:
    """The roster, each year's setup and each city's data (the year's rows with their parts)."""
    directory.mkdir(exist_ok=True)
    written = [_write_csv(directory / "roster.csv", ROSTER_FIELDS, roster_rows())]
    for year in YEARS:
        rows = [with_parts(row) for row in build(year)]
        (directory / str(year)).mkdir(exist_ok=True)
        cities = sorted({row["city"] for row in rows})
        for city in cities:
            mine = [row for row in rows if row["city"] == city]
            written.append(_write_csv(directory / str(year) / f"{city}.csv", (*FIELDS, *PART_FIELDS), mine))
            units = [u for u in unit_rows(year) if u["county"][:4] == city[:4]] if year in UNIT_YEARS else []
            if units:
                written.append(_write_csv(directory / str(year) / f"{city}-units.csv", UNIT_FIELDS, units))
        path = directory / f"{year}.yaml"
        path.write_text(_setup_text(year, cities), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    for year in YEARS:
        print(write(year))
    for year in UNIT_YEARS:
        print(write_units(year))
    for path in write_province():
        print(path)


if __name__ == "__main__":
    main()
