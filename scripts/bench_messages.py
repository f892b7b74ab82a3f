"""Message list latency through the real API: the first page and a deep cursor page of one thread, with 1 000 and
then 100 000 messages in it. The goal: the deep page within 1.3x of the first at 100 000 (keyset pagination).

    DEBUG=false .venv/bin/python scripts/bench_messages.py              # SQLite (a throwaway file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python scripts/bench_messages.py
                                                                        # PostgreSQL: creates, then drops, the
                                                                        # database BENCH_DATABASE_NAME (bench_messages)
Options: --sizes 1000,100000  --repeat 200  --page-size 100  --json  --explain (PostgreSQL query plans)

Each request goes through the whole stack (middleware, JWT authentication, throttling, scoping, pagination,
serialization) with Django's test client; no network. The database is created for the run and dropped after it,
so the project's own database is never touched.
"""

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazar.settings")
os.environ.setdefault("SECRET_KEY", "bench-messages-only-not-a-secret-key-0123456789")
os.environ.setdefault("TEST_DATABASE_NAME", os.environ.get("BENCH_DATABASE_NAME", "bench_messages"))
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log line per measured request
# Hundreds of requests a minute from one user: lift the plan rate so the throttle counts but never refuses.
os.environ.setdefault("THROTTLE_PLAN_PLUS", "1000000/min")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

BATCH = 5_000
START = datetime(2025, 1, 1, tzinfo=UTC)


@contextmanager
def explicit_created_at(model):
    """Let bulk_create keep the created_at we give (auto_now_add would stamp every row "now")."""
    field = model._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def seed(thread, start_index: int, stop_index: int) -> None:
    """Messages start_index..stop_index-1 of the thread, one millisecond apart, as a busy thread would have."""
    from assistants.models import Message, MessageRole

    with explicit_created_at(Message):
        for low in range(start_index, stop_index, BATCH):
            Message.objects.bulk_create(
                Message(
                    thread=thread,
                    role=MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT,
                    content=f"Message {i}: " + "lorem ipsum dolor sit amet " * 6,
                    created_at=START + timedelta(milliseconds=i),
                )
                for i in range(low, min(low + BATCH, stop_index))
            )
    assert Message.objects.filter(thread=thread, created_at__gte=START + timedelta(days=1)).count() == 0


def cursor_after(created_at: datetime) -> str:
    """The cursor DRF's CursorPagination would put in a `next` link positioned right after `created_at`."""
    return base64.b64encode(urlencode({"p": str(created_at)}).encode()).decode()


def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, round(len(samples) * 0.95) - 1)], 2),
        "min_ms": round(samples[0], 2),
    }


def measure(client, url: str, cases: dict[str, dict], repeat: int) -> tuple[dict, dict]:
    """Time every case `repeat` times, alternating between cases so that load from elsewhere hits them alike."""
    samples, pages = {name: [] for name in cases}, {}
    for params in cases.values():  # warm caches and the connection
        for _ in range(5):
            client.get(url, params, secure=True)
    for _ in range(repeat):
        for name, params in cases.items():
            start = time.perf_counter()
            response = client.get(url, params, secure=True)
            samples[name].append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
            pages[name] = response
    return {name: summary(values) for name, values in samples.items()}, {n: r.json() for n, r in pages.items()}


def explain(thread, position: datetime | None, page_size: int) -> str:
    from assistants.models import Message

    queryset = Message.objects.filter(thread=thread)
    if position is not None:
        queryset = queryset.filter(created_at__gt=position)
    return queryset.order_by("created_at", "id")[: page_size + 1].explain(analyze=True)


def database_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return version.split(" on ")[0] if connection.vendor == "postgresql" else f"SQLite {version}"


def run(sizes: list[int], repeat: int, page_size: int, show_plans: bool) -> dict:
    from accounts.roles import Plan
    from accounts.tests.factories import UserFactory
    from accounts.tokens import token_pair_for
    from assistants.models import Message
    from assistants.tests.factories import ThreadFactory

    user = UserFactory(plan=Plan.PLUS)
    thread = ThreadFactory(owner=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
    url = reverse("api:thread-message-list", kwargs={"thread_pk": thread.pk})

    results, seeded = {"database": database_version()}, 0
    for size in sorted(sizes):
        started = time.perf_counter()
        seed(thread, seeded, size)
        seeded = size
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE messages")
        seed_s = time.perf_counter() - started

        # The deep page starts two pages before the end: what a client reaches by following `next` links.
        anchor_index = size - 2 * page_size - 1
        anchor = Message.objects.filter(thread=thread).order_by("created_at", "id")[anchor_index]
        cases = {
            "first_page": {"page_size": page_size},
            "deep_page": {"page_size": page_size, "cursor": cursor_after(anchor.created_at)},
        }
        stats, pages = measure(client, url, cases, repeat)
        first, deep, first_page, deep_page = stats["first_page"], stats["deep_page"], *pages.values()
        assert first_page["results"][0]["content"].startswith("Message 0:"), "first page must start at the start"
        assert deep_page["results"][0]["content"].startswith(f"Message {anchor_index + 1}:"), "deep page misplaced"
        assert len(deep_page["results"]) == page_size and deep_page["next"]

        results[size] = {
            "seed_seconds": round(seed_s, 1),
            "first_page": first,
            "deep_page": deep,
            "deep_over_first_median": round(deep["median_ms"] / first["median_ms"], 3),
        }
        if show_plans and connection.vendor == "postgresql":
            print(f"--- plan, first page, {size} messages\n{explain(thread, None, page_size)}")
            print(f"--- plan, deep page, {size} messages\n{explain(thread, anchor.created_at, page_size)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="thread sizes to measure, comma-separated")
    parser.add_argument("--repeat", type=int, default=200, help="measured requests per case")
    parser.add_argument("--page-size", type=int, default=100, help="page_size of the requests (the API caps it at 100)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL query plans (EXPLAIN ANALYZE)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if min(sizes) < 3 * args.page_size:
        parser.error("every size must hold at least three pages")

    setup_test_environment()
    if connection.vendor == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="bench_messages_")
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = run(sizes, args.repeat, args.page_size, args.explain)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    report = {
        "database": results.pop("database"),
        "page_size": args.page_size,
        "repeat": args.repeat,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"database: {report['database']}; page_size={args.page_size}; {args.repeat} requests per case")
    print(f"{'messages':>9}  {'case':<10} {'median ms':>10} {'p95 ms':>8} {'min ms':>8}")
    for size, result in results.items():
        for case in ("first_page", "deep_page"):
            stats = result[case]
            print(f"{size:>9}  {case:<10} {stats['median_ms']:>10} {stats['p95_ms']:>8} {stats['min_ms']:>8}")
        ratio, seconds = result["deep_over_first_median"], result["seed_seconds"]
        print(f"{size:>9}  deep/first median ratio {ratio} (seeded in {seconds} s)")


if __name__ == "__main__":
    main()
