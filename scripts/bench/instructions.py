"""Instructions per request, counted by valgrind (callgrind): the same number on every run, whatever else the
machine is doing, so a change worth 1% of a request shows, where the times `make bench` measures move by 20% between
two runs on a shared machine. Needs the database seeded by `make bench` (reads its seed.json) and valgrind.

    python scripts/bench/instructions.py me users            # names from seed.json's "paths"
    python scripts/bench/instructions.py me --requests 200

Each endpoint runs twice in a fresh process under callgrind, after the same warm-up: once with no measured requests
and once with N; the difference, divided by N, is what one request costs in user space, in-process (the WSGI
application called as gunicorn calls it, logging included; no network, no gunicorn, no kernel). Counts vary by a
percent or less between runs (random ids, clock readings); PostgreSQL and Redis are not counted. About a minute
per endpoint for users/me, more for the lists.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 (make bench's environment and paths)

WARMUP = 50
# A Redis database of its own, emptied by every run: each starts with the same cache and throttle state.
REDIS_DB = os.environ.get("BENCH_INSTRUCTIONS_REDIS_DB", "13")
COLLECTED = re.compile(r"Collected : (\d+)")


def _count(name: str, requests: int, seed: Path) -> int:
    env = {
        **os.environ,
        **run.APP_ENV,
        **run.UNTHROTTLED,
        "REDIS_URL": run.REDIS_URL.rsplit("/", 1)[0] + "/" + REDIS_DB,
        "PYTHONHASHSEED": "0",
    }
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    command += ["--run", name, "--requests", str(requests), "--seed", str(seed)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    found = COLLECTED.search(result.stderr)
    if result.returncode != 0 or found is None:
        sys.exit(f"{name}: the run under valgrind failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))


def _run_here(name: str, requests: int, seed_path: Path) -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    import logging

    import cpu_profile  # sets Django up from the environment

    devnull = open(os.devnull, "w")  # noqa: SIM115 - for the life of this process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)  # the request lines are formatted and written, as in production
    seed = json.loads(seed_path.read_text())
    path = seed["paths"][name]
    for _ in range(WARMUP):
        if cpu_profile.call(path, seed["me_access"]) != 200:
            sys.exit(f"{name}: not 200")
    for _ in range(requests):
        cpu_profile.call(path, seed["me_access"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=Path, default=run.WORK / "seed.json")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run_here(args.run, args.requests, args.seed)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is missing (Debian: apt-get install valgrind)")
    if not args.seed.exists():
        sys.exit(f"{args.seed} is missing: run `make bench` first")
    for name in args.names or ["me"]:
        base, measured = _count(name, 0, args.seed), _count(name, args.requests, args.seed)
        print(f"{name}: {(measured - base) / args.requests:,.0f} instructions per request", flush=True)


if __name__ == "__main__":
    main()
