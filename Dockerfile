# faceprint service image. Written to mirror the README's install; NOT built or run in faceprint's CI
# (no Docker engine there). Build: docker build -t faceprint .   Run: see compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    # glibc arenas per thread fragment memory under many worker threads
    MALLOC_ARENA_MAX=2 \
    FACEPRINT_HOME=/data FACEPRINT_WEIGHTS_PATH=/weights FACEPRINT_OFFLINE=1

# shared libraries OpenCV (headless) and ONNX Runtime load at run time
RUN apt-get update && apt-get install -y --no-install-recommends libglib2.0-0 libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY faceprint ./faceprint
# EXTRAS: add "analysis" for /v1/analyze (pulls PyTorch; use the CPU wheel index to keep it small)
ARG EXTRAS=serve,search
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu ".[${EXTRAS}]"

RUN useradd --create-home --uid 10001 faceprint && mkdir -p /data /weights && chown faceprint /data
USER faceprint
# /data: API keys (keys.sqlite) and embedded galleries; /weights: model files fetched by hand
VOLUME ["/data", "/weights"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"
CMD ["faceprint", "serve", "--host", "0.0.0.0", "--port", "8000", "--db", "/data/galleries"]
