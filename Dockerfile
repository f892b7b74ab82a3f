# Bazar: one image for the web tier (gunicorn), the task worker and the one-shot migrate job.
# Build: docker build -t bazar .    Run: see docker-compose.yml and docs/production.md.
# Nothing secret is baked in: every setting comes from the environment at run time.

ARG PYTHON_IMAGE=python:3.13-slim

# ---------------------------------------------------------------- build: dependencies, code, static files
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# Every dependency is pinned (==) and ships wheels for this Python, so no compiler is needed.
RUN python -m venv /opt/venv
COPY requirements/base.txt requirements/prod.txt /tmp/requirements/
RUN pip install --no-cache-dir -r /tmp/requirements/prod.txt

WORKDIR /app
COPY . .
# collectstatic imports the settings, which refuse to load without a SECRET_KEY when DEBUG is off. The
# throwaway key lives only in this one command's environment: no ENV, no ARG, nothing in the final image.
RUN SECRET_KEY=collectstatic-build-only-not-a-secret DEBUG=false STATIC_ROOT=/app/staticfiles \
        python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q -j 0 /app

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

RUN groupadd --system --gid 10001 bazar \
    && useradd --system --uid 10001 --gid bazar --home-dir /app --no-create-home --shell /usr/sbin/nologin bazar

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays owned by root (read-only for the app); only the media directory is the app user's.
COPY --from=build /app /app
RUN mkdir -p /app/media && chown bazar:bazar /app/media

USER 10001:10001
EXPOSE 8000

# Plain HTTP to the app itself (health is exempt from the SSL redirect), with a Host that ALLOWED_HOSTS accepts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; hosts = [h.strip().lstrip('.') for h in os.environ.get('ALLOWED_HOSTS', '').split(',') if h.strip() and '*' not in h]; req = u.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/api/v1/health/', headers={'Host': hosts[0] if hosts else 'localhost'}); sys.exit(0 if u.urlopen(req, timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "bazar.wsgi:application"]
