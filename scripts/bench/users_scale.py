"""Does the users list grow with the caller's organizations, or with the whole platform?

`make bench` seeds 2 702 users. This copies its database, adds N users who belong to no organization (all created
after everyone else: the worst case for a scan in created_at order), and times the queries the users list runs
(count and page, captured from a real request) for two callers, one in a 200-member and one in a 2 000-member
organization, with EXPLAIN ANALYZE on both databases. The copy is dropped afterwards.

    make bench                                               # once: seeds bazar_bench and its seed.json
    .venv/bin/python scripts/bench/users_scale.py            # 3 000 000 more users (about 2 minutes)
    .venv/bin/python scripts/bench/users_scale.py --users 300000
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 (make bench's environment, database and paths)

CALLERS = {"me_access": "200-member organization", "big_access": "2 000-member organization"}
REPEAT = 5


def _admin():
    import psycopg

    return psycopg.connect(run.ADMIN_URL, autocommit=True)


def copy_database(source: str, target: str, users: int) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    import psycopg

    with psycopg.connect(run.ADMIN_URL.rsplit("/", 1)[0] + "/" + target, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO users (password, id, email, full_name, role, plan, is_verified, verified_at, is_blocked,
                               blocked_reason, is_active, token_version, created_at, updated_at)
            SELECT '!', gen_random_uuid(), 'platform' || g || '@example.com', 'Platform user ' || g, 'USER', 'FREE',
                   true, now(), false, '', true, 0, now() + interval '1 day' - g * interval '1 second', now()
            FROM generate_series(1, %s) AS g
            """,
            [users],
        )
        conn.execute("ANALYZE")


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(database: str, seed_path: Path) -> dict:
    """Run `--measure` in a process whose Django settings point at `database`."""
    env = {**os.environ, **run.APP_ENV, "DATABASE_URL": run.ADMIN_URL.rsplit("/", 1)[0] + "/" + database}
    out = subprocess.run(  # noqa: S603 - this script
        [sys.executable, __file__, "--measure", "--seed", str(seed_path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _measure_here(seed_path: Path) -> None:
    import cpu_profile  # sets Django up from the environment
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed = json.loads(seed_path.read_text())
    result = {}
    for caller in CALLERS:
        cpu_profile.call(seed["paths"]["users"], seed[caller])  # the signed-in user is cached from here on
        with CaptureQueriesContext(connection) as captured:
            assert cpu_profile.call(seed["paths"]["users"], seed[caller]) == 200
        times = []
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                best = float("inf")
                for _ in range(REPEAT):
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
                    best = min(best, cursor.fetchone()[0][0]["Execution Time"])
                times.append(best)
        result[caller] = times
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3_000_000)
    parser.add_argument("--seed", type=Path, default=run.WORK / "seed.json")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure_here(args.seed)
        return
    if not args.seed.exists():
        sys.exit(f"{args.seed} is missing: run `make bench` first")
    scaled = f"{run.DB_NAME}_users_scale"
    started = time.monotonic()
    base = measure(run.DB_NAME, args.seed)
    run.log(f"copy {run.DB_NAME} to {scaled} and add {args.users:,} users")
    try:
        copy_database(run.DB_NAME, scaled, args.users)
        run.log("measure")
        big = measure(scaled, args.seed)
    finally:
        drop_database(scaled)
    seeded = json.loads(args.seed.read_text())["counts"]["users"]
    print(f"| caller | queries, {seeded:,} users (ms) | queries, {seeded + args.users:,} users (ms) |")
    print("|---|---|---|")
    for caller, label in CALLERS.items():
        print(
            f"| {label} | {' + '.join(f'{t:.2f}' for t in base[caller])} "
            f"| {' + '.join(f'{t:.2f}' for t in big[caller])} |"
        )
    run.log(f"done in {time.monotonic() - started:.0f}s (EXPLAIN ANALYZE execution times, best of {REPEAT})")


if __name__ == "__main__":
    main()
