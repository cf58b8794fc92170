"""Lazy exports: a package names what it hands on, and each name's module loads on first use.

``import fineco_rules`` and ``fineco --help`` must not pay for NumPy, jsonschema or cryptography (issue 16's
cold start); every package ``__init__`` therefore maps its public names to the private module that defines them
and lets :func:`exports` build the module-level ``__getattr__`` and ``__dir__`` (PEP 562). Type checkers and
``lint-imports`` still see the real imports, which each ``__init__`` repeats under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps each public name to its module.

    A name, once loaded, is stored in the package's ``namespace`` so later look-ups cost nothing.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
