"""Shared fixtures: an API client, users per role and plan, and a way to log them in."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import token_pair_for


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    # A fast hasher keeps the suite quick; Argon2 stays the production default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = settings.BASE_DIR / ".pytest-media"
    # Pages that link static files (the admin) need no collectstatic manifest; production keeps whitenoise's.
    static_storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": static_storage}


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def throttle_rates(settings, time_machine):
    """Set throttle rates for one test: throttle_rates(auth_login="2/min"), or a dict, and num_proxies=.

    Throttles count per clock-aligned window, so the clock stands still (unless the test moves it): no test's
    requests straddle a window boundary.
    """
    time_machine.move_to(timezone.now(), tick=False)

    def _set(rates: dict | None = None, /, *, num_proxies: int | None = None, **overrides) -> None:
        config = dict(settings.REST_FRAMEWORK)
        config["DEFAULT_THROTTLE_RATES"] = {**config["DEFAULT_THROTTLE_RATES"], **(rates or {}), **overrides}
        if num_proxies is not None:
            config["NUM_PROXIES"] = num_proxies
        settings.REST_FRAMEWORK = config

    return _set


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Counts what the Redis client sends from `start()` on: one send per round trip (a script, a pipeline)."""
    from redis.connection import Connection

    send = Connection.send_packed_command

    class RoundTrips:
        count = 0

        def start(self):
            def counted(connection, *args, **kwargs):
                self.count += 1
                return send(connection, *args, **kwargs)

            monkeypatch.setattr(Connection, "send_packed_command", counted)

    return RoundTrips()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def make_client():
    """An API client authenticated as the given user with a real access token."""

    def _make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
        return client

    return _make


@pytest.fixture
def free_user(db):
    return UserFactory(plan=Plan.FREE)


@pytest.fixture
def plus_user(db):
    return UserFactory(plan=Plan.PLUS)


@pytest.fixture
def premium_user(db):
    return UserFactory(plan=Plan.PREMIUM)


@pytest.fixture
def staff_admin(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def superadmin(db):
    return UserFactory(role=Role.SUPERADMIN)
