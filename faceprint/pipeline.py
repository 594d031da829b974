"""The pipeline object: detect → align → represent → verify, with models loaded once and reused."""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from faceprint.alignment import (
    align_face,
    crop_box,
    dlib5_to_five,
    eye_line,
)
from faceprint.analysis.analyze import Analyzer
from faceprint.augment import DEFAULT_TTA, check_tta, describe, embed_augmented
from faceprint.config import (
    DEFAULT_DETECTOR,
    DEFAULT_FACES,
    DEFAULT_RECOGNIZER,
    DEFAULT_RETRY_PAD,
    DEFAULT_STREAM_ERRORS,
    FACE_POLICIES,  # noqa: F401  (importable from here, as before)
    STREAM_ERRORS,
    PipelineConfig,
    check_faces,
)
from faceprint.detection import Detector, create_detector
from faceprint.detection.select import PICKS
from faceprint.detection.select import pick as pick_face
from faceprint.errors import ConfigError, FaceprintError, NoFaceError, SpoofError
from faceprint.image import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image
from faceprint.image_draft import load_reduced
from faceprint.landmarkers.five import FivePointStage
from faceprint.landmarkers.stage import FaceLandmarks, LandmarkStage
from faceprint.normalize import check_normalize, mask_crops
from faceprint.recognition import Recognizer, create_recognizer
from faceprint.thresholds import Thresholds
from faceprint.types import ExtractedFace, Face, FaceAnalysis, ImageResult, Representation, VerifyResult
from faceprint.verification import check_metric, check_threshold, distance_matrix

log = logging.getLogger("faceprint")

_END = object()


def _describe(item: object) -> str:
    return str(item) if isinstance(item, (str, os.PathLike)) and len(str(item)) < 300 else f"<{type(item).__name__}>"


class Pipeline:
    """Holds a detector and a recognizer; every method takes any image input (see :mod:`faceprint.image`).

    ``Pipeline(config)`` (or :meth:`from_config`) builds it from a :class:`~faceprint.config.PipelineConfig`;
    the keyword form below builds that config from its arguments. ``self.config`` is the config either way.

    Args:
        detector: registry name (e.g. "mtcnn", "dlib_hog", "dlib_mmod", "opencv_haar") or a Detector.
        recognizer: registry name (e.g. "dlib") or a Recognizer.
        align: "template" (5-point similarity onto the recognizer's template, default),
            "eye_line" (rotate the eyes level, crop the box) or "none" (crop the box).
        device: "cpu", "cuda" or "auto" for the detector, recognizer and analysis models; a model
            that cannot use the GPU asked for raises DeviceError instead of running on the CPU.
        tta: test-time augmentation: "flip" (default: each face and its mirror image, embeddings
            averaged; docs/accuracy.md) or "none"/None.
        num_jitters: also average this many randomly jittered copies of each face (dlib's
            ``num_jitters``; deterministic). Each view costs one more pass of the recognizer.
        reduced_decode: decode large JPEG files and bytes at 1/2, 1/4 or 1/8 size (libjpeg's own
            scaling) when the detector works on a smaller copy anyway; faces are aligned from that
            copy when each is at least the recognizer's crop size in it, else from the full image.
        refine_shape: run dlib's 5-point predictor again on the box dlib's HOG detector would draw
            around the last result (:func:`faceprint.alignment.canonical_box`), up to twice, until
            that box stays put (within 1% of its side), so every detector gives the same chip for the
            same face (docs/accuracy.md). The first pass runs on the detector's box moved to where
            HOG would have drawn it, when the registry knows how (``DetectorSpec.hog_box``). A shape that
            does not settle (a profile, a face filling the frame) is checked against the detector's own
            landmarks (:meth:`~faceprint.alignment.ShapePredictor5.refine`).
        retry_pad: when the detector finds no face, detect again on a copy padded by this fraction of
            the shorter side, edge pixels repeated (default 0.1): MTCNN misses a face that fills the frame,
            as pre-cropped faces do. 0 turns it off. Video frames are not retried.
        detector_options: extra options for the detector (min_face_size, max_side, ...).
        max_pixels: images with more pixels are refused (``ImageTooLargeError``), whatever their kind.
        analysis_models: task → model name for :meth:`analyze` and anti-spoofing ("age", "gender",
            "emotion", "race", "antispoof"); see :data:`faceprint.analysis.analyze.DEFAULT_MODELS`.
        normalize: None (default) or "mask": crop each aligned face to its outline from dense
            landmarks (``normalize_landmarks`` "68" or "468"), background filled black.
        landmark_options: for the 5-point landmark stage (dlib's shape predictor, run once per face
            when the detector gives no landmarks or the recognizer's template is dlib's): ``weights``
            {file name: path}. An override of its file in ``detector_options`` / ``recognizer_options``
            ``weights`` is honoured too.
    """

    def __init__(
        self,
        detector: str | Detector | PipelineConfig = DEFAULT_DETECTOR,
        recognizer: str | Recognizer = DEFAULT_RECOGNIZER,
        *,
        align: str = "template",
        tta: str | None = DEFAULT_TTA,
        num_jitters: int = 0,
        reduced_decode: bool = True,
        refine_shape: bool = True,
        retry_pad: float = DEFAULT_RETRY_PAD,
        device: str = "cpu",
        detector_options: dict[str, Any] | None = None,
        recognizer_options: dict[str, Any] | None = None,
        analysis_models: dict[str, Any] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        normalize: str | None = None,
        normalize_landmarks: str = "68",
        landmark_options: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(detector, PipelineConfig):
            if recognizer != DEFAULT_RECOGNIZER:
                raise ConfigError("Pipeline(config) takes the recognizer from the config; use config.replace(recognizer=...)")
            config = detector
        else:
            config = PipelineConfig(
                detector, recognizer, align=align, tta=check_tta(tta, num_jitters), num_jitters=num_jitters,
                device=device, max_pixels=max_pixels, normalize=normalize, normalize_landmarks=normalize_landmarks,
                reduced_decode=reduced_decode, refine_shape=refine_shape, retry_pad=retry_pad,
                detector_options=detector_options,
                recognizer_options=recognizer_options, landmark_options=landmark_options,
                analysis_models=analysis_models,
            )  # fmt: skip
        self.config = config
        self.normalize = check_normalize(config.normalize, config.align)
        self.normalize_landmarks = config.normalize_landmarks  # "68" or "468": the outline normalize="mask" uses
        det_options = config.detector_kwargs()
        self.detector = create_detector(config.detector, device=det_options.pop("device", config.device), **det_options)
        self.recognizer = create_recognizer(config.recognizer, device=config.device, **config.recognizer_kwargs())
        self.align = config.align
        self.max_pixels = config.max_pixels  # every input kind is refused above this many pixels, before decoding
        self.tta = config.tta
        self.num_jitters = config.num_jitters
        self.reduced_decode = config.reduced_decode
        self.refine_shape = config.refine_shape
        self.retry_pad = config.retry_pad
        self.analyzer = Analyzer(config.analysis_dict(), config.device)
        self.landmarker = LandmarkStage(config.device)  # dense landmarks, models made on first use
        self.five = _five_stage(self.detector, config.detector_kwargs(), config.recognizer_kwargs(),
                                config.landmark_kwargs())  # fmt: skip
        self._thresholds: Thresholds | None = None

    @classmethod
    def from_config(cls, config: PipelineConfig) -> Pipeline:
        """A pipeline for ``config`` (the same as ``Pipeline(config)``)."""
        return cls(config)

    @property
    def thresholds(self) -> Thresholds:
        """The decision policy of this pipeline's recognizer and augmentation: read once, and again only
        when the user's tuned file changes (``faceprint tune --write``)."""
        policy = self._thresholds
        if policy is None or policy.stale():
            policy = self._thresholds = Thresholds.load(self.recognizer.spec, self.tta)
        return policy

    def runs_on(self) -> dict[str, str]:
        """Where the detector and the recognizer actually run (loads both): provider or device per stage."""
        return {"detector": self.detector.runs_on, "recognizer": self.recognizer.runs_on}

    def __repr__(self) -> str:
        return (
            f"Pipeline(detector={self.detector.name!r}, recognizer={self.recognizer.name!r}, align={self.align!r}, "
            f"tta={describe(self.tta, self.num_jitters)!r})"
        )

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, d) embeddings of N aligned crops, with this pipeline's test-time augmentation."""
        return embed_augmented(self.recognizer.embed, crops, self.tta, self.num_jitters)

    def _recognizer_files(self) -> None:
        """Find the recognizer's weight files before any detection runs: a missing file (offline, say)
        fails at once instead of after every image was decoded and searched for faces."""
        if getattr(self.recognizer, "_model", True) is None and hasattr(self.recognizer, "load_files"):
            for wf in self.recognizer.load_files():
                self.recognizer.weight_path(wf)
            if self._box_only() or (self.align != "none" and self.recognizer.alignment.scheme == self.five.spec.scheme):
                self.five.files()

    def _box_only(self) -> bool:
        """Whether the detector gives no landmarks (the 5-point stage adds them)."""
        return not getattr(self.detector.spec, "landmarks", False)

    # -- detect ---------------------------------------------------------------------------------
    def detect(self, image: ImageInput, *, retry: bool = True) -> list[Face]:
        """All faces in the image, highest score first, each with its 5 landmarks (from the detector, or
        from the 5-point stage for detectors that give none). ``retry``: when none is found, look again on
        a padded copy (``retry_pad``; video frames, where an empty frame is common, pass False)."""
        return self._detect(load_image(image, max_pixels=self.max_pixels), retry=retry)

    def _detect(self, img: LoadedImage, *, pick: str | None = None, retry: bool = True) -> list[Face]:
        faces = self.detector.detect(img, pick=pick)
        if not faces and retry and self.retry_pad > 0:
            faces = self._detect_padded(img)
        if faces and self._box_only():
            faces = self.five.fill(img.pixels, faces)
        return faces

    def _detect_padded(self, img: LoadedImage) -> list[Face]:
        """Faces found on a copy of ``img`` padded by ``retry_pad`` of its shorter side (edge pixels
        repeated), in ``img``'s coordinates: boxes clipped to it, faces mostly in the margin left out.

        A large image is shrunk first so that the padded copy fits the detector's ``max_side`` (the
        detector would shrink it anyway, and one resize is cheaper than two), so its size stays bounded.
        All faces are returned: the caller's policy picks among them."""
        import cv2

        w, h = img.width, img.height
        limit = self.detector.max_side
        # the pad is a fraction of the shorter side: the padded long side is scale * (long + 2 * pad * short)
        scale = min(1.0, limit / (max(w, h) + 2 * self.retry_pad * min(w, h))) if limit else 1.0
        pixels = img.pixels
        if scale < 1.0:
            size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        pad = max(1, round(self.retry_pad * min(pixels.shape[:2])))
        if limit:  # rounding up must not push the copy past max_side, shrunk or not
            pad = min(pad, max(1, (limit - max(pixels.shape[:2])) // 2))
        padded = cv2.copyMakeBorder(pixels, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found = self.detector.detect(LoadedImage(padded, img.source))
        sx, sy = w / pixels.shape[1], h / pixels.shape[0]
        out = []
        for f in found:
            back = f.scaled((sx, sy), -pad * sx, -pad * sy)
            inside = _clip(back, w, h)
            if inside.area >= 0.5 * back.area:  # a face mostly in the margin is not this image's
                out.append(inside)
        if out:
            log.info("%s: no face found; %d found once padded by %d px", img.source, len(out), pad)
        return out

    def _faces(self, img: LoadedImage, policy: str, enforce_detection: bool) -> list[Face]:
        check_faces(policy)
        faces = self._detect(img, pick=policy if policy in PICKS else None)
        if not faces:
            if enforce_detection:
                raise NoFaceError(img.source, self.detector.name)
            log.info("%s: no face found; using the whole image", img.source)
            return [Face(box=(0.0, 0.0, float(img.width), float(img.height)), score=0.0, detector="none")]
        if policy in PICKS:
            return [pick_face(policy, faces, img.width, img.height)]
        if policy == "best":
            return [faces[0]]
        return faces

    def _decode_detect(
        self, image: ImageInput, rgb: bool, policy: str, enforce_detection: bool, timings: dict[str, float] | None = None
    ) -> tuple[LoadedImage, list[Face], float, tuple[int, int]]:
        """(image to align from, its faces, factor to full-size coordinates, full (width, height))."""
        times = timings if timings is not None else {}
        t = time.perf_counter()
        max_side = self.detector.max_side
        red = load_reduced(image, max_side, max_pixels=self.max_pixels) if self.reduced_decode and max_side and not rgb else None
        img = red.image if red is not None else load_image(image, rgb=rgb, max_pixels=self.max_pixels)
        times["decode"] = times.get("decode", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        found = self._faces(img, policy, enforce_detection)
        times["detect"] = times.get("detect", 0.0) + time.perf_counter() - t
        if red is None:
            return img, found, 1.0, (img.width, img.height)
        need = min(self.recognizer.alignment.size)
        if all(min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= need for f in found):
            return img, found, red.factor, red.full_size
        # a face too small in the reduced copy: align from the full image, on the same detections (the
        # 5-point shapes measured on the reduced copy are not reused: the alignment measures them anew)
        t = time.perf_counter()
        full = LoadedImage(load_image(red.data, max_pixels=self.max_pixels).pixels, img.source)
        times["decode"] += time.perf_counter() - t
        found = [replace(_clip(f.scaled(red.factor), full.width, full.height), dlib5=None) for f in found]
        return full, found, 1.0, red.full_size

    def _prepare(
        self, image: ImageInput, rgb: bool, policy: str, enforce_detection: bool, min_quality: float | None = None
    ) -> tuple[LoadedImage, list[Face], list[np.ndarray]]:
        """Decode, detect and align one image: (image, faces in full-size coordinates, crops).

        ``min_quality`` leaves out faces whose quality score (:mod:`faceprint.quality`) is lower."""
        img, found, factor, (w, h) = self._decode_detect(image, rgb, policy, enforce_detection)
        if min_quality is not None:
            from faceprint.quality import face_quality

            found = [f for f in found if face_quality(img.pixels, f).score >= min_quality]
        found, crops = self.align_faces(img, found)
        if factor != 1.0:
            found = [_clip(f.scaled(factor), w, h) for f in found]
        return img, found, crops

    def prepare_faces(
        self, image: ImageInput, *, rgb: bool = False, faces: str = DEFAULT_FACES, enforce_detection: bool = True,
        min_quality: float | None = None,
    ) -> tuple[LoadedImage, list[Face], list[np.ndarray]]:  # fmt: skip
        """Decode, detect and align one image as :meth:`represent` does, without embedding: (image the crops
        came from, faces in full-size coordinates, aligned crops). For callers that batch :meth:`embed`
        themselves (the service's micro-batcher, distributed indexing)."""
        return self._prepare(image, rgb, faces, enforce_detection, min_quality)

    # -- align ----------------------------------------------------------------------------------
    def _predictor(self) -> Any:
        """The loaded 5-point model (loads it; the service warms it up)."""
        return self.five.model._ensure_loaded()

    def align_faces(self, img: LoadedImage, faces: Sequence[Face]) -> tuple[list[Face], list[np.ndarray]]:
        """Aligned crops (BGR, the recognizer's input size); faces gain estimated landmarks if they had none."""
        template = self.recognizer.alignment
        if self.align == "none":
            return list(faces), [crop_box(img.pixels, f.box, template.size) for f in faces]
        need_shape = template.scheme == self.five.spec.scheme or any(f.landmarks is None for f in faces)
        shapes = self.five.shapes(img.pixels, faces, refine=self.refine_shape) if need_shape else [None] * len(faces)
        out_faces = [
            f if f.landmarks is not None else replace(f, landmarks=dlib5_to_five(s), landmarks_source="shape_predictor")
            for f, s in zip(faces, shapes)
        ]
        if self.align == "eye_line":
            return out_faces, [eye_line(img.pixels, f, template.size) for f in out_faces]
        points = shapes if template.scheme == "dlib5" else [f.landmarks for f in out_faces]
        crops = [align_face(img.pixels, p, template) for p in points]
        if self.normalize == "mask":  # stage 2.5: keep the face inside its dense-landmark outline
            dense = self.landmarker.run(img.pixels, out_faces, self.normalize_landmarks, pose=False)
            crops = mask_crops(crops, points, [d.points for d in dense], template)
        return out_faces, crops

    def extract_faces(
        self,
        image: ImageInput,
        *,
        faces: str = "all",
        enforce_detection: bool = True,
        rgb: bool = False,
        anti_spoofing: bool = False,
        landmarks: str | None = None,
    ) -> list[ExtractedFace]:
        """Detected faces with aligned crops. ``faces``: "all" (default), "main", "largest" or "best".

        ``anti_spoofing=True`` fills each face's ``is_real`` and ``antispoof_score`` (it raises nothing).
        ``landmarks="68"`` / ``"468"`` (or a landmark model's name) adds dense landmarks and head pose.
        Every face gets a ``quality`` score.
        """
        from faceprint.quality import face_quality

        img = load_image(image, rgb=rgb, max_pixels=self.max_pixels)
        found = self._faces(img, faces, enforce_detection)
        if anti_spoofing:
            found = self.analyzer.check_liveness([(img.pixels, f) for f in found])
        found, crops = self.align_faces(img, found)
        dense = self.landmarker.run(img.pixels, found, landmarks, img.source) if landmarks else [None] * len(found)
        return [ExtractedFace(f, c, img.source, d, face_quality(img.pixels, f, d.pose if d else None).score)
                for f, c, d in zip(found, crops, dense)]  # fmt: skip

    def landmarks(self, image: ImageInput, *, model: str = "68", faces: str = "all", enforce_detection: bool = True,
                  rgb: bool = False) -> list[FaceLandmarks]:  # fmt: skip
        """Dense landmarks (:class:`~faceprint.types.FaceLandmarks`, with head pose) of the detected faces."""
        img = load_image(image, rgb=rgb, max_pixels=self.max_pixels)
        return self.landmarker.run(img.pixels, self._faces(img, faces, enforce_detection), model, img.source)

    # -- represent ------------------------------------------------------------------------------
    def represent(
        self, image: ImageInput, *, faces: str = DEFAULT_FACES, enforce_detection: bool = True, rgb: bool = False,
        min_quality: float | None = None,
    ) -> list[Representation]:  # fmt: skip
        """Embeddings of the faces in one image (``faces``: "main", the default — the photo's
        subject, large and central (:mod:`faceprint.detection.select`) —, "largest", "best" or "all").

        ``min_quality``: leave out faces whose :func:`faceprint.quality.face_quality` score is lower
        (possibly all of them: the list is then empty)."""
        return self.represent_batch([image], faces=faces, enforce_detection=enforce_detection, rgb=rgb,
                                    min_quality=min_quality)[0]  # fmt: skip

    def represent_batch(
        self,
        images: Iterable[ImageInput],
        *,
        faces: str = DEFAULT_FACES,
        enforce_detection: bool = True,
        rgb: bool = False,
        min_quality: float | None = None,
    ) -> list[list[Representation]]:
        """Like :meth:`represent` for many images; all their faces go through the recognizer in batches."""
        self._recognizer_files()
        per_image: list[tuple[LoadedImage, list[Face]]] = []
        crops: list[np.ndarray] = []
        for image in images:
            img, found, c = self._prepare(image, rgb, faces, enforce_detection, min_quality)
            per_image.append((img, found))
            crops += c
        vectors = self.embed(crops)
        out: list[list[Representation]] = []
        i = 0
        for img, found in per_image:
            reps = [
                Representation(vectors[i + k], f, self.recognizer.name, self.detector.name, img.source)
                for k, f in enumerate(found)
            ]
            i += len(found)
            out.append(reps)
        return out

    def represent_stream(
        self,
        images: Iterable[ImageInput],
        *,
        batch_size: int = 32,
        workers: int = 2,
        faces: str = DEFAULT_FACES,
        enforce_detection: bool = True,
        errors: str = DEFAULT_STREAM_ERRORS,
        rgb: bool = False,
    ) -> Iterator[ImageResult]:
        """Embeddings of a stream of images (e.g. :func:`faceprint.image.iter_images`), in input order.

        ``workers`` threads decode, detect and align the next images while the recognizer embeds
        the current batch of ``batch_size`` faces; at most ``2 * workers`` images are read ahead, so
        memory stays bounded however long the stream. ``errors="skip"`` reports a bad image (unreadable,
        no face) as an :class:`ImageResult` with ``error`` set (the default, as in the one-call API);
        ``errors="raise"`` stops the stream at the first bad image.
        """
        if errors not in STREAM_ERRORS:
            raise ConfigError(f"errors must be 'raise' or 'skip', got {errors!r}")
        if batch_size < 1 or workers < 1:
            raise ConfigError(f"batch_size and workers must be >= 1, got {batch_size} and {workers}")
        check_faces(faces)
        self._recognizer_files()

        def prepare(item: ImageInput) -> tuple[str, list[Face], list[np.ndarray]]:
            img, found, crops = self._prepare(item, rgb, faces, enforce_detection)
            return img.source, found, crops

        source_iter = iter(images)
        held: list[tuple[str, list[Face], list[np.ndarray], str | None]] = []
        with ThreadPoolExecutor(workers, thread_name_prefix="faceprint") as pool:
            ahead: deque[tuple[ImageInput, Future]] = deque()

            def refill() -> None:
                while len(ahead) < 2 * workers:
                    item = next(source_iter, _END)
                    if item is _END:
                        return
                    ahead.append((item, pool.submit(prepare, item)))

            refill()
            while ahead:
                item, fut = ahead.popleft()
                refill()
                try:
                    held.append((*fut.result(), None))
                except FaceprintError as exc:
                    if errors == "raise":
                        raise
                    held.append((getattr(exc, "source", None) or _describe(item), [], [], f"{type(exc).__name__}: {exc}"))
                if sum(len(h[2]) for h in held) >= batch_size:
                    yield from self._embed_held(held)
                    held = []
            yield from self._embed_held(held)

    def _embed_held(self, held: list[tuple[str, list[Face], list[np.ndarray], str | None]]) -> Iterator[ImageResult]:
        vectors = self.embed([c for h in held for c in h[2]])
        i = 0
        for source, found, _, error in held:
            reps = [Representation(vectors[i + k], f, self.recognizer.name, self.detector.name, source) for k, f in enumerate(found)]
            i += len(found)
            yield ImageResult(source, reps, error)

    # -- verify ---------------------------------------------------------------------------------
    def verify(
        self,
        img1: ImageInput,
        img2: ImageInput,
        *,
        metric: str | None = None,
        threshold: float | None = None,
        faces: str = DEFAULT_FACES,
        enforce_detection: bool = True,
        rgb: bool = False,
        anti_spoofing: bool = False,
    ) -> VerifyResult:
        """Same person or not. With ``faces="all"`` the closest pair of faces across the two images decides.

        ``metric`` defaults to the model's own (dlib: euclidean); ``threshold`` to the model's for that
        metric and this pipeline's ``tta`` (dlib: 0.6, or 0.588 with the default flip).
        ``anti_spoofing=True`` checks the faces for liveness and raises :class:`SpoofError` when a
        deciding face is judged a presentation attack.
        """
        spec = self.recognizer.spec
        metric = check_metric(metric or spec.default_metric)
        policy = self.thresholds
        thr = policy.threshold(metric) if threshold is None else check_threshold(threshold)
        self._recognizer_files()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        loaded = [self._decode_detect(im, rgb, faces, enforce_detection, timings) for im in (img1, img2)]
        imgs = [x[0] for x in loaded]
        found = [x[1] for x in loaded]
        if anti_spoofing:
            t = time.perf_counter()
            live = self.analyzer.check_liveness([(im.pixels, f) for im, fs in zip(imgs, found) for f in fs])
            found = [live[: len(found[0])], live[len(found[0]) :]]
            timings["antispoof"] = time.perf_counter() - t
        t = time.perf_counter()
        aligned = [self.align_faces(im, fs) for im, fs in zip(imgs, found)]
        aligned = [
            (fs if factor == 1.0 else [_clip(f.scaled(factor), *size) for f in fs], crops)
            for (fs, crops), (_, _, factor, size) in zip(aligned, loaded)
        ]
        timings["align"] = time.perf_counter() - t
        t = time.perf_counter()
        vecs = self.embed(aligned[0][1] + aligned[1][1])
        timings["embed"] = time.perf_counter() - t
        n1 = len(aligned[0][1])
        d = distance_matrix(vecs[:n1], vecs[n1:], metric)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        dist = float(d[i, j])
        for im, face in ((imgs[0], aligned[0][0][i]), (imgs[1], aligned[1][0][j])):
            if face.is_real is False:
                raise SpoofError(im.source, float(face.antispoof_score or 0.0), self.analyzer.spoof_threshold())
        timings["total"] = time.perf_counter() - t0
        return VerifyResult(
            verified=dist <= thr,
            distance=dist,
            threshold=thr,
            metric=metric,
            model=spec.name,
            detector=self.detector.name,
            faces=(aligned[0][0][i], aligned[1][0][j]),
            timings=timings,
            probability=policy.probability(metric, dist),
        )

    # -- analyze --------------------------------------------------------------------------------
    def analyze(
        self,
        image: ImageInput,
        *,
        actions: str | Sequence[str] | None = None,
        anti_spoofing: bool = False,
        faces: str = "all",
        enforce_detection: bool = True,
        skip_detection: bool = False,
        rgb: bool = False,
    ) -> list[FaceAnalysis]:
        """Age, gender, emotion (and race, when asked) of the faces in one image; see :meth:`analyze_batch`."""
        return self.analyze_batch(
            [image], actions=actions, anti_spoofing=anti_spoofing, faces=faces,
            enforce_detection=enforce_detection, skip_detection=skip_detection, rgb=rgb,
        )[0]  # fmt: skip

    def analyze_batch(
        self,
        images: Iterable[ImageInput],
        *,
        actions: str | Sequence[str] | None = None,
        anti_spoofing: bool = False,
        faces: str = "all",
        enforce_detection: bool = True,
        skip_detection: bool = False,
        rgb: bool = False,
    ) -> list[list[FaceAnalysis]]:
        """Per image, one :class:`FaceAnalysis` per face; each model runs once over all faces of all images.

        ``actions``: any of "age", "gender", "emotion", "race" (default: the first three; race's
        model has no offline copy). ``skip_detection=True`` treats each image as one face crop.
        """
        items: list[tuple[np.ndarray, Face, str]] = []
        counts: list[int] = []
        for image in images:
            img = load_image(image, rgb=rgb, max_pixels=self.max_pixels)
            if skip_detection:
                found = [Face(box=(0.0, 0.0, float(img.width), float(img.height)), score=0.0, detector="none")]
            else:
                found = self._faces(img, faces, enforce_detection)
            items += [(img.pixels, f, img.source) for f in found]
            counts.append(len(found))
        results = self.analyzer.analyze(items, actions, anti_spoofing)
        out, i = [], 0
        for n in counts:
            out.append(results[i : i + n])
            i += n
        return out


def _five_stage(detector: Detector, *option_dicts: dict[str, Any] | None) -> FivePointStage:
    """The 5-point stage for this detector: its spec's ``landmarker`` (dlib's predictor by default).

    The ``weights`` overrides of its files given in any of the option dicts are honoured (the last
    dict, ``landmark_options``, wins)."""
    *others, own = option_dicts
    own = dict(own or {})
    unknown = set(own) - {"weights"}
    if unknown:
        raise ConfigError(f"landmark_options takes 'weights' only, got {sorted(unknown)}")
    stage = FivePointStage(getattr(detector.spec, "landmarker", None) or "dlib5", start=detector.predictor_box)
    names = {wf.name for wf in stage.spec.files}
    for opts in (*others, own):
        stage.weights.update({k: v for k, v in ((opts or {}).get("weights") or {}).items() if k in names})
    return stage


def _clip(face: Face, w: int, h: int) -> Face:
    x1, y1, x2, y2 = face.box
    return replace(face, box=(max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)))


DEFAULT_MODEL = DEFAULT_RECOGNIZER


# the one-call API, galleries and the service share these: a Pipeline per config, models loaded once
def get_pipeline(
    detector: str | PipelineConfig = DEFAULT_DETECTOR,
    model: str = DEFAULT_MODEL,
    align: str = "template",
    device: str = "cpu",
    tta: str | None = DEFAULT_TTA,
    num_jitters: int = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Pipeline:
    """The shared Pipeline for a :class:`PipelineConfig` (or for these options, made into one).

    Models load on first use, then stay loaded. Configs are normalised (``tta=None`` is "none"), so
    callers that spell the same settings differently share one Pipeline and its models. A config
    whose options cannot be hashed gets a Pipeline of its own."""
    if isinstance(detector, PipelineConfig):
        config = detector
    else:
        config = PipelineConfig(detector, model, align=align, device=device, tta=tta, num_jitters=num_jitters,
                                max_pixels=max_pixels)  # fmt: skip
    try:
        hash(config)
    except TypeError:
        return Pipeline(config)
    return _cached_pipeline(config)


@lru_cache(maxsize=8)
def _cached_pipeline(config: PipelineConfig) -> Pipeline:
    return Pipeline(config)
