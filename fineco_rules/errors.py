"""The error family: every problem says what, where and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "DataFileError",
    "FinecoError",
    "Location",
    "PluginError",
    "PolicyError",
    "Problem",
    "RecordError",
]


@attrs.frozen(order=False)
class Location:
    """Where a problem is: a file position, a path inside a document, a county or field."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    county: str | None = None
    field: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.path or "")

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}"
                if self.column is not None:
                    pos += f":{self.column}"
            parts.append(pos)
        if self.path:
            parts.append(f"at {self.path}")
        if self.county is not None:
            parts.append(f"county {self.county}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts) if parts else "<unknown location>"


@attrs.frozen
class Problem:
    """One thing wrong with an input, with its location and a hint on how to fix it."""

    message: str
    location: Location = attrs.field(factory=Location)
    hint: str | None = None
    code: str = "invalid"
    #: A second place that matters, e.g. the parent policy's rule a child breaks.
    see: Location | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.see is not None:
            text += f" [see {self.see}]"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        out: dict[str, object] = {"code": self.code, "message": self.message}
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
        lines = [f"{len(self.problems)} problems:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


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
