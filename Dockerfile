# Debian 12, whose PostgreSQL client programs (for `backup` and `restore`) are 15, the
# server's major version.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unpinned: Debian 12's postgresql-client-15 takes the distribution's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The lock: every package at its recorded version, checked against its recorded hashes.
COPY requirements.lock .
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY alembic.ini .
COPY alembic ./alembic
COPY backend ./backend

RUN useradd --system --uid 10001 --no-create-home app
# By number, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001

EXPOSE 8000
CMD ["python", "-m", "backend", "serve", "--host", "0.0.0.0", "--port", "8000"]
