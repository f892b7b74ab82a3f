#!/usr/bin/env bash
# Print the path of a Python >= 3.12 (3.13 preferred), or fail with a clear message.
set -u
candidates=(python3.13 python3.12)
for root in "${PYENV_ROOT:-}" /root/.pyenv "${HOME:-/nonexistent}/.pyenv" /opt/pyenv; do
  [ -n "$root" ] || continue
  for dir in "$root"/versions/3.13* "$root"/versions/3.12*; do
    [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
  done
done
candidates+=(/usr/local/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.12 python3)
for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "No Python >= 3.12 found. Install python3.13 (or 3.12) and try again." >&2
exit 1
