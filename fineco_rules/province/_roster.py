"""The roster: which counties must be assessed in a year, by prefecture city (GB/T 2260), pilots marked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import attrs

from fineco_rules.errors import Code, DataFileError, Location, Problem, join, tr
from fineco_rules.io._readers import read_records

__all__ = ["Roster", "RosterEntry", "read_roster"]

_COLUMNS: Final = ("county", "name", "city", "pilot", "from", "until")


@attrs.frozen
class RosterEntry:
    """One county-level unit: its code, name and city, whether it was a pilot, and the years it is assessed."""

    county: str
    name: str
    city: str
    pilot: bool = False
    first: int | None = None
    last: int | None = None

    def assessed_in(self, year: int) -> bool:
        return (self.first is None or self.first <= year) and (self.last is None or year <= self.last)


@attrs.frozen
class Roster:
    """Every county-level unit the province assesses; :meth:`for_year` gives one year's denominator."""

    entries: Mapping[str, RosterEntry]
    file: str | None = None

    def for_year(self, year: int, *, pilots_only: bool = False) -> dict[str, str]:
        """County code → city code of the counties that must be assessed in ``year`` (the pilots only in a pilot
        year)."""
        return {
            e.county: e.city
            for e in sorted(self.entries.values(), key=lambda e: e.county)
            if e.assessed_in(year) and (e.pilot or not pilots_only)
        }

    def name(self, county: str) -> str | None:
        entry = self.entries.get(county)
        return None if entry is None else entry.name


def _year(text: str, where: Location) -> int | None:
    if not text:
        return None
    if not (text.isdigit() and len(text) == 4):
        raise DataFileError(
            Problem(tr("expected a year like 2009, found {text!r}", text=text), where, None, Code.BAD_ROSTER)
        )
    return int(text)


def read_roster(path: str | os.PathLike[str]) -> Roster:
    """Read a roster CSV: ``county,name,city,pilot,from,until`` (``pilot`` true/false; ``from``/``until`` the first
    and last year assessed, empty when open)."""
    read = read_records(path)
    file = str(path)
    problems = list(read.problems)
    entries: dict[str, RosterEntry] = {}
    for record in read.records:
        values = {k: str(v).strip() if v is not None else "" for k, v in record.values.items()}
        where = Location(file, record.location.line)
        lacking = [c for c in _COLUMNS if c not in values]
        if lacking:
            problems.append(
                Problem(
                    tr("roster row lacks {columns}", columns=join(lacking)),
                    where,
                    tr("give {columns}", columns=",".join(_COLUMNS)),
                    Code.BAD_ROSTER,
                )
            )
            continue
        county, city = values["county"], values["city"]
        if not (county.isdigit() and len(county) == 6 and city.isdigit() and len(city) == 6):
            problems.append(
                Problem(
                    tr("county {county!r} or city {city!r} is not a six-digit code", county=county, city=city),
                    where,
                    None,
                    Code.BAD_ROSTER,
                )
            )
            continue
        if county in entries:
            problems.append(
                Problem(tr("county {county} is on the roster twice", county=county), where, None, Code.BAD_ROSTER)
            )
            continue
        pilot = values["pilot"].lower()
        if pilot not in ("true", "false", ""):
            problems.append(
                Problem(tr("pilot must be true or false, found {pilot!r}", pilot=pilot), where, None, Code.BAD_ROSTER)
            )
            continue
        try:
            first, last = _year(values["from"], where), _year(values["until"], where)
        except DataFileError as exc:
            problems.extend(exc.problems)
            continue
        entries[county] = RosterEntry(county, values["name"], city, pilot == "true", first, last)
    if problems:
        raise DataFileError(problems)
    return Roster(entries, file)
