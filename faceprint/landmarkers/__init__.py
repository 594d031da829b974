"""Dense facial landmarks (68-point iBUG layout, MediaPipe FaceMesh 468) behind :class:`LandmarkModel`.

One module per model; registry task ``"landmarks"``. :func:`create_landmarker` turns a registry name
(or "68" / "468") into a model. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

#: short names users type → registry names
SHORT_NAMES = {"68": "faceapi_68", "468": "facemesh"}


def create_landmarker(name: str = "68", **kwargs: Any) -> Any:
    """A :class:`~faceprint.landmarkers.base.LandmarkModel` for a registry name, alias, "68" or "468"."""
    from faceprint.models.registry import get

    spec = get(SHORT_NAMES.get(str(name), str(name)), "landmarks")
    return spec.load_class()(spec, **kwargs)
