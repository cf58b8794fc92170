"""Cold start: importing the package and asking the command for help load none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries that only some commands need; none may load on a bare import or on ``--help``.
HEAVY = ("numpy", "pyarrow", "cryptography", "jsonschema", "hypothesis", "openpyxl", "pygal")

_PROBE = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted({{m.partition(".")[0] for m in sys.modules}})))
"""


def _loaded(body: str) -> set[str]:
    """The top-level modules loaded by a fresh interpreter that runs ``body``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


class TestColdStart:
    """What a fresh process pays before doing any work."""

    def test_import_loads_no_heavy_library(self) -> None:
        """`import fineco_rules` loads none of NumPy, pyarrow, cryptography, jsonschema, Hypothesis, openpyxl, pygal."""
        assert _loaded("import fineco_rules") & set(HEAVY) == set()

    def test_help_loads_no_heavy_library(self) -> None:
        """`fineco --help` builds every command's parser without loading a heavy library."""
        body = (
            "from fineco_rules.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])"
        )
        assert _loaded(body) & set(HEAVY) == set()

    def test_help_does_not_read_installed_metadata(self) -> None:
        """`fineco --help` does not scan installed distributions (`--version` does, when asked)."""
        body = (
            "from fineco_rules.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "print(json.dumps(['importlib.metadata' in sys.modules]))\n"
            "sys.exit(0)"
        )
        done = subprocess.run(
            [sys.executable, "-c", _PROBE.format(body=body)], capture_output=True, text=True, check=True, timeout=120
        )
        assert json.loads(done.stdout.splitlines()[0]) == [False]

    @pytest.mark.parametrize("name", ["evaluate", "explain", "load_policy", "__version__"])
    def test_lazy_names_resolve(self, name: str) -> None:
        """A public name loads its module on first use and is then an ordinary attribute of the package."""
        import fineco_rules

        value = getattr(fineco_rules, name)
        assert vars(fineco_rules)[name] is value

    def test_first_use_loads_what_it_needs(self) -> None:
        """Using the columnar path loads NumPy then, not before."""
        assert "numpy" in _loaded("import fineco_rules\nfineco_rules.evaluate_columns")
