"""The package under ``python -O``, which strips every ``assert``: no check of user input may be one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

POLICY = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
EXAMPLE = ROOT / "examples" / "jiangsu-2008.csv"


def fineco(*args: str | Path, optimize: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python [-O] -m fineco_rules ARGS`` without writing bytecode into the checkout."""
    flags = ["-O"] if optimize else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "fineco_rules", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


class TestUnderOptimize:
    def test_interpreter_strips_asserts(self) -> None:
        """-O does strip asserts here, so the tests below run without any."""
        done = subprocess.run([sys.executable, "-O", "-c", "assert False"], capture_output=True, timeout=60)
        assert done.returncode == 0

    def test_validate_reports_a_version_whose_top_level_is_a_list(self, tmp_path: Path) -> None:
        """A version file holding a list is reported with its place, not crashed on (the loader once asserted)."""
        folder = tmp_path / "jiangsu"
        folder.mkdir()
        shutil.copy(POLICY, folder / "jiangsu-2008.yaml")
        (folder / "jiangsu-2009.yaml").write_text("- id: jiangsu-fineco-county\n- version: 2009\n", "utf-8")
        done = fineco("validate", folder)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.splitlines() == [
            f"error: {folder / 'jiangsu-2009.yaml'}:1:1, at (document): expected a mapping (key: value lines), "
            "found a list",
            f"{folder}: 1 problem(s)",
        ]

    def test_evaluate_the_shipped_example_as_without_optimize(self) -> None:
        """The shipped example grades the same, byte for byte, with and without -O."""
        optimized = fineco("evaluate", "--policy", POLICY, EXAMPLE, "--format", "json")
        plain = fineco("evaluate", "--policy", POLICY, EXAMPLE, "--format", "json", optimize=False)
        assert optimized.returncode == 0, optimized.stderr
        assert "52 counties: 7 good, 23 pass, 22 fail, 0 not graded" in optimized.stderr.splitlines()
        assert optimized.stdout == plain.stdout
