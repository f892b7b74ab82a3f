"""The users list comes from the cache until a write could change it, and nobody ever reads a stale one.

Transactional tests: the cache stores nothing read inside a transaction, and the default test runs in one.
"""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from organizations import services as org_services
from organizations.models import Membership
from organizations.tests.factories import MembershipFactory, OrganizationFactory

LIST = reverse("api:user-list")
ME = reverse("api:user-me")

pytestmark = pytest.mark.django_db(transaction=True)


def listed(response) -> dict[str, str]:
    """email -> full_name of every listed user."""
    assert response.status_code == 200
    return {row["email"]: row["full_name"] for row in response.json()["results"]}


@pytest.fixture
def scene(make_client):
    """A member of one organization, a colleague there, its owner, and the owner of another organization; all
    PREMIUM, so that the owner may create and remove accounts in theirs."""
    people = {
        name: UserFactory(email=f"{name}@example.com", full_name=name, plan=Plan.PREMIUM)
        for name in ("me", "colleague", "owner", "stranger")
    }
    org = OrganizationFactory(owner=people["owner"], created_by=people["owner"])
    other_org = OrganizationFactory(owner=people["stranger"], created_by=people["stranger"])
    MembershipFactory(user=people["me"], organization=org)
    MembershipFactory(user=people["colleague"], organization=org)
    return {"org": org, "other_org": other_org, **people, "client": make_client(people["me"])}


def test_a_repeated_list_costs_no_query(scene, django_assert_num_queries):
    first = scene["client"].get(LIST, {"page_size": 2})

    with django_assert_num_queries(0):  # the signed-in user is cached too (accounts/caching.py)
        again = scene["client"].get(LIST, {"page_size": 2})

    assert again.json() == first.json()
    assert first.json()["count"] == 3
    assert len(first.json()["results"]) == 2


def test_callers_and_queries_do_not_share_entries(scene, make_client):
    assert set(listed(scene["client"].get(LIST))) == {"me@example.com", "colleague@example.com", "owner@example.com"}

    assert set(listed(make_client(scene["stranger"]).get(LIST))) == {"stranger@example.com"}
    assert set(listed(make_client(UserFactory(role=Role.ADMIN)).get(LIST))) >= {"stranger@example.com"}
    assert set(listed(scene["client"].get(LIST, {"search": "colleague"}))) == {"colleague@example.com"}


def test_each_caller_gets_their_own_private_fields(scene, make_client):
    mine = {row["email"]: row for row in scene["client"].get(LIST).json()["results"]}
    theirs = {row["email"]: row for row in make_client(scene["colleague"]).get(LIST).json()["results"]}

    assert "updated_at" in mine["me@example.com"] and "updated_at" not in mine["colleague@example.com"]
    assert "updated_at" in theirs["colleague@example.com"] and "updated_at" not in theirs["me@example.com"]


def _write_paths(scene, make_client):
    """name -> (a write, then email -> full_name of what `me` lists)."""
    me, colleague, owner, stranger = (scene[name] for name in ("me", "colleague", "owner", "stranger"))
    org, other_org = scene["org"], scene["other_org"]
    before = {"me@example.com": "me", "colleague@example.com": "colleague", "owner@example.com": "owner"}
    without_colleague = {k: v for k, v in before.items() if k != "colleague@example.com"}
    with_stranger = {**before, "stranger@example.com": "stranger"}
    return {
        "a colleague renames themselves (users/me)": (
            lambda: make_client(colleague).patch(ME, {"full_name": "renamed"}, format="json"),
            {**before, "colleague@example.com": "renamed"},
        ),
        "the owner creates an account in the organization (users create)": (
            lambda: make_client(owner).post(
                LIST,
                {"email": "new@example.com", "full_name": "new", "organization": str(org.pk)},
                format="json",
            ),
            {**before, "new@example.com": "new"},
        ),
        "the owner removes a member (users delete)": (
            lambda: make_client(owner).delete(reverse("api:user-detail", kwargs={"pk": colleague.pk})),
            without_colleague,
        ),
        "staff deactivate a colleague (service)": (
            lambda: services.user_deactivate(user=colleague),
            without_colleague,
        ),
        "a colleague is renamed in bulk (the admin)": (
            lambda: User.objects.filter(pk=colleague.pk).update(full_name="bulk"),
            {**before, "colleague@example.com": "bulk"},
        ),
        "a colleague's account is deleted": (lambda: colleague.delete(), without_colleague),
        "someone joins the organization": (
            lambda: org_services.membership_add(organization=org, user=stranger, actor=owner),
            with_stranger,
        ),
        "a colleague leaves the organization": (
            lambda: Membership.objects.filter(user=colleague, organization=org).delete(),
            without_colleague,
        ),
        "the user joins another organization": (
            lambda: Membership.objects.create(user=me, organization=other_org),
            with_stranger,
        ),
        "the user is added through organization.members": (lambda: other_org.members.add(me), with_stranger),
        "memberships are moved in bulk": (
            lambda: Membership.objects.filter(user=stranger).update(organization=org),
            with_stranger,
        ),
        "the organization is deleted": (lambda: org.delete(), {"me@example.com": "me"}),
        "the user becomes staff": (
            lambda: services.user_set_role(user=me, role=Role.ADMIN),
            with_stranger,
        ),
    }


@pytest.mark.parametrize(
    "path",
    [
        "a colleague renames themselves (users/me)",
        "the owner creates an account in the organization (users create)",
        "the owner removes a member (users delete)",
        "staff deactivate a colleague (service)",
        "a colleague is renamed in bulk (the admin)",
        "a colleague's account is deleted",
        "someone joins the organization",
        "a colleague leaves the organization",
        "the user joins another organization",
        "the user is added through organization.members",
        "memberships are moved in bulk",
        "the organization is deleted",
        "the user becomes staff",
    ],
)
def test_every_write_that_changes_the_list_is_seen_at_once(path, scene, make_client):
    client = scene["client"]
    assert listed(client.get(LIST)) == {
        "me@example.com": "me",
        "colleague@example.com": "colleague",
        "owner@example.com": "owner",
    }
    write, expected = _write_paths(scene, make_client)[path]

    response = write()

    assert getattr(response, "status_code", 200) < 300
    if path == "the user becomes staff":  # a new role: a new token, as after logging in again
        client = make_client(User.objects.get(pk=scene["me"].pk))
    assert listed(client.get(LIST)) == expected


def test_queries_with_other_parameters_are_not_cached(scene, django_assert_num_queries):
    scene["client"].get(LIST, {"nonsense": "1"})

    with django_assert_num_queries(2):  # count, page: built again, nothing was cached
        assert scene["client"].get(LIST, {"nonsense": "1"}).status_code == 200
