"""Composite indices: groups of groups with a method per level, leave-out-and-re-weight, availability screening."""

from __future__ import annotations

import csv
import io
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules.analysis import explain
from fineco_rules.engine import evaluate_columns
from tests.conftest import WritePolicy

NESTED = """\
id: nested-demo
version: "1"
label: {zh: 嵌套, en: Nested}
effective_from: 2024-01-01
inputs:
  a: {type: number, required: false, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, required: false, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
  c: {type: number, required: false, min: 0, max: 100, better: higher, label: {zh: 丙, en: c}}
indicators:
  ia:
    label: {zh: 甲, en: a}
    scorer: linear
    params: {input: a, worst: 0, best: 100}
    group: p1
    weight: 1/3
    missing: reweight
  ib:
    label: {zh: 乙, en: b}
    scorer: linear
    params: {input: b, worst: 0, best: 100}
    group: p1
    weight: 2/3
    missing: reweight
  ic:
    label: {zh: 丙, en: c}
    scorer: linear
    params: {input: c, worst: 0, best: 100}
    group: s2
    weight: 1
aggregation:
  method: weighted_mean
  groups:
    s1: {label: {zh: 子指数一, en: Sub-index 1}, weight: 1/2, method: geometric_mean}
    p1: {label: {zh: 支柱一, en: Pillar 1}, weight: 1, group: s1}
    s2: {label: {zh: 子指数二, en: Sub-index 2}, weight: 1/2}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
"""


def _load(write_policy: WritePolicy, text: str) -> fineco_rules.Policy:
    return fineco_rules.load_policy(write_policy(text))


def _problems(write_policy: WritePolicy, text: str) -> list[fineco_rules.Problem]:
    with pytest.raises(fineco_rules.PolicyError) as info:
        _load(write_policy, text)
    return list(info.value.problems)


class TestNestedGroups:
    def test_each_level_is_reported_and_the_total_is_rounded_once(self, write_policy: WritePolicy) -> None:
        """Pillar, sub-indices and total come from exact values; each is reported rounded."""
        result = fineco_rules.evaluate(_load(write_policy, NESTED), [{"county": "320101", "a": 1, "b": 2, "c": 90}])
        r = result.results[0]
        # pillar = 1/3 × 1 + 2/3 × 2 = 5/3; its geometric mean with weight 1 is itself; total = (5/3 + 90) / 2.
        assert r.groups == {"p1": Decimal("1.67"), "s1": Decimal("1.67"), "s2": Decimal("90.00")}
        assert r.base_score == Decimal("45.83")
        assert r.score == Decimal("45.83")

    def test_a_geometric_level_multiplies_its_parts(self, write_policy: WritePolicy) -> None:
        """A group with `method: geometric_mean` raises its parts to their weights and multiplies."""
        text = NESTED.replace("s2: {label: {zh: 子指数二, en: Sub-index 2}, weight: 1/2}", "").replace(
            "group: s2\n    weight: 1", "group: s1\n    weight: 1/2"
        )
        text = text.replace(
            "p1: {label: {zh: 支柱一, en: Pillar 1}, weight: 1,", "p1: {label: {zh: 支柱一, en: Pillar 1}, weight: 1/2,"
        )
        text = text.replace("weight: 1/2, method: geometric_mean", "weight: 1, method: geometric_mean")
        r = fineco_rules.evaluate(_load(write_policy, text), [{"county": "320101", "a": 4, "b": 4, "c": 64}]).results[0]
        assert r.groups == {"p1": Decimal("4.00"), "s1": Decimal("16.00")}
        assert r.score == Decimal("16.00")

    def test_nested_groups_read_top_down_in_explain(self, write_policy: WritePolicy) -> None:
        """explain lists each group under its parent, with the way it combines its parts."""
        policy = _load(write_policy, NESTED)
        r = fineco_rules.evaluate(policy, [{"county": "320101", "a": 1, "b": 2, "c": 90}]).results[0]
        text = explain(r, policy, "en")
        assert "  Sub-index 1: 1.67 (geometric mean)\n    Pillar 1: 1.67 (weighted mean)\n" in text
        assert "子指数二：90.00（加权平均）" in explain(r, policy, "zh")

    def test_json_reports_every_level(self, write_policy: WritePolicy) -> None:
        """The result's dict carries every group of every level."""
        r = fineco_rules.evaluate(_load(write_policy, NESTED), [{"county": "320101", "a": 1, "b": 2, "c": 90}])
        assert {k: str(v) for k, v in r.results[0].to_dict()["groups"].items()} == {
            "p1": "1.67",
            "s1": "1.67",
            "s2": "90.0",
        }

    def test_a_parent_that_is_not_declared_is_refused(self, write_policy: WritePolicy) -> None:
        """`group:` on a group must name a declared group, with a did-you-mean."""
        problems = _problems(write_policy, NESTED.replace("weight: 1, group: s1", "weight: 1, group: s9"))
        unknown = [p for p in problems if p.code == "unknown-name"]
        assert [p.location.path for p in unknown] == ["aggregation.groups.p1.group"]

    def test_a_group_cannot_be_part_of_itself(self, write_policy: WritePolicy) -> None:
        """A cycle of groups is refused, naming the path round."""
        text = NESTED.replace("weight: 1/2, method: geometric_mean}", "weight: 1/2, method: geometric_mean, group: p1}")
        problems = _problems(write_policy, text)
        assert "bad-groups" in [p.code for p in problems]
        assert any("s1 → p1 → s1" in p.message for p in problems)

    def test_the_parts_of_a_group_add_up_to_one(self, write_policy: WritePolicy) -> None:
        """A group's indicator and sub-group weights together must add up to 1."""
        problems = _problems(write_policy, NESTED.replace("weight: 2/3", "weight: 1/3"))
        assert [p.code for p in problems] == ["bad-weights"]
        assert "group 'p1'" in problems[0].message

    def test_a_points_group_under_a_weighted_policy_is_refused(self, write_policy: WritePolicy) -> None:
        """Points levels belong to points policies."""
        problems = _problems(write_policy, NESTED.replace("method: geometric_mean", "method: points"))
        assert [p.code for p in problems] == ["bad-groups"]

    def test_flat_policies_keep_the_flat_plan(self, write_policy: WritePolicy) -> None:
        """A policy without nesting or re-weighting has no group tree, so nothing about it changes."""
        flat = NESTED.replace("    missing: reweight\n", "").replace(", method: geometric_mean", "")
        flat = flat.replace("p1: {label: {zh: 支柱一, en: Pillar 1}, weight: 1, group: s1}", "")
        flat = flat.replace("group: p1", "group: s1")
        compiled = fineco_rules.compile_policy(_load(write_policy, flat))
        assert compiled.plan.tree == ()
        assert "group tree" not in str(compiled.plan.why_not_columnar)


class TestReweight:
    def test_a_missing_indicator_is_left_out_and_its_group_re_weighted(self, write_policy: WritePolicy) -> None:
        """`missing: reweight` drops the indicator; its group's other weights are scaled to add up to 1."""
        r = fineco_rules.evaluate(_load(write_policy, NESTED), [{"county": "320101", "b": 60, "c": 90}]).results[0]
        assert r.groups == {"p1": Decimal("60.00"), "s1": Decimal("60.00"), "s2": Decimal("90.00")}
        assert r.score == Decimal("75.00")
        assert r.indicators["ia"].score is None
        assert r.indicators["ia"].treatment == "left out: the rest of its group re-weighted"
        assert r.grade is fineco_rules.Grade.PASS

    def test_a_group_with_every_part_left_out_is_left_out_of_its_parent(self, write_policy: WritePolicy) -> None:
        """When all of a group's parts are left out, the level above re-weights without it."""
        r = fineco_rules.evaluate(_load(write_policy, NESTED), [{"county": "320101", "c": 90}]).results[0]
        assert r.groups == {"p1": None, "s1": None, "s2": Decimal("90.00")}
        assert r.score == Decimal("90.00")

    def test_an_indicator_without_the_rule_still_stops_grading(self, write_policy: WritePolicy) -> None:
        """Only indicators that say `missing: reweight` are left out; others keep not-graded."""
        r = fineco_rules.evaluate(_load(write_policy, NESTED), [{"county": "320101", "a": 5, "b": 60}]).results[0]
        assert r.grade is None
        assert r.missing == ("c",)
        assert [p.code for p in r.errors] == ["not-graded"]


AVAILABILITY = NESTED.replace("  method: weighted_mean\n", "  method: weighted_mean\n  availability: 2/3\n").replace(
    "group: s2\n    weight: 1\n", "group: s2\n    weight: 1\n    missing: reweight\n"
)


class TestAvailability:
    def test_a_unit_with_too_little_data_is_reported_as_screened_out(self, write_policy: WritePolicy) -> None:
        """Below the declared share of indicators with data, a unit is kept in the results, not graded."""
        ev = fineco_rules.evaluate(
            _load(write_policy, AVAILABILITY), [{"county": "320101", "c": 90}, {"county": "320102", "b": 60, "c": 90}]
        )
        first, second = ev.results
        assert first.county == "320101"
        assert first.grade is None and first.score is None
        assert [p.code for p in first.errors] == ["screened-out"]
        assert "data for 1 of 3 indicators, fewer than the 2/3" in first.errors[0].message
        assert second.score == Decimal("75.00")

    def test_screened_units_are_not_in_the_cohort(self, write_policy: WritePolicy) -> None:
        """Cohort scorers (min-max) are fitted only on the units that pass screening."""
        text = AVAILABILITY.replace(
            "scorer: linear\n    params: {input: c, worst: 0, best: 100}", "scorer: minmax\n    params: {input: c}"
        )
        compiled = fineco_rules.compile_policy(_load(write_policy, text))
        records = [
            {"county": "320101", "c": 100},  # screened out: its c must not stretch the range
            {"county": "320102", "a": 10, "b": 60, "c": 20},
            {"county": "320103", "a": 10, "b": 60, "c": 40},
        ]
        ev = compiled.evaluate(records)
        assert [r.indicators["ic"].score if r.indicators else None for r in ev.results] == [
            None,
            Decimal("0.00"),
            Decimal("100.00"),
        ]
        assert compiled.fit(records).size == 2


class TestColumnar:
    def test_the_columnar_path_grades_nested_policies_and_agrees(self, write_policy: WritePolicy) -> None:
        """Nested policies run on the columnar path (issue 15); the results are the row path's."""
        compiled = fineco_rules.compile_policy(_load(write_policy, NESTED))
        records = [{"county": "320101", "a": 1, "b": 2, "c": 90}, {"county": "320102", "b": 60, "c": 90}]
        columns = {"county": ["320101", "320102"], "a": [1, None], "b": [2, 60], "c": [90, 90]}
        columnar = evaluate_columns(compiled, columns)
        assert columnar.why_row is None
        assert [r.to_dict() for r in columnar.to_evaluation().results] == [
            r.to_dict() for r in compiled.evaluate(records).results
        ]

    def test_the_generated_grader_declines_nested_policies(self, write_policy: WritePolicy) -> None:
        """The generated row function leaves the group tree to the interpreter, and says so."""
        compiled = fineco_rules.compile_policy(_load(write_policy, NESTED))
        assert compiled.compiled_form.startswith("interpreted: nested groups")
        records = [{"county": "320101", "a": 1, "b": 2, "c": 90}]
        assert compiled.evaluate(records).results[0].score is not None


class TestCsv:
    def test_nested_groups_are_csv_columns(self, write_policy: WritePolicy, tmp_path: Path) -> None:
        """`fineco evaluate --format csv` gives each group of a nested policy its own column."""
        from fineco_rules.cli import main

        data = tmp_path / "data.csv"
        data.write_text("county,a,b,c\n320101,1,2,90\n", encoding="utf-8")
        out = tmp_path / "out.csv"
        code = main(["evaluate", "--policy", str(write_policy(NESTED)), str(data), "--format", "csv", "-o", str(out)])
        assert code in (0, 1)
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert rows[0][-4:] == ["s1", "p1", "s2", "errors"]
        assert rows[1][-4:-1] == ["1.67", "1.67", "90.00"]


# -- an independent evaluator in exact rationals ---------------------------------------------------------


@st.composite
def _trees(draw: st.DrawFn) -> tuple[list[int | None], list[list[int | None]], list[list[int]]]:
    """Groups (each one's parent index or None), each group's indicator values (None: missing) and
    relative sizes for the weights of every part."""
    count = draw(st.integers(min_value=1, max_value=5))
    parents: list[int | None] = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, count)]
    values = [draw(st.lists(st.one_of(st.none(), st.integers(0, 10000)), min_size=1, max_size=3)) for _ in range(count)]
    sizes = [draw(st.lists(st.integers(1, 9), min_size=8, max_size=8)) for _ in range(count + 1)]
    return parents, values, sizes


def _policy_text(
    parents: list[int | None], values: list[list[int | None]], sizes: list[list[int]], points: bool
) -> str:
    """A policy for the tree: indicator ``g{i}_{j}`` reads input ``x{i}_{j}`` and scores it linearly."""
    parts: dict[int | None, list[str]] = {}
    for i, parent in enumerate(parents):
        parts.setdefault(parent, []).append(f"g{i}")
    for i, vals in enumerate(values):
        parts.setdefault(i, []).extend(f"g{i}_{j}" for j in range(len(vals)))
    weight: dict[str, str] = {}
    for owner, names in parts.items():
        size = sizes[len(parents) if owner is None else owner][: len(names)]
        for name, k in zip(names, size, strict=True):
            weight[name] = (
                f'"{Fraction(k, sum(size))}"' if "/" in str(Fraction(k, sum(size))) else str(Fraction(k, sum(size)))
            )
    lines = ["id: tree", 'version: "1"', "label: {zh: 树, en: tree}", "effective_from: 2024-01-01", "inputs:"]
    for i, vals in enumerate(values):
        for j in range(len(vals)):
            lines.append(
                f"  x{i}_{j}: {{type: number, required: false, min: 0, max: 100, better: higher,"
                " label: {zh: x, en: x}}"
            )
    lines.append("indicators:")
    total = 0
    for i, vals in enumerate(values):
        for j in range(len(vals)):
            size = f"points: {sizes[i][j]}" if points else f"weight: {weight[f'g{i}_{j}']}"
            total += sizes[i][j]
            lines += [
                f"  g{i}_{j}:",
                "    label: {zh: i, en: i}",
                "    scorer: linear",
                f"    params: {{input: x{i}_{j}, worst: 0, best: 100}}",
                f"    group: g{i}",
                f"    {size}",
                "    missing: reweight",
            ]
    lines += ["aggregation:", f"  method: {'points' if points else 'weighted_mean'}"]
    if points:
        lines.append(f"  total: {total}")
    lines.append("  groups:")
    for i, parent in enumerate(parents):
        extra = "" if parent is None else f", group: g{parent}"
        extra += "" if points else f", weight: {weight[f'g{i}']}"
        lines.append(f"    g{i}: {{label: {{zh: g, en: g}}{extra}}}")
    lines += ["grades:", "  pass: {label: {zh: 达标, en: pass}, min_total: 0}"]
    return "\n".join(lines) + "\n"


def _exact(
    policy: fineco_rules.Policy, scores: dict[str, Decimal | None]
) -> tuple[dict[str, Fraction | None], Fraction | None]:
    """Each group's value and the total, top-down by recursion, in fractions: left-out parts dropped and
    the rest re-weighted (weights divided by their sum; points scaled by most / most reachable)."""
    agg = policy.aggregation
    out: dict[str, Fraction | None] = {}

    def most(name: str) -> Fraction:
        inds = [Fraction(i.max_score) for i in policy.indicators.values() if i.group == name]
        return sum(inds, Fraction(0)) + sum(
            (most(g) for g, grp in agg.groups.items() if grp.parent == name), Fraction(0)
        )

    def value(name: str | None) -> Fraction | None:
        parts: list[tuple[Fraction, Fraction, Fraction | None]] = []  # weight, most, value
        for ind in policy.indicators.values():
            if ind.group == name:
                score = scores[ind.name]
                parts.append(
                    (
                        ind.weight_exact or Fraction(0),
                        Fraction(ind.max_score),
                        None if score is None else Fraction(score),
                    )
                )
        for g, grp in agg.groups.items():
            if grp.parent == name:
                parts.append((grp.weight_exact or Fraction(0), most(g), value(g)))
        kept = [p for p in parts if p[2] is not None]
        result: Fraction | None = None
        if kept and agg.method == "points":
            result = (
                sum((v for _, _, v in kept if v is not None), Fraction(0))
                * sum(m for _, m, _ in parts)
                / sum(m for _, m, _ in kept)
            )
        elif kept:
            result = sum((w * v for w, _, v in kept if v is not None), Fraction(0)) / sum(w for w, _, _ in kept)
        if name is not None:
            out[name] = result
        return result

    return out, value(None)


def _rounded(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class TestAgainstExactRationals:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(tree=_trees(), points=st.booleans())
    def test_every_level_equals_the_exact_rational_evaluation(
        self, tree: tuple[list[int | None], list[list[int | None]], list[list[int]]], points: bool, tmp_path: Path
    ) -> None:
        """Nested groups and re-weighting agree with an independent evaluator in fractions, level by level."""
        parents, values, sizes = tree
        path = tmp_path / "tree.yaml"
        path.write_text(textwrap.dedent(_policy_text(parents, values, sizes, points)), encoding="utf-8")
        policy = fineco_rules.load_policy(path)
        record: dict[str, object] = {"county": "320101"}
        for i, vals in enumerate(values):
            for j, v in enumerate(vals):
                if v is not None:
                    record[f"x{i}_{j}"] = Decimal(v).scaleb(-2)
        r = fineco_rules.evaluate(policy, [record]).results[0]
        groups, total = _exact(policy, {n: i.score for n, i in r.indicators.items()})
        assert r.groups == {g: _rounded(v) for g, v in groups.items()}
        assert r.base_score == _rounded(total)
        assert (r.grade is None) == (total is None)


class TestReport:
    def test_a_report_carries_every_group_of_a_nested_policy(self, write_policy: WritePolicy) -> None:
        """The report's JSON and CSV give each county's sub-index values."""
        from fineco_rules.report import make_report

        report = make_report(_load(write_policy, NESTED), [{"county": "320101", "a": 1, "b": 2, "c": 90}])
        county = report.to_dict()["counties"][0]
        assert {k: str(v) for k, v in county["groups"].items()} == {"p1": "1.67", "s1": "1.67", "s2": "90.0"}
        head, row = list(csv.reader(io.StringIO(report.csv())))
        assert head[head.index("子指数一") : head.index("子指数二") + 1] == ["子指数一", "支柱一", "子指数二"]
        assert row[head.index("子指数一") : head.index("子指数二") + 1] == ["1.67", "1.67", "90.00"]
        head, row = list(csv.reader(io.StringIO(report.csv("en"))))
        assert head[head.index("s1") : head.index("s2") + 1] == ["s1", "p1", "s2"]


COUNTRIES = """\
id: countries
version: "1"
label: {en: Countries}
effective_from: 2024-01-01
unit: {key: country, label: {zh: 国家, en: country}}
inputs:
  gdp: {type: number, min: 0, better: higher, label: {en: GDP}}
indicators:
  g:
    label: {zh: 产出}
    scorer: minmax
    params: {input: gdp}
    weight: 1
aggregation: {method: weighted_mean}
grades:
  pass: {label: {en: pass}, min_total: 50}
"""


class TestUnits:
    def test_one_language_of_labels_is_enough(self, write_policy: WritePolicy) -> None:
        """A label in one language loads, and the other language falls back to it."""
        policy = _load(write_policy, COUNTRIES)
        assert policy.label == fineco_rules.Label("Countries", "Countries")
        assert policy.indicators["g"].label == fineco_rules.Label("产出", "产出")

    def test_csv_and_explain_use_the_policys_word_for_the_unit(
        self, write_policy: WritePolicy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The key column, the summary and explain's heading name the policy's unit, not "county"."""
        from fineco_rules.cli import main

        policy = write_policy(COUNTRIES)
        data = tmp_path / "data.csv"
        data.write_text("country,gdp\nSpain,10\nFrance,30\n", encoding="utf-8")
        main(["evaluate", "--policy", str(policy), str(data), "--format", "csv"])
        out, err = capsys.readouterr()
        assert out.splitlines()[0] == "country,name,city,grade,score,base_score,g,errors"
        assert "2 × country (country): 0 good, 1 pass, 1 fail, 0 not graded" in err
        main(["evaluate", "--policy", str(policy), str(data), "--format", "csv", "--lang", "zh"])
        assert capsys.readouterr().out.splitlines()[0].startswith("\ufeff国家,名称,")
        main(["explain", "--policy", str(policy), str(data), "--county", "Spain", "--lang", "en"])
        assert capsys.readouterr().out.splitlines()[0] == "Spain: Countries (country)"
