"""Registry entries of the recognizers deepface distributes as Keras ``.h5`` files (issue 3).

Each architecture is written in faceprint (``faceprint/recognition``); only the weight arrays
come from the files.

Weight files: sha256 and size are None because the release files could not be fetched to hash
them (no network when these entries were written); a download is then accepted unchecked.

Thresholds: deepface's published values (``deepface/config/threshold.py``, used by
``verification.find_threshold``), tuned on deepface's own pipeline (its detector crop, BGR/255 input
by default). faceprint feeds each model its training-time normalisation, so they are a starting
point, not re-derived here.
"""

from __future__ import annotations

from faceprint.models.specs import Alignment, RecognizerSpec, WeightFile
from faceprint.models.templates import ARCFACE_112, five_points

_DF_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/"

#: where deepface itself downloads the DeepFace (Facebook) weights from
_SWGHOSH_URL = "https://github.com/swghosh/DeepFace/releases/download/weights-vggface2-2d-aligned/VGGFace2_DeepFace_weights_val-0.9034.h5.zip"
_THRESHOLDS_SOURCE = "deepface/config/threshold.py (serengil/deepface), deepface's published values"
_NON_COMMERCIAL = "; trained on {data}, whose terms allow non-commercial research use only"



def _file(name: str, url: str | None = None) -> WeightFile:
    return WeightFile(f"deepface/{name}", None, None, url or _DF_URL + name)


def _recognizer(
    name: str,
    impl: str,
    file: str,
    size: int | tuple[int, int],
    padding: float,
    url: str | None = None,
    points: tuple[tuple[float, float], ...] | None = None,
    **kw: object,
) -> RecognizerSpec:
    wh = (size, size) if isinstance(size, int) else size
    return RecognizerSpec(
        name=name, implementation=f"faceprint.recognition.{impl}", files=(_file(file, url),),
        input_size=wh, alignment=Alignment(wh, "five", points or five_points(wh, padding)),
        default_metric="cosine", thresholds_source=_THRESHOLDS_SOURCE, commercial_use=False, backend="torch", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


DEEPFACE: tuple[RecognizerSpec, ...] = (
        _recognizer(
            "openface", "openface:OpenFace", "openface_weights.h5", 96, 0.0, aliases=("OpenFace", "nn4.small2.v1"),
            license="MIT (deepface); OpenFace model Apache-2.0" + _NON_COMMERCIAL.format(data="CASIA-WebFace and FaceScrub"),
            source="Amos et al., OpenFace nn4.small2.v1 (2016), Keras weights from deepface (sha256/size unknown: not fetched)",
            color="RGB", embedding_dim=128, thresholds={"cosine": 0.10, "euclidean": 0.55, "euclidean_l2": 0.55},
            normalization="unit", l2_normalize=True,
        ),
        _recognizer(
            "facenet", "facenet:FaceNet", "facenet_weights.h5", 160, 0.1, aliases=("Facenet", "FaceNet128", "facenet128"),
            license="MIT (deepface, davidsandberg/facenet)" + _NON_COMMERCIAL.format(data="MS-Celeb-1M (withdrawn)"),
            source="Schroff et al., FaceNet (2015); Inception-ResNet-v1 of D. Sandberg's facenet, Keras weights from "
            "deepface (sha256/size unknown: not fetched)",
            color="RGB", embedding_dim=128, thresholds={"cosine": 0.40, "euclidean": 10.0, "euclidean_l2": 0.80},
            normalization="standardize", options={"arch_options": {"dim": 128}},
        ),
        _recognizer(
            "facenet512", "facenet:FaceNet", "facenet512_weights.h5", 160, 0.1, aliases=("Facenet512", "FaceNet-512"),
            license="MIT (deepface, davidsandberg/facenet)" + _NON_COMMERCIAL.format(data="VGGFace2"),
            source="Schroff et al., FaceNet (2015); Inception-ResNet-v1, 512-d, Keras weights from deepface "
            "(sha256/size unknown: not fetched)",
            color="RGB", embedding_dim=512, thresholds={"cosine": 0.30, "euclidean": 23.56, "euclidean_l2": 1.04},
            normalization="standardize", options={"arch_options": {"dim": 512}},
        ),
        _recognizer(
            "vgg_face", "vgg_face:VGGFace", "vgg_face_weights.h5", 224, 0.15, aliases=("VGG-Face", "vggface", "vgg-face1"),
            license="MIT (deepface); VGG-Face weights CC BY-NC 4.0 (Oxford VGG)" + _NON_COMMERCIAL.format(data="the VGG-Face dataset"),
            source="Parkhi et al., Deep Face Recognition (BMVC 2015); fc7 descriptor, Keras weights from deepface "
            "(sha256/size unknown: not fetched)",
            # deepface L2-normalises the descriptor, hence its equal euclidean and euclidean_l2 thresholds
            color="BGR", embedding_dim=4096, thresholds={"cosine": 0.68, "euclidean": 1.17, "euclidean_l2": 1.17},
            normalization="vgg_mean", l2_normalize=True,
        ),
        _recognizer(
            "arcface", "arcface:ArcFace", "arcface_weights.h5", 112, 0.0, points=ARCFACE_112,
            aliases=("ArcFace", "arcface_resnet34", "arcface-r34"),
            license="MIT (deepface)" + _NON_COMMERCIAL.format(data="MS-Celeb-1M (MS1M-ArcFace, withdrawn)"),
            source="Deng et al., ArcFace (CVPR 2019); ResNet-34 Keras weights from deepface (sha256/size unknown: "
            "not fetched)",
            color="RGB", embedding_dim=512, thresholds={"cosine": 0.68, "euclidean": 4.15, "euclidean_l2": 1.13},
            normalization="arcface",
        ),
        # DeepID and DeepFace: no documented training normalisation, so deepface's default input (BGR / 255)
        _recognizer(
            "deepid", "deepid:DeepID", "deepid_keras_weights.h5", (47, 55), 0.0, aliases=("DeepID", "deepid1"),
            license="MIT (deepface)" + _NON_COMMERCIAL.format(data="CelebFaces/YouTube Faces (research datasets)"),
            source="Sun et al., DeepID (CVPR 2014), Keras weights from deepface (sha256/size unknown: not fetched)",
            color="BGR", embedding_dim=160, thresholds={"cosine": 0.015, "euclidean": 45.0, "euclidean_l2": 0.17},
            normalization="unit",
        ),
        _recognizer(
            "fb_deepface", "fb_deepface:FbDeepFace", "VGGFace2_DeepFace_weights_val-0.9034.h5.zip", 152, 0.1,
            aliases=("DeepFace", "facebook_deepface", "FbDeepFace"), url=_SWGHOSH_URL,
            license="MIT (deepface, swghosh/DeepFace)" + _NON_COMMERCIAL.format(data="VGGFace2"),
            source="Taigman et al., DeepFace (CVPR 2014); F7 of swghosh/DeepFace's VGGFace2 weights, as deepface "
            "uses them (sha256/size unknown: not fetched)",
            color="BGR", embedding_dim=4096, thresholds={"cosine": 0.23, "euclidean": 64.0, "euclidean_l2": 0.64},
            normalization="unit", options={"layout_options": {"classes": 8631}},
        ),
        # GhostFaceNet: trained (HamadYA/GhostFaceNets, Keras_insightface pipeline) on RGB (x - 127.5) / 128;
        # deepface's thresholds were tuned on its own BGR / 255 input
        _recognizer(
            "ghostfacenet", "ghostfacenet:GhostFaceNet", "ghostfacenet_v1.pth", 112, 0.0, points=ARCFACE_112,
            aliases=("GhostFaceNet", "GhostFaceNetV1", "ghostfacenet_w1.3_s1"),
            license="MIT (deepface, HamadYA/GhostFaceNets)" + _NON_COMMERCIAL.format(data="MS1M (MS-Celeb-1M derived)"),
            source="Alansari et al., GhostFaceNets (IEEE Access 2023), W1.3 S1 ArcFace (LFW 99.77% published); "
            "deepface's PyTorch state dict of HamadYA's Keras release (sha256/size unknown: not fetched)",
            color="RGB", embedding_dim=512, thresholds={"cosine": 0.65, "euclidean": 35.71, "euclidean_l2": 1.10},
            normalization="arcface",
        ),
)  # fmt: skip
