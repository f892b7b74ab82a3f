#!/usr/bin/env bash
# A very short `make bench` (about three minutes; CI runs it): proves the benchmark harness works end to end
# (services, fresh database, seed, gunicorn with gunicorn.conf.py, wrk, py-spy, report). The numbers it prints mean
# nothing; the real run is `make bench`. Writes its report outside the tree so docs/benchmarks.md keeps the real numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
BENCH_DURATION=1s BENCH_WARMUP=0s BENCH_SOAK_DURATION=2s BENCH_MESSAGES=5000 BENCH_COMPARE_WORKERS=0 BENCH_PROFILE_REQUESTS=5 BENCH_HASH_ROUNDS=1 BENCH_SPY_SECONDS=3 \
  BENCH_DB=bazar_bench_smoke BENCH_WORKDIR="$out/work" BENCH_OUTPUT="$out/benchmarks.md" \
  .venv/bin/python scripts/bench/run.py > "$out/log" 2>&1 || { cat "$out/log"; exit 1; }
# Every row must have been measured (a skipped row says why in its note column) with no errors.
python3 - "$out/benchmarks.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## Per endpoint", 1)[1].split("\n## ", 1)[0]
rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| endpoint")]
bad = [row for row in rows if re.match(r"\| [^|]+ \| - \|", row) or not re.match(r"\| [^|]+ \| \d+ \|", row)]
assert len(rows) >= 12, f"expected 12 rows, got {len(rows)}"
assert not bad, "rows not measured:\n" + "\n".join(bad)
goals = text.split("## Goals", 1)[1]
assert re.search(r"\| login flood: users/me p99 during / normal \| \d", goals), "login flood not measured"
assert re.search(r"\| users/me share of the ceiling, by CPU \| \d", goals), "users/me share not measured"
assert "## Share of the ceiling" in text, "share rounds not reported"
spy = text.split("## Where a request's CPU goes, sampled under load (py-spy)", 1)[-1].split("\n## ", 1)[0]
assert re.search(r"\| all \| 100% / [\d.]+ \| 100% / [\d.]+ \| 100% / [\d.]+ \|", spy), "py-spy profiles missing:\n" + spy
print(f"bench smoke: {len(rows)} rows measured")
PY
