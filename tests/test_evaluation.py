"""Evaluation and tuning: figures checked against independent computations (scikit-learn)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceprint.evaluation import metrics as M
from faceprint.evaluation.cache import EmbeddingCache
from faceprint.evaluation.pairs import Pair, read_pairs
from faceprint.evaluation.runner import System, evaluate

from .conftest import FACES, IDENTITIES, needs_faces, read_csv

ORL = FACES / "orl"


def test_infogain_split_known_answer() -> None:
    t, gain = M.infogain_threshold(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), np.array([1, 1, 1, 0, 0, 0], bool))
    assert t == pytest.approx(0.35) and gain == pytest.approx(1.0)
    # worked by hand: H(4/7) = 0.98523; best split after the 3rd value leaves H(1/4) = 0.81128 on 4 of 7
    d = np.arange(1.0, 8.0)
    y = np.array([1, 1, 1, 0, 1, 0, 0], bool)
    t, gain = M.infogain_threshold(d, y)
    assert t == pytest.approx(3.5)
    assert gain == pytest.approx(0.98523 - 4 / 7 * 0.81128, abs=1e-4)


def test_best_accuracy_threshold_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(1, 40))
        d, y = np.round(rng.random(n), 1), rng.random(n) < 0.5
        t, acc = M.best_accuracy_threshold(d, y)
        grid = np.concatenate([[-1.0], np.unique(d), [2.0]])
        brute = max(float(np.mean((d <= c) == y)) for c in grid)
        assert acc == pytest.approx(brute) and M.accuracy(d, y, t) == pytest.approx(acc)


def test_metrics_match_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score, roc_curve

    rng = np.random.default_rng(7)
    same = rng.random(600) < 0.3
    d = np.where(same, rng.normal(0.4, 0.12, 600), rng.normal(0.8, 0.12, 600))
    assert M.auc(d, same) == pytest.approx(roc_auc_score(same, -d), abs=1e-12)
    fpr, tpr, _ = roc_curve(same, -d)
    far, tar, _ = M.roc(d, same)
    assert np.interp(0.05, far, tar) == pytest.approx(np.interp(0.05, fpr, tpr), abs=0.02)
    pred = d <= 0.6
    c = M.confusion(d, same, 0.6)
    assert c.precision == pytest.approx(precision_score(same, pred))
    assert c.recall == pytest.approx(recall_score(same, pred))
    assert c.f1 == pytest.approx(f1_score(same, pred))
    tar1, t1 = M.tar_at_far(d, same, 1e-2)
    assert np.mean(d[~same] <= t1) <= 1e-2 and tar1 == pytest.approx(np.mean(d[same] <= t1))
    e, te = M.eer(d, same)
    assert abs(np.mean(d[~same] <= te) - np.mean(d[same] > te)) < 0.02 and 0 < e < 0.2
    cal = M.fit_calibration(d, same)
    ref = LogisticRegression(C=1e6, max_iter=1000).fit(d[:, None], same)
    assert cal.a == pytest.approx(ref.intercept_[0], rel=1e-3) and cal.b == pytest.approx(ref.coef_[0, 0], rel=1e-3)
    assert cal(0.2) > 0.9 > 0.1 > cal(1.0)
    mean, std, accs = M.kfold_accuracy(d, same, np.arange(600) % 10)
    assert len(accs) == 10 and 0.9 < mean <= 1 and std >= 0


def _orl_lfw_tree(tmp: Path, subjects: int = 8, per: int = 4) -> tuple[Path, Path]:
    """An LFW-style tree (name/name_000N.jpg) and pairs.txt, made from ORL photos."""
    root = tmp / "lfw"
    for s in range(1, subjects + 1):
        (root / f"s{s}").mkdir(parents=True)
        for i in range(1, per + 1):
            Image.open(ORL / f"s{s}" / f"{i}.png").save(root / f"s{s}" / f"s{s}_{i:04d}.jpg", quality=95)
    lines = ["2 4"]
    for fold in range(2):
        base = 1 + fold * (subjects // 2)
        lines += [f"s{base + k} 1 {2 + k % 3}" for k in range(4)]
        lines += [
            f"s{base + k} {1 + k % per} s{base + (k + 1) % (subjects // 2)} {1 + (k + 2) % per}" for k in range(4)
        ]
    pairs = tmp / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    return root, pairs


@pytest.mark.skipif(not ORL.is_dir(), reason=f"ORL fixtures not found at {ORL}")
def test_lfw_pairs_format(tmp_path: Path) -> None:
    root, path = _orl_lfw_tree(tmp_path)
    pairs = read_pairs(path, root)
    assert len(pairs) == 16 and sum(p.same for p in pairs) == 8
    assert {p.fold for p in pairs} == {0, 1}
    assert pairs[0].img1 == root / "s1" / "s1_0001.jpg" and pairs[0].img2 == root / "s1" / "s1_0002.jpg"
    assert all(p.img1.is_file() and p.img2.is_file() for p in pairs)
    bad = tmp_path / "bad.txt"
    bad.write_text("10 300\nfoo 1 2\n")
    with pytest.raises(ValueError, match="promises"):
        read_pairs(bad, root)


def _orl_pairs(subjects: int = 10, per: int = 4) -> list[Pair]:
    """Same-subject pairs (all) and as many different-subject pairs, 5 folds by subject."""
    rng = np.random.default_rng(0)
    imgs = {s: [ORL / f"s{s}" / f"{i}.png" for i in range(1, per + 1)] for s in range(1, subjects + 1)}
    out = []
    for s, files in imgs.items():
        fold = s % 5
        for i in range(per):
            for j in range(i + 1, per):
                out.append(Pair(files[i], files[j], True, fold))
        for _ in range(per * (per - 1) // 2):
            t = int(rng.choice([x for x in imgs if x != s]))
            out.append(Pair(files[int(rng.integers(per))], imgs[t][int(rng.integers(per))], False, fold))
    return out


@pytest.mark.skipif(not ORL.is_dir(), reason=f"ORL fixtures not found at {ORL}")
def test_orl_two_systems_and_ensemble(tmp_path: Path) -> None:
    from sklearn.metrics import roc_auc_score

    pairs = _orl_pairs()
    reports = evaluate(pairs, [System("dlib", "mtcnn"), System("dlib", "dlib_hog")], cache_dir=tmp_path)
    assert [r.name for r in reports][:2] == ["dlib+mtcnn", "dlib+dlib_hog"]
    assert reports[2].name.startswith("ensemble[logistic]")
    same = np.array([p.same for p in pairs])
    for r in reports:
        ok = ~np.isnan(r.distances)
        assert r.auc == pytest.approx(roc_auc_score(same[ok], -r.distances[ok]), abs=1e-9)
        wrong = (~ok) | ((np.where(ok, r.distances, np.inf) <= r.threshold) != same)
        assert r.accuracy == pytest.approx(1 - wrong.mean())
        assert r.n_failed == int((~ok).sum()) == len(r.failures)
    mtcnn = reports[0]
    assert mtcnn.n_failed == 0 and mtcnn.auc > 0.97 and mtcnn.kfold_mean > 0.9


@needs_faces
def test_master_csv_with_a_failing_pair_and_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.metrics import roc_auc_score

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    rows = read_csv(IDENTITIES / "master.csv")
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        "img1,img2,label\n"
        + "".join(f"{IDENTITIES / r['file_x']},{IDENTITIES / r['file_y']},{r['Decision']}\n" for r in rows)
        + f"{blank},{IDENTITIES / 'img1.jpg'},no\n"
    )
    pairs = read_pairs(csv, folds=10)
    assert len(pairs) == 277
    (r,) = evaluate(pairs, [System()], cache_dir=tmp_path / "cache")
    assert r.n_failed == 1 and "blank.png" in r.failures[0][2] and "NoFaceError" in r.failures[0][2]
    assert r.accuracy == pytest.approx(276 / 277)  # the failed pair counts as wrong
    same = np.array([p.same for p in pairs])
    ok = ~np.isnan(r.distances)
    assert r.auc == pytest.approx(roc_auc_score(same[ok], -r.distances[ok]))
    assert r.kfold_mean >= 0.98

    # a rerun with another metric embeds nothing: every image comes from the cache
    from faceprint.pipeline import Pipeline

    def boom(*a, **k):
        raise AssertionError("embedded again")

    monkeypatch.setattr(Pipeline, "represent", boom)
    (c,) = evaluate(pairs, [System()], metric="cosine", cache_dir=tmp_path / "cache")
    assert c.metric == "cosine" and c.n_failed == 1


@needs_faces
def test_interrupt_leaves_a_usable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.pipeline import Pipeline

    real = Pipeline.represent
    calls = {"n": 0}

    def interrupted(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    pairs = [Pair(IDENTITIES / f"img{i}.jpg", IDENTITIES / f"img{i + 1}.jpg", False, 0) for i in (1, 3, 5)]
    monkeypatch.setattr(Pipeline, "represent", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(pairs, [System()], cache_dir=tmp_path)
    cache = EmbeddingCache(System().cache_file(tmp_path))
    assert len(cache) == 3
    monkeypatch.setattr(Pipeline, "represent", real)
    (r,) = evaluate(pairs, [System()], cache_dir=tmp_path)
    assert r.n_failed == 0 and len(EmbeddingCache(System().cache_file(tmp_path))) == 6


def test_plots_are_valid_pngs(tmp_path: Path) -> None:
    from faceprint.evaluation import plots

    rng = np.random.default_rng(1)
    same = rng.random(200) < 0.5
    d = np.where(same, rng.normal(0.3, 0.1, 200), rng.normal(0.8, 0.1, 200))
    made = [
        plots.distance_histogram(d, same, 0.6, tmp_path / "h.png"),
        plots.roc_curve({"a": (d, same), "b": (d + rng.normal(0, 0.1, 200), same)}, tmp_path / "roc.png"),
        plots.barcode(rng.normal(size=128), rng.normal(size=128), tmp_path / "bar.png"),
    ]
    for p in made:
        with Image.open(p) as im:
            im.verify()
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size == (800, 500)
            assert np.asarray(im.convert("L")).std() > 5


@needs_faces
def test_cli_evaluate_and_tune_write_thresholds_the_registry_uses(tmp_path: Path) -> None:
    env = {"FACEPRINT_HOME": str(tmp_path / "home")}
    import os

    full_env = {**os.environ, **env}
    master = str(IDENTITIES / "master.csv")
    r = subprocess.run([sys.executable, "-m", "faceprint", "evaluate", master, "--plots", str(tmp_path / "plots")],
                       capture_output=True, text=True, env=full_env, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "dlib+mtcnn" in r.stdout and "k-fold acc" in r.stdout
    assert {p.name for p in (tmp_path / "plots").iterdir()} >= {"roc.png", "barcode.png", "distances_dlib+mtcnn.png"}
    r = subprocess.run([sys.executable, "-m", "faceprint", "tune", master, "--metric", "euclidean", "--method", "accuracy", "--write", "--json"],
                       capture_output=True, text=True, env=full_env, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    tuned = json.loads(r.stdout)["dlib"]
    saved = json.loads((tmp_path / "home" / "thresholds.json").read_text())
    assert saved["dlib"]["thresholds"]["euclidean"] == pytest.approx(tuned["thresholds"]["euclidean"])
    assert 0.45 < tuned["thresholds"]["euclidean"] < 0.7
    a, b = IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg"
    code = f"import faceprint; r = faceprint.verify(r'{a}', r'{b}'); print(r.threshold, r.probability)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=300)
    thr, prob = r.stdout.split()
    assert float(thr) == pytest.approx(tuned["thresholds"]["euclidean"]) and float(prob) > 0.9
