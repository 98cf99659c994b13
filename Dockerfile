# The dashboard as a container: gunicorn on PostgreSQL and Redis, static files collected at
# build time and served by whitenoise, running as a user without privileges.
#
#   docker build -t release-dashboard .
#   docker run -p 8000:8000 --env-file prod.env release-dashboard
#
# prod.env holds what README "Running in production" lists: TWILIO_SERVERLESS_BASE_URL and
# the credentials, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL. Run
# `manage.py migrate` once per release (e.g. `docker run --rm ... python manage.py migrate`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY dashboard/ dashboard/
COPY deployments_app/ deployments_app/
COPY templates/ templates/
COPY static/ static/

# Collected with demo settings (a loopback upstream needs no secret); the hashed names and
# compressed copies do not depend on them.
RUN TWILIO_SERVERLESS_BASE_URL=http://127.0.0.1:8787 WHITENOISE_USE_FINDERS=false \
    DJANGO_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --no-create-home dashboard
USER 10001

ENV DJANGO_STATIC_ROOT=/app/staticfiles \
    WHITENOISE_USE_FINDERS=false \
    DJANGO_LOG_FORMAT=json \
    DATABASE_CONN_MAX_AGE=60
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status >= 500)"
# gthread workers; stop with SIGTERM (docker stop sends it).
CMD ["gunicorn", "dashboard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "8", "--worker-class", "gthread", "--access-logfile", "-", "--graceful-timeout", "10"]
