"""The generation protocol behind the cached signed-in user and assistants list (bazar/caching.py)."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django_redis.cache import RedisCache

from bazar import caching
from bazar.caching import _new_generations, cached, cached_and_counted, start_new_generations


def _read(value: str):
    return cached("entry", "generation", lambda: value, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_value_built_before_the_write_committed_is_not_served_after_the_commit():
    _new_generations(["generation"])  # the write starts a generation at once...
    built_meanwhile = _read("as it was")  # ...another request reads rows that do not show the write yet...
    served_before_the_commit = _read("read again")

    _new_generations(["generation"])  # ...and the commit starts another one

    assert (built_meanwhile, served_before_the_commit) == ("as it was", "as it was")
    assert _read("as it is now") == "as it is now"


@pytest.mark.django_db(transaction=True)
def test_an_evicted_generation_orphans_what_was_cached():
    _read("old")
    cache.delete("generation")

    assert _read("new") == "new"


@pytest.mark.django_db
def test_nothing_read_inside_a_transaction_is_stored():
    # The default test runs inside a transaction, like a read made after a write that may still roll back.
    start_new_generations(["generation"])

    assert _read("uncommitted") == "uncommitted"
    assert _read("built again") == "built again"


# ---------------------------------------------------------------- a read and a counter in one round trip
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="Redis only: the PostgreSQL + Redis pass runs it")


def _counted_read(value: str = "value"):
    return cached_and_counted("entry", "generation", lambda: value, 60, counter="counter", counter_timeout=61)


@pytest.mark.django_db(transaction=True)
def test_a_counted_read_serves_the_value_and_counts_every_call():
    assert [_counted_read() for _ in range(3)] == [("value", 1), ("value", 2), ("value", 3)]


@pytest.mark.django_db(transaction=True)
def test_without_cache_reads_the_value_is_built_and_still_counted(settings):
    settings.CACHE_READS = False

    assert [_counted_read(v) for v in ("a", "b")] == [("a", 1), ("b", 2)]


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_counted_read_of_a_cached_value_is_one_redis_round_trip(redis_round_trips):
    _counted_read()  # caches the value
    redis_round_trips.start()

    assert _counted_read() == ("value", 2)
    assert redis_round_trips.count == 1


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_the_counter_lives_its_timeout_from_its_first_count(time_machine):
    _counted_read()
    first_ttl = cache.ttl("counter")
    _counted_read()

    assert 59 <= first_ttl <= 61
    assert cache.ttl("counter") <= first_ttl  # a later count does not extend it


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_redis_that_forgot_the_script_is_taught_it_again():
    """After a Redis restart or SCRIPT FLUSH the server no longer knows the script's hash."""
    _counted_read()
    cache.client.get_client(write=True).script_flush()

    assert _counted_read() == ("value", 2)


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_cache_builds_the_value_and_counts_nothing(monkeypatch):
    unreachable = RedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2}}
    )
    monkeypatch.setattr(caching, "cache", unreachable)

    assert _counted_read("built") == ("built", None)


# ---------------------------------------------------------------- counters (the throttles' windows)
def test_a_counter_counts_from_one():
    assert [caching.increment(cache, "window", 30) for _ in range(3)] == [1, 2, 3]


@needs_redis
def test_a_counter_lives_its_timeout_from_its_first_increment_in_one_round_trip(redis_round_trips):
    redis_round_trips.start()
    caching.increment(cache, "window", 30)
    first_trips = redis_round_trips.count
    first_ttl = cache.ttl("window")
    caching.increment(cache, "window", 30)

    assert first_trips == 1  # the first increment too: no failed INCR, then ADD
    assert 29 <= first_ttl <= 30
    assert cache.ttl("window") <= first_ttl
    assert cache.get("window") == 2  # a plain integer, as Django's cache.incr leaves it


def test_a_counter_on_an_unreachable_redis_counts_nothing():
    unreachable = RedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2}}
    )

    assert caching.increment(unreachable, "window", 30) is None
