# One image for web, worker, beat and migrate (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# psycopg[binary] ships its own libpq and Babel compiles the translations: no system packages.
RUN groupadd --system app \
    && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. The
# lock pins every version; it names no index or local wheel folder.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The project is not an installable package (no [build-system]): the source is simply copied.
COPY . .

# Settings need a SECRET_KEY to import; this throwaway one lives only in this RUN step's
# environment, never in an image layer's ENV. Nothing here touches the database.
RUN SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=localhost \
        python manage.py collectstatic --noinput --verbosity 0 \
    && pybabel compile -d locale -D django

# Uploads are the one place the app writes (compose mounts a named volume here, which takes
# this ownership when first created).
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
