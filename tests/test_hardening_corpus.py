"""A bad-input corpus, built at run time, through every public function and CLI verb under a deadline:
every outcome is a correct result or a typed error (never another exception, a hang or a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import FaceprintError
from tests.conftest import IDENTITIES, ROOT, needs_faces
from tests.hardening_helpers import build_corpus, deadline

pytestmark = needs_faces


def _functions(gallery: Path, face: Path) -> dict[str, tuple]:
    """name → (call, check of a successful result)."""
    import faceprint
    from faceprint.search import Gallery
    from faceprint.types import ExtractedFace, Face, FaceAnalysis, ImageResult, Representation, VerifyResult

    g = Gallery(gallery)

    def is_list_of(kind):
        return lambda r: isinstance(r, list) and all(isinstance(x, kind) for x in r)

    return {
        "load_image": (faceprint.load_image, lambda r: r.pixels.dtype == np.uint8 and r.pixels.ndim == 3),
        "detect": (faceprint.detect, is_list_of(Face)),
        "represent": (faceprint.represent, is_list_of(Representation)),
        "represent_no_enforce": (lambda x: faceprint.represent(x, enforce_detection=False), is_list_of(Representation)),
        "verify": (lambda x: faceprint.verify(x, str(face)), lambda r: isinstance(r, VerifyResult)),
        "extract_faces": (faceprint.extract_faces, is_list_of(ExtractedFace)),
        "analyze": (lambda x: faceprint.analyze(x, actions=("emotion",)), is_list_of(FaceAnalysis)),
        "represent_stream": (lambda x: list(faceprint.represent_stream([x], errors="skip")),
                             lambda r: len(r) == 1 and isinstance(r[0], ImageResult)),
        "find": (lambda x: faceprint.find(x, db=str(gallery), refresh=False), lambda r: isinstance(r, list)),
        "gallery_add": (lambda x: g.add(x, identity="z"), lambda r: r.indexed + len(r.errors) + len(r.no_face) >= 1),
        "gallery_search": (lambda x: g.search(x, k=1), lambda r: isinstance(r, list)),
    }, g


def test_bad_input_corpus(tmp_path: Path, record_property) -> None:
    pytest.importorskip("torch", reason="analyze() runs on PyTorch")
    from faceprint.search import Gallery

    corpus = build_corpus(tmp_path / "corpus")
    face = IDENTITIES / "img1.jpg"
    with Gallery(tmp_path / "gallery") as g0:
        g0.add(str(face), identity="p01")
    funcs, g = _functions(tmp_path / "gallery", face)
    outcomes: Counter[str] = Counter()
    wrong = []
    t0 = time.perf_counter()
    with g:
        for fname, (call, ok) in funcs.items():
            for name, item in corpus.items():
                try:
                    with deadline(30):
                        result = call(item)
                except FaceprintError as exc:
                    outcomes["typed error"] += 1
                    outcomes[type(exc).__name__] += 1
                    if "Traceback" in str(exc) or not str(exc):
                        wrong.append((fname, name, f"unhelpful message {exc!r}"))
                except Exception as exc:  # exactly what this test hunts
                    wrong.append((fname, name, f"{type(exc).__name__}: {exc}"[:300]))
                else:
                    outcomes["result"] += 1
                    if not ok(result):
                        wrong.append((fname, name, f"wrong result {result!r}"[:300]))
    calls = len(funcs) * len(corpus)
    line = (f"bad-input corpus: {len(corpus)} inputs x {len(funcs)} functions = {calls} calls: "
            f"{outcomes['result']} results, {outcomes['typed error']} typed errors, {len(wrong)} other "
            f"in {time.perf_counter() - t0:.1f} s; by error: "
            + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()) if k.endswith("Error")))  # fmt: skip
    print(line)
    record_property("corpus", line)
    assert not wrong, "\n".join(map(str, wrong[:30]))
    assert outcomes["result"] + outcomes["typed error"] == calls


def test_cli_verbs_on_the_corpus(tmp_path: Path, record_property, capsys: pytest.CaptureFixture) -> None:
    """Every CLI verb in process on file inputs (fast), then a few real subprocess runs."""
    from faceprint.cli import main

    corpus = build_corpus(tmp_path / "corpus")
    paths = [v for k, v in corpus.items() if k.startswith(("path:", "str:")) and isinstance(v, str)]
    face = str(IDENTITIES / "img1.jpg")
    odd_tree = tmp_path / "corpus"  # the corpus folder itself: bad files, FIFOs, loops, a non-UTF-8 name
    verbs = [lambda p: ["detect", p], lambda p: ["represent", p], lambda p: ["verify", p, face],
             lambda p: ["find", p, "--db", str(tmp_path / "g"), "--no-refresh"]]  # fmt: skip
    assert main(["index", str(odd_tree), "--db", str(tmp_path / "g")]) == 0
    codes: Counter[int] = Counter()
    for verb in verbs:
        for p in paths:
            with deadline(30):
                rc = main(verb(p))
            err = capsys.readouterr().err
            codes[rc] += 1
            assert rc in (0, 1, 2) and "Traceback" not in err, (verb(p), rc, err)
            assert rc == 0 or "faceprint: error:" in err, (verb(p), err)
    runs = [["detect", str(corpus["path:fifo"])], ["verify", str(corpus["path:bomb.png"]), face],
            ["index", str(odd_tree), "--db", str(tmp_path / "g2")], ["find", str(corpus["path:truncated.jpg"]),
            "--db", str(odd_tree)], ["represent", str(corpus["path:non_utf8"]), "--no-enforce"]]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in runs:
        proc = subprocess.run([sys.executable, "-m", "faceprint", *argv], capture_output=True, text=True, timeout=120,
                              env=env, errors="replace")  # fmt: skip
        codes[proc.returncode] += 1
        assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr, (argv, proc.stderr[-2000:])
    line = (f"CLI corpus: {sum(codes.values())} runs ({len(runs)} as subprocesses), exit codes "
            + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())))  # fmt: skip
    print(line)
    record_property("cli_corpus", line)
