"""An independent NumPy (NHWC, TensorFlow semantics) implementation of face-api's layers, for tests."""

from __future__ import annotations

import numpy as np

MEAN = np.array([122.782, 117.001, 104.298], np.float64)


def _pad_same(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    h, w = x.shape[1:3]
    pads = []
    for size in (h, w):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(N, OH, OW, k, k, C) patches of an already padded input."""
    h, w = x.shape[1:3]
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    idx_h = np.arange(oh)[:, None] * s + np.arange(k)[None, :]
    idx_w = np.arange(ow)[:, None] * s + np.arange(k)[None, :]
    return x[:, idx_h[:, None, :, None], idx_w[None, :, None, :], :]


def conv2d(x, f, b, s):
    k = f.shape[0]
    p = _windows(_pad_same(x, k, s), k, s)
    return np.einsum("nhwijc,ijco->nhwo", p, f) + b


def sep(x, dw, pw, b, s=1):
    p = _windows(_pad_same(x, 3, s), 3, s)
    y = np.einsum("nhwijc,ijc->nhwc", p, dw[..., 0])
    return np.einsum("nhwc,co->nhwo", y, pw[0, 0]) + b


def maxpool_same(x):
    return _windows(_pad_same(x, 3, 2, -np.inf), 3, 2).max(axis=(3, 4))


def relu(x):
    return np.maximum(x, 0)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _sep(w, x, name, s=1):
    return sep(x, w[f"{name}/depthwise_filter"], w[f"{name}/pointwise_filter"], w[f"{name}/bias"], s)


def age_gender(w: dict, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = {k: v.astype(np.float64) for k, v in w.items()}
    x = (rgb.astype(np.float64) - MEAN) / 256.0

    def reduction(x, pre, act=True):
        y = relu(x) if act else x
        y = _sep(w, y, f"{pre}/separable_conv0")
        y = maxpool_same(_sep(w, relu(y), f"{pre}/separable_conv1"))
        return y + conv2d(x, w[f"{pre}/expansion_conv/filters"], w[f"{pre}/expansion_conv/bias"], 2)

    x = relu(conv2d(x, w["entry_flow/conv_in/filters"], w["entry_flow/conv_in/bias"], 2))
    x = reduction(x, "entry_flow/reduction_block_0", act=False)
    x = reduction(x, "entry_flow/reduction_block_1")
    for i in range(2):
        y = x
        for j in range(3):
            y = _sep(w, relu(y), f"middle_flow/main_block_{i}/separable_conv{j}")
        x = x + y
    x = reduction(x, "exit_flow/reduction_block")
    x = relu(_sep(w, x, "exit_flow/separable_conv")).mean(axis=(1, 2))
    age = x @ w["fc/age/weights"] + w["fc/age/bias"]
    gender = softmax(x @ w["fc/gender/weights"] + w["fc/gender/bias"])
    return age, gender


def feature_head(w: dict, rgb: np.ndarray) -> np.ndarray:
    """FaceFeatureExtractor + fc: expression logits or landmark coordinates."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    x = (rgb.astype(np.float64) - MEAN) / 255.0
    for i in range(4):
        pre = f"dense{i}"
        if i == 0:
            o1 = relu(conv2d(x, w[f"{pre}/conv0/filters"], w[f"{pre}/conv0/bias"], 2))
        else:
            o1 = relu(_sep(w, x, f"{pre}/conv0", 2))
        o2 = _sep(w, o1, f"{pre}/conv1")
        o3 = _sep(w, relu(o1 + o2), f"{pre}/conv2")
        o4 = _sep(w, relu(o1 + o2 + o3), f"{pre}/conv3")
        x = relu(o1 + o2 + o3 + o4)
    x = x.mean(axis=(1, 2))
    return x @ w["fc/weights"] + w["fc/bias"]
