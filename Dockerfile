# syntax=docker/dockerfile:1
# One image for the whole suite; the argument picks the service:
#   docker build -t onewindow .
#   docker run --rm onewindow serve intake        (or seal, deadline, notify, attendance, console)
#   docker run --rm onewindow deploy ensure-topics --bootstrap kafka:9092
# Multi-stage: the build stage has pip and installs the wheels into a virtual environment;
# the runtime stage gets only that environment, the CJK fonts the notices and seals embed,
# and runs as an unprivileged user (uid 10001) with its data under /var/lib/onewindow.
#
# Two bases, one file (the build argument PYTHON_IMAGE picks):
# - on an ordinary Docker host, the official python:3.11-slim-bookworm (the default below);
#   pip and apt-get fetch what they need;
# - air-gapped (`onewindow image build`, podman): a Debian bookworm base made locally with
#   mmdebstrap (python3 3.11, python3-venv, the fonts and tini already in it) and the Python
#   wheels prepared beforehand in deploy/wheelhouse/; with OFFLINE=1 pip uses only those and
#   the build runs without any network (`podman build --network none`).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# OFFLINE=1: pip installs from deploy/wheelhouse/ only (no package index).
ARG OFFLINE=
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/onewindow
ENV PATH=/opt/onewindow/bin:$PATH
WORKDIR /src
# Dependencies first (this layer is reused while only the code changes). The wheelhouse holds
# only its README on a fresh clone: then pip takes everything from the index.
COPY pyproject.toml README.md ./
COPY deploy/wheelhouse/ /wheelhouse/
RUN mkdir -p contracts services tools \
 && touch contracts/__init__.py services/__init__.py tools/__init__.py \
 && pip install --find-links /wheelhouse ${OFFLINE:+--no-index} . \
 && pip uninstall -y onewindow \
 && rm -rf build *.egg-info contracts services tools
# (setuptools' build/ would keep the empty stubs: COPY keeps the sources' older mtimes, so
# build_py would not copy e.g. contracts/__init__.py again.)
COPY contracts ./contracts
COPY services ./services
COPY tools ./tools
RUN pip install --no-deps --find-links /wheelhouse ${OFFLINE:+--no-index} . \
 && python3 -m compileall -q /opt/onewindow/lib

FROM ${PYTHON_IMAGE} AS runtime
# fonts-wqy-microhei and fonts-arphic-gbsn00lp: the CJK TrueType fonts embedded in notices and
# seal images (see deploy/apt-packages.txt); tini: PID 1 that forwards SIGTERM for the
# graceful shutdown and reaps children. The local Debian base has them already (no apt-get
# then, so no network); the python image gets them from Debian's mirror.
RUN missing=""; \
    for p in fonts-wqy-microhei fonts-arphic-gbsn00lp tini; do \
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $missing; \
    fi \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 onewindow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/onewindow --no-create-home \
      --shell /usr/sbin/nologin onewindow \
 && mkdir -p /var/lib/onewindow \
 && chown 10001:10001 /var/lib/onewindow
COPY --from=build /opt/onewindow /opt/onewindow
ENV PATH=/opt/onewindow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ONEWINDOW_DATA_DIR=/var/lib/onewindow \
    ONEWINDOW_HTTP_HOST=0.0.0.0 \
    ONEWINDOW_LOG_JSON=true \
    ONEWINDOW_IN_CONTAINER=1
WORKDIR /var/lib/onewindow
VOLUME ["/var/lib/onewindow"]
USER 10001:10001
# console 8100, intake 8101, seal 8102, deadline 8103, notify 8104, attendance 8105
EXPOSE 8100 8101 8102 8103 8104 8105
# No HEALTHCHECK: the same image runs one-shot commands; Compose and Kubernetes probe
# /readyz and /healthz of each service themselves.
# tools/image_entrypoint.py checks a service's required settings (it refuses to start, naming
# each one missing), then runs the `onewindow` command in the same process.
ENTRYPOINT ["tini", "--", "python3", "-m", "tools.image_entrypoint", "onewindow"]
CMD ["--help"]
