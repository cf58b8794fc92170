"""Pinning the grading code: the core's files and every loaded plugin distribution's files, hashed.

A filing certifies a method, and a method is the policy files *and* the code that grades with
them. :func:`code_pins` hashes every file of the ``fineco_rules`` package and of the package of
every plugin loaded from the ``fineco_rules`` entry-point group (a city's plugin included), and
names each plugin; the filing's fingerprint carries the pins, and an official run whose pins are
not the filed ones is refused (:func:`pin_differences`).

Bytecode. Python loads ``__pycache__/<module>.<tag>.pyc`` instead of compiling the source when
the file's header matches the source's size and time, which a planted file can copy. We do not
try to switch bytecode off (reading cannot be switched off once the package is imported, and
``-B`` only stops writing). Instead every ``.pyc`` that this interpreter could load from a pinned
package is checked: its code must be what compiling the source beside it gives, or the
fingerprint is refused (``stray-bytecode``). A ``.pyc`` with no source (``module.pyc`` outside
``__pycache__``, which Python loads as a module) is hashed with the sources, so it changes the pins.

What this does not protect: the check runs inside the process it checks. Code that patches
``fineco_rules`` (or ``hashlib``) before the check can make it say anything. It catches honest
installs that drifted and casual tampering, not a hostile process.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any, Final

from fineco_rules.errors import Code, FilingError, Location, Msg, Problem, tr
from fineco_rules.scoring._host import PluginHost

__all__ = ["PINNED_CORE", "code_pins", "core_root", "package_root", "pin_differences", "stray_bytecode", "tree_sha256"]

#: The distribution the core is pinned under.
PINNED_CORE: Final = "fineco-rules"
_HEADER: Final = 16  # magic, flags, and either mtime+size or a source hash


def core_root() -> Path:
    """The folder of the ``fineco_rules`` package that is running."""
    return Path(__file__).resolve().parent.parent


def package_root(module: ModuleType) -> Path:
    """The folder of the top-level package ``module`` belongs to, or the module's own file."""
    top = sys.modules.get(module.__name__.partition(".")[0], module)
    paths = getattr(top, "__path__", None)
    if paths:
        return Path(next(iter(paths))).resolve()
    return Path(str(top.__file__)).resolve()


def _pinned_files(root: Path) -> list[Path]:
    """Every file under ``root`` except the bytecode cache (checked by :func:`stray_bytecode` instead)."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def tree_sha256(root: Path) -> tuple[str, int]:
    """SHA-256 over the relative names and bytes of every pinned file under ``root``, and how many."""
    files = _pinned_files(root)
    base = root.parent if root.is_file() else root
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest(), len(files)


def _source_of(pyc: Path) -> tuple[Path, int] | None:
    """The source a ``__pycache__`` file belongs to and its optimisation level, if this interpreter would load it."""
    tag = sys.implementation.cache_tag
    parts = pyc.name.split(".")
    if len(parts) < 3 or parts[1] != tag or parts[-1] != "pyc":
        return None
    middle = parts[2:-1]
    level = 0
    if middle:
        if len(middle) != 1 or not middle[0].startswith("opt-") or middle[0][4:] not in {"1", "2"}:
            return None
        level = int(middle[0][4:])
    return pyc.parent.parent / f"{parts[0]}.py", level


@functools.lru_cache(maxsize=4096)
def _compiled(source: bytes, filename: str, level: int) -> CodeType:
    return compile(source, filename, "exec", dont_inherit=True, optimize=level)


def _bytecode_ok(pyc: Path, source: Path, level: int) -> bool:
    data = pyc.read_bytes()
    if len(data) <= _HEADER or data[:4] != importlib.util.MAGIC_NUMBER:
        return True  # Python refuses to load it and compiles the source instead
    try:
        code = marshal.loads(data[_HEADER:])
    except (ValueError, EOFError, TypeError):
        return True  # unloadable: Python falls back to the source
    try:
        return bool(code == _compiled(source.read_bytes(), str(source), level))
    except (SyntaxError, ValueError):
        return False


def stray_bytecode(root: Path) -> list[Path]:
    """Every ``__pycache__`` file under ``root`` that this interpreter would load and that its source does not give."""
    if root.is_file():
        root = root.parent
    stray = []
    for pyc in sorted(root.rglob("__pycache__/*.pyc")):
        found = _source_of(pyc)
        if found is None:
            continue  # another interpreter's cache: never loaded by this one
        source, level = found
        if not source.is_file():
            continue  # Python never loads a __pycache__ file whose source is gone
        if not _bytecode_ok(pyc, source, level):
            stray.append(pyc)
    return stray


def _pin(name: str, distribution: str, version: str, root: Path) -> dict[str, Any]:
    stray = stray_bytecode(root)
    if stray:
        raise FilingError(
            [
                Problem(
                    tr("{name}: compiled bytecode that is not its source's: {path}", name=name, path=path),
                    Location(str(path)),
                    tr("delete the file (or the whole __pycache__ folder under {root}) and run again", root=root),
                    Code.STRAY_BYTECODE,
                )
                for path in stray
            ]
        )
    sha, count = tree_sha256(root)
    return {"name": name, "distribution": distribution, "version": version, "sha256": sha, "files": count}


def _core_version() -> str:
    from importlib import metadata  # asked only when code is pinned, never on `fineco --help`

    try:
        return metadata.version(PINNED_CORE)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def code_pins(host: PluginHost) -> dict[str, Any]:
    """The core's pin and one per plugin loaded from the ``fineco_rules`` entry points, by name.

    ``FilingError`` (``stray-bytecode``) when a pinned package holds bytecode its source does not give.
    """
    plugins = []
    for plugin, dist in host.pm.list_plugin_distinfo():
        name = host.pm.get_name(plugin) or repr(plugin)
        module = plugin if isinstance(plugin, ModuleType) else sys.modules[type(plugin).__module__]
        plugins.append(_pin(name, dist.project_name, dist.version, package_root(module)))
    plugins.sort(key=lambda p: str(p["name"]))
    return {"core": _pin("fineco_rules", PINNED_CORE, _core_version(), core_root()), "plugins": plugins}


def _described(pin: Mapping[str, Any]) -> str:
    return f"{pin.get('name')} ({pin.get('distribution')} {pin.get('version')})"


def pin_differences(filed: object, now: Mapping[str, Any]) -> list[Msg]:
    """How the code running now (``now``, from :func:`code_pins`) differs from the filed pins, in words."""
    if not isinstance(filed, Mapping):
        return [tr("the filing pins no grading code (filed before code was pinned): file it again")]
    out = []
    core, was_core = now["core"], filed.get("core")
    if not isinstance(was_core, Mapping) or was_core.get("sha256") != core["sha256"]:
        out.append(tr("the core {core} is not the code that was filed: its files differ", core=_described(core)))
    was = {p.get("name"): p for p in _mappings(filed.get("plugins"))}
    for pin in now["plugins"]:
        old = was.pop(pin["name"], None)
        if old is None:
            out.append(
                tr(
                    "plugin {plugin} is installed but the filing does not name it: uninstall or block it",
                    plugin=_described(pin),
                )
            )
        elif old.get("sha256") != pin["sha256"] or old.get("version") != pin["version"]:
            out.append(tr("the code of plugin {plugin} is not the code that was filed", plugin=_described(pin)))
    out.extend(tr("plugin {plugin} was filed but is not installed", plugin=_described(p)) for p in was.values())
    return out


def _mappings(items: object) -> Iterable[Mapping[str, Any]]:
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
