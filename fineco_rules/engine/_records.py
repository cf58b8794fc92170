"""County records: raw values checked against a policy's declared inputs."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from fineco_rules.errors import Code, Location, Msg, Problem, join, tr
from fineco_rules.io._numbers import as_decimal
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import InputSpec, Policy, Unit
from fineco_rules.scoring._scorer import Value

__all__ = ["META_FIELDS", "META_LABELS", "CountyRecord", "check_records", "header_names"]

#: Record fields that describe the county rather than feed indicators.
META_FIELDS: Final = frozenset({"county", "name", "city", "year", "note"})
_CODE: Final = re.compile(r"^[1-9][0-9]{5}$")
_TRUE: Final = frozenset({"true", "yes", "y", "1", "是", "有"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "否", "无"})
#: The column titles (Chinese, English) that templates write for the describing fields, and readers accept.
META_LABELS: Final[Mapping[str, tuple[str, ...]]] = {
    "county": ("县（市）代码", "county code", "县代码"),
    "name": ("县（市）名称", "county name", "县名"),
    "city": ("所属市代码", "city code", "市代码"),
    "year": ("年份", "year of data", "年度"),
    "note": ("备注", "remarks"),
}
#: A percentage as offices type it: digits, an optional decimal part, a percent sign.
_PERCENT: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?[ ]?%")
#: How many rows a note or a repeated problem names before it only counts them.
FIRST_ROWS: Final = 5


def header_names(policy: Policy) -> dict[str, str]:
    """Every name a column of ``policy``'s records may carry, mapped to the field it is read as.

    Field names map to themselves; the Chinese and English labels of the inputs and the titles of
    :data:`META_LABELS` map to their field. A label two inputs share is left out (it would be a guess).
    """
    names: dict[str, str] = {}
    shared: set[str] = set()
    pairs = [(label, field) for field, labels in META_LABELS.items() for label in labels]
    pairs += [(label, name) for name, spec in policy.inputs.items() for label in (spec.label.zh, spec.label.en)]
    for label, field in pairs:
        label = label.strip()
        if label in names and names[label] != field:
            shared.add(label)
        names.setdefault(label, field)
    for label in shared:
        del names[label]
    names.update({field: field for field in (*policy.inputs, *META_FIELDS, *policy.unit.fields)})
    return names


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


class _BadText(ValueError):
    """A value written as text that is not a plain number, with the exact fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


_THOUSANDS: Final = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SPECIAL: Final = re.compile(r"^[=#]|[%,]")
_SHEET_ERRORS: Final = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!"})


def _check_text(spec: InputSpec, value: str) -> Decimal | None:
    """A percentage for a ratio input, else refuse numbers typed as a person would, with the fix.

    "83.49%" for a ratio is exactly 0.8349 (the caller notes it). Anything else is refused, not guessed:
    "85%" may be a fraction or percentage points when the input is not a ratio, and a comma may be a
    thousands separator or a decimal comma. The hint gives the exact plain number.
    """
    text = value.strip()
    if text.isascii() and not _SPECIAL.search(text):
        return None  # the common case, a plain number or plain nonsense: Decimal decides
    if spec.type == "ratio" and _PERCENT.fullmatch(text):
        return Decimal(text.removesuffix("%").strip()).scaleb(-2)
    _check_sheet_cell(text)
    meant = _meant_number(value, text)
    if meant is not None:
        number, percent, reasons = meant
        raise _BadText(
            tr("{value!r} is not a plain number: {names}", value=value, names=join(reasons, en=", and ", zh="，且")),
            _plain_fix(spec, number, percent),
        )
    return None


def _check_sheet_cell(text: str) -> None:
    """Refuse a formula without its saved result, or a spreadsheet error, where a number belongs."""
    if text.startswith("="):
        raise _BadText(
            tr("the cell holds the formula {text} but no saved result", text=text),
            tr(
                "open the workbook in Excel or LibreOffice and save it, so formula results are stored, "
                "or replace the formulas by their values (Paste Special, Values)"
            ),
        )
    if text.upper() in _SHEET_ERRORS:
        raise _BadText(
            tr("the cell holds the spreadsheet error {text}", text=text), tr("fix the formula that gives this error")
        )


def _meant_number(value: str, text: str) -> tuple[Decimal, bool, list[Msg]] | None:
    """The number a person typed as ``text``, whether with a percent sign, and why it is not plain.

    ``None`` when it is plain after all, or no number at all (the plain error says so).
    """
    plain = unicodedata.normalize("NFKC", text)  # full-width ８５％ becomes 85%
    reasons: list[Msg] = [] if text.isascii() else [tr("it is written with full-width or other non-ASCII digits")]
    percent = plain.endswith("%")
    core = plain.removesuffix("%").strip()
    if percent:
        reasons.append(tr("it has a percent sign"))
    if _THOUSANDS.fullmatch(core):
        reasons.append(tr("it has thousands separators"))
        core = core.replace(",", "")
    elif "," in core:
        raise _BadText(
            tr("expected a number, found {value!r}", value=value),
            tr("write a plain number with a decimal point and no separators, e.g. 1234.5"),
        )
    if not reasons:
        return None
    try:
        number = Decimal(core)
    except InvalidOperation:
        return None
    return (number, percent, reasons) if number.is_finite() else None


def _plain_fix(spec: InputSpec, number: Decimal, percent: bool) -> Msg:
    """The plain number to write instead; a percentage is read by the input's type and unit."""
    if not percent:
        return tr("write {number}", number=number)
    if spec.type == "ratio":
        return tr(
            "write {ratio}; the input is a ratio, and {percent} is {ratio}",
            ratio=number.scaleb(-2),
            percent=f"{number} %",
        )
    if spec.unit is not None and "%" in spec.unit:
        return tr("write {number}; the unit is already {unit}", number=number, unit=spec.unit)
    return tr(
        "write {ratio} for a fraction, or {number} for percentage points, as the policy means",
        ratio=number.scaleb(-2),
        number=number,
    )


def _typed(spec: InputSpec, value: object) -> Value:
    """``value`` as the spec's type; ``ValueError`` says what was expected."""
    if spec.type == "table":
        if not isinstance(value, list | tuple) or not all(isinstance(row, Mapping) for row in value):
            raise ValueError(tr("expected a table (a list of rows), found {kind}", kind=type(value).__name__))
        return tuple(dict(row) for row in value)
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(tr("expected true or false, found {value!r}", value=value))
    if isinstance(value, bool):
        raise ValueError(tr("expected a number, found {value!r}", value=value))
    percent = _check_text(spec, value) if isinstance(value, str) else None
    try:
        number = as_decimal(value) if percent is None else percent
    except (TypeError, ValueError):
        raise ValueError(tr("expected a number, found {value!r}", value=value)) from None
    if spec.type == "integer" and number != number.to_integral_value():
        raise ValueError(tr("expected a whole number, found {value!r}", value=value))
    if (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
        low = "-∞" if spec.min is None else spec.min
        high = "+∞" if spec.max is None else spec.max
        unit = f" {spec.unit}" if spec.unit else ""
        raise ValueError(
            tr(
                "{number}{unit} is outside the allowed range [{low}, {high}]",
                number=number,
                unit=unit,
                low=low,
                high=high,
            )
        )
    return number


def _hint(spec: InputSpec) -> Msg:
    if spec.type == "table":
        return tr("give a list of rows in JSON/YAML, or attach a file of rows (fineco evaluate --table FIELD=FILE)")
    if spec.type == "ratio":
        return tr("write a ratio between 0 and 1, e.g. 0.85 for 85 %")
    if spec.type == "boolean":
        return tr("write true or false")
    if spec.type == "integer":
        return tr("write a whole number")
    return tr("write a plain number, e.g. 12.5")


def _key_problem(unit: Unit, raw: RawRecord, key: str, first_row: dict[str, Location]) -> Problem | None:
    """What is wrong with a non-county unit's key (missing, or seen before in this batch), if anything."""
    name = unit.label
    if not key:
        return Problem(
            tr("the {name} key {key!r} is missing", name=name, key=unit.key),
            _where(raw, None, unit.key),
            tr("every record needs `{key}`, the text that identifies the {name}", key=unit.key, name=name),
            Code.MISSING_KEY,
        )
    if key in first_row:
        return Problem(
            tr("{name} {key} appears twice (first at {first_row})", name=name, key=key, first_row=first_row[key]),
            _where(raw, key, unit.key),
            tr("keep one record per {name}", name=name),
            Code.DUPLICATE_KEY,
        )
    first_row[key] = raw.location
    return None


def _city(raw: RawRecord, unit: Unit, county: str) -> str | None:
    """The prefecture city: the ``city`` column, else from the county code (the key, or the county parent)."""
    given = raw.values.get("city")
    if given is not None:
        return str(given).strip()
    code = county if unit.is_county else str(raw.values.get(unit.parents.get("county", ""), "") or "").strip()
    return code[:4] + "00" if len(code) == 6 else None


def check_records(policy: Policy, raws: Iterable[RawRecord]) -> tuple[list[CountyRecord], list[Problem]]:
    """Check every raw record; bad ones keep their problems, the rest are clean.

    The second list holds batch-level notes (unknown columns, duplicate counties). Records are keyed by
    the policy's ``unit``: a six-digit county code by default; for another unit (a household, say) the
    key is any non-empty text, unique within this batch (:attr:`CountyRecord.county` carries it).
    """
    unit = policy.unit
    meta = META_FIELDS | unit.fields
    records: list[CountyRecord] = []
    notes: list[Problem] = []
    seen_columns: set[str] = set()
    first_row: dict[str, Location] = {}
    percents: dict[str, list[tuple[Location, str, Value | None]]] = {}
    for raw in raws:
        if not unit.is_county:  # every problem of this record names it by the policy's word (country, household)
            raw = attrs.evolve(raw, location=attrs.evolve(raw.location, unit=unit.label))
        county, problems = _checked_key(unit, raw, first_row)
        notes.extend(_unknown_columns(policy, raw, meta, seen_columns))
        values = _checked_values(policy.inputs, raw, county, problems, percents)
        name_raw = raw.values.get("name")
        city = _city(raw, unit, county)
        records.append(
            CountyRecord(
                county, None if name_raw is None else str(name_raw), city, values, raw.location, tuple(problems)
            )
        )
    notes += [_percent_note(policy.inputs[name], read) for name, read in percents.items()]
    return records, notes


def _checked_key(unit: Unit, raw: RawRecord, first_row: dict[str, Location]) -> tuple[str, list[Problem]]:
    """The record's key (``""`` when missing), and what is wrong with it."""
    code_raw = raw.values.get(unit.key)
    key = "" if code_raw is None else str(code_raw).strip()
    problem = _county_problem(raw, key, first_row) if unit.is_county else _key_problem(unit, raw, key, first_row)
    return key, [] if problem is None else [problem]


def _county_problem(raw: RawRecord, county: str, first_row: dict[str, Location]) -> Problem | None:
    """What is wrong with a county code (missing, not six digits, seen before in this batch), if anything."""
    if not county:
        return Problem(
            tr("the county code is missing"),
            _where(raw, None, "county"),
            tr("every record needs `county`, its six-digit GB/T 2260 code"),
            Code.MISSING_COUNTY,
        )
    if not _CODE.match(county):
        return Problem(
            tr("county code {county!r} is not six digits", county=county),
            _where(raw, county, "county"),
            tr("write it with ASCII digits: {value}", value=unicodedata.normalize("NFKC", county))
            if _CODE.match(unicodedata.normalize("NFKC", county)) and not county.isascii()
            else tr("write the six-digit GB/T 2260 code, e.g. 320581"),
            Code.BAD_COUNTY,
        )
    if county in first_row:
        return Problem(
            tr("county {county} appears twice (first at {first_row})", county=county, first_row=first_row[county]),
            _where(raw, county, "county"),
            tr("keep one record per county"),
            Code.DUPLICATE_COUNTY,
        )
    first_row[county] = raw.location
    return None


def _unknown_columns(policy: Policy, raw: RawRecord, meta: frozenset[str], seen: set[str]) -> list[Problem]:
    """A note for each column of ``raw`` that is neither an input nor a meta field and not ``seen`` before."""
    notes = []
    for column in raw.values:
        if column not in policy.inputs and column not in meta and column not in seen:
            seen.add(column)
            close = difflib.get_close_matches(column, list(policy.inputs), n=1)
            notes.append(
                Problem(
                    tr(
                        "column {column!r} is not an input of {id} {version}; it is ignored",
                        column=column,
                        id=policy.id,
                        version=policy.version,
                    ),
                    attrs.evolve(raw.location, field=column, county=None),
                    tr("did you mean {name!r}?", name=close[0]) if close else None,
                    Code.UNKNOWN_COLUMN,
                )
            )
    return notes


def _checked_values(
    inputs: Mapping[str, InputSpec],
    raw: RawRecord,
    county: str,
    problems: list[Problem],
    percents: dict[str, list[tuple[Location, str, Value | None]]],
) -> dict[str, Value | None]:
    """Each input's value, typed; a missing or bad one is ``None`` and its problem is added to ``problems``;
    a percentage read for a ratio goes to ``percents`` (one note per column)."""
    values: dict[str, Value | None] = {}
    for name, spec in inputs.items():
        value = raw.values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            values[name] = None
            if spec.required:
                problems.append(
                    Problem(
                        tr("required input {name!r} is missing", name=name),
                        _where(raw, county, name),
                        tr("add {label}", label=_Label(spec.label.zh, spec.label.en)),
                        Code.MISSING_INPUT,
                    )
                )
            continue
        try:
            values[name] = _typed(spec, value)
        except ValueError as exc:
            values[name] = None
            hint = exc.hint if isinstance(exc, _BadText) else _hint(spec)
            said = exc.args[0] if exc.args and isinstance(exc.args[0], Msg) else str(exc)
            problems.append(Problem(said, _where(raw, county, name), hint, Code.BAD_VALUE))
            continue
        if isinstance(value, str) and value.strip().endswith("%"):
            percents.setdefault(name, []).append((raw.location, value.strip(), values[name]))
    return values


class _Label:
    """An input's label: ``NPL ratio (不良贷款率)`` in English, the Chinese label alone in Chinese."""

    __slots__ = ("en", "zh")

    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en

    def render(self, lang: str) -> str:
        return self.zh if lang == "zh" else f"{self.en} ({self.zh})"

    def __str__(self) -> str:
        return self.render("en")


class _Named:
    """An input's field name: ``'npl_ratio'`` in English, ``不良贷款率（npl_ratio）`` in Chinese."""

    __slots__ = ("name", "zh")

    def __init__(self, name: str, zh: str) -> None:
        self.name, self.zh = name, zh

    def render(self, lang: str) -> str:
        return f"{self.zh}（{self.name}）" if lang == "zh" else repr(self.name)

    def __str__(self) -> str:
        return self.render("en")


def _percent_note(spec: InputSpec, read: list[tuple[Location, str, Value | None]]) -> Problem:
    """One note for every percentage read in one column: how many, an example, the first rows."""
    where, text, value = read[0]
    rows = join(str(loc.line if loc.line is not None else loc.path) for loc, _, _ in read[:FIRST_ROWS])
    more = " …" if len(read) > FIRST_ROWS else ""
    return Problem(
        tr(
            "{count} percentage(s) in {name} were read as ratios, e.g. {text} as {value}; rows {rows}{more}",
            count=len(read),
            name=_Named(spec.name, spec.label.zh),
            text=text,
            value=value,
            rows=rows,
            more=more,
        ),
        attrs.evolve(where, field=spec.name, county=None),
        tr("nothing to fix; a ratio may also be written as a decimal, e.g. 0.85"),
        Code.PERCENT_READ,
    )


def raw_from_mapping(values: Mapping[str, object], index: int, source: str = "<records>") -> RawRecord:
    """A Python mapping as a raw record, located by its index in the batch."""
    return RawRecord(dict(values), Location(source, path=f"[{index}]"))
