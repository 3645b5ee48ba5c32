# syntax=docker/dockerfile:1
# FaultMaven: one image for the API (the default command), the worker (`faultmaven worker`) and the
# schema migration (`faultmaven db upgrade`).
#
#   docker build -t faultmaven:0.1.0 .
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> -t faultmaven:0.1.0 .
#
# Every dependency comes from constraints/base.txt, pinned by version and sha256 and installed from
# wheels only, so the final stage needs no compiler. No secret is baked in: settings come from the
# environment at run time (docs/configuration.md). The data directory (/data) holds the SQLite file
# when no FAULTMAVEN_DATABASE_URL is given; with PostgreSQL nothing is written there.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/faultmaven
COPY constraints/base.txt constraints/base.txt
RUN /opt/faultmaven/bin/pip install --require-hashes --no-deps --only-binary=:all: -r constraints/base.txt
COPY pyproject.toml README.md ./
COPY faultmaven faultmaven
# The project itself is built with the pinned setuptools already in the venv: no index, no isolation.
RUN /opt/faultmaven/bin/pip install --no-deps --no-index --no-build-isolation ./ \
    && /opt/faultmaven/bin/pip check

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="FaultMaven" \
      org.opencontainers.image.description="AI troubleshooting copilot for SRE and DevOps engineers" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 faultmaven \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin faultmaven \
    && mkdir /data \
    && chown 10001:10001 /data
COPY --from=build /opt/faultmaven /opt/faultmaven
# XDG_DATA_HOME puts the default SQLite file at /data/faultmaven/faultmaven.db. Token auth by default:
# local mode (no credentials) refuses to listen on 0.0.0.0.
ENV PATH=/opt/faultmaven/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_DATA_HOME=/data \
    FAULTMAVEN_AUTH_MODE=token
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["faultmaven", "serve", "--host", "0.0.0.0", "--port", "8000"]
