"""Safe names: every id, version, city code and actor name is checked before it touches a path or a line of output.

A name that fails its pattern is refused with :class:`~fineco_rules.errors.FinecoError` code ``unsafe-name``
(``fineco`` exits 2): nothing is written, nothing is printed from it.
"""

from __future__ import annotations

import re
from typing import Final

from fineco_rules.errors import Code, Location, Msg, Problem, UnsafeName, join, tr

__all__ = [
    "CITIES",
    "UNSAFE",
    "UnsafeName",
    "check_city",
    "check_id",
    "check_text",
    "check_who",
    "known_city",
    "same_city",
]

UNSAFE: Final = Code.UNSAFE_NAME

#: Ids and versions: ASCII letters, digits, dot, dash, underscore; starting with a letter or digit; no "..".
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: A six-digit administrative code (320500).
_CITY: Final = re.compile(r"[0-9]{6}")
#: Who acts: letters of any script, digits, spaces and a little punctuation; 1 to 64 characters.
_WHO: Final = re.compile(r"[^\W_](?:[\w .·()（）-]{0,62}[^\W_)）.]|[)）])?", re.UNICODE)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _refuse(what: object, value: object, rule: Msg) -> UnsafeName:
    return UnsafeName(
        Problem(
            tr("unsafe {what} {value!r}: {rule}", what=what, value=value, rule=rule),
            Location(),
            tr("use a plain name of the form described"),
            UNSAFE,
        )
    )


def check_id(value: object, what: object = None) -> str:
    """An id or version: ``[A-Za-z0-9][A-Za-z0-9._-]*``, at most 200 characters, no ``..``."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or ".." in value:
        rule = tr("use letters, digits, '.', '-' and '_' only, starting with a letter or digit")
        raise _refuse(tr("id") if what is None else what, value, rule)
    return value


def check_city(value: object) -> str:
    """A city: its six-digit code."""
    if not isinstance(value, str) or not _CITY.fullmatch(value):
        raise _refuse(tr("city code"), value, tr("give the six-digit code, e.g. 320500"))
    return value


#: Jiangsu's thirteen prefecture cities (省辖市) by their GB/T 2260 code.
CITIES: Final = {
    "320100": "南京市",
    "320200": "无锡市",
    "320300": "徐州市",
    "320400": "常州市",
    "320500": "苏州市",
    "320600": "南通市",
    "320700": "连云港市",
    "320800": "淮安市",
    "320900": "盐城市",
    "321000": "扬州市",
    "321100": "镇江市",
    "321200": "泰州市",
    "321300": "宿迁市",
}


def known_city(value: object) -> str:
    """A prefecture city of the province: a safe six-digit code that :data:`CITIES` names (``unknown-city``)."""
    code = check_city(value)
    if code not in CITIES:
        known = join(f"{c} {n}" for c, n in CITIES.items())
        raise UnsafeName(
            Problem(
                tr("无此省辖市 / no prefecture city has code {code}", code=code),
                Location(),
                tr("give one of the thirteen city codes: {known}", known=known),
                Code.UNKNOWN_CITY,
            )
        )
    return code


def same_city(county: object, city: str) -> bool:
    """Whether a county (or city) code lies in ``city``: the first four digits of GB/T 2260 match."""
    return str(county).strip()[:4] == city[:4]


def check_who(value: object) -> str:
    """Who acts (``--by``): 1 to 64 letters, digits, spaces and ``.·()-``, not blank, no line breaks."""
    if not isinstance(value, str) or not _WHO.fullmatch(value):
        rule = tr("give 1 to 64 letters or digits (spaces and .·()- allowed inside)")
        raise _refuse(tr("name (--by)"), value, rule)
    return value


def check_text(value: object, what: object = None) -> str:
    """Free text (``--why``): at most 500 characters and no control characters or line breaks."""
    if not isinstance(value, str) or len(value) > 500 or _CONTROL.search(value):
        raise _refuse(
            tr("reason (--why)") if what is None else what, value, tr("write one line of at most 500 characters")
        )
    return value
