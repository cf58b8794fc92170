"""grade_csv_on_dask for a policy without a cohort: one task per run of lines, repeats across runs found after.

Each run is read, graded as a batch of its own and sent back with its keys; the driver then marks a key that an
earlier run has as a repeat. Every grade code and total must equal ``evaluate_columns`` on all the rows as one
table, whatever the runs, keys and cells.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fineco_rules

pytest.importorskip("distributed", reason="the distributed tests need the dask extra: pip install '.[dask]'")
pa = pytest.importorskip("pyarrow", reason="reading CSV on the workers needs pyarrow (the columnar extra)")

from distributed import Client, LocalCluster  # noqa: E402

from fineco_rules.scale.distributed import forget_compiled, grade_csv_on_dask  # noqa: E402

_INPUTS_AND_INDICATORS = """\
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, required: false, better: higher, label: {zh: 乙, en: b}}
indicators:
  linear_a:
    label: {zh: 甲, en: a}
    scorer: linear
    params: {input: a, worst: 0, best: 1}
    weight: 0.6
  linear_b:
    label: {zh: 乙, en: b}
    scorer: linear
    params: {input: b, worst: 0, best: 100}
    missing: zero
    weight: 0.4
aggregation: {method: weighted_mean}
grades:
  pass: {label: {zh: 达标, en: pass}, min_total: 40}
  good: {label: {zh: 良好, en: good}, min_total: 70}
"""

COUNTY_POLICY = (
    """\
id: runs-county
version: "1"
label: {zh: 分段测试政策, en: runs test policy}
effective_from: 2008-01-01
"""
    + _INPUTS_AND_INDICATORS
)

HOUSEHOLD_POLICY = (
    """\
id: runs-household
version: "1"
label: {zh: 分段农户测试政策, en: runs household test policy}
effective_from: 2008-01-01
unit:
  key: household
  label: {zh: 农户, en: household}
"""
    + _INPUTS_AND_INDICATORS
)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A real local cluster: two worker processes, one thread each."""
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        yield client


def _policy(text: str) -> fineco_rules.CompiledPolicy:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        return fineco_rules.compile_policy(fineco_rules.load_policy(path))


@pytest.fixture(scope="module")
def county() -> fineco_rules.CompiledPolicy:
    return _policy(COUNTY_POLICY)


@pytest.fixture(scope="module")
def household() -> fineco_rules.CompiledPolicy:
    return _policy(HOUSEHOLD_POLICY)


def _write(path: Path, key: str, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(f"{key},a,b\n" + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _one_batch(policy: fineco_rules.CompiledPolicy, *paths: Path) -> tuple[list[int], list[int]]:
    """Grade codes and total units of evaluate_columns over every file's rows as one table."""
    tables = [table for path in paths for _, table in fineco_rules.engine.read_csv_columns(path, chunk_rows=10**6)]
    if not tables:  # a header and no records
        return [], []
    graded = fineco_rules.evaluate_columns(policy, pa.concat_tables(tables))
    return graded.grade_codes.tolist(), graded.total_units.tolist()


def _rows(count: int, first: int = 320101) -> list[tuple[str, str, str]]:
    return [
        (str(first + i), f"0.{(i * 37) % 100:02d}", "" if i % 5 == 0 else f"{(i * 13) % 100}.5") for i in range(count)
    ]


class TestRepeatsAcrossRuns:
    """A key of an earlier run is a repeat in a later one: not graded, total 0, as in one batch."""

    def test_a_county_of_the_first_run_repeated_in_the_last_is_not_graded_there(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """Runs of 60 bytes: the repeats at rows 30 and 39 are -1 with total 0; explain says duplicate-county."""
        rows = _rows(40)
        rows[30] = (rows[1][0], "0.9", "90")
        rows[39] = (rows[0][0], "0.9", "90")
        path = _write(tmp_path / "r.csv", "county", rows)
        codes, units = _one_batch(county, path)
        got = grade_csv_on_dask(county, path, client=client, blocksize=60)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert (codes[30], units[30], codes[39], units[39]) == (-1, 0, -1, 0)
        assert got.explain(39).errors[0].code == "duplicate-county"

    def test_a_repeat_also_repeated_within_its_own_run_is_never_graded(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """A county of run 1 appearing twice in run 2: both rows of run 2 are repeats, whatever the run size."""
        rows = _rows(30)
        rows[20] = rows[21] = (rows[2][0], "0.5", "50")
        path = _write(tmp_path / "r.csv", "county", rows)
        codes, units = _one_batch(county, path)
        for blocksize in (None, 1, 100, 400, 10**6):
            got = grade_csv_on_dask(county, path, client=client, blocksize=blocksize)
            assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert (codes[20], codes[21]) == (-1, -1)

    def test_keys_that_are_not_plain_digits_repeat_across_runs_as_in_one_batch(
        self, client: Client, household: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """Household keys with letters, 19 digits, a leading zero or spaces around them: trimmed text compared."""
        keys = ["h-1", "1234567890123456789", "0012", " h-2", "h-3 ", "12"]
        rows = [(key, "0.5", "50") for key in keys] + _rows(12) + [("h-1", "0.9", "90"), ("h-2", "0.9", "90")]
        rows += [("012", "0.9", "90"), ("1234567890123456789", "0.1", "1"), ("12", "0.2", "2")]
        path = _write(tmp_path / "h.csv", "household", rows)
        codes, units = _one_batch(household, path)
        for blocksize in (None, 30, 90, 10**6):
            got = grade_csv_on_dask(household, path, client=client, blocksize=blocksize)
            assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert codes[-5:] == [-1, -1, codes[-3], -1, -1] and codes[-3] != -1  # "012" is not "0012"

    def test_a_county_of_the_first_file_repeated_in_the_second_is_not_graded(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """Two files as one batch: the second file's row holding the first file's county is a repeat."""
        first = _write(tmp_path / "p-1.csv", "county", _rows(10))
        second_rows = _rows(10, first=320201)
        second_rows[4] = ("320105", "0.9", "90")
        second = _write(tmp_path / "p-2.csv", "county", second_rows)
        codes, units = _one_batch(county, first, second)
        got = grade_csv_on_dask(county, [first, second], client=client)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert codes[14] == -1 and got.explain(14).location.line == 6


class TestBadCellsInOneRun:
    """A run's bad cells leave every other run's grades as one batch has them."""

    def test_a_bad_cell_and_a_missing_county_in_one_run_only(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """A word where a number goes and a blank county, in the second run: those two are -1, the rest graded."""
        rows = _rows(24)
        rows[15] = (rows[15][0], "abc", "10")
        rows[17] = ("", "0.5", "10")
        path = _write(tmp_path / "bad.csv", "county", rows)
        codes, units = _one_batch(county, path)
        got = grade_csv_on_dask(county, path, client=client, blocksize=200)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert [i for i, c in enumerate(codes) if c == -1] == [15, 17]


class TestWhatComesBack:
    """Workers send totals and keys as int32 when they fit; the driver always hands out int8 codes, int64 totals."""

    def test_the_arrays_have_the_documented_types(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """int8 grade codes and int64 total units, one each per record, across several runs."""
        path = _write(tmp_path / "t.csv", "county", _rows(50))
        got = grade_csv_on_dask(county, path, client=client, blocksize=200)
        assert (str(got.grade_codes.dtype), str(got.total_units.dtype), len(got)) == ("int8", "int64", 50)
        assert got.total_units.tolist() == _one_batch(county, path)[1]


class TestThePolicyOnTheWorkers:
    """The policy travels pickled with each task and is compiled once per worker."""

    def test_workers_that_forgot_the_policy_compile_it_again_from_the_task(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """After forget_compiled on every worker, the next call grades exactly as the first."""
        path = _write(tmp_path / "f.csv", "county", _rows(30))
        first = grade_csv_on_dask(county, path, client=client, blocksize=100)
        client.run(forget_compiled)
        again = grade_csv_on_dask(county, path, client=client, blocksize=100)
        assert (again.grade_codes.tolist(), again.total_units.tolist()) == (
            first.grade_codes.tolist(),
            first.total_units.tolist(),
        )
        assert (again.grade_codes.tolist(), again.total_units.tolist()) == _one_batch(county, path)


_KEYS = ["320101", "320102", " 320103", "320104 ", "", "  ", "0320101", "32010", "abc", "３２０１０５"]
_CELL = st.one_of(
    st.decimals(min_value=0, max_value=1, places=3, allow_nan=False).map(str),
    st.sampled_from(["", "1.5", "abc", "-0.1", " 0.5 "]),
)
_LINE = st.tuples(st.sampled_from(_KEYS), _CELL, st.one_of(_CELL, st.sampled_from(["50", "100.5", "99.99"])))


@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_LINE, min_size=0, max_size=30),
    blocksize=st.sampled_from([None, 1, 25, 60, 200]),
    unit=st.sampled_from(["county", "household"]),
    piece_rows=st.sampled_from([65_536, 1, 2, 3, 7]),
)
def test_generated_files_grade_as_one_batch(
    client: Client,
    county: fineco_rules.CompiledPolicy,
    household: fineco_rules.CompiledPolicy,
    rows: list[tuple[str, str, str]],
    blocksize: int | None,
    unit: str,
    piece_rows: int,
) -> None:
    """Repeats across and within runs and the pieces a worker grades, keys with spaces, blank, malformed or
    full-width, bad and missing cells."""
    policy = county if unit == "county" else household
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "g.csv", unit, rows)
        codes, units = _one_batch(policy, path)
        got = grade_csv_on_dask(policy, path, client=client, blocksize=blocksize, piece_rows=piece_rows)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)


class TestPieces:
    """A worker grades its run piece by piece (piece_rows); the codes and totals stay those of one batch."""

    def test_a_county_repeated_in_a_later_piece_of_the_same_run_is_not_graded(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """One run, pieces of 4 rows: the repeat of row 1 at row 9 (third piece) is -1 with total 0."""
        rows = _rows(12)
        rows[9] = (rows[1][0], "0.9", "90")
        path = _write(tmp_path / "p.csv", "county", rows)
        codes, units = _one_batch(county, path)
        got = grade_csv_on_dask(county, path, client=client, blocksize=10**6, piece_rows=4)
        assert (got.grade_codes.tolist(), got.total_units.tolist()) == (codes, units)
        assert (codes[9], units[9]) == (-1, 0) and codes[1] != -1

    def test_pieces_of_no_rows_are_refused(
        self, client: Client, county: fineco_rules.CompiledPolicy, tmp_path: Path
    ) -> None:
        """piece_rows below 1 is a usage error that says the least it may be."""
        path = _write(tmp_path / "p.csv", "county", _rows(3))
        with pytest.raises(fineco_rules.errors.UsageError, match="piece_rows must be at least 1, not 0"):
            grade_csv_on_dask(county, path, client=client, piece_rows=0)
