"""Household ratings streamed in chunks and rolled up to villages, townships and counties (fineco rollup)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fineco_rules
import fineco_rules.policy
from fineco_rules import cli as _cli
from fineco_rules.engine._records import check_records  # private unit under test (fineco_rules.engine._records)
from fineco_rules.io import RawRecord
from fineco_rules.scale import rollup
from fineco_rules.scale._rollup import REPORT_FIRST, Counters  # private unit under test (fineco_rules.scale._rollup)
from fineco_rules.scoring import CONTEXT
from fineco_rules.scoring.rollup import roll_up

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILE = ROOT / "policies" / "households" / "credit-household-2008.yaml"
SMALL_FILE = ROOT / "examples" / "households-small.csv"

sys.path.insert(0, str(ROOT / "examples"))
import make_households  # noqa: E402


@pytest.fixture(scope="module")
def compiled() -> fineco_rules.CompiledPolicy:
    return fineco_rules.compile_policy(fineco_rules.load_policy(POLICY_FILE))


def write_households(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = make_households.FIELDS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def generated(count: int, seed: int = 7) -> list[list[str]]:
    return list(make_households.rows(count, seed, make_households.SHAPES["small"]))


def naive(compiled: fineco_rules.CompiledPolicy, path: Path) -> dict[str, dict[str, Any]]:
    """The roll-up the slow way: every household in memory, graded in one batch, villages summed by hand,
    then the core ``roll_up`` per county under the policy's criteria on the village and township rows."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    evaluation = compiled.evaluate(rows)
    villages: dict[str, dict[str, Any]] = {}
    for row, result in zip(rows, evaluation.results, strict=True):
        v = villages.setdefault(
            row["village"],
            {"township": row["township"], "county": row["county"], "n": 0, "credit": 0, "graded": 0}
            | {"loans": Decimal(0), "npl": Decimal(0), "repaid": Decimal(0)},
        )
        v["n"] += 1
        if result.grade is not None:
            v["graded"] += 1
            v["credit"] += result.grade >= fineco_rules.Grade.PASS
            v["loans"] += Decimal(row["loan_balance"])
            v["npl"] += Decimal(row["npl_balance"])
            v["repaid"] += Decimal(row["on_time_repayment"])

    def figures(members: list[dict[str, Any]]) -> dict[str, Decimal]:
        n, graded = sum(m["n"] for m in members), sum(m["graded"] for m in members)
        loans = sum(m["loans"] for m in members)
        return {
            "credit_household_share": CONTEXT.divide(Decimal(sum(m["credit"] for m in members)), Decimal(n)),
            "npl_ratio": CONTEXT.divide(sum(m["npl"] for m in members), loans) if loans else Decimal(0),
            "on_time_repayment": CONTEXT.divide(sum(m["repaid"] for m in members), Decimal(graded))
            if graded
            else Decimal(0),
        }

    out: dict[str, dict[str, Any]] = {}
    for county in sorted({v["county"] for v in villages.values()}):
        mine = {code: v for code, v in villages.items() if v["county"] == county}
        units: list[dict[str, object]] = []
        for township in sorted({v["township"] for v in mine.values()}):
            members = [v for v in mine.values() if v["township"] == township]
            units += [
                {"unit": code, "level": "village", "parent": township, "rated_before": False, **figures([v])}
                for code, v in mine.items()
                if v["township"] == township
            ]
            units.append({"unit": township, "level": "township", "rated_before": False, **figures(members)})
        assert compiled.policy.rollup is not None
        rolled = roll_up(units, compiled.policy.rollup)
        out[county] = {
            "households": sum(v["n"] for v in mine.values()),
            "credit_households": sum(v["credit"] for v in mine.values()),
            "villages": rolled.villages,
            "townships": rolled.townships,
            "credit_village_share": rolled.village_share,
            "credit_township_share": rolled.township_share,
        }
    return out


class TestAgreement:
    """The streamed roll-up gives the credit plugin's roll-up of the whole file."""

    def test_small_example_agrees_with_roll_up(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """On the shipped example, chunked and streamed, every county's figures are the naive roll-up's."""
        result = rollup(compiled, SMALL_FILE, chunk_rows=997)
        expected = naive(compiled, SMALL_FILE)
        found = {
            c.county: {
                "households": c.households,
                "credit_households": c.credit_households,
                "villages": c.villages,
                "townships": c.townships,
                "credit_village_share": c.credit_village_share,
                "credit_township_share": c.credit_township_share,
            }
            for c in result.counties
        }
        assert found == expected
        assert result.rows == 5000 and result.bad_rows == 0 and result.ok
        # The example is not trivial: some townships hold the rating and some do not.
        shares = {c.credit_township_share for c in result.counties}
        assert Decimal(0) in shares and any(s is not None and s > 0 for s in shares)

    def test_engines_and_readers_agree(self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path) -> None:
        """Columnar and row engines, Arrow and csv readers: the same output, bad rows included."""
        rows = generated(300)
        rows[10][5] = "lots"  # arrears_days not a number
        rows[20][1] = ""  # no village
        rows.insert(40, [])  # a blank line
        path = write_households(tmp_path / "h.csv", rows)
        outputs = [
            rollup(compiled, path, chunk_rows=64, engine=engine, reader=reader).to_dict()
            for engine in ("columnar", "row")
            for reader in ("arrow", "csv")
        ]
        assert all(o == outputs[0] for o in outputs[1:])
        assert outputs[0]["bad_rows"] == 2


class TestChunks:
    """Splitting the input into chunks of any size gives the same roll-up."""

    @settings(max_examples=12, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        count=st.integers(1, 80),
        chunk_rows=st.integers(1, 90),
        engine=st.sampled_from(["columnar", "row"]),
        reader=st.sampled_from(["arrow", "csv"]),
        broken=st.lists(st.integers(0, 79), max_size=3),
    )
    def test_any_chunk_size(
        self,
        compiled: fineco_rules.CompiledPolicy,
        tmp_path_factory: pytest.TempPathFactory,
        seed: int,
        count: int,
        chunk_rows: int,
        engine: str,
        reader: str,
        broken: list[int],
    ) -> None:
        """Whatever the chunk size, engine and reader, and wherever bad rows fall, the output is the same."""
        rows = generated(count, seed)
        for i in broken:
            rows[i % count][5 + i % 3] = "n/a"  # arrears, default or income stability unreadable
        path = write_households(tmp_path_factory.mktemp("chunks") / "h.csv", rows)
        whole = rollup(compiled, path, chunk_rows=10**6, engine="row", reader="csv").to_dict()
        assert rollup(compiled, path, chunk_rows=chunk_rows, engine=engine, reader=reader).to_dict() == whole
        assert whole["rows"] == count


class TestMemory:
    """What a roll-up keeps grows with villages, never with households."""

    def test_counters_do_not_grow_with_rows(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """Feeding the same villages ten times as many households leaves the counters the same size."""
        rows = generated(120)
        columns = {name: [row[i] for row in rows] for i, name in enumerate(make_households.FIELDS)}
        counters = Counters(compiled, "h.csv")
        counters.engine = "row"
        counters.add(list(range(2, 122)), columns)
        size = counters.cells()
        villages = len(counters.villages)
        for _ in range(9):
            counters.add(list(range(2, 122)), columns)  # the same keys again: no record is kept between chunks
        assert counters.rows == 1200
        assert sum(v.households for v in counters.villages.values()) == 1200
        assert (counters.cells(), len(counters.villages)) == (size, villages)

    def test_reported_problems_are_capped(self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path) -> None:
        """Bad rows beyond the first REPORT_FIRST are counted, not kept."""
        rows = generated(200)
        for row in rows[: REPORT_FIRST + 15]:
            row[10] = "-5"  # a negative loan balance
        result = rollup(compiled, write_households(tmp_path / "h.csv", rows), chunk_rows=50)
        assert result.bad_rows == REPORT_FIRST + 15
        assert len(result.problems) == REPORT_FIRST
        assert sum(c.errors for c in result.counties) == REPORT_FIRST + 15

    @pytest.mark.parametrize("reader", ["arrow", "csv"])
    def test_chunks_hold_at_most_chunk_rows(
        self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No chunk handed to the engine is longer than --chunk-rows."""
        sizes: list[int] = []
        add = Counters.add

        def spy(self: Counters, lines: Sequence[int], columns: Any, table: Any = None) -> None:
            sizes.append(len(lines))
            add(self, lines, columns, table)

        monkeypatch.setattr(Counters, "add", spy)
        rollup(compiled, write_households(tmp_path / "h.csv", generated(250)), chunk_rows=40, reader=reader)
        assert sizes == [40] * 6 + [10]


def _columns(rows: Sequence[Sequence[str]]) -> dict[str, list[object]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(make_households.FIELDS)}


class TestCompactCounters:
    """Between chunks a roll-up keeps fixed-width columns per village: no Python object, exact sums."""

    def test_each_new_village_adds_the_same_cells(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """A chunk of new villages grows the counters by the same number of cells per village, whatever its rows."""
        rows = generated(300)
        first, second = rows[:100], rows[100:]
        counters = Counters(compiled, "h.csv")
        counters.engine = "row"
        counters.add(list(range(2, 102)), _columns(first))
        before, villages = counters.cells(), len(counters.villages)
        counters.add(list(range(102, 302)), _columns(second))
        added = len(counters.villages) - villages
        # Per village: code, township, county, first line; five counts; loans, NPL, on-time repayment.
        assert added > 0
        assert counters.cells() - before == added * 12
        assert sum(v.households for v in counters.villages.values()) == 300

    def test_sums_stay_exact_past_int64_and_fine_decimals(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """Balances beyond 2**63 units and with 22 decimals are summed exactly, in any chunk."""
        rows = [row for row in generated(40) if row[1] == generated(40)[0][1]][:4]  # one village
        rows[0][10], rows[0][11] = "123456789012345678901234567890", "0"
        rows[1][10], rows[1][11] = "0.0000000000000000000001", "0.0000000000000000000001"
        rows[2][10], rows[2][11] = "7", "0.2"
        rows[3][10], rows[3][11] = "0.5", "0"
        counters = Counters(compiled, "h.csv")
        counters.engine = "row"
        counters.add([2, 3], _columns(rows[:2]))
        counters.add([4, 5], _columns(rows[2:]))
        village = counters.villages[rows[0][1]]
        assert village.households == 4 and village.graded == 4
        assert village.loans == Decimal("123456789012345678901234567897.5000000000000000000001")
        assert village.npl == Decimal("0.2000000000000000000001")

    def test_codes_of_any_length_and_a_trailing_nul_are_kept_apart(self, compiled: fineco_rules.CompiledPolicy) -> None:
        """Village codes "7", "7\\x00" and a longer one met in a later chunk stay distinct villages, in code order."""
        rows = generated(3)
        for row, code in zip(rows, ("7", "7\x00", "7" * 40), strict=True):
            row[1] = code
        counters = Counters(compiled, "h.csv")
        counters.engine = "row"
        counters.add([2, 3], _columns(rows[:2]))
        counters.add([4], _columns(rows[2:]))
        assert list(counters.villages) == ["7", "7\x00", "7" * 40]
        assert [v.households for v in counters.villages.values()] == [1, 1, 1]
        assert [v.first for v in counters.villages.values()] == ["h.csv:2", "h.csv:3", "h.csv:4"]


class TestBadRows:
    """Bad household rows are reported with file and line, and never sink the batch."""

    def test_each_kind_is_reported(self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path) -> None:
        rows = generated(60)
        village = rows[0][1]
        rows[2][5] = "lots"  # line 4: arrears_days is not a number (the engine refuses it)
        rows[3][1] = ""  # line 5: no village
        rows[4][2] = "999999999"  # line 6: the village's township contradicts earlier rows
        rows[4][1] = village
        rows[5][11] = "9999999"  # line 7: NPL above the loan balance
        rows[6] = rows[6][:5]  # line 8: too few cells
        rows[7][0] = rows[8][0]  # lines 9 and 10: the same household twice in one chunk
        path = write_households(tmp_path / "h.csv", rows)
        result = rollup(compiled, path)
        found = sorted((p.location.line, p.code) for p in result.problems)
        assert found == [
            (4, "bad-value"),
            (5, "missing-parent"),
            (6, "conflicting-parent"),
            (7, "bad-rollup-value"),
            (8, "bad-row"),
            (10, "duplicate-key"),
        ]
        assert all(p.location.file == str(path) for p in result.problems)
        assert result.bad_rows == 6 and not result.ok
        assert sum(c.households for c in result.counties) == 57  # the three rows without a place are not households
        assert sum(c.graded for c in result.counties) == 54  # nor are the three the engine or the roll-up refused

    def test_missing_column_is_refused(self, compiled: fineco_rules.CompiledPolicy, tmp_path: Path) -> None:
        header = [f for f in make_households.FIELDS if f != "npl_balance"]
        rows = [row[:11] for row in generated(5)]
        with pytest.raises(fineco_rules.DataFileError) as caught:
            rollup(compiled, write_households(tmp_path / "h.csv", rows, header))
        assert caught.value.problems[0].code == "missing-column"
        assert "'npl_balance'" in caught.value.problems[0].message

    def test_county_policy_cannot_roll_up(self, tmp_path: Path) -> None:
        """A policy whose unit names no village, township and county is refused with a hint."""
        policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
        with pytest.raises(fineco_rules.PolicyError) as caught:
            rollup(policy, write_households(tmp_path / "h.csv", generated(3)))
        assert caught.value.problems[0].code == "no-parents"


class TestCohorts:
    """Policies whose scores need the whole population: a first pass, then the same results as one batch."""

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            (
                "    params: {input: income_stability, worst: 0.3, best: 0.9}\n",
                "    params: {input: income_stability, worst: 0.3, best: 0.9}\n    missing: {impute: mean}\n",
            ),
            (
                "    scorer: linear\n    params: {input: income_stability, worst: 0.3, best: 0.9}\n",
                "    scorer: minmax\n    params: {input: income_stability, better: higher}\n",
            ),
        ],
        ids=["mean-imputation-streamed", "minmax-whole-file"],
    )
    def test_first_pass_matches_one_batch(self, tmp_path: Path, old: str, new: str) -> None:
        text = POLICY_FILE.read_text(encoding="utf-8")
        assert old in text
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(text.replace(old, new), encoding="utf-8")
        compiled = fineco_rules.compile_policy(fineco_rules.load_policy(policy_file))
        rows = generated(150, seed=3)
        for row in rows[::7]:
            row[7] = ""  # income stability missing: imputed (mean), or not graded (minmax)
        path = write_households(tmp_path / "h.csv", rows)
        result = rollup(compiled, path, chunk_rows=23)
        expected = naive(compiled, path)
        assert {c.county: (c.households, c.credit_households) for c in result.counties} == {
            county: (e["households"], e["credit_households"]) for county, e in expected.items()
        }
        assert {c.county: c.credit_village_share for c in result.counties} == {
            county: e["credit_village_share"] for county, e in expected.items()
        }


class TestUnit:
    """Records keyed by a unit other than the county."""

    def test_household_keys(self, compiled: fineco_rules.CompiledPolicy) -> None:
        base = dict(zip(make_households.FIELDS, generated(1)[0], strict=True))
        raws = [
            RawRecord(base, fineco_rules.Location("h.csv", 2)),
            RawRecord({**base, "household": " "}, fineco_rules.Location("h.csv", 3)),
            RawRecord(base, fineco_rules.Location("h.csv", 4)),
        ]
        records, notes = check_records(compiled.policy, raws)
        assert [[p.code for p in r.problems] for r in records] == [[], ["missing-key"], ["duplicate-key"]]
        assert "household" in records[1].problems[0].message and "h.csv:2" in records[2].problems[0].message
        assert records[0].county == base["household"] and records[0].city == base["county"][:4] + "00"
        # The unit's key and parents are known fields; the roll-up's balance columns are not the policy's.
        assert [n.location.field for n in notes] == ["loan_balance", "npl_balance"]
        result = compiled.evaluate([base]).results[0]
        assert result.county == base["household"]

    def test_default_unit_is_the_county(self) -> None:
        policy = fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
        assert policy.unit == fineco_rules.policy.Unit()
        assert policy.unit.key == "county" and policy.unit.is_county and policy.unit.parents == {}

    def test_key_that_is_an_input_is_refused(self, tmp_path: Path) -> None:
        text = POLICY_FILE.read_text(encoding="utf-8").replace("  key: household\n", "  key: arrears_days\n")
        path = tmp_path / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(fineco_rules.PolicyError) as caught:
            fineco_rules.load_policy(path)
        (problem,) = caught.value.problems
        assert problem.code == "bad-unit" and problem.location.line is not None


class TestCommand:
    """``fineco rollup`` writes a table, JSON or CSV and exits 1 when rows were bad."""

    def test_json_and_csv(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        out = tmp_path / "out.json"
        args = ["rollup", "--policy", str(POLICY_FILE), str(SMALL_FILE), "--chunk-rows", "1000", "-q"]
        assert _cli.main([*args, "--format", "json", "-o", str(out)]) == 0
        data = json.loads(out.read_text(encoding="utf-8"))
        assert list(data) == ["policy", "file", "rows", "bad_rows", "problems", "counties"]
        assert data["rows"] == 5000 and len(data["counties"]) == 7
        assert _cli.main([*args, "--format", "csv"]) == 0
        table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [r["county"] for r in table] == [c["county"] for c in data["counties"]]
        assert table[0]["credit_township_share"] == f"{Decimal(str(data['counties'][0]['credit_township_share'])):.6f}"

    def test_bad_rows_exit_1_with_places(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        rows = generated(30)
        rows[4][4] = "often"
        path = write_households(tmp_path / "h.csv", rows)
        assert _cli.main(["rollup", "--policy", str(POLICY_FILE), str(path), "--lang", "en"]) == 1
        captured = capsys.readouterr()
        assert f"{path}:6" in captured.err and "on_time_repayment" in captured.err
        assert "30 rows, 1 bad" in captured.err
        assert "penetration" in captured.out
