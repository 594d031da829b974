"""``find``: search a folder of photos (indexed on the fly) or an existing gallery for a face."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from faceprint.augment import DEFAULT_TTA
from faceprint.errors import ConfigError
from faceprint.image import ImageInput
from faceprint.search.contract import EmbeddingContract
from faceprint.search.gallery import Gallery
from faceprint.search.types import FaceMatches, IndexReport

GALLERY_DIR = ".faceprint"


def is_gallery(location: str | os.PathLike[str]) -> bool:
    """A database URL, or a folder that already holds an embedded gallery."""
    loc = str(location)
    return loc.startswith(("postgresql://", "postgres://", "milvus:")) or (Path(loc) / "gallery.sqlite").is_file()


def folder_gallery_path(folder: str | os.PathLike[str], contract: EmbeddingContract) -> Path:
    """Where ``find``/``index`` keep the gallery of an image folder: one per embedding contract."""
    return Path(folder) / GALLERY_DIR / f"{contract.model}-{contract.id}"


def open_gallery(
    db: str | os.PathLike[str], *, model: str = "dlib", detector: str = "mtcnn", align: str = "template",
    metric: str | None = None, faces: str = "largest", gallery: str | os.PathLike[str] | None = None,
    tta: str | None = DEFAULT_TTA, num_jitters: int = 0, **store_options: Any,
) -> tuple[Gallery, Path | None]:  # fmt: skip
    """(gallery, image folder to sync or None) for ``db``: an image folder, a gallery folder or a URL."""
    opts: dict[str, Any] = {"model": model, "detector": detector, "align": align, "metric": metric, "faces": faces,
                            "tta": tta, "num_jitters": num_jitters}  # fmt: skip
    if is_gallery(db):
        return Gallery(db, **opts, **store_options), None
    if not Path(db).is_dir():
        raise ConfigError(f"{db}: not a folder of images, a gallery folder, or a postgresql:// URL")
    contract = EmbeddingContract.for_model(
        model, detector=detector, align=align, metric=metric, tta=tta, num_jitters=num_jitters
    )
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

    ``db`` is a folder of photos (identity = sub-folder name; indexed into ``db/.faceprint/`` and
    brought up to date first unless ``refresh=False``), a gallery folder, or a ``postgresql://`` URL.
    ``verified`` on each match means distance <= the model's threshold for the metric (or ``threshold``).
    ``anti_spoofing=True`` fills each query face's ``is_real`` and ``antispoof_score`` (``FaceMatches.face``).
    """
    g, folder = open_gallery(db, model=model, detector=detector, align=align, metric=metric, gallery=gallery,
                             **store_options)  # fmt: skip
    with g:
        if folder is not None and refresh:
            g.sync(folder, progress=progress)
        return g.search(img, k, aggregate=aggregate, threshold=threshold, faces=faces,
                        enforce_detection=enforce_detection, anti_spoofing=anti_spoofing)  # fmt: skip


def index(folder: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, *, progress: bool = False,
          **options: Any) -> IndexReport:  # fmt: skip
    """Index (or bring up to date) the photos under ``folder`` into ``db`` (default: ``folder/.faceprint/``)."""
    g = open_gallery(folder, **options)[0] if db is None else Gallery(db, **options)
    with g:
        return g.sync(folder, progress=progress)
