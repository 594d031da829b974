"""Registry entries of the face-api networks (npm ``@vladmandic/face-api``) and the emotion ensemble (issue 17).

The files come from registry packages: each :class:`WeightFile` names the package (fetched through
the user's configured npm registry or pip index, see :mod:`faceprint.models.archives`), the member
inside it and the member's sha256; ``url`` is the public npm tarball.
"""

from __future__ import annotations

from faceprint.models.attributes import ATTRIBUTES, EMOTION_LABELS, GENDER_LABELS
from faceprint.models.specs import DEVICES, AttributeSpec, LandmarkerSpec, ModelSpec, WeightFile

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


def _specs() -> tuple[ModelSpec, ...]:
    impl = "faceprint.analysis.faceapi:FaceApiAttribute"
    age_gender = _faceapi_files("age_gender_model")
    note = "; trained partly on UTKFace (the age_gender fixtures' source) and IMDB-WIKI (research-only data)"
    return (
        AttributeSpec(
            name="faceapi_age", task="age", implementation=impl, files=age_gender,
            aliases=("faceapi", "face-api", "face_api", "age_gender_model"), license=_LICENSE,
            source=_SOURCE + ", age_gender_model (TinyXception)" + note, input_size=(112, 112), color="RGB",
            options={"net": "age_gender", "output": "age", "margin": 0.1},
        ),
        AttributeSpec(
            name="faceapi_gender", task="gender", implementation=impl, files=age_gender,
            aliases=("faceapi", "face-api", "face_api", "age_gender_model"), license=_LICENSE,
            source=_SOURCE + ", age_gender_model (TinyXception)" + note, input_size=(112, 112), color="RGB",
            # the network's softmax is (male, female); "order" picks GENDER_LABELS (woman, man) from it
            labels=GENDER_LABELS, options={"net": "age_gender", "output": "gender", "order": (1, 0), "margin": 0.1},
        ),
        AttributeSpec(
            name="faceapi_expression", task="emotion", implementation=impl,
            files=_faceapi_files("face_expression_model"),
            aliases=("faceapi", "face-api", "face_api", "face_expression_model"), license=_LICENSE,
            source=_SOURCE + ", face_expression_model (FaceFeatureExtractor + fc); training data not disclosed",
            input_size=(112, 112), color="RGB",
            labels=EMOTION_LABELS, options={"net": "expression", "output": "probabilities",
                                            "order": expression_order(EMOTION_LABELS), "margin": 0.0},
        ),
        LandmarkerSpec(
            name="faceapi_68", implementation="faceprint.landmarkers.faceapi68:FaceApi68",
            files=_faceapi_files("face_landmark_68_model"),
            aliases=("68", "faceapi", "face-api", "face_landmark_68_model", "landmarks68"), license=_LICENSE,
            source=_SOURCE + ", face_landmark_68_model (FaceFeatureExtractor + fc); iBUG 68-point layout,"
                             " training data not disclosed",
            input_size=(112, 112), color="RGB", points=68, devices=DEVICES, options={"margin": 0.1},
        ),
        AttributeSpec(
            name="emotion_ensemble", task="emotion", implementation="faceprint.analysis.ensemble:AverageModel",
            files=(*_fer_files(), *_faceapi_files("face_expression_model")),
            aliases=("ensemble", "fer_faceapi", "emotion_average"), license="MIT (both members)",
            source="geometric mean of fer_mini_xception and faceapi_expression probabilities (faceprint)",
            labels=EMOTION_LABELS, options={"members": ("fer_mini_xception", "faceapi_expression"), "combine": "geometric"},
        ),
    )  # fmt: skip


def _fer_files() -> tuple[WeightFile, ...]:
    return next(s.files for s in ATTRIBUTES if s.name == "fer_mini_xception")


#: the face-api entries before FaceMesh in the table (age, gender, expression, 68 landmarks), and after it
_ALL = _specs()
FACEAPI, ENSEMBLE = _ALL[:4], _ALL[4:]
