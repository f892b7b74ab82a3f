"""Plan-based API rates apply to the organization endpoints, and follow a plan change on the next request."""

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from organizations.tests.utils import error_codes


@pytest.fixture
def low_plan_rates(throttle_rates):
    throttle_rates(plan_FREE="1/min", plan_PREMIUM="3/min")


def test_organization_endpoints_are_throttled_by_plan_and_follow_an_upgrade(make_client, db, low_plan_rates):
    user = UserFactory(plan=Plan.FREE)
    client = make_client(user)
    url = reverse("api:organization-list")

    assert client.get(url).status_code == 200
    throttled = client.get(url)
    account_services.user_set_plan(user=user, plan=Plan.PREMIUM)
    after_upgrade = [client.get(url).status_code for _ in range(4)]

    assert throttled.status_code == 429
    assert error_codes(throttled) == ["throttled"]
    assert int(throttled["Retry-After"]) > 0
    assert after_upgrade == [200, 200, 200, 429]
