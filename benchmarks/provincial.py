"""The provincial policy ``policies/jiangsu/jiangsu-2008.yaml`` written by hand, and records for it.

:func:`grade_python` is what a careful analyst would write in plain Python for the Jiangsu 2008 promotion
policy, without an engine and without explanations: the seven indicator families of the shipped plugins
(``plugins/fineco_indicators``, each a weighted sum of measures put on their goalposts and clipped) at
their points (credit 25, intermediary 10, legal 15, internal 20, satisfaction 10, policy 10, service 10);
the per-unit deductions (debt evasion 1 a case up to 5, unreported intermediaries 0.5 each up to 3, at most 8
in all); the veto; pass (total ≥ 60, NPL ratio ≤ 0.06, satisfaction ≥ 60) and good (total ≥ 80, credit
township share ≥ 0.85). Scores are rounded half-up to cents as the policy says.

Exact where it matters: each indicator's score is computed in floats, and where it lies within 1e-6 of a
cent's half it is computed again in decimals exactly as the plugin computes it (so the rounding is the
policy's). Sums are integer cents.

Its scope is the benchmark data (:func:`records`): every input present and no ``credit_units`` table, so
the imputation of a missing product-innovation score (by the city's mean) and the re-rating of township
and village rows, which the policy also does, are not written here; the benchmark checks every record
against fineco-rules.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any, Final

__all__ = ["POLICY", "grade_python", "records"]

POLICY: Final = Path(__file__).resolve().parent.parent / "policies" / "jiangsu" / "jiangsu-2008.yaml"

#: ``(indicator, points, ((field, worst, best, weight, denominator, per), ...))``: the plugins' defaults,
#: re-weighted as the policy's ``weights:`` say (debt evasion and unreported intermediaries weigh 0: they
#: are deductions instead).
FAMILIES: Final = (
    (
        "credit",
        25,
        (
            ("credit_township_share", "0.5", "0.95", "0.3", None, 1),
            ("credit_village_share", "0.4", "0.9", "0.15", None, 1),
            ("credit_community_share", "0.3", "0.9", "0.1", None, 1),
            ("credit_household_share", "0.3", "0.8", "0.15", None, 1),
            ("red_list_enterprises", "0", "150", "0.1", None, 1),
            ("small_loan_coverage", "0.3", "0.9", "0.2", None, 1),
        ),
    ),
    (
        "intermediary",
        10,
        (
            ("honest_intermediary_share", "0.4", "0.9", "0.5", None, 1),
            ("guarantee_institutions", "0", "10", "0.2", None, 1),
            ("guaranteed_loan_share", "0.05", "0.3", "0.3", None, 1),
        ),
    ),
    (
        "legal",
        15,
        (
            ("case_execution_rate", "0.5", "0.95", "0.4", None, 1),
            ("claim_recovery_rate", "0.4", "0.9", "0.35", None, 1),
            ("financial_crime_clearance_rate", "0.5", "1", "0.25", None, 1),
        ),
    ),
    (
        "internal",
        20,
        (("npl_ratio", "0.10", "0.02", "0.6", None, 1), ("legal_person_health_score", "50", "95", "0.4", None, 1)),
    ),
    (
        "policy",
        10,
        (("policy_cleanup_rate", "0.5", "1", "0.6", None, 1), ("finance_support_score", "50", "95", "0.4", None, 1)),
    ),
    (
        "service",
        10,
        (
            ("bank_enterprise_score", "50", "95", "0.5", None, 1),
            ("product_innovation_score", "50", "95", "0.5", None, 1),
        ),
    ),
)

_CONTEXT: Final = Context(prec=40, rounding=ROUND_HALF_UP)
_CENT: Final = Decimal("0.01")
_ZERO, _ONE = Decimal(0), Decimal(1)


def _exact_family(record: Mapping[str, Any], points: int, measures: Sequence[tuple[Any, ...]]) -> int:
    """The family's score in cents, in decimals as the plugin computes it (only near a cent's half)."""
    total = _ZERO
    for field, worst, best, weight, denominator, per in measures:
        value = Decimal(repr(record[field])) if isinstance(record[field], float) else Decimal(record[field])
        if denominator is not None:
            value = _CONTEXT.divide(value * per, Decimal(record[denominator]))
        w, b = Decimal(worst), Decimal(best)
        total += Decimal(weight) * min(max(_CONTEXT.divide(value - w, b - w), _ZERO), _ONE)
    return int((total * points).quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


def _exact_satisfaction(record: Mapping[str, Any]) -> int:
    """The satisfaction indicator's score in cents, in decimals as the plugin computes it."""
    a, s = (Decimal(repr(record[f])) if isinstance(record[f], float) else Decimal(record[f]) for f in _SURVEY)
    mean = Decimal("0.4") * a + (1 - Decimal("0.4")) * s
    score = min(max(mean, _ZERO), Decimal(100)) * _CONTEXT.divide(Decimal(10), Decimal(100))
    return int(score.quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


_SURVEY: Final = ("awareness_score", "satisfaction_score")


def _compiled() -> list[tuple[int, list[tuple[str, float, float, float, str | None, float]], tuple[Any, ...]]]:
    """Each family's goalposts as floats: (points, [(field, worst, 1/span, weight·points·100, denominator, per)])."""
    out = []
    for _, points, measures in FAMILIES:
        rows = []
        for field, worst, best, weight, denominator, per in measures:
            w, b = float(worst), float(best)
            rows.append((field, w, 1.0 / (b - w), float(weight) * points * 100, denominator, float(per)))
        out.append((points, rows, measures))
    return out


_FAMILIES: Final = _compiled()


def grade_python(records: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[int]]:
    """Grade codes (0 fail, 1 pass, 2 good) and totals in cents, one record at a time."""
    grades: list[int] = []
    totals: list[int] = []
    families = _FAMILIES
    for r in records:
        base = 0
        for points, rows, measures in families:
            v = 0.5
            for field, w, inverse, scale, denominator, per in rows:
                x = r[field]
                if denominator is not None:
                    x = x * per / r[denominator]
                n = (x - w) * inverse
                v += scale * (0.0 if n <= 0.0 else 1.0 if n >= 1.0 else n)
            cents = int(v)
            if v - cents < 1e-6 or cents + 1 - v < 1e-6:  # on or near a half cent: decide in decimals
                cents = _exact_family(r, points, measures)
            base += cents
        # awareness and satisfaction: 10 points × clip(0.4·awareness + 0.6·satisfaction, 0, 100) / 100
        v = 4.0 * r["awareness_score"] + 6.0 * r["satisfaction_score"] + 0.5
        v = 0.5 if v < 0.5 else 1000.5 if v > 1000.5 else v
        cents = int(v)
        if v - cents < 1e-6 or cents + 1 - v < 1e-6:
            cents = _exact_satisfaction(r)
        base += cents
        # deductions: 1 a debt evasion case up to 5, 0.5 an unreported intermediary up to 3, at most 8 in all
        deduction = min(min(r["debt_evasion_cases"] * 100, 500) + min(r["intermediaries_not_reported"] * 50, 300), 800)
        total = max(base - deduction, 0)
        if (
            r["illegal_fundraising_major_case"]
            or total < 6000
            or not r["npl_ratio"] <= 0.06
            or not r["satisfaction_score"] >= 60
        ):
            grades.append(0)
        elif total >= 8000 and r["credit_township_share"] >= 0.85:
            grades.append(2)
        else:
            grades.append(1)
        totals.append(total)
    return grades, totals


_RATIOS: Final = (
    "credit_township_share",
    "credit_village_share",
    "credit_community_share",
    "credit_household_share",
    "small_loan_coverage",
    "honest_intermediary_share",
    "guaranteed_loan_share",
    "case_execution_rate",
    "claim_recovery_rate",
    "policy_cleanup_rate",
)
_SCORES: Final = (
    "legal_person_health_score",
    "finance_support_score",
    "awareness_score",
    "bank_enterprise_score",
    "product_innovation_score",
)
#: Values the policy compares or puts goalposts on, drawn often (a tenth of the time).
_EDGES: Final = {
    "credit_township_share": (0.5, 0.85, 0.95, 0.8499, 0.8501),
    "npl_ratio": (0.02, 0.06, 0.0599, 0.0601, 0.1),
    "satisfaction_score": (60, 59.9999, 60.0001, 95),
    "legal_person_health_score": (50, 95),
}


def records(n: int, *, seed: int = 2008, start: int = 0) -> list[dict[str, object]]:
    """``n`` deterministic records for the provincial policy: four-decimal ratios, two-decimal survey
    scores, whole counts, every input present, a tenth of some inputs on their thresholds, a few vetoes."""
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + n):
        record: dict[str, object] = {"county": f"{100000 + i % 900000}"}
        strong = rng.random() < 0.3  # a third of the counties near the goalposts' best: some pass, a few good
        for field in _RATIOS:
            record[field] = round(rng.uniform(0.75 if strong else 0.3, 1.0), 4)
        for field in _SCORES:
            record[field] = round(rng.uniform(80 if strong else 40, 100), 2)
        record["satisfaction_score"] = round(rng.uniform(50, 100), 2)
        record["npl_ratio"] = round(rng.uniform(0.01, 0.09), 4)
        for field, edges in _EDGES.items():
            if rng.random() < 0.1:
                record[field] = rng.choice(edges)
        record["red_list_enterprises"] = rng.randrange(0, 200)
        record["guarantee_institutions"] = rng.randrange(0, 15)
        record["intermediaries_not_reported"] = rng.choice((0, 0, 0, 0, 0, 1, 2, 7))
        record["debt_evasion_cases"] = rng.choice((0, 0, 0, 0, 0, 1, 3, 6))
        record["financial_crime_clearance_rate"] = round(rng.uniform(0.4, 1.0), 4)
        record["survey_sample_size"] = rng.randrange(200, 1000)
        record["illegal_fundraising_major_case"] = rng.random() < 0.02
        out.append(record)
    return out


def measure(n: int = 20_000, rounds: int = 5) -> dict[str, object]:
    """The row path on the provincial policy against :func:`grade_python`, interleaved in one process.

    Each round times the hand-written reference and ``CompiledPolicy.evaluate`` (grades and totals read,
    explanations not built) one after the other on the same ``n`` records, in CPU time; the ratio is the
    reference's time over the engine's, the median over the rounds. ``wrong`` counts records whose grade or
    total differs from the reference in any round.
    """
    import statistics
    import time

    from fineco_rules import compile_policy, load_policy

    compiled = compile_policy(load_policy(POLICY))
    batch = records(n)
    ratios, wrong = [], 0
    reference_rates, engine_rates = [], []
    for _ in range(rounds):
        start = time.process_time()
        grades, totals = grade_python(batch)
        middle = time.process_time()
        evaluation = compiled.evaluate(batch)
        got_grades, got_scores = evaluation.grades, evaluation.scores
        end = time.process_time()
        ratios.append((middle - start) / (end - middle))
        reference_rates.append(n / (middle - start))
        engine_rates.append(n / (end - middle))
        wrong += sum(
            (g.rank if g is not None else -1) != want or s is None or int(s.scaleb(2)) != total
            for g, s, want, total in zip(got_grades, got_scores, grades, totals, strict=True)
        )
    return {
        "records": n,
        "rounds": rounds,
        "compiled_form": compiled.compiled_form,
        "reference_records_per_s": round(statistics.median(reference_rates)),
        "engine_records_per_s": round(statistics.median(engine_rates)),
        "ratio": round(statistics.median(ratios), 3),
        "wrong": wrong,
    }


if __name__ == "__main__":
    import sys

    print(measure(*(int(arg) for arg in sys.argv[1:3])))
