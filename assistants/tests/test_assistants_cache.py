"""The assistants list comes from the cache until a write could change it, and nobody ever reads a stale one.

Transactional tests: the cache stores nothing read inside a transaction, and the default test runs in one.
"""

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.roles import Role
from assistants import services
from assistants.models import Assistant
from assistants.tests.factories import AssistantFactory
from organizations.models import Membership

LIST = reverse("api:assistant-list")

pytestmark = pytest.mark.django_db(transaction=True)


def names(response) -> set[str]:
    assert response.status_code == 200
    return {row["name"] for row in response.json()["results"]}


def test_a_repeated_list_costs_only_the_authentication_query(
    make_user, make_client, join, org, django_assert_num_queries
):
    user = make_user("FREE")
    join(user, org)
    AssistantFactory.create_batch(3, organization=org)
    client = make_client(user)
    first = client.get(LIST, {"page_size": 2})

    with django_assert_num_queries(0):  # the signed-in user is cached too (accounts/caching.py)
        again = client.get(LIST, {"page_size": 2})

    assert again.json() == first.json()
    assert len(first.json()["results"]) == 2


def test_callers_and_queries_do_not_share_entries(make_user, make_client, join, org):
    member, outsider = make_user("FREE"), make_user("FREE")
    join(member, org)
    AssistantFactory(name="platform")
    AssistantFactory(name="members only", organization=org)
    names(make_client(member).get(LIST))

    assert names(make_client(outsider).get(LIST)) == {"platform"}
    assert names(make_client(member).get(LIST, {"search": "members"})) == {"members only"}


def _write_paths(org, other_org, user, staff_client):
    """name -> (a write, the names the user lists after it)."""
    return {
        "created through the API": (
            lambda: staff_client.post(LIST, {"name": "new", "organization": str(org.pk)}, format="json"),
            {"platform", "mine", "new"},
        ),
        "renamed through the API": (
            lambda: staff_client.patch(
                reverse("api:assistant-detail", kwargs={"pk": Assistant.objects.get(name="mine").pk}),
                {"name": "renamed"},
                format="json",
            ),
            {"platform", "renamed"},
        ),
        "deleted by the service": (
            lambda: services.assistant_delete(assistant=Assistant.objects.get(name="mine")),
            {"platform"},
        ),
        "deactivated in bulk (the admin action)": (
            lambda: Assistant.objects.filter(name="platform").update(is_active=False),
            {"mine"},
        ),
        "created in bulk": (
            lambda: Assistant.objects.bulk_create([Assistant(name="bulk")]),
            {"platform", "mine", "bulk"},
        ),
        "the user joins another organization": (
            lambda: Membership.objects.create(user=user, organization=other_org),
            {"platform", "mine", "theirs"},
        ),
        "the user leaves the organization": (
            lambda: Membership.objects.filter(user=user, organization=org).delete(),
            {"platform"},
        ),
        "the organization is deleted": (lambda: org.delete(), {"platform"}),
        "the user is added through organization.members": (
            lambda: other_org.members.add(user),
            {"platform", "mine", "theirs"},
        ),
        "the membership is moved in bulk": (
            lambda: Membership.objects.filter(user=user).update(organization=other_org),
            {"platform", "theirs"},
        ),
        "the user becomes staff": (
            lambda: account_services.user_set_role(user=user, role=Role.ADMIN),
            {"platform", "mine", "theirs", "inactive"},
        ),
    }


@pytest.mark.parametrize(
    "path",
    [
        "created through the API",
        "renamed through the API",
        "deleted by the service",
        "deactivated in bulk (the admin action)",
        "created in bulk",
        "the user joins another organization",
        "the user leaves the organization",
        "the organization is deleted",
        "the user is added through organization.members",
        "the membership is moved in bulk",
        "the user becomes staff",
    ],
)
def test_every_write_that_changes_the_list_is_seen_at_once(path, make_user, make_client, join, org, other_org):
    user = make_user("FREE")
    join(user, org)
    AssistantFactory(name="platform")
    AssistantFactory(name="mine", organization=org)
    AssistantFactory(name="theirs", organization=other_org)
    AssistantFactory(name="inactive", is_active=False)
    client = make_client(user)
    assert names(client.get(LIST)) == {"platform", "mine"}
    write, expected = _write_paths(org, other_org, user, make_client(make_user("ADMIN")))[path]

    write()

    assert names(client.get(LIST)) == expected


def test_queries_with_other_parameters_are_not_cached(make_user, make_client, django_assert_num_queries):
    client = make_client(make_user("FREE"))
    AssistantFactory()
    client.get(LIST, {"nonsense": "1"})

    with django_assert_num_queries(2):  # count, page: built again, nothing was cached
        assert client.get(LIST, {"nonsense": "1"}).status_code == 200
