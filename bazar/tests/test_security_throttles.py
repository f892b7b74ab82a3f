"""Abuse limits: throttles on the public auth endpoints and per-plan API rates, keyed on the real client address."""

import pytest
from django.urls import reverse
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.tests.factories import UserFactory
from bazar.throttling import AccountEmailThrottle, email_digest
from organizations import services as org_services

# Every public auth endpoint that sends mail or checks a secret, with a body that passes validation.
PUBLIC_ENDPOINTS = {
    "api:auth:register": ("auth_register", lambda n: {"email": f"new{n}@example.com", "password": "Zq8!long-enough"}),
    "api:auth:verify": ("auth_email", lambda n: {"token": f"garbage-{n}"}),
    "api:auth:verify-resend": ("auth_email", lambda n: {"email": f"someone{n}@example.com"}),
    "api:auth:forgot-password": ("auth_email", lambda n: {"email": f"someone{n}@example.com"}),
    "api:auth:reset-password": ("auth_email", lambda n: {"token": f"garbage-{n}", "password": "Zq8!long-enough"}),
    "api:auth:login": ("auth_login", lambda n: {"email": f"someone{n}@example.com", "password": "wrong"}),
}


@pytest.fixture
def low_rates(throttle_rates, settings):
    """Three requests a minute for every scope, so a test hits the limit quickly."""
    throttle_rates(dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "3/min"))


@pytest.fixture
def lenient_lockout(settings):
    settings.LOGIN_FAILURE_LIMIT = settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 1000


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


@pytest.mark.parametrize("name", PUBLIC_ENDPOINTS)
def test_public_auth_endpoint_throttles_per_address(api_client, db, low_rates, lenient_lockout, name):
    _, body = PUBLIC_ENDPOINTS[name]
    for n in range(3):
        assert api_client.post(reverse(name), body(n), REMOTE_ADDR="203.0.113.1").status_code != 429

    throttled = api_client.post(reverse(name), body(3), REMOTE_ADDR="203.0.113.1")
    elsewhere = api_client.post(reverse(name), body(4), REMOTE_ADDR="203.0.113.2")

    assert throttled.status_code == 429
    assert _codes(throttled) == ["throttled"]
    assert int(throttled["Retry-After"]) > 0
    assert elsewhere.status_code != 429


@pytest.mark.parametrize("name", PUBLIC_ENDPOINTS)
def test_public_auth_throttle_ignores_forwarded_for_without_trusted_proxy(
    api_client, db, low_rates, lenient_lockout, name
):
    _, body = PUBLIC_ENDPOINTS[name]
    for n in range(3):
        api_client.post(reverse(name), body(n), REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")

    dodge = api_client.post(reverse(name), body(3), REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert dodge.status_code == 429


def test_public_auth_throttle_uses_proxy_appended_hop_behind_one_trusted_proxy(
    api_client, db, throttle_rates, lenient_lockout, settings
):
    throttle_rates(dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "3/min"), num_proxies=1)
    url, proxy = reverse("api:auth:forgot-password"), "10.0.0.2"
    for n in range(3):
        # The client forges the left part; the trusted proxy appends the address it saw.
        # A new address each time: only the per-client throttle is under test (forgot-password also counts per account).
        api_client.post(
            url, {"email": f"a{n}@example.com"}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.7"
        )

    forged = api_client.post(
        url, {"email": "b@example.com"}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="8.8.8.8, 198.51.100.7"
    )
    other_client = api_client.post(
        url, {"email": "c@example.com"}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.8"
    )

    assert forged.status_code == 429
    assert other_client.status_code == 202


@pytest.mark.parametrize(
    ("user_kwargs", "scope"),
    [
        ({"plan": "FREE"}, "plan_FREE"),
        ({"plan": "PLUS"}, "plan_PLUS"),
        ({"plan": "PREMIUM"}, "plan_PREMIUM"),
        ({"role": "ADMIN"}, "plan_staff"),
    ],
)
def test_api_rate_follows_the_plan(make_client, db, throttle_rates, settings, user_kwargs, scope):
    throttle_rates({**dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100/min"), scope: "2/min"})
    client = make_client(UserFactory(**user_kwargs))
    url = reverse("api:user-me")

    statuses = [client.get(url).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_api_rate_is_per_user_not_per_address(make_client, db, throttle_rates):
    throttle_rates({"plan_FREE": "1/min"})
    first, second = make_client(UserFactory()), make_client(UserFactory())
    url = reverse("api:user-me")

    assert first.get(url, REMOTE_ADDR="203.0.113.1").status_code == 200
    assert first.get(url, REMOTE_ADDR="203.0.113.99").status_code == 429
    assert second.get(url, REMOTE_ADDR="203.0.113.1").status_code == 200


def test_anonymous_api_rate_is_per_address(api_client, db, throttle_rates):
    throttle_rates({"anon": "2/min"})
    url = reverse("schema")  # public, and under the default (plan) throttle

    statuses = [
        api_client.get(url, REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)
    ]

    assert statuses == [200, 200, 429]
    assert api_client.get(url, REMOTE_ADDR="203.0.113.2").status_code == 200


# ---------------------------------------------------------------- per target account (mail floods)
@pytest.mark.parametrize("name", ["api:auth:forgot-password", "api:auth:verify-resend"])
def test_account_mails_are_throttled_per_target_address_from_any_client(api_client, db, throttle_rates, name):
    throttle_rates({"auth_email": "100/min", "auth_email_account": "2/hour"})
    url = reverse(name)
    spellings = ["victim@example.com", " Victim@Example.COM ", "VICTIM@example.com"]

    statuses = [
        api_client.post(url, {"email": email}, REMOTE_ADDR=f"203.0.113.{n}").status_code
        for n, email in enumerate(spellings)
    ]
    someone_else = api_client.post(url, {"email": "other@example.com"}, REMOTE_ADDR="203.0.113.1")

    assert statuses == [202, 202, 429]
    assert someone_else.status_code == 202


def test_account_mail_throttle_keys_on_a_hash_of_the_address(db):
    raw = APIRequestFactory().post("/", {"email": " Victim@Example.com"}, format="json")
    key = AccountEmailThrottle().get_cache_key(Request(raw, parsers=[JSONParser()]), view=None)

    assert "victim" not in key.lower()
    assert key.endswith(email_digest("victim@example.com"))


# ---------------------------------------------------------------- email_taken answers are rate-limited per caller
def test_profile_email_changes_are_throttled_per_account(make_client, db, throttle_rates):
    throttle_rates({"user_email": "2/hour"})
    UserFactory(email="taken@example.com")
    user = UserFactory()
    client, url = make_client(user), reverse("api:user-me")

    probes = [client.patch(url, {"email": "taken@example.com"}) for _ in range(2)]
    throttled = client.patch(url, {"email": "free@example.com"})

    assert [_codes(probe) for probe in probes] == [["email_taken"], ["email_taken"]]
    assert throttled.status_code == 429
    assert _codes(throttled) == ["throttled"]
    # Profile changes without an address, and other accounts, are not affected.
    assert client.patch(url, {"full_name": "Still me"}).status_code == 200
    assert make_client(UserFactory()).patch(url, {"email": "taken@example.com"}).status_code == 400


def test_user_create_by_org_admin_is_throttled_per_account(make_client, db, throttle_rates):
    throttle_rates({"user_email": "2/hour"})
    owner = UserFactory(plan="PREMIUM")
    organization = org_services.organization_create(name="Acme", created_by=owner)
    client, url = make_client(owner), reverse("api:user-list")

    statuses = [
        client.post(url, {"email": f"hire{n}@example.com", "organization": str(organization.pk)}).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]


def test_staff_email_writes_are_not_throttled(make_client, db, throttle_rates):
    throttle_rates({"user_email": "1/hour"})
    client = make_client(UserFactory(role="ADMIN"))

    statuses = [client.post(reverse("api:user-list"), {"email": f"hire{n}@example.com"}).status_code for n in range(3)]

    assert statuses == [201, 201, 201]
