"""Recognizers published as ONNX files (SFace, insightface's ArcFace R50 / MobileFaceNet), run on ONNX Runtime.

The registry gives the file, the input size, colour order and ``normalization``; the
session's own input and output shapes are checked against it when the file is loaded, so a wrong
or swapped file is refused with its path rather than producing wrong embeddings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.errors import WeightsFormatError
from faceprint.models.runtime import onnx_session
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer
from faceprint.recognition.preprocess import check_normalization, normalize


def _fixed(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


class OnnxRecognizer(Recognizer):
    """An ONNX embedding network taking (N, 3, H, W) float input.

    Args:
        device: "cpu", "cuda" (onnxruntime-gpu) or "auto"; "cuda" without a usable GPU raises DeviceError.
        batch_size: faces per forward pass; files exported with a fixed batch of 1 run one face at a time.
    """

    def __init__(self, spec: ModelSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.normalization = check_normalization(spec.normalization or "none")

    shareable = True  # an InferenceSession runs from many threads

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        sess = onnx_session(path, self.device)
        inp, out = sess.get_inputs()[0], sess.get_outputs()[0]
        w, h = self.spec.input_size or self.alignment.size
        shape = list(inp.shape)
        if len(shape) != 4 or _fixed(shape[1]) not in (3, None) or [_fixed(d) for d in shape[2:]] not in ([h, w], [None, None]):
            raise WeightsFormatError(
                f"{path}: input {inp.name!r} has shape {shape}; {self.name} expects (N, 3, {h}, {w}). "
                "Is this the right file for this model?"
            )
        dim = _fixed(out.shape[-1]) if out.shape else None
        if dim is not None and dim != self.dim:
            raise WeightsFormatError(f"{path}: output {out.name!r} has {dim} values; {self.name} gives {self.dim}-d embeddings")
        fixed_batch = _fixed(shape[0])
        return sess, inp.name, out.name, fixed_batch

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        sess, inp, out, fixed_batch = self._model
        x = np.ascontiguousarray(normalize(batch, self.normalization, self.spec.color).transpose(0, 3, 1, 2))
        if fixed_batch == 1 and len(x) > 1:
            y = np.concatenate([sess.run([out], {inp: x[i : i + 1]})[0] for i in range(len(x))])
        else:
            y = sess.run([out], {inp: x})[0]
        y = y.reshape(len(x), -1).astype(np.float32, copy=False)
        if self.spec.l2_normalize:
            y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
        return y

