"""Files as they really are: one folder walker and one safe reader for every caller.

Photo folders hold odd entries: names that are not UTF-8, dangling symlinks, symlink loops, FIFOs,
sockets and devices named ``*.jpg``. The walker never follows a symlink to a folder (so no loops
and each file is seen once) and reports every entry it cannot use with the reason; the reader
opens only regular files, without blocking on a FIFO.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection, Iterator
from pathlib import Path

from faceprint.errors import ImageError, ImageNotFoundError

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}  # fmt: skip
_FS_PREFIX = "fsenc:"
_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def _stat_error(exc: OSError, is_link: bool) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT and is_link:
        return "broken symlink (its target does not exist)"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return f"cannot stat ({exc.strerror or exc})"


def kind_of(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def walk(
    root: str | os.PathLike[str], exts: Collection[str], *, quiet: Collection[str] = (), recursive: bool = True,
) -> Iterator[tuple[Path, str | None]]:  # fmt: skip
    """``(path, None)`` for each regular file under ``root`` whose extension is in ``exts``; ``(path,
    reason)`` for each entry skipped (other extensions except ``quiet`` ones, special files, broken
    links, loops, symlinked folders, unreadable folders). Sorted by name, files before sub-folders;
    hidden names are not visited. Lazy: only one folder's listing is held at a time."""

    def visit(d: Path) -> Iterator[tuple[Path, str | None]]:
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield d, f"cannot list folder ({exc.strerror or exc})"
            return
        subdirs: list[Path] = []
        for e in entries:
            if e.name.startswith("."):
                continue
            path = d / e.name
            is_link = e.is_symlink()
            try:
                st = os.stat(path)
            except OSError as exc:
                yield path, _stat_error(exc, is_link)
                continue
            ext = path.suffix.lower()
            if stat.S_ISDIR(st.st_mode):
                if is_link:
                    yield path, "symlink to a folder (not followed: link the files, or index the target)"
                elif recursive:
                    subdirs.append(path)
            elif not stat.S_ISREG(st.st_mode):
                yield path, f"{kind_of(st.st_mode)}, not a regular file"
            elif ext in exts:
                yield path, None
            elif ext not in quiet:
                yield path, f"not an image extension ({ext or 'none'})"
        for s in subdirs:
            yield from visit(s)

    return visit(Path(root))


def read_regular(path: Path, *, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (following symlinks); a typed error otherwise.

    Opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO never hangs and a
    file swapped for one between the check and the read is still refused."""
    name = str(path)
    if name == "":
        raise ImageNotFoundError("empty path; pass a file path, bytes, an array or a PIL image", source="''")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        try:
            is_link = os.path.islink(path)
        except (OSError, ValueError):
            is_link = False
        if exc.errno == errno.ENOENT and not is_link:
            raise ImageNotFoundError("no such file", source=name) from None
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        if exc.errno == errno.EISDIR or (mode is not None and stat.S_ISDIR(mode)):
            raise ImageError("is a directory, not an image file", source=name) from None
        if mode is not None and not stat.S_ISREG(mode):  # a socket cannot be opened at all (ENXIO)
            raise ImageError(f"is {kind_of(mode)}, not a regular file", source=name) from None
        raise ImageError(_stat_error(exc, is_link), source=name) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError("is a directory, not an image file", source=name)
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(f"is {kind_of(st.st_mode)}, not a regular file", source=name)
        if limit is not None and st.st_size > limit:
            raise ImageError(f"file of {st.st_size:,} bytes is over the {limit:,}-byte limit", source=name)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ImageError(f"cannot read file ({exc.strerror or exc})", source=name) from None
    finally:
        os.close(fd)


def text_key(path: str | os.PathLike[str]) -> str:
    """``path`` as text any database stores: itself when it is valid Unicode, else ``fsenc:`` + the name
    with each undecodable byte as ``%XX`` (and ``%`` as ``%25``). :func:`key_path` reverses it."""
    s = os.fspath(path)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return _FS_PREFIX + escape_text(s)


def escape_text(s: str) -> str:
    """Undecodable bytes of a file name (surrogate escapes) as ``%XX``; text stays text."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        pass
    out = []
    for c in s.replace("%", "%25"):
        o = ord(c)
        out.append(f"%{o - 0xDC00:02X}" if 0xDC80 <= o <= 0xDCFF else c)
    return "".join(out)


def key_path(key: str) -> str:
    """The file name a :func:`text_key` stands for (surrogate-escaped str, as ``os.fsdecode`` gives)."""
    if not key.startswith(_FS_PREFIX):
        return key
    body = key[len(_FS_PREFIX) :]
    return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else chr(0xDC00 + int(m.group(1), 16)), body)
