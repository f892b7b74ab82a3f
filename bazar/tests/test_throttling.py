"""The window counter behind every throttle: one cache round trip per request, clock-aligned windows, and
requests let through when the cache is unreachable."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django_redis.cache import RedisCache

from bazar.throttling import WindowRateThrottle

WINDOW_START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class OneKeyThrottle(WindowRateThrottle):
    scope = "test_scope"

    def get_cache_key(self, request, view):
        return "throttle_test"


class CountingCache:
    """The real cache, counting the calls made to it."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def two_a_minute(throttle_rates, time_machine):
    throttle_rates(test_scope="2/min")
    time_machine.move_to(WINDOW_START + timedelta(seconds=20), tick=False)


def _allowed(throttle_class=OneKeyThrottle) -> tuple[bool, float | None]:
    throttle = throttle_class()
    allowed = throttle.allow_request(request=None, view=None)
    return allowed, None if allowed else throttle.wait()


def test_refuses_over_the_rate_until_the_window_ends(two_a_minute, time_machine):
    answers = [_allowed() for _ in range(3)]
    time_machine.move_to(WINDOW_START + timedelta(seconds=60), tick=False)

    assert answers == [(True, None), (True, None), (False, 40.0)]
    assert _allowed() == (True, None)


def test_costs_one_cache_call_per_request_once_the_window_has_begun(two_a_minute, monkeypatch):
    counting = CountingCache(cache)
    monkeypatch.setattr(OneKeyThrottle, "cache", counting)

    _allowed()
    first = list(counting.calls)
    counting.calls.clear()
    _allowed()
    _allowed()

    assert first == ["incr", "add"]
    assert counting.calls == ["incr", "incr"]


def test_lets_requests_through_when_the_cache_is_unreachable(two_a_minute, monkeypatch):
    unreachable = RedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2}}
    )
    monkeypatch.setattr(OneKeyThrottle, "cache", unreachable)

    assert [_allowed() for _ in range(3)] == [(True, None)] * 3


def test_no_scope_means_no_limit(throttle_rates):
    class Unscoped(OneKeyThrottle):
        scope = None

    assert all(_allowed(Unscoped)[0] for _ in range(5))
