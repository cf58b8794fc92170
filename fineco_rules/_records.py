"""County records: raw values checked against a policy's declared inputs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from ._errors import Location, Problem
from ._numbers import as_decimal
from ._policy import InputSpec, Policy
from ._readers import RawRecord
from ._scorer import Value

__all__ = ["META_FIELDS", "CountyRecord", "check_records"]

#: Record fields that describe the county rather than feed indicators.
META_FIELDS: Final = frozenset({"county", "name", "city", "year", "note"})
_CODE: Final = re.compile(r"^[1-9][0-9]{5}$")
_TRUE: Final = frozenset({"true", "yes", "y", "1", "是", "有"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "否", "无"})


@attrs.frozen
class CountyRecord:
    """One county's checked inputs; ``None`` marks a missing value."""

    county: str
    name: str | None
    city: str | None
    values: Mapping[str, Value | None]
    location: Location
    problems: tuple[Problem, ...] = ()


def _where(raw: RawRecord, county: str | None, field: str | None) -> Location:
    return attrs.evolve(raw.location, county=county, field=field)


def _typed(spec: InputSpec, value: object) -> Value:
    """``value`` as the spec's type; ``ValueError`` says what was expected."""
    if spec.type == "table":
        if not isinstance(value, list | tuple) or not all(isinstance(row, Mapping) for row in value):
            raise ValueError(f"expected a table (a list of rows), found {type(value).__name__}")
        return tuple(dict(row) for row in value)
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected true or false, found {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"expected a number, found {value!r}")
    try:
        number = as_decimal(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, found {value!r}") from None
    if spec.type == "integer" and number != number.to_integral_value():
        raise ValueError(f"expected a whole number, found {value!r}")
    if (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
        low = "-∞" if spec.min is None else spec.min
        high = "+∞" if spec.max is None else spec.max
        unit = f" {spec.unit}" if spec.unit else ""
        raise ValueError(f"{number}{unit} is outside the allowed range [{low}, {high}]")
    return number


def _hint(spec: InputSpec) -> str:
    if spec.type == "table":
        return "give a list of rows in JSON/YAML, or attach a file of rows (fineco evaluate --table FIELD=FILE)"
    if spec.type == "ratio":
        return "write a ratio between 0 and 1, e.g. 0.85 for 85 %"
    if spec.type == "boolean":
        return "write true or false"
    if spec.type == "integer":
        return "write a whole number"
    return "write a plain number, e.g. 12.5"


def check_records(policy: Policy, raws: Iterable[RawRecord]) -> tuple[list[CountyRecord], list[Problem]]:
    """Check every raw record; bad ones keep their problems, the rest are clean.

    The second list holds batch-level notes (unknown columns, duplicate counties).
    """
    inputs = policy.inputs
    records: list[CountyRecord] = []
    notes: list[Problem] = []
    seen_columns: set[str] = set()
    first_row: dict[str, Location] = {}
    for raw in raws:
        problems: list[Problem] = []
        code_raw = raw.values.get("county")
        county = None if code_raw is None else str(code_raw).strip()
        if not county:
            problems.append(
                Problem(
                    "the county code is missing",
                    _where(raw, None, "county"),
                    "every record needs `county`, its six-digit GB/T 2260 code",
                    "missing-county",
                )
            )
            county = ""
        elif not _CODE.match(county):
            problems.append(
                Problem(
                    f"county code {county!r} is not six digits",
                    _where(raw, county, "county"),
                    "write the six-digit GB/T 2260 code, e.g. 320581",
                    "bad-county",
                )
            )
        elif county in first_row:
            problems.append(
                Problem(
                    f"county {county} appears twice (first at {first_row[county]})",
                    _where(raw, county, "county"),
                    "keep one record per county",
                    "duplicate-county",
                )
            )
        else:
            first_row[county] = raw.location
        for column in raw.values:
            if column not in inputs and column not in META_FIELDS and column not in seen_columns:
                seen_columns.add(column)
                close = difflib.get_close_matches(column, list(inputs), n=1)
                notes.append(
                    Problem(
                        f"column {column!r} is not an input of {policy.id} {policy.version}; it is ignored",
                        attrs.evolve(raw.location, field=column, county=None),
                        f"did you mean {close[0]!r}?" if close else None,
                        "unknown-column",
                    )
                )
        values: dict[str, Value | None] = {}
        for name, spec in inputs.items():
            value = raw.values.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                values[name] = None
                if spec.required:
                    problems.append(
                        Problem(
                            f"required input {name!r} is missing",
                            _where(raw, county, name),
                            f"add {spec.label.en} ({spec.label.zh})",
                            "missing-input",
                        )
                    )
                continue
            try:
                values[name] = _typed(spec, value)
            except ValueError as exc:
                values[name] = None
                problems.append(Problem(str(exc), _where(raw, county, name), _hint(spec), "bad-value"))
        name_raw = raw.values.get("name")
        city_raw = raw.values.get("city")
        city = str(city_raw).strip() if city_raw is not None else (county[:4] + "00" if len(county) == 6 else None)
        records.append(
            CountyRecord(
                county, None if name_raw is None else str(name_raw), city, values, raw.location, tuple(problems)
            )
        )
    return records, notes


def raw_from_mapping(values: Mapping[str, object], index: int, source: str = "<records>") -> RawRecord:
    """A Python mapping as a raw record, located by its index in the batch."""
    return RawRecord(dict(values), Location(source, path=f"[{index}]"))
