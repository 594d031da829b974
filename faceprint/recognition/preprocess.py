"""Input normalisations of the recognizers, named in the registry (``RecognizerSpec.normalization``)."""

from __future__ import annotations

import math

import numpy as np

from faceprint.errors import ConfigError

NORMALIZATIONS = ("unit", "standardize", "vgg_mean", "arcface", "insightface", "none")
#: mean of the VGG-Face training images, B, G, R order (Parkhi et al. 2015 release)
VGG_MEAN_BGR = (93.5940, 104.7624, 129.1863)


def normalize(batch: np.ndarray, how: str, color: str = "RGB") -> np.ndarray:
    """(N, H, W, 3) uint8 → float32 the way the model was trained.

    "unit": /255; "standardize": per image, (x - mean) / std over all its pixels and channels
    (std floored at 1/sqrt(size), as FaceNet's prewhitening); "vgg_mean": minus the VGG-Face mean
    colour (``color`` says the channel order); "arcface": (x - 127.5) / 128; "insightface":
    (x - 127.5) / 127.5; "none": 0-255 as is (models that normalise inside their graph).
    """
    x = batch.astype(np.float32)
    if how == "unit":
        return x / 255.0
    if how == "standardize":
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        std = x.std(axis=(1, 2, 3), keepdims=True)
        return (x - mean) / np.maximum(std, 1.0 / math.sqrt(x[0].size))
    if how == "vgg_mean":
        mean = np.asarray(VGG_MEAN_BGR if color == "BGR" else VGG_MEAN_BGR[::-1], np.float32)
        return x - mean
    if how == "arcface":
        return (x - 127.5) / 128.0
    if how == "insightface":
        return (x - 127.5) / 127.5
    if how == "none":
        return x
    raise ConfigError(f"unknown normalization {how!r}; use one of {NORMALIZATIONS}")


def check_normalization(how: str) -> str:
    if how not in NORMALIZATIONS:
        raise ConfigError(f"unknown normalization {how!r}; use one of {NORMALIZATIONS}")
    return how


def affine(how: str) -> tuple[float, float]:
    """(mean, scale) with ``(x - mean) * scale`` equal to ``normalize(x, how)``, for normalisations that are one."""
    table = {"unit": (0.0, 1 / 255), "arcface": (127.5, 1 / 128), "insightface": (127.5, 1 / 127.5), "none": (0.0, 1.0)}
    if how not in table:
        raise ConfigError(f"normalization {how!r} is not a fixed (x - mean) * scale; use one of {sorted(table)}")
    return table[how]
