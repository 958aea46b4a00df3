# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
# Dependencies first (pyproject lists no packages: installing it installs only the pinned
# dependencies), so a code change does not re-install them.
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .
# The apps, config, templates, static and manage.py; .dockerignore keeps out tests, the
# local payment peers (devtools/), bench, docs and any .env.
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput -v0 \
    && useradd --create-home ambassador && mkdir -p var && chown -R ambassador var
USER ambassador
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
