"""Writing files whole or not at all: a temporary file beside the target, fsync, then rename.

Every file fineco-rules writes (``evaluate -o``, reports, the public export, the filing
registry's records and log) goes through :func:`write_atomic`. An interruption (Ctrl-C, a
crash, a full disk) leaves the old file as it was and no temporary file behind; an
``OSError`` becomes a :class:`WriteError` that names the file, what failed and how to fix it.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from fineco_rules.errors import Code, Lang, Location, Msg, Problem, WriteError, tr

__all__ = ["WriteError", "append_atomic", "os_reason", "write_atomic"]

#: How to fix a failed write, by errno.
_HINTS: Final = {
    errno.ENOSPC: tr("the disk is full: free space on it, or write the file to another disk"),
    errno.EDQUOT: tr("your disk quota is used up: free space, or write the file elsewhere"),
    errno.EACCES: tr("you may not write there: fix the folder's permissions, or write the file elsewhere"),
    errno.EPERM: tr("you may not write there: fix the folder's permissions, or write the file elsewhere"),
    errno.EROFS: tr("the folder is on a read-only file system: write the file elsewhere"),
    errno.ENOENT: tr("the folder does not exist: create it first, or check the path"),
    errno.ENOTDIR: tr("a part of the path is a file, not a folder: check the path"),
    errno.EISDIR: tr("the path is a folder: give a file name"),
    errno.EIO: tr("the disk reported an input/output error: check the disk, or write the file elsewhere"),
    errno.EEXIST: tr("the file exists already: move it away first, or choose another name"),
}

#: What the system said, in Chinese, by errno (English keeps the system's own words).
_REASONS: Final = {
    errno.ENOENT: tr("no such file or folder"),
    errno.EACCES: tr("permission denied"),
    errno.EPERM: tr("operation not permitted"),
    errno.EISDIR: tr("it is a folder"),
    errno.ENOTDIR: tr("a part of the path is not a folder"),
    errno.ENOSPC: tr("no space left on the disk"),
    errno.EDQUOT: tr("disk quota exceeded"),
    errno.EROFS: tr("read-only file system"),
    errno.EIO: tr("input/output error"),
    errno.EEXIST: tr("the file exists already"),
    errno.ENAMETOOLONG: tr("the file name is too long"),
}


class _OsReason:
    """Why a file operation failed: the system's words in English, the errno's meaning in Chinese."""

    __slots__ = ("exc",)

    def __init__(self, exc: OSError) -> None:
        self.exc = exc

    def render(self, lang: Lang) -> str:
        exc = self.exc
        if lang == "en":
            return exc.strerror or str(exc) or type(exc).__name__
        known = _REASONS.get(exc.errno or 0)
        if known is not None:
            return known.render(lang)
        return tr("system error {errno_name}", errno_name=errno.errorcode.get(exc.errno or 0, "EUNKNOWN")).render(lang)

    def __str__(self) -> str:
        return self.render("en")


def os_reason(exc: OSError) -> _OsReason:
    """A placeholder value for why ``exc`` happened, shown in the language of the message around it."""
    return _OsReason(exc)


_ACTIONS: Final = {
    "creating a temporary file in its folder": tr("creating a temporary file in its folder"),
    "writing": tr("writing"),
    "flushing to disk": tr("flushing to disk"),
    "creating the file": tr("creating the file"),
    "replacing the old file": tr("replacing the old file"),
    "reading the current content": tr("reading the current content"),
}


def _error(path: Path, action: str, exc: OSError) -> WriteError:
    code = errno.errorcode.get(exc.errno or 0, "")
    hint: Msg = _HINTS.get(exc.errno or 0, tr("check the path, its permissions and the free space on the disk"))
    if path.exists() and exc.errno != errno.EEXIST:
        hint = tr("{hint}; {name} was left as it was", hint=hint, name=path.name)
    return WriteError(
        Problem(
            tr(
                "cannot write {path}: {action} failed: {reason}{errno_name}",
                path=path,
                action=_ACTIONS.get(action, action),
                reason=os_reason(exc),
                errno_name=f" ({code})" if code else "",
            ),
            Location(str(path)),
            hint,
            Code.WRITE_FAILED,
        )
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises rather than returning 0 on a full disk
            raise OSError(errno.EIO, "the file system accepted no bytes")
        view = view[written:]


def _encoded(pieces: Iterable[str], size: int = 1 << 16) -> Iterator[bytes]:
    """UTF-8 bytes of ``pieces`` in blocks of about ``size`` characters (few system calls, little memory)."""
    block: list[str] = []
    held = 0
    for piece in pieces:
        block.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(block).encode("utf-8")
            block, held = [], 0
    if block:
        yield "".join(block).encode("utf-8")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems cannot open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes | Iterable[str],
    *,
    mode: int | None = None,
    exclusive: bool = False,
) -> None:
    """Write ``data`` (text is UTF-8; an iterable of text pieces is written as it comes) to ``path`` whole or
    not at all.

    ``mode`` sets the new file's permissions (default: as a new file would get, after the umask;
    an existing file keeps its own). ``exclusive``: refuse to replace an existing file, even one
    created a moment ago by another process (``EEXIST``). Raises :class:`WriteError` on any ``OSError``.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    pieces: Iterable[bytes] = (
        [data.encode("utf-8")] if isinstance(data, str) else [data] if isinstance(data, bytes) else _encoded(data)
    )
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666  # narrowed by the umask in os.open
    temp: Path | None = None
    action = "creating a temporary file in its folder"
    try:
        for _ in range(100):
            temp = folder / f".{target.name}.{os.urandom(4).hex()}.tmp"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 random names all taken
            raise OSError(errno.EEXIST, "no free temporary file name")
        try:
            action = "writing"
            for raw in pieces:
                _write_all(fd, raw)
            action = "flushing to disk"
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            action = "creating the file"
            os.link(temp, target)  # fails if the target exists; the temporary name is removed below
        else:
            action = "replacing the old file"
            os.replace(temp, target)
            temp = None
    except OSError as exc:
        raise _error(target, action, exc) from exc
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
    _sync_folder(folder)


def append_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Append ``data`` to ``path`` whole or not at all: the old content and the new, written anew, then renamed.

    A reader never sees a half-appended line. The caller holds whatever lock keeps two writers apart.
    """
    target = Path(path)
    try:
        old = target.read_bytes()
    except FileNotFoundError:
        old = b""
    except OSError as exc:
        raise _error(target, "reading the current content", exc) from exc
    raw = data.encode("utf-8") if isinstance(data, str) else data
    write_atomic(target, old + raw)
