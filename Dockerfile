# syntax=docker/dockerfile:1
# One image for the whole suite; the argument picks the service:
#   docker build -t onewindow .
#   docker run --rm onewindow serve intake        (or seal, deadline, notify, attendance)
#   docker run --rm onewindow deploy ensure-topics --bootstrap kafka:9092
# Multi-stage: the build stage has pip and compiles the wheels into a virtual environment;
# the runtime stage gets only that environment, the CJK fonts the notices and seals embed,
# and runs as an unprivileged user (uid 10001) with its data under /var/lib/onewindow.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/onewindow
ENV PATH=/opt/onewindow/bin:$PATH
WORKDIR /src
# Dependencies first (this layer is reused while only the code changes).
COPY pyproject.toml README.md ./
RUN mkdir -p contracts services tools \
 && touch contracts/__init__.py services/__init__.py tools/__init__.py \
 && pip install . \
 && pip uninstall -y onewindow
COPY contracts ./contracts
COPY services ./services
COPY tools ./tools
RUN pip install --no-deps . \
 && python -m compileall -q /opt/onewindow/lib

FROM ${PYTHON_IMAGE} AS runtime
# fonts-wqy-microhei and fonts-arphic-gbsn00lp: the CJK TrueType fonts embedded in notices and
# seal images (see deploy/apt-packages.txt); tini: PID 1 that forwards SIGTERM for the
# graceful shutdown and reaps children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei fonts-arphic-gbsn00lp tini \
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
    ONEWINDOW_LOG_JSON=true
WORKDIR /var/lib/onewindow
VOLUME ["/var/lib/onewindow"]
USER 10001:10001
EXPOSE 8101 8102 8103 8104 8105
# No HEALTHCHECK: the same image runs one-shot commands; Compose and Kubernetes probe
# /readyz and /healthz of each service themselves.
ENTRYPOINT ["tini", "--", "onewindow"]
CMD ["--help"]
