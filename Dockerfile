# syntax=docker/dockerfile:1
#
# TwoStep container image. See docs/deployment.md.
#
#   docker build -t twostep .
#   docker run --rm twostep --help
#
# The image holds no configuration and no secrets: pass settings as TWOSTEP_* environment
# variables, and the master key as a mounted file (TWOSTEP_MASTER_KEY_FILE) or from a secret store.
# The default command is `serve`; run `db upgrade` and `worker` from the same image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a wheel of TwoStep and of every dependency ------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is built from: metadata (pyproject names README.md and LICENSE) and the package.
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels .

# --- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="TwoStep" \
      org.opencontainers.image.description="Self-hosted two-factor authentication server speaking the Authy REST API" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot and so a master key file on the host
# can be given to this user (it must be mode 0400/0600 and owned by it: TwoStep refuses a key file
# that group or others can read).
RUN groupadd --system --gid 10001 twostep \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/twostep --no-create-home \
        --shell /usr/sbin/nologin twostep \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/twostep

# Install from the wheels of the build stage without copying them into a layer (BuildKit bind mount),
# and without reaching an index: exactly the versions resolved at build time.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels --disable-pip-version-check \
        --root-user-action=ignore twostep

# TWOSTEP_MODE: production unless told otherwise, so a container refuses to start without a
#   database URL, a master key and an https public URL (`-e TWOSTEP_MODE=embedded` for a quick
#   single-container trial on SQLite).
# TWOSTEP_HOST/PORT: listen on every interface of the container; publish or proxy the port.
# TWOSTEP_DATA_DIR: used in embedded mode only (SQLite file, generated master key and admin token);
#   mount a volume there for such a trial.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TWOSTEP_MODE=production \
    TWOSTEP_HOST=0.0.0.0 \
    TWOSTEP_PORT=8080 \
    TWOSTEP_DATA_DIR=/var/lib/twostep

USER 10001:10001
WORKDIR /var/lib/twostep
EXPOSE 8080

# Liveness only (the process answers HTTP); readiness, which checks the database, is /readyz.
# python is used because the slim image has no curl. Not meaningful for `twostep worker` containers:
# disable it there (compose: `healthcheck: {disable: true}`; Kubernetes ignores HEALTHCHECK).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TWOSTEP_PORT', '8080'), timeout=4)" || exit 1

ENTRYPOINT ["twostep"]
CMD ["serve"]
