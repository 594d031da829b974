"""Prometheus text exposition (format 0.0.4) for the few series the service keeps; no dependency."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Counters, histograms and gauges, thread-safe; :meth:`render` gives the /metrics body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}
        self._hists: dict[str, tuple[Sequence[float], dict[Labels, list[float]]]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._help: dict[str, str] = {}

    def counter(self, name: str, help_: str) -> None:
        self._counters.setdefault(name, {})
        self._help[name] = help_

    def histogram(self, name: str, help_: str, buckets: Sequence[float]) -> None:
        self._hists.setdefault(name, (tuple(buckets), {}))
        self._help[name] = help_

    def gauge(self, name: str, help_: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read
        self._help[name] = help_

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + value

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        buckets, series = self._hists[name]
        with self._lock:
            row = series.get(key)
            if row is None:
                row = series[key] = [0.0] * (len(buckets) + 2)  # per-bucket counts, then sum, then count
            for i, b in enumerate(buckets):
                if value <= b:
                    row[i] += 1
                    break
            row[-2] += value
            row[-1] += 1

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (for tests and the benchmark)."""
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in self._counters.items():
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} counter"]
                lines += [f"{name}{_fmt_labels(k)} {v:g}" for k, v in sorted(series.items())]
            for name, (buckets, series) in self._hists.items():
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} histogram"]
                for k, row in sorted(series.items()):
                    cum = 0.0
                    for b, n in zip(buckets, row):
                        cum += n
                        le = 'le="' + format(b, "g") + '"'
                        lines.append(f"{name}_bucket{_fmt_labels(k, le)} {cum:g}")
                    inf = 'le="+Inf"'
                    lines.append(f"{name}_bucket{_fmt_labels(k, inf)} {row[-1]:g}")
                    lines += [f"{name}_sum{_fmt_labels(k)} {row[-2]:.6f}", f"{name}_count{_fmt_labels(k)} {row[-1]:g}"]
        for name, read in self._gauges.items():
            lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} gauge", f"{name} {float(read()):g}"]
        return "\n".join(lines) + "\n"


def service_metrics() -> Metrics:
    m = Metrics()
    m.counter("faceprint_requests_total", "HTTP requests by route, method and status")
    m.counter("faceprint_errors_total", "problem responses by stable error code")
    m.histogram("faceprint_request_seconds", "HTTP request latency by route", LATENCY_BUCKETS)
    m.histogram("faceprint_batch_size", "faces per recognizer forward pass", BATCH_BUCKETS)
    m.histogram("faceprint_batch_wait_seconds", "time a face waited for its batch", LATENCY_BUCKETS)
    return m
