"""Videos made at test time from the shared photos (never stored), with the ground truth of who is where when.

Also used by benchmarks/stream.py. Every function writes into a folder the caller gives (tmp_path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import FACES, IDENTITIES

#: people in the videos (one photo each) and other photos of them for the gallery
CAST = {
    "p03": ("img8.jpg", ["img9.jpg", "img47.jpg"]),
    "p10": ("img26.jpg", ["img27.jpg", "img42.jpg"]),
    "p04": ("img13.jpg", ["img14.jpg", "img57.jpg"]),
    "p02": ("img53.jpg", ["img55.jpg", "img3.jpg"]),
}
#: gallery people who never appear in a video (distractors)
OTHERS = {"p13": ["img38.jpg", "img39.jpg"], "p09": ["img24.jpg", "img25.jpg"]}


@dataclass
class Truth:
    """Per frame, the rectangles (x1, y1, x2, y2) where each person's photo is visible, by identity."""

    frames: list[dict[str, tuple[int, int, int, int]]] = field(default_factory=list)

    def who(self, frame: int, box: tuple[float, float, float, float]) -> str | None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for ident, (x1, y1, x2, y2) in self.frames[frame].items():
            if x1 <= cx <= x2 and y1 <= cy <= y2:
                return ident
        return None


def gallery_folder(root: Path) -> Path:
    """photos/<identity>/ with symlinks to *other* photos of the cast, plus distractors."""
    for ident, (_, others) in CAST.items():
        (root / ident).mkdir(parents=True, exist_ok=True)
        for name in others:
            (root / ident / name).symlink_to(IDENTITIES / name)
    for ident, names in OTHERS.items():
        (root / ident).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / ident / name).symlink_to(IDENTITIES / name)
    return root


@cache
def _face_square(name: str) -> tuple[int, int, int]:
    """(x, y, side) of a square around the largest face of a shared photo, found once per run."""
    from faceprint.detection import create_detector

    img = cv2.imread(str(IDENTITIES / name))
    face = max(create_detector("mtcnn").detect(img), key=lambda f: f.area)
    x1, y1, x2, y2 = face.box
    side = round(max(x2 - x1, y2 - y1) * 1.9)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = min(side, img.shape[0], img.shape[1])
    x = int(np.clip(cx - side / 2, 0, img.shape[1] - side))
    y = int(np.clip(cy - side / 2, 0, img.shape[0] - side))
    return x, y, side


def _tile(ident: str, side: int) -> np.ndarray:
    """The cast member's video photo, cropped square around the face (face about half the tile)."""
    name = CAST[ident][0]
    x, y, s = _face_square(name)
    img = cv2.imread(str(IDENTITIES / name))[y : y + s, x : x + s]
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def _background(w: int, h: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[:h, :w]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def slide_video(path: Path, n: int = 50, size: tuple[int, int] = (640, 480), tile: int = 200,
                hide: tuple[int, int] = (22, 28)) -> tuple[Path, Truth]:  # fmt: skip
    """Two people sliding across in opposite directions; a bar hides both for the frames in ``hide``."""
    w, h = size
    bg = _background(w, h)
    a, b = _tile("p03", tile), _tile("p10", tile)
    truth, frames = Truth(), []
    for i in range(n):
        f = bg.copy()
        xa = round(10 + (w - tile - 20) * i / (n - 1))
        xb = round(w - tile - 10 - (w - tile - 20) * i / (n - 1))
        f[10 : 10 + tile, xa : xa + tile] = a
        f[h - tile - 10 : h - 10, xb : xb + tile] = b
        seen = {"p03": (xa, 10, xa + tile, 10 + tile), "p10": (xb, h - tile - 10, xb + tile, h - 10)}
        if hide[0] <= i < hide[1]:  # an occluder covering both faces entirely
            f[:, w // 2 - tile // 2 - 20 : w // 2 + tile // 2 + 20] = (40, 40, 40)
            seen = {}
        frames.append(f)
        truth.frames.append(seen)
    return write_video(path, frames), truth


def cuts_video(path: Path, per_shot: int = 12, size: tuple[int, int] = (480, 360)) -> tuple[Path, Truth, list[str]]:
    """Hard cuts between close-ups of three people (slow zoom within each shot)."""
    w, h = size
    order = ["p04", "p02", "p03"]
    truth, frames = Truth(), []
    for s, ident in enumerate(order):
        bg = _background(w, h, seed=s + 1)
        for i in range(per_shot):
            side = round(260 + 40 * i / per_shot)
            t = _tile(ident, side)
            x, y = (w - side) // 2, (h - side) // 2
            f = bg.copy()
            f[y : y + side, x : x + side] = t
            frames.append(f)
            truth.frames.append({ident: (x, y, x + side, y + side)})
    return write_video(path, frames), truth, order


def group_photo() -> np.ndarray:
    return cv2.imread(str(FACES / "group" / "sample5.jpg"))


def panzoom_video(path: Path, n: int = 40, size: tuple[int, int] = (640, 360)) -> Path:
    """A camera panning and zooming slowly over a group photo (every face stays in view)."""
    img = group_photo()
    ih, iw = img.shape[:2]
    w, h = size
    frames = []
    for i in range(n):
        t = i / (n - 1)
        zoom = 1.0 - 0.12 * t  # fraction of the photo's width in view
        cw = iw * zoom
        ch = cw * h / w
        if ch > ih:
            ch, cw = ih, ih * w / h
        x0 = (iw - cw) * (0.5 + 0.3 * (t - 0.5))
        y0 = (ih - ch) / 2
        m = np.array([[w / cw, 0, -x0 * w / cw], [0, h / ch, -y0 * h / ch]], np.float32)
        frames.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_AREA))
    return write_video(path, frames)


def faces_video(path: Path, n_faces: int, size: tuple[int, int], n: int = 100, seed: int = 0) -> Path:
    """``n_faces`` photo tiles drifting slowly over a background (for the benchmark)."""
    w, h = size
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n_faces * w / h)))
    rows = int(np.ceil(n_faces / cols))
    tile = int(min(w / cols, h / rows) * 0.8)
    people = list(CAST)
    tiles = [_tile(people[k % len(people)], tile) for k in range(n_faces)]
    bg = _background(w, h, seed)
    slots = [(c, r) for r in range(rows) for c in range(cols)][:n_faces]
    phase = rng.uniform(0, 2 * np.pi, n_faces)
    frames = []
    for i in range(n):
        f = bg.copy()
        for k, (c, r) in enumerate(slots):
            cx = (c + 0.5) * w / cols + 0.08 * tile * np.sin(i / 15 + phase[k])
            cy = (r + 0.5) * h / rows + 0.08 * tile * np.cos(i / 15 + phase[k])
            x = int(np.clip(cx - tile / 2, 0, w - tile))
            y = int(np.clip(cy - tile / 2, 0, h - tile))
            f[y : y + tile, x : x + tile] = tiles[k]
        frames.append(f)
    return write_video(path, frames)
