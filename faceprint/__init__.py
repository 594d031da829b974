"""faceprint: face recognition — detect → align → represent → verify.

    >>> import faceprint
    >>> result = faceprint.verify("a.jpg", "b.jpg")
    >>> result.verified, result.distance

Names are imported lazily, so ``import faceprint`` is cheap and loads no model.
"""

from __future__ import annotations

import logging

from faceprint.lazy import lazy_attributes

logging.getLogger("faceprint").addHandler(logging.NullHandler())

__version__ = "0.1.0"

_LAZY = {
    "verify": "faceprint.api",
    "represent": "faceprint.api",
    "represent_stream": "faceprint.api",
    "iter_images": "faceprint.image",
    "ImageResult": "faceprint.types",
    "extract_faces": "faceprint.api",
    "detect": "faceprint.api",
    "analyze": "faceprint.api",
    "landmarks": "faceprint.api",
    "FaceLandmarks": "faceprint.types",
    "FaceAnalysis": "faceprint.types",
    "SpoofError": "faceprint.errors",
    "Pipeline": "faceprint.pipeline",
    "load_image": "faceprint.image",
    "Face": "faceprint.types",
    "ExtractedFace": "faceprint.types",
    "Representation": "faceprint.types",
    "VerifyResult": "faceprint.types",
    "FaceprintError": "faceprint.errors",
    "ImageError": "faceprint.errors",
    "NoFaceError": "faceprint.errors",
    "WeightsMissingError": "faceprint.errors",
    "ModelNotFoundError": "faceprint.errors",
    "ConfigError": "faceprint.errors",
    "ContractError": "faceprint.errors",
    "ImageNotFoundError": "faceprint.errors",
    "ImageDecodeError": "faceprint.errors",
    "ImageTooLargeError": "faceprint.errors",
    "UnsupportedImageError": "faceprint.errors",
    "StoreError": "faceprint.errors",
    "EmptyGalleryError": "faceprint.errors",
    "DeviceError": "faceprint.errors",
    "WeightsFormatError": "faceprint.errors",
    "WeightsChecksumError": "faceprint.errors",
    "DependencyError": "faceprint.errors",
    "Interrupted": "faceprint.errors",
    "find": "faceprint.search.finder",
    "Gallery": "faceprint.search",
    "stream": "faceprint.video.stream",
    "VideoPipeline": "faceprint.video.pipeline",
    "FrameResult": "faceprint.video.types",
    "VideoError": "faceprint.errors",
    "VideoNotFoundError": "faceprint.errors",
    "VideoTimeoutError": "faceprint.errors",
    "PipelineConfig": "faceprint.config",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), also=("__version__",))
