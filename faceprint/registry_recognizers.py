"""Registry entries of recognizers released as ONNX (SFace, insightface) or Caffe (SphereFace) files.

Kept out of ``registry.py`` only for size; ``registry`` appends :func:`recognizer_specs` to its
table. Hashes are those the publishers (or the projects that pin these exact files) give; where
none is published, sha256 and size are None and a download is accepted unchecked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faceprint.registry_deepface import ARCFACE_112

if TYPE_CHECKING:
    from faceprint.registry import ModelSpec

_SFACE_URL = (
    "https://github.com/opencv/opencv_zoo/raw/47534e27c9851bb1128ccc0102f1145e27f23f98/"
    "models/face_recognition_sface/face_recognition_sface_2021dec.onnx"
)
#: insightface ships its recognizers inside model packs (buffalo_l.zip, buffalo_s.zip at
#: github.com/deepinsight/insightface/releases/tag/v0.7); uniface re-hosts the two ONNX files
#: alone and publishes their sha256, so a download can be checked.
_UNIFACE_URL = "https://github.com/yakhyo/uniface/releases/download/weights/"
_INSIGHTFACE_LICENSE = (
    "insightface code MIT; its pretrained models (trained on WebFace600K) are for non-commercial research use only"
)
#: SphereFace's 5-point template for its 96x112 crop (wy1iu/sphereface preprocess/code/face_align_demo.m),
#: moved from MATLAB's 1-based pixel coordinates to 0-based ones.
SPHEREFACE_96x112 = tuple(
    (x - 1, y - 1)
    for x, y in ((30.2946, 51.6963), (65.5318, 51.5014), (48.0252, 71.7366), (33.5493, 92.3655), (62.7299, 92.2041))
)


def _insightface(name: str, file: str, sha: str, size: int, **kw: object) -> ModelSpec:
    """An insightface recognizer: 112x112 RGB (x - 127.5) / 127.5 on its template, cosine."""
    from faceprint.registry import Alignment, ModelSpec, WeightFile

    return ModelSpec(
        name=name, task="recognizer", implementation="faceprint.recognition.onnx_model:OnnxRecognizer",
        files=(WeightFile(f"insightface/{file}", sha, size, _UNIFACE_URL + file),),
        license=_INSIGHTFACE_LICENSE, commercial_use=False, input_size=(112, 112), color="RGB", embedding_dim=512,
        alignment=Alignment((112, 112), "five", ARCFACE_112), default_metric="cosine",
        options={"device": "cpu", "normalization": "insightface"}, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def recognizer_specs() -> tuple[ModelSpec, ...]:
    from faceprint.registry import Alignment, ModelSpec, WeightFile

    arcface_align = Alignment((112, 112), "five", ARCFACE_112)
    return (
        ModelSpec(
            name="sface", task="recognizer", implementation="faceprint.recognition.onnx_model:OnnxRecognizer",
            files=(WeightFile("sface/face_recognition_sface_2021dec.onnx",
                              "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79", 38696353, _SFACE_URL),),
            aliases=("SFace", "sface_2021dec", "opencv_sface"),
            license="Apache-2.0 (opencv_zoo)",
            source="Zhong et al., SFace: Sigmoid-Constrained Hypersphere Loss (IEEE TIP 2021); opencv_zoo's ONNX "
            "release (LFW 99.40% there); OpenCV's FaceRecognizerSF preprocessing (RGB 0-255, the graph normalises)",
            input_size=(112, 112), color="RGB", embedding_dim=128, alignment=arcface_align,
            # OpenCV's operating points (cosine similarity 0.363, L2 of unit vectors 1.128) as distances; raw euclidean: deepface's
            thresholds={"cosine": 0.637, "euclidean_l2": 1.128, "euclidean": 10.734},
            default_metric="cosine",
            thresholds_source="opencv_zoo models/face_recognition_sface/sface.py (cosine, euclidean_l2); "
            "deepface/config/threshold.py (euclidean)",
            options={"device": "cpu", "normalization": "none"},
        ),
        _insightface(
            "arcface_r50", "w600k_r50.onnx", "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43", 174383860,
            aliases=("buffalo_l", "Buffalo_L", "w600k_r50", "insightface_r50"),
            source="Deng et al., ArcFace (CVPR 2019); insightface buffalo_l recognizer, ResNet-50 on WebFace600K "
            "(LFW 99.83%, IJB-C 97.25% published); official pack buffalo_l.zip (insightface v0.7 release)",
            # insightface compares with cosine similarity and publishes no threshold; deepface's for Buffalo_L
            thresholds={"cosine": 0.55, "euclidean_l2": 1.1},
            thresholds_source="deepface/config/threshold.py (Buffalo_L); insightface publishes none",
        ),
        _insightface(
            "arcface_mbf", "w600k_mbf.onnx", "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f", 13616099,
            aliases=("buffalo_s", "Buffalo_S", "w600k_mbf", "mobilefacenet"),
            source="insightface buffalo_s recognizer: MobileFaceNet (Chen et al. 2018) with ArcFace loss on "
            "WebFace600K (LFW 99.70% published); official pack buffalo_s.zip (insightface v0.7 release)",
            thresholds={}, thresholds_source="none published (insightface or deepface): tune with `faceprint tune`",
        ),
        ModelSpec(
            name="sphereface", task="recognizer", implementation="faceprint.recognition.sphereface:SphereFace",
            files=(WeightFile("sphereface/sphereface_model.caffemodel", None, None, None,
                              page="https://drive.google.com/open?id=0B_geeR2lTMegb2F6dmlmOXhWaVk "
                              "(or http://pan.baidu.com/s/1qY5FTF2), linked from github.com/wy1iu/sphereface"),),
            aliases=("SphereFace", "sphereface20", "SphereFace-20"),
            license="MIT (wy1iu/sphereface)" + "; trained on CASIA-WebFace, whose terms allow non-commercial research use only",
            commercial_use=False,
            source="Liu et al., SphereFace: Deep Hypersphere Embedding (CVPR 2017); SphereFace-20 Caffe model "
            "(LFW 99.30% published, with fc5 of the image and its mirror concatenated); no hash published",
            input_size=(96, 112), color="BGR", embedding_dim=512,
            alignment=Alignment((96, 112), "five", SPHEREFACE_96x112),
            thresholds={}, default_metric="cosine",
            thresholds_source="none published (the LFW protocol picks a threshold per fold): tune with `faceprint tune`",
            options={"device": "cpu", "normalization": "arcface"},
        ),
    )  # fmt: skip
