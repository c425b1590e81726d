# One image for every Casework process (relay, intake, dispatch, mediation); compose.yaml picks
# the command. Dependencies come from uv.lock, exactly as on a developer's machine.
#
# Two stages: `build` installs the locked dependencies first, from the lock file and the
# workspace members' pyproject.toml files only, so editing the source reuses that layer; then
# the source. The final image has the virtual environment and the source, no uv, no build cache,
# and runs as the unprivileged user `casework`, who owns /var/casework (and /var/casework/shared,
# where compose mounts the shared tokens volume: a new named volume takes the ownership of the
# folder it is mounted on, so the volumes are writable by this user).
FROM python:3.11-slim AS build

ENV UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs/casework/pyproject.toml libs/casework/
COPY libs/casework-stack/pyproject.toml libs/casework-stack/
COPY libs/casework-web/pyproject.toml libs/casework-web/
COPY services/intake/pyproject.toml services/intake/
COPY services/dispatch/pyproject.toml services/dispatch/
COPY services/mediation/pyproject.toml services/mediation/
COPY examples/lift-entrapment/pyproject.toml examples/lift-entrapment/
# The example kind (examples/lift-entrapment, a workspace member) is for the tests, not the
# deployment: the image registers the library's own kinds only (docs/adr/015).
RUN uv sync --frozen --all-packages --no-dev --no-install-workspace \
    --no-install-package casework-lift-entrapment

COPY libs libs
COPY services services
RUN uv sync --frozen --all-packages --no-dev --no-install-package casework-lift-entrapment

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    CASEWORK_VAR_DIR=/var/casework \
    PATH="/app/.venv/bin:${PATH}"

RUN useradd --system --home-dir /var/casework casework \
    && mkdir -p /var/casework/shared \
    && chown -R casework:casework /var/casework \
    && chmod 0700 /var/casework /var/casework/shared

COPY --from=build /app /app
WORKDIR /app
USER casework
CMD ["casework", "--help"]
