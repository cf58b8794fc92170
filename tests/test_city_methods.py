"""A city's method against the province's: the scale it may not change, and "no laxer" on every record."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from fineco_rules import Policy, PolicyError, load_policy
from fineco_rules.cli import main
from fineco_rules.quality.testing import check_policy

from .conftest import ROOT

#: The promotion-phase (2008–2009) method of every shipped example city.
SHIPPED_CITIES = sorted((ROOT / "policies" / "cities").glob("*/*-2008.yaml"))
#: Every shipped example city method, of every phase (2007, 2008–2009, 2010).
EVERY_CITY_METHOD = sorted(p for p in (ROOT / "policies" / "cities").glob("*/*.yaml") if ".cases." not in p.name)

#: Every group at the upper bound the province allows: the points add up to 125, not 100.
AT_EVERY_UPPER_BOUND = """\
aggregation:
  total: 125
indicators:
  credit: {points: 30}
  intermediary: {points: 10}
  legal: {points: 20}
  internal: {points: 25}
  policy: {points: 15}
  satisfaction: {points: 12}
  service: {points: 13}
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the shipped policies, so tests can add a city beside them."""
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def city(policies: Path, text: str) -> Path:
    path = policies / "cities" / "test" / "city.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = textwrap.dedent("""\
        id: test-city
        version: "2008"
        label: {zh: 测试市, en: test city}
        effective_from: 2008-01-01
        effective_until: 2009-12-31
        extends: {id: jiangsu-fineco-county, version: "2008", path: ../../jiangsu}
    """)
    path.write_text(header + textwrap.dedent(text), "utf-8")
    return path


def breaches(path: Path) -> list[tuple[str, str, str, str | None]]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [(p.code, p.message, str(p.location), str(p.see) if p.see else None) for p in info.value.problems]


class TestScaleIsFixed:
    """The province's total and method are the scale of its lines and bounds: a city may not change them."""

    def test_total_of_125_is_refused(self, policies: Path):
        """Every group at its upper bound with a total of 125 is refused, at the city's total and the province's."""
        [(code, message, where, see)] = breaches(city(policies, AT_EVERY_UPPER_BOUND))
        assert code == "scale-changed"
        assert message == (
            "aggregation.total is 125, but jiangsu-fineco-county 2008 fixes it at 100: "
            "its grade lines, gates and bounds are written on that scale"
        )
        assert where.startswith(f"{policies}/cities/test/city.yaml:8:")
        assert see is not None and "jiangsu/jiangsu-2007.yaml:" in see and "aggregation.total" in see

    def test_validate_refuses_it(self, policies: Path, capsys: pytest.CaptureFixture[str]):
        """`fineco validate` exits 1 and names both files."""
        code = main(["validate", str(city(policies, AT_EVERY_UPPER_BOUND))])
        err = capsys.readouterr().err
        assert code == 1
        assert "scale-changed" in err or "fixes it at 100" in err
        assert "city.yaml:8" in err and "jiangsu-2007.yaml" in err

    def test_same_total_is_allowed(self, policies: Path):
        """Re-weighting within the bounds on the province's total of 100 loads."""
        text = "indicators:\n  legal: {points: 18}\n  internal: {points: 17}\ngrades:\n  pass: {min_total: 63}\n"
        assert load_policy(city(policies, text)).aggregation.total == 100


class TestAdjustmentsStricterOnly:
    """Deductions may only weigh more, and a city adds no bonus of its own."""

    def test_lighter_deduction(self, policies: Path):
        """Halving the per-case deduction for debt evasion is refused."""
        path = city(policies, "adjustments:\n  debt_evasion: {per_unit: 0.5}\n")
        [(code, message, _, see)] = breaches(path)
        assert code == "not-stricter"
        assert message.startswith("adjustments.debt_evasion is laxer than the province's (deduction, per_unit 1")
        assert see is not None and "jiangsu-2007.yaml" in see

    def test_removed_deduction(self, policies: Path):
        """Dropping a deduction is refused."""
        path = city(policies, "adjustments:\n  debt_evasion: null\n")
        assert [m for _, m, _, _ in breaches(path)] == [
            "adjustments.debt_evasion was removed; the province only lets it be made stricter"
        ]

    def test_added_bonus(self, policies: Path):
        """A bonus of the city's own lifts totals over the province's lines: refused."""
        text = """\
            adjustments:
              gift:
                label: {zh: 加分, en: bonus}
                kind: bonus
                when: {input: satisfaction_score, op: ">=", value: 0}
                points: 5
        """
        [(code, message, _, _)] = breaches(city(policies, text))
        assert (code, message.split(";")[0]) == (
            "not-stricter",
            "adjustments.gift adds a bonus the province does not give",
        )

    def test_lower_deduction_cap(self, policies: Path):
        """Lowering the cap on all deductions is refused; raising it is allowed."""
        [(code, message, _, _)] = breaches(city(policies, "aggregation:\n  deduction_cap: 4\n"))
        assert (code, message) == ("not-stricter", "aggregation.deduction_cap is 4, laxer than the province's 8")
        assert load_policy(city(policies, "aggregation:\n  deduction_cap: 10\n")).aggregation.deduction_cap == 10

    def test_heavier_deduction_is_allowed(self, policies: Path):
        """A heavier deduction loads."""
        path = city(policies, "adjustments:\n  debt_evasion: {per_unit: 2, cap: 6}\naggregation:\n  deduction_cap: 9\n")
        assert str(load_policy(path).adjustments["debt_evasion"].per_unit) == "2"


GALLERY_PROVINCE = ROOT / "tests" / "gallery" / "laxer" / "province.yaml"


def small_city(tmp_path: Path, text: str) -> Path:
    """A city of the gallery's two-indicator province, in a copy of its folder."""
    folder = tmp_path / "laxer"
    folder.mkdir(exist_ok=True)
    shutil.copy(GALLERY_PROVINCE, folder / "province.yaml")
    path = tmp_path / "city.yaml"
    header = 'id: city\nversion: "1"\nlabel: {zh: 市, en: city}\neffective_from: 2008-01-01\n'
    path.write_text(header + 'extends: {id: gallery-province, version: "1", path: laxer}\n' + text, "utf-8")
    return path


class TestNoLaxerRule:
    """`fineco check` compares a city's method with the province's on every record (rule `laxer`)."""

    def test_tightened_city_is_proved(self, tmp_path: Path):
        """Same indicators, a higher pass line: proved statically, with no search."""
        report = check_policy(small_city(tmp_path, "grades:\n  pass: {min_total: 65}\n"), search=False)
        assert (report.laxer, report.parent, report.laxer_gaps, report.findings) == (
            "proved",
            "gallery-province 1",
            (),
            (),
        )

    def test_reweighted_city_with_same_lines_is_found(self, tmp_path: Path):
        """Ten points moved to law with the lines kept: a county strong in law passes only under the city."""
        path = small_city(tmp_path, "indicators:\n  legal: {points: 60}\n  internal: {points: 40}\n")
        report = check_policy(path, max_examples=5)
        [finding] = report.findings
        assert (finding.rule, finding.proved, report.laxer) == ("laxer", False, "broken")
        assert finding.message == (
            "the city grades this county pass (total 60.00) where gallery-province 1 grades it fail (total 50.00)"
        )
        assert dict(finding.counterexample[0]) == {"county": "320101", "law": 1, "money": 0}
        assert finding.location.file == str(path)
        assert finding.see is not None and finding.see.file is not None and finding.see.file.endswith("province.yaml")

    def test_reweighted_city_with_raised_lines_is_searched(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
        """Ten points moved and both lines raised by ten: nothing found, and it says searched, not proved."""
        text = "indicators:\n  legal: {points: 60}\n  internal: {points: 40}\ngrades:\n"
        text += "  pass: {min_total: 70}\n  good: {min_total: 90}\n"
        path = small_city(tmp_path, text)
        report = check_policy(path, max_examples=5)
        assert (report.findings, report.laxer) == ((), "searched")
        assert report.laxer_gaps == (
            "indicator 'legal' is not the province's (scorer, parameters, points, group or missing rule)",
            "indicator 'internal' is not the province's (scorer, parameters, points, group or missing rule)",
        )
        assert main(["check", "--max-examples", "5", str(path)]) == 0
        assert "  no laxer than gallery-province 1: searched, not proved (5 examples)\n" in capsys.readouterr().out
        assert report.to_dict()["laxer"]["how"] == "searched"

    def test_province_itself_has_no_laxer_rule(self):
        """A policy that extends no other id's is not compared: the rule does not apply."""
        report = check_policy(GALLERY_PROVINCE, search=False)
        assert (report.laxer, report.parent, "laxer" in report.to_dict()) == (None, None, False)

    @pytest.mark.parametrize("city_path", SHIPPED_CITIES, ids=[p.parent.name for p in SHIPPED_CITIES])
    def test_shipped_cities_are_no_laxer(self, city_path: Path):
        """No shipped city grades a county above the province, on the tilted walk and the search."""
        report = check_policy(city_path, max_examples=5)
        assert [f.rule for f in report.findings] == []
        assert report.laxer in ("proved", "searched")
        assert report.parent == "jiangsu-fineco-county 2008"

    @pytest.mark.parametrize("city_path", EVERY_CITY_METHOD, ids=[p.stem for p in EVERY_CITY_METHOD])
    def test_every_phase_is_no_laxer_than_its_provincial_file(self, city_path: Path):
        """Each city's method of each phase extends the provincial file of that phase and is no laxer than it."""
        report = check_policy(city_path, max_examples=5)
        assert [f.rule for f in report.findings] == []
        assert report.laxer in ("proved", "searched")
        assert report.parent == f"jiangsu-fineco-county {load_policy(city_path).version}"

    def test_wuxi_is_proved_statically(self):
        """Wuxi keeps every provincial indicator and only tightens: proved with no search at all."""
        report = check_policy(ROOT / "policies" / "cities" / "wuxi" / "wuxi-2008.yaml", search=False)
        assert (report.laxer, report.laxer_gaps, report.findings) == ("proved", (), ())

    def test_cities_differ(self):
        """The thirteen example cities are thirteen different methods, each within the province's constraints."""
        methods = {p.parent.name: load_policy(p) for p in SHIPPED_CITIES}
        assert len(methods) == 13

        def shape(m: Policy) -> tuple[object, ...]:
            lines = tuple(r.min_total for r in m.grades)
            gates = tuple(str(g) for r in m.grades for g in r.gates.values())
            points = tuple(sorted((i, str(x.points)) for i, x in m.indicators.items()))
            return lines, gates, points, m.aggregation.deduction_cap

        assert len({shape(m) for m in methods.values()}) == 13
