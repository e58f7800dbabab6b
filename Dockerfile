FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

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
