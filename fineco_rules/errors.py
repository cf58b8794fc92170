"""The error family: every problem says what, where and how to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from fineco_rules._codes import Code, Severity, code_named
from fineco_rules._i18n import Lang, Msg, Renderable, current_language, join, pct, render, tr, trc

__all__ = [
    "CasesError",
    "Code",
    "DataFileError",
    "EvaluationTimeout",
    "FilingError",
    "FinecoError",
    "JSONWriteError",
    "Lang",
    "Location",
    "Msg",
    "ParamError",
    "PluginError",
    "PolicyError",
    "Problem",
    "PropertyError",
    "RecordError",
    "SensitivityError",
    "Severity",
    "UnsafeName",
    "UsageError",
    "WriteError",
    "join",
    "pct",
    "render",
    "tr",
    "trc",
]


#: A record's place in a table, as the readers write it (``row 13``).
_ROW = re.compile(r"row (\d+)")


@attrs.frozen(order=False)
class Location:
    """Where a problem is: a file position, a path inside a document, a county or field."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    county: str | None = None
    field: str | None = None
    #: The word for what ``county`` keys when the policy's unit is not a county (a country, a household).
    unit: Renderable | None = attrs.field(default=None, eq=False, repr=False)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.path or "")

    def __str__(self) -> str:
        return self.render(current_language())

    def render(self, lang: Lang) -> str:
        """The location in ``lang``: ``file:line:col, at path, county C, field 'f'`` or its Chinese."""
        parts: list[str] = []
        if self.file is not None:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}"
                if self.column is not None:
                    pos += f":{self.column}"
            parts.append(pos)
        row = _ROW.fullmatch(self.path or "")
        if row:
            parts.append(tr("at row {row}", row=row[1]).render(lang))
        elif self.path:
            parts.append(tr("at {path}", path=self.path).render(lang))
        if self.county is not None and self.unit is not None:
            parts.append(tr("{unit} {key}", unit=self.unit, key=self.county).render(lang))
        elif self.county is not None:
            parts.append(tr("county {county}", county=self.county).render(lang))
        if self.field is not None:
            parts.append(tr("field {field!r}", field=self.field).render(lang))
        if not parts:
            return tr("<unknown location>").render(lang)
        return ("，" if lang == "zh" else ", ").join(parts)


@attrs.frozen
class Problem:
    """One thing wrong with an input, with its location and a hint on how to fix it."""

    message: str
    location: Location = attrs.field(factory=Location)
    hint: str | None = None
    #: What kind of problem it is; its severity says whether it is an error or only a note.
    code: Code = attrs.field(default=Code.INVALID, converter=code_named)
    #: A second place that matters, e.g. the parent policy's rule a child breaks.
    see: Location | None = None

    @property
    def severity(self) -> Severity:
        """``error`` or ``note``, from the code: a note is shown, but does not make a run fail."""
        return self.code.severity

    @property
    def is_note(self) -> bool:
        return self.code.severity is Severity.NOTE

    def __str__(self) -> str:
        return self.render(current_language())

    def render(self, lang: Lang) -> str:
        """The problem in ``lang``: where, what, the second place that matters, how to fix it."""
        zh = lang == "zh"
        text = f"{self.location.render(lang)}{'：' if zh else ': '}{render(self.message, lang)}"
        if self.see is not None:
            text += tr(" [see {see}]", see=self.see.render(lang)).render(lang)
        if self.hint:
            hint = render(self.hint, lang)
            text += f"（{hint}）" if zh else f" ({hint})"
        return text

    def labelled(self, lang: Lang) -> str:
        """The problem with its severity in front (``error: …`` / ``错误：…``), as the command line prints it."""
        if self.is_note:
            return tr("note: {problem}", problem=self.render(lang)).render(lang)
        return tr("error: {problem}", problem=self.render(lang)).render(lang)

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        out: dict[str, object] = {"code": str(self.code), "message": self.message}
        for key in ("file", "line", "column", "path", "county", "field"):
            value = getattr(loc, key)
            if value is not None:
                out[key] = value
        if self.hint:
            out["hint"] = self.hint
        if self.see is not None:
            out["see"] = str(self.see)
        return out


def _sorted(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: p.location.sort_key()))


class FinecoError(Exception):
    """Root of every error fineco-rules raises on purpose."""

    problems: tuple[Problem, ...]

    def __init__(self, message: str | Problem | Iterable[Problem]) -> None:
        if isinstance(message, str):
            self.problems = (Problem(message),)
        elif isinstance(message, Problem):
            self.problems = (message,)
        else:
            self.problems = _sorted(message)
        super().__init__(self._render())

    @property
    def problem(self) -> Problem:
        """The most relevant problem: the first by location."""
        return self.problems[0]

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [str(tr("{count} problems:", count=len(self.problems)).render(current_language()))]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._render()


class PolicyError(FinecoError, ValueError):
    """A policy file (or the chain of files it extends) is not valid."""


class DataFileError(FinecoError, OSError):
    """A record file cannot be read at all (missing, unreadable, wrong format)."""


class RecordError(FinecoError, ValueError):
    """A county record does not fit the policy's declared inputs."""


class PluginError(FinecoError, RuntimeError):
    """A scorer plugin is missing, misbehaved or broke its contract."""

    def __init__(
        self,
        message: str | Problem | Iterable[Problem],
        *,
        plugin: str | None = None,
        version: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.version = version
        super().__init__(message)


class ParamError(PolicyError):
    """A scorer's parameters are wrong in a way its JSON Schema cannot say.

    ``path`` is the place inside ``params`` (``("bands", 2, "max")``); the loader turns it
    into a file, line and column.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str | None = None) -> None:
        self.path = path
        self.hint = hint
        super().__init__(Problem(message, hint=hint, code=Code.BAD_PARAMS))


class CasesError(FinecoError, ValueError):
    """A policy test file is not valid: every problem, located in the file."""


class SensitivityError(FinecoError, ValueError):
    """The runs or spreads asked for make no sensitivity analysis."""


class WriteError(FinecoError, OSError):
    """A file could not be written; the old file, if any, is unchanged and no temporary file is left."""


class FilingError(FinecoError, PermissionError):
    """A filing, certification or official evaluation was refused, or the registry is damaged."""


class JSONWriteError(FinecoError, ValueError):
    """A value cannot be written as JSON (NaN, an infinity, a type JSON has no form for); ``where`` is its path."""

    def __init__(self, message: str, where: str) -> None:
        text = tr("{message} at {where}", message=message, where=where) if where else message
        super().__init__(Problem(text, hint=tr("write finite numbers and plain data"), code=Code.JSON_UNWRITABLE))
        self.where = where

    def __str__(self) -> str:
        return render(self.problem.message)


class UnsafeName(FinecoError, ValueError):
    """An id, version, city or name that could reach a path or a line of output is not of the safe form."""


class UsageError(FinecoError, ValueError):
    """A command given arguments it cannot use; ``fineco`` prints it and exits 2."""

    def __init__(self, message: str) -> None:
        super().__init__(Problem(message, code=Code.USAGE))

    def __str__(self) -> str:
        return render(self.problem.message)


class EvaluationTimeout(PluginError):
    """An evaluation ran past its time limit; ``indicator``, ``scorer``, ``plugin`` and ``county`` say where."""

    def __init__(
        self,
        seconds: float,
        *,
        indicator: str | None = None,
        scorer: str | None = None,
        plugin: str | None = None,
        county: str | None = None,
        where: str | None = None,
    ) -> None:
        self.seconds = seconds
        self.indicator = indicator
        self.scorer = scorer
        self.county = county
        self.where = where
        what: Msg
        if scorer is not None:
            what = tr(
                "scorer {scorer}{plugin}{indicator}",
                scorer=scorer,
                plugin=tr(" from {plugin}", plugin=plugin) if plugin else "",
                indicator=tr(" (indicator {indicator})", indicator=indicator) if indicator else "",
            )
            hint = tr(
                "the scorer hangs or is far too slow on these inputs: report it to the plugin's authors with "
                "the county's inputs, block the plugin (--block), or raise the limit (--timeout)"
            )
        else:
            what = tr("the evaluation")
            hint = tr("raise the limit (--timeout), or split the data into smaller files")
        message = tr("{what} was still running after the {seconds:g} s time limit", what=what, seconds=seconds)
        if where:
            message = tr("{message}; it was at {where}", message=message, where=where)
        super().__init__(
            Problem(
                message,
                Location(path=f"indicators.{indicator}" if indicator else None, county=county),
                hint,
                Code.TIMEOUT,
            ),
            plugin=plugin,
        )


class Finding(Protocol):
    """What :class:`PropertyError` needs of a finding (``fineco_rules.quality.Finding`` is one)."""

    @property
    def rule(self) -> str: ...

    @property
    def counterexample(self) -> tuple[Mapping[str, object], ...]: ...

    def to_problem(self) -> Problem: ...

    def describe(self) -> str: ...


class PropertyError(FinecoError, AssertionError):
    """A property does not hold: ``finding`` names the rule, the culprit's place and the county records."""

    def __init__(self, finding: Finding, more: Sequence[Finding] = ()) -> None:
        self.finding = finding
        self.findings = (finding, *more)
        super().__init__([f.to_problem() for f in self.findings])

    @property
    def rule(self) -> str:
        return self.finding.rule

    @property
    def counterexample(self) -> tuple[Mapping[str, object], ...]:
        return self.finding.counterexample

    def __str__(self) -> str:
        return "\n".join(finding.describe() for finding in self.findings)
