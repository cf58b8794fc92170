"""Safe names: every id, version, city code and actor name is checked before it touches a path or a line of output.

A name that fails its pattern is refused with :class:`~fineco_rules.errors.FinecoError` code ``unsafe-name``
(``fineco`` exits 2): nothing is written, nothing is printed from it.
"""

from __future__ import annotations

import re
from typing import Final

from fineco_rules.errors import Code, Location, Problem, UnsafeName

__all__ = ["UNSAFE", "UnsafeName", "check_city", "check_id", "check_text", "check_who"]

UNSAFE: Final = Code.UNSAFE_NAME

#: Ids and versions: ASCII letters, digits, dot, dash, underscore; starting with a letter or digit; no "..".
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: A six-digit administrative code (320500).
_CITY: Final = re.compile(r"[0-9]{6}")
#: Who acts: letters of any script, digits, spaces and a little punctuation; 1 to 64 characters.
_WHO: Final = re.compile(r"[^\W_](?:[\w .·()（）-]{0,62}[^\W_)）.]|[)）])?", re.UNICODE)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _refuse(what: str, value: object, rule: str) -> UnsafeName:
    return UnsafeName(
        Problem(f"unsafe {what} {value!r}: {rule}", Location(), "use a plain name of the form described", UNSAFE)
    )


def check_id(value: object, what: str = "id") -> str:
    """An id or version: ``[A-Za-z0-9][A-Za-z0-9._-]*``, at most 200 characters, no ``..``."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or ".." in value:
        raise _refuse(what, value, "use letters, digits, '.', '-' and '_' only, starting with a letter or digit")
    return value


def check_city(value: object) -> str:
    """A city: its six-digit code."""
    if not isinstance(value, str) or not _CITY.fullmatch(value):
        raise _refuse("city code", value, "give the six-digit code, e.g. 320500")
    return value


def check_who(value: object) -> str:
    """Who acts (``--by``): 1 to 64 letters, digits, spaces and ``.·()-``, not blank, no line breaks."""
    if not isinstance(value, str) or not _WHO.fullmatch(value):
        raise _refuse("name (--by)", value, "give 1 to 64 letters or digits (spaces and .·()- allowed inside)")
    return value


def check_text(value: object, what: str = "reason (--why)") -> str:
    """Free text (``--why``): at most 500 characters and no control characters or line breaks."""
    if not isinstance(value, str) or len(value) > 500 or _CONTROL.search(value):
        raise _refuse(what, value, "write one line of at most 500 characters")
    return value
