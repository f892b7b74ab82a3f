#!/usr/bin/env bash
# Fault tests with real servers (bazar/tests/test_faults.py): a throwaway Redis killed and restarted mid-test, a
# throwaway PostgreSQL cluster restarted under load, and multi-step writes that fail half-way. With CI=true a missing
# redis-server or PostgreSQL fails the tests instead of skipping them, so this installs Debian's packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

make --quiet venv
CI="${CI:-true}" .venv/bin/python -m pytest bazar/tests/test_faults.py -p no:cacheprovider -q -rs "$@"
