"""The register of titles (达标/良好) a year ends with, and how this year's grades move it (dynamic management)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from fineco_rules.analysis._targets import LastYear, PastResult
from fineco_rules.errors import Code, DataFileError, Location, Msg, Problem, tr
from fineco_rules.io._numbers import as_decimal
from fineco_rules.policy._model import Grade

__all__ = ["Change", "Title", "Titles", "change_of", "read_titles", "titles_from_register"]

#: new, kept, raised (pass → good), lowered (good → pass), lost (摘牌: fell below), none (no title either year),
#: missing (on the roster, not in its city's data: not assessed this year).
Change = Literal["new", "kept", "raised", "lowered", "lost", "none", "missing"]
_GRADES: Final = {g.value: g for g in Grade}


def change_of(before: Grade | None, now: Grade | None) -> Change:
    """How a county's title moves from last year's grade to this year's (a county missing now loses its title)."""
    had = before is not None and before >= Grade.PASS
    has = now is not None and now >= Grade.PASS
    if had and not has:
        return "lost"
    if has and not had:
        return "new"
    if not has:
        return "none"
    if before == now:
        return "kept"
    return "raised" if now == Grade.GOOD else "lowered"


@attrs.frozen
class Title:
    """One county's line in the register: its grade this year, the title it holds and how the title moved."""

    county: str
    name: str | None
    city: str
    grade: Grade | None
    score: Decimal | None
    method: str | None
    change: Change = "none"

    @property
    def title(self) -> Grade | None:
        return self.grade if self.grade is not None and self.grade >= Grade.PASS else None

    def to_dict(self) -> dict[str, Any]:
        title = self.title
        return {
            "county": self.county,
            "name": self.name,
            "city": self.city,
            "grade": None if self.grade is None else self.grade.value,
            "title": None if title is None else title.value,
            "score": self.score,
            "method": self.method,
            "change": self.change,
        }


@attrs.frozen
class Titles:
    """The register a year ends with: every roster county's line, by code.

    ``fineco year`` writes it as ``titles.json``; the next year reads it back as last year's
    results (:meth:`last_year`). Any source of the same shape (a registry's register of titles)
    can feed :meth:`from_mapping`.
    """

    year: int
    entries: Mapping[str, Title]
    file: str | None = None

    def last_year(self) -> LastYear:
        """The register as last year's results, for ``good_from_last_pass`` and ``from_pass: last_year``."""
        rows = {c: PastResult(c, t.name, t.city, t.grade, t.score) for c, t in self.entries.items()}
        return LastYear("province", str(self.year), rows, self.file)

    def holds(self, county: str) -> bool:
        entry = self.entries.get(county)
        return entry is not None and entry.title is not None

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "titles": [self.entries[c].to_dict() for c in sorted(self.entries)]}

    @classmethod
    def from_mapping(cls, data: object, file: str | None = None) -> Titles:
        def bad(message: Msg, path: str) -> DataFileError:
            hint = tr("give the titles.json that `fineco year` wrote for last year")
            return DataFileError(Problem(message, Location(file, path=path), hint, Code.BAD_RESULTS))

        if not isinstance(data, Mapping) or not isinstance(data.get("titles"), list):
            raise bad(tr("expected an object with a `year` and a `titles` list"), "$")
        year = data.get("year")
        if not isinstance(year, int) or isinstance(year, bool):
            raise bad(tr("year {year!r} is not a whole number", year=year), "$.year")
        entries: dict[str, Title] = {}
        for i, row in enumerate(data["titles"]):
            where = f"$.titles[{i}]"
            if not isinstance(row, Mapping) or not isinstance(row.get("county"), str):
                raise bad(tr("expected a line with a `county` code"), where)
            grade = row.get("grade")
            if grade is not None and grade not in _GRADES:
                raise bad(tr("grade {grade!r} is not fail, pass or good", grade=grade), f"{where}.grade")
            try:
                score = None if row.get("score") is None else as_decimal(row["score"])
            except (TypeError, ValueError):
                raise bad(tr("score {score!r} is not a number", score=row.get("score")), f"{where}.score") from None
            county = row["county"]
            entries[county] = Title(
                county,
                None if row.get("name") is None else str(row["name"]),
                str(row.get("city") or county[:4] + "00"),
                None if grade is None else _GRADES[grade],
                score,
                None if row.get("method") is None else str(row["method"]),
                row.get("change", "none"),
            )
        return cls(year, entries, file)


def read_titles(path: str | os.PathLike[str]) -> Titles:
    """Read the ``titles.json`` a previous ``fineco year`` run wrote."""
    file = str(path)
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise DataFileError(
            Problem(
                tr("cannot read {path}: {reason}", path=file, reason=exc.strerror or exc),
                Location(file),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None
    except json.JSONDecodeError as exc:
        raise DataFileError(
            Problem(
                tr("not JSON: {reason}", reason=exc.msg), Location(file, exc.lineno, exc.colno), None, Code.NOT_JSON
            )
        ) from None
    return Titles.from_mapping(data, file)


def titles_from_register(rows: Sequence[Mapping[str, Any]], year: int, file: str | None = None) -> Titles:
    """Last year's titles from a registry's register (``Registry.titles(trust, year=...)``): a title the
    province revoked (摘牌) is held no more, so it shows as lost and gives no claim to good this year."""
    entries: dict[str, Title] = {}
    for row in rows:
        county = str(row.get("county") or "")
        grade = _GRADES.get(str(row.get("grade")))
        if not county or grade is None:
            continue
        revoked = str(row.get("status", "")).startswith("摘牌")
        entries[county] = Title(
            county,
            None if row.get("name") is None else str(row["name"]),
            str(row.get("city") or county[:4] + "00"),
            None if revoked else grade,
            None,
            None if row.get("policy") is None else str(row["policy"]),
            "lost" if revoked else "kept",
        )
    return Titles(year, entries, file)
