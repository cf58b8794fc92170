"""Loading policies: located errors, extends, versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fineco_rules import PolicyError, load_policy

from .conftest import SMALL, WritePolicy


def problems_of(path: Path, **kwargs: object) -> list[tuple[int | None, int | None, str, str, str | None]]:
    with pytest.raises(PolicyError) as info:
        load_policy(path, **kwargs)  # type: ignore[arg-type]
    return [(p.location.line, p.location.column, p.code, p.message, p.hint) for p in info.value.problems]


class TestLoad:
    def test_small_policy_loads(self, small):
        """A valid policy loads into frozen value objects with exact numbers."""
        assert small.id == "test-policy"
        assert small.version == "1"
        assert small.effective_from == dt.date(2008, 1, 1)
        assert small.indicators["ia"].weight == Decimal("0.5")
        assert small.grades[0].gates["npl_ok"].value == Decimal("0.06")
        assert small.inputs["a"].max == Decimal(1)

    def test_shipped_policy_loads(self, province):
        """The provincial policy shipped in policies/ loads."""
        assert province.id == "jiangsu-fineco-county"
        assert sum(i.points for i in province.indicators.values()) == province.aggregation.total == 100

    def test_misspelt_key_is_located_with_suggestion(self, write_policy: WritePolicy):
        """An unknown key names its line and column and suggests the right key."""
        path = write_policy(SMALL.replace("    weight: 0.5\n  ib:", "    wieght: 0.5\n  ib:"))
        found = problems_of(path)
        assert (14, 5, "unknown-key", "unknown key 'wieght'", "did you mean 'weight'?") in found

    def test_every_problem_is_collected(self, write_policy: WritePolicy):
        """Several mistakes are all reported at once, sorted by line."""
        text = SMALL.replace("type: ratio, better: higher", "type: ratoi, better: higher").replace(
            "min_total: 80", "min_total: lots"
        )
        found = problems_of(write_policy(text))
        assert [(line, code) for line, _, code, _, _ in found] == [(6, "not-allowed"), (29, "wrong-type")]
        assert found[0][4] == "did you mean 'ratio'?"
        assert found[1][3] == "expected a number, found the text 'lots'"

    def test_duplicate_key_is_an_error(self, write_policy: WritePolicy):
        """A key written twice is reported, not silently overwritten."""
        path = write_policy(SMALL.replace("effective_from: 2008-01-01\n", "effective_from: 2008-01-01\nid: other\n"))
        found = problems_of(path)
        assert found == [
            (
                5,
                1,
                "duplicate-key",
                "duplicate key 'id' (first defined at line 1)",
                "keep one of the two entries; YAML would silently keep only the last",
            )
        ]

    def test_unknown_scorer_suggests(self, write_policy: WritePolicy):
        """A misspelt scorer name gets a did-you-mean."""
        found = problems_of(
            write_policy(
                SMALL.replace("scorer: linear\n    params: {input: b", "scorer: linaer\n    params: {input: b")
            )
        )
        assert found == [
            (17, 13, "unknown-scorer", "no installed plugin provides the scorer 'linaer'", "did you mean 'linear'?")
        ]

    def test_params_are_checked_against_the_scorer_schema(self, write_policy: WritePolicy):
        """Scorer params are validated with the scorer's own schema, located in the file."""
        found = problems_of(
            write_policy(SMALL.replace("{input: a, worst: 0, best: 1}", "{input: a, worst: 0, bets: 1}"))
        )
        codes = {(line, code) for line, _, code, _, _ in found}
        assert (13, "unknown-key") in codes
        assert (13, "missing-key") in codes

    def test_scorer_reading_an_undeclared_input(self, write_policy: WritePolicy):
        """A scorer that reads a field not under inputs is an error with a suggestion."""
        found = problems_of(write_policy(SMALL.replace("{input: a, worst", "{input: aa, worst")))
        assert found[0][2] == "unknown-input"
        assert found[0][4] == "did you mean 'a'?"

    def test_weights_must_add_up(self, write_policy: WritePolicy):
        """Weights that do not add up to exactly 1 are a load error."""
        found = problems_of(write_policy(SMALL.replace("weight: 0.5\n  ib", "weight: 0.6\n  ib")))
        assert [(c, m) for _, _, c, m, _ in found] == [("bad-weights", "indicator weights add up to 1.1, not 1")]

    def test_weights_adding_up_in_decimal_are_accepted(self, write_policy: WritePolicy):
        """0.1 + 0.2 + 0.7 is exactly 1 (it is not in binary floats)."""
        text = SMALL.replace("weight: 0.5\n  ib", "weight: 0.3\n  ib").replace(
            "    weight: 0.5\naggregation", "    weight: 0.7\naggregation"
        )
        policy = load_policy(write_policy(text))
        assert policy.indicators["ia"].weight == Decimal("0.3")

    def test_points_must_add_up_to_total(self, province, tmp_path: Path):
        """Under the points method, indicator points must add up to the total."""
        text = (Path(__file__).parent.parent / "policies/jiangsu/jiangsu-2007.yaml").read_text("utf-8")
        broken = tmp_path / "p.yaml"
        broken.write_text(text.replace("    points: 25\n", "    points: 24\n"), "utf-8")
        found = problems_of(broken)
        assert [(c, m) for _, _, c, m, _ in found] == [
            ("bad-points", "indicator points add up to 99, not the stated total 100")
        ]

    def test_band_gap_is_located(self, write_policy: WritePolicy):
        """A gap between bands is a load error at the band that starts too late."""
        text = SMALL.replace(
            "    scorer: linear\n    params: {input: a, worst: 0, best: 1}",
            "    scorer: bands\n    params:\n      input: a\n      bands:\n"
            "        - {max: 0.5, points: 0}\n        - {min: 0.6, points: 100}",
        )
        found = problems_of(write_policy(text))
        assert found == [
            (17, 17, "bad-params", "gap between bands: nothing scores values from 0.5 to 0.6", "start this band at 0.5")
        ]

    def test_band_overlap_is_located(self, write_policy: WritePolicy):
        """Overlapping bands are a load error."""
        text = SMALL.replace(
            "    scorer: linear\n    params: {input: a, worst: 0, best: 1}",
            "    scorer: bands\n    params:\n      input: a\n      bands:\n"
            "        - {max: 0.5, points: 0}\n        - {min: 0.4, points: 100}",
        )
        assert problems_of(write_policy(text))[0][2:4] == (
            "bad-params",
            "bands overlap: values from 0.4 to 0.5 fall in two bands",
        )

    def test_period_ending_before_it_starts(self, write_policy: WritePolicy):
        """effective_until before effective_from is an error."""
        path = write_policy(
            SMALL.replace("effective_from: 2008-01-01\n", "effective_from: 2008-01-01\neffective_until: 2007-12-31\n")
        )
        assert problems_of(path)[0][2] == "bad-period"

    def test_condition_on_unknown_input(self, write_policy: WritePolicy):
        """A gate on an input that is not declared is an error with a suggestion."""
        found = problems_of(write_policy(SMALL.replace("{input: npl, op", "{input: nlp, op")))
        assert found[0][2:] == ("unknown-name", "unknown input 'nlp'", "did you mean 'npl'?")

    def test_python_tags_are_refused(self, write_policy: WritePolicy):
        """YAML tags that would build Python objects are refused."""
        path = write_policy(SMALL.replace('version: "1"', "version: !!python/object/apply:os.system ['echo hi']"))
        assert problems_of(path)[0][2] == "bad-tag"

    def test_missing_file(self, tmp_path: Path):
        """A path that does not exist is a clear error."""
        assert problems_of(tmp_path / "nope.yaml")[0][2] == "not-found"


PARENT = SMALL
CHILD = """\
id: test-city
version: "2"
label: {zh: 市政策, en: city policy}
effective_from: 2009-01-01
extends: {id: test-policy, version: "1"}
indicators:
  ia: {weight: 0.4}
  ib: {weight: 0.6}
grades:
  pass:
    gates:
      npl_ok: {value: 0.05}
"""


class TestExtends:
    def test_child_reweights_and_tightens(self, write_policy: WritePolicy):
        """A child changes weights and thresholds; the rest comes from the parent."""
        write_policy(PARENT, "parent.yaml")
        child = load_policy(write_policy(CHILD, "child.yaml"))
        assert child.id == "test-city"
        assert child.indicators["ia"].weight == Decimal("0.4")
        assert child.indicators["ia"].params == {"input": "a", "worst": 0, "best": 1}
        assert child.grades[0].gates["npl_ok"].value == Decimal("0.05")
        assert child.grades[0].min_total == 60
        assert [c[:2] for c in child.chain] == [("test-city", "2"), ("test-policy", "1")]

    def test_result_remembers_who_set_each_threshold(self, write_policy: WritePolicy, tmp_path: Path):
        """Every threshold and weight knows the file and version that set it."""
        write_policy(PARENT, "parent.yaml")
        child = load_policy(write_policy(CHILD, "child.yaml"))
        gate = child.grades[0].gates["npl_ok"]
        assert (Path(gate.origin.file).name, gate.origin.line, gate.origin.version) == ("child.yaml", 12, "2")
        floor = child.grades[0].origin
        assert (Path(floor.file).name, floor.line, floor.policy, floor.version) == (
            "parent.yaml",
            24,
            "test-policy",
            "1",
        )
        assert Path(child.indicators["ib"].weight_origin.file).name == "child.yaml"

    def test_child_breaking_weights_is_reported_in_child(self, write_policy: WritePolicy):
        """A child whose weights no longer add up gets the error."""
        write_policy(PARENT, "parent.yaml")
        path = write_policy(CHILD.replace("ib: {weight: 0.6}", "ib: {weight: 0.7}"), "child.yaml")
        assert problems_of(path)[0][2:4] == ("bad-weights", "indicator weights add up to 1.1, not 1")

    def test_switching_scorer_replaces_params(self, write_policy: WritePolicy):
        """A child that changes an indicator's scorer gives its params whole."""
        write_policy(PARENT, "parent.yaml")
        text = CHILD.replace(
            "  ia: {weight: 0.4}",
            "  ia:\n    weight: 0.4\n    scorer: bands\n    params:\n      input: a\n"
            "      bands: [{max: 0.5, points: 0}, {min: 0.5, points: 100}]",
        )
        child = load_policy(write_policy(text, "child.yaml"))
        assert child.indicators["ia"].scorer == "bands"
        assert set(child.indicators["ia"].params) == {"input", "bands"}

    def test_missing_parent(self, write_policy: WritePolicy):
        """A parent that cannot be found is a clear error at `extends`."""
        found = problems_of(write_policy(CHILD, "child.yaml"))
        assert found[0][0] == 5
        assert found[0][2] == "parent-not-found"

    def test_cycle(self, write_policy: WritePolicy):
        """Policies that extend each other are refused."""
        two = CHILD.replace('{id: test-policy, version: "1"}', '{id: test-city, version: "3"}')
        three = CHILD.replace('version: "2"', 'version: "3"').replace(
            '{id: test-policy, version: "1"}', '{id: test-city, version: "2"}'
        )
        write_policy(three, "b.yaml")
        found = problems_of(write_policy(two, "a.yaml"))
        assert found[0][2] == "extends-cycle"
        assert "test-city 2 -> test-city 3 -> test-city 2" in found[0][3]


class TestVersions:
    def two_versions(self, write_policy: WritePolicy) -> Path:
        write_policy(
            SMALL.replace("effective_from: 2008-01-01", "effective_from: 2008-01-01\neffective_until: 2009-12-31"),
            "v/one.yaml",
        )
        write_policy(
            SMALL.replace('version: "1"', 'version: "2"')
            .replace("2008-01-01", "2010-01-01")
            .replace("min_total: 80", "min_total: 85"),
            "v/two.yaml",
        )
        return write_policy("", "v/README").parent

    def test_as_of_picks_the_version_in_effect(self, write_policy: WritePolicy):
        """--as-of picks the version whose period holds the date."""
        folder = self.two_versions(write_policy)
        assert load_policy(folder, as_of=dt.date(2009, 6, 30)).version == "1"
        assert load_policy(folder, as_of=dt.date(2010, 1, 1)).version == "2"

    def test_folder_without_date_is_ambiguous(self, write_policy: WritePolicy):
        """A folder of several versions needs a date."""
        found = problems_of(self.two_versions(write_policy))
        assert found[0][2] == "ambiguous-version"

    def test_no_version_in_effect(self, write_policy: WritePolicy):
        """A date before every version is an error listing the periods."""
        found = problems_of(self.two_versions(write_policy), as_of=dt.date(2007, 1, 1))
        assert found[0][2] == "no-version"

    def test_overlapping_periods(self, write_policy: WritePolicy):
        """Two versions in effect on the same day are an error."""
        write_policy(SMALL, "v/one.yaml")
        write_policy(SMALL.replace('version: "1"', 'version: "2"').replace("2008-01-01", "2010-01-01"), "v/two.yaml")
        found = problems_of(write_policy("", "v/.keep").parent)
        assert found[0][2] == "overlapping-versions"

    def test_file_outside_its_period(self, write_policy: WritePolicy):
        """Asking for a file's policy on a date outside its period is refused."""
        assert problems_of(write_policy(), as_of=dt.date(2007, 1, 1))[0][2] == "not-in-effect"


class TestYamlSafety:
    @pytest.mark.parametrize(
        ("content", "code", "line"),
        [
            (b"", "empty", 1),
            (b"id: x\n\tversion: 1\n", "yaml-syntax", 2),
            (b"id: \xff\xfe\n", "not-utf8", 1),
            (b"\x00\x01binary", "binary", None),
            (b"- just\n- a list\n", "not-a-mapping", 1),
            (b"a: &a [*a]\n", "too-large", 1),
        ],
        ids=["empty", "tab", "not-utf8", "binary", "list-not-mapping", "self-alias"],
    )
    def test_bad_files(self, tmp_path: Path, content: bytes, code: str, line: int | None):
        """Files that are not a policy at all get a precise error, never a traceback."""
        path = tmp_path / "p.yaml"
        path.write_bytes(content)
        found = problems_of(path)
        assert (found[0][2], found[0][0]) == (code, line)

    def test_alias_bomb(self, tmp_path: Path):
        """A billion-laughs document is refused from its computed size, without expanding it."""
        lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        path = tmp_path / "p.yaml"
        path.write_text("\n".join(lines) + "\n", "utf-8")
        assert problems_of(path)[0][2] == "too-large"

    def test_not_a_number_is_reported_by_the_schema(self, write_policy: WritePolicy):
        """`.nan` where a number belongs is text, and the schema says so at its place."""
        found = problems_of(write_policy(SMALL.replace("min_total: 80", "min_total: .nan")))
        assert found[0][2:4] == ("wrong-type", "expected a number, found the text '.nan'")
