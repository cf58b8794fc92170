"""The policy JSON Schema, and its errors turned into located, fixable problems."""

from __future__ import annotations

import copy
import difflib
import functools
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from fineco_rules.errors import Code, Lang, Location, Msg, Problem, join, render, tr
from fineco_rules.io._yaml import DocPath, Document, punctuation_hint

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

__all__ = ["policy_schema", "schema_problems", "validate_against"]


@functools.cache
def _schema_text() -> str:
    return resources.files("fineco_rules").joinpath("policy/schema/policy.schema.json").read_text("utf-8")


def policy_schema() -> dict[str, Any]:
    """The JSON Schema that every policy file follows (a fresh copy)."""
    result: dict[str, Any] = json.loads(_schema_text())
    return result


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required" or "oneOf" in node}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


@functools.cache
def _validator(partial: bool) -> jsonschema.protocols.Validator:
    schema = policy_schema()
    if partial:
        # A child policy may say only what it changes; the merged result is checked whole.
        schema = _without_required(copy.deepcopy(schema))
        schema["required"] = ["id", "version", "effective_from", "extends"]
        schema["properties"]["extends"]["required"] = ["id", "version"]  # the parent must be named (fuzzing found)
    import jsonschema  # loaded with the first policy, not on import (a cheap `fineco --help`)

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_problems(doc: Document, *, partial: bool = False) -> list[Problem]:
    """Every way ``doc`` breaks the policy schema, each located in the file."""
    return validate_against(_validator(partial), doc, ())


def validate_against(validator: jsonschema.protocols.Validator, doc: Document, at: DocPath) -> list[Problem]:
    """Validate the part of ``doc`` at ``at`` with ``validator``; problems are located in ``doc``."""
    instance: Any = doc.data
    for part in at:
        instance = instance[part]
    problems: list[Problem] = []
    for error in _leaves(validator.iter_errors(instance)):
        problems.extend(_explain(error, doc, at))
    return problems


def _leaves(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Replace a failed ``oneOf`` by its most telling branch error, where one stands out."""
    for error in errors:
        schema: Any = error.schema
        alternatives = schema.get("oneOf", []) if isinstance(schema, dict) else []
        if error.validator == "oneOf" and error.context and not all("required" in a for a in alternatives):
            from jsonschema.exceptions import best_match

            best = best_match(error.context)
            if best is not None and best.validator not in ("required", "enum", "type"):
                yield best
                continue
        yield error


_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"


def _describe(value: object) -> Msg:
    if value is None:
        return tr("nothing (an empty value)")
    if isinstance(value, bool):
        return tr("the boolean {value}", value=str(value).lower())
    if isinstance(value, int | Decimal | float):
        return tr("the number {value}", value=value)
    if isinstance(value, str):
        return tr("the text {value!r}", value=value)
    if isinstance(value, list):
        return tr("a list")
    if isinstance(value, dict):
        return tr("a mapping")
    return tr("{kind}", kind=type(value).__name__)


_TYPE_WORDS = {
    "string": tr("text"),
    "number": tr("a number"),
    "integer": tr("a whole number"),
    "boolean": tr("true or false"),
    "object": tr("a mapping (key: value lines)"),
    "array": tr("a list (- item lines)"),
    "null": tr("nothing"),
}


_BOUNDS: dict[str, tuple[Msg, Msg | None]] = {
    "minimum": (
        tr("expected a number of at least {bound}, found {found}"),
        tr("weights, points and caps are never negative"),
    ),
    "exclusiveMinimum": (
        tr("expected a number above {bound}, found {found}"),
        tr("points and totals are positive; leave the item out to give it nothing"),
    ),
    "maximum": (tr("expected a number of at most {bound}, found {found}"), None),
    "exclusiveMaximum": (tr("expected a number below {bound}, found {found}"), None),
}
#: The Chinese of the schema keywords whose message is jsonschema's own (English keeps jsonschema's words).
_KEYWORD_TEXTS: dict[str, Msg] = {
    "oneOf": tr("this matches none of the allowed ways of writing it"),
    "minLength": tr("the text is too short (at least {count} characters)"),
    "minItems": tr("the list has too few items (at least {count})"),
    "minProperties": tr("give at least {count} keys here"),
}


class _Worded:
    """A message whose English is a library's own words and whose Chinese is ours."""

    __slots__ = ("en", "zh")

    def __init__(self, en: str, zh: Msg) -> None:
        self.en = en
        self.zh = zh

    def render(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh.render(lang)

    def __str__(self) -> str:
        return self.en


#: Schema keywords without a message of their own keep their name as the code.
_OTHER_KEYWORDS: dict[str, Code] = {
    "oneOf": Code.SCHEMA_ONE_OF,
    "minLength": Code.SCHEMA_MIN_LENGTH,
    "minItems": Code.SCHEMA_MIN_ITEMS,
    "minProperties": Code.SCHEMA_MIN_PROPERTIES,
}
_NOT_FINITE = frozenset({".nan", ".inf", "+.inf", "-.inf", "nan", "inf", "-inf", "infinity", "-infinity"})


def _explain(error: ValidationError, doc: Document, at: DocPath) -> Iterator[Problem]:
    """The problems one schema error stands for: one per unknown or missing key, else one for the value."""
    path: DocPath = (*at, *error.absolute_path)
    kind: Any = error.validator
    instance: Any = error.instance
    expected: Any = error.validator_value
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        schema: Any = error.schema
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = (
                tr("did you mean {name!r}?", name=close[0])
                if close
                else tr("allowed keys here: {keys}", keys=join(allowed))
            )
            yield Problem(
                tr("unknown key {key!r}", key=key), doc.location((*path, key), key=True), hint, Code.UNKNOWN_KEY
            )
    elif kind == "required":
        for key in (k for k in expected if k not in instance):
            yield Problem(
                tr("missing key {key!r}", key=key),
                doc.location(path),
                tr("add `{key}:` here", key=key),
                Code.MISSING_KEY,
            )
    elif kind == "propertyNames" or (kind == "pattern" and expected == _NAME_PATTERN):
        yield Problem(
            tr("{name!r} is not a valid name", name=instance),
            doc.location((*path, str(instance)), key=True),
            tr("names use letters, digits and _ and start with a letter, e.g. npl_ratio"),
            Code.BAD_NAME,
        )
    else:
        yield _bad_value(error, doc.location(path), path)


def _bad_value(error: ValidationError, where: Location, path: DocPath) -> Problem:
    """The problem with a value the schema refuses: its type, its choices, its form or its range."""
    kind: Any = error.validator
    instance: Any = error.instance
    schema: Any = error.schema
    expected: Any = error.validator_value
    if kind == "type":
        return _wrong_type(expected, instance, where)
    if kind == "enum":
        options = [str(o) for o in expected]
        close = difflib.get_close_matches(str(instance), options, n=1)
        maybe = tr("did you mean {name!r}?", name=close[0]) if close else None
        return Problem(
            tr(
                "expected one of {options}; found {found}",
                options=join(_Code(o) for o in options),
                found=_describe(instance),
            ),
            where,
            maybe,
            Code.NOT_ALLOWED,
        )
    if kind == "pattern":
        return Problem(
            tr("{name!r} is not a valid identifier", name=instance),
            where,
            tr("use lower-case letters, digits, '.', '-' and '_', e.g. jiangsu-fineco-county"),
            Code.BAD_TEXT,
        )
    if kind == "format":
        return Problem(
            tr("expected a date written YYYY-MM-DD, found {found}", found=_describe(instance)),
            where,
            None,
            Code.BAD_DATE,
        )
    if kind == "oneOf" and "missing" in path:
        return Problem(
            tr(
                "expected not_graded, zero, or {{impute: mean|median|group_mean}}; found {found}",
                found=_describe(instance),
            ),
            where,
            None,
            Code.BAD_MISSING,
        )
    if kind == "oneOf" and all("required" in a for a in schema["oneOf"]):
        choices = _Joiner(["+".join(a["required"]) for a in schema["oneOf"]], quoted=True)
        return Problem(tr("give exactly one of: {choices}", choices=choices), where, None, Code.ONE_OF)
    if kind == "const":
        return Problem(
            tr("expected {value!r}, found {found}", value=expected, found=_describe(instance)),
            where,
            None,
            Code.NOT_ALLOWED,
        )
    if kind in _BOUNDS:
        text, advice = _BOUNDS[kind]
        message = Msg(text.msgid, {"bound": expected, "found": _describe(instance)})
        return Problem(message, where, advice, Code.OUT_OF_RANGE)
    zh = _KEYWORD_TEXTS.get(kind)
    count = expected if isinstance(expected, int) else 1
    shown = _Worded(
        error.message, Msg(zh.msgid, {"count": count}) if zh else tr("this does not follow the policy schema")
    )
    return Problem(tr("{reason}", reason=shown), where, None, _OTHER_KEYWORDS.get(kind, Code.INVALID))


class _Code:
    """A value the user writes (an option of a choice): as it is in English, in code quotes in Chinese."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, lang: Lang) -> str:
        return self.text if lang == "en" else f"`{self.text}`"

    def __str__(self) -> str:
        return self.text


class _Joiner:
    """Choices joined with `` or `` in English and ``或`` in Chinese (names the user writes in code quotes)."""

    __slots__ = ("items", "quoted")

    def __init__(self, items: list[object], *, quoted: bool = False) -> None:
        self.items = items
        self.quoted = quoted

    def render(self, lang: Lang) -> str:
        texts = [render(item, lang) for item in self.items]
        if lang == "en":
            return " or ".join(texts)
        return "或".join(f"`{text}`" if self.quoted else text for text in texts)

    def __str__(self) -> str:
        return self.render("en")


def _wrong_type(expected: Any, instance: Any, where: Location) -> Problem:
    wanted = expected if isinstance(expected, list) else [expected]
    words = _Joiner([_TYPE_WORDS.get(w, w) for w in wanted])
    finite = isinstance(instance, str) and instance.strip().lower() in _NOT_FINITE and "number" in wanted
    fix = tr("write a finite number: NaN and infinity are not numbers a policy can compare with") if finite else None
    if fix is None and isinstance(instance, str):
        fix = punctuation_hint(instance)  # `min_total：62` is one text to YAML, not a key and a value
    return Problem(
        tr("expected {words}, found {found}", words=words, found=_describe(instance)), where, fix, Code.WRONG_TYPE
    )
