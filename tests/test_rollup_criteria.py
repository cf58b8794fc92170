"""Roll-up criteria are data: declared under the policy's `rollup:` key, read by one core module
(fineco_rules.scoring.rollup) that both `fineco rollup` and the credit scorer use; the core never imports a plugin."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import fineco_rules
from fineco_rules import PolicyError, load_policy, make_plugin_host
from fineco_rules.scale import rollup

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLD = ROOT / "policies" / "households" / "credit-household-2008.yaml"
JIANGSU = ROOT / "policies" / "jiangsu"
SMALL = ROOT / "examples" / "households-small.csv"
D = Decimal
#: The village criterion edited in every test below: at least 60 % credit households, raised to 75 %.
OLD = 'field: credit_household_share\n      op: ">="\n      value: 0.60'
NEW = 'field: credit_household_share\n      op: ">="\n      value: 0.75'
COUNTY_OLD = '{field: credit_household_share, op: ">=", value: 0.60}'
COUNTY_NEW = '{field: credit_household_share, op: ">=", value: 0.75}'


def figures(criteria: fineco_rules.scoring.rollup.Criteria) -> list[tuple[str, str, str, Decimal]]:
    return [(level, c.field, c.op, c.value) for level in ("village", "township") for c in criteria.of(level)]


def household_policy(tmp_path: Path, old: str = OLD, new: str = NEW) -> Path:
    text = HOUSEHOLD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "household.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")  # the first: under `rollup.village`
    return path


def unit(code: str, level: str, households: str, parent: str = "") -> dict[str, object]:
    return {
        "unit": code,
        "name": f"u{code}",
        "level": level,
        "parent": parent,
        "rated_before": True,
        "credit_household_share": D(households),
        "on_time_repayment": D("0.97"),
        "npl_ratio": D("0.01"),
    }


#: One township (70 % credit households) with two villages at 70 % and 80 %: all rated under 60 %.
UNITS = [unit("1", "township", "0.70"), unit("11", "village", "0.70", "1"), unit("12", "village", "0.80", "1")]


def credit_details(policy: fineco_rules.Policy, township: str, village: str) -> dict[str, object]:
    """The credit scorer of a county policy, built from its params as the policy gives them, on UNITS
    (with the county reporting the shares that re-rating them gives)."""
    indicator = policy.indicators["credit"]
    scorer = make_plugin_host().scorer(indicator.scorer).scorer
    function = scorer.build(indicator.params, indicator.max_score)
    values = {
        "credit_township_share": D(township),
        "credit_village_share": D(village),
        "credit_community_share": D("0.6"),
        "credit_household_share": D("0.55"),
        "red_list_enterprises": D(75),
        "small_loan_coverage": D("0.6"),
        "credit_units": UNITS,
    }
    details = function(values).details["roll_up"]
    assert isinstance(details, dict)
    return details


class TestOneSourceOfTruth:
    def test_shipped_policies_declare_the_same_criteria(self) -> None:
        """Every shipped county policy repeats the household policy's criteria figure for figure."""
        provincial = load_policy(HOUSEHOLD).rollup
        assert provincial is not None
        assert figures(provincial) == [
            ("village", "credit_household_share", ">=", D("0.60")),
            ("village", "on_time_repayment", ">=", D("0.95")),
            ("village", "npl_ratio", "<", D("0.05")),
            ("township", "credit_household_share", ">=", D("0.50")),
            ("township", "npl_ratio", "<", D("0.05")),
            ("township", "credit_village_share", ">=", D("0.60")),
        ]
        cities = sorted(p for p in (ROOT / "policies" / "cities").glob("*/*.yaml") if ".cases." not in p.name)
        for path in (*sorted(JIANGSU.glob("jiangsu-*[0-9].yaml")), *cities):
            county = load_policy(path).rollup
            assert county is not None, path
            assert figures(county) == figures(provincial), path

    def test_every_assumed_figure_is_labelled(self) -> None:
        """Each criterion of the shipped household policy says it is an assumption of the example."""
        provincial = load_policy(HOUSEHOLD).rollup
        assert provincial is not None
        for level in ("village", "township"):
            for criterion in provincial.of(level):
                assert criterion.label is not None
                assert "示例假设" in criterion.label.zh and "assumption of this example" in criterion.label.en
        assert "rollup" in load_policy(HOUSEHOLD).assumptions


class TestCriteriaChangeBothUsers:
    def test_fineco_rollup_follows_the_policy(self, tmp_path: Path) -> None:
        """Raising the village household share in the policy lowers `fineco rollup`'s credit villages."""
        before = rollup(load_policy(HOUSEHOLD), SMALL, engine="row", reader="csv")
        after = rollup(load_policy(household_policy(tmp_path)), SMALL, engine="row", reader="csv")
        assert [c.county for c in after.counties] == [c.county for c in before.counties]
        assert sum(c.credit_villages for c in after.counties) < sum(c.credit_villages for c in before.counties)
        for old, new in zip(before.counties, after.counties, strict=True):
            assert new.households == old.households and new.credit_households == old.credit_households
            assert {v for v, held in new.village_ratings.items() if held} <= {
                v for v, held in old.village_ratings.items() if held
            }

    def test_credit_scorer_follows_the_policy(self, tmp_path: Path) -> None:
        """The same edit in a county policy's `rollup:` makes its credit scorer withdraw the 70 % village."""
        folder = tmp_path / "jiangsu"
        shutil.copytree(JIANGSU, folder)
        base = folder / "jiangsu-2007.yaml"
        text = base.read_text(encoding="utf-8")
        assert text.count(COUNTY_OLD) == 1
        before = credit_details(load_policy(JIANGSU / "jiangsu-2008.yaml"), "1", "1")
        base.write_text(text.replace(COUNTY_OLD, COUNTY_NEW), encoding="utf-8")
        # 2008 inherits the 2007 base's `rollup:` key.
        after = credit_details(load_policy(folder / "jiangsu-2008.yaml"), "0", "0.5")
        assert before["village"] == {"kept": ["u11 (11)", "u12 (12)"], "lost": [], "newly_rated": [], "not_rated": []}
        assert after["village"] == {"kept": ["u12 (12)"], "lost": ["u11 (11)"], "newly_rated": [], "not_rated": []}
        assert (before["village_share"], after["village_share"]) == (D(1), D("0.5"))
        # The township holds 1 of 2 villages (50 %) against the 60 % it needs: it loses its rating too.
        assert after["township"] == {"kept": [], "lost": ["u1 (1)"], "newly_rated": [], "not_rated": []}

    def test_scorer_without_criteria_is_refused(self) -> None:
        """A policy that gives the credit scorer a units table but declares no `rollup:` is told to add one."""
        scorer = make_plugin_host().scorer("credit_environment").scorer
        with pytest.raises(fineco_rules.ParamError, match=r"declares no `rollup:` section"):
            scorer.build({"units": "credit_units"}, D(25))


class TestCriteriaErrorsAreLocated:
    def line_of(self, path: Path, text: str) -> int:
        """The first line that is not a comment and holds ``text``."""
        lines = path.read_text(encoding="utf-8").splitlines()
        return next(n for n, line in enumerate(lines, 1) if text in line and not line.lstrip().startswith("#"))

    def test_schema_error(self, tmp_path: Path) -> None:
        """An operator the schema does not know is reported at its file, line and column."""
        path = household_policy(tmp_path, 'op: "<"\n      value: 0.05', 'op: "=<"\n      value: 0.05')
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        problem = caught.value.problems[0]
        assert (problem.location.file, problem.location.line) == (str(path), self.line_of(path, '"=<"'))
        assert problem.location.column == 11
        assert "rollup" in str(problem)

    def test_village_rated_by_village_share(self, tmp_path: Path) -> None:
        """A village criterion on the township-only village share is refused where it is written."""
        path = household_policy(tmp_path, OLD, OLD.replace("credit_household_share", "credit_village_share"))
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        (problem,) = caught.value.problems
        assert problem.code == "bad-rollup"
        assert (problem.location.line, problem.location.column) == (
            self.line_of(path, "- field: credit_village_share"),
            14,
        )

    def test_unknown_field(self, tmp_path: Path) -> None:
        """A household policy's criterion on a field it neither counts nor declares names the closest one."""
        path = household_policy(tmp_path, "field: on_time_repayment", "field: on_time_repaymnt")
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        (problem,) = caught.value.problems
        assert problem.code == "unknown-input"
        assert problem.hint == "did you mean 'on_time_repayment'?"
        assert problem.location.line == self.line_of(path, "on_time_repaymnt")

    def test_rollup_needs_criteria(self, tmp_path: Path) -> None:
        """`fineco rollup` under a household policy without `rollup:` says how to declare the criteria."""
        text = HOUSEHOLD.read_text(encoding="utf-8")
        start, end = text.index("\nrollup:\n"), text.index("\nassumptions:\n")
        path = tmp_path / "household.yaml"
        path.write_text(text[:start] + text[end:], encoding="utf-8")
        with pytest.raises(PolicyError) as caught:
            rollup(load_policy(path), SMALL)
        (problem,) = caught.value.problems
        assert problem.code == "no-rollup-criteria"
        assert (problem.location.line, problem.location.path) == (self.line_of(path, "key: household"), "unit")


#: Imports every fineco_rules module and runs `fineco rollup` with fineco_indicators made unimportable.
BLIND = r"""
import importlib, importlib.abc, pkgutil, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "fineco_indicators":
            raise ImportError("fineco_rules imported the fineco_indicators plugin")
        return None

sys.meta_path.insert(0, Refuse())
import fineco_rules
for info in pkgutil.walk_packages(fineco_rules.__path__, "fineco_rules."):
    if info.name.endswith("__main__"):  # runs the command line on import
        continue
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        if "fineco_indicators" in str(exc):
            raise
        print("skipped", info.name, exc, file=sys.stderr)  # an optional extra (dask) that is not installed
from fineco_rules.cli import main
code = main(["rollup", "--policy", sys.argv[1], sys.argv[2], "-q", "-o", sys.argv[3]])
assert code == 0, code
assert not [m for m in sys.modules if m.split(".")[0] == "fineco_indicators"]
print("blind")
"""


class TestCoreIsBlindToPlugins:
    def test_no_source_file_imports_a_plugin(self) -> None:
        """No module of fineco_rules names fineco_indicators in an import."""
        pattern = re.compile(r"^\s*(from|import)\s+fineco_indicators\b", re.MULTILINE)
        found = [p for p in (ROOT / "fineco_rules").rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
        assert found == []

    def test_every_module_and_rollup_run_without_the_plugin(self, tmp_path: Path) -> None:
        """With fineco_indicators unimportable, every fineco_rules module loads and `fineco rollup` runs."""
        blocked = ",".join(
            ep.name
            for ep in __import__("importlib.metadata").metadata.entry_points(group="fineco_rules")
            if ep.value.startswith("fineco_indicators")
        )
        env = {**os.environ, "FINECO_BLOCK_PLUGINS": blocked}
        out = tmp_path / "rollup.json"
        done = subprocess.run(
            [sys.executable, "-c", BLIND, str(HOUSEHOLD), str(SMALL), str(out)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("blind")
        assert out.exists()
