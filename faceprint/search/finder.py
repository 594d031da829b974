"""``find``: search a folder of photos (indexed on the fly) or an existing gallery for a face."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.augment import DEFAULT_TTA
from faceprint.config import DEFAULT_FACES
from faceprint.errors import ConfigError, EmptyGalleryError, StoreError
from faceprint.files import escape_text
from faceprint.image import ImageInput, load_image
from faceprint.search.backends import is_database_url
from faceprint.search.contract import EmbeddingContract
from faceprint.search.gallery import Gallery
from faceprint.search.types import FaceMatches, IndexReport

log = logging.getLogger("faceprint")

GALLERY_DIR = ".faceprint"


def is_gallery(location: str | os.PathLike[str]) -> bool:
    """A database URL, or a folder that already holds an embedded gallery."""
    return is_database_url(location) or (Path(location) / "gallery.sqlite").is_file()


def folder_gallery_path(folder: str | os.PathLike[str], contract: EmbeddingContract) -> Path:
    """Where ``find``/``index`` keep the gallery of an image folder, one per embedding contract:
    ``$FACEPRINT_HOME/galleries/<folder name>-<hash of its absolute path>/``, so nothing is written into
    the user's photo folder. A gallery an older version made at ``FOLDER/.faceprint/`` is still used."""
    name = f"{contract.model}-{contract.id}"
    legacy = Path(folder) / GALLERY_DIR / name
    if (legacy / "gallery.sqlite").is_file():
        return legacy
    from faceprint.models.weights import home

    absolute = os.fsencode(os.path.abspath(folder))
    tag = f"{escape_text(Path(os.fsdecode(absolute)).name)[:40]}-{hashlib.sha256(absolute).hexdigest()[:12]}"
    return home() / "galleries" / tag / name


def open_gallery(
    db: str | os.PathLike[str], *, model: str = "dlib", detector: str = "mtcnn", align: str = "template",
    metric: str | None = None, faces: str = DEFAULT_FACES, gallery: str | os.PathLike[str] | None = None,
    tta: str | None = "auto", num_jitters: int = 0, **store_options: Any,
) -> tuple[Gallery, Path | None]:  # fmt: skip
    """(gallery, image folder to sync or None) for ``db``: an image folder, a gallery folder or a URL.
    ``pipeline=`` or ``config=`` (in ``store_options``) go to the :class:`Gallery` whole."""
    opts: dict[str, Any] = {"model": model, "detector": detector, "align": align, "metric": metric, "faces": faces,
                            "tta": tta, "num_jitters": num_jitters}  # fmt: skip
    if is_gallery(db):
        return Gallery(db, **opts, **store_options), None
    if not Path(db).is_dir():
        raise ConfigError(f"{db}: not a folder of images, a gallery folder, or a postgresql:// URL")
    given = store_options.get("pipeline")
    config = store_options.get("config") or (given.config if given is not None else None)
    if config is not None:  # a whole PipelineConfig (or Pipeline) names the contract
        contract = EmbeddingContract.for_config(config, metric=metric)
    else:
        contract = EmbeddingContract.for_model(
            model, detector=detector, align=align, metric=metric, tta=DEFAULT_TTA if tta == "auto" else tta,
            num_jitters=num_jitters,
        )  # fmt: skip
    where = Path(gallery) if gallery is not None else folder_gallery_path(db, contract)
    return Gallery(where, **opts, **store_options), Path(db)


def find(
    img: ImageInput,
    db: str | os.PathLike[str],
    *,
    k: int = 5,
    model: str = "dlib",
    detector: str = "mtcnn",
    align: str = "template",
    metric: str | None = None,
    threshold: float | None = None,
    faces: str = "all",
    enforce_detection: bool = True,
    aggregate: str | None = None,
    refresh: bool = True,
    progress: bool = False,
    gallery: str | os.PathLike[str] | None = None,
    anti_spoofing: bool = False,
    **store_options: Any,
) -> list[FaceMatches]:
    """The top-``k`` gallery matches of each face in ``img`` (one :class:`FaceMatches` per face).

    ``db`` is a folder of photos (identity = sub-folder name; indexed into its gallery under
    ``$FACEPRINT_HOME/galleries`` and
    brought up to date first unless ``refresh=False``), a gallery folder, or a ``postgresql://`` URL.
    ``verified`` on each match means distance <= the model's threshold for the metric (or ``threshold``).
    ``anti_spoofing=True`` fills each query face's ``is_real`` and ``antispoof_score`` (``FaceMatches.face``).
    """
    g, folder = open_gallery(db, model=model, detector=detector, align=align, metric=metric, gallery=gallery,
                             **store_options)  # fmt: skip
    with g:
        if folder is not None and refresh:
            g.sync(folder, progress=progress)
        if len(g) == 0:
            where = f"the gallery of {folder}" if folder is not None else f"gallery {g.location}"
            raise EmptyGalleryError(f"{where} is empty: nothing to search. Index photos into it first "
                                    "(faceprint index FOLDER); folders with no face found index to nothing")  # fmt: skip
        if isinstance(img, np.ndarray):  # find() takes images: an array is pixels, never guessed as embeddings
            img = load_image(img, max_pixels=g.max_pixels)
        return g.search(img, k, aggregate=aggregate, threshold=threshold, faces=faces,
                        enforce_detection=enforce_detection, anti_spoofing=anti_spoofing)  # fmt: skip


def gallery_location(folder: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, **options: Any) -> str:
    """The gallery ``index(folder, db)`` writes to (a path or URL), for messages."""
    if db is not None:
        return _redacted(str(db))
    tta = options.get("tta", "auto")
    contract = EmbeddingContract.for_model(options.get("model", "dlib"), detector=options.get("detector", "mtcnn"),
                                           align=options.get("align", "template"), metric=options.get("metric"),
                                           tta=DEFAULT_TTA if tta == "auto" else tta,
                                           num_jitters=options.get("num_jitters", 0))  # fmt: skip
    return str(folder_gallery_path(folder, contract))


def _redacted(location: str) -> str:
    from faceprint.search.backends.base import redact

    return redact(location)


def index(folder: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, *, progress: bool = False,
          rebuild: bool = False, **options: Any) -> IndexReport:  # fmt: skip
    """Index (or bring up to date) the photos under ``folder`` into ``db`` (default: the folder's gallery
    under ``$FACEPRINT_HOME/galleries``). ``rebuild=True`` re-embeds every photo of the folder and compacts
    the gallery: the fix for a damaged gallery (an embedded one whose database is corrupt is moved aside
    to ``<path>.damaged-<time>`` and made anew) and the way to drop deleted rows."""
    if not rebuild:
        g = open_gallery(folder, **options)[0] if db is None else Gallery(db, **options)
        with g:
            return g.sync(folder, progress=progress)
    if not Path(folder).is_dir():
        raise ConfigError(f"{folder}: not a folder; pass the folder of images to index")
    where = db if db is not None else gallery_location(folder, **options)
    embedded = not is_database_url(where)
    try:
        g = Gallery(where, **options, **({"verify": False} if embedded else {}))
    except StoreError:
        if not embedded or not Path(where).is_dir():
            raise
        aside = Path(where).with_name(f"{Path(where).name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(where, aside)
        log.warning("%s: damaged gallery moved aside to %s; indexing anew", where, aside)
        g = Gallery(where, **options)
    with g:
        root = os.path.abspath(folder)
        from faceprint.search.folder import under

        stale = [k for k in g.store.files() if under(k, Path(root))]
        stale += [e.key for entries, _ in g.store.iter_entries() for e in entries if under(e.key, Path(root))]
        g.store.apply(remove_keys=list(dict.fromkeys(stale)))
        report = g.sync(folder, progress=progress)
        g.rebuild()
        return report
