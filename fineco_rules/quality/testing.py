"""Testing policies and scorer plugins: Hypothesis strategies over a policy, property functions that fail
with the county record that shows the broken rule, and the ``fineco check`` and ``fineco test`` machinery."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from fineco_rules.engine._engine import CompiledPolicy, compile_policy
from fineco_rules.engine._records import check_records, raw_from_mapping
from fineco_rules.errors import Code, Location, PropertyError
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Grade, Policy
from fineco_rules.quality._cases import CaseReport, CasesError, CaseSuite, cases_schema, load_cases, run_cases
from fineco_rules.quality._check import (
    RULES,
    CheckReport,
    Finding,
    check_policy,
    compare_improvement,
    result_difference,
)
from fineco_rules.quality._strategies import (
    batches,
    county_codes,
    dump_policy,
    improvements,
    input_values,
    invalid_records,
    policies,
    policy_from_mapping,
    policy_from_text,
    records,
)
from fineco_rules.scoring._host import PluginHost
from fineco_rules.scoring._scorer import Better

__all__ = [
    "RULES",
    "CaseReport",
    "CaseSuite",
    "CasesError",
    "CheckReport",
    "Finding",
    "PropertyError",
    "assert_deterministic",
    "assert_good_implies_pass",
    "assert_monotone",
    "assert_order_invariant",
    "assert_passes_check",
    "assert_rejected",
    "assert_round_trips",
    "assert_scores_in_range",
    "batches",
    "cases_schema",
    "check_policy",
    "county_codes",
    "dump_policy",
    "improvements",
    "input_values",
    "invalid_records",
    "load_cases",
    "policies",
    "policy_from_mapping",
    "policy_from_text",
    "records",
    "run_cases",
]

#: Record problems that mean "this record is refused", as :func:`assert_rejected` expects.
REFUSALS: Final = frozenset({Code.MISSING_COUNTY, Code.BAD_COUNTY, Code.MISSING_INPUT, Code.BAD_VALUE})


_COMPILED: weakref.WeakKeyDictionary[Policy, CompiledPolicy] = weakref.WeakKeyDictionary()


def _compiled(policy: Policy | CompiledPolicy, host: PluginHost | None) -> CompiledPolicy:
    """Compile once per policy: property functions run for every example Hypothesis draws."""
    if isinstance(policy, CompiledPolicy):
        return policy
    if host is not None:
        return compile_policy(policy, host)
    if policy not in _COMPILED:
        _COMPILED[policy] = compile_policy(policy)
    return _COMPILED[policy]


def _raw(records: Iterable[Mapping[str, object] | RawRecord]) -> list[RawRecord]:
    return [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]


def _shown(record: Mapping[str, object] | RawRecord) -> Mapping[str, object]:
    return record.values if isinstance(record, RawRecord) else record


def _raise(rule: str, message: str, where: Location, shown: Iterable[Mapping[str, object]]) -> None:
    raise PropertyError(Finding(rule, message, where, False, tuple(shown)))


def assert_monotone(
    policy: Policy | CompiledPolicy,
    worse: Mapping[str, object],
    better: Mapping[str, object],
    *,
    others: Sequence[Mapping[str, object]] = (),
    host: PluginHost | None = None,
) -> None:
    """``better`` (one input moved in its declared better direction) grades no lower than ``worse``.

    No indicator score, the total, or the grade may fall. ``others`` are graded alongside, for cohort
    scorers. Raises :class:`PropertyError` (rule ``monotone``) naming what fell and where the policy sets it;
    ``ValueError`` when the two records do not differ in exactly one input in its better direction.
    """
    compiled = _compiled(policy, host)
    plain = compiled.policy
    typed, _ = check_records(plain, _raw([worse, better]))
    before, after = typed[0].values, typed[1].values
    moved = [name for name in plain.inputs if before.get(name) != after.get(name)]
    if len(moved) != 1:
        raise ValueError(f"the records must differ in exactly one input; they differ in {moved or 'none'}")
    (name,) = moved
    direction = plain.inputs[name].better
    was, now = before[name], after[name]
    if direction is Better.NONE:
        raise ValueError(f"input {name!r} declares no better direction (better: higher or lower)")
    if not isinstance(was, Decimal | bool) or not isinstance(now, Decimal | bool):
        raise ValueError(f"input {name!r} must be a number or true/false in both records, found {was!r} and {now!r}")
    if (now > was) != (direction is Better.HIGHER):
        raise ValueError(f"{name} = {now} is not better than {was} (better: {direction.value})")
    old = compiled.evaluate([worse, *others]).results[0]
    new = compiled.evaluate([better, *others]).results[0]
    finding = compare_improvement(plain, name, direction, True, (was, now), old, new, [worse, *others], bool(others))
    if finding is not None:
        raise PropertyError(finding)


def assert_good_implies_pass(
    policy: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord],
    *,
    host: PluginHost | None = None,
) -> None:
    """Every county graded good meets every condition of pass, and no veto fires on it."""
    batch = _raw(records)
    compiled = _compiled(policy, host)
    for result, record in zip(compiled.evaluate(batch).results, batch, strict=True):
        if result.grade is not Grade.GOOD:
            continue
        missed = [c for c in result.checks.get(Grade.PASS, ()) if not c.met]
        missed += [v for v in result.vetoes if v.met]
        if missed:
            check = missed[0]
            _raise(
                "nested",
                f"county {result.county} is good but {check.id} ({check.subject} {check.op} {check.threshold}) "
                f"{'fires' if check.kind == 'veto' else 'does not hold'}",
                Location(check.origin.file, check.origin.line, check.origin.column, check.id),
                [_shown(record.values)],
            )


def assert_order_invariant(
    policy: Policy | CompiledPolicy,
    records: Sequence[Mapping[str, object] | RawRecord],
    *,
    order: Sequence[int] | None = None,
    host: PluginHost | None = None,
) -> None:
    """Each county's result is the same with the batch in another ``order`` (default: reversed)."""
    batch = _raw(records)
    order = list(order) if order is not None else list(range(len(batch)))[::-1]
    if sorted(order) != list(range(len(batch))):
        raise ValueError(f"order must be a permutation of 0..{len(batch) - 1}, found {list(order)}")
    compiled = _compiled(policy, host)
    found = result_difference(compiled.policy, compiled.evaluate(batch), compiled.evaluate([batch[i] for i in order]))
    if found is not None:
        county, where, what = found
        message = f"reordering the batch changes county {county}'s result: {what} (order {list(order)})"
        _raise("order", message, where, [r.values for r in batch])


def assert_deterministic(
    policy: Policy | CompiledPolicy,
    records: Sequence[Mapping[str, object] | RawRecord],
    *,
    host: PluginHost | None = None,
) -> None:
    """Grading the records again, and with a freshly compiled policy, gives the same results."""
    batch = _raw(records)
    compiled = _compiled(policy, host)
    first = compiled.evaluate(batch)
    for how, again in (
        ("grading the same records twice", compiled.evaluate(batch)),
        ("a freshly compiled policy", compile_policy(compiled.policy, compiled.host).evaluate(batch)),
    ):
        found = result_difference(compiled.policy, first, again)
        if found is not None:
            county, where, what = found
            _raise("deterministic", f"{how} gives different results for county {county}: {what}", where, [])


def assert_scores_in_range(
    policy: Policy | CompiledPolicy,
    records: Sequence[Mapping[str, object] | RawRecord],
    *,
    host: PluginHost | None = None,
) -> None:
    """No scorer fails on these (valid) records, every score lies in ``[0, max]``, and no total is below 0."""
    batch = _raw(records)
    compiled = _compiled(policy, host)
    plain = compiled.policy
    for result, record in zip(compiled.evaluate(batch).results, batch, strict=True):
        for name, indicator in result.indicators.items():
            origin = plain.indicators[name].origin
            where = Location(origin.file, origin.line, origin.column, f"indicators.{name}")
            if indicator.error is not None:
                rule = "score-range" if "is outside [0," in indicator.error.message else "scorer-error"
                _raise(rule, f"indicator {name!r}: {indicator.error.message}", where, [record.values])
            if indicator.score is not None and not Decimal(0) <= indicator.score <= indicator.max_score:
                message = f"indicator {name!r} scored {indicator.score}, outside [0, {indicator.max_score}]"
                _raise("score-range", message, where, [record.values])
        if result.score is not None and result.score < 0:
            _raise("score-range", f"the total is {result.score}, below 0", Location(plain.file), [record.values])


def assert_rejected(
    policy: Policy | CompiledPolicy,
    record: Mapping[str, object] | RawRecord,
    *,
    host: PluginHost | None = None,
) -> None:
    """The record is refused: not graded, with a problem that names the field (as for an invalid record)."""
    compiled = _compiled(policy, host)
    [result] = compiled.evaluate(_raw([record])).results
    refused = [p for p in result.errors if p.code in REFUSALS]
    if result.graded or not refused:
        got = "graded " + result.grade.value if result.grade is not None else f"not graded: {result.errors}"
        _raise(
            "invalid-record",
            f"an invalid record was not refused ({got})",
            Location(compiled.policy.file),
            [_shown(record)],
        )


def assert_round_trips(
    policy: Policy,
    records: Sequence[Mapping[str, object] | RawRecord] = (),
    *,
    host: PluginHost | None = None,
) -> None:
    """Dumping the policy to one YAML file and loading it again gives the same policy and the same grades."""
    compiled = _compiled(policy, host)
    again = policy_from_text(dump_policy(policy), host=compiled.host, file=policy.file)
    assert isinstance(policy.document.data, dict) and isinstance(again.document.data, dict)  # noqa: S101  # loaded
    expected = {k: v for k, v in policy.document.data.items() if k != "extends"}
    reloaded = again.document.data
    if reloaded != expected:
        differs = sorted(k for k in {*expected, *reloaded} if expected.get(k) != reloaded.get(k))
        _raise("round-trip", f"the reloaded policy differs in {differs}", Location(policy.file), [])
    batch = _raw(records)
    reloaded_results = compile_policy(again, compiled.host).evaluate(batch)
    found = result_difference(policy, compiled.evaluate(batch), reloaded_results, origins=False)
    if found is not None:
        county, where, what = found
        _raise("round-trip", f"the reloaded policy grades county {county} differently: {what}", where, [])


def assert_passes_check(
    policy: Policy,
    *,
    host: PluginHost | None = None,
    max_examples: int = 50,
    search: bool = True,
) -> None:
    """``fineco check`` finds nothing in ``policy``; otherwise raise with every finding.

    Call it from a plain test, not from inside a Hypothesis test (it runs its own searches).
    """
    report = check_policy(policy, host=host, max_examples=max_examples, search=search)
    if report.findings:
        raise PropertyError(report.findings[0], report.findings[1:])
