"""The Gallery: enrolled faces, stored under an embedding contract, searchable by image or vector."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.augment import DEFAULT_TTA, parse
from faceprint.config import DEFAULT_FACES, PipelineConfig
from faceprint.errors import ConfigError, ContractError, ImageError, Interrupted, NoFaceError
from faceprint.files import escape_text, text_key
from faceprint.image import DEFAULT_MAX_PIXELS, ImageInput, load_image
from faceprint.models.registry import find as find_spec
from faceprint.search.backends import open_store
from faceprint.search.backends.base import redact
from faceprint.search.contract import EmbeddingContract
from faceprint.search.folder import IdentityRule, classify, identity_of, sha256_file, under, walk_images
from faceprint.search.ranking import aggregate_hits, content_key, progress_bar
from faceprint.search.types import Entry, FaceMatches, FileRecord, GalleryStats, IndexReport
from faceprint.thresholds import Thresholds
from faceprint.types import Representation
from faceprint.verification import check_threshold

log = logging.getLogger("faceprint")

AGGREGATES = (None, "min", "mean")


class Gallery:
    """Faces enrolled for search. ``location``: a folder (embedded store, no server) or
    ``postgresql://...`` (pgvector); ``backend="milvus"`` for Milvus / milvus-lite.

    Every gallery is bound to the embedding contract it was created with (model, weights,
    alignment, metric, test-time augmentation ``tta``/``num_jitters``; ``tta="auto"``, the default, takes
    the stored gallery's and gives a new one "flip"); opening it with different settings raises :class:`ContractError`.
    ``max_pixels``: larger images (added or queried) are refused before decoding. Other options go to the
    store (``fp16``, ``index``, ``hnsw_threshold``, ``ef_search``; ``verify=False`` opens a damaged
    embedded gallery for repair).

    ``pipeline=`` (a :class:`~faceprint.pipeline.Pipeline`) or ``config=`` (a
    :class:`~faceprint.config.PipelineConfig`) gives the settings whole instead of ``model``, ``detector``,
    ``align``, ``tta``, ``num_jitters``, ``device`` and ``max_pixels``; a given pipeline is the one that embeds.
    ``device`` ("cpu", "cuda", "auto") is where the models that embed images run.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        model: str = "dlib",
        detector: str = "mtcnn",
        align: str = "template",
        metric: str | None = None,
        faces: str = DEFAULT_FACES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        min_quality: float | None = None,
        tta: str | None = "auto",
        num_jitters: int = 0,
        device: str = "cpu",
        pipeline: Any = None,
        config: PipelineConfig | None = None,
        **store_options: Any,
    ) -> None:
        self._pipeline: Any = pipeline
        if pipeline is not None:
            if config is not None:
                raise ConfigError("pass a Gallery either pipeline= or config=, not both")
            config = pipeline.config
        auto = config is None and tta == "auto"  # the stored gallery's augmentation; a new gallery gets the default
        if config is None:
            config = PipelineConfig(detector, model, align=align, tta=DEFAULT_TTA if auto else tta,
                                    num_jitters=num_jitters, device=device, max_pixels=max_pixels)  # fmt: skip
        elif not isinstance(config, PipelineConfig):
            raise ConfigError(f"config must be a faceprint.config.PipelineConfig, not {type(config).__name__}")
        self.config = config
        self.max_pixels = pipeline.max_pixels if pipeline is not None else config.max_pixels
        self.min_quality = min_quality  # enrolment skips faces below this quality score (faceprint.quality)
        self.contract = EmbeddingContract.for_config(config, metric=metric)
        self.spec = pipeline.recognizer.spec if pipeline is not None else (
            find_spec(config.recognizer) if isinstance(config.recognizer, str) else config.recognizer.spec)
        self._policy: Thresholds | None = None
        self.faces = faces
        self.location = redact(os.fspath(location))  # for messages: never a password
        self.store = open_store(location, dim=self.contract.dim, metric=self.contract.metric, **store_options)
        meta = self.store.read_meta()
        if "contract" in meta:
            stored = EmbeddingContract.from_dict(meta["contract"])
            if auto and not num_jitters and stored.tta != self.contract.tta:
                stored_tta, stored_jitters = parse(stored.tta)
                self.config = config.replace(tta=stored_tta, num_jitters=stored_jitters)
                self.contract = EmbeddingContract.for_config(self.config, metric=metric)
            stored.check(self.contract, "these settings")
            if stored.detector != self.contract.detector:
                log.warning("gallery was indexed with detector %r; querying with %r", stored.detector,
                            self.contract.detector)
        else:
            self.store.write_meta({"contract": self.contract.to_dict(), "created": time.time()})

    def __repr__(self) -> str:
        return f"Gallery({self.location!r}, model={self.contract.model!r}, metric={self.contract.metric!r})"

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:
            from faceprint.pipeline import get_pipeline

            self._pipeline = get_pipeline(self.config)
        return self._pipeline

    @property
    def thresholds(self) -> Thresholds:
        """The decision policy for this gallery's model and augmentation (re-read when the tuned file changes)."""
        if self._policy is None or self._policy.stale():
            self._policy = Thresholds.load(self.spec, self.config.tta)
        return self._policy

    # -- vectors ---------------------------------------------------------------------------------
    def _prepare(self, vectors: np.ndarray | Sequence[Any]) -> np.ndarray:
        v = np.atleast_2d(np.asarray(vectors, np.float32))
        if v.ndim != 2 or v.shape[1] != self.contract.dim:
            raise ContractError(f"vectors of shape {v.shape} do not fit this gallery's {self.contract.dim}-d "
                                f"{self.contract.model} embeddings")  # fmt: skip
        if not np.isfinite(v).all():
            raise ConfigError("vectors contain NaN or infinity")
        if self.contract.metric != "euclidean":  # inner product on unit vectors ranks like cosine
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return v

    def add_vectors(
        self, vectors: np.ndarray, identities: str | Sequence[str], keys: Sequence[str] | None = None
    ) -> list[int]:
        """Store precomputed embeddings (made under this gallery's contract); returns their entry ids."""
        v = self._prepare(vectors)
        n = len(v)
        ids = [identities] * n if isinstance(identities, str) else list(identities)
        keys = list(keys) if keys is not None else [f"vector:{os.urandom(8).hex()}" for _ in range(n)]
        if len(ids) != n or len(keys) != n:
            raise ConfigError(f"{n} vectors need {n} identities and keys, got {len(ids)} and {len(keys)}")
        return self.store.apply(entries=[(key, ident, 0, None, 0.0) for key, ident in zip(keys, ids)], vectors=v)

    # -- images ----------------------------------------------------------------------------------
    def _embed(self, source: ImageInput, *, faces: str, enforce_detection: bool = True,
               min_quality: float | None = None) -> list[Representation]:  # fmt: skip
        return self.pipeline.represent(source, faces=faces, enforce_detection=enforce_detection, min_quality=min_quality)

    def add(self, images: ImageInput | Iterable[ImageInput], identity: str | None = None) -> IndexReport:
        """Enrol images (paths, or arrays/bytes with ``identity``); a path already stored is replaced.

        Identity defaults to the image's folder name. Images without a face are reported, not stored.
        """
        items = list(images) if isinstance(images, list | tuple) else [images]
        t0 = time.perf_counter()
        files: list[FileRecord] = []
        entries: list[tuple[str, str, int, Any, float]] = []
        vecs: list[np.ndarray] = []
        no_face: list[str] = []
        errors: list[tuple[str, str]] = []
        for item in items:
            if isinstance(item, str | os.PathLike):
                path = Path(os.path.abspath(item))
                key, ident = text_key(path), identity or escape_text(path.parent.name)
            elif identity is None:
                raise ConfigError("images given as arrays or bytes need identity=")
            else:
                encoded = item if isinstance(item, bytes | bytearray | memoryview) else None
                try:  # decoded here for the key, the pixels' hash, whatever the input kind
                    item = load_image(item, max_pixels=self.max_pixels)
                except ImageError as exc:
                    errors.append((f"<{type(item).__name__}>", escape_text(str(exc))))
                    continue
                key, ident = content_key(item.pixels), identity
                if encoded is not None:  # embedded from the bytes, as search() and represent() decode them
                    item = encoded
            rec, reps = self._embed_file(item, key, no_face, errors)
            files += [rec] if isinstance(item, str | os.PathLike) and rec else []
            entries += [(key, ident, i, r.face.box, r.face.score) for i, r in enumerate(reps)]
            vecs += [r.embedding for r in reps]
        keys = [f.path for f in files] + [e[0] for e in entries]
        self.store.apply(remove_keys=list(dict.fromkeys(keys)), files=files, entries=entries,
                         vectors=self._prepare(np.stack(vecs)) if vecs else None)  # fmt: skip
        return IndexReport(indexed=len(items) - len(errors) - len(no_face), faces=len(entries), no_face=tuple(no_face),
                           errors=tuple(errors), seconds=time.perf_counter() - t0)  # fmt: skip

    def _embed_file(
        self, item: Any, key: str, no_face: list[str], errors: list[tuple[str, str]]
    ) -> tuple[FileRecord | None, list[Representation]]:
        st, digest = None, ""
        if isinstance(item, str | os.PathLike):
            try:
                st = os.stat(item)
                # only a regular file is hashed: reading a FIFO would block
                digest = sha256_file(Path(item)) if stat.S_ISREG(st.st_mode) else ""
            except (OSError, ValueError):  # gone, unreadable, a NUL in the name: load_image below says which
                st = None

        def rec(status: str, n: int, why: str = "") -> FileRecord | None:
            return None if st is None else FileRecord(key, st.st_size, st.st_mtime, digest, status, n, why)

        try:
            reps = self._embed(item, faces=self.faces, min_quality=self.min_quality)
        except NoFaceError:
            no_face.append(key)
            return rec("no_face", 0), []
        except ImageError as exc:
            errors.append((key, escape_text(str(exc))))
            return rec("error", 0, escape_text(str(exc))), []
        if not reps and self.min_quality is not None:
            return rec("ok", 0, f"every face below min_quality {self.min_quality}"), reps
        return rec("ok", len(reps)), reps

    def sync(self, folder: str | os.PathLike[str], *, identity: IdentityRule = "folder", progress: bool = False,
             batch: int = 16) -> IndexReport:  # fmt: skip
        """Make the gallery mirror ``folder``: embed new and changed images, drop deleted ones.

        Unchanged files (same size and mtime, or same content hash) are not re-embedded; files that
        had no face are remembered and retried only when they change. Entries that cannot be used
        (special files, broken links, loops, unreadable) are skipped and reported; names that are not
        UTF-8 are stored as ``fsenc:`` keys (:func:`faceprint.files.key_path` gives the name back).
        One sync at a time per embedded gallery: a second writer waits, then finds the work done.
        Ctrl-C raises :class:`faceprint.errors.Interrupted` saying how many files were saved.
        """
        root = Path(os.path.abspath(folder))
        if not root.is_dir():
            raise ConfigError(f"{folder}: not a folder; pass the folder of images to index")
        lock = getattr(self.store, "writer_lock", None)
        with lock() if lock is not None else contextlib.nullcontext():
            return self._sync(root, identity, progress, batch)

    def _sync(self, root: Path, identity: IdentityRule, progress: bool, batch: int) -> IndexReport:
        t0 = time.perf_counter()
        known = {k: v for k, v in self.store.files().items() if under(k, root)}
        seen: set[str] = set()
        todo: list[tuple[Path, str]] = []
        touched: list[FileRecord] = []
        skipped: list[tuple[str, str]] = []
        unchanged = 0
        for path, why in walk_images(root):
            key = text_key(path)
            if why:
                skipped.append((key, why))
                continue
            try:
                state, rec, _ = classify(path, known.get(key))
            except OSError as exc:  # vanished or unreadable since the walk
                skipped.append((key, f"cannot read ({exc.strerror or exc})"))
                continue
            seen.add(key)
            unchanged += state != "changed"
            if rec is not None:
                touched.append(rec)
            if state == "changed":
                todo.append((path, key))
        gone = [k for k in known if k not in seen]
        if gone or touched:
            self.store.apply(remove_keys=gone, files=touched)
        no_face: list[str] = []
        errors: list[tuple[str, str]] = []
        n_faces = saved = 0
        bar = progress_bar(len(todo), progress, f"indexing {root.name}")
        try:
            for s in range(0, len(todo), batch):  # one transaction per batch: progress survives a crash
                files, entries, vecs = [], [], []
                for path, key in todo[s : s + batch]:
                    rec, reps = self._embed_file(path, key, no_face, errors)
                    files += [rec] if rec else []
                    ident = identity_of(path, root, identity)
                    entries += [(key, ident, i, r.face.box, r.face.score) for i, r in enumerate(reps)]
                    vecs += [r.embedding for r in reps]
                    if bar is not None:
                        bar.update(1)
                self.store.apply(remove_keys=[f.path for f in files], files=files, entries=entries,
                                 vectors=self._prepare(np.stack(vecs)) if vecs else None)  # fmt: skip
                n_faces += len(entries)
                saved += len(todo[s : s + batch])
        except KeyboardInterrupt:
            raise Interrupted(saved, len(todo)) from None
        finally:
            if bar is not None:
                bar.close()
        return IndexReport(indexed=len(todo) - len(no_face) - len(errors), faces=n_faces, unchanged=unchanged,
                           removed=len(gone), no_face=tuple(no_face), errors=tuple(errors), skipped=tuple(skipped),
                           seconds=time.perf_counter() - t0)  # fmt: skip

    def remove(self, paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (), *,
               identity: str | None = None) -> int:  # fmt: skip
        """Remove the entries of these files/keys and/or of one identity; returns how many entries went."""
        items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        keys = [text_key(k) for p in items for k in (os.fspath(p), os.path.abspath(p))]  # a stored key, or a path as given
        if identity is not None:
            keys += self.store.keys_of_identity(identity)
        before = self.store.count()
        self.store.apply(remove_keys=list(dict.fromkeys(keys)))
        return before - self.store.count()

    # -- search ----------------------------------------------------------------------------------
    def search(
        self,
        query: ImageInput | np.ndarray | Sequence[Representation] | None = None,
        k: int = 5,
        *,
        vectors: np.ndarray | Sequence[Any] | None = None,
        aggregate: str | None = None,
        threshold: float | None = None,
        faces: str = "all",
        enforce_detection: bool = True,
        anti_spoofing: bool = False,
    ) -> list[FaceMatches]:
        """Top-``k`` matches for each face of ``query`` (an image), or for each row of a float array
        of embeddings (shape ``(d,)`` or ``(n, d)``). ``aggregate="min"|"mean"`` ranks identities
        (by their closest face, or the mean over their faces among the candidates) instead of faces.
        ``anti_spoofing=True`` (image queries) fills each query face's ``is_real`` and ``antispoof_score``."""
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        if aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate must be None, 'min' or 'mean', not {aggregate!r}")
        reps: list[Representation] | None = None
        if (vectors is None) == (query is None):
            raise ConfigError("pass a query image (or Representations) or vectors=, exactly one of them")
        is_vec = vectors is not None or (isinstance(query, np.ndarray) and query.dtype.kind == "f" and query.ndim == 1)
        if (not is_vec and isinstance(query, np.ndarray) and query.dtype.kind == "f" and query.ndim == 2
                and query.shape[1] == self.contract.dim):  # fmt: skip
            warnings.warn(f"a float array of shape {query.shape} is searched as {len(query)} embeddings; pass "
                          "vectors= for embeddings (a float image of this shape: pass it as uint8 or a path)",
                          FutureWarning, stacklevel=2)  # fmt: skip
            is_vec, vectors = True, query
        if vectors is None and is_vec:
            vectors = query
        is_reps = isinstance(query, list | tuple) and bool(query) and isinstance(query[0], Representation)
        if anti_spoofing and (is_vec or is_reps):
            raise ConfigError("anti_spoofing needs an image query, not embeddings")
        if is_vec:
            pass
        elif is_reps:
            reps = list(query)  # type: ignore[arg-type]
            for r in reps:
                if r.model != self.contract.model and find_spec(r.model).files[:1] != self.spec.files[:1]:
                    raise ContractError(f"query embedded with {r.model!r}; this gallery holds {self.contract.model!r}")
            vectors = np.stack([r.embedding for r in reps])
        else:
            # the pipeline's own decoding (reduced-size JPEG included), as add/sync and represent() embed
            reps = self._embed(query, faces=faces, enforce_detection=enforce_detection)  # type: ignore[arg-type]
            if anti_spoofing:  # liveness reads the full-size pixels around each face
                img = load_image(query, max_pixels=self.max_pixels)  # type: ignore[arg-type]
                live = self.pipeline.analyzer.check_liveness([(img.pixels, r.face) for r in reps])
                reps = [replace(r, face=f) for r, f in zip(reps, live)]
            vectors = np.stack([r.embedding for r in reps])

        q = self._prepare(vectors)
        fetch = k if aggregate is None else max(10 * k, 100)
        dist, ids = self.store.search(q, fetch)
        meta = self.store.entries([int(i) for i in np.unique(ids) if i >= 0])
        thr = self.thresholds.threshold(self.contract.metric) if threshold is None else check_threshold(threshold)
        out = []
        for row in range(len(q)):
            hits = [(float(d), meta[int(i)]) for d, i in zip(dist[row], ids[row]) if i >= 0 and int(i) in meta]
            matches = aggregate_hits(hits, aggregate, k, thr, self.contract.metric)
            face = reps[row].face if reps else None
            out.append(FaceMatches(tuple(matches), face, reps[row].source if reps else ""))
        return out

    # -- maintenance -----------------------------------------------------------------------------
    def copy_to(self, other: Gallery, batch: int = 10_000) -> int:
        """Copy every entry (with file records) into ``other``, e.g. from a laptop folder to PostgreSQL.

        Both galleries must share the embedding contract; returns the number of entries copied.
        """
        self.contract.check(other.contract, "the target gallery")
        n = 0
        for entries, vectors in self.store.iter_entries(batch):
            other.store.apply(remove_keys=[e.key for e in entries if e.face == 0], entries=[
                (e.key, e.identity, e.face, e.box, e.score) for e in entries], vectors=vectors)  # fmt: skip
            n += len(entries)
        files = list(self.store.files().values())
        for s in range(0, len(files), batch):
            other.store.apply(files=files[s : s + batch])
        return n

    def __iter__(self) -> Iterator[tuple[Entry, np.ndarray]]:
        """Every stored entry with its (stored, possibly normalised) vector."""
        for entries, vectors in self.store.iter_entries():
            yield from zip(entries, vectors)

    def rebuild(self) -> dict[str, Any]:
        """Compact deleted entries and rebuild the index (with its recall self-check for HNSW)."""
        return self.store.rebuild()

    def __len__(self) -> int:
        return self.store.count()

    def check(self) -> dict[str, Any]:
        """Every stored vector checked: checksums per committed batch (embedded galleries), finite values,
        unit length where the metric stores unit vectors. ``problems`` is empty for a sound gallery."""
        full = getattr(self.store, "check", None)
        if full is not None:
            return full()
        problems, rows = [], 0
        for _, vecs in self.store.iter_entries():
            rows += len(vecs)
            bad = ~np.isfinite(vecs).all(axis=1)
            if bad.any():
                problems.append(f"{int(bad.sum())} vector(s) hold NaN or infinity")
            if self.contract.metric != "euclidean":
                off = np.abs(np.linalg.norm(vecs[~bad], axis=1) - 1.0) > 1e-3
                if off.any():
                    problems.append(f"{int(off.sum())} vector(s) are not unit length")
        return {"path": self.location, "rows": rows, "problems": problems,
                "fix": "faceprint index FOLDER --db LOCATION --rebuild" if problems else ""}  # fmt: skip

    def stats(self) -> GalleryStats:
        files = self.store.files().values()
        return GalleryStats(
            entries=self.store.count(), files=sum(f.status == "ok" for f in files),
            identities=self.store.identity_count(),
            no_face_files=sum(f.status == "no_face" for f in files), error_files=sum(f.status == "error" for f in files),
            contract=self.contract.to_dict(), backend=self.store.stats(),
        )  # fmt: skip

