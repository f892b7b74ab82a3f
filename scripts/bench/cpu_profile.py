"""Where a request's CPU goes: call the WSGI application in-process (what gunicorn calls), under cProfile, and
split the time by package. Needs the database seeded by `make bench` (reads its seed.json) and the same environment.

    python scripts/bench/cpu_profile.py me users assistants messages   # names from seed.json's "paths"

Percentages are of CPU time (cProfile on process_time), grouped by the package whose code ran; time spent in the
standard library and builtins counts for the package that called it.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB = os.path.dirname(os.__file__)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazar.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

GROUPS = [
    ("psycopg", "psycopg (driver)"),
    ("django/db", "Django ORM"),
    ("rest_framework/serializers", "DRF serializers"),
    ("rest_framework/fields", "DRF serializers"),
    ("rest_framework/utils", "DRF serializers"),
    ("rest_framework_simplejwt", "JWT"),
    ("jwt/", "JWT"),
    ("rest_framework", "DRF views, throttles, pagination, rendering"),
    ("django_filters", "django-filter"),
    ("django_redis", "cache (Redis)"),
    ("redis/", "cache (Redis)"),
    ("corsheaders", "middleware"),
    ("whitenoise", "middleware"),
    ("django/middleware", "middleware"),
    ("django/contrib", "middleware"),
    ("django/core/handlers", "Django request handling"),
    ("django/http", "Django request handling"),
    ("django/urls", "Django request handling"),
    ("logging", "logging"),
    ("json", "JSON"),
    ("/bazar/", "bazar, accounts, organizations, assistants"),
    ("/accounts/", "bazar, accounts, organizations, assistants"),
    ("/organizations/", "bazar, accounts, organizations, assistants"),
    ("/assistants/", "bazar, accounts, organizations, assistants"),
]


def group_of(filename: str) -> str:
    for needle, label in GROUPS:
        if needle in filename:
            return label
    return "other (standard library, builtins)"


def _is_library_code(filename: str) -> bool:
    return filename == "~" or filename.startswith("<") or filename.startswith(STDLIB + "/")


def call(path: str, token: str) -> int:
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    status = []
    body = application(environ, lambda s, h, exc_info=None: status.append(s))
    for _ in body:
        pass
    getattr(body, "close", lambda: None)()
    return int(status[0].split()[0])


def profile(name: str, path: str, token: str, n: int) -> str:
    for _ in range(20):
        assert call(path, token) == 200, f"{name}: not 200"
    start = time.process_time()
    for _ in range(n):
        call(path, token)
    cpu_ms = (time.process_time() - start) / n * 1000
    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting on PostgreSQL or Redis is not counted
    profiler.enable()
    for _ in range(n):
        call(path, token)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tottime, _ct, callers) in stats.items():
        if _is_library_code(filename) and callers:
            # Builtins and the standard library count for whoever called them (one level up).
            weights = {caller: info[2] for caller, info in callers.items()}
            total_weight = sum(weights.values())
            for caller, weight in weights.items():
                share = weight / total_weight if total_weight else 1 / len(weights)
                by_group[group_of(caller[0])] += tottime * share
        else:
            by_group[group_of(filename)] += tottime
    total = sum(by_group.values()) or 1
    lines = [f"{name}: {cpu_ms:.2f} ms CPU per request (unprofiled, {n} requests)"]
    lines += [
        f"  {100 * spent / total:5.1f}%  {label}"
        for label, spent in sorted(by_group.items(), key=lambda item: -item[1])
        if spent / total >= 0.005
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--seed", type=Path, default=Path("/tmp/bazar-bench/seed.json"))  # noqa: S108
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--out", type=Path, help="write the report here (stdout carries the request logs)")
    args = parser.parse_args()
    seed = json.loads(args.seed.read_text())
    report = "\n\n".join(profile(name, seed["paths"][name], seed["me_access"], args.n) for name in args.names)
    if args.out:
        args.out.write_text(report + "\n")
    else:
        print(report)


if __name__ == "__main__":
    main()
