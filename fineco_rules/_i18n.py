"""Every message in Chinese and English, from one gettext catalogue.

A message is written once, in English, with named placeholders::

    Problem(tr("unknown key {key!r}", key=name), hint=tr("allowed keys here: {keys}", keys=keys))

:func:`tr` returns a :class:`Msg`: a ``str`` holding the English text (so code that reads
``problem.message`` as text keeps working) that also remembers its template and values, so
it can be rendered again in Chinese with :meth:`Msg.render`. The Chinese texts live in
``fineco_rules/locale/zh_CN/LC_MESSAGES/fineco.po`` (compiled to ``fineco.mo`` beside it),
read by the standard library's :mod:`gettext`; ``tests/test_i18n.py`` extracts every
``tr(...)`` of the package with Babel and fails when one has no Chinese, when the
placeholders of a translation differ from its English, or when ``fineco.mo`` is stale
(``python -m babel.messages.frontend compile -d fineco_rules/locale -D fineco`` rebuilds it).

A value given to a placeholder that is itself a :class:`Msg` (or anything with a
``render(lang)`` method, like a policy's zh/en label) is rendered in the same language.

Which language the command line uses: ``--lang``, else ``FINECO_LANG``, else the locale
(``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first that is set): English for
``en…``, Chinese otherwise — Chinese first, also for ``C`` and ``POSIX``.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final, Literal, Protocol, runtime_checkable

__all__ = [
    "LANGS",
    "Lang",
    "Msg",
    "current_language",
    "detect_language",
    "join",
    "pct",
    "render",
    "tr",
    "trc",
    "use_language",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_DOMAIN = "fineco"

#: The language :func:`str` of a problem uses; the API renders English unless told otherwise.
_current: ContextVar[Lang] = ContextVar("fineco_rules_language", default="en")


@runtime_checkable
class Renderable(Protocol):
    """Anything that has a text in each language (a :class:`Msg`, a policy's label)."""

    def render(self, lang: Lang) -> str: ...


@functools.cache
def _catalogue(lang: Lang) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(_DOMAIN, localedir=_LOCALE_DIR, languages=["zh_CN"])


class Msg(str):
    """A message: its English text as a ``str``, and its template and values to render it again."""

    msgid: str
    params: Mapping[str, object]
    #: gettext's message context (``msgctxt``): the same English word can mean two things.
    context: str | None

    def __new__(cls, msgid: str, params: Mapping[str, object], context: str | None = None) -> Msg:
        self = super().__new__(cls, _fill(msgid, params, "en"))
        self.msgid = msgid
        self.params = params
        self.context = context
        return self

    def render(self, lang: str | None = None) -> str:
        """The message in ``lang`` (``zh`` or ``en``; default: the current language, see :func:`use_language`)."""
        if (lang or _current.get()) != "zh":
            return str.__str__(self)
        catalogue = _catalogue("zh")
        text = catalogue.gettext(self.msgid) if self.context is None else catalogue.pgettext(self.context, self.msgid)
        return _fill(text, self.params, "zh")

    def __str__(self) -> str:
        """The message in the current language (English unless :func:`use_language` says otherwise)."""
        return self.render()

    def __format__(self, spec: str) -> str:
        return format(self.render(), spec)

    def __reduce__(self) -> tuple[object, ...]:
        return (Msg, (self.msgid, dict(self.params), self.context))


def tr(msgid: str, /, **params: object) -> Msg:
    """The message ``msgid`` (English, ``str.format`` placeholders) with its values; see the module doc."""
    return Msg(msgid, params)


def trc(context: str, msgid: str, /, **params: object) -> Msg:
    """:func:`tr` with a gettext context, for a short word meaning one thing here: ``trc("check rule", "order")``."""
    return Msg(msgid, params, context)


def render(text: object, lang: str | None = None) -> str:
    """``text`` in ``lang``: a :class:`Msg` or label is rendered, anything else is ``str()``-ed."""
    if isinstance(text, Renderable):
        return text.render("zh" if (lang or _current.get()) == "zh" else "en")
    return str(text)


def _fill(template: str, params: Mapping[str, object], lang: Lang) -> str:
    if not params:  # a template filled later by its caller (``tr("{name}: …").render(lang).format(...)``)
        return template
    # A plain value (text, a number) is the common case; a runtime-checked Protocol is slow, so look for render().
    values = {
        key: value if type(value) in _PLAIN or not hasattr(value, "render") else render(value, lang)
        for key, value in params.items()
    }
    return template.format_map(values)


_PLAIN: Final = frozenset({str, int, float, type(None)})


class _Joined:
    """A list of texts joined with the language's separator (、 in Chinese, ``, `` in English)."""

    __slots__ = ("en", "items", "zh")

    def __init__(self, items: tuple[object, ...], en: str, zh: str) -> None:
        self.items = items
        self.en = en
        self.zh = zh

    def render(self, lang: Lang) -> str:
        return (self.zh if lang == "zh" else self.en).join(render(item, lang) for item in self.items)

    def __str__(self) -> str:
        return self.render("en")


def join(items: Iterable[object], *, en: str = ", ", zh: str = "、") -> Renderable:
    """A placeholder value listing ``items`` with the separator of the language it is shown in."""
    return _Joined(tuple(items), en, zh)


class _Percent:
    """A ratio shown as a percentage in Chinese (83.49%) and as the ratio in English (0.8349)."""

    __slots__ = ("digits", "value")

    def __init__(self, value: object, digits: int | None) -> None:
        self.value = value
        self.digits = digits

    def render(self, lang: Lang) -> str:
        from decimal import Decimal

        value = Decimal(str(self.value))
        if lang == "en":
            return str(self.value)
        scaled = value.scaleb(2)
        if self.digits is not None:
            scaled = scaled.quantize(Decimal(1).scaleb(-self.digits))
        text = format(scaled.normalize(), "f") if self.digits is None else format(scaled, "f")
        return f"{text}%"

    def __str__(self) -> str:
        return self.render("en")


def pct(value: object, digits: int | None = None) -> Renderable:
    """A placeholder value for a ratio: ``83.49%`` in Chinese output, ``0.8349`` in English."""
    return _Percent(value, digits)


def current_language() -> Lang:
    """The language messages render in now (``en`` unless set by :func:`use_language`)."""
    return _current.get()


@contextmanager
def use_language(lang: Lang) -> Iterator[None]:
    """Render messages in ``lang`` inside the ``with`` block (the command line sets it from ``--lang``)."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def detect_language(environ: Mapping[str, str] | None = None) -> Lang:
    """``FINECO_LANG``, else the locale's language: ``en`` for an English locale, ``zh`` for anything else."""
    env = os.environ if environ is None else environ
    chosen = env.get("FINECO_LANG", "").strip().lower()
    if chosen == "en":
        return "en"
    if chosen == "zh":
        return "zh"
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value:
            return "en" if value.split(":")[0].lower().startswith("en") else "zh"
    return "zh"
