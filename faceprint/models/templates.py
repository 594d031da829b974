"""Alignment templates: where the landmarks of each scheme land, defined once."""

from __future__ import annotations

from faceprint.models.specs import Alignment

#: Where dlib's 5-point shape (right-eye corners, left-eye corners, nose base) lands in dlib's
#: unit face frame (dlib ``get_face_chip_details``).
DLIB5_UNIT = ((0.8595674595992, 0.2134981538014), (0.6460604764104, 0.2289674387677),
              (0.1205750620789, 0.2137274526848), (0.3340850613712, 0.2290642403242),
              (0.4901123135679, 0.6277975316667))  # fmt: skip

#: The 5 standard landmarks (eyes, nose tip, mouth corners) in dlib's unit face frame; the same
#: measured values as ``faceprint.alignment._FIVE_IN_DLIB_UNIT`` (a test keeps them equal).
FIVE_IN_UNIT = ((0.2138, 0.1975), (0.7591, 0.1956), (0.4845, 0.5236), (0.2380, 0.7652), (0.7416, 0.7559))

#: insightface's 112x112 template for the 5 landmarks, the alignment ArcFace's training data was made with
ARCFACE_112 = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041))

#: SphereFace's 5-point template for its 96x112 crop (wy1iu/sphereface preprocess/code/face_align_demo.m),
#: moved from MATLAB's 1-based pixel coordinates to 0-based ones.
SPHEREFACE_96x112 = tuple(
    (x - 1, y - 1)
    for x, y in ((30.2946, 51.6963), (65.5318, 51.5014), (48.0252, 71.7366), (33.5493, 92.3655), (62.7299, 92.2041))
)


def dlib_chip_points(size: int = 150, padding: float = 0.25) -> tuple[tuple[float, float], ...]:
    """dlib's 5-point template in chip pixels, as ``dlib.get_face_chip(size, padding)`` places it."""
    return tuple(
        ((padding + x) / (2 * padding + 1) * size, (padding + y) / (2 * padding + 1) * size) for x, y in DLIB5_UNIT
    )


def five_points(size: tuple[int, int], padding: float) -> tuple[tuple[float, float], ...]:
    """The 5 landmarks in a (width, height) crop of the unit face frame grown by ``padding`` on each side.

    deepface's models take a detector box crop; padding approximates each model's margin around
    the face (0: landmark extent, as OpenFace's own alignment; FaceNet/VGG-Face crops carry a margin).
    """
    return tuple(
        ((padding + x) / (2 * padding + 1) * size[0], (padding + y) / (2 * padding + 1) * size[1])
        for x, y in FIVE_IN_UNIT
    )


#: dlib's 150x150 chip (padding 0.25) on its 5-point shape: the alignment dlib's ResNet was trained on
DLIB5_150 = Alignment((150, 150), "dlib5", dlib_chip_points())
ARCFACE_ALIGN = Alignment((112, 112), "five", ARCFACE_112)
