"""Registry entries of dlib's recognizer (three runtimes) and of the recognizers released as ONNX
(SFace, insightface) or Caffe (SphereFace) files.

Hashes are those the publishers (or the projects that pin these exact files) give; where none is
published, sha256 and size are None and a download is accepted unchecked.
"""

from __future__ import annotations

from dataclasses import replace

from faceprint.models.sources import frm
from faceprint.models.specs import Alignment, RecognizerSpec, WeightFile
from faceprint.models.templates import ARCFACE_ALIGN, DLIB5_150, SPHEREFACE_96x112

_DLIB_SOURCE = "D. King, dlib face recognition ResNet-29 (2017); LFW 99.38% published"

DLIB_RESNET = RecognizerSpec(
    name="dlib",
    # faceprint's ONNX conversion of the .dat (same embeddings as dlib, ~35x faster here);
    # "dlib_bin" below runs dlib's own code and stays as the reference
    implementation="faceprint.recognition.dlib_onnx:DlibOnnx",
    files=(
        frm(
            "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            22466066,
        ),
    ),
    aliases=("Dlib", "dlib_resnet", "dlib-resnet", "dlib_onnx", "dlib-onnx"),
    license="CC0-1.0 (model files); dlib Boost-1.0",
    source=_DLIB_SOURCE + "; converted to ONNX by faceprint, run on ONNX Runtime",
    input_size=(150, 150),
    color="RGB",
    embedding_dim=128,
    # the "dlib5" scheme: the pipeline's landmark stage gives dlib's 5-point shape (landmarkers.DLIB5)
    alignment=DLIB5_150,
    # euclidean 0.6 is dlib's published operating point; cosine and euclidean_l2 are the
    # equal-accuracy points of the same decision on unit-normalised vectors, checked on the
    # shared fixtures (see docs/thresholds.md).
    thresholds={"euclidean": 0.6, "cosine": 0.07, "euclidean_l2": 0.4},
    # with tta="flip": the thresholds that keep the false-accept rate of the ones above, on the
    # 79,954 impostor pairs of the dev benchmark (benchmarks/accuracy.py; docs/accuracy.md)
    tta_thresholds={"flip": {"euclidean": 0.588, "cosine": 0.0675, "euclidean_l2": 0.392}},
    default_metric="euclidean",
    thresholds_source="dlib.net (euclidean 0.6); cosine/euclidean_l2: docs/thresholds.md",
    backend="onnx",
)

DLIB: tuple[RecognizerSpec, ...] = (
    DLIB_RESNET,
    # the same network and weights, read from the .dat by faceprint and run batched on PyTorch
    replace(
        DLIB_RESNET,
        name="dlib_torch",
        implementation="faceprint.recognition.dlib_torch:DlibTorch",
        aliases=("dlib-pytorch", "dlib_resnet_torch"),
        source=_DLIB_SOURCE + "; converted to PyTorch by faceprint (faceprint[torch])",
        backend="torch",
    ),
    # ... and run by dlib itself (dlib-bin, one face at a time): the reference the others are tested against
    replace(
        DLIB_RESNET,
        name="dlib_bin",
        implementation="faceprint.recognition.dlib_resnet:DlibResNet",
        aliases=("dlib-bin", "dlib_reference"),
        source=_DLIB_SOURCE + "; run by dlib-bin (reference backend)",
        backend="dlib",
    ),
)

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


def _insightface(name: str, file: str, sha: str, size: int, **kw: object) -> RecognizerSpec:
    """An insightface recognizer: 112x112 RGB (x - 127.5) / 127.5 on its template, cosine."""
    return RecognizerSpec(
        name=name, implementation="faceprint.recognition.onnx_model:OnnxRecognizer",
        files=(WeightFile(f"insightface/{file}", sha, size, _UNIFACE_URL + file),),
        license=_INSIGHTFACE_LICENSE, commercial_use=False, input_size=(112, 112), color="RGB", embedding_dim=512,
        alignment=ARCFACE_ALIGN, default_metric="cosine", normalization="insightface", backend="onnx",
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


ONNX_CAFFE: tuple[RecognizerSpec, ...] = (
    RecognizerSpec(
        name="sface", implementation="faceprint.recognition.onnx_model:OnnxRecognizer",
        files=(WeightFile("sface/face_recognition_sface_2021dec.onnx",
                          "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79", 38696353, _SFACE_URL),),
        aliases=("SFace", "sface_2021dec", "opencv_sface"),
        license="Apache-2.0 (opencv_zoo)",
        source="Zhong et al., SFace: Sigmoid-Constrained Hypersphere Loss (IEEE TIP 2021); opencv_zoo's ONNX "
        "release (LFW 99.40% there); OpenCV's FaceRecognizerSF preprocessing (RGB 0-255, the graph normalises)",
        input_size=(112, 112), color="RGB", embedding_dim=128, alignment=ARCFACE_ALIGN,
        # OpenCV's operating points (cosine similarity 0.363, L2 of unit vectors 1.128) as distances; raw euclidean: deepface's
        thresholds={"cosine": 0.637, "euclidean_l2": 1.128, "euclidean": 10.734},
        default_metric="cosine",
        thresholds_source="opencv_zoo models/face_recognition_sface/sface.py (cosine, euclidean_l2); "
        "deepface/config/threshold.py (euclidean)",
        normalization="none", backend="onnx",
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
    RecognizerSpec(
        name="sphereface", implementation="faceprint.recognition.sphereface:SphereFace",
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
        normalization="arcface", backend="onnx",
    ),
)  # fmt: skip
