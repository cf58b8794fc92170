"""Evaluation on a real Dask cluster (worker processes) gives exactly the single-process results."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules
from fineco_rules import cli as _cli
from tests.conftest import ROOT, WritePolicy
from tests.test_docs import fenced_blocks

pytest.importorskip("distributed", reason="the distributed tests need the dask extra: pip install '.[dask]'")
dd = pytest.importorskip("dask.dataframe", reason="the distributed tests need the dask extra: pip install '.[dask]'")
db = pytest.importorskip("dask.bag", reason="the distributed tests need the dask extra: pip install '.[dask]'")
pd = pytest.importorskip("pandas", reason="the dataframe test needs pandas (the columnar extra)")

from distributed import Client, LocalCluster  # noqa: E402

from fineco_rules.scale.distributed import (  # noqa: E402
    WORKER_MALLOC,
    DaskGrades,
    dask_client,
    evaluate_on_dask,
    grade_csv_on_dask,
    grade_on_dask,
    ship_plugin,
    worker_scorers,
)

# Every county of a batch graded on two worker processes must come back as one process grades it.

COHORT_POLICY = """\
id: distributed-policy
version: "1"
label: {zh: 分布式测试政策, en: distributed test policy}
effective_from: 2008-01-01
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 乙, en: b}}
  c: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 丙, en: c}}
  d: {type: number, min: 0, max: 100, required: false, better: lower, label: {zh: 丁, en: d}}
  e: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 戊, en: e}}
indicators:
  rank_a:
    label: {zh: 甲排名, en: rank of a}
    scorer: rank
    params: {input: a}
    weight: 0.25
  minmax_b:
    label: {zh: 乙极差, en: min-max of b}
    scorer: minmax
    params: {input: b}
    missing: {impute: mean}
    weight: 0.2
  zscore_c:
    label: {zh: 丙标准分, en: z-score of c}
    scorer: zscore
    params: {input: c}
    missing: {impute: median}
    weight: 0.2
  percentile_d:
    label: {zh: 丁百分位, en: percentile of d}
    scorer: percentile
    params: {input: d, better: lower}
    missing: {impute: group_mean, group: city}
    weight: 0.2
  linear_e:
    label: {zh: 戊, en: e}
    scorer: linear
    params: {input: e, worst: 0, best: 100}
    missing: zero
    weight: 0.15
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 40}
  good: {label: {zh: 良好, en: good}, min_total: 70}
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A real local cluster: two worker processes, one thread each, for every test of this module."""
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            # The scheduler always serves HTTP (8787 unless told): a free port, so parallel runs do not collide.
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        yield client


@pytest.fixture(scope="module")
def cohort_policy(tmp_path_factory: pytest.TempPathFactory) -> fineco_rules.Policy:
    path = tmp_path_factory.mktemp("distributed") / "policy.yaml"
    path.write_text(COHORT_POLICY, encoding="utf-8")
    return fineco_rules.load_policy(path)


def same(got: fineco_rules.Evaluation, want: fineco_rules.Evaluation) -> None:
    """Identical evaluations: the JSON form, and each record's location (which to_dict leaves out)."""
    assert json.dumps(got.to_dict(), sort_keys=True) == json.dumps(want.to_dict(), sort_keys=True)
    assert [r.location for r in got.results] == [r.location for r in want.results]
    assert got.problems == want.problems


def test_the_jiangsu_policy_on_the_cluster_equals_one_process(client: Client) -> None:
    policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu", as_of=dt.date(2008, 12, 31))
    records = fineco_rules.read_records(ROOT / "examples" / "jiangsu-2008.csv").records
    want = fineco_rules.evaluate(policy, records)
    assert len(want) == len(records) > 40

    for npartitions in (None, 3, 7):
        got = evaluate_on_dask(policy, records, client=client, npartitions=npartitions)
        same(got, want)
    assert got.results[10].location.file == str(ROOT / "examples" / "jiangsu-2008.csv")


def test_a_record_located_by_its_place_in_the_whole_input_not_its_partition(
    client: Client, cohort_policy: fineco_rules.Policy
) -> None:
    records: list[dict[str, object]] = [{"county": f"{320101 + i}", "a": "0.5", "b": i} for i in range(9)]
    records[7]["a"] = "1.5"  # out of range: reported at [7]
    records[8]["county"] = "320101"  # a repeat of the first county, in another partition
    records[6]["extra"] = "x"  # an unknown column, met first in the last partition
    records[8]["extra"] = "y"
    got = evaluate_on_dask(cohort_policy, records, client=client, npartitions=3)
    same(got, fineco_rules.evaluate(cohort_policy, records))
    assert got.results[7].errors[0].location.path == "[7]"
    assert got.results[8].errors[0].code == "duplicate-county"
    assert "first at <records>, at [0]" in got.results[8].errors[0].message
    assert [(p.code, p.location.path) for p in got.problems] == [("unknown-column", "[6]")]


def test_a_household_policy_is_keyed_by_its_unit_across_partitions(client: Client) -> None:
    """A policy whose records are households: the key is `household`, repeats are found across partitions."""
    policy = fineco_rules.load_policy(ROOT / "policies" / "households" / "credit-household-2008.yaml")
    records = list(fineco_rules.read_records(ROOT / "examples" / "households-small.csv").records[:40])
    records.append(records[3])  # the same household again, in the last partition
    want = fineco_rules.evaluate(policy, records)
    assert want.results[-1].errors[0].code == "duplicate-key"
    same(evaluate_on_dask(policy, records, client=client, npartitions=4), want)


_value = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
_row = st.fixed_dictionaries(
    {
        # A few codes only, so that repeats (duplicate counties) happen across partitions.
        "county": st.sampled_from(["320101", "320102", "320103", "320104", "320105", "320106", "320107"]),
        "city": st.sampled_from(["320100", "320500"]),
        "a": st.one_of(
            st.decimals(min_value=0, max_value=1, places=3, allow_nan=False).map(str),
            st.just("1.5"),  # out of range: the record is not graded and is left out of the cohort
            st.none(),  # a required input missing
        ),
        "b": _value,
        "c": _value,
        "d": _value,
        "e": _value,
    },
    optional={"remark": st.just("x")},  # an undeclared column: a batch note
)


# The scheduler and client of the in-process LocalCluster run in background threads that draw from the
# global `random` module (worker choice, jittered timers). Hypothesis sees the global state change while it
# draws and blames the strategies, which use no `random`; only that warning is ignored, only here.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_row, min_size=0, max_size=14), npartitions=st.integers(min_value=1, max_value=5))
def test_generated_batches_on_the_cluster_equal_one_process(
    client: Client, cohort_policy: fineco_rules.Policy, records: list[dict[str, object]], npartitions: int
) -> None:
    """Missing values, imputation (mean, median, group mean), every cohort scorer, repeats and bad values."""
    want = fineco_rules.evaluate(cohort_policy, records)
    same(evaluate_on_dask(cohort_policy, records, client=client, npartitions=npartitions), want)


def test_a_dask_dataframe_and_bag_grade_as_their_rows_do(client: Client, cohort_policy: fineco_rules.Policy) -> None:
    rows: list[dict[str, object]] = [
        {
            "county": f"{320101 + i}",
            "name": f"县{i}",
            "a": (i % 7) / 7,
            "b": None if i % 3 == 0 else float(i * 3 % 100),
            "c": None if i % 4 == 1 else float(i * 7 % 100),
            "d": float(i * 11 % 100),
            "e": None if i % 5 == 2 else float(i),
            "remark": "x",
        }
        for i in range(23)
    ]
    want = fineco_rules.evaluate(cohort_policy, rows)
    assert any(r.indicators["minmax_b"].treatment for r in want.results)  # imputation happened

    frame = dd.from_pandas(pd.DataFrame(rows), npartitions=4)  # missing numbers become NaN
    same(evaluate_on_dask(cohort_policy, frame, client=client), want)
    same(evaluate_on_dask(cohort_policy, db.from_sequence(rows, npartitions=3), client=client), want)


def _plugin_source(version: str) -> str:
    return f'''
from decimal import Decimal
import fineco_rules


class Doubled(fineco_rules.Scorer):
    name = "doubled"
    version = "{version}"
    label = fineco_rules.Label("加倍", "doubled")
    params_schema = {{"type": "object", "properties": {{"input": {{"type": "string"}}}}, "required": ["input"]}}

    def reads(self, params):
        return {{params["input"]: fineco_rules.Better.HIGHER}}

    def build(self, params, max_score):
        field = params["input"]
        return lambda row: fineco_rules.Scored(min(max_score, row[field] * 2))


@fineco_rules.hookimpl
def fineco_scorers():
    return [Doubled()]
'''


PLUGIN_POLICY = """\
id: plugin-policy
version: "1"
label: {zh: 插件政策, en: plugin policy}
effective_from: 2008-01-01
inputs:
  a: {type: number, min: 0, max: 100, better: higher, label: {zh: 甲, en: a}}
indicators:
  doubled_a:
    label: {zh: 甲加倍, en: a doubled}
    scorer: doubled
    params: {input: a}
    weight: 1
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 60}
"""


@pytest.fixture
def local_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A plugin module importable on the driver only: (module name, file)."""
    name = f"fineco_test_plugin_{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "driver"
    folder.mkdir()
    file = folder / f"{name}.py"
    file.write_text(_plugin_source("1.0"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    yield name, file
    sys.modules.pop(name, None)


def _plugin_setup(name: str, write_policy: WritePolicy) -> tuple[fineco_rules.CompiledPolicy, list[dict[str, Any]]]:
    module = __import__(name)
    host = fineco_rules.make_plugin_host(plugins=[module])
    policy = fineco_rules.load_policy(write_policy(PLUGIN_POLICY), host=host)
    records: list[dict[str, Any]] = [{"county": f"{320101 + i}", "a": Decimal(i * 9)} for i in range(6)]
    return fineco_rules.compile_policy(policy, host), records


def test_a_worker_without_the_drivers_plugin_is_refused_until_it_is_shipped(
    client: Client, local_plugin: tuple[str, Path], write_policy: WritePolicy
) -> None:
    name, file = local_plugin
    compiled, records = _plugin_setup(name, write_policy)

    with pytest.raises(fineco_rules.PluginError) as refused:
        evaluate_on_dask(compiled, records, client=client)
    problems = refused.value.problems
    assert {p.code for p in problems} == {"worker-plugin-missing"}
    assert len(problems) == 2  # one per worker, each named
    for problem, address in zip(problems, sorted(client.nthreads()), strict=True):
        assert f"worker {address} cannot import the plugin module {name!r}" in problem.message
        assert "ship_plugin" in (problem.hint or "")

    assert ship_plugin(client, file) == name
    assert all(
        found == {"doubled": ("1.0", name, "not installed", name)}
        for found in worker_scorers(client, compiled.policy, compiled.host).values()
    )
    same(evaluate_on_dask(compiled, records, client=client), compiled.evaluate(records))


def test_a_worker_with_another_version_of_a_scorer_is_refused(
    client: Client, local_plugin: tuple[str, Path], write_policy: WritePolicy, tmp_path: Path
) -> None:
    name, _ = local_plugin
    compiled, records = _plugin_setup(name, write_policy)
    newer = tmp_path / "workers" / f"{name}.py"
    newer.parent.mkdir()
    newer.write_text(_plugin_source("2.0"), encoding="utf-8")
    ship_plugin(client, newer)

    with pytest.raises(fineco_rules.PluginError) as refused:
        evaluate_on_dask(compiled, records, client=client)
    problem = refused.value.problems[0]
    assert problem.code == "worker-plugin-version"
    assert re.search(r"worker tcp://\S+ has scorer doubled 2\.0 .* the driver doubled 1\.0", problem.message)
    assert "ship_plugin" in (problem.hint or "")
    assert problem.location.file == compiled.policy.file
    assert problem.location.line is not None  # the `scorer:` line of the indicator
    assert problem.location.path == "indicators.doubled_a.scorer"


def test_files_that_cannot_be_shipped_are_refused_with_the_reason(client: Client, tmp_path: Path) -> None:
    wheel = tmp_path / "plugin-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    with pytest.raises(fineco_rules.FinecoError, match=r"cannot ship plugin-1\.0-py3-none-any\.whl") as refused:
        ship_plugin(client, wheel)
    assert "pip" in (refused.value.problem.hint or "")
    with pytest.raises(fineco_rules.FinecoError, match="no such plugin file"):
        ship_plugin(client, tmp_path / "absent.py")


def test_the_example_in_the_distributed_guide_runs(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = [b for b in fenced_blocks(ROOT / "docs" / "distributed.md") if b.info == "python"]
    monkeypatch.chdir(ROOT)
    exec(compile(block.text, block.id, "exec"), {"__name__": "__docs__", "client": client})


def test_fineco_evaluate_dask_writes_what_a_single_process_run_writes(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["evaluate", "--policy", str(ROOT / "policies" / "jiangsu"), "--as-of", "2008-12-31", "--format", "json"]
    data = str(ROOT / "examples" / "jiangsu-2008.csv")
    single, on_dask = tmp_path / "single.json", tmp_path / "dask.json"
    assert _cli.main([*common, "-q", "-o", str(single), data]) == 0
    assert _cli.main([*common, "-q", "-o", str(on_dask), "--dask", client.scheduler.address, data]) == 0
    assert on_dask.read_bytes() == single.read_bytes()

    with pytest.raises(SystemExit) as usage:
        _cli.main([*common, "--dask", "local:0", data])
    assert usage.value.code == 2
    assert "write local:N with N at least 1" in capsys.readouterr().err


def test_a_cluster_without_workers_is_refused_with_how_to_start_them(cohort_policy: fineco_rules.Policy) -> None:
    with (
        LocalCluster(
            n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0", scheduler_kwargs={"dashboard": False}
        ) as cluster,
        Client(cluster) as empty,
        pytest.raises(fineco_rules.FinecoError, match="the Dask cluster has no workers") as refused,
    ):
        evaluate_on_dask(cohort_policy, [{"county": "320101", "a": "0.5"}], client=empty)
    assert refused.value.problem.code == "no-workers"
    assert "wait_for_workers" in (refused.value.problem.hint or "")


def same_grades(got: DaskGrades, want: fineco_rules.Evaluation) -> None:
    """The compact form agrees with one process: every grade and total, and each record's full result."""
    assert got.grades() == [r.grade for r in want.results]
    assert got.totals() == [r.score for r in want.results]
    for i, result in enumerate(want.results):
        assert json.dumps(got.explain(i).to_dict(), sort_keys=True) == json.dumps(result.to_dict(), sort_keys=True)
        assert got.explain(i).location == result.location


class TestGradesOnly:
    """grade_on_dask ships grades and totals back, never results, and equals evaluate record by record."""

    def test_the_jiangsu_policy_grades_as_one_process(self, client: Client) -> None:
        """The shipped policy and example records, in several partition counts: the same grades and totals."""
        policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu", as_of=dt.date(2008, 12, 31))
        records = fineco_rules.read_records(ROOT / "examples" / "jiangsu-2008.csv").records
        want = fineco_rules.evaluate(policy, records)
        for npartitions in (None, 3, 7):
            got = grade_on_dask(policy, records, client=client, npartitions=npartitions)
            assert got.grades() == [r.grade for r in want.results]
            assert got.totals() == [r.score for r in want.results]
        same(got.to_evaluation(), want)

    def test_only_two_arrays_come_back(self, client: Client, cohort_policy: fineco_rules.Policy) -> None:
        """What the workers return is an int8 grade array and an int64 total array, one entry per record."""
        records = [{"county": f"{320101 + i}", "a": "0.5", "b": i} for i in range(9)]
        got = grade_on_dask(cohort_policy, records, client=client, npartitions=3)
        assert (str(got.grade_codes.dtype), str(got.total_units.dtype), len(got)) == ("int8", "int64", 9)

    def test_a_repeated_household_is_not_graded_and_explained_as_a_duplicate(self, client: Client) -> None:
        """A key repeated in a later partition is ungraded there and explained as duplicate-key, as in one batch."""
        policy = fineco_rules.load_policy(ROOT / "policies" / "households" / "credit-household-2008.yaml")
        records = list(fineco_rules.read_records(ROOT / "examples" / "households-small.csv").records[:40])
        records.append(records[3])
        want = fineco_rules.evaluate(policy, records)
        got = grade_on_dask(policy, records, client=client, npartitions=4)
        same_grades(got, want)
        assert got.grade(40) is None and got.explain(40).errors[0].code == "duplicate-key"

    def test_no_records_give_no_grades(self, client: Client, cohort_policy: fineco_rules.Policy) -> None:
        """An empty batch: nothing graded, nothing sent."""
        got = grade_on_dask(cohort_policy, [], client=client)
        assert (len(got), got.grades(), got.to_evaluation().results) == (0, [], ())

    @pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
    )
    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(records=st.lists(_row, min_size=0, max_size=14), npartitions=st.integers(min_value=1, max_value=5))
    def test_generated_batches_grade_as_one_process(
        self, client: Client, cohort_policy: fineco_rules.Policy, records: list[dict[str, object]], npartitions: int
    ) -> None:
        """Missing values, imputation, every cohort scorer, repeats across partitions and bad values."""
        want = fineco_rules.evaluate(cohort_policy, records)
        same_grades(grade_on_dask(cohort_policy, records, client=client, npartitions=npartitions), want)


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    header = "county,city,a,b,c,d,e\n"
    path.write_text(header + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _rows(count: int, first: int = 320101) -> list[list[str]]:
    """Rows for COHORT_POLICY: every fifth b missing, every seventh d missing, cities in turn."""
    return [
        [
            str(first + i),
            f"3201{i % 3:02d}",
            f"0.{(i * 37) % 100:02d}",
            "" if i % 5 == 0 else f"{(i * 13) % 100}.5",
            f"{(i * 29) % 100}",
            "" if i % 7 == 0 else f"{(i * 17) % 100}.25",
            f"{(i * 11) % 101}",
        ]
        for i in range(count)
    ]


def _one_batch(policy: fineco_rules.Policy, *paths: Path) -> tuple[list[int], list[int]]:
    """Grade codes and total units of evaluate_columns over every file's rows as one table."""
    import pyarrow as pa

    tables = [table for path in paths for _, table in fineco_rules.engine.read_csv_columns(path, chunk_rows=10**6)]
    graded = fineco_rules.evaluate_columns(policy, pa.concat_tables(tables))
    return graded.grade_codes.tolist(), graded.total_units.tolist()


class TestCsvReadOnTheWorkers:
    """grade_csv_on_dask: each worker reads and grades its own lines; the grades equal one process's."""

    @pytest.fixture
    def awkward(self, tmp_path: Path) -> Path:
        """40 rows with a bad cell, a missing county, a county repeated far below, one repeated with spaces."""
        rows = _rows(40)
        rows[6][2] = "abc"  # a bad value of a
        rows[9][0] = ""  # no county code
        rows[31][0] = rows[2][0]  # a repeat, in a later run of lines
        rows[37][0] = f"  {rows[4][0]} "  # a repeat that only matches once trimmed
        return _write_csv(tmp_path / "awkward.csv", rows)

    def test_every_grade_and_total_equals_one_batch(
        self, client: Client, cohort_policy: fineco_rules.Policy, awkward: Path
    ) -> None:
        """In runs of every size, every grade code and total equals evaluate_columns and evaluate on the file."""
        codes, units = _one_batch(cohort_policy, awkward)
        want = fineco_rules.evaluate(cohort_policy, fineco_rules.read_records(awkward).records)
        assert codes.count(-1) >= 4  # the bad cell, the missing county and both repeats are not graded
        for blocksize in (None, 40, 150, 1000, 10**6):
            got = grade_csv_on_dask(cohort_policy, awkward, client=client, blocksize=blocksize)
            assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
            assert got.grades() == [r.grade for r in want.results]
            assert got.totals() == [r.score for r in want.results]

    def test_every_record_is_explained_as_evaluate_gives_it(
        self, client: Client, cohort_policy: fineco_rules.Policy, awkward: Path
    ) -> None:
        """explain(i) grades record i again on the driver: evaluate's result on the file, at the same CSV line."""
        got = grade_csv_on_dask(cohort_policy, awkward, client=client, blocksize=40)
        want = fineco_rules.evaluate(cohort_policy, fineco_rules.read_records(awkward).records)
        for i, result in enumerate(want.results):
            assert json.dumps(got.explain(i).to_dict(), sort_keys=True) == json.dumps(result.to_dict(), sort_keys=True)
            assert got.explain(i).location == result.location
        assert got.explain(31).errors[0].code == "duplicate-county"
        assert (got.explain(31).location.file, got.explain(31).location.line) == (str(awkward), 33)

    def test_several_files_are_one_batch_in_order(
        self, client: Client, cohort_policy: fineco_rules.Policy, tmp_path: Path
    ) -> None:
        """A glob is read in name order as one batch: a county of the first file repeats in the second."""
        first = _write_csv(tmp_path / "part-1.csv", _rows(12))
        second_rows = _rows(10, first=320201)
        second_rows[3][0] = "320105"
        second = _write_csv(tmp_path / "part-2.csv", second_rows)
        codes, units = _one_batch(cohort_policy, first, second)
        got = grade_csv_on_dask(cohort_policy, str(tmp_path / "part-*.csv"), client=client, blocksize=100)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert codes[12 + 3] == -1 and got.explain(15).location.line == 5

    def test_a_missing_file_is_refused_with_its_path(self, client: Client, cohort_policy: fineco_rules.Policy) -> None:
        """A path or pattern that names no file: not-found, with the path."""
        with pytest.raises(fineco_rules.DataFileError) as refused:
            grade_csv_on_dask(cohort_policy, "/nonexistent/records-*.csv", client=client)
        assert (refused.value.problem.code, refused.value.problem.location.file) == (
            "not-found",
            "/nonexistent/records-*.csv",
        )

    def test_local_workers_start_with_malloc_thresholds_that_keep_arrays(self) -> None:
        """dask_client("local:N") spawns workers whose glibc keeps freed arrays (not Dask's trim at 64 KiB)."""
        with dask_client("local:1") as local:
            found = local.run(lambda: [os.environ.get(name) for name, _ in WORKER_MALLOC])
        assert list(found.values()) == [[value for _, value in WORKER_MALLOC]]
