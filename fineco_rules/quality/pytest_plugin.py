"""The pytest plugin, registered under the ``pytest11`` entry point: ``pytest policies/`` runs every policy
test file (``*.cases.yaml``) it finds, one test per case, and reports their boundary coverage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from fineco_rules.errors import FinecoError
from fineco_rules.quality._cases import SUFFIXES, Case, CaseOutcome, CaseReport, CaseSuite, load_cases, render_outcome

__all__ = ["CaseItem", "CasesFile", "CoverageItem"]

_REPORTS: Final = pytest.StashKey[list[CaseReport]]()
_OPTION: Final = "fineco_require_coverage"


class CaseFailed(Exception):
    """A case graded otherwise than expected."""

    def __init__(self, outcome: CaseOutcome) -> None:
        super().__init__(outcome.case.id)
        self.outcome = outcome


class CoverageGap(Exception):
    """A threshold or band edge that no case reaches on one side (with ``--fineco-require-coverage``)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fineco", "fineco-rules policy test files (*.cases.yaml)")
    group.addoption(
        "--fineco-require-coverage",
        action="store_true",
        default=None,
        dest=_OPTION,
        help="fail a cases file whose cases leave a threshold or band edge without a case on each side",
    )
    parser.addini(_OPTION, "the same as --fineco-require-coverage", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORTS] = []


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CasesFile | None:
    if file_path.name.endswith(SUFFIXES):
        return CasesFile.from_parent(parent, path=file_path)
    return None


class CasesFile(pytest.File):
    """A cases file: one item per case, then one for its boundary coverage."""

    suite: CaseSuite
    outcomes: dict[str, CaseOutcome]

    def collect(self) -> Iterator[pytest.Item]:
        self.suite = load_cases(self.path)
        self.outcomes = {}
        for case in self.suite.cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)
        yield CoverageItem.from_parent(self, name="boundary-coverage")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FinecoError):
            return "\n".join(f"error: {p}" for p in excinfo.value.problems)
        return str(super().repr_failure(excinfo))


def _file(item: pytest.Item) -> CasesFile:
    parent = item.parent
    assert isinstance(parent, CasesFile)  # noqa: S101  # pytest collects every case item from a CasesFile
    return parent


class CaseItem(pytest.Item):
    """One case, graded on its own."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        parent = _file(self)
        outcome = parent.suite.run(self.case)
        parent.outcomes[self.case.id] = outcome
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return "\n".join(render_outcome(excinfo.value.outcome))
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case.location.line
        return self.path, None if line is None else line - 1, f"case {self.case.id}"


class CoverageItem(pytest.Item):
    """Whether the file's cases lie on both sides of every threshold; fails only when coverage is required."""

    def runtest(self) -> None:
        parent = _file(self)
        suite = parent.suite
        outcomes = [parent.outcomes.get(c.id) or suite.run(c) for c in suite.cases]
        report = suite.report(outcomes)
        self.config.stash[_REPORTS].append(report)
        required = self.config.getoption(_OPTION) or self.config.getini(_OPTION)
        if required and report.gaps:
            raise CoverageGap(report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CoverageGap):
            (report,) = excinfo.value.args
            lines = [f"{len(report.gaps)} of {len(report.coverage)} boundaries lack a case on one side:"]
            return "\n".join(lines + [f"    {gap.text()}" for gap in report.gaps])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, "boundary coverage"


def _relative(config: pytest.Config, file: str) -> str:
    """``file`` relative to where pytest was started, as pytest shows test ids."""
    try:
        return str(Path(file).resolve().relative_to(config.invocation_params.dir.resolve()))
    except ValueError:
        return file


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORTS, [])
    if not reports:
        return
    terminalreporter.section("fineco boundary coverage")
    for report in reports:
        complete = len(report.coverage) - len(report.gaps)
        shown = _relative(config, report.file)
        terminalreporter.write_line(f"{shown}: {complete} of {len(report.coverage)} boundaries exercised on both sides")
        for gap in report.gaps:
            terminalreporter.write_line(f"    {gap.text()}")
