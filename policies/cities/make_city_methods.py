"""Write the example city methods (示例) that the shipped example years grade under, and their cases files.

Every prefecture city writes its own 考核办法 "参照" the provincial one; the source never puts the provincial
file in force for counties. So each of the thirteen cities has an example method for each phase that the
example years 2007–2010 need: the pilot (2007), the promotion phase (2008–2009) and the deepening phase (2010).

- Nine cities (南京, 常州, 南通, 连云港, 淮安, 盐城, 扬州, 镇江, 泰州) are written here from `SPECS`: each only
  tightens what the province allows a city to tighten (higher grade lines, a stricter NPL or satisfaction gate,
  a heavier deduction for debt evasion, a higher cap on deductions), so each is no laxer than the province.
- The four hand-written promotion-phase methods (苏州, 无锡, 徐州, 宿迁: ``<city>-2008.yaml``) are carried to
  2007 and 2010 unchanged in substance (only the version, dates, label and parent change). In the 2007 pilot
  year there is no earlier title, so Suzhou's ``from_pass: last_year`` is left out of its 2007 method.

The cases files are chosen, not hand-computed: for each method the script grades a pool of variations of the
city's own counties in that year's example data (each gate on and just beyond its line, deductions under, on
and over each cap, the veto, weaker and stronger credit work), keeps the county rows as they are and then, case
by case, the fewest variations that put a case on both sides of every declared boundary, and writes each
case's grade and total as the engine computes them. It refuses to write a file whose boundary coverage is not
complete, and checks the design (a figure on a gate's line meets it, one beyond it does not).

Run from the repository root: ``python policies/cities/make_city_methods.py``. The output is deterministic.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NamedTuple

from fineco_rules.engine._records import check_records
from fineco_rules.quality._cases import boundaries, load_cases

HERE: Final = Path(__file__).resolve().parent
EXAMPLES: Final = HERE.parent.parent / "examples"


class Phase(NamedTuple):
    version: str
    start: str
    until: str
    zh: str
    en: str
    words: str  # the phase in the English header comment


PHASES: Final = {
    "2007": Phase("2007", "2007-01-01", "2007-12-31", "（2007年试点）", "(2007 pilot)", "pilot phase (2007)"),
    "2008": Phase("2008", "2008-01-01", "2009-12-31", "（2008—2009年）", "(2008–2009)", "promotion phase (2008–2009)"),
    "2010": Phase("2010", "2010-01-01", "2010-12-31", "（2010年）", "(2010)", "deepening phase (2010)"),
}


class Spec(NamedTuple):
    slug: str
    zh: str
    en: str
    pass_line: int = 60
    good_line: int = 80
    satisfaction: int = 60
    npl: str = "0.06"
    debt_per_unit: str = "1"
    debt_cap: int = 5
    deduction_cap: int = 8


#: The nine cities written here. Every figure is an assumption of the example, and each only tightens.
SPECS: Final = {
    "320100": Spec("nanjing", "南京", "Nanjing", pass_line=62, good_line=82, npl="0.055"),
    "320400": Spec("changzhou", "常州", "Changzhou", pass_line=61, good_line=81, satisfaction=62),
    "320600": Spec("nantong", "南通", "Nantong", good_line=82, satisfaction=63),
    "320700": Spec(
        "lianyungang", "连云港", "Lianyungang", satisfaction=62, debt_per_unit="1.5", debt_cap=6, deduction_cap=9
    ),
    "320800": Spec("huaian", "淮安", "Huai'an", pass_line=61, satisfaction=61),
    "320900": Spec("yancheng", "盐城", "Yancheng", good_line=81, debt_per_unit="2", debt_cap=6, deduction_cap=9),
    "321000": Spec("yangzhou", "扬州", "Yangzhou", pass_line=63, good_line=83),
    "321100": Spec("zhenjiang", "镇江", "Zhenjiang", pass_line=62, good_line=82, satisfaction=62, npl="0.05"),
    "321200": Spec(
        "taizhou",
        "泰州",
        "Taizhou",
        pass_line=61,
        good_line=82,
        satisfaction=61,
        debt_per_unit="1.5",
        debt_cap=6,
        deduction_cap=9,
    ),
}

#: The hand-written promotion-phase methods carried to the other phases.
HAND_WRITTEN: Final = {"320200": "wuxi", "320300": "xuzhou", "320500": "suzhou", "321300": "suqian"}


def _pct(value: str) -> str:
    return f"{(Decimal(value) * 100).normalize():f}%"


def _assumption(spec: Spec) -> tuple[str, str]:
    zh = [f"达标线{spec.pass_line}分", f"良好线{spec.good_line}分"]
    en = [f"a pass line of {spec.pass_line}", f"a good line of {spec.good_line}"]
    if spec.satisfaction != 60:
        zh.append(f"满意度门槛{spec.satisfaction}分")
        en.append(f"a satisfaction gate of {spec.satisfaction}")
    if spec.npl != "0.06":
        zh.append(f"不良贷款率门槛{_pct(spec.npl)}（在{_pct(spec.npl)}以下，含本数）")
        en.append(f"an NPL gate of {_pct(spec.npl)} (在{_pct(spec.npl)}以下, which includes the figure)")
    if (spec.debt_per_unit, spec.debt_cap) != ("1", 5):
        zh.append(f"逃废债每件扣{spec.debt_per_unit}分（上限{spec.debt_cap}分）")
        en.append(f"{spec.debt_per_unit} points per debt evasion case (cap {spec.debt_cap})")
    if spec.deduction_cap != 8:
        zh.append(f"扣分合计上限{spec.deduction_cap}分")
        en.append(f"a cap of {spec.deduction_cap} on all deductions")
    return (
        f"{spec.zh}示例：保留省里全部指标和分值；" + "、".join(zh) + "均为示例假设，只比省办法更严。",
        f"{spec.en} example: every provincial indicator and its points kept; "
        + ", ".join(en)
        + " are assumptions of this example, each only stricter than the province's.",
    )


def method_text(code: str, spec: Spec, phase: Phase) -> str:
    """The policy file of one generated city method for one phase."""
    key = spec.slug
    lines = [
        "# yaml-language-server: $schema=../../../fineco_rules/schema/policy.schema.json",
        f"# 示例: an example of {spec.en}'s county assessment method for the {phase.words}, not {spec.en}'s own.",
        "# Written by policies/cities/make_city_methods.py (edit SPECS there, not this file). It keeps every",
        "# provincial indicator and its points and only tightens, so it is no laxer than the province.",
        f"id: {key}-fineco-county",
        f'version: "{phase.version}"',
        "label:",
        f"  zh: {spec.zh}市金融生态县考核办法示例{phase.zh}",
        f'  en: "Example: {spec.en} financial ecology county assessment {phase.en}"',
        f"effective_from: {phase.start}",
        f"effective_until: {phase.until}",
        f'extends: {{id: jiangsu-fineco-county, version: "{phase.version}", path: ../../jiangsu}}',
        "",
    ]
    if spec.deduction_cap != 8:
        lines += ["aggregation:", f"  deduction_cap: {spec.deduction_cap}", ""]
    if (spec.debt_per_unit, spec.debt_cap) != ("1", 5):
        lines += [
            "adjustments:",
            "  debt_evasion:",
            f"    label: {{zh: 逃废金融债务扣分（{spec.zh}从严：每件{spec.debt_per_unit}分）, "
            f"en: deduction for debt evasion ({spec.en} is stricter; {spec.debt_per_unit} per case)}}",
            f"    basis: {{assumption: {key}}}",
            f"    per_unit: {spec.debt_per_unit}",
            f"    cap: {spec.debt_cap}",
            "",
        ]
    lines += ["grades:", "  pass:", f"    min_total: {spec.pass_line}", f"    basis: {{assumption: {key}}}"]
    gates: list[str] = []
    if spec.npl != "0.06":
        p = _pct(spec.npl)
        gates += [
            "      npl_below_6pct:",
            f"        label: {{zh: 不良贷款率（五级分类）在{p}以下（含{p}，{spec.zh}从严）, "
            f"en: NPL ratio (five-tier) at most {p} ({p}以下 includes {p}; {spec.en} is stricter)}}",
            f"        value: {spec.npl}",
            f"        basis: {{assumption: {key}}}",
        ]
    if spec.satisfaction != 60:
        s = spec.satisfaction
        gates += [
            "      satisfaction_60:",
            f"        label: {{zh: 金融服务满意度{s}分以上（含{s}分，{spec.zh}从严）, "
            f"en: satisfaction with financial services at least {s} ({spec.en} is stricter)}}",
            f"        value: {s}",
            f"        basis: {{assumption: {key}}}",
        ]
    if gates:
        lines += ["    gates:", *gates]
    lines += ["  good:", f"    min_total: {spec.good_line}", f"    basis: {{assumption: {key}}}", ""]
    zh, en = _assumption(spec)
    lines += [
        "assumptions:",
        f"  {key}:",
        f"    zh: {zh}",
        f'    en: "{en}"',
        "    basis: assumption of this example",
    ]
    return "\n".join(lines) + "\n"


_PHASE_LABEL: Final = re.compile(r"（2008—2009年）")


def carried_text(text: str, phase: Phase) -> str:
    """A hand-written promotion-phase method carried to another phase: version, dates, label and parent."""
    swaps = [
        ("the promotion phase (2008–2009)", f"the {phase.words}"),
        ('version: "2008"\n', f'version: "{phase.version}"\n'),
        ("effective_from: 2008-01-01", f"effective_from: {phase.start}"),
        ("effective_until: 2009-12-31", f"effective_until: {phase.until}"),
        ('version: "2008", path: ../../jiangsu}', f'version: "{phase.version}", path: ../../jiangsu}}'),
        ("（2008—2009年）", phase.zh),
        ("(2008–2009)", phase.en),
    ]
    for old, new in swaps:
        if old not in text:
            raise SystemExit(f"cannot carry the method to {phase.version}: {old!r} not found")
        text = text.replace(old, new)
    if phase.version == "2007":
        # No title before the pilot year: 良好 comes from this year's 达标 only.
        text = re.sub(r"\n *# 良好\"必须从达标单位中产生\"[^\n]*\n *from_pass: last_year", "", text)
        text = text.replace("\n    from_pass: last_year", "")
    header = (
        "# Carried by policies/cities/make_city_methods.py from the hand-written promotion-phase method\n"
        f"# (edit that file, then re-run the script): the same rules, in force for the {phase.words}.\n"
    )
    first, rest = text.split("\n", 1)
    return f"{first}\n{header}{rest}"


# -- the cases --------------------------------------------------------------------------------------


def _rows(code: str, year: str) -> list[dict[str, str]]:
    with (EXAMPLES / f"jiangsu-{year}.csv").open(encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if row["city"] == code]


def _variations(gates: dict[str, str], debt_cap: int, deduction_cap: int) -> list[tuple[str, dict[str, Any]]]:
    npl, satisfaction = Decimal(gates["npl"]), Decimal(gates["satisfaction"])
    tenth = Decimal("0.0001")
    out: list[tuple[str, dict[str, Any]]] = [
        ("npl-on-the-gate", {"npl_ratio": npl}),
        ("npl-just-above-the-gate", {"npl_ratio": npl + tenth}),
        ("satisfaction-on-the-gate", {"satisfaction_score": satisfaction}),
        ("satisfaction-just-below-the-gate", {"satisfaction_score": satisfaction - Decimal("0.1")}),
        ("townships-on-85pct", {"credit_township_share": Decimal("0.85")}),
        ("townships-just-below-85pct", {"credit_township_share": Decimal("0.8499")}),
        ("vetoed", {"illegal_fundraising_major_case": True}),
    ]
    for name, level in (("weak", "0.5"), ("weaker", "0.3"), ("weakest", "0.1")):
        share = Decimal(level)
        out.append(
            (
                f"{name}-credit",
                {"credit_township_share": share, "credit_village_share": share, "credit_community_share": share},
            )
        )
    weak = Decimal("0.3")
    out.append(
        (
            "weak-credit-with-deductions",
            {
                "credit_township_share": weak,
                "credit_village_share": weak,
                "credit_community_share": weak,
                "debt_evasion_cases": debt_cap,
                "intermediaries_not_reported": 6,
            },
        )
    )
    out.append(
        (
            "weak-everywhere",
            {
                "credit_township_share": weak,
                "credit_village_share": weak,
                "credit_community_share": weak,
                "credit_household_share": weak,
                "case_execution_rate": weak,
                "claim_recovery_rate": weak,
                "honest_intermediary_share": weak,
                "awareness_score": Decimal("50"),
            },
        )
    )
    out.append(
        (
            "strong",
            {
                "credit_township_share": Decimal("1"),
                "credit_village_share": Decimal("1"),
                "credit_community_share": Decimal("1"),
                "credit_household_share": Decimal("1"),
                "case_execution_rate": Decimal("1"),
                "claim_recovery_rate": Decimal("1"),
                "honest_intermediary_share": Decimal("1"),
                "awareness_score": Decimal("95"),
                "satisfaction_score": Decimal("95"),
                "npl_ratio": Decimal("0.01"),
                "small_loan_coverage": Decimal("1"),
                "financial_crime_clearance_rate": Decimal("1"),
                "legal_person_health_score": Decimal("95"),
                "policy_cleanup_rate": Decimal("1"),
                "finance_support_score": Decimal("95"),
                "bank_enterprise_score": Decimal("95"),
                "product_innovation_score": Decimal("95"),
                "illegal_fundraising_major_case": False,
                "debt_evasion_cases": 0,
                "intermediaries_not_reported": 0,
            },
        )
    )
    for debt in sorted({0, debt_cap - 1, debt_cap, debt_cap + 1, deduction_cap}):
        for bad in (0, 5, 6, 7, 12):
            out.append(
                (
                    f"deductions-{debt}-debt-{bad}-unreported",
                    {"debt_evasion_cases": debt, "intermediaries_not_reported": bad},
                )
            )
    return out


def _case_yaml(case_id: str, county: str, changes: dict[str, Any], grade: str, score: str | None) -> list[str]:
    lines = [f"  - id: {case_id}", f'    row: "{county}"']
    if changes:
        parts = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in changes.items())
        lines.append(f"    with: {{{parts}}}")
    expect = f"grade: {grade}" + (f", score: {score}" if score is not None else "")
    lines.append(f"    expect: {{{expect}}}")
    return lines


def _pool_text(policy_name: str, year: str, pool: list[tuple[str, str, dict[str, Any]]]) -> str:
    lines = [f"policy: {policy_name}", f"data: ../../../examples/jiangsu-{year}.csv", "tolerance: 0", "", "cases:"]
    for case_id, county, changes in pool:
        lines += _case_yaml(case_id, county, changes, "fail", None)
    return "\n".join(lines) + "\n"


def _gates_of(text: str) -> dict[str, str]:
    npl = re.search(r"npl_below_6pct:\n(?:.*\n)*? +value: ([0-9.]+)", text)
    sat = re.search(r"satisfaction_60:\n(?:.*\n)*? +value: ([0-9.]+)", text)
    debt = re.search(r"debt_evasion:\n(?:.*\n)*? +cap: ([0-9]+)", text)
    cap = re.search(r"deduction_cap: ([0-9]+)", text)
    return {
        "npl": npl.group(1) if npl else "0.06",
        "satisfaction": sat.group(1) if sat else "60",
        "debt_cap": debt.group(1) if debt else "5",
        "deduction_cap": cap.group(1) if cap else "8",
    }


def write_cases(policy_path: Path, year: str, code: str, what: str) -> Path:
    """Choose and write the cases of one method: county rows as they are, then the fewest variations that put a
    case on both sides of every boundary."""
    text = policy_path.read_text("utf-8")
    gates = _gates_of(text)
    rows = _rows(code, year)
    pool: list[tuple[str, str, dict[str, Any]]] = [(f"{row['county']}-as-is", row["county"], {}) for row in rows]
    for row in rows:
        for name, changes in _variations(gates, int(gates["debt_cap"]), int(gates["deduction_cap"])):
            pool.append((f"{row['county']}-{name}", row["county"], changes))
    cases_path = policy_path.with_name(policy_path.stem + ".cases.yaml")
    cases_path.write_text(_pool_text(policy_path.name, year, pool), encoding="utf-8")
    suite = load_cases(cases_path)
    outcomes = [suite.run(c) for c in suite.cases]
    found, _ = boundaries(suite.policy)
    typed, _ = check_records(suite.policy, [o.case.record for o in outcomes])
    sides: list[set[tuple[int, int]]] = []
    for outcome, record in zip(outcomes, typed, strict=True):
        hit = set()
        for i, boundary in enumerate(found):
            side = boundary.side(outcome.result, record.values)
            if side is not None:
                hit.add((i, side[0]))
        sides.append(hit)
    need = {(i, s) for i in range(len(found)) for s in (0, 1)}
    chosen = list(range(len(rows)))
    for i in chosen:
        need -= sides[i]
    while need:
        best = max(range(len(pool)), key=lambda k: (len(sides[k] & need), -k))
        if not sides[best] & need:
            missing = sorted({found[i].name for i, _ in need})
            raise SystemExit(f"{cases_path}: no variation reaches both sides of {missing}")
        chosen.append(best)
        need -= sides[best]
    names = {row["county"]: row["name"] for row in rows}
    lines = [
        "# yaml-language-server: $schema=../../../fineco_rules/schema/cases.schema.json",
        f"# Cases for {what} ({policy_path.name}) on the city's counties in the synthetic {year} data.",
        "# Chosen by policies/cities/make_city_methods.py: each county as it is, then the fewest variations that put",
        "# a case on both sides of every grade line, gate, veto and cap; the grades and totals are the engine's.",
        "# 以下/以上 include the figure (民法通则第155条): a figure on a gate's line meets it.",
        f"policy: {policy_path.name}",
        f"data: ../../../examples/jiangsu-{year}.csv",
        "tolerance: 0",
        "",
        "cases:",
    ]
    for k in sorted(chosen):
        case_id, county, changes = pool[k]
        result = outcomes[k].result
        grade = "not_graded" if result.grade is None else result.grade.value
        score = None if result.score is None else str(result.score)
        _check_design(case_id, changes, gates, outcomes[k])
        label = f"{names[county]}，{case_id.split('-', 1)[1].replace('-', ' ')}"
        lines += _case_yaml(case_id, county, changes, grade, score)
        lines.insert(len(lines) - (3 if changes else 2), f"    label: {label}")
    cases_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cases_path


def _check_design(case_id: str, changes: dict[str, Any], gates: dict[str, str], outcome: Any) -> None:
    """A figure on a gate's line meets it (以下/以上 include the figure); one beyond it does not."""
    checks = {c.id: c for group in outcome.result.checks.values() for c in group}
    for name, gate, on, beyond in (
        ("npl_below_6pct", "npl", "npl-on-the-gate", "npl-just-above-the-gate"),
        ("satisfaction_60", "satisfaction", "satisfaction-on-the-gate", "satisfaction-just-below-the-gate"),
    ):
        check = checks.get(name)
        if check is None:
            continue
        if case_id.endswith(on) and not check.met:
            raise SystemExit(f"{case_id}: {gates[gate]} is on the line of {name} but does not meet it")
        if case_id.endswith(beyond) and check.met:
            raise SystemExit(f"{case_id}: {name} is met beyond its line")


def main() -> None:
    for code, spec in SPECS.items():
        folder = HERE / spec.slug
        folder.mkdir(exist_ok=True)
        for phase in PHASES.values():
            path = folder / f"{spec.slug}-{phase.version}.yaml"
            path.write_text(method_text(code, spec, phase), encoding="utf-8")
            print(write_cases(path, phase.version, code, f"{spec.zh}'s example method"))
    for code, slug in HAND_WRITTEN.items():
        source = (HERE / slug / f"{slug}-2008.yaml").read_text("utf-8")
        for phase in (PHASES["2007"], PHASES["2010"]):
            path = HERE / slug / f"{slug}-{phase.version}.yaml"
            path.write_text(carried_text(source, phase), encoding="utf-8")
            print(write_cases(path, phase.version, code, f"the {slug} method carried to {phase.version}"))


if __name__ == "__main__":
    main()
