"""Exact numbers (issue 13): `1e400` refused or written exactly, never Infinity; 5,000 digits never crash."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import fineco_rules
from fineco_rules import load_policy, read_records
from fineco_rules.cli import main
from fineco_rules.io._json import dumps  # private unit under test (fineco_rules.io._json)

from .conftest import SMALL

BIG = "9" * 5000
HUGE_EXPONENT = "1e999999999999999999999"


def policy(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(SMALL, "utf-8")
    return path


def record_file(tmp_path: Path, kind: str) -> Path:
    """Three counties: `a` = 1e400, `b` = a 5,000-digit integer, `b` with an exponent no Decimal holds."""
    path = tmp_path / f"r.{kind}"
    if kind == "csv":
        rows = [("320581", "1e400", "50"), ("320582", "0.5", BIG), ("320583", "0.5", HUGE_EXPONENT)]
        path.write_text("county,a,b,npl\n" + "".join(f"{c},{a},{b},0.01\n" for c, a, b in rows), "utf-8")
    else:
        items = [("320581", "1e400", "50"), ("320582", "0.5", BIG), ("320583", "0.5", HUGE_EXPONENT)]
        body = ",".join(f'{{"county": "{c}", "a": {a}, "b": {b}, "npl": 0.01}}' for c, a, b in items)
        path.write_text(f"[{body}]", "utf-8")
    return path


class TestRecordInputs:
    """CSV and JSON record files with numbers past every range give one error per county, never a crash."""

    @pytest.mark.parametrize("kind", ["csv", "json"])
    def test_each_county_gets_its_error(self, tmp_path: Path, kind: str) -> None:
        """1e400 is out of range (never infinity), 5,000 digits are out of range, a huge exponent is not a number."""
        results = fineco_rules.evaluate(
            load_policy(policy(tmp_path)), read_records(record_file(tmp_path, kind)).records
        )
        messages = [[e.message for e in r.errors] for r in results]
        assert messages[0] == ["1E+400 is outside the allowed range [0, 1]"]
        assert len(messages[1]) == 1 and messages[1][0] == f"{BIG} is outside the allowed range [0, 100]"
        assert messages[2] == [f"expected a number, found '{HUGE_EXPONENT}'"]
        assert [r.grade for r in results] == [None, None, None]

    def test_json_integers_too_long_for_int_are_read_exactly(self, tmp_path: Path) -> None:
        """A JSON integer of 5,000 digits is read as the exact Decimal (Python's int refuses over 4,300 digits)."""
        path = tmp_path / "r.json"
        path.write_text(f'[{{"county": "320581", "b": {BIG}, "c": -{BIG}}}]', "utf-8")
        (record,) = read_records(path).records
        assert record.values["b"] == Decimal(BIG) and record.values["c"] == Decimal("-" + BIG)

    def test_the_cli_writes_json_without_infinity_or_a_traceback(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`fineco evaluate --format json` on such a file: exit 1, parseable JSON on stdout, no Infinity."""
        code = main(["evaluate", "--policy", str(policy(tmp_path)), str(record_file(tmp_path, "json")), "-q"])
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in err
        code = main(
            ["evaluate", "--policy", str(policy(tmp_path)), str(record_file(tmp_path, "json")), "--format", "json"]
        )
        out, err = capsys.readouterr()
        assert code == 1 and "Infinity" not in out and "Traceback" not in err
        assert [r["grade"] for r in json.loads(out)["results"]] == [None, None, None]


class TestWriting:
    """The one JSON writer writes every digit."""

    def test_decimal_1e400_is_written_exactly(self) -> None:
        """Decimal 1E+400 is the JSON number 1E+400, never Infinity."""
        assert dumps([Decimal("1e400"), Decimal("-1E+400"), Decimal("1e-400")]) == (
            "[\n  1E+400,\n  -1E+400,\n  1E-400\n]"
        )

    def test_a_5000_digit_integer_is_written_whole(self) -> None:
        """An int of 5,001 digits (past Python's 4,300-digit str limit) is written with every digit."""
        assert dumps(10**5000) == "1" + "0" * 5000
        assert dumps({"n": -(10**5000)}) == '{\n  "n": -1' + "0" * 5000 + "\n}"
        assert json.loads(dumps(10**5000), parse_int=Decimal) == Decimal(10**5000)
