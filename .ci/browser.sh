#!/usr/bin/env bash
# The admin in a real browser: Debian's Chromium (never a tool's own browser download) driven by Playwright,
# then the admin's static files served by whitenoise under gunicorn with DEBUG off. Screenshots go to
# artifacts/screenshots/, listed at the end. Idempotent; run it with `bash .ci/browser.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==== %s\n' "$*"; }
SHOTS=artifacts/screenshots

step "chromium and chromium-driver from Debian"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core fonts-liberation >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null

step "python environment (Playwright is pinned in requirements/dev.txt)"
make venv

step "browser tests (pytest -m browser)"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# CI=true: a missing browser fails the tests instead of skipping them.
CI=true .venv/bin/pytest -m browser

step "admin static files under gunicorn, DEBUG off (whitenoise)"
WORK="$(mktemp -d)"
PORT="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
GUNICORN_PID=""
cleanup() {
  if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export DEBUG=false SECRET_KEY="browser-ci-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')-static-check" \
  ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false STATIC_ROOT="$WORK/static" \
  DATABASE_URL="sqlite:///$WORK/db.sqlite3" LOG_LEVEL=WARNING GUNICORN_ACCESS_LOG=false
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/gunicorn --config gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers 1 bazar.wsgi:application \
  >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 1 50); do
  curl -fs -o "$WORK/login.html" "http://127.0.0.1:$PORT/admin/login/" && break
  sleep 0.2
done
[ -s "$WORK/login.html" ] || { cat "$WORK/gunicorn.log"; echo "gunicorn did not serve /admin/login/"; exit 1; }
CSS="$(grep -o '/static/admin/css/base\.[0-9a-f]*\.css' "$WORK/login.html" | head -1)"
[ -n "$CSS" ] || { echo "the login page links no hashed admin CSS (manifest storage off?)"; exit 1; }
HEADERS="$(curl -fsS -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$CSS")"
echo "$HEADERS" | grep -qi '^content-type: text/css' || { echo "$HEADERS"; echo "$CSS is not served as CSS"; exit 1; }
echo "$HEADERS" | grep -qi '^cache-control: .*immutable' || { echo "$HEADERS"; echo "$CSS is not cached forever"; exit 1; }
echo "served $CSS as text/css, cached forever"
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --hide-scrollbars --window-size=1280,800 \
  --screenshot="$PWD/$SHOTS/09-gunicorn-debug-off-login.png" "http://127.0.0.1:$PORT/admin/login/" 2>/dev/null

step "screenshots ($SHOTS)"
ls -l "$SHOTS"
