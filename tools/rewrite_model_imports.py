"""Rewrite imports of the pre-#14 registry modules to faceprint.models (issue 14, part 2).

    python tools/rewrite_model_imports.py FILE_OR_DIR ...   # then: ruff check --select I --fix

Old module → new module, per imported name (anything not listed goes to the module's default):
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: old module → (default new module, {name: (new module, new name)})
MAP: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "faceprint.registry": ("faceprint.models.registry", {
        **{n: ("faceprint.models.specs", n) for n in ("ModelSpec", "WeightFile", "Alignment", "METRICS")},
        "DLIB5_UNIT": ("faceprint.models.templates", "DLIB5_UNIT"),
        "_dlib_chip_points": ("faceprint.models.templates", "dlib_chip_points"),
        "DLIB_SHAPE_5": ("faceprint.models.landmarkers", "DLIB_SHAPE_5"),
        "DLIB_RESNET": ("faceprint.models.recognizers", "DLIB_RESNET"),
        **{n: ("faceprint.models.attributes", n) for n in ("EMOTION_LABELS", "GENDER_LABELS", "RACE_LABELS")},
        "_ANALYSIS_SPECS": ("faceprint.models.attributes", "ATTRIBUTES"),
    }),
    "faceprint.registry_deepface": ("faceprint.models.deepface", {
        n: ("faceprint.models.templates", n) for n in ("FIVE_IN_UNIT", "ARCFACE_112", "five_points")
    }),
    "faceprint.registry_recognizers": ("faceprint.models.recognizers", {
        "SPHEREFACE_96x112": ("faceprint.models.templates", "SPHEREFACE_96x112"),
    }),
    "faceprint.registry_faceapi": ("faceprint.models.faceapi", {}),
    "faceprint.weights": ("faceprint.models.weights", {}),
    "faceprint.runtime": ("faceprint.models.runtime", {}),
    "faceprint.archives": ("faceprint.models.archives", {}),
}
#: `from faceprint import X` for the moved modules
MODULES = {"registry": "faceprint.models", "weights": "faceprint.models", "runtime": "faceprint.models",
           "archives": "faceprint.models"}  # fmt: skip

_FROM = re.compile(r"^(?P<indent>[ \t]*)from (?P<mod>faceprint\.[\w.]+) import (?P<names>[^(\n#]+?)(?P<tail>[ \t]*#.*)?$", re.M)
_PKG = re.compile(r"^(?P<indent>[ \t]*)from faceprint import (?P<names>[^(\n#]+?)(?P<tail>[ \t]*#.*)?$", re.M)


def _split(names: str) -> list[tuple[str, str | None]]:
    out = []
    for part in names.split(","):
        name, _, alias = part.strip().partition(" as ")
        out.append((name.strip(), alias.strip() or None))
    return out


def _rewrite_from(m: re.Match) -> str:
    mod = m["mod"]
    if mod not in MAP:
        return m[0]
    default, special = MAP[mod]
    groups: dict[str, list[str]] = {}
    for name, alias in _split(m["names"]):
        new_mod, new_name = special.get(name, (default, name))
        if alias is None and new_name != name:
            alias = name
        groups.setdefault(new_mod, []).append(new_name + (f" as {alias}" if alias and alias != new_name else ""))
    tail = m["tail"] or ""  # a trailing comment (a noqa) holds for each line
    return "\n".join(f"{m['indent']}from {k} import {', '.join(v)}{tail}" for k, v in groups.items())


def _rewrite_pkg(m: re.Match) -> str:
    names = _split(m["names"])
    moved = [(n, a) for n, a in names if n in MODULES]
    if not moved:
        return m[0]
    kept = [(n, a) for n, a in names if n not in MODULES]
    fmt = [n + (f" as {a}" if a else "") for n, a in moved]
    lines = [f"{m['indent']}from faceprint.models import {', '.join(fmt)}"]
    if kept:
        lines.insert(0, f"{m['indent']}from faceprint import {', '.join(n + (f' as {a}' if a else '') for n, a in kept)}")
    return "\n".join(line + (m["tail"] or "") for line in lines)


def rewrite(text: str) -> str:
    text = _FROM.sub(_rewrite_from, text)
    text = _PKG.sub(_rewrite_pkg, text)
    for old, (new, _) in MAP.items():  # dotted uses in strings/mock targets: "faceprint.weights.resolve"
        text = re.sub(rf"\b{re.escape(old)}\.(?=\w)", new + ".", text)
    return text


def main(paths: list[str]) -> int:
    files = [f for p in paths for f in (sorted(Path(p).rglob("*.py")) if Path(p).is_dir() else [Path(p)])]
    changed = 0
    for f in files:
        if f.resolve() == Path(__file__).resolve():
            continue
        old = f.read_text(encoding="utf-8")
        new = rewrite(old)
        if new != old:
            f.write_text(new, encoding="utf-8")
            changed += 1
            print(f"rewrote {f}")  # noqa: T201 - a command-line tool
    print(f"{changed} file(s) changed")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
