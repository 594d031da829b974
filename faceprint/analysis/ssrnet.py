"""SSR-Net (Yang et al., IJCAI 2018): age regression / gender score from a 64x64 BGR face, on PyTorch.

The published files hold weights only, so the architecture is written here: two streams (ReLU +
average pooling, tanh + max pooling), three stages of 3 bins each, fused by soft stagewise
regression with per-stage shift (local delta) and scale (delta) terms. Age files output
years (V = 101); the gender file outputs a score in [0, 1], 1 = man (V = 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.analysis.base import AttributeModel, Box, margin_crop, torch_device, torch_module
from faceprint.errors import ConfigError
from faceprint.formats.keras_h5 import read_weights

STAGES = (3, 3, 3)


def _net(torch: Any) -> Any:
    nn, F = torch.nn, torch.nn.functional

    def conv_block(cin: int, cout: int) -> Any:
        # Keras BatchNormalization default epsilon
        return nn.ModuleDict({"conv": nn.Conv2d(cin, cout, 3), "bn": nn.BatchNorm2d(cout, eps=1e-3)})

    def head(cin: int) -> Any:
        return nn.Conv2d(cin, 10, 1)

    class SSRNet(nn.Module):
        def __init__(self, value_range: float) -> None:
            super().__init__()
            self.v = value_range
            self.x = nn.ModuleList([conv_block(3, 32)] + [conv_block(32, 32) for _ in range(3)])
            self.s = nn.ModuleList([conv_block(3, 16)] + [conv_block(16, 16) for _ in range(3)])
            # stage k: 1x1 convs on both streams, two mixing Dense layers, the delta (scale) Dense,
            # then Dense(2*bins) → bin probabilities and local shifts
            self.s_head = nn.ModuleList(head(16) for _ in range(3))
            self.x_head = nn.ModuleList(head(32) for _ in range(3))
            dims = (160, 90, 90)
            self.s_mix = nn.ModuleList(nn.Linear(d, b) for d, b in zip(dims, STAGES))
            self.x_mix = nn.ModuleList(nn.Linear(d, b) for d, b in zip(dims, STAGES))
            self.delta = nn.ModuleList(nn.Linear(d, 1) for d in dims)
            self.feat = nn.ModuleList(nn.Linear(b, 2 * b) for b in STAGES)
            self.pred = nn.ModuleList(nn.Linear(2 * b, b) for b in STAGES)
            self.local = nn.ModuleList(nn.Linear(2 * b, b) for b in STAGES)

        @staticmethod
        def _flat(t: Any) -> Any:
            return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)  # Keras flattens NHWC

        def forward(self, img: Any) -> Any:
            xs, ss = [], []
            x = s = img
            for i, (bx, bs) in enumerate(zip(self.x, self.s)):
                x = F.relu(bx["bn"](bx["conv"](x)))
                s = torch.tanh(bs["bn"](bs["conv"](s)))
                if i < 3:
                    x, s = F.avg_pool2d(x, 2), F.max_pool2d(s, 2)
                xs.append(x)
                ss.append(s)
            # stage 1 reads the deepest maps; stages 2 and 3 read pooled maps of layers 2 and 1
            taps = ((ss[3], xs[3], 1), (ss[1], xs[1], 4), (ss[0], xs[0], 8))
            out = img.new_zeros(img.shape[0])
            denom = img.new_ones(img.shape[0])
            for k, (sm, xm, pool) in enumerate(taps):
                sf, xf = F.relu(self.s_head[k](sm)), F.relu(self.x_head[k](xm))
                if pool > 1:
                    sf, xf = F.max_pool2d(sf, pool), F.avg_pool2d(xf, pool)
                sf, xf = self._flat(sf), self._flat(xf)
                delta = torch.tanh(self.delta[k](sf * xf))[:, 0]
                feat = F.relu(self.feat[k](F.relu(self.s_mix[k](sf)) * F.relu(self.x_mix[k](xf))))
                p = F.relu(self.pred[k](feat))
                local = torch.tanh(self.local[k](feat))
                bins = torch.arange(STAGES[k], dtype=img.dtype, device=img.device)
                denom = denom * STAGES[k] * (1 + delta)
                out = out + ((bins + local) * p).sum(dim=1) / denom
            return out * self.v

    return SSRNet


# Keras layer names in the weight files, in the order the reference implementation creates them.
def _keras_names() -> dict[str, str]:
    names = {f"x.{i}.conv": f"conv2d_{i + 1}" for i in range(4)}
    names.update({f"x.{i}.bn": f"batch_normalization_{i + 1}" for i in range(4)})
    names.update({f"s.{i}.conv": f"conv2d_{i + 5}" for i in range(4)})
    names.update({f"s.{i}.bn": f"batch_normalization_{i + 5}" for i in range(4)})
    for k in range(3):
        names[f"s_head.{k}"] = f"conv2d_{9 + 2 * k}"
        names[f"x_head.{k}"] = f"conv2d_{10 + 2 * k}"
        names[f"s_mix.{k}"] = f"dense_{1 + 3 * k}"
        names[f"x_mix.{k}"] = f"dense_{2 + 3 * k}"
        names[f"feat.{k}"] = f"dense_{3 + 3 * k}"
        names[f"delta.{k}"] = f"delta_s{k + 1}"
    return names


def load_ssrnet(path: str, value_range: float, device: Any) -> Any:
    """An SSR-Net module with the weights of a Keras ``.h5`` file from shamangary/SSR-Net."""
    torch = torch_module()
    net = _net(torch)(value_range)
    w = read_weights(path)
    pred = "pred_age_stage" if "pred_age_stage1" in w else "pred_stage"
    names = _keras_names()
    for k in range(3):
        names[f"pred.{k}"] = f"{pred}{k + 1}"
        names[f"local.{k}"] = f"local_delta_stage{k + 1}"
    state = {}
    for prefix, layer in names.items():
        if layer not in w:
            raise ConfigError(f"{path}: no layer {layer!r}; is this an SSR-Net 3_3_3_64 weights file?")
        arrays = w[layer]
        if "moving_mean" in arrays:
            state.update({f"{prefix}.weight": arrays["gamma"], f"{prefix}.bias": arrays["beta"],
                          f"{prefix}.running_mean": arrays["moving_mean"],
                          f"{prefix}.running_var": arrays["moving_variance"]})  # fmt: skip
        elif arrays["kernel"].ndim == 4:
            state.update({f"{prefix}.weight": arrays["kernel"].transpose(3, 2, 0, 1), f"{prefix}.bias": arrays["bias"]})
        else:
            state.update({f"{prefix}.weight": arrays["kernel"].T, f"{prefix}.bias": arrays["bias"]})
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}
    # not strict: BatchNorm's num_batches_tracked has no Keras counterpart; anything else missing is an error
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ConfigError(f"{path}: weights do not fit SSR-Net (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return net.eval().to(device)


class SSRNet(AttributeModel):
    """Age (years) or gender (P(man)) by SSR-Net; output shape (N, 1)."""

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        """64x64 BGR 0-255 crop of the box grown by ``margin`` (0.4, as the authors' MTCNN demo does).

        Black padding where the margin leaves the image keeps the face at its trained scale (measured
        on UTKFace: age MAE 14.4 padded vs 19.7 clipped).
        """
        size, opts = self.spec.input_size or (64, 64), self.spec.options
        crop = margin_crop(image, box, float(opts.get("margin", 0.4)), size, bool(opts.get("pad", True)))
        return crop.astype(np.float32)

    def _load(self) -> Any:
        dev = torch_device(self.device)
        net = load_ssrnet(self.weight_path(self.spec.files[0]), float(self.spec.options.get("value_range", 101)), dev)
        return net, dev

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        net, dev = self._model
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))).to(dev)
            return net(x).float().cpu().numpy()[:, None]
