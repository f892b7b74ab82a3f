"""The public auth endpoints are throttled per client address, with rates from settings."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.utils import error_codes

pytestmark = pytest.mark.django_db

# (url name, scope, a body that the endpoint refuses without touching any account)
ENDPOINTS = [
    ("api:auth:login", "auth_login", {}),
    ("api:auth:register", "auth_register", {}),
    ("api:auth:verify", "auth_email", {}),
    ("api:auth:verify-resend", "auth_email", {}),
    ("api:auth:forgot-password", "auth_email", {}),
    ("api:auth:reset-password", "auth_email", {}),
    ("api:auth:refresh", "auth_token", {}),
    ("api:auth:logout", "auth_token", {}),
]


def _client(address: str = "203.0.113.7", **headers) -> APIClient:
    return APIClient(REMOTE_ADDR=address, **headers)


@pytest.mark.parametrize(("name", "scope", "body"), ENDPOINTS)
def test_auth_endpoint_is_throttled_per_client_address(throttle_rates, name, scope, body):
    throttle_rates(**{scope: "2/min"})
    client, url = _client(), reverse(name)

    statuses = [client.post(url, body).status_code for _ in range(2)]
    throttled = client.post(url, body)

    assert 429 not in statuses
    assert throttled.status_code == 429
    assert throttled.json()["type"] == "client_error"
    assert error_codes(throttled) == ["throttled"]
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert _client("198.51.100.1").post(url, body).status_code != 429


def test_throttle_keeps_scopes_apart(throttle_rates):
    throttle_rates(auth_login="1/min", auth_register="1/min")
    client = _client()

    client.post(reverse("api:auth:login"), {})
    assert client.post(reverse("api:auth:login"), {}).status_code == 429

    assert client.post(reverse("api:auth:register"), {}).status_code == 400


def test_throttle_releases_after_the_window(throttle_rates, time_machine):
    throttle_rates(auth_login="1/min")
    time_machine.move_to(timezone.now(), tick=False)
    client = _client()
    client.post(reverse("api:auth:login"), {})
    assert client.post(reverse("api:auth:login"), {}).status_code == 429

    time_machine.shift(timedelta(seconds=61))

    assert client.post(reverse("api:auth:login"), {}).status_code == 400


def test_throttle_ignores_spoofed_forwarded_for_without_trusted_proxy(throttle_rates):
    throttle_rates(auth_login="1/min")
    url = reverse("api:auth:login")
    _client().post(url, {})

    response = _client(HTTP_X_FORWARDED_FOR="192.0.2.99").post(url, {})

    assert response.status_code == 429


def test_throttle_keys_on_forwarded_client_behind_trusted_proxy(throttle_rates, settings):
    throttle_rates(auth_login="1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = reverse("api:auth:login")
    proxy = "10.0.0.1"
    _client(proxy, HTTP_X_FORWARDED_FOR="192.0.2.1").post(url, {})

    other_client = _client(proxy, HTTP_X_FORWARDED_FOR="192.0.2.2").post(url, {})
    same_client = _client(proxy, HTTP_X_FORWARDED_FOR="192.0.2.1").post(url, {})

    assert other_client.status_code == 400
    assert same_client.status_code == 429


def test_authenticated_api_is_throttled_per_plan(throttle_rates, make_client, free_user, premium_user):
    throttle_rates(plan_FREE="1/min", plan_PREMIUM="5/min")
    free, premium = make_client(free_user), make_client(premium_user)
    url = reverse("api:user-me")

    assert free.get(url).status_code == 200
    assert free.get(url).status_code == 429
    assert [premium.get(url).status_code for _ in range(3)] == [200, 200, 200]
