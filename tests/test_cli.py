"""The `fineco` command: formats, exit codes, explanations, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, SMALL, WritePolicy

POLICY = str(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")
DATA = str(ROOT / "examples" / "jiangsu-2008.csv")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class TestEvaluate:
    def test_json_shape(self, capsys):
        """--format json prints policy {id, version} and results with the documented keys."""
        code, out, _ = run(capsys, "evaluate", "--policy", POLICY, DATA, "--format", "json", "--explain")
        assert code == 0
        doc = json.loads(out)
        assert doc["policy"] == {
            "id": "jiangsu-fineco-county",
            "version": "2008",
            "internal": ["intermediaries_not_reported"],
        }
        assert doc["official"] is False
        assert len(doc["results"]) == 52
        first = doc["results"][0]
        assert {"county", "grade", "score", "indicators", "errors"} <= set(first)
        assert first["county"] == "320124"
        assert first["grade"] in {"fail", "pass", "good"}
        assert {"score", "weight", "contribution"} <= set(first["indicators"]["internal"])

    def test_output_is_byte_identical(self, capsys, tmp_path: Path):
        """Two runs write the same bytes."""
        for name in ("a.json", "b.json"):
            assert (
                run(capsys, "evaluate", "--policy", POLICY, DATA, "--format", "json", "-o", str(tmp_path / name))[0]
                == 0
            )
        assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
        assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]

    def test_csv(self, capsys):
        """--format csv has one row per county and a column per indicator."""
        code, out, _ = run(capsys, "evaluate", "--policy", POLICY, DATA, "--format", "csv")
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("county,name,city,grade,score,base_score,credit,intermediary,legal,internal,")
        assert len(lines) == 53
        assert lines[1].startswith("320124,溧水县,320100,")

    def test_table_in_both_languages(self, capsys):
        """The table has Chinese headings with --lang zh and English ones with --lang en."""
        _, zh, _ = run(capsys, "evaluate", "--policy", POLICY, DATA, "--lang", "zh")
        _, en, _ = run(capsys, "evaluate", "--policy", POLICY, DATA, "--lang", "en")
        assert "县代码" in zh
        assert "county" in en.splitlines()[1]

    def test_bad_record_exit_1_rest_written(self, capsys, tmp_path: Path):
        """A bad record gives exit 1, its error on stderr, and the other counties in the output."""
        rows = [line.split(",") for line in Path(DATA).read_text("utf-8").splitlines()]
        rows[2][rows[0].index("npl_ratio")] = "1.7"  # 高淳县
        data = tmp_path / "bad.csv"
        data.write_text("".join(",".join(row) + "\n" for row in rows), "utf-8")
        code, out, err = run(capsys, "evaluate", "--policy", POLICY, str(data), "--format", "json")
        assert code == 1
        results = json.loads(out)["results"]
        assert len(results) == 52
        assert results[1]["grade"] is None
        assert results[1]["errors"][0]["field"] == "npl_ratio"
        assert f"error: {data}:3, at row 2, county 320125, field 'npl_ratio': 1.7 ratio is outside" in err

    def test_missing_data_file_exit_1(self, capsys, tmp_path: Path):
        """A data file that does not exist is reported; the others are still evaluated."""
        code, out, err = run(
            capsys, "evaluate", "--policy", POLICY, DATA, str(tmp_path / "none.csv"), "--format", "csv"
        )
        assert code == 1
        assert len(out.splitlines()) == 53
        assert "none.csv" in err

    def test_usage_error_exit_2(self, capsys):
        """A bad flag is a usage error."""
        with pytest.raises(SystemExit) as info:
            main(["evaluate", "--policy", POLICY, DATA, "--format", "xml"])
        assert info.value.code == 2

    def test_broken_policy_exit_1_with_location(self, capsys, write_policy: WritePolicy):
        """A broken policy prints every problem with file:line:col."""
        path = write_policy(SMALL.replace("weight: 0.5\n  ib", "wieght: 0.5\n  ib"))
        code, _, err = run(capsys, "evaluate", "--policy", str(path), DATA)
        assert code == 1
        assert f"error: {path}:14:5, at indicators.ia.wieght: unknown key 'wieght' (did you mean 'weight'?)" in err

    def test_as_of_on_folder(self, capsys):
        """--as-of picks the version from a folder."""
        code, out, _ = run(
            capsys, "evaluate", "--policy", str(Path(POLICY).parent), "--as-of", "2008-12-31", DATA, "--format", "json"
        )
        assert code == 0
        assert json.loads(out)["policy"]["version"] == "2008"


class TestExplain:
    def test_chinese(self, capsys):
        """The explanation in Chinese names the grade, the total and where each threshold came from."""
        code, out, _ = run(capsys, "explain", "--policy", POLICY, DATA, "--county", "321281", "--lang", "zh")
        assert code == 0
        assert out.startswith("兴化市（321281）金融生态县评定\n")
        # 兴化市's NPL is exactly 6.00 %: "在6%以下" includes the figure, so the gate is met with margin 0.
        assert "评定结果：达标\n" in out
        assert "✓ 不良贷款率（五级分类）在6%以下（含6%）：6.00% ≤ 6%（差额 0.00 个百分点；来源 " in out
        assert "未达到良好，原因：总分（64.19 不满足 ≥ 80）" in out
        # The gate is inherited: the explanation names the pilot-phase file that set it.
        assert "jiangsu-2007.yaml:" in out and "(jiangsu-fineco-county 2007)" in out

    def test_english(self, capsys):
        """--lang en gives the same account in English."""
        code, out, _ = run(capsys, "explain", "--policy", POLICY, DATA, "--county", "321281", "--lang", "en")
        assert code == 0
        assert "Grade: pass\n" in out
        assert (
            "✓ NPL ratio (five-tier) at most 6 % (在6%以下 includes 6 %): 0.0600 <= 0.06 (margin 0.0000; set in " in out
        )
        assert "Not good, because: total score (64.19 is not >= 80)" in out

    def test_unknown_county(self, capsys):
        """A county not in the data is a usage error."""
        code, _, err = run(capsys, "explain", "--policy", POLICY, DATA, "--county", "999999")
        assert code == 2
        assert "county 999999 is not in the data" in err


class TestOtherCommands:
    def test_validate(self, capsys):
        """validate reports ok with the chain of versions."""
        code, out, _ = run(capsys, "validate", POLICY)
        assert code == 0
        assert out == f"{POLICY}: ok (jiangsu-fineco-county 2008 <- jiangsu-fineco-county 2007; 7 indicators)\n"

    def test_plugins_json(self, capsys):
        """plugins lists every scorer with version and distribution."""
        code, out, _ = run(capsys, "plugins", "--format", "json")
        rows = {r["scorer"]: r for r in json.loads(out)}
        assert code == 0
        assert rows["linear"]["distribution"] == "fineco-rules"
        assert rows["financial_satisfaction"]["plugin"] == "fineco_satisfaction"

    def test_schema_is_the_shipped_schema(self, capsys):
        """schema prints the JSON Schema policies are validated with."""
        code, out, _ = run(capsys, "schema")
        assert code == 0
        assert json.loads(out)["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def test_module_entry_point(self):
        """python -m fineco_rules works like the fineco command."""
        done = subprocess.run(
            [sys.executable, "-m", "fineco_rules", "validate", POLICY], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


class TestProgress:
    def test_long_batch_reports_progress_on_stderr(self, capsys, write_policy: WritePolicy, tmp_path: Path):
        """A batch of 5,000 counties reports progress on stderr; stdout stays the result alone."""
        data = tmp_path / "many.csv"
        rows = "".join(f"{100000 + i},0.5,50,0.01\n" for i in range(5000))
        data.write_text("county,a,b,npl\n" + rows, "utf-8")
        code, out, err = run(capsys, "evaluate", "--policy", str(write_policy()), str(data), "--format", "csv")
        assert code == 0
        assert len(out.splitlines()) == 5001
        assert "indicators: 2/2" in err
        assert "counties: 5000/5000" in err

    def test_api_progress_callback(self, small):
        """evaluate(progress=...) is called per indicator and every 1,000 counties."""
        from fineco_rules import evaluate

        seen: list[tuple[str, int, int]] = []
        rows = [{"county": str(100000 + i), "a": "0.5", "b": "50", "npl": "0.01"} for i in range(2000)]
        evaluate(small, rows, progress=lambda *args: seen.append(args))
        assert seen == [("indicators", 1, 2), ("indicators", 2, 2), ("counties", 1000, 2000), ("counties", 2000, 2000)]
