"""The package's layering, read from its own source: no import cycles, no imports that go up a layer.

Every import statement counts (module level, inside functions, under ``TYPE_CHECKING``): a cycle
or an upward edge that only runs later still ties the modules together. A package ``__init__``
that imports its own submodules (re-exports) is not a cycle. Also: ``import faceprint`` stays cheap.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: the entry points and applications; nothing below them may import them
TOP = ("api", "cli", "__main__", "search", "evaluation", "service", "video", "distributed", "stream")
#: model-file formats: the bottom layer, beside errors and runtime
BOTTOM = ("formats",)
#: what the bottom layer may import (the lazy framework imports of the runtime module, at either home)
BOTTOM_MAY_IMPORT = ("formats", "errors", "runtime", "models.runtime")
#: shared networks sit above the formats and below every model family
NETS_MAY_IMPORT = ("nets", *BOTTOM_MAY_IMPORT)
HEAVY = ("torch", "onnxruntime", "cv2", "dlib", "PIL", "h5py", "onnx", "google.protobuf")


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    where: str  # path:line of the import statement

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.where})"


def modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under ``package_dir`` (a package's name is its
    ``__init__``)."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imported_names(node: ast.AST, package: str) -> list[str]:
    """Dotted names an import statement loads: ``from a import b`` is ``a.b`` (module ``a.b`` if there
    is one, else a name inside ``a``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    return [base if a.name == "*" else f"{base}.{a.name}" for a in node.names]


def import_graph(package_dir: Path) -> tuple[dict[str, Path], list[Edge]]:
    """Every module of the package and every import edge between two of its modules."""
    mods = modules(package_dir)
    top = package_dir.name
    edges: set[Edge] = set()
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for dotted in _imported_names(node, package):
                target = dotted
                while target and target not in mods:  # a name inside a module → that module
                    target = target.rpartition(".")[0]
                if target and target != name and (target == top or target.startswith(top + ".")):
                    where = f"{path.relative_to(package_dir.parent)}:{node.lineno}"
                    edges.add(Edge(name, target, where))
    return mods, sorted(edges, key=lambda e: (e.source, e.target, int(e.where.rpartition(":")[2])))


def _reexport(edge: Edge, mods: dict[str, Path]) -> bool:
    """A package ``__init__`` importing one of its own submodules."""
    return mods[edge.source].name == "__init__.py" and edge.target.startswith(edge.source + ".")


def cycles(mods: dict[str, Path], edges: Iterable[Edge]) -> list[list[Edge]]:
    """Each strongly connected group of modules (two or more), as the import edges inside it."""
    kept = [e for e in edges if not _reexport(e, mods)]
    succ: dict[str, set[str]] = {m: set() for m in mods}
    for e in kept:
        succ[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(mods):  # Tarjan's algorithm, iterative (no recursion limit)
        if start in index:
            continue
        work = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.add(w)
                    if w == v:
                        break
                if len(group) > 1:
                    groups.append(group)
    return [[e for e in kept if e.source in g and e.target in g] for g in sorted(groups, key=sorted)]


def _in(module: str, top: str, names: Iterable[str]) -> bool:
    return any(module == f"{top}.{n}" or module.startswith(f"{top}.{n}.") for n in names)


def _is_entry(module: str, top: str) -> bool:
    """An entry point: a TOP package or module, the facade ``__init__``, or any package's ``cli``."""
    return module == top or _in(module, top, TOP) or module.rsplit(".", 1)[-1] in ("cli", "__main__")


UP = "a stage module imports an entry point (facade, search, evaluation, cli, service, video, distributed)"
SIDEWAYS = "recognition imports analysis"
SEARCH_API = "search imports the one-call API"
FORMAT_UP = "a model-file format imports something other than formats, errors, the runtime"
NETS_UP = "a shared network imports a model family or a higher layer"


def layering_violations(mods: dict[str, Path], edges: Iterable[Edge]) -> list[tuple[str, Edge]]:
    """(rule, edge) for every import that goes up a layer or sideways where the design forbids it."""
    top = next(iter(mods)).split(".")[0]
    out = []
    for e in edges:
        s, t = e.source, e.target
        if not _is_entry(s, top) and _is_entry(t, top):
            out.append((UP, e))
        if _in(s, top, ("recognition",)) and _in(t, top, ("analysis",)):
            out.append((SIDEWAYS, e))
        if _in(s, top, ("search",)) and _in(t, top, ("api",)):
            out.append((SEARCH_API, e))
        if _in(s, top, BOTTOM) and not _in(t, top, BOTTOM_MAY_IMPORT):
            out.append((FORMAT_UP, e))
        if _in(s, top, ("nets",)) and not _in(t, top, NETS_MAY_IMPORT):
            out.append((NETS_UP, e))
    return out


def _report(title: str, lines: list[str]) -> str:
    return f"{title}:\n  " + "\n  ".join(lines)


# --- the checker itself, on a small package written here --------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root / "pkg"


def test_the_checker_sees_every_kind_of_import_and_reports_each_rule(tmp_path: Path) -> None:
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.detection import base\n",  # a facade re-exporting: no cycle
        "pkg/api.py": "import pkg.detection.base\n",
        "pkg/detection/__init__.py": "from .base import Detector\n",
        "pkg/detection/base.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import api\n",
        "pkg/recognition/__init__.py": "",
        "pkg/recognition/a.py": "def f():\n    from ..analysis import helpers\n",
        "pkg/recognition/b.py": "from pkg.recognition import c\n",
        "pkg/recognition/c.py": "import pkg.recognition.b as b\n",
        "pkg/analysis/__init__.py": "",
        "pkg/analysis/helpers.py": "import numpy\n",
        "pkg/analysis/cli.py": "from pkg.api import verify\n",  # a CLI module may use the facade
        "pkg/formats/__init__.py": "",
        "pkg/formats/h5.py": "from pkg.errors import E\nfrom pkg.recognition.a import f\n",
        "pkg/nets/__init__.py": "",
        "pkg/nets/vgg.py": "from pkg.formats import h5\nfrom pkg.analysis.helpers import x\n",
        "pkg/errors.py": "",
        "pkg/search/__init__.py": "",
        "pkg/search/gallery.py": "from pkg import api\n",
    })  # fmt: skip
    mods, edges = import_graph(pkg)
    assert Edge("pkg.formats.h5", "pkg.errors", "pkg/formats/h5.py:1") in edges
    assert Edge("pkg.search.gallery", "pkg.api", "pkg/search/gallery.py:1") in edges  # `from pkg import api`
    assert not any(e.target == "numpy" or e.target.startswith("numpy") for e in edges)
    found = [sorted({e.source for e in c}) for c in cycles(mods, edges)]
    # api -> detection.base (plain import) -> api (TYPE_CHECKING): a cycle; b <-> c: a cycle;
    # the __init__ files importing their own children are not
    assert found == [["pkg.api", "pkg.detection.base"], ["pkg.recognition.b", "pkg.recognition.c"]]
    rules = {(rule, e.source, e.target) for rule, e in layering_violations(mods, edges)}
    assert rules == {
        (UP, "pkg.detection.base", "pkg.api"),
        (SIDEWAYS, "pkg.recognition.a", "pkg.analysis.helpers"),  # function-level, relative
        (FORMAT_UP, "pkg.formats.h5", "pkg.recognition.a"),
        (NETS_UP, "pkg.nets.vgg", "pkg.analysis.helpers"),
        (SEARCH_API, "pkg.search.gallery", "pkg.api"),
    }


# --- faceprint ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return import_graph(ROOT / "faceprint")


def test_the_graph_covers_the_package(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    mods, edges = graph
    assert {"faceprint.api", "faceprint.pipeline", "faceprint.formats.keras_engine", "faceprint.nets.vgg_face"} <= set(mods)
    assert len(edges) > len(mods)  # a real package: the parse found its imports


def test_no_import_cycles(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    mods, edges = graph
    found = cycles(mods, edges)
    lines = [f"{' <-> '.join(sorted({e.source for e in c}))}\n      " + "\n      ".join(map(str, c)) for c in found]
    if found:
        pytest.fail(_report(f"{len(found)} import cycle(s) between faceprint modules", lines), pytrace=False)


def test_no_upward_or_forbidden_imports(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    bad = layering_violations(*graph)
    if bad:
        pytest.fail(_report(f"{len(bad)} import(s) against the layering", [f"{rule}: {e}" for rule, e in bad]), pytrace=False)


def test_import_faceprint_loads_no_framework_or_model() -> None:
    """``import faceprint`` (and the format and network packages, which every model imports) stays
    cheap: no deep-learning runtime, no OpenCV, no dlib, no HDF5 or protobuf library."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import faceprint, faceprint.formats, faceprint.nets\n"
        "for p in (faceprint.formats, faceprint.nets):\n"
        "    for m in pkgutil.iter_modules(p.__path__, p.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "FACEPRINT_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
