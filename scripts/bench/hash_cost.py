"""How much CPU one password hash costs: the configured hasher (what a login pays) and a grid of Argon2 parameters.

python scripts/bench/hash_cost.py          # a table
python scripts/bench/hash_cost.py --json  # for scripts/bench/run.py
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazar.settings")
os.environ.setdefault("SECRET_KEY", "hash-cost-measurement-only")

import django

django.setup()

from argon2.low_level import Type, hash_secret  # noqa: E402
from django.contrib.auth.hashers import get_hasher  # noqa: E402

# (time_cost, memory_cost KiB, parallelism); Django's default first, then candidates around 50-100 ms.
GRID = [(2, 102_400, 8), (2, 19_456, 1), (3, 24_576, 1), (4, 24_576, 1), (5, 24_576, 1), (2, 32_768, 1), (1, 47_104, 1)]


def cpu_ms(work, rounds: int) -> dict:
    """Median and minimum CPU time of `work` in ms (CPU, not wall: what the worker pays, whatever else runs)."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        work()
        samples.append((time.process_time() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    hasher = get_hasher("default")
    encoded = hasher.encode("correct-horse-battery-staple", hasher.salt())
    configured = {
        "hasher": f"{type(hasher).__module__}.{type(hasher).__qualname__}",
        "params": {k: getattr(hasher, k, None) for k in ("time_cost", "memory_cost", "parallelism")},
        "verify": cpu_ms(lambda: hasher.verify("wrong-password", encoded), args.rounds),
    }
    grid = []
    for t, m, p in GRID:

        def work(t=t, m=m, p=p):
            hash_secret(
                b"pw", secrets.token_bytes(16), time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID
            )

        grid.append({"time_cost": t, "memory_cost": m, "parallelism": p, **cpu_ms(work, args.rounds)})
    result = {"configured": configured, "grid": grid}
    if args.json:
        print(json.dumps(result))
        return
    print(f"configured: {configured['hasher']} {configured['params']}: verify {configured['verify']}")
    for row in grid:
        print(
            f"t={row['time_cost']} m={row['memory_cost'] // 1024} MiB p={row['parallelism']}: "
            f"{row['median_ms']} ms (min {row['min_ms']})"
        )


if __name__ == "__main__":
    main()
