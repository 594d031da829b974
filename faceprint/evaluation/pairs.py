"""Labelled pair lists: LFW ``pairs.txt`` and CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from faceprint.errors import ConfigError

_TRUE = {"1", "yes", "true", "same", "y", "t", "match", "genuine"}
_FALSE = {"0", "no", "false", "different", "diff", "n", "f", "mismatch", "impostor"}
_COL_A = ("img1", "file_x", "image1", "a", "left")
_COL_B = ("img2", "file_y", "image2", "b", "right")
_COL_Y = ("label", "decision", "same", "match", "is_same")


@dataclass(frozen=True, slots=True)
class Pair:
    img1: Path
    img2: Path
    same: bool
    fold: int


def read_pairs(path: str | Path, root: str | Path | None = None, *, folds: int = 10, ext: str = ".jpg") -> list[Pair]:
    """Pairs from an LFW ``pairs.txt`` or a CSV (``img1,img2,label[,fold]``; deepface's ``file_x,file_y,Decision`` too).

    Image paths are relative to ``root`` (default: the pair file's folder). CSV pairs without a
    fold column are dealt into ``folds`` folds round-robin, keeping file order.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: pair list not found")
    base = Path(root) if root is not None else path.parent
    if not base.is_dir():
        raise ConfigError(f"{base}: image root is not a directory")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv" or "," in text.splitlines()[0]:
        pairs = _read_csv(path, text, base, folds)
    else:
        pairs = _read_lfw(path, text, base, ext)
    if not pairs:
        raise ConfigError(f"{path}: no pairs found")
    return pairs


def _read_lfw(path: Path, text: str, base: Path, ext: str) -> list[Pair]:
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    head = lines[0]
    if len(head) == 2 and all(t.isdigit() for t in head):
        n_folds, per = int(head[0]), int(head[1])
        body = lines[1:]
    elif len(head) == 1 and head[0].isdigit():  # View-1 files: a single count
        n_folds, per = 1, int(head[0])
        body = lines[1:]
    else:
        raise ConfigError(f"{path}: first line should be '<folds> <pairs per class>' (LFW pairs.txt format)")
    if len(body) != n_folds * per * 2:
        raise ConfigError(f"{path}: header promises {n_folds}x{2 * per} pairs, file has {len(body)} lines")

    def img(name: str, num: str) -> Path:
        return base / name / f"{name}_{int(num):04d}{ext}"

    out = []
    for i, tok in enumerate(body):
        fold = i // (2 * per)
        if len(tok) == 3:
            out.append(Pair(img(tok[0], tok[1]), img(tok[0], tok[2]), True, fold))
        elif len(tok) == 4:
            out.append(Pair(img(tok[0], tok[1]), img(tok[2], tok[3]), False, fold))
        else:
            raise ConfigError(f"{path}: line {i + 2} has {len(tok)} fields; expected 3 (same) or 4 (different)")
    return out


def _pick(fields: list[str], names: tuple[str, ...], path: Path) -> str:
    lower = {f.strip().lower(): f for f in fields}
    for n in names:
        if n in lower:
            return lower[n]
    raise ConfigError(f"{path}: no column among {names}; columns are {fields}")


def _read_csv(path: Path, text: str, base: Path, folds: int) -> list[Pair]:
    reader = csv.DictReader(text.splitlines())
    fields = list(reader.fieldnames or [])
    ca, cb, cy = _pick(fields, _COL_A, path), _pick(fields, _COL_B, path), _pick(fields, _COL_Y, path)
    cf = next((f for f in fields if f.strip().lower() == "fold"), None)
    out = []
    for i, row in enumerate(reader):
        label = row[cy].strip().lower()
        if label not in _TRUE | _FALSE:
            raise ConfigError(
                f"{path}: row {i + 2}: label {row[cy]!r} is neither same (1/yes/true) nor different (0/no/false)"
            )
        a, b = row[ca].strip(), row[cb].strip()
        fold = int(row[cf]) if cf and row[cf].strip() else i % folds
        out.append(Pair(_resolve(base, a), _resolve(base, b), label in _TRUE, fold))
    return out


def _resolve(base: Path, name: str) -> Path:
    p = Path(name)
    if p.is_absolute():
        return p
    direct = base / p
    bare = base / p.name  # deepface's lists carry their repository's folder prefix
    return bare if not direct.exists() and bare.exists() else direct
