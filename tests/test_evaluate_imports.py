"""`fineco evaluate` of a CSV file to the compact JSON loads only what it uses: no NumPy, no analysis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "benchmarks" / "county-policy.yaml"

_PROBE = """
import json, sys
from fineco_rules.cli import main
code = main(["evaluate", "--policy", {policy!r}, {data!r}, "--format", {format!r}, "-q", "-o", {out!r}{more}])
print(json.dumps([code, sorted(sys.modules)]))
"""

_ROWS = (
    "county,credit_township_share,credit_household_share,case_execution_rate,loans,deposits,npl_ratio,"
    "awareness_score,satisfaction_score,major_case\n"
    "320581,0.9,0.55,0.8,80,100,0.05,70,67.5,false\n"
    "320582,0.5,0.21,0.61,30,100,0.07,55,41,true\n"
)


def _modules(tmp_path: Path, format: str = "json", *more: str) -> tuple[int, list[str]]:
    """The exit code and every module a fresh interpreter has loaded after one `fineco evaluate`."""
    data = tmp_path / "data.csv"
    data.write_text(_ROWS, encoding="utf-8")
    probe = _PROBE.format(
        policy=str(POLICY),
        data=str(data),
        format=format,
        out=str(tmp_path / "out"),
        more="".join(f", {word!r}" for word in more),
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    code, modules = json.loads(done.stdout.splitlines()[-1])
    return code, modules


class TestEvaluateLoadsWhatItUses:
    """Grading a CSV file to the compact JSON loads neither NumPy nor the analysis layer."""

    def test_compact_json_loads_no_numpy(self, tmp_path: Path) -> None:
        """`evaluate --format json` of a CSV file grades without importing NumPy."""
        code, modules = _modules(tmp_path)
        assert code == 0
        assert [m for m in modules if m == "numpy" or m.startswith("numpy.")] == []

    def test_compact_json_loads_no_analysis(self, tmp_path: Path) -> None:
        """`evaluate --format json` imports no module of fineco_rules.analysis (explain, gap ...)."""
        code, modules = _modules(tmp_path)
        assert code == 0
        assert [m for m in modules if m.startswith("fineco_rules.analysis")] == []

    def test_compact_json_loads_no_governance(self, tmp_path: Path) -> None:
        """Without --official or --city, `evaluate` imports no module of fineco_rules.governance."""
        code, modules = _modules(tmp_path)
        assert code == 0
        assert [m for m in modules if m.startswith("fineco_rules.governance")] == []

    def test_csv_format_loads_no_numpy(self, tmp_path: Path) -> None:
        """`evaluate --format csv` grades without importing NumPy or the analysis layer either."""
        code, modules = _modules(tmp_path, "csv")
        assert code == 0
        assert [m for m in modules if m.split(".")[0] == "numpy" or m.startswith("fineco_rules.analysis")] == []
