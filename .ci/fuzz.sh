#!/usr/bin/env bash
# Fuzz the whole API with schemathesis against its own OpenAPI schema, served by a live gunicorn on a free port
# (a fresh PostgreSQL database when one answers on 127.0.0.1 — the production database, where e.g. NUL characters
# fail differently — else an SQLite file; local-memory cache), authenticated as a superadmin and as a FREE user.
# Checks: no server errors, and status codes, content types and bodies as the schema says. Zero failures allowed.
# Bounded: FUZZ_MAX_EXAMPLES test cases per operation, FUZZ_MAX_TIME seconds for each of the two main passes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

make --quiet venv
PY=.venv/bin/python
FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-20}"
FUZZ_MAX_TIME="${FUZZ_MAX_TIME:-75}"

WORK="$(mktemp -d -t bazar-fuzz.XXXXXX)"
SERVER_PID=""
FUZZ_DB=""
DATABASE="sqlite:///$WORK/fuzz.sqlite3"
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q; then
  FUZZ_DB="bazar_fuzz_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $FUZZ_DB" postgres
  DATABASE="postgres://postgres@127.0.0.1:5432/$FUZZ_DB"
fi
echo "fuzz database: ${DATABASE%%:*}"
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -n "$FUZZ_DB" ]]; then psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $FUZZ_DB" postgres || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A production-like app (DEBUG off), with limits that a fuzzer would otherwise spend its budget on raised.
export DEBUG=false SECRET_KEY="fuzz-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" \
  DATABASE_URL="$DATABASE" MEDIA_ROOT="$WORK/media" STATIC_ROOT="$WORK/static" \
  ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0 \
  TASKS_BACKEND=django.tasks.backends.immediate.ImmediateBackend EMAIL_URL=consolemail:// \
  LOG_LEVEL=WARNING JWT_ACCESS_LIFETIME=3600 \
  THROTTLE_ANON=100000/min THROTTLE_PLAN_FREE=100000/min THROTTLE_PLAN_PLUS=100000/min \
  THROTTLE_PLAN_PREMIUM=100000/min THROTTLE_STAFF=100000/min THROTTLE_LOGIN=100000/min \
  THROTTLE_REGISTER=100000/min THROTTLE_AUTH_EMAIL=100000/min THROTTLE_AUTH_TOKEN=100000/min \
  THROTTLE_AUTH_EMAIL_ACCOUNT=100000/min THROTTLE_USER_EMAIL=100000/min
unset REDIS_URL

SUPER_EMAIL=fuzz-admin@example.com
FREE_EMAIL=fuzz-free@example.com
PASSWORD="Fuzz-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"

$PY manage.py migrate --noinput >/dev/null
SUPERUSER_EMAIL=$SUPER_EMAIL SUPERUSER_PASSWORD=$PASSWORD $PY manage.py ensure_superadmin >/dev/null
$PY manage.py shell -c "
from accounts.services import user_create
user_create(email='$FREE_EMAIL', password='$PASSWORD', plan='FREE', is_verified=True, send_verification=False)
"

PORT="$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
# One sync worker: SQLite takes one writer at a time, and the fuzzer sends one request at a time.
.venv/bin/gunicorn bazar.wsgi:application --bind "127.0.0.1:$PORT" --workers 1 --timeout 60 \
  --access-logfile /dev/null --error-logfile "$WORK/server.log" >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
  curl -fsS "$BASE/api/v1/health/" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$BASE/api/v1/health/" >/dev/null

token() {
  curl -fsS -H 'Content-Type: application/json' -d "{\"email\": \"$1\", \"password\": \"$PASSWORD\"}" \
    "$BASE/api/v1/auth/login/" | $PY -c 'import json, sys; print(json.load(sys.stdin)["access"])'
}
# Log in before fuzzing: the fuzzer's failed logins lock the address (as they should).
SUPER_TOKEN="$(token $SUPER_EMAIL)"
FREE_TOKEN="$(token $FREE_EMAIL)"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
fuzz() {
  local label="$1" token="$2"
  shift 2
  printf '\n==== fuzz as %s\n' "$label"
  .venv/bin/schemathesis run "$BASE/api/schema/" --checks "$CHECKS" --workers 1 \
    --max-examples "$FUZZ_MAX_EXAMPLES" --max-time "$FUZZ_MAX_TIME" --request-timeout 30 \
    --header "Authorization: Bearer $token" --suppress-health-check all --no-color \
    --report junit --report-dir "$WORK/reports/$label" "$@"
}

status=0
# Deleting one's own account ends the session, so it gets a pass of its own, last.
fuzz free-user "$FREE_TOKEN" --exclude-operation-id v1_users_me_destroy || status=1
fuzz superadmin "$SUPER_TOKEN" --exclude-operation-id v1_users_me_destroy || status=1
# A fresh account for it: the superadmin pass may have blocked, changed or deleted the others (it follows ids it
# reads from lists), and the fuzzer's failed logins have locked this address, so the token is minted directly.
DELETE_TOKEN="$($PY manage.py shell -c "
from accounts.services import user_create
from accounts.tokens import token_pair_for
user = user_create(email='fuzz-delete@example.com', password='$PASSWORD', is_verified=True, send_verification=False)
print(token_pair_for(user)['access'])
" | tail -n 1)"
fuzz account-deletion "$DELETE_TOKEN" --include-operation-id v1_users_me_destroy --max-time 15 || status=1

if [[ $status -ne 0 ]]; then
  echo "fuzz: failures above; server log follows" >&2
  tail -n 100 "$WORK/server.out" "$WORK/server.log" >&2 || true
  exit 1
fi
echo "fuzz: zero failures"
