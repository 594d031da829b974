"""Test-time augmentation: more views of each aligned crop, their embeddings averaged.

``tta="flip"`` adds the mirror image of each crop (a face and its mirror are the same person,
and the network's errors on the two are partly independent). ``num_jitters=N`` adds N
randomly perturbed copies the way dlib's ``compute_face_descriptor(..., num_jitters)`` does:
a small random rotation (±3°), zoom (0.97–1.0 of the face), shift (±2%) and a mirror half of
the time. The generator is seeded per call, so a face always gets the same embedding.
Embeddings of a face's views are averaged before any normalisation (the metric normalises).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from faceprint.errors import ConfigError

TTA_MODES = ("none", "flip")
#: The default of :class:`faceprint.pipeline.Pipeline` and the one-call API (see docs/accuracy.md).
DEFAULT_TTA = "flip"
_JITTER_SEED = 0x5EED


def check_tta(tta: str | None, num_jitters: int) -> str:
    """The validated TTA mode ("none" for None)."""
    mode = "none" if tta is None else tta
    if mode not in TTA_MODES:
        raise ConfigError(f"unknown tta {tta!r}; use one of {', '.join(TTA_MODES)}")
    if not isinstance(num_jitters, int) or isinstance(num_jitters, bool) or not 0 <= num_jitters <= 1000:
        raise ConfigError(f"num_jitters must be an integer in [0, 1000], got {num_jitters!r}")
    return mode


def describe(tta: str, num_jitters: int) -> str:
    """A stable name of the setting, as the embedding contract records it (e.g. "flip", "flip+jitter10")."""
    parts = [] if tta == "none" else [tta]
    if num_jitters:
        parts.append(f"jitter{num_jitters}")
    return "+".join(parts) or "none"


def parse(described: str) -> tuple[str, int]:
    """(tta, num_jitters) back from :func:`describe`'s name."""
    tta, jitters = "none", 0
    for part in described.split("+"):
        if part.startswith("jitter") and part[6:].isdigit():
            jitters = int(part[6:])
        elif part in TTA_MODES:
            tta = part
        else:
            raise ConfigError(f"unknown test-time augmentation {described!r}")
    return tta, jitters


def jitter(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One randomly rotated, zoomed, shifted and (half the time) mirrored copy of ``crop``."""
    import cv2

    h, w = crop.shape[:2]
    angle = rng.uniform(-3.0, 3.0)
    scale = rng.uniform(0.97, 0.99999)  # the face fills this fraction of the new crop: a slight zoom out
    dx, dy = rng.uniform(-0.02, 0.02, 2) * (w, h)
    m = cv2.getRotationMatrix2D((w / 2 + dx, h / 2 + dy), angle, scale)
    m[:, 2] += (w / 2 - (w / 2 + dx), h / 2 - (h / 2 + dy))
    out = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out[:, ::-1] if rng.random() > 0.5 else out


def views(crop: np.ndarray, tta: str, num_jitters: int) -> list[np.ndarray]:
    """The crops embedded for one face: itself, its mirror with ``tta="flip"``, then the jittered copies."""
    import cv2

    out = [crop]
    if tta == "flip":
        out.append(cv2.flip(np.ascontiguousarray(crop), 1))
    if num_jitters:
        rng = np.random.default_rng(_JITTER_SEED)
        out += [np.ascontiguousarray(jitter(crop, rng)) for _ in range(num_jitters)]
    return out


def embed_augmented(
    embed: Callable[[Sequence[np.ndarray]], np.ndarray], crops: Sequence[np.ndarray], tta: str, num_jitters: int
) -> np.ndarray:
    """``embed`` over every view of every crop in one batched call; the mean embedding per crop."""
    if (tta == "none" and not num_jitters) or not len(crops):
        return embed(crops)
    per = 1 + (tta == "flip") + num_jitters
    all_views = [v for c in crops for v in views(c, tta, num_jitters)]
    vecs = embed(all_views)
    return vecs.reshape(len(crops), per, -1).mean(axis=1, dtype=np.float64).astype(np.float32)
