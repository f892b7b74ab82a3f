#!/usr/bin/env bash
# Production smoke test, outside Docker: gunicorn started with exactly the Dockerfile's CMD, DEBUG off, on
# PostgreSQL + Redis, after migrate and collectstatic, must serve the API, the styled admin and the API docs,
# pass the image's own HEALTHCHECK, and log JSON lines carrying the request id. Starts what it needs, cleans up
# after itself (gunicorn, its database, its temp dir). Run: bash .ci/prod-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
[ -x .venv/bin/gunicorn ] || make venv
PY="$ROOT/.venv/bin/python"

bash .ci/services.sh >/dev/null

RUN_ID="$$_$(date +%s)"
DB="bazar_smoke_${RUN_ID}"
WORK="$(mktemp -d)"
LOG="$WORK/gunicorn.log"
GUNICORN_PID=""
psql_admin() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qc "$1" postgres >/dev/null; }
cleanup() {
  status=$?
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$LOG" ]; then
    echo "---- gunicorn output (last 40 lines)"
    tail -n 40 "$LOG" || true
  fi
  psql_admin "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

psql_admin "CREATE DATABASE ${DB}"
PORT="$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# The production environment: DEBUG off, a real secret, PostgreSQL, Redis, the database task queue.
SECRET_KEY="smoke-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
export PORT SECRET_KEY
export DEBUG=false \
  ALLOWED_HOSTS=127.0.0.1,localhost \
  SECURE_SSL_REDIRECT=false \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}" \
  REDIS_URL=redis://127.0.0.1:6379/5 \
  TASKS_BACKEND=django_tasks_db.DatabaseBackend \
  EMAIL_URL=smtp://127.0.0.1:2525 \
  STATIC_ROOT="$WORK/static" \
  MEDIA_ROOT="$WORK/media" \
  LOG_FORMAT=json \
  GUNICORN_BIND="127.0.0.1:${PORT}" \
  WEB_CONCURRENCY=2
unset LOG_LEVEL GUNICORN_ACCESS_LOG

echo "migrate + collectstatic into $STATIC_ROOT"
$PY manage.py migrate --noinput >/dev/null
$PY manage.py collectstatic --noinput --verbosity 0

# The exact CMD of the Dockerfile (its venv is on PATH there, as .venv is here).
mapfile -t CMD < <($PY - <<'EOF'
import json, re
text = open("Dockerfile").read()
print("\n".join(json.loads(re.findall(r"^CMD (\[.*\])$", text, re.M)[-1])))
EOF
)
mapfile -t HEALTHCHECK < <($PY - <<'EOF'
import json, re
text = open("Dockerfile").read().replace("\\\n", " ")
print("\n".join(json.loads(re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", text, re.M).group(1))))
EOF
)
echo "start: ${CMD[*]} (127.0.0.1:${PORT})"
PATH="$ROOT/.venv/bin:$PATH" "${CMD[@]}" >"$LOG" 2>&1 &
GUNICORN_PID=$!

BASE="http://127.0.0.1:${PORT}"
for _ in $(seq 60); do
  curl -fsS -o /dev/null "$BASE/api/v1/health/" 2>/dev/null && break
  kill -0 "$GUNICORN_PID" 2>/dev/null || fail "gunicorn exited"
  sleep 0.5
done

REQUEST_ID="$($PY -c 'import uuid; print(uuid.uuid4())')"
health="$(curl -sS -D "$WORK/health.headers" -H "X-Request-ID: ${REQUEST_ID}" -w '\n%{http_code}' "$BASE/api/v1/health/")"
[ "$(tail -n1 <<<"$health")" = 200 ] || fail "health answered $(tail -n1 <<<"$health")"
[ "$(head -n1 <<<"$health")" = '{"status":"ok","database":"ok","cache":"ok"}' ] || fail "health body: $health"
grep -qi "^x-request-id: ${REQUEST_ID}" "$WORK/health.headers" || fail "X-Request-ID not echoed"
echo "ok   GET /api/v1/health/ 200, database and cache ok, request id echoed"

login_status="$(curl -sS -D "$WORK/login.headers" -o "$WORK/login.html" -w '%{http_code}' "$BASE/admin/login/")"
[ "$login_status" = 200 ] || fail "admin login answered $login_status"
grep -qi '^content-security-policy: ' "$WORK/login.headers" || fail "no Content-Security-Policy on the admin"
stylesheets="$(grep -o 'href="/static/[^"]*\.css"' "$WORK/login.html" | cut -d'"' -f2)"
[ -n "$stylesheets" ] || fail "admin login page links no stylesheet"
for css in $stylesheets; do
  answer="$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$BASE$css")"
  [[ "$answer" == "200 text/css"* ]] || fail "$css answered $answer"
done
echo "ok   GET /admin/login/ 200 with CSP; $(wc -w <<<"$stylesheets") stylesheets 200 text/css"

# The API docs work under the CSP: no inline script, and every script they load answers.
docs_status="$(curl -sS -o "$WORK/docs.html" -w '%{http_code}' "$BASE/api/docs/")"
[ "$docs_status" = 200 ] || fail "/api/docs/ answered $docs_status"
if grep -q '<script>' "$WORK/docs.html"; then fail "/api/docs/ has an inline script the CSP blocks"; fi
scripts="$(grep -o '<script src="[^"]*"' "$WORK/docs.html" | cut -d'"' -f2 | sed 's/&amp;/\&/g')"
[ -n "$scripts" ] || fail "/api/docs/ loads no script"
while read -r src; do
  answer="$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$BASE$src")"
  [[ "$answer" == "200 "*javascript* ]] || fail "$src answered $answer"
done <<<"$scripts"
echo "ok   GET /api/docs/ 200, its scripts load from this origin"

PATH="$ROOT/.venv/bin:$PATH" "${HEALTHCHECK[@]}" || fail "the Dockerfile HEALTHCHECK command failed"
echo "ok   the Dockerfile HEALTHCHECK command passes"

kill -TERM "$GUNICORN_PID"
wait "$GUNICORN_PID" || fail "gunicorn did not stop cleanly"
GUNICORN_PID=""

$PY - "$LOG" "$REQUEST_ID" <<'EOF'
import json, sys
path, request_id = sys.argv[1], sys.argv[2]
lines = [json.loads(line) for line in open(path) if line.startswith("{")]
mine = [line for line in lines if line.get("request_id") == request_id]
loggers = sorted(line["logger"] for line in mine)
assert loggers == ["bazar.request"], loggers  # gunicorn's access line is off by default (GUNICORN_ACCESS_LOG)
assert all(line["status"] == 200 and line["path"] == "/api/v1/health/" for line in mine), mine
print(f"ok   {len(lines)} JSON log lines; the health request: exactly one bazar.request line")
EOF
echo "prod smoke passed"
