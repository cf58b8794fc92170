"""The one JSON writer: every result type is written through it, Decimals with every digit, dates as text."""

from __future__ import annotations

import datetime
import enum
import json
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

import fineco_rules
from fineco_rules.analysis import find_gaps
from fineco_rules.cli import main
from fineco_rules.engine._results import jsonable  # private unit under test (fineco_rules.engine._results)
from fineco_rules.errors import JSONWriteError
from fineco_rules.io._json import ExactFloat, dumps  # private unit under test (fineco_rules.io._json)
from fineco_rules.io._numbers import to_number  # private unit under test (fineco_rules.io._numbers)

from .conftest import ROOT, WritePolicy

JIANGSU = ROOT / "policies" / "jiangsu"
EXAMPLES = ROOT / "examples"
LONG = "0.0599999999999999999"


class _Colour(enum.Enum):
    RED = "red"


class TestDumps:
    def test_lays_out_plain_data_as_json_dumps_does(self):
        """Plain data is written byte for byte as ``json.dumps(..., ensure_ascii=False)`` writes it."""
        data = {"a": [1, 2.5, None, True, False, "县", {}], "b": {"c": [], "d": -0.1}, "e": 10**30}
        assert dumps(data) == json.dumps(data, ensure_ascii=False, indent=2)
        assert dumps(data, indent=None) == json.dumps(data, ensure_ascii=False)
        assert dumps(data, indent=None, sort_keys=True, compact=True) == json.dumps(
            data, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )

    def test_decimals_keep_every_digit(self):
        """A Decimal is written as a JSON number with the digits it was written with."""
        assert dumps([Decimal(LONG), Decimal("85.50"), Decimal("-3"), Decimal("1E+2")], indent=None) == (
            f"[{LONG}, 85.50, -3, 100]"
        )

    def test_far_exponents_stay_short(self):
        """A Decimal far from the point is written in exponent form, still a JSON number."""
        assert dumps(Decimal("1.5E+99")) == "1.5E+99"
        assert json.loads(dumps(Decimal("1.5E-99")), parse_float=Decimal) == Decimal("1.5E-99")

    def test_our_types(self):
        """Dates as ISO 8601 text, enums by value, objects by their ``to_dict``."""
        label = fineco_rules.scoring.Label(zh="甲", en="a")
        data = {"from": datetime.date(2008, 1, 1), "colour": _Colour.RED, "label": label}
        assert json.loads(dumps(data)) == {"from": "2008-01-01", "colour": "red", "label": {"zh": "甲", "en": "a"}}

    @pytest.mark.parametrize(
        "value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")], ids=["nan", "inf", "dnan", "dinf"]
    )
    def test_non_finite_is_refused_with_where(self, value: object):
        """NaN and infinities are refused, naming where they sit."""
        with pytest.raises(JSONWriteError, match=r"not a finite number; JSON has no NaN or infinity at \$\.x\[1\]"):
            dumps({"x": [0, value]})

    def test_unknown_type_is_refused_with_where(self):
        """A type the writer does not know is refused with its name and place."""
        with pytest.raises(JSONWriteError, match=r"a value of type bytes cannot be written as JSON at \$\.b"):
            dumps({"b": b"x"})


class TestExactNumbers:
    def test_to_number_keeps_long_decimals(self):
        """A Decimal a float cannot hold becomes an ExactFloat, which the writer writes exactly."""
        number = to_number(Decimal(LONG))
        assert isinstance(number, ExactFloat)
        assert number == 0.06
        assert dumps(number) == LONG
        assert json.dumps(number) == "0.06"

    def test_short_decimals_stay_plain_floats(self):
        """A Decimal a float reads back exactly stays a plain float."""
        assert type(to_number(Decimal("85.5"))) is float

    def test_exact_float_pickles(self):
        """An ExactFloat survives pickling (results cross process boundaries)."""
        assert pickle.loads(pickle.dumps(ExactFloat(Decimal(LONG)))).decimal == Decimal(LONG)

    def test_jsonable_dates_and_enums(self):
        """``jsonable`` turns dates into ISO 8601 text and enums into their value."""
        assert jsonable({"d": datetime.date(2010, 1, 1), "e": _Colour.RED}) == {"d": "2010-01-01", "e": "red"}


def _csv(tmp_path: Path, npl: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(f"county,name,a,b,npl\n320101,甲县,0.9,90,{npl}\n320102,乙县,0.5,50,0.02\n", encoding="utf-8")
    return path


class TestEveryResultType:
    """Each JSON output of the command line is valid JSON, read back with exact decimals."""

    @pytest.mark.parametrize(
        "args",
        [
            [
                "diff",
                str(JIANGSU / "jiangsu-2008.yaml"),
                str(JIANGSU / "jiangsu-2010.yaml"),
                str(EXAMPLES / "jiangsu-2008.csv"),
            ],
            ["evaluate", "--policy", str(JIANGSU / "jiangsu-2008.yaml"), str(EXAMPLES / "jiangsu-2008.csv")],
            ["summary", "--policy", str(JIANGSU / "jiangsu-2008.yaml"), str(EXAMPLES / "jiangsu-2008.csv")],
            [
                "sensitivity",
                str(JIANGSU / "jiangsu-2008.yaml"),
                str(EXAMPLES / "jiangsu-2008.csv"),
                "--runs",
                "4",
                "--seed",
                "1",
            ],
            [
                "rollup",
                "--policy",
                str(ROOT / "policies" / "households" / "credit-household-2008.yaml"),
                str(EXAMPLES / "households-small.csv"),
            ],
            ["check", "tests/gallery/unused-input.yaml", "--no-search"],
            ["plugins"],
        ],
        ids=["diff", "evaluate", "summary", "sensitivity", "rollup", "check", "plugins"],
    )
    def test_command_writes_json(self, args: list[str], capsys: pytest.CaptureFixture[str]):
        """`--format json` prints one JSON document, whatever the result type."""
        main([*args, "--format", "json"])
        out = capsys.readouterr().out
        assert isinstance(json.loads(out, parse_float=Decimal), dict | list)

    def test_diff_writes_the_effective_dates(self, capsys: pytest.CaptureFixture[str]):
        """The phase files' differing effective periods are written as ISO dates."""
        old, new = JIANGSU / "jiangsu-2008.yaml", JIANGSU / "jiangsu-2010.yaml"
        assert main(["diff", str(old), str(new), str(EXAMPLES / "jiangsu-2008.csv"), "--format", "json"]) in (0, 1)
        changes = {c["path"]: c for c in json.loads(capsys.readouterr().out)["changes"]}
        assert changes["effective_from"]["old"] == "2008-01-01"
        assert changes["effective_from"]["new"] == "2010-01-01"

    def test_report_json(self, tmp_path: Path):
        """`fineco report -o x.json` writes valid JSON."""
        out = tmp_path / "r.json"
        args = ["report", "--policy", str(JIANGSU), "--as-of", "2010-12-31", str(EXAMPLES / "jiangsu-2010.csv")]
        assert main([*args, "-q", "-o", str(out)]) == 0
        assert isinstance(json.loads(out.read_text("utf-8"), parse_float=Decimal), dict)

    def test_evaluate_writes_long_inputs_exactly(
        self, capsys: pytest.CaptureFixture[str], write_policy: WritePolicy, tmp_path: Path
    ):
        """An input with more digits than a float holds is written with all of them."""
        main(["evaluate", "--policy", str(write_policy()), str(_csv(tmp_path, LONG)), "--format", "json", "--explain"])
        out = capsys.readouterr().out
        doc = json.loads(out, parse_float=Decimal)
        (gate,) = doc["results"][0]["checks"]["pass"][1:]
        assert gate["value"] == Decimal(LONG)
        assert LONG in out

    def test_evaluation_and_gap_to_dict(self, small: fineco_rules.Policy):
        """Evaluation.to_dict and Gap.to_dict go through the writer with exact decimals."""
        records = [{"county": "320101", "a": "0.5", "b": "50", "npl": LONG}]
        evaluation = fineco_rules.evaluate(small, records)
        text = dumps(evaluation.to_dict())
        assert LONG in text
        gaps = find_gaps(small, records, evaluation=evaluation)
        assert json.loads(dumps({c: g.to_dict() for c, g in gaps.items()}))["320101"]["target"] == "pass"
