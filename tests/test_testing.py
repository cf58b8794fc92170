"""`fineco_rules.quality.testing`: strategies, property functions, and the core's own properties proved with them."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import fineco_rules
import fineco_rules.io
from fineco_rules import Better, Grade, Label, Scored, Scorer, hookimpl, testing
from fineco_rules.engine._records import (  # private unit under test (fineco_rules.engine._records)
    check_records,
    raw_from_mapping,
)
from fineco_rules.policy._anatomy import thresholds  # private unit under test (fineco_rules.policy._anatomy)
from fineco_rules.quality._strategies import (  # private unit under test (fineco_rules.quality._strategies)
    COHORT_SCORERS,
    ROW_SCORERS,
)
from fineco_rules.scoring import _builtin as _generic  # private unit under test

from .conftest import ROOT, SMALL, WritePolicy

SHIPPED = {
    path.stem: fineco_rules.load_policy(path)
    for path in sorted([*(ROOT / "policies/jiangsu").glob("*.yaml"), *(ROOT / "policies/cities").glob("*/*.yaml")])
    if not path.name.endswith(".cases.yaml")
}
COMPILED = {name: fineco_rules.compile_policy(policy) for name, policy in SHIPPED.items()}
NAMES = sorted(SHIPPED)
#: Each example grades a batch of the shipped policies' ~28 inputs: a third of the profile's examples keeps the
#: default (ci) run quick, and HYPOTHESIS_PROFILE=thorough still searches hundreds.
QUICK = settings(
    max_examples=settings.default.max_examples // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def example_records() -> list[fineco_rules.io.RawRecord]:
    return list(fineco_rules.read_records(ROOT / "examples/jiangsu-2008.csv").records)


class TestStrategies:
    """Records, improvements, invalid records and policies drawn for a policy are what they claim."""

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_records_are_valid(self, name: str, data: st.DataObject):
        """Every drawn record passes the policy's record check: declared types, within declared ranges."""
        policy = SHIPPED[name]
        record = data.draw(testing.records(policy))
        [checked], notes = check_records(policy, [raw_from_mapping(record, 0)])
        assert (checked.problems, notes) == ((), [])

    def test_edges_are_drawn(self):
        """Values exactly on a threshold and one step beside it are among those drawn for an input."""
        policy = SHIPPED["jiangsu-2008"]
        spec = policy.inputs["npl_ratio"]
        numbers = thresholds(policy)["npl_ratio"]
        assert numbers == {Decimal("0.06")}
        for edge in ("0.0599", "0.06", "0.0601"):
            assert find(testing.input_values(spec, numbers), lambda v, e=edge: v == Decimal(e)) == Decimal(edge)

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_improvements(self, name: str, data: st.DataObject):
        """A drawn pair differs in one input, and the second is better in that input's declared direction."""
        policy = SHIPPED[name]
        worse, better = data.draw(testing.improvements(policy))
        [moved] = [k for k in better if worse.get(k) != better[k]]
        up = policy.inputs[moved].better is Better.HIGHER
        assert (better[moved] > worse[moved]) is up

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_invalid_records_are_refused(self, name: str, data: st.DataObject):
        """Every drawn invalid record is refused, with a problem naming the county or field."""
        testing.assert_rejected(COMPILED[name], data.draw(testing.invalid_records(SHIPPED[name])))

    @settings(max_examples=settings.default.max_examples // 2, deadline=None)
    @given(data=testing.policies())
    def test_generated_policies_are_consistent(self, data: dict[str, Any]):
        """Every drawn policy loads and breaks no rule that the declarations decide."""
        report = testing.check_policy(testing.policy_from_mapping(data), search=False)
        assert [str(f) for f in report.findings] == []

    def test_every_scorer_is_exercised(self):
        """The shipped policies and the drawn policies between them use every installed scorer."""
        used = {i.scorer for p in SHIPPED.values() for i in p.indicators.values()}
        assert used | set(ROW_SCORERS + COHORT_SCORERS) == set(fineco_rules.make_plugin_host().scorers)
        assert {s.name for s in _generic.fineco_scorers()} == set(ROW_SCORERS + COHORT_SCORERS)

    def test_improvements_need_a_direction(self):
        """Asking to improve an input that declares no direction is an error naming it."""
        policy = testing.policy_from_text(SMALL.replace("better: lower, label: {zh: 不良", "label: {zh: 不良"))
        with pytest.raises(ValueError, match=r"^input 'npl' of test-policy 1 cannot improve: none declares a better"):
            testing.improvements(policy, field="npl")


class TestPropertiesOfShippedPolicies:
    """Every property function holds for every shipped policy, and so for every shipped plugin's scorers."""

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_monotone(self, name: str, data: st.DataObject):
        """Improving one input never lowers a score, the total or the grade."""
        testing.assert_monotone(COMPILED[name], *data.draw(testing.improvements(SHIPPED[name])))

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_batch_properties(self, name: str, data: st.DataObject):
        """Good implies pass; results are deterministic, order-invariant and in range."""
        batch = data.draw(testing.batches(SHIPPED[name], max_size=4))
        order = data.draw(st.permutations(range(len(batch))))
        compiled = COMPILED[name]
        testing.assert_good_implies_pass(compiled, batch)
        testing.assert_order_invariant(compiled, batch, order=order)
        testing.assert_deterministic(compiled, batch)
        testing.assert_scores_in_range(compiled, batch)

    @pytest.mark.parametrize("name", NAMES)
    def test_round_trips(self, name: str):
        """The policy dumped to one file and loaded again is the same policy and grades the examples alike."""
        testing.assert_round_trips(SHIPPED[name], example_records())

    @pytest.mark.parametrize("name", NAMES)
    def test_passes_check(self, name: str):
        """`fineco check` finds nothing (a few examples per search; tests/test_check.py searches more)."""
        testing.assert_passes_check(SHIPPED[name], max_examples=5)


class TestCoreProperties:
    """The engine's own properties, searched over the shipped policies and over drawn policies."""

    @pytest.mark.parametrize("name", NAMES)
    @QUICK
    @given(data=st.data())
    def test_worse_input_never_grades_higher(self, name: str, data: st.DataObject):
        """A county never grades higher after one of its inputs worsens."""
        worse, better = data.draw(testing.improvements(SHIPPED[name]))
        after, before = COMPILED[name].evaluate([worse, better]).results
        if after.grade is not None and before.grade is not None:
            assert after.grade <= before.grade

    @settings(
        max_examples=settings.default.max_examples // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(data=st.data())
    def test_drawn_policies(self, data: st.DataObject):
        """On drawn policies: round trip, determinism, order invariance, scores in range, monotone."""
        policy = testing.policy_from_mapping(data.draw(testing.policies()))
        compiled = fineco_rules.compile_policy(policy)
        batch = data.draw(testing.batches(policy, max_size=5))
        testing.assert_round_trips(policy, batch)
        testing.assert_deterministic(compiled, batch)
        testing.assert_order_invariant(compiled, batch, order=data.draw(st.permutations(range(len(batch)))))
        testing.assert_scores_in_range(compiled, batch)
        testing.assert_good_implies_pass(compiled, batch)
        worse, better = data.draw(testing.improvements(policy))
        testing.assert_monotone(compiled, worse, better, others=batch[1:])

    def test_dump_is_one_standalone_file(self, tmp_path: Path):
        """A city's policy dumps to one file without `extends` that loads on its own to the same document."""
        suzhou = SHIPPED["suzhou-2008"]
        path = tmp_path / "flat.yaml"
        path.write_text(testing.dump_policy(suzhou), "utf-8")
        flat = fineco_rules.load_policy(path)
        assert "extends" not in path.read_text("utf-8")
        assert (flat.chain, flat.document.data) == (
            (("suzhou-fineco-county", "2008", str(path)),),
            {k: v for k, v in suzhou.document.data.items() if k != "extends"},  # type: ignore[union-attr]
        )


class Hump(Scorer):
    """Says higher is better, but scores most at 0.5."""

    name = "hump"
    version = "0.1"
    label = Label("驼峰", "hump")
    params_schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}

    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        return {params["input"]: Better.HIGHER}

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        field = params["input"]
        return lambda values: Scored((1 - abs(2 * values[field] - 1)) * max_score)


class Shaky(Hump):
    """Scores at random."""

    name = "shaky"

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        return lambda values: Scored(Decimal(random.randint(0, 100)))


class Overflow(Hump):
    """Doubles the maximum at the top of the range."""

    name = "overflow"

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        field = params["input"]
        return lambda values: Scored(values[field] * 2 * max_score)


class FirstWins(Hump):
    """A cohort scorer that gives the first county full points and the rest none."""

    name = "first_wins"
    cohort = True

    def build(self, params: Mapping[str, Any], max_score: Decimal) -> Any:
        return lambda rows: [Scored(max_score if i == 0 else Decimal(0)) for i in range(len(rows))]


class Broken:
    @hookimpl
    def fineco_scorers(self) -> Sequence[Scorer]:
        return [Hump(), Shaky(), Overflow(), FirstWins()]


def with_scorer(write_policy: WritePolicy, scorer: str) -> fineco_rules.CompiledPolicy:
    """The small policy with indicator `ia` scored by ``scorer``."""
    text = SMALL.replace(
        "scorer: linear\n    params: {input: a, worst: 0, best: 1}", f"scorer: {scorer}\n    params: {{input: a}}"
    )
    host = fineco_rules.make_plugin_host(plugins=[Broken()])
    return fineco_rules.compile_policy(fineco_rules.load_policy(write_policy(text), host=host), host)


RECORD = {"county": "320581", "a": Decimal("0.5"), "b": Decimal(50), "npl": Decimal("0.03")}


class TestPropertyErrors:
    """A property that does not hold raises PropertyError with the rule, the place and the records."""

    def test_monotone(self, write_policy: WritePolicy):
        """Raising `a` past the hump lowers indicator ia: rule monotone, at the indicator's line."""
        compiled = with_scorer(write_policy, "hump")
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_monotone(compiled, RECORD, {**RECORD, "a": Decimal("0.9")})
        error = info.value
        assert isinstance(error, AssertionError) and isinstance(error, fineco_rules.FinecoError)
        assert (error.rule, error.finding.location.line, error.counterexample) == ("monotone", 11, (RECORD,))
        assert error.finding.message == (
            "raising 'a' from 0.5 to 0.9 (better: higher), all else equal, lowers indicator 'ia' from 100.00 to 20.00"
        )

    def test_monotone_needs_one_improved_input(self, small: fineco_rules.Policy):
        """Records that differ in two inputs, or move one the wrong way, are a ValueError."""
        with pytest.raises(ValueError, match=re.escape("they differ in ['a', 'b']")):
            testing.assert_monotone(small, RECORD, {**RECORD, "a": Decimal(1), "b": Decimal(60)})
        with pytest.raises(ValueError, match=re.escape("a = 0.4 is not better than 0.5 (better: higher)")):
            testing.assert_monotone(small, RECORD, {**RECORD, "a": Decimal("0.4")})

    def test_order(self, write_policy: WritePolicy):
        """A cohort scorer that rewards the first county breaks order invariance."""
        compiled = with_scorer(write_policy, "first_wins")
        batch = [RECORD, {**RECORD, "county": "320582"}]
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_order_invariant(compiled, batch)
        assert info.value.rule == "order"
        assert info.value.finding.message == (
            "reordering the batch changes county 320581's result: indicator 'ia' scored 100.00, then 0.00 "
            "(order [1, 0])"
        )

    def test_deterministic(self, write_policy: WritePolicy):
        """A scorer that rolls dice is not deterministic (seeded so that two rolls differ)."""
        random.seed(3)
        compiled = with_scorer(write_policy, "shaky")
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_deterministic(compiled, [RECORD])
        assert info.value.rule == "deterministic"

    def test_scores_in_range(self, write_policy: WritePolicy):
        """A score above the indicator's maximum is rule score-range, with the county's record."""
        compiled = with_scorer(write_policy, "overflow")
        record = {**RECORD, "a": Decimal("0.75")}
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_scores_in_range(compiled, [record])
        assert (info.value.rule, info.value.counterexample) == ("score-range", (record,))
        assert info.value.finding.message.endswith("failed: score 150.00 is outside [0, 100]")

    def test_rejected(self, small: fineco_rules.Policy):
        """A valid record given as invalid fails assert_rejected; an invalid one passes it."""
        testing.assert_rejected(small, {**RECORD, "a": "1.5"})
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_rejected(small, RECORD)
        assert info.value.rule == "invalid-record"
        assert info.value.finding.message == "an invalid record was not refused (graded fail)"

    def test_passes_check_lists_every_finding(self):
        """assert_passes_check raises with every finding of `fineco check`."""
        policy = fineco_rules.load_policy(ROOT / "tests/gallery/band-end-gap.yaml")
        with pytest.raises(testing.PropertyError) as info:
            testing.assert_passes_check(policy, search=False)
        assert [f.rule for f in info.value.findings] == ["monotone", "bands"]

    def test_good_implies_pass_holds(self):
        """Every good county of the 2008 examples meets every pass condition."""
        testing.assert_good_implies_pass(SHIPPED["jiangsu-2008"], example_records())
        assert sum(r.grade is Grade.GOOD for r in COMPILED["jiangsu-2008"].evaluate(example_records())) == 7


def python_blocks(doc: Path) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown file, with the line each opens on."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(doc.read_text("utf-8").splitlines(), 1):
        if current is None and line.strip() == "```python":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, "\n".join(current) + "\n"))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


class TestDocs:
    """docs/testing.md: the worked example runs as written."""

    def test_worked_example_runs(self, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path):
        """Its Python blocks run in order in one namespace; its cases file passes against its policy."""
        monkeypatch.chdir(ROOT)
        doc = ROOT / "docs" / "testing.md"
        blocks = python_blocks(doc)
        assert len(blocks) >= 4
        namespace: dict[str, Any] = {"__name__": "__docs__"}
        for line, text in blocks:
            exec(compile(text, f"{doc}:{line}", "exec"), namespace)
        assert capsys.readouterr().out.splitlines()[0] == "score-range"
        (cases,) = re.findall(r"```yaml\n(# guarantee-test\.cases\.yaml.*?)```", doc.read_text("utf-8"), re.S)
        (tmp_path / "guarantee-test.yaml").write_text(namespace["POLICY"], "utf-8")
        (tmp_path / "guarantee-test.cases.yaml").write_text(cases, "utf-8")
        report = testing.run_cases(tmp_path / "guarantee-test.cases.yaml", host=namespace["host"])
        assert [(o.case.id, o.passed) for o in report.outcomes] == [
            ("on-target", True),
            ("above-target-is-capped", True),
            ("half-way", True),
        ]
