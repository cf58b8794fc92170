"""The one JSON writer: every result, report and export is written through :func:`dumps`.

It knows the project's types (Decimals written with every digit, dates, enums, objects with ``to_dict``, attrs
classes) and refuses what JSON cannot hold (NaN, infinities) with a clear error.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import json.encoder
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from fineco_rules.errors import JSONWriteError, tr

__all__ = ["ExactFloat", "JSONWriteError", "dumps", "dumps_columns", "dumps_each", "number_text"]

#: Written as plain digits (``0.000001``, ``1000000``) within this many places of the point; as ``1E+40`` beyond.
_PLAIN_PLACES: Final = 30


class ExactFloat(float):
    """A float that remembers the exact decimal it stands for.

    ``json.dumps`` writes the nearest float (the documented plain-types contract of ``to_dict``);
    :func:`dumps` writes ``decimal`` with every digit.
    """

    __slots__ = ("decimal",)
    decimal: Decimal

    def __new__(cls, value: Decimal) -> ExactFloat:
        made = super().__new__(cls, value)
        made.decimal = value
        return made

    def __reduce__(self) -> tuple[Any, tuple[Decimal]]:
        return ExactFloat, (self.decimal,)


def number_text(value: Decimal) -> str:
    """The JSON number text of a finite Decimal, every digit kept: ``0.0599999999999999999``, ``85.50``, ``-3``."""
    if not value.is_finite():
        raise JSONWriteError(tr("{value} is not a finite number; JSON has no NaN or infinity", value=value), "")
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # only NaN and infinities have a letter here, and they are refused above
        raise JSONWriteError(tr("{value} is not a finite number; JSON has no NaN or infinity", value=value), "")
    if -_PLAIN_PLACES <= exponent <= _PLAIN_PLACES and -_PLAIN_PLACES <= value.adjusted() <= _PLAIN_PLACES:
        return format(value, "f")
    return str(value).replace("e", "E")


def dumps(value: object, *, indent: int | None = 2, sort_keys: bool = False, compact: bool = False) -> str:
    """``value`` as JSON text (UTF-8 characters kept), the way ``json.dumps`` lays it out.

    ``indent=None`` writes one line; ``compact`` drops the spaces after ``,`` and ``:`` as well.
    Raises :class:`JSONWriteError` for NaN, infinities and types it does not know, naming where they sit.
    """
    item, key = (",", ":") if compact else ("," if indent is not None else ", ", ": ")
    return "".join(_Writer(indent, sort_keys, item, key).write(value, 0, "$"))


def dumps_each(values: Iterable[object], *, depth: int = 0) -> Iterator[str]:
    """Each of ``values`` as :func:`dumps` writes it (``indent=2``), its lines after the first indented as an
    item ``depth`` levels deep: what ``dumps([...])`` would hold, one item at a time, for streaming.

    Dicts whose values are scalars, empty lists or dicts of scalars (a county's summary) are written
    directly, the same text far faster; anything else goes through :func:`dumps`.
    """
    pad = "\n" + "  " * depth
    heads: dict[tuple[str, ...], str] = {}  # the text around the values, for each indent and set of keys met
    for value in values:
        text = _flat(value, pad, heads) if type(value) is dict else None
        yield text if text is not None else dumps(value).replace("\n", pad)


def dumps_columns(keys: Sequence[str], columns: Sequence[Sequence[object]], *, depth: int = 0) -> list[str] | None:
    """What :func:`dumps_each` writes for the dicts ``{key: column[i] for key, column in zip(keys, columns)}``,
    made a column at a time: for a batch of records of one shape, far faster than a record at a time.

    Each column must hold text (or None) only, Decimals (or None) only, dicts with one tuple of keys whose
    values are such columns, or empty lists only; else None (write the records with :func:`dumps_each`).
    """
    return _columns(tuple(keys), columns, "\n" + "  " * depth)


def _columns(keys: tuple[str, ...], columns: Sequence[Sequence[object]], pad: str) -> list[str] | None:
    made = _template(keys, columns, pad)
    if made is None:
        return None
    pieces, texts = made
    # Each record is its pieces and values in turn, joined at once: a dict column's keys are among the pieces, its
    # values among the texts.
    parts: list[Iterable[str]] = []
    for piece, text in zip(pieces, texts, strict=False):
        parts += [itertools.repeat(piece), text] if piece else [text]
    parts.append(itertools.repeat(pieces[-1]))
    return list(map("".join, zip(*parts, strict=False)))


def _template(
    keys: tuple[str, ...], columns: Sequence[Sequence[object]], pad: str
) -> tuple[list[str], list[Sequence[str]]] | None:
    """The text of one record of ``keys`` around its values (one more piece than values), and the texts of its
    values column by column; None if a column is not one :func:`dumps_columns` takes."""
    if not keys or not columns or len(keys) != len(columns) or not columns[0]:
        return None
    inner = pad + "  "
    pieces = [""]  # the last piece is the text before the next value
    texts: list[Sequence[str]] = []
    for n, (key, column) in enumerate(zip(keys, columns, strict=True)):
        pieces[-1] += ("{" if n == 0 else ",") + inner + _string(key) + ": "
        made = _column_texts(column, inner)
        if made is None:
            return None
        if isinstance(made, tuple):  # a column of dicts: its pieces among ours, its columns among ours
            pieces[-1] += made[0][0]
            pieces += made[0][1:]
            texts += made[1]
        else:
            pieces.append("")
            texts.append(made)
    pieces[-1] += pad + "}"
    return pieces, texts


_TEXT_OR_NONE: Final = frozenset({str, type(None)})
_DECIMAL_OR_NONE: Final = frozenset({Decimal, type(None)})


def _column_texts(column: Sequence[object], pad: str) -> Sequence[str] | tuple[list[str], list[Sequence[str]]] | None:
    """Each value of ``column`` as :func:`dumps` writes it, a line of a dict indented by ``pad`` (for a column
    of dicts, the pieces around their values and their columns: see :func:`_template`); None if the column is
    not one :func:`dumps_columns` takes."""
    kinds = set(map(type, column))
    if kinds <= _TEXT_OR_NONE:
        if type(None) in kinds:
            return ["null" if v is None else _string(v) for v in column]  # type: ignore[arg-type]
        return list(map(_string, column))  # type: ignore[arg-type]
    if kinds <= _DECIMAL_OR_NONE:
        texts = ["null" if v is None else str(v) for v in column] if type(None) in kinds else list(map(str, column))
        joined = "".join(texts)  # str() writes plain digits down to 1E-6; NaN, sNaN and Infinity have N or I
        return texts if "E" not in joined and "N" not in joined and "I" not in joined else None
    if kinds == {dict}:
        shapes: set[tuple[str, ...]] = set(map(tuple, column))  # type: ignore[arg-type]
        if len(shapes) != 1:
            return None
        keys = shapes.pop()
        if not keys or any(type(k) is not str for k in keys):
            return None
        values = list(zip(*map(dict.values, column), strict=True))  # type: ignore[arg-type]
        return _template(keys, values, pad)
    if kinds == {list} and not any(column):
        return ["[]"] * len(column)
    return None


_QUICK: Final = frozenset({str, int, bool, type(None), Decimal})


def _flat(value: dict[Any, Any], pad: str, heads: dict[tuple[str, ...], str]) -> str | None:
    """``value`` (a dict) as :func:`dumps` writes it, if every value is a scalar, an empty list or a dict of
    scalars with text keys; else None. ``heads`` keeps, per indent and tuple of keys, the text around the values as a
    ``%`` template (one ``%s`` per value)."""
    if not value:
        return "{}"
    keys = (pad, *value)  # the same keys deeper down are written with a deeper indent
    head = heads.get(keys)
    if head is None:
        if any(type(k) is not str for k in keys):
            return None
        inner = pad + "  "
        pieces = [("{" if n == 0 else ",") + inner + _string(k) + ": " for n, k in enumerate(keys[1:])]
        head = heads[keys] = "".join(piece.replace("%", "%%") + "%s" for piece in pieces) + (pad + "}").replace(
            "%", "%%"
        )
    values = list(value.values())
    kinds = set(map(type, values))
    if kinds == _DECIMAL:  # a dict of scores: every number at once, checked on its text
        texts = list(map(str, values))
        joined = "".join(texts)
        # str() writes a Decimal as plain digits down to 1E-6 and without exponent (else the long way), and
        # NaN, sNaN and Infinity with an N or I: those go the careful way, which refuses them.
        if "E" not in joined and "N" not in joined and "I" not in joined:
            return head % tuple(texts)
    deeper = pad + "  "
    parts = []
    for item in values:
        kind = type(item)
        if kind in _QUICK:
            text = _quick(item, kind)
        elif kind is dict:
            text = _flat(item, deeper, heads) if item else "{}"
        elif kind is list and not item:
            text = "[]"
        else:
            return None
        if text is None:
            return None
        parts.append(text)
    return head % tuple(parts)


_DECIMAL: Final = {Decimal}


_string: Final = json.encoder.encode_basestring


def _quick(value: Any, kind: type) -> str | None:
    """A scalar as :func:`_scalar` writes it, or None where only :func:`dumps` says (and names the place)."""
    if kind is str:
        return _string(value)
    if kind is Decimal:
        if not value.is_finite():
            return None
        text: str = str(value)  # plain digits for every exponent up to 0 down to 1E-6; else the long way
        return number_text(value) if "E" in text else text
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return int.__repr__(value) if value.bit_length() <= _INT_BITS else None


@attrs.frozen
class _Writer:
    indent: int | None
    sort_keys: bool
    item: str
    key: str

    def write(self, value: object, depth: int, where: str) -> Iterator[str]:
        if value is None or isinstance(value, bool | str | int | float | Decimal):
            yield _scalar(value, where)
        elif isinstance(value, Mapping):
            yield from self._mapping(value, depth, where)
        elif isinstance(value, list | tuple):
            yield from self._sequence(value, depth, where)
        else:
            yield from self.write(_known(value, where), depth, where)

    def _mapping(self, value: Mapping[Any, Any], depth: int, where: str) -> Iterator[str]:
        if not value:
            yield "{}"
            return
        pairs = [(_key(k, where), v) for k, v in value.items()]
        if self.sort_keys:
            pairs.sort(key=lambda kv: kv[0])
        open_, sep, close = self._frame(depth)
        yield "{" + open_
        for n, (k, v) in enumerate(pairs):
            if n:
                yield sep
            yield json.encoder.encode_basestring(k) + self.key
            yield from self.write(v, depth + 1, f"{where}.{k}")
        yield close + "}"

    def _sequence(self, value: list[Any] | tuple[Any, ...], depth: int, where: str) -> Iterator[str]:
        if not value:
            yield "[]"
            return
        open_, sep, close = self._frame(depth)
        yield "[" + open_
        for n, v in enumerate(value):
            if n:
                yield sep
            yield from self.write(v, depth + 1, f"{where}[{n}]")
        yield close + "]"

    def _frame(self, depth: int) -> tuple[str, str, str]:
        """What opens a container's first item, what separates items, and what comes before the closing bracket."""
        if self.indent is None:
            return "", self.item, ""
        inner = "\n" + " " * (self.indent * (depth + 1))
        return inner, self.item + inner, "\n" + " " * (self.indent * depth)


def _scalar(value: object, where: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.encoder.encode_basestring(value)
    if isinstance(value, ExactFloat):
        return _decimal(value.decimal, where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JSONWriteError(tr("{value} is not a finite number; JSON has no NaN or infinity", value=value), where)
        return float.__repr__(value)
    if isinstance(value, Decimal):
        return _decimal(value, where)
    if not isinstance(value, int):
        raise JSONWriteError(tr("a value of type {kind} cannot be written as JSON", kind=type(value).__name__), where)
    if value.bit_length() > _INT_BITS:  # int.__repr__ refuses more than 4,300 digits; Decimal writes them all
        return _decimal(Decimal(value), where)
    return int.__repr__(value)


#: Integers wider than this (about 3,900 digits) are written through Decimal, which has no digit limit.
_INT_BITS: Final = 13_000


def _decimal(value: Decimal, where: str) -> str:
    try:
        return number_text(value)
    except JSONWriteError as e:
        raise JSONWriteError(e.problem.message, where) from None


def _key(key: object, where: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        return str(key.value)
    if key is None or isinstance(key, bool | int | float | Decimal):
        return _scalar(key, where)
    if isinstance(key, datetime.date | datetime.time):
        return key.isoformat()
    raise JSONWriteError(tr("a key of type {kind} cannot be written as JSON", kind=type(key).__name__), where)


def _known(value: object, where: str) -> object:
    """One of our types as plain data: dates as ISO 8601 text, enums by value, objects by ``to_dict`` or fields."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise JSONWriteError(tr("a value of type {kind} cannot be written as JSON", kind=type(value).__name__), where)
