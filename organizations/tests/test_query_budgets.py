"""Organization, member, invitation and user lists cost the same number of queries for 1 row as for 50."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from organizations.models import Membership, OrgRole
from organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory


def add_organizations(organization, owner, n):
    for _ in range(n):
        other = OrganizationFactory()
        MembershipFactory(organization=other, user=owner, role=OrgRole.ADMIN)
        MembershipFactory.create_batch(2, organization=other)


def add_members(organization, owner, n):
    Membership.objects.bulk_create(
        [Membership(organization=organization, user=user) for user in UserFactory.create_batch(n)]
    )


def add_invitations(organization, owner, n):
    InvitationFactory.create_batch(n, organization=organization, invited_by=owner)


LISTS = {
    "organization-list": (add_organizations, lambda organization: {}),
    "organization-member-list": (add_members, lambda organization: {"organization_pk": organization.pk}),
    "organization-invitation-list": (add_invitations, lambda organization: {"organization_pk": organization.pk}),
    "user-list": (add_members, lambda organization: {}),
}


def count_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.json()
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("name", LISTS)
def test_list_costs_the_same_queries_for_1_and_50_rows(make_client, owner, organization, name):
    add_rows, kwargs = LISTS[name]
    url = reverse(f"api:{name}", kwargs=kwargs(organization))
    client = make_client(owner)
    client.get(url)  # warm per-process caches
    # One row of the kind listed: the organization itself, its owner, one invitation.
    if name == "organization-invitation-list":
        add_rows(organization, owner, 1)
    few, few_rows = count_queries(client, url)

    add_rows(organization, owner, 49 if name == "organization-invitation-list" else 50 - few_rows)
    many, many_rows = count_queries(client, url)

    assert (few_rows, many_rows) == (1, 50)
    assert many == few
    assert many <= 3  # authentication, count, page (both through the organization in scope)
