"""The embedding contract: what made a gallery's vectors, so that incompatible queries are refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from faceprint.augment import DEFAULT_TTA, check_tta, describe
from faceprint.config import PipelineConfig
from faceprint.errors import ContractError
from faceprint.models.registry import find
from faceprint.models.specs import ModelSpec
from faceprint.verification import check_metric

#: Bump when faceprint changes how crops or vectors are prepared for a gallery.
PREPROCESSING_VERSION = "1"


@dataclass(frozen=True, slots=True)
class EmbeddingContract:
    """Everything that decides whether two embeddings are comparable.

    ``id`` hashes the fields that change the numbers (weights, alignment, colour, dim, metric,
    test-time augmentation); ``detector`` is recorded but not hashed: another detector moves
    boxes slightly, not the space. ``tta`` is "none" for galleries made before it was recorded
    (no augmentation then), and is left out of the hash when "none", so their ids stay valid.
    """

    model: str
    version: str
    weights: str  # sha256 of the model's first weight file, or "" when the registry has none
    dim: int
    alignment: str  # align mode + the recognizer's template, e.g. "template:dlib5:150x150"
    color: str
    metric: str
    preprocessing: str = PREPROCESSING_VERSION
    detector: str = ""
    tta: str = "none"  # e.g. "flip", "flip+jitter10" (faceprint.augment.describe)

    @property
    def id(self) -> str:
        fields = asdict(self)
        fields.pop("detector")
        fields.pop("model")  # the weights digest names the network; aliases (dlib / dlib_torch) agree
        if fields["tta"] == "none":
            fields.pop("tta")
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "id": self.id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbeddingContract:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def for_model(
        cls,
        model: str = "dlib",
        *,
        detector: str = "mtcnn",
        align: str = "template",
        metric: str | None = None,
        tta: str | None = DEFAULT_TTA,
        num_jitters: int = 0,
    ) -> EmbeddingContract:
        """The contract of a registry recognizer (reads the registry only; loads no model)."""
        return cls.for_spec(find(model), detector=detector, align=align, metric=metric, tta=tta,
                            num_jitters=num_jitters)  # fmt: skip

    @classmethod
    def for_config(cls, config: PipelineConfig, *, metric: str | None = None) -> EmbeddingContract:
        """The contract of a :class:`~faceprint.config.PipelineConfig` (its recognizer a registry name or
        an already made model object, whose ``spec`` is used; loads no model)."""
        spec = find(config.recognizer) if isinstance(config.recognizer, str) else config.recognizer.spec
        return cls.for_spec(spec, detector=config.detector_name, align=config.align, metric=metric, tta=config.tta,
                            num_jitters=config.num_jitters)  # fmt: skip

    @classmethod
    def for_spec(
        cls, spec: ModelSpec, *, detector: str = "mtcnn", align: str = "template", metric: str | None = None,
        tta: str | None = DEFAULT_TTA, num_jitters: int = 0,
    ) -> EmbeddingContract:  # fmt: skip
        """The contract of a recognizer's registry spec."""
        model = spec.name
        if spec.task != "recognizer" or not spec.embedding_dim:
            raise ContractError(f"{model!r} is not a recognizer with a known embedding size")
        metric = check_metric(metric or spec.default_metric)
        digest = next((f.sha256 for f in spec.files if f.sha256), "") or ""
        scheme = f"{spec.alignment.scheme}:{spec.alignment.size[0]}x{spec.alignment.size[1]}" if spec.alignment else ""
        return cls(
            model=spec.name, version=spec.version, weights=digest, dim=int(spec.embedding_dim),
            alignment=f"{align}:{scheme}", color=spec.color, metric=metric, detector=detector,
            tta=describe(check_tta(tta, num_jitters), num_jitters),
        )  # fmt: skip

    def check(self, other: EmbeddingContract, what: str = "the query") -> None:
        """Raise :class:`ContractError` unless ``other`` makes embeddings comparable with this one."""
        if other.id == self.id:
            return
        diffs = [
            f"{name}: gallery {getattr(self, name)!r}, {what} {getattr(other, name)!r}"
            for name in ("model", "version", "weights", "dim", "alignment", "color", "metric", "preprocessing", "tta")
            if getattr(self, name) != getattr(other, name)
        ]
        raise ContractError(
            f"{what} does not match the gallery's embedding contract ({'; '.join(diffs)}). "
            f"Use the gallery's settings (model={self.model!r}, metric={self.metric!r}), "
            "or index into a separate gallery for the new settings."
        )

