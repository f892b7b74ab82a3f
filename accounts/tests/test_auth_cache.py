"""The signed-in user is cached between requests, and every change to the account is seen by the very next one.

Transactional tests: the cache stores nothing read inside a transaction (its rows may still roll back), and the
default test wraps everything in one; here writes commit as they do in production.
"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from accounts import services
from accounts.authentication import JWTAuthentication
from accounts.caching import cached_user
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import error_codes
from accounts.tokens import token_pair_for

ME = reverse("api:user-me")
USERS = reverse("api:user-list")

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_second_request_reads_the_user_from_the_cache(make_client, django_assert_num_queries):
    client = make_client(UserFactory())
    client.get(ME)

    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200


# (what happens to the account, then the status and error code of the next request with the same token)
CHANGES = {
    "blocked": (lambda user: services.user_block(user=user, reason="abuse"), 401, "account_blocked"),
    "deleted": (lambda user: services.user_deactivate(user=user), 401, "user_inactive"),
    "all tokens revoked": (lambda user: services.tokens_revoke_all(user=user), 401, "token_revoked"),
    "password changed": (
        lambda user: services.password_change(user=user, current_password=PASSWORD, new_password="Zq8!brand-new"),
        401,
        "token_revoked",
    ),
    "blocked by a bulk update": (lambda user: User.objects.filter(pk=user.pk).update(is_blocked=True), 401, None),
    "row deleted": (lambda user: User.objects.filter(pk=user.pk).delete(), 401, "user_inactive"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_the_account_refuses_the_next_request_at_once(change, make_client):
    user = UserFactory()
    client = make_client(user)
    assert client.get(ME).status_code == 200  # cached from here on
    apply, status, code = CHANGES[change]

    apply(user)
    response = client.get(ME)

    assert response.status_code == status
    if code:
        assert error_codes(response) == [code]


def test_role_and_plan_changes_apply_to_the_next_request(make_client):
    user = UserFactory(plan=Plan.FREE)
    client = make_client(user)
    assert client.get(USERS, {"role": "ADMIN"}).status_code == 200
    assert client.get(ME).json()["plan"] == Plan.FREE

    services.user_set_plan(user=user, plan=Plan.PREMIUM)
    services.user_set_role(user=user, role=Role.ADMIN)
    me = client.get(ME).json()

    assert (me["plan"], me["role"]) == (Plan.PREMIUM, Role.ADMIN)
    # Staff see every account: the list is no longer limited to the caller's colleagues.
    UserFactory.create_batch(2)
    assert client.get(USERS).json()["count"] == User.objects.count()


def test_a_write_rolled_back_leaves_nothing_in_the_cache(make_client):
    user = UserFactory()
    client = make_client(user)
    assert client.get(ME).status_code == 200

    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_blocked=True)
        assert cached_user(user.pk, lambda: User.objects.get(pk=user.pk))[0].is_blocked  # read inside: not stored
        raise RuntimeError

    assert client.get(ME).status_code == 200


def test_without_cache_reads_every_request_reads_the_user(make_client, settings, django_assert_num_queries):
    settings.CACHE_READS = False
    client = make_client(UserFactory())
    client.get(ME)

    with django_assert_num_queries(1):
        assert client.get(ME).status_code == 200


def test_the_cached_copy_holds_no_password_hash(make_client):
    user = UserFactory()
    make_client(user).get(ME)

    _, cached = cache.get(f"auth:user:{user.pk}")

    assert "password" in cached.get_deferred_fields()
    assert user.password not in repr(cached.__dict__)


def test_a_password_change_still_checks_the_current_password(make_client):
    user = UserFactory()
    client = make_client(user)
    client.get(ME)
    url = reverse("api:auth:change-password")

    wrong = client.post(url, {"current_password": "not it", "new_password": "Zq8!brand-new"})
    right = client.post(url, {"current_password": PASSWORD, "new_password": "Zq8!brand-new"})

    assert wrong.status_code == 400
    assert right.status_code in (200, 204)


def test_users_do_not_share_cached_copies():
    one, other = UserFactory(), UserFactory()
    for user in (one, other, one, other):
        request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
        assert JWTAuthentication().authenticate(request)[0] == user


# ---------------------------------------------------------------- the plan rate's count, taken with the user
@pytest.mark.skipif(not settings.REDIS_URL, reason="Redis only: the PostgreSQL + Redis pass runs it")
def test_an_authenticated_request_is_one_cache_round_trip(make_client, redis_round_trips):
    client = make_client(UserFactory())
    client.get(ME)  # caches the user
    redis_round_trips.start()

    assert client.get(ME).status_code == 200
    assert redis_round_trips.count == 1  # the user and the plan rate's count, in one script


@pytest.mark.parametrize(
    ("claimed", "current", "allowed"), [(Plan.FREE, Plan.PREMIUM, 3), (Plan.PREMIUM, Plan.FREE, 1)]
)
def test_the_plan_rate_is_the_current_plans_whatever_the_token_claims(
    claimed, current, allowed, make_client, throttle_rates
):
    throttle_rates(plan_FREE="1/min", plan_PREMIUM="3/min")
    user = UserFactory(plan=claimed)
    client = make_client(user)  # the token claims the plan the user had then
    services.user_set_plan(user=user, plan=current)

    statuses = [client.get(ME).status_code for _ in range(allowed + 1)]

    assert statuses == [200] * allowed + [429]


REFUSALS = {
    "revoked": lambda user: services.tokens_revoke_all(user=user),
    "blocked, then unblocked": lambda user: services.user_block(user=user, reason="abuse"),
}


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_requests_with_a_refused_token_do_not_spend_its_users_rate(refusal, make_client, throttle_rates):
    throttle_rates(plan_FREE="3/min")
    user = UserFactory(plan=Plan.FREE)
    stolen = make_client(user)
    refusal(user)
    refused = [stolen.get(ME).status_code for _ in range(3)]
    if user.is_blocked:
        services.user_unblock(user=user)
    fresh = make_client(user)

    assert refused == [401] * 3
    assert [fresh.get(ME).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_request_that_permissions_refuse_still_counts_toward_the_rate(make_client, throttle_rates):
    # The count is taken with the user, before permissions: every signed-in request counts, as it costs the server.
    throttle_rates(plan_FREE="2/min")
    client = make_client(UserFactory(plan=Plan.FREE))

    statuses = [client.post(USERS, {"email": "x@example.com"}).status_code, client.get(ME).status_code]

    assert statuses == [403, 200]
    assert client.get(ME).status_code == 429
