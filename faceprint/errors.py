"""Typed errors. Each also subclasses the matching builtin so generic handlers keep working."""

from __future__ import annotations


class FaceprintError(Exception):
    """Base class of every error faceprint raises on purpose."""


class ImageError(FaceprintError, ValueError):
    """An input image could not be used."""

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class ImageNotFoundError(ImageError, FileNotFoundError):
    """The image path does not exist."""


class ImageDecodeError(ImageError):
    """The bytes are not a readable image (truncated, corrupt, not an image)."""


class UnsupportedImageError(ImageError, TypeError):
    """The input type or pixel layout is not supported."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit."""


class NoFaceError(FaceprintError, ValueError):
    """No face was found where one was required."""

    def __init__(self, source: str | None, detector: str) -> None:
        self.source = source
        self.detector = detector
        where = source or "the image"
        super().__init__(
            f"{where}: detector {detector!r} found no face. Try another detector "
            "(e.g. detector='mtcnn' or 'dlib_mmod'), a larger image, or pass "
            "enforce_detection=False to use the whole image as the face."
        )


class ModelNotFoundError(FaceprintError, KeyError):
    """A model name is not in the registry."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class WeightsMissingError(FaceprintError, FileNotFoundError):
    """A weight file is not available locally and could not be downloaded."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class WeightsChecksumError(FaceprintError, ValueError):
    """A weight file's sha256 does not match the registry."""


class WeightsFormatError(FaceprintError, ValueError):
    """A weight file is readable but is not what the model expects (layout, shapes, inputs)."""


class DependencyError(FaceprintError, ImportError):
    """An optional dependency needed by the chosen model is not installed."""


class DeviceError(FaceprintError, RuntimeError):
    """The requested device (e.g. a GPU) cannot be used."""


class ContractError(FaceprintError, ValueError):
    """Embeddings made under different contracts (model, preprocessing, ...) were mixed."""


class ConfigError(FaceprintError, ValueError):
    """An option has an invalid value."""


class StoreError(FaceprintError, RuntimeError):
    """A gallery's storage (files or database) is unusable: damaged, locked, or unreachable."""


class SpoofError(FaceprintError, ValueError):
    """Anti-spoofing judged a face to be a presentation attack (a photo, screen or mask), not a live face."""

    def __init__(self, source: str | None, score: float, threshold: float) -> None:
        self.source = source
        self.score = score
        self.threshold = threshold
        where = source or "the image"
        super().__init__(f"{where}: the face looks spoofed (P(live) {score:.3f} < {threshold:.3f})")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long job; what was committed before it is kept (``saved`` of ``total``)."""

    def __init__(self, saved: int, total: int) -> None:
        self.saved, self.total = saved, total
        super().__init__(f"interrupted: {saved} of {total} file(s) saved; run it again to finish")


class EmptyGalleryError(FaceprintError, LookupError):
    """A search was asked of a gallery that holds no faces."""


class VideoError(FaceprintError, ValueError):
    """A video source (file, camera, stream URL, frame folder) cannot be opened or read."""

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The video file or frame folder does not exist."""


class VideoTimeoutError(VideoError, TimeoutError):
    """A camera or stream URL did not answer within the timeout."""
