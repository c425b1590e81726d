# One image for every Casework process (relay, intake, dispatch, mediation); compose.yaml picks
# the command. Dependencies come from uv.lock, exactly as on a developer's machine.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    CASEWORK_VAR_DIR=/var/casework

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app
COPY . .
RUN uv sync --frozen --all-packages --no-dev \
    && useradd --system --home-dir /var/casework casework \
    && mkdir -p /var/casework \
    && chown casework /var/casework

ENV PATH="/app/.venv/bin:${PATH}"
USER casework
CMD ["casework", "--help"]
