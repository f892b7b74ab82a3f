"""Login lockout per account and per client address (accounts/lockout.py)."""

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import errors
from accounts.lockout import lockout_clear, lockout_seconds_left
from accounts.tests.factories import UserFactory

LOGIN = "api:auth:login"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 5
    settings.LOGIN_FAILURE_WINDOW = 600
    settings.LOGIN_LOCKOUT_DURATION = 300


def _login(client, email, password, address="203.0.113.7", **extra):
    return client.post(reverse(LOGIN), {"email": email, "password": password}, REMOTE_ADDR=address, **extra)


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_login_locks_account_with_retry_after_when_failures_reach_limit(api_client, free_user, password):
    assert _login(api_client, free_user.email, "wrong-1").status_code == 401
    assert _login(api_client, free_user.email, "wrong-2").status_code == 401

    third = _login(api_client, free_user.email, "wrong-3")

    assert third.status_code == 429
    assert _codes(third) == [errors.ACCOUNT_LOCKED]
    assert 290 <= int(third["Retry-After"]) <= 300
    # The right password does not get through a lock, and the answer still carries the wait.
    locked = _login(api_client, free_user.email, password)
    assert locked.status_code == 429
    assert _codes(locked) == [errors.ACCOUNT_LOCKED]
    assert int(locked["Retry-After"]) > 0


def test_login_lock_applies_from_other_addresses(api_client, free_user, password):
    for attempt in range(3):
        _login(api_client, free_user.email, f"wrong-{attempt}", address=f"198.51.100.{attempt}")

    assert _login(api_client, free_user.email, password, address="192.0.2.200").status_code == 429


def test_login_lock_is_case_insensitive_on_email(api_client, free_user, password):
    for attempt in range(3):
        _login(api_client, free_user.email.upper(), f"wrong-{attempt}")

    assert _login(api_client, free_user.email, password, address="192.0.2.9").status_code == 429


def test_login_lockout_unlocks_on_its_own_after_duration(api_client, free_user, password):
    with time_machine.travel(0, tick=False) as traveller:
        for attempt in range(3):
            _login(api_client, free_user.email, f"wrong-{attempt}")
        assert _login(api_client, free_user.email, password).status_code == 429

        traveller.shift(301)

        assert _login(api_client, free_user.email, password).status_code == 200


def test_login_lockout_clear_unlocks_at_once(api_client, free_user, password):
    for attempt in range(3):
        _login(api_client, free_user.email, f"wrong-{attempt}")
    assert lockout_seconds_left(email=free_user.email) > 0

    lockout_clear(email=free_user.email)

    assert lockout_seconds_left(email=free_user.email) == 0
    assert _login(api_client, free_user.email, password).status_code == 200


def test_login_success_forgets_account_failures(api_client, free_user, password):
    _login(api_client, free_user.email, "wrong-1")
    _login(api_client, free_user.email, "wrong-2")
    assert _login(api_client, free_user.email, password).status_code == 200

    assert _login(api_client, free_user.email, "wrong-3").status_code == 401
    assert _login(api_client, free_user.email, "wrong-4").status_code == 401


def test_login_locks_client_address_after_failures_on_many_accounts(api_client, db, password):
    for attempt in range(5):
        response = _login(api_client, f"nobody{attempt}@example.com", "wrong")
    assert response.status_code == 429
    assert _codes(response) == [errors.ACCOUNT_LOCKED]

    # A real account with the right password is refused from that address, not from another one.
    user = UserFactory()
    assert _login(api_client, user.email, password).status_code == 429
    assert _login(api_client, user.email, password, address="192.0.2.55").status_code == 200


def test_login_lockout_counts_unknown_emails_like_known_ones(api_client, db):
    """No account enumeration: a missing account locks exactly like an existing one."""
    responses = [_login(api_client, "ghost@example.com", "wrong").status_code for _ in range(4)]

    assert responses == [401, 401, 429, 429]


def test_login_lockout_never_answers_500_when_cache_holds_garbage(api_client, free_user, password):
    from django.core.cache import cache

    from accounts.lockout import _keys

    for key in _keys("lock", email=free_user.email, address="203.0.113.7"):
        cache.set(key, "not-a-timestamp")
    for key in _keys("failures", email=free_user.email, address="203.0.113.7"):
        cache.set(key, "not-a-number")

    assert _login(api_client, free_user.email, "wrong").status_code in {401, 429}
    lockout_clear(email=free_user.email, address="203.0.113.7")
    assert _login(api_client, free_user.email, password).status_code == 200


@pytest.mark.parametrize("spoofed", ["10.0.0.1", "1.2.3.4, 5.6.7.8", "evil"])
def test_login_lockout_ignores_forwarded_for_without_trusted_proxy(api_client, free_user, password, spoofed, settings):
    settings.LOGIN_FAILURE_LIMIT = 100  # only the address limit is in play
    for attempt in range(5):
        _login(api_client, f"nobody{attempt}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"{spoofed}{attempt}")

    response = _login(api_client, free_user.email, password, HTTP_X_FORWARDED_FOR="192.0.2.1")

    assert response.status_code == 429


def test_login_lockout_keys_on_last_hop_behind_one_trusted_proxy(free_user, password, settings):
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()
    proxy = "10.0.0.2"
    for attempt in range(5):
        # The client controls everything left of the hop its proxy appended.
        _login(
            client,
            f"nobody{attempt}@example.com",
            "wrong",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"6.6.6.{attempt}, 198.51.100.9",
        )

    same_client = _login(client, free_user.email, password, address=proxy, HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.9")
    other_client = _login(client, free_user.email, password, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.10")

    assert same_client.status_code == 429
    assert other_client.status_code == 200
