"""The province's year: the roster, each city graded under its own method, the targets, the titles.

It sits between the products and the command line: it may import governance (the filing registry),
analysis, engine and below; only ``fineco_rules.cli`` imports it.
"""

from __future__ import annotations

from fineco_rules.province._roster import Roster, RosterEntry, read_roster
from fineco_rules.province._titles import Title, Titles, read_titles
from fineco_rules.province._year import CityMethod, CityRun, YearResult, YearSetup, load_year, run_year

__all__ = [
    "CityMethod",
    "CityRun",
    "Roster",
    "RosterEntry",
    "Title",
    "Titles",
    "YearResult",
    "YearSetup",
    "load_year",
    "read_roster",
    "read_titles",
    "run_year",
]
